package nl.kt2ops.fhir;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.jpa.api.dao.DaoRegistry;
import ca.uhn.fhir.jpa.api.model.DeleteConflictList;
import ca.uhn.fhir.jpa.delete.DeleteConflictOutcome;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import ca.uhn.fhir.rest.server.exceptions.MethodNotAllowedException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Set;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IIdType;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Reference;
import org.springframework.stereotype.Component;

/**
 * AuditEvents (KT2AuditEvent) as KT 2.0 writes them, for every interaction of an application: who (its
 * Device), what (an entity per resource created, updated or deleted; the resource read; a search's query),
 * the outcome (an error with its reason) and the request's trace, request and correlation ids.
 * AuditEvents cannot be updated.
 */
@Component
@Interceptor
public class AuditEventInterceptor implements KoppeltaalInterceptor {

	private static final String CHANGED = AuditEventInterceptor.class.getName() + ".changed";
	private static final String KT2_EXTENSIONS = "http://koppeltaal.nl/fhir/StructureDefinition/";
	/** Interactions that read: audited too, as the reference server does. */
	private static final Set<RestOperationTypeEnum> READS = Set.of(RestOperationTypeEnum.READ,
			RestOperationTypeEnum.VREAD, RestOperationTypeEnum.SEARCH_TYPE, RestOperationTypeEnum.SEARCH_SYSTEM,
			RestOperationTypeEnum.GET_PAGE, RestOperationTypeEnum.HISTORY_INSTANCE, RestOperationTypeEnum.HISTORY_TYPE,
			RestOperationTypeEnum.HISTORY_SYSTEM);

	private final DaoRegistry daos;
	private final Domains domains;

	public AuditEventInterceptor(DaoRegistry daos, Domains domains) {
		this.daos = daos;
		this.domains = domains;
	}

	/** A changed resource; a deleted one is named, not referred to (a reference must resolve to a live one). */
	private record Change(IIdType id, boolean deleted) {
		Reference what() {
			IIdType versionless = id.toUnqualifiedVersionless();
			return deleted
					? new Reference().setType(versionless.getResourceType()).setDisplay(versionless.getValue())
					: new Reference(versionless);
		}
	}

	@Hook(Pointcut.STORAGE_PRECOMMIT_RESOURCE_CREATED)
	public void created(IBaseResource resource, RequestDetails request) {
		remember(request, new Change(resource.getIdElement(), false));
	}

	@Hook(Pointcut.STORAGE_PRECOMMIT_RESOURCE_UPDATED)
	public void updated(IBaseResource stored, IBaseResource updated, RequestDetails request) {
		remember(request, new Change(updated.getIdElement(), false));
	}

	@Hook(Pointcut.STORAGE_PRECOMMIT_RESOURCE_DELETED)
	public void deleted(IBaseResource stored, RequestDetails request) {
		remember(request, new Change(stored.getIdElement(), true));
	}

	/** An AuditEvent records a change; it does not keep the changed resource (or the Device) from being deleted. */
	@Hook(Pointcut.STORAGE_PRESTORAGE_DELETE_CONFLICTS)
	public DeleteConflictOutcome recordsDoNotHold(DeleteConflictList conflicts) {
		conflicts.removeIf(conflict -> "AuditEvent".equals(conflict.getSourceId().getResourceType()));
		return null;
	}

	@Hook(Pointcut.SERVER_PROCESSING_COMPLETED_NORMALLY)
	public void completed(RequestDetails request) {
		Grant grant = Grant.of(request);
		if (grant == null) {
			anonymous(request);
			return;
		}
		@SuppressWarnings("unchecked")
		List<Change> changed = (List<Change>) request.getUserData().get(CHANGED);
		AuditEvent event = event(request, grant, AuditEvent.AuditEventOutcome._0);
		if (changed != null) {
			changed.forEach(change -> event.addEntity().setWhat(change.what()));
		} else if (READS.contains(request.getRestOperationType())) {
			event.addEntity().setWhat(request.getId() != null && request.getId().hasIdPart()
					? new Reference(request.getId().toUnqualifiedVersionless()) : null)
					.setQuery(query(request));
		} else {
			return;
		}
		daos.getResourceDao(AuditEvent.class).create(event, Domains.system(request.getTenantId()));
	}

	/**
	 * The CapabilityStatement answered without a token (a client finding the token endpoint): the agent is named
	 * by its address only, the domain admin's Device observes (the platform's own side).
	 */
	private void anonymous(RequestDetails request) {
		String domain = request.getTenantId();
		if (request.getRestOperationType() != RestOperationTypeEnum.METADATA || domain == null
				|| domains.find(domain).isEmpty()) {
			return;
		}
		String address = request instanceof ca.uhn.fhir.rest.server.servlet.ServletRequestDetails servlet
				? servlet.getServletRequest().getHeader("X-Forwarded-For") : null;
		Reference who = new Reference().setType("Device")
				.setDisplay("anonymous client" + (address == null ? "" : " at " + address));
		AuditEvent event = event(request, who, new Reference(domains.adminDevice(domain)),
				AuditEvent.AuditEventOutcome._0);
		event.addEntity().setWhat(new Reference().setType("CapabilityStatement").setDisplay("metadata"));
		daos.getResourceDao(AuditEvent.class).create(event, Domains.system(domain));
	}

