package nl.kt2ops.fhir;

import ca.uhn.fhir.jpa.api.dao.DaoRegistry;
import ca.uhn.fhir.jpa.searchparam.registry.SearchParamRegistryImpl;
import ca.uhn.fhir.rest.api.server.SystemRequestDetails;
import java.util.List;
import org.hl7.fhir.r4.model.Enumerations;
import org.hl7.fhir.r4.model.SearchParameter;
import org.springframework.boot.ApplicationArguments;
import org.springframework.boot.ApplicationRunner;
import org.springframework.stereotype.Component;

/**
 * Koppeltaal's search parameter {@code resource-origin} (a reference to the Device that created a resource),
 * on every type KT 2.0 profiles; scopes limited to resource-origins narrow searches by it. Created at start in
 * HAPI's default partition, where the search parameters of every partition live.
 */
@Component
public class SearchParameters implements ApplicationRunner {

	static final String RESOURCE_ORIGIN_URL = "http://koppeltaal.nl/fhir/SearchParameter/resource-origin";
	static final List<String> KT2_TYPES = List.of("ActivityDefinition", "AuditEvent", "CareTeam", "Device",
			"Endpoint", "Organization", "Patient", "Practitioner", "RelatedPerson", "Subscription", "Task");

	private final DaoRegistry daos;
	private final SearchParamRegistryImpl registry;

	public SearchParameters(DaoRegistry daos, SearchParamRegistryImpl registry) {
		this.daos = daos;
		this.registry = registry;
	}

	@Override
	public void run(ApplicationArguments args) {
		SearchParameter origin = new SearchParameter();
		origin.setUrl(RESOURCE_ORIGIN_URL)
				.setName(ResourceOriginInterceptor.SEARCH_PARAMETER)
				.setCode(ResourceOriginInterceptor.SEARCH_PARAMETER)
				.setStatus(Enumerations.PublicationStatus.ACTIVE)
				.setType(Enumerations.SearchParamType.REFERENCE)
				.setDescription("The Device of the application that created the resource")
				// One path per type: HAPI matches reference searches against the paths the expression names.
				.setExpression(String.join(" | ", KT2_TYPES.stream()
						.map(type -> type + ".extension('" + ResourceOriginInterceptor.EXTENSION + "').value")
						.toList()));
		origin.addTarget("Device");
		KT2_TYPES.forEach(origin::addBase);
		// A system request without a partition: HAPI stores search parameters in its default partition.
		daos.getResourceDao(SearchParameter.class).create(origin, "url=" + RESOURCE_ORIGIN_URL, new SystemRequestDetails());
		registry.forceRefresh();
	}
}
