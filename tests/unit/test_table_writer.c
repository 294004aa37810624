/*
 * tests/unit/test_table_writer: the Iceberg data and delete file writers.
 *
 * Every file a writer reports is read back with floe's Parquet reader and
 * compared with the input rows of its partition, in order; the partition of
 * each input row is computed independently, one row at a time, with
 * floe_iceberg_partition_tuple and floe_iceberg_partition_path (the writer
 * transforms whole columns). Paths, bucket numbers (Iceberg spec Appendix
 * B: hash(34) = 2017239379) and bounds are also stated literally.
 */
#include <dirent.h>
#include <ftw.h>
#include <math.h>
#include <sys/stat.h>

#include "floe/iceberg.h"
#include "floe/io.h"
#include "floe/parquet_reader.h"
#include "floe/table_writer.h"
#include "floe/time.h"
#include "test.h"

static char scratch[4096];

/* A fresh absolute directory build/tmp/test_table_writer/<name>. */
static const char *scratch_dir(const char *name) {
  char cmd[8400];
  snprintf(cmd, sizeof cmd, "rm -rf 'tmp/test_table_writer/%s' && mkdir -p 'tmp/test_table_writer/%s'",
           name, name);
  if (system(cmd) != 0) return NULL;
  snprintf(cmd, sizeof cmd, "tmp/test_table_writer/%s", name);
  char *abs = realpath(cmd, NULL);
  if (abs == NULL) return NULL;
  snprintf(scratch, sizeof scratch, "%s", abs);
  free(abs);
  return scratch;
}

static int parquet_seen;

static int count_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  size_t n = strlen(path);
  if (type == FTW_F && n > 8 && strcmp(path + n - 8, ".parquet") == 0) parquet_seen++;
  return 0;
}

/* Number of *.parquet files under dir (0 when it does not exist). */
static int count_parquet(const char *dir) {
  parquet_seen = 0;
  nftw(dir, count_one, 16, FTW_PHYS);
  return parquet_seen;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st;
  (void)type;
  if (ftw->level > 0) remove(path);
  return 0;
}

/* Empties dir (keeps it). */
static void empty_dir(const char *dir) { nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS); }

/* Entries of /proc/self/fd: the file descriptors this process holds. */
static int open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) return -1;
  int n = 0;
  while (readdir(d) != NULL) n++;
  closedir(d);
  return n;
}

static int64_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static int64_t ts_of(const char *iso) {
  int64_t us = 0;
  bool zone;
  floe_parse_timestamp(iso, strlen(iso), &us, &zone, NULL);
  return us;
}

/* ---- the table ---------------------------------------------------------- */

enum { C_ID = 1, C_CUSTOMER, C_REGION, C_TS, C_PRICE, C_NOTE, C_OK, C_DAY, C_SCORE };

static floe_iceberg_schema *make_schema(void) {
  floe_iceberg_column cols[] = {
      {C_ID, "id", true, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL},
      {C_CUSTOMER, "customer_id", false, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL},
      {C_REGION, "region", false, floe_iceberg_type_of(FLOE_ICEBERG_STRING), NULL},
      {C_TS, "order_ts", false, floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP), NULL},
      {C_PRICE, "price", false, floe_iceberg_decimal(9, 2), NULL},
      {C_NOTE, "note", false, floe_iceberg_type_of(FLOE_ICEBERG_STRING), NULL},
      {C_OK, "ok", false, floe_iceberg_type_of(FLOE_ICEBERG_BOOLEAN), NULL},
      {C_DAY, "d", false, floe_iceberg_type_of(FLOE_ICEBERG_DATE), NULL},
      {C_SCORE, "score", false, floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE), NULL},
  };
  floe_iceberg_schema *s = NULL;
  floe_iceberg_schema_new(&s, 0, cols, 9, NULL);
  return s;
}

/* spec_text: "col:transform,col:transform". NULL or "" = unpartitioned. */
static floe_iceberg_partition_spec *make_spec(const floe_iceberg_schema *schema,
                                              const char *spec_text) {
  floe_iceberg_partition_spec *spec = NULL;
  floe_error err = {0};
  if (floe_iceberg_partition_spec_new(&spec, 0, &err) != 0) return NULL;
  int32_t last = 999;
  char buf[256];
  snprintf(buf, sizeof buf, "%s", spec_text ? spec_text : "");
  for (char *tok = strtok(buf, ","); tok != NULL; tok = strtok(NULL, ",")) {
    char *colon = strchr(tok, ':');
    *colon = '\0';
    if (floe_iceberg_partition_spec_add_field(spec, schema, tok, colon + 1, NULL, &last, &err) !=
        0) {
      printf("spec: %s\n", err.message);
      floe_iceberg_partition_spec_free(spec);
      return NULL;
    }
  }
  return spec;
}

static const char *const regions[] = {"us-east", "eu west", "ap/south"};

/* Deterministic rows with nulls in every optional column. */
static void append_row(floe_arrow_builder *cols, const int32_t *ids, int32_t n_ids, int64_t i) {
  static const int64_t base = INT64_C(1706572800000000); /* 2024-01-30T00:00:00 */
  for (int32_t k = 0; k < n_ids; k++) {
    floe_arrow_builder *b = &cols[k];
    switch (ids[k]) {
      case C_ID: floe_arrow_builder_append_int64(b, i); break;
      case C_CUSTOMER:
        if (i % 13 == 12) floe_arrow_builder_append_null(b);
        else floe_arrow_builder_append_int64(b, 1000 + (i * 7) % 50);
        break;
      case C_REGION:
        if (i % 11 == 10) floe_arrow_builder_append_null(b);
        else floe_arrow_builder_append_bytes(b, regions[i % 3], strlen(regions[i % 3]));
        break;
      case C_TS:
        if (i % 17 == 16) floe_arrow_builder_append_null(b);
        else floe_arrow_builder_append_int64(b, base + i * 47 * 60 * INT64_C(1000000) + i);
        break;
      case C_PRICE: floe_arrow_builder_append_decimal(b, (floe_int128)(i * 101 - 5000)); break;
      case C_NOTE: {
        char text[96];
        if (i % 9 == 8) {
          floe_arrow_builder_append_null(b);
          break;
        }
        if (i % 5 == 0)
          snprintf(text, sizeof text, "a note longer than sixteen characters #%lld", (long long)i);
        else
          snprintf(text, sizeof text, "n%lld", (long long)i);
        floe_arrow_builder_append_bytes(b, text, strlen(text));
        break;
      }
      case C_OK: floe_arrow_builder_append_bool(b, i % 2 == 0); break;
      case C_DAY: floe_arrow_builder_append_int32(b, 19700 + (int32_t)(i % 40)); break;
      case C_SCORE:
        if (i == 3) floe_arrow_builder_append_double(b, NAN);
        else floe_arrow_builder_append_double(b, (double)i * 0.5);
        break;
    }
  }
}

typedef struct input {
  struct ArrowSchema schema;
  struct ArrowArray batch;
} input;

static void input_release(input *in) {
  floe_arrow_array_release(&in->batch);
  floe_arrow_schema_release(&in->schema);
}

