"""What `kt2 comply` reads from a host: pyinfra facts, each one read-only command.

Facts are pyinfra's read-only half (no operation is ever built or run), so the collector cannot change
a host. Each command needs root only to read (nft, sshd -T).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import jwt
from pyinfra.api import FactBase

from kt2ops.layout import layout
from kt2ops.services import contract_url

TRANSFER_ROOT = layout("kt2_transfer_root")
TRANSFER_USER = "kt2transfer"
LIMIT_EXEMPTIONS = layout("kt2_nginx_limit_exempt_file")  # kt2_nginx's, written by runbook step P.8L
RISKY_PACKAGES = ("vsftpd", "proftpd-basic", "pure-ftpd", "tnftp", "ftpd", "telnetd", "inetutils-telnetd",
                  "tftpd-hpa", "rsh-server")


class _ListFact(FactBase):
    """A fact that is a list: empty when the command prints nothing at all."""

    def default(self) -> list:
        return []


class ListeningSockets(_ListFact):
    """TCP sockets in LISTEN state: [{"address", "port", "process"}]."""

    def command(self) -> str:
        return "ss -Htlnp"

    def process(self, output: Iterable[str]) -> list[dict[str, Any]]:
        sockets = []
        for line in output:
            fields = line.split()
            if len(fields) < 4:
                continue
            address, _, port = fields[3].rpartition(":")
            process = fields[5].split('"')[1] if len(fields) > 5 and '"' in fields[5] else ""
            sockets.append({"address": address.strip("[]"), "port": int(port), "process": process})
        return sockets


class NftRuleset(_ListFact):
    """The loaded nftables ruleset, as `nft -j` gives it (empty when nft is missing)."""

    def command(self) -> str:
        return "nft -j list ruleset 2>/dev/null || echo '{\"nftables\": []}'"

    def process(self, output: Iterable[str]) -> list[dict[str, Any]]:
        return json.loads("\n".join(output))["nftables"]


class SshdEffective(FactBase):
    """sshd's effective settings for a root login from outside: {keyword: value}."""

    def command(self) -> str:
        return "sshd -T -C user=root,host=control,addr=192.0.2.1"

    def process(self, output: Iterable[str]) -> dict[str, str]:
        settings = {}
        for line in output:
            key, _, value = line.partition(" ")
            settings.setdefault(key, value)
        return settings


class SftpEffective(SshdEffective):
    """sshd's effective settings for the transfer account (kt2_transfer) logging in from outside."""

    def command(self) -> str:
        return f"sshd -T -C user={TRANSFER_USER},host=control,addr=192.0.2.1"


class SecurityUpdates(FactBase):
    """Pending security updates: installed packages whose candidate, by apt's own policy, is another version
    that a security suite offers; and when the package lists were last fetched. A hold does not change the
    candidate, so a package held back from its security update is still unpatched (and named so). apt's policy
    answers in 0.07 s a host where its upgrade simulation took 0.4 s of CPU (with five hosts on two cores,
    most of the evidence's time); it is also stricter: an update the resolver would keep back stays pending."""

    def command(self) -> str:
        return ("echo lists=$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -printf '%T@\\n' "
                "| sort -n | tail -1); echo held=$(apt-mark showhold); "
                "LC_ALL=C apt-cache policy; echo ==; LC_ALL=C apt-cache policy $(dpkg-query -W -f '${Package}\\n')")

    def process(self, output: Iterable[str]) -> dict[str, Any]:
        lines = list(output)
        stamp = lines[0].partition("=")[2].strip()
        held = set(lines[1].partition("=")[2].split())
        split = lines.index("==")
        security, packages = _security_sources(lines[2:split]), _versions(lines[split + 1:])
        names = [name for name, p in packages.items() if p["installed"] not in ("(none)", p["candidate"])
                 and p["sources"].get(p["candidate"], set()) & security]
        pending = [f"{name} (held back)" if name in held else name for name in names]
        return {"lists_fetched": float(stamp) if stamp else None, "pending_security": pending}


