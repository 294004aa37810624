/*
 * tests/unit/test_scan: Iceberg table scans against every fixture table
 * written by other engines (../shared/fixtures/iceberg, fixtures README).
 *
 * For each expected result (expected/iceberg/<table>.<version>.csv/.json)
 * the test opens the metadata file the JSON names, scans the whole table
 * with the path remapping, renders every value with floe_arrow_view_format
 * and compares the sorted rows with the CSV, floats numerically; it also
 * compares the plan (every live data and delete file with record count,
 * data sequence number, spec and partition tuple, DV offsets) with the
 * JSON. Nested (list) columns are skipped: floe's Parquet reader does not
 * read repeated fields, so they are left out of scans (the test counts and
 * names them). Filter tests check pruning and exact filtering on the same
 * tables, and TPC-H Q6 on duckdb_lineitem_iceberg is checked against the
 * answers pyspark and the standard give.
 */
#include <dirent.h>
#include <jansson.h>
#include <math.h>

#include "floe/io.h"
#include "floe/scan.h"
#include "test.h"

/* ---- helpers ------------------------------------------------------------ */

typedef struct strlist {
  char **items;
  size_t n, cap;
} strlist;

static void strlist_push(strlist *l, char *s) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 64;
    l->items = realloc(l->items, l->cap * sizeof *l->items);
  }
  l->items[l->n++] = s;
}
static void strlist_free(strlist *l) {
  for (size_t i = 0; i < l->n; i++) free(l->items[i]);
  free(l->items);
  memset(l, 0, sizeof *l);
}
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static void sort_strs(strlist *l) {
  if (l->n > 1) qsort(l->items, l->n, sizeof *l->items, cmp_str);
}

/* Parses RFC 4180 CSV text into rows of fields (each row a strlist). */
typedef struct csv {
  strlist *rows;
  size_t n;
} csv;

static void csv_free(csv *c) {
  for (size_t i = 0; i < c->n; i++) strlist_free(&c->rows[i]);
  free(c->rows);
}

static bool csv_read(const char *path, csv *out) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (f == NULL) return false;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = malloc((size_t)n + 1);
  size_t got = fread(text, 1, (size_t)n, f);
  fclose(f);
  text[got] = 0;
  size_t cap = 0;
  strlist row = {0};
  char *field = malloc((size_t)n + 1);
  size_t fl = 0;
  size_t i = 0;
  bool in_row = false;
  while (i < got) {
    in_row = true;
    if (text[i] == '"') {
      i++;
      while (i < got) {
        if (text[i] == '"' && i + 1 < got && text[i + 1] == '"') {
          field[fl++] = '"';
          i += 2;
        } else if (text[i] == '"') {
          i++;
          break;
        } else {
          field[fl++] = text[i++];
        }
      }
    }
    if (i >= got || text[i] == ',' || text[i] == '\n' || text[i] == '\r') {
      field[fl] = 0;
      strlist_push(&row, strdup(field));
      fl = 0;
      if (i < got && text[i] == ',') {
        i++;
        continue;
      }
      if (i < got && text[i] == '\r') i++;
      if (i < got && text[i] == '\n') i++;
      if (out->n == cap) {
        cap = cap ? cap * 2 : 64;
        out->rows = realloc(out->rows, cap * sizeof *out->rows);
      }
      out->rows[out->n++] = row;
      memset(&row, 0, sizeof row);
      in_row = false;
      continue;
    }
    field[fl++] = text[i++];
  }
  (void)in_row;
  free(field);
  free(text);
  return true;
}

static json_t *json_read(const char *path) {
  json_error_t e;
  return json_load_file(path, 0, &e);
}

/* Normalises a float field for comparison ("\N" stays). */
static char *normalise(const char *field, floe_iceberg_type_id type) {
  if (strcmp(field, "\\N") == 0 || (type != FLOE_ICEBERG_FLOAT && type != FLOE_ICEBERG_DOUBLE))
    return strdup(field);
  char buf[64];
  if (type == FLOE_ICEBERG_FLOAT)
    snprintf(buf, sizeof buf, "%.9g", (double)strtof(field, NULL));
  else
    snprintf(buf, sizeof buf, "%.17g", strtod(field, NULL));
  return strdup(buf);
}

/* ---- the fixture cases --------------------------------------------------- */

typedef struct fixture_case {
  const char *table;
  const char *version;
  int64_t rows;     /* from the fixtures README / source assertions */
  int32_t attached; /* delete files attached to tasks in total; -1: not checked */
} fixture_case;

static const fixture_case CASES[] = {
    {"duckdb_equality_delete_cross_partition", "vfinal", 3, 1},
    {"duckdb_equality_deletes_mytable", "v7", 2, 5},
    {"duckdb_equality_deletes_mytable_partitioned", "v6", 3, 3},
    {"duckdb_lineitem_iceberg", "v1", 60175, 0},
    {"duckdb_lineitem_iceberg", "v2", 51793, 0},
    {"duckdb_pyiceberg_null_stats", "v00003", 9, 0},
    {"icebird_athena_example", "v00001", 2, 0},
    {"icebird_java_bunnies", "v2", 21, 0},
    {"icebird_java_bunnies", "v3", 21, 0},
    {"icebird_java_bunnies", "v4", 15, 1},
    {"icebird_java_bunnies", "v5", 15, 2},
    {"icebird_spark_bunnies", "v1", 21, 0},
    {"icebird_spark_bunnies", "v3", 20, 1},
    {"icebird_spark_bunnies", "v5", 20, 0},
    {"icebird_spark_bunnies", "v5_snap7505300640432048841", 21, 0},
    {"icebird_spark_rename_column", "v2", 4, 0},
    {"icebird_spark_rename_column", "v3", 4, 0},
    {"lithium_bucket_partitioning", "v00002", 1, 0},
    {"lithium_dangling_deletes", "v00011", 10, 0},
    {"lithium_day_timestamptz_partitioning", "v00002", 3, 0},
    {"lithium_decimal_partitioning", "v00002", 1, 0},
    {"lithium_deletion_vectors", "v00002", 5, 1},
    {"lithium_deletion_vectors", "v00004", 8, 2},
    {"lithium_granular_deletes", "v00005", 10, 2},
    {"lithium_hour_timestamptz_partitioning", "v00002", 3, 0},
    {"lithium_identity_partitioning", "v00002", 1, 0},
    {"lithium_month_timestamptz_partitioning", "v00002", 3, 0},
    {"lithium_no_partitioning", "v00002", 6, 0},
    {"lithium_partition_evolution", "v00005", 7, 0},
    {"lithium_partitioning_with_null_value", "v00002", 4, 0},
    {"lithium_spark_add_columns", "v00014", 2, 0},
    {"lithium_spark_all_types", "v00000", 1, 0},
    {"lithium_spark_refdeletes3", "v00002", 10, 6},
    {"lithium_spark_v3_deletion_vector_sample", "v3", 5, 1},
    {"lithium_trino_all_types", "v00002", 1, 0},
    {"lithium_year_date_partitioning", "v00002", 3, 0},
    {"lithium_year_timestamp_partitioning", "v00002", 3, 0},
    {"lithium_year_timestamptz_partitioning", "v00002", 3, 0},
};
#define N_CASES (sizeof CASES / sizeof CASES[0])

/* An opened fixture table. */
typedef struct table_fixture {
  char dir[4096];
  floe_io *io;
  floe_iceberg_metadata *metadata;
  json_t *expected;
  int64_t snapshot_id; /* from the JSON */
  bool time_travel;
} table_fixture;