/* Rows [0, n) of the columns `ids` (NULL: all 9). */
static int make_input(const floe_iceberg_schema *schema, const int32_t *ids, int32_t n_ids,
                      int64_t n, input *out) {
  static const int32_t all[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  if (ids == NULL) {
    ids = all;
    n_ids = 9;
  }
  memset(out, 0, sizeof *out);
  floe_error err = {0};
  if (floe_iceberg_schema_to_arrow(schema, ids, n_ids, &out->schema, &err) != 0) return -1;
  floe_arrow_batch_builder bb;
  if (floe_arrow_batch_builder_init(&bb, &out->schema, &err) != 0) return -1;
  for (int64_t i = 0; i < n; i++) append_row(bb.columns, ids, n_ids, i);
  int rc = floe_arrow_batch_builder_finish(&bb, &out->batch, &err);
  floe_arrow_batch_builder_free(&bb);
  return rc;
}

/* A shallow slice [from, from + n) of a batch (children shared). */
static struct ArrowArray slice_of(const struct ArrowArray *batch, int64_t from, int64_t n) {
  struct ArrowArray s = *batch;
  s.offset = batch->offset + from;
  s.length = n;
  s.release = NULL;
  return s;
}

/* "v|v|v" of one row of the given columns (by field id). */
static void format_row(const struct ArrowSchema *schema, const struct ArrowArray *batch,
                       int64_t row, const int32_t *ids, int32_t n_ids, floe_buf *out) {
  floe_buf_reset(out);
  for (int32_t k = 0; k < n_ids; k++) {
    int64_t c = 0;
    while (c < schema->n_children && floe_arrow_schema_field_id(schema->children[c]) != ids[k]) c++;
    if (k > 0) floe_buf_append_byte(out, '|');
    if (c == schema->n_children) {
      floe_buf_append_str(out, "\\N");
      continue;
    }
    floe_arrow_view v;
    floe_arrow_view_init(&v, schema->children[c], batch->children[c], NULL);
    v.offset += batch->offset;
    floe_arrow_view_format(&v, row, out);
  }
  floe_buf_terminate(out);
}

typedef struct rows {
  int64_t n;
  char **text;
} rows;

static void rows_free(rows *r) {
  for (int64_t i = 0; i < r->n; i++) free(r->text[i]);
  free(r->text);
  r->n = 0;
  r->text = NULL;
}

static void rows_add(rows *r, const char *s) {
  r->text = realloc(r->text, (size_t)(r->n + 1) * sizeof *r->text);
  r->text[r->n++] = strdup(s);
}

/* Appends every row of a Parquet file (columns `ids`) to r. */
static int read_file_rows(const char *path, const int32_t *ids, int32_t n_ids, rows *r) {
  floe_parquet_reader *reader = NULL;
  floe_parquet_scan *scan = NULL;
  struct ArrowSchema schema;
  memset(&schema, 0, sizeof schema);
  floe_error err = {0};
  floe_buf line = FLOE_BUF_INIT;
  int rc = floe_parquet_reader_open(&reader, path, &err);
  floe_parquet_scan_options opt;
  memset(&opt, 0, sizeof opt);
  opt.field_ids = ids;
  opt.n_field_ids = n_ids;
  opt.batch_size = 100;
  if (rc == 0) rc = floe_parquet_reader_scan_open(&scan, reader, &opt, &err);
  if (rc == 0) rc = floe_parquet_reader_scan_schema(scan, &schema, &err);
  while (rc == 0) {
    struct ArrowArray b;
    rc = floe_parquet_reader_scan_next(scan, &b, NULL, &err);
    if (rc != 0 || b.release == NULL) break;
    for (int64_t i = 0; i < b.length; i++) {
      format_row(&schema, &b, i, ids, n_ids, &line);
      rows_add(r, (const char *)line.data);
    }
    floe_arrow_array_release(&b);
  }
  if (rc != 0) printf("  read %s: %s\n", path, err.message);
  floe_buf_free(&line);
  floe_arrow_schema_release(&schema);
  floe_parquet_reader_scan_free(scan);
  floe_parquet_reader_free(reader);
  return rc;
}

/* The partition directory of a file: the text between data_path/ and the
 * last '/'. */
static void partition_dir(const char *data_path, const char *file, char *out, size_t size) {
  size_t n = strlen(data_path);
  const char *rest = strncmp(file, data_path, n) == 0 && file[n] == '/' ? file + n + 1 : file;
  const char *slash = strrchr(rest, '/');
  size_t len = slash ? (size_t)(slash - rest) : 0;
  if (len >= size) len = size - 1;
  memcpy(out, rest, len);
  out[len] = '\0';
}

/* Checks a writer's files against the input: per partition (computed row
 * by row), the concatenated rows of its files equal the input rows in
 * order; tuples, counts, sizes and offsets agree. Returns files checked. */
static int check_files(const floe_iceberg_schema *schema, const floe_iceberg_partition_spec *spec,
                       const input *in, const floe_content_file_list *files,
                       const char *data_path, const int32_t *ids, int32_t n_ids,
                       floe_iceberg_content content) {
  floe_error err = {0};
  int64_t n = in->batch.length;
  int32_t nf = spec ? spec->n_fields : 0;
  char **row_dir = calloc((size_t)n, sizeof *row_dir);
  floe_iceberg_value *tuple = calloc((size_t)(nf ? nf : 1), sizeof *tuple);
  floe_iceberg_type *types = calloc((size_t)(nf ? nf : 1), sizeof *types);
  for (int32_t i = 0; i < nf; i++) {
    const floe_iceberg_field *src = floe_iceberg_schema_find_id(schema, spec->fields[i].source_id);
    floe_iceberg_transform_result_type(&spec->fields[i].transform, &src->type, &types[i], NULL);
  }
  floe_buf b = FLOE_BUF_INIT;
  for (int64_t r = 0; r < n; r++) {
    floe_buf_reset(&b);
    if (nf > 0) {
      CHECK_OK(floe_iceberg_partition_tuple(spec, schema, &in->schema, &in->batch, r, tuple, &err),
               &err);
      CHECK_OK(floe_iceberg_partition_path(spec, schema, tuple, &b, &err), &err);
    }
    floe_buf_terminate(&b);
    row_dir[r] = strdup(b.data ? (const char *)b.data : "");
  }
  int64_t total = 0;
  for (int32_t f = 0; f < files->n_files; f++) {
    const floe_iceberg_content_file *cf = &files->files[f];
    CHECK_INT_EQ(cf->content, content);
    CHECK_STR_EQ(cf->file_format, "PARQUET");
    CHECK_INT_EQ(cf->spec_id, spec ? spec->spec_id : 0);
    CHECK_INT_EQ(cf->n_partition, nf);
    CHECK_INT_EQ(cf->file_size_in_bytes, file_size(cf->file_path));
    CHECK(cf->n_split_offsets >= 1 && cf->split_offsets[0] == 4);
    CHECK(cf->record_count > 0);
    total += cf->record_count;
  }
  CHECK_INT_EQ(total, n);
  /* Per partition directory: files in list order vs input rows in order. */
  char dir[1024];
  int checked = 0;
  for (int32_t f = 0; f < files->n_files; f++) {
    partition_dir(data_path, files->files[f].file_path, dir, sizeof dir);
    bool first = true;
    for (int32_t g = 0; g < f; g++) {
      char other[1024];
      partition_dir(data_path, files->files[g].file_path, other, sizeof other);
      if (strcmp(other, dir) == 0) first = false;
    }
    if (!first) continue;
    rows actual = {0, NULL};
    for (int32_t g = f; g < files->n_files; g++) {
      char other[1024];
      partition_dir(data_path, files->files[g].file_path, other, sizeof other);
      if (strcmp(other, dir) != 0) continue;
      int64_t before = actual.n;
      CHECK_INT_EQ(read_file_rows(files->files[g].file_path, ids, n_ids, &actual), 0);
      CHECK_INT_EQ(actual.n - before, files->files[g].record_count);
      checked++;
    }
    int64_t k = 0, first_row = -1;
    for (int64_t r = 0; r < n; r++) {
      if (strcmp(row_dir[r], dir) != 0) continue;
      if (first_row < 0) first_row = r;
      format_row(&in->schema, &in->batch, r, ids, n_ids, &b);
      if (k >= actual.n) {
        TEST_FAIL_AT(__FILE__, __LINE__, "partition '%s': file rows end at %lld", dir, (long long)k);
        break;
      }
      if (strcmp(actual.text[k], (const char *)b.data) != 0) {
        TEST_FAIL_AT(__FILE__, __LINE__, "partition '%s' row %lld: '%s', expected '%s'", dir,
                     (long long)k, actual.text[k], (const char *)b.data);
        break;
      }
      k++;
    }
    CHECK_INT_EQ(k, actual.n);
    /* The tuple the writer reports equals the row-by-row one. */
    if (first_row >= 0 && nf > 0) {
      floe_iceberg_partition_tuple(spec, schema, &in->schema, &in->batch, first_row, tuple, &err);
      for (int32_t i = 0; i < nf; i++)
        CHECK(floe_iceberg_value_equal(&types[i], &files->files[f].partition[i], &tuple[i]));
    }
    rows_free(&actual);
  }
  for (int64_t r = 0; r < n; r++) free(row_dir[r]);
  free(row_dir);
  free(tuple);
  free(types);
  floe_buf_free(&b);
  return checked;
}

typedef struct table {
  floe_iceberg_schema *schema;
  floe_iceberg_partition_spec *spec;
  floe_io *io;
  char location[4096];
  char data_path[4200];
  floe_table_writer_options options;
} table;

static int table_open(table *t, const char *name, const char *spec_text) {
  memset(t, 0, sizeof *t);
  const char *dir = scratch_dir(name);
  if (dir == NULL) return -1;
  snprintf(t->location, sizeof t->location, "%s", dir);
  snprintf(t->data_path, sizeof t->data_path, "%s/data", dir);
  t->schema = make_schema();
  t->spec = make_spec(t->schema, spec_text);
  floe_io_local_options lo = {0};
  floe_error err = {0};
  if (t->schema == NULL || t->spec == NULL || floe_io_local_open(&lo, &t->io, &err) != 0) return -1;
  floe_table_writer_options_init(&t->options);
  t->options.schema = t->schema;
  t->options.spec = t->spec;
  t->options.location = t->location;
  t->options.io = t->io;
  t->options.file_prefix = "00000-7-2f1e0c5a-9b4d-4c38-8a8e-6d1f3b2a9c10";
  return 0;
}

static void table_close(table *t) {
  floe_iceberg_partition_spec_free(t->spec);
  floe_iceberg_schema_free(t->schema);
  floe_io_free(t->io);
}

static const int32_t all_ids[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

/* Writes `n` rows in batches of `per_batch` (as slices of one batch, so
 * offsets are exercised) and checks every file. */
static void write_and_check(const char *name, const char *spec_text, int64_t n,
                            int64_t per_batch, int64_t target, int32_t max_open,
                            int32_t expect_min_files, int32_t expect_max_files) {
  table t;
  REQUIRE(table_open(&t, name, spec_text) == 0);
  t.options.target_file_size_bytes = target;
  t.options.max_open_files = max_open;
  input in;
  REQUIRE(make_input(t.schema, NULL, 0, n, &in) == 0);
  floe_error err = {0};
  floe_data_writer *w = NULL;
  floe_content_file_list files = {0};
  REQUIRE_OK(floe_data_writer_open(&w, &t.options, &err), &err);
  for (int64_t from = 0; from < n; from += per_batch) {
    int64_t len = n - from < per_batch ? n - from : per_batch;
    struct ArrowArray s = slice_of(&in.batch, from, len);
    CHECK_OK(floe_data_writer_write(w, &in.schema, &s, &err), &err);
  }
  CHECK_INT_EQ(floe_data_writer_rows(w), n);
  CHECK_OK(floe_data_writer_close(w, &files, &err), &err);
  CHECK(files.n_files >= expect_min_files && files.n_files <= expect_max_files);
  if (files.n_files < expect_min_files || files.n_files > expect_max_files)
    printf("  %s: %d files\n", name, files.n_files);
  check_files(t.schema, t.spec, &in, &files, t.data_path, all_ids, 9, FLOE_CONTENT_DATA);
  CHECK_INT_EQ(count_parquet(t.location), files.n_files);
  for (int32_t f = 0; f < files.n_files; f++) {
    CHECK(files.files[f].has_sort_order_id && files.files[f].sort_order_id == 0);
    CHECK(files.files[f].n_equality_ids == 0 && files.files[f].referenced_data_file == NULL);
  }
  int32_t n_files = files.n_files;
  floe_content_file_list_free(&files);
  floe_data_writer_free(w);
  CHECK_INT_EQ(count_parquet(t.location), n_files); /* free keeps closed files */
  input_release(&in);
  table_close(&t);
}

/* ---- data files --------------------------------------------------------- */

static void test_unpartitioned_one_file_with_exact_name_and_footer(void) {
  table t;
  REQUIRE(table_open(&t, "unpartitioned", NULL) == 0);
  input in;
  REQUIRE(make_input(t.schema, NULL, 0, 1000, &in) == 0);
  floe_error err = {0};
  floe_data_writer *w = NULL;
  floe_content_file_list files = {0};
  REQUIRE_OK(floe_data_writer_open(&w, &t.options, &err), &err);
  CHECK_OK(floe_data_writer_write(w, &in.schema, &in.batch, &err), &err);
  CHECK_OK(floe_data_writer_close(w, &files, &err), &err);
  REQUIRE(files.n_files == 1);
  char want[8400];
  snprintf(want, sizeof want, "%s/data/%s-00001.parquet", t.location, t.options.file_prefix);
  CHECK_STR_EQ(files.files[0].file_path, want);
  CHECK_INT_EQ(files.files[0].record_count, 1000);
  CHECK_INT_EQ(files.files[0].n_partition, 0);
  check_files(t.schema, t.spec, &in, &files, t.data_path, all_ids, 9, FLOE_CONTENT_DATA);

  /* Footer: iceberg.schema is the schema's JSON; columns carry field ids;
   * zstd is floe's default codec. */
  floe_parquet_reader *r = NULL;
  REQUIRE_OK(floe_parquet_reader_open(&r, want, &err), &err);
  int32_t nkv = 0;
  const floe_parquet_key_value *kv = floe_parquet_reader_key_values(r, &nkv);
  char *json = NULL;
  floe_iceberg_schema_to_json(t.schema, &json, NULL);
  bool found = false;
  for (int32_t i = 0; i < nkv; i++)
    if (strcmp(kv[i].key, "iceberg.schema") == 0) {
      found = true;
      CHECK_STR_EQ(kv[i].value, json);
    }
  CHECK(found);
  floe_free(json);
  CHECK_INT_EQ(floe_parquet_reader_num_columns(r), 9);
  for (int32_t i = 0; i < 9; i++) CHECK_INT_EQ(floe_parquet_reader_column(r, i)->field_id, i + 1);
  CHECK(!floe_parquet_reader_column(r, 0)->nullable);
  CHECK(floe_parquet_reader_column(r, 1)->nullable);
  floe_parquet_chunk_info chunk;
  CHECK_OK(floe_parquet_reader_chunk(r, 0, 0, &chunk, &err), &err);
  CHECK_STR_EQ(chunk.codec, "zstd");
  floe_parquet_reader_free(r);

  /* Metrics, default truncate(16): id bounds 0..999 as 8-byte LE longs,
   * counts, a NaN in score, the note bounds truncated to 16 code points. */
  const floe_iceberg_content_file *cf = &files.files[0];
  CHECK_INT_EQ(cf->n_columns, 9);
  const floe_iceberg_column_metrics *id = &cf->columns[0];
  CHECK_INT_EQ(id->field_id, 1);
  CHECK(id->lower_bound_len == 8 && floe_load_u64le(id->lower_bound) == 0);
  CHECK(id->upper_bound_len == 8 && floe_load_u64le(id->upper_bound) == 999);
  CHECK_INT_EQ(id->value_count, 1000);
  CHECK_INT_EQ(id->null_count, 0);
  CHECK(id->has_column_size && id->column_size > 0);
  const floe_iceberg_column_metrics *cust = &cf->columns[1];
  CHECK_INT_EQ(cust->null_count, 1000 / 13); /* i % 13 == 12 */
  const floe_iceberg_column_metrics *score = &cf->columns[8];
  CHECK(score->has_nan_count && score->nan_count == 1);
  CHECK(!cf->columns[0].has_nan_count);
  const floe_iceberg_column_metrics *note = &cf->columns[5];
  /* min "a note longer than sixteen characters #0" -> 16 chars;
   * max "n999" (row 998 is null) is short and kept. */
  CHECK(note->lower_bound_len == 16 && memcmp(note->lower_bound, "a note longer th", 16) == 0);
  CHECK(note->upper_bound_len == 4 && memcmp(note->upper_bound, "n999", 4) == 0);
  floe_content_file_list_free(&files);
  floe_data_writer_free(w);
  input_release(&in);
  table_close(&t);
}

static void test_identity_partitions_with_url_encoded_paths(void) {
  write_and_check("identity", "region:identity", 500, 128, 0, 0, 4, 4);
  /* The exact directories (Java's URLEncoder: space '+', '/' %2F). */
  CHECK_INT_EQ(count_parquet("tmp/test_table_writer/identity/data/region=us-east"), 1);
  CHECK_INT_EQ(count_parquet("tmp/test_table_writer/identity/data/region=eu+west"), 1);
  CHECK_INT_EQ(count_parquet("tmp/test_table_writer/identity/data/region=ap%2Fsouth"), 1);
  CHECK_INT_EQ(count_parquet("tmp/test_table_writer/identity/data/region=null"), 1);
}

static void test_bucket_and_day_partitions(void) {
  /* order_ts spans 500 * 47 min ~ 16 days; customer ids fall in 4 buckets. */
  write_and_check("bucket_day", "order_ts:day,customer_id:bucket[4]", 500, 97, 0, 0, 17, 200);
}

static void test_bucket_day_exact_path_and_tuple(void) {
  table t;
  REQUIRE(table_open(&t, "bucket_day_exact", "order_ts:day,customer_id:bucket[4]") == 0);
  struct ArrowSchema schema;
  static const int32_t ids[] = {C_ID, C_CUSTOMER, C_TS};
  floe_error err = {0};
  REQUIRE_OK(floe_iceberg_schema_to_arrow(t.schema, ids, 3, &schema, &err), &err);
  floe_arrow_batch_builder bb;
  REQUIRE_OK(floe_arrow_batch_builder_init(&bb, &schema, &err), &err);
  /* Appendix B: hash(34L) = 2017239379, and 2017239379 % 4 = 3. */
  floe_arrow_builder_append_int64(&bb.columns[0], 1);
  floe_arrow_builder_append_int64(&bb.columns[1], 34);
  floe_arrow_builder_append_int64(&bb.columns[2], ts_of("2024-01-31T10:00:00"));
  floe_arrow_builder_append_int64(&bb.columns[0], 2);
  floe_arrow_builder_append_int64(&bb.columns[1], 34);
  floe_arrow_builder_append_int64(&bb.columns[2], ts_of("2024-01-31T23:59:59.999999"));
  floe_arrow_builder_append_int64(&bb.columns[0], 3);
  floe_arrow_builder_append_null(&bb.columns[1]);
  floe_arrow_builder_append_int64(&bb.columns[2], ts_of("1969-12-31T23:00:00"));
  struct ArrowArray batch;
  REQUIRE_OK(floe_arrow_batch_builder_finish(&bb, &batch, &err), &err);
  floe_arrow_batch_builder_free(&bb);

  floe_data_writer *w = NULL;
  floe_content_file_list files = {0};
  REQUIRE_OK(floe_data_writer_open(&w, &t.options, &err), &err);
  CHECK_OK(floe_data_writer_write(w, &schema, &batch, &err), &err);
  CHECK_OK(floe_data_writer_close(w, &files, &err), &err);
  REQUIRE(files.n_files == 2);
  char want[8400];
  snprintf(want, sizeof want, "%s/data/order_ts_day=2024-01-31/customer_id_bucket=3/%s-00001.parquet",
           t.location, t.options.file_prefix);
  CHECK_STR_EQ(files.files[0].file_path, want);
  CHECK_INT_EQ(files.files[0].record_count, 2);
  CHECK_INT_EQ(files.files[0].partition[0].v.i32, 19753); /* days to 2024-01-31 */
  CHECK_INT_EQ(files.files[0].partition[1].v.i32, 3);
  /* The bucket number equals the transform applied to the value. */
  floe_iceberg_transform bucket4 = {FLOE_TRANSFORM_BUCKET, 4};
  floe_iceberg_type long_type = floe_iceberg_type_of(FLOE_ICEBERG_LONG);
  floe_iceberg_value v = floe_iceberg_null_value(), out;
  v.is_null = false;
  v.v.i64 = 34;
  CHECK_OK(floe_iceberg_transform_apply(&bucket4, &long_type, &v, &out, &err), &err);
  CHECK_INT_EQ(out.v.i32, files.files[0].partition[1].v.i32);
  /* Before the epoch: day -1; a null customer: bucket null. */
  snprintf(want, sizeof want, "%s/data/order_ts_day=1969-12-31/customer_id_bucket=null/%s-00002.parquet",
           t.location, t.options.file_prefix);
  CHECK_STR_EQ(files.files[1].file_path, want);
  CHECK_INT_EQ(files.files[1].partition[0].v.i32, -1);
  CHECK(files.files[1].partition[1].is_null);
  CHECK(!files.files[1].partition[0].is_null);
  /* Absent optional columns were written as nulls: 3 columns in the
   * batch, 9 in the file. */
  rows r = {0, NULL};
  CHECK_INT_EQ(read_file_rows(files.files[0].file_path, all_ids, 9, &r), 0);
  CHECK_INT_EQ(r.n, 2);
  if (r.n == 2) CHECK_STR_EQ(r.text[0], "1|34|\\N|2024-01-31 10:00:00|\\N|\\N|\\N|\\N|\\N");
  rows_free(&r);
  floe_content_file_list_free(&files);
  floe_data_writer_free(w);
  floe_arrow_array_release(&batch);
  floe_arrow_schema_release(&schema);
  table_close(&t);
}

static void test_truncate_partitions(void) {
  write_and_check("truncate", "note:truncate[3],id:truncate[100]", 400, 64, 0, 0, 8, 400);
  /* "a note longer..." -> "a n" -> "a+n"; ids 0..99 -> 0 */
  CHECK(count_parquet("tmp/test_table_writer/truncate/data/note_trunc=a+n/id_trunc=0") >= 1);
  CHECK(count_parquet("tmp/test_table_writer/truncate/data/note_trunc=null/id_trunc=300") >= 1);
}

static void test_year_month_hour_partitions(void) {
  write_and_check("year", "order_ts:year", 300, 100, 0, 0, 2, 2);
  CHECK_INT_EQ(count_parquet("tmp/test_table_writer/year/data/order_ts_year=2024"), 1);
  CHECK_INT_EQ(count_parquet("tmp/test_table_writer/year/data/order_ts_year=null"), 1);
  write_and_check("month", "order_ts:month,d:month", 300, 100, 0, 0, 2, 10);
  CHECK(count_parquet("tmp/test_table_writer/month/data/order_ts_month=2024-01/d_month=2023-12") == 1);
  write_and_check("hour", "order_ts:hour", 300, 100, 0, 0, 200, 300);
  /* Row 0: 2024-01-30T00:00:00; row 13: +611 min = 10:11. */
  CHECK(count_parquet("tmp/test_table_writer/hour/data/order_ts_hour=2024-01-30-00") >= 1);
  CHECK(count_parquet("tmp/test_table_writer/hour/data/order_ts_hour=2024-01-30-10") >= 1);
}

static void test_null_partition_values(void) {
  /* Every optional column as an identity partition source: null values
   * land in name=null directories with null tuple values. */
  table t;
  REQUIRE(table_open(&t, "nulls", "region:identity") == 0);
  static const int32_t ids[] = {C_ID, C_REGION};
  struct ArrowSchema schema;
  floe_error err = {0};
  REQUIRE_OK(floe_iceberg_schema_to_arrow(t.schema, ids, 2, &schema, &err), &err);
  floe_arrow_batch_builder bb;
  REQUIRE_OK(floe_arrow_batch_builder_init(&bb, &schema, &err), &err);
  for (int i = 0; i < 5; i++) {
    floe_arrow_builder_append_int64(&bb.columns[0], i);
    floe_arrow_builder_append_null(&bb.columns[1]);
  }
  struct ArrowArray batch;
  REQUIRE_OK(floe_arrow_batch_builder_finish(&bb, &batch, &err), &err);
  floe_arrow_batch_builder_free(&bb);
  floe_data_writer *w = NULL;
  floe_content_file_list files = {0};
  REQUIRE_OK(floe_data_writer_open(&w, &t.options, &err), &err);
  CHECK_OK(floe_data_writer_write(w, &schema, &batch, &err), &err);
  CHECK_OK(floe_data_writer_close(w, &files, &err), &err);
  REQUIRE(files.n_files == 1);
  char want[8400];
  snprintf(want, sizeof want, "%s/data/region=null/%s-00001.parquet", t.location,
           t.options.file_prefix);
  CHECK_STR_EQ(files.files[0].file_path, want);
  CHECK(files.files[0].partition[0].is_null);
  CHECK_INT_EQ(files.files[0].record_count, 5);
  /* region: all null, so no bounds, null count 5. */
  CHECK_INT_EQ(files.files[0].columns[2].field_id, 3);
  CHECK_INT_EQ(files.files[0].columns[2].null_count, 5);
  CHECK(files.files[0].columns[2].lower_bound == NULL);
  floe_content_file_list_free(&files);
  floe_data_writer_free(w);
  floe_arrow_array_release(&batch);
  floe_arrow_schema_release(&schema);
  table_close(&t);
}

static void test_rolling_at_target_size_gives_several_files(void) {
  /* 20000 rows of ~9 columns at an 16 KiB target. */
  write_and_check("rolling", NULL, 20000, 3000, 16 * 1024, 0, 4, 400);
  /* And rolling inside partitions, with the row-group size made small via
   * properties so that files have several row groups. */
  table t;
  REQUIRE(table_open(&t, "rolling_props", "region:identity") == 0);
  floe_iceberg_property props[] = {
      {"write.target-file-size-bytes", "40000"},
      {"write.parquet.row-group-size-bytes", "8000"},
      {"write.parquet.compression-codec", "snappy"},
  };
  t.options.properties = props;
  t.options.n_properties = 3;
  input in;
  REQUIRE(make_input(t.schema, NULL, 0, 20000, &in) == 0);
  floe_error err = {0};
  floe_data_writer *w = NULL;
  floe_content_file_list files = {0};
  REQUIRE_OK(floe_data_writer_open(&w, &t.options, &err), &err);
  CHECK_OK(floe_data_writer_write(w, &in.schema, &in.batch, &err), &err);
  CHECK_OK(floe_data_writer_close(w, &files, &err), &err);
  CHECK(files.n_files >= 8);
  int32_t multi_group = 0;
  for (int32_t f = 0; f < files.n_files; f++) {
    if (files.files[f].n_split_offsets > 1) multi_group++;
    /* Rolled files stay near the target (one slice of overshoot). */
    CHECK(files.files[f].file_size_in_bytes < 40000 * 2);
  }
  CHECK(multi_group > 0);
  check_files(t.schema, t.spec, &in, &files, t.data_path, all_ids, 9, FLOE_CONTENT_DATA);
  floe_parquet_reader *r = NULL;
  REQUIRE_OK(floe_parquet_reader_open(&r, files.files[0].file_path, &err), &err);
  floe_parquet_chunk_info chunk;
  CHECK_OK(floe_parquet_reader_chunk(r, 0, 0, &chunk, &err), &err);
  CHECK_STR_EQ(chunk.codec, "snappy");
  CHECK_INT_EQ(floe_parquet_reader_num_row_groups(r), files.files[0].n_split_offsets);
  floe_parquet_reader_free(r);
  floe_content_file_list_free(&files);
  floe_data_writer_free(w);
  input_release(&in);
  table_close(&t);
}

static void test_fanout_bound_closes_least_recently_used(void) {
  /* ~17 day partitions x 4 buckets + nulls, 2 open files at most, rows
   * interleaved: files get closed and reopened, nothing is lost. */
  write_and_check("fanout", "customer_id:bucket[8]", 3000, 50, 0, 2, 9, 3000);
  write_and_check("fanout_one", "order_ts:day", 2000, 333, 0, 1, 17, 2000);
}

static void test_fanout_count_is_respected(void) {
  /* With max_open_files = 3 and 9 partitions cycling row by row, every
   * batch of 9 rows has to close files: more files than partitions. */
  table t;
  REQUIRE(table_open(&t, "fanout_count", "customer_id:identity") == 0);
  t.options.max_open_files = 3;
  input in;
  REQUIRE(make_input(t.schema, NULL, 0, 900, &in) == 0);
  floe_error err = {0};
  floe_data_writer *w = NULL;
  floe_content_file_list files = {0};
  REQUIRE_OK(floe_data_writer_open(&w, &t.options, &err), &err);
  int base_fds = open_fds();
  for (int64_t from = 0; from < 900; from += 30) {
    struct ArrowArray s = slice_of(&in.batch, from, 30);
    CHECK_OK(floe_data_writer_write(w, &in.schema, &s, &err), &err);
    /* The bound, observed: open file descriptors. */
    int fds = open_fds();
    if (fds > base_fds + 3) {
      TEST_FAIL_AT(__FILE__, __LINE__, "%d descriptors open, %d before writing", fds, base_fds);
      break;
    }
  }
  CHECK_OK(floe_data_writer_close(w, &files, &err), &err);
  CHECK(files.n_files > 51); /* 50 customers + null */
  check_files(t.schema, t.spec, &in, &files, t.data_path, all_ids, 9, FLOE_CONTENT_DATA);
  floe_content_file_list_free(&files);
  floe_data_writer_free(w);
  input_release(&in);
  table_close(&t);
}

static void test_metrics_modes(void) {
  static const struct {
    const char *key, *value;
  } cases[][2] = {
      {{"write.metadata.metrics.default", "none"}, {NULL, NULL}},
      {{"write.metadata.metrics.default", "counts"}, {NULL, NULL}},
      {{"write.metadata.metrics.default", "full"}, {NULL, NULL}},
      {{"write.metadata.metrics.default", "truncate(4)"}, {NULL, NULL}},
      {{"write.metadata.metrics.default", "none"}, {"write.metadata.metrics.column.note", "full"}},
  };
  for (int k = 0; k < 5; k++) {
    table t;
    REQUIRE(table_open(&t, "metrics", NULL) == 0);
    floe_iceberg_property props[2];
    int np = 0;
    for (int i = 0; i < 2; i++)
      if (cases[k][i].key) props[np++] = (floe_iceberg_property){(char *)cases[k][i].key,
                                                                 (char *)cases[k][i].value};
    t.options.properties = props;
    t.options.n_properties = np;
    input in;
    REQUIRE(make_input(t.schema, NULL, 0, 100, &in) == 0);
    floe_error err = {0};
    floe_data_writer *w = NULL;
    floe_content_file_list files = {0};
    REQUIRE_OK(floe_data_writer_open(&w, &t.options, &err), &err);
    CHECK_OK(floe_data_writer_write(w, &in.schema, &in.batch, &err), &err);
    CHECK_OK(floe_data_writer_close(w, &files, &err), &err);
    REQUIRE(files.n_files == 1);
    const floe_iceberg_content_file *cf = &files.files[0];
    CHECK_INT_EQ(cf->record_count, 100);
    const floe_iceberg_column_metrics *note = NULL;
    for (int32_t i = 0; i < cf->n_columns; i++)
      if (cf->columns[i].field_id == C_NOTE) note = &cf->columns[i];
    const char *longest = "a note longer than sixteen characters #0";
    switch (k) {
      case 0: CHECK_INT_EQ(cf->n_columns, 0); break;
      case 1:
        CHECK_INT_EQ(cf->n_columns, 9);
        for (int32_t i = 0; i < cf->n_columns; i++)
          CHECK(cf->columns[i].lower_bound == NULL && cf->columns[i].upper_bound == NULL &&
                cf->columns[i].value_count == 100);
        break;
      case 2:
      case 4:
        CHECK_INT_EQ(cf->n_columns, k == 2 ? 9 : 1);
        REQUIRE(note != NULL);
        CHECK(note->lower_bound_len == strlen(longest) &&
              memcmp(note->lower_bound, longest, strlen(longest)) == 0);
        CHECK(note->upper_bound_len == 3 && memcmp(note->upper_bound, "n99", 3) == 0);
        break;
      case 3:
        REQUIRE(note != NULL);
        CHECK(note->lower_bound_len == 4 && memcmp(note->lower_bound, "a no", 4) == 0);
        /* "n99" fits; the id bounds are untouched by truncation. */
        CHECK(note->upper_bound_len == 3 && memcmp(note->upper_bound, "n99", 3) == 0);
        CHECK(cf->columns[0].upper_bound_len == 8 && floe_load_u64le(cf->columns[0].upper_bound) == 99);
        break;
    }
    floe_content_file_list_free(&files);
    floe_data_writer_free(w);
    input_release(&in);
    table_close(&t);
  }
}

static void test_truncated_upper_bound_increments(void) {
  /* truncate(2) upper bounds increment the last kept code point, as
   * Iceberg's UnicodeUtil.truncateStringMax: "azz" -> "a{" ('z' + 1);
   * "a\u00ffz" -> "a\u0100" (one byte longer in UTF-8);
   * "\U0010FFFF\U0010FFFFx" cannot be incremented: no upper bound. */
  static const char *const cases[][3] = {
      {"azz", "az", "a{"},
      {"a\xc3\xbfz", "a\xc3\xbf", "a\xc4\x80"},
      {"\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbfx", "\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf", NULL},
  };
  for (int k = 0; k < 3; k++) {
    table t;
    REQUIRE(table_open(&t, "truncate_bound", NULL) == 0);
    floe_iceberg_property props[] = {{"write.metadata.metrics.column.note", "truncate(2)"}};
    t.options.properties = props;
    t.options.n_properties = 1;
    static const int32_t ids[] = {C_ID, C_NOTE};
    struct ArrowSchema schema;
    floe_error err = {0};
    REQUIRE_OK(floe_iceberg_schema_to_arrow(t.schema, ids, 2, &schema, &err), &err);
    floe_arrow_batch_builder bb;
    REQUIRE_OK(floe_arrow_batch_builder_init(&bb, &schema, &err), &err);
    floe_arrow_builder_append_int64(&bb.columns[0], 1);
    floe_arrow_builder_append_bytes(&bb.columns[1], cases[k][0], strlen(cases[k][0]));
    struct ArrowArray batch;
    REQUIRE_OK(floe_arrow_batch_builder_finish(&bb, &batch, &err), &err);
    floe_arrow_batch_builder_free(&bb);
    floe_data_writer *w = NULL;
    floe_content_file_list files = {0};
    REQUIRE_OK(floe_data_writer_open(&w, &t.options, &err), &err);
    CHECK_OK(floe_data_writer_write(w, &schema, &batch, &err), &err);
    CHECK_OK(floe_data_writer_close(w, &files, &err), &err);
    REQUIRE(files.n_files == 1);
    const floe_iceberg_column_metrics *note = &files.files[0].columns[5];
    CHECK_INT_EQ(note->field_id, C_NOTE);
    CHECK(note->lower_bound_len == strlen(cases[k][1]) &&
          memcmp(note->lower_bound, cases[k][1], note->lower_bound_len) == 0);
    if (cases[k][2] == NULL) {
      CHECK(note->upper_bound == NULL);
    } else {
      CHECK(note->upper_bound_len == strlen(cases[k][2]) &&
            memcmp(note->upper_bound, cases[k][2], note->upper_bound_len) == 0);
    }
    floe_content_file_list_free(&files);
    floe_data_writer_free(w);
    floe_arrow_array_release(&batch);
    floe_arrow_schema_release(&schema);
    table_close(&t);
  }
}

static void test_write_data_path_property(void) {
  table t;
  REQUIRE(table_open(&t, "data_path", "region:identity") == 0);
  char elsewhere[4200];
  snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere/", t.location);
  floe_iceberg_property props[] = {{"write.data.path", elsewhere}};
  t.options.properties = props;
  t.options.n_properties = 1;
  input in;
  REQUIRE(make_input(t.schema, NULL, 0, 10, &in) == 0);
  floe_error err = {0};
  floe_data_writer *w = NULL;
  floe_content_file_list files = {0};
  REQUIRE_OK(floe_data_writer_open(&w, &t.options, &err), &err);
  CHECK_OK(floe_data_writer_write(w, &in.schema, &in.batch, &err), &err);
  CHECK_OK(floe_data_writer_close(w, &files, &err), &err);
  REQUIRE(files.n_files == 3); /* rows 0..9: no null region yet */
  char want[8400];
  snprintf(want, sizeof want, "%s/elsewhere/region=us-east/%s-00001.parquet", t.location,
           t.options.file_prefix);
  CHECK_STR_EQ(files.files[0].file_path, want);
  floe_content_file_list_free(&files);
  floe_data_writer_free(w);
  input_release(&in);
  table_close(&t);
}

static void test_bad_properties_are_rejected(void) {
  static const char *const cases[][3] = {
      {"write.target-file-size-bytes", "big", "write.target-file-size-bytes: 'big'"},
      {"write.parquet.compression-codec", "brotli", "not 'brotli'"},
      {"write.parquet.compression-level", "23", "above zstd's maximum 22"},
      {"write.metadata.metrics.default", "truncate(0)", "'truncate(0)' is not"},
      {"write.metadata.metrics.column.note", "most", "metrics.column.note: 'most'"},
  };
  for (int k = 0; k < 5; k++) {
    table t;
    REQUIRE(table_open(&t, "bad_props", NULL) == 0);
    floe_iceberg_property props[] = {{(char *)cases[k][0], (char *)cases[k][1]}};
    t.options.properties = props;
    t.options.n_properties = 1;
    floe_error err = {0};
    floe_data_writer *w = NULL;
    CHECK(floe_data_writer_open(&w, &t.options, &err) < 0);
    CHECK(w == NULL);
    if (strstr(err.message, cases[k][2]) == NULL)
      TEST_FAIL_AT(__FILE__, __LINE__, "message '%s' lacks '%s'", err.message, cases[k][2]);
    table_close(&t);
  }
}

static void test_batch_errors_name_the_column_and_keep_the_writer(void) {
  table t;
  REQUIRE(table_open(&t, "errors", "region:identity") == 0);
  floe_error err = {0};
  floe_data_writer *w = NULL;
  REQUIRE_OK(floe_data_writer_open(&w, &t.options, &err), &err);

  /* Missing required column. */
  input in;
  static const int32_t no_id[] = {C_REGION, C_NOTE};
  REQUIRE(make_input(t.schema, no_id, 2, 10, &in) == 0);
  CHECK_INT_EQ(floe_data_writer_write(w, &in.schema, &in.batch, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "no column 'id' (field id 1), which is required") != NULL);
  input_release(&in);

  /* Type mismatch: an int32 column where the table has a long. */
  struct ArrowSchema schema;
  floe_arrow_schema_init_struct(&schema, NULL, 1);
  floe_arrow_type_info i32 = floe_arrow_type_of(FLOE_ARROW_INT32);
  floe_arrow_schema_init(schema.children[0], "id", &i32, false, C_ID);
  floe_arrow_batch_builder bb;
  REQUIRE_OK(floe_arrow_batch_builder_init(&bb, &schema, &err), &err);
  floe_arrow_builder_append_int32(&bb.columns[0], 7);
  struct ArrowArray batch;
  REQUIRE_OK(floe_arrow_batch_builder_finish(&bb, &batch, &err), &err);
  floe_arrow_batch_builder_free(&bb);
  CHECK_INT_EQ(floe_data_writer_write(w, &schema, &batch, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "column 'id' (field id 1): batch has type int, table column is long") !=
        NULL);
  floe_arrow_array_release(&batch);
  floe_arrow_schema_release(&schema);

  /* A column that is not in the table; a column without a field id. */
  floe_arrow_schema_init_struct(&schema, NULL, 2);
  floe_arrow_type_info i64 = floe_arrow_type_of(FLOE_ARROW_INT64);
  floe_arrow_schema_init(schema.children[0], "id", &i64, false, C_ID);
  floe_arrow_schema_init(schema.children[1], "extra", &i64, true, 77);
  REQUIRE_OK(floe_arrow_batch_builder_init(&bb, &schema, &err), &err);
  floe_arrow_builder_append_int64(&bb.columns[0], 7);
  floe_arrow_builder_append_int64(&bb.columns[1], 7);
  REQUIRE_OK(floe_arrow_batch_builder_finish(&bb, &batch, &err), &err);
  floe_arrow_batch_builder_free(&bb);
  CHECK_INT_EQ(floe_data_writer_write(w, &schema, &batch, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "batch column 'extra' (field id 77) is not in the table schema") != NULL);
  floe_arrow_array_release(&batch);
  floe_arrow_schema_release(&schema);

  /* A null in the required column, at batch row 2. */
  floe_arrow_schema_init_struct(&schema, NULL, 1);
  floe_arrow_schema_init(schema.children[0], "id", &i64, true, C_ID);
  REQUIRE_OK(floe_arrow_batch_builder_init(&bb, &schema, &err), &err);
  floe_arrow_builder_append_int64(&bb.columns[0], 1);
  floe_arrow_builder_append_int64(&bb.columns[0], 2);
  floe_arrow_builder_append_null(&bb.columns[0]);
  REQUIRE_OK(floe_arrow_batch_builder_finish(&bb, &batch, &err), &err);
  floe_arrow_batch_builder_free(&bb);
  CHECK_INT_EQ(floe_data_writer_write(w, &schema, &batch, &err), FLOE_EINVAL);
  CHECK_STR_EQ(err.message, "column 'id' row 2: null in a required column");
  floe_arrow_array_release(&batch);
  floe_arrow_schema_release(&schema);

  /* A decimal beyond decimal(9,2). */
  floe_arrow_schema_init_struct(&schema, NULL, 2);
  floe_arrow_type_info dec = floe_arrow_decimal(9, 2);
  floe_arrow_schema_init(schema.children[0], "id", &i64, false, C_ID);
  floe_arrow_schema_init(schema.children[1], "price", &dec, true, C_PRICE);
  REQUIRE_OK(floe_arrow_batch_builder_init(&bb, &schema, &err), &err);
  floe_arrow_builder_append_int64(&bb.columns[0], 1);
  floe_arrow_builder_append_decimal(&bb.columns[1], (floe_int128)1234567890);
  REQUIRE_OK(floe_arrow_batch_builder_finish(&bb, &batch, &err), &err);
  floe_arrow_batch_builder_free(&bb);
  CHECK_INT_EQ(floe_data_writer_write(w, &schema, &batch, &err), FLOE_ERANGE);
  CHECK_STR_EQ(err.message, "column 'price' row 0: decimal value 12345678.90 exceeds precision 9");
  floe_arrow_array_release(&batch);
  floe_arrow_schema_release(&schema);

  /* Nothing was written; the writer still works. */
  CHECK_INT_EQ(count_parquet(t.location), 0);
  REQUIRE(make_input(t.schema, NULL, 0, 30, &in) == 0);
  CHECK_OK(floe_data_writer_write(w, &in.schema, &in.batch, &err), &err);
  floe_content_file_list files = {0};
  CHECK_OK(floe_data_writer_close(w, &files, &err), &err);
  check_files(t.schema, t.spec, &in, &files, t.data_path, all_ids, 9, FLOE_CONTENT_DATA);
  floe_content_file_list_free(&files);
  floe_data_writer_free(w);
  input_release(&in);

  /* Open-time errors: missing options, nested-free but bad spec. */
  floe_table_writer_options o;
  floe_table_writer_options_init(&o);
  CHECK_INT_EQ(floe_data_writer_open(&w, &o, &err), FLOE_EINVAL);
  table_close(&t);
}

static void test_abort_and_free_without_close_remove_files(void) {
  table t;
  REQUIRE(table_open(&t, "abort", "region:identity") == 0);
  t.options.target_file_size_bytes = 4096;
  input in;
  REQUIRE(make_input(t.schema, NULL, 0, 3000, &in) == 0);
  floe_error err = {0};
  floe_data_writer *w = NULL;
  /* Abort while files are open and some are finished. */
  REQUIRE_OK(floe_data_writer_open(&w, &t.options, &err), &err);
  CHECK_OK(floe_data_writer_write(w, &in.schema, &in.batch, &err), &err);
  CHECK(count_parquet(t.location) > 4);
  floe_data_writer_abort(w);
  CHECK_INT_EQ(count_parquet(t.location), 0);
  CHECK_INT_EQ(floe_data_writer_write(w, &in.schema, &in.batch, &err), FLOE_EINVAL);
  floe_data_writer_free(w);
  /* Free without close. */
  REQUIRE_OK(floe_data_writer_open(&w, &t.options, &err), &err);
  CHECK_OK(floe_data_writer_write(w, &in.schema, &in.batch, &err), &err);
  CHECK(count_parquet(t.location) > 4);
  floe_data_writer_free(w);
  CHECK_INT_EQ(count_parquet(t.location), 0);
  /* Abort after close (the commit failed): the closed files go too. */
  floe_content_file_list files = {0};
  REQUIRE_OK(floe_data_writer_open(&w, &t.options, &err), &err);
  CHECK_OK(floe_data_writer_write(w, &in.schema, &in.batch, &err), &err);
  CHECK_OK(floe_data_writer_close(w, &files, &err), &err);
  CHECK_INT_EQ(count_parquet(t.location), files.n_files);
  floe_data_writer_abort(w);
  CHECK_INT_EQ(count_parquet(t.location), 0);
  floe_data_writer_free(w);
  floe_content_file_list_free(&files);
  input_release(&in);
  table_close(&t);
}

/* ---- position deletes --------------------------------------------------- */

static floe_iceberg_value text_value(const char *s) {
  floe_iceberg_value v = floe_iceberg_null_value();
  v.is_null = false;
  v.bytes = (const uint8_t *)s;
  v.len = strlen(s);
  return v;
}

static void test_position_deletes_sorted_per_partition(void) {
  table t;
  REQUIRE(table_open(&t, "posdel", "region:identity") == 0);
  floe_error err = {0};
  floe_position_delete_writer *w = NULL;
  REQUIRE_OK(floe_position_delete_writer_open(&w, &t.options, &err), &err);
  const char *a = "s3://bucket/warehouse/db/t/data/region=us/00000-1-a-00001.parquet";
  const char *b = "s3://bucket/warehouse/db/t/data/region=us/00000-1-b-00002.parquet";
  const char *c = "s3://bucket/warehouse/db/t/data/region=eu/00000-1-c-00001.parquet";
  floe_iceberg_value us = text_value("us"), eu = text_value("eu");
  CHECK_OK(floe_position_delete_writer_add(w, &us, b, 5, &err), &err);
  CHECK_OK(floe_position_delete_writer_add(w, &us, a, 9, &err), &err);
  CHECK_OK(floe_position_delete_writer_add(w, &eu, c, 3, &err), &err);
  CHECK_OK(floe_position_delete_writer_add(w, &us, a, 1, &err), &err);
  CHECK_OK(floe_position_delete_writer_add(w, &us, b, 0, &err), &err);
  CHECK_OK(floe_position_delete_writer_add(w, &us, a, 1, &err), &err); /* duplicate */
  CHECK_OK(floe_position_delete_writer_add(w, &eu, c, 2, &err), &err);
  CHECK_INT_EQ(floe_position_delete_writer_add(w, &eu, c, -1, &err), FLOE_EINVAL);
  CHECK_INT_EQ(floe_position_delete_writer_add(w, NULL, c, 1, &err), FLOE_EINVAL);
  floe_content_file_list files = {0};
  REQUIRE_OK(floe_position_delete_writer_close(w, &files, &err), &err);
  REQUIRE(files.n_files == 2);
  static const int32_t ids[] = {FLOE_ICEBERG_DELETE_FILE_PATH_ID, FLOE_ICEBERG_DELETE_POS_ID};
  /* Partition "us": sorted by path then pos, the duplicate dropped. */
  const floe_iceberg_content_file *f = &files.files[0];
  char want[8400];
  snprintf(want, sizeof want, "%s/data/region=us/%s-00001-deletes.parquet", t.location,
           t.options.file_prefix);
  CHECK_STR_EQ(f->file_path, want);
  CHECK_INT_EQ(f->content, FLOE_CONTENT_POSITION_DELETES);
  CHECK(!f->has_sort_order_id);
  CHECK(f->referenced_data_file == NULL);
  CHECK_INT_EQ(f->record_count, 4);
  CHECK(f->partition[0].len == 2 && memcmp(f->partition[0].bytes, "us", 2) == 0);
  rows r = {0, NULL};
  CHECK_INT_EQ(read_file_rows(f->file_path, ids, 2, &r), 0);
  REQUIRE(r.n == 4);
  char line[256];
  snprintf(line, sizeof line, "%s|1", a);
  CHECK_STR_EQ(r.text[0], line);
  snprintf(line, sizeof line, "%s|9", a);
  CHECK_STR_EQ(r.text[1], line);
  snprintf(line, sizeof line, "%s|0", b);
  CHECK_STR_EQ(r.text[2], line);
  snprintf(line, sizeof line, "%s|5", b);
  CHECK_STR_EQ(r.text[3], line);
  rows_free(&r);
  /* Full bounds on file_path (not truncated to 16) and on pos. */
  REQUIRE(f->n_columns == 2);
  CHECK_INT_EQ(f->columns[0].field_id, FLOE_ICEBERG_DELETE_FILE_PATH_ID);
  CHECK(f->columns[0].lower_bound_len == strlen(a) &&
        memcmp(f->columns[0].lower_bound, a, strlen(a)) == 0);
  CHECK(f->columns[0].upper_bound_len == strlen(b) &&
        memcmp(f->columns[0].upper_bound, b, strlen(b)) == 0);
  CHECK_INT_EQ(f->columns[1].field_id, FLOE_ICEBERG_DELETE_POS_ID);
  CHECK(floe_load_u64le(f->columns[1].lower_bound) == 0 &&
        floe_load_u64le(f->columns[1].upper_bound) == 9);
  /* Partition "eu": a single data file, named in referenced_data_file. */
  f = &files.files[1];
  CHECK_STR_EQ(f->referenced_data_file, c);
  CHECK_INT_EQ(f->record_count, 2);
  CHECK(f->columns[0].lower_bound_len == strlen(c) &&
        f->columns[0].upper_bound_len == strlen(c));
  /* The footer names the delete schema and type. */
  floe_parquet_reader *pr = NULL;
  REQUIRE_OK(floe_parquet_reader_open(&pr, f->file_path, &err), &err);
  int32_t nkv = 0;
  const floe_parquet_key_value *kv = floe_parquet_reader_key_values(pr, &nkv);
  int found = 0;
  for (int32_t i = 0; i < nkv; i++) {
    if (strcmp(kv[i].key, "delete-type") == 0 && strcmp(kv[i].value, "position") == 0) found++;
    if (strcmp(kv[i].key, "iceberg.schema") == 0 &&
        strstr(kv[i].value, "\"id\":2147483546,\"name\":\"file_path\",\"required\":true") != NULL)
      found++;
  }
  CHECK_INT_EQ(found, 2);
  CHECK(!floe_parquet_reader_column(pr, 0)->nullable);
  floe_parquet_reader_free(pr);
  floe_content_file_list_free(&files);
  floe_position_delete_writer_free(w);
  table_close(&t);
}

static void test_position_deletes_roll_and_spill(void) {
  /* 5000 deletes over 40 data files, added in scrambled order, spilled
   * every 1500 and rolled at 2 KiB: every file is sorted, all are there. */
  table t;
  REQUIRE(table_open(&t, "posdel_roll", NULL) == 0);
  t.options.max_buffered_deletes = 1500;
  t.options.target_file_size_bytes = 2048;
  floe_error err = {0};
  floe_position_delete_writer *w = NULL;
  REQUIRE_OK(floe_position_delete_writer_open(&w, &t.options, &err), &err);
  for (int64_t i = 0; i < 5000; i++) {
    int64_t k = (i * 7919) % 5000; /* a permutation */
    char path[64];
    snprintf(path, sizeof path, "file:/t/data/f%02d.parquet", (int)(k % 40));
    CHECK_OK(floe_position_delete_writer_add(w, NULL, path, k / 40, &err), &err);
  }
  floe_content_file_list files = {0};
  REQUIRE_OK(floe_position_delete_writer_close(w, &files, &err), &err);
  CHECK(files.n_files >= 4);
  static const int32_t ids[] = {FLOE_ICEBERG_DELETE_FILE_PATH_ID, FLOE_ICEBERG_DELETE_POS_ID};
  int64_t total = 0;
  int32_t single = 0;
  for (int32_t f = 0; f < files.n_files; f++) {
    rows r = {0, NULL};
    CHECK_INT_EQ(read_file_rows(files.files[f].file_path, ids, 2, &r), 0);
    CHECK_INT_EQ(r.n, files.files[f].record_count);
    for (int64_t i = 1; i < r.n; i++) {
      /* "path|pos" sorts like (path, pos) here: equal-length paths, and
       * positions compared numerically. */
      char *bar0 = strrchr(r.text[i - 1], '|'), *bar1 = strrchr(r.text[i], '|');
      int cmp = strncmp(r.text[i - 1], r.text[i], (size_t)(bar0 - r.text[i - 1]));
      if (cmp > 0 || (cmp == 0 && atoll(bar0 + 1) >= atoll(bar1 + 1))) {
        TEST_FAIL_AT(__FILE__, __LINE__, "unsorted: '%s' then '%s'", r.text[i - 1], r.text[i]);
        break;
      }
    }
    if (files.files[f].referenced_data_file != NULL) {
      single++;
      char prefix[80];
      snprintf(prefix, sizeof prefix, "%s|", files.files[f].referenced_data_file);
      for (int64_t i = 0; i < r.n; i++) CHECK(strncmp(r.text[i], prefix, strlen(prefix)) == 0);
    }
    total += r.n;
    rows_free(&r);
  }
  CHECK_INT_EQ(total, 5000);
  CHECK(single > 0);
  floe_content_file_list_free(&files);
  floe_position_delete_writer_free(w);
  table_close(&t);
}

/* ---- equality deletes --------------------------------------------------- */

static void test_equality_deletes_schema_ids_and_partitions(void) {
  table t;
  REQUIRE(table_open(&t, "eqdel", "region:identity") == 0);
  floe_error err = {0};
  floe_equality_delete_writer *w = NULL;
  static const int32_t eq_ids[] = {C_NOTE, C_ID};
  REQUIRE_OK(floe_equality_delete_writer_open(&w, &t.options, eq_ids, 2, &err), &err);
  /* The batch carries the equality columns, the partition source and an
   * extra column (ignored). */
  static const int32_t batch_ids[] = {C_PRICE, C_NOTE, C_REGION, C_ID};
  input in;
  REQUIRE(make_input(t.schema, batch_ids, 4, 200, &in) == 0);
  CHECK_OK(floe_equality_delete_writer_write(w, &in.schema, &in.batch, &err), &err);
  floe_content_file_list files = {0};
  REQUIRE_OK(floe_equality_delete_writer_close(w, &files, &err), &err);
  CHECK_INT_EQ(files.n_files, 4);
  static const int32_t file_ids[] = {C_ID, C_NOTE};
  check_files(t.schema, t.spec, &in, &files, t.data_path, file_ids, 2,
              FLOE_CONTENT_EQUALITY_DELETES);
  for (int32_t f = 0; f < files.n_files; f++) {
    const floe_iceberg_content_file *cf = &files.files[f];
    CHECK(cf->n_equality_ids == 2 && cf->equality_ids[0] == C_NOTE && cf->equality_ids[1] == C_ID);
    CHECK(cf->has_sort_order_id && cf->sort_order_id == 0);
    CHECK(strstr(cf->file_path, "-deletes.parquet") != NULL);
    CHECK_INT_EQ(cf->n_columns, 2);
    /* The file's schema: exactly id and note, with their table ids. */
    floe_parquet_reader *r = NULL;
    REQUIRE_OK(floe_parquet_reader_open(&r, cf->file_path, &err), &err);
    CHECK_INT_EQ(floe_parquet_reader_num_columns(r), 2);
    CHECK_INT_EQ(floe_parquet_reader_column(r, 0)->field_id, C_ID);
    CHECK_STR_EQ(floe_parquet_reader_column(r, 0)->name, "id");
    CHECK(!floe_parquet_reader_column(r, 0)->nullable);
    CHECK_INT_EQ(floe_parquet_reader_column(r, 1)->field_id, C_NOTE);
    int32_t nkv = 0;
    const floe_parquet_key_value *kv = floe_parquet_reader_key_values(r, &nkv);
    int found = 0;
    for (int32_t i = 0; i < nkv; i++) {
      if (strcmp(kv[i].key, "delete-type") == 0 && strcmp(kv[i].value, "equality") == 0) found++;
      if (strcmp(kv[i].key, "delete-field-ids") == 0 && strcmp(kv[i].value, "6, 1") == 0) found++;
    }
    CHECK_INT_EQ(found, 2);
    floe_parquet_reader_free(r);
  }
  floe_content_file_list_free(&files);
  floe_equality_delete_writer_free(w);
  input_release(&in);

  /* Without the partition source column: an error naming it. */
  REQUIRE_OK(floe_equality_delete_writer_open(&w, &t.options, eq_ids, 2, &err), &err);
  static const int32_t no_region[] = {C_ID, C_NOTE};
  REQUIRE(make_input(t.schema, no_region, 2, 5, &in) == 0);
  CHECK_INT_EQ(floe_equality_delete_writer_write(w, &in.schema, &in.batch, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "no column 'region' (field id 3), needed for partition field 'region'") !=
        NULL);
  floe_equality_delete_writer_free(w);
  input_release(&in);
  /* Bad ids. */
  static const int32_t twice[] = {C_ID, C_ID}, unknown[] = {42};
  CHECK_INT_EQ(floe_equality_delete_writer_open(&w, &t.options, twice, 2, &err), FLOE_EINVAL);
  CHECK_INT_EQ(floe_equality_delete_writer_open(&w, &t.options, unknown, 1, &err), FLOE_EINVAL);
  CHECK_INT_EQ(floe_equality_delete_writer_open(&w, &t.options, NULL, 0, &err), FLOE_EINVAL);
  table_close(&t);
}

static void test_equality_deletes_unpartitioned_are_global(void) {
  table t;
  REQUIRE(table_open(&t, "eqdel_global", NULL) == 0);
  floe_error err = {0};
  floe_equality_delete_writer *w = NULL;
  static const int32_t eq_ids[] = {C_ID};
  REQUIRE_OK(floe_equality_delete_writer_open(&w, &t.options, eq_ids, 1, &err), &err);
  input in;
  REQUIRE(make_input(t.schema, NULL, 0, 50, &in) == 0);
  CHECK_OK(floe_equality_delete_writer_write(w, &in.schema, &in.batch, &err), &err);
  floe_content_file_list files = {0};
  REQUIRE_OK(floe_equality_delete_writer_close(w, &files, &err), &err);
  REQUIRE(files.n_files == 1);
  CHECK_INT_EQ(files.files[0].n_partition, 0);
  char want[8400];
  snprintf(want, sizeof want, "%s/data/%s-00001-deletes.parquet", t.location,
           t.options.file_prefix);
  CHECK_STR_EQ(files.files[0].file_path, want);
  static const int32_t file_ids[] = {C_ID};
  check_files(t.schema, t.spec, &in, &files, t.data_path, file_ids, 1,
              FLOE_CONTENT_EQUALITY_DELETES);
  floe_content_file_list_free(&files);
  floe_equality_delete_writer_free(w);
  input_release(&in);
  table_close(&t);
}

/* ---- allocation failures ----------------------------------------------- */

/* One run of all three writers; returns the first failure's code. */
static int run_all_writers(table *t, const input *in) {
  floe_error err = {0};
  floe_data_writer *dw = NULL;
  floe_position_delete_writer *pw = NULL;
  floe_equality_delete_writer *ew = NULL;
  floe_content_file_list a = {0}, b = {0}, c = {0};
  static const int32_t eq_ids[] = {C_ID};
  int rc = floe_data_writer_open(&dw, &t->options, &err);
  for (int64_t from = 0; rc == 0 && from < in->batch.length; from += 20) {
    struct ArrowArray s = slice_of(&in->batch, from, 20);
    rc = floe_data_writer_write(dw, &in->schema, &s, &err);
  }
  if (rc == 0) rc = floe_data_writer_close(dw, &a, &err);
  floe_table_writer_options po = t->options, eo = t->options;
  po.file_prefix = "00001-7-2f1e0c5a-9b4d-4c38-8a8e-6d1f3b2a9c10";
  eo.file_prefix = "00002-7-2f1e0c5a-9b4d-4c38-8a8e-6d1f3b2a9c10";
  if (rc == 0) rc = floe_position_delete_writer_open(&pw, &po, &err);
  for (int32_t f = 0; rc == 0 && f < a.n_files; f++)
    for (int64_t p = 0; rc == 0 && p < 3; p++)
      rc = floe_position_delete_writer_add(pw, a.files[f].partition, a.files[f].file_path, 2 - p,
                                           &err);
  if (rc == 0) rc = floe_position_delete_writer_close(pw, &b, &err);
  if (rc == 0) rc = floe_equality_delete_writer_open(&ew, &eo, eq_ids, 1, &err);
  if (rc == 0) rc = floe_equality_delete_writer_write(ew, &in->schema, &in->batch, &err);
  if (rc == 0) rc = floe_equality_delete_writer_close(ew, &c, &err);
  if (rc != 0) {
    if (rc != FLOE_ENOMEM && strstr(err.message, "out of memory") == NULL &&
        strstr(err.message, "Cannot allocate") == NULL)
      printf("  unexpected failure %d: %s\n", rc, err.message);
    floe_data_writer_abort(dw);
    floe_position_delete_writer_abort(pw);
    floe_equality_delete_writer_abort(ew);
  }
  floe_data_writer_free(dw);
  floe_position_delete_writer_free(pw);
  floe_equality_delete_writer_free(ew);
  floe_content_file_list_free(&a);
  floe_content_file_list_free(&b);
  floe_content_file_list_free(&c);
  return rc;
}

/* ---- sorted data files (options.sort_order) ------------------------------ */

/* The key of input row i (append_row's values) on one column, after an
 * optional transform, computed here independently of floe. */
typedef struct test_key {
  int is_null;
  int kind; /* 0 integer, 1 double, 2 text */
  int64_t i;
  double d;
  char text[96];
} test_key;

static test_key key_of(int32_t column, const char *transform, int64_t i) {
  static const int64_t base = INT64_C(1706572800000000);
  test_key k;
  memset(&k, 0, sizeof k);
  switch (column) {
    case C_ID: k.i = i; break;
    case C_CUSTOMER: k.is_null = i % 13 == 12; k.i = 1000 + (i * 7) % 50; break;
    case C_REGION:
      k.is_null = i % 11 == 10;
      k.kind = 2;
      snprintf(k.text, sizeof k.text, "%s", regions[i % 3]);
      break;
    case C_TS: k.is_null = i % 17 == 16; k.i = base + i * 47 * 60 * INT64_C(1000000) + i; break;
    case C_PRICE: k.i = i * 101 - 5000; break;
    case C_NOTE:
      k.is_null = i % 9 == 8;
      k.kind = 2;
      if (i % 5 == 0)
        snprintf(k.text, sizeof k.text, "a note longer than sixteen characters #%lld", (long long)i);
      else
        snprintf(k.text, sizeof k.text, "n%lld", (long long)i);
      break;
    case C_OK: k.i = i % 2 == 0; break;
    case C_DAY: k.i = 19700 + i % 40; break;
    case C_SCORE: k.kind = 1; k.d = i == 3 ? NAN : (double)i * 0.5; break;
  }
  if (transform != NULL && strcmp(transform, "day") == 0) {
    int64_t day = INT64_C(86400000000);
    k.i = k.i >= 0 ? k.i / day : -((-k.i + day - 1) / day);
  } else if (transform != NULL && strcmp(transform, "truncate[2]") == 0) {
    k.text[2] = '\0'; /* ASCII text: two code points */
  }
  return k;
}

typedef struct test_order_field {
  int32_t column;
  const char *transform; /* NULL: identity */
  int desc, nulls_last;
} test_order_field;

static const test_order_field *cmp_fields;
static int cmp_n_fields;

/* Iceberg's order: NaN above every number, strings by bytes; nulls by the
 * null order whatever the direction. */
static int cmp_test_rows(const void *pa, const void *pb) {
  int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
  for (int f = 0; f < cmp_n_fields; f++) {
    const test_order_field *o = &cmp_fields[f];
    test_key x = key_of(o->column, o->transform, a), y = key_of(o->column, o->transform, b);
    int c = 0;
    if (x.is_null || y.is_null) {
      if (x.is_null && y.is_null) continue;
      c = x.is_null ? -1 : 1;
      return o->nulls_last ? -c : c;
    }
    if (x.kind == 0) c = (x.i > y.i) - (x.i < y.i);
    else if (x.kind == 2) c = strcmp(x.text, y.text);
    else if (isnan(x.d) || isnan(y.d)) c = isnan(x.d) - isnan(y.d);
    else c = (x.d > y.d) - (x.d < y.d);
    if (c != 0) return o->desc ? -c : c;
  }
  return (a > b) - (a < b);
}

static floe_iceberg_sort_order *make_order(const floe_iceberg_schema *schema, int32_t order_id,
                                           const test_order_field *fields, int n) {
  floe_iceberg_sort_order *order = NULL;
  floe_error err = {0};
  if (floe_iceberg_sort_order_new(&order, order_id, &err) != 0) return NULL;
  for (int f = 0; f < n; f++) {
    const floe_iceberg_field *col = floe_iceberg_schema_find_id(schema, fields[f].column);
    if (floe_iceberg_sort_order_add_field(order, schema, col->name,
                                          fields[f].transform ? fields[f].transform : "identity",
                                          fields[f].desc ? FLOE_SORT_DESC : FLOE_SORT_ASC,
                                          fields[f].nulls_last ? FLOE_NULLS_LAST : FLOE_NULLS_FIRST,
                                          &err) != 0) {
      printf("  sort order: %s\n", err.message);
      floe_iceberg_sort_order_free(order);
      return NULL;
    }
  }
  return order;
}

/* Writes rows [0, n) in batches of `per_batch` through a sorted writer
 * and returns its files. */
static int write_sorted(table *t, const floe_iceberg_sort_order *order, int64_t n,
                        int64_t per_batch, int64_t sort_buffer, floe_content_file_list *files) {
  input in;
  floe_error err = {0};
  floe_data_writer *w = NULL;
  memset(files, 0, sizeof *files);
  if (make_input(t->schema, NULL, 0, n, &in) != 0) return -1;
  t->options.sort_order = order;
  t->options.sort_buffer_bytes = sort_buffer;
  int rc = floe_data_writer_open(&w, &t->options, &err);
  for (int64_t from = 0; rc == 0 && from < n; from += per_batch) {
    struct ArrowArray s = slice_of(&in.batch, from, n - from < per_batch ? n - from : per_batch);
    rc = floe_data_writer_write(w, &in.schema, &s, &err);
  }
  if (rc == 0 && floe_data_writer_rows(w) != n) rc = -1;
  if (rc == 0) rc = floe_data_writer_close(w, files, &err);
  if (rc != 0) printf("  sorted write: %s\n", err.message);
  floe_data_writer_free(w);
  input_release(&in);
  return rc;
}

/* The ids of a file's rows, in file order. */
static int64_t file_ids(const char *path, int64_t *ids, int64_t cap) {
  static const int32_t id_col[] = {C_ID};
  rows r = {0};
  if (read_file_rows(path, id_col, 1, &r) != 0) return -1;
  int64_t n = r.n < cap ? r.n : cap;
  for (int64_t i = 0; i < n; i++) ids[i] = strtoll(r.text[i], NULL, 10);
  rows_free(&r);
  return n;
}

static void test_sorted_files_follow_the_order_for_every_type(void) {
  enum { N = 500 };
  static const int32_t columns[] = {C_CUSTOMER, C_REGION, C_TS, C_PRICE, C_NOTE,
                                    C_OK,       C_DAY,    C_SCORE};
  int cases = 0;
  for (size_t c = 0; c < sizeof columns / sizeof columns[0]; c++) {
    for (int variant = 0; variant < 4; variant++) {
      test_order_field fields[2] = {{columns[c], NULL, variant & 1, (variant >> 1) & 1},
                                    {C_ID, NULL, 0, 0}};
      table t;
      REQUIRE(table_open(&t, "sorted_types", NULL) == 0);
      floe_iceberg_sort_order *order = make_order(t.schema, 7, fields, 2);
      REQUIRE(order != NULL);
      floe_content_file_list files;
      CHECK(write_sorted(&t, order, N, 64, 0, &files) == 0);
      CHECK_INT_EQ(files.n_files, 1); /* 500 rows fit the default buffer */
      if (files.n_files == 1) {
        const floe_iceberg_content_file *f = &files.files[0];
        CHECK(f->has_sort_order_id && f->sort_order_id == 7);
        int64_t got[N], want[N];
        CHECK_INT_EQ(file_ids(f->file_path, got, N), N);
        for (int64_t i = 0; i < N; i++) want[i] = i;
        cmp_fields = fields;
        cmp_n_fields = 2;
        qsort(want, N, sizeof want[0], cmp_test_rows);
        int64_t first_diff = -1;
        for (int64_t i = 0; i < N && first_diff < 0; i++)
          if (got[i] != want[i]) first_diff = i;
        if (first_diff >= 0)
          printf("  column %d variant %d: row %lld is id %lld, expected %lld\n", (int)columns[c],
                 variant, (long long)first_diff, (long long)got[first_diff],
                 (long long)want[first_diff]);
        CHECK(first_diff < 0);
        cases++;
      }
      floe_content_file_list_free(&files);
      floe_iceberg_sort_order_free(order);
      empty_dir(t.location);
      table_close(&t);
    }
  }
  CHECK_INT_EQ(cases, 32);
}

static void test_sorted_files_order_by_transformed_values(void) {
  enum { N = 400 };
  static const test_order_field orders[][2] = {
      {{C_NOTE, "truncate[2]", 1, 0}, {C_ID, NULL, 1, 0}},
      {{C_TS, "day", 0, 1}, {C_ID, NULL, 1, 0}},
  };
  for (int o = 0; o < 2; o++) {
    table t;
    REQUIRE(table_open(&t, "sorted_transforms", NULL) == 0);
    floe_iceberg_sort_order *order = make_order(t.schema, 3, orders[o], 2);
    REQUIRE(order != NULL);
    floe_content_file_list files;
    CHECK(write_sorted(&t, order, N, 50, 0, &files) == 0);
    CHECK_INT_EQ(files.n_files, 1);
    if (files.n_files == 1) {
      int64_t got[N], want[N];
      CHECK_INT_EQ(file_ids(files.files[0].file_path, got, N), N);
      for (int64_t i = 0; i < N; i++) want[i] = i;
      cmp_fields = orders[o];
      cmp_n_fields = 2;
      qsort(want, N, sizeof want[0], cmp_test_rows);
      CHECK(memcmp(got, want, sizeof got) == 0);
      CHECK_INT_EQ(files.files[0].sort_order_id, 3);
    }
    floe_content_file_list_free(&files);
    floe_iceberg_sort_order_free(order);
    empty_dir(t.location);
    table_close(&t);
  }
}

/* A buffer smaller than the rows: each flush its own files, each file one
 * sorted run; partitions keep the order within each of their files. */
static void test_sorted_runs_past_the_buffer_are_separate_files(void) {
  enum { N = 500 };
  static const test_order_field desc_id[] = {{C_ID, NULL, 1, 0}};
  for (int partitioned = 0; partitioned < 2; partitioned++) {
    table t;
    REQUIRE(table_open(&t, "sorted_runs", partitioned ? "region:identity" : NULL) == 0);
    floe_iceberg_sort_order *order = make_order(t.schema, 2, desc_id, 1);
    REQUIRE(order != NULL);
    floe_content_file_list files;
    /* A 1-byte buffer: every batch of 64 rows is flushed on its own. */
    CHECK(write_sorted(&t, order, N, 64, 1, &files) == 0);
    int32_t runs = (N + 63) / 64;
    if (!partitioned) CHECK_INT_EQ(files.n_files, runs);
    else CHECK(files.n_files > runs && files.n_files <= runs * 4);
    static int64_t seen[N];
    memset(seen, 0, sizeof seen);
    int64_t total = 0;
    for (int32_t f = 0; f < files.n_files; f++) {
      int64_t ids[N];
      int64_t n = file_ids(files.files[f].file_path, ids, N);
      CHECK(n > 0 && n <= 64);
      CHECK_INT_EQ(files.files[f].record_count, n);
      CHECK_INT_EQ(files.files[f].sort_order_id, 2);
      for (int64_t i = 0; i < n; i++) {
        if (i > 0) CHECK(ids[i - 1] > ids[i]);
        /* one run = one batch of the input */
        CHECK_INT_EQ(ids[i] / 64, ids[0] / 64);
        if (ids[i] >= 0 && ids[i] < N) seen[ids[i]]++;
      }
      total += n;
    }
    CHECK_INT_EQ(total, N);
    for (int64_t i = 0; i < N; i++) CHECK_INT_EQ(seen[i], 1);
    floe_content_file_list_free(&files);
    floe_iceberg_sort_order_free(order);
    empty_dir(t.location);
    table_close(&t);
  }
}

/* An order on a column the file does not hold cannot be honoured: the
 * writer writes rows as they come and says so with order id 0. */
static void test_unsorted_order_or_none_gives_order_id_zero(void) {
  table t;
  REQUIRE(table_open(&t, "sorted_none", NULL) == 0);
  floe_iceberg_sort_order *unsorted = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_iceberg_sort_order_new(&unsorted, 0, &err), &err);
  floe_content_file_list files;
  CHECK(write_sorted(&t, unsorted, 100, 30, 0, &files) == 0);
  CHECK_INT_EQ(files.n_files, 1);
  if (files.n_files == 1) {
    CHECK(files.files[0].has_sort_order_id && files.files[0].sort_order_id == 0);
    int64_t ids[100];
    CHECK_INT_EQ(file_ids(files.files[0].file_path, ids, 100), 100);
    for (int64_t i = 0; i < 100; i++) CHECK_INT_EQ(ids[i], i);
  }
  floe_content_file_list_free(&files);
  floe_iceberg_sort_order_free(unsorted);
  empty_dir(t.location);
  table_close(&t);
}

static void test_allocation_failure_sweep(void) {
  /* Unsorted, then sorted by customer_id desc with a buffer that flushes
   * every couple of batches. */
  static const test_order_field by_customer[] = {{C_CUSTOMER, NULL, 1, 1}};
  for (int sorted = 0; sorted < 2; sorted++) {
    table t;
    REQUIRE(table_open(&t, "alloc", "order_ts:day,customer_id:bucket[2]") == 0);
    t.options.max_open_files = 2;
    t.options.target_file_size_bytes = 2500;
    t.options.max_buffered_deletes = 8;
    floe_iceberg_sort_order *order = sorted ? make_order(t.schema, 1, by_customer, 1) : NULL;
    t.options.sort_order = order;
    t.options.sort_buffer_bytes = 4000;
    input in;
    REQUIRE(make_input(t.schema, NULL, 0, 40, &in) == 0);
    long start = floe_alloc_calls();
    REQUIRE(run_all_writers(&t, &in) == 0);
    long needed = floe_alloc_calls() - start;
    int files_ok = count_parquet(t.location);
    printf("  %s: %ld allocations, %d files\n", sorted ? "sorted" : "unsorted", needed, files_ok);
    CHECK(files_ok > 8);
    int failures = 0, stray = 0;
    for (long n = 1; n <= needed + 1; n++) {
      empty_dir(t.location);
      floe_alloc_fail_after(n);
      int rc = run_all_writers(&t, &in);
      floe_alloc_fail_after(0);
      if (rc != 0) {
        failures++;
        if (count_parquet(t.location) != 0) stray++;
      } else {
        CHECK_INT_EQ(count_parquet(t.location), files_ok);
      }
    }
    CHECK(failures > 100);
    CHECK_INT_EQ(stray, 0);
    empty_dir(t.location);
    floe_iceberg_sort_order_free(order);
    input_release(&in);
    table_close(&t);
  }
}

int main(void) {
  RUN(test_unpartitioned_one_file_with_exact_name_and_footer);
  RUN(test_identity_partitions_with_url_encoded_paths);
  RUN(test_bucket_and_day_partitions);
  RUN(test_bucket_day_exact_path_and_tuple);
  RUN(test_truncate_partitions);
  RUN(test_year_month_hour_partitions);
  RUN(test_null_partition_values);
  RUN(test_rolling_at_target_size_gives_several_files);
  RUN(test_fanout_bound_closes_least_recently_used);
  RUN(test_fanout_count_is_respected);
  RUN(test_metrics_modes);
  RUN(test_truncated_upper_bound_increments);
  RUN(test_write_data_path_property);
  RUN(test_bad_properties_are_rejected);
  RUN(test_batch_errors_name_the_column_and_keep_the_writer);
  RUN(test_abort_and_free_without_close_remove_files);
  RUN(test_position_deletes_sorted_per_partition);
  RUN(test_position_deletes_roll_and_spill);
  RUN(test_equality_deletes_schema_ids_and_partitions);
  RUN(test_equality_deletes_unpartitioned_are_global);
  RUN(test_sorted_files_follow_the_order_for_every_type);
  RUN(test_sorted_files_order_by_transformed_values);
  RUN(test_sorted_runs_past_the_buffer_are_separate_files);
  RUN(test_unsorted_order_or_none_gives_order_id_zero);
  RUN(test_allocation_failure_sweep);
  return test_report();
}
