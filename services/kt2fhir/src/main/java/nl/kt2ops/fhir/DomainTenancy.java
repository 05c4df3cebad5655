package nl.kt2ops.fhir;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import ca.uhn.fhir.rest.server.tenant.ITenantIdentificationStrategy;
import ca.uhn.fhir.util.UrlPathTokenizer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * KT's tenancy by URL (TOP-KT-018): {@code <base>/api/v1/<DOMAIN>/fhir/r4/...}. The servlet sits at
 * {@code /api/v1}; the domain is the tenant, mapped to the HAPI partition of the same name. HAPI expects the
 * tenant as the only segment before the FHIR path, so the server reads {@code <DOMAIN>/fhir/r4/Patient} as
 * {@code <DOMAIN>/Patient} and puts {@code fhir/r4} back into every URL it writes (links, Location, fullUrl).
 */
public class DomainTenancy implements ITenantIdentificationStrategy {

	static final String FHIR_PATH = "fhir/r4";

	private static final Pattern REQUEST_PATH = Pattern.compile("^/?([A-Za-z0-9][A-Za-z0-9._-]{0,63})/fhir/r4(/.*)?$");

	/** The FHIR server with KT's URL shape. */
	public static class Server extends RestfulServer {

		public Server(FhirContext context) {
			super(context);
			setTenantIdentificationStrategy(new DomainTenancy());
		}

		@Override
		protected String getRequestPath(String fullPath, String contextPath, String servletPath) {
			Matcher matcher = REQUEST_PATH.matcher(super.getRequestPath(fullPath, contextPath, servletPath));
			if (!matcher.matches()) {
				throw new ResourceNotFoundException(
						"no FHIR endpoint here: the FHIR base of a domain is /api/v1/<domain>/" + FHIR_PATH);
			}
			return matcher.group(1) + (matcher.group(2) == null ? "" : matcher.group(2));
		}
	}

	@Override
	public void extractTenant(UrlPathTokenizer tokens, RequestDetails request) {
		if (!tokens.hasMoreTokens()) {
			throw new ResourceNotFoundException("no domain in the URL: /api/v1/<domain>/" + FHIR_PATH);
		}
		request.setTenantId(tokens.nextTokenUnescapedAndSanitized());
	}

	@Override
	public String massageServerBaseUrl(String serverBase, RequestDetails request) {
		return serverBase + "/" + request.getTenantId() + "/" + FHIR_PATH;
	}

	/** A transaction entry's URL ({@code Patient?identifier=...}) is relative to the domain's FHIR base. */
	@Override
	public String resolveRelativeUrl(String relativeUrl, RequestDetails request) {
		String domain = request.getTenantId();
		if (domain == null || relativeUrl.startsWith(domain + "/")) {
			return relativeUrl;
		}
		return domain + "/" + relativeUrl;
	}
}
