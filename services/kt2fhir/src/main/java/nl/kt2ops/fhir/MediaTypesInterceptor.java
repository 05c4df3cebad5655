package nl.kt2ops.fhir;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.server.exceptions.UnclassifiedServerFailureException;
import jakarta.servlet.http.HttpServletRequest;
import java.util.List;
import java.util.Locale;
import org.springframework.stereotype.Component;

/**
 * As KT 2.0 answers a request in a media type it does not speak: a body that is not FHIR (JSON or XML), a JSON
 * Patch or a search form is refused with 415; an Accept header that allows none of FHIR's formats with 406.
 */
@Component
@Interceptor
public class MediaTypesInterceptor implements KoppeltaalInterceptor {

	private static final List<String> BODIES = List.of("application/fhir+json", "application/json",
			"application/fhir+xml", "application/xml", "application/json-patch+json",
			"application/x-www-form-urlencoded");
	private static final List<String> ANSWERS = List.of("*/*", "application/*", "application/fhir+json",
			"application/json", "application/fhir+xml", "application/xml", "text/html");

	@Hook(value = Pointcut.SERVER_INCOMING_REQUEST_PRE_PROCESSED, order = 10)
	public boolean spoken(HttpServletRequest request) {
		String body = request.getContentType();
		if (body != null && request.getContentLengthLong() != 0 && !BODIES.contains(mediaType(body))) {
			throw new UnclassifiedServerFailureException(415, "Content-Type " + body + " is not supported: send "
					+ "application/fhir+json (or a JSON Patch)");
		}
		String accept = request.getHeader("Accept");
		if (accept != null && !accept.isBlank()
				&& java.util.Arrays.stream(accept.split(",")).map(MediaTypesInterceptor::mediaType)
						.noneMatch(ANSWERS::contains)) {
			throw new UnclassifiedServerFailureException(406, "Accept " + accept + " names no format this server "
					+ "answers in: accept application/fhir+json");
		}
		return true;
	}

	private static String mediaType(String header) {
		return header.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
	}
}
