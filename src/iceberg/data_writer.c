/*
 * iceberg/data_writer: Iceberg data files from Arrow batches
 * (include/floe/table_writer.h), and the file machinery the delete writers
 * share (table_writer_internal.h).
 *
 * A batch goes through four steps. Its columns are matched to the file
 * schema by field id (absent optional columns become null columns) and
 * checked before any row is written, so a rejected batch leaves the writer
 * as it was. Each partition field's transform is applied to its source
 * column once per batch (floe_iceberg_transform_column), and each row's
 * tuple is looked up in a hash table of the partitions seen so far (a run
 * of rows with one tuple costs one comparison per row). Rows are then
 * grouped by partition: a batch that falls in one partition is written as
 * it is, otherwise each partition's rows are gathered into their own
 * columns. Finally each partition's rows go to that partition's open
 * Parquet file in slices sized from the file's bytes per row, so a file is
 * rolled close to the target size (Iceberg write.target-file-size-bytes)
 * whatever the batch size.
 *
 * At most max_open files are open: opening one more finishes the least
 * recently used (Spark's fanout writer has no bound; Iceberg's clustered
 * writer keeps one; this is in between, so memory stays bounded however
 * the input is ordered).
 *
 * Sorted mode (options.sort_order): a batch is checked and copied into the
 * sort buffer shared with sorted compaction (maintain_sort.c) instead of
 * being written; a full buffer (and close) sorts its rows, writes them
 * through the steps above and finishes every open file, so a file never
 * mixes two sorted runs and may honestly carry the order's id.
 *
 * Every path the writer creates is remembered. A writer that is aborted,
 * or freed without a successful close, deletes them all: nothing has
 * committed them to a table yet, so they are unreachable orphans and
 * deleting them cannot break a reader (DESIGN.md rule 2 forbids deleting
 * only what a snapshot references).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/truncate.h"
#include "iceberg/iceberg_internal.h"
#include "iceberg/maintain_internal.h"
#include "iceberg/table_writer_internal.h"

#define TW_FIRST_SLICE 256
#define TW_MIN_SLICE 16
#define TW_MAX_SLICE 65536

struct floe_content_file_owned {
  floe_parquet_file_metrics metrics;
  char *path;
  floe_iceberg_value *partition;
  int32_t n_partition;
  floe_iceberg_column_metrics *columns;
  int32_t *equality_ids;
  char *referenced;
};

/* ---- content file lists ---------------------------------------------- */

size_t tw_owned_size(void) { return sizeof(struct floe_content_file_owned); }

static void owned_free(struct floe_content_file_owned *o) {
  floe_parquet_file_metrics_free(&o->metrics);
  floe_free(o->path);
  for (int32_t i = 0; i < o->n_partition; i++) floe_iceberg_value_free(&o->partition[i]);
  floe_free(o->partition);
  floe_free(o->columns);
  floe_free(o->equality_ids);
  floe_free(o->referenced);
  memset(o, 0, sizeof *o);
}

void floe_content_file_list_free(floe_content_file_list *list) {
  if (list == NULL) return;
  for (int32_t i = 0; i < list->n_files; i++) owned_free(&list->owned[i]);
  floe_free(list->owned);
  floe_free(list->files);
  memset(list, 0, sizeof *list);
}

void floe_table_writer_options_init(floe_table_writer_options *options) {
  memset(options, 0, sizeof *options);
}

int floe_table_writer_options_from_metadata(
    floe_table_writer_options *options, const floe_iceberg_metadata *metadata,
    floe_error *err) {
  options->schema = floe_iceberg_metadata_current_schema(metadata);
  options->spec = floe_iceberg_metadata_default_spec(metadata);
  if (options->schema == NULL)
    return floe_error_set(err, FLOE_EINVAL, "table metadata: no current schema %d",
                          metadata->current_schema_id);
  if (options->spec == NULL)
    return floe_error_set(err, FLOE_EINVAL, "table metadata: no default spec %d",
                          metadata->default_spec_id);
  options->location = metadata->location;
  options->properties = metadata->properties;
  options->n_properties = metadata->n_properties;
  return FLOE_OK;
}

/* ---- properties ------------------------------------------------------- */

static const char *property(const floe_table_writer_options *o, const char *key) {
  for (int32_t i = 0; i < o->n_properties; i++)
    if (o->properties[i].key != NULL && strcmp(o->properties[i].key, key) == 0)
      return o->properties[i].value;
  return NULL;
}

static int property_i64(const floe_table_writer_options *o, const char *key,
                        int64_t fallback, int64_t min, int64_t *out, floe_error *err) {
  const char *text = property(o, key);
  *out = fallback;
  if (text == NULL) return FLOE_OK;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (end == text || *end != '\0' || errno != 0 || v < min)
    return floe_error_set(err, FLOE_EINVAL,
                          "table property %s: '%s' is not an integer >= %" PRId64, key, text,
                          min);
  *out = v;
  return FLOE_OK;
}

/* "none", "counts", "full", "truncate(N)" (case-insensitive, as Iceberg's
 * MetricsModes.fromString). */
static int parse_metrics_mode(const char *text, tw_metrics_mode *out) {
  if (strcasecmp(text, "none") == 0) {
    out->kind = TW_METRICS_NONE;
  } else if (strcasecmp(text, "counts") == 0) {
    out->kind = TW_METRICS_COUNTS;
  } else if (strcasecmp(text, "full") == 0) {
    out->kind = TW_METRICS_FULL;
  } else if (strncasecmp(text, "truncate(", 9) == 0) {
    char *end = NULL;
    errno = 0;
    long n = strtol(text + 9, &end, 10);
    if (end == text + 9 || strcmp(end, ")") != 0 || errno != 0 || n <= 0 || n > 1 << 20)
      return -1;
    out->kind = TW_METRICS_TRUNCATE;
    out->length = (int32_t)n;
  } else {
    return -1;
  }
  return 0;
}

static int read_metrics_modes(tw_core *c, const floe_table_writer_options *o,
                              floe_error *err) {
  tw_metrics_mode fallback = {TW_METRICS_TRUNCATE, 16};
  const char *text = property(o, "write.metadata.metrics.default");
  if (text != NULL && parse_metrics_mode(text, &fallback) < 0)
    return floe_error_set(err, FLOE_EINVAL,
                          "table property write.metadata.metrics.default: '%s' is not "
                          "none, counts, full or truncate(N)",
                          text);
  /* Iceberg MetricsConfig: without an explicit default, only the first
   * max-inferred-column-defaults columns get truncate(16). */
  int64_t max_inferred;
  int rc = property_i64(o, "write.metadata.metrics.max-inferred-column-defaults", 100, 0,
                        &max_inferred, err);
  if (rc < 0) return rc;
  for (int32_t j = 0; j < c->n_write; j++) {
    tw_metrics_mode mode = fallback;
    if (text == NULL && j >= max_inferred) mode.kind = TW_METRICS_NONE;
    char key[600];
    snprintf(key, sizeof key, "write.metadata.metrics.column.%s", c->write_fields[j]->name);
    const char *col = property(o, key);
    if (col != NULL && parse_metrics_mode(col, &mode) < 0)
      return floe_error_set(err, FLOE_EINVAL,
                            "table property %s: '%s' is not none, counts, full or "
                            "truncate(N)",
                            key, col);
    if (c->content == FLOE_CONTENT_POSITION_DELETES) mode.kind = TW_METRICS_FULL;
    c->write_modes[j] = mode;
  }
  return FLOE_OK;
}

