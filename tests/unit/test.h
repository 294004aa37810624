/*
 * tests/unit/test.h: floe's in-repo test runner.
 *
 * A test binary defines `static void test_*(void)` functions and runs them
 * from main with RUN(test_name); main returns test_report(), which prints
 * "N passed, N failed[, N skipped]" as the last line and returns non-zero
 * when any test failed. CHECK* macros record a failure with file:line and
 * continue; REQUIRE* return from the test.
 */
#ifndef FLOE_TEST_H
#define FLOE_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "floe/common.h"

/* The message of an error, or "" for NULL. */
static inline const char *test_error_message(const floe_error *err) {
  return err != NULL ? err->message : "";
}

static int test_passed, test_failed, test_skipped;
static int test_current_failed, test_current_skipped;
static const char *test_current_name;

#define TEST_FAIL_AT(file, line, ...)                                  \
  do {                                                                 \
    fprintf(stdout, "  FAIL %s (%s:%d): ", test_current_name, file, line); \
    fprintf(stdout, __VA_ARGS__);                                      \
    fputc(0x0a, stdout);                                               \
    test_current_failed = 1;                                           \
  } while (0)

#define CHECK(cond)                                                    \
  do {                                                                 \
    if (!(cond)) TEST_FAIL_AT(__FILE__, __LINE__, "%s", #cond);        \
  } while (0)

#define REQUIRE(cond)                                                  \
  do {                                                                 \
    if (!(cond)) {                                                     \
      TEST_FAIL_AT(__FILE__, __LINE__, "%s", #cond);                   \
      return;                                                          \
    }                                                                  \
  } while (0)

#define CHECK_INT_EQ(actual, expected)                                 \
  do {                                                                 \
    long long a_ = (long long)(actual), e_ = (long long)(expected);    \
    if (a_ != e_)                                                      \
      TEST_FAIL_AT(__FILE__, __LINE__, "%s == %lld, expected %lld",    \
                   #actual, a_, e_);                                   \
  } while (0)

#define CHECK_STR_EQ(actual, expected)                                 \
  do {                                                                 \
    const char *a_ = (actual), *e_ = (expected);                       \
    if (a_ == NULL || e_ == NULL || strcmp(a_, e_) != 0)               \
      TEST_FAIL_AT(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", \
                   #actual, a_ ? a_ : "(null)", e_ ? e_ : "(null)");   \
  } while (0)

/* Checks that an int-returning floe call succeeded; prints err's message. */
#define CHECK_OK(call, errp)                                           \
  do {                                                                 \
    int rc_ = (call);                                                  \
    if (rc_ != 0)                                                      \
      TEST_FAIL_AT(__FILE__, __LINE__, "%s failed (%d): %s", #call, rc_, \
                   test_error_message(errp));                     \
  } while (0)

#define REQUIRE_OK(call, errp)                                         \
  do {                                                                 \
    int rc_ = (call);                                                  \
    if (rc_ != 0) {                                                    \
      TEST_FAIL_AT(__FILE__, __LINE__, "%s failed (%d): %s", #call, rc_, \
                   test_error_message(errp));                     \
      return;                                                          \
    }                                                                  \
  } while (0)

/* Marks the running test skipped, with a reason shown in the output. */
#define SKIP(...)                                                      \
  do {                                                                 \
    fprintf(stdout, "  SKIP %s: ", test_current_name);                 \
    fprintf(stdout, __VA_ARGS__);                                      \
    fputc(0x0a, stdout);                                               \
    test_current_skipped = 1;                                          \
    return;                                                            \
  } while (0)

#define RUN(fn)                                                        \
  do {                                                                 \
    test_current_name = #fn;                                           \
    test_current_failed = 0;                                           \
    test_current_skipped = 0;                                          \
    fn();                                                              \
    if (test_current_failed)                                           \
      test_failed++;                                                   \
    else if (test_current_skipped)                                     \
      test_skipped++;                                                  \
    else                                                               \
      test_passed++;                                                   \
    fprintf(stdout, "%s %s\n",                                         \
            test_current_failed ? "not ok" : test_current_skipped ? "skip  " : "ok    ", #fn); \
  } while (0)

static inline int test_report(void) {
  fflush(stdout);
  if (test_skipped)
    printf("%d passed, %d failed, %d skipped\n", test_passed, test_failed,
           test_skipped);
  else
    printf("%d passed, %d failed\n", test_passed, test_failed);
  return test_failed ? 1 : 0;
}

/* Path of a file under ../shared/fixtures (FLOE_SHARED overrides the
 * location of shared/), or NULL when it is absent. Static storage. */
static inline const char *test_fixture(const char *relative) {
  static char path[4096];
  const char *shared = getenv("FLOE_SHARED");
  if (shared != NULL)
    snprintf(path, sizeof path, "%s/fixtures/%s", shared, relative);
  else
    snprintf(path, sizeof path, "%s/../shared/fixtures/%s", FLOE_SOURCE_DIR,
             relative);
  struct stat st;
  return stat(path, &st) == 0 ? path : NULL;
}

/* A fresh scratch directory for this test binary: build/tmp/<name>. */
static inline const char *test_tmpdir(const char *name) {
  static char path[4096];
  snprintf(path, sizeof path, "tmp/%s", name);
  char cmd[8300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", path, path);
  if (system(cmd) != 0) return NULL;
  return path;
}

#endif
