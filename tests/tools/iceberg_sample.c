/*
 * tests/tools/iceberg_sample.c: builds sample Iceberg tables with floe's
 * table API in a hadoop-catalog warehouse, for the interop tests
 * (tests/interop/iceberg.test.mjs), where icebird, DuckDB and avsc read
 * them independently.
 *
 *   iceberg_sample WAREHOUSE
 *
 * Tables (namespace "interop"): unpartitioned; identity(region);
 * bucket(4, id) + day(ts); truncate(3, name); an identity-partitioned
 * table after a dynamic partition overwrite; one with position deletes;
 * one with equality deletes; one after schema evolution (add column,
 * rename); and identity(amount) on a decimal column (icebird 0.3.1 cannot
 * decode decimal partition values; the test skips it there, visibly).
 * Rows are generated from their index, so the test can reason about them.
 * Prints one JSON object per table: {"name", "metadata", "icebird_skip"}.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/arrow.h"
#include "floe/catalog.h"
#include "floe/table.h"
#include "floe/table_writer.h"

static int check(int rc, const floe_error *err, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "iceberg_sample: %s: %s\n", what, err->message);
    exit(1);
  }
  return rc;
}

static const char *const regions[] = {"us", "eu", "apac"};

/* Appends row i's value of column `name` (type by Arrow id). */
static int append_value(floe_arrow_builder *b, const char *name, int64_t i) {
  char text[64];
  if (strcmp(name, "id") == 0) return floe_arrow_builder_append_int64(b, i);
  if (strcmp(name, "name") == 0 || strcmp(name, "label") == 0) {
    if (i % 7 == 3) return floe_arrow_builder_append_null(b);
    snprintf(text, sizeof text, "name-%03" PRId64, i);
    return floe_arrow_builder_append_bytes(b, text, strlen(text));
  }
  if (strcmp(name, "region") == 0) {
    const char *r = regions[i % 3];
    return floe_arrow_builder_append_bytes(b, r, strlen(r));
  }
  if (strcmp(name, "ts") == 0) /* 2024-03-01T00:00Z + i * 7h */
    return floe_arrow_builder_append_int64(b, INT64_C(1709251200000000) +
                                                  i * INT64_C(7) * 3600 * 1000000);
  if (strcmp(name, "price") == 0) return floe_arrow_builder_append_double(b, (double)i * 1.25);
  if (strcmp(name, "qty") == 0) {
    if (i % 5 == 4) return floe_arrow_builder_append_null(b);
    return floe_arrow_builder_append_int32(b, (int32_t)(i * 3));
  }
  if (strcmp(name, "day") == 0) return floe_arrow_builder_append_int32(b, (int32_t)(19700 + i % 10));
  if (strcmp(name, "flag") == 0) return floe_arrow_builder_append_bool(b, i % 2 == 0);
  if (strcmp(name, "score") == 0) return floe_arrow_builder_append_double(b, (double)i / 4.0);
  if (strcmp(name, "amount") == 0) return floe_arrow_builder_append_decimal(b, (floe_int128)(100 + (i % 3) * 250));
  return floe_arrow_builder_append_null(b);
}

/* A batch of rows [first, first + n) over the table's current schema (or
 * only the columns `ids`). */
static void make_batch(const floe_iceberg_schema *schema, const int32_t *ids, int32_t n_ids,
                       int64_t first, int64_t n, struct ArrowSchema *out_schema,
                       struct ArrowArray *out) {
  floe_error err = {0};
  floe_arrow_batch_builder bb;
  check(floe_iceberg_schema_to_arrow(schema, ids, n_ids, out_schema, &err), &err, "schema");
  check(floe_arrow_batch_builder_init(&bb, out_schema, &err), &err, "builder");
  for (int64_t i = first; i < first + n; i++)
    for (int64_t c = 0; c < out_schema->n_children; c++)
      if (append_value(&bb.columns[c], out_schema->children[c]->name, i) < 0)
        check(FLOE_ENOMEM, &err, "append");
  check(floe_arrow_batch_builder_finish(&bb, out, &err), &err, "finish");
  floe_arrow_batch_builder_free(&bb);
}

static int prefix_counter;

static void writer_options(floe_table *t, floe_table_writer_options *o, char *prefix) {
  floe_error err = {0};
  floe_table_writer_options_init(o);
  check(floe_table_writer_options_from_metadata(o, floe_table_metadata(t), &err), &err,
        "writer options");
  o->io = floe_table_io(t);
  char uuid[37];
  check(floe_io_uuid4(uuid, &err), &err, "uuid");
  snprintf(prefix, 64, "%05d-0-%s", prefix_counter++, uuid);
  o->file_prefix = prefix;
}

