/*
 * iceberg/manifest_list.c: Iceberg manifest lists (Iceberg spec: Manifest
 * Lists), the Avro file a snapshot points at, one manifest_file record per
 * manifest with its counts, sequence numbers and partition summaries.
 *
 * The writer assigns the new snapshot's sequence number to the manifests it
 * added (the commit is the moment the number is known: Sequence Number
 * Inheritance) and, for v3, first_row_id to data manifests (First Row ID
 * Inheritance). The schema comes from the shared descriptor tables in
 * manifest_internal.h; v1 lists keep Java's v1 field order and
 * optionality. The reader finds fields by id, so lists written with old
 * names (added_data_files_count, ...) read the same, and copies everything
 * into one arena owned by the returned list.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/manifest.h"
#include "iceberg/manifest_internal.h"

#define PRIM(id, name, req, kind, doc, minv, maxv) \
  {id, name, req, kind, doc, 0, 0, 0, NULL, 0, NULL, minv, maxv}

static const floe_mf_field summary_fields[] = {
    PRIM(509, "contains_null", FLOE_MF_REQUIRED, FLOE_MF_BOOLEAN,
         "True if any file has a null partition value", 1, 3),
    PRIM(518, "contains_nan", FLOE_MF_OPTIONAL, FLOE_MF_BOOLEAN,
         "True if any file has a nan partition value", 1, 3),
    PRIM(510, "lower_bound", FLOE_MF_OPTIONAL, FLOE_MF_BINARY,
         "Partition lower bound for all files", 1, 3),
    PRIM(511, "upper_bound", FLOE_MF_OPTIONAL, FLOE_MF_BINARY,
         "Partition upper bound for all files", 1, 3),
};

#define PARTITIONS_FIELD                                                   \
  {507, "partitions", FLOE_MF_OPTIONAL, FLOE_MF_LIST,                      \
   "Summary for each partition", 0, 508, FLOE_MF_STRUCT, summary_fields, 4, \
   "r508", 1, 3}

/* v2 and v3 (Iceberg spec: Manifest Lists; Java's V2/V3 order). */
static const floe_mf_field list_fields[] = {
    PRIM(500, "manifest_path", FLOE_MF_REQUIRED, FLOE_MF_STRING,
         "Location URI with FS scheme", 1, 3),
    PRIM(501, "manifest_length", FLOE_MF_REQUIRED, FLOE_MF_LONG,
         "Total file size in bytes", 1, 3),
    PRIM(502, "partition_spec_id", FLOE_MF_REQUIRED, FLOE_MF_INT,
         "Spec ID used to write", 1, 3),
    PRIM(517, "content", FLOE_MF_REQUIRED, FLOE_MF_INT,
         "Contents of the manifest: 0=data, 1=deletes", 2, 3),
    PRIM(515, "sequence_number", FLOE_MF_REQUIRED, FLOE_MF_LONG,
         "Sequence number when the manifest was added", 2, 3),
    PRIM(516, "min_sequence_number", FLOE_MF_REQUIRED, FLOE_MF_LONG,
         "Lowest sequence number in the manifest", 2, 3),
    PRIM(503, "added_snapshot_id", FLOE_MF_REQUIRED, FLOE_MF_LONG,
         "Snapshot ID that added the manifest", 1, 3),
    PRIM(504, "added_files_count", FLOE_MF_REQUIRED, FLOE_MF_INT,
         "Added entry count", 1, 3),
    PRIM(505, "existing_files_count", FLOE_MF_REQUIRED, FLOE_MF_INT,
         "Existing entry count", 1, 3),
    PRIM(506, "deleted_files_count", FLOE_MF_REQUIRED, FLOE_MF_INT,
         "Deleted entry count", 1, 3),
    PRIM(512, "added_rows_count", FLOE_MF_REQUIRED, FLOE_MF_LONG,
         "Added rows count", 1, 3),
    PRIM(513, "existing_rows_count", FLOE_MF_REQUIRED, FLOE_MF_LONG,
         "Existing rows count", 1, 3),
    PRIM(514, "deleted_rows_count", FLOE_MF_REQUIRED, FLOE_MF_LONG,
         "Deleted rows count", 1, 3),
    PARTITIONS_FIELD,
    PRIM(519, "key_metadata", FLOE_MF_OPTIONAL, FLOE_MF_BINARY,
         "Encryption key metadata blob", 1, 3),
    PRIM(520, "first_row_id", FLOE_MF_OPTIONAL, FLOE_MF_LONG,
         "Starting row ID to assign to new rows in ADDED data files", 3, 3),
};
#define N_LIST_FIELDS ((int32_t)(sizeof list_fields / sizeof list_fields[0]))

