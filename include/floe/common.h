/*
 * floe/common.h: error reporting and allocation shared by every floe module.
 *
 * Errors: a function that can fail returns int (FLOE_OK = 0, or a negative
 * FLOE_E* code) and takes a caller-owned `floe_error *err` last. The error
 * carries a message that gains context as it travels up the stack:
 * "table sales: commit: catalog sql: metadata_location changed (conflict)".
 * `err` may be NULL when the caller does not want the message.
 *
 * Allocation: all floe memory goes through floe_malloc and friends, so tests
 * can make the Nth allocation fail (floe_alloc_fail_after).
 */
#ifndef FLOE_COMMON_H
#define FLOE_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_OK 0
#define FLOE_ENOMEM (-1)       /* allocation failed */
#define FLOE_EINVAL (-2)       /* bad argument or bad configuration */
#define FLOE_EIO (-3)          /* operating-system I/O failure */
#define FLOE_EFORMAT (-4)      /* malformed input file or message */
#define FLOE_EUNSUPPORTED (-5) /* valid input that floe does not handle */
#define FLOE_ENOTFOUND (-6)    /* no such file, table, key, snapshot */
#define FLOE_ECONFLICT (-7)    /* compare-and-swap lost to another writer */
#define FLOE_ESOURCE (-8)      /* source database error */
#define FLOE_ERANGE (-9)       /* a value does not fit its type */
#define FLOE_EEXISTS (-10)     /* already exists */
#define FLOE_ECANCELED (-11)   /* interrupted by the user */
#define FLOE_EVALIDATE (-12)   /* validation found a mismatch */
#define FLOE_ENETWORK (-13)    /* network or remote service failure */
#define FLOE_ECHECK (-14)      /* a data-quality check failed (nothing committed) */

#define FLOE_ERROR_MESSAGE_SIZE 1024

/* A caller-owned error: a code and a message buffer. Initialise with
 * floe_error_init or `floe_error err = {0};`. */
typedef struct floe_error {
  int code;
  char message[FLOE_ERROR_MESSAGE_SIZE];
} floe_error;

void floe_error_init(floe_error *err);

/* Sets code and message (printf-style) and returns `code`, so that
 * `return floe_error_set(err, FLOE_EINVAL, "...")` reads naturally.
 * err may be NULL. */
int floe_error_set(floe_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int floe_error_vset(floe_error *err, int code, const char *fmt, va_list ap);

/* Prepends "<context>: " to the message and returns err->code (0 when err
 * is NULL; callers that must keep the code pass their own rc through). */
int floe_error_prefix(floe_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sets the error from errno: "<what>: <strerror(errnum)>"; returns FLOE_EIO
 * (or FLOE_ENOTFOUND for ENOENT, FLOE_ENOMEM for ENOMEM). */
int floe_error_errno(floe_error *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Short stable name of a code: "ENOMEM", "EFORMAT", ... */
const char *floe_error_code_name(int code);

/* Allocation. floe_free and every floe *_free function accept NULL. */
void *floe_malloc(size_t size);
void *floe_calloc(size_t count, size_t size);
void *floe_realloc(void *ptr, size_t size);
void floe_free(void *ptr);
/* Copies of C strings; the caller frees them with floe_free. */
char *floe_strdup(const char *s);
char *floe_strndup(const char *s, size_t n);

/* Test hook: the `n`th allocation from now fails (n = 1: the next one);
 * n = 0 switches failure injection off. Counts every floe_malloc,
 * floe_calloc and floe_realloc call. */
void floe_alloc_fail_after(long n);
/* Number of allocation calls since start-up (for choosing n in tests). */
long floe_alloc_calls(void);

/* Runs `expr` (an int-returning call) and jumps to `cleanup` with rc set when
 * it fails. The enclosing function must declare `int rc` and `cleanup:`. */
#define FLOE_TRY(expr)    \
  do {                    \
    rc = (expr);          \
    if (rc < 0) goto cleanup; \
  } while (0)

#ifdef __cplusplus
}
#endif
#endif