static void table_fixture_free(table_fixture *t) {
  floe_iceberg_metadata_free(t->metadata);
  floe_io_free(t->io);
  json_decref(t->expected);
  memset(t, 0, sizeof *t);
}

static bool table_fixture_open(const char *table, const char *version, table_fixture *t, floe_error *err) {
  memset(t, 0, sizeof *t);
  char rel[512];
  snprintf(rel, sizeof rel, "iceberg/%s", table);
  const char *dir = test_fixture(rel);
  if (dir == NULL) return false;
  snprintf(t->dir, sizeof t->dir, "%s", dir);
  snprintf(rel, sizeof rel, "expected/iceberg/%s.%s.json", table, version);
  const char *json_path = test_fixture(rel);
  if (json_path == NULL) return false;
  t->expected = json_read(json_path);
  if (t->expected == NULL) return false;
  const char *meta_rel = json_string_value(json_object_get(t->expected, "metadata"));
  /* Ids above 2^63-1 (duckdb_equality_delete_cross_partition) wrap, as
   * the metadata parser stores them. */
  t->snapshot_id = (int64_t)strtoull(json_string_value(json_object_get(t->expected, "snapshot_id")), NULL, 10);
  t->time_travel = strstr(version, "_snap") != NULL;
  char meta_path[8192];
  snprintf(meta_path, sizeof meta_path, "%s/%s", t->dir, meta_rel);
  if (floe_io_local_open(NULL, &t->io, err) != 0) return false;
  char *text = NULL;
  size_t len = 0;
  if (floe_io_read_all(t->io, meta_path, 64 << 20, &text, &len, err) != 0) return false;
  int rc = floe_iceberg_metadata_parse(&t->metadata, text, len, err);
  floe_free(text);
  return rc == 0;
}

/* Hex of bytes. */
static void hex_append(floe_buf *b, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) floe_buf_appendf(b, "%02x", p[i]);
}

/* A partition value as the fixtures' JSON convention renders it. */
static void render_partition_value(floe_buf *b, const floe_iceberg_type *t, const floe_iceberg_value *v) {
  if (v->is_null) {
    floe_buf_append_str(b, "null");
    return;
  }
  switch (t->id) {
    case FLOE_ICEBERG_BOOLEAN: floe_buf_append_str(b, v->v.b ? "true" : "false"); break;
    case FLOE_ICEBERG_INT:
    case FLOE_ICEBERG_DATE: floe_buf_appendf(b, "%d", v->v.i32); break;
    case FLOE_ICEBERG_LONG: floe_buf_appendf(b, "\"%lld\"", (long long)v->v.i64); break;
    case FLOE_ICEBERG_FLOAT: floe_buf_appendf(b, "%.17g", (double)v->v.f32); break;
    case FLOE_ICEBERG_DOUBLE: floe_buf_appendf(b, "%.17g", v->v.f64); break;
    case FLOE_ICEBERG_STRING:
      floe_buf_append_byte(b, '"');
      floe_buf_append(b, v->bytes, v->len);
      floe_buf_append_byte(b, '"');
      break;
    case FLOE_ICEBERG_DECIMAL: {
      /* Avro fixed of the precision's required size, big-endian. */
      int n = (int)ceil((log2(pow(10.0, t->precision) - 1) + 1) / 8);
      uint8_t be[16];
      unsigned __int128 u = (unsigned __int128)v->v.dec;
      for (int i = 15; i >= 0; i--) {
        be[i] = (uint8_t)u;
        u >>= 8;
      }
      floe_buf_append_byte(b, '"');
      hex_append(b, be + 16 - n, (size_t)n);
      floe_buf_append_byte(b, '"');
      break;
    }
    case FLOE_ICEBERG_UUID:
    case FLOE_ICEBERG_FIXED:
    case FLOE_ICEBERG_BINARY:
      floe_buf_append_byte(b, '"');
      hex_append(b, v->bytes, v->len);
      floe_buf_append_byte(b, '"');
      break;
    default: floe_buf_appendf(b, "%lld", (long long)v->v.i64); break;
  }
}

static void render_json_value(floe_buf *b, const json_t *v) {
  if (json_is_null(v)) floe_buf_append_str(b, "null");
  else if (json_is_true(v)) floe_buf_append_str(b, "true");
  else if (json_is_false(v)) floe_buf_append_str(b, "false");
  else if (json_is_integer(v)) floe_buf_appendf(b, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v)) floe_buf_appendf(b, "%.17g", json_real_value(v));
  else if (json_is_string(v)) floe_buf_appendf(b, "\"%s\"", json_string_value(v));
  else floe_buf_append_str(b, "?");
}

static const char *content_name(const floe_iceberg_content_file *f) {
  return f->content == FLOE_CONTENT_DATA ? "data"
         : f->content == FLOE_CONTENT_POSITION_DELETES ? "position_deletes"
                                                        : "equality_deletes";
}

/* Path relative to the table root. */
static char *relative(const table_fixture *t, const char *path) {
  char *out = NULL;
  floe_scan_remap_path(t->metadata->location, "", path, &out, NULL);
  char *r = strdup(out[0] == '/' ? out + 1 : out);
  floe_free(out);
  return r;
}

/* Sorted "name=value" pairs, joined. */
static char *join_sorted(strlist *pairs) {
  sort_strs(pairs);
  floe_buf b = FLOE_BUF_INIT;
  for (size_t i = 0; i < pairs->n; i++) {
    floe_buf_append_str(&b, pairs->items[i]);
    floe_buf_append_byte(&b, ';');
  }
  floe_buf_terminate(&b);
  char *s = strdup(b.data ? (char *)b.data : "");
  floe_buf_free(&b);
  return s;
}

static char *describe_file(const table_fixture *t, const floe_iceberg_content_file *f, int64_t seq) {
  floe_buf b = FLOE_BUF_INIT;
  char *rel = relative(t, f->file_path);
  floe_buf_appendf(&b, "%s|%s|%s|records=%lld|seq=%lld|spec=%d|", rel, content_name(f), f->file_format,
                   (long long)f->record_count, (long long)seq, f->spec_id);
  free(rel);
  const floe_iceberg_partition_spec *spec = floe_iceberg_metadata_spec(t->metadata, f->spec_id);
  floe_iceberg_schema *types = NULL;
  if (spec != NULL) {
    if (floe_iceberg_partition_spec_type(spec, floe_iceberg_metadata_current_schema(t->metadata), &types, NULL) !=
        0) {
      for (int32_t k = t->metadata->n_schemas - 1; k >= 0 && types == NULL; k--)
        floe_iceberg_partition_spec_type(spec, t->metadata->schemas[k], &types, NULL);
    }
  }
  strlist pairs = {0};
  for (int32_t k = 0; spec != NULL && types != NULL && k < f->n_partition; k++) {
    floe_buf p = FLOE_BUF_INIT;
    floe_buf_appendf(&p, "%s=", spec->fields[k].name);
    render_partition_value(&p, &types->root.fields[k].type, &f->partition[k]);
    floe_buf_terminate(&p);
    strlist_push(&pairs, strdup((char *)p.data));
    floe_buf_free(&p);
  }
  floe_iceberg_schema_free(types);
  char *part = join_sorted(&pairs);
  strlist_free(&pairs);
  floe_buf_append_str(&b, part);
  free(part);
  if (f->referenced_data_file != NULL && f->has_content_offset) {
    char *ref = relative(t, f->referenced_data_file);
    floe_buf_appendf(&b, "|ref=%s|off=%lld|size=%lld", ref, (long long)f->content_offset,
                     (long long)f->content_size_in_bytes);
    free(ref);
  }
  if (f->content == FLOE_CONTENT_EQUALITY_DELETES) {
    floe_buf_append_str(&b, "|eq=");
    for (int32_t i = 0; i < f->n_equality_ids; i++) floe_buf_appendf(&b, "%d,", f->equality_ids[i]);
  }
  floe_buf_terminate(&b);
  char *s = strdup((char *)b.data);
  floe_buf_free(&b);
  return s;
}

