/*
 * iceberg/value: single Iceberg values and their encodings — the binary
 * single-value form used for column bounds and partition summaries, the
 * JSON single-value form used for defaults and partition values in metadata
 * (both Iceberg spec: Appendix D), the human-readable form used in
 * partition paths, the 32-bit hash behind bucketing (Appendix B), and the
 * bridge to Arrow columns.
 *
 * One value struct serves every primitive: the type travels beside it, so
 * a column of values costs no per-value type tag, and bytes are borrowed
 * from wherever they came from (an Arrow buffer, a manifest) unless a
 * decoder had to make them.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/murmur3.h"
#include "floe/time.h"
#include "iceberg/iceberg_internal.h"

#define NANOS_PER_MICRO INT64_C(1000)

static bool is_nanos(floe_iceberg_type_id id) {
  return id == FLOE_ICEBERG_TIMESTAMP_NS || id == FLOE_ICEBERG_TIMESTAMPTZ_NS;
}

static bool is_bytes(floe_iceberg_type_id id) {
  return id == FLOE_ICEBERG_STRING || id == FLOE_ICEBERG_BINARY ||
         id == FLOE_ICEBERG_FIXED || id == FLOE_ICEBERG_UUID;
}

static bool uses_i64(floe_iceberg_type_id id) {
  return id == FLOE_ICEBERG_LONG || id == FLOE_ICEBERG_TIME ||
         id == FLOE_ICEBERG_TIMESTAMP || id == FLOE_ICEBERG_TIMESTAMPTZ ||
         is_nanos(id);
}

static const char *type_label(const floe_iceberg_type *type, char *buf, size_t n) {
  floe_iceberg_type_format(type, buf, n);
  return buf;
}

void floe_iceberg_value_free(floe_iceberg_value *value) {
  if (value == NULL) return;
  floe_free(value->owned);
  *value = floe_iceberg_null_value();
}

int floe_iceberg_value_copy(floe_iceberg_value *out,
                            const floe_iceberg_value *value) {
  *out = *value;
  out->owned = NULL;
  if (value->bytes != NULL) {
    out->owned = floe_malloc(value->len ? value->len : 1);
    if (out->owned == NULL) {
      *out = floe_iceberg_null_value();
      return FLOE_ENOMEM;
    }
    if (value->len) memcpy(out->owned, value->bytes, value->len);
    out->bytes = out->owned;
  }
  return FLOE_OK;
}

bool floe_iceberg_value_equal(const floe_iceberg_type *type,
                              const floe_iceberg_value *a,
                              const floe_iceberg_value *b) {
  if (a->is_null || b->is_null) return a->is_null && b->is_null;
  switch (type->id) {
    case FLOE_ICEBERG_BOOLEAN: return a->v.b == b->v.b;
    case FLOE_ICEBERG_INT:
    case FLOE_ICEBERG_DATE: return a->v.i32 == b->v.i32;
    case FLOE_ICEBERG_FLOAT: return memcmp(&a->v.f32, &b->v.f32, 4) == 0;
    case FLOE_ICEBERG_DOUBLE: return memcmp(&a->v.f64, &b->v.f64, 8) == 0;
    case FLOE_ICEBERG_DECIMAL: return a->v.dec == b->v.dec;
    default:
      if (uses_i64(type->id)) return a->v.i64 == b->v.i64;
      if (is_bytes(type->id))
        return a->len == b->len && (a->len == 0 || memcmp(a->bytes, b->bytes, a->len) == 0);
      return false;
  }
}

/* ---- decimals: minimal big-endian two's complement -------------------- */

/* Writes the unscaled value as the fewest big-endian two's-complement bytes
 * (Iceberg spec: Appendix B note 2, Appendix D); returns the count. */
static size_t decimal_min_bytes(floe_int128 v, uint8_t out[16]) {
  uint8_t be[16];
  unsigned __int128 u = (unsigned __int128)v;
  for (int i = 15; i >= 0; i--) {
    be[i] = (uint8_t)u;
    u >>= 8;
  }
  int start = 0;
  while (start < 15) {
    if (be[start] == 0x00 && (be[start + 1] & 0x80) == 0) start++;
    else if (be[start] == 0xff && (be[start + 1] & 0x80) != 0) start++;
    else break;
  }
  size_t n = (size_t)(16 - start);
  memcpy(out, be + start, n);
  return n;
}

static floe_int128 decimal_from_be(const uint8_t *p, size_t n) {
  unsigned __int128 u = (n > 0 && (p[0] & 0x80)) ? ~(unsigned __int128)0 : 0;
  for (size_t i = 0; i < n; i++) u = (u << 8) | p[i];
  return (floe_int128)u;
}

static bool decimal_fits(floe_int128 v, int32_t precision) {
  floe_int128 limit = floe_int128_pow10(precision);
  return v < limit && v > -limit;
}

/* ---- UUID ------------------------------------------------------------- */

static int hex_digit(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int floe_iceberg_uuid_parse(const char *text, size_t len, uint8_t out[16],
                            floe_error *err) {
  if (len != 36) goto bad;
  for (size_t i = 0, k = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') goto bad;
      continue;
    }
    int hi = hex_digit(text[i]), lo = hex_digit(text[i + 1]);
    if (hi < 0 || lo < 0) goto bad;
    out[k++] = (uint8_t)(hi << 4 | lo);
    i++;
  }
  return FLOE_OK;
bad:
  return floe_error_set(err, FLOE_EFORMAT, "invalid uuid '%.*s'", (int)(len > 64 ? 64 : len),
                        text);
}

