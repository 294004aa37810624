/*
 * tests/unit/test_parquet_reader: the Parquet reader against hand-made
 * vectors (parquet-format Encodings.md examples, a spec-following delta
 * encoder written here, small files built here byte by byte) and against
 * every golden file in ../shared/fixtures/parquet, whose expected values
 * come from independent readers (DuckDB + hyparquet CSVs, parquet-testing's
 * own *_expect.csv, hyparquet's JSON).
 */
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <unistd.h>

#include "floe.h"
#include "core/compress.h"
#include "format/parquet/decode.h"
#include "test.h"

/* ---- helpers -------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static char *read_text(const char *path, size_t *out_len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *p = malloc((size_t)n + 1);
  if (p != NULL && fread(p, 1, (size_t)n, f) != (size_t)n) {
    free(p);
    p = NULL;
  }
  fclose(f);
  if (p != NULL) p[n] = '\0';
  if (out_len) *out_len = (size_t)n;
  return p;
}

/* A table of rendered cells (NULL = null), as floe_arrow_view_format
 * renders values. */
typedef struct table {
  int ncols;
  char **names;
  floe_arrow_type *types;
  int64_t nrows, cap;
  char **cells; /* row-major */
  int64_t *first_rows;
  int n_batches;
} table;

static void table_free(table *t) {
  for (int i = 0; i < t->ncols; i++) free(t->names[i]);
  for (int64_t i = 0; i < t->nrows * t->ncols; i++) free(t->cells[i]);
  free(t->names);
  free(t->types);
  free(t->cells);
  free(t->first_rows);
  memset(t, 0, sizeof *t);
}

/* Opens path and scans it into t with the options; returns the floe code. */
static int read_table(const char *path, const floe_parquet_scan_options *opt, table *t,
                      floe_error *err) {
  memset(t, 0, sizeof *t);
  floe_parquet_reader *r = NULL;
  floe_parquet_scan *scan = NULL;
  struct ArrowSchema schema = {0};
  floe_buf text = FLOE_BUF_INIT;
  int rc = floe_parquet_reader_open(&r, path, err);
  if (rc == FLOE_OK) rc = floe_parquet_reader_scan_open(&scan, r, opt, err);
  if (rc == FLOE_OK) rc = floe_parquet_reader_scan_schema(scan, &schema, err);
  if (rc == FLOE_OK) {
    t->ncols = (int)schema.n_children;
    t->names = calloc((size_t)t->ncols + 1, sizeof *t->names);
    t->types = calloc((size_t)t->ncols + 1, sizeof *t->types);
    for (int c = 0; c < t->ncols; c++) {
      floe_arrow_type_info type;
      t->names[c] = strdup(schema.children[c]->name);
      floe_arrow_schema_type(schema.children[c], &type, err);
      t->types[c] = type.id;
    }
  }
  while (rc == FLOE_OK) {
    struct ArrowArray batch;
    int64_t first;
    rc = floe_parquet_reader_scan_next(scan, &batch, &first, err);
    if (rc < 0 || batch.release == NULL) break;
    t->first_rows = realloc(t->first_rows, sizeof *t->first_rows * (size_t)(t->n_batches + 1));
    t->first_rows[t->n_batches++] = first;
    if (t->nrows + batch.length > t->cap) {
      t->cap = (t->nrows + batch.length) * 2;
      t->cells = realloc(t->cells, sizeof *t->cells * (size_t)(t->cap * (t->ncols ? t->ncols : 1)));
    }
    for (int c = 0; c < t->ncols; c++) {
      floe_arrow_view v;
      floe_arrow_view_init(&v, schema.children[c], batch.children[c], err);
      for (int64_t i = 0; i < batch.length; i++) {
        char **cell = &t->cells[(t->nrows + i) * t->ncols + c];
        if (floe_arrow_view_is_null(&v, i)) {
          *cell = NULL;
          continue;
        }
        floe_buf_reset(&text);
        floe_arrow_view_format(&v, i, &text);
        *cell = text.data ? strndup((const char *)text.data, text.len) : strdup("");
      }
    }
    t->nrows += batch.length;
    floe_arrow_array_release(&batch);
  }
  floe_buf_free(&text);
  floe_arrow_schema_release(&schema);
  floe_parquet_reader_scan_free(scan);
  floe_parquet_reader_free(r);
  return rc;
}

/* RFC 4180 CSV into a table of strings. null_token: the text that means
 * null ("\\N"), or NULL when an unquoted empty field means null. */
static void parse_csv(const char *text, const char *null_token, table *t) {
  memset(t, 0, sizeof *t);
  const char *p = text;
  char field[8192];
  int row_fields = 0;
  char **row = NULL;
  int row_cap = 0;
  bool header = true;
  while (*p) {
    size_t n = 0;
    bool quoted = false;
    if (*p == '"') {
      quoted = true;
      p++;
      while (*p && !(*p == '"' && p[1] != '"')) {
        if (*p == '"') p++;
        if (n < sizeof field - 1) field[n++] = *p;
        p++;
      }
      if (*p == '"') p++;
    } else {
      while (*p && *p != ',' && *p != '\n' && *p != '\r')
        if (n < sizeof field - 1) field[n++] = *p++; else p++;
    }
    field[n] = '\0';
    bool is_null = header ? false
                          : null_token ? (!quoted && strcmp(field, null_token) == 0)
                                       : (!quoted && n == 0);
    if (row_fields == row_cap) {
      row_cap = row_cap ? row_cap * 2 : 16;
      row = realloc(row, sizeof *row * (size_t)row_cap);
    }
    row[row_fields++] = is_null ? NULL : strdup(field);
    if (*p == ',') {
      p++;
      continue;
    }
    if (*p == '\r') p++;
    if (*p == '\n') p++;
    if (header) {
      t->ncols = row_fields;
      t->names = row;
      row = NULL;
      row_cap = 0;
      header = false;
    } else {
      if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->cells = realloc(t->cells, sizeof *t->cells * (size_t)(t->cap * t->ncols));
      }
      for (int c = 0; c < t->ncols; c++)
        t->cells[t->nrows * t->ncols + c] = c < row_fields ? row[c] : NULL;
      for (int c = t->ncols; c < row_fields; c++) free(row[c]);
      t->nrows++;
    }
    row_fields = 0;
  }
  free(row);
}

static bool cell_equal(const char *got, const char *want, floe_arrow_type type) {
  if (got == NULL || want == NULL) return got == want;
  if (strcmp(got, want) == 0) return true;
  if (type == FLOE_ARROW_STRUCT) {
    /* The dual-reader CSVs render a struct as Python does ({'a': NULL});
     * floe as {a: \N}. */
    char norm[1024];
    size_t n = 0;
    for (const char *p = want; *p != '\0' && n + 3 < sizeof norm; p++) {
      if (*p == '\'') continue;
      if (strncmp(p, "NULL", 4) == 0) {
        norm[n++] = '\\';
        norm[n++] = 'N';
        p += 3;
        continue;
      }
      norm[n++] = *p;
    }
    norm[n] = '\0';
    return strcmp(got, norm) == 0;
  }
  if (type == FLOE_ARROW_FLOAT || type == FLOE_ARROW_DOUBLE) {
    double a = strtod(got, NULL), b = strtod(want, NULL);
    return a == b || (isnan(a) && isnan(b));
  }
  return false;
}

/* ---- bit unpacking and the RLE hybrid ------------------------------- */

static void test_unpack_matches_bitwise_reference_at_every_width(void) {
  for (int bw = 0; bw <= 64; bw++) {
    uint8_t in[64];
    for (int i = 0; i < 64; i++) in[i] = (uint8_t)rng();
    uint64_t ref[8] = {0};
    for (int i = 0; i < 8; i++)
      for (int k = 0; k < bw; k++) {
        int bit = i * bw + k;
        ref[i] |= (uint64_t)((in[bit >> 3] >> (bit & 7)) & 1) << k;
      }
    /* exactly bw bytes, so ASan catches any read past the group */
    uint8_t *exact = malloc((size_t)bw + 1);
    memcpy(exact, in, (size_t)bw);
    uint64_t got[8];
    pq_unpack8_64(exact, bw, got);
    for (int i = 0; i < 8; i++)
      if (got[i] != ref[i]) TEST_FAIL_AT(__FILE__, __LINE__, "bw %d value %d", bw, i);
    if (bw <= 32) {
      uint32_t got32[8];
      pq_unpack8_32(exact, bw, got32);
      for (int i = 0; i < 8; i++)
        if (got32[i] != ref[i]) TEST_FAIL_AT(__FILE__, __LINE__, "bw %d value %d (32)", bw, i);
    }
    free(exact);
  }
}

static void test_rle_hybrid_decodes_spec_example_runs(void) {
  /* Encodings.md: bit-packed 0..7 at width 3 is 0x88 0xC6 0xFA; then an
   * RLE run of five 7s; then a bit-packed run of 8 more. */
  const uint8_t data[] = {0x03, 0x88, 0xC6, 0xFA, 0x0A, 0x07, 0x03, 0x88, 0xC6, 0xFA};
  uint8_t *exact = malloc(sizeof data);
  memcpy(exact, data, sizeof data);
  floe_error err = {0};
  /* Read in odd-sized pieces to cross group and run boundaries. */
  for (int step = 1; step <= 21; step += 4) {
    pq_rle d;
    pq_rle_init(&d, exact, sizeof data, 3);
    uint32_t out[32];
    int64_t total = 0, got;
    for (;;) {
      int64_t want = step < 32 - total ? step : 32 - total;
      REQUIRE_OK(pq_rle_get(&d, out + total, want, &got, &err), &err);
      total += got;
      if (got < want || total == 32) break;
    }
    CHECK_INT_EQ(total, 21);
    for (int i = 0; i < 8; i++) CHECK_INT_EQ(out[i], i);
    for (int i = 8; i < 13; i++) CHECK_INT_EQ(out[i], 7);
    for (int i = 13; i < 21; i++) CHECK_INT_EQ(out[i], i - 13);
  }
  free(exact);
}

static void test_rle_bit_width_zero_yields_zeros_from_no_bytes(void) {
  const uint8_t data[] = {0x0A, 0x03}; /* RLE run of 5, bit-packed group of 8 */
  floe_error err = {0};
  pq_rle d;
  pq_rle_init(&d, data, sizeof data, 0);
  uint32_t out[16];
  memset(out, 0xff, sizeof out);
  int64_t got;
  REQUIRE_OK(pq_rle_get(&d, out, 16, &got, &err), &err);
  CHECK_INT_EQ(got, 13);
  for (int i = 0; i < 13; i++) CHECK_INT_EQ(out[i], 0);
}

static void test_rle_short_last_group_is_padded_not_overread(void) {
  /* Header claims 2 groups (6 bytes at width 3) but only 4 bytes follow. */
  const uint8_t data[] = {0x05, 0x88, 0xC6, 0xFA, 0x88};
  uint8_t *exact = malloc(sizeof data);
  memcpy(exact, data, sizeof data);
  floe_error err = {0};
  pq_rle d;
  pq_rle_init(&d, exact, sizeof data, 3);
  uint32_t out[16];
  int64_t got;
  REQUIRE_OK(pq_rle_get(&d, out, 16, &got, &err), &err);
  CHECK_INT_EQ(got, 16);
  for (int i = 0; i < 8; i++) CHECK_INT_EQ(out[i], i);
  CHECK_INT_EQ(out[8], 0);
  CHECK_INT_EQ(out[9], 1);
  free(exact);
}

static void test_rle_rejects_run_value_wider_than_bit_width(void) {
  const uint8_t data[] = {0x04, 0x09}; /* RLE run of 2 with value 9 at width 3 */
  floe_error err = {0};
  pq_rle d;
  pq_rle_init(&d, data, sizeof data, 3);
  uint32_t out[4];
  int64_t got;
  CHECK_INT_EQ(pq_rle_get(&d, out, 2, &got, &err), FLOE_EFORMAT);
  const uint8_t truncated[] = {0x04}; /* value byte missing */
  pq_rle_init(&d, truncated, 1, 3);
  CHECK_INT_EQ(pq_rle_get(&d, out, 2, &got, &err), FLOE_EFORMAT);
}