/* v1: counts and snapshot id optional, summaries before the row counts. */
static const floe_mf_field list_fields_v1[] = {
    PRIM(500, "manifest_path", FLOE_MF_REQUIRED, FLOE_MF_STRING,
         "Location URI with FS scheme", 1, 1),
    PRIM(501, "manifest_length", FLOE_MF_REQUIRED, FLOE_MF_LONG,
         "Total file size in bytes", 1, 1),
    PRIM(502, "partition_spec_id", FLOE_MF_REQUIRED, FLOE_MF_INT,
         "Spec ID used to write", 1, 1),
    PRIM(503, "added_snapshot_id", FLOE_MF_OPTIONAL, FLOE_MF_LONG,
         "Snapshot ID that added the manifest", 1, 1),
    PRIM(504, "added_files_count", FLOE_MF_OPTIONAL, FLOE_MF_INT,
         "Added entry count", 1, 1),
    PRIM(505, "existing_files_count", FLOE_MF_OPTIONAL, FLOE_MF_INT,
         "Existing entry count", 1, 1),
    PRIM(506, "deleted_files_count", FLOE_MF_OPTIONAL, FLOE_MF_INT,
         "Deleted entry count", 1, 1),
    PARTITIONS_FIELD,
    PRIM(512, "added_rows_count", FLOE_MF_OPTIONAL, FLOE_MF_LONG,
         "Added rows count", 1, 1),
    PRIM(513, "existing_rows_count", FLOE_MF_OPTIONAL, FLOE_MF_LONG,
         "Existing rows count", 1, 1),
    PRIM(514, "deleted_rows_count", FLOE_MF_OPTIONAL, FLOE_MF_LONG,
         "Deleted rows count", 1, 1),
    PRIM(519, "key_metadata", FLOE_MF_OPTIONAL, FLOE_MF_BINARY,
         "Encryption key metadata blob", 1, 1),
};
#define N_LIST_FIELDS_V1 \
  ((int32_t)(sizeof list_fields_v1 / sizeof list_fields_v1[0]))

int64_t floe_manifest_list_rows_to_assign(const floe_manifest_file *files,
                                          int32_t n_files) {
  int64_t rows = 0;
  for (int32_t i = 0; i < n_files; i++)
    if (files[i].content == FLOE_MANIFEST_DATA && !files[i].has_first_row_id)
      rows += files[i].existing_rows_count + files[i].added_rows_count;
  return rows;
}

/* The Avro value of one manifest_file, fields in the descriptor order. */
static int list_entry_value(const floe_mf_field *fields, int32_t n_fields,
                            int32_t version, const floe_manifest_file *f,
                            int64_t sequence, int64_t min_sequence,
                            int64_t added_snapshot_id, bool has_first_row_id,
                            int64_t first_row_id, floe_avro_value *summary_items,
                            floe_avro_value *summary_fields_values,
                            floe_avro_value *out_fields, size_t *n_out) {
  size_t n = 0;
  for (int32_t i = 0; i < n_fields; i++) {
    const floe_mf_field *d = &fields[i];
    if (!floe_mf_present(d, version)) continue;
    floe_avro_value v = floe_avro_null();
    switch (d->id) {
      case 500: v = floe_avro_string(f->manifest_path); break;
      case 501: v = floe_avro_long(f->manifest_length); break;
      case 502: v = floe_avro_int(f->partition_spec_id); break;
      case 517: v = floe_avro_int((int32_t)f->content); break;
      case 515: v = floe_avro_long(sequence); break;
      case 516: v = floe_avro_long(min_sequence); break;
      case 503: v = floe_avro_long(added_snapshot_id); break;
      case 504: v = floe_avro_int(f->added_files_count); break;
      case 505: v = floe_avro_int(f->existing_files_count); break;
      case 506: v = floe_avro_int(f->deleted_files_count); break;
      case 512: v = floe_avro_long(f->added_rows_count); break;
      case 513: v = floe_avro_long(f->existing_rows_count); break;
      case 514: v = floe_avro_long(f->deleted_rows_count); break;
      case 507:
        /* Java writes an array, empty for unpartitioned specs. */
        if (f->partitions != NULL || f->n_partitions == 0) {
          for (int32_t k = 0; k < f->n_partitions; k++) {
            const floe_manifest_partition_summary *p = &f->partitions[k];
            floe_avro_value *s = &summary_fields_values[4 * k];
            s[0] = floe_avro_boolean(p->contains_null);
            s[1] = p->has_contains_nan ? floe_avro_boolean(p->contains_nan)
                                       : floe_avro_null();
            s[2] = p->lower_bound ? floe_avro_bytes(p->lower_bound, p->lower_bound_len)
                                  : floe_avro_null();
            s[3] = p->upper_bound ? floe_avro_bytes(p->upper_bound, p->upper_bound_len)
                                  : floe_avro_null();
            summary_items[k] = floe_avro_record(s, 4);
          }
          v = floe_avro_array(summary_items, (size_t)f->n_partitions);
        }
        break;
      case 519:
        if (f->key_metadata != NULL)
          v = floe_avro_bytes(f->key_metadata, f->key_metadata_len);
        break;
      case 520:
        if (has_first_row_id) v = floe_avro_long(first_row_id);
        break;
      default: break;
    }
    out_fields[n++] = v;
  }
  *n_out = n;
  return FLOE_OK;
}

