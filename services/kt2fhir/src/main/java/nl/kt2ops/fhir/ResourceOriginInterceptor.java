package nl.kt2ops.fhir;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.jpa.searchparam.SearchParameterMap;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.IPreResourceAccessDetails;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.param.ReferenceOrListParam;
import ca.uhn.fhir.rest.param.ReferenceParam;
import ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException;
import ca.uhn.fhir.rest.server.exceptions.InternalErrorException;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import ca.uhn.fhir.rest.server.util.ICachedSearchDetails;
import java.util.Set;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.DomainResource;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.Reference;
import org.springframework.stereotype.Component;

/**
 * resource-origin as KT 2.0 keeps it: the server stamps the Device of the token's application on create (a
 * client-set one is refused, 400), keeps it on update (a missing one is copied from the stored version, a
 * changed one is refused, 403; a stored version without one fails, 500, as on the reference server), and a
 * scope limited to resource-origins narrows searches, reads and writes. Entries of a transaction or batch get
 * these rules only under the {@code kt} transaction rules; under {@code reference} they are stored as sent.
 */
@Component
@Interceptor
public class ResourceOriginInterceptor implements KoppeltaalInterceptor {

	static final String EXTENSION = "http://koppeltaal.nl/fhir/StructureDefinition/resource-origin";
	static final String SEARCH_PARAMETER = "resource-origin";

	private final boolean bundlesUnchecked;

	public ResourceOriginInterceptor(KoppeltaalProperties properties) {
		bundlesUnchecked = properties.getFhir().getServer().getTransactionRules()
				== KoppeltaalProperties.TransactionRules.REFERENCE;
	}

	/** The grant these rules apply to: none for the server's own requests, and none for a Bundle's entries
	 * under the reference rules (whose hook sees the request's own resource only, never a Bundle's): neither
	 * stamped nor checked, and not hidden from the Bundle's own processing (its conditional creates' matches
	 * and the resources it stores) either. */
	private Grant checked(RequestDetails request) {
		Grant grant = Grant.of(request);
		RestOperationTypeEnum operation = request == null ? null : request.getRestOperationType();
		boolean bundle = operation == RestOperationTypeEnum.TRANSACTION || operation == RestOperationTypeEnum.BATCH;
		return bundle && bundlesUnchecked ? null : grant;
	}

	static String originOf(IBaseResource resource) {
		if (resource instanceof DomainResource domainResource) {
			Extension extension = domainResource.getExtensionByUrl(EXTENSION);
			if (extension != null && extension.getValue() instanceof Reference reference) {
				return reference.getReference();
			}
		}
		return null;
	}

	private static void stamp(IBaseResource resource, String origin) {
		DomainResource domainResource = (DomainResource) resource;
		domainResource.getExtension().removeIf(e -> EXTENSION.equals(e.getUrl()));
		domainResource.addExtension(EXTENSION, new Reference(origin));
	}

	@Hook(Pointcut.STORAGE_PRESTORAGE_RESOURCE_CREATED)
	public void created(IBaseResource resource, RequestDetails request) {
		Grant grant = checked(request);
		if (grant == null || !(resource instanceof DomainResource)) {
			return;
		}
		String type = resource.fhirType();
		grant.reach(type, 'c');
		if (request.getRestOperationType() == RestOperationTypeEnum.UPDATE) {
			throw new InvalidRequestException(type + "/" + resource.getIdElement().getIdPart()
					+ " does not exist: ids are assigned by the server (create with POST)");
		}
		String requested = originOf(resource);
		if (requested != null) {
			throw new InvalidRequestException("resource-origin is set by the server from the access token; "
					+ "a client may not set it (" + requested + ")");
		}
		stamp(resource, grant.device());
	}