void floe_iceberg_uuid_format(const uint8_t uuid[16], char out_text[37]) {
  static const char hex[] = "0123456789abcdef";
  size_t k = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out_text[k++] = '-';
    out_text[k++] = hex[uuid[i] >> 4];
    out_text[k++] = hex[uuid[i] & 15];
  }
  out_text[k] = '\0';
}

static int random_bytes(uint8_t *out, size_t n, floe_error *err) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(out + got, n - got, 0);
    if (r < 0) return floe_error_errno(err, errno, "getrandom");
    got += (size_t)r;
  }
  return FLOE_OK;
}

int floe_iceberg_uuid_random(char out_text[37], floe_error *err) {
  uint8_t b[16];
  int rc = random_bytes(b, sizeof b, err);
  if (rc < 0) return rc;
  b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* IETF variant */
  floe_iceberg_uuid_format(b, out_text);
  return FLOE_OK;
}

/* ---- binary single-value serialization (Appendix D) ------------------- */

int floe_iceberg_value_to_binary(const floe_iceberg_type *type,
                                 const floe_iceberg_value *value,
                                 floe_buf *out, floe_error *err) {
  char name[32];
  if (value->is_null)
    return floe_error_set(err, FLOE_EINVAL, "binary single value: null has no encoding");
  uint8_t tmp[16];
  switch (type->id) {
    case FLOE_ICEBERG_BOOLEAN:
      return floe_buf_append_byte(out, value->v.b ? 1 : 0);
    case FLOE_ICEBERG_INT:
    case FLOE_ICEBERG_DATE:
      return floe_buf_append_u32le(out, (uint32_t)value->v.i32);
    case FLOE_ICEBERG_FLOAT: {
      uint32_t bits;
      memcpy(&bits, &value->v.f32, 4);
      return floe_buf_append_u32le(out, bits);
    }
    case FLOE_ICEBERG_DOUBLE: {
      uint64_t bits;
      memcpy(&bits, &value->v.f64, 8);
      return floe_buf_append_u64le(out, bits);
    }
    case FLOE_ICEBERG_DECIMAL: {
      size_t n = decimal_min_bytes(value->v.dec, tmp);
      return floe_buf_append(out, tmp, n);
    }
    case FLOE_ICEBERG_UUID:
      if (value->len != 16)
        return floe_error_set(err, FLOE_EINVAL, "uuid value has %zu bytes, not 16",
                              value->len);
      return floe_buf_append(out, value->bytes, 16);
    case FLOE_ICEBERG_FIXED:
      if ((int64_t)value->len != type->length)
        return floe_error_set(err, FLOE_EINVAL, "fixed[%d] value has %zu bytes",
                              type->length, value->len);
      return floe_buf_append(out, value->bytes, value->len);
    case FLOE_ICEBERG_STRING:
    case FLOE_ICEBERG_BINARY:
      return floe_buf_append(out, value->bytes, value->len);
    default:
      if (uses_i64(type->id)) return floe_buf_append_u64le(out, (uint64_t)value->v.i64);
      return floe_error_set(err, FLOE_EUNSUPPORTED,
                            "binary single value: type %s is not supported",
                            type_label(type, name, sizeof name));
  }
}

int floe_iceberg_value_from_binary(const floe_iceberg_type *type,
                                   const uint8_t *data, size_t len,
                                   floe_iceberg_value *out, floe_error *err) {
  char name[32];
  *out = floe_iceberg_null_value();
  out->is_null = false;
  switch (type->id) {
    case FLOE_ICEBERG_BOOLEAN:
      if (len != 1) goto bad_len;
      out->v.b = data[0] != 0;
      return FLOE_OK;
    case FLOE_ICEBERG_INT:
    case FLOE_ICEBERG_DATE:
      if (len != 4) goto bad_len;
      out->v.i32 = (int32_t)floe_load_u32le(data);
      return FLOE_OK;
    case FLOE_ICEBERG_FLOAT:
      if (len != 4) goto bad_len;
      {
        uint32_t bits = floe_load_u32le(data);
        memcpy(&out->v.f32, &bits, 4);
      }
      return FLOE_OK;
    case FLOE_ICEBERG_DOUBLE:
      /* Iceberg spec: Schema Evolution — 4 bytes means written as float. */
      if (len == 4) {
        uint32_t bits = floe_load_u32le(data);
        float f;
        memcpy(&f, &bits, 4);
        out->v.f64 = (double)f;
        return FLOE_OK;
      }
      if (len != 8) goto bad_len;
      {
        uint64_t bits = floe_load_u64le(data);
        memcpy(&out->v.f64, &bits, 8);
      }
      return FLOE_OK;
    case FLOE_ICEBERG_DECIMAL:
      if (len < 1 || len > 16) goto bad_len;
      out->v.dec = decimal_from_be(data, len);
      return FLOE_OK;
    case FLOE_ICEBERG_UUID:
      if (len != 16) goto bad_len;
      out->bytes = data;
      out->len = 16;
      return FLOE_OK;
    case FLOE_ICEBERG_STRING:
    case FLOE_ICEBERG_BINARY:
    case FLOE_ICEBERG_FIXED:
      out->bytes = data;
      out->len = len;
      return FLOE_OK;
    default:
      break;
  }
  if (uses_i64(type->id)) {
    if (len == 4) {
      int32_t narrow = (int32_t)floe_load_u32le(data);
      if (type->id == FLOE_ICEBERG_LONG) {
        out->v.i64 = narrow; /* promoted from int */
        return FLOE_OK;
      }
      if (type->id == FLOE_ICEBERG_TIMESTAMP || type->id == FLOE_ICEBERG_TIMESTAMP_NS) {
        /* promoted from date (v3) */
        int64_t unit = type->id == FLOE_ICEBERG_TIMESTAMP ? 1 : NANOS_PER_MICRO;
        out->v.i64 = (int64_t)narrow * FLOE_MICROS_PER_DAY * unit;
        return FLOE_OK;
      }
    }
    if (len != 8) goto bad_len;
    out->v.i64 = (int64_t)floe_load_u64le(data);
    return FLOE_OK;
  }
  *out = floe_iceberg_null_value();
  return floe_error_set(err, FLOE_EUNSUPPORTED,
                        "binary single value: type %s is not supported",
                        type_label(type, name, sizeof name));
bad_len:
  *out = floe_iceberg_null_value();
  return floe_error_set(err, FLOE_EFORMAT, "binary single value of type %s: %zu bytes is "
                        "not a valid length",
                        type_label(type, name, sizeof name), len);
}

