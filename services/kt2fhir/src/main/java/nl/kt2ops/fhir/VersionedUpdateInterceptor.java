package nl.kt2ops.fhir;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.PreconditionFailedException;
import org.hl7.fhir.instance.model.api.IBaseBundle;
import org.hl7.fhir.r4.model.Bundle;
import org.springframework.stereotype.Component;

/**
 * KT 2.0 updates are versioned: every kind of update (PUT, conditional PUT, PATCH) without If-Match is refused
 * (412), in a transaction Bundle too.
 */
@Component
@Interceptor
public class VersionedUpdateInterceptor implements KoppeltaalInterceptor {

	@Hook(Pointcut.SERVER_INCOMING_REQUEST_PRE_HANDLED)
	public void requireIfMatch(RequestDetails request, RestOperationTypeEnum operation) {
		boolean update = operation == RestOperationTypeEnum.UPDATE || operation == RestOperationTypeEnum.PATCH;
		if (update && isBlank(request.getHeader("If-Match"))) {
			throw new PreconditionFailedException("If-Match is required on update (the version you read, "
					+ "e.g. W/\"1\")");
		}
	}

	@Hook(Pointcut.STORAGE_TRANSACTION_PROCESSING)
	public void requireIfMatchInBundle(IBaseBundle transaction) {
		if (transaction instanceof Bundle bundle) {
			for (int i = 0; i < bundle.getEntry().size(); i++) {
				Bundle.BundleEntryRequestComponent entry = bundle.getEntry().get(i).getRequest();
				boolean update = entry.getMethod() == Bundle.HTTPVerb.PUT || entry.getMethod() == Bundle.HTTPVerb.PATCH;
				if (update && isBlank(entry.getIfMatch())) {
					throw new PreconditionFailedException("Bundle.entry[" + i + "].request.ifMatch is required on "
							+ "update (" + entry.getUrl() + ")");
				}
			}
		}
	}

	private static boolean isBlank(String value) {
		return value == null || value.isBlank();
	}
}
