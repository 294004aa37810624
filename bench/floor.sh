# bench/floor.sh: sourced by bench/replicate.sh and bench/replicate_pg.sh,
# which measure `floe run` of one table against a floor program reading the
# same rows in the same run.

# Wall seconds, peak RSS (MiB), exit code and CPU seconds (user + system) of
# a command, from the kernel's rusage.
measure() {
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
t0 = time.monotonic()
with open('/dev/null', 'wb') as null:
    rc = subprocess.call(sys.argv[1:], stdout=null)
t = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{t:.3f} {ru.ru_maxrss / 1024.0:.0f} {rc} {ru.ru_utime + ru.ru_stime:.3f}")
PY
}

# against_floor NAME DIR FLOOR SOURCE QUERY: the floor program FLOOR reading
# QUERY from SOURCE, then `floe run -c floe.yaml` in DIR (with $floe), whose
# table `events` must then hold $rows rows; prints one line:
#   NAME rows=… threads=… floe_s=… floe_cpu_s=… floor_s=… ratio=… rows_per_s=… peak_rss_mb=…
# ratio = floe_s / floor_s (wall times).
against_floor() {
  local name="$1" dir="$2" floor="$3" source="$4" query="$5"
  local floor_s floor_rc floe_s rss floe_rc floe_cpu_s loaded ratio rate
  read -r floor_s _ floor_rc _ < <(measure "$floor" "$source" "$query")
  [ "$floor_rc" = 0 ] || { echo "bench: $(basename "$floor") failed" >&2; exit 1; }
  read -r floe_s rss floe_rc floe_cpu_s < <(cd "$dir" && measure "$floe" run -c floe.yaml)
  [ "$floe_rc" = 0 ] || { echo "bench: floe run failed ($floe_rc)" >&2; (cd "$dir" && "$floe" status -c floe.yaml >&2); exit 1; }
  loaded="$(cd "$dir" && "$floe" status -c floe.yaml | awk '$1 == "events" {print $7}')"
  [ "$loaded" = "$rows" ] || { echo "bench: table holds $loaded rows, want $rows" >&2; exit 1; }
  ratio="$(awk -v a="$floe_s" -v b="$floor_s" 'BEGIN { printf "%.2f", a / b }')"
  rate="$(awk -v n="$rows" -v s="$floe_s" 'BEGIN { printf "%.0f", n / s }')"
  echo "$name rows=$rows threads=$threads floe_s=$floe_s floe_cpu_s=$floe_cpu_s floor_s=$floor_s ratio=$ratio rows_per_s=$rate peak_rss_mb=$rss"
}
