/*
 * source/snowflake_decode: SQL API v2 result bodies -> Arrow, as the bytes
 * arrive.
 *
 * A result partition can hold hundreds of megabytes of JSON, so the `data`
 * array is never built as a DOM: a byte-level state machine walks the body,
 * unescapes each cell of the current row into one reusable buffer, and at
 * the row's closing bracket converts every cell into its column builder.
 * Memory is the decoded partition (the Arrow batch being built) plus one
 * row of text, and the parser works on chunks of any size, so libcurl's
 * write callback feeds it directly. The small members around `data`
 * (statementHandle, resultSetMetaData, code, message, stats) are kept as
 * raw JSON text and parsed with jansson once the body ends.
 *
 * Value encodings follow "Handling responses" of the SQL API docs (see
 * snowflake_internal.h); conversions to the target type are exact or an
 * error, like every floe source (docs/types.md), with fast paths for the
 * common integer, decimal and string columns.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "floe/time.h"
#include "source/snowflake_internal.h"
#include "source/source_internal.h"

/* ---- kinds and type mapping ------------------------------------------------ */

static const struct {
  const char *name;
  floe_sf_kind kind;
} kind_names[] = {
    {"FIXED", FLOE_SF_FIXED},
    {"NUMBER", FLOE_SF_FIXED},
    {"DECIMAL", FLOE_SF_FIXED},
    {"NUMERIC", FLOE_SF_FIXED},
    {"INT", FLOE_SF_FIXED},
    {"INTEGER", FLOE_SF_FIXED},
    {"BIGINT", FLOE_SF_FIXED},
    {"SMALLINT", FLOE_SF_FIXED},
    {"TINYINT", FLOE_SF_FIXED},
    {"BYTEINT", FLOE_SF_FIXED},
    {"REAL", FLOE_SF_REAL},
    {"FLOAT", FLOE_SF_REAL},
    {"FLOAT4", FLOE_SF_REAL},
    {"FLOAT8", FLOE_SF_REAL},
    {"DOUBLE", FLOE_SF_REAL},
    {"DOUBLE PRECISION", FLOE_SF_REAL},
    {"TEXT", FLOE_SF_TEXT},
    {"VARCHAR", FLOE_SF_TEXT},
    {"CHAR", FLOE_SF_TEXT},
    {"CHARACTER", FLOE_SF_TEXT},
    {"STRING", FLOE_SF_TEXT},
    {"BOOLEAN", FLOE_SF_BOOLEAN},
    {"DATE", FLOE_SF_DATE},
    {"TIME", FLOE_SF_TIME},
    {"TIMESTAMP_NTZ", FLOE_SF_TIMESTAMP_NTZ},
    {"DATETIME", FLOE_SF_TIMESTAMP_NTZ},
    {"TIMESTAMP", FLOE_SF_TIMESTAMP_NTZ},
    {"TIMESTAMP_LTZ", FLOE_SF_TIMESTAMP_LTZ},
    {"TIMESTAMP_TZ", FLOE_SF_TIMESTAMP_TZ},
    {"BINARY", FLOE_SF_BINARY},
    {"VARBINARY", FLOE_SF_BINARY},
    {"VARIANT", FLOE_SF_VARIANT},
    {"OBJECT", FLOE_SF_OBJECT},
    {"ARRAY", FLOE_SF_ARRAY},
    {"GEOGRAPHY", FLOE_SF_GEOGRAPHY},
    {"GEOMETRY", FLOE_SF_GEOMETRY},
};

floe_sf_kind floe_sf_kind_parse(const char *name) {
  if (name == NULL) return FLOE_SF_OTHER;
  /* "NUMBER(38,0)" and "VARCHAR(10)" name their kind before the '('. */
  size_t len = strcspn(name, "(");
  while (len > 0 && name[len - 1] == ' ') len--;
  for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
    if (strlen(kind_names[i].name) == len &&
        strncasecmp(kind_names[i].name, name, len) == 0)
      return kind_names[i].kind;
  return FLOE_SF_OTHER;
}

const char *floe_sf_kind_name(floe_sf_kind kind) {
  switch (kind) {
    case FLOE_SF_FIXED: return "FIXED";
    case FLOE_SF_REAL: return "REAL";
    case FLOE_SF_TEXT: return "TEXT";
    case FLOE_SF_BOOLEAN: return "BOOLEAN";
    case FLOE_SF_DATE: return "DATE";
    case FLOE_SF_TIME: return "TIME";
    case FLOE_SF_TIMESTAMP_NTZ: return "TIMESTAMP_NTZ";
    case FLOE_SF_TIMESTAMP_LTZ: return "TIMESTAMP_LTZ";
    case FLOE_SF_TIMESTAMP_TZ: return "TIMESTAMP_TZ";
    case FLOE_SF_BINARY: return "BINARY";
    case FLOE_SF_VARIANT: return "VARIANT";
    case FLOE_SF_OBJECT: return "OBJECT";
    case FLOE_SF_ARRAY: return "ARRAY";
    case FLOE_SF_GEOGRAPHY: return "GEOGRAPHY";
    case FLOE_SF_GEOMETRY: return "GEOMETRY";
    default: return "OTHER";
  }
}

floe_arrow_type_info floe_sf_map_type(floe_sf_kind kind, int32_t precision,
                                      int32_t scale) {
  switch (kind) {
    case FLOE_SF_FIXED:
      if (precision <= 0) precision = 38; /* unknown: NUMBER's default */
      if (scale < 0 || scale > precision || precision > 38)
        return floe_arrow_type_of(FLOE_ARROW_UTF8);
      if (scale == 0 && precision <= 18)
        return floe_arrow_type_of(FLOE_ARROW_INT64);
      return floe_arrow_decimal(precision, scale);
    case FLOE_SF_REAL: return floe_arrow_type_of(FLOE_ARROW_DOUBLE);
    case FLOE_SF_BOOLEAN: return floe_arrow_type_of(FLOE_ARROW_BOOL);
    case FLOE_SF_DATE: return floe_arrow_type_of(FLOE_ARROW_DATE32);
    case FLOE_SF_TIME: return floe_arrow_type_of(FLOE_ARROW_TIME64_US);
    case FLOE_SF_TIMESTAMP_NTZ: return floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_US);
    case FLOE_SF_TIMESTAMP_LTZ:
    case FLOE_SF_TIMESTAMP_TZ: return floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_US_TZ);
    case FLOE_SF_BINARY: return floe_arrow_type_of(FLOE_ARROW_BINARY);
    default: return floe_arrow_type_of(FLOE_ARROW_UTF8);
  }
}

void floe_sf_columns_free(floe_sf_column *columns, int64_t n) {
  if (columns == NULL) return;
  for (int64_t i = 0; i < n; i++) floe_free(columns[i].name);
  floe_free(columns);
}

static int64_t json_int_member(const json_t *obj, const char *key) {
  const json_t *v = json_object_get(obj, key);
  if (json_is_integer(v)) return (int64_t)json_integer_value(v);
  if (json_is_string(v)) return strtoll(json_string_value(v), NULL, 10);
  return 0;
}

