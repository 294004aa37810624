/*
 * tests/unit/test_parquet_writer: the Parquet writer, its encoders and its
 * Thrift compact encoding.
 *
 * Files are checked with a test-only Thrift compact-protocol walker written
 * independently of parquet_meta_write.c (it knows nothing of Parquet: it
 * parses any compact struct into a tree of field ids and values), plus byte
 * checks of pages against hand-computed encodings from parquet-format
 * Encodings.md. Expected values are stated literally, not recomputed with
 * the code under test.
 */
#include <math.h>

#include "core/compress.h"
#include "floe/arrow.h"
#include "floe/parquet_writer.h"
#include "format/parquet/encode.h"
#include "format/parquet/parquet_meta.h"
#include "test.h"

/* ---- a test-only Thrift compact walker ---------------------------------- */

enum { T_STOP, T_TRUE, T_FALSE, T_BYTE, T_I16, T_I32, T_I64, T_DOUBLE,
       T_BINARY, T_LIST, T_SET, T_MAP, T_STRUCT };

typedef struct tnode {
  int type;
  int id;               /* field id (struct members) */
  int64_t i;            /* integers; booleans 0/1 */
  const uint8_t *bin;   /* binary */
  int64_t len;
  struct tnode *kids;   /* struct fields / list elements */
  int n;
} tnode;

typedef struct walker {
  const uint8_t *p, *end;
  int bad;
} walker;

static uint64_t w_varint(walker *w) {
  uint64_t v = 0;
  int shift = 0;
  while (w->p < w->end && shift < 64) {
    uint8_t b = *w->p++;
    v |= (uint64_t)(b & 0x7F) << shift;
    if (!(b & 0x80)) return v;
    shift += 7;
  }
  w->bad = 1;
  return 0;
}

static int64_t w_zigzag(walker *w) {
  uint64_t u = w_varint(w);
  return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static void w_value(walker *w, int type, tnode *out);

static void w_struct(walker *w, tnode *out) {
  out->type = T_STRUCT;
  out->kids = NULL;
  out->n = 0;
  int last = 0;
  while (!w->bad) {
    if (w->p >= w->end) { w->bad = 1; return; }
    uint8_t h = *w->p++;
    if (h == 0) return;
    int type = h & 15, id;
    if (h >> 4) id = last + (h >> 4);
    else id = (int)w_zigzag(w);
    last = id;
    out->kids = realloc(out->kids, (size_t)(out->n + 1) * sizeof *out->kids);
    tnode *k = &out->kids[out->n++];
    memset(k, 0, sizeof *k);
    k->id = id;
    if (type == T_TRUE || type == T_FALSE) {
      k->type = T_TRUE;
      k->i = type == T_TRUE;
    } else {
      w_value(w, type, k);
    }
  }
}

static void w_value(walker *w, int type, tnode *out) {
  out->type = type;
  switch (type) {
    case T_BYTE:
      if (w->p >= w->end) { w->bad = 1; return; }
      out->i = (int8_t)*w->p++;
      return;
    case T_I16: case T_I32: case T_I64:
      out->i = w_zigzag(w);
      return;
    case T_BINARY:
      out->len = (int64_t)w_varint(w);
      if (out->len > w->end - w->p) { w->bad = 1; return; }
      out->bin = w->p;
      w->p += out->len;
      return;
    case T_LIST: case T_SET: {
      if (w->p >= w->end) { w->bad = 1; return; }
      uint8_t h = *w->p++;
      int64_t n = h >> 4;
      int et = h & 15;
      if (n == 15) n = (int64_t)w_varint(w);
      if (n > 100000) { w->bad = 1; return; }
      out->kids = calloc((size_t)(n ? n : 1), sizeof *out->kids);
      out->n = (int)n;
      for (int64_t k = 0; k < n && !w->bad; k++) {
        if (et == T_TRUE || et == T_FALSE) {
          out->kids[k].type = T_TRUE;
          out->kids[k].i = *w->p++ == 1;
        } else {
          w_value(w, et, &out->kids[k]);
        }
      }
      return;
    }
    case T_STRUCT:
      w_struct(w, out);
      return;
    default:
      w->bad = 1;
  }
}

static void tnode_free(tnode *t) {
  if (t == NULL) return;
  for (int k = 0; k < t->n; k++) tnode_free(&t->kids[k]);
  free(t->kids);
  t->kids = NULL;
  t->n = 0;
}

/* Field `id` of a struct, or NULL. */
static tnode *tf(tnode *s, int id) {
  if (s == NULL || s->type != T_STRUCT) return NULL;
  for (int k = 0; k < s->n; k++)
    if (s->kids[k].id == id) return &s->kids[k];
  return NULL;
}

/* Element i of a list, or NULL. */
static tnode *te(tnode *l, int i) {
  if (l == NULL || l->type != T_LIST || i >= l->n) return NULL;
  return &l->kids[i];
}

static int64_t ti(tnode *t) { return t != NULL ? t->i : -999999; }

static int tbin_eq(tnode *t, const void *bytes, size_t n) {
  return t != NULL && t->type == T_BINARY && (size_t)t->len == n &&
         memcmp(t->bin, bytes, n) == 0;
}

/* Parses one compact struct at p; *consumed gets its size. */
static int parse_struct(const uint8_t *p, size_t n, tnode *out,
                        size_t *consumed) {
  walker w = {p, p + n, 0};
  memset(out, 0, sizeof *out);
  w_struct(&w, out);
  if (consumed) *consumed = (size_t)(w.p - p);
  return w.bad ? -1 : 0;
}

/* ---- files ------------------------------------------------------------ */

typedef struct pfile {
  uint8_t *data;
  size_t len;
  tnode meta;
} pfile;

static int pfile_load(pfile *f, const char *path) {
  memset(f, 0, sizeof *f);
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) return -1;
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  f->data = malloc((size_t)n + 1);
  f->len = fread(f->data, 1, (size_t)n, fp);
  fclose(fp);
  if (f->len < 12 || memcmp(f->data, "PAR1", 4) != 0 ||
      memcmp(f->data + f->len - 4, "PAR1", 4) != 0)
    return -1;
  uint32_t flen = floe_load_u32le(f->data + f->len - 8);
  if (flen > f->len - 12) return -1;
  size_t used;
  if (parse_struct(f->data + f->len - 8 - flen, flen, &f->meta, &used) < 0)
    return -1;
  return used == flen ? 0 : -1;
}

static void pfile_free(pfile *f) {
  free(f->data);
  tnode_free(&f->meta);
}

/* FileMetaData.schema[i] and row_groups[g].columns[c].meta_data. */
static tnode *schema_el(pfile *f, int i) { return te(tf(&f->meta, 2), i); }
static tnode *row_group(pfile *f, int g) { return te(tf(&f->meta, 4), g); }
static tnode *col_meta(pfile *f, int g, int c) {
  return tf(te(tf(row_group(f, g), 1), c), 3);
}
static bool has_encoding(tnode *cm, int enc) {
  tnode *l = tf(cm, 2);
  for (int k = 0; l != NULL && k < l->n; k++)
    if (l->kids[k].i == enc) return true;
  return false;
}

/* A page of a column chunk: header tree plus the (decompressed) body. */
typedef struct page {
  tnode header;
  uint8_t *body;
  size_t body_len;
} page;

/* Reads the pages of chunk (g, c); returns the count, -1 on error. */
static int read_pages(pfile *f, int g, int c, page *pages, int max_pages) {
  tnode *cm = col_meta(f, g, c);
  if (cm == NULL) return -1;
  int64_t start = tf(cm, 11) ? ti(tf(cm, 11)) : ti(tf(cm, 9));
  int64_t total = ti(tf(cm, 7));
  int codec = (int)ti(tf(cm, 4));
  floe_codec fc = codec == 0 ? FLOE_CODEC_NONE : codec == 1 ? FLOE_CODEC_SNAPPY
                : codec == 2 ? FLOE_CODEC_GZIP : FLOE_CODEC_ZSTD;
  int64_t pos = start;
  int n = 0;
  floe_codec_ctx ctx;
  floe_codec_ctx_init(&ctx);
  while (pos < start + total && n < max_pages) {
    size_t used;
    page *pg = &pages[n];
    if (parse_struct(f->data + pos, f->len - (size_t)pos, &pg->header, &used) < 0)
      return -1;
    pos += (int64_t)used;
    int64_t ulen = ti(tf(&pg->header, 2)), clen = ti(tf(&pg->header, 3));
    pg->body = malloc((size_t)ulen + 1);
    pg->body_len = (size_t)ulen;
    floe_error err = {0};
    if (floe_decompress(&ctx, fc, f->data + pos, (size_t)clen, pg->body,
                        (size_t)ulen, &err) < 0) {
      fprintf(stderr, "decompress: %s\n", err.message);
      floe_codec_ctx_free(&ctx);
      return -1;
    }
    pos += clen;
    n++;
  }
  floe_codec_ctx_free(&ctx);
  return pos == start + total ? n : -1;
}

static void pages_free(page *pages, int n) {
  for (int k = 0; k < n; k++) {
    tnode_free(&pages[k].header);
    free(pages[k].body);
  }
}

/* ---- building batches --------------------------------------------------- */

typedef struct colspec {
  const char *name;
  floe_arrow_type_info type;
  bool nullable;
  int32_t field_id;
} colspec;

static void make_schema(struct ArrowSchema *schema, const colspec *cols, int n) {
  memset(schema, 0, sizeof *schema);
  floe_arrow_schema_init_struct(schema, NULL, n);
  for (int k = 0; k < n; k++)
    floe_arrow_schema_init(schema->children[k], cols[k].name, &cols[k].type,
                           cols[k].nullable, cols[k].field_id);
}

static const char *tmp_path(const char *name) {
  static char path[4096];
  static const char *dir;
  if (dir == NULL) {
    static char saved[4096];
    const char *d = test_tmpdir("test_parquet_writer");
    snprintf(saved, sizeof saved, "%s", d ? d : ".");
    dir = saved;
  }
  size_t dir_len = strlen(dir), name_len = strlen(name);
  if (dir_len + name_len + 2 > sizeof path) return name;
  memcpy(path, dir, dir_len);
  path[dir_len] = '/';
  memcpy(path + dir_len + 1, name, name_len + 1);
  return path;
}

/* ---- encoder tests ------------------------------------------------------- */

static void check_bytes(const floe_buf *b, const uint8_t *want, size_t n) {
  if (b->len != n || memcmp(b->data, want, n) != 0) {
    char got[512] = "";
    for (size_t k = 0; k < b->len && k < 100; k++)
      snprintf(got + strlen(got), sizeof got - strlen(got), "%02x ", b->data[k]);
    TEST_FAIL_AT(__FILE__, __LINE__, "bytes differ: got %s(%zu bytes, want %zu)",
                 got, b->len, n);
  }
}

