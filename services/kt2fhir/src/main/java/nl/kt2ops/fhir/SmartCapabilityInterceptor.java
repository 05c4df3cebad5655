package nl.kt2ops.fhir;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import org.hl7.fhir.instance.model.api.IBaseConformance;
import org.hl7.fhir.r4.model.CapabilityStatement;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.UriType;
import org.springframework.stereotype.Component;

/**
 * The CapabilityStatement as KT 2.0 publishes it: the SMART {@code oauth-uris} extension with the domain's token,
 * authorize, introspect, JWKS and issuer URLs (KT's own clients look the token endpoint up there), and no
 * {@code _include}/{@code _revinclude}, which KT 2.0 does not offer.
 */
@Component
@Interceptor
public class SmartCapabilityInterceptor implements KoppeltaalInterceptor {

	static final String OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris";

	private final KoppeltaalProperties properties;

	public SmartCapabilityInterceptor(KoppeltaalProperties properties) {
		this.properties = properties;
	}

	@Hook(Pointcut.SERVER_CAPABILITY_STATEMENT_GENERATED)
	public void oauthUris(IBaseConformance generated, RequestDetails request) {
		CapabilityStatement statement = (CapabilityStatement) generated;
		String token = KoppeltaalProperties.forDomain(
				properties.getSmart().getConfiguration().getTokenEndpoint(), request.getTenantId());
		// The authentication service's other URLs sit beside the token endpoint, under its issuer.
		String issuer = KoppeltaalProperties.forDomain(
				properties.getFhir().getServer().getSecurity().getIssuer(), request.getTenantId());
		for (CapabilityStatement.CapabilityStatementRestComponent rest : statement.getRest()) {
			CapabilityStatement.CapabilityStatementRestSecurityComponent security = rest.getSecurity();
			security.getExtension().removeIf(e -> OAUTH_URIS.equals(e.getUrl()));
			Extension oauth = security.addExtension().setUrl(OAUTH_URIS);
			oauth.addExtension("token", new UriType(token));
			oauth.addExtension("authorize", new UriType(issuer + "/authorize"));
			oauth.addExtension("introspect", new UriType(issuer + "/introspect"));
			oauth.addExtension("jwks", new UriType(issuer + "/.well-known/jwks.json"));
			oauth.addExtension("issuer", new UriType(issuer));
			rest.getResource().forEach(resource -> {
				resource.getSearchInclude().clear();
				resource.getSearchRevInclude().clear();
			});
			security.getService().clear();
			security.addService(new CodeableConcept(new Coding(
					"http://terminology.hl7.org/CodeSystem/restful-security-service", "SMART-on-FHIR", null)));
		}
	}
}