/* ---- text helpers ----------------------------------------------------- */

static int append_base64(floe_buf *out, const uint8_t *p, size_t n) {
  static const char b64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (floe_buf_reserve(out, (n + 2) / 3 * 4) < 0) return FLOE_ENOMEM;
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    floe_buf_put_byte(out, (uint8_t)b64[v >> 18]);
    floe_buf_put_byte(out, (uint8_t)b64[(v >> 12) & 63]);
    floe_buf_put_byte(out, (uint8_t)b64[(v >> 6) & 63]);
    floe_buf_put_byte(out, (uint8_t)b64[v & 63]);
  }
  if (i < n) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
    floe_buf_put_byte(out, (uint8_t)b64[v >> 18]);
    floe_buf_put_byte(out, (uint8_t)b64[(v >> 12) & 63]);
    floe_buf_put_byte(out, i + 1 < n ? (uint8_t)b64[(v >> 6) & 63] : '=');
    floe_buf_put_byte(out, '=');
  }
  return FLOE_OK;
}

/* Appends ".fff", ".ffffff" or ".fffffffff" (the shortest group of three
 * that holds `frac` nanoseconds exactly), or nothing when frac is 0 — as
 * java.time prints fractions. */
static int append_fraction(floe_buf *out, int64_t frac_nanos) {
  if (frac_nanos == 0) return FLOE_OK;
  if (frac_nanos % 1000000 == 0)
    return floe_buf_appendf(out, ".%03" PRId64, frac_nanos / 1000000);
  if (frac_nanos % 1000 == 0) return floe_buf_appendf(out, ".%06" PRId64, frac_nanos / 1000);
  return floe_buf_appendf(out, ".%09" PRId64, frac_nanos);
}

/* HH:MM:SS[.frac] of nanoseconds since midnight; with short_form, seconds
 * are left out when they and the fraction are zero (LocalTime.toString). */
static int append_time_of_day(floe_buf *out, int64_t nanos, bool short_form) {
  int64_t secs = nanos / 1000000000, frac = nanos % 1000000000;
  int h = (int)(secs / 3600), m = (int)(secs / 60 % 60), s = (int)(secs % 60);
  if (short_form && s == 0 && frac == 0) return floe_buf_appendf(out, "%02d:%02d", h, m);
  int rc = floe_buf_appendf(out, "%02d:%02d:%02d", h, m, s);
  return rc < 0 ? rc : append_fraction(out, frac);
}

static int append_date(floe_buf *out, int64_t days) {
  char text[40];
  floe_format_date((int32_t)days, text, sizeof text);
  return floe_buf_append_str(out, text);
}

/* ISO local date-time of `v` in `unit`s per second (1e6 or 1e9). */
static int append_iso_timestamp(floe_buf *out, int64_t v, int64_t unit_per_day,
                                int64_t nanos_per_unit) {
  int64_t days = floe_floor_div(v, unit_per_day);
  int64_t tod = floe_floor_mod(v, unit_per_day) * nanos_per_unit;
  int rc = append_date(out, days);
  if (rc == FLOE_OK) rc = floe_buf_append_byte(out, 'T');
  if (rc == FLOE_OK) rc = append_time_of_day(out, tod, false);
  return rc;
}

static int append_timestamp(floe_buf *out, floe_iceberg_type_id id, int64_t v) {
  bool ns = is_nanos(id);
  int rc = append_iso_timestamp(out, v, ns ? FLOE_MICROS_PER_DAY * 1000 : FLOE_MICROS_PER_DAY,
                                ns ? 1 : 1000);
  if (rc == FLOE_OK && (id == FLOE_ICEBERG_TIMESTAMPTZ || id == FLOE_ICEBERG_TIMESTAMPTZ_NS))
    rc = floe_buf_append_str(out, "+00:00");
  return rc;
}

static int append_decimal(floe_buf *out, floe_int128 v, int32_t scale) {
  char text[64];
  if (scale >= 0) {
    floe_decimal_format(v, scale, text, sizeof text);
    return floe_buf_append_str(out, text);
  }
  /* Negative scale: scientific form whose exponent is -scale
   * (Iceberg spec: Appendix D, JSON; BigDecimal.toString). */
  floe_decimal_format(v, 0, text, sizeof text);
  return floe_buf_appendf(out, "%sE+%d", text, -scale);
}

