package nl.kt2ops.fhir;

import ca.uhn.fhir.interceptor.model.RequestPartitionId;
import ca.uhn.fhir.jpa.api.dao.DaoRegistry;
import ca.uhn.fhir.jpa.dao.TransactionProcessor;
import ca.uhn.fhir.jpa.model.dao.JpaPid;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.api.server.storage.IResourcePersistentId;
import ca.uhn.fhir.rest.api.server.storage.TransactionDetails;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.springframework.beans.factory.annotation.Autowired;

/**
 * HAPI's transaction processor, keeping a transaction's conditional URLs within the caller's reach without
 * giving up its one-query look-up of them.
 *
 * <p>Before it processes the entries, HAPI resolves every single-token match URL of a Bundle (P.8's
 * {@code Type?identifier=...}) in one query over the token index, but only while each URL's search holds that
 * one parameter: narrowing it to the caller's resource-origins there would send each URL to a search of its
 * own, 50 per Bundle. So the look-up runs as HAPI writes it, and afterwards each URL it resolved to a resource
 * out of the caller's reach is forgotten again: HAPI then searches that one URL when it processes the entry,
 * narrowed as every other search (no match, so a conditional create creates). A Bundle whose URLs match
 * nothing, or only resources in reach, costs what it costs under HAPI.
 */
public class InReachTransactionProcessor extends TransactionProcessor {

	/** Set while HAPI's look-up runs: {@link ResourceOriginInterceptor#narrow} leaves its searches as they are. */
	static final String LOOKING_UP = InReachTransactionProcessor.class.getName();

	@Autowired
	private ResourceOriginInterceptor origins;

	@Autowired
	private DaoRegistry daos;

	@Override
	public void preFetchSearchParameterMaps(
			RequestDetails request,
			TransactionDetails details,
			RequestPartitionId partition,
			List<MatchUrlToResolve> urls,
			Set<JpaPid> pidsToLoadFully,
			Set<JpaPid> pidsToLoadVersion) {
		if (request == null) {
			super.preFetchSearchParameterMaps(request, details, partition, urls, pidsToLoadFully, pidsToLoadVersion);
			return;
		}
		Set<String> known = new HashSet<>(details.getResolvedMatchUrls().keySet());
		request.getUserData().put(LOOKING_UP, Boolean.TRUE);
		try {
			super.preFetchSearchParameterMaps(request, details, partition, urls, pidsToLoadFully, pidsToLoadVersion);
		} finally {
			request.getUserData().remove(LOOKING_UP);
		}
		List<String> outOfReach = new ArrayList<>();
		for (Map.Entry<String, IResourcePersistentId> resolved : details.getResolvedMatchUrls().entrySet()) {
			String url = resolved.getKey();
			if (known.contains(url) || resolved.getValue() == TransactionDetails.NOT_FOUND) {
				continue;
			}
			String type = url.substring(0, url.indexOf('?')); // HAPI looks up "Type?param=value" URLs only
			Set<String> reach = origins.searchReach(request, type);
			if (reach != null) {
				String origin = ResourceOriginInterceptor.originOf(
						daos.getResourceDao(type).readByPid((JpaPid) resolved.getValue()));
				if (!reach.contains(origin)) {
					outOfReach.add(url);
				}
			}
		}
		outOfReach.forEach(details::removeResolvedMatchUrl);
	}
}
