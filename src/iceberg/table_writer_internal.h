/*
 * iceberg/table_writer_internal.h: the machinery the data writer
 * (data_writer.c) and the delete writers (delete_writer.c) share: reading
 * the table's write properties, the partitions a writer has seen (their
 * tuples and paths), creating, rolling and finishing Parquet files on a
 * floe_io, turning a finished file into a content file, and deleting every
 * created file on abort. No other module includes it.
 */
#ifndef FLOE_TABLE_WRITER_INTERNAL_H
#define FLOE_TABLE_WRITER_INTERNAL_H

#include "core/arena.h"
#include "floe/parquet_writer.h"
#include "floe/table_writer.h"

/* Iceberg metrics modes (Iceberg spec: Manifests, and the
 * write.metadata.metrics.* properties). */
typedef enum {
  TW_METRICS_NONE,
  TW_METRICS_COUNTS,
  TW_METRICS_TRUNCATE,
  TW_METRICS_FULL
} tw_metrics_kind;

typedef struct tw_metrics_mode {
  tw_metrics_kind kind;
  int32_t length; /* truncate(length) */
} tw_metrics_mode;

/* One buffered position delete: `path` indexes the writer's interned paths
 * (a rank while the buffer is being sorted). */
typedef struct tw_pos_delete {
  int32_t path;
  int64_t pos;
} tw_pos_delete;

typedef struct tw_file tw_file;

/* A partition the writer has seen. */
typedef struct tw_partition {
  uint64_t hash;
  floe_iceberg_value *values; /* n_part values, owned */
  char *path;                 /* "a=1/b=2"; "" when unpartitioned */
  tw_file *file;              /* the open file of this partition, or NULL */
  tw_pos_delete *deletes;     /* position delete writer's buffer */
  int64_t n_deletes, cap_deletes;
} tw_partition;

/* A Parquet file being written. */
struct tw_file {
  char *path;
  floe_io_writer *io;
  floe_parquet_writer *pw;
  int32_t partition;
  uint64_t last_used;
};

/* What kind of files a writer produces. */
typedef struct tw_params {
  floe_iceberg_content content;
  /* The schema of the files (a flat struct). NULL: the table schema. The
   * core takes ownership when owns_file_schema. */
  floe_iceberg_schema *file_schema;
  bool owns_file_schema;
  const char *suffix;              /* appended to file names: "-deletes" */
  bool full_metrics;               /* ignore the table's metrics modes */
  const int32_t *equality_ids;     /* equality deletes (copied) */
  int32_t n_equality_ids;
  bool has_sort_order_id;          /* data and equality deletes: order 0 */
  bool delete_type_position;       /* footer "delete-type" */
} tw_params;

typedef struct tw_core {
  const floe_iceberg_schema *schema; /* table schema (borrowed) */
  const floe_iceberg_partition_spec *spec; /* NULL when unpartitioned */
  int32_t spec_id;
  int32_t n_part;                    /* partition fields */
  floe_iceberg_type *part_types;     /* result type of each partition field */
  const floe_iceberg_field **part_sources;
  struct ArrowSchema *part_arrow;    /* result column of each field */
  floe_io *io;
  char *data_path;
  char *prefix;
  const char *suffix;
  floe_iceberg_content content;
  int64_t target_size;
  int32_t max_open;
  int64_t max_buffered_deletes;

  floe_parquet_writer_options pq;
  const char *kv_keys[3];
  const char *kv_values[3];
  char *schema_json;     /* footer "iceberg.schema" */
  char *delete_ids_text; /* footer "delete-field-ids" */

  /* The columns of every file. */
  floe_iceberg_schema *owned_file_schema;
  const floe_iceberg_schema *file_schema;
  struct ArrowSchema write_schema;
  int32_t n_write;
  const floe_iceberg_field **write_fields;
  floe_arrow_type_info *write_types;
  tw_metrics_mode *write_modes;
  int32_t *equality_ids;
  int32_t n_equality_ids;
  bool has_sort_order_id;
  int32_t sort_order_id; /* the order every file follows (0: unsorted) */

  int32_t file_counter;
  char **created; /* every path created, for abort */
  int32_t n_created, cap_created;
  floe_content_file_list results;

  tw_partition *parts;
  int32_t n_parts, cap_parts;
  int32_t *slots; /* open addressing: partition index or -1 */
  uint32_t n_slots;
  floe_buf scratch;

  tw_file **open_files;
  int32_t n_open;
  uint64_t tick;
  floe_arena arena; /* per-batch scratch */

  bool failed;    /* a write failed midway: only abort/free remain */
  bool closed;    /* close succeeded: the files are the caller's */
  int64_t rows;
} tw_core;

int tw_core_init(tw_core *c, const floe_table_writer_options *options,
                 tw_params *params, floe_error *err);
/* Deletes the created files (when !closed) and frees everything. */
void tw_core_free(tw_core *c);
/* Discards open files and deletes every created file. */
void tw_core_abort(tw_core *c);

/* Finds the partition with these values (n_part of them), adding it (with
 * copied values and its path) when new. */
int tw_partition_find(tw_core *c, const floe_iceberg_value *values,
                      int32_t *out_index, floe_error *err);

/* Opens a new file for partition `part` (closing the least recently used
 * open file first when max_open files are open). */
int tw_file_open(tw_core *c, int32_t part, tw_file **out, floe_error *err);
/* Finishes the file: footer, io close, content file appended to results.
 * The file is freed whatever the outcome. */
int tw_file_finish(tw_core *c, tw_file *f, const char *referenced_data_file,
                   floe_error *err);

/* How many rows to write to `f` next: the rows that fit before the
 * target size at the file's bytes per row so far (a first slice of 256),
 * within [16, 65536]. */
int64_t tw_next_slice(const tw_core *c, const tw_file *f);

/* Writes rows [rows->offset, rows->offset + rows->length) of a struct of
 * the write schema to partition `part`, rolling at the target size. */
int tw_write_rows(tw_core *c, int32_t part, const struct ArrowArray *rows,
                  floe_error *err);

/* Checks, partitions and writes one batch (data and equality deletes).
 * allow_extra: columns that are not written are ignored (else an error). */
int tw_write_batch(tw_core *c, const struct ArrowSchema *schema,
                   const struct ArrowArray *batch, bool allow_extra,
                   floe_error *err);

/* Checks a batch as tw_write_batch does and copies its rows, as a struct
 * of the write schema, into *out (the caller releases it). */
int tw_copy_batch(tw_core *c, const struct ArrowSchema *schema,
                  const struct ArrowArray *batch, struct ArrowArray *out, floe_error *err);

/* Finishes every open file (the results stay in the core). */
int tw_finish_open_files(tw_core *c, floe_error *err);

/* Finishes every open file and moves the results into *out. */
int tw_close(tw_core *c, floe_content_file_list *out, floe_error *err);
/* sizeof(struct floe_content_file_owned), for moving list entries. */
size_t tw_owned_size(void);

#endif