/* Java's Float/Double.toString: shortest round-trip digits; plain notation
 * for 1e-3 <= |v| < 1e7 (with at least one fractional digit), otherwise
 * "d.dddE[-]n". */
static int append_java_float(floe_buf *out, double v, bool single) {
  if (isnan(v)) return floe_buf_append_str(out, "NaN");
  if (isinf(v)) return floe_buf_append_str(out, v > 0 ? "Infinity" : "-Infinity");
  if (v == 0) return floe_buf_append_str(out, signbit(v) ? "-0.0" : "0.0");
  char text[48];
  int max_digits = single ? 9 : 17;
  for (int p = 1; p <= max_digits; p++) {
    snprintf(text, sizeof text, "%.*e", p - 1, v);
    if (single ? strtof(text, NULL) == (float)v : strtod(text, NULL) == v) break;
  }
  /* text = [-]d[.ddd]e[+-]xx */
  bool neg = text[0] == '-';
  char digits[24];
  int nd = 0;
  const char *p = text + (neg ? 1 : 0);
  for (; *p && *p != 'e'; p++)
    if (*p != '.') digits[nd++] = *p;
  int exp10 = atoi(p + 1);
  while (nd > 1 && digits[nd - 1] == '0') nd--;
  digits[nd] = '\0';
  int rc = neg ? floe_buf_append_byte(out, '-') : FLOE_OK;
  if (rc < 0) return rc;
  if (exp10 >= -3 && exp10 < 7) {
    if (exp10 < 0) {
      rc = floe_buf_append_str(out, "0.");
      for (int i = -1; rc == FLOE_OK && i > exp10; i--) rc = floe_buf_append_byte(out, '0');
      if (rc == FLOE_OK) rc = floe_buf_append(out, digits, (size_t)nd);
      return rc;
    }
    int int_digits = exp10 + 1;
    for (int i = 0; rc == FLOE_OK && i < int_digits; i++)
      rc = floe_buf_append_byte(out, i < nd ? (uint8_t)digits[i] : '0');
    if (rc == FLOE_OK) rc = floe_buf_append_byte(out, '.');
    if (rc == FLOE_OK)
      rc = nd > int_digits ? floe_buf_append(out, digits + int_digits, (size_t)(nd - int_digits))
                           : floe_buf_append_byte(out, '0');
    return rc;
  }
  rc = floe_buf_append_byte(out, (uint8_t)digits[0]);
  if (rc == FLOE_OK) rc = floe_buf_append_byte(out, '.');
  if (rc == FLOE_OK)
    rc = nd > 1 ? floe_buf_append(out, digits + 1, (size_t)(nd - 1)) : floe_buf_append_byte(out, '0');
  if (rc == FLOE_OK) rc = floe_buf_appendf(out, "E%d", exp10);
  return rc;
}

/* Shortest round-trip text for JSON numbers. */
static int append_json_float(floe_buf *out, double v, bool single) {
  char text[48];
  for (int p = 1; p <= (single ? 9 : 17); p++) {
    snprintf(text, sizeof text, "%.*g", p, v);
    if (single ? strtof(text, NULL) == (float)v : strtod(text, NULL) == v) break;
  }
  if (strpbrk(text, ".e") == NULL) strcat(text, ".0");
  return floe_buf_append_str(out, text);
}

/* ---- JSON single-value serialization (Appendix D) --------------------- */

static int json_append_string(floe_buf *out, const char *s, size_t n) {
  json_t *str = json_stringn(s, n);
  if (str == NULL) return FLOE_EFORMAT; /* invalid UTF-8 */
  char *text = json_dumps(str, JSON_ENCODE_ANY);
  json_decref(str);
  if (text == NULL) return FLOE_ENOMEM;
  int rc = floe_buf_append_str(out, text);
  floe_free(text);
  return rc;
}