static char *describe_expected(const json_t *f) {
  floe_buf b = FLOE_BUF_INIT;
  floe_buf_appendf(&b, "%s|%s|%s|records=%lld|seq=%lld|spec=%lld|", json_string_value(json_object_get(f, "path")),
                   json_string_value(json_object_get(f, "content")), json_string_value(json_object_get(f, "format")),
                   (long long)json_integer_value(json_object_get(f, "record_count")),
                   (long long)json_integer_value(json_object_get(f, "data_sequence_number")),
                   (long long)json_integer_value(json_object_get(f, "spec_id")));
  strlist pairs = {0};
  const char *key;
  json_t *value;
  json_object_foreach(json_object_get(f, "partition"), key, value) {
    floe_buf p = FLOE_BUF_INIT;
    floe_buf_appendf(&p, "%s=", key);
    render_json_value(&p, value);
    floe_buf_terminate(&p);
    strlist_push(&pairs, strdup((char *)p.data));
    floe_buf_free(&p);
  }
  char *part = join_sorted(&pairs);
  strlist_free(&pairs);
  floe_buf_append_str(&b, part);
  free(part);
  if (json_object_get(f, "content_offset") != NULL)
    floe_buf_appendf(&b, "|ref=%s|off=%lld|size=%lld",
                     json_string_value(json_object_get(f, "referenced_data_file")),
                     (long long)json_integer_value(json_object_get(f, "content_offset")),
                     (long long)json_integer_value(json_object_get(f, "content_size_in_bytes")));
  if (strcmp(json_string_value(json_object_get(f, "content")), "equality_deletes") == 0) {
    floe_buf_append_str(&b, "|eq=");
    size_t i;
    json_t *id;
    json_array_foreach(json_object_get(f, "equality_ids"), i, id)
        floe_buf_appendf(&b, "%lld,", (long long)json_integer_value(id));
  }
  floe_buf_terminate(&b);
  char *s = strdup((char *)b.data);
  floe_buf_free(&b);
  return s;
}

/* Compares the plan with the JSON's file list and counts. */
static void check_plan(const char *name, const table_fixture *t, const floe_scan_plan_info *plan,
                       int32_t want_attached) {
  strlist got = {0}, want = {0};
  int32_t n_pos = 0, n_dv = 0, n_eq = 0, attached = 0;
  for (int32_t i = 0; i < plan->n_tasks; i++) {
    strlist_push(&got, describe_file(t, &plan->tasks[i].file, plan->tasks[i].data_sequence_number));
    attached += plan->tasks[i].n_deletes;
  }
  for (int32_t i = 0; i < plan->n_delete_files; i++) {
    const floe_scan_delete_file *d = &plan->delete_files[i];
    strlist_push(&got, describe_file(t, &d->file, d->data_sequence_number));
    if (d->is_deletion_vector) n_dv++;
    else if (d->file.content == FLOE_CONTENT_POSITION_DELETES) n_pos++;
    else n_eq++;
  }
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(t->expected, "files"), i, f) strlist_push(&want, describe_expected(f));
  sort_strs(&got);
  sort_strs(&want);
  CHECK_INT_EQ(got.n, want.n);
  for (size_t k = 0; k < got.n && k < want.n; k++)
    if (strcmp(got.items[k], want.items[k]) != 0)
      TEST_FAIL_AT(__FILE__, __LINE__, "%s: plan file\n    got  %s\n    want %s", name, got.items[k], want.items[k]);
  CHECK_INT_EQ(plan->n_tasks, json_integer_value(json_object_get(t->expected, "data_files")));
  CHECK_INT_EQ(n_pos, json_integer_value(json_object_get(t->expected, "position_delete_files")));
  CHECK_INT_EQ(n_dv, json_integer_value(json_object_get(t->expected, "deletion_vectors")));
  CHECK_INT_EQ(n_eq, json_integer_value(json_object_get(t->expected, "equality_delete_files")));
  CHECK_INT_EQ(plan->snapshot_id, t->snapshot_id);
  if (want_attached >= 0 && attached != want_attached)
    TEST_FAIL_AT(__FILE__, __LINE__, "%s: %d delete files attached, expected %d", name, attached, want_attached);
  strlist_free(&got);
  strlist_free(&want);
}

/* Scans the table and renders every row as fields joined by \x1f, with
 * float columns normalised; column names go to `names`. */
static int scan_rows(const table_fixture *t, const floe_scan_options *opts, strlist *rows, strlist *names,
                     const floe_scan_plan_info **plan_out, floe_scan **scan_out, floe_error *err) {
  floe_scan *scan = NULL;
  struct ArrowSchema schema = {0};
  struct ArrowArray batch = {0};
  floe_buf cell = FLOE_BUF_INIT, row = FLOE_BUF_INIT;
  int rc = floe_scan_open(&scan, t->metadata, t->io, opts, err);
  if (rc != 0) goto done;
  const floe_scan_plan_info *plan = NULL;
  rc = floe_scan_plan(scan, &plan, err);
  if (rc != 0) goto done;
  if (plan_out) *plan_out = plan;
  rc = floe_scan_schema(scan, &schema, err);
  if (rc != 0) goto done;
  const floe_iceberg_schema *ts = floe_scan_table_schema(scan);
  for (int64_t c = 0; c < schema.n_children; c++) strlist_push(names, strdup(schema.children[c]->name));
  for (;;) {
    rc = floe_scan_next(scan, &batch, err);
    if (rc != 0 || batch.release == NULL) break;
    floe_arrow_view *views = calloc((size_t)schema.n_children + 1, sizeof *views);
    for (int64_t c = 0; c < schema.n_children; c++) floe_arrow_view_init(&views[c], schema.children[c], batch.children[c], err);
    for (int64_t r = 0; r < batch.length; r++) {
      floe_buf_reset(&row);
      for (int64_t c = 0; c < schema.n_children; c++) {
        floe_buf_reset(&cell);
        floe_arrow_view_format(&views[c], r, &cell);
        floe_buf_terminate(&cell);
        const floe_iceberg_field *fld = floe_iceberg_schema_find_id(ts, floe_arrow_schema_field_id(schema.children[c]));
        char *norm = normalise((char *)cell.data, fld ? fld->type.id : FLOE_ICEBERG_STRING);
        if (c) floe_buf_append_byte(&row, 0x1f);
        floe_buf_append_str(&row, norm);
        free(norm);
      }
      floe_buf_terminate(&row);
      strlist_push(rows, strdup(row.data ? (char *)row.data : ""));
    }
    free(views);
    floe_arrow_array_release(&batch);
  }
done:
  floe_arrow_schema_release(&schema);
  floe_buf_free(&cell);
  floe_buf_free(&row);
  if (scan_out != NULL && rc == 0) *scan_out = scan;
  else floe_scan_free(scan);
  return rc;
}

/* Compares scanned rows with the expected CSV, matching columns by name.
 * Expected columns the scan does not return must be nested (skipped) or,
 * for time travel with the snapshot's schema, all null. */
