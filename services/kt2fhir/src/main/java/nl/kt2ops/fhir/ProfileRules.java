package nl.kt2ops.fhir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.StreamSupport;

/**
 * The KT2 profiles' constraints, read from {@code kt2-profiles.json} (the one place they are written down), checked
 * against a resource in its JSON form. {@link #violations} names each element that breaks a rule.
 */
public class ProfileRules {

	static final String RULES = "/kt2-profiles.json";
	/** A KT2 profile's canonical URL is this and the type's name. */
	static final String PROFILE_BASE = "http://koppeltaal.nl/fhir/StructureDefinition/KT2";
	private static final String TASK_CODES = "http://vzvz.nl/fhir/CodeSystem/koppeltaal-task-code";
	private static final Pattern FHIR_ID = Pattern.compile("[A-Za-z0-9\\-.]{1,64}");
	private static final String COD472 = "urn:oid:2.16.840.1.113883.2.4.3.11.22.472";
	private static final Map<String, String> COD472_DISPLAY =
			Map.of("23", "Contactpersoon", "24", "Wettelijke vertegenwoordiger");
	private static final String EXPANSION_TYPE = "http://vzvz.nl/fhir/CodeSystem/koppeltaal-usage-context-type";
	private static final String EXPANSION_VALUES = "http://vzvz.nl/fhir/CodeSystem/koppeltaal-expansion";

	private final JsonNode rules;

	public ProfileRules() {
		try (InputStream in = ProfileRules.class.getResourceAsStream(RULES)) {
			rules = new ObjectMapper().readTree(in);
		} catch (IOException e) {
			throw new UncheckedIOException("cannot read " + RULES, e);
		}
	}

	/** The server's own resources (the domain admin's mirror, AuditEvents) declare their KT2 profile too. */
	public static <T extends org.hl7.fhir.r4.model.Resource> T declared(T resource) {
		resource.getMeta().addProfile(PROFILE_BASE + resource.fhirType());
		return resource;
	}

	public boolean profiles(String type) {
		return rules.has(type);
	}

	/** What is wrong with the resource, one line per element ({@code Patient.gender: required}); empty if valid. */
	public List<String> violations(JsonNode resource) {
		String type = resource.path("resourceType").asText();
		JsonNode rule = rules.path(type);
		List<String> found = new ArrayList<>();
		extension(found, type, resource, ResourceOriginInterceptor.EXTENSION, RESOURCE_ORIGIN);
		if (rule.isMissingNode()) {
			return found;
		}
		String profile = PROFILE_BASE + type;
		if (!contains(resource.path("meta").path("profile"), profile)) {
			found.add(type + ".meta.profile: must name " + profile + " (the profile KT 2.0 validates against)");
		}
		for (JsonNode path : rule.path("required")) {
			required(found, type, resource, path.asText());
		}
		for (JsonNode path : rule.path("prohibited")) {
			for (String element : present(resource, path.asText())) {
				found.add(type + "." + element + ": prohibited by the KT2 profile (0..0)");
			}
		}
		rule.path("fixed").fields().forEachRemaining(e -> {
			for (JsonNode value : walk(resource, e.getKey())) {
				if (!value.equals(e.getValue())) {
					found.add(type + "." + e.getKey() + ": must be exactly " + e.getValue() + ", not " + value);
				}
			}
		});
		rule.path("max").fields().forEachRemaining(e -> {
			if (resource.path(e.getKey()).size() > e.getValue().asInt()) {
				found.add(type + "." + e.getKey() + ": at most " + e.getValue().asInt());
			}
		});
		rule.path("codes").fields().forEachRemaining(e -> {
			for (JsonNode coding : walk(resource, e.getKey())) {
				JsonNode allowed = e.getValue().path(coding.path("system").asText());
				if (!contains(allowed, coding.path("code").asText())) {
					found.add(type + "." + e.getKey() + ": " + coding.path("system").asText() + "|"
							+ coding.path("code").asText() + " is not in the required value set");
				}
			}
		});
		rule.path("references").fields().forEachRemaining(e -> {
			for (JsonNode reference : walk(resource, e.getKey())) {
				target(found, type + "." + e.getKey(), reference, e.getValue());
			}
		});
		rule.path("extensions").fields().forEachRemaining(e -> extension(found, type, resource, e.getKey(),
				ExtensionRule.of(e.getValue())));
		for (JsonNode check : rule.path("checks")) {
			check(found, type, resource, check.asText());
		}
		return found;
	}