static void test_rle_bit_packs_spec_example(void) {
  /* Encodings.md: 0..7 at bit width 3 pack to 10001000 11000110 11111010. */
  uint32_t v[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  floe_buf b = FLOE_BUF_INIT;
  REQUIRE(pq_rle_encode_u32(v, 8, 3, &b) == 0);
  const uint8_t want[] = {0x03, 0x88, 0xC6, 0xFA};
  check_bytes(&b, want, sizeof want);
  floe_buf_free(&b);
}

static void test_rle_encodes_long_run(void) {
  uint32_t v[100];
  for (int k = 0; k < 100; k++) v[k] = 5;
  floe_buf b = FLOE_BUF_INIT;
  REQUIRE(pq_rle_encode_u32(v, 100, 3, &b) == 0);
  const uint8_t want[] = {0xC8, 0x01, 0x05}; /* varint(100 << 1), value */
  check_bytes(&b, want, sizeof want);
  floe_buf_reset(&b);
  /* A 2-byte value (bit width 9) is stored little-endian in 2 bytes. */
  for (int k = 0; k < 100; k++) v[k] = 300;
  REQUIRE(pq_rle_encode_u32(v, 100, 9, &b) == 0);
  const uint8_t want9[] = {0xC8, 0x01, 0x2C, 0x01};
  check_bytes(&b, want9, sizeof want9);
  floe_buf_free(&b);
}

static void test_rle_short_run_stays_literal(void) {
  /* 1,2,3 then ten 4s: borrowing 5 of the 4s to fill the literal group
   * leaves a run of 5 (< 8), so everything is bit-packed (2 groups, the
   * last padded with zeros). */
  uint32_t v[13] = {1, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4};
  floe_buf b = FLOE_BUF_INIT;
  REQUIRE(pq_rle_encode_u32(v, 13, 3, &b) == 0);
  const uint8_t want[] = {0x05, 0xD1, 0x48, 0x92, 0x24, 0x49, 0x00};
  check_bytes(&b, want, sizeof want);
  floe_buf_free(&b);
}

static void test_rle_literal_borrows_from_run(void) {
  /* 1,2,3, twenty 4s, 5: literal group 1,2,3,4,4,4,4,4; RLE run of 15 4s;
   * a final literal group holding 5 and padding. */
  uint32_t v[24];
  v[0] = 1, v[1] = 2, v[2] = 3;
  for (int k = 3; k < 23; k++) v[k] = 4;
  v[23] = 5;
  floe_buf b = FLOE_BUF_INIT;
  REQUIRE(pq_rle_encode_u32(v, 24, 3, &b) == 0);
  const uint8_t want[] = {0x03, 0xD1, 0x48, 0x92, 0x1E, 0x04,
                          0x03, 0x05, 0x00, 0x00};
  check_bytes(&b, want, sizeof want);
  floe_buf_free(&b);
}

static void test_rle_levels_width_one(void) {
  uint8_t all[16];
  memset(all, 1, sizeof all);
  floe_buf b = FLOE_BUF_INIT;
  REQUIRE(pq_rle_encode_u8(all, 16, 1, &b) == 0);
  const uint8_t want[] = {0x20, 0x01};
  check_bytes(&b, want, sizeof want);
  floe_buf_reset(&b);
  uint8_t mixed[4] = {1, 0, 1, 1};
  REQUIRE(pq_rle_encode_u8(mixed, 4, 1, &b) == 0);
  const uint8_t want2[] = {0x03, 0x0D};
  check_bytes(&b, want2, sizeof want2);
  floe_buf_free(&b);
}

static void test_dict_assigns_indices_in_insertion_order(void) {
  pq_dict d;
  pq_dict_init(&d, 0);
  bool ins;
  const char *words[] = {"b", "a", "b", "c", "a"};
  int64_t want[] = {0, 1, 0, 2, 1};
  for (int k = 0; k < 5; k++)
    CHECK_INT_EQ(pq_dict_put_bytes(&d, (const uint8_t *)words[k], 1, &ins), want[k]);
  const uint8_t plain[] = {1, 0, 0, 0, 'b', 1, 0, 0, 0, 'a', 1, 0, 0, 0, 'c'};
  check_bytes(&d.plain, plain, sizeof plain);
  /* Fixed width, enough entries to grow the table several times. */
  pq_dict e;
  pq_dict_init(&e, 8);
  for (uint64_t k = 0; k < 5000; k++)
    CHECK_INT_EQ(pq_dict_put_fixed(&e, k * 7919, &ins), (int64_t)k);
  for (uint64_t k = 0; k < 5000; k += 37) {
    CHECK_INT_EQ(pq_dict_put_fixed(&e, k * 7919, &ins), (int64_t)k);
    CHECK(!ins);
  }
  CHECK_INT_EQ(e.plain.len, 5000 * 8);
  pq_dict_free(&d);
  pq_dict_free(&e);
}

/* ---- thrift ------------------------------------------------------------ */

static void test_thrift_page_header_known_bytes(void) {
  pq_page_header h;
  memset(&h, 0, sizeof h);
  h.type = PQ_PAGE_DATA;
  h.uncompressed_page_size = 100;
  h.compressed_page_size = 50;
  h.has_data_page_header = true;
  h.data_page_header.num_values = 10;
  h.data_page_header.encoding = PQ_ENC_PLAIN;
  h.data_page_header.definition_level_encoding = PQ_ENC_RLE;
  h.data_page_header.repetition_level_encoding = PQ_ENC_RLE;
  floe_buf b = FLOE_BUF_INIT;
  REQUIRE(pq_page_header_write(&h, &b) == 0);
  const uint8_t want[] = {0x15, 0x00, 0x15, 0xC8, 0x01, 0x15, 0x64, 0x2C,
                          0x15, 0x14, 0x15, 0x00, 0x15, 0x06, 0x15, 0x06,
                          0x00, 0x00};
  check_bytes(&b, want, sizeof want);
  /* Dictionary page header: field 7 after field 3 (delta 4), and a bool in
   * the type nibble (is_sorted = true: 0x11). */
  memset(&h, 0, sizeof h);
  h.type = PQ_PAGE_DICTIONARY;
  h.uncompressed_page_size = 1;
  h.compressed_page_size = 1;
  h.has_dictionary_page_header = true;
  h.dictionary_page_header.num_values = 3;
  h.dictionary_page_header.encoding = PQ_ENC_PLAIN;
  h.dictionary_page_header.has_is_sorted = true;
  h.dictionary_page_header.is_sorted = true;
  floe_buf_reset(&b);
  REQUIRE(pq_page_header_write(&h, &b) == 0);
  const uint8_t want2[] = {0x15, 0x04, 0x15, 0x02, 0x15, 0x02, 0x4C,
                           0x15, 0x06, 0x15, 0x00, 0x11, 0x00, 0x00};
  check_bytes(&b, want2, sizeof want2);
  floe_buf_free(&b);
}

static void test_thrift_file_meta_known_bytes(void) {
  pq_schema_element root;
  memset(&root, 0, sizeof root);
  root.name = "r";
  root.has_num_children = true;
  root.num_children = 0;
  pq_file_meta m;
  memset(&m, 0, sizeof m);
  m.version = 1;
  m.n_schema = 1;
  m.schema = &root;
  m.num_rows = 0;
  m.created_by = "x";
  floe_buf b = FLOE_BUF_INIT;
  REQUIRE(pq_file_meta_write(&m, &b) == 0);
  const uint8_t want[] = {0x15, 0x02,             /* version */
                          0x19, 0x1C,             /* schema: list of 1 struct */
                          0x48, 0x01, 'r',        /* name (field 4) */
                          0x15, 0x00, 0x00,       /* num_children; stop */
                          0x16, 0x00,             /* num_rows */
                          0x19, 0x0C,             /* row_groups: empty list */
                          0x28, 0x01, 'x',        /* created_by (field 6) */
                          0x00};
  check_bytes(&b, want, sizeof want);
  floe_buf_free(&b);
}

static void test_thrift_long_field_delta_and_logical_type(void) {
  /* A UUID logical type is union member 14: delta 14 fits the nibble; an
   * element with only field_id (9) and logicalType (10). Field 4 first. */
  pq_schema_element e;
  memset(&e, 0, sizeof e);
  e.name = "u";
  e.has_field_id = true;
  e.field_id = 7;
  e.has_logical_type = true;
  e.logical_type.kind = PQ_LT_UUID;
  pq_file_meta m;
  memset(&m, 0, sizeof m);
  m.version = 1;
  m.n_schema = 1;
  m.schema = &e;
  m.n_column_orders = 1;
  floe_buf b = FLOE_BUF_INIT;
  REQUIRE(pq_file_meta_write(&m, &b) == 0);
  const uint8_t want[] = {0x15, 0x02, 0x19, 0x1C,
                          0x48, 0x01, 'u',
                          0x55, 0x0E,        /* field_id 9 (delta 5) = 7 */
                          0x1C, 0xEC, 0x00, 0x00, /* logicalType {UUID {}} */
                          0x00,
                          0x16, 0x00, 0x19, 0x0C,
                          0x39, 0x1C, 0x1C, 0x00, 0x00, /* column_orders */
                          0x00};
  check_bytes(&b, want, sizeof want);
  floe_buf_free(&b);
}

/* ---- files: one column per Iceberg type ------------------------------- */

static floe_int128 dec(int64_t v) { return (floe_int128)v; }

enum {
  C_BOOL, C_INT, C_LONG, C_FLOAT, C_DOUBLE, C_DEC9, C_DEC18, C_DEC38, C_DATE,
  C_TIME, C_TS, C_TSTZ, C_STRING, C_BINARY, C_UUID, C_FIXED, N_ALL
};

static void all_columns(colspec *cols, bool nullable) {
  colspec c[N_ALL] = {
      {"b", floe_arrow_type_of(FLOE_ARROW_BOOL), 0, 1},
      {"i", floe_arrow_type_of(FLOE_ARROW_INT32), 0, 2},
      {"l", floe_arrow_type_of(FLOE_ARROW_INT64), 0, 3},
      {"f", floe_arrow_type_of(FLOE_ARROW_FLOAT), 0, 4},
      {"d", floe_arrow_type_of(FLOE_ARROW_DOUBLE), 0, 5},
      {"dec9", floe_arrow_decimal(9, 2), 0, 6},
      {"dec18", floe_arrow_decimal(18, 3), 0, 7},
      {"dec38", floe_arrow_decimal(38, 10), 0, 8},
      {"dt", floe_arrow_type_of(FLOE_ARROW_DATE32), 0, 9},
      {"tm", floe_arrow_type_of(FLOE_ARROW_TIME64_US), 0, 10},
      {"ts", floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_US), 0, 11},
      {"tstz", floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_US_TZ), 0, 12},
      {"s", floe_arrow_type_of(FLOE_ARROW_UTF8), 0, 13},
      {"bin", floe_arrow_type_of(FLOE_ARROW_BINARY), 0, 14},
      {"u", floe_arrow_type_of(FLOE_ARROW_UUID), 0, 15},
      {"fx", floe_arrow_fixed(3), 0, 16},
  };
  for (int k = 0; k < N_ALL; k++) {
    cols[k] = c[k];
    cols[k].nullable = nullable;
  }
}

