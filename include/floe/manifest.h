/*
 * floe/manifest.h: Iceberg manifests and manifest lists (Iceberg spec:
 * Manifests, Manifest Lists), the files that say which data and delete
 * files make up a snapshot.
 *
 * Both are Avro object container files whose schemas carry the spec's exact
 * field ids and whose headers carry the keys the spec requires (manifests:
 * "schema", "schema-id", "partition-spec", "partition-spec-id",
 * "format-version", "content"; manifest lists: "snapshot-id",
 * "parent-snapshot-id", "sequence-number", "format-version").
 *
 * A floe_iceberg_content_file describes one data file, position-delete file,
 * equality-delete file or (v3, read only) deletion vector with everything an
 * engine needs: partition tuple, counts, per-column metrics (from
 * floe_parquet_file_metrics), split offsets, equality ids. The writers in
 * src/iceberg produce them; manifests store them; scans read them.
 *
 * Ownership: content files and entries handed out by readers live in the
 * reader's arena until the next call or until the reader is freed, unless
 * copied with floe_iceberg_content_file_copy (caller frees with
 * floe_iceberg_content_file_free). Structs the caller builds are only read.
 */
#ifndef FLOE_MANIFEST_H
#define FLOE_MANIFEST_H

#include <stdbool.h>
#include <stdint.h>

#include "floe/common.h"
#include "floe/iceberg.h"
#include "floe/io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum floe_iceberg_content {
  FLOE_CONTENT_DATA = 0,
  FLOE_CONTENT_POSITION_DELETES = 1,
  FLOE_CONTENT_EQUALITY_DELETES = 2
} floe_iceberg_content;

/* Per-column metrics of a content file (data_file fields 108-130, 137). */
typedef struct floe_iceberg_column_metrics {
  int32_t field_id;
  bool has_column_size, has_value_count, has_null_count, has_nan_count;
  int64_t column_size;
  int64_t value_count;
  int64_t null_count;
  int64_t nan_count;
  /* Appendix D binary single values; NULL when absent. */
  const uint8_t *lower_bound;
  size_t lower_bound_len;
  const uint8_t *upper_bound;
  size_t upper_bound_len;
} floe_iceberg_column_metrics;

typedef struct floe_iceberg_content_file {
  floe_iceberg_content content;
  const char *file_path;
  const char *file_format;      /* "PARQUET", "AVRO", "ORC", "PUFFIN" */
  int32_t spec_id;              /* from the manifest's partition-spec-id */
  int32_t n_partition;          /* = the spec's field count */
  floe_iceberg_value *partition;
  int64_t record_count;
  int64_t file_size_in_bytes;
  int32_t n_columns;
  floe_iceberg_column_metrics *columns;
  int32_t n_split_offsets;
  const int64_t *split_offsets; /* NULL when absent */
  int32_t n_equality_ids;
  const int32_t *equality_ids;  /* equality deletes */
  bool has_sort_order_id;
  int32_t sort_order_id;
  const uint8_t *key_metadata;  /* NULL when absent */
  size_t key_metadata_len;
  /* v2 position deletes (optional) / v3 deletion vectors. */
  const char *referenced_data_file; /* NULL when absent */
  bool has_content_offset;
  int64_t content_offset;
  int64_t content_size_in_bytes;
  bool has_first_row_id; /* v3 */
  int64_t first_row_id;
} floe_iceberg_content_file;

typedef enum floe_manifest_entry_status {
  FLOE_ENTRY_EXISTING = 0,
  FLOE_ENTRY_ADDED = 1,
  FLOE_ENTRY_DELETED = 2
} floe_manifest_entry_status;

/* A manifest entry. Read entries have inheritance applied (Iceberg spec:
 * Sequence Number Inheritance): snapshot_id and the sequence numbers are
 * always set for ADDED entries of a manifest listed in a manifest list. */
typedef struct floe_manifest_entry {
  floe_manifest_entry_status status;
  bool has_snapshot_id;
  int64_t snapshot_id;
  bool has_sequence_number;
  int64_t sequence_number;      /* data sequence number */
  bool has_file_sequence_number;
  int64_t file_sequence_number;
  floe_iceberg_content_file file;
} floe_manifest_entry;

/* Partition field summary (manifest_file field 507). */
typedef struct floe_manifest_partition_summary {
  bool contains_null;
  bool has_contains_nan;
  bool contains_nan;
  const uint8_t *lower_bound; /* Appendix D bytes, NULL when absent */
  size_t lower_bound_len;
  const uint8_t *upper_bound;
  size_t upper_bound_len;
} floe_manifest_partition_summary;

typedef enum floe_manifest_content {
  FLOE_MANIFEST_DATA = 0,
  FLOE_MANIFEST_DELETES = 1
} floe_manifest_content;