int floe_manifest_list_write(floe_io *io, const char *path,
                             const floe_manifest_list_options *options,
                             const floe_manifest_file *files, int32_t n_files,
                             floe_error *err) {
  int rc = FLOE_OK;
  floe_buf avro_json = FLOE_BUF_INIT, iceberg_json = FLOE_BUF_INIT;
  floe_io_writer *file = NULL;
  floe_avro_writer *avro = NULL;
  floe_avro_value *summary_items = NULL, *summary_values = NULL;
  if (io == NULL || path == NULL || options == NULL || n_files < 0 ||
      (n_files > 0 && files == NULL))
    return floe_error_set(err, FLOE_EINVAL, "manifest list: bad arguments");
  int32_t version = options->format_version ? options->format_version : 2;
  if (version < 1 || version > 3)
    return floe_error_set(err, FLOE_EINVAL,
                          "manifest list %s: unsupported format version %" PRId32,
                          path, version);
  const floe_mf_field *fields = version == 1 ? list_fields_v1 : list_fields;
  int32_t n_fields = version == 1 ? N_LIST_FIELDS_V1 : N_LIST_FIELDS;

  int32_t max_partitions = 0;
  for (int32_t i = 0; i < n_files; i++) {
    const floe_manifest_file *f = &files[i];
    if (f->manifest_path == NULL || f->n_partitions < 0 ||
        (f->n_partitions > 0 && f->partitions == NULL && version == 1))
      return floe_error_set(err, FLOE_EINVAL,
                            "manifest list %s: entry %" PRId32 ": no manifest path "
                            "or bad partition summaries",
                            path, i);
    if (version == 1 && f->content != FLOE_MANIFEST_DATA)
      return floe_error_set(err, FLOE_EINVAL,
                            "manifest list %s: entry %" PRId32 " (%s): format v1 "
                            "has no delete manifests",
                            path, i, f->manifest_path);
    if (f->n_partitions > max_partitions) max_partitions = f->n_partitions;
  }
  if (max_partitions > 0) {
    summary_items = floe_calloc((size_t)max_partitions, sizeof *summary_items);
    summary_values = floe_calloc((size_t)max_partitions * 4, sizeof *summary_values);
    if (summary_items == NULL || summary_values == NULL) {
      rc = floe_mf_nomem(err, "manifest list");
      goto cleanup;
    }
  }

  FLOE_TRY(floe_mf_avro_schema_json(fields, n_fields, "manifest_file", version, NULL,
                                    &avro_json, err));
  FLOE_TRY(floe_mf_iceberg_schema_json(fields, n_fields, version, NULL,
                                       &iceberg_json, err));
  if (floe_buf_terminate(&avro_json) < 0 || floe_buf_terminate(&iceberg_json) < 0) {
    rc = floe_mf_nomem(err, "manifest list");
    goto cleanup;
  }

  /* Iceberg spec: Manifest Lists, the key-value metadata. */
  char snapshot_id[24], parent_id[24], sequence[24], format_version[8],
      first_row_id[24];
  snprintf(snapshot_id, sizeof snapshot_id, "%" PRId64, options->snapshot_id);
  if (options->has_parent_snapshot_id)
    snprintf(parent_id, sizeof parent_id, "%" PRId64, options->parent_snapshot_id);
  else
    snprintf(parent_id, sizeof parent_id, "null");
  snprintf(sequence, sizeof sequence, "%" PRId64, options->sequence_number);
  snprintf(format_version, sizeof format_version, "%" PRId32, version);
  snprintf(first_row_id, sizeof first_row_id, "%" PRId64, options->first_row_id);
  floe_avro_metadata meta[6];
  size_t n_meta = 0;
#define META(k, v) \
  meta[n_meta++] = (floe_avro_metadata){k, (const uint8_t *)(v), strlen(v)}
  META("snapshot-id", snapshot_id);
  META("parent-snapshot-id", parent_id);
  if (version >= 2) META("sequence-number", sequence);
  META("format-version", format_version);
  if (version >= 3) META("first-row-id", first_row_id);
  META("iceberg.schema", (const char *)iceberg_json.data);
#undef META

  floe_avro_writer_config config;
  memset(&config, 0, sizeof config);
  config.schema_json = (const char *)avro_json.data;
  config.schema_len = avro_json.len;
  config.metadata = meta;
  config.metadata_count = n_meta;
  config.codec = FLOE_AVRO_CODEC_DEFLATE;

  rc = floe_io_create(io, path, &file, err);
  if (rc < 0) goto prefix;
  rc = floe_avro_writer_open_sink(&avro, &config, floe_mf_io_sink, file, err);
  if (rc < 0) goto prefix;

  int64_t next_row_id = options->first_row_id;
  for (int32_t i = 0; i < n_files; i++) {
    const floe_manifest_file *f = &files[i];
    int64_t added_snapshot_id =
        f->added_snapshot_id != 0 ? f->added_snapshot_id : options->snapshot_id;
    int64_t seq = f->sequence_number, min_seq = f->min_sequence_number;
    /* Sequence Number Inheritance: the manifests this snapshot added get
     * its sequence number now that it is known. */
    if (seq <= 0 && added_snapshot_id == options->snapshot_id) {
      seq = options->sequence_number;
      if (min_seq < 0) min_seq = options->sequence_number;
    }
    if (version >= 2 && (seq < 0 || min_seq < 0)) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "entry %" PRId32 " (%s): manifest of snapshot %" PRId64
                          " has no sequence number",
                          i, f->manifest_path, added_snapshot_id);
      goto prefix;
    }
    bool has_first_row_id = f->has_first_row_id;
    int64_t first_row = f->first_row_id;
    if (version >= 3 && f->content == FLOE_MANIFEST_DATA && !has_first_row_id) {
      has_first_row_id = true;
      first_row = next_row_id;
      next_row_id += f->existing_rows_count + f->added_rows_count;
    }
    floe_avro_value values[N_LIST_FIELDS];
    size_t n_values = 0;
    list_entry_value(fields, n_fields, version, f, seq, min_seq, added_snapshot_id,
                     has_first_row_id, first_row, summary_items, summary_values,
                     values, &n_values);
    floe_avro_value record = floe_avro_record(values, n_values);
    rc = floe_avro_writer_append(avro, &record, err);
    if (rc < 0) {
      floe_error_prefix(err, "entry %" PRId32 " (%s)", i, f->manifest_path);
      goto prefix;
    }
  }
  rc = floe_avro_writer_close(avro, err);
  if (rc < 0) goto prefix;
  rc = floe_io_writer_close(file, err);
  file = NULL;
  if (rc < 0) goto prefix;
  goto cleanup;