/* Row r of the all-types batch; rows with r % 4 == 3 are null when the
 * columns are nullable. Values: r = 0, 1, 2, ... */
static void append_all_row(floe_arrow_batch_builder *bb, int r, bool nulls) {
  floe_arrow_builder *c = bb->columns;
  if (nulls && r % 4 == 3) {
    for (int k = 0; k < N_ALL; k++) floe_arrow_builder_append_null(&c[k]);
    return;
  }
  floe_arrow_builder_append_bool(&c[C_BOOL], r % 2 == 1);
  floe_arrow_builder_append_int32(&c[C_INT], r * 10 - 5);
  floe_arrow_builder_append_int64(&c[C_LONG], (int64_t)r * 1000000000000LL - 7);
  floe_arrow_builder_append_float(&c[C_FLOAT], (float)r * 0.5f - 1.0f);
  floe_arrow_builder_append_double(&c[C_DOUBLE], r * 0.25 - 0.5);
  floe_arrow_builder_append_decimal(&c[C_DEC9], dec(r * 100 - 150));
  floe_arrow_builder_append_decimal(&c[C_DEC18], dec((int64_t)r * 123456789012LL - 1));
  floe_int128 big = (floe_int128)r * (floe_int128)1000000000000000000LL *
                    (floe_int128)1000000000LL; /* r * 10^27 */
  floe_arrow_builder_append_decimal(&c[C_DEC38], r == 0 ? -1 : big);
  floe_arrow_builder_append_int32(&c[C_DATE], 19000 + r);
  floe_arrow_builder_append_int64(&c[C_TIME], (int64_t)r * 3600000000LL);
  floe_arrow_builder_append_int64(&c[C_TS], 1700000000000000LL + r);
  floe_arrow_builder_append_int64(&c[C_TSTZ], 1700000000000000LL - r);
  char s[32];
  snprintf(s, sizeof s, "str%02d", r);
  floe_arrow_builder_append_bytes(&c[C_STRING], s, strlen(s));
  uint8_t bin[3] = {(uint8_t)(0xF0 + r), 0x00, (uint8_t)r};
  floe_arrow_builder_append_bytes(&c[C_BINARY], bin, (size_t)(r % 3 + 1));
  uint8_t u[16];
  for (int k = 0; k < 16; k++) u[k] = (uint8_t)(r * 16 + k);
  floe_arrow_builder_append_bytes(&c[C_UUID], u, 16);
  uint8_t fx[3] = {(uint8_t)r, (uint8_t)(0xFF - r), 7};
  floe_arrow_builder_append_bytes(&c[C_FIXED], fx, 3);
}

static int write_all_types(const char *path, bool nullable, int rows,
                           const floe_parquet_writer_options *options,
                           floe_parquet_file_metrics *metrics) {
  colspec cols[N_ALL];
  all_columns(cols, nullable);
  struct ArrowSchema schema;
  make_schema(&schema, cols, N_ALL);
  floe_error err = {0};
  floe_arrow_batch_builder bb;
  floe_arrow_batch_builder_init(&bb, &schema, &err);
  for (int r = 0; r < rows; r++) append_all_row(&bb, r, nullable);
  struct ArrowArray batch;
  floe_arrow_batch_builder_finish(&bb, &batch, &err);
  floe_parquet_writer *w = NULL;
  int rc = floe_parquet_writer_open_file(&w, path, &schema, options, &err);
  if (rc == 0) rc = floe_parquet_writer_write(w, &batch, &err);
  if (rc == 0) rc = floe_parquet_writer_close(w, metrics, &err);
  if (rc != 0) fprintf(stderr, "  write_all_types: %s\n", err.message);
  floe_parquet_writer_free(w);
  floe_arrow_array_release(&batch);
  floe_arrow_batch_builder_free(&bb);
  floe_arrow_schema_release(&schema);
  return rc;
}

static void test_schema_maps_every_iceberg_type(void) {
  const char *path = tmp_path("all_types_required.parquet");
  floe_parquet_writer_options o;
  floe_parquet_writer_options_init(&o);
  const char *keys[] = {"iceberg.schema"};
  const char *values[] = {"{\"type\":\"struct\"}"};
  o.n_key_value = 1;
  o.keys = keys;
  o.values = values;
  REQUIRE(write_all_types(path, false, 10, &o, NULL) == 0);
  pfile f;
  REQUIRE(pfile_load(&f, path) == 0);
  CHECK_INT_EQ(ti(tf(&f.meta, 1)), 1);
  CHECK_INT_EQ(ti(tf(&f.meta, 3)), 10);
  CHECK(tbin_eq(tf(&f.meta, 6), "floe version 0.1.0", 18));
  tnode *kv = te(tf(&f.meta, 5), 0);
  CHECK(tbin_eq(tf(kv, 1), "iceberg.schema", 14));
  CHECK(tbin_eq(tf(kv, 2), values[0], strlen(values[0])));
  /* column_orders: one TYPE_ORDER per column. */
  tnode *orders = tf(&f.meta, 7);
  REQUIRE(orders != NULL);
  CHECK_INT_EQ(orders->n, N_ALL);
  CHECK(tf(te(orders, 0), 1) != NULL);

  tnode *root = schema_el(&f, 0);
  CHECK(tbin_eq(tf(root, 4), "schema", 6));
  CHECK_INT_EQ(ti(tf(root, 5)), N_ALL);
  /* physical type, type_length, converted type, logical member, field id */
  struct {
    int type, length, converted, logical;
  } want[N_ALL] = {
      {0, -1, -1, -1},  /* boolean */
      {1, -1, -1, -1},  /* int */
      {2, -1, -1, -1},  /* long */
      {4, -1, -1, -1},  /* float */
      {5, -1, -1, -1},  /* double */
      {1, -1, 5, 5},    /* decimal(9,2): INT32 DECIMAL */
      {2, -1, 5, 5},    /* decimal(18,3): INT64 */
      {7, 16, 5, 5},    /* decimal(38,10): FLBA(16) */
      {1, -1, 6, 6},    /* date */
      {2, -1, 8, 7},    /* time: TIME_MICROS, TIME */
      {2, -1, 10, 8},   /* timestamp */
      {2, -1, 10, 8},   /* timestamptz */
      {6, -1, 0, 1},    /* string: UTF8, STRING */
      {6, -1, -1, -1},  /* binary */
      {7, 16, -1, 14},  /* uuid */
      {7, 3, -1, -1},   /* fixed(3) */
  };
  for (int k = 0; k < N_ALL; k++) {
    tnode *e = schema_el(&f, k + 1);
    REQUIRE(e != NULL);
    CHECK_INT_EQ(ti(tf(e, 1)), want[k].type);
    CHECK_INT_EQ(ti(tf(e, 3)), 0); /* REQUIRED */
    CHECK_INT_EQ(ti(tf(e, 9)), k + 1);
    if (want[k].length >= 0) CHECK_INT_EQ(ti(tf(e, 2)), want[k].length);
    else CHECK(tf(e, 2) == NULL);
    if (want[k].converted >= 0) CHECK_INT_EQ(ti(tf(e, 6)), want[k].converted);
    else CHECK(tf(e, 6) == NULL);
    tnode *lt = tf(e, 10);
    if (want[k].logical >= 0) {
      REQUIRE(lt != NULL && lt->n == 1);
      CHECK_INT_EQ(lt->kids[0].id, want[k].logical);
    } else {
      CHECK(lt == NULL);
    }
  }
  /* Decimal parameters, legacy and logical. */
  tnode *d38 = schema_el(&f, C_DEC38 + 1);
  CHECK_INT_EQ(ti(tf(d38, 7)), 10);
  CHECK_INT_EQ(ti(tf(d38, 8)), 38);
  CHECK_INT_EQ(ti(tf(tf(tf(d38, 10), 5), 1)), 10);
  CHECK_INT_EQ(ti(tf(tf(tf(d38, 10), 5), 2)), 38);
  /* time: isAdjustedToUTC false, MICROS; timestamptz: true. */
  tnode *tm = tf(tf(schema_el(&f, C_TIME + 1), 10), 7);
  CHECK_INT_EQ(ti(tf(tm, 1)), 0);
  CHECK(tf(tf(tm, 2), 2) != NULL);
  CHECK_INT_EQ(ti(tf(tf(tf(schema_el(&f, C_TS + 1), 10), 8), 1)), 0);
  CHECK_INT_EQ(ti(tf(tf(tf(schema_el(&f, C_TSTZ + 1), 10), 8), 1)), 1);
  CHECK(tf(tf(tf(tf(schema_el(&f, C_TSTZ + 1), 10), 8), 2), 2) != NULL);
  pfile_free(&f);
}

static void test_statistics_follow_type_order(void) {
  const char *path = tmp_path("all_types_stats.parquet");
  REQUIRE(write_all_types(path, true, 10, NULL, NULL) == 0);
  pfile f;
  REQUIRE(pfile_load(&f, path) == 0);
  /* Rows 0..9, nulls at 3 and 7: non-null r in {0,1,2,4,5,6,8,9}. */
  for (int k = 0; k < N_ALL; k++) {
    tnode *e = schema_el(&f, k + 1);
    CHECK_INT_EQ(ti(tf(e, 3)), 1); /* OPTIONAL */
    tnode *cm = col_meta(&f, 0, k);
    CHECK_INT_EQ(ti(tf(cm, 5)), 10);
    CHECK_INT_EQ(ti(tf(tf(cm, 12), 3)), 2);
    CHECK_INT_EQ(ti(tf(cm, 4)), 6); /* ZSTD */
  }
  tnode *st;
  /* int: min -5, max 85 (4-byte LE), deprecated min/max too */
  st = tf(col_meta(&f, 0, C_INT), 12);
  const uint8_t i_min[] = {0xFB, 0xFF, 0xFF, 0xFF}, i_max[] = {85, 0, 0, 0};
  CHECK(tbin_eq(tf(st, 6), i_min, 4));
  CHECK(tbin_eq(tf(st, 5), i_max, 4));
  CHECK(tbin_eq(tf(st, 2), i_min, 4));
  CHECK(tbin_eq(tf(st, 1), i_max, 4));
  /* double: min -0.5, max 1.75 */
  st = tf(col_meta(&f, 0, C_DOUBLE), 12);
  double dmin = -0.5, dmax = 1.75;
  CHECK(tbin_eq(tf(st, 6), &dmin, 8));
  CHECK(tbin_eq(tf(st, 5), &dmax, 8));
  /* decimal(38,10) as FLBA(16): min -1, max 9 * 10^27, big-endian; no
   * deprecated fields for FLBA */
  st = tf(col_meta(&f, 0, C_DEC38), 12);
  uint8_t m1[16];
  memset(m1, 0xFF, 16);
  CHECK(tbin_eq(tf(st, 6), m1, 16));
  const uint8_t nine_e27[16] = {0, 0, 0, 0, 0x1D, 0x14, 0xA0, 0x21,
                                0x9E, 0x54, 0x82, 0x24, 0x28, 0x00, 0x00, 0x00};
  CHECK(tbin_eq(tf(st, 5), nine_e27, 16));
  CHECK(tf(st, 1) == NULL && tf(st, 2) == NULL);
  /* string: byte-wise; "str00" .. "str09" */
  st = tf(col_meta(&f, 0, C_STRING), 12);
  CHECK(tbin_eq(tf(st, 6), "str00", 5));
  CHECK(tbin_eq(tf(st, 5), "str09", 5));
  CHECK(tf(st, 1) == NULL);
  /* binary: unsigned order: 0xF0 (r=0, 1 byte) .. 0xF9 0x00 0x09 (r=9) */
  st = tf(col_meta(&f, 0, C_BINARY), 12);
  const uint8_t bmin[] = {0xF0}, bmax[] = {0xF9};
  CHECK(tbin_eq(tf(st, 6), bmin, 1));
  CHECK(tbin_eq(tf(st, 5), bmax, 1));
  /* uuid: unsigned bytes, r = 0 and r = 9 */
  st = tf(col_meta(&f, 0, C_UUID), 12);
  CHECK(tf(st, 6) != NULL && tf(st, 6)->len == 16 && tf(st, 6)->bin[0] == 0x00);
  CHECK(tf(st, 5) != NULL && tf(st, 5)->len == 16 && tf(st, 5)->bin[0] == 0x90);
  /* bool: false .. true */
  st = tf(col_meta(&f, 0, C_BOOL), 12);
  CHECK(tbin_eq(tf(st, 6), "\0", 1));
  CHECK(tbin_eq(tf(st, 5), "\1", 1));
  pfile_free(&f);
}