static void test_legacy_bit_packed_levels_are_msb_first(void) {
  /* Encodings.md BIT_PACKED example: 0..7 at width 3. */
  const uint8_t data[] = {0x05, 0x39, 0x77};
  floe_error err = {0};
  uint32_t out[8];
  REQUIRE_OK(pq_bitpacked_be_get(data, sizeof data, 3, 0, out, 8, &err), &err);
  for (int i = 0; i < 8; i++) CHECK_INT_EQ(out[i], i);
  REQUIRE_OK(pq_bitpacked_be_get(data, sizeof data, 3, 5, out, 3, &err), &err);
  CHECK_INT_EQ(out[0], 5);
  CHECK_INT_EQ(out[2], 7);
  CHECK_INT_EQ(pq_bitpacked_be_get(data, sizeof data, 3, 5, out, 4, &err), FLOE_EFORMAT);
}

/* ---- DELTA_BINARY_PACKED -------------------------------------------- */

static size_t put_uvarint(uint8_t *out, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  out[n++] = (uint8_t)v;
  return n;
}

static uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

/* The encoder of Encodings.md "Delta Encoding", written from the spec. */
static size_t delta_encode(const int64_t *v, int64_t n, int block, int nmini, uint8_t *out) {
  size_t len = 0;
  int per = block / nmini;
  len += put_uvarint(out + len, (uint64_t)block);
  len += put_uvarint(out + len, (uint64_t)nmini);
  len += put_uvarint(out + len, (uint64_t)n);
  len += put_uvarint(out + len, zigzag(n ? v[0] : 0));
  for (int64_t start = 1; start < n; start += block) {
    int64_t count = n - start < block ? n - start : block;
    uint64_t d[1024];
    int64_t min = INT64_MAX;
    for (int64_t j = 0; j < count; j++) {
      d[j] = (uint64_t)v[start + j] - (uint64_t)v[start + j - 1];
      if ((int64_t)d[j] < min) min = (int64_t)d[j];
    }
    len += put_uvarint(out + len, zigzag(min));
    uint8_t *widths = out + len;
    len += (size_t)nmini;
    for (int m = 0; m < nmini; m++) {
      int64_t lo = (int64_t)m * per;
      if (lo >= count) {
        widths[m] = 0;
        continue;
      }
      uint64_t max = 0;
      for (int64_t j = lo; j < lo + per && j < count; j++)
        if (d[j] - (uint64_t)min > max) max = d[j] - (uint64_t)min;
      int bw = 0;
      while (bw < 64 && (max >> bw) != 0) bw++;
      widths[m] = (uint8_t)bw;
      size_t bytes = (size_t)per * (size_t)bw / 8;
      memset(out + len, 0, bytes);
      for (int64_t j = lo; j < lo + per && j < count; j++) {
        uint64_t rel = d[j] - (uint64_t)min;
        for (int k = 0; k < bw; k++) {
          size_t bit = (size_t)(j - lo) * (size_t)bw + (size_t)k;
          if ((rel >> k) & 1) out[len + bit / 8] |= (uint8_t)(1u << (bit % 8));
        }
      }
      len += bytes;
    }
  }
  return len;
}

static void test_delta_binary_packed_spec_examples(void) {
  floe_error err = {0};
  /* Example 1: 1 2 3 4 5 -> min delta 1, all widths 0. */
  const uint8_t ex1[] = {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00};
  pq_delta d;
  int64_t out[8];
  REQUIRE_OK(pq_delta_init(&d, ex1, sizeof ex1, &err), &err);
  CHECK_INT_EQ(pq_delta_total(&d), 5);
  REQUIRE_OK(pq_delta_get(&d, out, 5, &err), &err);
  for (int i = 0; i < 5; i++) CHECK_INT_EQ(out[i], i + 1);
  const uint8_t *end;
  pq_delta_init(&d, ex1, sizeof ex1, &err);
  REQUIRE_OK(pq_delta_end(&d, &end, &err), &err);
  CHECK_INT_EQ(end - ex1, (int)sizeof ex1);
  /* Example 2: 7 5 3 1 2 3 4 5 -> min delta -2, relative 0 0 0 3 3 3 3 at
   * width 2 (8 bytes for the 32-value miniblock). */
  const uint8_t ex2[] = {0x80, 0x01, 0x04, 0x08, 0x0E, 0x03, 0x02, 0x00, 0x00, 0x00,
                         0xC0, 0x3F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  const int64_t want2[] = {7, 5, 3, 1, 2, 3, 4, 5};
  REQUIRE_OK(pq_delta_init(&d, ex2, sizeof ex2, &err), &err);
  REQUIRE_OK(pq_delta_get(&d, out, 8, &err), &err);
  for (int i = 0; i < 8; i++) CHECK_INT_EQ(out[i], want2[i]);
  CHECK_INT_EQ(pq_delta_get(&d, out, 1, &err), FLOE_EFORMAT); /* only 8 values */
}

static void check_delta_round_trip(const int64_t *v, int64_t n, int block, int nmini,
                                   int step, const char *what) {
  static uint8_t enc[1 << 20];
  floe_error err = {0};
  size_t len = delta_encode(v, n, block, nmini, enc);
  uint8_t *exact = malloc(len + 1);
  memcpy(exact, enc, len);
  pq_delta d;
  const uint8_t *end;
  int64_t *out = malloc(sizeof *out * (size_t)(n + 1));
  if (pq_delta_init(&d, exact, len, &err) < 0 || pq_delta_end(&d, &end, &err) < 0) {
    TEST_FAIL_AT(__FILE__, __LINE__, "%s: %s", what, err.message);
    goto done;
  }
  if (end != exact + len)
    TEST_FAIL_AT(__FILE__, __LINE__, "%s: end at %td of %zu", what, end - exact, len);
  for (int64_t i = 0; i < n; i += step) {
    int64_t k = n - i < step ? n - i : step;
    if (pq_delta_get(&d, out + i, k, &err) < 0) {
      TEST_FAIL_AT(__FILE__, __LINE__, "%s: %s", what, err.message);
      goto done;
    }
  }
  for (int64_t i = 0; i < n; i++)
    if (out[i] != v[i]) {
      TEST_FAIL_AT(__FILE__, __LINE__, "%s: value %lld is %lld, want %lld", what, (long long)i,
                   (long long)out[i], (long long)v[i]);
      break;
    }
done:
  free(out);
  free(exact);
}

static void test_delta_binary_packed_round_trips_every_bit_width(void) {
  int64_t v[400];
  char what[64];
  for (int bw = 0; bw <= 64; bw++) {
    int64_t min_delta = (int64_t)(rng() % 2001) - 1000;
    v[0] = (int64_t)rng();
    for (int i = 1; i < 400; i++) {
      uint64_t rel = bw == 64 ? rng() : bw == 0 ? 0 : rng() & ((UINT64_C(1) << bw) - 1);
      if (i % 37 == 1 && bw > 0) rel = bw == 64 ? UINT64_MAX : (UINT64_C(1) << bw) - 1;
      if (i % 37 == 2) rel = 0;
      v[i] = (int64_t)((uint64_t)v[i - 1] + (uint64_t)min_delta + rel);
    }
    snprintf(what, sizeof what, "bit width %d", bw);
    check_delta_round_trip(v, 400, 128, 4, 7, what);
    check_delta_round_trip(v, 400, 256, 8, 64, what);
  }
}

static void test_delta_binary_packed_miniblock_edges(void) {
  int64_t v[300];
  for (int i = 0; i < 300; i++) v[i] = (int64_t)(rng() % 100000) - 50000;
  /* counts at and around miniblock (32) and block (128) boundaries */
  const int64_t counts[] = {0, 1, 2, 32, 33, 34, 128, 129, 130, 257, 300};
  char what[64];
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
    snprintf(what, sizeof what, "%lld values", (long long)counts[i]);
    check_delta_round_trip(v, counts[i], 128, 4, 1, what);
    check_delta_round_trip(v, counts[i], 32, 1, 5, what);
  }
  /* A last miniblock cut to the bytes its values need (some writers omit
   * the padding) still decodes and is never over-read. */
  static uint8_t enc[4096];
  size_t len = delta_encode(v, 34, 128, 4, enc); /* mini 1 holds 1 delta */
  floe_error err = {0};
  pq_delta d;
  REQUIRE_OK(pq_delta_init(&d, enc, len, &err), &err);
  /* width of miniblock 1 sits after the header and min delta */
  const uint8_t *p = enc;
  uint64_t tmp;
  for (int k = 0; k < 5; k++) pq_read_uvarint(&p, enc + len, &tmp);
  int w1 = p[1];
  size_t cut = (size_t)(32 * w1 / 8) - (size_t)((w1 + 7) / 8);
  uint8_t *exact = malloc(len - cut);
  memcpy(exact, enc, len - cut);
  int64_t out[34];
  const uint8_t *end;
  REQUIRE_OK(pq_delta_init(&d, exact, len - cut, &err), &err);
  CHECK_OK(pq_delta_end(&d, &end, &err), &err);
  REQUIRE_OK(pq_delta_get(&d, out, 34, &err), &err);
  for (int i = 0; i < 34; i++) CHECK_INT_EQ(out[i], v[i]);
  free(exact);
}

static void test_delta_binary_packed_rejects_bad_headers(void) {
  floe_error err = {0};
  pq_delta d;
  const uint8_t zero_block[] = {0x00, 0x04, 0x05, 0x02};
  CHECK_INT_EQ(pq_delta_init(&d, zero_block, sizeof zero_block, &err), FLOE_EFORMAT);
  const uint8_t odd_mini[] = {0x80, 0x01, 0x03, 0x05, 0x02}; /* 128 / 3 */
  CHECK_INT_EQ(pq_delta_init(&d, odd_mini, sizeof odd_mini, &err), FLOE_EFORMAT);
  const uint8_t truncated[] = {0x80, 0x01, 0x04};
  CHECK_INT_EQ(pq_delta_init(&d, truncated, sizeof truncated, &err), FLOE_EFORMAT);
  /* widths missing */
  const uint8_t no_widths[] = {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0x00};
  int64_t out[5];
  REQUIRE_OK(pq_delta_init(&d, no_widths, sizeof no_widths, &err), &err);
  CHECK_INT_EQ(pq_delta_get(&d, out, 5, &err), FLOE_EFORMAT);
  const uint8_t *end;
  pq_delta_init(&d, no_widths, sizeof no_widths, &err);
  CHECK_INT_EQ(pq_delta_end(&d, &end, &err), FLOE_EFORMAT);
  /* width 65 */
  const uint8_t wide[] = {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 65, 0, 0, 0};
  pq_delta_init(&d, wide, sizeof wide, &err);
  CHECK_INT_EQ(pq_delta_get(&d, out, 5, &err), FLOE_EFORMAT);
}

/* ---- hand-built files ----------------------------------------------- */

/* A Thrift compact-protocol writer, enough for a footer and page headers. */
typedef struct tw {
  uint8_t b[1 << 16];
  size_t n;
  int16_t last[16];
  int depth;
} tw;