static int read_parquet_options(tw_core *c, const floe_table_writer_options *o,
                                floe_error *err) {
  floe_parquet_writer_options_init(&c->pq);
  const char *codec = property(o, "write.parquet.compression-codec");
  if (codec == NULL || strcasecmp(codec, "zstd") == 0)
    c->pq.compression = FLOE_PARQUET_ZSTD;
  else if (strcasecmp(codec, "snappy") == 0)
    c->pq.compression = FLOE_PARQUET_SNAPPY;
  else if (strcasecmp(codec, "gzip") == 0)
    c->pq.compression = FLOE_PARQUET_GZIP;
  else if (strcasecmp(codec, "uncompressed") == 0 || strcasecmp(codec, "none") == 0)
    c->pq.compression = FLOE_PARQUET_UNCOMPRESSED;
  else
    return floe_error_set(err, FLOE_EUNSUPPORTED,
                          "table property write.parquet.compression-codec: floe writes "
                          "zstd, snappy, gzip or uncompressed, not '%s'",
                          codec);
  int64_t v;
  int rc = property_i64(o, "write.parquet.compression-level", -1, 1, &v, err);
  if (rc < 0) return rc;
  if (v > 0) {
    int64_t max = c->pq.compression == FLOE_PARQUET_ZSTD ? 22
                  : c->pq.compression == FLOE_PARQUET_GZIP ? 9 : INT64_MAX;
    if (v > max)
      return floe_error_set(err, FLOE_EINVAL,
                            "table property write.parquet.compression-level: %" PRId64
                            " is above %s's maximum %" PRId64,
                            v, codec != NULL ? codec : "zstd", max);
    c->pq.compression_level = (int)v;
  }
  rc = property_i64(o, "write.parquet.row-group-size-bytes", INT64_C(134217728), 1,
                    &c->pq.row_group_bytes, err);
  if (rc == FLOE_OK)
    rc = property_i64(o, "write.parquet.page-size-bytes", INT64_C(1048576), 1,
                      &c->pq.page_bytes, err);
  if (rc == FLOE_OK)
    rc = property_i64(o, "write.parquet.dict-size-bytes", INT64_C(2097152), 1,
                      &c->pq.dictionary_page_bytes, err);
  if (rc < 0) return rc;
  /* Bounds are truncated per column afterwards (apply_metrics_modes). */
  c->pq.truncate_length = 0;
  return FLOE_OK;
}

/* ---- set-up ----------------------------------------------------------- */

static char *join_data_path(const floe_table_writer_options *o) {
  const char *explicit_path = property(o, "write.data.path");
  floe_buf b = FLOE_BUF_INIT;
  int rc;
  if (explicit_path != NULL && explicit_path[0] != '\0') {
    rc = floe_buf_append_str(&b, explicit_path);
  } else {
    size_t n = strlen(o->location);
    while (n > 1 && o->location[n - 1] == '/') n--;
    rc = floe_buf_append(&b, o->location, n);
    if (rc == FLOE_OK) rc = floe_buf_append_str(&b, "/data");
  }
  while (rc == FLOE_OK && b.len > 1 && b.data[b.len - 1] == '/') b.len--;
  if (rc == FLOE_OK) rc = floe_buf_terminate(&b);
  if (rc < 0) {
    floe_buf_free(&b);
    return NULL;
  }
  return (char *)floe_buf_detach(&b, NULL);
}

static int init_partitioning(tw_core *c, floe_error *err) {
  const floe_iceberg_partition_spec *spec = c->spec;
  c->n_part = spec != NULL ? spec->n_fields : 0;
  c->spec_id = spec != NULL ? spec->spec_id : 0;
  if (c->n_part == 0) return FLOE_OK;
  int rc = floe_iceberg_partition_spec_check(spec, c->schema, err);
  if (rc < 0) return rc;
  c->part_types = floe_calloc((size_t)c->n_part, sizeof *c->part_types);
  c->part_sources = floe_calloc((size_t)c->n_part, sizeof *c->part_sources);
  c->part_arrow = floe_calloc((size_t)c->n_part, sizeof *c->part_arrow);
  if (c->part_types == NULL || c->part_sources == NULL || c->part_arrow == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "table writer: out of memory");
  for (int32_t i = 0; i < c->n_part; i++) {
    const floe_iceberg_partition_field *f = &spec->fields[i];
    if (f->transform.kind == FLOE_TRANSFORM_UNKNOWN || f->n_source_ids > 1)
      return floe_error_set(err, FLOE_EUNSUPPORTED,
                            "partition field '%s': transform '%s' cannot be written by floe",
                            f->name, f->transform_text ? f->transform_text : "?");
    const floe_iceberg_field *src = floe_iceberg_schema_find_id(c->schema, f->source_id);
    if (src == NULL)
      return floe_error_set(err, FLOE_EINVAL, "partition field '%s': no column with id %d",
                            f->name, f->source_id);
    c->part_sources[i] = src;
    rc = floe_iceberg_transform_result_type(&f->transform, &src->type, &c->part_types[i], err);
    floe_arrow_type_info arrow;
    if (rc == FLOE_OK) rc = floe_iceberg_type_to_arrow(&c->part_types[i], &arrow, err);
    if (rc < 0) return floe_error_prefix(err, "partition field '%s'", f->name), rc;
    rc = floe_arrow_schema_init(&c->part_arrow[i], f->name, &arrow, true, -1);
    if (rc < 0) return floe_error_set(err, rc, "table writer: out of memory");
  }
  return FLOE_OK;
}

static int init_write_schema(tw_core *c, floe_error *err) {
  const floe_iceberg_schema *fs = c->file_schema;
  c->n_write = fs->root.n_fields;
  size_t n = c->n_write > 0 ? (size_t)c->n_write : 1;
  c->write_fields = floe_calloc(n, sizeof *c->write_fields);
  c->write_types = floe_calloc(n, sizeof *c->write_types);
  c->write_modes = floe_calloc(n, sizeof *c->write_modes);
  if (c->write_fields == NULL || c->write_types == NULL || c->write_modes == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "table writer: out of memory");
  for (int32_t j = 0; j < c->n_write; j++) {
    const floe_iceberg_field *f = &fs->root.fields[j];
    c->write_fields[j] = f;
    /* Primitives, lists, structs and maps nested to any depth (every level
     * must map to Arrow; floe_iceberg_type_to_arrow names the one that
     * does not). */
    int rc = floe_iceberg_type_to_arrow(&f->type, &c->write_types[j], err);
    if (rc < 0) return floe_error_prefix(err, "column '%s'", f->name), rc;
  }
  int rc = floe_iceberg_schema_to_arrow(fs, NULL, 0, &c->write_schema, err);
  if (rc < 0) return rc;
  return floe_iceberg_schema_to_json(fs, &c->schema_json, err);
}

int tw_core_init(tw_core *c, const floe_table_writer_options *o, tw_params *p,
                 floe_error *err) {
  memset(c, 0, sizeof *c);
  floe_arena_init(&c->arena, 0);
  c->owned_file_schema = p->owns_file_schema ? p->file_schema : NULL;
  p->owns_file_schema = false;
  if (o == NULL || o->schema == NULL || o->location == NULL || o->io == NULL ||
      o->file_prefix == NULL || o->file_prefix[0] == '\0')
    return floe_error_set(err, FLOE_EINVAL,
                          "table writer: schema, location, io and file_prefix are required");
  if (o->max_open_files < 0 || o->target_file_size_bytes < 0 || o->max_buffered_deletes < 0 ||
      o->max_row_group_bytes < 0)
    return floe_error_set(err, FLOE_EINVAL, "table writer: negative limit in options");
  c->schema = o->schema;
  c->spec = o->spec;
  c->io = o->io;
  c->content = p->content;
  c->suffix = p->suffix != NULL ? p->suffix : "";
  c->has_sort_order_id = p->has_sort_order_id;
  c->file_schema = p->file_schema != NULL ? p->file_schema : o->schema;
  c->max_open = o->max_open_files > 0 ? o->max_open_files : FLOE_TABLE_WRITER_DEFAULT_MAX_OPEN_FILES;
  c->max_buffered_deletes = o->max_buffered_deletes > 0
                                ? o->max_buffered_deletes
                                : FLOE_TABLE_WRITER_DEFAULT_MAX_BUFFERED_DELETES;
  int rc = FLOE_OK;
  if (o->target_file_size_bytes > 0)
    c->target_size = o->target_file_size_bytes;
  else
    FLOE_TRY(property_i64(o, "write.target-file-size-bytes",
                          FLOE_TABLE_WRITER_DEFAULT_TARGET_FILE_SIZE, 1, &c->target_size, err));
  FLOE_TRY(read_parquet_options(c, o, err));
  if (o->max_row_group_bytes > 0 && o->max_row_group_bytes < c->pq.row_group_bytes)
    c->pq.row_group_bytes = o->max_row_group_bytes;
  c->prefix = floe_strdup(o->file_prefix);
  c->data_path = join_data_path(o);
  c->open_files = floe_calloc((size_t)c->max_open, sizeof *c->open_files);
  if (c->prefix == NULL || c->data_path == NULL || c->open_files == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "table writer: out of memory");
    goto cleanup;
  }
  if (p->n_equality_ids > 0) {
    c->equality_ids = floe_malloc((size_t)p->n_equality_ids * sizeof *c->equality_ids);
    if (c->equality_ids == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "table writer: out of memory");
      goto cleanup;
    }
    memcpy(c->equality_ids, p->equality_ids, (size_t)p->n_equality_ids * sizeof(int32_t));
    c->n_equality_ids = p->n_equality_ids;
  }
  FLOE_TRY(init_partitioning(c, err));
  FLOE_TRY(init_write_schema(c, err));
  if (p->full_metrics) {
    for (int32_t j = 0; j < c->n_write; j++) c->write_modes[j].kind = TW_METRICS_FULL;
  } else {
    FLOE_TRY(read_metrics_modes(c, o, err));
  }
  /* Footer key-value metadata as Iceberg's Parquet writers put it. */
  int32_t nkv = 0;
  c->kv_keys[nkv] = "iceberg.schema";
  c->kv_values[nkv++] = c->schema_json;
  if (c->content == FLOE_CONTENT_POSITION_DELETES) {
    c->kv_keys[nkv] = "delete-type";
    c->kv_values[nkv++] = "position";
  } else if (c->content == FLOE_CONTENT_EQUALITY_DELETES) {
    floe_buf ids = FLOE_BUF_INIT;
    for (int32_t i = 0; i < c->n_equality_ids && rc == FLOE_OK; i++)
      rc = floe_buf_appendf(&ids, i ? ", %d" : "%d", c->equality_ids[i]);
    if (rc == FLOE_OK) rc = floe_buf_terminate(&ids);
    if (rc < 0) {
      floe_buf_free(&ids);
      rc = floe_error_set(err, FLOE_ENOMEM, "table writer: out of memory");
      goto cleanup;
    }
    c->delete_ids_text = (char *)floe_buf_detach(&ids, NULL);
    c->kv_keys[nkv] = "delete-type";
    c->kv_values[nkv++] = "equality";
    c->kv_keys[nkv] = "delete-field-ids";
    c->kv_values[nkv++] = c->delete_ids_text;
  }
  c->pq.n_key_value = nkv;
  c->pq.keys = c->kv_keys;
  c->pq.values = c->kv_values;
