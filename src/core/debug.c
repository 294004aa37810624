/*
 * core/debug: the test-only crash, fail and pause switches (see debug.h).
 *
 * Each named point counts its arrivals in this process; a switch names a
 * point and an arrival ("after_manifest:3"), so a campaign can kill a run at
 * the third manifest it writes. The counters are a small fixed table: the
 * points are a short, known list, and a debug switch must not allocate
 * (allocation failures are injected by other tests). Crash, fail and pause
 * keep separate counters, so combining them (fail the commit, then crash
 * during compensation) counts each independently.
 */
#include "core/debug.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "floe/log.h"

static struct {
  char point[64];
  long count;
} arrivals[48];
static int n_arrivals;

void floe_debug_reset(void) { n_arrivals = 0; }

static long arrive(const char *kind, const char *point) {
  char key[64];
  snprintf(key, sizeof key, "%s:%s", kind, point);
  for (int i = 0; i < n_arrivals; i++)
    if (strcmp(arrivals[i].point, key) == 0) return ++arrivals[i].count;
  if (n_arrivals == (int)(sizeof arrivals / sizeof arrivals[0])) return 1;
  snprintf(arrivals[n_arrivals].point, sizeof arrivals[0].point, "%s", key);
  arrivals[n_arrivals].count = 1;
  return arrivals[n_arrivals++].count;
}

/* Whether `spec` ("point" or "point:n") names `point` at arrival `count`. */
static int matches(const char *spec, const char *point, long count) {
  size_t len = strlen(point);
  if (strncmp(spec, point, len) != 0) return 0;
  if (spec[len] == '\0') return count == 1;
  if (spec[len] != ':') return 0;
  char *end = NULL;
  long n = strtol(spec + len + 1, &end, 10);
  return end != spec + len + 1 && *end == '\0' && n == count;
}

static void pause_here(const char *point, long count) {
  const char *file = getenv("FLOE_PAUSE_FILE");
  if (file == NULL || file[0] == '\0') return;
  char marker[4096];
  snprintf(marker, sizeof marker, "%s.paused", file);
  FILE *f = fopen(marker, "w");
  if (f != NULL) {
    fprintf(f, "%s:%ld\n", point, count);
    fclose(f);
  }
  floe_log(FLOE_LOG_WARN, "pause", "point=%s arrival=%ld until=%s", point, count, file);
  struct timespec tick = {0, 20 * 1000 * 1000};
  for (int i = 0; i < 6000 && access(file, F_OK) != 0; i++) nanosleep(&tick, NULL);
}

void floe_debug_crash_point(const char *point) {
  const char *crash = getenv("FLOE_CRASH_AT");
  const char *pause = getenv("FLOE_PAUSE_AT");
  if (crash != NULL && crash[0] != '\0') {
    long count = arrive("crash", point);
    if (matches(crash, point, count)) {
      floe_log(FLOE_LOG_WARN, "crash", "point=%s arrival=%ld", point, count);
      _exit(137);
    }
  }
  if (pause != NULL && pause[0] != '\0') {
    long count = arrive("pause", point);
    if (matches(pause, point, count)) pause_here(point, count);
  }
}

int floe_debug_fail_point(const char *point, floe_error *err) {
  const char *spec = getenv("FLOE_FAIL_AT");
  if (spec == NULL || spec[0] == '\0') return FLOE_OK;
  long count = arrive("fail", point);
  if (matches(spec, point, count))
    return floe_error_set(err, FLOE_EIO, "%s: injected failure (FLOE_FAIL_AT=%s)", point, spec);
  return FLOE_OK;
}
