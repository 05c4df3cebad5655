package nl.kt2ops.fhir;

import ca.uhn.fhir.jpa.api.dao.DaoRegistry;
import ca.uhn.fhir.jpa.api.dao.IFhirResourceDao;
import ca.uhn.fhir.jpa.searchparam.SearchParameterMap;
import ca.uhn.fhir.jpa.subscription.match.matcher.subscriber.SubscriptionActivatingListener;
import ca.uhn.fhir.rest.api.server.SystemRequestDetails;
import ca.uhn.fhir.jpa.subscription.match.config.SubscriptionProcessorConfig;
import ca.uhn.fhir.jpa.subscription.match.registry.SubscriptionLoader;
import java.util.List;
import java.util.Set;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Subscription;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * HAPI's subscription processing, with two changes for a database partitioned per domain
 * ({@link FhirServerConfig#partitionSettings}), where HAPI's own code finds no Subscription it looks for across
 * all partitions: its loader searches all partitions on {@code status}, which HAPI refuses when the partition is
 * part of the search hashes (this one reads every Subscription and keeps the requested and active ones, which is
 * what HAPI's search would have found); and its activation reads a requested Subscription by id across all
 * partitions, which finds nothing when a key includes the partition (this one reads it in its domain's
 * partition, then sets it active as HAPI does).
 */
@Configuration
public class SubscriptionConfig extends SubscriptionProcessorConfig {

	private static final Set<Subscription.SubscriptionStatus> LOADED =
			Set.of(Subscription.SubscriptionStatus.REQUESTED, Subscription.SubscriptionStatus.ACTIVE);

	@Autowired
	private JdbcTemplate jdbc;

	@Autowired
	private DaoRegistry daos;

	@Override
	@Bean
	public SubscriptionLoader subscriptionLoader() {
		return new SubscriptionLoader() {
			@Override
			protected SearchParameterMap getSearchParameterMap() {
				SearchParameterMap all = super.getSearchParameterMap();
				all.remove("status");
				return all;
			}

			@Override
			protected void handleInit(List<IBaseResource> subscriptions) {
				super.handleInit(loaded(subscriptions));
			}

			@Override
			protected int syncResourcesIntoCache(List<IBaseResource> subscriptions) {
				return super.syncResourcesIntoCache(loaded(subscriptions));
			}
		};
	}

	@Override
	@Bean
	public SubscriptionActivatingListener subscriptionActivatingSubscriber() {
		return new SubscriptionActivatingListener() {
			@Override
			public synchronized boolean activateSubscriptionIfRequired(IBaseResource resource) {
				return isChannelTypeSupported(resource) && resource instanceof Subscription subscription
						&& subscription.getStatus() == Subscription.SubscriptionStatus.REQUESTED
						&& activate(subscription.getIdElement().getIdPart());
			}
		};
	}

	/** Sets a still requested Subscription active in its domain's partition; false when it is gone or changed. */
	private boolean activate(String id) {
		List<String> domains = jdbc.queryForList("SELECT p.part_name FROM hfj_resource r JOIN hfj_partition p "
				+ "ON p.part_id = r.partition_id WHERE r.res_type = 'Subscription' AND r.fhir_id = ?", String.class, id);
		if (domains.size() != 1) {
			return false;
		}
		SystemRequestDetails system = Domains.system(domains.get(0));
		IFhirResourceDao<Subscription> dao = daos.getResourceDao(Subscription.class);
		Subscription current = dao.read(new IdType("Subscription", id), system);
		if (current.getStatus() != Subscription.SubscriptionStatus.REQUESTED) {
			return false;
		}
		current.setStatus(Subscription.SubscriptionStatus.ACTIVE);
		dao.update(current, system);
		return true;
	}

	private static List<IBaseResource> loaded(List<IBaseResource> subscriptions) {
		return subscriptions.stream()
				.filter(s -> s instanceof Subscription subscription && LOADED.contains(subscription.getStatus()))
				.toList();
	}
}
