"""kt2_pki on a host: its own server key and certificate, signed by its environment's CA."""

import os
from pathlib import Path

TLS = "/etc/kt2ops/tls"


def test_server_key_is_private(host):
    key = host.file(f"{TLS}/server.key")
    assert key.mode == 0o600 and key.user == "root"
    assert host.file(TLS).mode == 0o750


def test_ca_key_never_reaches_the_host(host):
    assert not host.file(f"{TLS}/ca.key").exists
    assert host.run("grep -rl 'PRIVATE KEY' /etc/kt2ops").stdout.split() == [f"{TLS}/server.key"]


def test_certificate_chains_to_the_environment_ca(host):
    result = host.run(f"openssl verify -CAfile {TLS}/ca.crt {TLS}/server.crt")
    assert result.rc == 0, result.stderr
    subject = host.run(f"openssl x509 -in {TLS}/ca.crt -noout -subject").stdout
    assert "kt2ops molenv CA" in subject


def test_certificate_names_the_service_host(host):
    text = host.run(f"openssl x509 -in {TLS}/server.crt -noout -ext subjectAltName,extendedKeyUsage").stdout
    assert "DNS:molenv.koppeltaal.test" in text
    assert "TLS Web Server Authentication" in text


def test_key_matches_certificate(host):
    cert_pub = host.run(f"openssl x509 -in {TLS}/server.crt -noout -pubkey").stdout
    key_pub = host.run(f"openssl pkey -in {TLS}/server.key -pubout").stdout
    assert cert_pub == key_pub


def test_full_chain_is_server_then_ca(host):
    chain = host.file(f"{TLS}/fullchain.pem").content_string
    assert chain.count("BEGIN CERTIFICATE") == 2
    assert chain.startswith(host.file(f"{TLS}/server.crt").content_string.strip()[:60])


def test_keys_on_the_control_machine_lie_only_vault_encrypted():
    pki = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "pki" / "molenv"
    for name in ("ca.key", "server.key"):
        sealed = (pki / name).read_bytes()
        assert sealed.startswith(b"$ANSIBLE_VAULT;1.1;AES256") and b"PRIVATE KEY" not in sealed