cleanup:
  return rc;
}

/* ---- partitions ------------------------------------------------------- */

static void hash_bytes(uint64_t *h, const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) {
    *h ^= b[i];
    *h *= UINT64_C(1099511628211); /* FNV-1a */
  }
}

static int tuple_hash(tw_core *c, const floe_iceberg_value *values, uint64_t *out,
                      floe_error *err) {
  uint64_t h = UINT64_C(14695981039346656037);
  for (int32_t i = 0; i < c->n_part; i++) {
    uint8_t tag = values[i].is_null ? 0 : 1;
    hash_bytes(&h, &tag, 1);
    if (values[i].is_null) continue;
    floe_buf_reset(&c->scratch);
    int rc = floe_iceberg_value_to_binary(&c->part_types[i], &values[i], &c->scratch, err);
    if (rc < 0) return rc;
    uint64_t len = c->scratch.len;
    hash_bytes(&h, &len, sizeof len);
    hash_bytes(&h, c->scratch.data, c->scratch.len);
  }
  *out = h;
  return FLOE_OK;
}

static bool tuple_equal(const tw_core *c, const floe_iceberg_value *a,
                        const floe_iceberg_value *b) {
  for (int32_t i = 0; i < c->n_part; i++)
    if (!floe_iceberg_value_equal(&c->part_types[i], &a[i], &b[i])) return false;
  return true;
}

static int grow_slots(tw_core *c) {
  uint32_t n = c->n_slots ? c->n_slots * 2 : 64;
  int32_t *slots = floe_malloc(n * sizeof *slots);
  if (slots == NULL) return FLOE_ENOMEM;
  for (uint32_t i = 0; i < n; i++) slots[i] = -1;
  for (int32_t p = 0; p < c->n_parts; p++) {
    uint32_t s = (uint32_t)c->parts[p].hash & (n - 1);
    while (slots[s] >= 0) s = (s + 1) & (n - 1);
    slots[s] = p;
  }
  floe_free(c->slots);
  c->slots = slots;
  c->n_slots = n;
  return FLOE_OK;
}

static void partition_free(tw_core *c, tw_partition *p) {
  if (p->values != NULL)
    for (int32_t i = 0; i < c->n_part; i++) floe_iceberg_value_free(&p->values[i]);
  floe_free(p->values);
  floe_free(p->path);
  floe_free(p->deletes);
}

int tw_partition_find(tw_core *c, const floe_iceberg_value *values, int32_t *out_index,
                      floe_error *err) {
  uint64_t h;
  int rc = tuple_hash(c, values, &h, err);
  if (rc < 0) return rc;
  if (c->n_slots > 0) {
    for (uint32_t s = (uint32_t)h & (c->n_slots - 1); c->slots[s] >= 0;
         s = (s + 1) & (c->n_slots - 1)) {
      tw_partition *p = &c->parts[c->slots[s]];
      if (p->hash == h && tuple_equal(c, p->values, values)) {
        *out_index = c->slots[s];
        return FLOE_OK;
      }
    }
  }
  /* A new partition: copy its values, render its path. */
  tw_partition p;
  memset(&p, 0, sizeof p);
  p.hash = h;
  floe_buf path = FLOE_BUF_INIT;
  p.values = floe_calloc(c->n_part > 0 ? (size_t)c->n_part : 1, sizeof *p.values);
  if (p.values == NULL) goto nomem;
  for (int32_t i = 0; i < c->n_part; i++) {
    if (floe_iceberg_value_copy(&p.values[i], &values[i]) < 0) goto nomem;
  }
  if (c->n_part > 0) {
    rc = floe_iceberg_partition_path(c->spec, c->schema, p.values, &path, err);
    if (rc < 0) goto fail;
  }
  if (floe_buf_terminate(&path) < 0) goto nomem;
  p.path = path.data != NULL ? (char *)floe_buf_detach(&path, NULL) : floe_strdup("");
  if (p.path == NULL) goto nomem;
  if (c->n_parts == c->cap_parts) {
    int32_t cap = c->cap_parts ? c->cap_parts * 2 : 16;
    tw_partition *parts = floe_realloc(c->parts, (size_t)cap * sizeof *parts);
    if (parts == NULL) goto nomem;
    c->parts = parts;
    c->cap_parts = cap;
  }
  if ((uint32_t)(c->n_parts + 1) * 2 > c->n_slots && grow_slots(c) < 0) goto nomem;
  c->parts[c->n_parts] = p;
  uint32_t s = (uint32_t)h & (c->n_slots - 1);
  while (c->slots[s] >= 0) s = (s + 1) & (c->n_slots - 1);
  c->slots[s] = c->n_parts;
  *out_index = c->n_parts++;
  return FLOE_OK;
nomem:
  rc = floe_error_set(err, FLOE_ENOMEM, "table writer: out of memory");
fail:
  floe_buf_free(&path);
  partition_free(c, &p);
  return rc;
}

/* ---- files ------------------------------------------------------------ */

static int sink_write(void *ctx, const void *data, size_t n, floe_error *err) {
  return floe_io_writer_write(ctx, data, n, err);
}

static void file_discard(tw_file *f) {
  if (f == NULL) return;
  floe_parquet_writer_free(f->pw);
  floe_io_writer_abort(f->io);
  floe_free(f->path);
  floe_free(f);
}

static void open_files_remove(tw_core *c, tw_file *f) {
  for (int32_t i = 0; i < c->n_open; i++)
    if (c->open_files[i] == f) {
      c->open_files[i] = c->open_files[--c->n_open];
      break;
    }
  if (f->partition >= 0 && f->partition < c->n_parts && c->parts[f->partition].file == f)
    c->parts[f->partition].file = NULL;
}

