/*
 * core/alloc: the one door through which floe allocates.
 *
 * Routing every allocation through these functions lets a test make the Nth
 * call fail (floe_alloc_fail_after) and check that each path reports
 * FLOE_ENOMEM cleanly and leaks nothing, the way SQLite tests its malloc
 * failures.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "floe/common.h"

static atomic_long alloc_calls;
static atomic_long fail_at; /* call number that fails; 0 = never */

void floe_alloc_fail_after(long n) {
  atomic_store(&fail_at, n > 0 ? atomic_load(&alloc_calls) + n : 0);
}

long floe_alloc_calls(void) { return atomic_load(&alloc_calls); }

static int should_fail(void) {
  long call = atomic_fetch_add(&alloc_calls, 1) + 1;
  long at = atomic_load(&fail_at);
  return at != 0 && call >= at;
}

void *floe_malloc(size_t size) {
  if (should_fail()) return NULL;
  return malloc(size ? size : 1);
}

void *floe_calloc(size_t count, size_t size) {
  if (should_fail()) return NULL;
  if (count == 0 || size == 0) return calloc(1, 1);
  return calloc(count, size);
}

void *floe_realloc(void *ptr, size_t size) {
  if (should_fail()) return NULL;
  return realloc(ptr, size ? size : 1);
}

void floe_free(void *ptr) { free(ptr); }

char *floe_strndup(const char *s, size_t n) {
  if (s == NULL) return NULL;
  char *copy = floe_malloc(n + 1);
  if (copy == NULL) return NULL;
  memcpy(copy, s, n);
  copy[n] = '\0';
  return copy;
}

char *floe_strdup(const char *s) {
  return s == NULL ? NULL : floe_strndup(s, strlen(s));
}
