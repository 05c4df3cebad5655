package nl.kt2ops.fhir;

import ca.uhn.fhir.batch2.jobs.config.Batch2JobsConfig;
import ca.uhn.fhir.interceptor.api.IInterceptorService;
import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.jpa.batch2.JpaBatch2Config;
import ca.uhn.fhir.jpa.api.config.ThreadPoolFactoryConfig;
import ca.uhn.fhir.jpa.api.dao.IFhirSystemDao;
import ca.uhn.fhir.jpa.config.HapiJpaConfig;
import ca.uhn.fhir.jpa.config.util.HapiEntityManagerFactoryUtil;
import ca.uhn.fhir.jpa.dao.TransactionProcessor;
import ca.uhn.fhir.jpa.model.config.PartitionSettings;
import ca.uhn.fhir.jpa.model.config.SubscriptionSettings;
import ca.uhn.fhir.jpa.model.dialect.HapiFhirPostgresDialect;
import ca.uhn.fhir.jpa.search.DatabaseBackedPagingProvider;
import ca.uhn.fhir.jpa.searchparam.matcher.InMemoryResourceMatcher;
import ca.uhn.fhir.jpa.subscription.channel.config.SubscriptionChannelConfig;
import ca.uhn.fhir.jpa.subscription.channel.impl.RetryPolicyProvider;
import ca.uhn.fhir.jpa.subscription.match.deliver.email.IEmailSender;
import ca.uhn.fhir.jpa.subscription.submit.config.SubscriptionSubmitterConfig;
import ca.uhn.fhir.rest.server.HardcodedServerAddressStrategy;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.interceptor.partition.RequestTenantPartitionInterceptor;
import ca.uhn.fhir.rest.server.provider.ResourceProviderFactory;
import jakarta.persistence.EntityManagerFactory;
import java.util.List;
import javax.sql.DataSource;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.autoconfigure.orm.jpa.JpaProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.orm.jpa.LocalContainerEntityManagerFactoryBean;
import org.springframework.retry.RetryPolicy;
import org.springframework.retry.policy.MaxAttemptsRetryPolicy;

/**
 * HAPI's JPA server as Koppeltaal runs it. The settings that differ from HAPI's defaults, and why, are
 * listed in the role's README section "HAPI settings"; this class is the one place they are made.
 */
@Configuration
// Batch2 runs HAPI's background jobs (expunge, reindex after a new SearchParameter) over its in-memory broker;
// the subscription configurations match changed resources and deliver rest-hook notifications over it too.
@Import({
	HapiJpaConfig.class,
	ThreadPoolFactoryConfig.class,
	JpaBatch2Config.class,
	Batch2JobsConfig.class,
	SubscriptionChannelConfig.class,
	SubscriptionSubmitterConfig.class,
	SubscriptionConfig.class
})
public class FhirServerConfig {

	/** Page sizes: KT clients page by next links; 1,000 is the largest page KT 1.3 clients were used to. */
	static final int DEFAULT_PAGE_SIZE = 100;

	static final int MAX_PAGE_SIZE = 1000;

	@Bean
	public JpaStorageSettings jpaStorageSettings() {
		JpaStorageSettings settings = new JpaStorageSettings();
		// KT 2.0: ids are server-assigned UUIDs; a client id exists only for the Devices and Endpoints the
		// domain admin creates (id = client id), which the contract writes as the system.
		settings.setResourceServerIdStrategy(JpaStorageSettings.IdStrategyEnum.UUID);
		settings.setResourceClientIdStrategy(JpaStorageSettings.ClientIdStrategyEnum.ANY);
		// Removing a domain deletes all its resources at once; rollback R deletes by reference order.
		settings.setAllowMultipleDelete(true);
		settings.setExpungeEnabled(true);
		settings.setDeleteExpungeEnabled(true);
		// No placeholder resources and no references to other servers: a reference must resolve.
		settings.setAutoCreatePlaceholderReferenceTargets(false);
		settings.setAllowExternalReferences(false);
		// Searches of the migration and the Q gate read every page once: no reuse of cached result sets.
		settings.setReuseCachedSearchResultsForMillis(null);
		settings.setFetchSizeDefaultMaximum(MAX_PAGE_SIZE * 10);
		// The KT2 profiles say what a resource carries; a missing element need not be indexed.
		settings.setIndexMissingFields(JpaStorageSettings.IndexEnabledEnum.DISABLED);
		return settings;
	}

	/** HAPI's own matcher, replaced: see {@link MatchUrlOncePerRequest}. */
	@Primary
	@Bean
	public InMemoryResourceMatcher matchUrlOncePerRequest() {
		return new MatchUrlOncePerRequest();
	}

	/** HAPI's transaction processor, replaced: see {@link InReachTransactionProcessor}. */
	@Primary
	@Bean
	public TransactionProcessor inReachTransactionProcessor() {
		return new InReachTransactionProcessor();
	}

	/** KT2Subscription: rest-hook only (HAPI then activates a requested one; other channel types stay off). */
	@Bean
	public SubscriptionSettings subscriptionSettings() {
		SubscriptionSettings settings = new SubscriptionSettings();
		settings.addSupportedSubscriptionType(org.hl7.fhir.dstu2.model.Subscription.SubscriptionChannelType.RESTHOOK);
		// Active as soon as registered, not after HAPI's next polling of the Subscription table.
		settings.setSubscriptionChangeQueuedImmediately(true);
		return settings;
	}

