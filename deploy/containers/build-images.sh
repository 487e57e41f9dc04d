#!/usr/bin/env bash
# Build the compose stack's images without an image registry: the Debian base from debootstrap
# (base-image.sh), then the app, the front door, PostgreSQL and Redis on top of it.
# Behind an intercepting proxy, the CA certificates in /usr/local/share/ca-certificates/ are
# handed to the build as a secret for the download step only; no image contains them.
set -euo pipefail
cd "$(dirname "$0")/../.."

base=$(deploy/containers/base-image.sh)
args=(--format docker --network host --build-arg "BASE_IMAGE=$base")
for name in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
  if [ -n "${!name:-}" ]; then
    args+=(--build-arg "$name=${!name}")
  fi
done

extra_ca=$(mktemp)
trap 'rm -f "$extra_ca"' EXIT
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cat /usr/local/share/ca-certificates/*.crt > "$extra_ca"
fi

podman build "${args[@]}" --secret "id=extra-ca,src=$extra_ca" --target app -t localhost/livefeed:latest .
podman build "${args[@]}" --secret "id=extra-ca,src=$extra_ca" --target front -t localhost/livefeed-front:latest .
podman build "${args[@]}" -f deploy/containers/postgres.Containerfile -t localhost/livefeed-postgres:latest deploy/containers
podman build "${args[@]}" -f deploy/containers/redis.Containerfile -t localhost/livefeed-redis:latest deploy/containers
