package nl.kt2ops.fhir;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.jpa.searchparam.SearchParameterMap;
import ca.uhn.fhir.rest.api.SortOrderEnum;
import ca.uhn.fhir.rest.api.SortSpec;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import org.springframework.stereotype.Component;

/** As KT 2.0 answers a search: newest first ({@code -_lastUpdated}) unless the client sorts by {@code _sort}. */
@Component
@Interceptor
public class DefaultSortInterceptor implements KoppeltaalInterceptor {

	@Hook(Pointcut.STORAGE_PRESEARCH_REGISTERED)
	public void newestFirst(RequestDetails request, SearchParameterMap parameters) {
		if (Grant.of(request) != null && parameters.getSort() == null && !parameters.isLoadSynchronous()) {
			parameters.setSort(new SortSpec("_lastUpdated", SortOrderEnum.DESC));
		}
	}
}