int tw_file_open(tw_core *c, int32_t part, tw_file **out, floe_error *err) {
  int rc = FLOE_OK;
  tw_file *f = NULL;
  floe_buf path = FLOE_BUF_INIT;
  *out = NULL;
  if (c->n_open >= c->max_open) {
    tw_file *lru = NULL;
    for (int32_t i = 0; i < c->n_open; i++)
      if (lru == NULL || c->open_files[i]->last_used < lru->last_used) lru = c->open_files[i];
    FLOE_TRY(tw_file_finish(c, lru, NULL, err));
  }
  if (c->n_created == c->cap_created) {
    int32_t cap = c->cap_created ? c->cap_created * 2 : 16;
    char **created = floe_realloc(c->created, (size_t)cap * sizeof *created);
    if (created == NULL) goto nomem;
    c->created = created;
    c->cap_created = cap;
  }
  f = floe_calloc(1, sizeof *f);
  if (f == NULL) goto nomem;
  f->partition = part;
  const char *ppath = c->parts[part].path;
  if (floe_buf_appendf(&path, "%s/%s%s%s-%05d%s.parquet", c->data_path, ppath,
                       ppath[0] ? "/" : "", c->prefix, c->file_counter + 1, c->suffix) < 0 ||
      floe_buf_terminate(&path) < 0)
    goto nomem;
  f->path = (char *)floe_buf_detach(&path, NULL);
  char *remembered = floe_strdup(f->path);
  if (remembered == NULL) goto nomem;
  c->file_counter++;
  rc = floe_io_create(c->io, f->path, &f->io, err);
  if (rc < 0) {
    floe_free(remembered);
    goto cleanup;
  }
  c->created[c->n_created++] = remembered;
  floe_parquet_sink sink = {f->io, sink_write};
  FLOE_TRY(floe_parquet_writer_open(&f->pw, &c->write_schema, &c->pq, sink, err));
  c->open_files[c->n_open++] = f;
  c->parts[part].file = f;
  *out = f;
  f = NULL;
  goto cleanup;
nomem:
  rc = floe_error_set(err, FLOE_ENOMEM, "table writer: out of memory");
cleanup:
  floe_buf_free(&path);
  file_discard(f);
  return rc;
}

/* UTF-8 sequence length from its lead byte. */
static void drop_bound(uint8_t **bound, size_t *len) {
  floe_free(*bound);
  *bound = NULL;
  *len = 0;
}

/* Iceberg's truncate(N) metrics mode (UnicodeUtil.truncateStringMin/Max,
 * BinaryUtil.truncateBinaryMin/Max): the lower bound keeps the first N
 * code points (bytes); the upper bound increments the last of them that
 * can be incremented and drops what follows, or is dropped when none can.
 * Both shrink, so the bounds are edited in place. */
static void truncate_bounds(floe_iceberg_type_id type, int32_t limit,
                            floe_parquet_column_metrics *m) {
  bool utf8 = type == FLOE_ICEBERG_STRING;
  if (!utf8 && type != FLOE_ICEBERG_BINARY && type != FLOE_ICEBERG_FIXED) return;
  if (m->lower_bound != NULL)
    m->lower_bound_len = utf8 ? floe_utf8_prefix_len(m->lower_bound, m->lower_bound_len, limit)
                         : m->lower_bound_len < (size_t)limit ? m->lower_bound_len
                                                              : (size_t)limit;
  if (m->upper_bound != NULL) {
    bool exists;
    m->upper_bound_len =
        utf8 ? floe_utf8_truncate_upper(m->upper_bound, m->upper_bound_len, limit, &exists)
             : floe_binary_truncate_upper(m->upper_bound, m->upper_bound_len, (size_t)limit,
                                          &exists);
    if (!exists) drop_bound(&m->upper_bound, &m->upper_bound_len);
  }
}

/* The leaf field with id `id` anywhere below type t (NULL when absent). */
static const floe_iceberg_field *nested_leaf(const floe_iceberg_type *t, int32_t id) {
  for (int32_t i = 0; i < t->n_fields; i++) {
    const floe_iceberg_field *f = &t->fields[i];
    if (f->id == id) return f;
    const floe_iceberg_field *hit = nested_leaf(&f->type, id);
    if (hit != NULL) return hit;
  }
  return NULL;
}

/* Applies each column's metrics mode to the writer's (full) metrics:
 * none drops the column, counts drops its bounds, truncate(N) shortens
 * string and binary bounds. */
static void apply_metrics_modes(const tw_core *c, floe_parquet_file_metrics *m) {
  int32_t kept = 0;
  for (int32_t i = 0; i < m->n_columns; i++) {
    floe_parquet_column_metrics *col = &m->columns[i];
    int32_t j = 0;
    while (j < c->n_write && c->write_fields[j]->id != col->field_id) j++;
    tw_metrics_mode mode = j < c->n_write ? c->write_modes[j]
                                          : (tw_metrics_mode){TW_METRICS_NONE, 0};
    const floe_iceberg_field *leaf = j < c->n_write ? c->write_fields[j] : NULL;
    if (j == c->n_write) {
      /* A list's element: counts (value and null counts), like its list's
       * mode, never bounds. A leaf inside a nested column takes that
       * column's mode (the Parquet writer kept bounds only for leaves
       * reached through structs). */
      for (int32_t k = 0; k < c->n_write; k++) {
        const floe_iceberg_field *f = c->write_fields[k];
        if (f->type.id == FLOE_ICEBERG_LIST && f->type.fields[0].id == col->field_id &&
            floe_iceberg_type_is_primitive(f->type.fields[0].type.id)) {
          if (c->write_modes[k].kind != TW_METRICS_NONE) mode = (tw_metrics_mode){TW_METRICS_COUNTS, 0};
        } else if ((leaf = nested_leaf(&f->type, col->field_id)) != NULL) {
          mode = c->write_modes[k];
          break;
        }
      }
    }
    if (mode.kind == TW_METRICS_NONE || mode.kind == TW_METRICS_COUNTS) {
      drop_bound(&col->lower_bound, &col->lower_bound_len);
      drop_bound(&col->upper_bound, &col->upper_bound_len);
    } else if (mode.kind == TW_METRICS_TRUNCATE && leaf != NULL) {
      truncate_bounds(leaf->type.id, mode.length, col);
    }
    if (mode.kind != TW_METRICS_NONE) m->columns[kept++] = *col;
  }
  m->n_columns = kept;
}