int floe_sf_row_type_parse(const json_t *row_type, floe_sf_column **out,
                           int64_t *out_n, floe_error *err) {
  *out = NULL;
  *out_n = 0;
  if (!json_is_array(row_type))
    return floe_error_set(err, FLOE_EFORMAT, "rowType is not an array");
  size_t n = json_array_size(row_type);
  floe_sf_column *cols = floe_calloc(n ? n : 1, sizeof *cols);
  if (cols == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const json_t *el = json_array_get(row_type, i);
    const json_t *name = json_object_get(el, "name");
    const json_t *type = json_object_get(el, "type");
    if (!json_is_string(name) || !json_is_string(type)) {
      floe_sf_columns_free(cols, (int64_t)n);
      return floe_error_set(err, FLOE_EFORMAT,
                            "rowType[%zu]: want an object with string "
                            "\"name\" and \"type\"",
                            i);
    }
    cols[i].name = floe_strdup(json_string_value(name));
    if (cols[i].name == NULL) {
      floe_sf_columns_free(cols, (int64_t)n);
      return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    }
    cols[i].kind = floe_sf_kind_parse(json_string_value(type));
    int64_t precision = json_int_member(el, "precision");
    int64_t scale = json_int_member(el, "scale");
    cols[i].precision = precision < 0 || precision > 1000 ? 0 : (int32_t)precision;
    cols[i].scale = scale < 0 || scale > 1000 ? 0 : (int32_t)scale;
    cols[i].length = json_int_member(el, "length");
    const json_t *nullable = json_object_get(el, "nullable");
    cols[i].nullable = nullable == NULL || json_is_true(nullable);
  }
  *out = cols;
  *out_n = (int64_t)n;
  return FLOE_OK;
}

/* ---- value conversions ----------------------------------------------------- */

static const floe_int128 pow10_table[39] = {
    (floe_int128)1,
    (floe_int128)10,
    (floe_int128)100,
    (floe_int128)1000,
    (floe_int128)10000,
    (floe_int128)100000,
    (floe_int128)1000000,
    (floe_int128)10000000,
    (floe_int128)100000000,
    (floe_int128)1000000000,
    (floe_int128)10000000000LL,
    (floe_int128)100000000000LL,
    (floe_int128)1000000000000LL,
    (floe_int128)10000000000000LL,
    (floe_int128)100000000000000LL,
    (floe_int128)1000000000000000LL,
    (floe_int128)10000000000000000LL,
    (floe_int128)100000000000000000LL,
    (floe_int128)1000000000000000000LL,
    (floe_int128)1000000000000000000LL * 10,
    (floe_int128)1000000000000000000LL * 100,
    (floe_int128)1000000000000000000LL * 1000,
    (floe_int128)1000000000000000000LL * 10000,
    (floe_int128)1000000000000000000LL * 100000,
    (floe_int128)1000000000000000000LL * 1000000,
    (floe_int128)1000000000000000000LL * 10000000,
    (floe_int128)1000000000000000000LL * 100000000,
    (floe_int128)1000000000000000000LL * 1000000000,
    (floe_int128)1000000000000000000LL * 10000000000LL,
    (floe_int128)1000000000000000000LL * 100000000000LL,
    (floe_int128)1000000000000000000LL * 1000000000000LL,
    (floe_int128)1000000000000000000LL * 10000000000000LL,
    (floe_int128)1000000000000000000LL * 100000000000000LL,
    (floe_int128)1000000000000000000LL * 1000000000000000LL,
    (floe_int128)1000000000000000000LL * 10000000000000000LL,
    (floe_int128)1000000000000000000LL * 100000000000000000LL,
    (floe_int128)1000000000000000000LL * 1000000000000000000LL,
    (floe_int128)1000000000000000000LL * 1000000000000000000LL * 10,
    (floe_int128)1000000000000000000LL * 1000000000000000000LL * 100,
};

/* The plain form Snowflake sends ("-123.4500"): digits, at most one '.'.
 * Returns 0 with the unscaled value at `scale`, or -1 for anything else
 * (exponents, too many digits, a value that does not fit), which the
 * caller hands to floe_src_parse_decimal for the exact verdict. */
static int fast_decimal(const char *s, size_t len, int32_t precision,
                        int32_t scale, floe_int128 *out) {
  size_t i = 0;
  bool neg = false;
  if (len > 0 && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    i = 1;
  }
  while (i < len && s[i] == '0' && i + 1 < len && s[i + 1] != '.') i++;
  floe_int128 v = 0;
  int int_digits = 0, frac_digits = 0, n_digits = 0;
  bool point = false;
  for (; i < len; i++) {
    unsigned d = (unsigned)(s[i] - '0');
    if (d <= 9) {
      if (point) {
        if (frac_digits >= scale) {
          if (d != 0) return -1; /* beyond the scale */
          continue;
        }
        frac_digits++;
      } else if (v != 0 || d != 0) {
        int_digits++;
      }
      if (++n_digits > 38) return -1;
      v = v * 10 + d;
    } else if (s[i] == '.' && !point) {
      point = true;
    } else {
      return -1;
    }
  }
  if (n_digits == 0 || int_digits > precision - scale) return -1;
  v *= pow10_table[scale - frac_digits];
  *out = neg ? -v : v;
  return 0;
}

/* Epoch text "-123.456789012" as floor-based seconds and nanoseconds
 * (0 <= nanos < 1e9). Returns -1 when malformed. */
static int parse_epoch(const char *s, size_t len, int64_t *out_secs,
                       int64_t *out_nanos) {
  size_t i = 0;
  bool neg = false;
  if (len > 0 && s[0] == '-') {
    neg = true;
    i = 1;
  }
  int64_t secs = 0;
  size_t start = i;
  for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
    if (i - start >= 15) return -1; /* beyond any representable instant */
    secs = secs * 10 + (s[i] - '0');
  }
  if (i == start) return -1;
  int64_t nanos = 0;
  if (i < len && s[i] == '.') {
    i++;
    size_t fstart = i;
    int digits = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
      if (digits < 9) {
        nanos = nanos * 10 + (s[i] - '0');
        digits++;
      }
    }
    if (i == fstart) return -1;
    for (; digits < 9; digits++) nanos *= 10;
  }
  if (i != len) return -1;
  if (neg) {
    secs = -secs;
    if (nanos > 0) {
      secs -= 1;
      nanos = 1000000000 - nanos;
    }
  }
  *out_secs = secs;
  *out_nanos = nanos;
  return 0;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int append_hex(floe_arrow_builder *b, const char *s, size_t len,
                      floe_error *err) {
  const floe_arrow_type_info *t = &b->type;
  if (len % 2 != 0)
    return floe_src_value_error(err, t, s, len, "odd number of hex digits");
  size_t n = len / 2;
  if ((t->id == FLOE_ARROW_FIXED || t->id == FLOE_ARROW_UUID) &&
      n != (size_t)t->byte_width)
    return floe_src_value_error(err, t, s, len, "wrong length");
  uint8_t small[256];
  uint8_t *bytes = n <= sizeof small ? small : floe_malloc(n);
  if (bytes == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  int rc = FLOE_OK;
  for (size_t i = 0; i < n; i++) {
    int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      rc = floe_src_value_error(err, t, s, len, "not hex digits");
      goto cleanup;
    }
    bytes[i] = (uint8_t)(hi << 4 | lo);
  }
  rc = floe_arrow_builder_append_bytes(b, bytes, n);
cleanup:
  if (bytes != small) floe_free(bytes);
  return rc;
}

/* Appends an instant (floor seconds + nanos) to a timestamp, time-of-day or
 * text target. */