static void tw_byte(tw *w, uint8_t v) { w->b[w->n++] = v; }
static void tw_varint(tw *w, uint64_t v) { w->n += put_uvarint(w->b + w->n, v); }
static void tw_field(tw *w, int id, int type) {
  int delta = id - w->last[w->depth];
  if (delta > 0 && delta <= 15) {
    tw_byte(w, (uint8_t)(delta << 4 | type));
  } else {
    tw_byte(w, (uint8_t)type);
    tw_varint(w, zigzag(id));
  }
  w->last[w->depth] = (int16_t)id;
}
static void tw_i32(tw *w, int id, int32_t v) { tw_field(w, id, 5); tw_varint(w, zigzag(v)); }
static void tw_i64(tw *w, int id, int64_t v) { tw_field(w, id, 6); tw_varint(w, zigzag(v)); }
static void tw_bin(tw *w, int id, const void *p, size_t len) {
  tw_field(w, id, 8);
  tw_varint(w, len);
  memcpy(w->b + w->n, p, len);
  w->n += len;
}
static void tw_str(tw *w, int id, const char *s) { tw_bin(w, id, s, strlen(s)); }
static void tw_begin(tw *w, int id) {
  if (id > 0) tw_field(w, id, 12);
  w->last[++w->depth] = 0;
}
static void tw_end(tw *w) {
  tw_byte(w, 0);
  w->depth--;
}
static void tw_list(tw *w, int id, int elem, int count) {
  tw_field(w, id, 9);
  tw_byte(w, (uint8_t)(count << 4 | elem));
}

typedef struct page_spec {
  int type;          /* 0 data v1, 2 dictionary */
  int encoding;
  int32_t num_values;
  const uint8_t *body;
  size_t len;
  int crc;           /* 0 none, 1 right, 2 wrong */
} page_spec;

/* One column "v" (field id 7) of physical type `phys` (converted type ct
 * when >= 0), `optional` or required, with the pages given. */
static size_t build_file(uint8_t *out, int phys, int ct, bool optional, int64_t rows,
                         const page_spec *pages, int n_pages) {
  size_t n = 0;
  memcpy(out, "PAR1", 4);
  n = 4;
  int64_t data_offset = -1, dict_offset = -1;
  for (int i = 0; i < n_pages; i++) {
    static tw h;
    memset(&h, 0, sizeof h);
    tw_begin(&h, 0);
    tw_i32(&h, 1, pages[i].type);
    tw_i32(&h, 2, (int32_t)pages[i].len);
    tw_i32(&h, 3, (int32_t)pages[i].len);
    if (pages[i].crc)
      tw_i32(&h, 4, (int32_t)(floe_crc32(0, pages[i].body, pages[i].len) ^ (pages[i].crc == 2)));
    if (pages[i].type == 2) {
      tw_begin(&h, 7);
      tw_i32(&h, 1, pages[i].num_values);
      tw_i32(&h, 2, 0);
    } else {
      tw_begin(&h, 5);
      tw_i32(&h, 1, pages[i].num_values);
      tw_i32(&h, 2, pages[i].encoding);
      tw_i32(&h, 3, 3);
      tw_i32(&h, 4, 3);
    }
    tw_end(&h);
    tw_end(&h);
    if (pages[i].type == 2) dict_offset = (int64_t)n;
    else if (data_offset < 0) data_offset = (int64_t)n;
    memcpy(out + n, h.b, h.n);
    n += h.n;
    memcpy(out + n, pages[i].body, pages[i].len);
    n += pages[i].len;
  }
  int64_t chunk_len = (int64_t)n - (dict_offset >= 0 ? dict_offset : data_offset);
  static tw f;
  memset(&f, 0, sizeof f);
  tw_begin(&f, 0);
  tw_i32(&f, 1, 1);
  tw_list(&f, 2, 12, 2);
  tw_begin(&f, 0);
  tw_str(&f, 4, "schema");
  tw_i32(&f, 5, 1);
  tw_end(&f);
  tw_begin(&f, 0);
  tw_i32(&f, 1, phys);
  tw_i32(&f, 3, optional ? 1 : 0);
  tw_str(&f, 4, "v");
  if (ct >= 0) tw_i32(&f, 6, ct);
  tw_i32(&f, 9, 7);
  tw_end(&f);
  tw_i64(&f, 3, rows);
  tw_list(&f, 4, 12, 1);
  tw_begin(&f, 0);
  tw_list(&f, 1, 12, 1);
  tw_begin(&f, 0);
  tw_i64(&f, 2, 4);
  tw_begin(&f, 3);
  tw_i32(&f, 1, phys);
  tw_list(&f, 2, 5, 1);
  tw_varint(&f, zigzag(0));
  tw_list(&f, 3, 8, 1);
  tw_varint(&f, 1);
  tw_byte(&f, 'v');
  tw_i32(&f, 4, 0);
  tw_i64(&f, 5, rows);
  tw_i64(&f, 6, chunk_len);
  tw_i64(&f, 7, chunk_len);
  tw_i64(&f, 9, data_offset);
  if (dict_offset >= 0) tw_i64(&f, 11, dict_offset);
  tw_end(&f);
  tw_end(&f);
  tw_i64(&f, 2, chunk_len);
  tw_i64(&f, 3, rows);
  tw_end(&f);
  tw_end(&f);
  memcpy(out + n, f.b, f.n);
  n += f.n;
  floe_store_u32le(out + n, (uint32_t)f.n);
  memcpy(out + n + 4, "PAR1", 4);
  return n + 8;
}

/* Reads a built file into rendered strings (static storage). */
static int read_built(const uint8_t *file, size_t len, table *t, floe_error *err) {
  char path[256];
  snprintf(path, sizeof path, "/tmp/floe_test_parquet_reader_%d.parquet", (int)getpid());
  FILE *f = fopen(path, "wb");
  if (f == NULL) return FLOE_EIO;
  fwrite(file, 1, len, f);
  fclose(f);
  int rc = read_table(path, NULL, t, err);
  remove(path);
  return rc;
}

static void test_delta_byte_array_rebuilds_values_from_prefixes(void) {
  /* "apple", "applesauce", "apply", "banana", "" : prefixes 0 5 4 0 0,
   * suffixes "apple" "sauce" "y" "banana" "". */
  const int64_t prefix[] = {0, 5, 4, 0, 0}, suffix_len[] = {5, 5, 1, 6, 0};
  uint8_t body[512];
  size_t n = delta_encode(prefix, 5, 128, 4, body);
  n += delta_encode(suffix_len, 5, 128, 4, body + n);
  memcpy(body + n, "applesauceybanana", 17);
  n += 17;
  page_spec page = {0, 7 /* DELTA_BYTE_ARRAY */, 5, body, n, 1};
  static uint8_t file[4096];
  size_t len = build_file(file, 6 /* BYTE_ARRAY */, 0 /* UTF8 */, false, 5, &page, 1);
  table t;
  floe_error err = {0};
  REQUIRE_OK(read_built(file, len, &t, &err), &err);
  REQUIRE(t.nrows == 5 && t.ncols == 1);
  const char *want[] = {"apple", "applesauce", "apply", "banana", ""};
  for (int i = 0; i < 5; i++) CHECK_STR_EQ(t.cells[i], want[i]);
  CHECK(t.types[0] == FLOE_ARROW_UTF8);
  table_free(&t);
  /* a prefix longer than the previous value is malformed */
  const int64_t bad_prefix[] = {0, 9, 4, 0, 0};
  n = delta_encode(bad_prefix, 5, 128, 4, body);
  n += delta_encode(suffix_len, 5, 128, 4, body + n);
  memcpy(body + n, "applesauceybanana", 17);
  page.len = n + 17;
  len = build_file(file, 6, 0, false, 5, &page, 1);
  CHECK_INT_EQ(read_built(file, len, &t, &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "DELTA_BYTE_ARRAY") != NULL);
  table_free(&t);
}

static void test_optional_delta_lengths_spread_over_nulls(void) {
  /* def levels 1 0 1 1 0 as RLE runs, then DELTA_LENGTH_BYTE_ARRAY of
   * "x", "yy", "" */
  uint8_t body[512];
  const uint8_t levels[] = {0x02, 0x01, 0x02, 0x00, 0x04, 0x01, 0x02, 0x00};
  floe_store_u32le(body, sizeof levels);
  memcpy(body + 4, levels, sizeof levels);
  size_t n = 4 + sizeof levels;
  const int64_t lens[] = {1, 2, 0};
  n += delta_encode(lens, 3, 128, 4, body + n);
  memcpy(body + n, "xyy", 3);
  n += 3;
  page_spec page = {0, 6 /* DELTA_LENGTH_BYTE_ARRAY */, 5, body, n, 0};
  static uint8_t file[4096];
  size_t len = build_file(file, 6, -1 /* plain binary */, true, 5, &page, 1);
  table t;
  floe_error err = {0};
  REQUIRE_OK(read_built(file, len, &t, &err), &err);
  REQUIRE(t.nrows == 5);
  CHECK_STR_EQ(t.cells[0], "78");
  CHECK(t.cells[1] == NULL);
  CHECK_STR_EQ(t.cells[2], "7979");
  CHECK_STR_EQ(t.cells[3], "");
  CHECK(t.cells[4] == NULL);
  table_free(&t);
}

static void test_dictionary_pages_and_bad_indices(void) {
  /* dictionary of three INT64 values, indices 2 0 1 2 at width 2 */
  uint8_t dict[24];
  floe_store_u64le(dict, 100);
  floe_store_u64le(dict + 8, (uint64_t)-5);
  floe_store_u64le(dict + 16, 7);
  const uint8_t idx[] = {2, 0x03, 0x92, 0x00}; /* one bit-packed group: 2 0 1 2 0 0 0 0 */
  page_spec pages[2] = {{2, 0, 3, dict, sizeof dict, 1}, {0, 8, 4, idx, sizeof idx, 1}};
  static uint8_t file[4096];
  size_t len = build_file(file, 2 /* INT64 */, -1, false, 4, pages, 2);
  table t;
  floe_error err = {0};
  REQUIRE_OK(read_built(file, len, &t, &err), &err);
  REQUIRE(t.nrows == 4);
  CHECK_STR_EQ(t.cells[0], "7");
  CHECK_STR_EQ(t.cells[1], "100");
  CHECK_STR_EQ(t.cells[2], "-5");
  CHECK_STR_EQ(t.cells[3], "7");
  table_free(&t);
  /* index 3 is past the 3-entry dictionary */
  const uint8_t bad[] = {2, 0x03, 0x93, 0x00};
  pages[1].body = bad;
  len = build_file(file, 2, -1, false, 4, pages, 2);
  CHECK_INT_EQ(read_built(file, len, &t, &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "dictionary index 3") != NULL);
  table_free(&t);
  /* a data page that uses a dictionary the chunk does not have */
  len = build_file(file, 2, -1, false, 4, pages + 1, 1);
  CHECK_INT_EQ(read_built(file, len, &t, &err), FLOE_EFORMAT);
  table_free(&t);
}

static void test_page_crc_mismatch_names_where(void) {
  uint8_t body[16];
  floe_store_u32le(body, 1);
  floe_store_u32le(body + 4, 2);
  page_spec page = {0, 0, 2, body, 8, 2};
  static uint8_t file[4096];
  size_t len = build_file(file, 1 /* INT32 */, -1, false, 2, &page, 1);
  table t;
  floe_error err = {0};
  CHECK_INT_EQ(read_built(file, len, &t, &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "CRC mismatch") != NULL);
  CHECK(strstr(err.message, "row group 0, column 'v', page at offset 4") != NULL);
  CHECK(strstr(err.message, ".parquet") != NULL);
  table_free(&t);
  page.crc = 1;
  len = build_file(file, 1, -1, false, 2, &page, 1);
  REQUIRE_OK(read_built(file, len, &t, &err), &err);
  CHECK(t.nrows == 2 && strcmp(t.cells[1], "2") == 0);
  table_free(&t);
  /* fewer values than rows: the chunk runs out of pages */
  len = build_file(file, 1, -1, false, 3, &page, 1);
  CHECK_INT_EQ(read_built(file, len, &t, &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "no more pages") != NULL);
  table_free(&t);
}