static void compare_rows(const char *name, const table_fixture *t, const csv *expected, strlist *rows,
                         strlist *names, int *skipped_nested) {
  const floe_iceberg_schema *current = floe_iceberg_metadata_current_schema(t->metadata);
  strlist *header = &expected->rows[0];
  int *map = calloc(header->n + 1, sizeof *map);
  size_t n_mapped = 0;
  for (size_t h = 0; h < header->n; h++) {
    map[h] = -1;
    for (size_t c = 0; c < names->n; c++)
      if (strcmp(names->items[c], header->items[h]) == 0) map[h] = (int)c;
    if (map[h] >= 0) {
      n_mapped++;
      continue;
    }
    const floe_iceberg_field *f = floe_iceberg_schema_find_name(current, header->items[h], true);
    if (f != NULL && !floe_iceberg_type_is_primitive(f->type.id)) {
      (*skipped_nested)++;
      continue;
    }
    /* Not in the scan's schema: every expected value must be null. */
    for (size_t r = 1; r < expected->n; r++)
      if (strcmp(expected->rows[r].items[h], "\\N") != 0)
        TEST_FAIL_AT(__FILE__, __LINE__, "%s: column '%s' missing from the scan but has values", name,
                     header->items[h]);
  }
  CHECK_INT_EQ(n_mapped, names->n);
  /* Expected rows reordered to the scan's column order. */
  strlist want = {0};
  for (size_t r = 1; r < expected->n; r++) {
    floe_buf b = FLOE_BUF_INIT;
    for (size_t c = 0; c < names->n; c++) {
      size_t h = 0;
      while (h < header->n && map[h] != (int)c) h++;
      const floe_iceberg_field *f = floe_iceberg_schema_find_name(current, names->items[c], true);
      char *norm = normalise(h < header->n ? expected->rows[r].items[h] : "?", f ? f->type.id : FLOE_ICEBERG_STRING);
      if (c) floe_buf_append_byte(&b, 0x1f);
      floe_buf_append_str(&b, norm);
      free(norm);
    }
    floe_buf_terminate(&b);
    strlist_push(&want, strdup(b.data ? (char *)b.data : ""));
    floe_buf_free(&b);
  }
  sort_strs(&want);
  sort_strs(rows);
  if (rows->n != want.n)
    TEST_FAIL_AT(__FILE__, __LINE__, "%s: %zu rows, expected %zu", name, rows->n, want.n);
  int shown = 0;
  for (size_t r = 0; r < rows->n && r < want.n; r++) {
    if (strcmp(rows->items[r], want.items[r]) != 0 && shown++ < 3) {
      for (char *p = rows->items[r]; *p; p++)
        if (*p == 0x1f) *p = '|';
      for (char *p = want.items[r]; *p; p++)
        if (*p == 0x1f) *p = '|';
      TEST_FAIL_AT(__FILE__, __LINE__, "%s: row %zu\n    got  %s\n    want %s", name, r, rows->items[r],
                   want.items[r]);
    }
  }
  strlist_free(&want);
  free(map);
}

/* Every fixture table and version: plan vs JSON, rows vs CSV. */
static void test_every_fixture_table_matches_expected(void) {
  if (test_fixture("expected/iceberg") == NULL) SKIP("../shared fixtures absent");
  /* Every expected JSON in the directory is one of the cases above. */
  DIR *dir = opendir(test_fixture("expected/iceberg"));
  REQUIRE(dir != NULL);
  size_t n_json = 0;
  struct dirent *de;
  while ((de = readdir(dir)) != NULL) {
    size_t len = strlen(de->d_name);
    if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0) continue;
    n_json++;
    bool listed = false;
    for (size_t i = 0; i < N_CASES; i++) {
      char name[512];
      snprintf(name, sizeof name, "%s.%s.json", CASES[i].table, CASES[i].version);
      if (strcmp(name, de->d_name) == 0) listed = true;
    }
    if (!listed) TEST_FAIL_AT(__FILE__, __LINE__, "expected result %s has no test case", de->d_name);
  }
  closedir(dir);
  CHECK_INT_EQ(n_json, N_CASES);

  int total_nested = 0;
  for (size_t i = 0; i < N_CASES; i++) {
    const fixture_case *fc = &CASES[i];
    char name[512];
    snprintf(name, sizeof name, "%s.%s", fc->table, fc->version);
    floe_error err = {0};
    table_fixture t;
    if (!table_fixture_open(fc->table, fc->version, &t, &err)) {
      TEST_FAIL_AT(__FILE__, __LINE__, "%s: cannot open: %s", name, err.message);
      table_fixture_free(&t);
      continue;
    }
    floe_scan_options opts;
    memset(&opts, 0, sizeof opts);
    opts.location_to = t.dir;
    opts.batch_size = 1000; /* several batches for the larger tables */
    if (t.time_travel) {
      opts.has_snapshot_id = true;
      opts.snapshot_id = t.snapshot_id;
    }
    strlist rows = {0}, names = {0};
    const floe_scan_plan_info *plan = NULL;
    floe_scan *scan = NULL;
    int rc = scan_rows(&t, &opts, &rows, &names, &plan, &scan, &err);
    if (rc != 0) {
      TEST_FAIL_AT(__FILE__, __LINE__, "%s: scan failed (%d): %s", name, rc, err.message);
    } else {
      check_plan(name, &t, plan, fc->attached);
      if ((int64_t)rows.n != fc->rows)
        TEST_FAIL_AT(__FILE__, __LINE__, "%s: %zu rows, expected %lld", name, rows.n, (long long)fc->rows);
      CHECK_INT_EQ(rows.n, json_integer_value(json_object_get(t.expected, "rows")));
      char rel[600];
      snprintf(rel, sizeof rel, "expected/iceberg/%s.csv", name);
      const char *csv_path = test_fixture(rel);
      int nested = 0;
      if (csv_path != NULL) {
        csv expected;
        REQUIRE(csv_read(csv_path, &expected));
        compare_rows(name, &t, &expected, &rows, &names, &nested);
        csv_free(&expected);
      }
      total_nested += nested;
      int32_t attached = 0;
      for (int32_t k = 0; k < plan->n_tasks; k++) attached += plan->tasks[k].n_deletes;
      printf("    %-58s %6zu rows, %d data, %d delete files, %d attached%s\n", name, rows.n, plan->n_tasks,
             plan->n_delete_files, attached, nested ? " (list column skipped)" : "");
    }
    floe_scan_free(scan);
    strlist_free(&rows);
    strlist_free(&names);

    /* Time travel also with the current schema: the CSV exactly. */
    if (t.time_travel) {
      opts.use_current_schema = true;
      strlist rows2 = {0}, names2 = {0};
      rc = scan_rows(&t, &opts, &rows2, &names2, NULL, NULL, &err);
      CHECK_OK(rc, &err);
      char rel[600];
      snprintf(rel, sizeof rel, "expected/iceberg/%s.csv", name);
      csv expected;
      if (rc == 0 && csv_read(test_fixture(rel), &expected)) {
        int nested = 0;
        CHECK_INT_EQ(names2.n, expected.rows[0].n);
        compare_rows(name, &t, &expected, &rows2, &names2, &nested);
        csv_free(&expected);
      }
      strlist_free(&rows2);
      strlist_free(&names2);
    }
    table_fixture_free(&t);
  }
  /* lithium_spark_all_types, lithium_trino_all_types and
   * lithium_spark_add_columns each have one list column: read and compared
   * like every other column, none skipped. */
  CHECK_INT_EQ(total_nested, 0);
}

/* ---- time travel and schemas --------------------------------------------- */

