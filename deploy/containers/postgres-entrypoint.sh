#!/bin/sh
# Create the cluster, its user and database on the first start, then run PostgreSQL.
set -eu
: "${POSTGRES_USER:=livefeed}" "${POSTGRES_DB:=livefeed}"
ready="$PGDATA/.livefeed-initialized"
if [ -s "$PGDATA/PG_VERSION" ] && [ ! -e "$ready" ]; then
  echo "$PGDATA holds a cluster whose first start did not finish; empty the volume and start again." >&2
  exit 1
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "POSTGRES_PASSWORD must be set for the first start." >&2
    exit 1
  fi
  password_file=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$password_file"
  # Inside the container only the postgres account reaches the socket; the network needs the password.
  initdb --username="$POSTGRES_USER" --pwfile="$password_file" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$password_file"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [ "$POSTGRES_DB" != postgres ]; then
    createdb --username="$POSTGRES_USER" --owner="$POSTGRES_USER" "$POSTGRES_DB"
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  touch "$ready"
fi
exec "$@" -c listen_addresses='*'