static void test_footer_fuzz_regression_seeds_are_rejected_cleanly(void) {
  /* Each truncation of a valid file must fail cleanly, never crash. */
  uint8_t body[8];
  floe_store_u32le(body, 1);
  floe_store_u32le(body + 4, 2);
  page_spec page = {0, 0, 2, body, 8, 1};
  static uint8_t file[4096];
  size_t len = build_file(file, 1, -1, false, 2, &page, 1);
  int failures = 0;
  for (size_t cut = 0; cut < len; cut++) {
    floe_parquet_reader *r = NULL;
    floe_error err = {0};
    uint8_t *copy = malloc(cut + 1);
    memcpy(copy, file, cut);
    if (floe_parquet_reader_open_memory(&r, copy, cut, "cut", &err) < 0) failures++;
    floe_parquet_reader_free(r);
    free(copy);
  }
  CHECK_INT_EQ(failures, (int)len);
  /* every single-byte corruption of the footer: open + scan without crashing */
  for (size_t i = len - 8 - 60; i < len - 8; i++) {
    for (int bit = 0; bit < 8; bit++) {
      uint8_t *copy = malloc(len);
      memcpy(copy, file, len);
      copy[i] ^= (uint8_t)(1 << bit);
      floe_parquet_reader *r = NULL;
      floe_parquet_scan *s = NULL;
      floe_error err = {0};
      if (floe_parquet_reader_open_memory(&r, copy, len, "flip", &err) == FLOE_OK &&
          floe_parquet_reader_scan_open(&s, r, NULL, &err) == FLOE_OK) {
        struct ArrowArray a;
        while (floe_parquet_reader_scan_next(s, &a, NULL, &err) == FLOE_OK && a.release)
          floe_arrow_array_release(&a);
      }
      floe_parquet_reader_scan_free(s);
      floe_parquet_reader_free(r);
      free(copy);
    }
  }
}

/* ---- lists (hand-built) ---------------------------------------------- */

/* One schema element of a hand-built file. */
typedef struct elem_spec {
  const char *name;
  int phys;       /* -1: group */
  int repetition; /* 0 required, 1 optional, 2 repeated */
  int children;
  int ct;         /* converted type, -1 none (3 = LIST) */
  int field_id;   /* -1 none */
} elem_spec;

typedef struct lpage {
  bool v2;
  int32_t num_values, num_rows;
  const uint32_t *rep, *def; /* num_values levels each */
  int rep_bw, def_bw;
  const int32_t *values;     /* PLAIN INT32 */
  int32_t n_values;
} lpage;

/* RLE/bit-packed hybrid levels as bit-packed runs (Encodings.md). */
static size_t encode_levels(const uint32_t *lv, int32_t n, int bw, uint8_t *out) {
  size_t k = 0;
  int32_t groups = (n + 7) / 8;
  k += put_uvarint(out, (uint64_t)groups << 1 | 1);
  memset(out + k, 0, (size_t)groups * (size_t)bw);
  for (int32_t i = 0; i < n; i++)
    for (int b = 0; b < bw; b++)
      if ((lv[i] >> b) & 1) {
        int64_t bit = (int64_t)i * bw + b;
        out[k + (size_t)(bit / 8)] |= (uint8_t)(1u << (bit % 8));
      }
  return k + (size_t)groups * (size_t)bw;
}

/* A file with the schema `elems` (elems[0] is the root) and n_cols INT32
 * leaf columns in one row group: column c has pages_per_col[c] of the
 * pages given, in order. */
static size_t build_columns_file(uint8_t *out, const elem_spec *elems, int n_elems, int64_t rows,
                                 const lpage *pages, const int *pages_per_col, int n_cols) {
  size_t n = 4;
  memcpy(out, "PAR1", 4);
  int64_t data_offset[4], chunk_len[4], total_values[4];
  int page = 0;
  for (int c = 0; c < n_cols && c < 4; c++) {
    data_offset[c] = (int64_t)n;
    total_values[c] = 0;
    for (int i = 0; i < pages_per_col[c]; i++, page++) {
      const lpage *pg = &pages[page];
      static uint8_t body[1 << 16];
      size_t len = 0, rep_len = 0, def_len = 0;
      if (pg->rep_bw > 0) {
        size_t at = len + (pg->v2 ? 0 : 4);
        rep_len = encode_levels(pg->rep, pg->num_values, pg->rep_bw, body + at);
        if (!pg->v2) floe_store_u32le(body + len, (uint32_t)rep_len);
        len = at + rep_len;
      }
      if (pg->def_bw > 0) {
        size_t at = len + (pg->v2 ? 0 : 4);
        def_len = encode_levels(pg->def, pg->num_values, pg->def_bw, body + at);
        if (!pg->v2) floe_store_u32le(body + len, (uint32_t)def_len);
        len = at + def_len;
      }
      for (int32_t v = 0; v < pg->n_values; v++) floe_store_u32le(body + len + 4 * (size_t)v, (uint32_t)pg->values[v]);
      len += 4 * (size_t)pg->n_values;
      static tw h;
      memset(&h, 0, sizeof h);
      tw_begin(&h, 0);
      tw_i32(&h, 1, pg->v2 ? 3 : 0);
      tw_i32(&h, 2, (int32_t)len);
      tw_i32(&h, 3, (int32_t)len);
      if (pg->v2) {
        tw_begin(&h, 8);
        tw_i32(&h, 1, pg->num_values);
        tw_i32(&h, 2, 0);
        tw_i32(&h, 3, pg->num_rows);
        tw_i32(&h, 4, 0);
        tw_i32(&h, 5, (int32_t)def_len);
        tw_i32(&h, 6, (int32_t)rep_len);
        tw_field(&h, 7, 2); /* is_compressed = false */
      } else {
        tw_begin(&h, 5);
        tw_i32(&h, 1, pg->num_values);
        tw_i32(&h, 2, 0);
        tw_i32(&h, 3, 3);
        tw_i32(&h, 4, 3);
      }
      tw_end(&h);
      tw_end(&h);
      memcpy(out + n, h.b, h.n);
      n += h.n;
      memcpy(out + n, body, len);
      n += len;
      total_values[c] += pg->num_values;
    }
    chunk_len[c] = (int64_t)n - data_offset[c];
  }
  int64_t total_len = (int64_t)n - 4;
  static tw f;
  memset(&f, 0, sizeof f);
  tw_begin(&f, 0);
  tw_i32(&f, 1, 1);
  tw_list(&f, 2, 12, n_elems);
  for (int i = 0; i < n_elems; i++) {
    tw_begin(&f, 0);
    if (elems[i].phys >= 0) tw_i32(&f, 1, elems[i].phys);
    if (i > 0) tw_i32(&f, 3, elems[i].repetition);
    tw_str(&f, 4, elems[i].name);
    if (elems[i].children > 0) tw_i32(&f, 5, elems[i].children);
    if (elems[i].ct >= 0) tw_i32(&f, 6, elems[i].ct);
    if (elems[i].field_id >= 0) tw_i32(&f, 9, elems[i].field_id);
    tw_end(&f);
  }
  tw_i64(&f, 3, rows);
  tw_list(&f, 4, 12, 1);
  tw_begin(&f, 0);
  tw_list(&f, 1, 12, n_cols);
  for (int c = 0; c < n_cols && c < 4; c++) {
    tw_begin(&f, 0);
    tw_i64(&f, 2, data_offset[c]);
    tw_begin(&f, 3);
    tw_i32(&f, 1, 1 /* INT32 */);
    tw_list(&f, 2, 5, 1);
    tw_varint(&f, zigzag(0));
    tw_list(&f, 3, 8, 1);
    tw_varint(&f, 1);
    tw_byte(&f, 'v');
    tw_i32(&f, 4, 0);
    tw_i64(&f, 5, total_values[c]);
    tw_i64(&f, 6, chunk_len[c]);
    tw_i64(&f, 7, chunk_len[c]);
    tw_i64(&f, 9, data_offset[c]);
    tw_end(&f);
    tw_end(&f);
  }
  tw_i64(&f, 2, total_len);
  tw_i64(&f, 3, rows);
  tw_end(&f);
  tw_end(&f);
  memcpy(out + n, f.b, f.n);
  n += f.n;
  floe_store_u32le(out + n, (uint32_t)f.n);
  memcpy(out + n + 4, "PAR1", 4);
  return n + 8;
}

/* A file with the schema `elems`, one INT32 leaf column (the last
 * element) and the pages given. */
static size_t build_list_file(uint8_t *out, const elem_spec *elems, int n_elems, int64_t rows,
                              const lpage *pages, int n_pages) {
  return build_columns_file(out, elems, n_elems, rows, pages, &n_pages, 1);
}

/* Reads a built file with a batch size into t. */
static int read_built_opt(const uint8_t *file, size_t len, const floe_parquet_scan_options *opt,
                          table *t, floe_error *err) {
  char path[256];
  snprintf(path, sizeof path, "/tmp/floe_test_parquet_lists_%d.parquet", (int)getpid());
  FILE *f = fopen(path, "wb");
  if (f == NULL) return FLOE_EIO;
  fwrite(file, 1, len, f);
  fclose(f);
  int rc = read_table(path, opt, t, err);
  remove(path);
  return rc;
}

/* Checks column 0 of every batch size against want (NULL = null list). */
static void check_list_rows(const uint8_t *file, size_t len, const char *const *want, int64_t n) {
  const int64_t sizes[] = {0, 1, 2, 4};
  for (size_t b = 0; b < sizeof sizes / sizeof sizes[0]; b++) {
    floe_parquet_scan_options opt = {0};
    opt.batch_size = sizes[b];
    table t;
    floe_error err = {0};
    int rc = read_built_opt(file, len, &opt, &t, &err);
    if (rc != FLOE_OK) {
      TEST_FAIL_AT(__FILE__, __LINE__, "batch size %lld: %s", (long long)sizes[b], err.message);
      table_free(&t);
      continue;
    }
    CHECK_INT_EQ(t.nrows, n);
    CHECK(t.ncols == 1 && t.types[0] == FLOE_ARROW_LIST);
    for (int64_t r = 0; r < t.nrows && r < n; r++) {
      bool ok = want[r] == NULL ? t.cells[r] == NULL : t.cells[r] != NULL && strcmp(t.cells[r], want[r]) == 0;
      if (!ok)
        TEST_FAIL_AT(__FILE__, __LINE__, "batch size %lld row %lld: got %s, expected %s", (long long)sizes[b],
                     (long long)r, t.cells[r] ? t.cells[r] : "NULL", want[r] ? want[r] : "NULL");
    }
    table_free(&t);
  }
}

/* The standard 3-level layout, optional list of optional int32, in two v1
 * pages with a row split across them (v1 pages may split records), and
 * the same rows in one v2 page. Levels follow parquet-format's nested
 * encoding: list_def 1, element present 2, value 3. */
