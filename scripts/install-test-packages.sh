#!/usr/bin/env bash
# Install the system packages the test suite starts for real: Redis, PostgreSQL and Chromium,
# and npm, which installs the accessibility checker (axe-core) the browser tests inject; nginx,
# systemd-analyze and openssl check the files in deploy/; wrk drives the HTTP benchmark.
# Uses Debian's packages, only for what is missing, and only when running as root.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages: ${missing[*]}. Install them (e.g. sudo apt-get install ${missing[*]}) and run again." >&2
  exit 1
fi
echo "Installing ${missing[*]} from Debian's packages…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian packages start their own services; the tests start private ones on free ports.
service redis-server stop >/dev/null 2>&1 || true
service postgresql stop >/dev/null 2>&1 || true
service nginx stop >/dev/null 2>&1 || true
