/*
 * floe/scan.h: reading Iceberg tables (Iceberg spec: Scan Planning, Delete
 * Formats, Column Projection, Schema Evolution, Point in Time Reads), and
 * the Puffin files and 64-bit Roaring bitmaps that v3 deletion vectors are
 * stored in (format/puffin-spec.md, Iceberg spec: Deletion Vectors).
 *
 * A scan starts from parsed table metadata and a floe_io. Planning reads
 * the snapshot's manifest list and manifests, prunes manifests and data
 * files with the row filter (partition summaries, partition tuples, column
 * bounds and null counts), and attaches to each data file the delete files
 * that apply to it by the spec's rules. Reading then streams each data file
 * as Arrow struct batches in the projected schema (columns found by field
 * id, or by the table's name mapping for files without ids; promoted types
 * widened; missing columns null or their initial default; identity-
 * partitioned columns taken from the partition tuple), drops deleted rows
 * (position deletes, deletion vectors, equality deletes) and applies the
 * row filter exactly. Surviving rows are copied column by column in runs
 * (memcpy of fixed-width values, rebased offsets), not value by value.
 *
 * Memory: planning keeps the list of live files (metadata only). Reading
 * holds one data file's row group (through the Parquet reader), the batch
 * being built, and the deletes of the current data file: sorted positions,
 * deletion-vector bitmaps, and a hash set of equality-delete keys.
 *
 * Ownership: a floe_scan borrows the metadata and io given to
 * floe_scan_open (both must outlive it) and copies every option. Plans and
 * schemas handed out live in the scan; batches belong to the caller.
 */
#ifndef FLOE_SCAN_H
#define FLOE_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/arrow.h"
#include "floe/buffer.h"
#include "floe/common.h"
#include "floe/iceberg.h"
#include "floe/io.h"
#include "floe/manifest.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reserved field ids of the metadata columns (Iceberg spec: Reserved Field
 * IDs) and of position-delete files' columns. */
#define FLOE_SCAN_FIELD_ID_FILE_PATH 2147483646 /* _file */
#define FLOE_SCAN_FIELD_ID_POS 2147483645       /* _pos */
#define FLOE_DELETE_FIELD_ID_FILE_PATH 2147483546
#define FLOE_DELETE_FIELD_ID_POS 2147483545

/* ==== row filters ====================================================== */

typedef enum floe_scan_op {
  FLOE_SCAN_EQ = 0,
  FLOE_SCAN_NE,
  FLOE_SCAN_LT,
  FLOE_SCAN_LE,
  FLOE_SCAN_GT,
  FLOE_SCAN_GE,
  FLOE_SCAN_IS_NULL,
  FLOE_SCAN_NOT_NULL,
  FLOE_SCAN_IN
} floe_scan_op;

/* One `column op literal` term; a filter is a conjunction (AND) of terms.
 * The column is named by `column` (a top-level name of the scan's schema,
 * case-sensitive) or, when column is NULL, by `field_id`. Literals are
 * floe_iceberg_value interpreted against the column's type in the scan's
 * schema (an int column takes v.i32, a long v.i64, a string bytes/len...);
 * IN takes `values[0..n_values)`. Comparisons follow SQL: a null column
 * value satisfies only IS NULL; floats compare as IEEE numbers (NaN matches
 * only !=). Only primitive columns can be filtered. */
typedef struct floe_scan_predicate {
  const char *column;
  int32_t field_id;
  floe_scan_op op;
  floe_iceberg_value value;
  const floe_iceberg_value *values;
  int32_t n_values;
} floe_scan_predicate;

/* ==== scan options ===================================================== */