int floe_iceberg_value_to_json(const floe_iceberg_type *type,
                               const floe_iceberg_value *value, floe_buf *out,
                               floe_error *err) {
  ice_json_init();
  char name[32];
  if (value->is_null) return floe_buf_append_str(out, "null");
  floe_buf text = FLOE_BUF_INIT;
  int rc = FLOE_OK;
  switch (type->id) {
    case FLOE_ICEBERG_BOOLEAN:
      return floe_buf_append_str(out, value->v.b ? "true" : "false");
    case FLOE_ICEBERG_INT: return floe_buf_appendf(out, "%" PRId32, value->v.i32);
    case FLOE_ICEBERG_LONG: return floe_buf_appendf(out, "%" PRId64, value->v.i64);
    case FLOE_ICEBERG_FLOAT:
    case FLOE_ICEBERG_DOUBLE: {
      double d = type->id == FLOE_ICEBERG_FLOAT ? (double)value->v.f32 : value->v.f64;
      if (!isfinite(d))
        return floe_error_set(err, FLOE_EUNSUPPORTED,
                              "JSON single value: %s is not a JSON number", isnan(d) ? "NaN" : "infinity");
      return append_json_float(out, d, type->id == FLOE_ICEBERG_FLOAT);
    }
    case FLOE_ICEBERG_DECIMAL: rc = append_decimal(&text, value->v.dec, type->scale); break;
    case FLOE_ICEBERG_DATE: rc = append_date(&text, value->v.i32); break;
    case FLOE_ICEBERG_TIME:
      rc = append_time_of_day(&text, floe_floor_mod(value->v.i64, FLOE_MICROS_PER_DAY) * 1000,
                              false);
      break;
    case FLOE_ICEBERG_TIMESTAMP:
    case FLOE_ICEBERG_TIMESTAMPTZ:
    case FLOE_ICEBERG_TIMESTAMP_NS:
    case FLOE_ICEBERG_TIMESTAMPTZ_NS:
      rc = append_timestamp(&text, type->id, value->v.i64);
      break;
    case FLOE_ICEBERG_STRING:
      rc = json_append_string(out, (const char *)value->bytes, value->len);
      if (rc == FLOE_EFORMAT)
        return floe_error_set(err, rc, "JSON single value: string is not valid UTF-8");
      return rc;
    case FLOE_ICEBERG_UUID: {
      if (value->len != 16)
        return floe_error_set(err, FLOE_EINVAL, "uuid value has %zu bytes", value->len);
      char u[37];
      floe_iceberg_uuid_format(value->bytes, u);
      rc = floe_buf_append_str(&text, u);
      break;
    }
    case FLOE_ICEBERG_FIXED:
    case FLOE_ICEBERG_BINARY: rc = floe_buf_append_hex(&text, value->bytes, value->len); break;
    default:
      return floe_error_set(err, FLOE_EUNSUPPORTED, "JSON single value: type %s unsupported",
                            type_label(type, name, sizeof name));
  }
  if (rc == FLOE_OK) rc = floe_buf_append_byte(out, '"');
  if (rc == FLOE_OK) rc = floe_buf_append(out, text.data, text.len);
  if (rc == FLOE_OK) rc = floe_buf_append_byte(out, '"');
  floe_buf_free(&text);
  if (rc < 0) return floe_error_set(err, rc, "JSON single value: out of memory");
  return FLOE_OK;
}

int ice_value_to_json_tree(const floe_iceberg_type *type,
                           const floe_iceberg_value *value, json_t **out,
                           floe_error *err) {
  floe_buf text = FLOE_BUF_INIT;
  *out = NULL;
  int rc = floe_iceberg_value_to_json(type, value, &text, err);
  if (rc == FLOE_OK) rc = ice_json_load((const char *)text.data, text.len, "value", out, err);
  floe_buf_free(&text);
  return rc;
}

/* Parses [+-]digits[.digits][(e|E)[+-]digits] into an unscaled value and
 * scale (BigDecimal semantics). */
static bool parse_decimal_text(const char *s, floe_int128 *unscaled, int32_t *scale) {
  bool neg = false;
  if (*s == '-' || *s == '+') neg = *s++ == '-';
  unsigned __int128 u = 0;
  int digits = 0, frac = 0;
  bool point = false;
  for (; *s; s++) {
    if (*s == '.') {
      if (point) return false;
      point = true;
      continue;
    }
    if (*s < '0' || *s > '9') break;
    if (++digits > 38) return false;
    u = u * 10 + (unsigned)(*s - '0');
    if (point) frac++;
  }
  if (digits == 0) return false;
  long exp10 = 0;
  if (*s == 'e' || *s == 'E') {
    char *end;
    exp10 = strtol(s + 1, &end, 10);
    if (end == s + 1 || *end != '\0' || exp10 > 1000 || exp10 < -1000) return false;
  } else if (*s != '\0') {
    return false;
  }
  *unscaled = neg ? -(floe_int128)u : (floe_int128)u;
  *scale = (int32_t)(frac - exp10);
  return true;
}

/* Parses "YYYY-MM-DDTHH:MM[:SS[.f{1,9}]][Z|(+|-)HH:MM]" into nanoseconds
 * since the epoch (UTC when a zone is present). */
static bool parse_iso_timestamp_nanos(const char *s, size_t len, int64_t *out,
                                      bool *has_zone) {
  const char *t = memchr(s, 'T', len);
  if (t == NULL) t = memchr(s, ' ', len);
  if (t == NULL) return false;
  int32_t days;
  if (floe_parse_date(s, (size_t)(t - s), &days, NULL) < 0) return false;
  const char *p = t + 1, *end = s + len;
  int h, m, sec = 0;
  int64_t frac = 0;
  if (end - p < 5 || sscanf(p, "%2d:%2d", &h, &m) != 2 || p[2] != ':') return false;
  p += 5;
  if (p < end && *p == ':') {
    if (end - p < 3 || p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9') return false;
    sec = (p[1] - '0') * 10 + (p[2] - '0');
    p += 3;
    if (p < end && *p == '.') {
      p++;
      int nd = 0;
      while (p < end && *p >= '0' && *p <= '9') {
        if (nd < 9) {
          frac = frac * 10 + (*p - '0');
          nd++;
        }
        p++;
      }
      if (nd == 0) return false;
      for (; nd < 9; nd++) frac *= 10;
    }
  }
  if (h > 23 || m > 59 || sec > 59) return false;
  int64_t offset_s = 0;
  *has_zone = false;
  if (p < end) {
    if (*p == 'Z' && p + 1 == end) {
      *has_zone = true;
    } else if ((*p == '+' || *p == '-') && end - p == 6 && p[3] == ':') {
      int oh, om;
      if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2 || oh > 18 || om > 59) return false;
      offset_s = (*p == '-' ? -1 : 1) * (oh * 3600 + om * 60);
      *has_zone = true;
    } else {
      return false;
    }
  }
  int64_t secs = (int64_t)days * 86400 + h * 3600 + m * 60 + sec - offset_s;
  if (secs > INT64_MAX / 1000000000 - 1 || secs < INT64_MIN / 1000000000 + 1) return false;
  *out = secs * 1000000000 + frac;
  return true;
}

