#!/usr/bin/env bash
# bench/smoke.sh <build-dir>: every benchmark of bench/run.sh once, at a tiny
# size, so that none can rot unseen (make test runs it). It checks that each
# runs, that every expected line is printed once, and that each line parses
# as `name key=number ...`; it does not judge speed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:?usage: bench/smoke.sh <build-dir>}" && pwd)"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

started=$(date +%s)
BENCH_ROWS=5000 BENCH_SIZES=3000 BENCH_LARGE=0 FLOE_BENCH_MB=1 BENCH_SF_ROWS=2000 \
  BENCH_SF_PARTITION_ROWS=500 BENCH_MAINTAIN_ROWS=3000 BENCH_MAINTAIN_FILES=30 \
  "$here/run.sh" "$build" >"$out"

status=0
fail() { echo "bench smoke: $*" >&2; status=1; }
pattern='^[a-z][a-z0-9_]*( [a-z][a-z0-9_]*=-?[0-9]+(\.[0-9]+)?%?)+$'
while IFS= read -r line; do
  [[ "$line" =~ $pattern ]] || fail "line does not parse: '$line'"
done <"$out"
for name in parquet_write replicate replicate_pg upsert upsert_equality upsert_copy_on_write scan \
            snowflake_decode snowflake_e2e maintain_compact; do
  n="$(grep -c "^$name " "$out" || true)"
  [ "$n" = 1 ] || fail "$n lines for $name, want 1"
done
# The values must be the run's, not placeholders.
grep -q '^replicate rows=3000 ' "$out" || fail "replicate did not load 3000 rows"
grep -q '^replicate_pg rows=3000 ' "$out" || fail "replicate_pg did not load 3000 rows"
grep -q '^scan rows=3000 ' "$out" || fail "scan did not read 3000 rows"
grep -q '^upsert table_rows=3000 changed_rows=300 ' "$out" || fail "upsert sizes"
grep -q '^maintain_compact rows=3000 deleted_rows=300 files_before=30 files_after=1 ' "$out" ||
  fail "maintain_compact did not compact 30 files into 1"
cat "$out"
echo "bench smoke: $(wc -l <"$out") lines in $(( $(date +%s) - started )) s" >&2
exit $status
