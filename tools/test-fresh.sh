#!/usr/bin/env bash
# On a fresh Debian or Ubuntu machine: install the system packages the tests need, the npm
# packages, and run the tests. CI runs exactly this (.ci/run), so the two cannot drift apart.
#   sudo bash tools/test-fresh.sh        (or as root)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "tools/test-fresh.sh installs Debian packages: run it with sudo (or as root)" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# mosquitto: the broker the end-to-end tests run against; chromium: the browser tests (dashboard,
# device page); postgresql: the dashboard's second history store; openssl: the TLS tests' certificates.
apt-get install -y -qq --no-install-recommends mosquitto mosquitto-clients openssl ca-certificates \
  chromium fonts-dejavu-core postgresql >/dev/null
# The tests start their own mosquitto and PostgreSQL on free ports: the packaged services are not needed.
(service mosquitto stop || true) >/dev/null 2>&1
(service postgresql stop || true) >/dev/null 2>&1
npm ci --no-audit --no-fund
npm test