/* Appends a finished file to the results; takes the path and metrics. */
static int results_add(tw_core *c, char **path, int32_t part, floe_parquet_file_metrics *m,
                       const char *referenced, floe_error *err) {
  floe_content_file_list *list = &c->results;
  if (list->n_files == list->cap) {
    int32_t cap = list->cap ? list->cap * 2 : 8;
    floe_iceberg_content_file *files =
        floe_realloc(list->files, (size_t)cap * sizeof *files);
    if (files == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    list->files = files;
    struct floe_content_file_owned *owned =
        floe_realloc(list->owned, (size_t)cap * sizeof *owned);
    if (owned == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    list->owned = owned;
    list->cap = cap;
  }
  struct floe_content_file_owned o;
  floe_iceberg_content_file f;
  memset(&o, 0, sizeof o);
  memset(&f, 0, sizeof f);
  int rc = FLOE_OK;
  o.partition = floe_calloc(c->n_part > 0 ? (size_t)c->n_part : 1, sizeof *o.partition);
  if (o.partition == NULL) goto nomem;
  for (int32_t i = 0; i < c->n_part; i++) {
    if (floe_iceberg_value_copy(&o.partition[i], &c->parts[part].values[i]) < 0) goto nomem;
    o.n_partition = i + 1;
  }
  if (c->n_equality_ids > 0) {
    o.equality_ids = floe_malloc((size_t)c->n_equality_ids * sizeof *o.equality_ids);
    if (o.equality_ids == NULL) goto nomem;
    memcpy(o.equality_ids, c->equality_ids, (size_t)c->n_equality_ids * sizeof(int32_t));
  }
  if (referenced != NULL && (o.referenced = floe_strdup(referenced)) == NULL) goto nomem;
  apply_metrics_modes(c, m);
  rc = floe_iceberg_content_file_set_metrics(&f, m, err);
  if (rc < 0) goto cleanup;
  o.columns = f.columns;
  o.metrics = *m;
  memset(m, 0, sizeof *m);
  o.path = *path;
  *path = NULL;
  f.content = c->content;
  f.file_path = o.path;
  f.file_format = "PARQUET";
  f.spec_id = c->spec_id;
  f.n_partition = c->n_part;
  f.partition = o.partition;
  f.n_equality_ids = c->n_equality_ids;
  f.equality_ids = o.equality_ids;
  f.has_sort_order_id = c->has_sort_order_id;
  f.sort_order_id = c->sort_order_id;
  f.referenced_data_file = o.referenced;
  list->files[list->n_files] = f;
  list->owned[list->n_files] = o;
  list->n_files++;
  return FLOE_OK;
nomem:
  rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
cleanup:
  owned_free(&o);
  return rc;
}

int tw_file_finish(tw_core *c, tw_file *f, const char *referenced, floe_error *err) {
  floe_parquet_file_metrics m;
  memset(&m, 0, sizeof m);
  open_files_remove(c, f);
  int rc = floe_parquet_writer_close(f->pw, &m, err);
  floe_parquet_writer_free(f->pw);
  f->pw = NULL;
  if (rc == FLOE_OK) {
    rc = floe_io_writer_close(f->io, err);
  } else {
    floe_io_writer_abort(f->io);
  }
  f->io = NULL;
  if (rc == FLOE_OK) rc = results_add(c, &f->path, f->partition, &m, referenced, err);
  if (rc < 0) {
    floe_error_prefix(err, "finishing %s", f->path != NULL ? f->path : "data file");
    c->failed = true;
  }
  floe_parquet_file_metrics_free(&m);
  file_discard(f);
  return rc;
}

int64_t tw_next_slice(const tw_core *c, const tw_file *f) {
  int64_t file_rows = floe_parquet_writer_rows(f->pw);
  if (file_rows == 0) return TW_FIRST_SLICE;
  int64_t est = floe_parquet_writer_estimated_size(f->pw);
  int64_t per_row = est / file_rows > 0 ? est / file_rows : 1;
  int64_t slice = (c->target_size - est) / per_row + 1;
  if (slice < TW_MIN_SLICE) slice = TW_MIN_SLICE;
  if (slice > TW_MAX_SLICE) slice = TW_MAX_SLICE;
  return slice;
}

int tw_write_rows(tw_core *c, int32_t part, const struct ArrowArray *rows, floe_error *err) {
  int64_t n = rows->length, done = 0;
  int rc = FLOE_OK;
  while (done < n) {
    tw_file *f = c->parts[part].file;
    if (f == NULL) FLOE_TRY(tw_file_open(c, part, &f, err));
    f->last_used = ++c->tick;
    int64_t slice = tw_next_slice(c, f);
    if (slice > n - done) slice = n - done;
    struct ArrowArray part_rows = *rows;
    part_rows.offset = rows->offset + done;
    part_rows.length = slice;
    rc = floe_parquet_writer_write(f->pw, &part_rows, err);
    if (rc < 0) {
      floe_error_prefix(err, "%s", f->path);
      goto cleanup;
    }
    done += slice;
    c->rows += slice;
    if (floe_parquet_writer_estimated_size(f->pw) >= c->target_size)
      FLOE_TRY(tw_file_finish(c, f, NULL, err));
  }
cleanup:
  if (rc < 0) c->failed = true;
  return rc;
}

/* ---- batches ---------------------------------------------------------- */

static bool arrow_type_equal(const floe_arrow_type_info *a, const floe_arrow_type_info *b) {
  if (a->id != b->id) return false;
  if (a->id == FLOE_ARROW_DECIMAL128) return a->precision == b->precision && a->scale == b->scale;
  if (a->id == FLOE_ARROW_FIXED) return a->byte_width == b->byte_width;
  return true;
}

static int check_column_type(const struct ArrowSchema *field, const floe_iceberg_field *col,
                             const floe_arrow_type_info *want, floe_error *err) {
  floe_arrow_type_info have;
  int rc = floe_arrow_schema_type(field, &have, err);
  if (rc < 0) return floe_error_prefix(err, "column '%s' (field id %d)", col->name, col->id), rc;
  if (!arrow_type_equal(&have, want)) {
    char a[48], t[48];
    floe_arrow_type_name(&have, a, sizeof a);
    floe_iceberg_type_format(&col->type, t, sizeof t);
    return floe_error_set(err, FLOE_EINVAL,
                          "column '%s' (field id %d): batch has type %s, table column is %s",
                          col->name, col->id, a, t);
  }
  if (have.id == FLOE_ARROW_LIST && col->type.id == FLOE_ICEBERG_LIST) {
    /* The elements are read through the table's element type. */
    floe_arrow_type_info have_element, want_element;
    rc = field->n_children == 1 ? floe_arrow_schema_type(field->children[0], &have_element, err)
                                : floe_error_set(err, FLOE_EINVAL, "list without a child");
    if (rc == FLOE_OK)
      rc = floe_iceberg_type_to_arrow(&col->type.fields[0].type, &want_element, err);
    if (rc < 0) return floe_error_prefix(err, "column '%s' (field id %d)", col->name, col->id), rc;
    if (!arrow_type_equal(&have_element, &want_element)) {
      char a[48], t[48];
      floe_arrow_type_name(&have_element, a, sizeof a);
      floe_iceberg_type_format(&col->type.fields[0].type, t, sizeof t);
      return floe_error_set(err, FLOE_EINVAL,
                            "column '%s' (field id %d): batch has list elements of type %s, "
                            "table elements are %s",
                            col->name, col->id, a, t);
    }
  }
  if (floe_arrow_type_is_nested(have.id)) {
    /* Every nested level is written through the table's types: the batch
     * must hold the same tree (list element, map key and value, struct
     * fields in the table's order). */
    const struct ArrowSchema *kids[64];
    int32_t n = 0;
    if (have.id == FLOE_ARROW_MAP) {
      const struct ArrowSchema *e = field->n_children == 1 ? field->children[0] : NULL;
      if (e == NULL || e->n_children != 2)
        return floe_error_set(err, FLOE_EINVAL, "column '%s' (field id %d): map without entries",
                              col->name, col->id);
      kids[n++] = e->children[0];
      kids[n++] = e->children[1];
    } else {
      for (int64_t i = 0; i < field->n_children && n < 64; i++) kids[n++] = field->children[i];
    }
    if (n != col->type.n_fields)
      return floe_error_set(err, FLOE_EINVAL,
                            "column '%s' (field id %d): batch has %d nested fields, table has %d",
                            col->name, col->id, n, col->type.n_fields);
    for (int32_t i = 0; i < n; i++) {
      const floe_iceberg_field *sub = &col->type.fields[i];
      floe_arrow_type_info sub_want;
      rc = floe_iceberg_type_to_arrow(&sub->type, &sub_want, err);
      if (rc == FLOE_OK) rc = check_column_type(kids[i], sub, &sub_want, err);
      if (rc < 0) return floe_error_prefix(err, "column '%s'", col->name), rc;
    }
  }
  return FLOE_OK;
}

static int null_column(const struct ArrowSchema *field, int64_t length, struct ArrowArray *out) {
  floe_arrow_builder b;
  floe_error ignored = {0};
  int rc = floe_arrow_builder_init_schema(&b, field, &ignored);
  if (rc == FLOE_OK) rc = floe_arrow_builder_reserve(&b, length, 0);
  if (rc == FLOE_OK) rc = floe_arrow_builder_append_nulls(&b, length);
  if (rc == FLOE_OK) rc = floe_arrow_builder_finish(&b, out);
  floe_arrow_builder_free(&b);
  return rc;
}

static void view_fix(floe_arrow_view *v, const struct ArrowArray *a, int64_t offset,
                     int64_t length) {
  v->offset += offset;
  v->length = length;
  if (v->validity == NULL && a->null_count != 0 && a->buffers[0] != NULL)
    v->validity = a->buffers[0];
}

/* Nulls in required columns and decimals beyond their precision, with the
 * batch row, before anything is written. */
static int validate_rows(const tw_core *c, const floe_arrow_view *views, int64_t n,
                         floe_error *err) {
  for (int32_t j = 0; j < c->n_write; j++) {
    const floe_iceberg_field *f = c->write_fields[j];
    const floe_arrow_view *v = &views[j];
    if (f->required && v->validity != NULL)
      for (int64_t r = 0; r < n; r++)
        if (floe_arrow_view_is_null(v, r))
          return floe_error_set(err, FLOE_EINVAL,
                                "column '%s' row %" PRId64 ": null in a required column",
                                f->name, r);
    if (f->type.id == FLOE_ICEBERG_DECIMAL) {
      floe_int128 limit = 1;
      for (int32_t k = 0; k < f->type.precision; k++) limit *= 10;
      for (int64_t r = 0; r < n; r++) {
        if (floe_arrow_view_is_null(v, r)) continue;
        floe_int128 d = floe_arrow_view_decimal(v, r);
        if (d >= limit || d <= -limit) {
          char text[64];
          floe_decimal_format(d, f->type.scale, text, sizeof text);
          return floe_error_set(err, FLOE_ERANGE,
                                "column '%s' row %" PRId64 ": decimal value %s exceeds "
                                "precision %d",
                                f->name, r, text, f->type.precision);
        }
      }
    }
  }
  return FLOE_OK;
}

/* Copies rows `rows[0..n)` of a column into a new array. */
static int gather_column(const struct ArrowSchema *field, const floe_arrow_view *v,
                         const int64_t *rows, int64_t n, struct ArrowArray *out) {
  floe_arrow_builder b;
  if (floe_arrow_type_is_nested(v->type.id)) {
    /* Lists, structs and maps: row by row, each value copied whole with
     * its children. */
    floe_error ignored = {0};
    int rc = floe_arrow_builder_init_schema(&b, field, &ignored);
    for (int64_t i = 0; i < n && rc == FLOE_OK; i++)
      rc = floe_arrow_builder_append_view(&b, v, rows[i], 1);
    if (rc == FLOE_OK) rc = floe_arrow_builder_finish(&b, out);
    floe_arrow_builder_free(&b);
    return rc;
  }
  int rc = floe_arrow_builder_init(&b, &v->type);
  if (rc < 0) return rc;
  size_t data_bytes = 0;
  if (v->offsets != NULL)
    for (int64_t i = 0; i < n; i++) {
      size_t len;
      floe_arrow_view_bytes(v, rows[i], &len);
      data_bytes += len;
    }
  rc = floe_arrow_builder_reserve(&b, n, data_bytes);
  for (int64_t i = 0; i < n && rc == FLOE_OK; i++) {
    int64_t r = rows[i];
    if (floe_arrow_view_is_null(v, r)) {
      rc = floe_arrow_builder_append_null(&b);
      continue;
    }
    switch (v->type.id) {
      case FLOE_ARROW_BOOL: rc = floe_arrow_builder_append_bool(&b, floe_arrow_view_bool(v, r)); break;
      case FLOE_ARROW_INT32:
      case FLOE_ARROW_DATE32:
        rc = floe_arrow_builder_append_int32(&b, floe_arrow_view_int32(v, r));
        break;
      case FLOE_ARROW_FLOAT: rc = floe_arrow_builder_append_float(&b, floe_arrow_view_float(v, r)); break;
      case FLOE_ARROW_DOUBLE:
        rc = floe_arrow_builder_append_double(&b, floe_arrow_view_double(v, r));
        break;
      case FLOE_ARROW_DECIMAL128:
        rc = floe_arrow_builder_append_decimal(&b, floe_arrow_view_decimal(v, r));
        break;
      case FLOE_ARROW_UTF8:
      case FLOE_ARROW_BINARY:
      case FLOE_ARROW_FIXED:
      case FLOE_ARROW_UUID: {
        size_t len;
        const uint8_t *p = floe_arrow_view_bytes(v, r, &len);
        rc = floe_arrow_builder_append_bytes(&b, p, len);
        break;
      }
      default: rc = floe_arrow_builder_append_int64(&b, floe_arrow_view_int64(v, r)); break;
    }
  }
  if (rc == FLOE_OK) rc = floe_arrow_builder_finish(&b, out);
  floe_arrow_builder_free(&b);
  return rc;
}

/* Writes the rows of partition `part` listed in rows[0..n). */
static int write_gathered(tw_core *c, int32_t part, const floe_arrow_view *views,
                          const int64_t *rows, int64_t n, floe_error *err) {
  struct ArrowArray *children = floe_calloc((size_t)c->n_write, sizeof *children);
  struct ArrowArray batch;
  memset(&batch, 0, sizeof batch);
  int rc = FLOE_OK;
  if (children == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "table writer: out of memory");
    goto cleanup;
  }
  for (int32_t j = 0; j < c->n_write; j++)
    if (gather_column(c->write_schema.children[j], &views[j], rows, n, &children[j]) < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "table writer: out of memory");
      goto cleanup;
    }
  if (floe_arrow_struct_from_children(&batch, children, c->n_write, n) < 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "table writer: out of memory");
    goto cleanup;
  }
  rc = tw_write_rows(c, part, &batch, err);