static void test_time_travel_uses_the_snapshot_schema(void) {
  floe_error err = {0};
  table_fixture t;
  if (!table_fixture_open("icebird_spark_bunnies", "v5_snap7505300640432048841", &t, &err)) {
    table_fixture_free(&t);
    if (test_fixture("iceberg") == NULL) SKIP("../shared fixtures absent");
    REQUIRE(!"open icebird_spark_bunnies");
  }
  floe_scan_options opts;
  memset(&opts, 0, sizeof opts);
  opts.location_to = t.dir;
  opts.has_snapshot_id = true;
  opts.snapshot_id = 7505300640432048841LL;
  floe_scan *scan = NULL;
  REQUIRE_OK(floe_scan_open(&scan, t.metadata, t.io, &opts, &err), &err);
  /* The v1 snapshot's schema has 8 columns; breed_name_length came later. */
  struct ArrowSchema schema = {0};
  CHECK_OK(floe_scan_schema(scan, &schema, &err), &err);
  CHECK_INT_EQ(schema.n_children, 8);
  CHECK_STR_EQ(schema.children[0]->name, "Breed Name");
  CHECK_INT_EQ(floe_arrow_schema_field_id(schema.children[0]), 1);
  floe_arrow_schema_release(&schema);
  floe_scan_free(scan);
  /* A snapshot that does not exist. */
  opts.snapshot_id = 42;
  CHECK_INT_EQ(floe_scan_open(&scan, t.metadata, t.io, &opts, &err), FLOE_ENOTFOUND);
  /* As of a timestamp before the table existed: not found; as of the
   * first snapshot's time: that snapshot. */
  opts.has_snapshot_id = false;
  opts.has_as_of = true;
  opts.as_of_timestamp_ms = 1000;
  CHECK_INT_EQ(floe_scan_open(&scan, t.metadata, t.io, &opts, &err), FLOE_ENOTFOUND);
  const floe_iceberg_snapshot *snap = floe_iceberg_metadata_snapshot(t.metadata, 7505300640432048841LL);
  REQUIRE(snap != NULL);
  opts.as_of_timestamp_ms = snap->timestamp_ms;
  REQUIRE_OK(floe_scan_open(&scan, t.metadata, t.io, &opts, &err), &err);
  const floe_scan_plan_info *plan = NULL;
  CHECK_OK(floe_scan_plan(scan, &plan, &err), &err);
  CHECK_INT_EQ(plan->snapshot_id, 7505300640432048841LL);
  floe_scan_free(scan);
  table_fixture_free(&t);
}

static void test_table_without_snapshot_reads_empty(void) {
  floe_error err = {0};
  table_fixture t;
  if (!table_fixture_open("icebird_java_bunnies", "v2", &t, &err)) {
    table_fixture_free(&t);
    SKIP("../shared fixtures absent");
  }
  /* v1.metadata.json: created with no snapshot. */
  floe_iceberg_metadata *v1 = NULL;
  char path[8192], *text = NULL;
  size_t len = 0;
  snprintf(path, sizeof path, "%s/metadata/v1.metadata.json", t.dir);
  REQUIRE_OK(floe_io_read_all(t.io, path, 1 << 20, &text, &len, &err), &err);
  REQUIRE_OK(floe_iceberg_metadata_parse(&v1, text, len, &err), &err);
  floe_free(text);
  floe_scan *scan = NULL;
  REQUIRE_OK(floe_scan_open(&scan, v1, t.io, NULL, &err), &err);
  const floe_scan_plan_info *plan = NULL;
  CHECK_OK(floe_scan_plan(scan, &plan, &err), &err);
  CHECK(!plan->has_snapshot);
  CHECK_INT_EQ(plan->n_tasks, 0);
  struct ArrowArray batch = {0};
  CHECK_OK(floe_scan_next(scan, &batch, &err), &err);
  CHECK(batch.release == NULL);
  floe_scan_free(scan);
  floe_iceberg_metadata_free(v1);
  table_fixture_free(&t);
}

/* ---- projection and metadata columns -------------------------------------- */

static void test_projection_and_file_pos_columns(void) {
  floe_error err = {0};
  table_fixture t;
  if (!table_fixture_open("icebird_java_bunnies", "v4", &t, &err)) {
    table_fixture_free(&t);
    SKIP("../shared fixtures absent");
  }
  const char *cols[] = {"Popularity Rank", "Breed Name"};
  floe_scan_options opts;
  memset(&opts, 0, sizeof opts);
  opts.location_to = t.dir;
  opts.columns = cols;
  opts.n_columns = 2;
  opts.with_file_path = true;
  opts.with_pos = true;
  strlist rows = {0}, names = {0};
  floe_scan *scan = NULL;
  REQUIRE_OK(scan_rows(&t, &opts, &rows, &names, NULL, &scan, &err), &err);
  REQUIRE(names.n == 4);
  CHECK_STR_EQ(names.items[0], "Popularity Rank");
  CHECK_STR_EQ(names.items[1], "Breed Name");
  CHECK_STR_EQ(names.items[2], "_file");
  CHECK_STR_EQ(names.items[3], "_pos");
  CHECK_INT_EQ(rows.n, 15);
  /* 21 rows read, 6 removed by the position-delete file, whose positions
   * are exactly the ones missing from _pos. */
  floe_scan_stats st;
  floe_scan_get_stats(scan, &st);
  CHECK_INT_EQ(st.rows_read, 21);
  CHECK_INT_EQ(st.rows_deleted, 6);
  CHECK_INT_EQ(st.rows_returned, 15);
  bool seen[21] = {false};
  for (size_t r = 0; r < rows.n; r++) {
    char *last = strrchr(rows.items[r], 0x1f);
    long pos = strtol(last + 1, NULL, 10);
    if (pos >= 0 && pos < 21) seen[pos] = true;
    CHECK(strstr(rows.items[r], "s3a://hyperparam-iceberg/java/bunnies/data/bunnies-initial.parquet") != NULL);
  }
  int missing = 0;
  for (int p = 0; p < 21; p++) missing += !seen[p];
  CHECK_INT_EQ(missing, 6);
  floe_scan_free(scan);
  strlist_free(&rows);
  strlist_free(&names);
  /* Unknown and nested columns are refused. */
  const char *bad[] = {"no such column"};
  opts.columns = bad;
  opts.n_columns = 1;
  CHECK_INT_EQ(floe_scan_open(&scan, t.metadata, t.io, &opts, &err), FLOE_ENOTFOUND);
  CHECK(strstr(err.message, "no such column") != NULL);
  table_fixture_free(&t);

  if (!table_fixture_open("lithium_spark_all_types", "v00000", &t, &err)) {
    table_fixture_free(&t);
    return;
  }
  /* A list column: "+l" with the element id, read exactly; it cannot be
   * filtered. */
  const char *list_col[] = {"col11"};
  opts.columns = list_col;
  opts.with_file_path = opts.with_pos = false;
  strlist lrows = {0}, lnames = {0};
  int rc = scan_rows(&t, &opts, &lrows, &lnames, NULL, &scan, &err);
  REQUIRE_OK(rc, &err);
  struct ArrowSchema ls;
  REQUIRE_OK(floe_scan_schema(scan, &ls, &err), &err);
  CHECK_STR_EQ(ls.children[0]->format, "+l");
  CHECK_INT_EQ(floe_arrow_schema_field_id(ls.children[0]), 12);
  CHECK_STR_EQ(ls.children[0]->children[0]->name, "element");
  CHECK_INT_EQ(floe_arrow_schema_field_id(ls.children[0]->children[0]), 13);
  floe_arrow_schema_release(&ls);
  floe_scan_free(scan);
  REQUIRE(lrows.n == 1);
  CHECK_STR_EQ(lrows.items[0], "[item1, item2]");
  strlist_free(&lrows);
  strlist_free(&lnames);
  floe_scan_predicate on_list;
  memset(&on_list, 0, sizeof on_list);
  on_list.column = "col11";
  on_list.op = FLOE_SCAN_IS_NULL;
  opts.filter = &on_list;
  opts.n_filter = 1;
  CHECK_INT_EQ(floe_scan_open(&scan, t.metadata, t.io, &opts, &err), FLOE_EUNSUPPORTED);
  CHECK(strstr(err.message, "col11") != NULL);
  table_fixture_free(&t);
}