static void test_three_level_lists_tell_null_empty_and_null_elements_apart(void) {
  const elem_spec schema[] = {{"schema", -1, 0, 1, -1, -1},
                              {"l", -1, 1, 1, 3 /* LIST */, 5},
                              {"list", -1, 2, 1, -1, -1},
                              {"element", 1, 1, 0, -1, 6}};
  /* [1, 2, NULL], NULL, [], [4], [NULL], [5, 6, 7] */
  const uint32_t rep[] = {0, 1, 1, 0, 0, 0, 0, 0, 1, 1};
  const uint32_t def[] = {3, 3, 2, 0, 1, 3, 2, 3, 3, 3};
  const int32_t v1[] = {1, 2, 4, 5}, v2[] = {6, 7}, all[] = {1, 2, 4, 5, 6, 7};
  const char *want[] = {"[1, 2, \\N]", NULL, "[]", "[4]", "[\\N]", "[5, 6, 7]"};
  static uint8_t file[16384];
  lpage pages[2] = {{false, 8, 0, rep, def, 1, 2, v1, 4}, {false, 2, 0, rep + 8, def + 8, 1, 2, v2, 2}};
  size_t len = build_list_file(file, schema, 4, 6, pages, 2);
  check_list_rows(file, len, want, 6);
  lpage one = {true, 10, 6, rep, def, 1, 2, all, 6};
  len = build_list_file(file, schema, 4, 6, &one, 1);
  check_list_rows(file, len, want, 6);
  /* The column is named and numbered by its list; the element id finds it
   * too; the Arrow schema has the element's id and nullability. */
  table t;
  floe_error err = {0};
  floe_parquet_scan_options opt = {0};
  const int32_t by_element[] = {6};
  opt.field_ids = by_element;
  opt.n_field_ids = 1;
  REQUIRE_OK(read_built_opt(file, len, &opt, &t, &err), &err);
  CHECK_STR_EQ(t.names[0], "l");
  table_free(&t);
  floe_parquet_reader *r = NULL;
  REQUIRE_OK(floe_parquet_reader_open_memory(&r, file, len, "lists", &err), &err);
  const floe_parquet_column_info *c = floe_parquet_reader_column(r, 0);
  CHECK_STR_EQ(c->name, "l");
  CHECK_INT_EQ(c->field_id, 5);
  CHECK_INT_EQ(c->element_field_id, 6);
  CHECK(c->nested && c->nullable && c->element_nullable);
  CHECK_INT_EQ(c->list_definition_level, 1);
  CHECK_INT_EQ(c->element_definition_level, 2);
  struct ArrowSchema s;
  REQUIRE_OK(floe_parquet_reader_arrow_schema(r, &s, &err), &err);
  CHECK_STR_EQ(s.children[0]->format, "+l");
  CHECK_INT_EQ(floe_arrow_schema_field_id(s.children[0]), 5);
  CHECK_INT_EQ(floe_arrow_schema_field_id(s.children[0]->children[0]), 6);
  CHECK(s.children[0]->children[0]->flags & ARROW_FLAG_NULLABLE);
  floe_arrow_schema_release(&s);
  floe_parquet_reader_free(r);
}

/* Legacy layouts (LogicalTypes.md, backward-compatibility rules): a LIST
 * group over a repeated primitive (2-level), and a bare repeated field. */
static void test_legacy_two_level_and_bare_repeated_lists(void) {
  static uint8_t file[16384];
  /* optional group l (LIST) { repeated int32 element; }: [1, 2], NULL, [], [3] */
  const elem_spec two[] = {{"schema", -1, 0, 1, -1, -1}, {"l", -1, 1, 1, 3, 5}, {"element", 1, 2, 0, -1, 6}};
  const uint32_t rep2[] = {0, 1, 0, 0, 0}, def2[] = {2, 2, 0, 1, 2};
  const int32_t val2[] = {1, 2, 3};
  lpage p2 = {false, 5, 0, rep2, def2, 1, 2, val2, 3};
  size_t len = build_list_file(file, two, 3, 4, &p2, 1);
  const char *want2[] = {"[1, 2]", NULL, "[]", "[3]"};
  check_list_rows(file, len, want2, 4);
  floe_parquet_reader *r = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_parquet_reader_open_memory(&r, file, len, "two", &err), &err);
  CHECK_STR_EQ(floe_parquet_reader_column(r, 0)->name, "l");
  CHECK(!floe_parquet_reader_column(r, 0)->element_nullable);
  floe_parquet_reader_free(r);
  /* repeated int32 l: a required list of required elements: [7, 8], [], [9] */
  const elem_spec bare[] = {{"schema", -1, 0, 1, -1, -1}, {"l", 1, 2, 0, -1, 4}};
  const uint32_t rep3[] = {0, 1, 0, 0}, def3[] = {1, 1, 0, 1};
  const int32_t val3[] = {7, 8, 9};
  lpage p3 = {false, 4, 0, rep3, def3, 1, 1, val3, 3};
  len = build_list_file(file, bare, 2, 3, &p3, 1);
  const char *want3[] = {"[7, 8]", "[]", "[9]"};
  check_list_rows(file, len, want3, 3);
  REQUIRE_OK(floe_parquet_reader_open_memory(&r, file, len, "bare", &err), &err);
  CHECK(!floe_parquet_reader_column(r, 0)->nullable);
  CHECK_INT_EQ(floe_parquet_reader_column(r, 0)->field_id, 4);
  floe_parquet_reader_free(r);
}

/* Legacy lists of structs (LogicalTypes.md, backward-compatibility rules
 * 2 and 3: a LIST group over a repeated group of several fields, or of one
 * field named "array" or "<name>_tuple", which is itself the element) are
 * read as lists of
 * required structs, nulls and empties kept apart; a map without its value
 * stays unreadable: skipped by default, FLOE_EUNSUPPORTED when projected. A
 * standard list of lists is read as one nested column (its leaf alone
 * stays unreadable). */
static void test_legacy_struct_lists_read_and_keyless_maps_refused(void) {
  static uint8_t file[16384];
  /* optional group l (LIST) { repeated group <name> { optional int32 x; } }:
   * [{x: 1}, {x: NULL}], NULL, [], [{x: 3}] */
  const char *names[] = {"array", "l_tuple"};
  for (int k = 0; k < 2; k++) {
    const elem_spec legacy[] = {{"schema", -1, 0, 1, -1, -1}, {"l", -1, 1, 1, 3, 5},
                                {names[k], -1, 2, 1, -1, -1}, {"x", 1, 1, 0, -1, 6}};
    const uint32_t rep[] = {0, 1, 0, 0, 0}, def[] = {3, 2, 0, 1, 3};
    const int32_t values[] = {1, 3};
    lpage p = {k == 1, 5, 4, rep, def, 1, 2, values, 2};
    size_t len = build_list_file(file, legacy, 4, 4, &p, 1);
    const char *want[] = {"[{x: 1}, {x: \\N}]", NULL, "[]", "[{x: 3}]"};
    check_list_rows(file, len, want, 4);
    floe_parquet_reader *r = NULL;
    floe_error err = {0};
    REQUIRE_OK(floe_parquet_reader_open_memory(&r, file, len, "legacy", &err), &err);
    struct ArrowSchema s;
    REQUIRE_OK(floe_parquet_reader_arrow_schema(r, &s, &err), &err);
    REQUIRE(s.n_children == 1);
    CHECK_STR_EQ(s.children[0]->format, "+l");
    CHECK_INT_EQ(floe_arrow_schema_field_id(s.children[0]), 5);
    CHECK_STR_EQ(s.children[0]->children[0]->format, "+s");
    CHECK(!(s.children[0]->children[0]->flags & ARROW_FLAG_NULLABLE)); /* a required element */
    CHECK_INT_EQ(floe_arrow_schema_field_id(s.children[0]->children[0]->children[0]), 6);
    floe_arrow_schema_release(&s);
    floe_parquet_reader_free(r);
  }
  /* required int32 x in a repeated group named "array": [{x: 7}, {x: 8}], NULL, [] */
  const elem_spec req[] = {{"schema", -1, 0, 1, -1, -1}, {"l", -1, 1, 1, 3, 5},
                           {"array", -1, 2, 1, -1, -1}, {"x", 1, 0, 0, -1, 6}};
  const uint32_t rep2[] = {0, 1, 0, 0}, def2[] = {2, 2, 0, 1};
  const int32_t values2[] = {7, 8};
  lpage p2 = {false, 4, 0, rep2, def2, 1, 2, values2, 2};
  size_t len2 = build_list_file(file, req, 4, 3, &p2, 1);
  const char *want2[] = {"[{x: 7}, {x: 8}]", NULL, "[]"};
  check_list_rows(file, len2, want2, 3);

  /* Rule 2: a repeated group of several fields is the element:
   * optional group l (LIST) { repeated group pair { optional int32 a; required int32 b; } }:
   * [{a: 1, b: 2}, {a: NULL, b: 4}], [], NULL */
  const elem_spec pairs[] = {{"schema", -1, 0, 1, -1, -1}, {"l", -1, 1, 1, 3, 5},
                             {"pair", -1, 2, 2, -1, -1}, {"a", 1, 1, 0, -1, 6}, {"b", 1, 0, 0, -1, 7}};
  const uint32_t rep_a[] = {0, 1, 0, 0}, def_a[] = {3, 2, 1, 0}, rep_b[] = {0, 1, 0, 0}, def_b[] = {2, 2, 1, 0};
  const int32_t val_a[] = {1}, val_b[] = {2, 4};
  const lpage pair_pages[] = {{false, 4, 0, rep_a, def_a, 1, 2, val_a, 1}, {false, 4, 0, rep_b, def_b, 1, 2, val_b, 2}};
  const int per_col[] = {1, 1};
  size_t len3 = build_columns_file(file, pairs, 5, 3, pair_pages, per_col, 2);
  const char *want3[] = {"[{a: 1, b: 2}, {a: \\N, b: 4}]", "[]", NULL};
  check_list_rows(file, len3, want3, 3);

  const uint32_t rep[] = {0}, def[] = {0};
  lpage p = {false, 1, 0, rep, def, 1, 3, NULL, 0};
  const elem_spec nested[] = {{"schema", -1, 0, 1, -1, -1}, {"l", -1, 1, 1, 3, 5},
                              {"list", -1, 2, 1, -1, -1}, {"element", -1, 1, 1, 3, 6},
                              {"list", -1, 2, 1, -1, -1}, {"element", 1, 1, 0, -1, 7}};
  const elem_spec map[] = {{"schema", -1, 0, 1, -1, -1}, {"m", -1, 1, 1, 1 /* MAP */, 5},
                           {"key_value", -1, 2, 1, -1, -1}, {"key", 1, 0, 0, -1, 6}};
  const struct {
    const elem_spec *e;
    int n;
  } cases[] = {{nested, 6}, {map, 4}};
  for (int i = 0; i < 2; i++) {
    size_t len = build_list_file(file, cases[i].e, cases[i].n, 1, &p, 1);
    table t;
    floe_error err = {0};
    if (i == 0) {
      CHECK_OK(read_built_opt(file, len, NULL, &t, &err), &err);
      REQUIRE(t.ncols == 1 && t.nrows == 1);
      CHECK_STR_EQ(t.names[0], "l");
      CHECK(t.types[0] == FLOE_ARROW_LIST);
      CHECK(t.cells[0] == NULL); /* definition level 0: a null list */
    } else {
      CHECK_INT_EQ(read_built_opt(file, len, NULL, &t, &err), FLOE_EUNSUPPORTED);
      CHECK(strstr(err.message, "no readable columns") != NULL);
    }
    table_free(&t);
    floe_parquet_scan_options opt = {0};
    const int32_t id = i == 0 ? 7 : 6;
    opt.field_ids = &id;
    opt.n_field_ids = 1;
    CHECK_INT_EQ(read_built_opt(file, len, &opt, &t, &err), FLOE_EUNSUPPORTED);
    CHECK(strstr(err.message, "nested") != NULL);
    table_free(&t);
  }
}

