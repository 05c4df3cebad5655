package nl.kt2ops.fhir;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.server.exceptions.UnprocessableEntityException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.springframework.stereotype.Component;

/**
 * The KT2 profiles enforced: a create or update (in a transaction too) that breaks a rule of
 * {@code kt2-profiles.json} is refused with 422 and an OperationOutcome with an issue per element.
 */
@Component
@Interceptor
public class ProfileInterceptor implements KoppeltaalInterceptor {

	private final FhirContext fhir;
	private final ProfileRules rules = new ProfileRules();
	private final ObjectMapper json = new ObjectMapper();

	public ProfileInterceptor(FhirContext fhir) {
		this.fhir = fhir;
	}

	/**
	 * After resource-origin is stamped or copied (default order 0), so the stored resource is what is judged; before
	 * HAPI's own Subscription check (order 100), as the reference's profile validation comes first.
	 */
	@Hook(value = Pointcut.STORAGE_PRESTORAGE_RESOURCE_CREATED, order = 99)
	public void created(IBaseResource resource) {
		judge(resource);
	}

	@Hook(value = Pointcut.STORAGE_PRESTORAGE_RESOURCE_UPDATED, order = 99)
	public void updated(IBaseResource stored, IBaseResource updated) {
		judge(updated);
	}

	private void judge(IBaseResource resource) {
		if (!rules.profiles(resource.fhirType())) {
			return;
		}
		List<String> violations;
		try {
			JsonNode tree = json.readTree(fhir.newJsonParser().encodeResourceToString(resource));
			violations = rules.violations(tree);
		} catch (IOException e) {
			throw new UncheckedIOException(e);
		}
		if (!violations.isEmpty()) {
			OperationOutcome outcome = new OperationOutcome();
			for (String violation : violations) {
				outcome.addIssue()
						.setSeverity(OperationOutcome.IssueSeverity.ERROR)
						.setCode(OperationOutcome.IssueType.INVARIANT)
						.setDiagnostics("KT2" + resource.fhirType() + ": " + violation)
						.addExpression(violation.substring(0, violation.indexOf(':')));
			}
			throw new UnprocessableEntityException(fhir, outcome);
		}
	}
}
