#!/usr/bin/env bash
# Installs the Debian packages sci-cluster needs, only those that are missing.
# Safe to run repeatedly; `make test` and `make demo` call it first.
set -euo pipefail

missing=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
[ -f /usr/include/faiss/Index.h ] || missing+=(libfaiss-dev)
have_pkg libopenblas0-openmp || missing+=(libopenblas0-openmp)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
# openssl: `sci cluster up` makes the local cluster's CA and NATS server certificate with it.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# python3-faiss: the reference implementation our Faiss binding is checked against.
{ [ -x /usr/bin/python3 ] && /usr/bin/python3 -I -c 'import faiss, numpy; faiss.IndexFlatL2(2)' >/dev/null 2>&1; } || missing+=(python3-faiss python3-numpy)
# chromium: the test that renders report.html headless (the evaluation report's check).
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# prometheus: the test that scrapes a running cluster's /metrics endpoints with a real Prometheus.
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)

# The nats-server versions the product is built and tested against: 2.9 (Debian bookworm's
# 2.9.10) up to the next major. JetStream direct gets and the KV/object-store layout need 2.9.
check_nats_version() {
  local version
  version=$(nats-server --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1)
  local major=${version%%.*} rest=${version#*.}
  local minor=${rest%%.*}
  if [ -z "$version" ] || [ "$major" -ne 2 ] || [ "$minor" -lt 9 ]; then
    echo "sci-cluster: nats-server ${version:-of unknown version} ($(command -v nats-server)) is not supported: it needs 2.9.0 or later 2.x (Debian bookworm's is 2.9.10)" >&2
    exit 1
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  check_nats_version
  exit 0
fi

echo "sci-cluster: installing Debian packages: ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "sci-cluster: missing Debian packages: ${missing[*]}" >&2
  echo "  run as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "sci-cluster: Debian packages installed" >&2
check_nats_version