/* A file written before a list column was added reads it as null; the
 * later file reads its values (Iceberg spec: Schema Evolution). */
static void test_list_column_of_old_file_reads_null(void) {
  floe_error err = {0};
  table_fixture t;
  if (!table_fixture_open("lithium_spark_add_columns", "v00014", &t, &err)) {
    table_fixture_free(&t);
    SKIP("../shared fixtures absent");
  }
  floe_scan_options opts;
  memset(&opts, 0, sizeof opts);
  opts.location_to = t.dir;
  const char *cols[] = {"id", "array_col"};
  opts.columns = cols;
  opts.n_columns = 2;
  strlist rows = {0}, names = {0};
  const floe_scan_plan_info *plan = NULL;
  floe_scan *scan = NULL;
  REQUIRE_OK(scan_rows(&t, &opts, &rows, &names, &plan, &scan, &err), &err);
  CHECK_INT_EQ(plan->n_tasks, 2);
  sort_strs(&rows);
  REQUIRE(rows.n == 2);
  CHECK_STR_EQ(rows.items[0], "1\x1f\\N");
  CHECK_STR_EQ(rows.items[1], "2\x1f[item1, item2]");
  floe_scan_free(scan);
  strlist_free(&rows);
  strlist_free(&names);
  table_fixture_free(&t);
}

/* data_files restricts planning and reading to the named data files; the
 * deletes that apply to them still apply. */
static void test_scan_restricted_to_data_files(void) {
  floe_error err = {0};
  table_fixture t;
  if (!table_fixture_open("lithium_spark_refdeletes3", "v00002", &t, &err)) {
    table_fixture_free(&t);
    SKIP("../shared fixtures absent");
  }
  floe_scan_options opts;
  memset(&opts, 0, sizeof opts);
  opts.location_to = t.dir;
  opts.with_file_path = true;
  strlist all = {0}, names = {0};
  const floe_scan_plan_info *plan = NULL;
  floe_scan *scan = NULL;
  REQUIRE_OK(scan_rows(&t, &opts, &all, &names, &plan, &scan, &err), &err);
  REQUIRE(plan->n_tasks >= 3);
  int32_t total_tasks = plan->n_tasks;
  /* two of the files, named as the manifests record them */
  const char *pick[2] = {strdup(plan->tasks[0].file.file_path), strdup(plan->tasks[2].file.file_path)};
  floe_scan_free(scan);
  strlist want = {0};
  for (size_t i = 0; i < all.n; i++) {
    const char *file = strrchr(all.items[i], 0x1f) + 1;
    if (strcmp(file, pick[0]) == 0 || strcmp(file, pick[1]) == 0) strlist_push(&want, strdup(all.items[i]));
  }
  opts.data_files = pick;
  opts.n_data_files = 2;
  strlist got = {0}, names2 = {0};
  REQUIRE_OK(scan_rows(&t, &opts, &got, &names2, &plan, &scan, &err), &err);
  CHECK_INT_EQ(plan->n_tasks, 2);
  CHECK_INT_EQ(plan->data_files_pruned, total_tasks - 2);
  CHECK_INT_EQ(plan->n_delete_files, json_integer_value(json_object_get(t.expected, "position_delete_files")));
  sort_strs(&got);
  sort_strs(&want);
  CHECK_INT_EQ(got.n, want.n);
  for (size_t i = 0; i < got.n && i < want.n; i++) CHECK_STR_EQ(got.items[i], want.items[i]);
  floe_scan_free(scan);
  /* an empty set reads nothing; an unknown path matches nothing */
  const char *none[] = {"s3://nowhere/x.parquet"};
  for (int32_t n = 0; n <= 1; n++) {
    opts.data_files = none;
    opts.n_data_files = n;
    strlist r = {0}, nm = {0};
    REQUIRE_OK(scan_rows(&t, &opts, &r, &nm, &plan, &scan, &err), &err);
    CHECK_INT_EQ(plan->n_tasks, 0);
    CHECK_INT_EQ(r.n, 0);
    floe_scan_free(scan);
    strlist_free(&r);
    strlist_free(&nm);
  }
  free((char *)pick[0]);
  free((char *)pick[1]);
  strlist_free(&all);
  strlist_free(&names);
  strlist_free(&got);
  strlist_free(&names2);
  strlist_free(&want);
  table_fixture_free(&t);
}

/* ---- filters and pruning --------------------------------------------------- */

static floe_iceberg_value v_i32(int32_t x) {
  floe_iceberg_value v = floe_iceberg_null_value();
  v.is_null = false;
  v.v.i32 = x;
  return v;
}
static floe_iceberg_value v_i64(int64_t x) {
  floe_iceberg_value v = floe_iceberg_null_value();
  v.is_null = false;
  v.v.i64 = x;
  return v;
}
static floe_iceberg_value v_f64(double x) {
  floe_iceberg_value v = floe_iceberg_null_value();
  v.is_null = false;
  v.v.f64 = x;
  return v;
}
static floe_iceberg_value v_dec(floe_int128 x) {
  floe_iceberg_value v = floe_iceberg_null_value();
  v.is_null = false;
  v.v.dec = x;
  return v;
}
static floe_iceberg_value v_str(const char *s) {
  floe_iceberg_value v = floe_iceberg_null_value();
  v.is_null = false;
  v.bytes = (const uint8_t *)s;
  v.len = strlen(s);
  return v;
}

/* Scans with a filter; returns sorted rows and the plan's pruning counts. */
static int filtered(const char *table, const char *version, const floe_scan_predicate *filter, int32_t n,
                    strlist *rows, int64_t *files_pruned, int32_t *manifests_pruned, floe_error *err) {
  table_fixture t;
  if (!table_fixture_open(table, version, &t, err)) {
    table_fixture_free(&t);
    return 1;
  }
  floe_scan_options opts;
  memset(&opts, 0, sizeof opts);
  opts.location_to = t.dir;
  opts.filter = filter;
  opts.n_filter = n;
  strlist names = {0};
  const floe_scan_plan_info *plan = NULL;
  floe_scan *scan = NULL;
  int rc = scan_rows(&t, &opts, rows, &names, &plan, &scan, err);
  if (rc == 0) {
    *files_pruned = plan->data_files_pruned;
    *manifests_pruned = plan->manifests_pruned;
    for (size_t i = 0; i < rows->n; i++)
      for (char *p = rows->items[i]; *p; p++)
        if (*p == 0x1f) *p = ',';
    sort_strs(rows);
  }
  floe_scan_free(scan);
  strlist_free(&names);
  table_fixture_free(&t);
  return rc;
}

static void check_rows(strlist *rows, const char *const *want, size_t n) {
  CHECK_INT_EQ(rows->n, n);
  for (size_t i = 0; i < rows->n && i < n; i++) CHECK_STR_EQ(rows->items[i], want[i]);
}