cleanup:
  floe_arrow_array_release(&batch);
  if (children != NULL)
    for (int32_t j = 0; j < c->n_write; j++) floe_arrow_array_release(&children[j]);
  floe_free(children);
  return rc;
}

/* Finds field `id` inside struct type t: its index path (depth at most
 * max) into path[], *depth the path's length. Lists and maps are not
 * entered (a partition source lies behind structs only). */
static bool struct_path(const floe_iceberg_type *t, int32_t id, int32_t *path, int32_t max,
                        int32_t *depth) {
  if (t->id != FLOE_ICEBERG_STRUCT || *depth >= max) return false;
  for (int32_t k = 0; k < t->n_fields; k++) {
    path[(*depth)++] = k;
    if (t->fields[k].id == id || struct_path(&t->fields[k].type, id, path, max, depth)) return true;
    (*depth)--;
  }
  return false;
}

/* The view of a partition source field inside a struct column (views[j]
 * for the top-level columns), nulls where the field or any struct above it
 * is null (a field's slot under a null struct holds no value). FLOE_ENOTFOUND
 * when no written struct column holds the field. */
static int nested_source_view(tw_core *c, const floe_arrow_view *views, int64_t n, int32_t id,
                              floe_arrow_view *out, floe_error *err) {
  int32_t path[32];
  for (int32_t j = 0; j < c->n_write; j++) {
    int32_t depth = 0;
    if (!struct_path(&c->write_fields[j]->type, id, path, 32, &depth)) continue;
    floe_arrow_view v = views[j];
    uint8_t *valid = NULL;
    for (int32_t d = 0; d < depth; d++) {
      floe_arrow_view child;
      int rc = floe_arrow_view_struct_child(&v, path[d], &child, err);
      if (rc < 0) return rc;
      if (v.validity != NULL || valid != NULL) {
        /* fold the parent's nulls into the child's */
        size_t bytes = (size_t)((child.offset + n + 7) / 8) + 1;
        uint8_t *bits = floe_arena_calloc(&c->arena, bytes, 1);
        if (bits == NULL) return floe_error_set(err, FLOE_ENOMEM, "table writer: out of memory");
        int64_t nulls = 0;
        for (int64_t r = 0; r < n; r++) {
          bool ok = !floe_arrow_view_is_null(&v, r) && !floe_arrow_view_is_null(&child, r);
          floe_arrow_bit_set(bits, child.offset + r, ok);
          nulls += !ok;
        }
        child.validity = bits;
        child.null_count = nulls;
        valid = bits;
      }
      v = child;
    }
    v.length = n;
    *out = v;
    return FLOE_OK;
  }
  return FLOE_ENOTFOUND;
}

/* Each row's partition index into part_of[0..n). */
static int partition_rows(tw_core *c, const struct ArrowSchema *schema,
                          const struct ArrowArray *batch, const floe_arrow_view *views,
                          int32_t *part_of, floe_error *err) {
  int64_t n = batch->length;
  int rc = FLOE_OK;
  if (c->n_part == 0) {
    int32_t only;
    rc = tw_partition_find(c, NULL, &only, err);
    if (rc < 0) return rc;
    for (int64_t r = 0; r < n; r++) part_of[r] = only;
    return FLOE_OK;
  }
  struct ArrowArray *transformed = floe_arena_calloc(&c->arena, (size_t)c->n_part,
                                                     sizeof *transformed);
  floe_arrow_view *tviews = floe_arena_calloc(&c->arena, (size_t)c->n_part, sizeof *tviews);
  floe_iceberg_value *prev = floe_arena_calloc(&c->arena, (size_t)c->n_part, sizeof *prev);
  floe_iceberg_value *cur = floe_arena_calloc(&c->arena, (size_t)c->n_part, sizeof *cur);
  if (transformed == NULL || tviews == NULL || prev == NULL || cur == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "table writer: out of memory");
  for (int32_t i = 0; i < c->n_part; i++) {
    const floe_iceberg_partition_field *pf = &c->spec->fields[i];
    const floe_iceberg_field *src = c->part_sources[i];
    floe_arrow_view source;
    int32_t j = 0;
    while (j < c->n_write && c->write_fields[j]->id != pf->source_id) j++;
    if (j < c->n_write) {
      source = views[j];
    } else if ((rc = nested_source_view(c, views, n, pf->source_id, &source, err)) != FLOE_ENOTFOUND) {
      if (rc < 0) goto cleanup;
    } else {
      rc = FLOE_OK;
      /* Equality deletes: the source column rides along in the batch. */
      int64_t k = 0;
      while (k < schema->n_children && floe_arrow_schema_field_id(schema->children[k]) != pf->source_id)
        k++;
      if (k == schema->n_children) {
        rc = floe_error_set(err, FLOE_EINVAL,
                            "batch has no column '%s' (field id %d), needed for partition "
                            "field '%s'",
                            src->name, src->id, pf->name);
        goto cleanup;
      }
      floe_arrow_type_info want;
      FLOE_TRY(floe_iceberg_type_to_arrow(&src->type, &want, err));
      FLOE_TRY(check_column_type(schema->children[k], src, &want, err));
      FLOE_TRY(floe_arrow_view_init(&source, schema->children[k], batch->children[k], err));
      view_fix(&source, batch->children[k], batch->offset, n);
    }
    rc = floe_iceberg_transform_column(&pf->transform, &src->type, &source, &transformed[i], err);
    if (rc < 0) {
      floe_error_prefix(err, "partition field '%s'", pf->name);
      goto cleanup;
    }
    FLOE_TRY(floe_arrow_view_init(&tviews[i], &c->part_arrow[i], &transformed[i], err));
  }
  int32_t last = -1;
  for (int64_t r = 0; r < n; r++) {
    for (int32_t i = 0; i < c->n_part; i++)
      FLOE_TRY(floe_iceberg_value_from_arrow(&c->part_types[i], &tviews[i], r, &cur[i], err));
    if (last < 0 || !tuple_equal(c, cur, prev)) {
      rc = tw_partition_find(c, cur, &last, err);
      if (rc < 0) {
        floe_error_prefix(err, "row %" PRId64, r);
        goto cleanup;
      }
      memcpy(prev, cur, (size_t)c->n_part * sizeof *cur);
    }
    part_of[r] = last;
  }
cleanup:
  for (int32_t i = 0; i < c->n_part; i++) floe_arrow_array_release(&transformed[i]);
  return rc;
}

