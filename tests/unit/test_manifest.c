/*
 * tests/unit/test_manifest.c: Iceberg manifests and manifest lists.
 *
 * Golden data first: every manifest and manifest list of every fixture table
 * (written by Spark, Trino, Athena, PyIceberg and the Java API) decodes, and
 * the live files of each table's expected snapshot equal the independently
 * computed expected JSON (path, content, format, counts, inherited data
 * sequence number, spec id, partition tuple, DV fields). The schemas floe
 * writes are compared byte for byte with those Iceberg Java 1.9 / 1.10
 * wrote into the fixtures. Then round trips of what floe writes (data and
 * delete manifests, v1/v2/v3, partitions of many result types), header
 * keys, partition summaries, inheritance, rejected inputs, and an
 * allocation-failure sweep.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/avro.h"
#include "floe/io.h"
#include "floe/manifest.h"
#include "floe/parquet_writer.h"
#include "test.h"

/* Paths here are built from fixture paths of unknown length; truncation
 * would only make a lookup fail, which the tests report. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

static floe_io *test_io(void) {
  static floe_io *io;
  if (io == NULL) {
    floe_io_local_options options = {0};
    floe_error err = {0};
    if (floe_io_local_open(&options, &io, &err) != 0) return NULL;
  }
  return io;
}

static void hex(const uint8_t *data, size_t len, char *out) {
  for (size_t i = 0; i < len; i++) sprintf(out + 2 * i, "%02x", data[i]);
  out[2 * len] = '\0';
}

/* ==== fixtures ========================================================== */

typedef struct table_ctx {
  char root[4096];       /* fixtures/iceberg/<table> */
  char location[1024];   /* the metadata's location, "./" removed */
} table_ctx;

static const char *strip_dot(const char *s) {
  return strncmp(s, "./", 2) == 0 ? s + 2 : s;
}

/* Path relative to the table root, or the path itself when it lies
 * outside the table location. */
static const char *relative_path(const table_ctx *t, const char *path) {
  path = strip_dot(path);
  size_t n = strlen(t->location);
  if (strncmp(path, t->location, n) == 0 && path[n] == '/') return path + n + 1;
  return path;
}

static void local_path(const table_ctx *t, const char *path, char *out,
                       size_t size) {
  snprintf(out, size, "%s/%s", t->root, relative_path(t, path));
}

/* Canonical text of a partition value, following the fixture README's JSON
 * conventions so both sides render alike. */
static void render_value(const floe_iceberg_type *type,
                         const floe_iceberg_value *v, char *out, size_t size) {
  if (v->is_null) {
    snprintf(out, size, "null");
    return;
  }
  switch (type->id) {
    case FLOE_ICEBERG_BOOLEAN: snprintf(out, size, "%s", v->v.b ? "true" : "false"); return;
    case FLOE_ICEBERG_INT:
    case FLOE_ICEBERG_DATE: snprintf(out, size, "%" PRId32, v->v.i32); return;
    case FLOE_ICEBERG_FLOAT: snprintf(out, size, "%.9g", (double)v->v.f32); return;
    case FLOE_ICEBERG_DOUBLE: snprintf(out, size, "%.17g", v->v.f64); return;
    case FLOE_ICEBERG_STRING: snprintf(out, size, "%.*s", (int)v->len, (const char *)v->bytes); return;
    case FLOE_ICEBERG_DECIMAL: {
      /* The Avro fixed bytes: minimal size for the precision. */
      int n = 1;
      while (n < 16 && (int)floor((8.0 * n - 1.0) * log10(2.0)) < type->precision) n++;
      uint8_t bytes[16];
      floe_int128 x = v->v.dec;
      for (int i = n - 1; i >= 0; i--) {
        bytes[i] = (uint8_t)(x & 0xff);
        x >>= 8;
      }
      char h[40];
      hex(bytes, (size_t)n, h);
      snprintf(out, size, "%s", h);
      return;
    }
    case FLOE_ICEBERG_UUID:
    case FLOE_ICEBERG_FIXED:
    case FLOE_ICEBERG_BINARY: {
      char h[1024];
      hex(v->bytes, v->len < 500 ? v->len : 500, h);
      snprintf(out, size, "%s", h);
      return;
    }
    default: snprintf(out, size, "%" PRId64, v->v.i64); return;
  }
}

static void render_json_value(const floe_iceberg_type *type, json_t *j, char *out,
                              size_t size) {
  if (j == NULL) {
    snprintf(out, size, "MISSING");
    return;
  }
  if (json_is_null(j)) {
    snprintf(out, size, "null");
    return;
  }
  switch (type->id) {
    case FLOE_ICEBERG_BOOLEAN: snprintf(out, size, "%s", json_is_true(j) ? "true" : "false"); return;
    case FLOE_ICEBERG_FLOAT: snprintf(out, size, "%.9g", (double)(float)json_number_value(j)); return;
    case FLOE_ICEBERG_DOUBLE: snprintf(out, size, "%.17g", json_number_value(j)); return;
    default:
      if (json_is_string(j))
        snprintf(out, size, "%s", json_string_value(j));
      else if (json_is_integer(j))
        snprintf(out, size, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
      else
        snprintf(out, size, "?");
      return;
  }
}

typedef struct file_row {
  char text[4096];
} file_row;

static int compare_rows(const void *a, const void *b) {
  return strcmp(((const file_row *)a)->text, ((const file_row *)b)->text);
}

static const char *content_name(int content) {
  return content == 0 ? "data" : content == 1 ? "position_deletes" : "equality_deletes";
}

/* Reads one table's expected snapshot; returns the number of mismatches. */
static int check_table(const char *json_path, const char *table, int *n_files_checked) {
  int failures = 0;
  floe_error err = {0};
  json_error_t jerr;
  json_t *expected = json_load_file(json_path, 0, &jerr);
  floe_iceberg_metadata *md = NULL;
  floe_manifest_list *list = NULL;
  char *md_text = NULL;
  file_row *actual = NULL, *wanted = NULL;
  size_t n_actual = 0, n_wanted = 0;
  if (expected == NULL) {
    printf("    %s: cannot parse: %s\n", json_path, jerr.text);
    return 1;
  }
  table_ctx t;
  const char *root = test_fixture("iceberg");
  snprintf(t.root, sizeof t.root, "%s/%s", root, table);
  char md_path[4096];
  snprintf(md_path, sizeof md_path, "%s/%s", t.root,
           json_string_value(json_object_get(expected, "metadata")));
  if (floe_io_read_all(test_io(), md_path, 1 << 26, &md_text, NULL, &err) != 0 ||
      floe_iceberg_metadata_parse(&md, md_text, strlen(md_text), &err) != 0) {
    printf("    %s: metadata: %s\n", table, err.message);
    failures++;
    goto done;
  }
  snprintf(t.location, sizeof t.location, "%s", strip_dot(md->location));
  errno = 0;
  int64_t snapshot_id =
      strtoll(json_string_value(json_object_get(expected, "snapshot_id")), NULL, 10);
  /* duckdb_equality_delete_cross_partition was assembled by hand with
   * snapshot id 9876543210123456789, beyond a Java long: it is the
   * metadata's current snapshot. */
  const floe_iceberg_snapshot *snap =
      errno == ERANGE ? floe_iceberg_metadata_current_snapshot(md)
                      : floe_iceberg_metadata_snapshot(md, snapshot_id);
  if (snap == NULL || snap->manifest_list == NULL) {
    printf("    %s: snapshot %" PRId64 " not found\n", table, snapshot_id);
    failures++;
    goto done;
  }
  char list_path[4096];
  local_path(&t, snap->manifest_list, list_path, sizeof list_path);
  if (floe_manifest_list_read(test_io(), list_path, &list, &err) != 0) {
    printf("    %s: %s\n", table, err.message);
    failures++;
    goto done;
  }
  json_t *files = json_object_get(expected, "files");
  n_wanted = json_array_size(files);
  wanted = calloc(n_wanted + 1, sizeof *wanted);
  size_t cap = 64;
  actual = calloc(cap, sizeof *actual);
  /* Types of each spec's tuple, from the metadata (current schema). */
  const floe_iceberg_schema *schema = floe_iceberg_metadata_current_schema(md);
  for (int32_t m = 0; m < list->n_files; m++) {
    const floe_manifest_file *mf = &list->files[m];
    char manifest_path[4096];
    local_path(&t, mf->manifest_path, manifest_path, sizeof manifest_path);
    floe_manifest_reader *reader = NULL;
    if (floe_manifest_reader_open(&reader, test_io(), manifest_path, mf, md, &err) != 0) {
      printf("    %s: %s\n", table, err.message);
      failures++;
      continue;
    }
    const floe_iceberg_partition_spec *spec = floe_manifest_reader_spec(reader);
    const floe_iceberg_type *types = floe_manifest_reader_partition_types(reader);
    for (;;) {
      const floe_manifest_entry *e = NULL;
      if (floe_manifest_reader_next(reader, &e, &err) != 0) {
        printf("    %s: %s\n", table, err.message);
        failures++;
        break;
      }
      if (e == NULL) break;
      if (e->status == FLOE_ENTRY_DELETED) continue;
      const floe_iceberg_content_file *f = &e->file;
      if (n_actual == cap) {
        cap *= 2;
        actual = realloc(actual, cap * sizeof *actual);
      }
      char *p = actual[n_actual].text;
      size_t size = sizeof actual[n_actual].text;
      int off = snprintf(p, size, "%s|%s|%s|%" PRId64 "|%" PRId64 "|%" PRId32 "|",
                         relative_path(&t, f->file_path), content_name(f->content),
                         f->file_format, f->record_count,
                         e->has_sequence_number ? e->sequence_number : -999,
                         f->spec_id);
      for (int32_t i = 0; i < f->n_partition; i++) {
        char v[1100];
        render_value(&types[i], &f->partition[i], v, sizeof v);
        off += snprintf(p + off, size - (size_t)off, "%s=%s;", spec->fields[i].name, v);
      }
      if (f->referenced_data_file != NULL)
        off += snprintf(p + off, size - (size_t)off, "|ref=%s",
                        relative_path(&t, f->referenced_data_file));
      if (f->has_content_offset)
        off += snprintf(p + off, size - (size_t)off, "|off=%" PRId64 "|size=%" PRId64,
                        f->content_offset, f->content_size_in_bytes);
      if (f->content == FLOE_CONTENT_EQUALITY_DELETES) {
        off += snprintf(p + off, size - (size_t)off, "|eq=");
        for (int32_t i = 0; i < f->n_equality_ids; i++)
          off += snprintf(p + off, size - (size_t)off, "%" PRId32 ",", f->equality_ids[i]);
      }
      n_actual++;
    }
    floe_manifest_reader_free(reader);
  }
  for (size_t i = 0; i < n_wanted; i++) {
    json_t *f = json_array_get(files, i);
    char *p = wanted[i].text;
    size_t size = sizeof wanted[i].text;
    int32_t spec_id = (int32_t)json_integer_value(json_object_get(f, "spec_id"));
    const char *content = json_string_value(json_object_get(f, "content"));
    int off = snprintf(p, size, "%s|%s|%s|%" JSON_INTEGER_FORMAT "|%" JSON_INTEGER_FORMAT
                       "|%" PRId32 "|",
                       json_string_value(json_object_get(f, "path")), content,
                       json_string_value(json_object_get(f, "format")),
                       json_integer_value(json_object_get(f, "record_count")),
                       json_integer_value(json_object_get(f, "data_sequence_number")),
                       spec_id);
    const floe_iceberg_partition_spec *spec = floe_iceberg_metadata_spec(md, spec_id);
    floe_iceberg_schema *ptype = NULL;
    if (spec != NULL && floe_iceberg_partition_spec_type(spec, schema, &ptype, &err) == 0) {
      json_t *part = json_object_get(f, "partition");
      for (int32_t k = 0; k < spec->n_fields; k++) {
        char v[1100];
        render_json_value(&ptype->root.fields[k].type,
                          json_object_get(part, spec->fields[k].name), v, sizeof v);
        off += snprintf(p + off, size - (size_t)off, "%s=%s;", spec->fields[k].name, v);
      }
    }
    floe_iceberg_schema_free(ptype);
    json_t *ref = json_object_get(f, "referenced_data_file");
    if (ref != NULL)
      off += snprintf(p + off, size - (size_t)off, "|ref=%s", json_string_value(ref));
    if (json_object_get(f, "content_offset") != NULL)
      off += snprintf(p + off, size - (size_t)off,
                      "|off=%" JSON_INTEGER_FORMAT "|size=%" JSON_INTEGER_FORMAT,
                      json_integer_value(json_object_get(f, "content_offset")),
                      json_integer_value(json_object_get(f, "content_size_in_bytes")));
    if (strcmp(content, "equality_deletes") == 0) {
      off += snprintf(p + off, size - (size_t)off, "|eq=");
      json_t *ids = json_object_get(f, "equality_ids");
      for (size_t k = 0; k < json_array_size(ids); k++)
        off += snprintf(p + off, size - (size_t)off, "%" JSON_INTEGER_FORMAT ",",
                        json_integer_value(json_array_get(ids, k)));
    }
  }
  qsort(actual, n_actual, sizeof *actual, compare_rows);
  qsort(wanted, n_wanted, sizeof *wanted, compare_rows);
  if (n_actual != n_wanted) {
    printf("    %s: %zu live files, expected %zu\n", table, n_actual, n_wanted);
    failures++;
  }
  for (size_t i = 0; i < n_actual && i < n_wanted; i++) {
    if (strcmp(actual[i].text, wanted[i].text) != 0) {
      printf("    %s:\n      got      %s\n      expected %s\n", table, actual[i].text,
             wanted[i].text);
      failures++;
    }
  }
  *n_files_checked += (int)n_wanted;
done:
  free(actual);
  free(wanted);
  floe_manifest_list_free(list);
  floe_iceberg_metadata_free(md);
  floe_free(md_text);
  json_decref(expected);
  return failures;
}

static void test_fixture_live_files_match_expected_snapshots(void) {
  const char *dir_path = test_fixture("expected/iceberg");
  if (dir_path == NULL) SKIP("../shared/fixtures is absent");
  char dir_copy[4096];
  snprintf(dir_copy, sizeof dir_copy, "%s", dir_path);
  DIR *dir = opendir(dir_copy);
  REQUIRE(dir != NULL);
  struct dirent *de;
  int tables = 0, files = 0;
  while ((de = readdir(dir)) != NULL) {
    size_t n = strlen(de->d_name);
    if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0) continue;
    char table[256];
    snprintf(table, sizeof table, "%s", de->d_name);
    *strchr(table, '.') = '\0';
    char path[4600];
    snprintf(path, sizeof path, "%s/%s", dir_copy, de->d_name);
    int failures = check_table(path, table, &files);
    if (failures) TEST_FAIL_AT(__FILE__, __LINE__, "%s: %d mismatches", de->d_name, failures);
    tables++;
  }
  closedir(dir);
  /* 38 expected snapshots of 29 tables, 105 live files in all. */
  CHECK_INT_EQ(tables, 38);
  CHECK_INT_EQ(files, 105);
}

