#!/usr/bin/env bash
# bench/run.sh <build-dir>: every floe benchmark, one line each (bench/README.md).
# First, floe's Parquet writer against DuckDB's on the
# same 10M-row table (see bench/README.md). Prints exactly one line:
#   parquet_write rows=10000000 floe_s=… duckdb_s=… ratio=… floe_bytes=… duckdb_bytes=…
# BENCH_ROWS overrides the row count; details go to stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:?usage: bench/run.sh <build-dir>}" && pwd)"
rows="${BENCH_ROWS:-10000000}"
bin="$build/bench_parquet_write"
[ -x "$bin" ] || { echo "bench: $bin not built" >&2; exit 1; }

if [ ! -d "$here/node_modules/@duckdb/node-api" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

floe_out="$("$bin" "$work/floe.parquet" "$rows")"
duck_out="$(cd "$here" && node parquet_write_duckdb.mjs "$work/duckdb.parquet" "$rows" "$work/floe.parquet")"
echo "bench: $floe_out $duck_out" >&2

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

# upsert: floe's merge on a 10M-row table, 1M changed rows (bench/upsert.c,
# bench/README.md). Prints `upsert table_rows=… changed_rows=… seconds=…
# peak_rss_mb=…`, then the equality-delete and copy-on-write lines.
# BENCH_UPSERT_ROWS / BENCH_UPSERT_CHANGES override the sizes.
upsert_bin="$build/bench_upsert"
[ -x "$upsert_bin" ] || { echo "bench: $upsert_bin not built" >&2; exit 1; }
mkdir -p "$work/upsert"
"$upsert_bin" "${BENCH_UPSERT_ROWS:-10000000}" "${BENCH_UPSERT_CHANGES:-1000000}" "$work/upsert"

# replicate: `floe run` of a 10M x 10 SQLite table against a bare sqlite3
# scan of the same query (bench/replicate.sh). BENCH_REPLICATE_ROWS overrides.
"$here/replicate.sh" "$build"

# snowflake_decode: SQL API v2 result partitions decoded into Arrow batches.
sf_bin="$build/bench_snowflake_decode"
[ -x "$sf_bin" ] || { echo "bench: $sf_bin not built" >&2; exit 1; }
"$sf_bin"