	/** No email channel (KT2Subscription allows rest-hook only); HAPI's processor wants a sender all the same. */
	@Bean
	public IEmailSender emailSender() {
		return details -> {
			throw new UnsupportedOperationException("KT 2.0 delivers rest-hook notifications only");
		};
	}

	/** Tries per notification as {@code fhir.server.subscription.retry.max-attempts} says, not HAPI's minute. */
	@Primary
	@Bean
	public RetryPolicyProvider koppeltaalRetryPolicyProvider(KoppeltaalProperties properties) {
		int attempts = properties.getFhir().getServer().getSubscription().getRetry().getMaxAttempts();
		return new RetryPolicyProvider() {
			@Override
			protected RetryPolicy retryPolicy() {
				return new MaxAttemptsRetryPolicy(attempts);
			}
		};
	}

	@Bean
	public PartitionSettings partitionSettings() {
		PartitionSettings settings = new PartitionSettings();
		// One partition per domain (TOP-KT-018's tenancy by URL); nothing crosses partitions.
		settings.setPartitioningEnabled(true);
		settings.setIncludePartitionInSearchHashes(true);
		settings.setAllowReferencesAcrossPartitions(PartitionSettings.CrossPartitionReferenceMode.NOT_ALLOWED);
		// Keys include the partition, so an id is unique per domain, not per server: every domain has a Device
		// whose id is the client id of its domain admin application (KT 2.0 runs a server per domain).
		settings.setDatabasePartitionMode(true);
		settings.setDefaultPartitionId(0);
		return settings;
	}

	@Primary
	@Bean
	public LocalContainerEntityManagerFactoryBean entityManagerFactory(
			ConfigurableListableBeanFactory beanFactory,
			ca.uhn.fhir.context.FhirContext fhirContext,
			JpaStorageSettings storageSettings,
			JpaProperties jpaProperties,
			DataSource dataSource) {
		LocalContainerEntityManagerFactoryBean factory =
				HapiEntityManagerFactoryUtil.newEntityManagerFactory(beanFactory, fhirContext, storageSettings);
		var properties = jpaProperties.getProperties();
		properties.putIfAbsent("hibernate.dialect", HapiFhirPostgresDialect.class.getName());
		properties.putIfAbsent("hibernate.hbm2ddl.auto", "update");
		properties.putIfAbsent("hibernate.jdbc.batch_size", "20");
		// A Bundle's flush inserts each resource's rows table by table (resource, version, indexes, search
		// URL); ordered, the rows of one table go in one JDBC batch, which the driver sends as one statement
		// (reWriteBatchedInserts in the role's datasource URL).
		properties.putIfAbsent("hibernate.order_inserts", "true");
		properties.putIfAbsent("hibernate.order_updates", "true");
		properties.putIfAbsent("hibernate.cache.use_query_cache", "false");
		properties.putIfAbsent("hibernate.cache.use_second_level_cache", "false");
		properties.putIfAbsent("hibernate.search.enabled", "false");
		properties.putIfAbsent(
				"hibernate.physical_naming_strategy",
				"org.hibernate.boot.model.naming.CamelCaseToUnderscoresNamingStrategy");
		factory.setPersistenceUnitName("HAPI_PU");
		factory.setJpaPropertyMap(properties);
		factory.setDataSource(dataSource);
		return factory;
	}

	@Primary
	@Bean
	public JpaTransactionManager transactionManager(EntityManagerFactory entityManagerFactory) {
		return new JpaTransactionManager(entityManagerFactory);
	}

	@Bean
	public RestfulServer restfulServer(
			IFhirSystemDao<?, ?> systemDao,
			@Qualifier("mySystemProviderR4") Object systemProvider,
			ResourceProviderFactory resourceProviders,
			DatabaseBackedPagingProvider pagingProvider,
			KoppeltaalProperties properties,
			PartitionSettings partitionSettings,
			IInterceptorService interceptors,
			NotificationRules notifications,
			List<KoppeltaalInterceptor> koppeltaalRules) {
		RestfulServer server = new DomainTenancy.Server(systemDao.getContext());
		server.registerProviders(resourceProviders.createProviders());
		server.registerProvider(systemProvider);
		server.setDefaultResponseEncoding(ca.uhn.fhir.rest.api.EncodingEnum.JSON);
		pagingProvider.setDefaultPageSize(DEFAULT_PAGE_SIZE);
		pagingProvider.setMaximumPageSize(MAX_PAGE_SIZE);
		server.setPagingProvider(pagingProvider);
		server.setServerAddressStrategy(
				new HardcodedServerAddressStrategy(properties.getFhir().getServer().getPublicBaseUrl()));
		// The tenant names the partition; registered with HAPI's own interceptor service, so that the server's
		// system requests (the contract, start-up) find their partition too.
		RequestTenantPartitionInterceptor partitions = new RequestTenantPartitionInterceptor();
		partitions.setPartitionSettings(partitionSettings);
		interceptors.registerInterceptor(partitions);
		// Notifications are matched and delivered outside any request: their rules hook into HAPI's service.
		interceptors.registerInterceptor(notifications);
		koppeltaalRules.forEach(server::registerInterceptor);
		return server;
	}
}
