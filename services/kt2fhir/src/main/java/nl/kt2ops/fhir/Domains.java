package nl.kt2ops.fhir;

import ca.uhn.fhir.interceptor.model.RequestPartitionId;
import ca.uhn.fhir.jpa.api.dao.DaoRegistry;
import ca.uhn.fhir.jpa.api.dao.IFhirResourceDao;
import ca.uhn.fhir.jpa.api.dao.IFhirSystemDao;
import ca.uhn.fhir.jpa.api.model.ExpungeOptions;
import ca.uhn.fhir.jpa.entity.PartitionEntity;
import ca.uhn.fhir.jpa.partition.IPartitionLookupSvc;
import ca.uhn.fhir.rest.api.server.SystemRequestDetails;
import ca.uhn.fhir.rest.server.exceptions.ResourceGoneException;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Device;
import org.hl7.fhir.r4.model.Endpoint;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.Organization;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/**
 * The domains of the environment as the runbook's contract and the domain admin keep them: per domain a HAPI
 * partition, its Organization, and per approved application a Device and an Endpoint whose id is the client
 * id. What was asked for is kept in {@code kt2_domain}, next to HAPI's tables, with the traffic switch.
 */
@Service
public class Domains {

	static final String CLIENT_ID_SYSTEM = "http://vzvz.nl/fhir/NamingSystem/koppeltaal-client-id";
	static final String DOMAIN_SYSTEM = "urn:kt2ops:domain";
	private static final int EXPUNGE_BATCH = 10_000;

	private final JdbcTemplate jdbc;
	private final IPartitionLookupSvc partitions;
	private final DaoRegistry daos;
	private final IFhirSystemDao<Bundle, ?> systemDao;
	private final ObjectMapper json = new ObjectMapper();

	public Domains(JdbcTemplate jdbc, IPartitionLookupSvc partitions, DaoRegistry daos,
			IFhirSystemDao<Bundle, ?> systemDao) {
		this.jdbc = jdbc;
		this.partitions = partitions;
		this.daos = daos;
		this.systemDao = systemDao;
		jdbc.execute("CREATE TABLE IF NOT EXISTS kt2_domain (id text PRIMARY KEY, config jsonb NOT NULL, "
				+ "organization_id text NOT NULL, traffic text NOT NULL DEFAULT 'open')");
		// A database of an earlier release kept an open/closed boolean.
		jdbc.execute("ALTER TABLE kt2_domain ADD COLUMN IF NOT EXISTS traffic text NOT NULL DEFAULT 'open'");
		jdbc.execute("ALTER TABLE kt2_domain DROP COLUMN IF EXISTS traffic_open");
	}

	/**
	 * What the domain's applications may do: everything ({@code open}), only publish their migrated data
	 * ({@code migration}, runbook P.8 .. Q.10), nothing ({@code closed}); the domain admin is always served.
	 */
	public enum Traffic {
		open, migration, closed
	}

	/** What the contract keeps of a domain. */
	public record Domain(String id, JsonNode config, String organizationId, Traffic traffic) {

		/** The application's settings in the domain file's terms, or null when it is not registered. */
		public JsonNode application(String clientId) {
			JsonNode app = config.path("applications").path(clientId);
			return app.isMissingNode() ? null : app;
		}
	}

	public Optional<Domain> find(String id) {
		return jdbc.query("SELECT id, config::text, organization_id, traffic FROM kt2_domain WHERE id = ?",
						(rs, n) -> new Domain(rs.getString(1), parse(rs.getString(2)), rs.getString(3),
								Traffic.valueOf(rs.getString(4))),
						id)
				.stream()
				.findFirst();
	}

	public List<Map<String, Object>> list() {
		return jdbc.queryForList("SELECT id, traffic FROM kt2_domain ORDER BY id");
	}

	/** Summary of a configuration for a diff: its name and application ids. */
	public static Map<String, Object> summary(JsonNode config) {
		List<String> apps = new java.util.ArrayList<>();
		config.path("applications").fieldNames().forEachRemaining(apps::add);
		apps.sort(null);
		return Map.of("name", config.path("name").asText(), "applications", apps);
	}

	/** Create or bring up to date: partition, Organization, a Device and an Endpoint per application. */
	@Transactional
	public void apply(String id, JsonNode wanted) {
		Optional<Domain> current = find(id);
		partition(id).orElseGet(() -> partitions.createPartition(
				new PartitionEntity().setId(partitions.generateRandomUnusedPartitionId()).setName(id),
				new SystemRequestDetails()));
		SystemRequestDetails system = system(id);
		Organization org = ProfileRules.declared(new Organization());
		org.setActive(true).setName(wanted.path("name").asText());
		org.addIdentifier(new Identifier().setSystem(DOMAIN_SYSTEM).setValue(id));
		String orgId = ensure(system, current.map(d -> "Organization/" + d.organizationId()).orElse(null), org);
		Iterator<Map.Entry<String, JsonNode>> apps = wanted.path("applications").fields();
		Set<String> wantedIds = new HashSet<>();
		while (apps.hasNext()) {
			Map.Entry<String, JsonNode> app = apps.next();
			String clientId = app.getKey();
			String name = app.getValue().path("name").asText(clientId);
			wantedIds.add(clientId);
			ensure(system, "Device/" + clientId, device(clientId, name, orgId));
			ensure(system, "Endpoint/" + clientId, endpoint(clientId, name, orgId));
		}
		// Withdrawn: logically, as KT deletes (its resources and AuditEvents keep referring to the Device).
		current.ifPresent(domain -> domain.config().path("applications").fieldNames().forEachRemaining(clientId -> {
			if (!wantedIds.contains(clientId)) {
				String name = domain.config().path("applications").path(clientId).path("name").asText(clientId);
				ensure(system, "Device/" + clientId,
						device(clientId, name, orgId).setStatus(Device.FHIRDeviceStatus.INACTIVE));
				ensure(system, "Endpoint/" + clientId,
						endpoint(clientId, name, orgId).setStatus(Endpoint.EndpointStatus.OFF));
			}
		}));
		jdbc.update("INSERT INTO kt2_domain (id, config, organization_id) VALUES (?, ?::jsonb, ?) "
				+ "ON CONFLICT (id) DO UPDATE SET config = EXCLUDED.config, organization_id = EXCLUDED.organization_id",
				id, wanted.toString(), orgId);
	}

