/*
 * floe/table_writer.h: the writers that turn rows into Iceberg data files
 * and delete files, ready to be listed in a manifest.
 *
 * Three writers share one configuration (floe_table_writer_options):
 *
 *  - the data writer takes Arrow batches whose columns carry Iceberg field
 *    ids, computes each row's partition (Iceberg spec: Partitioning),
 *    writes each partition's rows to its own Parquet file under
 *    `<write.data.path>/<partition path>/<prefix>-<nnnnn>.parquet`, rolls a
 *    file when it reaches write.target-file-size-bytes, and keeps at most
 *    max_open_files files open at once (the least recently used one is
 *    closed when another is needed; its partition simply gets a new file if
 *    it comes back);
 *  - the position delete writer takes (data file path, row position) pairs,
 *    buffers them per partition of the data file they delete, and writes
 *    them sorted by file_path then pos (Iceberg spec: Position Delete
 *    Files);
 *  - the equality delete writer takes Arrow batches holding the equality
 *    columns (and, for a partitioned spec, the partition source columns) and
 *    writes files whose schema is exactly the equality columns with their
 *    table field ids (Iceberg spec: Equality Delete Files).
 *
 * Each writer's close hands back a floe_content_file_list: one
 * floe_iceberg_content_file per finished file with content type, path,
 * format PARQUET, spec id, partition tuple, record count, file size,
 * per-column metrics (per write.metadata.metrics.*), split offsets, and
 * sort order id, equality ids or referenced data file as the kind requires.
 *
 * Table properties read (Iceberg "Write properties"; defaults in brackets):
 *   write.target-file-size-bytes [536870912]
 *   write.parquet.compression-codec [zstd; also snappy, gzip, uncompressed]
 *   write.parquet.compression-level [codec default]
 *   write.parquet.row-group-size-bytes [134217728]
 *   write.parquet.page-size-bytes [1048576]
 *   write.parquet.dict-size-bytes [2097152]
 *   write.metadata.metrics.default [truncate(16); none, counts, full,
 *     truncate(N)], write.metadata.metrics.column.<name> per column, and
 *     write.metadata.metrics.max-inferred-column-defaults [100]: when the
 *     default is not set explicitly, columns beyond the first 100 get none
 *   write.data.path [<location>/data]
 *
 * Memory: each open data file holds about one row group in memory (the
 * compressed pages of its current row group plus one page per column being
 * filled), so a data or equality delete writer uses at most about
 * max_open_files x write.parquet.row-group-size-bytes, plus one batch.
 * To bound it, lower max_open_files or the row group size, or feed rows
 * clustered by partition (then only one file is open at a time). The
 * position delete writer buffers about 16 bytes per delete (plus each
 * distinct data file path once) up to max_buffered_deletes, then writes
 * the largest partition's deletes out.
 *
 * Sorted data files: when the options name a sort order with fields, the
 * data writer keeps the rows it is given in a sort buffer (a copy of them,
 * plus one key per row and sort field) until it holds sort_buffer_bytes,
 * sorts them by the order (each field's transform applied, its direction
 * and null order; Iceberg's value order, stable for equal keys), writes
 * them, and finishes every open file before buffering more: each file
 * holds rows of one flush only, so it is sorted, and its content file
 * carries the order's id (data_file.sort_order_id). More rows than the
 * buffer holds give several files per partition, each one sorted run. An
 * order that cannot be evaluated on the written columns (a field on a
 * nested or non-primitive column, a column the file schema lacks, an
 * unknown transform) leaves the writer unsorted, with sort order id 0.
 * Memory grows by the buffer.
 *
 * Ownership: the writers copy the strings of their options and read the
 * properties during open, but borrow the schema, the partition spec and the
 * io, which must outlive the writer. Files that a
 * writer handed out through close belong to the caller; every other file it
 * created is deleted when the writer is aborted or freed without a
 * successful close.
 */
#ifndef FLOE_TABLE_WRITER_H
#define FLOE_TABLE_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "floe/arrow.h"
#include "floe/common.h"
#include "floe/iceberg.h"
#include "floe/io.h"
#include "floe/manifest.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reserved field ids of position delete files (Iceberg spec: Reserved
 * Field IDs). */
#define FLOE_ICEBERG_DELETE_FILE_PATH_ID 2147483546
#define FLOE_ICEBERG_DELETE_POS_ID 2147483545