/* One column of doubles including NaN and both zeros. */
static int write_doubles(const char *path, const double *v, int n,
                         floe_parquet_file_metrics *metrics) {
  colspec col = {"x", floe_arrow_type_of(FLOE_ARROW_DOUBLE), true, 1};
  struct ArrowSchema schema;
  make_schema(&schema, &col, 1);
  floe_error err = {0};
  floe_arrow_batch_builder bb;
  floe_arrow_batch_builder_init(&bb, &schema, &err);
  for (int k = 0; k < n; k++) {
    if (v[k] == 12345.0) floe_arrow_builder_append_null(&bb.columns[0]);
    else floe_arrow_builder_append_double(&bb.columns[0], v[k]);
  }
  struct ArrowArray batch;
  floe_arrow_batch_builder_finish(&bb, &batch, &err);
  floe_parquet_writer *w = NULL;
  int rc = floe_parquet_writer_open_file(&w, path, &schema, NULL, &err);
  if (rc == 0) rc = floe_parquet_writer_write(w, &batch, &err);
  if (rc == 0) rc = floe_parquet_writer_close(w, metrics, &err);
  floe_parquet_writer_free(w);
  floe_arrow_array_release(&batch);
  floe_arrow_batch_builder_free(&bb);
  floe_arrow_schema_release(&schema);
  return rc;
}

static void test_float_statistics_ignore_nan_and_order_zeros(void) {
  const char *path = tmp_path("doubles.parquet");
  double v[] = {NAN, 0.0, 3.5, NAN, 12345.0 /* null */, 1.0, -0.0};
  floe_parquet_file_metrics m;
  REQUIRE(write_doubles(path, v, 7, &m) == 0);
  pfile f;
  REQUIRE(pfile_load(&f, path) == 0);
  tnode *st = tf(col_meta(&f, 0, 0), 12);
  double lo = -0.0, hi = 3.5;
  CHECK(tbin_eq(tf(st, 6), &lo, 8));
  CHECK(tbin_eq(tf(st, 5), &hi, 8));
  CHECK_INT_EQ(ti(tf(st, 3)), 1);
  CHECK(m.columns[0].has_nan_count);
  CHECK_INT_EQ(m.columns[0].nan_count, 2);
  CHECK_INT_EQ(m.columns[0].null_count, 1);
  CHECK_INT_EQ(m.columns[0].value_count, 7);
  REQUIRE(m.columns[0].lower_bound_len == 8 && m.columns[0].upper_bound_len == 8);
  CHECK(memcmp(m.columns[0].lower_bound, &lo, 8) == 0);
  CHECK(memcmp(m.columns[0].upper_bound, &hi, 8) == 0);
  floe_parquet_file_metrics_free(&m);
  pfile_free(&f);

  /* Zeros only: min -0.0, max +0.0. Only NaN: no bounds at all. */
  double z[] = {0.0, 0.0, 0.0};
  REQUIRE(write_doubles(path, z, 3, &m) == 0);
  REQUIRE(pfile_load(&f, path) == 0);
  st = tf(col_meta(&f, 0, 0), 12);
  double pz = 0.0;
  CHECK(tbin_eq(tf(st, 6), &lo, 8));
  CHECK(tbin_eq(tf(st, 5), &pz, 8));
  CHECK(memcmp(m.columns[0].lower_bound, &lo, 8) == 0);
  floe_parquet_file_metrics_free(&m);
  pfile_free(&f);
  double nans[] = {NAN, NAN};
  REQUIRE(write_doubles(path, nans, 2, &m) == 0);
  REQUIRE(pfile_load(&f, path) == 0);
  st = tf(col_meta(&f, 0, 0), 12);
  CHECK(tf(st, 5) == NULL && tf(st, 6) == NULL);
  CHECK(m.columns[0].lower_bound == NULL && m.columns[0].upper_bound == NULL);
  CHECK_INT_EQ(m.columns[0].nan_count, 2);
  floe_parquet_file_metrics_free(&m);
  pfile_free(&f);
}

static void check_bound(const uint8_t *got, size_t got_len, const void *want,
                        size_t want_len, int line) {
  if (got == NULL || got_len != want_len || memcmp(got, want, want_len) != 0)
    TEST_FAIL_AT(__FILE__, line, "bound differs (len %zu, want %zu)", got_len,
                 want_len);
}
#define CHECK_LOWER(m, want, n) check_bound((m).lower_bound, (m).lower_bound_len, want, n, __LINE__)
#define CHECK_UPPER(m, want, n) check_bound((m).upper_bound, (m).upper_bound_len, want, n, __LINE__)

