"""What `kt2 comply` observes from the control machine, as a client would: the TLS a host accepts and
serves (a real scan with sslyze) and what plain HTTP answers."""

from __future__ import annotations

import http.client
import warnings
from typing import Any

from sslyze import (
    ScanCommand,
    ScanCommandAttemptStatusEnum,
    Scanner,
    ServerNetworkLocation,
    ServerScanRequest,
    ServerScanStatusEnum,
)

from kt2ops.comply.certificates import describe_certificate

PROTOCOL_SCANS = {
    "SSLv2": ScanCommand.SSL_2_0_CIPHER_SUITES, "SSLv3": ScanCommand.SSL_3_0_CIPHER_SUITES,
    "TLSv1.0": ScanCommand.TLS_1_0_CIPHER_SUITES, "TLSv1.1": ScanCommand.TLS_1_1_CIPHER_SUITES,
    "TLSv1.2": ScanCommand.TLS_1_2_CIPHER_SUITES, "TLSv1.3": ScanCommand.TLS_1_3_CIPHER_SUITES,
}
HTTP_PATHS = ("/", "/api/", "/kt13/")


def scan_tls(targets: list[tuple[str, str, str, int]]) -> dict[str, dict[str, Any]]:
    """TLS scans, concurrently: targets are (key, service host name, address, port). Per key: the
    protocol versions with the cipher suites accepted, and the certificate chain served."""
    # sslyze's bundled trust stores hold old roots with negative serials; not ours to judge.
    warnings.filterwarnings("ignore", message="Parsed a serial number which wasn't positive")
    scanner = Scanner()
    keys, requests = {}, []
    for key, hostname, address, port in targets:
        request = ServerScanRequest(
            server_location=ServerNetworkLocation(hostname=hostname, port=port, ip_address=address),
            scan_commands={ScanCommand.CERTIFICATE_INFO, *PROTOCOL_SCANS.values()})
        keys[request.uuid] = (key, port)
        requests.append(request)
    scanner.queue_scans(requests)
    results: dict[str, dict[str, Any]] = {}
    for result in scanner.get_results():
        key, port = keys[result.uuid]
        if result.scan_status != ServerScanStatusEnum.COMPLETED:
            results[key] = {"port": port, "error": f"TLS connection failed: {result.connectivity_error_trace}"}
            continue
        scan = result.scan_result
        protocols, errors = {}, []
        for name, command in PROTOCOL_SCANS.items():
            attempt = getattr(scan, command.value)
            if attempt.status != ScanCommandAttemptStatusEnum.COMPLETED:
                errors.append(f"{name}: {attempt.error_reason}")
                continue
            accepted = [c.cipher_suite.openssl_name for c in attempt.result.accepted_cipher_suites]
            if accepted:
                protocols[name] = accepted
        chain: list[dict[str, Any]] = []
        if scan.certificate_info.status == ScanCommandAttemptStatusEnum.COMPLETED:
            deployment = scan.certificate_info.result.certificate_deployments[0]
            chain = [describe_certificate(c) for c in deployment.received_certificate_chain]
        results[key] = {"port": port, "protocols": protocols, "chain": chain, "errors": errors}
    return results


def probe_http(hostname: str, address: str, port: int = 80) -> dict[str, Any]:
    """What plain HTTP answers on a few paths: status, where it redirects, how many body bytes."""
    answers = {}
    for path in HTTP_PATHS:
        conn = http.client.HTTPConnection(address, port, timeout=5)
        try:
            conn.request("GET", path, headers={"Host": hostname})
            response = conn.getresponse()
            body = response.read()
            answers[path] = {"status": response.status, "location": response.getheader("Location") or "",
                             # a redirect's own little page is not data
                             "body_bytes": 0 if 300 <= response.status < 400 else len(body)}
        except OSError as err:
            answers[path] = {"status": None, "error": str(err)}
        finally:
            conn.close()
    return answers