#define FLOE_TABLE_WRITER_DEFAULT_TARGET_FILE_SIZE (INT64_C(512) * 1024 * 1024)
#define FLOE_TABLE_WRITER_DEFAULT_MAX_OPEN_FILES 32
#define FLOE_TABLE_WRITER_DEFAULT_MAX_BUFFERED_DELETES INT64_C(1000000)

typedef struct floe_table_writer_options {
  const floe_iceberg_schema *schema;       /* required: the table schema */
  const floe_iceberg_partition_spec *spec; /* NULL: unpartitioned, spec id 0 */
  const char *location;                    /* required: the table location */
  const floe_iceberg_property *properties; /* table properties; may be NULL */
  int32_t n_properties;
  floe_io *io;                             /* required */
  /* Required, unique per writer, e.g. "00000-<task>-<uuid>" as Iceberg's
   * OutputFileFactory names them: files are <prefix>-00001.parquet, ... */
  const char *file_prefix;
  int32_t max_open_files;         /* fanout bound; 0 = 32 */
  int64_t target_file_size_bytes; /* 0 = the table property (or 512 MiB) */
  int64_t max_buffered_deletes;   /* position deletes; 0 = 1,000,000 */
  /* An upper bound on a Parquet row group's bytes, below the table's
   * write.parquet.row-group-size-bytes, for a writer that must bound its
   * memory (a row group is held until it is complete); 0 = none. */
  int64_t max_row_group_bytes;
  /* Data writer only: the sort order to write data files in (Iceberg
   * spec: Sorting); NULL, or an order without fields, writes rows as they
   * come. See "Sorted data files" above. Borrowed. */
  const floe_iceberg_sort_order *sort_order;
  /* The sort buffer's bound in bytes; 0 = 64 MiB. */
  int64_t sort_buffer_bytes;
} floe_table_writer_options;

#define FLOE_TABLE_WRITER_DEFAULT_SORT_BUFFER (INT64_C(64) * 1024 * 1024)

/* Zeroes the options (every field then means its default). */
void floe_table_writer_options_init(floe_table_writer_options *options);

/* Fills schema (the current one), spec (the default one), location and
 * properties from table metadata, which must outlive the writers opened
 * with these options. Errors: FLOE_EINVAL when the metadata has no current
 * schema or default spec. */
int floe_table_writer_options_from_metadata(
    floe_table_writer_options *options, const floe_iceberg_metadata *metadata,
    floe_error *err);

/* The finished files of a writer. files[i] and everything it points to
 * belong to the list; release with floe_content_file_list_free. */
typedef struct floe_content_file_list {
  int32_t n_files;
  floe_iceberg_content_file *files;
  int32_t cap;
  struct floe_content_file_owned *owned; /* private: what files point into */
} floe_content_file_list;

/* Frees what the list owns and leaves it empty. Accepts NULL. */
void floe_content_file_list_free(floe_content_file_list *list);

/* ---- data files ------------------------------------------------------- */

typedef struct floe_data_writer floe_data_writer;

/* Opens a data writer. Reads the table properties above; nothing is
 * created on storage until rows arrive. Errors: FLOE_EINVAL (missing
 * option, bad property value, a spec that does not fit the schema),
 * FLOE_EUNSUPPORTED (nested columns, a codec floe does not write),
 * FLOE_ENOMEM. The caller frees *out with floe_data_writer_free. */
int floe_data_writer_open(floe_data_writer **out,
                          const floe_table_writer_options *options,
                          floe_error *err);

/* Writes the rows of `batch` ("+s" described by `schema`). Columns are
 * matched to the table by their "PARQUET:field_id", in any order; optional
 * columns may be absent (written as nulls). A batch is checked before any
 * row is written: a missing required column, a column whose Arrow type is
 * not its Iceberg type's mapping, a column that is not in the table, a null
 * in a required column or a decimal beyond its precision is FLOE_EINVAL /
 * FLOE_ERANGE naming the column (and row), and leaves the writer usable.
 * An I/O or allocation failure while writing leaves the writer failed:
 * only abort and free remain. The batch is only read. */
int floe_data_writer_write(floe_data_writer *writer,
                           const struct ArrowSchema *schema,
                           const struct ArrowArray *batch, floe_error *err);

/* Finishes every open file and moves the list of finished files into *out
 * (which the caller frees with floe_content_file_list_free). */
int floe_data_writer_close(floe_data_writer *writer,
                           floe_content_file_list *out, floe_error *err);

/* Deletes every file the writer created, finished or not, including those
 * handed out by close: call it only when they were not committed. The
 * writer must still be freed. Accepts NULL. */