	/** targets: the rule file's list of reference types (empty: any). */
	private record ExtensionRule(int min, int max, String value, JsonNode targets) {
		static ExtensionRule of(JsonNode rule) {
			return new ExtensionRule(rule.path("min").asInt(0), rule.path("max").asInt(Integer.MAX_VALUE),
					rule.path("value").asText(null), rule.path("targets"));
		}
	}

	/** Every type: at most one resource-origin, a reference to a Device. */
	private static final ExtensionRule RESOURCE_ORIGIN =
			new ExtensionRule(0, 1, "valueReference", JsonNodeFactory.instance.arrayNode().add("Device"));

	private static void extension(List<String> found, String type, JsonNode resource, String url, ExtensionRule rule) {
		List<JsonNode> present = new ArrayList<>();
		resource.path("extension").forEach(e -> {
			if (url.equals(e.path("url").asText())) {
				present.add(e);
			}
		});
		String where = type + ".extension(" + url + ")";
		if (present.size() < rule.min()) {
			found.add(where + ": at least " + rule.min() + " required");
		}
		if (present.size() > rule.max()) {
			found.add(where + ": at most " + rule.max());
		}
		for (JsonNode extension : present) {
			if (rule.value() == null) {
				continue;
			}
			JsonNode value = extension.path(rule.value());
			if (value.isMissingNode()) {
				found.add(where + ": needs a " + rule.value());
			} else if ("valueId".equals(rule.value()) && !FHIR_ID.matcher(value.asText()).matches()) {
				found.add(where + ": '" + value.asText() + "' is not a FHIR id (letters, digits, - and ., 1 to 64)");
			} else if (!rule.targets().isEmpty()) {
				target(found, where, value, rule.targets());
			}
		}
	}

	private static void target(List<String> found, String where, JsonNode reference, JsonNode allowed) {
		String ref = reference.path("reference").asText("");
		if (ref.isEmpty() || ref.startsWith("urn:") || ref.startsWith("#")) {
			return;
		}
		int query = ref.indexOf('?'); // a conditional reference in a transaction: Type?search
		String[] parts = ref.split("/");
		String targetType = query >= 0 ? ref.substring(0, query) : parts.length >= 2 ? parts[parts.length - 2] : "";
		if (!contains(allowed, targetType)) {
			found.add(where + ": may refer to " + allowed + " only, not " + ref);
		}
	}

	private static void required(List<String> found, String type, JsonNode resource, String path) {
		int dot = path.lastIndexOf('.');
		List<JsonNode> parents = dot < 0 ? List.of(resource) : walk(resource, path.substring(0, dot));
		String element = path.substring(dot + 1);
		for (JsonNode parent : parents) {
			JsonNode value = parent.path(element);
			if (value.isMissingNode() || value.isNull() || (value.isContainerNode() && value.isEmpty())
					|| (value.isTextual() && value.asText().isBlank())) {
				found.add(type + "." + path + ": required by the KT2 profile");
			}
		}
	}

