#!/usr/bin/env bash
# bench/replicate.sh <build-dir>: `floe run` of one 10M-row x 10-column SQLite
# table into Iceberg (zstd, SQL catalog), against the floor: bench_sqlite_floor
# stepping the same query with SQLite's native accessors (bench/sqlite_floor.c),
# in the same run. Prints one line:
#   replicate rows=… threads=… floe_s=… floe_cpu_s=… floor_s=… ratio=… rows_per_s=… peak_rss_mb=…
# ratio = floe_s / floor_s (wall times). BENCH_REPLICATE_ROWS overrides the row
# count, BENCH_THREADS floe's run.threads (default 2); the source database is
# kept in bench/out/ between runs (it takes a while to generate).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/floor.sh"
build="$(cd "${1:?usage: bench/replicate.sh <build-dir>}" && pwd)"
rows="${BENCH_REPLICATE_ROWS:-10000000}"
threads="${BENCH_THREADS:-2}"
floe="$build/floe"
floor="$build/bench_sqlite_floor"
[ -x "$floe" ] || { echo "bench: $floe not built" >&2; exit 1; }
[ -x "$floor" ] || { echo "bench: $floor not built" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "bench: sqlite3 missing (apt-get install sqlite3)" >&2; exit 1; }

out="$here/out/replicate-$rows"
mkdir -p "$out"
db="$out/source.db"
if [ ! -s "$db" ] || [ "$(sqlite3 "$db" 'SELECT count(*) FROM events' 2>/dev/null)" != "$rows" ]; then
  rm -f "$db"
  echo "bench: generating $rows rows in $db" >&2
  sqlite3 "$db" >/dev/null <<SQL
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TABLE events (
  id INTEGER PRIMARY KEY, batch_sk INTEGER NOT NULL, customer_id INTEGER NOT NULL,
  amount DECIMAL(12,2) NOT NULL, score REAL, name TEXT NOT NULL, status TEXT,
  created_at TIMESTAMP NOT NULL, day DATE NOT NULL, flag BOOLEAN NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
INSERT INTO events SELECT
  i, 1 + i / 1000000, (i * 7919) % 100000,
  printf('%d.%02d', (i * 104729) % 1000000, i % 100),
  ((i * 48271) % 2147483647) / 2147483647.0 * 1000.0,
  'customer_' || ((i * 7919) % 20000) || '_name',
  CASE WHEN i % 10 = 0 THEN NULL WHEN i % 3 = 0 THEN 'paid' ELSE 'new' END,
  datetime(1704067200 + i, 'unixepoch'),
  date(1704067200 + (i / 1000) * 86400 / 1000, 'unixepoch'),
  i % 2
FROM n;
SQL
fi
max="$(sqlite3 "$db" 'SELECT max(batch_sk) FROM events')"

cat > "$out/floe.yaml" <<YAML
version: 1
source: {type: sqlite, path: source.db}
target:
  warehouse: warehouse
  catalog: {type: sql, uri: "sqlite:catalog.db"}
  namespace: bench
logging: {level: warn}
run: {threads: $threads}
tables:
  events: {source: events, target: bench.events}
YAML

cols="id, batch_sk, customer_id, amount, score, name, status, created_at, day, flag"
rm -rf "$out/warehouse" "$out/catalog.db"
sqlite3 "$db" 'DROP TABLE IF EXISTS floe_control; DROP TABLE IF EXISTS floe_lock'
against_floor replicate "$out" "$floor" "$db" \
  "SELECT $cols FROM events WHERE batch_sk > 0 AND batch_sk <= $max"
