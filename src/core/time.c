/*
 * core/time: civil-calendar conversions (Howard Hinnant's days_from_civil
 * algorithm), ISO-8601 parsing and formatting for Iceberg's date, time and
 * timestamp types. Everything is integer arithmetic in UTC; floe never
 * consults the process time zone.
 */
#include "floe/time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t floe_days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

void floe_civil_from_days(int64_t z, int64_t *year, unsigned *month,
                          unsigned *day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = (unsigned)(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = (int64_t)yoe + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  *year = y + (m <= 2);
  *month = m;
  *day = d;
}

static int digits(const char *s, size_t len, size_t *pos, int n, int *out) {
  int v = 0;
  for (int k = 0; k < n; k++) {
    if (*pos >= len || s[*pos] < '0' || s[*pos] > '9') return -1;
    v = v * 10 + (s[*pos] - '0');
    (*pos)++;
  }
  *out = v;
  return 0;
}

static int days_in_month(int64_t y, unsigned m) {
  static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return dim[m - 1];
}

static bool is_digit(char c) { return (unsigned)(c - '0') <= 9; }

/* The last date parse_date_at turned into days on this thread: sources
 * deliver rows in batches whose dates repeat, so the common case is a
 * 10-byte compare. */
static _Thread_local struct {
  char text[10];
  bool set;
  int64_t days;
} last_date;

/* Parses YYYY-MM-DD at s[*pos]; advances *pos. */
static int parse_date_at(const char *s, size_t len, size_t *pos,
                         int64_t *days) {
  int y, m, d;
  int neg = 0;
  /* Fast path: exactly four year digits (the slow path below reads the
   * same digits the same way and handles signs and longer years). */
  const char *t = s + *pos;
  if (len - *pos >= 10 && t[4] == '-' && t[7] == '-') {
    if (last_date.set && memcmp(t, last_date.text, 10) == 0) {
      *days = last_date.days;
      *pos += 10;
      return 0;
    }
    if (is_digit(t[0]) && is_digit(t[1]) && is_digit(t[2]) && is_digit(t[3]) &&
        is_digit(t[5]) && is_digit(t[6]) && is_digit(t[8]) && is_digit(t[9])) {
      y = (t[0] - '0') * 1000 + (t[1] - '0') * 100 + (t[2] - '0') * 10 + (t[3] - '0');
      m = (t[5] - '0') * 10 + (t[6] - '0');
      d = (t[8] - '0') * 10 + (t[9] - '0');
      if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, (unsigned)m)) return -1;
      *days = floe_days_from_civil(y, (unsigned)m, (unsigned)d);
      memcpy(last_date.text, t, 10);
      last_date.days = *days;
      last_date.set = true;
      *pos += 10;
      return 0;
    }
  }
  if (*pos < len && (s[*pos] == '-' || s[*pos] == '+')) {
    neg = s[*pos] == '-';
    (*pos)++;
  }
  if (digits(s, len, pos, 4, &y) < 0) return -1;
  /* Extended years with more than four digits. */
  while (*pos < len && s[*pos] >= '0' && s[*pos] <= '9' && y < 100000000) {
    y = y * 10 + (s[*pos] - '0');
    (*pos)++;
  }
  if (*pos >= len || s[*pos] != '-') return -1;
  (*pos)++;
  if (digits(s, len, pos, 2, &m) < 0 || m < 1 || m > 12) return -1;
  if (*pos >= len || s[*pos] != '-') return -1;
  (*pos)++;
  if (digits(s, len, pos, 2, &d) < 0) return -1;
  int64_t year = neg ? -(int64_t)y : y;
  if (d < 1 || d > days_in_month(year, (unsigned)m)) return -1;
  *days = floe_days_from_civil(year, (unsigned)m, (unsigned)d);
  return 0;
}

/* Parses HH:MM[:SS[.f+]] at s[*pos]; advances *pos. */
static int parse_time_at(const char *s, size_t len, size_t *pos,
                         int64_t *micros) {
  int h, mi, sec = 0;
  int64_t frac = 0;
  const char *t = s + *pos;
  if (len - *pos >= 8 && t[2] == ':' && t[5] == ':' && is_digit(t[0]) &&
      is_digit(t[1]) && is_digit(t[3]) && is_digit(t[4]) && is_digit(t[6]) &&
      is_digit(t[7])) {
    /* Fast path: HH:MM:SS, the same checks as the general path. */
    h = (t[0] - '0') * 10 + (t[1] - '0');
    mi = (t[3] - '0') * 10 + (t[4] - '0');
    sec = (t[6] - '0') * 10 + (t[7] - '0');
    if (h > 23 || mi > 59 || sec > 60) return -1;
    if (sec == 60) sec = 59;
    *pos += 8;
    goto fraction;
  }
  if (digits(s, len, pos, 2, &h) < 0 || h > 23) return -1;
  if (*pos >= len || s[*pos] != ':') return -1;
  (*pos)++;
  if (digits(s, len, pos, 2, &mi) < 0 || mi > 59) return -1;
  if (*pos < len && s[*pos] == ':') {
    (*pos)++;
    if (digits(s, len, pos, 2, &sec) < 0 || sec > 60) return -1;
    if (sec == 60) sec = 59; /* leap second: clamp, as engines do */
  fraction:
    if (*pos < len && (s[*pos] == '.' || s[*pos] == ',')) {
      (*pos)++;
      int n = 0;
      while (*pos < len && s[*pos] >= '0' && s[*pos] <= '9') {
        if (n < 6) frac = frac * 10 + (s[*pos] - '0');
        n++;
        (*pos)++;
      }
      if (n == 0) return -1;
      for (; n < 6; n++) frac *= 10;
    }
  }
  *micros = ((int64_t)h * 3600 + mi * 60 + sec) * FLOE_MICROS_PER_SECOND + frac;
  return 0;
}

