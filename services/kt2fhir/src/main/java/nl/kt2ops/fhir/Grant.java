package nl.kt2ops.fhir;

import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What a verified access token allows: scopes {@code system/<Type|*>.<cruds>[?resource-origin=Device/a,...]}
 * as the authentication service derives them from the application's role.
 *
 * @param clientId   the token's azp: also the id of the application's Device
 * @param publishing the domain is being migrated: the application may only publish its migrated data
 */
public record Grant(String clientId, List<Scope> scopes, boolean publishing) {

	static final String KEY = Grant.class.getName();

	/** One scope; {@code origins} null means every resource of the type. */
	public record Scope(String type, String letters, Set<String> origins) {}

	public static Grant parse(String clientId, String scope, boolean publishing) {
		List<Scope> scopes = new ArrayList<>();
		for (String item : scope.trim().split("\\s+")) {
			String[] resourceAndQuery = item.split("\\?", 2);
			String resource = resourceAndQuery[0].replaceFirst("^system/", "");
			int dot = resource.indexOf('.');
			if (dot < 0) {
				continue;
			}
			Set<String> origins = null;
			if (resourceAndQuery.length == 2 && resourceAndQuery[1].startsWith("resource-origin=")) {
				origins = new LinkedHashSet<>(List.of(
						resourceAndQuery[1].substring("resource-origin=".length()).split(",")));
			}
			scopes.add(new Scope(resource.substring(0, dot), resource.substring(dot + 1), origins));
		}
		return new Grant(clientId, List.copyOf(scopes), publishing);
	}

	/** The grant of a client's request, or null for the server's own (system) requests. */
	public static Grant of(RequestDetails request) {
		return request == null ? null : (Grant) request.getUserData().get(KEY);
	}

	public String device() {
		return "Device/" + clientId;
	}

	/**
	 * Null when every resource of the type is in reach, else the resource-origins this grant is limited to.
	 *
	 * @throws ForbiddenOperationException when the role does not allow the operation on the type at all
	 */
	public Set<String> reach(String type, char letter) {
		Set<String> origins = new LinkedHashSet<>();
		boolean allowed = false;
		for (Scope scope : scopes) {
			if ((scope.type().equals(type) || scope.type().equals("*")) && scope.letters().indexOf(letter) >= 0) {
				allowed = true;
				if (scope.origins() == null) {
					return null;
				}
				origins.addAll(scope.origins());
			}
		}
		if (!allowed) {
			throw new ForbiddenOperationException(
					"the role of " + clientId + " does not allow '" + letter + "' on " + type);
		}
		return origins;
	}
}
