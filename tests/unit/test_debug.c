/*
 * Tests of core/debug: the crash, fail and pause switches the crash
 * campaign drives. A crash is checked in a forked child (it must end the
 * process with status 137 at exactly the n-th arrival and not before); the
 * pause in a child that must wait for its release file.
 */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/debug.h"
#include "test.h"

/* Runs `arrivals` arrivals at `point` in a child with FLOE_CRASH_AT=spec;
 * returns the child's exit status, or the number of arrivals it survived
 * (as exit status 0..arrivals) when it was not killed. */
static int crash_child(const char *spec, const char *point, int arrivals) {
  pid_t pid = fork();
  if (pid == 0) {
    setenv("FLOE_CRASH_AT", spec, 1);
    floe_debug_reset();
    for (int i = 0; i < arrivals; i++) {
      floe_debug_crash_point("some_other_point");
      floe_debug_crash_point(point);
    }
    _exit(arrivals);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_crash_point_exits_137_at_the_nth_arrival(void) {
  CHECK_INT_EQ(crash_child("after_manifest", "after_manifest", 3), 137);
  CHECK_INT_EQ(crash_child("after_manifest:3", "after_manifest", 2), 2); /* not reached */
  CHECK_INT_EQ(crash_child("after_manifest:3", "after_manifest", 3), 137);
  /* A longer name with the same prefix is another point. */
  CHECK_INT_EQ(crash_child("after_manifest", "after_manifest_list", 4), 4);
  CHECK_INT_EQ(crash_child("after_manifest_list:2", "after_manifest_list", 4), 137);
  CHECK_INT_EQ(crash_child("after_manifest:x", "after_manifest", 3), 3); /* bad n: never */
}

static void test_fail_point_counts_apart_from_crash_points(void) {
  floe_error err = {0};
  setenv("FLOE_FAIL_AT", "commit:2", 1);
  setenv("FLOE_CRASH_AT", "commit:1", 1); /* the same name, other counter */
  floe_debug_reset();
  CHECK_INT_EQ(floe_debug_fail_point("commit", &err), FLOE_OK);
  CHECK_INT_EQ(floe_debug_fail_point("write", &err), FLOE_OK);
  CHECK_INT_EQ(floe_debug_fail_point("commit", &err), FLOE_EIO);
  CHECK_STR_EQ(err.message, "commit: injected failure (FLOE_FAIL_AT=commit:2)");
  CHECK_INT_EQ(floe_debug_fail_point("commit", &err), FLOE_OK);
  CHECK_INT_EQ(floe_debug_fail_point("commit", NULL), FLOE_OK);
  unsetenv("FLOE_FAIL_AT");
  unsetenv("FLOE_CRASH_AT");
  floe_debug_reset();
}

static void test_pause_point_waits_for_the_release_file(void) {
  char dir[] = "/tmp/floe-test-debug-XXXXXX";
  REQUIRE(mkdtemp(dir) != NULL);
  char gate[256], marker[300];
  snprintf(gate, sizeof gate, "%s/gate", dir);
  snprintf(marker, sizeof marker, "%s.paused", gate);
  pid_t pid = fork();
  if (pid == 0) {
    setenv("FLOE_PAUSE_AT", "before_commit:2", 1);
    setenv("FLOE_PAUSE_FILE", gate, 1);
    floe_debug_reset();
    floe_debug_crash_point("before_commit"); /* first: passes */
    floe_debug_crash_point("before_commit"); /* second: waits */
    _exit(access(gate, F_OK) == 0 ? 0 : 1);
  }
  int waited = 0;
  while (access(marker, F_OK) != 0 && waited < 5000) {
    struct timespec t = {0, 10 * 1000 * 1000};
    nanosleep(&t, NULL);
    waited += 10;
  }
  CHECK(access(marker, F_OK) == 0);
  int status = 0;
  CHECK_INT_EQ(waitpid(pid, &status, WNOHANG), 0); /* still paused */
  FILE *f = fopen(gate, "w");
  REQUIRE(f != NULL);
  fclose(f);
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  unlink(gate);
  unlink(marker);
  rmdir(dir);
}

int main(void) {
  RUN(test_crash_point_exits_137_at_the_nth_arrival);
  RUN(test_fail_point_counts_apart_from_crash_points);
  RUN(test_pause_point_waits_for_the_release_file);
  return test_report();
}
