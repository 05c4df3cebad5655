package nl.kt2ops.fhir;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The keys of the KT 2.0 reference server ({@code fhir.server.security.*}, {@code smart.configuration.*}),
 * so that the role can deploy either build with one configuration. {@code {domain}} in a URL stands for the
 * domain of the request: the lab runs one server for all domains of an environment, the reference one per domain.
 */
@ConfigurationProperties
public class KoppeltaalProperties {

	private final Fhir fhir = new Fhir();
	private final Smart smart = new Smart();

	public Fhir getFhir() {
		return fhir;
	}

	public Smart getSmart() {
		return smart;
	}

	public static String forDomain(String template, String domain) {
		return template.replace("{domain}", domain);
	}

	public static class Fhir {
		private final Server server = new Server();

		public Server getServer() {
			return server;
		}
	}

	public static class Server {
		private final Security security = new Security();
		private final Subscription subscription = new Subscription();
		/** Public base the FHIR URLs are built on, e.g. https://acc21.koppeltaal.test/api/v1 */
		private String publicBaseUrl = "http://localhost:8080/api/v1";
		/** How entries of transaction and batch Bundles are treated (the inventory's kt2_env.transaction_rules). */
		private TransactionRules transactionRules = TransactionRules.REFERENCE;

		public Security getSecurity() {
			return security;
		}

		public Subscription getSubscription() {
			return subscription;
		}

		public String getPublicBaseUrl() {
			return publicBaseUrl;
		}

		public void setPublicBaseUrl(String publicBaseUrl) {
			this.publicBaseUrl = publicBaseUrl.replaceAll("/+$", "");
		}

		public TransactionRules getTransactionRules() {
			return transactionRules;
		}

		public void setTransactionRules(TransactionRules transactionRules) {
			this.transactionRules = transactionRules;
		}
	}

	/**
	 * REFERENCE: as KT 2.0's reference server (production) runs, entries of a transaction or batch are stored as
	 * sent: resource-origin neither stamped nor checked, the scope not applied. KT: entries get KT's per-resource
	 * rules, as a single create or update does.
	 */
	public enum TransactionRules {
		REFERENCE,
		KT
	}

	/** {@code fhir.server.subscription.retry.max-attempts}: tries per notification (the reference: one). */
	public static class Subscription {
		private final Retry retry = new Retry();

		public Retry getRetry() {
			return retry;
		}
	}

	public static class Retry {
		private int maxAttempts = 1;

		public int getMaxAttempts() {
			return maxAttempts;
		}

		public void setMaxAttempts(int maxAttempts) {
			if (maxAttempts < 1) {
				throw new IllegalArgumentException("fhir.server.subscription.retry.max-attempts must be at least 1");
			}
			this.maxAttempts = maxAttempts;
		}
	}

	public static class Security {
		private boolean enabled = true;
		private String issuer = "";
		private String audience = "fhir-server";
		private String jwksEndpoint = "";
		private long leewaySeconds = 60;

		public boolean isEnabled() {
			return enabled;
		}

		public void setEnabled(boolean enabled) {
			this.enabled = enabled;
		}

		public String getIssuer() {
			return issuer;
		}

		public void setIssuer(String issuer) {
			this.issuer = issuer;
		}

		public String getAudience() {
			return audience;
		}

		public void setAudience(String audience) {
			this.audience = audience;
		}

		public String getJwksEndpoint() {
			return jwksEndpoint;
		}

		public void setJwksEndpoint(String jwksEndpoint) {
			this.jwksEndpoint = jwksEndpoint;
		}

		public long getLeewaySeconds() {
			return leewaySeconds;
		}

		public void setLeewaySeconds(long leewaySeconds) {
			this.leewaySeconds = leewaySeconds;
		}
	}

	public static class Smart {
		private final Configuration configuration = new Configuration();

		public Configuration getConfiguration() {
			return configuration;
		}
	}

	public static class Configuration {
		private String tokenEndpoint = "";

		public String getTokenEndpoint() {
			return tokenEndpoint;
		}

		public void setTokenEndpoint(String tokenEndpoint) {
			this.tokenEndpoint = tokenEndpoint;
		}
	}
}