static void test_fixture_every_manifest_and_list_decodes(void) {
  const char *root_path = test_fixture("iceberg");
  if (root_path == NULL) SKIP("../shared/fixtures is absent");
  char root[4096];
  snprintf(root, sizeof root, "%s", root_path);
  DIR *tables = opendir(root);
  REQUIRE(tables != NULL);
  struct dirent *td;
  int lists = 0, manifests = 0, entries = 0, list_entries = 0, v3 = 0, deletes = 0;
  floe_error err = {0};
  while ((td = readdir(tables)) != NULL) {
    if (td->d_name[0] == '.') continue;
    char meta[4400];
    snprintf(meta, sizeof meta, "%s/%s/metadata", root, td->d_name);
    DIR *md = opendir(meta);
    if (md == NULL) continue;
    struct dirent *fd;
    while ((fd = readdir(md)) != NULL) {
      size_t n = strlen(fd->d_name);
      if (n < 6 || strcmp(fd->d_name + n - 5, ".avro") != 0) continue;
      char path[4800];
      snprintf(path, sizeof path, "%s/%s", meta, fd->d_name);
      if (strncmp(fd->d_name, "snap-", 5) == 0) {
        floe_manifest_list *list = NULL;
        int rc = floe_manifest_list_read(test_io(), path, &list, &err);
        if (rc != 0) TEST_FAIL_AT(__FILE__, __LINE__, "%s: %s", path, err.message);
        if (rc == 0) {
          lists++;
          list_entries += list->n_files;
          for (int32_t i = 0; i < list->n_files; i++) {
            CHECK(list->files[i].manifest_length > 0);
            CHECK(list->files[i].sequence_number >= 1);
            CHECK(list->files[i].min_sequence_number <= list->files[i].sequence_number);
            CHECK(list->files[i].added_snapshot_id != 0);
          }
        }
        floe_manifest_list_free(list);
      } else {
        floe_manifest_reader *r = NULL;
        int rc = floe_manifest_reader_open(&r, test_io(), path, NULL, NULL, &err);
        if (rc != 0) {
          TEST_FAIL_AT(__FILE__, __LINE__, "%s: %s", path, err.message);
          continue;
        }
        manifests++;
        if (floe_manifest_reader_format_version(r) == 3) v3++;
        if (floe_manifest_reader_content(r) == FLOE_MANIFEST_DELETES) deletes++;
        for (;;) {
          const floe_manifest_entry *e = NULL;
          rc = floe_manifest_reader_next(r, &e, &err);
          if (rc != 0) TEST_FAIL_AT(__FILE__, __LINE__, "%s: %s", path, err.message);
          if (rc != 0 || e == NULL) break;
          entries++;
          CHECK(e->has_snapshot_id); /* every fixture writer writes it */
          CHECK(e->file.n_partition == floe_manifest_reader_spec(r)->n_fields);
        }
        floe_manifest_reader_free(r);
      }
    }
    closedir(md);
  }
  closedir(tables);
  printf("    %d manifest lists (%d entries), %d manifests (%d entries; %d v3, %d delete)\n",
         lists, list_entries, manifests, entries, v3, deletes);
  CHECK_INT_EQ(lists + manifests, 145);
  CHECK(entries > 100);
  CHECK_INT_EQ(v3, 7);
  CHECK_INT_EQ(deletes, 18);
}

/* ==== byte-for-byte schemas against Iceberg Java ======================== */

/* A header value of an Avro file as a new NUL-terminated string. */
static char *header_value(const char *path, const char *key) {
  floe_avro_reader *r = NULL;
  floe_error err = {0};
  if (floe_avro_reader_open_path(&r, path, &err) != 0) return NULL;
  const floe_avro_metadata *m = floe_avro_reader_metadata_find(r, key);
  char *out = m ? strndup((const char *)m->value, m->value_len) : NULL;
  floe_avro_reader_free(r);
  return out;
}

/* Writes an empty manifest with the schema and spec of a fixture manifest's
 * header, at `out_path`. */
static int write_like(const char *fixture, int32_t version,
                      floe_manifest_content content, const char *out_path,
                      floe_error *err) {
  char *schema_json = header_value(fixture, "schema");
  char *spec_fields = header_value(fixture, "partition-spec");
  char spec_json[8192];
  snprintf(spec_json, sizeof spec_json, "{\"spec-id\":0,\"fields\":%s}",
           spec_fields ? spec_fields : "[]");
  floe_iceberg_schema *schema = NULL;
  floe_iceberg_partition_spec *spec = NULL;
  floe_manifest_writer *w = NULL;
  const char *schema_text = schema_json ? schema_json : "";
  int rc = floe_iceberg_schema_parse(&schema, schema_text, strlen(schema_text), err);
  if (rc == 0) rc = floe_iceberg_partition_spec_parse(&spec, spec_json, strlen(spec_json), err);
  floe_manifest_writer_options options = {version, schema, spec, content, 42};
  remove(out_path);
  if (rc == 0) rc = floe_manifest_writer_open(&w, test_io(), out_path, &options, err);
  floe_manifest_file mf;
  if (rc == 0) rc = floe_manifest_writer_close(w, &mf, err);
  floe_manifest_writer_free(w);
  floe_iceberg_schema_free(schema);
  floe_iceberg_partition_spec_free(spec);
  free(schema_json);
  free(spec_fields);
  return rc;
}

static void check_same_header(const char *fixture, const char *mine, const char *key) {
  char *a = header_value(fixture, key), *b = header_value(mine, key);
  if (a == NULL || b == NULL || strcmp(a, b) != 0)
    TEST_FAIL_AT(__FILE__, __LINE__, "%s differs from %s:\n  java %s\n  floe %s", key,
                 fixture, a ? a : "(none)", b ? b : "(none)");
  free(a);
  free(b);
}