def _security_sources(lines: list[str]) -> set[str]:
    """From `apt-cache policy`: the package sources whose release is a security suite (its archive or
    codename ends in -security, as Debian's and the lab's probe archive name theirs)."""
    found, source = set(), ""
    for line in lines:
        words = line.split()
        if words and words[0] == "release":
            release = dict(field.partition("=")[::2] for field in " ".join(words[1:]).split(","))
            if any(release.get(key, "").endswith("-security") for key in ("a", "n")):
                found.add(source)
        elif words and words[0].isdigit():  # " 500 http://deb.debian.org/debian-security bookworm-security/..."
            source = " ".join(words[1:])
    return found


def _versions(lines: list[str]) -> dict[str, dict[str, Any]]:
    """From `apt-cache policy PACKAGE...`: per package its installed and candidate versions, and the sources
    of each version in its version table."""
    found: dict[str, dict[str, Any]] = {}
    package: dict[str, Any] = {}
    version = ""
    for line in lines:
        words = line.replace("***", "").split()
        if not line.startswith(" "):  # "kt2-probe:"
            package = found[line.rstrip(":")] = {"installed": "", "candidate": "", "sources": {}}
        elif words[0] in ("Installed:", "Candidate:"):
            package[words[0].rstrip(":").lower()] = words[1]
        elif len(line) - len(line.lstrip()) >= 8:  # "        500 file:/srv/kt2-probe-archive ./ Packages"
            package["sources"].setdefault(version, set()).add(" ".join(words[1:]))
        elif words[0] != "Version":  # " *** 1.0 100" or "     1.1 500"
            version = words[0]
    return found


class TransferFiles(_ListFact):
    """Files in the transfer area: [{"path", "size", "mtime"}]."""

    def command(self) -> str:
        return f"find {TRANSFER_ROOT} -type f -printf '%P\\t%s\\t%T@\\n' 2>/dev/null || true"

    def process(self, output: Iterable[str]) -> list[dict[str, Any]]:
        files = []
        for line in output:
            path, size, mtime = line.split("\t")
            files.append({"path": path, "size": int(size), "mtime": float(mtime)})
        return files


class LimitExemptions(_ListFact):
    """Client addresses the ingress limit exempts: [{"address", "domain"}] (domain: the runbook's, else "")."""

    def command(self) -> str:
        return f"grep -v '^[[:space:]]*#' {LIMIT_EXEMPTIONS} 2>/dev/null || true"

    def process(self, output: Iterable[str]) -> list[dict[str, Any]]:
        found = []
        for line in output:
            entry, _, comment = line.partition("#")
            if entry.strip():
                found.append({"address": entry.split()[0],
                              "domain": comment.strip().removeprefix("runbook exemption for ").strip()})
        return found


_PACKAGES_SCRIPT = """
import hashlib, json, pathlib, sys
def read(p):
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return None
found = []
for p in sorted(pathlib.Path(sys.argv[1]).rglob("*.tar.age")):
    h = hashlib.sha256()
    with p.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    stem = p.name[: -len(".tar.age")]
    found.append({"path": str(p), "sha256": h.hexdigest(),
                  "manifest": read(p.with_name(stem + ".manifest.json")),
                  "verification": read(p.with_name(stem + ".verified.json"))})
print(json.dumps(found))
"""


class TransferPackages(_ListFact):
    """Data packages in the transfer area: their SHA-256, manifest and recorded verification."""

    def command(self) -> str:
        return f"python3 -c '{_PACKAGES_SCRIPT}' {TRANSFER_ROOT}"

    def process(self, output: Iterable[str]) -> list[dict[str, Any]]:
        return json.loads("\n".join(output))


class RiskyPackages(_ListFact):
    """Installed plain-text transfer servers (FTP, telnet, TFTP, rsh)."""

    def command(self) -> str:
        return (f"dpkg-query -W -f '${{Package}} ${{db:Status-Status}}\\n' {' '.join(RISKY_PACKAGES)} "
                "2>/dev/null || true")

    def process(self, output: Iterable[str]) -> list[str]:
        return [line.split()[0] for line in output if line.endswith(" installed")]


