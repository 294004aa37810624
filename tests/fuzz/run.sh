#!/usr/bin/env bash
# floe's libFuzzer targets: replay the corpus, or fuzz for a while.
#
#   tests/fuzz/run.sh replay BUILD_DIR
#       Runs every BUILD_DIR/fuzz_* binary once over each input of its
#       committed corpus (tests/fuzz/corpus/<target without fuzz_>/) and,
#       when ../shared/fixtures is present, its fixture seeds. One line per
#       target; exits 1 if any input crashes, leaks, times out or trips a
#       sanitizer.
#   tests/fuzz/run.sh fuzz BUILD_DIR SECONDS
#       Fuzzes each target for SECONDS starting from the corpus and the
#       seeds, writing new inputs into a scratch corpus, then merges the ones
#       that add coverage into the committed corpus (-merge=1). Crashing
#       inputs are saved as BUILD_DIR/fuzz-artifacts/<target>-crash-*.
#
# BUILD_DIR comes from: cmake -DCMAKE_C_COMPILER=clang -DFLOE_FUZZ=ON
# -DFLOE_SANITIZE=ON (see `make fuzz-replay`). FLOE_FIXTURES overrides where
# the shared fixtures are (default: <repo>/../shared/fixtures);
# FUZZ_MAX_CORPUS_BYTES caps the size of inputs merged into the corpus.
set -euo pipefail

usage() {
  echo "usage: $0 replay BUILD_DIR | $0 fuzz BUILD_DIR SECONDS" >&2
  exit 2
}

[ $# -ge 2 ] || usage
mode=$1
[ -d "$2" ] || { echo "fuzz: no build directory '$2'" >&2; exit 2; }
build=$(cd "$2" && pwd)
seconds=${3:-60}
case "$mode" in
  replay) [ $# -eq 2 ] || usage ;;
  # (libFuzzer reads -max_total_time=0 as "forever": demand at least 1.)
  fuzz) [ $# -eq 3 ] && [[ "$seconds" =~ ^[1-9][0-9]*$ ]] || usage ;;
  *) usage ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
fixtures=${FLOE_FIXTURES:-$repo/../shared/fixtures}
# Per-input limits: a well-formed reader finishes any input in well under a
# second and a few hundred MB.
limits=(-timeout=25 -rss_limit_mb=2560 -malloc_limit_mb=2048)
# New inputs larger than this stay out of the committed corpus (mutants of
# big fixture seeds would bloat the repository; the seeds are replayed).
max_corpus_bytes=${FUZZ_MAX_CORPUS_BYTES:-16384}

targets=()
for bin in "$build"/fuzz_*; do
  [ -f "$bin" ] && [ -x "$bin" ] && targets+=("$bin")
done
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no fuzz_* binaries in $build (configure with clang and -DFLOE_FUZZ=ON)" >&2
  exit 1
fi

# Files that make good seeds for a target, one per line: fixture files,
# and for config_yaml the repository's own YAML examples and test configs.
seeds_for() {
  # The configuration seeds live in this repository, not in the fixtures.
  if [ "$1" = config_yaml ]; then
    find "$repo/tests/unit/config" "$repo/examples" -type f -name '*.yaml' 2>/dev/null | sort
    return 0
  fi
  [ -d "$fixtures" ] || return 0
  case "$1" in
    parquet_reader)
      [ -d "$fixtures/parquet" ] && find "$fixtures/parquet" -type f -name '*.parquet' | sort
      ;;
    avro_reader)
      [ -d "$fixtures/avro" ] && find "$fixtures/avro" -type f -name '*.avro' | sort
      find "$fixtures/iceberg" -path '*/metadata/*.avro' -type f 2>/dev/null | sort
      ;;
    metadata_json)
      [ -d "$fixtures/metadata-json" ] && find "$fixtures/metadata-json" -type f -name '*.json' | sort
      find "$fixtures/iceberg" -path '*/metadata/*.metadata.json' -type f 2>/dev/null | sort
      ;;
  esac
  return 0
}