/* Broken levels are format errors that say where. */
static void test_bad_list_levels_are_format_errors(void) {
  static uint8_t file[16384];
  const elem_spec schema[] = {{"schema", -1, 0, 1, -1, -1}, {"l", -1, 1, 1, 3, 5},
                              {"list", -1, 2, 1, -1, -1}, {"element", 1, 0, 0, -1, 6}};
  const int32_t vals[] = {1, 2};
  /* a record starting with repetition level 1 */
  const uint32_t rep1[] = {1, 0}, def1[] = {2, 2};
  lpage p = {false, 2, 0, rep1, def1, 1, 2, vals, 2};
  size_t len = build_list_file(file, schema, 4, 2, &p, 1);
  table t;
  floe_error err = {0};
  CHECK_INT_EQ(read_built_opt(file, len, NULL, &t, &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "repetition level 1 where no list is open") != NULL);
  CHECK(strstr(err.message, "column 'l'") != NULL);
  table_free(&t);
  /* an element after a null list */
  const uint32_t rep2[] = {0, 1}, def2[] = {0, 2};
  lpage q = {false, 2, 0, rep2, def2, 1, 2, vals, 1};
  len = build_list_file(file, schema, 4, 1, &q, 1);
  CHECK_INT_EQ(read_built_opt(file, len, NULL, &t, &err), FLOE_EFORMAT);
  table_free(&t);
  /* fewer rows than the row group claims */
  const uint32_t rep3[] = {0, 1}, def3[] = {2, 2};
  lpage z = {false, 2, 0, rep3, def3, 1, 2, vals, 2};
  len = build_list_file(file, schema, 4, 3, &z, 1);
  CHECK_INT_EQ(read_built_opt(file, len, NULL, &t, &err), FLOE_EFORMAT);
  table_free(&t);
  /* repetition levels that end before the page's values */
  lpage w = {false, 2, 0, rep3, def3, 1, 2, vals, 2};
  len = build_list_file(file, schema, 4, 1, &w, 1);
  for (size_t i = 0; i + 5 < len; i++)
    if (memcmp(file + i, "\x02\x00\x00\x00\x03", 5) == 0) { /* rep levels: 2 bytes, 1 group */
      file[i + 4] = 0; /* a corrupt run header */
      break;
    }
  CHECK_INT_EQ(read_built_opt(file, len, NULL, &t, &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "column 'l'") != NULL);
  table_free(&t);
}

/* Many rows over many pages and SLICE boundaries: random list lengths,
 * null lists and null elements, v1 and v2, against the generator. */
static void test_long_lists_cross_pages_and_batches(void) {
  const elem_spec schema[] = {{"schema", -1, 0, 1, -1, -1}, {"l", -1, 1, 1, 3, 5},
                              {"list", -1, 2, 1, -1, -1}, {"element", 1, 1, 0, -1, 6}};
  enum { ROWS = 300 };
  static uint32_t rep[8192], def[8192];
  static int32_t vals[8192];
  static char *want[ROWS];
  int32_t n = 0, nv = 0;
  for (int r = 0; r < ROWS; r++) {
    floe_buf b = FLOE_BUF_INIT;
    int kind = (int)(rng() % 10);
    if (kind == 0) {
      rep[n] = 0, def[n++] = 0;
      want[r] = NULL;
      continue;
    }
    int len = kind == 1 ? 0 : (int)(rng() % 40);
    floe_buf_append_byte(&b, '[');
    if (len == 0) rep[n] = 0, def[n++] = 1;
    for (int k = 0; k < len; k++) {
      rep[n] = k ? 1 : 0;
      if (rng() % 7 == 0) {
        def[n++] = 2;
        floe_buf_append_str(&b, k ? ", \\N" : "\\N");
      } else {
        def[n++] = 3;
        vals[nv] = (int32_t)(rng() % 100000) - 50000;
        floe_buf_appendf(&b, k ? ", %d" : "%d", vals[nv++]);
      }
    }
    floe_buf_append_byte(&b, ']');
    floe_buf_terminate(&b);
    want[r] = strdup((char *)b.data);
    floe_buf_free(&b);
  }
  /* v1 pages of 1000 level entries (rows split), values per page */
  static lpage pages[16];
  int np = 0;
  int32_t vpos = 0;
  for (int32_t at = 0; at < n; at += 1000) {
    int32_t k = n - at < 1000 ? n - at : 1000, kv = 0;
    for (int32_t i = 0; i < k; i++) kv += def[at + i] == 3;
    pages[np++] = (lpage){false, k, 0, rep + at, def + at, 1, 2, vals + vpos, kv};
    vpos += kv;
  }
  static uint8_t file[1 << 17];
  size_t len = build_list_file(file, schema, 4, ROWS, pages, np);
  REQUIRE(len < sizeof file);
  check_list_rows(file, len, (const char *const *)want, ROWS);
  lpage whole = {true, n, ROWS, rep, def, 1, 2, vals, nv};
  len = build_list_file(file, schema, 4, ROWS, &whole, 1);
  check_list_rows(file, len, (const char *const *)want, ROWS);
  for (int r = 0; r < ROWS; r++) free(want[r]);
}

/* ---- fixtures ------------------------------------------------------- */

static const char *const pt_files[] = {
    "alltypes_dictionary", "alltypes_plain", "alltypes_plain.snappy", "binary",
    "binary_truncated_min_max", "byte_array_decimal", "byte_stream_split.zstd",
    "column_chunk_key_value_metadata", "concatenated_gzip_members",
    "datapage_v1-snappy-compressed-checksum", "datapage_v2.snappy",
    "datapage_v2_empty_datapage.snappy", "delta_binary_packed", "delta_byte_array",
    "delta_encoding_optional_column", "delta_encoding_required_column",
    "delta_length_byte_array", "dict-page-offset-zero", "fixed_length_byte_array",
    "fixed_length_decimal", "fixed_length_decimal_legacy", "hadoop_lz4_compressed",
    "int32_decimal", "int32_with_null_pages", "int64_decimal", "lz4_raw_compressed",
    "nan_in_stats", "non_hadoop_lz4_compressed", "nulls.snappy", "page_v2_empty_compressed",
    "plain-dict-uncompressed-checksum", "rle-dict-snappy-checksum", "rle_boolean_encoding",
    "single_nan", "sort_columns",
    /* handled by their own tests: int96_from_spark, the two corrupt-checksum files */
};

/* Compares our table with an expected CSV; by column name (dual-reader)
 * or by position (parquet-testing expect CSVs, whose headers differ). */
static int compare_csv(const char *file, const table *got, const table *want, bool by_name) {
  int failures = 0;
  if (got->nrows != want->nrows) {
    TEST_FAIL_AT(__FILE__, __LINE__, "%s: %lld rows, expected %lld", file,
                 (long long)got->nrows, (long long)want->nrows);
    return 1;
  }
  if (!by_name && got->ncols != want->ncols) {
    TEST_FAIL_AT(__FILE__, __LINE__, "%s: %d columns, expected %d", file, got->ncols, want->ncols);
    return 1;
  }
  for (int wc = 0; wc < want->ncols; wc++) {
    int gc = wc;
    if (by_name) {
      gc = -1;
      for (int c = 0; c < got->ncols; c++)
        if (strcmp(got->names[c], want->names[wc]) == 0) gc = c;
      if (gc < 0) {
        /* Only nested columns (rendered as lists/structs) may be missing. */
        bool nested = true;
        for (int64_t r = 0; r < want->nrows; r++) {
          const char *w = want->cells[r * want->ncols + wc];
          if (w != NULL && w[0] != '[' && w[0] != '{') nested = false;
        }
        if (!nested) {
          TEST_FAIL_AT(__FILE__, __LINE__, "%s: column '%s' missing", file, want->names[wc]);
          failures++;
        }
        continue;
      }
    }
    for (int64_t r = 0; r < want->nrows; r++) {
      const char *g = got->cells[r * got->ncols + gc], *w = want->cells[r * want->ncols + wc];
      if (!cell_equal(g, w, got->types[gc])) {
        if (failures++ < 5)
          TEST_FAIL_AT(__FILE__, __LINE__, "%s: row %lld column '%s': got %s, expected %s", file,
                       (long long)r, got->names[gc], g ? g : "NULL", w ? w : "NULL");
      }
    }
  }
  return failures;
}

static void test_fixtures_match_expected_csv_values(void) {
  if (test_fixture("parquet/parquet-testing") == NULL) SKIP("../shared/fixtures absent");
  int checked = 0, cells = 0;
  for (size_t i = 0; i < sizeof pt_files / sizeof pt_files[0]; i++) {
    char rel[256], path[4096];
    snprintf(rel, sizeof rel, "parquet/parquet-testing/%s.parquet", pt_files[i]);
    snprintf(path, sizeof path, "%s", test_fixture(rel));
    table got, want;
    floe_error err = {0};
    if (read_table(path, NULL, &got, &err) != FLOE_OK) {
      TEST_FAIL_AT(__FILE__, __LINE__, "%s: %s", pt_files[i], err.message);
      table_free(&got);
      continue;
    }
    int files_compared = 0;
    snprintf(rel, sizeof rel, "parquet/expected/dual-reader/%s.csv", pt_files[i]);
    if (test_fixture(rel) != NULL) {
      char *text = read_text(test_fixture(rel), NULL);
      parse_csv(text, "\\N", &want);
      compare_csv(pt_files[i], &got, &want, true);
      cells += (int)(want.nrows * want.ncols);
      table_free(&want);
      free(text);
      files_compared++;
    }
    snprintf(rel, sizeof rel, "parquet/expected/parquet-testing/%s_expect.csv", pt_files[i]);
    if (test_fixture(rel) != NULL) {
      char *text = read_text(test_fixture(rel), NULL);
      parse_csv(text, NULL, &want);
      compare_csv(pt_files[i], &got, &want, false);
      cells += (int)(want.nrows * want.ncols);
      table_free(&want);
      free(text);
      files_compared++;
    }
    if (files_compared == 0)
      TEST_FAIL_AT(__FILE__, __LINE__, "%s: no expected CSV", pt_files[i]);
    checked++;
    table_free(&got);
  }
  CHECK_INT_EQ(checked, 35);
  fprintf(stderr, "  %d expected cells compared\n", cells);
  CHECK(cells > 40000);
}

/* hyparquet's JSON: rows of values in file column order. */
static bool json_cell_equal(const json_t *j, const char *got, floe_arrow_type type) {
  if (json_is_null(j)) return got == NULL;
  if (got == NULL) return false;
  if (json_is_boolean(j)) return strcmp(got, json_is_true(j) ? "true" : "false") == 0;
  if (json_is_integer(j)) {
    if (type == FLOE_ARROW_DECIMAL128 || type == FLOE_ARROW_FLOAT || type == FLOE_ARROW_DOUBLE)
      return strtod(got, NULL) == (double)json_integer_value(j);
    char text[32];
    snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
    return strcmp(text, got) == 0;
  }
  if (json_is_real(j)) {
    double want = json_real_value(j), g = strtod(got, NULL);
    if (type == FLOE_ARROW_FLOAT) return (float)want == (float)g;
    return want == g || fabs(want - g) <= 1e-12 * fabs(want);
  }
  if (json_is_string(j)) {
    const char *s = json_string_value(j);
    if (type != FLOE_ARROW_BINARY) return strcmp(s, got) == 0;
    size_t n = strlen(s);
    if (strlen(got) != 2 * n) return false;
    for (size_t k = 0; k < n; k++) {
      unsigned byte;
      if (sscanf(got + 2 * k, "%2x", &byte) != 1 || byte != (uint8_t)s[k]) return false;
    }
    return true;
  }
  if (json_is_array(j)) { /* lists: "[a, b]", null elements "\\N" */
    floe_buf b = FLOE_BUF_INIT;
    size_t i;
    json_t *e;
    floe_buf_append_byte(&b, '[');
    json_array_foreach(j, i, e) {
      if (i) floe_buf_append_str(&b, ", ");
      if (json_is_null(e)) floe_buf_append_str(&b, "\\N");
      else if (json_is_integer(e)) floe_buf_appendf(&b, "%" JSON_INTEGER_FORMAT, json_integer_value(e));
      else if (json_is_string(e)) floe_buf_append_str(&b, json_string_value(e));
      else floe_buf_append_str(&b, "?");
    }
    floe_buf_append_byte(&b, ']');
    floe_buf_terminate(&b);
    bool same = strcmp((const char *)b.data, got) == 0;
    floe_buf_free(&b);
    return same;
  }
  return false;
}

