package nl.kt2ops.fhir;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;

/**
 * Counts and hash totals of a domain's live resources as HAPI stores them, for the runbook's before/after
 * comparisons (rollback R must give the same totals as before P.8). Per type: the number of current resources
 * and a SHA-256 over {@code id:sha256(stored text)} in id order; then one hash over all types. HAPI stores a
 * resource's text without its meta versionId and lastUpdated, so only a change of content moves a hash.
 * AuditEvents are the record of those changes, not data: they are left out (R removes the migration's data, not
 * the trail of it).
 */
@Service
public class Totals {

	private final JdbcTemplate jdbc;

	public Totals(JdbcTemplate jdbc) {
		this.jdbc = jdbc;
	}

	public Map<String, Object> of(String domain) {
		Map<String, Integer> counts = new TreeMap<>();
		Map<String, MessageDigest> digests = new TreeMap<>();
		jdbc.query("SELECT r.res_type, r.fhir_id, v.res_text_vc FROM hfj_resource r "
						+ "JOIN hfj_res_ver v ON v.res_id = r.res_id AND v.res_ver = r.res_ver "
						+ "JOIN hfj_partition p ON p.part_id = r.partition_id "
						+ "WHERE p.part_name = ? AND r.res_deleted_at IS NULL AND r.res_type <> 'AuditEvent' "
						+ "ORDER BY r.res_type, r.fhir_id",
				rs -> {
					String type = rs.getString(1);
					counts.merge(type, 1, Integer::sum);
					MessageDigest digest = digests.computeIfAbsent(type, t -> sha256());
					if (counts.get(type) > 1) {
						digest.update((byte) ',');
					}
					String text = rs.getString(3);
					if (text == null) {  // HAPI keeps JSON inline (RES_TEXT_VC) unless told to compress
						throw new IllegalStateException(type + "/" + rs.getString(2) + " is not stored as inline text");
					}
					digest.update((rs.getString(2) + ":" + hex(sha256().digest(bytes(text))))
							.getBytes(StandardCharsets.UTF_8));
				},
				domain);
		Map<String, String> hashes = new TreeMap<>();
		digests.forEach((type, digest) -> hashes.put(type, hex(digest.digest())));
		StringBuilder all = new StringBuilder();
		hashes.forEach((type, hash) -> all.append(all.isEmpty() ? "" : ",").append(type).append('=').append(hash));
		Map<String, Object> result = new LinkedHashMap<>();
		result.put("counts", counts);
		result.put("hashes", hashes);
		result.put("hash_total", hex(sha256().digest(bytes(all.toString()))));
		return result;
	}

	private static byte[] bytes(String text) {
		return text.getBytes(StandardCharsets.UTF_8);
	}

	private static MessageDigest sha256() {
		try {
			return MessageDigest.getInstance("SHA-256");
		} catch (NoSuchAlgorithmException e) {
			throw new IllegalStateException(e);
		}
	}

	private static String hex(byte[] bytes) {
		return HexFormat.of().formatHex(bytes);
	}
}
