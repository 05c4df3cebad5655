package nl.kt2ops.fhir;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.UnclassifiedServerFailureException;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Base;
import org.hl7.fhir.r4.model.Identifier;
import org.springframework.stereotype.Component;

/**
 * While a domain is being migrated (runbook P.8 .. Q.10) its applications publish their migrated data and
 * nothing else: a create must carry the migration guide's temporary identifier, and updates and deletes
 * wait for production to open. Reads stay allowed (a conditional create and the supplier's own checks
 * need them). The domain admin is not limited.
 */
@Component
@Interceptor
public class MigrationWindowInterceptor implements KoppeltaalInterceptor {

	static final String MIGRATION_SYSTEM_BASE = "http://koppeltaal.nl/migration/identifier/";

	@Hook(Pointcut.STORAGE_PRESTORAGE_RESOURCE_CREATED)
	public void created(IBaseResource resource, RequestDetails request) {
		Grant grant = Grant.of(request);
		if (grant != null && grant.publishing() && !migrated(resource)) {
			throw closed(request, "creates only resources that carry the migration identifier ("
					+ MIGRATION_SYSTEM_BASE + "<type>, use temp)");
		}
	}

	@Hook(Pointcut.STORAGE_PRESTORAGE_RESOURCE_UPDATED)
	public void updated(IBaseResource stored, IBaseResource updated, RequestDetails request) {
		refuseWhilePublishing(request, "updates");
	}

	@Hook(Pointcut.STORAGE_PRESTORAGE_RESOURCE_DELETED)
	public void deleted(IBaseResource stored, RequestDetails request) {
		refuseWhilePublishing(request, "deletes");
	}

	private static void refuseWhilePublishing(RequestDetails request, String what) {
		Grant grant = Grant.of(request);
		if (grant != null && grant.publishing()) {
			throw closed(request, what + " nothing");
		}
	}

	private static UnclassifiedServerFailureException closed(RequestDetails request, String rule) {
		return new UnclassifiedServerFailureException(503, "domain " + request.getTenantId()
				+ " is being migrated until production opens (runbook Q.10): an application " + rule);
	}

	static boolean migrated(IBaseResource resource) {
		var identifiers = resource instanceof Base base ? base.getNamedProperty("identifier") : null;
		return identifiers != null && identifiers.getValues().stream().anyMatch(value -> value instanceof Identifier id
				&& id.getUse() == Identifier.IdentifierUse.TEMP
				&& id.getSystem() != null && id.getSystem().startsWith(MIGRATION_SYSTEM_BASE));
	}
}