static void test_fixtures_match_hyparquet_json(void) {
  if (test_fixture("parquet/expected/hyparquet") == NULL) SKIP("../shared/fixtures absent");
  const char *files[] = {"byte_array_decimal", "byte_stream_split.zstd",
                         "concatenated_gzip_members", "datapage_v2.snappy",
                         "delta_binary_packed", "delta_byte_array",
                         "delta_encoding_optional_column", "delta_encoding_required_column",
                         "delta_length_byte_array", "fixed_length_decimal",
                         "hadoop_lz4_compressed", "lz4_raw_compressed",
                         "plain-dict-uncompressed-checksum", "rle_boolean_encoding"};
  int compared = 0;
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char rel[256], path[4096];
    snprintf(rel, sizeof rel, "parquet/parquet-testing/%s.parquet", files[i]);
    snprintf(path, sizeof path, "%s", test_fixture(rel));
    table got;
    floe_error err = {0};
    if (read_table(path, NULL, &got, &err) != FLOE_OK) {
      TEST_FAIL_AT(__FILE__, __LINE__, "%s: %s", files[i], err.message);
      table_free(&got);
      continue;
    }
    snprintf(rel, sizeof rel, "parquet/expected/hyparquet/%s.json", files[i]);
    json_error_t jerr;
    json_t *rows = json_load_file(test_fixture(rel), 0, &jerr);
    if (rows == NULL || (int64_t)json_array_size(rows) != got.nrows) {
      TEST_FAIL_AT(__FILE__, __LINE__, "%s: JSON rows %zu vs %lld", files[i],
                   rows ? json_array_size(rows) : 0, (long long)got.nrows);
    } else {
      int bad = 0;
      for (int64_t r = 0; r < got.nrows; r++) {
        json_t *row = json_array_get(rows, (size_t)r);
        for (int c = 0; c < got.ncols && c < (int)json_array_size(row); c++) {
          const char *g = got.cells[r * got.ncols + c];
          if (!json_cell_equal(json_array_get(row, (size_t)c), g, got.types[c]) && bad++ < 3)
            TEST_FAIL_AT(__FILE__, __LINE__, "%s: row %lld column %d: got %s", files[i],
                         (long long)r, c, g ? g : "NULL");
        }
      }
      compared++;
    }
    json_decref(rows);
    table_free(&got);
  }
  CHECK_INT_EQ(compared, 14);
}

static void test_int96_from_spark_is_exact_in_microseconds(void) {
  const char *path = test_fixture("parquet/parquet-testing/int96_from_spark.parquet");
  if (path == NULL) SKIP("../shared/fixtures absent");
  floe_parquet_reader *r = NULL;
  floe_parquet_scan *s = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_parquet_reader_open(&r, path, &err), &err);
  CHECK(floe_parquet_reader_column(r, 0)->arrow_type.id == FLOE_ARROW_TIMESTAMP_US);
  REQUIRE_OK(floe_parquet_reader_scan_open(&s, r, NULL, &err), &err);
  struct ArrowArray a;
  REQUIRE_OK(floe_parquet_reader_scan_next(s, &a, NULL, &err), &err);
  /* dual-reader/int96_from_spark.csv, from the source README */
  const int64_t want[] = {1704141296123456, 1704070800000000, 253402225200000000,
                          1735599600000000, 0, 9089380393200000000};
  REQUIRE(a.length == 6);
  const int64_t *v = a.children[0]->buffers[1];
  const uint8_t *valid = a.children[0]->buffers[0];
  for (int i = 0; i < 6; i++) {
    if (i == 4) {
      CHECK(valid != NULL && !floe_arrow_bit(valid, 4));
      continue;
    }
    CHECK_INT_EQ(v[i], want[i]);
  }
  floe_arrow_array_release(&a);
  floe_parquet_reader_scan_free(s);
  floe_parquet_reader_free(r);
}

static void test_corrupt_checksum_fixtures_are_rejected(void) {
  const char *files[] = {"datapage_v1-corrupt-checksum", "rle-dict-uncompressed-corrupt-checksum"};
  if (test_fixture("parquet/parquet-testing") == NULL) SKIP("../shared/fixtures absent");
  for (int i = 0; i < 2; i++) {
    char rel[256];
    snprintf(rel, sizeof rel, "parquet/parquet-testing/%s.parquet", files[i]);
    table t;
    floe_error err = {0};
    CHECK_INT_EQ(read_table(test_fixture(rel), NULL, &t, &err), FLOE_EFORMAT);
    CHECK(strstr(err.message, "page CRC mismatch") != NULL);
    CHECK(strstr(err.message, files[i]) != NULL);
    CHECK(strstr(err.message, "row group 0, column '") != NULL);
    table_free(&t);
  }
}

static void test_bad_data_is_rejected_or_read(void) {
  if (test_fixture("parquet/bad_data") == NULL) SKIP("../shared/fixtures absent");
  const struct {
    const char *name;
    int rc;
    int64_t rows;
  } cases[] = {
      {"PARQUET-1481", FLOE_EFORMAT, 0},
      {"ARROW-RS-GH-6229-DICTHEADER", FLOE_EFORMAT, 0},
      {"ARROW-RS-GH-6229-LEVELS", FLOE_EUNSUPPORTED, 0}, /* only a list of structs */
      {"ARROW-GH-41321", FLOE_EFORMAT, 0},
      {"ARROW-GH-41317", FLOE_EFORMAT, 0},
      {"ARROW-GH-43605", FLOE_OK, 21186},
      {"ARROW-GH-45185", FLOE_EFORMAT, 0}, /* a list whose levels start at 1 */
      {"ARROW-GH-47662", FLOE_EFORMAT, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char rel[256];
    snprintf(rel, sizeof rel, "parquet/bad_data/%s.parquet", cases[i].name);
    table t;
    floe_error err = {0};
    int rc = read_table(test_fixture(rel), NULL, &t, &err);
    if (rc != cases[i].rc)
      TEST_FAIL_AT(__FILE__, __LINE__, "%s: rc %d (%s), expected %d", cases[i].name, rc,
                   err.message, cases[i].rc);
    if (rc == FLOE_OK) {
      CHECK_INT_EQ(t.nrows, cases[i].rows);
      /* bit-width-0 dictionary indices: every row is dictionary entry 0 */
      for (int64_t r = 1; r < t.nrows; r++)
        if (!cell_equal(t.cells[r], t.cells[0], t.types[0])) {
          TEST_FAIL_AT(__FILE__, __LINE__, "%s: row %lld differs", cases[i].name, (long long)r);
          break;
        }
    } else {
      CHECK(strstr(err.message, cases[i].name) != NULL);
    }
    table_free(&t);
  }
}

/* The fixture's optional struct b_struct{b_c_int}: every row holds the
 * struct with a null field (definition level 1 of 2; the dual-reader CSV
 * says {'b_c_int': NULL}): read whole it is a struct column; its leaf
 * stays readable by name as a flat column of nulls. */
static void test_nulls_snappy_reads_its_optional_struct(void) {
  const char *path = test_fixture("parquet/parquet-testing/nulls.snappy.parquet");
  if (path == NULL) SKIP("../shared/fixtures absent");
  table t;
  floe_error err = {0};
  REQUIRE_OK(read_table(path, NULL, &t, &err), &err);
  REQUIRE(t.ncols == 1);
  CHECK_STR_EQ(t.names[0], "b_struct");
  CHECK(t.types[0] == FLOE_ARROW_STRUCT);
  CHECK_INT_EQ(t.nrows, 8);
  for (int64_t r = 0; r < t.nrows; r++) CHECK(t.cells[r] != NULL && strcmp(t.cells[r], "{b_c_int: \\N}") == 0);
  table_free(&t);
  const char *names[] = {"b_struct.b_c_int"};
  floe_parquet_scan_options opt = {0};
  opt.names = names;
  opt.n_names = 1;
  REQUIRE_OK(read_table(path, &opt, &t, &err), &err);
  REQUIRE(t.ncols == 1);
  CHECK_STR_EQ(t.names[0], "b_struct.b_c_int");
  CHECK_INT_EQ(t.nrows, 8);
  for (int64_t r = 0; r < t.nrows; r++) CHECK(t.cells[r] == NULL);
  table_free(&t);
}

/* ---- API ------------------------------------------------------------ */

static void test_schema_types_and_metadata(void) {
  const char *path = test_fixture("parquet/parquet-testing/alltypes_plain.parquet");
  if (path == NULL) SKIP("../shared/fixtures absent");
  floe_parquet_reader *r = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_parquet_reader_open(&r, path, &err), &err);
  CHECK_INT_EQ(floe_parquet_reader_num_rows(r), 8);
  CHECK_INT_EQ(floe_parquet_reader_num_row_groups(r), 1);
  CHECK_INT_EQ(floe_parquet_reader_num_columns(r), 11);
  CHECK(strncmp(floe_parquet_reader_created_by(r), "impala version 1.3.0", 20) == 0);
  const floe_arrow_type want[] = {FLOE_ARROW_INT32, FLOE_ARROW_BOOL, FLOE_ARROW_INT32,
                                  FLOE_ARROW_INT32, FLOE_ARROW_INT32, FLOE_ARROW_INT64,
                                  FLOE_ARROW_FLOAT, FLOE_ARROW_DOUBLE, FLOE_ARROW_BINARY,
                                  FLOE_ARROW_BINARY, FLOE_ARROW_TIMESTAMP_US};
  for (int c = 0; c < 11; c++) CHECK_INT_EQ(floe_parquet_reader_column(r, c)->arrow_type.id, want[c]);
  CHECK_STR_EQ(floe_parquet_reader_column(r, 10)->physical_type, "INT96");
  CHECK(floe_parquet_reader_column(r, 0)->nullable);
  CHECK_INT_EQ(floe_parquet_reader_column(r, 0)->field_id, -1);
  CHECK_INT_EQ(floe_parquet_reader_find_column(r, "double_col"), 7);
  CHECK_INT_EQ(floe_parquet_reader_find_column(r, "nope"), -1);
  floe_parquet_chunk_info ch;
  REQUIRE_OK(floe_parquet_reader_chunk(r, 0, 0, &ch, &err), &err);
  CHECK_STR_EQ(ch.codec, "uncompressed");
  CHECK_STR_EQ(ch.encodings, "RLE,PLAIN_DICTIONARY,PLAIN");
  CHECK_INT_EQ(ch.num_values, 8);
  floe_parquet_schema_node node;
  REQUIRE_OK(floe_parquet_reader_schema_node(r, 1, &node, &err), &err);
  CHECK_STR_EQ(node.name, "id");
  CHECK_STR_EQ(node.repetition, "optional");
  CHECK_INT_EQ(node.depth, 1);
  CHECK_INT_EQ(floe_parquet_reader_schema_node(r, 99, &node, &err), FLOE_EINVAL);
  floe_parquet_reader_free(r);

  /* statistics rendered by logical type */
  path = test_fixture("parquet/parquet-testing/int32_decimal.parquet");
  REQUIRE_OK(floe_parquet_reader_open(&r, path, &err), &err);
  CHECK(floe_parquet_reader_column(r, 0)->arrow_type.id == FLOE_ARROW_DECIMAL128);
  CHECK_INT_EQ(floe_parquet_reader_column(r, 0)->arrow_type.precision, 4);
  CHECK_INT_EQ(floe_parquet_reader_column(r, 0)->arrow_type.scale, 2);
  REQUIRE_OK(floe_parquet_reader_chunk(r, 0, 0, &ch, &err), &err);
  floe_buf text = FLOE_BUF_INIT;
  REQUIRE(ch.has_min && ch.has_max);
  floe_parquet_reader_format_stat(r, 0, ch.min, ch.min_len, &text);
  floe_buf_append_byte(&text, '/');
  floe_parquet_reader_format_stat(r, 0, ch.max, ch.max_len, &text);
  floe_buf_terminate(&text);
  CHECK_STR_EQ((const char *)text.data, "1.00/24.00");
  floe_parquet_reader_free(r);

  /* column chunk key-value metadata, including a key without a value */
  path = test_fixture("parquet/parquet-testing/column_chunk_key_value_metadata.parquet");
  REQUIRE_OK(floe_parquet_reader_open(&r, path, &err), &err);
  REQUIRE_OK(floe_parquet_reader_chunk(r, 0, 0, &ch, &err), &err);
  REQUIRE(ch.n_key_value == 2);
  CHECK_STR_EQ(ch.key_value[0].key, "foo");
  CHECK_STR_EQ(ch.key_value[0].value, "bar");
  CHECK_STR_EQ(ch.key_value[1].key, "thisiskeywithoutvalue");
  CHECK(ch.key_value[1].value == NULL);
  floe_parquet_reader_free(r);

  /* binary statistics: exact and truncated bounds */
  path = test_fixture("parquet/parquet-testing/binary_truncated_min_max.parquet");
  REQUIRE_OK(floe_parquet_reader_open(&r, path, &err), &err);
  REQUIRE_OK(floe_parquet_reader_chunk(r, 0, 1, &ch, &err), &err);
  CHECK(ch.has_max_exact);
  floe_buf_reset(&text);
  floe_parquet_reader_format_stat(r, 1, ch.min, ch.min_len, &text);
  floe_buf_terminate(&text);
  CHECK(text.len > 0 && strspn((const char *)text.data, "0123456789abcdef") == text.len);
  floe_buf_free(&text);
  floe_parquet_reader_free(r);
}