/* Writes rows [first, first + n) as data files into *out. */
static void write_rows(floe_table *t, int64_t first, int64_t n, floe_content_file_list *out) {
  floe_error err = {0};
  floe_table_writer_options o;
  char prefix[64];
  writer_options(t, &o, prefix);
  floe_data_writer *w = NULL;
  struct ArrowSchema schema;
  struct ArrowArray batch;
  make_batch(floe_table_schema(t), NULL, 0, first, n, &schema, &batch);
  check(floe_data_writer_open(&w, &o, &err), &err, "data writer");
  check(floe_data_writer_write(w, &schema, &batch, &err), &err, "write");
  check(floe_data_writer_close(w, out, &err), &err, "close");
  floe_data_writer_free(w);
  floe_arrow_array_release(&batch);
  floe_arrow_schema_release(&schema);
}

/* Commits an op of `kind` adding every file of the lists. */
static void commit_files(floe_table *t, floe_table_op_kind kind, bool dynamic,
                         floe_content_file_list *lists, int n_lists) {
  floe_error err = {0};
  floe_table_op *op = NULL;
  check(floe_table_op_new(&op, t, kind, &err), &err, "op");
  for (int l = 0; l < n_lists; l++)
    for (int32_t i = 0; i < lists[l].n_files; i++)
      check(floe_table_op_add_file(op, &lists[l].files[i], &err), &err, "add file");
  if (dynamic) check(floe_table_op_delete_added_partitions(op, &err), &err, "dynamic");
  check(floe_table_op_set_summary(op, "floe.run-id", "interop", &err), &err, "summary");
  check(floe_table_op_commit(op, NULL, &err), &err, "commit");
  floe_table_op_free(op);
}

static void append_rows(floe_table *t, int64_t first, int64_t n) {
  floe_content_file_list files = {0};
  write_rows(t, first, n, &files);
  commit_files(t, FLOE_TABLE_APPEND, false, &files, 1);
  floe_content_file_list_free(&files);
}

static floe_iceberg_schema *base_schema(bool with_amount) {
  floe_iceberg_column cols[] = {
      {1, "id", true, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL},
      {2, "name", false, floe_iceberg_type_of(FLOE_ICEBERG_STRING), NULL},
      {3, "region", false, floe_iceberg_type_of(FLOE_ICEBERG_STRING), NULL},
      {4, "ts", false, floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMPTZ), NULL},
      {5, "price", false, floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE), NULL},
      {6, "qty", false, floe_iceberg_type_of(FLOE_ICEBERG_INT), NULL},
      {7, "day", false, floe_iceberg_type_of(FLOE_ICEBERG_DATE), NULL},
      {8, "flag", false, floe_iceberg_type_of(FLOE_ICEBERG_BOOLEAN), NULL},
      {9, "amount", false, floe_iceberg_decimal(9, 2), NULL},
  };
  floe_iceberg_schema *s = NULL;
  floe_error err = {0};
  check(floe_iceberg_schema_new(&s, 0, cols, with_amount ? 9 : 8, &err), &err, "schema");
  return s;
}

/* "fn:column;fn:column" -> spec. */
static floe_iceberg_partition_spec *make_spec(const floe_iceberg_schema *schema,
                                              const char *const *fields, int n) {
  floe_iceberg_partition_spec *spec = NULL;
  floe_error err = {0};
  int32_t last = 999;
  check(floe_iceberg_partition_spec_new(&spec, 0, &err), &err, "spec");
  for (int i = 0; i < n; i += 2)
    check(floe_iceberg_partition_spec_add_field(spec, schema, fields[i + 1], fields[i], NULL,
                                                &last, &err),
          &err, "spec field");
  return spec;
}

static floe_table *create(floe_catalog *cat, const char *name, bool amount,
                          const char *const *fields, int n) {
  floe_error err = {0};
  floe_iceberg_schema *schema = base_schema(amount);
  floe_iceberg_partition_spec *spec = n ? make_spec(schema, fields, n) : NULL;
  floe_catalog_ident id = {"interop", name};
  floe_table *t = NULL;
  check(floe_table_create(cat, id, schema, spec, NULL, NULL, 0, NULL, &t, &err), &err, name);
  floe_iceberg_schema_free(schema);
  floe_iceberg_partition_spec_free(spec);
  return t;
}