typedef struct floe_scan_options {
  /* Which snapshot: snapshot_id when has_snapshot_id, else the snapshot
   * current at as_of_timestamp_ms when has_as_of (snapshot-log, Appendix
   * F), else the current snapshot. A table without a snapshot reads as
   * empty. */
  bool has_snapshot_id;
  int64_t snapshot_id;
  bool has_as_of;
  int64_t as_of_timestamp_ms;
  /* Time travel reads with the snapshot's schema-id (Iceberg spec: Point
   * in Time Reads); set this to read an old snapshot with the current
   * schema instead (columns added later are then null). */
  bool use_current_schema;
  /* Projection: top-level columns by name, else by field id, else (both
   * empty) every primitive or list-of-primitive top-level column of the
   * schema. Lists of primitives are read as Arrow lists ("+l", the child
   * "element" carrying the element-id); a data file without the list
   * column reads it as null. Other nested columns (struct, map, lists of
   * nested types) are not readable (FLOE_EUNSUPPORTED when named; left out
   * of the default projection). Filters take primitive columns only. */
  const char *const *columns;
  int32_t n_columns;
  const int32_t *field_ids;
  int32_t n_field_ids;
  /* Row filter: a conjunction of n_filter terms (may be 0). */
  const floe_scan_predicate *filter;
  int32_t n_filter;
  /* The filter only prunes (manifests and data files by partition values
   * and column bounds); the rows of a kept file are returned whether they
   * match or not. For a caller that checks every row itself anyway (a
   * merge matching keys), so the scan saves the per-row evaluation. */
  bool filter_prunes_only;
  /* Rows per batch read from a data file (0: 65536). Output batches hold
   * at most this many rows (fewer after deletes and filtering). */
  int64_t batch_size;
  /* Path remapping: every file path (manifest list, manifests, data and
   * delete files) that starts with location_from (a whole path prefix;
   * NULL: the metadata's location) is read from location_to + the rest
   * instead. location_to NULL: no remapping. A leading "./" is ignored on
   * both the prefix and the paths. */
  const char *location_from;
  const char *location_to;
  /* Metadata columns appended after the projected ones: _file (string,
   * the data file path as the manifest records it; field id 2147483646)
   * and _pos (long, the row's position in its data file; 2147483645). */
  bool with_file_path;
  bool with_pos;
  /* Data files to read: when data_files is not NULL, only the data files
   * whose path (exactly as the manifest records it, before remapping) is
   * one of data_files[0..n_data_files) are planned and read (n may be 0:
   * nothing); the others count as pruned (plan data_files_pruned). Delete
   * files attach to the kept files as usual. Lets a caller that knows
   * which files can hold its keys (a merge) skip the rest. */
  const char *const *data_files;
  int32_t n_data_files;
  /* Read as if the snapshot had no equality delete files (position deletes
   * and deletion vectors still apply). With with_pos, the positions this
   * scan returns beyond those of a normal scan are exactly the rows the
   * equality deletes remove: how maintenance converts them to position
   * deletes. */
  bool ignore_equality_deletes;
  /* Rows the caller leaves out besides the table's deletes (NULL: none).
   * Called once per batch decoded from a data file with the batch's plan
   * task (floe_scan_batch_task numbering), the position of its first row
   * in the file and its row count; clears drop-out rows' flags in
   * keep[0..n) (all 1 on entry). A negative FLOE_E* code (err set) stops
   * the scan. Runs on the thread calling floe_scan_next. A copy-on-write
   * merge leaves out the rows it replaces this way, so the kept rows are
   * copied once. Counted in rows_excluded. */
  int (*exclude_rows)(void *ctx, int32_t task, int64_t first_row, int64_t n, uint8_t *keep,
                      floe_error *err);
  void *exclude_ctx;
} floe_scan_options;

/* ==== plans ============================================================ */

/* A live delete file of the snapshot. */
typedef struct floe_scan_delete_file {
  floe_iceberg_content_file file; /* paths as written in the manifest */
  int64_t data_sequence_number;
  int64_t file_sequence_number;
  bool is_deletion_vector;        /* v3 Puffin DV blob */
} floe_scan_delete_file;