static int parse_hex(const char *s, size_t n, uint8_t **out, size_t *out_len) {
  if (n % 2 != 0) return FLOE_EFORMAT;
  uint8_t *b = floe_malloc(n / 2 ? n / 2 : 1);
  if (b == NULL) return FLOE_ENOMEM;
  for (size_t i = 0; i < n; i += 2) {
    int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
    if (hi < 0 || lo < 0) {
      floe_free(b);
      return FLOE_EFORMAT;
    }
    b[i / 2] = (uint8_t)(hi << 4 | lo);
  }
  *out = b;
  *out_len = n / 2;
  return FLOE_OK;
}

int ice_value_from_json_tree(const floe_iceberg_type *type, const json_t *json,
                             floe_iceberg_value *out, floe_error *err) {
  char name[32], snippet[120];
  *out = floe_iceberg_null_value();
  if (json == NULL || json_is_null(json)) return FLOE_OK;
  out->is_null = false;
  const char *s = json_string_value(json);
  size_t slen = s ? json_string_length(json) : 0;
  switch (type->id) {
    case FLOE_ICEBERG_BOOLEAN:
      if (!json_is_boolean(json)) goto bad;
      out->v.b = json_is_true(json);
      return FLOE_OK;
    case FLOE_ICEBERG_INT:
      if (!json_is_integer(json) || json_integer_value(json) < INT32_MIN ||
          json_integer_value(json) > INT32_MAX)
        goto bad;
      out->v.i32 = (int32_t)json_integer_value(json);
      return FLOE_OK;
    case FLOE_ICEBERG_LONG:
      if (!json_is_integer(json)) goto bad;
      out->v.i64 = (int64_t)json_integer_value(json);
      return FLOE_OK;
    case FLOE_ICEBERG_FLOAT:
      if (!json_is_number(json)) goto bad;
      out->v.f32 = (float)json_number_value(json);
      return FLOE_OK;
    case FLOE_ICEBERG_DOUBLE:
      if (!json_is_number(json)) goto bad;
      out->v.f64 = json_number_value(json);
      return FLOE_OK;
    case FLOE_ICEBERG_DECIMAL: {
      int32_t scale;
      if (s == NULL || !parse_decimal_text(s, &out->v.dec, &scale)) goto bad;
      if (scale != type->scale || !decimal_fits(out->v.dec, type->precision)) goto bad;
      return FLOE_OK;
    }
    case FLOE_ICEBERG_DATE: {
      if (s == NULL || floe_parse_date(s, slen, &out->v.i32, NULL) < 0) goto bad;
      return FLOE_OK;
    }
    case FLOE_ICEBERG_TIME: {
      if (s == NULL || floe_parse_time(s, slen, &out->v.i64, NULL) < 0) goto bad;
      return FLOE_OK;
    }
    case FLOE_ICEBERG_TIMESTAMP:
    case FLOE_ICEBERG_TIMESTAMPTZ:
    case FLOE_ICEBERG_TIMESTAMP_NS:
    case FLOE_ICEBERG_TIMESTAMPTZ_NS: {
      int64_t nanos;
      bool zone;
      if (s == NULL || !parse_iso_timestamp_nanos(s, slen, &nanos, &zone)) goto bad;
      bool want_zone = type->id == FLOE_ICEBERG_TIMESTAMPTZ ||
                       type->id == FLOE_ICEBERG_TIMESTAMPTZ_NS;
      if (zone != want_zone) goto bad;
      out->v.i64 = is_nanos(type->id) ? nanos : floe_floor_div(nanos, NANOS_PER_MICRO);
      return FLOE_OK;
    }
    case FLOE_ICEBERG_STRING:
      if (s == NULL) goto bad;
      out->owned = floe_malloc(slen ? slen : 1);
      if (out->owned == NULL) goto nomem;
      memcpy(out->owned, s, slen);
      out->bytes = out->owned;
      out->len = slen;
      return FLOE_OK;
    case FLOE_ICEBERG_UUID:
      if (s == NULL) goto bad;
      out->owned = floe_malloc(16);
      if (out->owned == NULL) goto nomem;
      if (floe_iceberg_uuid_parse(s, slen, out->owned, NULL) < 0) goto bad;
      out->bytes = out->owned;
      out->len = 16;
      return FLOE_OK;
    case FLOE_ICEBERG_FIXED:
    case FLOE_ICEBERG_BINARY: {
      if (s == NULL) goto bad;
      int rc = parse_hex(s, slen, &out->owned, &out->len);
      if (rc == FLOE_ENOMEM) goto nomem;
      if (rc < 0) goto bad;
      out->bytes = out->owned;
      if (type->id == FLOE_ICEBERG_FIXED && (int64_t)out->len != type->length) goto bad;
      return FLOE_OK;
    }
    default:
      floe_iceberg_value_free(out);
      return floe_error_set(err, FLOE_EUNSUPPORTED, "JSON single value: type %s unsupported",
                            type_label(type, name, sizeof name));
  }
bad:
  floe_iceberg_value_free(out);
  ice_json_snippet(json, snippet, sizeof snippet);
  return floe_error_set(err, FLOE_EFORMAT, "Cannot parse %s value from json: %s",
                        type_label(type, name, sizeof name), snippet);
nomem:
  floe_iceberg_value_free(out);
  return floe_error_set(err, FLOE_ENOMEM, "JSON single value: out of memory");
}