/* The text from `start` up to and including `end` (first match after it). */
static char *slice(const char *s, const char *start, const char *end) {
  const char *a = s ? strstr(s, start) : NULL;
  const char *b = a ? strstr(a, end) : NULL;
  return b ? strndup(a, (size_t)(b - a) + strlen(end)) : NULL;
}

static void test_written_schemas_equal_iceberg_java_bytes(void) {
  char v2[4096], v3[4096], part[4096];
  const char *p = test_fixture(
      "iceberg/lithium_granular_deletes/metadata/877e107b-4b06-4d47-ad76-e06b0c421008-m0.avro");
  if (p == NULL) SKIP("../shared/fixtures is absent");
  snprintf(v2, sizeof v2, "%s", p);
  snprintf(v3, sizeof v3, "%s",
           test_fixture("iceberg/lithium_deletion_vectors/metadata/"
                        "c670791d-ace7-4600-a57f-305823486daa-m1.avro"));
  snprintf(part, sizeof part, "%s",
           test_fixture("iceberg/lithium_identity_partitioning/metadata/"
                        "bfd02a62-ed9d-4ab0-83a0-992b76310fe4-m0.avro"));
  const char *dir = test_tmpdir("manifest_golden");
  REQUIRE(dir != NULL);
  floe_error err = {0};
  char mine[4200];

  /* v2 data manifest, unpartitioned (Iceberg Java 1.9.1 via Trino 476). */
  snprintf(mine, sizeof mine, "%s/v2.avro", dir);
  REQUIRE_OK(write_like(v2, 2, FLOE_MANIFEST_DATA, mine, &err), &err);
  check_same_header(v2, mine, "avro.schema");
  check_same_header(v2, mine, "iceberg.schema");
  check_same_header(v2, mine, "partition-spec");
  check_same_header(v2, mine, "content");
  check_same_header(v2, mine, "format-version");

  /* v3 delete manifest (Iceberg Java 1.10.1 via Trino 480). */
  snprintf(mine, sizeof mine, "%s/v3.avro", dir);
  REQUIRE_OK(write_like(v3, 3, FLOE_MANIFEST_DELETES, mine, &err), &err);
  check_same_header(v3, mine, "avro.schema");
  check_same_header(v3, mine, "iceberg.schema");
  check_same_header(v3, mine, "content");

  /* Partition tuple of 13 identity result types (Iceberg Java 1.7.1):
   * record r102 and its Iceberg struct, byte for byte. */
  snprintf(mine, sizeof mine, "%s/part.avro", dir);
  REQUIRE_OK(write_like(part, 2, FLOE_MANIFEST_DATA, mine, &err), &err);
  char *java = header_value(part, "avro.schema"), *floe = header_value(mine, "avro.schema");
  char *a = slice(java, "{\"name\":\"partition\"", "\"field-id\":102}");
  char *b = slice(floe, "{\"name\":\"partition\"", "\"field-id\":102}");
  REQUIRE(a != NULL && b != NULL);
  CHECK(strstr(a, "decimal_9_2") != NULL && strstr(a, "uuid_fixed") != NULL);
  CHECK_STR_EQ(b, a);
  free(a);
  free(b);
  free(java);
  free(floe);
  java = header_value(part, "iceberg.schema");
  floe = header_value(mine, "iceberg.schema");
  a = slice(java, "{\"id\":102", "spec\"}");
  b = slice(floe, "{\"id\":102", "spec\"}");
  REQUIRE(a != NULL && b != NULL);
  CHECK_STR_EQ(b, a);
  free(a);
  free(b);
  free(java);
  free(floe);

  /* Manifest lists v2 and v3. */
  static const struct {
    const char *fixture;
    int32_t version;
  } lists[] = {
      {"iceberg/lithium_granular_deletes/metadata/"
       "snap-178401841832651330-1-8c755bfa-a11a-4b33-8f37-a03fb5a57562.avro",
       2},
      {"iceberg/lithium_deletion_vectors/metadata/"
       "snap-7777310120628922486-1-c670791d-ace7-4600-a57f-305823486daa.avro",
       3},
  };
  for (size_t i = 0; i < 2; i++) {
    char fixture[4096];
    snprintf(fixture, sizeof fixture, "%s", test_fixture(lists[i].fixture));
    snprintf(mine, sizeof mine, "%s/list%zu.avro", dir, i);
    floe_manifest_list_options options = {lists[i].version, 1, false, 0, 1, 0};
    REQUIRE_OK(floe_manifest_list_write(test_io(), mine, &options, NULL, 0, &err), &err);
    check_same_header(fixture, mine, "avro.schema");
    check_same_header(fixture, mine, "iceberg.schema");
  }
}

/* ==== round trips ======================================================= */

static floe_iceberg_schema *make_schema(void) {
  floe_iceberg_column cols[] = {
      {1, "id", true, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL},
      {2, "price", false, floe_iceberg_decimal(9, 2), NULL},
      {3, "big", false, floe_iceberg_decimal(38, 4), NULL},
      {4, "d", false, floe_iceberg_type_of(FLOE_ICEBERG_DATE), NULL},
      {5, "ts", false, floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP), NULL},
      {6, "tstz", false, floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMPTZ), NULL},
      {7, "name", false, floe_iceberg_type_of(FLOE_ICEBERG_STRING), NULL},
      {8, "u", false, floe_iceberg_type_of(FLOE_ICEBERG_UUID), NULL},
      {9, "f", false, floe_iceberg_type_of(FLOE_ICEBERG_FLOAT), NULL},
      {10, "b", false, floe_iceberg_type_of(FLOE_ICEBERG_BINARY), NULL},
  };
  floe_iceberg_schema *schema = NULL;
  floe_error err = {0};
  floe_iceberg_schema *tmp = NULL;
  if (floe_iceberg_schema_new(&tmp, 7, cols, 10, &err) != 0) return NULL;
  schema = tmp;
  return schema;
}

#define N_PART 11

static floe_iceberg_partition_spec *make_spec(const floe_iceberg_schema *schema) {
  static const char *fields[N_PART][2] = {
      {"price", "identity"}, {"big", "identity"}, {"d", "identity"},
      {"ts", "identity"},    {"name", "identity"}, {"id", "bucket[16]"},
      {"tstz", "day"},       {"u", "identity"},    {"f", "identity"},
      {"b", "identity"},     {"name", "truncate[2]"}};
  floe_iceberg_partition_spec *spec = NULL;
  floe_error err = {0};
  if (floe_iceberg_partition_spec_new(&spec, 3, &err) != 0) return NULL;
  int32_t last = 999;
  for (int i = 0; i < N_PART; i++)
    if (floe_iceberg_partition_spec_add_field(spec, schema, fields[i][0], fields[i][1],
                                              NULL, &last, &err) != 0) {
      floe_iceberg_partition_spec_free(spec);
      return NULL;
    }
  return spec;
}

