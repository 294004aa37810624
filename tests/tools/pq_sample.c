/*
 * pq_sample: writes a set of Parquet files with floe's writer, each beside a
 * <name>.expected.json that says what an independent reader must find in it.
 *
 *   pq_sample OUT_DIR
 *
 * The interop tests (tests/interop/parquet_*.test.mjs) read every file with
 * DuckDB by field id and with `floe parquet cat`, and compare against the
 * JSON. The files cover every Iceberg primitive (with NaN, -0.0, infinities,
 * extreme decimals, pre-1970 dates and timestamps, empty and multi-byte
 * strings), required and optional columns (all-null too), each codec,
 * dictionary pages with fallback to PLAIN, several row groups and pages, a
 * 0-row file, extra footer metadata and string/binary bound truncation edges.
 *
 * The JSON holds the schema (name, field id, Iceberg type, required), the
 * writer options, the rows rendered as the fixture CSVs render values
 * (floe_arrow_view_format; null as JSON null) and the metrics floe's writer
 * returned (bounds as lower-case hex of the Appendix D bytes). Data comes
 * from a seeded PRNG, so every run writes the same rows.
 */
#include <float.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "floe/arrow.h"
#include "floe/common.h"
#include "floe/parquet_writer.h"
#include "floe/time.h"

/* ---- deterministic data ------------------------------------------------ */

typedef struct rng {
  uint64_t state;
} rng;

