#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL 15 server on loopback, then stops it and
# removes its data. The command sees HUTONG_TEST_PG_URL=postgresql://postgres@127.0.0.1:PORT/postgres.
# Usage: scripts/with-postgres.sh COMMAND [ARGS...]
set -euo pipefail

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  echo "with-postgres: PostgreSQL server binaries not found (run scripts/install-deps.sh)" >&2
  exit 2
fi

dir=$(mktemp -d /tmp/hutong-pg.XXXXXX)
chmod 755 "$dir"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres "$dir"
  as_pg=(runuser -u postgres --)
fi

cleanup() {
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

"${as_pg[@]}" "$pg_bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 2; }

# A random high port; if something already listens there, the start fails and we try another.
started=""
for attempt in 1 2 3 4 5; do
  port=${HUTONG_TEST_PG_PORT:-$((20000 + RANDOM % 30000))}
  if "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null; then
    started=1
    break
  fi
done
if [ -z "$started" ]; then
  cat "$dir/log" >&2
  echo "with-postgres: could not start PostgreSQL" >&2
  exit 2
fi

export HUTONG_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
"$@"
