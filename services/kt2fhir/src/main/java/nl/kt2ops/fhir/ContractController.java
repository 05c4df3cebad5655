package nl.kt2ops.fhir;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * The runbook's contract on the host's loopback (nginx does not route {@code /_contract}): health, domains as
 * the domain admin mirrors them, the traffic switch, and counts and hash totals of what HAPI stores. Changing
 * calls answer {@code changed} with a {@code diff}; {@code ?dry_run=true} reports without changing (check mode).
 */
@RestController
@RequestMapping("/_contract")
public class ContractController {

	static final String SERVICE = "kt2-fhir-server";

	private final Domains domains;
	private final Totals totals;
	private final JdbcTemplate jdbc;

	public ContractController(Domains domains, Totals totals, JdbcTemplate jdbc) {
		this.domains = domains;
		this.totals = totals;
		this.jdbc = jdbc;
	}

	/** A refusal of the contract, answered as {@code {"error": message}} with its status. */
	static class ContractException extends RuntimeException {
		final HttpStatus status;

		ContractException(HttpStatus status, String message) {
			super(message);
			this.status = status;
		}
	}

	@ExceptionHandler(ContractException.class)
	public ResponseEntity<Map<String, String>> refused(ContractException e) {
		return ResponseEntity.status(e.status).body(Map.of("error", e.getMessage()));
	}

	@GetMapping("/health")
	public Map<String, Object> health() {
		jdbc.queryForObject("SELECT 1", Integer.class);
		return Map.of("status", "ok", "service", SERVICE,
				"version", String.valueOf(ContractController.class.getPackage().getImplementationVersion()));
	}

	@GetMapping("/domains")
	public Map<String, Object> list() {
		return Map.of("domains", domains.list());
	}

	@PutMapping("/domains/{domain}")
	public Map<String, Object> put(@PathVariable String domain, @RequestBody JsonNode wanted,
			@RequestParam(name = "dry_run", defaultValue = "false") boolean dryRun) {
		if (!wanted.path("name").isTextual() || !wanted.path("applications").isObject()) {
			throw new ContractException(HttpStatus.BAD_REQUEST,
					"body must be {\"name\": ..., \"applications\": {client id: {...}}}");
		}
		var current = domains.find(domain);
		if (current.isPresent() && current.get().config().equals(wanted)) {
			return result(false, null, null);
		}
		if (!dryRun) {
			domains.apply(domain, wanted);
		}
		return result(true, current.map(d -> Domains.summary(d.config())).orElse(null), Domains.summary(wanted));
	}

	@DeleteMapping("/domains/{domain}")
	public Map<String, Object> delete(@PathVariable String domain,
			@RequestParam(name = "dry_run", defaultValue = "false") boolean dryRun) {
		if (domains.find(domain).isEmpty()) {
			return result(false, null, null);
		}
		Map<String, Object> before = Map.of("domain", domain, "counts", totals.of(domain).get("counts"));
		if (!dryRun) {
			domains.remove(domain);
		}
		return result(true, before, null);
	}

	@GetMapping("/domains/{domain}/traffic")
	public Map<String, Object> traffic(@PathVariable String domain) {
		return Map.of("traffic", known(domain).traffic().name());
	}

	@PutMapping("/domains/{domain}/traffic")
	public Map<String, Object> setTraffic(@PathVariable String domain, @RequestBody JsonNode wanted,
			@RequestParam(name = "dry_run", defaultValue = "false") boolean dryRun) {
		Domains.Domain current = known(domain);
		Domains.Traffic traffic;
		try {
			traffic = Domains.Traffic.valueOf(wanted.path("traffic").asText());
		} catch (IllegalArgumentException e) {
			throw new ContractException(HttpStatus.BAD_REQUEST,
					"body must be {\"traffic\": \"open\"|\"migration\"|\"closed\"}");
		}
		Map<String, Object> answer;
		if (traffic == current.traffic()) {
			answer = result(false, null, null);
		} else {
			if (!dryRun) {
				domains.setTraffic(domain, traffic);
			}
			answer = result(true, Map.of("traffic", current.traffic().name()), Map.of("traffic", traffic.name()));
		}
		answer.put("traffic", traffic.name());
		return answer;
	}

	@GetMapping("/domains/{domain}/totals")
	public Map<String, Object> totals(@PathVariable String domain) {
		known(domain);
		Map<String, Object> answer = new LinkedHashMap<>();
		answer.put("domain", domain);
		answer.putAll(totals.of(domain));
		return answer;
	}

	private Domains.Domain known(String domain) {
		return domains.find(domain)
				.orElseThrow(() -> new ContractException(HttpStatus.NOT_FOUND, "unknown domain '" + domain + "'"));
	}

	private static Map<String, Object> result(boolean changed, Object before, Object after) {
		Map<String, Object> result = new LinkedHashMap<>();
		result.put("changed", changed);
		if (changed) {
			Map<String, Object> diff = new LinkedHashMap<>();
			diff.put("before", before);
			diff.put("after", after);
			result.put("diff", diff);
		}
		return result;
	}
}