static void test_metrics_bounds_per_iceberg_appendix_d(void) {
  const char *path = tmp_path("all_types_metrics.parquet");
  floe_parquet_file_metrics m;
  REQUIRE(write_all_types(path, true, 10, NULL, &m) == 0);
  CHECK_INT_EQ(m.record_count, 10);
  REQUIRE(m.n_columns == N_ALL);
  for (int k = 0; k < N_ALL; k++) {
    CHECK_INT_EQ(m.columns[k].field_id, k + 1);
    CHECK_INT_EQ(m.columns[k].value_count, 10);
    CHECK_INT_EQ(m.columns[k].null_count, 2);
    CHECK(m.columns[k].column_size > 0);
    CHECK(m.columns[k].has_nan_count == (k == C_FLOAT || k == C_DOUBLE));
  }
  /* file_size matches the file, split offset = 4 (first row group) */
  pfile f;
  REQUIRE(pfile_load(&f, path) == 0);
  CHECK_INT_EQ(m.file_size, (int64_t)f.len);
  REQUIRE(m.n_split_offsets == 1);
  CHECK_INT_EQ(m.split_offsets[0], 4);
  /* column_size = total_compressed_size of the chunk */
  for (int k = 0; k < N_ALL; k++)
    CHECK_INT_EQ(m.columns[k].column_size, ti(tf(col_meta(&f, 0, k), 7)));
  pfile_free(&f);

  const uint8_t b_lo[] = {0}, b_hi[] = {1};
  CHECK_LOWER(m.columns[C_BOOL], b_lo, 1);
  CHECK_UPPER(m.columns[C_BOOL], b_hi, 1);
  const uint8_t i_lo[] = {0xFB, 0xFF, 0xFF, 0xFF}, i_hi[] = {85, 0, 0, 0};
  CHECK_LOWER(m.columns[C_INT], i_lo, 4);
  CHECK_UPPER(m.columns[C_INT], i_hi, 4);
  /* long: -7 and 9 * 10^12 - 7 = 0x082F79CD8FF9 */
  const uint8_t l_lo[] = {0xF9, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  const uint8_t l_hi[] = {0xF9, 0x8F, 0xCD, 0x79, 0x2F, 0x08, 0, 0};
  CHECK_LOWER(m.columns[C_LONG], l_lo, 8);
  CHECK_UPPER(m.columns[C_LONG], l_hi, 8);
  float f_lo = -1.0f, f_hi = 3.5f;
  CHECK_LOWER(m.columns[C_FLOAT], &f_lo, 4);
  CHECK_UPPER(m.columns[C_FLOAT], &f_hi, 4);
  /* decimal(9,2): -150 = 0xFF6A (2 bytes), 750 = 0x02EE */
  const uint8_t d9_lo[] = {0xFF, 0x6A}, d9_hi[] = {0x02, 0xEE};
  CHECK_LOWER(m.columns[C_DEC9], d9_lo, 2);
  CHECK_UPPER(m.columns[C_DEC9], d9_hi, 2);
  /* decimal(18,3): -1 = 0xFF; 9 * 123456789012 - 1 = 1111111101107 =
   * 0x0102B361EAB3 (6 bytes; high bit clear) */
  const uint8_t d18_lo[] = {0xFF};
  const uint8_t d18_hi[] = {0x01, 0x02, 0xB3, 0x61, 0xEA, 0xB3};
  CHECK_LOWER(m.columns[C_DEC18], d18_lo, 1);
  CHECK_UPPER(m.columns[C_DEC18], d18_hi, 6);
  /* decimal(38,10): -1, 9 * 10^27 in 12 bytes */
  const uint8_t d38_lo[] = {0xFF};
  CHECK_LOWER(m.columns[C_DEC38], d38_lo, 1);
  const uint8_t d38_hi[] = {0x1D, 0x14, 0xA0, 0x21, 0x9E, 0x54,
                            0x82, 0x24, 0x28, 0x00, 0x00, 0x00};
  CHECK_UPPER(m.columns[C_DEC38], d38_hi, 12);
  /* date: 19000 = 0x4A38, 19009 = 0x4A41 */
  const uint8_t dt_lo[] = {0x38, 0x4A, 0, 0}, dt_hi[] = {0x41, 0x4A, 0, 0};
  CHECK_LOWER(m.columns[C_DATE], dt_lo, 4);
  CHECK_UPPER(m.columns[C_DATE], dt_hi, 4);
  /* timestamptz: 1700000000000000 - 9 and - 0 (0x00060A24181E4000) */
  const uint8_t tz_hi[] = {0x00, 0x40, 0x1E, 0x18, 0x24, 0x0A, 0x06, 0x00};
  const uint8_t tz_lo[] = {0xF7, 0x3F, 0x1E, 0x18, 0x24, 0x0A, 0x06, 0x00};
  CHECK_LOWER(m.columns[C_TSTZ], tz_lo, 8);
  CHECK_UPPER(m.columns[C_TSTZ], tz_hi, 8);
  CHECK_LOWER(m.columns[C_STRING], "str00", 5);
  CHECK_UPPER(m.columns[C_STRING], "str09", 5);
  uint8_t u_hi[16];
  for (int k = 0; k < 16; k++) u_hi[k] = (uint8_t)(9 * 16 + k);
  CHECK_UPPER(m.columns[C_UUID], u_hi, 16);
  const uint8_t fx_lo[] = {0, 0xFF, 7}, fx_hi[] = {9, 0xF6, 7};
  CHECK_LOWER(m.columns[C_FIXED], fx_lo, 3);
  CHECK_UPPER(m.columns[C_FIXED], fx_hi, 3);
  floe_parquet_file_metrics_free(&m);
}

/* Writes strings (NULL = null) with truncate_length; returns metrics. */
static int write_strings(const char *path, const char *const *s, int n,
                         bool binary, int32_t truncate,
                         floe_parquet_file_metrics *m) {
  colspec col = {"s", floe_arrow_type_of(binary ? FLOE_ARROW_BINARY : FLOE_ARROW_UTF8),
                 true, 1};
  struct ArrowSchema schema;
  make_schema(&schema, &col, 1);
  floe_error err = {0};
  floe_arrow_batch_builder bb;
  floe_arrow_batch_builder_init(&bb, &schema, &err);
  for (int k = 0; k < n; k++) {
    if (s[k] == NULL) floe_arrow_builder_append_null(&bb.columns[0]);
    else floe_arrow_builder_append_bytes(&bb.columns[0], s[k], strlen(s[k]));
  }
  struct ArrowArray batch;
  floe_arrow_batch_builder_finish(&bb, &batch, &err);
  floe_parquet_writer_options o;
  floe_parquet_writer_options_init(&o);
  o.truncate_length = truncate;
  floe_parquet_writer *w = NULL;
  int rc = floe_parquet_writer_open_file(&w, path, &schema, &o, &err);
  if (rc == 0) rc = floe_parquet_writer_write(w, &batch, &err);
  if (rc == 0) rc = floe_parquet_writer_close(w, m, &err);
  if (rc != 0) fprintf(stderr, "  write_strings: %s\n", err.message);
  floe_parquet_writer_free(w);
  floe_arrow_array_release(&batch);
  floe_arrow_batch_builder_free(&bb);
  floe_arrow_schema_release(&schema);
  return rc;
}

static void test_string_bounds_truncate_code_points(void) {
  const char *path = tmp_path("strings_trunc.parquet");
  floe_parquet_file_metrics m;
  /* "héllo wörld" has 11 code points; truncate to 4: "héll" lower, upper
   * "hélm". */
  const char *a[] = {"h\xc3\xa9llo w\xc3\xb6rld", "h\xc3\xa9llo", NULL};
  REQUIRE(write_strings(path, a, 3, false, 4, &m) == 0);
  CHECK_LOWER(m.columns[0], "h\xc3\xa9ll", 5);
  CHECK_UPPER(m.columns[0], "h\xc3\xa9lm", 5);
  CHECK_INT_EQ(m.columns[0].null_count, 1);
  floe_parquet_file_metrics_free(&m);
  /* Multi-byte code point at the cut: "ab€€€" (€ = E2 82 AC), truncate 3:
   * lower "ab€", upper "ab" + U+20AD (E2 82 AD). */
  const char *b[] = {"ab\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"};
  REQUIRE(write_strings(path, b, 1, false, 3, &m) == 0);
  CHECK_LOWER(m.columns[0], "ab\xe2\x82\xac", 5);
  CHECK_UPPER(m.columns[0], "ab\xe2\x82\xad", 5);
  floe_parquet_file_metrics_free(&m);
  /* Increment carries: last kept code point U+10FFFF cannot grow, so the
   * one before it is incremented and the rest dropped: "a\U0010FFFF" + "z"
   * truncated to 2 -> upper "b". */
  const char *c[] = {"a\xf4\x8f\xbf\xbfz"};
  REQUIRE(write_strings(path, c, 1, false, 2, &m) == 0);
  CHECK_LOWER(m.columns[0], "a\xf4\x8f\xbf\xbf", 5);
  CHECK_UPPER(m.columns[0], "b", 1);
  floe_parquet_file_metrics_free(&m);
  /* Nothing can be incremented: no upper bound. */
  const char *d[] = {"\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf!"};
  REQUIRE(write_strings(path, d, 1, false, 2, &m) == 0);
  CHECK(m.columns[0].lower_bound_len == 8);
  CHECK(m.columns[0].upper_bound == NULL);
  floe_parquet_file_metrics_free(&m);
  /* U+D7FF + 1 skips the surrogates to U+E000. */
  const char *e[] = {"\xed\x9f\xbfxyz"};
  REQUIRE(write_strings(path, e, 1, false, 1, &m) == 0);
  CHECK_UPPER(m.columns[0], "\xee\x80\x80", 3);
  floe_parquet_file_metrics_free(&m);
  /* Short strings are kept whole; 0 = no truncation. */
  const char *g[] = {"abcdefghijklmnopqrstuvwxyz"};
  REQUIRE(write_strings(path, g, 1, false, 0, &m) == 0);
  CHECK_UPPER(m.columns[0], g[0], 26);
  floe_parquet_file_metrics_free(&m);
  REQUIRE(write_strings(path, g, 1, false, 16, &m) == 0);
  CHECK_LOWER(m.columns[0], "abcdefghijklmnop", 16);
  CHECK_UPPER(m.columns[0], "abcdefghijklmnoq", 16);
  floe_parquet_file_metrics_free(&m);
}

static void test_binary_bounds_truncate_bytes(void) {
  const char *path = tmp_path("binary_trunc.parquet");
  floe_parquet_file_metrics m;
  const char *a[] = {"\x01\x02\xff\xff\x05", "\x01\x02\x03"};
  REQUIRE(write_strings(path, a, 2, true, 4, &m) == 0);
  CHECK_LOWER(m.columns[0], "\x01\x02\x03", 3);
  /* max "\x01\x02\xff\xff\x05" -> 4 bytes, carry over 0xFF 0xFF */
  CHECK_UPPER(m.columns[0], "\x01\x03", 2);
  floe_parquet_file_metrics_free(&m);
  const char *b[] = {"\xff\xff\xff"};
  REQUIRE(write_strings(path, b, 1, true, 2, &m) == 0);
  CHECK_LOWER(m.columns[0], "\xff\xff", 2);
  CHECK(m.columns[0].upper_bound == NULL);
  floe_parquet_file_metrics_free(&m);
}

/* ---- pages: exact bytes -------------------------------------------------- */

static void test_plain_page_bytes_uncompressed(void) {
  const char *path = tmp_path("plain_long.parquet");
  colspec col = {"id", floe_arrow_type_of(FLOE_ARROW_INT64), false, 1};
  struct ArrowSchema schema;
  make_schema(&schema, &col, 1);
  floe_error err = {0};
  floe_arrow_batch_builder bb;
  floe_arrow_batch_builder_init(&bb, &schema, &err);
  for (int k = 1; k <= 3; k++) floe_arrow_builder_append_int64(&bb.columns[0], k);
  struct ArrowArray batch;
  floe_arrow_batch_builder_finish(&bb, &batch, &err);
  floe_parquet_writer_options o;
  floe_parquet_writer_options_init(&o);
  o.compression = FLOE_PARQUET_UNCOMPRESSED;
  o.dictionary = false;
  floe_parquet_writer *w = NULL;
  REQUIRE_OK(floe_parquet_writer_open_file(&w, path, &schema, &o, &err), &err);
  CHECK_OK(floe_parquet_writer_write(w, &batch, &err), &err);
  CHECK_OK(floe_parquet_writer_close(w, NULL, &err), &err);
  floe_parquet_writer_free(w);
  floe_arrow_array_release(&batch);
  floe_arrow_batch_builder_free(&bb);
  floe_arrow_schema_release(&schema);

  pfile f;
  REQUIRE(pfile_load(&f, path) == 0);
  /* PAR1, then the page header: DATA, 24, 24, {3, PLAIN, RLE, RLE} */
  const uint8_t want[] = {'P', 'A', 'R', '1',
                          0x15, 0x00, 0x15, 0x30, 0x15, 0x30, 0x2C,
                          0x15, 0x06, 0x15, 0x00, 0x15, 0x06, 0x15, 0x06,
                          0x00, 0x00,
                          1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
                          3, 0, 0, 0, 0, 0, 0, 0};
  REQUIRE(f.len > sizeof want);
  CHECK(memcmp(f.data, want, sizeof want) == 0);
  tnode *cm = col_meta(&f, 0, 0);
  CHECK_INT_EQ(ti(tf(cm, 9)), 4);
  CHECK(tf(cm, 11) == NULL);
  CHECK_INT_EQ(ti(tf(cm, 6)), 17 + 24);
  CHECK_INT_EQ(ti(tf(cm, 7)), 17 + 24);
  CHECK_INT_EQ(ti(tf(cm, 4)), 0);
  CHECK(has_encoding(cm, 0) && !has_encoding(cm, 8));
  pfile_free(&f);
}

static void test_dictionary_page_bytes(void) {
  const char *path = tmp_path("dict_strings.parquet");
  colspec col = {"s", floe_arrow_type_of(FLOE_ARROW_UTF8), true, 1};
  struct ArrowSchema schema;
  make_schema(&schema, &col, 1);
  floe_error err = {0};
  floe_arrow_batch_builder bb;
  floe_arrow_batch_builder_init(&bb, &schema, &err);
  floe_arrow_builder_append_bytes(&bb.columns[0], "a", 1);
  floe_arrow_builder_append_null(&bb.columns[0]);
  floe_arrow_builder_append_bytes(&bb.columns[0], "b", 1);
  floe_arrow_builder_append_bytes(&bb.columns[0], "a", 1);
  struct ArrowArray batch;
  floe_arrow_batch_builder_finish(&bb, &batch, &err);
  floe_parquet_writer_options o;
  floe_parquet_writer_options_init(&o);
  o.compression = FLOE_PARQUET_UNCOMPRESSED;
  floe_parquet_writer *w = NULL;
  REQUIRE_OK(floe_parquet_writer_open_file(&w, path, &schema, &o, &err), &err);
  CHECK_OK(floe_parquet_writer_write(w, &batch, &err), &err);
  CHECK_OK(floe_parquet_writer_close(w, NULL, &err), &err);
  floe_parquet_writer_free(w);
  floe_arrow_array_release(&batch);
  floe_arrow_batch_builder_free(&bb);
  floe_arrow_schema_release(&schema);

  pfile f;
  REQUIRE(pfile_load(&f, path) == 0);
  tnode *cm = col_meta(&f, 0, 0);
  CHECK_INT_EQ(ti(tf(cm, 11)), 4);
  CHECK(has_encoding(cm, 8) && has_encoding(cm, 0) && has_encoding(cm, 3));
  page pages[4];
  int n = read_pages(&f, 0, 0, pages, 4);
  REQUIRE(n == 2);
  CHECK_INT_EQ(ti(tf(&pages[0].header, 1)), 2); /* DICTIONARY_PAGE */
  CHECK_INT_EQ(ti(tf(tf(&pages[0].header, 7), 1)), 2);
  CHECK_INT_EQ(ti(tf(tf(&pages[0].header, 7), 2)), 0); /* PLAIN */
  const uint8_t dict[] = {1, 0, 0, 0, 'a', 1, 0, 0, 0, 'b'};
  CHECK(pages[0].body_len == sizeof dict && memcmp(pages[0].body, dict, sizeof dict) == 0);
  CHECK_INT_EQ(ti(tf(&pages[1].header, 1)), 0);
  CHECK_INT_EQ(ti(tf(tf(&pages[1].header, 5), 1)), 4);
  CHECK_INT_EQ(ti(tf(tf(&pages[1].header, 5), 2)), 8); /* RLE_DICTIONARY */
  /* levels: len 2, [1,0,1,1] packed; bit width 1; indices [0,1,0] */
  const uint8_t data[] = {2, 0, 0, 0, 0x03, 0x0D, 1, 0x03, 0x02};
  CHECK(pages[1].body_len == sizeof data && memcmp(pages[1].body, data, sizeof data) == 0);
  pages_free(pages, n);
  pfile_free(&f);
}

/* ---- policies: dictionary, fallback, codecs, row groups ------------------ */

/* n rows of (long id unique, string with `distinct` values, int), page and
 * dictionary limits small to exercise the policy. */
static int write_policy_file(const char *path, int n, int distinct, int warm,
                             const floe_parquet_writer_options *o,
                             int batch_rows, floe_parquet_file_metrics *m) {
  colspec cols[3] = {
      {"id", floe_arrow_type_of(FLOE_ARROW_INT64), false, 1},
      {"s", floe_arrow_type_of(FLOE_ARROW_UTF8), true, 2},
      {"v", floe_arrow_type_of(FLOE_ARROW_INT32), true, 3},
  };
  struct ArrowSchema schema;
  make_schema(&schema, cols, 3);
  floe_error err = {0};
  floe_arrow_batch_builder bb;
  floe_arrow_batch_builder_init(&bb, &schema, &err);
  floe_parquet_writer *w = NULL;
  int rc = floe_parquet_writer_open_file(&w, path, &schema, o, &err);
  for (int start = 0; rc == 0 && start < n; start += batch_rows) {
    for (int r = start; r < n && r < start + batch_rows; r++) {
      floe_arrow_builder_append_int64(&bb.columns[0], r);
      char s[48];
      /* the first `warm` rows cycle through 10 values only */
      int sv = r < warm ? r % 10 : distinct > 0 ? r % distinct : r;
      snprintf(s, sizeof s, "value-%08d-padding", sv);
      if (r % 10 == 9) floe_arrow_builder_append_null(&bb.columns[1]);
      else floe_arrow_builder_append_bytes(&bb.columns[1], s, strlen(s));
      floe_arrow_builder_append_int32(&bb.columns[2], r % 7);
    }
    struct ArrowArray batch;
    floe_arrow_batch_builder_finish(&bb, &batch, &err);
    rc = floe_parquet_writer_write(w, &batch, &err);
    floe_arrow_array_release(&batch);
  }
  if (rc == 0) rc = floe_parquet_writer_close(w, m, &err);
  if (rc != 0) fprintf(stderr, "  write_policy_file: %s\n", err.message);
  floe_parquet_writer_free(w);
  floe_arrow_batch_builder_free(&bb);
  floe_arrow_schema_release(&schema);
  return rc;
}

/* Data page encodings of chunk (g, c), in order, into enc[]; returns the
 * data page count, with *dict_pages the dictionary pages seen. */
static int data_page_encodings(pfile *f, int g, int c, int *enc, int max,
                               int *dict_pages, int64_t *values) {
  page pages[256];
  int n = read_pages(f, g, c, pages, 256);
  int d = 0, k = 0;
  *dict_pages = 0;
  *values = 0;
  for (int p = 0; p < n; p++) {
    if (ti(tf(&pages[p].header, 1)) == 2) {
      d++;
      continue;
    }
    if (k < max) enc[k] = (int)ti(tf(tf(&pages[p].header, 5), 2));
    *values += ti(tf(tf(&pages[p].header, 5), 1));
    k++;
  }
  *dict_pages = d;
  pages_free(pages, n);
  return n < 0 ? -1 : k;
}

static void test_dictionary_abandoned_for_unique_values(void) {
  const char *path = tmp_path("unique.parquet");
  floe_parquet_writer_options o;
  floe_parquet_writer_options_init(&o);
  o.page_bytes = 8192;
  REQUIRE(write_policy_file(path, 20000, 0, 0, &o, 20000, NULL) == 0);
  pfile f;
  REQUIRE(pfile_load(&f, path) == 0);
  int enc[64], dict_pages;
  int64_t values;
  /* id (unique longs): PLAIN only, no dictionary page */
  int n = data_page_encodings(&f, 0, 0, enc, 64, &dict_pages, &values);
  CHECK(n > 1);
  CHECK_INT_EQ(dict_pages, 0);
  CHECK_INT_EQ(values, 20000);
  for (int k = 0; k < n && k < 64; k++) CHECK_INT_EQ(enc[k], 0);
  CHECK(!has_encoding(col_meta(&f, 0, 0), 8));
  CHECK(tf(col_meta(&f, 0, 0), 11) == NULL);
  /* unique strings: same */
  n = data_page_encodings(&f, 0, 1, enc, 64, &dict_pages, &values);
  CHECK_INT_EQ(dict_pages, 0);
  CHECK_INT_EQ(values, 20000);
  for (int k = 0; k < n && k < 64; k++) CHECK_INT_EQ(enc[k], 0);
  /* v (7 distinct ints): dictionary */
  n = data_page_encodings(&f, 0, 2, enc, 64, &dict_pages, &values);
  CHECK_INT_EQ(dict_pages, 1);
  for (int k = 0; k < n && k < 64; k++) CHECK_INT_EQ(enc[k], 8);
  pfile_free(&f);
}

static void test_dictionary_falls_back_when_full(void) {
  const char *path = tmp_path("fallback.parquet");
  floe_parquet_writer_options o;
  floe_parquet_writer_options_init(&o);
  o.page_bytes = 4096;
  o.dictionary_page_bytes = 2000;
  /* Strings of 23 bytes (27 PLAIN): the first 2000 rows hold 10 distinct
   * values, so the first page pays; then 1000 distinct values push the
   * dictionary past 2000 bytes (~75 entries) and the chunk goes PLAIN. */
  REQUIRE(write_policy_file(path, 20000, 1000, 2000, &o, 20000, NULL) == 0);
  pfile f;
  REQUIRE(pfile_load(&f, path) == 0);
  int enc[256], dict_pages;
  int64_t values;
  int n = data_page_encodings(&f, 0, 1, enc, 256, &dict_pages, &values);
  CHECK_INT_EQ(dict_pages, 1);
  CHECK_INT_EQ(values, 20000);
  REQUIRE(n >= 2);
  CHECK_INT_EQ(enc[0], 8);
  CHECK_INT_EQ(enc[n - 1], 0);
  /* once PLAIN, PLAIN to the end of the chunk */
  int k = 0;
  while (k < n && enc[k] == 8) k++;
  for (; k < n; k++) CHECK_INT_EQ(enc[k], 0);
  tnode *cm = col_meta(&f, 0, 1);
  CHECK(has_encoding(cm, 8) && has_encoding(cm, 0));
  pfile_free(&f);
}

/* Rows [r0, r1) of a mixed table: values that repeat (dictionary pages),
 * unique ones (PLAIN), strings of varying length, nulls, booleans. */
static void append_mixed_rows(floe_arrow_batch_builder *bb, int r0, int r1) {
  floe_arrow_builder *c = bb->columns;
  for (int r = r0; r < r1; r++) {
    if (r % 7 == 3)
      floe_arrow_builder_append_null(&c[0]);
    else
      floe_arrow_builder_append_int32(&c[0], r % 50);
    floe_arrow_builder_append_int64(&c[1], (int64_t)r * 7919);
    char s[96];
    int len = snprintf(s, sizeof s, "name_%d_%.*s", r % 300, r % 40,
                       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    if (r % 11 == 5)
      floe_arrow_builder_append_null(&c[2]);
    else
      floe_arrow_builder_append_bytes(&c[2], s, (size_t)len);
    len = snprintf(s, sizeof s, "unique-%d-%.*s", r, r % 23, "yyyyyyyyyyyyyyyyyyyyyyy");
    floe_arrow_builder_append_bytes(&c[3], s, (size_t)len);
    if (r % 5 == 0)
      floe_arrow_builder_append_null(&c[4]);
    else
      floe_arrow_builder_append_bool(&c[4], r % 3 == 0);
    floe_arrow_builder_append_double(&c[5], (r / 10 % 2000) * 0.5);
  }
}

/* Writes `rows` mixed rows in batches of `step` rows; the file's bytes
 * into *out (free with floe_buf_free). */
static int write_mixed(const char *path, int rows, int step, const floe_parquet_writer_options *o,
                       floe_buf *out) {
  colspec cols[] = {
      {"small", floe_arrow_type_of(FLOE_ARROW_INT32), true, 1},
      {"id", floe_arrow_type_of(FLOE_ARROW_INT64), false, 2},
      {"name", floe_arrow_type_of(FLOE_ARROW_UTF8), true, 3},
      {"uniq", floe_arrow_type_of(FLOE_ARROW_UTF8), false, 4},
      {"flag", floe_arrow_type_of(FLOE_ARROW_BOOL), true, 5},
      {"score", floe_arrow_type_of(FLOE_ARROW_DOUBLE), false, 6},
  };
  struct ArrowSchema schema;
  make_schema(&schema, cols, 6);
  floe_error err = {0};
  floe_parquet_writer *w = NULL;
  int rc = floe_parquet_writer_open_file(&w, path, &schema, o, &err);
  for (int r0 = 0; rc == 0 && r0 < rows; r0 += step) {
    floe_arrow_batch_builder bb;
    struct ArrowArray batch;
    rc = floe_arrow_batch_builder_init(&bb, &schema, &err);
    if (rc != 0) break;
    append_mixed_rows(&bb, r0, r0 + step < rows ? r0 + step : rows);
    rc = floe_arrow_batch_builder_finish(&bb, &batch, &err);
    if (rc == 0) rc = floe_parquet_writer_write(w, &batch, &err);
    floe_arrow_array_release(&batch);
    floe_arrow_batch_builder_free(&bb);
  }
  if (rc == 0) rc = floe_parquet_writer_close(w, NULL, &err);
  if (rc != 0) fprintf(stderr, "  write_mixed: %s\n", err.message);
  floe_parquet_writer_free(w);
  floe_arrow_schema_release(&schema);
  floe_buf_init(out);
  FILE *f = rc == 0 ? fopen(path, "rb") : NULL;
  if (f != NULL) {
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) floe_buf_append(out, chunk, n);
    fclose(f);
  }
  return rc;
}

/* The writer checks whether a page is full per run of values, not per
 * value: pages must still end at exactly the value where a check per
 * value ends them. Written one row per batch, every value is checked on
 * its own (a run needs 32 values), so that file is the reference; larger
 * batches must give the same bytes, pages cut at every kind of limit
 * (page size, the first page's PLAIN size, the dictionary outgrowing its
 * page, booleans and nulls). */
static void test_pages_end_at_the_same_value_whatever_the_batch_size(void) {
  const char *path = tmp_path("runs.parquet");
  floe_parquet_writer_options o;
  floe_parquet_writer_options_init(&o);
  o.page_bytes = 6000;
  o.dictionary_page_bytes = 1500;
  o.compression = FLOE_PARQUET_UNCOMPRESSED;
  const int rows = 30000;
  floe_buf one, batch;
  REQUIRE(write_mixed(path, rows, 1, &o, &one) == 0);
  REQUIRE(one.len > 0);
  pfile f;
  REQUIRE(pfile_load(&f, path) == 0);
  int enc[1024], dict_pages;
  int64_t values;
  for (int c = 0; c < 6; c++) {
    int n = data_page_encodings(&f, 0, c, enc, 1024, &dict_pages, &values);
    CHECK(n > (c == 0 || c == 4 ? 1 : 5)); /* pages cut in every column */
    CHECK_INT_EQ(values, rows);
  }
  /* The dictionary of "score" (2,000 values) outgrows 1500 bytes:
   * dictionary pages first, then PLAIN; "small" keeps its dictionary;
   * the unique strings go PLAIN at the first page. */
  int n = data_page_encodings(&f, 0, 5, enc, 1024, &dict_pages, &values);
  CHECK(n > 0 && enc[0] == 8 && enc[n - 1] == 0);
  n = data_page_encodings(&f, 0, 0, enc, 1024, &dict_pages, &values);
  CHECK(n > 0 && enc[0] == 8 && enc[n - 1] == 8);
  n = data_page_encodings(&f, 0, 3, enc, 1024, &dict_pages, &values);
  CHECK(n > 0 && enc[0] == 0 && dict_pages == 0);
  pfile_free(&f);
  int steps[] = {rows, 8192, 777, 33, 31};
  for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
    REQUIRE(write_mixed(path, rows, steps[k], &o, &batch) == 0);
    if (batch.len != one.len || memcmp(batch.data, one.data, one.len) != 0)
      TEST_FAIL_AT(__FILE__, __LINE__, "batches of %d rows: %zu bytes differ from the "
                   "row-by-row file's %zu", steps[k], batch.len, one.len);
    floe_buf_free(&batch);
  }
  floe_buf_free(&one);
}

