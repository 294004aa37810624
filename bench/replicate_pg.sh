#!/usr/bin/env bash
# bench/replicate_pg.sh <build-dir>: `floe run` of an N-row x 10-column
# PostgreSQL table into Iceberg (zstd, SQL catalog), against the floor:
# bench_pg_floor reading the same query through a libpq cursor loop
# (bench/pg_floor.c), in the same run, on a throwaway server on 127.0.0.1
# (tests/support/pg.sh; fsync off). Prints one line:
#   replicate_pg rows=… threads=… floe_s=… floe_cpu_s=… floor_s=… ratio=… rows_per_s=… peak_rss_mb=…
# ratio = floe_s / floor_s (wall). BENCH_REPLICATE_ROWS sets N (10M),
# BENCH_THREADS floe's run.threads (2).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/floor.sh"
build="$(cd "${1:?usage: bench/replicate_pg.sh <build-dir>}" && pwd)"
rows="${BENCH_REPLICATE_ROWS:-10000000}"
threads="${BENCH_THREADS:-2}"
floe="$build/floe"
floor="$build/bench_pg_floor"
[ -x "$floe" ] || { echo "bench: $floe not built" >&2; exit 1; }
[ -x "$floor" ] || { echo "bench: $floor not built" >&2; exit 1; }

work="$(mktemp -d)"
chmod 755 "$work"
pgdir="$work/pg"
conninfo="$("$here/../tests/support/pg.sh" start "$pgdir" $$)"
trap '"$here/../tests/support/pg.sh" stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
db="$conninfo dbname=postgres"

echo "bench: generating $rows rows in PostgreSQL" >&2
psql -q -v ON_ERROR_STOP=1 "$db" >/dev/null <<SQL
CREATE TABLE events (
  id bigint PRIMARY KEY, batch_sk bigint NOT NULL, customer_id bigint NOT NULL,
  amount numeric(12,2) NOT NULL, score double precision, name text NOT NULL, status text,
  created_at timestamp NOT NULL, day date NOT NULL, flag boolean NOT NULL);
INSERT INTO events SELECT
  i, 1 + i / 1000000, (i * 7919) % 100000,
  ((i * 104729) % 1000000) + (i % 100) / 100.0,
  ((i * 48271) % 2147483647) / 2147483647.0 * 1000.0,
  'customer_' || ((i * 7919) % 20000) || '_name',
  CASE WHEN i % 10 = 0 THEN NULL WHEN i % 3 = 0 THEN 'paid' ELSE 'new' END,
  to_timestamp(1704067200 + i) AT TIME ZONE 'UTC',
  (to_timestamp(1704067200 + (i / 1000) * 86400 / 1000) AT TIME ZONE 'UTC')::date,
  i % 2 = 1
FROM generate_series(1::bigint, $rows) AS i;
VACUUM ANALYZE events;
SQL
max="$(psql -tA "$db" -c 'SELECT max(batch_sk) FROM events')"

cat > "$work/floe.yaml" <<YAML
version: 1
source: {type: postgres, conninfo: "$db"}
target:
  warehouse: warehouse
  catalog: {type: sql, uri: "sqlite:catalog.db"}
  namespace: bench
logging: {level: warn}
run: {threads: $threads}
tables:
  events: {source: public.events, target: bench.events}
YAML

cols="id, batch_sk, customer_id, amount, score, name, status, created_at, day, flag"
against_floor replicate_pg "$work" "$floor" "$db" \
  "SELECT $cols FROM public.events WHERE batch_sk > 0 AND batch_sk <= $max"