class HostedDomains(FactBase):
    """Domains the KT 2.0 FHIR server holds, by id, from its contract on loopback (read-only GET); null where
    no FHIR server answers."""

    def command(self) -> str:
        return ("python3 -c 'import urllib.request as u; print(u.urlopen("
                f"\"{contract_url('fhir_server')}/domains\", timeout=10).read().decode())' 2>/dev/null "
                "|| echo null")

    def process(self, output: Iterable[str]) -> Any:
        held = json.loads("\n".join(output))
        return None if held is None else {d.pop("id"): d for d in held["domains"]}


class TokenService(FactBase):
    """The KT 2.0 authentication service as the B.6 token control judges it, from its contract on loopback:
    the members of each published JWKS key, how a token it signs looks and whether it verifies against that
    JWKS (the probe token itself is not kept), and the key each application is registered with."""

    def command(self) -> str:
        return ("python3 -c 'import urllib.request as u; print(u.urlopen("
                f"\"{contract_url('auth_service')}/evidence\", timeout=10).read().decode())' 2>/dev/null "
                "|| echo null")

    def process(self, output: Iterable[str]) -> Any:
        evidence = json.loads("\n".join(output))
        return None if evidence is None else token_service_evidence(evidence)


def token_service_evidence(evidence: dict[str, Any]) -> dict[str, Any]:
    keys = evidence["jwks"].get("keys", [])
    header = jwt.get_unverified_header(evidence["probe"])
    claims = jwt.decode(evidence["probe"], options={"verify_signature": False})
    published = next((k for k in keys if k.get("kid") == header.get("kid")), None)
    try:
        key = jwt.PyJWK(published).key
        key = key.public_key() if hasattr(key, "public_key") else key  # a private JWK (a finding of its own)
        jwt.decode(evidence["probe"], key, algorithms=[header["alg"]],
                   options={"verify_aud": False, "verify_exp": False})
        verified = True
    except (jwt.PyJWTError, TypeError, KeyError):
        verified = False
    return {"jwks_keys": [{"kid": k.get("kid"), "kty": k.get("kty"), "alg": k.get("alg"), "members": sorted(k)}
                          for k in keys],
            "probe": {"alg": header.get("alg"), "aud": claims.get("aud"), "kid_published": published is not None,
                      "verified": verified, "lifetime": claims.get("exp", 0) - claims.get("iat", 0)},
            "applications": evidence["applications"]}


HOST_FACTS: dict[str, type[FactBase]] = {
    "sockets": ListeningSockets, "nftables": NftRuleset, "sshd": SshdEffective, "sftp": SftpEffective,
    "updates": SecurityUpdates, "transfer_files": TransferFiles, "transfer_packages": TransferPackages,
    "risky_packages": RiskyPackages, "hosted_domains": HostedDomains, "token_service": TokenService,
    "limit_exemptions": LimitExemptions,
}
_END = "@@kt2ops-fact-end"


class HostEvidence(FactBase):
    """Every fact of HOST_FACTS in one command: one SSH round trip per host instead of one per fact (each
    cost 0.04-0.3 s). Each fact's command runs in a subshell of its own, followed by a line with its exit
    status; as pyinfra does for a fact on its own, a command that fails or prints nothing gives the fact's
    default."""

    def command(self) -> str:
        return "\n".join(f"( {fact().command()} ); echo {_END} $?" for fact in HOST_FACTS.values())

    def process(self, output: Iterable[str]) -> dict[str, Any]:
        parts: list[tuple[list[str], bool]] = []
        lines: list[str] = []
        for line in output:
            if line.startswith(_END):
                parts.append((lines, line.split()[1] == "0"))
                lines = []
            else:
                lines.append(line)
        facts = {key: fact() for key, fact in HOST_FACTS.items()}
        return {key: fact.process(lines) if ok and lines else fact.default()
                for (key, fact), (lines, ok) in zip(facts.items(), parts, strict=True)}