static void test_every_codec_round_trips_pages(void) {
  floe_parquet_compression codecs[] = {FLOE_PARQUET_UNCOMPRESSED,
                                       FLOE_PARQUET_SNAPPY, FLOE_PARQUET_GZIP,
                                       FLOE_PARQUET_ZSTD};
  int64_t sizes[4];
  for (int c = 0; c < 4; c++) {
    const char *path = tmp_path("codec.parquet");
    floe_parquet_writer_options o;
    floe_parquet_writer_options_init(&o);
    o.compression = codecs[c];
    o.page_bytes = 16384;
    floe_parquet_file_metrics m;
    REQUIRE(write_policy_file(path, 20000, 100, 0, &o, 3000, &m) == 0);
    pfile f;
    REQUIRE(pfile_load(&f, path) == 0);
    sizes[c] = (int64_t)f.len;
    for (int col = 0; col < 3; col++) {
      tnode *cm = col_meta(&f, 0, col);
      CHECK_INT_EQ(ti(tf(cm, 4)), (int)codecs[c]);
      CHECK_INT_EQ(ti(tf(cm, 5)), 20000);
      int dict_pages, enc[256];
      int64_t values;
      int n = data_page_encodings(&f, 0, col, enc, 256, &dict_pages, &values);
      CHECK(n >= 1);
      CHECK_INT_EQ(values, 20000);
      CHECK_INT_EQ(m.columns[col].column_size, ti(tf(cm, 7)));
    }
    /* The nullable string column's first data page starts with the 4-byte
     * level length, then levels 1 x9 (an RLE run: varint(9 << 1), value 1)
     * and then a bit-packed run starting 0, 1 ... */
    page pages[256];
    int n = read_pages(&f, 0, 1, pages, 256);
    REQUIRE(n >= 2);
    uint32_t level_len = floe_load_u32le(pages[1].body);
    CHECK(level_len > 0 && level_len < pages[1].body_len);
    CHECK_INT_EQ(pages[1].body[4], 0x12);
    CHECK_INT_EQ(pages[1].body[5], 0x01);
    CHECK_INT_EQ(pages[1].body[6] & 1, 1);    /* bit-packed header */
    CHECK_INT_EQ(pages[1].body[7], 0xFE);     /* rows 9..16: 0 then 1 x7 */
    CHECK_INT_EQ(pages[1].body[8], 0xFB);     /* rows 17..24: 19 is null */
    pages_free(pages, n);
    pfile_free(&f);
    floe_parquet_file_metrics_free(&m);
  }
  CHECK(sizes[3] < sizes[0]);
  CHECK(sizes[1] < sizes[0]);
  CHECK(sizes[2] < sizes[0]);
}