/* A data file to read and the deletes that apply to it. */
typedef struct floe_scan_task {
  floe_iceberg_content_file file;
  int64_t data_sequence_number;
  int64_t file_sequence_number;
  int32_t n_deletes;
  const floe_scan_delete_file **deletes; /* point into plan->delete_files */
} floe_scan_task;

typedef struct floe_scan_plan_info {
  bool has_snapshot; /* false: the table has no snapshot (empty result) */
  int64_t snapshot_id;
  int32_t schema_id;  /* the schema the scan reads with */
  int32_t n_tasks;
  floe_scan_task *tasks;
  /* Every live delete file of the snapshot, applicable or not, in
   * manifest order (deletes pointing at files no longer live are kept
   * here but attached to no task). */
  int32_t n_delete_files;
  floe_scan_delete_file *delete_files;
  /* Pruning statistics. */
  int32_t manifests_total, manifests_pruned;
  int64_t data_files_total, data_files_pruned;
} floe_scan_plan_info;

/* ==== scans ============================================================ */

typedef struct floe_scan floe_scan;

/* Creates a scan over `metadata` reading files through `io` (both
 * borrowed, must outlive the scan). options may be NULL (current snapshot,
 * all columns, no filter). Resolves the snapshot and schema and checks the
 * projection and filter now: FLOE_ENOTFOUND for an unknown snapshot or
 * column, FLOE_EUNSUPPORTED for a nested column, FLOE_EINVAL for a bad
 * filter. Free with floe_scan_free. */
int floe_scan_open(floe_scan **out, const floe_iceberg_metadata *metadata,
                   floe_io *io, const floe_scan_options *options,
                   floe_error *err);

/* Plans the scan (once; later calls return the same plan). *out lives in
 * the scan. Errors name the manifest list or manifest. */
int floe_scan_plan(floe_scan *scan, const floe_scan_plan_info **out,
                   floe_error *err);

/* The output schema ("+s"; projected columns with "PARQUET:field_id",
 * then _file/_pos when asked). The caller releases *out. */
int floe_scan_schema(const floe_scan *scan, struct ArrowSchema *out,
                     floe_error *err);

/* The Iceberg schema the scan reads with (owned by the metadata). */
const floe_iceberg_schema *floe_scan_table_schema(const floe_scan *scan);

/* The next batch of live, matching rows into *out (the caller releases
 * it). Plans first when needed. At the end returns FLOE_OK with
 * out->release == NULL. Errors name the data or delete file. */
int floe_scan_next(floe_scan *scan, struct ArrowArray *out, floe_error *err);

/* The plan task (an index into the plan's tasks) whose data file the
 * batch floe_scan_next returned last came from: a batch never spans data
 * files. -1 before the first batch. Lets a caller that needs the file of
 * each row (a merge marking rows) skip the _file column. */
int32_t floe_scan_batch_task(const floe_scan *scan);

/* Rows returned so far, and rows dropped by deletes and by the filter. */
typedef struct floe_scan_stats {
  int64_t rows_read;        /* rows decoded from data files */
  int64_t rows_deleted;     /* dropped by position deletes or DVs */
  int64_t rows_eq_deleted;  /* dropped by equality deletes */
  int64_t rows_filtered;    /* dropped by the row filter */
  int64_t rows_excluded;    /* left out by options.exclude_rows */
  int64_t rows_returned;
  int64_t files_read;
} floe_scan_stats;
void floe_scan_get_stats(const floe_scan *scan, floe_scan_stats *out);

/* Accepts NULL. */
void floe_scan_free(floe_scan *scan);

/* Applies a scan's path remapping to one location: the remapped path in a
 * new string (caller frees with floe_free). Exposed for tools and tests. */
int floe_scan_remap_path(const char *location_from, const char *location_to,
                         const char *path, char **out, floe_error *err);