	/**
	 * Remove the domain with all its resources (deleted in one transaction, so references between them are
	 * no conflict, then expunged) and its partition.
	 */
	public void remove(String id) {
		Optional<PartitionEntity> partition = partition(id);
		if (partition.isPresent()) {
			SystemRequestDetails system = system(id);
			List<String> types = jdbc.queryForList(
					"SELECT DISTINCT res_type FROM hfj_resource WHERE partition_id = ?", String.class,
					partition.get().getId());
			Bundle deletions = new Bundle().setType(Bundle.BundleType.TRANSACTION);
			types.forEach(type -> deletions.addEntry().getRequest()
					.setMethod(Bundle.HTTPVerb.DELETE).setUrl(type + "?"));
			systemDao.transaction(system, deletions);
			ExpungeOptions expunge = new ExpungeOptions()
					.setExpungeDeletedResources(true)
					.setExpungeOldVersions(true)
					.setLimit(EXPUNGE_BATCH);
			for (String type : types) {
				while (daos.getResourceDao(type).expunge(expunge, system).getDeletedCount() > 0) {
					// in batches, each in its own database transaction
				}
			}
			partitions.deletePartition(partition.get().getId());
		}
		jdbc.update("DELETE FROM kt2_domain WHERE id = ?", id);
	}

	public void setTraffic(String id, Traffic traffic) {
		jdbc.update("UPDATE kt2_domain SET traffic = ? WHERE id = ?", traffic.name(), id);
	}

	public static SystemRequestDetails system(String domain) {
		SystemRequestDetails request = SystemRequestDetails.forRequestPartitionId(
				RequestPartitionId.fromPartitionName(domain));
		request.setTenantId(domain);
		return request;
	}

	private Optional<PartitionEntity> partition(String id) {
		try {
			return Optional.of(partitions.getPartitionByName(id));
		} catch (ResourceNotFoundException e) {
			return Optional.empty();
		}
	}

	/** The id of the resource, created or updated (HAPI writes no new version when nothing changed). */
	@SuppressWarnings({"unchecked", "rawtypes"})
	private String ensure(SystemRequestDetails system, String reference, Resource resource) {
		IFhirResourceDao dao = daos.getResourceDao(resource.fhirType());
		if (reference == null) {
			return dao.create(resource, system).getId().getIdPart();
		}
		resource.setId(reference);
		return dao.update(resource, system).getId().getIdPart();
	}

	/** The Device of the domain's admin application: the platform's own side of what no application asked for. */
	public String adminDevice(String domain) {
		JsonNode applications = find(domain).map(d -> d.config().path("applications")).orElseThrow(
				() -> new ResourceNotFoundException("unknown domain " + domain));
		Iterator<String> ids = applications.fieldNames();
		while (ids.hasNext()) {
			String id = ids.next();
			if (applications.path(id).path("admin").asBoolean()) {
				return "Device/" + id;
			}
		}
		throw new IllegalStateException("domain " + domain + " has no domain admin application");
	}

	/** Whether the application's Device is there and active (a withdrawn application's tokens stop at once). */
	public boolean hasDevice(String domain, String clientId) {
		try {
			IBaseResource device = daos.getResourceDao("Device").read(
					new org.hl7.fhir.r4.model.IdType("Device", clientId), system(domain));
			return device instanceof Device d && d.getStatus() == Device.FHIRDeviceStatus.ACTIVE;
		} catch (ResourceNotFoundException | ResourceGoneException e) {
			return false;
		}
	}

	private static Device device(String clientId, String name, String orgId) {
		Device device = ProfileRules.declared(new Device());
		device.setStatus(Device.FHIRDeviceStatus.ACTIVE);
		device.addIdentifier(new Identifier().setSystem(CLIENT_ID_SYSTEM).setValue(clientId));
		device.addDeviceName().setName(name).setType(Device.DeviceNameType.USERFRIENDLYNAME);
		device.setOwner(new Reference("Organization/" + orgId));
		return device;
	}

	/** Connection and payload type are fixed by the KT2Endpoint profile. */
	private static Endpoint endpoint(String clientId, String name, String orgId) {
		Endpoint endpoint = ProfileRules.declared(new Endpoint());
		endpoint.setStatus(Endpoint.EndpointStatus.ACTIVE).setName(name);
		endpoint.addIdentifier(new Identifier().setSystem(CLIENT_ID_SYSTEM).setValue(clientId));
		endpoint.setConnectionType(new Coding(
				"http://vzvz.nl/fhir/CodeSystem/koppeltaal-endpoint-connection-type", "hti-smart-on-fhir", null));
		endpoint.addPayloadType(new CodeableConcept(
				new Coding("http://terminology.hl7.org/CodeSystem/endpoint-payload-type", "any", null)));
		endpoint.setAddress("urn:kt2ops:application:" + clientId);
		endpoint.setManagingOrganization(new Reference("Organization/" + orgId));
		return endpoint;
	}

	private JsonNode parse(String text) {
		try {
			return json.readTree(text);
		} catch (java.io.IOException e) {
			throw new IllegalStateException("kt2_domain holds invalid JSON", e);
		}
	}
}
