#!/usr/bin/env bash
# tests/support/pg.sh: a throwaway PostgreSQL server for tests.
#
#   pg.sh start DIR [OWNER_PID]
#                     initdb a cluster in DIR (created if missing), start it on
#                     127.0.0.1 at a free port with trust auth and fsync off,
#                     print its libpq conninfo on stdout and write it to
#                     DIR/conninfo. With OWNER_PID, a watchdog stops the
#                     server and deletes DIR once that process is gone, so a
#                     crashed test leaves no server behind.
#   pg.sh stop DIR    stop the server and delete DIR
#
# Exit 77 (with a SKIP line on stderr) when the PostgreSQL binaries are
# missing. When run as root the server runs as the `postgres` user (initdb
# refuses root). PG_BIN overrides /usr/lib/postgresql/15/bin.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$cmd" in
start)
  for tool in initdb pg_ctl postgres; do
    if [ ! -x "$PG_BIN/$tool" ]; then
      echo "SKIP: PostgreSQL binaries not found in $PG_BIN (install the Debian package postgresql-15, or postgresql)" >&2
      exit 77
    fi
  done
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" = 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
      echo "SKIP: running as root and there is no postgres user to run the server" >&2
      exit 77
    fi
    chown postgres "$dir"
    chmod 700 "$dir"
  fi
  as_owner "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 \
    --no-sync >"$dir/initdb.log" 2>&1 || {
    echo "pg.sh: initdb failed, see $dir/initdb.log:" >&2
    tail -n 20 "$dir/initdb.log" >&2
    exit 1
  }
  # A free port: bind to 0 and read what the kernel chose. Another process
  # could take it before the server starts; retry a few times if so.
  for attempt in 1 2 3 4 5; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    if as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -F -c max_connections=50" \
      start >/dev/null 2>&1; then
      conninfo="host=127.0.0.1 port=$port dbname=postgres user=postgres"
      echo "$conninfo" >"$dir/conninfo"
      owner=${3:-}
      if [ -n "$owner" ]; then
        setsid bash -c '
          while kill -0 "$1" 2>/dev/null && [ -d "$2/data" ]; do sleep 1; done
          exec "$3" stop "$2"' watchdog "$owner" "$dir" "$self" \
          </dev/null >/dev/null 2>&1 &
      fi
      echo "$conninfo"
      exit 0
    fi
  done
  echo "pg.sh: the server did not start, see $dir/server.log:" >&2
  tail -n 20 "$dir/server.log" >&2 || true
  exit 1
  ;;
stop)
  if [ -d "$dir/data" ]; then
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop \
      >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2
  exit 2
  ;;
esac