/* splitmix64: small, fast, and the same on every platform. */
static uint64_t rng_next(rng *r) {
  uint64_t z = (r->state += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static int64_t rng_range(rng *r, int64_t lo, int64_t hi) { /* inclusive */
  return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

static double rng_unit(rng *r) {
  return (double)(rng_next(r) >> 11) / (double)(UINT64_C(1) << 53);
}

typedef enum value_kind {
  K_BOOL,
  K_INT,
  K_LONG,
  K_FLOAT,
  K_DOUBLE,
  K_DEC9,
  K_DEC18,
  K_DEC38,
  K_DATE,
  K_TIME,
  K_TS,
  K_TSTZ,
  K_STRING,
  K_BINARY,
  K_UUID,
  K_FIXED7
} value_kind;

/* How a column's values are drawn. */
typedef enum value_mode {
  M_MIXED,     /* special values first, then random */
  M_SEQUENCE,  /* row number (long) */
  M_LOWCARD,   /* a handful of distinct values: dictionary pays */
  M_DISTINCT,  /* every value distinct: dictionary overflows */
  M_DRIFT,     /* low cardinality for 1000 rows, then distinct: a chunk
                  that starts with a dictionary and falls back to PLAIN */
  M_ALL_NULL,  /* every value null */
  M_EDGE       /* a fixed list of bound-truncation edge cases, cycled */
} value_mode;

typedef struct column_spec {
  const char *name;
  int32_t field_id;
  value_kind kind;
  bool required;
  value_mode mode;
  int null_percent; /* optional columns: share of random nulls */
  const char *const *edge; /* M_EDGE: hex (binary) or text values */
  int n_edge;
} column_spec;

static const char *iceberg_type_name(value_kind k) {
  static const char *const names[] = {
      "boolean",       "int",           "long",           "float",
      "double",        "decimal(9,2)",  "decimal(18,4)",  "decimal(38,10)",
      "date",          "time",          "timestamp",      "timestamptz",
      "string",        "binary",        "uuid",           "fixed[7]"};
  return names[k];
}

static floe_arrow_type_info arrow_type(value_kind k) {
  switch (k) {
    case K_BOOL: return floe_arrow_type_of(FLOE_ARROW_BOOL);
    case K_INT: return floe_arrow_type_of(FLOE_ARROW_INT32);
    case K_LONG: return floe_arrow_type_of(FLOE_ARROW_INT64);
    case K_FLOAT: return floe_arrow_type_of(FLOE_ARROW_FLOAT);
    case K_DOUBLE: return floe_arrow_type_of(FLOE_ARROW_DOUBLE);
    case K_DEC9: return floe_arrow_decimal(9, 2);
    case K_DEC18: return floe_arrow_decimal(18, 4);
    case K_DEC38: return floe_arrow_decimal(38, 10);
    case K_DATE: return floe_arrow_type_of(FLOE_ARROW_DATE32);
    case K_TIME: return floe_arrow_type_of(FLOE_ARROW_TIME64_US);
    case K_TS: return floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_US);
    case K_TSTZ: return floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_US_TZ);
    case K_STRING: return floe_arrow_type_of(FLOE_ARROW_UTF8);
    case K_BINARY: return floe_arrow_type_of(FLOE_ARROW_BINARY);
    case K_UUID: return floe_arrow_type_of(FLOE_ARROW_UUID);
    case K_FIXED7: return floe_arrow_fixed(7);
  }
  return floe_arrow_type_of(FLOE_ARROW_UNKNOWN);
}

static floe_int128 pow10_128(int n) {
  floe_int128 v = 1;
  while (n-- > 0) v *= 10;
  return v;
}

static int decimal_precision(value_kind k) {
  return k == K_DEC9 ? 9 : k == K_DEC18 ? 18 : 38;
}

/* Values every reader gets wrong at least once. */
static const char *const special_strings[] = {
    "",
    "a",
    "h\xc3\xa9llo w\xc3\xb6rld, \xc3\xbcn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 \xe2\x9c\x93",
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad"
    "\xe3\x82\xb9\xe3\x83\x88\xe3\x81\xaf\xe5\x8d\x81\xe5\x85\xad\xe6\x96\x87"
    "\xe5\xad\x97\xe3\x82\x92\xe8\xb6\x85\xe3\x81\x88\xe3\x81\xbe\xe3\x81\x99",
    "\xf0\x9f\x98\x80\xf0\x9f\x98\x83\xf0\x9f\x98\x84\xf0\x9f\x98\x81\xf0\x9f"
    "\x98\x86\xf0\x9f\x98\x85\xf0\x9f\x98\x82\xf0\x9f\xa4\xa3\xf0\x9f\x98\x8a"
    "\xf0\x9f\x98\x87\xf0\x9f\x99\x82\xf0\x9f\x99\x83\xf0\x9f\x98\x89\xf0\x9f"
    "\x98\x8c\xf0\x9f\x98\x8d\xf0\x9f\xa5\xb0\xf0\x9f\x98\x98",
    "tab\there \"quoted\" back\\slash\nnew line, comma",
    "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
    " leading and trailing spaces ",
};
#define N_SPECIAL_STRINGS ((int)(sizeof special_strings / sizeof *special_strings))

static const char *const string_pieces[] = {
    "a", "b", "c", "x", "y", "z", "0", "7", " ", "-", "\xc3\xa9", "\xc3\x9f",
    "\xce\xa9", "\xe6\x97\xa5", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
#define N_STRING_PIECES ((int)(sizeof string_pieces / sizeof *string_pieces))

static const char *const lowcard_strings[] = {
    "alpha", "beta", "gamma", "delta \xce\xb4", "", "epsilon-with-a-long-name"};

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

static size_t hex_decode(const char *hex, uint8_t *out, size_t cap) {
  size_t n = 0;
  for (; hex[0] != '\0' && hex[1] != '\0' && n < cap; hex += 2)
    out[n++] = (uint8_t)(hex_value(hex[0]) * 16 + hex_value(hex[1]));
  return n;
}

static int append_random_string(floe_arrow_builder *b, rng *r, int max_pieces) {
  char text[256];
  size_t len = 0;
  int n = (int)rng_range(r, 0, max_pieces);
  for (int i = 0; i < n; i++) {
    const char *piece = string_pieces[rng_range(r, 0, N_STRING_PIECES - 1)];
    size_t piece_len = strlen(piece);
    if (len + piece_len >= sizeof text) break;
    memcpy(text + len, piece, piece_len);
    len += piece_len;
  }
  return floe_arrow_builder_append_bytes(b, text, len);
}

/* Appends the value of column c at row `row`. */
static int append_value(floe_arrow_builder *b, const column_spec *c,
                        int64_t row, rng *r) {
  uint8_t bytes[64];
  char text[128];
  if (c->mode == M_ALL_NULL) return floe_arrow_builder_append_null(b);
  if (c->mode == M_EDGE) {
    const char *v = c->edge[row % c->n_edge];
    if (v == NULL) return floe_arrow_builder_append_null(b);
    if (c->kind == K_STRING) return floe_arrow_builder_append_bytes(b, v, strlen(v));
    if (c->kind == K_FLOAT) return floe_arrow_builder_append_float(b, strtof(v, NULL));
    if (c->kind == K_DOUBLE) return floe_arrow_builder_append_double(b, strtod(v, NULL));
    return floe_arrow_builder_append_bytes(b, bytes, hex_decode(v, bytes, sizeof bytes));
  }
  if (c->mode == M_SEQUENCE) return floe_arrow_builder_append_int64(b, row);
  /* Specials go first so that every file with enough rows holds them all;
   * random nulls start after them. */
  bool special = c->mode == M_MIXED && row < 10;
  value_mode mode = c->mode == M_DRIFT ? (row < 1000 ? M_LOWCARD : M_DISTINCT)
                                       : c->mode;
  if (!c->required && !special && (int)rng_range(r, 0, 99) < c->null_percent)
    return floe_arrow_builder_append_null(b);
  if (mode == M_LOWCARD) {
    int64_t pick = rng_range(r, 0, 5);
    switch (c->kind) {
      case K_STRING:
        return floe_arrow_builder_append_bytes(b, lowcard_strings[pick],
                                               strlen(lowcard_strings[pick]));
      case K_INT: return floe_arrow_builder_append_int32(b, (int32_t)(pick * 1000 - 2000));
      case K_LONG: return floe_arrow_builder_append_int64(b, pick * INT64_C(1000000007));
      case K_DOUBLE: return floe_arrow_builder_append_double(b, (double)pick * 0.25);
      default: break;
    }
  }
  if (mode == M_DISTINCT) {
    switch (c->kind) {
      case K_STRING: {
        int n = snprintf(text, sizeof text, "distinct-%08" PRId64 "-%016" PRIx64,
                         row, rng_next(r));
        return floe_arrow_builder_append_bytes(b, text, (size_t)n);
      }
      case K_LONG:
        return floe_arrow_builder_append_int64(b, (int64_t)rng_next(r));
      case K_DOUBLE:
        return floe_arrow_builder_append_double(b, (rng_unit(r) - 0.5) * 1e12);
      case K_BINARY:
        for (int i = 0; i < 12; i++) bytes[i] = (uint8_t)rng_next(r);
        return floe_arrow_builder_append_bytes(b, bytes, 12);
      default: break;
    }
  }
  switch (c->kind) {
    case K_BOOL:
      return floe_arrow_builder_append_bool(b, (rng_next(r) & 1) != 0);
    case K_INT: {
      static const int32_t s[] = {INT32_MIN, INT32_MAX, 0, -1, 1};
      if (special && row < 5) return floe_arrow_builder_append_int32(b, s[row]);
      int32_t v = row % 3 == 0 ? (int32_t)(uint32_t)rng_next(r)
                               : (int32_t)rng_range(r, -1000, 1000);
      return floe_arrow_builder_append_int32(b, v);
    }
    case K_LONG: {
      static const int64_t s[] = {INT64_MIN, INT64_MAX, 0, -1,
                                  (INT64_C(1) << 53) + 1, -(INT64_C(1) << 53) - 1};
      if (special && row < 6) return floe_arrow_builder_append_int64(b, s[row]);
      int64_t v = row % 3 == 0 ? (int64_t)rng_next(r)
                               : rng_range(r, -1000000, 1000000);
      return floe_arrow_builder_append_int64(b, v);
    }
    case K_FLOAT: {
      const float s[] = {NAN, -0.0f, INFINITY, -INFINITY, FLT_MAX, -FLT_MAX,
                         FLT_MIN, 1e-45f, 0.0f, 0.1f};
      if (special) return floe_arrow_builder_append_float(b, s[row]);
      return floe_arrow_builder_append_float(b, (float)((rng_unit(r) - 0.5) * 2e6));
    }
    case K_DOUBLE: {
      const double s[] = {NAN, -0.0, INFINITY, -INFINITY, DBL_MAX, -DBL_MAX,
                          DBL_MIN, 5e-324, 0.0, 0.1};
      if (special) return floe_arrow_builder_append_double(b, s[row]);
      double v = (rng_unit(r) - 0.5) * pow(10.0, (double)rng_range(r, -20, 20));
      return floe_arrow_builder_append_double(b, v);
    }
    case K_DEC9:
    case K_DEC18:
    case K_DEC38: {
      floe_int128 max = pow10_128(decimal_precision(c->kind)) - 1;
      if (special && row < 6) {
        const floe_int128 s[] = {max, -max, 0, -1, 1, max - 1};
        return floe_arrow_builder_append_decimal(b, s[row]);
      }
      floe_int128 v = ((floe_int128)(rng_next(r) >> 1) << 64) | rng_next(r);
      /* Mostly full-width values, some small ones. */
      floe_int128 mod = row % 4 == 0 ? pow10_128(4) : max + 1;
      v %= mod;
      if (rng_next(r) & 1) v = -v;
      return floe_arrow_builder_append_decimal(b, v);
    }
    case K_DATE: {
      /* 0001-01-01, 9999-12-31, 1969-12-31, 1970-01-01, 1900-01-01,
       * 2000-02-29, 1582-10-04 */
      static const int32_t s[] = {-719162, 2932896, -1, 0, -25567, 11016, -141428};
      if (special && row < 7) return floe_arrow_builder_append_int32(b, s[row]);
      return floe_arrow_builder_append_int32(b, (int32_t)rng_range(r, -40000, 60000));
    }
    case K_TIME: {
      static const int64_t s[] = {0, INT64_C(86399999999), 1, INT64_C(43200000000),
                                  INT64_C(3723000000)};
      if (special && row < 5) return floe_arrow_builder_append_int64(b, s[row]);
      int64_t v = rng_range(r, 0, INT64_C(86399999999));
      if (row % 2 == 0) v -= v % 1000000; /* whole seconds render without fraction */
      return floe_arrow_builder_append_int64(b, v);
    }
    case K_TS:
    case K_TSTZ: {
      static const int64_t s[] = {INT64_C(-62135596800000000),
                                  INT64_C(253402300799999999),
                                  -1,
                                  0,
                                  INT64_C(951782400123456),
                                  INT64_C(-2208988800000000),
                                  INT64_C(-1000000)};
      if (special && row < 7) return floe_arrow_builder_append_int64(b, s[row]);
      int64_t v = rng_range(r, INT64_C(-2208988800000000), INT64_C(4102444800000000));
      if (row % 3 == 0) v -= floe_floor_mod(v, 1000000);
      return floe_arrow_builder_append_int64(b, v);
    }
    case K_STRING:
      if (special && row < N_SPECIAL_STRINGS)
        return floe_arrow_builder_append_bytes(b, special_strings[row],
                                               strlen(special_strings[row]));
      return append_random_string(b, r, 24);
    case K_BINARY: {
      if (special && row < 4) {
        size_t n = row == 0 ? 0 : row == 1 ? 1 : row == 2 ? 20 : 33;
        memset(bytes, row == 1 ? 0x00 : row == 2 ? 0xff : 0x5a, n);
        return floe_arrow_builder_append_bytes(b, bytes, n);
      }
      size_t n = (size_t)rng_range(r, 0, 24);
      for (size_t i = 0; i < n; i++) bytes[i] = (uint8_t)rng_next(r);
      return floe_arrow_builder_append_bytes(b, bytes, n);
    }
    case K_UUID:
    case K_FIXED7: {
      size_t n = c->kind == K_UUID ? 16 : 7;
      if (special && row < 2) {
        memset(bytes, row == 0 ? 0x00 : 0xff, n);
        return floe_arrow_builder_append_bytes(b, bytes, n);
      }
      for (size_t i = 0; i < n; i++) bytes[i] = (uint8_t)rng_next(r);
      if (c->kind == K_UUID) { /* version 4, variant 1 */
        bytes[6] = (uint8_t)((bytes[6] & 0x0f) | 0x40);
        bytes[8] = (uint8_t)((bytes[8] & 0x3f) | 0x80);
      }
      return floe_arrow_builder_append_bytes(b, bytes, n);
    }
  }
  return FLOE_EINVAL;
}

/* ---- the files ----------------------------------------------------------- */

typedef struct file_spec {
  const char *name;
  const column_spec *columns;
  int n_columns;
  int64_t n_rows;
  int64_t batch_rows;
  uint64_t seed;
  /* Writer options that differ from the defaults (0 = default). */
  floe_parquet_compression compression;
  int compression_level;
  int64_t row_group_bytes;
  int64_t page_bytes;
  int64_t dictionary_page_bytes;
  bool no_dictionary;
  int32_t truncate_length; /* -1: default (16) */
  const char *created_by;
  int n_key_value;
  const char *const *keys;
  const char *const *values;
} file_spec;

#define N_OF(a) ((int)(sizeof(a) / sizeof *(a)))

/* Every type, optional with 15% nulls, plus required columns. */
static const column_spec all_types_columns[] = {
    {"id", 1, K_LONG, true, M_SEQUENCE, 0, NULL, 0},
    {"flag", 2, K_BOOL, true, M_MIXED, 0, NULL, 0},
    {"flag_opt", 3, K_BOOL, false, M_MIXED, 15, NULL, 0},
    {"i32", 4, K_INT, false, M_MIXED, 15, NULL, 0},
    {"i32_req", 5, K_INT, true, M_MIXED, 0, NULL, 0},
    {"i64", 6, K_LONG, false, M_MIXED, 15, NULL, 0},
    {"f32", 7, K_FLOAT, false, M_MIXED, 15, NULL, 0},
    {"f64", 8, K_DOUBLE, false, M_MIXED, 15, NULL, 0},
    {"f64_req", 9, K_DOUBLE, true, M_MIXED, 0, NULL, 0},
    {"dec9", 10, K_DEC9, false, M_MIXED, 15, NULL, 0},
    {"dec18", 11, K_DEC18, false, M_MIXED, 15, NULL, 0},
    {"dec38", 12, K_DEC38, false, M_MIXED, 15, NULL, 0},
    {"dec38_req", 13, K_DEC38, true, M_MIXED, 0, NULL, 0},
    {"d", 14, K_DATE, false, M_MIXED, 15, NULL, 0},
    {"t", 15, K_TIME, false, M_MIXED, 15, NULL, 0},
    {"ts", 16, K_TS, false, M_MIXED, 15, NULL, 0},
    {"tstz", 17, K_TSTZ, false, M_MIXED, 15, NULL, 0},
    {"s", 18, K_STRING, false, M_MIXED, 15, NULL, 0},
    {"s_req", 19, K_STRING, true, M_MIXED, 0, NULL, 0},
    {"s_dict", 20, K_STRING, false, M_LOWCARD, 30, NULL, 0},
    {"bin", 21, K_BINARY, false, M_MIXED, 15, NULL, 0},
    {"u", 22, K_UUID, false, M_MIXED, 15, NULL, 0},
    {"fx", 23, K_FIXED7, false, M_MIXED, 15, NULL, 0},
    {"ts_req", 24, K_TS, true, M_MIXED, 0, NULL, 0},
    {"d_req", 25, K_DATE, true, M_MIXED, 0, NULL, 0},
};

/* One optional column of every type, every value null, and a required id. */
static const column_spec all_null_columns[] = {
    {"id", 1, K_LONG, true, M_SEQUENCE, 0, NULL, 0},
    {"n_bool", 2, K_BOOL, false, M_ALL_NULL, 0, NULL, 0},
    {"n_int", 3, K_INT, false, M_ALL_NULL, 0, NULL, 0},
    {"n_long", 4, K_LONG, false, M_ALL_NULL, 0, NULL, 0},
    {"n_float", 5, K_FLOAT, false, M_ALL_NULL, 0, NULL, 0},
    {"n_double", 6, K_DOUBLE, false, M_ALL_NULL, 0, NULL, 0},
    {"n_dec9", 7, K_DEC9, false, M_ALL_NULL, 0, NULL, 0},
    {"n_dec18", 8, K_DEC18, false, M_ALL_NULL, 0, NULL, 0},
    {"n_dec38", 9, K_DEC38, false, M_ALL_NULL, 0, NULL, 0},
    {"n_date", 10, K_DATE, false, M_ALL_NULL, 0, NULL, 0},
    {"n_time", 11, K_TIME, false, M_ALL_NULL, 0, NULL, 0},
    {"n_ts", 12, K_TS, false, M_ALL_NULL, 0, NULL, 0},
    {"n_tstz", 13, K_TSTZ, false, M_ALL_NULL, 0, NULL, 0},
    {"n_string", 14, K_STRING, false, M_ALL_NULL, 0, NULL, 0},
    {"n_binary", 15, K_BINARY, false, M_ALL_NULL, 0, NULL, 0},
    {"n_uuid", 16, K_UUID, false, M_ALL_NULL, 0, NULL, 0},
    {"n_fixed", 17, K_FIXED7, false, M_ALL_NULL, 0, NULL, 0},
};

/* Low-cardinality columns keep their dictionary; distinct ones overflow a
 * small dictionary limit and fall back to PLAIN mid-chunk. */
static const column_spec dictionary_columns[] = {
    {"id", 1, K_LONG, true, M_SEQUENCE, 0, NULL, 0},
    {"city", 2, K_STRING, true, M_LOWCARD, 0, NULL, 0},
    {"code", 3, K_INT, false, M_LOWCARD, 10, NULL, 0},
    {"amount", 4, K_DOUBLE, false, M_LOWCARD, 10, NULL, 0},
    {"token", 5, K_STRING, false, M_DISTINCT, 5, NULL, 0},
    {"big", 6, K_LONG, true, M_DISTINCT, 0, NULL, 0},
    {"measure", 7, K_DOUBLE, false, M_DISTINCT, 5, NULL, 0},
    {"blob", 8, K_BINARY, false, M_DISTINCT, 5, NULL, 0},
    {"drift", 9, K_STRING, false, M_DRIFT, 5, NULL, 0},
    {"drift_long", 10, K_LONG, true, M_DRIFT, 0, NULL, 0},
};

static const column_spec multi_columns[] = {
    {"id", 1, K_LONG, true, M_SEQUENCE, 0, NULL, 0},
    {"v", 2, K_LONG, false, M_MIXED, 5, NULL, 0},
    {"x", 3, K_DOUBLE, false, M_MIXED, 5, NULL, 0},
    {"cat", 4, K_STRING, false, M_LOWCARD, 5, NULL, 0},
    {"note", 5, K_STRING, false, M_MIXED, 20, NULL, 0},
    {"price", 6, K_DEC18, false, M_MIXED, 5, NULL, 0},
    {"at", 7, K_TSTZ, false, M_MIXED, 5, NULL, 0},
    {"ok", 8, K_BOOL, false, M_MIXED, 5, NULL, 0},
};

static const column_spec small_columns[] = {
    {"id", 1, K_LONG, true, M_SEQUENCE, 0, NULL, 0},
    {"name", 2, K_STRING, false, M_MIXED, 10, NULL, 0},
    {"amount", 3, K_DEC38, false, M_MIXED, 10, NULL, 0},
    {"day", 4, K_DATE, false, M_MIXED, 10, NULL, 0},
    {"ratio", 5, K_FLOAT, false, M_MIXED, 10, NULL, 0},
    {"payload", 6, K_BINARY, false, M_MIXED, 10, NULL, 0},
};

/* Bound truncation (Iceberg spec: metrics are truncated to 16 characters
 * or bytes; the upper bound's last kept character is incremented, carrying
 * left past characters that cannot grow; no upper bound when none can). */
static const char *const edge_carry[] = {
    "aaaaaaaaaaaaaaa\xf4\x8f\xbf\xbfzzz", "aaaa", "aaaaaaaaaaaaaaa"};
static const char *const edge_max_chars[] = {
    "\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf"
    "\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf"
    "\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf"
    "\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf"
    "\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf",
    "b", NULL};
static const char *const edge_multibyte[] = {
    "\xc3\xb1\xc3\xb1\xc3\xb1\xc3\xb1\xc3\xb1\xc3\xb1\xc3\xb1\xc3\xb1\xc3\xb1"
    "\xc3\xb1\xc3\xb1\xc3\xb1\xc3\xb1\xc3\xb1\xc3\xb1\xc3\xb1\xc3\xb1\xc3\xb1"
    "\xc3\xb1\xc3\xb1",
    "\xe6\x97\xa5\xe6\x9c\xac", "\xc3\xb1"};
static const char *const edge_exact16[] = {
    "0123456789abcdef", "0123456789abcdeg", "0123456789abcdef0"};
static const char *const edge_binary_ff[] = {
    "ffffffffffffffffffffffffffffffffffffffff", "00", ""};
static const char *const edge_binary_carry[] = {
    "01ffffffffffffffffffffffffffffffffffffff", "0100", "01"};
static const char *const edge_nan_only[] = {"nan", NULL, "nan"};
static const char *const edge_zeros[] = {"-0.0", "0.0", "-0.0"};

static const column_spec edge_columns[] = {
    {"carry", 1, K_STRING, false, M_EDGE, 0, edge_carry, N_OF(edge_carry)},
    {"max_chars", 2, K_STRING, false, M_EDGE, 0, edge_max_chars, N_OF(edge_max_chars)},
    {"multibyte", 3, K_STRING, false, M_EDGE, 0, edge_multibyte, N_OF(edge_multibyte)},
    {"exact16", 4, K_STRING, false, M_EDGE, 0, edge_exact16, N_OF(edge_exact16)},
    {"bin_ff", 5, K_BINARY, false, M_EDGE, 0, edge_binary_ff, N_OF(edge_binary_ff)},
    {"bin_carry", 6, K_BINARY, false, M_EDGE, 0, edge_binary_carry, N_OF(edge_binary_carry)},
    {"nan_only", 7, K_FLOAT, false, M_EDGE, 0, edge_nan_only, N_OF(edge_nan_only)},
    {"zeros", 8, K_DOUBLE, false, M_EDGE, 0, edge_zeros, N_OF(edge_zeros)},
};

static const char *const kv_keys[] = {"iceberg.schema", "floe.sample", "note"};
static const char *const kv_values[] = {
    "{\"type\":\"struct\",\"schema-id\":0,\"fields\":[{\"id\":1,\"name\":\"id\","
    "\"required\":true,\"type\":\"long\"},{\"id\":2,\"name\":\"name\","
    "\"required\":false,\"type\":\"string\"},{\"id\":3,\"name\":\"amount\","
    "\"required\":false,\"type\":\"decimal(38,10)\"},{\"id\":4,\"name\":\"day\","
    "\"required\":false,\"type\":\"date\"},{\"id\":5,\"name\":\"ratio\","
    "\"required\":false,\"type\":\"float\"},{\"id\":6,\"name\":\"payload\","
    "\"required\":false,\"type\":\"binary\"}]}",
    "pq_sample kv_metadata", "caf\xc3\xa9 \xe2\x98\x95"};

#define ALL_TYPES(file, codec, level)                                          \
  {file, all_types_columns, N_OF(all_types_columns), 2500, 1000, 11, codec,   \
   level, 0, 0, 0, false, -1, NULL, 0, NULL, NULL}

static const file_spec files[] = {
    ALL_TYPES("all_types_uncompressed", FLOE_PARQUET_UNCOMPRESSED, 0),
    ALL_TYPES("all_types_snappy", FLOE_PARQUET_SNAPPY, 0),
    ALL_TYPES("all_types_gzip", FLOE_PARQUET_GZIP, 0),
    ALL_TYPES("all_types_zstd", FLOE_PARQUET_ZSTD, 0),
    {"all_null", all_null_columns, N_OF(all_null_columns), 300, 128, 12,
     FLOE_PARQUET_ZSTD, 0, 0, 0, 0, false, -1, NULL, 0, NULL, NULL},
    {"dictionary_fallback", dictionary_columns, N_OF(dictionary_columns), 6000,
     1500, 13, FLOE_PARQUET_SNAPPY, 0, 0, 8192, 2048, false, -1, NULL, 0, NULL,
     NULL},
    {"multi_row_group", multi_columns, N_OF(multi_columns), 40000, 3000, 14,
     FLOE_PARQUET_ZSTD, 1, 96 * 1024, 4096, 0, false, -1, NULL, 0, NULL, NULL},
    {"no_dictionary_gzip9", small_columns, N_OF(small_columns), 700, 256, 15,
     FLOE_PARQUET_GZIP, 9, 0, 2048, 0, true, -1, NULL, 0, NULL, NULL},
    {"zero_rows", all_types_columns, N_OF(all_types_columns), 0, 1, 16,
     FLOE_PARQUET_ZSTD, 0, 0, 0, 0, false, -1, NULL, 0, NULL, NULL},
    {"kv_metadata", small_columns, N_OF(small_columns), 40, 40, 17,
     FLOE_PARQUET_UNCOMPRESSED, 0, 0, 0, 0, false, 0, "floe pq_sample",
     N_OF(kv_keys), kv_keys, kv_values},
    {"bound_edges", edge_columns, N_OF(edge_columns), 3, 3, 18,
     FLOE_PARQUET_SNAPPY, 0, 0, 0, 0, false, -1, NULL, 0, NULL, NULL},
};

/* ---- expected JSON ---------------------------------------------------- */

static json_t *hex_json(const uint8_t *bytes, size_t len) {
  static const char digits[] = "0123456789abcdef";
  if (bytes == NULL) return json_null();
  char *text = malloc(len * 2 + 1);
  if (text == NULL) return NULL;
  for (size_t i = 0; i < len; i++) {
    text[2 * i] = digits[bytes[i] >> 4];
    text[2 * i + 1] = digits[bytes[i] & 15];
  }
  text[len * 2] = '\0';
  json_t *out = json_string(text);
  free(text);
  return out;
}

static const char *compression_name(floe_parquet_compression c) {
  switch (c) {
    case FLOE_PARQUET_UNCOMPRESSED: return "UNCOMPRESSED";
    case FLOE_PARQUET_SNAPPY: return "SNAPPY";
    case FLOE_PARQUET_GZIP: return "GZIP";
    case FLOE_PARQUET_ZSTD: return "ZSTD";
  }
  return "?";
}

static json_t *metrics_json(const floe_parquet_file_metrics *m) {
  json_t *out = json_object();
  json_t *columns = json_array();
  json_t *splits = json_array();
  json_object_set_new(out, "record_count", json_integer(m->record_count));
  json_object_set_new(out, "file_size", json_integer(m->file_size));
  for (int32_t i = 0; i < m->n_columns; i++) {
    const floe_parquet_column_metrics *c = &m->columns[i];
    json_t *col = json_object();
    json_object_set_new(col, "field_id", json_integer(c->field_id));
    json_object_set_new(col, "column_size", json_integer(c->column_size));
    json_object_set_new(col, "value_count", json_integer(c->value_count));
    json_object_set_new(col, "null_count", json_integer(c->null_count));
    json_object_set_new(col, "nan_count",
                        c->has_nan_count ? json_integer(c->nan_count) : json_null());
    json_object_set_new(col, "lower_bound", hex_json(c->lower_bound, c->lower_bound_len));
    json_object_set_new(col, "upper_bound", hex_json(c->upper_bound, c->upper_bound_len));
    json_array_append_new(columns, col);
  }
  for (int32_t i = 0; i < m->n_split_offsets; i++)
    json_array_append_new(splits, json_integer(m->split_offsets[i]));
  json_object_set_new(out, "columns", columns);
  json_object_set_new(out, "split_offsets", splits);
  return out;
}

/* Appends the rendered rows of `batch` to `rows` (arrays in schema order). */
static int render_rows(const struct ArrowSchema *schema,
                       const struct ArrowArray *batch, json_t *rows,
                       floe_error *err) {
  floe_arrow_view views[64];
  floe_buf text = FLOE_BUF_INIT;
  int rc = FLOE_OK;
  for (int64_t c = 0; c < schema->n_children; c++)
    FLOE_TRY(floe_arrow_view_init(&views[c], schema->children[c],
                                  batch->children[c], err));
  for (int64_t i = 0; i < batch->length; i++) {
    json_t *row = json_array();
    for (int64_t c = 0; c < schema->n_children; c++) {
      if (floe_arrow_view_is_null(&views[c], i)) {
        json_array_append_new(row, json_null());
        continue;
      }
      floe_buf_reset(&text);
      FLOE_TRY(floe_arrow_view_format(&views[c], i, &text));
      json_array_append_new(row, json_stringn((const char *)text.data, text.len));
    }
    json_array_append_new(rows, row);
  }
cleanup:
  floe_buf_free(&text);
  return rc;
}

static int write_sample(const char *dir, const file_spec *f, floe_error *err) {
  struct ArrowSchema schema = {0};
  struct ArrowArray batch = {0};
  floe_arrow_batch_builder builder = {0};
  floe_parquet_writer *writer = NULL;
  floe_parquet_file_metrics metrics = {0};
  floe_parquet_writer_options options;
  json_t *expected = json_object();
  json_t *rows = json_array();
  json_t *fields = json_array();
  json_t *opts = json_object();
  json_t *kv = json_object();
  char path[4096];
  rng r = {f->seed};
  int rc = FLOE_OK;

  FLOE_TRY(floe_arrow_schema_init_struct(&schema, NULL, f->n_columns));
  for (int c = 0; c < f->n_columns; c++) {
    const column_spec *col = &f->columns[c];
    floe_arrow_type_info type = arrow_type(col->kind);
    FLOE_TRY(floe_arrow_schema_init(schema.children[c], col->name, &type,
                                    !col->required, col->field_id));
    json_t *field = json_object();
    json_object_set_new(field, "name", json_string(col->name));
    json_object_set_new(field, "field_id", json_integer(col->field_id));
    json_object_set_new(field, "type", json_string(iceberg_type_name(col->kind)));
    json_object_set_new(field, "required", json_boolean(col->required));
    json_array_append_new(fields, field);
  }

  floe_parquet_writer_options_init(&options);
  options.compression = f->compression;
  if (f->compression_level) options.compression_level = f->compression_level;
  if (f->row_group_bytes) options.row_group_bytes = f->row_group_bytes;
  if (f->page_bytes) options.page_bytes = f->page_bytes;
  if (f->dictionary_page_bytes) options.dictionary_page_bytes = f->dictionary_page_bytes;
  if (f->no_dictionary) options.dictionary = false;
  if (f->truncate_length >= 0) options.truncate_length = f->truncate_length;
  if (f->created_by) options.created_by = f->created_by;
  options.n_key_value = f->n_key_value;
  options.keys = f->keys;
  options.values = f->values;
  for (int i = 0; i < f->n_key_value; i++)
    json_object_set_new(kv, f->keys[i], json_string(f->values[i]));

  json_object_set_new(opts, "compression", json_string(compression_name(options.compression)));
  json_object_set_new(opts, "compression_level", json_integer(options.compression_level));
  json_object_set_new(opts, "row_group_bytes", json_integer(options.row_group_bytes));
  json_object_set_new(opts, "page_bytes", json_integer(options.page_bytes));
  json_object_set_new(opts, "dictionary_page_bytes", json_integer(options.dictionary_page_bytes));
  json_object_set_new(opts, "dictionary", json_boolean(options.dictionary));
  json_object_set_new(opts, "truncate_length", json_integer(options.truncate_length));
  json_object_set_new(opts, "created_by",
                      options.created_by ? json_string(options.created_by) : json_null());

  snprintf(path, sizeof path, "%s/%s.parquet", dir, f->name);
  FLOE_TRY(floe_parquet_writer_open_file(&writer, path, &schema, &options, err));
  FLOE_TRY(floe_arrow_batch_builder_init(&builder, &schema, err));
  for (int64_t start = 0; start < f->n_rows; start += f->batch_rows) {
    int64_t end = start + f->batch_rows < f->n_rows ? start + f->batch_rows : f->n_rows;
    for (int64_t row = start; row < end; row++)
      for (int c = 0; c < f->n_columns; c++)
        FLOE_TRY(append_value(&builder.columns[c], &f->columns[c], row, &r));
    FLOE_TRY(floe_arrow_batch_builder_finish(&builder, &batch, err));
    FLOE_TRY(render_rows(&schema, &batch, rows, err));
    FLOE_TRY(floe_parquet_writer_write(writer, &batch, err));
    floe_arrow_array_release(&batch);
  }
  FLOE_TRY(floe_parquet_writer_close(writer, &metrics, err));

  json_object_set_new(expected, "file", json_string(path + strlen(dir) + 1));
  json_object_set_new(expected, "schema", fields);
  fields = NULL;
  json_object_set_new(expected, "options", opts);
  opts = NULL;
  json_object_set_new(expected, "key_value_metadata", kv);
  kv = NULL;
  json_object_set_new(expected, "row_count", json_integer(f->n_rows));
  json_object_set_new(expected, "metrics", metrics_json(&metrics));
  json_object_set_new(expected, "rows", rows);
  rows = NULL;
  snprintf(path, sizeof path, "%s/%s.parquet.expected.json", dir, f->name);
  if (json_dump_file(expected, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER) != 0)
    rc = floe_error_set(err, FLOE_EIO, "%s: cannot write", path);

cleanup:
  floe_parquet_file_metrics_free(&metrics);
  floe_parquet_writer_free(writer);
  floe_arrow_batch_builder_free(&builder);
  floe_arrow_array_release(&batch);
  floe_arrow_schema_release(&schema);
  json_decref(expected);
  json_decref(rows);
  json_decref(fields);
  json_decref(opts);
  json_decref(kv);
  return rc;
}

int main(int argc, char **argv) {
  floe_error err;
  if (argc != 2) {
    fprintf(stderr, "usage: pq_sample OUT_DIR\n");
    return 2;
  }
  mkdir(argv[1], 0777);
  for (int i = 0; i < N_OF(files); i++) {
    floe_error_init(&err);
    int rc = write_sample(argv[1], &files[i], &err);
    if (rc < 0) {
      fprintf(stderr, "pq_sample: %s: %s (%s)\n", files[i].name, err.message,
              floe_error_code_name(rc));
      return 1;
    }
    printf("%s/%s.parquet\n", argv[1], files[i].name);
  }
  return 0;
}