int floe_parse_date(const char *s, size_t len, int32_t *out_days,
                    floe_error *err) {
  size_t pos = 0;
  int64_t days;
  if (parse_date_at(s, len, &pos, &days) < 0 || pos != len ||
      days < INT32_MIN || days > INT32_MAX)
    return floe_error_set(err, FLOE_EFORMAT,
                          "invalid date '%.*s' (want YYYY-MM-DD)", (int)len, s);
  *out_days = (int32_t)days;
  return FLOE_OK;
}

int floe_parse_time(const char *s, size_t len, int64_t *out_micros,
                    floe_error *err) {
  size_t pos = 0;
  if (parse_time_at(s, len, &pos, out_micros) < 0 || pos != len)
    return floe_error_set(err, FLOE_EFORMAT,
                          "invalid time '%.*s' (want HH:MM:SS[.ffffff])",
                          (int)len, s);
  return FLOE_OK;
}

int floe_parse_timestamp(const char *s, size_t len, int64_t *out_micros,
                         bool *out_has_zone, floe_error *err) {
  size_t pos = 0;
  int64_t days, tod = 0, offset_s = 0;
  bool zone = false;
  if (parse_date_at(s, len, &pos, &days) < 0) goto bad;
  if (pos < len && (s[pos] == ' ' || s[pos] == 'T' || s[pos] == 't')) {
    pos++;
    if (parse_time_at(s, len, &pos, &tod) < 0) goto bad;
  }
  while (pos < len && s[pos] == ' ') pos++;
  if (pos < len) {
    if (s[pos] == 'Z' || s[pos] == 'z') {
      zone = true;
      pos++;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int sign = s[pos] == '-' ? -1 : 1;
      int oh, om = 0;
      pos++;
      if (digits(s, len, &pos, 2, &oh) < 0 || oh > 18) goto bad;
      if (pos < len && s[pos] == ':') pos++;
      if (pos < len && digits(s, len, &pos, 2, &om) < 0) goto bad;
      if (om > 59) goto bad;
      offset_s = sign * (oh * 3600 + om * 60);
      zone = true;
    } else if (len - pos == 3 && s[pos] == 'U' && s[pos + 1] == 'T' &&
               s[pos + 2] == 'C') {
      zone = true;
      pos += 3;
    }
  }
  if (pos != len) goto bad;
  if (days > INT64_MAX / FLOE_MICROS_PER_DAY - 1 ||
      days < INT64_MIN / FLOE_MICROS_PER_DAY + 1)
    goto bad;
  *out_micros = days * FLOE_MICROS_PER_DAY + tod - offset_s * FLOE_MICROS_PER_SECOND;
  if (out_has_zone != NULL) *out_has_zone = zone;
  return FLOE_OK;
bad:
  return floe_error_set(
      err, FLOE_EFORMAT,
      "invalid timestamp '%.*s' (want YYYY-MM-DD[ HH:MM:SS[.ffffff]][+HH:MM])",
      (int)len, s);
}

int floe_format_date(int32_t days, char *out, size_t out_size) {
  int64_t y;
  unsigned m, d;
  floe_civil_from_days(days, &y, &m, &d);
  if (y < 0 || y > 9999)
    return snprintf(out, out_size, "%+05lld-%02u-%02u", (long long)y, m, d);
  return snprintf(out, out_size, "%04lld-%02u-%02u", (long long)y, m, d);
}

static int format_tod(int64_t micros, char *out, size_t out_size) {
  int64_t secs = micros / FLOE_MICROS_PER_SECOND;
  int64_t frac = micros % FLOE_MICROS_PER_SECOND;
  int h = (int)(secs / 3600), mi = (int)(secs / 60 % 60), s = (int)(secs % 60);
  if (frac)
    return snprintf(out, out_size, "%02d:%02d:%02d.%06lld", h, mi, s,
                    (long long)frac);
  return snprintf(out, out_size, "%02d:%02d:%02d", h, mi, s);
}

int floe_format_time(int64_t micros, char *out, size_t out_size) {
  return format_tod(floe_floor_mod(micros, FLOE_MICROS_PER_DAY), out, out_size);
}

int floe_format_timestamp(int64_t micros, char sep, char *out,
                          size_t out_size) {
  int64_t days = floe_floor_div(micros, FLOE_MICROS_PER_DAY);
  int64_t tod = floe_floor_mod(micros, FLOE_MICROS_PER_DAY);
  int n = floe_format_date((int32_t)days, out, out_size);
  if (n < 0 || (size_t)n + 1 >= out_size) return n;
  out[n] = sep;
  return n + 1 + format_tod(tod, out + n + 1, out_size - (size_t)n - 1);
}

int64_t floe_now_micros(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * FLOE_MICROS_PER_SECOND + ts.tv_nsec / 1000;
}

double floe_monotonic_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