if [ ! -d "$fixtures" ]; then
  echo "fuzz: SKIP fixture seeds: $fixtures is absent (committed corpus only)"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/floe-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=0

for bin in "${targets[@]}"; do
  target=$(basename "$bin")
  name=${target#fuzz_}
  corpus="$here/corpus/$name"
  mkdir -p "$corpus"
  log="$work/$target.log"

  inputs="$work/$target.inputs"
  find "$corpus" -type f | sort >"$inputs"
  n_corpus=$(wc -l <"$inputs")
  seeds_for "$name" >"$work/$target.seeds"
  n_seeds=$(wc -l <"$work/$target.seeds")

  if [ "$mode" = replay ]; then
    cat "$work/$target.seeds" >>"$inputs"
    total=$(wc -l <"$inputs")
    if [ "$total" -eq 0 ]; then
      echo "FAIL $target: no inputs (empty corpus $corpus, no seeds)"
      failed=1
      continue
    fi
    # Given files (not directories), libFuzzer runs each once and exits.
    start=$(date +%s)
    status=0
    xargs -d '\n' -a "$inputs" "$bin" "${limits[@]}" >"$log" 2>&1 || status=$?
    took=$(( $(date +%s) - start ))
    ran=$(grep -c '^Executed ' "$log" || true)
    if [ $status -ne 0 ] || [ "$ran" -ne "$total" ]; then
      echo "FAIL $target: exit $status after $ran of $total inputs ($n_corpus corpus, $n_seeds seeds)"
      { grep '^Running: ' "$log" | tail -n 1 | sed 's/^Running:/input:/'
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | tail -n 20; } | sed 's/^/    /'
      failed=1
    else
      echo "ok   $target: $total inputs ($n_corpus corpus, $n_seeds seeds) in ${took}s"
    fi
    continue
  fi

  # fuzz: scratch corpus first (libFuzzer writes new inputs there), then the
  # committed corpus and the seeds, read only.
  scratch="$work/$target.new"
  seeddir="$work/$target.seeds.d"
  mkdir -p "$scratch" "$seeddir" "$build/fuzz-artifacts"
  i=0
  while IFS= read -r f; do
    i=$((i + 1))
    cp "$f" "$seeddir/$i-$(basename "$f")"
  done <"$work/$target.seeds"
  status=0
  "$bin" "${limits[@]}" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/$target-" \
    "$scratch" "$corpus" "$seeddir" >"$log" 2>&1 || status=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*' || echo '?')
  if [ $status -ne 0 ]; then
    echo "FAIL $target: crashed after ${execs} runs; artifacts in $build/fuzz-artifacts/"
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | tail -n 20 | sed 's/^/    /'
    failed=1
  fi
  # Merge against corpus + seeds, so that only inputs adding coverage beyond
  # both reach the committed corpus (the seeds are replayed anyway).
  base="$work/$target.base"
  mkdir -p "$base"
  cp "$seeddir"/. "$base"/ -r 2>/dev/null || true
  find "$corpus" -type f -exec cp {} "$base"/ \;
  ls "$base" | sort >"$work/$target.base.before"
  before=$(find "$corpus" -type f | wc -l)
  if "$bin" "${limits[@]}" -merge=1 "$base" "$scratch" >"$work/$target.merge.log" 2>&1; then
    ls "$base" | sort | comm -13 "$work/$target.base.before" - | while IFS= read -r f; do
      [ "$(stat -c %s "$base/$f")" -le "$max_corpus_bytes" ] && cp "$base/$f" "$corpus/$f"
    done
  else
    echo "FAIL $target: merge failed"
    tail -n 20 "$work/$target.merge.log" | sed 's/^/    /'
    failed=1
  fi
  after=$(find "$corpus" -type f | wc -l)
  [ $status -eq 0 ] &&
    echo "ok   $target: ${seconds}s, ${execs} runs, coverage ${cov}, corpus $before -> $after (+$((after - before)) merged into tests/fuzz/corpus/$name)"
done

if [ "$mode" = fuzz ]; then
  echo "fuzz: new corpus files are not committed yet: review 'git status tests/fuzz/corpus' and commit them"
fi
exit $failed
