/*
 * core/debug: test-only switches that kill, fail or pause a real process at
 * a named step, read from the environment.
 *
 *   FLOE_CRASH_AT=<point>[:<n>]  the process ends with _exit(137), as if
 *                                killed by SIGKILL, at the n-th arrival
 *                                (default 1) at the named point;
 *   FLOE_FAIL_AT=<point>[:<n>]   the n-th arrival at a fail point returns
 *                                FLOE_EIO, as a full disk or a lost
 *                                connection would;
 *   FLOE_PAUSE_AT=<point>[:<n>]  the n-th arrival at a crash point waits:
 *   FLOE_PAUSE_FILE=<path>       it creates <path>.paused and sleeps until
 *                                <path> exists (at most 120 s), so a test
 *                                can run another writer at that instant.
 *
 * Crash points live in every layer that writes something durable (the
 * engine, the table commit, the catalog), which is why they are in core: a
 * lower layer never includes src/replicate. Each point name is called from
 * one place; docs/durability.md ("Crash points") lists them. Nothing in
 * normal operation sets these variables; an unset variable costs one
 * getenv per arrival.
 */
#ifndef FLOE_CORE_DEBUG_H
#define FLOE_CORE_DEBUG_H

#include "floe/common.h"

/* Called at each named crash point: exits the process with status 137 when
 * FLOE_CRASH_AT names `point` and this is its n-th arrival; pauses when
 * FLOE_PAUSE_AT does. Counters are per process. */
void floe_debug_crash_point(const char *point);

/* Returns FLOE_EIO (message "<point>: injected failure (FLOE_FAIL_AT=...)")
 * when FLOE_FAIL_AT names `point` and this is its n-th arrival, else
 * FLOE_OK. err may be NULL. */
int floe_debug_fail_point(const char *point, floe_error *err);

/* Forgets the arrival counters (tests). */
void floe_debug_reset(void);

#endif