prefix:
  floe_error_prefix(err, "manifest list %s", path);
cleanup:
  floe_avro_writer_free(avro);
  if (file != NULL) floe_io_writer_abort(file);
  floe_buf_free(&avro_json);
  floe_buf_free(&iceberg_json);
  floe_free(summary_items);
  floe_free(summary_values);
  return rc;
}

void floe_manifest_list_free(floe_manifest_list *list) {
  if (list == NULL) return;
  floe_arena_free(list->arena);
  floe_free(list->arena);
  floe_free(list);
}

static const uint8_t *arena_bytes(floe_arena *arena, const floe_avro_value *v,
                                  size_t *len, bool *ok) {
  if (v == NULL || (v->type != FLOE_AVRO_BYTES && v->type != FLOE_AVRO_FIXED)) {
    *len = 0;
    return NULL;
  }
  *len = v->u.bytes.len;
  const uint8_t *copy = floe_arena_memdup(arena, v->u.bytes.data, v->u.bytes.len ? v->u.bytes.len : 1);
  if (copy == NULL) *ok = false;
  return copy;
}

#define LIST_FIELD_SLOTS 21 /* field ids 500..520 */

static int decode_list_entry(floe_manifest_list *list, const long *idx,
                             const long *sidx, int32_t version,
                             const floe_avro_value *rec, floe_manifest_file *f,
                             floe_error *err) {
  floe_arena *arena = list->arena;
  int64_t x;
  bool ok = true;
#define GET(id) floe_mf_get(rec, idx[(id) - 500])
  const floe_avro_value *path = GET(500);
  if (path == NULL || path->type != FLOE_AVRO_STRING)
    return floe_error_set(err, FLOE_EFORMAT, "missing manifest_path");
  f->manifest_path = floe_arena_strndup(arena, (const char *)path->u.bytes.data,
                                        path->u.bytes.len);
  if (f->manifest_path == NULL) return floe_mf_nomem(err, "manifest list");
  if (!floe_mf_long(GET(501), &f->manifest_length) || !floe_mf_long(GET(502), &x))
    return floe_error_set(err, FLOE_EFORMAT,
                          "%s: missing manifest_length or partition_spec_id",
                          f->manifest_path);
  f->partition_spec_id = (int32_t)x;
  f->content = FLOE_MANIFEST_DATA;
  if (floe_mf_long(GET(517), &x)) {
    if (x != 0 && x != 1)
      return floe_error_set(err, FLOE_EFORMAT, "%s: bad content %" PRId64,
                            f->manifest_path, x);
    f->content = (floe_manifest_content)x;
  }
  /* v1 lists have no sequence numbers: everything is sequence 0. */
  if (!floe_mf_long(GET(515), &f->sequence_number)) {
    if (version >= 2)
      return floe_error_set(err, FLOE_EFORMAT, "%s: missing sequence_number",
                            f->manifest_path);
    f->sequence_number = 0;
  }
  if (!floe_mf_long(GET(516), &f->min_sequence_number))
    f->min_sequence_number = f->sequence_number;
  floe_mf_long(GET(503), &f->added_snapshot_id);
  if (floe_mf_long(GET(504), &x)) f->added_files_count = (int32_t)x;
  if (floe_mf_long(GET(505), &x)) f->existing_files_count = (int32_t)x;
  if (floe_mf_long(GET(506), &x)) f->deleted_files_count = (int32_t)x;
  floe_mf_long(GET(512), &f->added_rows_count);
  floe_mf_long(GET(513), &f->existing_rows_count);
  floe_mf_long(GET(514), &f->deleted_rows_count);
  f->key_metadata = arena_bytes(arena, GET(519), &f->key_metadata_len, &ok);
  f->has_first_row_id = floe_mf_long(GET(520), &f->first_row_id);
  const floe_avro_value *parts = GET(507);
  if (parts != NULL) {
    if (parts->type != FLOE_AVRO_ARRAY)
      return floe_error_set(err, FLOE_EFORMAT, "%s: partitions is not an array",
                            f->manifest_path);
    size_t n = parts->u.array.count;
    f->n_partitions = (int32_t)n;
    f->partitions = floe_arena_calloc(arena, n ? n : 1, sizeof *f->partitions);
    if (f->partitions == NULL) return floe_mf_nomem(err, "manifest list");
    for (size_t k = 0; k < n; k++) {
      const floe_avro_value *s = &parts->u.array.items[k];
      floe_manifest_partition_summary *p = &f->partitions[k];
      const floe_avro_value *cn = floe_mf_get(s, sidx[0]);
      if (cn == NULL || cn->type != FLOE_AVRO_BOOLEAN)
        return floe_error_set(err, FLOE_EFORMAT,
                              "%s: partition summary %zu lacks contains_null",
                              f->manifest_path, k);
      p->contains_null = cn->u.boolean != 0;
      const floe_avro_value *nan = floe_mf_get(s, sidx[1]);
      if (nan != NULL && nan->type == FLOE_AVRO_BOOLEAN) {
        p->has_contains_nan = true;
        p->contains_nan = nan->u.boolean != 0;
      }
      p->lower_bound = arena_bytes(arena, floe_mf_get(s, sidx[2]), &p->lower_bound_len, &ok);
      p->upper_bound = arena_bytes(arena, floe_mf_get(s, sidx[3]), &p->upper_bound_len, &ok);
    }
  }
#undef GET
  if (!ok) return floe_mf_nomem(err, "manifest list");
  return FLOE_OK;
}