/* Copies n rows of the matched columns into a struct of the write schema. */
static int copy_rows(tw_core *c, const floe_arrow_view *views, int64_t n, struct ArrowArray *out,
                     floe_error *err) {
  floe_arrow_batch_builder bb;
  memset(&bb, 0, sizeof bb);
  int rc = floe_arrow_batch_builder_init(&bb, &c->write_schema, err);
  for (int32_t j = 0; rc == FLOE_OK && j < c->n_write; j++) {
    rc = floe_arrow_builder_append_view(&bb.columns[j], &views[j], 0, n);
    if (rc < 0)
      rc = floe_error_set(err, rc, "table writer: copying column '%s' into the sort buffer failed",
                          c->write_fields[j]->name);
  }
  if (rc == FLOE_OK) rc = floe_arrow_batch_builder_finish(&bb, out, err);
  floe_arrow_batch_builder_free(&bb);
  return rc;
}

/* Checks, partitions and writes one batch, or with copy_out, checks it
 * and copies its rows there instead. */
static int write_or_copy(tw_core *c, const struct ArrowSchema *schema,
                         const struct ArrowArray *batch, bool allow_extra,
                         struct ArrowArray *copy_out, floe_error *err) {
  int rc = FLOE_OK;
  struct ArrowArray *nulls = NULL;
  if (c->failed || c->closed)
    return floe_error_set(err, FLOE_EINVAL, "table writer: %s",
                          c->closed ? "already closed" : "an earlier write failed");
  if (schema == NULL || batch == NULL || schema->format == NULL ||
      strcmp(schema->format, "+s") != 0 || schema->n_children != batch->n_children)
    return floe_error_set(err, FLOE_EINVAL,
                          "table writer: the batch must be a struct (+s) matching its schema");
  int64_t n = batch->length;
  if (n == 0) return FLOE_OK;
  floe_arena_reset(&c->arena);
  size_t nw = c->n_write > 0 ? (size_t)c->n_write : 1;
  int64_t *col_of = floe_arena_alloc(&c->arena, nw * sizeof *col_of);
  struct ArrowArray **children = floe_arena_calloc(&c->arena, nw, sizeof *children);
  floe_arrow_view *views = floe_arena_calloc(&c->arena, nw, sizeof *views);
  int32_t *part_of = floe_arena_alloc(&c->arena, (size_t)n * sizeof *part_of);
  nulls = floe_calloc(nw, sizeof *nulls);
  if (col_of == NULL || children == NULL || views == NULL || part_of == NULL || nulls == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "table writer: out of memory");
    goto cleanup;
  }
  for (int32_t j = 0; j < c->n_write; j++) col_of[j] = -1;

  /* Match columns by field id. */
  for (int64_t k = 0; k < schema->n_children; k++) {
    const struct ArrowSchema *child = schema->children[k];
    int32_t id = floe_arrow_schema_field_id(child);
    int32_t j = 0;
    while (j < c->n_write && c->write_fields[j]->id != id) j++;
    if (j == c->n_write) {
      if (allow_extra) continue;
      if (id < 0)
        rc = floe_error_set(err, FLOE_EINVAL,
                            "batch column '%s' has no field id (PARQUET:field_id)",
                            child->name ? child->name : "");
      else
        rc = floe_error_set(err, FLOE_EINVAL,
                            "batch column '%s' (field id %d) is not in the table schema",
                            child->name ? child->name : "", id);
      goto cleanup;
    }
    if (col_of[j] >= 0) {
      rc = floe_error_set(err, FLOE_EINVAL, "batch has two columns with field id %d ('%s')",
                          id, c->write_fields[j]->name);
      goto cleanup;
    }
    col_of[j] = k;
  }
  for (int32_t j = 0; j < c->n_write; j++) {
    const floe_iceberg_field *f = c->write_fields[j];
    int64_t k = col_of[j];
    if (k < 0) {
      if (f->required) {
        rc = floe_error_set(err, FLOE_EINVAL,
                            "batch has no column '%s' (field id %d), which is required", f->name,
                            f->id);
        goto cleanup;
      }
      if (null_column(c->write_schema.children[j], batch->offset + n, &nulls[j]) < 0) {
        rc = floe_error_set(err, FLOE_ENOMEM, "table writer: out of memory");
        goto cleanup;
      }
      children[j] = &nulls[j];
    } else {
      FLOE_TRY(check_column_type(schema->children[k], f, &c->write_types[j], err));
      children[j] = batch->children[k];
      if (children[j]->length < batch->offset + n) {
        rc = floe_error_set(err, FLOE_EINVAL,
                            "column '%s': child array has %" PRId64 " rows, batch needs %" PRId64,
                            f->name, children[j]->length, batch->offset + n);
        goto cleanup;
      }
    }
    FLOE_TRY(floe_arrow_view_init(&views[j], c->write_schema.children[j], children[j], err));
    view_fix(&views[j], children[j], batch->offset, n);
  }
  FLOE_TRY(validate_rows(c, views, n, err));
  if (copy_out != NULL) {
    rc = copy_rows(c, views, n, copy_out, err);
    goto cleanup;
  }
  FLOE_TRY(partition_rows(c, schema, batch, views, part_of, err));

  /* The rows of the written columns, in table order. */
  struct ArrowArray rows;
  memset(&rows, 0, sizeof rows);
  const void *no_buffers[1] = {NULL};
  rows.length = n;
  rows.offset = batch->offset;
  rows.n_buffers = 1;
  rows.buffers = no_buffers;
  rows.n_children = c->n_write;
  rows.children = children;

  bool single = true;
  for (int64_t r = 1; r < n && single; r++) single = part_of[r] == part_of[0];
  if (single) {
    rc = tw_write_rows(c, part_of[0], &rows, err);
    goto cleanup;
  }
  /* Several partitions: a counting sort of row numbers by partition. */
  int32_t n_parts = c->n_parts;
  int64_t *start = floe_arena_calloc(&c->arena, (size_t)n_parts + 1, sizeof *start);
  int64_t *order = floe_arena_alloc(&c->arena, (size_t)n * sizeof *order);
  if (start == NULL || order == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "table writer: out of memory");
    goto cleanup;
  }
  for (int64_t r = 0; r < n; r++) start[part_of[r] + 1]++;
  for (int32_t p = 0; p < n_parts; p++) start[p + 1] += start[p];
  for (int64_t r = 0; r < n; r++) order[start[part_of[r]]++] = r;
  for (int32_t p = n_parts; p > 0; p--) start[p] = start[p - 1];
  start[0] = 0;
  for (int32_t p = 0; p < n_parts; p++) {
    int64_t count = start[p + 1] - start[p];
    if (count == 0) continue;
    rc = write_gathered(c, p, views, order + start[p], count, err);
    if (rc < 0) {
      c->failed = true;
      goto cleanup;
    }
  }