/* A manifest list entry (manifest_file, fields 500-520). */
typedef struct floe_manifest_file {
  const char *manifest_path;
  int64_t manifest_length;
  int32_t partition_spec_id;
  floe_manifest_content content;
  int64_t sequence_number;
  int64_t min_sequence_number;
  int64_t added_snapshot_id;
  int32_t added_files_count;
  int32_t existing_files_count;
  int32_t deleted_files_count;
  int64_t added_rows_count;
  int64_t existing_rows_count;
  int64_t deleted_rows_count;
  int32_t n_partitions;
  floe_manifest_partition_summary *partitions; /* NULL when absent */
  const uint8_t *key_metadata;
  size_t key_metadata_len;
  bool has_first_row_id;
  int64_t first_row_id;
} floe_manifest_file;

/* Deep copies (all strings and arrays owned by the copy). */
int floe_iceberg_content_file_copy(floe_iceberg_content_file *out,
                                   const floe_iceberg_content_file *file,
                                   floe_error *err);
void floe_iceberg_content_file_free(floe_iceberg_content_file *file);
int floe_manifest_file_copy(floe_manifest_file *out,
                            const floe_manifest_file *file, floe_error *err);
void floe_manifest_file_free(floe_manifest_file *file);

/* Fills file->columns, record_count, file_size_in_bytes and split_offsets
 * from Parquet writer metrics. file->columns is a new array (floe_malloc)
 * that the caller releases with floe_free(file->columns); the bounds and
 * split offsets are borrowed, so the caller keeps the metrics alive as long
 * as the content file is used. Errors: FLOE_EINVAL, FLOE_ENOMEM. */
struct floe_parquet_file_metrics;
int floe_iceberg_content_file_set_metrics(
    floe_iceberg_content_file *file,
    const struct floe_parquet_file_metrics *metrics, floe_error *err);

/* ---- manifests -------------------------------------------------------- */

typedef struct floe_manifest_writer floe_manifest_writer;

typedef struct floe_manifest_writer_options {
  int32_t format_version;                  /* 1, 2 (default) or 3 */
  const floe_iceberg_schema *schema;       /* table schema of the snapshot */
  const floe_iceberg_partition_spec *spec; /* the files' spec */
  floe_manifest_content content;
  int64_t snapshot_id;                     /* the snapshot writing it; 0 =
                                              write null (inherited from the
                                              list entry's added_snapshot_id;
                                              v2+ only) */
} floe_manifest_writer_options;

/* Creates the manifest file at path (never overwriting: a new name per
 * manifest) and writes its header: the manifest_entry schema of the format
 * version with Iceberg Java's field ids and record names, header keys
 * "schema", "schema-id", "partition-spec", "partition-spec-id",
 * "format-version", "content" (v2+) and "iceberg.schema", deflate codec.
 * The options are copied. *out is freed with floe_manifest_writer_free.
 * Errors: FLOE_EINVAL (bad options, a partition source column missing from
 * the schema, an unknown transform), FLOE_EEXISTS, FLOE_EIO, FLOE_ENOMEM. */
int floe_manifest_writer_open(floe_manifest_writer **out, floe_io *io,
                              const char *path,
                              const floe_manifest_writer_options *options,
                              floe_error *err);
/* Adds an entry. ADDED entries get the writer's snapshot id and a null
 * data and file sequence number (inherited at read time); an ADDED entry
 * with has_sequence_number keeps that data sequence number (data that
 * logically belongs to an older sequence number). EXISTING and DELETED
 * entries keep the snapshot id and sequence numbers they carry, which must
 * be set in v2+ (DELETED entries record the writer's snapshot id as the
 * spec requires). The entry is only read. Errors: FLOE_EINVAL naming the
 * entry and file (content that does not match the manifest's, a partition
 * tuple of the wrong arity or type), FLOE_ERANGE (decimal beyond its
 * precision), FLOE_EIO, FLOE_ENOMEM. The writer stays usable after a
 * rejected entry. */
int floe_manifest_writer_add(floe_manifest_writer *writer,
                             const floe_manifest_entry *entry,
                             floe_error *err);
/* Finishes the file and fills *out with its manifest list entry (counts,
 * partition summaries, length, added_snapshot_id = the writer's snapshot
 * id). sequence_number is 0 and min_sequence_number is the lowest explicit
 * data sequence number of a live entry, or -1 when every entry inherits;
 * floe_manifest_list_write assigns both. *out's strings and arrays live
 * until the writer is freed. */
int floe_manifest_writer_close(floe_manifest_writer *writer,
                               floe_manifest_file *out, floe_error *err);
void floe_manifest_writer_free(floe_manifest_writer *writer);

typedef struct floe_manifest_reader floe_manifest_reader;