/* ==== 64-bit Roaring bitmaps (read only) ==============================
 * The portable 64-bit format used by deletion vectors (Iceberg spec:
 * Deletion Vectors): an 8-byte little-endian count of 32-bit bitmaps, then
 * per bitmap a 4-byte little-endian key (the high 32 bits) and a 32-bit
 * bitmap in the portable Roaring format (RoaringFormatSpec). Keys above
 * 2^31-1 are rejected as the reference implementation does ("Invalid
 * unsigned key"); keys must ascend. */

typedef struct floe_roaring64 floe_roaring64;

/* Parses a bitmap from data[0..len); *out_consumed (may be NULL) gets the
 * bytes used. The caller frees *out with floe_roaring64_free. Errors:
 * FLOE_EFORMAT naming the bitmap, container and offset. */
int floe_roaring64_deserialize(floe_roaring64 **out, const uint8_t *data,
                               size_t len, size_t *out_consumed,
                               floe_error *err);
bool floe_roaring64_contains(const floe_roaring64 *bitmap, uint64_t value);
uint64_t floe_roaring64_cardinality(const floe_roaring64 *bitmap);
/* Every value in ascending order into a new array (*out, caller frees with
 * floe_free; *out_n gets the count). */
int floe_roaring64_to_array(const floe_roaring64 *bitmap, uint64_t **out,
                            size_t *out_n, floe_error *err);
/* Accepts NULL. */
void floe_roaring64_free(floe_roaring64 *bitmap);

/* Parses a `deletion-vector-v1` blob: [4-byte big-endian length of magic +
 * bitmap][magic D1 D3 39 64][portable 64-bit roaring][4-byte big-endian
 * CRC-32 of magic + bitmap]. Checks the length, magic and CRC and that the
 * bitmap fills the blob. The caller frees *out. */
int floe_deletion_vector_parse(floe_roaring64 **out, const uint8_t *blob,
                               size_t len, floe_error *err);

/* ==== Puffin files (format/puffin-spec.md) ============================= */

typedef struct floe_puffin_blob {
  const char *type; /* "apache-datasketches-theta-v1", "deletion-vector-v1" */
  int32_t n_fields;
  const int32_t *fields;
  int64_t snapshot_id;
  int64_t sequence_number;
  int64_t offset;
  int64_t length;
  const char *compression_codec; /* "zstd", "lz4", or NULL (uncompressed) */
  int32_t n_properties;
  const floe_iceberg_property *properties;
} floe_puffin_blob;

typedef struct floe_puffin_reader floe_puffin_reader;

#define FLOE_PUFFIN_FLAG_FOOTER_COMPRESSED 1u /* byte 0, bit 0: lz4 */

/* Opens a Puffin file and reads its footer (magic at both ends, payload
 * size, flags, the JSON payload; an LZ4-compressed payload is inflated).
 * Blob offsets and lengths are checked against the file. Free with
 * floe_puffin_reader_free. Errors: FLOE_EFORMAT ("<path>: puffin footer:
 * ..."), FLOE_EUNSUPPORTED for unknown flags, I/O errors. */
int floe_puffin_reader_open(floe_puffin_reader **out, floe_io *io,
                            const char *path, floe_error *err);
int32_t floe_puffin_reader_num_blobs(const floe_puffin_reader *reader);
/* Blob i's metadata (owned by the reader), or NULL when out of range. */
const floe_puffin_blob *floe_puffin_reader_blob(
    const floe_puffin_reader *reader, int32_t i);
/* The footer's file properties ("created-by", ...), owned by the reader. */
const floe_iceberg_property *floe_puffin_reader_properties(
    const floe_puffin_reader *reader, int32_t *out_n);
uint32_t floe_puffin_reader_flags(const floe_puffin_reader *reader);
/* Appends blob i's bytes, decompressed (zstd, lz4 frame), to out. */
int floe_puffin_reader_read_blob(floe_puffin_reader *reader, int32_t i,
                                 floe_buf *out, floe_error *err);
void floe_puffin_reader_free(floe_puffin_reader *reader);

#ifdef __cplusplus
}
#endif
#endif