static const uint8_t uuid_a[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t uuid_b[16] = {0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88,
                                   0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00};
static const uint8_t bin_a[2] = {0xde, 0xad};

static floe_iceberg_value ival(int32_t x) {
  floe_iceberg_value v = floe_iceberg_null_value();
  v.is_null = false;
  v.v.i32 = x;
  return v;
}
static floe_iceberg_value lval(int64_t x) {
  floe_iceberg_value v = floe_iceberg_null_value();
  v.is_null = false;
  v.v.i64 = x;
  return v;
}
static floe_iceberg_value dval(int64_t unscaled) {
  floe_iceberg_value v = floe_iceberg_null_value();
  v.is_null = false;
  v.v.dec = unscaled;
  return v;
}
static floe_iceberg_value fval(float x) {
  floe_iceberg_value v = floe_iceberg_null_value();
  v.is_null = false;
  v.v.f32 = x;
  return v;
}
static floe_iceberg_value bval(const void *data, size_t len) {
  floe_iceberg_value v = floe_iceberg_null_value();
  v.is_null = false;
  v.bytes = data;
  v.len = len;
  return v;
}
static floe_iceberg_value sval(const char *s) { return bval(s, strlen(s)); }
static floe_iceberg_value nval(void) { return floe_iceberg_null_value(); }

/* Four entries: two ADDED (one with an explicit older data sequence
 * number), one EXISTING, one DELETED. */
typedef struct sample {
  floe_iceberg_value part[4][N_PART];
  floe_iceberg_column_metrics cols[2];
  int64_t offsets[2];
  uint8_t key[3];
  floe_manifest_entry entries[4];
} sample;

static void make_sample(sample *s) {
  memset(s, 0, sizeof *s);
  floe_iceberg_value p0[N_PART] = {dval(1420),  dval(-50000), ival(19000),
                                   lval(1700000000000000LL), sval("berlin"),
                                   ival(5),     ival(19500),  bval(uuid_a, 16),
                                   fval(1.5f),  bval(bin_a, 2), sval("be")};
  floe_iceberg_value p1[N_PART] = {dval(-300), nval(),   ival(18000), nval(),
                                   sval("amsterdam"), ival(15), nval(),
                                   bval(uuid_b, 16), fval(NAN), bval("", 0),
                                   sval("am")};
  floe_iceberg_value p2[N_PART] = {dval(9999), dval(123), ival(18500), lval(-1),
                                   sval("zurich"), ival(0), ival(19400),
                                   bval(uuid_a, 16), fval(-2.0f), nval(),
                                   sval("zu")};
  floe_iceberg_value p3[N_PART] = {dval(0), dval(7), ival(17000), lval(0),
                                   sval("oslo"), ival(1), ival(1),
                                   bval(uuid_a, 16), fval(0.0f), bval(bin_a, 1),
                                   sval("os")};
  memcpy(s->part[0], p0, sizeof p0);
  memcpy(s->part[1], p1, sizeof p1);
  memcpy(s->part[2], p2, sizeof p2);
  memcpy(s->part[3], p3, sizeof p3);
  static const uint8_t lo[4] = {1, 0, 0, 0}, hi[4] = {9, 0, 0, 0};
  s->cols[0] = (floe_iceberg_column_metrics){1, true, true, true, false, 40, 100, 0, 0,
                                             lo, 4, hi, 4};
  s->cols[1] = (floe_iceberg_column_metrics){9, true, true, true, true, 30, 100, 3, 2,
                                             NULL, 0, NULL, 0};
  s->offsets[0] = 4;
  s->offsets[1] = 1000;
  s->key[0] = 1, s->key[1] = 2, s->key[2] = 3;
  static const char *paths[4] = {"s3://b/t/data/a.parquet", "s3://b/t/data/b.parquet",
                                 "s3://b/t/data/c.parquet", "s3://b/t/data/d.parquet"};
  for (int i = 0; i < 4; i++) {
    floe_manifest_entry *e = &s->entries[i];
    e->file.content = FLOE_CONTENT_DATA;
    e->file.file_path = paths[i];
    e->file.file_format = "PARQUET";
    e->file.n_partition = N_PART;
    e->file.partition = s->part[i];
    e->file.record_count = 100 + i;
    e->file.file_size_in_bytes = 4096 + i;
  }
  s->entries[0].status = FLOE_ENTRY_ADDED;
  s->entries[0].file.n_columns = 2;
  s->entries[0].file.columns = s->cols;
  s->entries[0].file.n_split_offsets = 2;
  s->entries[0].file.split_offsets = s->offsets;
  s->entries[0].file.has_sort_order_id = true;
  s->entries[0].file.sort_order_id = 0;
  s->entries[0].file.key_metadata = s->key;
  s->entries[0].file.key_metadata_len = 3;
  s->entries[1].status = FLOE_ENTRY_ADDED;
  s->entries[1].has_sequence_number = true;
  s->entries[1].sequence_number = 2;
  s->entries[2].status = FLOE_ENTRY_EXISTING;
  s->entries[2].has_snapshot_id = true;
  s->entries[2].snapshot_id = 999;
  s->entries[2].has_sequence_number = s->entries[2].has_file_sequence_number = true;
  s->entries[2].sequence_number = s->entries[2].file_sequence_number = 3;
  s->entries[3].status = FLOE_ENTRY_DELETED;
  s->entries[3].has_snapshot_id = true;
  s->entries[3].snapshot_id = 888;
  s->entries[3].has_sequence_number = s->entries[3].has_file_sequence_number = true;
  s->entries[3].sequence_number = s->entries[3].file_sequence_number = 1;
}

static void check_bytes(const uint8_t *got, size_t got_len, const uint8_t *want,
                        size_t want_len, const char *what) {
  char a[200], b[200];
  hex(got ? got : (const uint8_t *)"", got ? got_len : 0, a);
  hex(want, want_len, b);
  if (got == NULL || strcmp(a, b) != 0)
    TEST_FAIL_AT(__FILE__, __LINE__, "%s: %s, expected %s", what, got ? a : "(null)", b);
}

static void check_files_equal(const floe_iceberg_type *types,
                              const floe_iceberg_content_file *a,
                              const floe_iceberg_content_file *b) {
  CHECK_STR_EQ(a->file_path, b->file_path);
  CHECK_STR_EQ(a->file_format, b->file_format);
  CHECK_INT_EQ(a->content, b->content);
  CHECK_INT_EQ(a->record_count, b->record_count);
  CHECK_INT_EQ(a->file_size_in_bytes, b->file_size_in_bytes);
  REQUIRE(a->n_partition == b->n_partition);
  for (int32_t i = 0; i < a->n_partition; i++)
    if (!floe_iceberg_value_equal(&types[i], &a->partition[i], &b->partition[i]))
      TEST_FAIL_AT(__FILE__, __LINE__, "%s: partition value %d differs", a->file_path, i);
  CHECK_INT_EQ(a->n_columns, b->n_columns);
  for (int32_t i = 0; i < a->n_columns && i < b->n_columns; i++) {
    const floe_iceberg_column_metrics *x = &a->columns[i], *y = &b->columns[i];
    CHECK_INT_EQ(x->field_id, y->field_id);
    CHECK(x->has_column_size == y->has_column_size && x->column_size == y->column_size);
    CHECK(x->has_value_count == y->has_value_count && x->value_count == y->value_count);
    CHECK(x->has_null_count == y->has_null_count && x->null_count == y->null_count);
    CHECK(x->has_nan_count == y->has_nan_count && x->nan_count == y->nan_count);
    CHECK((x->lower_bound == NULL) == (y->lower_bound == NULL));
    if (x->lower_bound && y->lower_bound)
      check_bytes(x->lower_bound, x->lower_bound_len, y->lower_bound, y->lower_bound_len,
                  "lower bound");
    if (x->upper_bound && y->upper_bound)
      check_bytes(x->upper_bound, x->upper_bound_len, y->upper_bound, y->upper_bound_len,
                  "upper bound");
  }
  CHECK_INT_EQ(a->n_split_offsets, b->n_split_offsets);
  for (int32_t i = 0; i < a->n_split_offsets && i < b->n_split_offsets; i++)
    CHECK_INT_EQ(a->split_offsets[i], b->split_offsets[i]);
  CHECK_INT_EQ(a->n_equality_ids, b->n_equality_ids);
  for (int32_t i = 0; i < a->n_equality_ids && i < b->n_equality_ids; i++)
    CHECK_INT_EQ(a->equality_ids[i], b->equality_ids[i]);
  CHECK(a->has_sort_order_id == b->has_sort_order_id);
  CHECK_INT_EQ(a->sort_order_id, b->sort_order_id);
  CHECK_INT_EQ(a->key_metadata_len, b->key_metadata_len);
  CHECK((a->key_metadata == NULL) == (b->key_metadata == NULL));
  CHECK((a->referenced_data_file == NULL) == (b->referenced_data_file == NULL));
  if (a->referenced_data_file && b->referenced_data_file)
    CHECK_STR_EQ(a->referenced_data_file, b->referenced_data_file);
  CHECK(a->has_content_offset == b->has_content_offset);
  CHECK_INT_EQ(a->content_offset, b->content_offset);
  CHECK_INT_EQ(a->content_size_in_bytes, b->content_size_in_bytes);
}

static void test_partitioned_data_manifest_round_trip(void) {
  const char *dir = test_tmpdir("manifest_roundtrip");
  REQUIRE(dir != NULL);
  floe_error err = {0};
  floe_iceberg_schema *schema = make_schema();
  REQUIRE(schema != NULL);
  floe_iceberg_partition_spec *spec = make_spec(schema);
  REQUIRE(spec != NULL);
  sample s;
  make_sample(&s);
  char path[4200], list_path[4200];
  snprintf(path, sizeof path, "%s/m0.avro", dir);
  snprintf(list_path, sizeof list_path, "%s/snap.avro", dir);

  floe_manifest_writer_options options = {2, schema, spec, FLOE_MANIFEST_DATA, 1234};
  floe_manifest_writer *w = NULL;
  REQUIRE_OK(floe_manifest_writer_open(&w, test_io(), path, &options, &err), &err);
  for (int i = 0; i < 4; i++) CHECK_OK(floe_manifest_writer_add(w, &s.entries[i], &err), &err);
  floe_manifest_file mf;
  REQUIRE_OK(floe_manifest_writer_close(w, &mf, &err), &err);

  /* The manifest list entry the writer reports. */
  CHECK_STR_EQ(mf.manifest_path, path);
  CHECK_INT_EQ(mf.partition_spec_id, 3);
  CHECK_INT_EQ(mf.content, FLOE_MANIFEST_DATA);
  CHECK_INT_EQ(mf.added_snapshot_id, 1234);
  CHECK_INT_EQ(mf.added_files_count, 2);
  CHECK_INT_EQ(mf.existing_files_count, 1);
  CHECK_INT_EQ(mf.deleted_files_count, 1);
  CHECK_INT_EQ(mf.added_rows_count, 201);
  CHECK_INT_EQ(mf.existing_rows_count, 102);
  CHECK_INT_EQ(mf.deleted_rows_count, 103);
  CHECK_INT_EQ(mf.sequence_number, 0);
  CHECK_INT_EQ(mf.min_sequence_number, 2); /* explicit seq 2 (ADDED) and 3 */
  FILE *fp = fopen(path, "rb");
  REQUIRE(fp != NULL);
  fseek(fp, 0, SEEK_END);
  CHECK_INT_EQ(mf.manifest_length, ftell(fp));
  fclose(fp);

  /* Partition summaries (Appendix D bytes), over all four entries. */
  REQUIRE(mf.n_partitions == N_PART && mf.partitions != NULL);
  const floe_manifest_partition_summary *ps = mf.partitions;
  static const uint8_t price_lo[] = {0xfe, 0xd4}, price_hi[] = {0x27, 0x0f};
  static const uint8_t big_lo[] = {0xff, 0x3c, 0xb0}, big_hi[] = {0x7b};
  static const uint8_t d_lo[] = {0x68, 0x42, 0, 0}, d_hi[] = {0x38, 0x4a, 0, 0};
  static const uint8_t ts_lo[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  static const uint8_t ts_hi[] = {0x00, 0x40, 0x1e, 0x18, 0x24, 0x0a, 0x06, 0x00};
  static const uint8_t f_lo[] = {0, 0, 0, 0xc0}, f_hi[] = {0, 0, 0xc0, 0x3f};
  CHECK(!ps[0].contains_null && ps[0].has_contains_nan && !ps[0].contains_nan);
  check_bytes(ps[0].lower_bound, ps[0].lower_bound_len, price_lo, 2, "price lower");
  check_bytes(ps[0].upper_bound, ps[0].upper_bound_len, price_hi, 2, "price upper");
  CHECK(ps[1].contains_null);
  check_bytes(ps[1].lower_bound, ps[1].lower_bound_len, big_lo, 3, "big lower");
  check_bytes(ps[1].upper_bound, ps[1].upper_bound_len, big_hi, 1, "big upper");
  check_bytes(ps[2].lower_bound, ps[2].lower_bound_len, d_lo, 4, "date lower");
  check_bytes(ps[2].upper_bound, ps[2].upper_bound_len, d_hi, 4, "date upper");
  CHECK(ps[3].contains_null);
  check_bytes(ps[3].lower_bound, ps[3].lower_bound_len, ts_lo, 8, "ts lower");
  check_bytes(ps[3].upper_bound, ps[3].upper_bound_len, ts_hi, 8, "ts upper");
  check_bytes(ps[4].lower_bound, ps[4].lower_bound_len, (const uint8_t *)"amsterdam", 9,
              "name lower");
  check_bytes(ps[4].upper_bound, ps[4].upper_bound_len, (const uint8_t *)"zurich", 6,
              "name upper");
  CHECK(ps[6].contains_null); /* day(tstz) has a null */
  check_bytes(ps[7].lower_bound, ps[7].lower_bound_len, uuid_a, 16, "uuid lower");
  check_bytes(ps[7].upper_bound, ps[7].upper_bound_len, uuid_b, 16, "uuid upper");
  CHECK(ps[8].contains_nan && !ps[8].contains_null);
  check_bytes(ps[8].lower_bound, ps[8].lower_bound_len, f_lo, 4, "float lower");
  check_bytes(ps[8].upper_bound, ps[8].upper_bound_len, f_hi, 4, "float upper");
  CHECK(ps[9].contains_null);
  CHECK(ps[9].lower_bound != NULL && ps[9].lower_bound_len == 0); /* empty binary */
  check_bytes(ps[9].upper_bound, ps[9].upper_bound_len, bin_a, 2, "binary upper");

  /* Header keys, byte for byte. */
  char *json = NULL;
  REQUIRE_OK(floe_iceberg_schema_to_json(schema, &json, &err), &err);
  char *v = header_value(path, "schema");
  CHECK_STR_EQ(v, json);
  free(v);
  floe_free(json);
  v = header_value(path, "partition-spec");
  CHECK_STR_EQ(v,
               "[{\"name\":\"price\",\"transform\":\"identity\",\"source-id\":2,\"field-id\":1000},"
               "{\"name\":\"big\",\"transform\":\"identity\",\"source-id\":3,\"field-id\":1001},"
               "{\"name\":\"d\",\"transform\":\"identity\",\"source-id\":4,\"field-id\":1002},"
               "{\"name\":\"ts\",\"transform\":\"identity\",\"source-id\":5,\"field-id\":1003},"
               "{\"name\":\"name\",\"transform\":\"identity\",\"source-id\":7,\"field-id\":1004},"
               "{\"name\":\"id_bucket\",\"transform\":\"bucket[16]\",\"source-id\":1,\"field-id\":1005},"
               "{\"name\":\"tstz_day\",\"transform\":\"day\",\"source-id\":6,\"field-id\":1006},"
               "{\"name\":\"u\",\"transform\":\"identity\",\"source-id\":8,\"field-id\":1007},"
               "{\"name\":\"f\",\"transform\":\"identity\",\"source-id\":9,\"field-id\":1008},"
               "{\"name\":\"b\",\"transform\":\"identity\",\"source-id\":10,\"field-id\":1009},"
               "{\"name\":\"name_trunc\",\"transform\":\"truncate[2]\",\"source-id\":7,\"field-id\":1010}]");
  free(v);
  static const char *keys[][2] = {{"schema-id", "7"}, {"partition-spec-id", "3"},
                                  {"format-version", "2"}, {"content", "data"},
                                  {"avro.codec", "deflate"}};
  for (size_t i = 0; i < 5; i++) {
    v = header_value(path, keys[i][0]);
    CHECK_STR_EQ(v, keys[i][1]);
    free(v);
  }
  v = header_value(path, "avro.schema");
  CHECK(v != NULL && strstr(v, "{\"name\":\"big\",\"type\":[\"null\",{\"type\":\"fixed\","
                               "\"name\":\"decimal_38_4\",\"size\":16,\"logicalType\":"
                               "\"decimal\",\"precision\":38,\"scale\":4}],\"default\":null,"
                               "\"field-id\":1001}") != NULL);
  CHECK(v != NULL && strstr(v, "{\"name\":\"tstz_day\",\"type\":[\"null\",{\"type\":\"int\","
                               "\"logicalType\":\"date\"}],\"default\":null,"
                               "\"field-id\":1006}") != NULL);
  CHECK(v != NULL && strstr(v, "{\"type\":\"long\",\"logicalType\":\"timestamp-micros\","
                               "\"adjust-to-utc\":false}") != NULL);
  free(v);
  v = header_value(path, "iceberg.schema");
  CHECK(v != NULL && strstr(v, "{\"id\":1001,\"name\":\"big\",\"required\":false,"
                               "\"type\":\"decimal(38, 4)\"}") != NULL);
  free(v);

  /* Read back without a list entry: nulls stay null (the inheritance
   * contract is visible in the file). */
  floe_manifest_reader *r = NULL;
  REQUIRE_OK(floe_manifest_reader_open(&r, test_io(), path, NULL, NULL, &err), &err);
  CHECK_INT_EQ(floe_manifest_reader_format_version(r), 2);
  CHECK_INT_EQ(floe_manifest_reader_content(r), FLOE_MANIFEST_DATA);
  CHECK(floe_iceberg_partition_spec_equal(floe_manifest_reader_spec(r), spec));
  CHECK_INT_EQ(floe_manifest_reader_spec(r)->spec_id, 3);
  const floe_iceberg_type *types = floe_manifest_reader_partition_types(r);
  REQUIRE(types != NULL);
  CHECK_INT_EQ(types[1].id, FLOE_ICEBERG_DECIMAL);
  CHECK_INT_EQ(types[5].id, FLOE_ICEBERG_INT);
  CHECK_INT_EQ(types[6].id, FLOE_ICEBERG_DATE);
  CHECK_INT_EQ(types[7].id, FLOE_ICEBERG_UUID);
  const floe_manifest_entry *e = NULL;
  for (int i = 0; i < 4; i++) {
    REQUIRE_OK(floe_manifest_reader_next(r, &e, &err), &err);
    REQUIRE(e != NULL);
    CHECK_INT_EQ(e->status, s.entries[i].status);
    CHECK_INT_EQ(e->file.spec_id, 3);
    check_files_equal(types, &e->file, &s.entries[i].file);
    switch (i) {
      case 0:
        CHECK(e->has_snapshot_id && e->snapshot_id == 1234);
        CHECK(!e->has_sequence_number && !e->has_file_sequence_number);
        break;
      case 1:
        CHECK(e->has_snapshot_id && e->snapshot_id == 1234);
        CHECK(e->has_sequence_number && e->sequence_number == 2);
        CHECK(!e->has_file_sequence_number);
        break;
      case 2:
        CHECK(e->snapshot_id == 999 && e->sequence_number == 3 &&
              e->file_sequence_number == 3);
        break;
      default:
        CHECK(e->snapshot_id == 1234); /* the deleting snapshot */
        CHECK(e->sequence_number == 1 && e->file_sequence_number == 1);
        break;
    }
  }
  REQUIRE_OK(floe_manifest_reader_next(r, &e, &err), &err);
  CHECK(e == NULL);
  floe_manifest_reader_free(r);

  /* A manifest list assigns the commit's sequence number; reading through
   * it applies inheritance. */
  floe_manifest_list_options lo = {2, 1234, true, 1200, 5, 0};
  REQUIRE_OK(floe_manifest_list_write(test_io(), list_path, &lo, &mf, 1, &err), &err);
  static const char *list_keys[][2] = {{"snapshot-id", "1234"},
                                       {"parent-snapshot-id", "1200"},
                                       {"sequence-number", "5"},
                                       {"format-version", "2"},
                                       {"avro.codec", "deflate"}};
  for (size_t i = 0; i < 5; i++) {
    v = header_value(list_path, list_keys[i][0]);
    CHECK_STR_EQ(v, list_keys[i][1]);
    free(v);
  }
  v = header_value(list_path, "first-row-id");
  CHECK(v == NULL);
  free(v);
  floe_manifest_list *list = NULL;
  REQUIRE_OK(floe_manifest_list_read(test_io(), list_path, &list, &err), &err);
  REQUIRE(list->n_files == 1);
  const floe_manifest_file *lf = &list->files[0];
  CHECK_STR_EQ(lf->manifest_path, path);
  CHECK_INT_EQ(lf->manifest_length, mf.manifest_length);
  CHECK_INT_EQ(lf->sequence_number, 5);
  CHECK_INT_EQ(lf->min_sequence_number, 2);
  CHECK_INT_EQ(lf->added_snapshot_id, 1234);
  CHECK_INT_EQ(lf->added_files_count, 2);
  CHECK_INT_EQ(lf->existing_files_count, 1);
  CHECK_INT_EQ(lf->deleted_files_count, 1);
  CHECK_INT_EQ(lf->added_rows_count, 201);
  CHECK_INT_EQ(lf->existing_rows_count, 102);
  CHECK_INT_EQ(lf->deleted_rows_count, 103);
  CHECK(!lf->has_first_row_id);
  REQUIRE(lf->n_partitions == N_PART);
  for (int i = 0; i < N_PART; i++) {
    CHECK(lf->partitions[i].contains_null == ps[i].contains_null);
    CHECK(lf->partitions[i].contains_nan == ps[i].contains_nan);
    CHECK(lf->partitions[i].has_contains_nan);
    if (ps[i].lower_bound)
      check_bytes(lf->partitions[i].lower_bound, lf->partitions[i].lower_bound_len,
                  ps[i].lower_bound, ps[i].lower_bound_len, "list lower bound");
  }
  REQUIRE_OK(floe_manifest_reader_open(&r, test_io(), path, lf, NULL, &err), &err);
  REQUIRE_OK(floe_manifest_reader_next(r, &e, &err), &err);
  REQUIRE(e != NULL);
  CHECK(e->has_sequence_number && e->sequence_number == 5);
  CHECK(e->has_file_sequence_number && e->file_sequence_number == 5);
  REQUIRE_OK(floe_manifest_reader_next(r, &e, &err), &err);
  REQUIRE(e != NULL);
  CHECK(e->sequence_number == 2 && e->file_sequence_number == 5);
  REQUIRE_OK(floe_manifest_reader_next(r, &e, &err), &err);
  REQUIRE(e != NULL);
  CHECK(e->sequence_number == 3 && e->file_sequence_number == 3);

  /* A deep copy outlives the reader. */
  floe_iceberg_content_file copy;
  REQUIRE_OK(floe_iceberg_content_file_copy(&copy, &e->file, &err), &err);
  floe_iceberg_type types_copy[N_PART];
  memcpy(types_copy, floe_manifest_reader_partition_types(r), sizeof types_copy);
  floe_manifest_reader_free(r);
  check_files_equal(types_copy, &copy, &s.entries[2].file);
  floe_iceberg_content_file_free(&copy);
  floe_iceberg_content_file_free(&copy); /* idempotent on a freed copy */

  floe_manifest_file mf_copy;
  REQUIRE_OK(floe_manifest_file_copy(&mf_copy, lf, &err), &err);
  floe_manifest_list_free(list);
  CHECK_STR_EQ(mf_copy.manifest_path, path);
  check_bytes(mf_copy.partitions[0].lower_bound, mf_copy.partitions[0].lower_bound_len,
              price_lo, 2, "copied summary");
  floe_manifest_file_free(&mf_copy);

  /* Files are never overwritten (DESIGN.md rule 2). */
  floe_manifest_writer_free(w);
  w = NULL;
  CHECK(floe_manifest_writer_open(&w, test_io(), path, &options, &err) == FLOE_EEXISTS);
  floe_manifest_writer_free(w);
  floe_manifest_writer_free(NULL);
  floe_iceberg_partition_spec_free(spec);
  floe_iceberg_schema_free(schema);
}

/* A writer without a snapshot id writes null snapshot ids that the list
 * entry fills in (Sequence Number Inheritance: snapshot_id "Inherited when
 * null"). */
static void test_null_snapshot_id_is_inherited(void) {
  const char *dir = test_tmpdir("manifest_inherit");
  REQUIRE(dir != NULL);
  floe_error err = {0};
  floe_iceberg_schema *schema = make_schema();
  floe_iceberg_partition_spec *spec = NULL;
  REQUIRE_OK(floe_iceberg_partition_spec_new(&spec, 0, &err), &err);
  char path[4200], list_path[4200];
  snprintf(path, sizeof path, "%s/m.avro", dir);
  snprintf(list_path, sizeof list_path, "%s/l.avro", dir);
  floe_manifest_writer_options options = {2, schema, spec, FLOE_MANIFEST_DATA, 0};
  floe_manifest_writer *w = NULL;
  REQUIRE_OK(floe_manifest_writer_open(&w, test_io(), path, &options, &err), &err);
  floe_manifest_entry entry;
  memset(&entry, 0, sizeof entry);
  entry.status = FLOE_ENTRY_ADDED;
  entry.file.file_path = "data/x.parquet";
  entry.file.file_format = "PARQUET";
  entry.file.record_count = 10;
  entry.file.file_size_in_bytes = 99;
  REQUIRE_OK(floe_manifest_writer_add(w, &entry, &err), &err);
  floe_manifest_file mf;
  REQUIRE_OK(floe_manifest_writer_close(w, &mf, &err), &err);
  CHECK_INT_EQ(mf.added_snapshot_id, 0);
  CHECK_INT_EQ(mf.min_sequence_number, -1);
  floe_manifest_list_options lo = {2, 777, false, 0, 9, 0};
  REQUIRE_OK(floe_manifest_list_write(test_io(), list_path, &lo, &mf, 1, &err), &err);
  floe_manifest_writer_free(w);
  char *v = header_value(list_path, "parent-snapshot-id");
  CHECK_STR_EQ(v, "null");
  free(v);
  floe_manifest_list *list = NULL;
  REQUIRE_OK(floe_manifest_list_read(test_io(), list_path, &list, &err), &err);
  REQUIRE(list->n_files == 1);
  CHECK_INT_EQ(list->files[0].added_snapshot_id, 777);
  CHECK_INT_EQ(list->files[0].sequence_number, 9);
  CHECK_INT_EQ(list->files[0].min_sequence_number, 9);
  CHECK(list->files[0].partitions != NULL && list->files[0].n_partitions == 0);
  floe_manifest_reader *r = NULL;
  const floe_manifest_entry *e = NULL;
  REQUIRE_OK(floe_manifest_reader_open(&r, test_io(), path, NULL, NULL, &err), &err);
  REQUIRE_OK(floe_manifest_reader_next(r, &e, &err), &err);
  REQUIRE(e != NULL);
  CHECK(!e->has_snapshot_id && !e->has_sequence_number);
  floe_manifest_reader_free(r);
  REQUIRE_OK(floe_manifest_reader_open(&r, test_io(), path, &list->files[0], NULL, &err),
             &err);
  REQUIRE_OK(floe_manifest_reader_next(r, &e, &err), &err);
  REQUIRE(e != NULL);
  CHECK(e->has_snapshot_id && e->snapshot_id == 777);
  CHECK(e->sequence_number == 9 && e->file_sequence_number == 9);
  CHECK(e->file.n_partition == 0 && e->file.n_columns == 0 && e->file.split_offsets == NULL);
  floe_manifest_reader_free(r);
  floe_manifest_list_free(list);
  floe_iceberg_partition_spec_free(spec);
  floe_iceberg_schema_free(schema);
}

/* v3: a data manifest, a delete manifest with a position-delete file, an
 * equality-delete file and a deletion vector; the list assigns
 * first_row_id to the data manifest and readers inherit row ids. */
static void test_v3_delete_manifest_and_list_round_trip(void) {
  const char *dir = test_tmpdir("manifest_v3");
  REQUIRE(dir != NULL);
  floe_error err = {0};
  floe_iceberg_schema *schema = make_schema();
  floe_iceberg_partition_spec *spec = NULL;
  REQUIRE_OK(floe_iceberg_partition_spec_new(&spec, 0, &err), &err);
  char data_path[4200], del_path[4200], list_path[4200];
  snprintf(data_path, sizeof data_path, "%s/data-m0.avro", dir);
  snprintf(del_path, sizeof del_path, "%s/deletes-m1.avro", dir);
  snprintf(list_path, sizeof list_path, "%s/snap-5.avro", dir);

  floe_manifest_file files[3];
  floe_manifest_writer *dw = NULL, *xw = NULL;
  floe_manifest_writer_options dopt = {3, schema, spec, FLOE_MANIFEST_DATA, 55};
  REQUIRE_OK(floe_manifest_writer_open(&dw, test_io(), data_path, &dopt, &err), &err);
  floe_manifest_entry data[3];
  memset(data, 0, sizeof data);
  static const char *data_paths[3] = {"s3://w/t/data/1.parquet", "s3://w/t/data/2.parquet",
                                      "s3://w/t/data/3.parquet"};
  for (int i = 0; i < 3; i++) {
    data[i].status = FLOE_ENTRY_ADDED;
    data[i].file.file_path = data_paths[i];
    data[i].file.file_format = "PARQUET";
    data[i].file.record_count = 10 * (i + 1);
    data[i].file.file_size_in_bytes = 1000;
  }
  data[1].file.has_first_row_id = true; /* already assigned: kept */
  data[1].file.first_row_id = 5000;
  for (int i = 0; i < 3; i++) REQUIRE_OK(floe_manifest_writer_add(dw, &data[i], &err), &err);
  REQUIRE_OK(floe_manifest_writer_close(dw, &files[0], &err), &err);

  floe_manifest_writer_options xopt = {3, schema, spec, FLOE_MANIFEST_DELETES, 55};
  REQUIRE_OK(floe_manifest_writer_open(&xw, test_io(), del_path, &xopt, &err), &err);
  floe_manifest_entry del[3];
  memset(del, 0, sizeof del);
  static const int32_t eq_ids[2] = {1, 7};
  for (int i = 0; i < 3; i++) {
    del[i].status = FLOE_ENTRY_ADDED;
    del[i].file.file_size_in_bytes = 700;
  }
  del[0].file.content = FLOE_CONTENT_POSITION_DELETES;
  del[0].file.file_path = "s3://w/t/data/pos.parquet";
  del[0].file.file_format = "PARQUET";
  del[0].file.record_count = 3;
  del[0].file.referenced_data_file = data_paths[0];
  del[1].file.content = FLOE_CONTENT_EQUALITY_DELETES;
  del[1].file.file_path = "s3://w/t/data/eq.parquet";
  del[1].file.file_format = "PARQUET";
  del[1].file.record_count = 2;
  del[1].file.n_equality_ids = 2;
  del[1].file.equality_ids = eq_ids;
  del[2].file.content = FLOE_CONTENT_POSITION_DELETES;
  del[2].file.file_path = "s3://w/t/data/dv.puffin";
  del[2].file.file_format = "PUFFIN";
  del[2].file.record_count = 4;
  del[2].file.referenced_data_file = data_paths[2];
  del[2].file.has_content_offset = true;
  del[2].file.content_offset = 4;
  del[2].file.content_size_in_bytes = 44;
  for (int i = 0; i < 3; i++) REQUIRE_OK(floe_manifest_writer_add(xw, &del[i], &err), &err);
  /* A data file does not go in a delete manifest. */
  CHECK(floe_manifest_writer_add(xw, &data[0], &err) == FLOE_EINVAL);
  CHECK(strstr(err.message, "data file cannot go in a delete manifest") != NULL);
  REQUIRE_OK(floe_manifest_writer_close(xw, &files[1], &err), &err);
  CHECK_INT_EQ(files[1].content, FLOE_MANIFEST_DELETES);
  CHECK_INT_EQ(files[1].added_files_count, 3);
  CHECK_INT_EQ(files[1].added_rows_count, 9);

  /* An older data manifest carried over with its own numbers. */
  memset(&files[2], 0, sizeof files[2]);
  files[2].manifest_path = "s3://w/t/metadata/old-m0.avro";
  files[2].manifest_length = 321;
  files[2].added_snapshot_id = 44;
  files[2].sequence_number = 4;
  files[2].min_sequence_number = 1;
  files[2].existing_rows_count = 7;
  files[2].added_rows_count = 100;
  floe_manifest_list_options lo = {3, 55, true, 44, 5, 1000};
  CHECK_INT_EQ(floe_manifest_list_rows_to_assign(files, 3), 60 + 107);
  REQUIRE_OK(floe_manifest_list_write(test_io(), list_path, &lo, files, 3, &err), &err);
  char *v = header_value(list_path, "first-row-id");
  CHECK_STR_EQ(v, "1000");
  free(v);
  v = header_value(list_path, "format-version");
  CHECK_STR_EQ(v, "3");
  free(v);
  v = header_value(del_path, "content");
  CHECK_STR_EQ(v, "deletes");
  free(v);
  v = header_value(del_path, "avro.schema");
  CHECK(v != NULL && strstr(v, "\"name\":\"content_size_in_bytes\"") != NULL);
  free(v);

  floe_manifest_list *list = NULL;
  REQUIRE_OK(floe_manifest_list_read(test_io(), list_path, &list, &err), &err);
  REQUIRE(list->n_files == 3);
  CHECK(list->files[0].has_first_row_id && list->files[0].first_row_id == 1000);
  CHECK(!list->files[1].has_first_row_id); /* delete manifests get none */
  CHECK(list->files[2].has_first_row_id && list->files[2].first_row_id == 1060);
  CHECK_INT_EQ(list->files[0].sequence_number, 5);
  CHECK_INT_EQ(list->files[0].min_sequence_number, 5);
  CHECK_INT_EQ(list->files[1].content, FLOE_MANIFEST_DELETES);
  CHECK_INT_EQ(list->files[2].sequence_number, 4);
  CHECK_INT_EQ(list->files[2].min_sequence_number, 1);
  CHECK_STR_EQ(list->files[2].manifest_path, "s3://w/t/metadata/old-m0.avro");

  floe_manifest_reader *r = NULL;
  const floe_manifest_entry *e = NULL;
  REQUIRE_OK(floe_manifest_reader_open(&r, test_io(), data_path, &list->files[0], NULL, &err),
             &err);
  int64_t want_row_ids[3] = {1000, 5000, 1010};
  for (int i = 0; i < 3; i++) {
    REQUIRE_OK(floe_manifest_reader_next(r, &e, &err), &err);
    REQUIRE(e != NULL);
    CHECK(e->file.has_first_row_id);
    CHECK_INT_EQ(e->file.first_row_id, want_row_ids[i]);
    CHECK_INT_EQ(e->sequence_number, 5);
  }
  floe_manifest_reader_free(r);

  REQUIRE_OK(floe_manifest_reader_open(&r, test_io(), del_path, &list->files[1], NULL, &err),
             &err);
  CHECK_INT_EQ(floe_manifest_reader_content(r), FLOE_MANIFEST_DELETES);
  CHECK_INT_EQ(floe_manifest_reader_format_version(r), 3);
  for (int i = 0; i < 3; i++) {
    REQUIRE_OK(floe_manifest_reader_next(r, &e, &err), &err);
    REQUIRE(e != NULL);
    check_files_equal(NULL, &e->file, &del[i].file);
    CHECK(!e->file.has_first_row_id);
    CHECK_INT_EQ(e->snapshot_id, 55);
  }
  floe_manifest_reader_free(r);
  floe_manifest_list_free(list);
  floe_manifest_writer_free(dw);
  floe_manifest_writer_free(xw);
  floe_iceberg_partition_spec_free(spec);
  floe_iceberg_schema_free(schema);
}

/* v1: snapshot_id required, block_size_in_bytes written, no content key;
 * reading gives sequence number 0 everywhere. */
static void test_v1_manifest_and_list_round_trip(void) {
  const char *dir = test_tmpdir("manifest_v1");
  REQUIRE(dir != NULL);
  floe_error err = {0};
  floe_iceberg_schema *schema = make_schema();
  floe_iceberg_partition_spec *spec = NULL;
  REQUIRE_OK(floe_iceberg_partition_spec_new(&spec, 0, &err), &err);
  int32_t last = 999;
  REQUIRE_OK(floe_iceberg_partition_spec_add_field(spec, schema, "d", "month", NULL, &last,
                                                   &err),
             &err);
  char path[4200], list_path[4200];
  snprintf(path, sizeof path, "%s/m.avro", dir);
  snprintf(list_path, sizeof list_path, "%s/l.avro", dir);
  floe_manifest_writer_options bad = {1, schema, spec, FLOE_MANIFEST_DELETES, 5};
  floe_manifest_writer *w = NULL;
  CHECK(floe_manifest_writer_open(&w, test_io(), path, &bad, &err) == FLOE_EINVAL);
  floe_manifest_writer_options options = {1, schema, spec, FLOE_MANIFEST_DATA, 5};
  REQUIRE_OK(floe_manifest_writer_open(&w, test_io(), path, &options, &err), &err);
  floe_iceberg_value month = ival(650);
  floe_manifest_entry entry;
  memset(&entry, 0, sizeof entry);
  entry.status = FLOE_ENTRY_ADDED;
  entry.file.file_path = "file:///t/data/a.avro";
  entry.file.file_format = "AVRO";
  entry.file.record_count = 3;
  entry.file.file_size_in_bytes = 300;
  entry.file.n_partition = 1;
  entry.file.partition = &month;
  REQUIRE_OK(floe_manifest_writer_add(w, &entry, &err), &err);
  floe_manifest_file mf;
  REQUIRE_OK(floe_manifest_writer_close(w, &mf, &err), &err);
  char *v = header_value(path, "content");
  CHECK(v == NULL);
  free(v);
  v = header_value(path, "format-version");
  CHECK_STR_EQ(v, "1");
  free(v);
  v = header_value(path, "avro.schema");
  CHECK(v != NULL && strstr(v, "{\"name\":\"snapshot_id\",\"type\":\"long\",\"field-id\":1}") != NULL);
  CHECK(v != NULL && strstr(v, "{\"name\":\"block_size_in_bytes\",\"type\":\"long\",\"field-id\":105}") != NULL);
  CHECK(v != NULL && strstr(v, "sequence_number") == NULL && strstr(v, "\"content\"") == NULL);
  free(v);
  floe_manifest_list_options lo = {1, 5, false, 0, 0, 0};
  REQUIRE_OK(floe_manifest_list_write(test_io(), list_path, &lo, &mf, 1, &err), &err);
  v = header_value(list_path, "sequence-number");
  CHECK(v == NULL);
  free(v);
  v = header_value(list_path, "avro.schema");
  CHECK(v != NULL && strstr(v, "min_sequence_number") == NULL);
  CHECK(v != NULL && strstr(v, "{\"name\":\"added_snapshot_id\",\"type\":[\"null\",\"long\"]") != NULL);
  free(v);
  floe_manifest_list *list = NULL;
  REQUIRE_OK(floe_manifest_list_read(test_io(), list_path, &list, &err), &err);
  REQUIRE(list->n_files == 1);
  CHECK_INT_EQ(list->files[0].sequence_number, 0);
  CHECK_INT_EQ(list->files[0].content, FLOE_MANIFEST_DATA);
  CHECK_INT_EQ(list->files[0].added_snapshot_id, 5);
  CHECK_INT_EQ(list->files[0].added_files_count, 1);
  CHECK_INT_EQ(list->files[0].added_rows_count, 3);
  floe_manifest_reader *r = NULL;
  const floe_manifest_entry *e = NULL;
  REQUIRE_OK(floe_manifest_reader_open(&r, test_io(), path, &list->files[0], NULL, &err),
             &err);
  CHECK_INT_EQ(floe_manifest_reader_format_version(r), 1);
  REQUIRE_OK(floe_manifest_reader_next(r, &e, &err), &err);
  REQUIRE(e != NULL);
  CHECK(e->has_sequence_number && e->sequence_number == 0);
  CHECK(e->has_file_sequence_number && e->file_sequence_number == 0);
  CHECK(e->snapshot_id == 5);
  CHECK_INT_EQ(e->file.content, FLOE_CONTENT_DATA);
  REQUIRE(e->file.n_partition == 1);
  CHECK_INT_EQ(e->file.partition[0].v.i32, 650);
  floe_manifest_reader_free(r);
  floe_manifest_list_free(list);
  floe_manifest_writer_free(w);
  floe_iceberg_partition_spec_free(spec);
  floe_iceberg_schema_free(schema);
}

static void test_writer_rejects_bad_entries(void) {
  const char *dir = test_tmpdir("manifest_reject");
  REQUIRE(dir != NULL);
  floe_error err = {0};
  floe_iceberg_schema *schema = make_schema();
  floe_iceberg_partition_spec *spec = make_spec(schema);
  REQUIRE(spec != NULL);
  char path[4200];
  snprintf(path, sizeof path, "%s/m.avro", dir);
  floe_manifest_writer_options options = {2, schema, spec, FLOE_MANIFEST_DATA, 1};
  floe_manifest_writer *w = NULL;
  REQUIRE_OK(floe_manifest_writer_open(&w, test_io(), path, &options, &err), &err);
  sample s;
  make_sample(&s);
  floe_manifest_entry e = s.entries[2];
  e.has_sequence_number = false;
  CHECK(floe_manifest_writer_add(w, &e, &err) == FLOE_EINVAL);
  CHECK(strstr(err.message, "EXISTING entry needs its data and file sequence numbers") != NULL);
  e = s.entries[0];
  e.file.n_partition = 2;
  CHECK(floe_manifest_writer_add(w, &e, &err) == FLOE_EINVAL);
  CHECK(strstr(err.message, "partition tuple has 2 values, spec 3 has 11 fields") != NULL);
  e = s.entries[0];
  e.file.content = FLOE_CONTENT_EQUALITY_DELETES;
  CHECK(floe_manifest_writer_add(w, &e, &err) == FLOE_EINVAL);
  floe_iceberg_value part[N_PART];
  memcpy(part, s.part[0], sizeof part);
  part[0] = dval(1000000000); /* 10 digits in decimal(9,2) */
  e = s.entries[0];
  e.file.partition = part;
  CHECK(floe_manifest_writer_add(w, &e, &err) == FLOE_ERANGE);
  CHECK(strstr(err.message, "partition field 'price': decimal value 10000000.00 exceeds "
                            "precision 9") != NULL);
  memcpy(part, s.part[0], sizeof part);
  part[7] = bval(uuid_a, 15);
  e.file.partition = part;
  CHECK(floe_manifest_writer_add(w, &e, &err) == FLOE_EINVAL);
  /* Still usable; the rejected entries left no trace. */
  REQUIRE_OK(floe_manifest_writer_add(w, &s.entries[0], &err), &err);
  floe_manifest_file mf;
  REQUIRE_OK(floe_manifest_writer_close(w, &mf, &err), &err);
  CHECK_INT_EQ(mf.added_files_count, 1);
  CHECK(floe_manifest_writer_add(w, &s.entries[0], &err) == FLOE_EINVAL);
  floe_manifest_writer_free(w);

  /* A spec whose source column is not in the schema. */
  floe_iceberg_column cols[] = {{1, "id", true, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL}};
  floe_iceberg_schema *small = NULL;
  REQUIRE_OK(floe_iceberg_schema_new(&small, 1, cols, 1, &err), &err);
  floe_manifest_writer_options bad = {2, small, spec, FLOE_MANIFEST_DATA, 1};
  snprintf(path, sizeof path, "%s/m2.avro", dir);
  CHECK(floe_manifest_writer_open(&w, test_io(), path, &bad, &err) == FLOE_EINVAL);
  CHECK(strstr(err.message, "source column id 2 is not in schema 1") != NULL);
  floe_iceberg_schema_free(small);

  /* Not a manifest at all. */
  const char *weather = test_fixture("avro/apache-avro/weather.avro");
  if (weather != NULL) {
    floe_manifest_reader *r = NULL;
    CHECK(floe_manifest_reader_open(&r, test_io(), weather, NULL, NULL, &err) == FLOE_EFORMAT);
    floe_manifest_list *list = NULL;
    CHECK(floe_manifest_list_read(test_io(), weather, &list, &err) == FLOE_EFORMAT);
  }
  floe_manifest_reader *r = NULL;
  snprintf(path, sizeof path, "%s/absent.avro", dir);
  CHECK(floe_manifest_reader_open(&r, test_io(), path, NULL, NULL, &err) == FLOE_ENOTFOUND);
  floe_iceberg_partition_spec_free(spec);
  floe_iceberg_schema_free(schema);
}

/* Values from a Spark-written manifest, as avsc decodes them. */
static void test_fixture_spark_manifest_values(void) {
  const char *m = test_fixture("iceberg/icebird_spark_rename_column/metadata/"
                               "abf62b15-903b-40b6-9e6b-26bcdceac9b3-m0.avro");
  if (m == NULL) SKIP("../shared/fixtures is absent");
  char path[4096];
  snprintf(path, sizeof path, "%s", m);
  floe_error err = {0};
  floe_manifest_reader *r = NULL;
  REQUIRE_OK(floe_manifest_reader_open(&r, test_io(), path, NULL, NULL, &err), &err);
  const floe_iceberg_partition_spec *spec = floe_manifest_reader_spec(r);
  REQUIRE(spec->n_fields == 2);
  CHECK_STR_EQ(spec->fields[0].name, "id_bucket");
  CHECK_INT_EQ(floe_manifest_reader_partition_types(r)[1].id, FLOE_ICEBERG_DATE);
  const floe_manifest_entry *e = NULL;
  REQUIRE_OK(floe_manifest_reader_next(r, &e, &err), &err);
  REQUIRE(e != NULL);
  CHECK(e->snapshot_id == 5276958600260276572LL && !e->has_sequence_number);
  CHECK_INT_EQ(e->file.partition[0].v.i32, 3);
  CHECK(e->file.partition[1].is_null);
  CHECK_INT_EQ(e->file.file_size_in_bytes, 1353);
  REQUIRE(e->file.n_columns == 5);
  CHECK_INT_EQ(e->file.columns[1].field_id, 2);
  CHECK_INT_EQ(e->file.columns[1].column_size, 52);
  CHECK_INT_EQ(e->file.columns[2].null_count, 1);
  CHECK(e->file.columns[2].lower_bound == NULL); /* all-null date column */
  CHECK(!e->file.columns[0].has_nan_count);
  REQUIRE(e->file.columns[1].lower_bound != NULL);
  CHECK(e->file.columns[1].lower_bound_len == 10 &&
        memcmp(e->file.columns[1].lower_bound, "Cottontail", 10) == 0);
  CHECK(e->file.n_split_offsets == 1 && e->file.split_offsets[0] == 4);
  CHECK(e->file.has_sort_order_id && e->file.sort_order_id == 0);
  REQUIRE_OK(floe_manifest_reader_next(r, &e, &err), &err);
  REQUIRE(e != NULL);
  CHECK_INT_EQ(e->file.partition[0].v.i32, 2);
  CHECK_INT_EQ(e->file.partition[1].v.i32, 18994);
  floe_manifest_reader_free(r);
  /* Its Iceberg 1.0 list names the counts added_data_files_count. */
  const char *l = test_fixture("iceberg/icebird_spark_rename_column/metadata/"
                               "snap-5276958600260276572-1-abf62b15-903b-40b6-9e6b-26bcdceac9b3.avro");
  floe_manifest_list *list = NULL;
  REQUIRE_OK(floe_manifest_list_read(test_io(), l, &list, &err), &err);
  REQUIRE(list->n_files == 1);
  CHECK_INT_EQ(list->files[0].added_files_count, 3);
  CHECK_INT_EQ(list->files[0].added_rows_count, 4);
  CHECK_INT_EQ(list->files[0].manifest_length, 7506);
  REQUIRE(list->files[0].n_partitions == 2);
  static const uint8_t lo[] = {0x31, 0x4a, 0, 0}, hi[] = {0x32, 0x4a, 0, 0};
  CHECK(list->files[0].partitions[1].contains_null);
  check_bytes(list->files[0].partitions[1].lower_bound,
              list->files[0].partitions[1].lower_bound_len, lo, 4, "date lower");
  check_bytes(list->files[0].partitions[1].upper_bound,
              list->files[0].partitions[1].upper_bound_len, hi, 4, "date upper");
  floe_manifest_list_free(list);
}

/* set_metrics copies Parquet writer metrics into a content file. */
static void test_set_metrics_from_parquet_metrics(void) {
  floe_error err = {0};
  uint8_t lo[4] = {1, 0, 0, 0}, hi[4] = {7, 0, 0, 0};
  floe_parquet_column_metrics cols[2] = {
      {1, 100, 10, 1, false, 0, lo, 4, hi, 4},
      {2, 50, 10, 0, true, 3, NULL, 0, NULL, 0},
  };
  int64_t offsets[1] = {4};
  floe_parquet_file_metrics m = {10, 999, 2, cols, 1, offsets};
  floe_iceberg_content_file f;
  memset(&f, 0, sizeof f);
  REQUIRE_OK(floe_iceberg_content_file_set_metrics(&f, &m, &err), &err);
  CHECK_INT_EQ(f.record_count, 10);
  CHECK_INT_EQ(f.file_size_in_bytes, 999);
  REQUIRE(f.n_columns == 2);
  CHECK(f.columns[0].has_column_size && f.columns[0].column_size == 100);
  CHECK(f.columns[0].null_count == 1 && !f.columns[0].has_nan_count);
  CHECK(f.columns[1].has_nan_count && f.columns[1].nan_count == 3);
  CHECK(f.columns[0].lower_bound == lo && f.columns[0].upper_bound_len == 4);
  CHECK(f.split_offsets == offsets && f.n_split_offsets == 1);
  floe_free(f.columns);
}

/* ==== allocation failures =============================================== */

static int alloc_scenario(const char *dir, long round, floe_error *err) {
  int rc = 0;
  floe_iceberg_schema *schema = make_schema();
  floe_iceberg_partition_spec *spec = schema ? make_spec(schema) : NULL;
  floe_manifest_writer *w = NULL;
  floe_manifest_reader *r = NULL;
  floe_manifest_list *list = NULL;
  char path[4200], list_path[4200];
  snprintf(path, sizeof path, "%s/m%ld.avro", dir, round);
  snprintf(list_path, sizeof list_path, "%s/l%ld.avro", dir, round);
  if (spec == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "setup: out of memory");
    goto cleanup;
  }
  sample s;
  make_sample(&s);
  floe_manifest_writer_options options = {2, schema, spec, FLOE_MANIFEST_DATA, 9};
  FLOE_TRY(floe_manifest_writer_open(&w, test_io(), path, &options, err));
  for (int i = 0; i < 4; i++) FLOE_TRY(floe_manifest_writer_add(w, &s.entries[i], err));
  floe_manifest_file mf;
  FLOE_TRY(floe_manifest_writer_close(w, &mf, err));
  floe_manifest_list_options lo = {2, 9, false, 0, 3, 0};
  FLOE_TRY(floe_manifest_list_write(test_io(), list_path, &lo, &mf, 1, err));
  FLOE_TRY(floe_manifest_list_read(test_io(), list_path, &list, err));
  FLOE_TRY(floe_manifest_reader_open(&r, test_io(), path, &list->files[0], NULL, err));
  int n = 0;
  for (;;) {
    const floe_manifest_entry *e = NULL;
    FLOE_TRY(floe_manifest_reader_next(r, &e, err));
    if (e == NULL) break;
    floe_iceberg_content_file copy;
    FLOE_TRY(floe_iceberg_content_file_copy(&copy, &e->file, err));
    floe_iceberg_content_file_free(&copy);
    n++;
  }
  if (n != 4) rc = floe_error_set(err, FLOE_EVALIDATE, "read %d entries", n);
cleanup:
  floe_manifest_reader_free(r);
  floe_manifest_list_free(list);
  floe_manifest_writer_free(w);
  floe_iceberg_partition_spec_free(spec);
  floe_iceberg_schema_free(schema);
  remove(path);
  remove(list_path);
  return rc;
}

static void test_allocation_failure_sweep(void) {
  const char *d = test_tmpdir("manifest_alloc");
  REQUIRE(d != NULL);
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", d);
  REQUIRE(test_io() != NULL);
  floe_error err = {0};
  long before = floe_alloc_calls();
  REQUIRE_OK(alloc_scenario(dir, 0, &err), &err);
  long calls = floe_alloc_calls() - before;
  int failures = 0, misreported = 0;
  for (long n = 1; n <= calls + 1; n++) {
    floe_error_init(&err);
    floe_alloc_fail_after(n);
    int rc = alloc_scenario(dir, n, &err);
    floe_alloc_fail_after(0);
    if (rc != 0) {
      failures++;
      /* The Avro schema parser reports a failed allocation inside jansson
       * as invalid JSON (format/avro/schema.c); the schema floe generates
       * is valid, so count those as allocation failures. */
      if (rc == FLOE_EFORMAT && strstr(err.message, "avro schema: invalid JSON") != NULL) {
        misreported++;
        continue;
      }
      if (rc != FLOE_ENOMEM)
        TEST_FAIL_AT(__FILE__, __LINE__, "allocation %ld: rc %d (%s), expected ENOMEM", n,
                     rc, err.message);
    }
  }
  printf("    %ld allocations, %d failing runs: ENOMEM, or %d reported as invalid "
         "JSON by the Avro schema parser\n",
         calls, failures, misreported);
  CHECK(failures >= calls - 2);
  CHECK(calls > 50);
}

int main(void) {
  RUN(test_fixture_every_manifest_and_list_decodes);
  RUN(test_fixture_live_files_match_expected_snapshots);
  RUN(test_fixture_spark_manifest_values);
  RUN(test_written_schemas_equal_iceberg_java_bytes);
  RUN(test_partitioned_data_manifest_round_trip);
  RUN(test_null_snapshot_id_is_inherited);
  RUN(test_v3_delete_manifest_and_list_round_trip);
  RUN(test_v1_manifest_and_list_round_trip);
  RUN(test_writer_rejects_bad_entries);
  RUN(test_set_metrics_from_parquet_metrics);
  RUN(test_allocation_failure_sweep);
  floe_io_free(test_io());
  return test_report();
}