	/** A refused or failed request of an application: outcome 4 (the request) or 8 (the server), with the reason. */
	@Hook(Pointcut.SERVER_HANDLE_EXCEPTION)
	public boolean failed(RequestDetails request, BaseServerResponseException exception) {
		Grant grant = Grant.of(request);
		if (grant != null && request.getTenantId() != null) {
			AuditEvent event = event(request, grant, exception.getStatusCode() >= 500
					? AuditEvent.AuditEventOutcome._8 : AuditEvent.AuditEventOutcome._4);
			event.setOutcomeDesc("HTTP " + exception.getStatusCode() + ": " + exception.getMessage());
			// The resource asked for is named, not referred to: it may not exist (a reference must resolve).
			IIdType asked = request.getId();
			event.addEntity()
					.setWhat(asked == null || !asked.hasIdPart() ? null : new Reference()
							.setType(asked.getResourceType()).setDisplay(asked.toUnqualifiedVersionless().getValue()))
					.setDescription(request.getRequestType() + " " + request.getRequestPath())
					.setQuery(query(request));
			daos.getResourceDao(AuditEvent.class).create(event, Domains.system(request.getTenantId()));
		}
		return true;
	}

	/** AuditEvents are a record: nobody updates one. */
	@Hook(Pointcut.STORAGE_PRESTORAGE_RESOURCE_UPDATED)
	public void neverUpdated(IBaseResource stored) {
		if ("AuditEvent".equals(stored.fhirType())) {
			throw new MethodNotAllowedException("AuditEvents cannot be updated");
		}
	}

	private static AuditEvent event(RequestDetails request, Grant grant, AuditEvent.AuditEventOutcome outcome) {
		Reference device = new Reference(grant.device());
		AuditEvent event = event(request, device, device, outcome);
		event.addExtension(ResourceOriginInterceptor.EXTENSION, device.copy());
		return event;
	}

	private static AuditEvent event(RequestDetails request, Reference who, Reference observer,
			AuditEvent.AuditEventOutcome outcome) {
		AuditEvent event = ProfileRules.declared(new AuditEvent());
		RequestIdsInterceptor.of(request).forEach((name, id) -> event.addExtension(KT2_EXTENSIONS + name, new IdType(id)));
		event.setType(new Coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "RESTful Operation"));
		event.addSubtype(new Coding("http://hl7.org/fhir/restful-interaction", interaction(request), null));
		event.setAction(action(request.getRestOperationType()));
		event.setRecorded(new Date());
		event.setOutcome(outcome);
		event.addAgent()
				.setType(new CodeableConcept(new Coding("http://dicom.nema.org/resources/ontology/DCM", "110153",
						"Source Role ID")))
				.setWho(who.copy())
				.setRequestor(true);
		event.getSource().setObserver(observer.copy());
		return event;
	}

	/** The request's query string as it came, which a search's AuditEvent keeps (FHIR: entity.query). */
	private static byte[] query(RequestDetails request) {
		String query = request.getCompleteUrl().contains("?")
				? request.getCompleteUrl().substring(request.getCompleteUrl().indexOf('?') + 1) : null;
		return query == null ? null : query.getBytes(StandardCharsets.UTF_8);
	}

	private static void remember(RequestDetails request, Change change) {
		if (Grant.of(request) != null && !"AuditEvent".equals(change.id().getResourceType())) {
			@SuppressWarnings("unchecked")
			List<Change> changed = (List<Change>) request.getUserData().computeIfAbsent(CHANGED, k -> new ArrayList<>());
			changed.add(change);
		}
	}

	private static String interaction(RequestDetails request) {
		RestOperationTypeEnum operation = request.getRestOperationType();
		return operation == null ? "unknown" : switch (operation) {
			case CREATE -> "create";
			case UPDATE -> "update";
			case PATCH -> "patch";
			case DELETE -> "delete";
			case READ -> "read";
			case VREAD -> "vread";
			case SEARCH_TYPE, SEARCH_SYSTEM, GET_PAGE -> "search";
			case HISTORY_INSTANCE, HISTORY_TYPE, HISTORY_SYSTEM -> "history";
			case TRANSACTION -> "transaction";
			case BATCH -> "batch";
			case METADATA -> "capabilities";
			default -> operation.getCode();
		};
	}

	private static AuditEvent.AuditEventAction action(RestOperationTypeEnum operation) {
		return operation == null ? AuditEvent.AuditEventAction.E : switch (operation) {
			case CREATE -> AuditEvent.AuditEventAction.C;
			case UPDATE, PATCH -> AuditEvent.AuditEventAction.U;
			case DELETE -> AuditEvent.AuditEventAction.D;
			case READ, VREAD, HISTORY_INSTANCE -> AuditEvent.AuditEventAction.R;
			default -> AuditEvent.AuditEventAction.E;
		};
	}
}