/* Opens a manifest (the whole file is read; entries are decoded one at a
 * time). `list_entry` (may be NULL) supplies inherited snapshot id,
 * sequence numbers and (v3) first_row_id; without it, null values stay
 * unset (has_* false), except that v1 manifests always give sequence 0.
 * The partition spec comes from the header ("partition-spec" +
 * "partition-spec-id"), the table schema from the header "schema"; the
 * metadata (may be NULL) is the fallback for either (by partition-spec-id /
 * schema-id). Fields are found by field id, so v1, v2 and v3 files and old
 * field names read alike. list_entry and metadata are only read during the
 * call (the metadata must outlive the reader when its schema or spec is
 * used). Errors: FLOE_ENOTFOUND, FLOE_EIO, FLOE_EFORMAT (not a manifest),
 * FLOE_ENOMEM. */
int floe_manifest_reader_open(floe_manifest_reader **out, floe_io *io,
                              const char *path,
                              const floe_manifest_file *list_entry,
                              const floe_iceberg_metadata *metadata,
                              floe_error *err);
/* The next entry, or *out = NULL at the end. The entry (and everything it
 * points at) lives until the next call or floe_manifest_reader_free.
 * Partition values are typed by the spec's result types; metrics maps are
 * merged into file.columns by field id. Errors (FLOE_EFORMAT naming the
 * manifest, entry and file): malformed records, an EXISTING entry without a
 * sequence number when a list entry is given; FLOE_ENOMEM. */
int floe_manifest_reader_next(floe_manifest_reader *reader,
                              const floe_manifest_entry **out,
                              floe_error *err);
/* The manifest's partition spec and content as its header declares. */
const floe_iceberg_partition_spec *floe_manifest_reader_spec(
    const floe_manifest_reader *reader);
floe_manifest_content floe_manifest_reader_content(
    const floe_manifest_reader *reader);
/* The header's format-version (1 when a v1 file omits it). */
int32_t floe_manifest_reader_format_version(const floe_manifest_reader *reader);
/* The table schema the partition types were resolved against (header or
 * metadata), or NULL; owned by the reader or the metadata. */
const floe_iceberg_schema *floe_manifest_reader_schema(
    const floe_manifest_reader *reader);
/* The partition tuple's types, one per spec field (NULL when unpartitioned);
 * owned by the reader. */
const floe_iceberg_type *floe_manifest_reader_partition_types(
    const floe_manifest_reader *reader);
void floe_manifest_reader_free(floe_manifest_reader *reader);

/* ---- manifest lists --------------------------------------------------- */

typedef struct floe_manifest_list_options {
  int32_t format_version;
  int64_t snapshot_id;
  bool has_parent_snapshot_id;
  int64_t parent_snapshot_id;
  int64_t sequence_number; /* the new snapshot's */
  int64_t first_row_id;    /* v3 */
} floe_manifest_list_options;

/* Writes a manifest list with the given entries (a new file: FLOE_EEXISTS
 * when path exists). Entries with sequence_number <= 0 and
 * added_snapshot_id == snapshot_id (or 0) are the new snapshot's: their
 * sequence_number becomes the snapshot's sequence number, and so does
 * their min_sequence_number when it is negative (no explicit sequence
 * number in the manifest), as Java's ManifestListWriter does (spec:
 * Sequence Number Inheritance); added_snapshot_id 0 becomes snapshot_id.
 * v3: data manifests without first_row_id get options->first_row_id plus
 * the existing + added rows of the data manifests before them (spec: First
 * Row ID Inheritance). Header keys "snapshot-id", "parent-snapshot-id"
 * ("null" when none), "sequence-number" (v2+), "format-version",
 * "first-row-id" (v3), "iceberg.schema"; deflate codec. Entries are only
 * read. Errors: FLOE_EINVAL, FLOE_EEXISTS, FLOE_EIO, FLOE_ENOMEM. */
int floe_manifest_list_write(floe_io *io, const char *path,
                             const floe_manifest_list_options *options,
                             const floe_manifest_file *files, int32_t n_files,
                             floe_error *err);

typedef struct floe_manifest_list {
  int32_t n_files;
  floe_manifest_file *files;
  struct floe_arena *arena;
} floe_manifest_list;

/* Reads a manifest list (v1 lists get the v1 defaults: content data,
 * sequence numbers 0; counts a v1 list leaves null read as 0). Fields are
 * found by field id (old names such as added_data_files_count read too).
 * Everything lives in the list's arena. The caller frees *out with
 * floe_manifest_list_free. Errors: FLOE_ENOTFOUND, FLOE_EIO, FLOE_EFORMAT,
 * FLOE_ENOMEM. */
int floe_manifest_list_read(floe_io *io, const char *path,
                            floe_manifest_list **out, floe_error *err);
void floe_manifest_list_free(floe_manifest_list *list);

/* The rows a v3 snapshot assigns ids to when its list is written with these
 * entries: the existing + added rows of the data manifests that have no
 * first_row_id yet (the snapshot's "added-rows"; next-row-id advances by
 * it). */
int64_t floe_manifest_list_rows_to_assign(const floe_manifest_file *files,
                                          int32_t n_files);

#ifdef __cplusplus
}
#endif
#endif
