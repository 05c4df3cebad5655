package nl.kt2ops.fhir;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.AuthenticationException;
import ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import ca.uhn.fhir.rest.server.exceptions.UnclassifiedServerFailureException;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import java.net.MalformedURLException;
import java.net.URI;
import java.text.ParseException;
import java.util.Set;
import org.springframework.stereotype.Component;

/**
 * Every request but {@code metadata} needs a bearer JWT of the authentication service: verified against its
 * JWKS (RS512, the issuer of the request's domain, audience {@code fhir-server}, the configured leeway), of an
 * application whose Device is in the domain. A closed domain serves its domain admin only; one being migrated
 * (runbook P.8 .. Q.10) also its applications, to publish their migrated data ({@link MigrationWindowInterceptor}).
 */
@Component
@Interceptor
public class AccessTokenInterceptor implements KoppeltaalInterceptor {

	/** A key the cached JWKS does not know (just rotated in) is fetched again at most this often. */
	private static final long JWKS_REFETCH_MS = 5_000;

	private final KoppeltaalProperties.Security security;
	private final Domains domains;
	private final DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();

	public AccessTokenInterceptor(KoppeltaalProperties properties, Domains domains) throws MalformedURLException {
		this.security = properties.getFhir().getServer().getSecurity();
		this.domains = domains;
		if (security.isEnabled()) {
			JWKSource<SecurityContext> jwks = JWKSourceBuilder.create(URI.create(security.getJwksEndpoint()).toURL())
					.rateLimited(JWKS_REFETCH_MS)
					.build();
			processor.setJWSKeySelector(new JWSVerificationKeySelector<>(JWSAlgorithm.RS512, jwks));
			DefaultJWTClaimsVerifier<SecurityContext> claims = new DefaultJWTClaimsVerifier<>(
					security.getAudience(), null, Set.of("exp", "iss", "aud", "azp", "scope"));
			claims.setMaxClockSkew((int) security.getLeewaySeconds());
			processor.setJWTClaimsSetVerifier(claims);
		}
	}

	/** Before every other rule: who asks decides what the other rules check. */
	@Hook(value = Pointcut.SERVER_INCOMING_REQUEST_PRE_HANDLED, order = -100)
	public void authenticate(RequestDetails request, RestOperationTypeEnum operation) {
		String domain = request.getTenantId();
		Domains.Domain known = domains.find(domain).orElseThrow(
				() -> new ResourceNotFoundException("unknown domain " + domain));
		if (operation == RestOperationTypeEnum.METADATA) {
			return;
		}
		if (!security.isEnabled()) {
			return;
		}
		JWTClaimsSet claims = verify(request.getHeader("Authorization"));
		String issuer = KoppeltaalProperties.forDomain(security.getIssuer(), domain);
		if (!issuer.equals(claims.getIssuer())) {
			throw new ForbiddenOperationException("this access token is for issuer " + claims.getIssuer()
					+ " (another domain), not for domain " + domain);
		}
		String clientId = String.valueOf(claims.getClaim("azp"));
		if (!domains.hasDevice(domain, clientId)) {
			throw new AuthenticationException("Device/" + clientId + " is not an application of domain " + domain
					+ " (withdrawn or never approved)");
		}
		var application = known.application(clientId);
		boolean admin = application != null && application.path("admin").asBoolean(false);
		if (!admin && known.traffic() == Domains.Traffic.closed) {
			throw new UnclassifiedServerFailureException(503, "domain " + domain
					+ " is closed for traffic; only its domain admin is served");
		}
		boolean publishing = !admin && known.traffic() == Domains.Traffic.migration;
		request.getUserData().put(Grant.KEY,
				Grant.parse(clientId, String.valueOf(claims.getClaim("scope")), publishing));
	}

	private JWTClaimsSet verify(String header) {
		if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
			throw new AuthenticationException("an access token is required (Authorization: Bearer)");
		}
		try {
			return processor.process(header.substring(7).trim(), null);
		} catch (ParseException | BadJOSEException | JOSEException e) {
			throw new AuthenticationException("access token rejected: " + e.getMessage());
		}
	}
}