	@Hook(Pointcut.STORAGE_PRESTORAGE_RESOURCE_UPDATED)
	public void updated(IBaseResource stored, IBaseResource updated, RequestDetails request) {
		Grant grant = checked(request);
		if (grant == null || !(updated instanceof DomainResource)) {
			return;
		}
		String storedOrigin = originOf(stored);
		if (storedOrigin == null) {
			throw new InternalErrorException("resource-extension isn't found on the persisted version of "
					+ stored.fhirType() + "/" + stored.getIdElement().getIdPart());
		}
		inReach(grant, stored, 'u', storedOrigin);
		String newOrigin = originOf(updated);
		if (newOrigin == null) {
			stamp(updated, storedOrigin);
		} else if (!newOrigin.equals(storedOrigin)) {
			throw new ForbiddenOperationException("resource-origin may not change (stored " + storedOrigin
					+ ", sent " + newOrigin + ")");
		}
	}

	@Hook(Pointcut.STORAGE_PRESTORAGE_RESOURCE_DELETED)
	public void deleted(IBaseResource stored, RequestDetails request) {
		Grant grant = checked(request);
		if (grant != null) {
			inReach(grant, stored, 'd', originOf(stored));
		}
	}

	/**
	 * Searches of a grant limited to resource-origins see those origins only; so do the searches HAPI makes for
	 * a request's conditional URLs, a transaction's too (the request names no type there; the search does), but
	 * not HAPI's one-query look-up of a transaction's match URLs, which {@link InReachTransactionProcessor}
	 * checks afterwards.
	 */
	@Hook(Pointcut.STORAGE_PRESEARCH_REGISTERED)
	public void narrow(RequestDetails request, SearchParameterMap parameters, ICachedSearchDetails search) {
		if (request == null || request.getUserData().containsKey(InReachTransactionProcessor.LOOKING_UP)) {
			return;
		}
		String type = search != null && search.getResourceType() != null
				? search.getResourceType()
				: request.getResourceName();
		Set<String> reach = type == null ? null : searchReach(request, type);
		if (reach != null) {
			ReferenceOrListParam any = new ReferenceOrListParam();
			reach.forEach(origin -> any.addOr(new ReferenceParam(origin)));
			parameters.add(SEARCH_PARAMETER, any);
		}
	}

	/**
	 * The resource-origins a search of {@code type} in this request may find; null when it is not narrowed. A
	 * search of a type the role may not search at all is refused when the request names that type; a
	 * conditional reference to such a type (a Patient's managing Organization) still resolves: the entry's own
	 * rules decide whether it may be stored.
	 */
	Set<String> searchReach(RequestDetails request, String type) {
		Grant grant = checked(request);
		if (grant == null) {
			return null;
		}
		try {
			return grant.reach(type, 's');
		} catch (ForbiddenOperationException e) {
			if (type.equals(request.getResourceName())) {
				throw e;
			}
			return null;
		}
	}

	/** Reads of a resource out of reach are refused; out-of-reach resources never leave in other answers. */
	@Hook(Pointcut.STORAGE_PREACCESS_RESOURCES)
	public void access(IPreResourceAccessDetails details, RequestDetails request) {
		Grant grant = checked(request);
		if (grant == null) {
			return;
		}
		boolean read = request.getRestOperationType() == RestOperationTypeEnum.READ
				|| request.getRestOperationType() == RestOperationTypeEnum.VREAD;
		for (int i = 0; i < details.size(); i++) {
			IBaseResource resource = details.getResource(i);
			if (resource == null) {
				continue;
			}
			String type = resource.fhirType();
			Set<String> reach = grant.reach(type, read ? 'r' : 's');
			if (reach != null && !reach.contains(originOf(resource))) {
				if (read) {
					throw new ForbiddenOperationException(type + "/" + resource.getIdElement().getIdPart()
							+ " was not created by " + grant.clientId() + "; its role only reaches its own " + type);
				}
				details.setDontReturnResourceAtIndex(i);
			}
		}
	}

	private static void inReach(Grant grant, IBaseResource stored, char letter, String origin) {
		Set<String> reach = grant.reach(stored.fhirType(), letter);
		if (reach != null && !reach.contains(origin)) {
			throw new ForbiddenOperationException(stored.fhirType() + "/" + stored.getIdElement().getIdPart()
					+ " was not created by " + grant.clientId() + "; its role only reaches its own "
					+ stored.fhirType());
		}
	}
}
