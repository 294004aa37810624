/*
 * replicate/debug: the engine's test-only switches, read from the
 * environment.
 *
 *   FLOE_CRASH_AT=<point>[:<n>]  the process ends with _exit(137), as if
 *                                killed, at the n-th arrival (default 1)
 *                                at the named point;
 *   FLOE_FAIL_AT=<point>[:<n>]   the n-th arrival at the point fails with
 *                                FLOE_EIO, as a full disk or a lost
 *                                connection would.
 *
 * Crash points (each called from exactly one place in the engine, so a
 * fault-injection campaign can walk them): after_control_insert,
 * after_data_file, before_commit, after_manifest, after_commit,
 * during_validation, during_compensation, during_repair. Fail points:
 * control_insert, write, commit. They exist so that tests can kill or fail
 * a real `floe run` at a precise step and check that the next run repairs
 * it; nothing in normal operation sets them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "floe/log.h"
#include "replicate/engine_internal.h"

/* Arrival counters per point (a run is one process). */
static struct {
  char point[48];
  long count;
} arrivals[32];
static int n_arrivals;

void floe_debug_reset(void) { n_arrivals = 0; }

static long arrive(const char *point) {
  for (int i = 0; i < n_arrivals; i++)
    if (strcmp(arrivals[i].point, point) == 0) return ++arrivals[i].count;
  if (n_arrivals == (int)(sizeof arrivals / sizeof arrivals[0])) return 1;
  snprintf(arrivals[n_arrivals].point, sizeof arrivals[0].point, "%s", point);
  arrivals[n_arrivals].count = 1;
  return arrivals[n_arrivals++].count;
}

/* Whether `spec` ("point" or "point:n") names `point` at arrival `count`. */
static int matches(const char *spec, const char *point, long count) {
  if (spec == NULL || spec[0] == '\0') return 0;
  size_t len = strlen(point);
  if (strncmp(spec, point, len) != 0) return 0;
  if (spec[len] == '\0') return count == 1;
  if (spec[len] != ':') return 0;
  char *end = NULL;
  long n = strtol(spec + len + 1, &end, 10);
  return end != spec + len + 1 && *end == '\0' && n == count;
}

void floe_debug_crash_point(const char *point) {
  const char *spec = getenv("FLOE_CRASH_AT");
  if (spec == NULL || spec[0] == '\0') return;
  char key[64];
  snprintf(key, sizeof key, "crash:%s", point);
  long count = arrive(key);
  if (matches(spec, point, count)) {
    floe_log(FLOE_LOG_WARN, "crash", "point=%s arrival=%ld", point, count);
    _exit(137);
  }
}

int floe_debug_fail_point(const char *point, floe_error *err) {
  const char *spec = getenv("FLOE_FAIL_AT");
  if (spec == NULL || spec[0] == '\0') return FLOE_OK;
  char key[64];
  snprintf(key, sizeof key, "fail:%s", point);
  long count = arrive(key);
  if (matches(spec, point, count))
    return floe_error_set(err, FLOE_EIO, "%s: injected failure (FLOE_FAIL_AT=%s)",
                          point, spec);
  return FLOE_OK;
}