static void test_filter_prunes_identity_partitions_and_filters_rows(void) {
  if (test_fixture("iceberg") == NULL) SKIP("../shared fixtures absent");
  floe_error err = {0};
  strlist rows = {0};
  int64_t pruned = 0;
  int32_t mpruned = 0;
  /* duckdb_equality_deletes_mytable_partitioned: identity(name). */
  floe_scan_predicate eq = {"name", 0, FLOE_SCAN_EQ, v_str("d"), NULL, 0};
  REQUIRE_OK(filtered("duckdb_equality_deletes_mytable_partitioned", "v6", &eq, 1, &rows, &pruned, &mpruned, &err),
             &err);
  const char *want1[] = {"4,d,2025-01-04"};
  check_rows(&rows, want1, 1);
  CHECK(pruned >= 3); /* the a, b/c, e, f partitions */
  strlist_free(&rows);
  /* IN over two partitions, one of whose rows was deleted. */
  floe_iceberg_value names[] = {v_str("a"), v_str("b"), v_str("zz")};
  floe_scan_predicate in = {"name", 0, FLOE_SCAN_IN, floe_iceberg_null_value(), names, 3};
  REQUIRE_OK(filtered("duckdb_equality_deletes_mytable_partitioned", "v6", &in, 1, &rows, &pruned, &mpruned, &err),
             &err);
  const char *want2[] = {"1,a,2025-01-01"};
  check_rows(&rows, want2, 1);
  strlist_free(&rows);
  /* NE keeps everything else. */
  floe_scan_predicate ne = {"name", 0, FLOE_SCAN_NE, v_str("a"), NULL, 0};
  REQUIRE_OK(filtered("duckdb_equality_deletes_mytable_partitioned", "v6", &ne, 1, &rows, &pruned, &mpruned, &err),
             &err);
  const char *want3[] = {"4,d,2025-01-04", "5,e,2025-01-05"};
  check_rows(&rows, want3, 2);
  strlist_free(&rows);
}

static void test_filter_on_null_partition_values(void) {
  if (test_fixture("iceberg") == NULL) SKIP("../shared fixtures absent");
  floe_error err = {0};
  strlist rows = {0};
  int64_t pruned = 0;
  int32_t mpruned = 0;
  floe_scan_predicate isnull = {"c1", 0, FLOE_SCAN_IS_NULL, floe_iceberg_null_value(), NULL, 0};
  REQUIRE_OK(filtered("lithium_partitioning_with_null_value", "v00002", &isnull, 1, &rows, &pruned, &mpruned, &err),
             &err);
  const char *want1[] = {"\\N,2025-03-03,0", "\\N,\\N,17"};
  qsort((void *)want1, 2, sizeof *want1, cmp_str);
  check_rows(&rows, want1, 2);
  CHECK_INT_EQ(pruned, 2);
  strlist_free(&rows);
  floe_scan_predicate both[] = {{"c1", 0, FLOE_SCAN_NOT_NULL, floe_iceberg_null_value(), NULL, 0},
                                {"c2", 0, FLOE_SCAN_IS_NULL, floe_iceberg_null_value(), NULL, 0}};
  REQUIRE_OK(filtered("lithium_partitioning_with_null_value", "v00002", both, 2, &rows, &pruned, &mpruned, &err),
             &err);
  const char *want2[] = {"1,\\N,-50"};
  check_rows(&rows, want2, 1);
  CHECK_INT_EQ(pruned, 3);
  strlist_free(&rows);
}

static void test_filter_projects_through_year_and_evolved_specs(void) {
  if (test_fixture("iceberg") == NULL) SKIP("../shared fixtures absent");
  floe_error err = {0};
  strlist rows = {0};
  int64_t pruned = 0;
  int32_t mpruned = 0;
  /* year(c2): 2024-03-03 is in year 54, the other rows in 55. */
  floe_scan_predicate lt = {"c2", 0, FLOE_SCAN_LT, v_i32(20089) /* 2025-01-01 */, NULL, 0};
  REQUIRE_OK(filtered("lithium_year_date_partitioning", "v00002", &lt, 1, &rows, &pruned, &mpruned, &err), &err);
  const char *want1[] = {"2,2024-03-03,0"};
  check_rows(&rows, want1, 1);
  CHECK_INT_EQ(pruned, 1);
  strlist_free(&rows);
  /* Spec 0 identity(c1, c2), spec 1 identity(c3): c1 = 1 prunes spec-0
   * files by tuple; c3 >= 2.0 prunes by spec-1 tuple and by metrics. */
  floe_scan_predicate c1 = {"c1", 0, FLOE_SCAN_EQ, v_i32(1), NULL, 0};
  REQUIRE_OK(filtered("lithium_partition_evolution", "v00005", &c1, 1, &rows, &pruned, &mpruned, &err), &err);
  const char *want2[] = {"1,2025-03-02,-50", "1,2025-03-03,0", "1,2025-03-04,1.5", "1,2025-03-05,17"};
  check_rows(&rows, want2, 4);
  CHECK_INT_EQ(pruned, 3); /* two spec-0 tuples; the spec-1 file by c1's bounds */
  strlist_free(&rows);
  floe_scan_predicate c3 = {"c3", 0, FLOE_SCAN_GE, v_f64(2.0), NULL, 0};
  REQUIRE_OK(filtered("lithium_partition_evolution", "v00005", &c3, 1, &rows, &pruned, &mpruned, &err), &err);
  const char *want3[] = {"1,2025-03-05,17", "2,2025-03-04,42", "3,2025-03-11,2"};
  check_rows(&rows, want3, 3);
  CHECK_INT_EQ(pruned, 4);
  strlist_free(&rows);
}

static void test_filter_with_deletes_and_bucket_partitions(void) {
  if (test_fixture("iceberg") == NULL) SKIP("../shared fixtures absent");
  floe_error err = {0};
  strlist rows = {0};
  int64_t pruned = 0;
  int32_t mpruned = 0;
  /* bucket[4](id): id = 2 keeps only its bucket's files. */
  floe_scan_predicate id = {"id", 0, FLOE_SCAN_EQ, v_i32(2), NULL, 0};
  REQUIRE_OK(filtered("icebird_spark_rename_column", "v3", &id, 1, &rows, &pruned, &mpruned, &err), &err);
  CHECK_INT_EQ(rows.n, 1);
  if (rows.n == 1) CHECK(strncmp(rows.items[0], "2,", 2) == 0);
  CHECK(pruned >= 1);
  strlist_free(&rows);
  /* lithium_deletion_vectors v4: c1 > 10 over DV-deleted data. */
  floe_scan_predicate gt = {"c1", 0, FLOE_SCAN_GT, v_i32(10), NULL, 0};
  REQUIRE_OK(filtered("lithium_deletion_vectors", "v00004", &gt, 1, &rows, &pruned, &mpruned, &err), &err);
  CHECK_INT_EQ(rows.n, 4); /* 11, 12, 14, 15 */
  CHECK_INT_EQ(pruned, 1); /* the first file holds 0..7 */
  strlist_free(&rows);
}

/* TPC-H Q6 over the v1 and v2 lineitem tables, once with floe's filter
 * and once by evaluating the predicate here over a full scan. */