cleanup:
  if (nulls != NULL)
    for (int32_t j = 0; j < c->n_write; j++) floe_arrow_array_release(&nulls[j]);
  floe_free(nulls);
  return rc;
}

int tw_write_batch(tw_core *c, const struct ArrowSchema *schema,
                   const struct ArrowArray *batch, bool allow_extra, floe_error *err) {
  return write_or_copy(c, schema, batch, allow_extra, NULL, err);
}

int tw_copy_batch(tw_core *c, const struct ArrowSchema *schema,
                  const struct ArrowArray *batch, struct ArrowArray *out, floe_error *err) {
  memset(out, 0, sizeof *out);
  return write_or_copy(c, schema, batch, false, out, err);
}

/* ---- close, abort, free ------------------------------------------------ */

int tw_finish_open_files(tw_core *c, floe_error *err) {
  /* In partition order, so the list's order does not depend on which
   * files happened to be open. */
  for (int32_t p = 0; p < c->n_parts; p++) {
    if (c->parts[p].file == NULL) continue;
    int rc = tw_file_finish(c, c->parts[p].file, NULL, err);
    if (rc < 0) return rc;
  }
  return FLOE_OK;
}

int tw_close(tw_core *c, floe_content_file_list *out, floe_error *err) {
  memset(out, 0, sizeof *out);
  if (c->closed) return floe_error_set(err, FLOE_EINVAL, "table writer: already closed");
  if (c->failed)
    return floe_error_set(err, FLOE_EINVAL,
                          "table writer: an earlier write failed; abort the writer");
  int rc = tw_finish_open_files(c, err);
  if (rc < 0) return rc;
  c->closed = true;
  *out = c->results;
  memset(&c->results, 0, sizeof c->results);
  return FLOE_OK;
}

void tw_core_abort(tw_core *c) {
  while (c->n_open > 0) {
    tw_file *f = c->open_files[c->n_open - 1];
    open_files_remove(c, f);
    file_discard(f);
  }
  for (int32_t i = 0; i < c->n_created; i++) {
    floe_error ignored;
    floe_error_init(&ignored);
    /* Never committed, so unreachable: safe to delete (a missing file, e.g.
     * one removed when its io writer failed, is fine). */
    (void)floe_io_delete(c->io, c->created[i], &ignored);
    floe_free(c->created[i]);
  }
  c->n_created = 0;
  floe_content_file_list_free(&c->results);
  c->failed = true;
}

void tw_core_free(tw_core *c) {
  if (!c->closed) tw_core_abort(c);
  for (int32_t i = 0; i < c->n_created; i++) floe_free(c->created[i]);
  floe_free(c->created);
  floe_content_file_list_free(&c->results);
  for (int32_t p = 0; p < c->n_parts; p++) partition_free(c, &c->parts[p]);
  floe_free(c->parts);
  floe_free(c->slots);
  floe_buf_free(&c->scratch);
  floe_free(c->open_files);
  floe_arena_free(&c->arena);
  if (c->part_arrow != NULL)
    for (int32_t i = 0; i < c->n_part; i++) floe_arrow_schema_release(&c->part_arrow[i]);
  floe_free(c->part_arrow);
  floe_free(c->part_types);
  floe_free(c->part_sources);
  floe_arrow_schema_release(&c->write_schema);
  floe_free(c->write_fields);
  floe_free(c->write_types);
  floe_free(c->write_modes);
  floe_free(c->equality_ids);
  floe_free(c->schema_json);
  floe_free(c->delete_ids_text);
  floe_free(c->prefix);
  floe_free(c->data_path);
  floe_iceberg_schema_free(c->owned_file_schema);
  memset(c, 0, sizeof *c);
}

/* ---- the public data writer ------------------------------------------- */

struct floe_data_writer {
  tw_core core;
  maintain_sorter *sorter; /* sorted mode (options.sort_order), else NULL */
};

/* Sorted mode: the sort buffer holds copies of the rows in the write
 * schema; it is flushed through the ordinary write path, after which every
 * open file is finished, so no file mixes two flushes. */
static int sorted_sink(void *ctx, const struct ArrowSchema *schema,
                       const struct ArrowArray *batch, floe_error *err) {
  return tw_write_batch(ctx, schema, batch, false, err);
}

static int sorted_flush(floe_data_writer *w, floe_error *err) {
  if (maintain_sorter_empty(w->sorter)) return FLOE_OK;
  int rc = maintain_sorter_flush_to(w->sorter, sorted_sink, &w->core, err);
  if (rc == FLOE_OK) rc = tw_finish_open_files(&w->core, err);
  if (rc < 0) w->core.failed = true;
  return rc;
}

static int open_sorter(floe_data_writer *w, const floe_table_writer_options *o,
                       floe_error *err) {
  const floe_iceberg_sort_order *order = o->sort_order;
  if (order == NULL || order->n_fields == 0 || order->order_id == 0) return FLOE_OK;
  if (o->sort_buffer_bytes < 0)
    return floe_error_set(err, FLOE_EINVAL, "table writer: negative sort buffer");
  int64_t bytes = o->sort_buffer_bytes > 0 ? o->sort_buffer_bytes
                                           : FLOE_TABLE_WRITER_DEFAULT_SORT_BUFFER;
  floe_error why;
  floe_error_init(&why);
  int rc = maintain_sorter_open(&w->sorter, w->core.schema, order, &w->core.write_schema, bytes,
                                &why);
  if (rc == FLOE_EUNSUPPORTED) return FLOE_OK; /* documented: written unsorted */
  if (rc < 0) return floe_error_set(err, rc, "%s", why.message);
  if (maintain_sorter_n_fields(w->sorter) == 0) { /* only void fields: no order */
    maintain_sorter_free(w->sorter);
    w->sorter = NULL;
    return FLOE_OK;
  }
  w->core.sort_order_id = order->order_id;
  return FLOE_OK;
}

int floe_data_writer_open(floe_data_writer **out, const floe_table_writer_options *options,
                          floe_error *err) {
  *out = NULL;
  floe_data_writer *w = floe_calloc(1, sizeof *w);
  if (w == NULL) return floe_error_set(err, FLOE_ENOMEM, "data writer: out of memory");
  tw_params params;
  memset(&params, 0, sizeof params);
  params.content = FLOE_CONTENT_DATA;
  params.has_sort_order_id = true;
  int rc = tw_core_init(&w->core, options, &params, err);
  if (rc == FLOE_OK) rc = open_sorter(w, options, err);
  if (rc < 0) {
    floe_error_prefix(err, "data writer");
    floe_data_writer_free(w);
    return rc;
  }
  *out = w;
  return FLOE_OK;
}

int floe_data_writer_write(floe_data_writer *w, const struct ArrowSchema *schema,
                           const struct ArrowArray *batch, floe_error *err) {
  if (w->sorter == NULL) return tw_write_batch(&w->core, schema, batch, false, err);
  struct ArrowArray copy;
  int rc = tw_copy_batch(&w->core, schema, batch, &copy, err);
  if (rc < 0) {
    floe_arrow_array_release(&copy);
    return rc;
  }
  bool full = false;
  rc = maintain_sorter_add(w->sorter, &copy, &full, err);
  floe_arrow_array_release(&copy); /* still ours when add failed before taking it */
  if (rc < 0) {
    w->core.failed = true;
    return rc;
  }
  return full ? sorted_flush(w, err) : FLOE_OK;
}

int floe_data_writer_close(floe_data_writer *w, floe_content_file_list *out,
                           floe_error *err) {
  if (w->sorter != NULL && !w->core.failed && !w->core.closed) {
    int rc = sorted_flush(w, err);
    if (rc < 0) {
      memset(out, 0, sizeof *out);
      return rc;
    }
  }
  return tw_close(&w->core, out, err);
}

void floe_data_writer_abort(floe_data_writer *w) {
  if (w != NULL) tw_core_abort(&w->core);
}

void floe_data_writer_free(floe_data_writer *w) {
  if (w == NULL) return;
  maintain_sorter_free(w->sorter);
  tw_core_free(&w->core);
  floe_free(w);
}

int64_t floe_data_writer_rows(const floe_data_writer *w) {
  return w->core.rows + (w->sorter != NULL ? maintain_sorter_rows(w->sorter) : 0);
}