	private void check(List<String> found, String type, JsonNode resource, String check) {
		switch (check) {
			case "name-use" -> each(resource.path("name"), (i, name) -> {
				if (name.path("use").asText("").isEmpty()) {
					found.add(type + ".name[" + i + "].use: required on every name (kt2pnu)");
				}
			});
			case "official-name" -> each(resource.path("name"), (i, name) -> {
				if ("official".equals(name.path("use").asText())
						&& (name.path("family").asText("").isEmpty() || name.path("given").isEmpty())) {
					found.add(type + ".name[" + i + "]: the official name needs family and given");
				}
			});
			case "email" -> {
				boolean email = StreamSupport.stream(resource.path("telecom").spliterator(), false)
						.anyMatch(t -> "email".equals(t.path("system").asText()));
				if (!email) {
					found.add(type + ".telecom: at least one e-mail address is required");
				}
			}
			case "role-display" -> each(resource.path("relationship"), (i, concept) ->
					each(concept.path("coding"), (j, coding) -> {
						String wanted = COD472_DISPLAY.get(coding.path("code").asText());
						if (COD472.equals(coding.path("system").asText()) && wanted != null
								&& !wanted.equals(coding.path("display").asText())) {
							found.add(type + ".relationship[" + i + "].coding[" + j + "].display: must be '"
									+ wanted + "' (kt2-role-display-validation)");
						}
					}));
			case "koppeltaal-expansion" -> each(resource.path("useContext"), (i, context) -> {
				if (EXPANSION_TYPE.equals(context.path("code").path("system").asText())) {
					JsonNode codings = context.path("valueCodeableConcept").path("coding");
					boolean valid = codings.size() > 0 && StreamSupport.stream(codings.spliterator(), false)
							.allMatch(c -> EXPANSION_VALUES.equals(c.path("system").asText())
									&& "026-RolvdNaaste".equals(c.path("code").asText()));
					if (!valid) {
						found.add(type + ".useContext[" + i + "].valueCodeableConcept: must be "
								+ EXPANSION_VALUES + "|026-RolvdNaaste");
					}
				}
			});
			case "view-part-of" -> {
				boolean view = StreamSupport.stream(resource.path("code").path("coding").spliterator(), false)
						.anyMatch(c -> TASK_CODES.equals(c.path("system").asText()) && "view".equals(c.path("code").asText()));
				if (view && resource.path("partOf").isEmpty()) {
					found.add(type + ".partOf: required for a Task with code view (the task it shows)");
				}
			}
			case "https-endpoint" -> {
				if (!resource.path("channel").path("endpoint").asText("").startsWith("https://")) {
					found.add(type + ".channel.endpoint: must be an https URL (rest-hook over TLS only)");
				}
			}
			default -> throw new IllegalStateException(RULES + " names an unknown check: " + check);
		}
	}

	private interface Entry {
		void accept(int index, JsonNode node);
	}

	private static void each(JsonNode list, Entry entry) {
		for (int i = 0; i < list.size(); i++) {
			entry.accept(i, list.get(i));
		}
	}

	/** The values at a dotted path; a list on the way is entered entry by entry. */
	static List<JsonNode> walk(JsonNode node, String path) {
		List<JsonNode> current = List.of(node);
		for (String segment : path.split("\\.")) {
			List<JsonNode> next = new ArrayList<>();
			for (JsonNode n : current) {
				JsonNode child = n.path(segment);
				if (child.isArray()) {
					child.forEach(next::add);
				} else if (!child.isMissingNode()) {
					next.add(child);
				}
			}
			current = next;
		}
		return current;
	}

	/** The names of the elements present at a path ({@code deceased[x]} matches deceasedBoolean, ...). */
	private static List<String> present(JsonNode resource, String path) {
		int dot = path.lastIndexOf('.');
		List<JsonNode> parents = dot < 0 ? List.of(resource) : walk(resource, path.substring(0, dot));
		String element = path.substring(dot + 1);
		String prefix = dot < 0 ? "" : path.substring(0, dot) + ".";
		List<String> names = new ArrayList<>();
		for (JsonNode parent : parents) {
			Iterator<String> fields = parent.fieldNames();
			while (fields.hasNext()) {
				String field = fields.next();
				boolean choice = element.endsWith("[x]") && field.startsWith(element.substring(0, element.length() - 3))
						&& field.length() > element.length() - 3
						&& Character.isUpperCase(field.charAt(element.length() - 3));
				if ((field.equals(element) || choice) && !names.contains(prefix + field)) {
					names.add(prefix + field);
				}
			}
		}
		return names;
	}

	private static boolean contains(JsonNode list, String value) {
		for (JsonNode item : list) {
			if (item.asText().equals(value)) {
				return true;
			}
		}
		return false;
	}
}