int floe_iceberg_value_from_json(const floe_iceberg_type *type,
                                 const char *json, size_t len,
                                 floe_iceberg_value *out, floe_error *err) {
  json_t *tree = NULL;
  *out = floe_iceberg_null_value();
  int rc = ice_json_load(json, len, "JSON single value", &tree, err);
  if (rc < 0) return rc;
  rc = ice_value_from_json_tree(type, tree, out, err);
  json_decref(tree);
  return rc;
}

int ice_check_default_json(const floe_iceberg_type *type, const json_t *json,
                           floe_error *err) {
  if (json_is_null(json)) return FLOE_OK;
  switch (type->id) {
    case FLOE_ICEBERG_STRUCT:
      return json_is_object(json) ? FLOE_OK
                                  : floe_error_set(err, FLOE_EFORMAT,
                                                   "struct default must be a JSON object");
    case FLOE_ICEBERG_LIST:
      return json_is_array(json) ? FLOE_OK
                                 : floe_error_set(err, FLOE_EFORMAT,
                                                  "list default must be a JSON array");
    case FLOE_ICEBERG_MAP:
      return json_is_object(json) ? FLOE_OK
                                  : floe_error_set(err, FLOE_EFORMAT,
                                                   "map default must be a JSON object");
    case FLOE_ICEBERG_UNKNOWN:
    case FLOE_ICEBERG_VARIANT:
      /* Iceberg spec: Default values — these must default to null. */
      return floe_error_set(err, FLOE_EFORMAT, "unknown and variant columns must default to null");
    default: {
      floe_iceberg_value v;
      int rc = ice_value_from_json_tree(type, json, &v, err);
      floe_iceberg_value_free(&v);
      return rc;
    }
  }
}

/* ---- human-readable strings (partition paths) ------------------------- */

int floe_iceberg_value_to_human(const floe_iceberg_type *type,
                                const floe_iceberg_value *value,
                                floe_buf *out, floe_error *err) {
  char name[32];
  int rc;
  if (value->is_null) return floe_buf_append_str(out, "null");
  switch (type->id) {
    case FLOE_ICEBERG_BOOLEAN: rc = floe_buf_append_str(out, value->v.b ? "true" : "false"); break;
    case FLOE_ICEBERG_INT: rc = floe_buf_appendf(out, "%" PRId32, value->v.i32); break;
    case FLOE_ICEBERG_LONG: rc = floe_buf_appendf(out, "%" PRId64, value->v.i64); break;
    case FLOE_ICEBERG_FLOAT: rc = append_java_float(out, value->v.f32, true); break;
    case FLOE_ICEBERG_DOUBLE: rc = append_java_float(out, value->v.f64, false); break;
    case FLOE_ICEBERG_DECIMAL: rc = append_decimal(out, value->v.dec, type->scale); break;
    case FLOE_ICEBERG_DATE: rc = append_date(out, value->v.i32); break;
    case FLOE_ICEBERG_TIME:
      rc = append_time_of_day(out, floe_floor_mod(value->v.i64, FLOE_MICROS_PER_DAY) * 1000, true);
      break;
    case FLOE_ICEBERG_TIMESTAMP:
    case FLOE_ICEBERG_TIMESTAMPTZ:
    case FLOE_ICEBERG_TIMESTAMP_NS:
    case FLOE_ICEBERG_TIMESTAMPTZ_NS:
      rc = append_timestamp(out, type->id, value->v.i64);
      break;
    case FLOE_ICEBERG_STRING: rc = floe_buf_append(out, value->bytes, value->len); break;
    case FLOE_ICEBERG_UUID: {
      char u[37];
      if (value->len != 16)
        return floe_error_set(err, FLOE_EINVAL, "uuid value has %zu bytes", value->len);
      floe_iceberg_uuid_format(value->bytes, u);
      rc = floe_buf_append_str(out, u);
      break;
    }
    case FLOE_ICEBERG_FIXED:
    case FLOE_ICEBERG_BINARY: rc = append_base64(out, value->bytes, value->len); break;
    default:
      return floe_error_set(err, FLOE_EUNSUPPORTED, "no human-readable form for type %s",
                            type_label(type, name, sizeof name));
  }
  return rc < 0 ? floe_error_set(err, rc, "value text: out of memory") : FLOE_OK;
}

/* ---- hashing (Appendix B) --------------------------------------------- */

static int32_t hash_long(int64_t v) {
  uint8_t le[8];
  floe_store_u64le(le, (uint64_t)v);
  return (int32_t)floe_murmur3_32(le, 8, 0);
}

static int32_t hash_double(double d) {
  uint64_t bits;
  if (isnan(d)) bits = UINT64_C(0x7ff8000000000000); /* canonical NaN */
  else {
    if (d == 0) d = 0.0; /* -0.0 hashes as 0.0 */
    memcpy(&bits, &d, 8);
  }
  return hash_long((int64_t)bits);
}