static void report(floe_table *t, const char *name, const char *icebird_skip) {
  printf("{\"name\":\"%s\",\"metadata\":\"%s\",\"icebird_skip\":%s%s%s}\n", name,
         floe_table_metadata_location(t), icebird_skip ? "\"" : "",
         icebird_skip ? icebird_skip : "null", icebird_skip ? "\"" : "");
  floe_table_free(t);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: iceberg_sample WAREHOUSE\n");
    return 2;
  }
  floe_error err = {0};
  floe_catalog *cat = NULL;
  floe_catalog_config config = {0};
  config.type = FLOE_CATALOG_HADOOP;
  config.warehouse = argv[1];
  config.durable = -1;
  check(floe_catalog_open(&config, &cat, &err), &err, "catalog");
  check(floe_catalog_namespace_create(cat, "interop", NULL, 0, &err), &err, "namespace");

  floe_table *t = create(cat, "unpartitioned", false, NULL, 0);
  append_rows(t, 0, 25);
  append_rows(t, 25, 15);
  report(t, "unpartitioned", NULL);

  const char *identity[] = {"identity", "region"};
  t = create(cat, "identity", false, identity, 2);
  append_rows(t, 0, 30);
  report(t, "identity", NULL);

  const char *bucket_day[] = {"bucket[4]", "id", "day", "ts"};
  t = create(cat, "bucket_day", false, bucket_day, 4);
  append_rows(t, 0, 40);
  report(t, "bucket_day", NULL);

  const char *truncate[] = {"truncate[3]", "name"};
  t = create(cat, "truncate", false, truncate, 2);
  append_rows(t, 0, 30);
  report(t, "truncate", NULL);

  /* Dynamic overwrite: rows 100..105 are all region "us"/"eu"/"apac"
   * cycling; keep only the "us" ones (i % 3 == 0) so one partition is
   * replaced. */
  t = create(cat, "overwrite", false, identity, 2);
  append_rows(t, 0, 30);
  append_rows(t, 30, 9);
  {
    floe_content_file_list files = {0};
    write_rows(t, 300, 1, &files); /* 300 % 3 == 0: region "us" */
    floe_content_file_list more = {0};
    write_rows(t, 303, 1, &more);
    floe_content_file_list both[2] = {files, more};
    commit_files(t, FLOE_TABLE_OVERWRITE, true, both, 2);
    floe_content_file_list_free(&files);
    floe_content_file_list_free(&more);
  }
  report(t, "overwrite", NULL);

  /* Position deletes: rows at positions 1, 3 and 10 of the first file. */
  t = create(cat, "position_deletes", false, NULL, 0);
  {
    floe_content_file_list data = {0}, deletes = {0};
    write_rows(t, 0, 20, &data);
    commit_files(t, FLOE_TABLE_APPEND, false, &data, 1);
    floe_table_writer_options o;
    char prefix[64];
    writer_options(t, &o, prefix);
    floe_position_delete_writer *w = NULL;
    check(floe_position_delete_writer_open(&w, &o, &err), &err, "pos writer");
    const int64_t positions[] = {1, 3, 10};
    for (int i = 0; i < 3; i++)
      check(floe_position_delete_writer_add(w, NULL, data.files[0].file_path, positions[i],
                                            &err),
            &err, "pos add");
    check(floe_position_delete_writer_close(w, &deletes, &err), &err, "pos close");
    floe_position_delete_writer_free(w);
    commit_files(t, FLOE_TABLE_ROW_DELTA, false, &deletes, 1);
    floe_content_file_list_free(&data);
    floe_content_file_list_free(&deletes);
  }
  report(t, "position_deletes", NULL);

  /* Equality deletes on id: rows with id 2, 5 and 17 are deleted; a later
   * append of id 2 (row 2 again, sequence number higher) stays. */
  t = create(cat, "equality_deletes", false, NULL, 0);
  append_rows(t, 0, 20);
  {
    floe_table_writer_options o;
    char prefix[64];
    writer_options(t, &o, prefix);
    const int32_t eq_ids[] = {1};
    floe_equality_delete_writer *w = NULL;
    check(floe_equality_delete_writer_open(&w, &o, eq_ids, 1, &err), &err, "eq writer");
    struct ArrowSchema schema;
    struct ArrowArray batch;
    floe_arrow_batch_builder bb;
    check(floe_iceberg_schema_to_arrow(floe_table_schema(t), eq_ids, 1, &schema, &err), &err,
          "eq schema");
    check(floe_arrow_batch_builder_init(&bb, &schema, &err), &err, "eq builder");
    floe_arrow_builder_append_int64(&bb.columns[0], 2);
    floe_arrow_builder_append_int64(&bb.columns[0], 5);
    floe_arrow_builder_append_int64(&bb.columns[0], 17);
    check(floe_arrow_batch_builder_finish(&bb, &batch, &err), &err, "eq finish");
    floe_arrow_batch_builder_free(&bb);
    check(floe_equality_delete_writer_write(w, &schema, &batch, &err), &err, "eq write");
    floe_content_file_list deletes = {0};
    check(floe_equality_delete_writer_close(w, &deletes, &err), &err, "eq close");
    floe_equality_delete_writer_free(w);
    floe_arrow_array_release(&batch);
    floe_arrow_schema_release(&schema);
    commit_files(t, FLOE_TABLE_ROW_DELTA, false, &deletes, 1);
    floe_content_file_list_free(&deletes);
  }
  append_rows(t, 2, 1);
  report(t, "equality_deletes", NULL);

  /* Schema evolution: add "score", rename "name" -> "label". */
  t = create(cat, "evolved", false, identity, 2);
  append_rows(t, 0, 12);
  floe_iceberg_type dbl = floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE);
  check(floe_table_add_column(t, NULL, "score", &dbl, NULL, &err), &err, "add column");
  check(floe_table_rename_column(t, "name", "label", &err), &err, "rename");
  append_rows(t, 12, 9);
  report(t, "evolved", NULL);

  const char *decimal[] = {"identity", "amount"};
  t = create(cat, "decimal_identity", true, decimal, 2);
  append_rows(t, 0, 12);
  report(t, "decimal_identity",
         "icebird 0.3.1 cannot decode decimal partition values");

  floe_catalog_free(cat);
  return 0;
}