static void test_row_groups_split_at_target(void) {
  const char *path = tmp_path("groups.parquet");
  floe_parquet_writer_options o;
  floe_parquet_writer_options_init(&o);
  o.row_group_bytes = 64 * 1024;
  o.page_bytes = 8192;
  floe_parquet_file_metrics m;
  REQUIRE(write_policy_file(path, 50000, 50, 0, &o, 7000, &m) == 0);
  pfile f;
  REQUIRE(pfile_load(&f, path) == 0);
  tnode *groups = tf(&f.meta, 4);
  REQUIRE(groups != NULL);
  CHECK(groups->n >= 3);
  CHECK_INT_EQ(m.n_split_offsets, groups->n);
  int64_t rows = 0, sizes[3] = {0, 0, 0};
  for (int g = 0; g < groups->n; g++) {
    tnode *rg = row_group(&f, g);
    rows += ti(tf(rg, 3));
    CHECK_INT_EQ(ti(tf(rg, 7)), g);
    /* split offset = first column chunk's first page */
    tnode *cm = col_meta(&f, g, 0);
    int64_t first = tf(cm, 11) ? ti(tf(cm, 11)) : ti(tf(cm, 9));
    if (g < m.n_split_offsets) {
      CHECK_INT_EQ(m.split_offsets[g], first);
      CHECK_INT_EQ(ti(tf(rg, 5)), first);
    }
    int64_t total = 0;
    for (int c = 0; c < 3; c++) {
      tnode *cmc = col_meta(&f, g, c);
      CHECK_INT_EQ(ti(tf(cmc, 5)), ti(tf(rg, 3)));
      total += ti(tf(cmc, 7));
      sizes[c] += ti(tf(cmc, 7));
      int dp, enc[256];
      int64_t values;
      CHECK(data_page_encodings(&f, g, c, enc, 256, &dp, &values) >= 1);
      CHECK_INT_EQ(values, ti(tf(rg, 3)));
    }
    CHECK_INT_EQ(ti(tf(rg, 6)), total);
    /* each group holds about row_group_bytes uncompressed */
    if (g + 1 < groups->n) {
      CHECK(ti(tf(rg, 2)) >= 32 * 1024);
      CHECK(ti(tf(rg, 2)) < 2 * 64 * 1024);
    }
  }
  CHECK_INT_EQ(rows, 50000);
  CHECK_INT_EQ(ti(tf(&f.meta, 3)), 50000);
  for (int c = 0; c < 3; c++) CHECK_INT_EQ(m.columns[c].column_size, sizes[c]);
  /* id bounds over all row groups: 0 .. 49999 */
  const uint8_t lo[8] = {0}, hi[8] = {0x4F, 0xC3, 0, 0, 0, 0, 0, 0};
  CHECK_LOWER(m.columns[0], lo, 8);
  CHECK_UPPER(m.columns[0], hi, 8);
  CHECK_INT_EQ(m.columns[1].null_count, 5000);
  pfile_free(&f);
  floe_parquet_file_metrics_free(&m);
}

/* ---- errors ------------------------------------------------------------- */

static void test_decimal_beyond_precision_is_erange(void) {
  colspec col = {"price", floe_arrow_decimal(4, 2), true, 1};
  struct ArrowSchema schema;
  make_schema(&schema, &col, 1);
  floe_error err = {0};
  floe_arrow_batch_builder bb;
  floe_arrow_batch_builder_init(&bb, &schema, &err);
  floe_arrow_builder_append_decimal(&bb.columns[0], 9999);
  floe_arrow_builder_append_decimal(&bb.columns[0], -9999);
  floe_arrow_builder_append_decimal(&bb.columns[0], 10000);
  struct ArrowArray batch;
  floe_arrow_batch_builder_finish(&bb, &batch, &err);
  floe_parquet_writer *w = NULL;
  const char *path = tmp_path("bad_decimal.parquet");
  REQUIRE_OK(floe_parquet_writer_open_file(&w, path, &schema, NULL, &err), &err);
  CHECK_INT_EQ(floe_parquet_writer_write(w, &batch, &err), FLOE_ERANGE);
  CHECK(strstr(err.message, "column 'price' row 2") != NULL);
  CHECK(strstr(err.message, "100.00") != NULL);
  CHECK(strstr(err.message, "precision 4") != NULL);
  /* The rejected batch left nothing behind: the file holds 0 rows. */
  CHECK_INT_EQ(floe_parquet_writer_rows(w), 0);
  floe_parquet_file_metrics m;
  CHECK_OK(floe_parquet_writer_close(w, &m, &err), &err);
  CHECK_INT_EQ(m.record_count, 0);
  floe_parquet_file_metrics_free(&m);
  floe_parquet_writer_free(w);
  pfile f;
  REQUIRE(pfile_load(&f, path) == 0);
  CHECK_INT_EQ(ti(tf(&f.meta, 3)), 0);
  pfile_free(&f);
  floe_arrow_array_release(&batch);
  floe_arrow_batch_builder_free(&bb);
  floe_arrow_schema_release(&schema);
}

