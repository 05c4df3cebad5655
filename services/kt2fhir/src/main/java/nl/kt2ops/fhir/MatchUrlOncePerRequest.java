package nl.kt2ops.fhir;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.RuntimeResourceDefinition;
import ca.uhn.fhir.jpa.searchparam.MatchUrlService;
import ca.uhn.fhir.jpa.searchparam.SearchParameterMap;
import ca.uhn.fhir.jpa.searchparam.extractor.ResourceIndexedSearchParams;
import ca.uhn.fhir.jpa.searchparam.matcher.InMemoryMatchResult;
import ca.uhn.fhir.jpa.searchparam.matcher.InMemoryResourceMatcher;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import java.util.HashMap;
import java.util.Map;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.springframework.beans.factory.annotation.Autowired;

/**
 * HAPI's in-memory matcher, translating each match URL once per request instead of once per comparison.
 *
 * <p>Before it commits a transaction, HAPI checks that no conditional create's match URL matches two of the
 * Bundle's resources (BaseTransactionProcessor.validateNoDuplicates): every URL against every resource of its
 * type, each comparison parsing the URL again. For P.8's Bundles of 50 conditional creates that is 2,500
 * parses per Bundle, about 11 % of the server's CPU during the migration (JFR, 22,500 resources). The parsed
 * URL depends on the URL, the type and the search parameters, which do not change within a request.
 */
public class MatchUrlOncePerRequest extends InMemoryResourceMatcher {

	private static final String KEY = MatchUrlOncePerRequest.class.getName();

	/** Per type and request: a Bundle's URLs, bounded for a request that lives long (a server's own job). */
	private static final int MAX_KEPT = 1000;

	@Autowired
	private FhirContext fhirContext;

	@Autowired
	private MatchUrlService matchUrls;

	@Override
	public InMemoryMatchResult match(
			String criteria,
			IBaseResource resource,
			ResourceIndexedSearchParams indexed,
			RequestDetails request) {
		// Without the resource's indexes HAPI extracts only those the URL needs: its own path is the right one.
		if (request == null || resource == null || indexed == null) {
			return super.match(criteria, resource, indexed, request);
		}
		RuntimeResourceDefinition type = fhirContext.getResourceDefinition(resource);
		// Per type, then per URL: the check passes the same URL string for every resource, its hash cached.
		@SuppressWarnings("unchecked")
		Map<String, Map<String, SearchParameterMap>> perType = (Map<String, Map<String, SearchParameterMap>>)
				request.getUserData().computeIfAbsent(KEY, k -> new HashMap<>());
		Map<String, SearchParameterMap> parsed = perType.computeIfAbsent(type.getName(), k -> new HashMap<>());
		SearchParameterMap map = parsed.get(criteria);
		if (map == null) {
			try {
				map = matchUrls.translateMatchUrl(criteria, type);
			} catch (UnsupportedOperationException unparsable) {
				return super.match(criteria, resource, indexed, request); // HAPI's answer for it
			}
			map.clean();
			if (parsed.size() < MAX_KEPT) {
				parsed.put(criteria, map);
			}
		}
		return match(map, resource, type, indexed);
	}
}
