package nl.kt2ops.fhir;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.jpa.api.dao.DaoRegistry;
import ca.uhn.fhir.jpa.partition.IPartitionLookupSvc;
import ca.uhn.fhir.jpa.searchparam.matcher.InMemoryMatchResult;
import ca.uhn.fhir.jpa.subscription.model.CanonicalSubscription;
import ca.uhn.fhir.jpa.subscription.model.ResourceDeliveryMessage;
import ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException;
import ca.uhn.fhir.rest.server.exceptions.ResourceGoneException;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import ca.uhn.fhir.rest.server.messaging.BaseResourceMessage;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.Date;
import java.util.Set;
import java.util.UUID;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IIdType;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Reference;
import org.springframework.stereotype.Component;

/**
 * Rest-hook notifications as KT 2.0 delivers them: only of resources the subscriber's role may read (its
 * Subscription's resource-origin names the application, the domain keeps the scope its role gives), none
 * for a deletion (applications resync), and an AuditEvent for every notification delivered or failed.
 */
@Component
@Interceptor
public class NotificationRules {

	private static final String KT2_EXTENSIONS = "http://koppeltaal.nl/fhir/StructureDefinition/";

	private final FhirContext fhir;
	private final DaoRegistry daos;
	private final IPartitionLookupSvc partitions;
	private final Domains domains;

	public NotificationRules(FhirContext fhir, DaoRegistry daos, IPartitionLookupSvc partitions, Domains domains) {
		this.fhir = fhir;
		this.daos = daos;
		this.partitions = partitions;
		this.domains = domains;
	}

	/** false vetoes the delivery of this match to this subscriber. */
	@Hook(Pointcut.SUBSCRIPTION_RESOURCE_MATCHED)
	public boolean inReach(CanonicalSubscription subscription, ResourceDeliveryMessage delivery,
			InMemoryMatchResult match) {
		if (delivery.getOperationType() == BaseResourceMessage.OperationTypeEnum.DELETE) {
			return false;
		}
		String domain = domainOf(subscription);
		String clientId = subscriber(domain, subscription);
		JsonNode application = clientId == null ? null : application(domain, clientId);
		IBaseResource resource = read(domain, delivery.getPayloadId(fhir));
		if (application == null || resource == null) {
			return false;
		}
		try {
			Grant grant = Grant.parse(clientId, application.path("scope").asText(""), false);
			Set<String> origins = grant.reach(resource.fhirType(), 'r');
			return origins == null || origins.contains(ResourceOriginInterceptor.originOf(resource));
		} catch (ForbiddenOperationException e) {
			return false;
		}
	}

	@Hook(Pointcut.SUBSCRIPTION_AFTER_REST_HOOK_DELIVERY)
	public void delivered(ResourceDeliveryMessage delivery, CanonicalSubscription subscription) {
		audit(delivery, subscription, AuditEvent.AuditEventOutcome._0, null);
	}

	@Hook(Pointcut.SUBSCRIPTION_AFTER_DELIVERY_FAILED)
	public boolean failed(ResourceDeliveryMessage delivery, Exception exception) {
		audit(delivery, delivery.getSubscription(), AuditEvent.AuditEventOutcome._8, exception.getMessage());
		return true;
	}

	private String domainOf(CanonicalSubscription subscription) {
		return partitions.getPartitionById(subscription.getRequestPartitionId()).getName();
	}

	/** The client id of the application whose Subscription it is (its resource-origin), or null. */
	private String subscriber(String domain, CanonicalSubscription subscription) {
		IBaseResource stored = read(domain, subscription.getIdElement(fhir));
		String origin = stored == null ? null : ResourceOriginInterceptor.originOf(stored);
		return origin == null || !origin.startsWith("Device/") ? null : origin.substring("Device/".length());
	}

	/** The application as the domain keeps it now (with the scope its role gives), or null when withdrawn. */
	private JsonNode application(String domain, String clientId) {
		return domains.find(domain).map(d -> d.application(clientId)).orElse(null);
	}

	private IBaseResource read(String domain, IIdType id) {
		try {
			return daos.getResourceDao(id.getResourceType()).read(id.toUnqualifiedVersionless(), Domains.system(domain));
		} catch (ResourceNotFoundException | ResourceGoneException e) {
			return null;
		}
	}

	/** What the platform notified whom of, with fresh request ids (no client request caused the delivery). */
	private void audit(ResourceDeliveryMessage delivery, CanonicalSubscription subscription,
			AuditEvent.AuditEventOutcome outcome, String reason) {
		String domain = domainOf(subscription);
		IIdType subscriptionId = subscription.getIdElement(fhir).toUnqualifiedVersionless();
		AuditEvent event = ProfileRules.declared(new AuditEvent());
		RequestIdsInterceptor.HEADERS.values().forEach(
				name -> event.addExtension(KT2_EXTENSIONS + name, new IdType(UUID.randomUUID().toString())));
		event.setType(new Coding("http://dicom.nema.org/resources/ontology/DCM", "110106", "Export"));
		event.addSubtype(new Coding("http://hl7.org/fhir/subscription-channel-type", "rest-hook", null));
		event.setAction(AuditEvent.AuditEventAction.E);
		event.setRecorded(new Date());
		event.setOutcome(outcome);
		if (reason != null) {
			event.setOutcomeDesc(reason);
		}
		String subscriber = subscriber(domain, subscription);
		event.addAgent()
				.setType(new CodeableConcept(new Coding("http://dicom.nema.org/resources/ontology/DCM", "110152",
						"Destination Role ID")))
				.setWho(new Reference("Device/" + subscriber))
				.setNetwork(new AuditEvent.AuditEventAgentNetworkComponent().setAddress(subscription.getEndpointUrl()))
				.setRequestor(false);
		event.getSource().setObserver(new Reference(domains.adminDevice(domain)));
		event.addEntity().setWhat(new Reference(subscriptionId));
		event.addEntity().setWhat(new Reference(delivery.getPayloadId(fhir).toUnqualifiedVersionless()));
		daos.getResourceDao(AuditEvent.class).create(event, Domains.system(domain));
	}
}