static void test_null_in_required_column_is_einval(void) {
  colspec cols[2] = {{"a", floe_arrow_type_of(FLOE_ARROW_INT32), false, 1},
                     {"name", floe_arrow_type_of(FLOE_ARROW_UTF8), true, 2}};
  struct ArrowSchema schema;
  make_schema(&schema, cols, 2);
  /* The batch's own schema says nullable; the writer's says required. */
  colspec loose[2] = {{"a", floe_arrow_type_of(FLOE_ARROW_INT32), true, 1},
                      {"name", floe_arrow_type_of(FLOE_ARROW_UTF8), true, 2}};
  struct ArrowSchema batch_schema;
  make_schema(&batch_schema, loose, 2);
  floe_error err = {0};
  floe_arrow_batch_builder bb;
  floe_arrow_batch_builder_init(&bb, &batch_schema, &err);
  for (int r = 0; r < 5; r++) {
    if (r == 3) floe_arrow_builder_append_null(&bb.columns[0]);
    else floe_arrow_builder_append_int32(&bb.columns[0], r);
    floe_arrow_builder_append_bytes(&bb.columns[1], "x", 1);
  }
  struct ArrowArray batch;
  floe_arrow_batch_builder_finish(&bb, &batch, &err);
  floe_parquet_writer *w = NULL;
  REQUIRE_OK(floe_parquet_writer_open_file(&w, tmp_path("bad_null.parquet"),
                                           &schema, NULL, &err), &err);
  CHECK_INT_EQ(floe_parquet_writer_write(w, &batch, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "column 'a' row 3") != NULL);
  floe_parquet_writer_free(w);
  floe_arrow_array_release(&batch);
  floe_arrow_batch_builder_free(&bb);
  floe_arrow_schema_release(&schema);
  floe_arrow_schema_release(&batch_schema);
}

static void test_open_rejects_bad_schemas(void) {
  floe_error err = {0};
  floe_parquet_writer *w = NULL;
  /* a type floe reads but does not write */
  struct ArrowSchema schema;
  floe_arrow_type_info u64 = floe_arrow_type_of(FLOE_ARROW_UINT64);
  colspec col = {"n", u64, true, 1};
  make_schema(&schema, &col, 1);
  CHECK_INT_EQ(floe_parquet_writer_open_file(&w, tmp_path("bad.parquet"),
                                             &schema, NULL, &err),
               FLOE_EUNSUPPORTED);
  CHECK(strstr(err.message, "column 'n'") != NULL);
  CHECK(w == NULL);
  floe_arrow_schema_release(&schema);
  /* not a struct */
  floe_arrow_type_info it = floe_arrow_type_of(FLOE_ARROW_INT32);
  struct ArrowSchema leaf;
  floe_arrow_schema_init(&leaf, "x", &it, true, 1);
  CHECK_INT_EQ(floe_parquet_writer_open_file(&w, tmp_path("bad.parquet"), &leaf,
                                             NULL, &err), FLOE_EINVAL);
  /* bad zstd level */
  struct ArrowSchema ok;
  colspec okc = {"x", it, true, 1};
  make_schema(&ok, &okc, 1);
  floe_parquet_writer_options o;
  floe_parquet_writer_options_init(&o);
  o.compression_level = 40;
  CHECK_INT_EQ(floe_parquet_writer_open_file(&w, tmp_path("bad.parquet"), &ok,
                                             &o, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "zstd level 40") != NULL);
  floe_arrow_schema_release(&leaf);
  floe_arrow_schema_release(&ok);
}

static int failing_sink(void *ctx, const void *data, size_t n, floe_error *err) {
  (void)data;
  int *budget = ctx;
  if (*budget < (int)n)
    return floe_error_set(err, FLOE_EIO, "sink: disk full");
  *budget -= (int)n;
  return FLOE_OK;
}

static void test_sink_failure_poisons_writer(void) {
  colspec col = {"id", floe_arrow_type_of(FLOE_ARROW_INT64), false, 1};
  struct ArrowSchema schema;
  make_schema(&schema, &col, 1);
  floe_error err = {0};
  floe_arrow_batch_builder bb;
  floe_arrow_batch_builder_init(&bb, &schema, &err);
  for (int r = 0; r < 100000; r++) floe_arrow_builder_append_int64(&bb.columns[0], r);
  struct ArrowArray batch;
  floe_arrow_batch_builder_finish(&bb, &batch, &err);
  floe_parquet_writer_options o;
  floe_parquet_writer_options_init(&o);
  o.row_group_bytes = 100000;
  int budget = 5000;
  floe_parquet_sink sink = {&budget, failing_sink};
  floe_parquet_writer *w = NULL;
  REQUIRE_OK(floe_parquet_writer_open(&w, &schema, &o, sink, &err), &err);
  CHECK_INT_EQ(floe_parquet_writer_write(w, &batch, &err), FLOE_EIO);
  CHECK(strstr(err.message, "disk full") != NULL);
  CHECK(floe_parquet_writer_write(w, &batch, &err) < 0);
  CHECK(floe_parquet_writer_close(w, NULL, &err) < 0);
  floe_parquet_writer_free(w);
  floe_arrow_array_release(&batch);
  floe_arrow_batch_builder_free(&bb);
  floe_arrow_schema_release(&schema);
}

static int memory_sink(void *ctx, const void *data, size_t n, floe_error *err) {
  (void)err;
  return floe_buf_append(ctx, data, n);
}

static void test_allocation_failures_are_reported(void) {
  colspec cols[N_ALL];
  all_columns(cols, true);
  struct ArrowSchema schema;
  make_schema(&schema, cols, N_ALL);
  floe_error err = {0};
  floe_arrow_batch_builder bb;
  floe_arrow_batch_builder_init(&bb, &schema, &err);
  for (int r = 0; r < 50; r++) append_all_row(&bb, r, true);
  struct ArrowArray batch;
  floe_arrow_batch_builder_finish(&bb, &batch, &err);
  int failures = 0, successes = 0;
  for (long n = 1; n < 400; n++) {
    floe_buf out = FLOE_BUF_INIT;
    floe_parquet_sink sink = {&out, memory_sink};
    floe_parquet_writer *w = NULL;
    floe_parquet_file_metrics m;
    memset(&m, 0, sizeof m);
    floe_alloc_fail_after(n);
    int rc = floe_parquet_writer_open(&w, &schema, NULL, sink, &err);
    if (rc == 0) rc = floe_parquet_writer_write(w, &batch, &err);
    if (rc == 0) rc = floe_parquet_writer_close(w, &m, &err);
    floe_alloc_fail_after(0);
    if (rc == 0) {
      successes++;
      CHECK_INT_EQ(m.record_count, 50);
    } else {
      failures++;
      CHECK(rc == FLOE_ENOMEM || rc == FLOE_EINVAL);
    }
    floe_parquet_file_metrics_free(&m);
    floe_parquet_writer_free(w);
    floe_buf_free(&out);
  }
  CHECK(failures > 50);
  CHECK(successes > 0);
  floe_arrow_array_release(&batch);
  floe_arrow_batch_builder_free(&bb);
  floe_arrow_schema_release(&schema);
}

static void test_batches_with_offsets_and_many_writes(void) {
  /* A sliced batch (offset 2) writes only its rows; results equal to the
   * same rows written one row per batch. */
  colspec col = {"v", floe_arrow_type_of(FLOE_ARROW_INT32), true, 1};
  struct ArrowSchema schema;
  make_schema(&schema, &col, 1);
  floe_error err = {0};
  floe_arrow_batch_builder bb;
  floe_arrow_batch_builder_init(&bb, &schema, &err);
  for (int r = 0; r < 10; r++) {
    if (r == 5) floe_arrow_builder_append_null(&bb.columns[0]);
    else floe_arrow_builder_append_int32(&bb.columns[0], 100 + r);
  }
  struct ArrowArray batch;
  floe_arrow_batch_builder_finish(&bb, &batch, &err);
  batch.offset = 2;
  batch.length = 6; /* rows 2..7: 102,103,104,null,106,107 */
  floe_parquet_writer *w = NULL;
  const char *path = tmp_path("sliced.parquet");
  REQUIRE_OK(floe_parquet_writer_open_file(&w, path, &schema, NULL, &err), &err);
  CHECK_OK(floe_parquet_writer_write(w, &batch, &err), &err);
  CHECK_INT_EQ(floe_parquet_writer_rows(w), 6);
  floe_parquet_file_metrics m;
  CHECK_OK(floe_parquet_writer_close(w, &m, &err), &err);
  CHECK_INT_EQ(m.columns[0].null_count, 1);
  CHECK_INT_EQ(m.columns[0].value_count, 6);
  const uint8_t lo[] = {102, 0, 0, 0}, hi[] = {107, 0, 0, 0};
  CHECK_LOWER(m.columns[0], lo, 4);
  CHECK_UPPER(m.columns[0], hi, 4);
  floe_parquet_file_metrics_free(&m);
  floe_parquet_writer_free(w);
  floe_arrow_array_release(&batch);
  floe_arrow_batch_builder_free(&bb);
  floe_arrow_schema_release(&schema);
}

int main(void) {
  RUN(test_rle_bit_packs_spec_example);
  RUN(test_rle_encodes_long_run);
  RUN(test_rle_short_run_stays_literal);
  RUN(test_rle_literal_borrows_from_run);
  RUN(test_rle_levels_width_one);
  RUN(test_dict_assigns_indices_in_insertion_order);
  RUN(test_thrift_page_header_known_bytes);
  RUN(test_thrift_file_meta_known_bytes);
  RUN(test_thrift_long_field_delta_and_logical_type);
  RUN(test_schema_maps_every_iceberg_type);
  RUN(test_statistics_follow_type_order);
  RUN(test_float_statistics_ignore_nan_and_order_zeros);
  RUN(test_metrics_bounds_per_iceberg_appendix_d);
  RUN(test_string_bounds_truncate_code_points);
  RUN(test_binary_bounds_truncate_bytes);
  RUN(test_plain_page_bytes_uncompressed);
  RUN(test_dictionary_page_bytes);
  RUN(test_dictionary_abandoned_for_unique_values);
  RUN(test_dictionary_falls_back_when_full);
  RUN(test_pages_end_at_the_same_value_whatever_the_batch_size);
  RUN(test_every_codec_round_trips_pages);
  RUN(test_row_groups_split_at_target);
  RUN(test_decimal_beyond_precision_is_erange);
  RUN(test_null_in_required_column_is_einval);
  RUN(test_open_rejects_bad_schemas);
  RUN(test_sink_failure_poisons_writer);
  RUN(test_allocation_failures_are_reported);
  RUN(test_batches_with_offsets_and_many_writes);
  return test_report();
}