static void test_projection_by_field_id_and_name(void) {
  if (test_fixture("iceberg/lithium_spark_all_types") == NULL) SKIP("../shared/fixtures absent");
  char cmd[4300], path[4096] = "";
  snprintf(cmd, sizeof cmd, "ls %s/data/*.parquet 2>/dev/null | head -1",
           test_fixture("iceberg/lithium_spark_all_types"));
  FILE *p = popen(cmd, "r");
  if (p == NULL || fgets(path, sizeof path, p) == NULL) {
    if (p) pclose(p);
    SKIP("no data file");
  }
  pclose(p);
  path[strcspn(path, "\n")] = '\0';
  table all, by_id, by_name;
  floe_error err = {0};
  REQUIRE_OK(read_table(path, NULL, &all, &err), &err);
  CHECK_INT_EQ(all.ncols, 12); /* col11 is list<string> */
  CHECK_STR_EQ(all.names[11], "col11");
  CHECK(all.types[11] == FLOE_ARROW_LIST);
  CHECK_STR_EQ(all.cells[11], "[item1, item2]");
  const int32_t ids[] = {7, 1, 10};
  floe_parquet_scan_options opt = {0};
  opt.field_ids = ids;
  opt.n_field_ids = 3;
  REQUIRE_OK(read_table(path, &opt, &by_id, &err), &err);
  REQUIRE(by_id.ncols == 3 && by_id.nrows == all.nrows);
  CHECK_STR_EQ(by_id.names[0], "col6");
  CHECK_STR_EQ(by_id.names[1], "col0");
  CHECK(by_id.types[2] == FLOE_ARROW_TIMESTAMP_US_TZ);
  for (int64_t r = 0; r < all.nrows; r++) {
    CHECK(cell_equal(by_id.cells[r * 3], all.cells[r * 12 + 6], FLOE_ARROW_UTF8));
    CHECK(cell_equal(by_id.cells[r * 3 + 1], all.cells[r * 12], FLOE_ARROW_BOOL));
  }
  CHECK_STR_EQ(by_id.cells[0], "example");
  CHECK_STR_EQ(by_id.cells[2], "2023-10-10 12:34:56+00");
  const char *names[] = {"col5", "col3"};
  memset(&opt, 0, sizeof opt);
  opt.names = names;
  opt.n_names = 2;
  REQUIRE_OK(read_table(path, &opt, &by_name, &err), &err);
  REQUIRE(by_name.ncols == 2);
  CHECK_STR_EQ(by_name.cells[0], "12345.67");
  CHECK_STR_EQ(by_name.cells[1], "3.4028235e+38");
  table_free(&by_name);
  /* missing columns; a list by its list id (12) and its element id (13) */
  const int32_t missing[] = {99};
  memset(&opt, 0, sizeof opt);
  opt.field_ids = missing;
  opt.n_field_ids = 1;
  CHECK_INT_EQ(read_table(path, &opt, &by_name, &err), FLOE_ENOTFOUND);
  CHECK(strstr(err.message, "field id 99") != NULL);
  table_free(&by_name);
  for (int32_t list_id = 12; list_id <= 13; list_id++) {
    opt.field_ids = &list_id;
    REQUIRE_OK(read_table(path, &opt, &by_name, &err), &err);
    REQUIRE(by_name.ncols == 1 && by_name.nrows == 1);
    CHECK_STR_EQ(by_name.names[0], "col11");
    CHECK_STR_EQ(by_name.cells[0], "[item1, item2]");
    table_free(&by_name);
  }
  table_free(&all);
  table_free(&by_id);
}

static void test_row_groups_batches_and_first_rows(void) {
  const char *path = test_fixture("parquet/parquet-testing/sort_columns.parquet");
  if (path == NULL) SKIP("../shared/fixtures absent");
  floe_parquet_reader *r = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_parquet_reader_open(&r, path, &err), &err);
  REQUIRE(floe_parquet_reader_num_row_groups(r) == 2);
  floe_parquet_row_group_info rg;
  REQUIRE_OK(floe_parquet_reader_row_group(r, 1, &rg, &err), &err);
  int64_t rg1_first = rg.first_row, rg1_rows = rg.num_rows;
  CHECK(rg1_first > 0);
  floe_parquet_reader_free(r);
  table all, part;
  REQUIRE_OK(read_table(path, NULL, &all, &err), &err);
  const int32_t groups[] = {1};
  floe_parquet_scan_options opt = {0};
  opt.row_groups = groups;
  opt.n_row_groups = 1;
  opt.batch_size = 1;
  REQUIRE_OK(read_table(path, &opt, &part, &err), &err);
  CHECK_INT_EQ(part.nrows, rg1_rows);
  CHECK_INT_EQ(part.n_batches, rg1_rows);
  for (int b = 0; b < part.n_batches; b++) CHECK_INT_EQ(part.first_rows[b], rg1_first + b);
  for (int64_t i = 0; i < part.nrows * part.ncols; i++)
    CHECK(cell_equal(part.cells[i], all.cells[rg1_first * all.ncols + i], part.types[i % 2]));
  table_free(&part);
  const int32_t bad_group[] = {2};
  opt.row_groups = bad_group;
  CHECK_INT_EQ(read_table(path, &opt, &part, &err), FLOE_EINVAL);
  table_free(&part);
  table_free(&all);

  /* batches of 7 rows across pages with nulls: positions and values agree */
  path = test_fixture("parquet/parquet-testing/int32_with_null_pages.parquet");
  REQUIRE_OK(read_table(path, NULL, &all, &err), &err);
  memset(&opt, 0, sizeof opt);
  opt.batch_size = 7;
  REQUIRE_OK(read_table(path, &opt, &part, &err), &err);
  CHECK_INT_EQ(part.nrows, 1000);
  CHECK_INT_EQ(part.n_batches, 143);
  for (int b = 0; b < part.n_batches; b++) CHECK_INT_EQ(part.first_rows[b], 7 * b);
  for (int64_t i = 0; i < 1000; i++) CHECK(cell_equal(part.cells[i], all.cells[i], FLOE_ARROW_INT32));
  table_free(&part);
  table_free(&all);
}

static void test_open_errors_say_what_and_where(void) {
  floe_parquet_reader *r = NULL;
  floe_error err = {0};
  CHECK_INT_EQ(floe_parquet_reader_open(&r, "/nonexistent/x.parquet", &err), FLOE_ENOTFOUND);
  CHECK(strstr(err.message, "/nonexistent/x.parquet") != NULL);
  CHECK(r == NULL);
  const char junk[] = "this is not a parquet file at all";
  CHECK_INT_EQ(floe_parquet_reader_open_memory(&r, junk, sizeof junk, "junk.parquet", &err),
               FLOE_EFORMAT);
  CHECK(strstr(err.message, "junk.parquet") != NULL && strstr(err.message, "PAR1") != NULL);
  uint8_t footer_too_long[16] = {'P', 'A', 'R', '1', 0, 0, 0, 0, 0xff, 0xff, 0, 0, 'P', 'A', 'R', '1'};
  CHECK_INT_EQ(floe_parquet_reader_open_memory(&r, footer_too_long, 16, "f", &err), FLOE_EFORMAT);
  floe_parquet_reader_free(NULL);
  floe_parquet_reader_scan_free(NULL);
}

static void test_allocation_failures_are_reported_and_leak_free(void) {
  const char *files[] = {"parquet/parquet-testing/alltypes_plain.snappy.parquet",
                         "parquet/parquet-testing/delta_byte_array.parquet",
                         "parquet/parquet-testing/rle_boolean_encoding.parquet",
                         "parquet/parquet-testing/datapage_v2.snappy.parquet" /* a list */};
  if (test_fixture(files[0]) == NULL) SKIP("../shared/fixtures absent");
  for (int f = 0; f < 4; f++) {
    char path[4096];
    snprintf(path, sizeof path, "%s", test_fixture(files[f]));
    int failures = 0;
    for (long n = 1; n < 5000; n++) {
      table t;
      floe_error err = {0};
      floe_alloc_fail_after(n);
      int rc = read_table(path, NULL, &t, &err);
      floe_alloc_fail_after(0);
      table_free(&t);
      if (rc == FLOE_OK) break;
      failures++;
      if (rc != FLOE_ENOMEM) {
        TEST_FAIL_AT(__FILE__, __LINE__, "%s: allocation %ld: rc %d (%s)", files[f], n, rc,
                     err.message);
        break;
      }
    }
    CHECK(failures > 5);
  }
}

int main(void) {
  RUN(test_unpack_matches_bitwise_reference_at_every_width);
  RUN(test_rle_hybrid_decodes_spec_example_runs);
  RUN(test_rle_bit_width_zero_yields_zeros_from_no_bytes);
  RUN(test_rle_short_last_group_is_padded_not_overread);
  RUN(test_rle_rejects_run_value_wider_than_bit_width);
  RUN(test_legacy_bit_packed_levels_are_msb_first);
  RUN(test_delta_binary_packed_spec_examples);
  RUN(test_delta_binary_packed_round_trips_every_bit_width);
  RUN(test_delta_binary_packed_miniblock_edges);
  RUN(test_delta_binary_packed_rejects_bad_headers);
  RUN(test_delta_byte_array_rebuilds_values_from_prefixes);
  RUN(test_optional_delta_lengths_spread_over_nulls);
  RUN(test_dictionary_pages_and_bad_indices);
  RUN(test_page_crc_mismatch_names_where);
  RUN(test_footer_fuzz_regression_seeds_are_rejected_cleanly);
  RUN(test_fixtures_match_expected_csv_values);
  RUN(test_fixtures_match_hyparquet_json);
  RUN(test_int96_from_spark_is_exact_in_microseconds);
  RUN(test_corrupt_checksum_fixtures_are_rejected);
  RUN(test_bad_data_is_rejected_or_read);
  RUN(test_nulls_snappy_reads_its_optional_struct);
  RUN(test_three_level_lists_tell_null_empty_and_null_elements_apart);
  RUN(test_legacy_two_level_and_bare_repeated_lists);
  RUN(test_legacy_struct_lists_read_and_keyless_maps_refused);
  RUN(test_bad_list_levels_are_format_errors);
  RUN(test_long_lists_cross_pages_and_batches);
  RUN(test_schema_types_and_metadata);
  RUN(test_projection_by_field_id_and_name);
  RUN(test_row_groups_batches_and_first_rows);
  RUN(test_open_errors_say_what_and_where);
  RUN(test_allocation_failures_are_reported_and_leak_free);
  return test_report();
}