static int append_instant(floe_arrow_builder *b, floe_sf_kind kind,
                          int64_t secs, int64_t nanos, const char *s,
                          size_t len, floe_error *err) {
  const floe_arrow_type_info *t = &b->type;
  const int64_t max_us_secs = INT64_MAX / 1000000 - 1;
  const int64_t max_ns_secs = INT64_MAX / 1000000000 - 1;
  switch (t->id) {
    case FLOE_ARROW_TIMESTAMP_US:
    case FLOE_ARROW_TIMESTAMP_US_TZ:
      if (kind == FLOE_SF_TIME) break;
      if (secs > max_us_secs || secs < -max_us_secs)
        return floe_src_value_error(err, t, s, len, "out of range");
      return floe_arrow_builder_append_int64(b, secs * 1000000 + nanos / 1000);
    case FLOE_ARROW_TIMESTAMP_NS:
    case FLOE_ARROW_TIMESTAMP_NS_TZ:
      if (kind == FLOE_SF_TIME) break;
      if (secs > max_ns_secs || secs < -max_ns_secs)
        return floe_src_value_error(err, t, s, len, "out of range");
      return floe_arrow_builder_append_int64(b, secs * 1000000000 + nanos);
    case FLOE_ARROW_TIME64_US:
      if (kind != FLOE_SF_TIME) break;
      if (secs < 0 || secs >= 86400)
        return floe_src_value_error(err, t, s, len, "not within a day");
      return floe_arrow_builder_append_int64(b, secs * 1000000 + nanos / 1000);
    case FLOE_ARROW_UTF8: {
      char text[64];
      int n;
      if (kind == FLOE_SF_TIME) {
        if (secs < 0 || secs >= 86400)
          return floe_src_value_error(err, t, s, len, "not within a day");
        n = floe_format_time(secs * 1000000 + nanos / 1000, text, sizeof text);
      } else {
        if (secs > max_us_secs || secs < -max_us_secs)
          return floe_src_value_error(err, t, s, len, "out of range");
        n = floe_format_timestamp(secs * 1000000 + nanos / 1000, ' ', text,
                                  sizeof text);
        if (kind != FLOE_SF_TIMESTAMP_NTZ && n > 0 &&
            (size_t)n + 6 < sizeof text) {
          memcpy(text + n, "+00:00", 6);
          n += 6;
        }
      }
      return floe_arrow_builder_append_bytes(b, text, (size_t)n);
    }
    default:
      break;
  }
  char why[96];
  snprintf(why, sizeof why, "a %s value cannot be read as this type",
           floe_sf_kind_name(kind));
  return floe_src_value_error(err, t, s, len, why);
}

int floe_sf_append_cell(floe_arrow_builder *b, floe_sf_kind kind,
                        int32_t scale, const char *s, size_t len,
                        floe_error *err) {
  const floe_arrow_type_info *t = &b->type;
  (void)scale; /* FIXED text carries its own decimal point */
  switch (kind) {
    case FLOE_SF_FIXED:
      if (t->id == FLOE_ARROW_INT64) {
        int64_t v;
        if (floe_src_parse_int64(s, len, &v) == 0)
          return floe_arrow_builder_append_int64(b, v);
        /* "12.00" from a scaled column is still an integer. */
        floe_int128 d;
        char why[96];
        if (floe_src_parse_decimal(s, len, 38, 0, &d, why, sizeof why) == 0 &&
            d >= INT64_MIN && d <= INT64_MAX)
          return floe_arrow_builder_append_int64(b, (int64_t)d);
      } else if (t->id == FLOE_ARROW_DECIMAL128) {
        floe_int128 d;
        if (t->scale >= 0 && t->scale <= 38 && t->precision <= 38 &&
            fast_decimal(s, len, t->precision, t->scale, &d) == 0)
          return floe_arrow_builder_append_decimal(b, d);
      } else if (t->id == FLOE_ARROW_INT32) {
        floe_int128 d;
        char why[96];
        if (floe_src_parse_decimal(s, len, 38, 0, &d, why, sizeof why) == 0 &&
            d >= INT64_MIN && d <= INT64_MAX)
          return floe_src_append_int64(b, (int64_t)d, err);
      }
      return floe_src_append_text(b, s, len, err);
    case FLOE_SF_TEXT:
    case FLOE_SF_VARIANT:
    case FLOE_SF_OBJECT:
    case FLOE_SF_ARRAY:
    case FLOE_SF_GEOGRAPHY:
    case FLOE_SF_GEOMETRY:
    case FLOE_SF_OTHER:
      if (t->id == FLOE_ARROW_BINARY && kind != FLOE_SF_TEXT &&
          kind != FLOE_SF_OTHER)
        return floe_arrow_builder_append_bytes(b, s, len);
      return floe_src_append_text(b, s, len, err);
    case FLOE_SF_BOOLEAN:
      /* The API sends "true"/"false"; other spellings go the general way. */
      if (t->id == FLOE_ARROW_BOOL && len == 4 && memcmp(s, "true", 4) == 0)
        return floe_arrow_builder_append_bool(b, true);
      if (t->id == FLOE_ARROW_BOOL && len == 5 && memcmp(s, "false", 5) == 0)
        return floe_arrow_builder_append_bool(b, false);
      return floe_src_append_text(b, s, len, err);
    case FLOE_SF_REAL:
      return floe_src_append_text(b, s, len, err);
    case FLOE_SF_DATE: {
      int64_t days;
      if (floe_src_parse_int64(s, len, &days) < 0 || days < INT32_MIN ||
          days > INT32_MAX)
        return floe_src_value_error(err, t, s, len,
                                    "not a DATE (days since 1970-01-01)");
      if (t->id == FLOE_ARROW_DATE32)
        return floe_arrow_builder_append_int32(b, (int32_t)days);
      if (t->id == FLOE_ARROW_UTF8) {
        char text[48];
        int n = floe_format_date((int32_t)days, text, sizeof text);
        return floe_arrow_builder_append_bytes(b, text, (size_t)n);
      }
      return append_instant(b, FLOE_SF_TIMESTAMP_NTZ, days * 86400, 0, s, len,
                            err);
    }
    case FLOE_SF_TIME:
    case FLOE_SF_TIMESTAMP_NTZ:
    case FLOE_SF_TIMESTAMP_LTZ:
    case FLOE_SF_TIMESTAMP_TZ: {
      size_t epoch_len = len;
      if (kind == FLOE_SF_TIMESTAMP_TZ) {
        /* "<epoch seconds> <offset + 1440>": the seconds are the instant
         * (UTC); the offset only records the zone it was written in. */
        const char *space = memchr(s, ' ', len);
        int64_t offset;
        if (space == NULL ||
            floe_src_parse_int64(space + 1, (size_t)(s + len - space - 1),
                                 &offset) < 0 ||
            offset < 0 || offset > 2880)
          return floe_src_value_error(
              err, t, s, len,
              "not a TIMESTAMP_TZ (\"<epoch seconds> <offset minutes + 1440>\")");
        epoch_len = (size_t)(space - s);
      }
      int64_t secs, nanos;
      if (parse_epoch(s, epoch_len, &secs, &nanos) < 0)
        return floe_src_value_error(err, t, s, len,
                                    kind == FLOE_SF_TIME
                                        ? "not a TIME (seconds since midnight)"
                                        : "not a timestamp (seconds since the epoch)");
      return append_instant(b, kind, secs, nanos, s, len, err);
    }
    case FLOE_SF_BINARY:
      if (t->id == FLOE_ARROW_UTF8) return floe_src_append_text(b, s, len, err);
      return append_hex(b, s, len, err);
  }
  return floe_src_append_text(b, s, len, err);
}