int floe_iceberg_hash(const floe_iceberg_type *type,
                      const floe_iceberg_value *value, int32_t *out_hash,
                      floe_error *err) {
  char name[32];
  if (value->is_null)
    return floe_error_set(err, FLOE_EINVAL, "hash: null values have no hash");
  uint8_t tmp[16];
  switch (type->id) {
    /* hashInt(v) == hashLong(long(v)) so int -> long promotion keeps
     * bucket values (Appendix B note 1). */
    case FLOE_ICEBERG_BOOLEAN: *out_hash = hash_long(value->v.b ? 1 : 0); return FLOE_OK;
    case FLOE_ICEBERG_INT:
    case FLOE_ICEBERG_DATE: *out_hash = hash_long(value->v.i32); return FLOE_OK;
    case FLOE_ICEBERG_LONG:
    case FLOE_ICEBERG_TIME:
    case FLOE_ICEBERG_TIMESTAMP:
    case FLOE_ICEBERG_TIMESTAMPTZ: *out_hash = hash_long(value->v.i64); return FLOE_OK;
    case FLOE_ICEBERG_TIMESTAMP_NS:
    case FLOE_ICEBERG_TIMESTAMPTZ_NS:
      /* Appendix B note 3: nanoseconds are hashed as microseconds. */
      *out_hash = hash_long(floe_floor_div(value->v.i64, NANOS_PER_MICRO));
      return FLOE_OK;
    case FLOE_ICEBERG_FLOAT: *out_hash = hash_double((double)value->v.f32); return FLOE_OK;
    case FLOE_ICEBERG_DOUBLE: *out_hash = hash_double(value->v.f64); return FLOE_OK;
    case FLOE_ICEBERG_DECIMAL: {
      size_t n = decimal_min_bytes(value->v.dec, tmp);
      *out_hash = (int32_t)floe_murmur3_32(tmp, n, 0);
      return FLOE_OK;
    }
    case FLOE_ICEBERG_STRING:
    case FLOE_ICEBERG_UUID:
    case FLOE_ICEBERG_FIXED:
    case FLOE_ICEBERG_BINARY:
      *out_hash = (int32_t)floe_murmur3_32(value->bytes, value->len, 0);
      return FLOE_OK;
    default:
      return floe_error_set(err, FLOE_EUNSUPPORTED, "hash: type %s has no 32-bit hash",
                            type_label(type, name, sizeof name));
  }
}

/* ---- Arrow bridge ----------------------------------------------------- */

int floe_iceberg_value_from_arrow(const floe_iceberg_type *type,
                                  const floe_arrow_view *column, int64_t row,
                                  floe_iceberg_value *out, floe_error *err) {
  floe_arrow_type_info want;
  if (!floe_iceberg_type_is_primitive(type->id))
    return floe_error_set(err, FLOE_EUNSUPPORTED, "nested values have no floe_iceberg_value form");
  int rc = floe_iceberg_type_to_arrow(type, &want, err);
  if (rc < 0) return rc;
  if (want.id != column->type.id) {
    char a[32], b[32];
    floe_arrow_type_name(&column->type, a, sizeof a);
    return floe_error_set(err, FLOE_EINVAL, "arrow column of type %s cannot hold iceberg %s",
                          a, type_label(type, b, sizeof b));
  }
  *out = floe_iceberg_null_value();
  if (floe_arrow_view_is_null(column, row)) return FLOE_OK;
  out->is_null = false;
  switch (column->type.id) {
    case FLOE_ARROW_BOOL: out->v.b = floe_arrow_view_bool(column, row); break;
    case FLOE_ARROW_INT32:
    case FLOE_ARROW_DATE32: out->v.i32 = floe_arrow_view_int32(column, row); break;
    case FLOE_ARROW_FLOAT: out->v.f32 = floe_arrow_view_float(column, row); break;
    case FLOE_ARROW_DOUBLE: out->v.f64 = floe_arrow_view_double(column, row); break;
    case FLOE_ARROW_DECIMAL128: out->v.dec = floe_arrow_view_decimal(column, row); break;
    case FLOE_ARROW_UTF8:
    case FLOE_ARROW_BINARY:
    case FLOE_ARROW_FIXED:
    case FLOE_ARROW_UUID: out->bytes = floe_arrow_view_bytes(column, row, &out->len); break;
    default: out->v.i64 = floe_arrow_view_int64(column, row); break;
  }
  return FLOE_OK;
}

int floe_iceberg_value_append_arrow(const floe_iceberg_type *type,
                                    const floe_iceberg_value *value,
                                    floe_arrow_builder *b, floe_error *err) {
  char name[32];
  int rc;
  if (value->is_null) {
    rc = floe_arrow_builder_append_null(b);
  } else {
    switch (type->id) {
      case FLOE_ICEBERG_BOOLEAN: rc = floe_arrow_builder_append_bool(b, value->v.b); break;
      case FLOE_ICEBERG_INT:
      case FLOE_ICEBERG_DATE: rc = floe_arrow_builder_append_int32(b, value->v.i32); break;
      case FLOE_ICEBERG_FLOAT: rc = floe_arrow_builder_append_float(b, value->v.f32); break;
      case FLOE_ICEBERG_DOUBLE: rc = floe_arrow_builder_append_double(b, value->v.f64); break;
      case FLOE_ICEBERG_DECIMAL: rc = floe_arrow_builder_append_decimal(b, value->v.dec); break;
      default:
        if (uses_i64(type->id)) rc = floe_arrow_builder_append_int64(b, value->v.i64);
        else if (is_bytes(type->id))
          rc = floe_arrow_builder_append_bytes(b, value->bytes, value->len);
        else
          return floe_error_set(err, FLOE_EUNSUPPORTED, "arrow: type %s unsupported",
                                type_label(type, name, sizeof name));
    }
  }
  return rc < 0 ? floe_error_set(err, rc, "arrow append: %s", floe_error_code_name(rc)) : FLOE_OK;
}
