package nl.kt2ops.fhir;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.jpa.api.dao.DaoRegistry;
import ca.uhn.fhir.jpa.api.model.DeleteConflictList;
import ca.uhn.fhir.jpa.delete.DeleteConflictOutcome;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IIdType;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Reference;
import org.springframework.stereotype.Component;

/**
 * An AuditEvent (KT2AuditEvent) per interaction that changed something: who (the application's Device), what
 * (an entity per resource created, updated or deleted), written once the interaction has succeeded.
 */
@Component
@Interceptor
public class AuditEventInterceptor implements KoppeltaalInterceptor {

	private static final String CHANGED = AuditEventInterceptor.class.getName() + ".changed";

	private final DaoRegistry daos;

	public AuditEventInterceptor(DaoRegistry daos) {
		this.daos = daos;
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
		@SuppressWarnings("unchecked")
		List<Change> changed = (List<Change>) request.getUserData().get(CHANGED);
		Grant grant = Grant.of(request);
		if (changed == null || grant == null) {
			return;
		}
		Reference device = new Reference(grant.device());
		AuditEvent event = new AuditEvent();
		event.addExtension(ResourceOriginInterceptor.EXTENSION, device.copy());
		event.setType(new Coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "RESTful Operation"));
		event.addSubtype(new Coding("http://hl7.org/fhir/restful-interaction", interaction(request), null));
		event.setAction(action(request.getRestOperationType()));
		event.setRecorded(new Date());
		event.setOutcome(AuditEvent.AuditEventOutcome._0);
		event.addAgent()
				.setType(new CodeableConcept(new Coding("http://dicom.nema.org/resources/ontology/DCM", "110153",
						"Source Role ID")))
				.setWho(device.copy())
				.setRequestor(true);
		event.getSource().setObserver(device.copy());
		changed.forEach(change -> event.addEntity().setWhat(change.what()));
		daos.getResourceDao(AuditEvent.class).create(event, Domains.system(request.getTenantId()));
	}

	private static void remember(RequestDetails request, Change change) {
		if (Grant.of(request) != null && !"AuditEvent".equals(change.id().getResourceType())) {
			@SuppressWarnings("unchecked")
			List<Change> changed = (List<Change>) request.getUserData().computeIfAbsent(CHANGED, k -> new ArrayList<>());
			changed.add(change);
		}
	}

	private static String interaction(RequestDetails request) {
		return switch (request.getRestOperationType()) {
			case CREATE -> "create";
			case UPDATE -> "update";
			case DELETE -> "delete";
			case TRANSACTION -> "transaction";
			case BATCH -> "batch";
			default -> request.getRestOperationType().getCode();
		};
	}

	private static AuditEvent.AuditEventAction action(RestOperationTypeEnum operation) {
		return switch (operation) {
			case CREATE -> AuditEvent.AuditEventAction.C;
			case UPDATE -> AuditEvent.AuditEventAction.U;
			case DELETE -> AuditEvent.AuditEventAction.D;
			default -> AuditEvent.AuditEventAction.E;
		};
	}
}