/* ---- the streaming decoder ------------------------------------------------- */

enum {
  T_START,        /* before the body's '{' */
  T_FIRST_KEY,    /* '"' or '}' */
  T_KEY,          /* inside a member name */
  T_KEY_ESC,      /* after '\' in a member name */
  T_COLON,
  T_VALUE,        /* before a member's value */
  T_CAPTURE,      /* copying a raw value */
  T_AFTER_VALUE,  /* ',' or '}' */
  T_NEXT_KEY,     /* '"' after ',' */
  T_DONE,         /* only whitespace may follow */
  D_OPEN,         /* before data's '[' */
  D_NULL,         /* "data": null */
  D_FIRST_ROW,    /* '[' or ']' */
  D_ROW,          /* '[' after ',' */
  D_AFTER_ROW,    /* ',' or ']' */
  D_FIRST_CELL,   /* a cell or ']' */
  D_CELL,         /* a cell after ',' */
  D_STRING,
  D_ESC,
  D_UNICODE,
  D_LITERAL,
  D_AFTER_CELL    /* ',' or ']' */
};

struct floe_sf_decoder {
  int state;
  floe_error error; /* sticky: the first failure */
  int64_t first_row, rows;
  int64_t skip; /* rows still to drop at the start of the body */
  int64_t cap;     /* keep at most this many rows of a body (0: all) */
  int64_t dropped; /* rows past the cap */

  floe_sf_column *columns;
  int64_t n_columns;
  floe_arrow_type_info *targets;
  int64_t n_targets;
  bool targets_fixed;
  floe_arrow_builder *builders;
  bool builders_ready;

  floe_buf key;
  floe_buf envelope;        /* "{" members "}" without data */
  size_t meta_start, meta_end; /* resultSetMetaData's value in envelope */
  bool in_meta;
  bool meta_applied; /* this body's rowType is in effect */
  json_t *env;
  bool has_data;

  /* raw capture of a value (envelope member or deferred data) */
  floe_buf *capture;
  int cap_depth;
  bool cap_string, cap_escape, cap_scalar;
  bool deferring; /* capturing data because no columns are known yet */
  floe_buf data_raw;

  /* the current row */
  floe_buf cell_bytes;
  size_t *cell_off;
  size_t *cell_len;
  uint8_t *cell_null;
  int64_t cell_cap, n_cells;
  uint8_t cell_high; /* OR of the current cell's bytes (non-ASCII?) */
  uint32_t u_value, u_high;
  int u_digits;
  char literal[40];
  int literal_len;
};

