"""provision.yml's PKI on the lab: every environment its own CA and certificate (appendix B.6)."""

import itertools
import ssl
import stat
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import ROOT, run
from tests.integration.conftest import playbook, recap

PKI = ROOT / "inventories/lab/.pki"
TLS = "/etc/kt2ops/tls"


def _served(container: str, name: str) -> bytes:
    return run("podman", "exec", container, "cat", f"{TLS}/{name}").stdout.encode()


def _signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
    except InvalidSignature:
        return False
    return cert.issuer == ca.subject


def test_each_environment_has_its_own_ca_key_and_certificate(provisioned):
    certs, cas, keys = {}, {}, {}
    for host in provisioned:
        env = host["environment"]
        certs[env] = x509.load_pem_x509_certificate(_served(host["container"], "server.crt"))
        cas[env] = x509.load_pem_x509_certificate(_served(host["container"], "ca.crt"))
        keys[env] = serialization.load_pem_private_key(_served(host["container"], "server.key"), None)
        assert _signed_by(certs[env], cas[env])
        names = certs[env].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert names.get_values_for_type(x509.DNSName) == [f"{env}.koppeltaal.test"]
    for a, b in itertools.permutations(certs, 2):
        assert not _signed_by(certs[a], cas[b]), f"{a}'s certificate verifies against {b}'s CA"
        assert cas[a].subject != cas[b].subject
        assert keys[a].public_key().public_numbers() != keys[b].public_key().public_numbers()


def test_private_keys_stay_private(provisioned):
    for host in provisioned:
        env_dir = PKI / host["environment"]
        assert stat.S_IMODE(env_dir.stat().st_mode) == 0o700
        for key in ("ca.key", "server.key"):
            assert stat.S_IMODE((env_dir / key).stat().st_mode) == 0o600
        listing = run("podman", "exec", host["container"], "ls", TLS).stdout.split()
        assert "ca.key" not in listing
        mode = run("podman", "exec", host["container"], "stat", "-c", "%a %U", f"{TLS}/server.key").stdout.split()
        assert mode == ["600", "root"]


def test_certificate_expiring_within_30_days_is_renewed(provisioned):
    acc21 = next(h for h in provisioned if h["environment"] == "acc21")
    short = playbook("playbooks/provision.yml", "-l", acc21["host"],
                     "-e", "kt2_pki_server_valid_days=20", "-e", "kt2_pki_renew_server_now=true")
    assert short.returncode == 0
    served = x509.load_pem_x509_certificate(_served(acc21["container"], "server.crt"))
    assert served.not_valid_after_utc < datetime.now(UTC) + timedelta(days=21)

    renewed = playbook("playbooks/provision.yml", "-l", acc21["host"])
    assert recap(renewed.stdout)[acc21["host"]]["changed"] > 0
    served = x509.load_pem_x509_certificate(_served(acc21["container"], "server.crt"))
    assert served.not_valid_after_utc > datetime.now(UTC) + timedelta(days=300)
    # ... and nginx serves the renewed certificate at once, not the one it loaded before.
    on_the_wire = x509.load_pem_x509_certificate(ssl.get_server_certificate((acc21["address"], 443)).encode())
    assert on_the_wire == served
    again = playbook("playbooks/provision.yml", "-l", acc21["host"])
    assert recap(again.stdout)[acc21["host"]]["changed"] == 0
