#!/usr/bin/env bash
# bench/run.sh <build-dir>: every floe benchmark, one line each on stdout
# (bench/README.md says what each measures); details go to stderr.
#
#   parquet_write     floe's Parquet writer vs DuckDB's, BENCH_ROWS rows (10M)
#   replicate         `floe run` from SQLite vs the native-accessor floor
#   replicate_pg      `floe run` from PostgreSQL vs a libpq cursor loop
#   upsert*           merge of N/10 changes into N rows, per delete mode
#   scan              full table scans
#   snowflake_decode  SQL API v2 partitions into Arrow, FLOE_BENCH_MB (100)
#   snowflake_e2e     `floe run` from the emulator's recorded answers on a static
#                     loopback server, BENCH_SF_ROWS (1M), prefetch 4 and 1
#   maintain_compact  compaction of BENCH_MAINTAIN_ROWS (10M) rows in
#                     BENCH_MAINTAIN_FILES (10,000) small files, 10% deleted
#
# replicate, replicate_pg, upsert and scan run at every size of BENCH_SIZES (default
# "1000000 10000000"; BENCH_LARGE=1 adds 100000000), so the lines show cost
# growing with the rows and peak RSS staying flat. bench/smoke.sh runs all of
# it at a tiny size (make test).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:?usage: bench/run.sh <build-dir>}" && pwd)"
rows="${BENCH_ROWS:-10000000}"
sizes="${BENCH_SIZES:-1000000 10000000}"
[ "${BENCH_LARGE:-0}" = 1 ] && sizes="$sizes 100000000"
for b in bench_parquet_write bench_upsert bench_scan bench_snowflake_decode bench_sqlite_floor \
         bench_pg_floor bench_maintain floe; do
  [ -x "$build/$b" ] || { echo "bench: $build/$b not built" >&2; exit 1; }
done

if [ ! -d "$here/node_modules/@duckdb/node-api" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# parquet_write: floe's writer against DuckDB's on the same rows. DuckDB
# then reads floe's file back; the two must hold the same rows.
floe_out="$("$build/bench_parquet_write" "$work/floe.parquet" "$rows")"
duck_out="$(cd "$here" && node parquet_write_duckdb.mjs "$work/duckdb.parquet" "$rows" "$work/floe.parquet")"
echo "bench: $floe_out $duck_out" >&2
rm -f "$work/floe.parquet" "$work/duckdb.parquet"

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
floe_s="$(field floe_s "$floe_out")"
floe_bytes="$(field floe_bytes "$floe_out")"
duckdb_s="$(field duckdb_s "$duck_out")"
duckdb_bytes="$(field duckdb_bytes "$duck_out")"
same="$(field same_rows "$duck_out")"
if [ "$same" != "true" ]; then
  echo "bench: DuckDB does not read back the generated rows from floe's file" >&2
  exit 1
fi
ratio="$(awk -v a="$floe_s" -v b="$duckdb_s" 'BEGIN { printf "%.2f", a / b }')"
echo "parquet_write rows=$rows floe_s=$floe_s duckdb_s=$duckdb_s ratio=$ratio floe_bytes=$floe_bytes duckdb_bytes=$duckdb_bytes"

# The scale curves.
for n in $sizes; do
  # replicate: `floe run` of an n x 10 SQLite table (bench/replicate.sh).
  BENCH_REPLICATE_ROWS="$n" "$here/replicate.sh" "$build"
  # replicate_pg: the same from a throwaway PostgreSQL (bench/replicate_pg.sh).
  BENCH_REPLICATE_ROWS="$n" "$here/replicate_pg.sh" "$build"
  # upsert: merge of n/10 changed rows into n rows, each delete mode in a
  # child process of its own (bench/upsert.c).
  mkdir -p "$work/upsert-$n"
  "$build/bench_upsert" "$n" "$((n / 10 > 0 ? n / 10 : 1))" "$work/upsert-$n"
  rm -rf "$work/upsert-$n"
  # scan: full scans of an n-row table (bench/scan.c).
  mkdir -p "$work/scan-$n"
  "$build/bench_scan" "$n" "$work/scan-$n"
  rm -rf "$work/scan-$n"
done

# maintain_compact: compaction of a table of many small files with 10% of
# its rows deleted by position deletes (bench/maintain.c).
mkdir -p "$work/maintain"
"$build/bench_maintain" "${BENCH_MAINTAIN_ROWS:-10000000}" "${BENCH_MAINTAIN_FILES:-10000}" "$work/maintain"
rm -rf "$work/maintain"

# snowflake_decode: SQL API v2 result partitions decoded into Arrow batches.
"$build/bench_snowflake_decode"

# snowflake_e2e: `floe run` from recorded SQL API answers (static server).
node "$here/snowflake_e2e.mjs" "$build/floe"
