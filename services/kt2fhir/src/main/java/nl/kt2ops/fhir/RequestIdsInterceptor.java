package nl.kt2ops.fhir;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import org.springframework.stereotype.Component;

/**
 * KT's request, correlation and trace ids: taken from the request's headers (or generated when absent or not a
 * FHIR id, since they go into AuditEvents as {@code id} values) and returned on the response, before any other
 * rule can refuse the request, so an error answer carries them too.
 */
@Component
@Interceptor
public class RequestIdsInterceptor implements KoppeltaalInterceptor {

	/** Header -> the KT2 extension (under {@code http://koppeltaal.nl/fhir/StructureDefinition/}) that records it. */
	static final Map<String, String> HEADERS =
			Map.of("X-Request-Id", "request-id", "X-Correlation-Id", "correlation-id", "X-Trace-Id", "trace-id");

	private static final String KEY = RequestIdsInterceptor.class.getName();
	private static final Pattern FHIR_ID = Pattern.compile("[A-Za-z0-9\\-.]{1,64}");

	@Hook(Pointcut.SERVER_INCOMING_REQUEST_PRE_PROCESSED)
	public boolean take(HttpServletRequest request, HttpServletResponse response) {
		Map<String, String> ids = new LinkedHashMap<>();
		HEADERS.forEach((header, extension) -> {
			String sent = request.getHeader(header);
			String id = sent != null && FHIR_ID.matcher(sent).matches() ? sent : UUID.randomUUID().toString();
			ids.put(extension, id);
			response.setHeader(header, id);
		});
		request.setAttribute(KEY, ids);
		return true;
	}

	/** extension name -> id of the request (empty for the server's own requests). */
	@SuppressWarnings("unchecked")
	static Map<String, String> of(RequestDetails request) {
		Object ids = request instanceof ca.uhn.fhir.rest.server.servlet.ServletRequestDetails servlet
				? servlet.getServletRequest().getAttribute(KEY) : null;
		return ids == null ? Map.of() : (Map<String, String>) ids;
	}
}
