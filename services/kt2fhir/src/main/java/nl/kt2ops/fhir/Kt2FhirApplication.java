package nl.kt2ops.fhir;

import ca.uhn.fhir.jpa.config.r4.JpaR4Config;
import ca.uhn.fhir.rest.server.RestfulServer;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.autoconfigure.elasticsearch.ElasticsearchClientAutoConfiguration;
import org.springframework.boot.autoconfigure.elasticsearch.ElasticsearchRestClientAutoConfiguration;
import org.springframework.boot.autoconfigure.flyway.FlywayAutoConfiguration;
import org.springframework.boot.autoconfigure.quartz.QuartzAutoConfiguration;
import org.springframework.boot.autoconfigure.thymeleaf.ThymeleafAutoConfiguration;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;

/**
 * The lab's KT 2.0 FHIR server: HAPI FHIR JPA (R4) on PostgreSQL, one partition per domain under
 * {@code /api/v1/<domain>/fhir/r4}, Koppeltaal's rules as interceptors, and the runbook's contract on
 * {@code /_contract} (loopback only: nginx does not route it).
 */
// HAPI brings Flyway, Quartz, Elasticsearch and Thymeleaf on the class path; it runs its own schema upkeep
// and scheduler, and the lab uses neither a search cluster nor server-side pages.
@SpringBootApplication(
		exclude = {
			FlywayAutoConfiguration.class,
			QuartzAutoConfiguration.class,
			ElasticsearchClientAutoConfiguration.class,
			ElasticsearchRestClientAutoConfiguration.class,
			ThymeleafAutoConfiguration.class
		})
@EnableConfigurationProperties(KoppeltaalProperties.class)
@Import(JpaR4Config.class)
public class Kt2FhirApplication {

	public static void main(String[] args) {
		SpringApplication.run(Kt2FhirApplication.class, args);
	}

	@Bean
	public ServletRegistrationBean<RestfulServer> fhirServlet(RestfulServer server) {
		ServletRegistrationBean<RestfulServer> registration = new ServletRegistrationBean<>(server, "/api/v1/*");
		registration.setLoadOnStartup(1);
		return registration;
	}
}