int floe_sf_decoder_new(floe_sf_decoder **out, floe_error *err) {
  *out = floe_calloc(1, sizeof **out);
  if (*out == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  return FLOE_OK;
}

static void builders_free(floe_sf_decoder *dec) {
  if (dec->builders != NULL)
    for (int64_t i = 0; i < dec->n_columns; i++)
      floe_arrow_builder_free(&dec->builders[i]);
  floe_free(dec->builders);
  dec->builders = NULL;
  dec->builders_ready = false;
}

void floe_sf_decoder_free(floe_sf_decoder *dec) {
  if (dec == NULL) return;
  builders_free(dec);
  floe_sf_columns_free(dec->columns, dec->n_columns);
  floe_free(dec->targets);
  floe_buf_free(&dec->key);
  floe_buf_free(&dec->envelope);
  floe_buf_free(&dec->data_raw);
  floe_buf_free(&dec->cell_bytes);
  floe_free(dec->cell_off);
  floe_free(dec->cell_len);
  floe_free(dec->cell_null);
  if (dec->env != NULL) json_decref(dec->env);
  floe_free(dec);
}

int floe_sf_decoder_set_targets(floe_sf_decoder *dec,
                                const floe_arrow_type_info *types, int64_t n,
                                floe_error *err) {
  floe_arrow_type_info *copy = floe_calloc((size_t)(n ? n : 1), sizeof *copy);
  if (copy == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  if (n > 0) memcpy(copy, types, (size_t)n * sizeof *copy);
  builders_free(dec);
  floe_free(dec->targets);
  dec->targets = copy;
  dec->n_targets = n;
  dec->targets_fixed = true;
  return FLOE_OK;
}

int floe_sf_decoder_set_columns(floe_sf_decoder *dec,
                                const floe_sf_column *columns, int64_t n,
                                floe_error *err) {
  floe_sf_column *copy = floe_calloc((size_t)(n ? n : 1), sizeof *copy);
  if (copy == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  for (int64_t i = 0; i < n; i++) {
    copy[i] = columns[i];
    copy[i].name = floe_strdup(columns[i].name ? columns[i].name : "");
    if (copy[i].name == NULL) {
      floe_sf_columns_free(copy, n);
      return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    }
  }
  builders_free(dec);
  floe_sf_columns_free(dec->columns, dec->n_columns);
  dec->columns = copy;
  dec->n_columns = n;
  if (!dec->targets_fixed) {
    floe_free(dec->targets);
    dec->targets = NULL;
    dec->n_targets = 0;
  }
  return FLOE_OK;
}

void floe_sf_decoder_reset(floe_sf_decoder *dec, int64_t first_row) {
  /* Rows a previous attempt left in the builders are dropped. */
  if (dec->rows > 0 || dec->n_cells > 0) builders_free(dec);
  dec->state = T_START;
  floe_error_init(&dec->error);
  dec->first_row = first_row;
  dec->rows = 0;
  dec->skip = 0;
  dec->dropped = 0;
  floe_buf_reset(&dec->key);
  floe_buf_reset(&dec->envelope);
  floe_buf_reset(&dec->data_raw);
  dec->meta_start = dec->meta_end = 0;
  dec->in_meta = false;
  dec->meta_applied = false;
  if (dec->env != NULL) json_decref(dec->env);
  dec->env = NULL;
  dec->has_data = false;
  dec->capture = NULL;
  dec->deferring = false;
  dec->n_cells = 0;
  dec->u_high = 0;
  floe_buf_reset(&dec->cell_bytes);
}

const json_t *floe_sf_decoder_envelope(const floe_sf_decoder *dec) {
  return dec->env;
}

const floe_sf_column *floe_sf_decoder_columns(const floe_sf_decoder *dec,
                                              int64_t *out_n) {
  if (out_n != NULL) *out_n = dec->columns != NULL ? dec->n_columns : 0;
  return dec->columns;
}

const floe_arrow_type_info *floe_sf_decoder_targets(const floe_sf_decoder *dec) {
  return dec->targets;
}

bool floe_sf_decoder_has_data(const floe_sf_decoder *dec) {
  return dec->has_data;
}

int64_t floe_sf_decoder_rows(const floe_sf_decoder *dec) { return dec->rows; }

void floe_sf_decoder_skip(floe_sf_decoder *dec, int64_t rows) { dec->skip = rows; }

void floe_sf_decoder_set_cap(floe_sf_decoder *dec, int64_t rows) { dec->cap = rows; }

int64_t floe_sf_decoder_dropped(const floe_sf_decoder *dec) { return dec->dropped; }

/* Records the first error; every later call reports it again. */
static int fail(floe_sf_decoder *dec, floe_error *err, int code,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(floe_sf_decoder *dec, floe_error *err, int code,
                const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  floe_error_vset(&dec->error, code, fmt, ap);
  va_end(ap);
  if (err != NULL) *err = dec->error;
  return code;
}

static int fail_with(floe_sf_decoder *dec, floe_error *err,
                     const floe_error *cause) {
  dec->error = *cause;
  if (dec->error.code == 0) dec->error.code = FLOE_EFORMAT;
  if (err != NULL) *err = dec->error;
  return dec->error.code;
}

/* Makes the columns, targets and builders ready from what is known. Returns
 * 1 when ready, 0 when no columns are known yet, < 0 on error. */
static int prepare_columns(floe_sf_decoder *dec, floe_error *err) {
  /* A body's own rowType replaces the columns of an earlier body. */
  if (!dec->meta_applied && dec->meta_end > dec->meta_start) {
    dec->meta_applied = true;
    json_error_t jerr;
    json_t *meta = json_loadb((const char *)dec->envelope.data + dec->meta_start,
                              dec->meta_end - dec->meta_start, 0, &jerr);
    if (meta == NULL)
      return fail(dec, err, FLOE_EFORMAT, "resultSetMetaData: %s", jerr.text);
    floe_sf_column *cols = NULL;
    int64_t n = 0;
    floe_error perr = {0};
    int rc = floe_sf_row_type_parse(json_object_get(meta, "rowType"), &cols, &n,
                                    &perr);
    json_decref(meta);
    if (rc < 0) return fail_with(dec, err, &perr);
    builders_free(dec);
    floe_sf_columns_free(dec->columns, dec->n_columns);
    dec->columns = cols;
    dec->n_columns = n;
    if (!dec->targets_fixed) {
      floe_free(dec->targets);
      dec->targets = NULL;
      dec->n_targets = 0;
    }
  }
  if (dec->builders_ready) return 1;
  if (dec->columns == NULL) return 0;
  if (dec->targets_fixed && dec->n_targets != dec->n_columns)
    return fail(dec, err, FLOE_EINVAL,
                "query returns %" PRId64 " columns, expected %" PRId64,
                dec->n_columns, dec->n_targets);
  if (dec->targets == NULL) {
    dec->targets =
        floe_calloc((size_t)(dec->n_columns ? dec->n_columns : 1), sizeof *dec->targets);
    if (dec->targets == NULL) return fail(dec, err, FLOE_ENOMEM, "out of memory");
    for (int64_t i = 0; i < dec->n_columns; i++)
      dec->targets[i] = floe_sf_map_type(dec->columns[i].kind,
                                         dec->columns[i].precision,
                                         dec->columns[i].scale);
    dec->n_targets = dec->n_columns;
  }
  dec->builders =
      floe_calloc((size_t)(dec->n_columns ? dec->n_columns : 1), sizeof *dec->builders);
  if (dec->builders == NULL) return fail(dec, err, FLOE_ENOMEM, "out of memory");
  for (int64_t i = 0; i < dec->n_columns; i++) {
    if (floe_arrow_builder_init(&dec->builders[i], &dec->targets[i]) < 0) {
      for (int64_t j = 0; j < i; j++) floe_arrow_builder_free(&dec->builders[j]);
      floe_free(dec->builders);
      dec->builders = NULL;
      return fail(dec, err, FLOE_ENOMEM, "out of memory");
    }
  }
  if (dec->cell_cap < dec->n_columns) {
    int64_t cap = dec->n_columns;
    size_t *off = floe_realloc(dec->cell_off, (size_t)cap * sizeof *off);
    if (off != NULL) dec->cell_off = off;
    size_t *len = floe_realloc(dec->cell_len, (size_t)cap * sizeof *len);
    if (len != NULL) dec->cell_len = len;
    uint8_t *nul = floe_realloc(dec->cell_null, (size_t)cap);
    if (nul != NULL) dec->cell_null = nul;
    if (off == NULL || len == NULL || nul == NULL)
      return fail(dec, err, FLOE_ENOMEM, "out of memory");
    dec->cell_cap = cap;
  }
  dec->builders_ready = true;
  return 1;
}

/* Converts the completed row into the builders. */
static int finish_row(floe_sf_decoder *dec, floe_error *err) {
  int64_t row = dec->first_row + dec->rows;
  if (dec->n_cells != dec->n_columns)
    return fail(dec, err, FLOE_EFORMAT,
                "row %" PRId64 ": %" PRId64 " cells, rowType has %" PRId64
                " columns",
                row, dec->n_cells, dec->n_columns);
  if (dec->cap > 0 && dec->rows >= dec->cap) { /* fetched again later */
    dec->dropped++;
    dec->n_cells = 0;
    floe_buf_reset(&dec->cell_bytes);
    return FLOE_OK;
  }
  if (dec->skip > 0) { /* delivered before a retry restarted the body */
    dec->skip--;
    dec->first_row++;
    dec->n_cells = 0;
    floe_buf_reset(&dec->cell_bytes);
    return FLOE_OK;
  }
  const char *base = (const char *)dec->cell_bytes.data;
  for (int64_t c = 0; c < dec->n_columns; c++) {
    floe_arrow_builder *b = &dec->builders[c];
    int rc;
    if (dec->cell_null[c] == 1) {
      rc = floe_arrow_builder_append_null(b);
    } else {
      const char *s = base + dec->cell_off[c];
      size_t len = dec->cell_len[c];
      floe_sf_kind kind = dec->columns[c].kind;
      if (b->type.id == FLOE_ARROW_UTF8 &&
          (kind == FLOE_SF_TEXT || kind == FLOE_SF_VARIANT ||
           kind == FLOE_SF_OBJECT || kind == FLOE_SF_ARRAY) &&
          !(dec->cell_null[c] & 2)) {
        /* Known valid UTF-8 (ASCII, or checked while unescaping). */
        rc = floe_arrow_builder_append_bytes(b, s, len);
      } else {
        floe_error cell_err = {0};
        rc = floe_sf_append_cell(b, kind, dec->columns[c].scale, s, len,
                                 &cell_err);
        if (rc < 0 && rc != FLOE_ENOMEM) {
          floe_error_prefix(&cell_err, "column '%s' row %" PRId64,
                            dec->columns[c].name, row);
          return fail_with(dec, err, &cell_err);
        }
      }
    }
    if (rc < 0) return fail(dec, err, FLOE_ENOMEM, "out of memory");
  }
  dec->rows++;
  dec->n_cells = 0;
  floe_buf_reset(&dec->cell_bytes);
  return FLOE_OK;
}

static int begin_cell(floe_sf_decoder *dec, floe_error *err) {
  if (dec->n_cells >= dec->n_columns)
    return fail(dec, err, FLOE_EFORMAT,
                "row %" PRId64 ": more cells than the %" PRId64
                " columns of rowType",
                dec->first_row + dec->rows, dec->n_columns);
  dec->cell_off[dec->n_cells] = dec->cell_bytes.len;
  dec->cell_null[dec->n_cells] = 0;
  dec->cell_high = 0;
  dec->u_high = 0;
  return FLOE_OK;
}

static void end_string_cell(floe_sf_decoder *dec) {
  int64_t c = dec->n_cells;
  dec->cell_len[c] = dec->cell_bytes.len - dec->cell_off[c];
  /* Bit 2 asks for a full UTF-8 check (raw non-ASCII bytes). */
  if (dec->cell_high & 0x80) dec->cell_null[c] = 2;
  dec->n_cells++;
}

static int put_utf8(floe_buf *b, uint32_t cp) {
  uint8_t out[4];
  size_t n;
  if (cp < 0x80) {
    out[0] = (uint8_t)cp;
    n = 1;
  } else if (cp < 0x800) {
    out[0] = (uint8_t)(0xc0 | cp >> 6);
    out[1] = (uint8_t)(0x80 | (cp & 0x3f));
    n = 2;
  } else if (cp < 0x10000) {
    out[0] = (uint8_t)(0xe0 | cp >> 12);
    out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (uint8_t)(0x80 | (cp & 0x3f));
    n = 3;
  } else {
    out[0] = (uint8_t)(0xf0 | cp >> 18);
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (uint8_t)(0x80 | (cp & 0x3f));
    n = 4;
  }
  return floe_buf_append(b, out, n);
}

static bool is_ws(uint8_t c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static bool is_literal_char(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z') || c == '-' || c == '+' || c == '.';
}

/* Ends a literal cell: null, or a bare number/true/false kept as text. */
static int end_literal_cell(floe_sf_decoder *dec, floe_error *err) {
  const char *lit = dec->literal;
  int n = dec->literal_len;
  int64_t c = dec->n_cells;
  if (n == 4 && memcmp(lit, "null", 4) == 0) {
    dec->cell_null[c] = 1;
    dec->cell_len[c] = 0;
    dec->n_cells++;
    return FLOE_OK;
  }
  bool number = n > 0 && (lit[0] == '-' || (lit[0] >= '0' && lit[0] <= '9'));
  if (!number && !(n == 4 && memcmp(lit, "true", 4) == 0) &&
      !(n == 5 && memcmp(lit, "false", 5) == 0))
    return fail(dec, err, FLOE_EFORMAT,
                "row %" PRId64 " cell %" PRId64 ": '%.*s' is not a JSON string "
                "or null",
                dec->first_row + dec->rows, c + 1, n, lit);
  if (floe_buf_append(&dec->cell_bytes, lit, (size_t)n) < 0)
    return fail(dec, err, FLOE_ENOMEM, "out of memory");
  dec->cell_len[c] = (size_t)n;
  dec->n_cells++;
  return FLOE_OK;
}

/* Member names we act on: "data" streams, "resultSetMetaData" is noted. */
static bool key_is(const floe_sf_decoder *dec, const char *name) {
  size_t n = strlen(name);
  return dec->key.len == n && memcmp(dec->key.data, name, n) == 0;
}

static int start_capture(floe_sf_decoder *dec, floe_buf *dst) {
  dec->capture = dst;
  dec->cap_depth = 0;
  dec->cap_string = dec->cap_escape = dec->cap_scalar = false;
  dec->state = T_CAPTURE;
  return FLOE_OK;
}

/* Ends a captured value (the byte that ended a scalar is not consumed). */
static int end_capture(floe_sf_decoder *dec, floe_error *err) {
  if (dec->in_meta) {
    dec->meta_end = dec->envelope.len;
    dec->in_meta = false;
  }
  dec->capture = NULL;
  dec->state = T_AFTER_VALUE;
  if (dec->envelope.len > FLOE_SF_ENVELOPE_MAX)
    return fail(dec, err, FLOE_EFORMAT,
                "response members besides data exceed %u bytes",
                FLOE_SF_ENVELOPE_MAX);
  return FLOE_OK;
}

static int parse(floe_sf_decoder *dec, const uint8_t *p, const uint8_t *end,
                 floe_error *err) {
  /* Unescaping never makes text longer (an escape of 2, 6 or 12 bytes
   * gives 1 to 4), so room for the whole input lets the string loop copy
   * without checks. */
  if (floe_buf_reserve(&dec->cell_bytes, (size_t)(end - p)) < 0) goto nomem;
  while (p < end) {
    uint8_t c = *p;
    switch (dec->state) {
      case T_START:
        if (is_ws(c)) break;
        if (c != '{')
          return fail(dec, err, FLOE_EFORMAT,
                      "response body is not a JSON object (starts with '%c')",
                      c >= 0x20 && c < 0x7f ? c : '?');
        if (floe_buf_append_byte(&dec->envelope, '{') < 0) goto nomem;
        dec->state = T_FIRST_KEY;
        break;
      case T_FIRST_KEY:
      case T_NEXT_KEY:
        if (is_ws(c)) break;
        if (c == '}' && dec->state == T_FIRST_KEY) {
          dec->state = T_DONE;
          break;
        }
        if (c != '"')
          return fail(dec, err, FLOE_EFORMAT, "expected a member name");
        floe_buf_reset(&dec->key);
        dec->state = T_KEY;
        break;
      case T_KEY:
        if (c == '"') {
          dec->state = T_COLON;
        } else {
          if (c == '\\') dec->state = T_KEY_ESC;
          if (dec->key.len > 4096)
            return fail(dec, err, FLOE_EFORMAT, "member name too long");
          if (floe_buf_append_byte(&dec->key, c) < 0) goto nomem;
        }
        break;
      case T_KEY_ESC:
        if (floe_buf_append_byte(&dec->key, c) < 0) goto nomem;
        dec->state = T_KEY;
        break;
      case T_COLON:
        if (is_ws(c)) break;
        if (c != ':') return fail(dec, err, FLOE_EFORMAT, "expected ':'");
        dec->state = T_VALUE;
        break;
      case T_VALUE:
        if (is_ws(c)) break;
        if (key_is(dec, "data")) {
          if (dec->has_data)
            return fail(dec, err, FLOE_EFORMAT, "two \"data\" members");
          dec->has_data = true;
          int ready = prepare_columns(dec, err);
          if (ready < 0) return ready;
          if (ready == 0) {
            /* No rowType yet: keep the rows' text for finish. */
            dec->deferring = true;
            start_capture(dec, &dec->data_raw);
            continue; /* the capture consumes c */
          }
          dec->state = D_OPEN;
          continue;
        }
        /* Any other member is copied into the envelope. */
        if (dec->envelope.len > 1 && floe_buf_append_byte(&dec->envelope, ',') < 0)
          goto nomem;
        if (floe_buf_append_byte(&dec->envelope, '"') < 0 ||
            floe_buf_append(&dec->envelope, dec->key.data, dec->key.len) < 0 ||
            floe_buf_append(&dec->envelope, "\":", 2) < 0)
          goto nomem;
        if (key_is(dec, "resultSetMetaData")) {
          dec->in_meta = true;
          dec->meta_start = dec->envelope.len;
        }
        start_capture(dec, &dec->envelope);
        continue;
      case T_CAPTURE: {
        if (dec->cap_string) {
          /* Copy the run of plain string bytes in one go. */
          const uint8_t *q = p;
          if (!dec->cap_escape)
            while (q < end && *q != '"' && *q != '\\') q++;
          if (q > p) {
            if (floe_buf_append(dec->capture, p, (size_t)(q - p)) < 0) goto nomem;
            p = q;
            continue;
          }
          if (dec->cap_escape)
            dec->cap_escape = false;
          else if (c == '\\')
            dec->cap_escape = true;
          else if (c == '"')
            dec->cap_string = false;
          if (floe_buf_append_byte(dec->capture, c) < 0) goto nomem;
          if (!dec->cap_string && dec->cap_depth == 0) {
            p++;
            int rc = end_capture(dec, err);
            if (rc < 0) return rc;
            continue;
          }
          break;
        }
        if (dec->cap_scalar) {
          if (!is_literal_char(c)) {
            int rc = end_capture(dec, err);
            if (rc < 0) return rc;
            continue; /* c belongs to what follows */
          }
          if (floe_buf_append_byte(dec->capture, c) < 0) goto nomem;
          break;
        }
        if (c == '"') {
          dec->cap_string = true;
        } else if (c == '{' || c == '[') {
          dec->cap_depth++;
        } else if (c == '}' || c == ']') {
          if (dec->cap_depth == 0)
            return fail(dec, err, FLOE_EFORMAT, "unbalanced '%c'", c);
          dec->cap_depth--;
        } else if (is_literal_char(c)) {
          if (dec->cap_depth == 0) dec->cap_scalar = true;
        } else if (!is_ws(c) && c != ',' && c != ':') {
          return fail(dec, err, FLOE_EFORMAT, "unexpected byte 0x%02x", c);
        }
        if (floe_buf_append_byte(dec->capture, c) < 0) goto nomem;
        if (dec->cap_depth == 0 && (c == '}' || c == ']')) {
          p++;
          int rc = end_capture(dec, err);
          if (rc < 0) return rc;
          continue;
        }
        break;
      }
      case T_AFTER_VALUE:
        if (is_ws(c)) break;
        if (c == ',') {
          dec->state = T_NEXT_KEY;
        } else if (c == '}') {
          dec->state = T_DONE;
        } else {
          return fail(dec, err, FLOE_EFORMAT, "expected ',' or '}' after a member");
        }
        break;
      case T_DONE:
        if (!is_ws(c))
          return fail(dec, err, FLOE_EFORMAT, "bytes after the response object");
        break;

      /* ---- the data array ---- */
      case D_OPEN:
        if (is_ws(c)) break;
        if (c == '[') {
          dec->state = D_FIRST_ROW;
        } else if (c == 'n') {
          dec->literal_len = 0;
          dec->state = D_NULL;
          continue;
        } else {
          return fail(dec, err, FLOE_EFORMAT, "\"data\" is not an array");
        }
        break;
      case D_NULL:
        if (is_literal_char(c)) {
          if (dec->literal_len >= 4)
            return fail(dec, err, FLOE_EFORMAT, "\"data\" is not an array");
          dec->literal[dec->literal_len++] = (char)c;
          break;
        }
        if (dec->literal_len != 4 || memcmp(dec->literal, "null", 4) != 0)
          return fail(dec, err, FLOE_EFORMAT, "\"data\" is not an array");
        dec->state = T_AFTER_VALUE;
        continue;
      case D_FIRST_ROW:
      case D_ROW:
        if (is_ws(c)) break;
        if (c == ']' && dec->state == D_FIRST_ROW) {
          dec->state = T_AFTER_VALUE;
        } else if (c == '[') {
          dec->n_cells = 0;
          floe_buf_reset(&dec->cell_bytes);
          dec->state = D_FIRST_CELL;
        } else {
          return fail(dec, err, FLOE_EFORMAT,
                      "row %" PRId64 ": not an array",
                      dec->first_row + dec->rows);
        }
        break;
      case D_AFTER_ROW:
        if (is_ws(c)) break;
        if (c == ',') {
          dec->state = D_ROW;
        } else if (c == ']') {
          dec->state = T_AFTER_VALUE;
        } else {
          return fail(dec, err, FLOE_EFORMAT,
                      "expected ',' or ']' after row %" PRId64,
                      dec->first_row + dec->rows - 1);
        }
        break;
      case D_FIRST_CELL:
      case D_CELL:
        if (is_ws(c)) break;
        if (c == ']' && dec->state == D_FIRST_CELL) {
          int rc = finish_row(dec, err);
          if (rc < 0) return rc;
          dec->state = D_AFTER_ROW;
          break;
        }
        {
          int rc = begin_cell(dec, err);
          if (rc < 0) return rc;
        }
        if (c == '"') {
          dec->state = D_STRING;
        } else if (is_literal_char(c)) {
          dec->literal_len = 0;
          dec->state = D_LITERAL;
          continue;
        } else {
          return fail(dec, err, FLOE_EFORMAT,
                      "row %" PRId64 " cell %" PRId64
                      ": not a JSON string or null",
                      dec->first_row + dec->rows, dec->n_cells + 1);
        }
        break;
      case D_STRING: {
        /* Hot loop: copy the run up to the next quote, backslash or control
         * byte, noting whether any byte is non-ASCII. */
        const uint8_t *q = p;
        uint8_t high = 0;
        while (q < end) {
          uint8_t b = *q;
          if (b == '"' || b == '\\' || b < 0x20) break;
          high |= b;
          q++;
        }
        if (dec->u_high != 0 && c != '\\')
          return fail(dec, err, FLOE_EFORMAT,
                      "row %" PRId64 " cell %" PRId64
                      ": unpaired UTF-16 surrogate",
                      dec->first_row + dec->rows, dec->n_cells + 1);
        if (q > p) {
          dec->cell_high |= high;
          floe_buf_put(&dec->cell_bytes, p, (size_t)(q - p));
          p = q;
          continue;
        }
        if (c == '"') {
          end_string_cell(dec);
          dec->state = D_AFTER_CELL;
          /* The common `,"` between two string cells, without a round
           * through the states. */
          if (p + 2 < end && p[1] == ',' && p[2] == '"' &&
              dec->n_cells < dec->n_columns) {
            dec->cell_off[dec->n_cells] = dec->cell_bytes.len;
            dec->cell_null[dec->n_cells] = 0;
            dec->cell_high = 0;
            dec->state = D_STRING;
            p += 3;
            continue;
          }
        } else if (c == '\\') {
          dec->state = D_ESC;
        } else {
          return fail(dec, err, FLOE_EFORMAT,
                      "row %" PRId64 " cell %" PRId64
                      ": control byte 0x%02x inside a string",
                      dec->first_row + dec->rows, dec->n_cells + 1, c);
        }
        break;
      }
      case D_ESC: {
        char out;
        switch (c) {
          case '"': out = '"'; break;
          case '\\': out = '\\'; break;
          case '/': out = '/'; break;
          case 'b': out = '\b'; break;
          case 'f': out = '\f'; break;
          case 'n': out = '\n'; break;
          case 'r': out = '\r'; break;
          case 't': out = '\t'; break;
          case 'u':
            dec->u_value = 0;
            dec->u_digits = 0;
            dec->state = D_UNICODE;
            p++;
            continue;
          default:
            return fail(dec, err, FLOE_EFORMAT,
                        "row %" PRId64 " cell %" PRId64 ": bad escape '\\%c'",
                        dec->first_row + dec->rows, dec->n_cells + 1,
                        c >= 0x20 && c < 0x7f ? c : '?');
        }
        if (dec->u_high != 0)
          return fail(dec, err, FLOE_EFORMAT,
                      "row %" PRId64 " cell %" PRId64
                      ": unpaired UTF-16 surrogate",
                      dec->first_row + dec->rows, dec->n_cells + 1);
        floe_buf_put_byte(&dec->cell_bytes, (uint8_t)out);
        dec->state = D_STRING;
        break;
      }
      case D_UNICODE: {
        int h = hex_digit((char)c);
        if (h < 0)
          return fail(dec, err, FLOE_EFORMAT,
                      "row %" PRId64 " cell %" PRId64 ": bad \\u escape",
                      dec->first_row + dec->rows, dec->n_cells + 1);
        dec->u_value = dec->u_value << 4 | (uint32_t)h;
        if (++dec->u_digits < 4) break;
        uint32_t cp = dec->u_value;
        dec->state = D_STRING;
        if (dec->u_high != 0) {
          if (cp < 0xdc00 || cp > 0xdfff)
            return fail(dec, err, FLOE_EFORMAT,
                        "row %" PRId64 " cell %" PRId64
                        ": unpaired UTF-16 surrogate",
                        dec->first_row + dec->rows, dec->n_cells + 1);
          cp = 0x10000 + ((dec->u_high - 0xd800) << 10) + (cp - 0xdc00);
          dec->u_high = 0;
        } else if (cp >= 0xd800 && cp <= 0xdbff) {
          dec->u_high = cp;
          /* The low half must follow at once as another \u escape. */
          if (p + 1 < end && p[1] != '\\')
            return fail(dec, err, FLOE_EFORMAT,
                        "row %" PRId64 " cell %" PRId64
                        ": unpaired UTF-16 surrogate",
                        dec->first_row + dec->rows, dec->n_cells + 1);
          break;
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
          return fail(dec, err, FLOE_EFORMAT,
                      "row %" PRId64 " cell %" PRId64
                      ": unpaired UTF-16 surrogate",
                      dec->first_row + dec->rows, dec->n_cells + 1);
        }
        if (put_utf8(&dec->cell_bytes, cp) < 0) goto nomem;
        break;
      }
      case D_LITERAL:
        if (is_literal_char(c)) {
          if (dec->literal_len >= (int)sizeof dec->literal - 1)
            return fail(dec, err, FLOE_EFORMAT,
                        "row %" PRId64 " cell %" PRId64 ": literal too long",
                        dec->first_row + dec->rows, dec->n_cells + 1);
          dec->literal[dec->literal_len++] = (char)c;
          break;
        }
        {
          int rc = end_literal_cell(dec, err);
          if (rc < 0) return rc;
        }
        dec->state = D_AFTER_CELL;
        continue; /* c is the delimiter */
      case D_AFTER_CELL:
        if (is_ws(c)) break;
        if (c == ',') {
          dec->state = D_CELL;
        } else if (c == ']') {
          int rc = finish_row(dec, err);
          if (rc < 0) return rc;
          dec->state = D_AFTER_ROW;
        } else {
          return fail(dec, err, FLOE_EFORMAT,
                      "row %" PRId64 ": expected ',' or ']' after cell %" PRId64,
                      dec->first_row + dec->rows, dec->n_cells);
        }
        break;
      default:
        return fail(dec, err, FLOE_EFORMAT, "decoder in a bad state");
    }
    p++;
  }
  return FLOE_OK;
nomem:
  return fail(dec, err, FLOE_ENOMEM, "out of memory");
}

int floe_sf_decoder_feed(floe_sf_decoder *dec, const void *bytes, size_t len,
                         floe_error *err) {
  if (dec->error.code != 0) {
    if (err != NULL) *err = dec->error;
    return dec->error.code;
  }
  const uint8_t *p = bytes;
  return parse(dec, p, p + len, err);
}

int floe_sf_decoder_finish(floe_sf_decoder *dec, floe_error *err) {
  if (dec->error.code != 0) {
    if (err != NULL) *err = dec->error;
    return dec->error.code;
  }
  /* A scalar member value that ends the input ends with it. */
  if (dec->state == T_CAPTURE && dec->cap_scalar) {
    int rc = end_capture(dec, err);
    if (rc < 0) return rc;
  }
  if (dec->state != T_DONE)
    return fail(dec, err, FLOE_EFORMAT,
                "response body ends early (truncated JSON)");
  if (floe_buf_append_byte(&dec->envelope, '}') < 0)
    return fail(dec, err, FLOE_ENOMEM, "out of memory");
  json_error_t jerr;
  dec->env = json_loadb((const char *)dec->envelope.data, dec->envelope.len, 0,
                        &jerr);
  if (dec->env == NULL)
    return fail(dec, err, FLOE_EFORMAT, "response body: %s", jerr.text);
  if (dec->deferring) {
    int ready = prepare_columns(dec, err);
    if (ready < 0) return ready;
    if (ready == 0)
      return fail(dec, err, FLOE_EFORMAT,
                  "response has \"data\" but no resultSetMetaData.rowType");
    dec->deferring = false;
    dec->state = D_OPEN;
    int rc = parse(dec, dec->data_raw.data, dec->data_raw.data + dec->data_raw.len,
                   err);
    if (rc < 0) return rc;
    if (dec->state == D_NULL && dec->literal_len == 4 &&
        memcmp(dec->literal, "null", 4) == 0)
      dec->state = T_AFTER_VALUE;
    if (dec->state != T_AFTER_VALUE)
      return fail(dec, err, FLOE_EFORMAT, "\"data\" array is incomplete");
    dec->state = T_DONE;
  }
  return FLOE_OK;
}

int floe_sf_decoder_take_batch(floe_sf_decoder *dec, struct ArrowArray *out,
                               struct ArrowSchema *out_schema,
                               floe_error *err) {
  int rc;
  struct ArrowArray *children = NULL;
  int64_t n = 0;
  memset(out, 0, sizeof *out);
  if (out_schema != NULL) memset(out_schema, 0, sizeof *out_schema);
  if (dec->error.code != 0) {
    if (err != NULL) *err = dec->error;
    return dec->error.code;
  }
  rc = prepare_columns(dec, err);
  if (rc < 0) return rc;
  if (rc == 0)
    return floe_error_set(err, FLOE_EINVAL, "result columns are not known");
  n = dec->n_columns;
  children = floe_calloc((size_t)(n ? n : 1), sizeof *children);
  if (children == NULL) {
    rc = FLOE_ENOMEM;
    goto cleanup;
  }
  for (int64_t i = 0; i < n; i++)
    FLOE_TRY(floe_arrow_builder_finish(&dec->builders[i], &children[i]));
  FLOE_TRY(floe_arrow_struct_from_children(out, children, n, dec->rows));
  floe_free(children);
  children = NULL;
  if (out_schema != NULL) {
    FLOE_TRY(floe_arrow_schema_init_struct(out_schema, "", n));
    for (int64_t i = 0; i < n; i++)
      FLOE_TRY(floe_arrow_schema_init(out_schema->children[i],
                                      dec->columns[i].name, &dec->targets[i],
                                      true, -1));
  }
  /* Taken in the middle of a body: later rows keep their numbers. */
  dec->first_row += dec->rows;
  dec->rows = 0;
  rc = FLOE_OK;
cleanup:
  if (children != NULL) {
    for (int64_t i = 0; i < n; i++) floe_arrow_array_release(&children[i]);
    floe_free(children);
  }
  if (rc < 0) {
    floe_arrow_array_release(out);
    if (out_schema != NULL) floe_arrow_schema_release(out_schema);
    if (rc == FLOE_ENOMEM) floe_error_set(err, FLOE_ENOMEM, "out of memory");
  }
  return rc;
}
