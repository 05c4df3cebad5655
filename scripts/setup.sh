#!/usr/bin/env bash
# Installs everything kt2ops needs on a fresh Debian (bookworm) machine, as root, from a clean clone:
# apt packages (podman, runc, debootstrap, ...), podman's configuration, the Python venv with the
# project and its test tools, and the lab's base image. Safe to run again: it changes nothing then.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(podman runc netavark aardvark-dns iptables nftables debootstrap openssh-client
              uidmap slirp4netns fuse-overlayfs python3-venv ca-certificates
              chromium  # headless, to look at the compliance report as a person would
              openjdk-17-jdk-headless maven)  # to build the lab's HAPI FHIR server from services/kt2fhir
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# crun fails on this machine's cgroup v1/v2 hybrid; container ulimits may not exceed the hard limits.
conf=/etc/containers/containers.conf.d/50-kt2ops.conf
want=$(cat <<CONF
[containers]
default_ulimits = ["nofile=16384:16384", "nproc=16384:16384"]
[network]
network_backend = "netavark"
[engine]
runtime = "runc"
CONF
)
if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$want" ]; then
  mkdir -p "$(dirname "$conf")"
  printf '%s\n' "$want" > "$conf"
  echo "setup: wrote $conf"
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.kt2ops-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ services/kt2ref/pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing the Python packages into .venv"
  # kt2ref (the lab's reference services) is installed too: tests and benchmarks act as its applications.
  .venv/bin/pip install -q --disable-pip-version-check -e '.[test]' -e services/kt2ref
  touch "$stamp"
fi

.venv/bin/kt2 vault init  # the lab's vault password, outside the repository (see ansible.cfg)
.venv/bin/kt2 lab image
.venv/bin/kt2 artifact build >/dev/null
.venv/bin/kt2 artifact build kt2fhir >/dev/null  # the first build fetches HAPI from Maven Central (~330 MB)
