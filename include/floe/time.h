/*
 * floe/time.h: calendar arithmetic for Iceberg's date and time types.
 *
 * Dates are days since 1970-01-01 (proleptic Gregorian), times are
 * microseconds since midnight, timestamps microseconds since the epoch
 * (Iceberg spec: Primitive Types). The civil-date conversions are exact for
 * every int32 day count.
 */
#ifndef FLOE_TIME_H
#define FLOE_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_MICROS_PER_SECOND INT64_C(1000000)
#define FLOE_MICROS_PER_DAY INT64_C(86400000000)

int64_t floe_days_from_civil(int64_t year, unsigned month, unsigned day);
void floe_civil_from_days(int64_t days, int64_t *year, unsigned *month,
                          unsigned *day);
/* Floor division helpers (timestamps before 1970 round toward -inf). */
static inline int64_t floe_floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
static inline int64_t floe_floor_mod(int64_t a, int64_t b) {
  /* a % b, moved to b's sign; no multiply, so no overflow near INT64_MIN. */
  int64_t r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

/* Parses "YYYY-MM-DD". */
int floe_parse_date(const char *s, size_t len, int32_t *out_days,
                    floe_error *err);
/* Parses "HH:MM[:SS[.ffffff]]" into microseconds since midnight. */
int floe_parse_time(const char *s, size_t len, int64_t *out_micros,
                    floe_error *err);
/* Parses ISO-8601 "YYYY-MM-DD[( |T)HH:MM[:SS[.f{1,9}]]][Z|(+|-)HH[:MM]]".
 * The result is micros since the epoch in UTC when a zone is present
 * (*out_has_zone = true), otherwise the wall clock as if in UTC. Digits
 * beyond microseconds are truncated. */
int floe_parse_timestamp(const char *s, size_t len, int64_t *out_micros,
                         bool *out_has_zone, floe_error *err);

/* Formatting into caller buffers (>= 40 bytes); returns the length. */
int floe_format_date(int32_t days, char *out, size_t out_size);
int floe_format_time(int64_t micros, char *out, size_t out_size);
/* "YYYY-MM-DD HH:MM:SS[.ffffff]" (fraction only when non-zero, trailing
 * zeros kept to 6 digits). sep is ' ' or 'T'. */
int floe_format_timestamp(int64_t micros, char sep, char *out,
                          size_t out_size);
/* Current wall-clock time, microseconds since the epoch. */
int64_t floe_now_micros(void);
/* Monotonic clock in seconds, for durations. */
double floe_monotonic_seconds(void);

#ifdef __cplusplus
}
#endif
#endif