static void q6(const char *version, const char *want) {
  floe_error err = {0};
  table_fixture t;
  if (!table_fixture_open("duckdb_lineitem_iceberg", version, &t, &err)) {
    table_fixture_free(&t);
    return;
  }
  floe_scan_predicate terms[] = {
      {"l_shipdate", 0, FLOE_SCAN_GE, v_i32(8766) /* 1994-01-01 */, NULL, 0},
      {"l_shipdate", 0, FLOE_SCAN_LT, v_i32(9131) /* 1995-01-01 */, NULL, 0},
      {"l_discount", 0, FLOE_SCAN_GE, v_dec(5), NULL, 0},
      {"l_discount", 0, FLOE_SCAN_LE, v_dec(7), NULL, 0},
      {"l_quantity", 0, FLOE_SCAN_LT, v_dec(2400), NULL, 0},
  };
  const char *cols[] = {"l_extendedprice", "l_discount", "l_shipdate", "l_quantity"};
  for (int pass = 0; pass < 2; pass++) {
    floe_scan_options opts;
    memset(&opts, 0, sizeof opts);
    opts.location_to = t.dir;
    opts.columns = cols;
    opts.n_columns = 4;
    if (pass == 0) {
      opts.filter = terms;
      opts.n_filter = 5;
    }
    floe_scan *scan = NULL;
    REQUIRE_OK(floe_scan_open(&scan, t.metadata, t.io, &opts, &err), &err);
    struct ArrowSchema schema = {0};
    struct ArrowArray batch = {0};
    CHECK_OK(floe_scan_schema(scan, &schema, &err), &err);
    floe_int128 revenue = 0;
    int64_t rows = 0, matching = 0;
    for (;;) {
      int rc = floe_scan_next(scan, &batch, &err);
      CHECK_OK(rc, &err);
      if (rc != 0 || batch.release == NULL) break;
      floe_arrow_view v[4];
      for (int c = 0; c < 4; c++) floe_arrow_view_init(&v[c], schema.children[c], batch.children[c], &err);
      for (int64_t r = 0; r < batch.length; r++) {
        rows++;
        int32_t ship = floe_arrow_view_int32(&v[2], r);
        floe_int128 disc = floe_arrow_view_decimal(&v[1], r), qty = floe_arrow_view_decimal(&v[3], r);
        bool match = ship >= 8766 && ship < 9131 && disc >= 5 && disc <= 7 && qty < 2400;
        if (pass == 0) CHECK(match);
        if (!match) continue;
        matching++;
        revenue += floe_arrow_view_decimal(&v[0], r) * disc;
      }
      floe_arrow_array_release(&batch);
    }
    char text[64];
    floe_decimal_format(revenue, 4, text, sizeof text);
    CHECK_STR_EQ(text, want);
    if (pass == 1) {
      json_t *count = json_object_get(json_object_get(t.expected, "aggregates"), "count");
      CHECK_INT_EQ(rows, json_integer_value(count));
    } else {
      floe_scan_stats st;
      floe_scan_get_stats(scan, &st);
      CHECK_INT_EQ(st.rows_returned, matching);
      CHECK_INT_EQ(st.rows_filtered + st.rows_returned, st.rows_read);
    }
    floe_arrow_schema_release(&schema);
    floe_scan_free(scan);
  }
  table_fixture_free(&t);
}

static void test_lineitem_tpch_q6(void) {
  if (test_fixture("iceberg/duckdb_lineitem_iceberg") == NULL) SKIP("../shared fixtures absent");
  q6("v1", "1193053.2253");
  q6("v2", "1077536.9101");
}

static void test_filter_rejects_bad_terms(void) {
  floe_error err = {0};
  table_fixture t;
  if (!table_fixture_open("icebird_java_bunnies", "v5", &t, &err)) {
    table_fixture_free(&t);
    SKIP("../shared fixtures absent");
  }
  floe_scan *scan = NULL;
  floe_scan_options opts;
  memset(&opts, 0, sizeof opts);
  floe_scan_predicate in_empty = {"Breed Name", 0, FLOE_SCAN_IN, floe_iceberg_null_value(), NULL, 0};
  opts.filter = &in_empty;
  opts.n_filter = 1;
  CHECK_INT_EQ(floe_scan_open(&scan, t.metadata, t.io, &opts, &err), FLOE_EINVAL);
  floe_scan_predicate null_lit = {"Breed Name", 0, FLOE_SCAN_EQ, floe_iceberg_null_value(), NULL, 0};
  opts.filter = &null_lit;
  CHECK_INT_EQ(floe_scan_open(&scan, t.metadata, t.io, &opts, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "IS NULL") != NULL);
  floe_scan_predicate by_id = {NULL, 99, FLOE_SCAN_EQ, v_i64(1), NULL, 0};
  opts.filter = &by_id;
  CHECK_INT_EQ(floe_scan_open(&scan, t.metadata, t.io, &opts, &err), FLOE_ENOTFOUND);
  table_fixture_free(&t);
}

static void test_remap_path(void) {
  char *out = NULL;
  floe_error err = {0};
  CHECK_OK(floe_scan_remap_path("s3a://b/t", "/local/t", "s3a://b/t/data/x.parquet", &out, &err), &err);
  CHECK_STR_EQ(out, "/local/t/data/x.parquet");
  floe_free(out);
  CHECK_OK(floe_scan_remap_path("s3a://b/t/", "/local/t/", "s3a://b/t/data/x.parquet", &out, &err), &err);
  CHECK_STR_EQ(out, "/local/t/data/x.parquet");
  floe_free(out);
  /* A prefix must end at a path boundary. */
  CHECK_OK(floe_scan_remap_path("s3a://b/t", "/local/t", "s3a://b/t2/x", &out, &err), &err);
  CHECK_STR_EQ(out, "s3a://b/t2/x");
  floe_free(out);
  /* The lineitem table's "./" location against paths written without it. */
  CHECK_OK(floe_scan_remap_path("./lineitem_iceberg", "/f/l", "lineitem_iceberg/data/a.parquet", &out, &err), &err);
  CHECK_STR_EQ(out, "/f/l/data/a.parquet");
  floe_free(out);
  CHECK_OK(floe_scan_remap_path("x", NULL, "x/y", &out, &err), &err);
  CHECK_STR_EQ(out, "x/y");
  floe_free(out);
}

static void test_scan_allocation_failures_are_clean(void) {
  floe_error err = {0};
  table_fixture t;
  if (!table_fixture_open("icebird_java_bunnies", "v5", &t, &err)) {
    table_fixture_free(&t);
    SKIP("../shared fixtures absent");
  }
  floe_scan_options opts;
  memset(&opts, 0, sizeof opts);
  opts.location_to = t.dir;
  int ok = 0, failed = 0;
  strlist rows0 = {0}, names0 = {0};
  long before = floe_alloc_calls();
  REQUIRE_OK(scan_rows(&t, &opts, &rows0, &names0, NULL, NULL, &err), &err);
  long calls = floe_alloc_calls() - before;
  strlist_free(&rows0);
  strlist_free(&names0);
  long step = calls / 300 + 1;
  for (long nth = 1; nth <= calls + step; nth += (nth < 200 ? 1 : step)) {
    strlist rows = {0}, names = {0};
    floe_alloc_fail_after(nth);
    int rc = scan_rows(&t, &opts, &rows, &names, NULL, NULL, &err);
    floe_alloc_fail_after(0);
    if (rc == 0) {
      CHECK_INT_EQ(rows.n, 15);
      ok++;
    } else {
      failed++;
    }
    strlist_free(&rows);
    strlist_free(&names);
  }
  CHECK(ok > 0);
  CHECK(failed > 0);
  table_fixture_free(&t);
}

int main(void) {
  RUN(test_every_fixture_table_matches_expected);
  RUN(test_time_travel_uses_the_snapshot_schema);
  RUN(test_table_without_snapshot_reads_empty);
  RUN(test_projection_and_file_pos_columns);
  RUN(test_list_column_of_old_file_reads_null);
  RUN(test_scan_restricted_to_data_files);
  RUN(test_filter_prunes_identity_partitions_and_filters_rows);
  RUN(test_filter_on_null_partition_values);
  RUN(test_filter_projects_through_year_and_evolved_specs);
  RUN(test_filter_with_deletes_and_bucket_partitions);
  RUN(test_lineitem_tpch_q6);
  RUN(test_filter_rejects_bad_terms);
  RUN(test_remap_path);
  RUN(test_scan_allocation_failures_are_clean);
  return test_report();
}