void floe_data_writer_abort(floe_data_writer *writer);

/* Frees the writer; when close did not succeed, first deletes the files it
 * created (nothing references them). Accepts NULL. */
void floe_data_writer_free(floe_data_writer *writer);

/* Rows written so far. */
int64_t floe_data_writer_rows(const floe_data_writer *writer);

/* ---- position delete files -------------------------------------------- */

typedef struct floe_position_delete_writer floe_position_delete_writer;

/* Opens a position delete writer. Files are named
 * <prefix>-<nnnnn>-deletes.parquet; metrics on file_path and pos are always
 * full, so readers can match a delete file to the data files it covers.
 * The caller frees *out with floe_position_delete_writer_free. */
int floe_position_delete_writer_open(floe_position_delete_writer **out,
                                     const floe_table_writer_options *options,
                                     floe_error *err);

/* Records that row `pos` of data file `file_path` is deleted. `partition`
 * is the data file's partition tuple (spec->n_fields values of the spec's
 * result types, as the data file's content file carries; NULL for an
 * unpartitioned spec); delete files live in the partition of the data they
 * delete. Values and path are copied. Errors: FLOE_EINVAL (negative
 * position), FLOE_ENOMEM, and when the buffer is full, the errors of
 * writing a file. */
int floe_position_delete_writer_add(floe_position_delete_writer *writer,
                                    const floe_iceberg_value *partition,
                                    const char *file_path, int64_t pos,
                                    floe_error *err);

/* A position delete writer for a table whose data files have several
 * partition specs (Iceberg spec: Partition Evolution): options->spec is
 * the main one, and each of specs[0..n_specs) gets its own files, named
 * <prefix>-s<spec id>-<nnnnn>-deletes.parquet. The specs are borrowed.
 * A delete file lives in the spec and partition of the data file it
 * deletes from (Iceberg spec: Scan Planning). */
int floe_position_delete_writer_open_specs(
    floe_position_delete_writer **out, const floe_table_writer_options *options,
    const floe_iceberg_partition_spec *const *specs, int32_t n_specs,
    floe_error *err);

/* As floe_position_delete_writer_add for a data file of spec `spec_id`
 * (the main spec or one given to open_specs; FLOE_EINVAL otherwise). The
 * close hands back the files of every spec. */
int floe_position_delete_writer_add_spec(floe_position_delete_writer *writer,
                                         int32_t spec_id,
                                         const floe_iceberg_value *partition,
                                         const char *file_path, int64_t pos,
                                         floe_error *err);

/* Sorts and writes what is buffered, finishes every file and moves the
 * list into *out (caller frees). A file that references a single data file
 * carries it in referenced_data_file. */
int floe_position_delete_writer_close(floe_position_delete_writer *writer,
                                      floe_content_file_list *out,
                                      floe_error *err);
void floe_position_delete_writer_abort(floe_position_delete_writer *writer);
void floe_position_delete_writer_free(floe_position_delete_writer *writer);

/* ---- equality delete files -------------------------------------------- */

typedef struct floe_equality_delete_writer floe_equality_delete_writer;

/* Opens an equality delete writer for the top-level primitive columns
 * `equality_ids` (copied). Files are named <prefix>-<nnnnn>-deletes.parquet
 * and partitioned like data files: equality deletes are scoped to their
 * partition unless the spec is unpartitioned. Errors: FLOE_EINVAL (no ids,
 * an id that is not a top-level primitive column, a repeated id). The
 * caller frees *out with floe_equality_delete_writer_free. */
int floe_equality_delete_writer_open(floe_equality_delete_writer **out,
                                     const floe_table_writer_options *options,
                                     const int32_t *equality_ids,
                                     int32_t n_equality_ids, floe_error *err);

/* Writes delete rows. The batch must hold every equality column and, for a
 * partitioned spec, every partition source column (matched by field id);
 * other columns are ignored. Errors as floe_data_writer_write. */
int floe_equality_delete_writer_write(floe_equality_delete_writer *writer,
                                      const struct ArrowSchema *schema,
                                      const struct ArrowArray *batch,
                                      floe_error *err);
int floe_equality_delete_writer_close(floe_equality_delete_writer *writer,
                                      floe_content_file_list *out,
                                      floe_error *err);
void floe_equality_delete_writer_abort(floe_equality_delete_writer *writer);
void floe_equality_delete_writer_free(floe_equality_delete_writer *writer);

#ifdef __cplusplus
}
#endif
#endif