int floe_manifest_list_read(floe_io *io, const char *path,
                            floe_manifest_list **out, floe_error *err) {
  int rc = FLOE_OK;
  char *bytes = NULL;
  size_t len = 0;
  floe_avro_reader *avro = NULL;
  floe_manifest_list *list = NULL;
  *out = NULL;
  if (io == NULL || path == NULL)
    return floe_error_set(err, FLOE_EINVAL, "manifest list: io and path required");
  FLOE_TRY(floe_mf_read_file(io, path, &bytes, &len, err));
  rc = floe_avro_reader_open_memory(&avro, bytes, len, err);
  if (rc < 0) goto prefix;
  const floe_avro_node *root = floe_avro_schema_root(floe_avro_reader_schema(avro));
  if (root == NULL || root->type != FLOE_AVRO_RECORD) {
    rc = floe_error_set(err, FLOE_EFORMAT, "schema is not a manifest_file record");
    goto prefix;
  }
  long idx[LIST_FIELD_SLOTS], sidx[4] = {-1, -1, -1, -1};
  for (int32_t i = 0; i < LIST_FIELD_SLOTS; i++)
    idx[i] = floe_mf_field_index(root, 500 + i);
  if (idx[0] < 0) {
    rc = floe_error_set(err, FLOE_EFORMAT, "schema lacks manifest_path (500)");
    goto prefix;
  }
  if (idx[7] >= 0) {
    const floe_avro_node *arr = floe_mf_unwrap(root->fields[idx[7]].type);
    const floe_avro_node *summary =
        arr != NULL && arr->type == FLOE_AVRO_ARRAY ? arr->items : NULL;
    sidx[0] = floe_mf_field_index(summary, 509);
    sidx[1] = floe_mf_field_index(summary, 518);
    sidx[2] = floe_mf_field_index(summary, 510);
    sidx[3] = floe_mf_field_index(summary, 511);
  }
  int32_t version = 0;
  const floe_avro_metadata *fv = floe_avro_reader_metadata_find(avro, "format-version");
  if (fv != NULL) version = (int32_t)strtol((const char *)fv->value, NULL, 10);
  if (version <= 0) version = idx[515 - 500] >= 0 ? 2 : 1;

  list = floe_calloc(1, sizeof *list);
  if (list == NULL || (list->arena = floe_malloc(sizeof *list->arena)) == NULL) {
    rc = floe_mf_nomem(err, "manifest list");
    goto prefix;
  }
  floe_arena_init(list->arena, 0);
  int32_t cap = 0;
  for (;;) {
    const floe_avro_value *rec = NULL;
    rc = floe_avro_reader_next(avro, &rec, err);
    if (rc < 0) goto prefix;
    if (rec == NULL) break;
    if (list->n_files == cap) {
      int32_t new_cap = cap ? cap * 2 : 8;
      floe_manifest_file *files =
          floe_arena_calloc(list->arena, (size_t)new_cap, sizeof *files);
      if (files == NULL) {
        rc = floe_mf_nomem(err, "manifest list");
        goto prefix;
      }
      if (list->n_files) memcpy(files, list->files, (size_t)list->n_files * sizeof *files);
      list->files = files;
      cap = new_cap;
    }
    floe_manifest_file *f = &list->files[list->n_files];
    memset(f, 0, sizeof *f);
    rc = decode_list_entry(list, idx, sidx, version, rec, f, err);
    if (rc < 0) {
      floe_error_prefix(err, "entry %" PRId32, list->n_files);
      goto prefix;
    }
    list->n_files++;
  }
  *out = list;
  list = NULL;
  goto cleanup;
prefix:
  floe_error_prefix(err, "manifest list %s", path);
cleanup:
  floe_manifest_list_free(list);
  floe_avro_reader_free(avro);
  floe_free(bytes);
  return rc;
}
