"""The applications' credentials: issued by their environment's CA, and refused with the reason an operator
can act on when they belong to another environment, have expired or do not match their key."""

import datetime
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from kt2ops import pki

NOW = datetime.datetime(2027, 3, 17, 18, 30, tzinfo=datetime.UTC)


def make_ca(environment: str) -> pki.Ca:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Koppeltaal {environment} CA")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(NOW - datetime.timedelta(days=1))
            .not_valid_after(NOW + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256()))
    return pki.Ca(environment, cert, key)


PRD2, ACC22 = make_ca("prd2"), make_ca("acc22")
APP_KEY = pki.new_key()


def test_an_issued_certificate_names_the_application_and_serves_client_authentication():
    cert = pki.issue_client_certificate(APP_KEY, PRD2, "ggz-noorderlicht", "noorderlicht-ecd", 365, NOW)
    assert cert.subject.rfc4514_string() == "O=Koppeltaal prd2,OU=ggz-noorderlicht,CN=noorderlicht-ecd"
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]
    assert pki.credential_problem(cert, APP_KEY, PRD2, NOW) is None and pki.own_credential(cert, APP_KEY, PRD2)
    assert APP_KEY.key_size == pki.KEY_BITS


# An expired credential of our own is renewed; a foreign one, or one for another key, must fail instead.
@pytest.mark.parametrize(("ca", "key", "days", "problem", "own"), [
    (ACC22, APP_KEY, 365, "not issued by the prd2 CA (a credential of another environment?)", False),
    (PRD2, APP_KEY, 0, "certificate expired on 2027-03-17", True),  # valid until this very moment
    (PRD2, rsa.generate_private_key(public_exponent=65537, key_size=2048), 365,
     "private key does not match the certificate", False),
])
def test_a_credential_that_may_not_be_used_says_why(ca, key, days, problem, own):
    cert = pki.issue_client_certificate(key, ca, "ggz-noorderlicht", "noorderlicht-ecd", days, NOW)
    assert pki.credential_problem(cert, APP_KEY, PRD2, NOW) == problem
    assert pki.own_credential(cert, APP_KEY, PRD2) is own


def test_stored_credentials_read_back_and_unreadable_ones_are_named(tmp_path):
    cert = pki.issue_client_certificate(APP_KEY, PRD2, "ggz-noorderlicht", "noorderlicht-ecd", 365, NOW)
    pki.write_certificate(tmp_path / "app.crt", cert)
    assert pki.read_certificate(tmp_path / "app.crt") == cert
    assert (tmp_path / "app.crt").stat().st_mode & 0o777 == 0o644
    (tmp_path / "broken.key").write_text("not a key\n")
    with pytest.raises(pki.PkiError, match="^" + re.escape(f"{tmp_path}/broken.key: unreadable private key: ")):
        pki.read_private_key(tmp_path / "broken.key")
    with pytest.raises(pki.PkiError, match=r"^acc21: cannot read the environment's CA: "):
        pki.load_ca(tmp_path / "missing.crt", tmp_path / "missing.key", "acc21")
