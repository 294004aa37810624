/*
 * floe/parquet_writer.h: streaming Parquet writer for flat Iceberg schemas.
 *
 * The caller describes the columns with an Arrow struct schema ("+s"): each
 * child's name, format (one floe_arrow_type per Iceberg primitive), nullable
 * flag (optional vs required column) and "PARQUET:field_id" metadata (the
 * Iceberg field id, written into the Parquet schema). Batches are Arrow
 * structs of that schema. Memory is bounded by about one row group: pages
 * are encoded and compressed as they fill, and a row group is flushed to the
 * sink when it reaches row_group_bytes.
 *
 * Physical layout per Iceberg (spec: Parquet type mapping): boolean BOOLEAN;
 * int INT32; long INT64; float FLOAT; double DOUBLE; decimal(p,s) INT32 when
 * p <= 9, INT64 when p <= 18, FIXED_LEN_BYTE_ARRAY(minimal bytes) beyond;
 * date INT32 DATE; time INT64 TIME(MICROS, adjusted=false); timestamp INT64
 * TIMESTAMP(MICROS, adjusted=false); timestamptz INT64 TIMESTAMP(MICROS,
 * adjusted=true); string BYTE_ARRAY STRING; binary BYTE_ARRAY; uuid
 * FIXED_LEN_BYTE_ARRAY(16) UUID; fixed(L) FIXED_LEN_BYTE_ARRAY(L).
 *
 * On close the writer reports what an Iceberg manifest needs per file
 * (floe_parquet_file_metrics), with bounds serialized per Iceberg spec
 * Appendix D (single-value serialization).
 */
#ifndef FLOE_PARQUET_WRITER_H
#define FLOE_PARQUET_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "floe/arrow.h"
#include "floe/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where the bytes go. write must write all n bytes or fail (return < 0 with
 * err set). The writer never seeks. */
typedef struct floe_parquet_sink {
  void *ctx;
  int (*write)(void *ctx, const void *data, size_t n, floe_error *err);
} floe_parquet_sink;

typedef enum floe_parquet_compression {
  FLOE_PARQUET_UNCOMPRESSED = 0,
  FLOE_PARQUET_SNAPPY = 1,
  FLOE_PARQUET_GZIP = 2,
  FLOE_PARQUET_ZSTD = 6
} floe_parquet_compression;

typedef struct floe_parquet_writer_options {
  floe_parquet_compression compression; /* default ZSTD */
  int compression_level;       /* zstd 1..22 (default 3); gzip 1..9 (6) */
  int64_t row_group_bytes;     /* target uncompressed bytes; default 128 MiB */
  int64_t page_bytes;          /* target uncompressed page size; default 1 MiB */
  int64_t dictionary_page_bytes; /* dictionary limit before falling back to
                                    PLAIN for the rest of the chunk; 1 MiB */
  bool dictionary;             /* use RLE_DICTIONARY where it pays (default true) */
  int32_t truncate_length;     /* Iceberg metrics: string/binary bound length
                                  in characters/bytes; default 16; 0 = full */
  const char *created_by;      /* default "floe version X" */
  /* Extra footer key-value metadata, e.g. "iceberg.schema". */
  int32_t n_key_value;
  const char *const *keys;
  const char *const *values;
} floe_parquet_writer_options;

/* Fills in the defaults above. */
void floe_parquet_writer_options_init(floe_parquet_writer_options *options);

/* Per-column metrics of one data file, as Iceberg manifests record them
 * (Iceberg spec: Manifests, data_file fields 108-125). */
typedef struct floe_parquet_column_metrics {
  int32_t field_id;
  int64_t column_size;  /* compressed bytes of the column's chunks */
  int64_t value_count;  /* values including nulls */
  int64_t null_count;
  bool has_nan_count;   /* float and double columns only */
  int64_t nan_count;
  /* Iceberg Appendix D single-value serialization; NULL when unknown (all
   * values null, or only NaN). Owned by the metrics struct. */
  uint8_t *lower_bound;
  size_t lower_bound_len;
  uint8_t *upper_bound;
  size_t upper_bound_len;
} floe_parquet_column_metrics;

typedef struct floe_parquet_file_metrics {
  int64_t record_count;
  int64_t file_size;
  int32_t n_columns;
  floe_parquet_column_metrics *columns;
  int32_t n_split_offsets; /* one per row group: its first page's offset */
  int64_t *split_offsets;
} floe_parquet_file_metrics;

/* Frees what the metrics own. Accepts NULL. */
void floe_parquet_file_metrics_free(floe_parquet_file_metrics *metrics);

typedef struct floe_parquet_writer floe_parquet_writer;

/* Creates a writer for `schema` (copied) that writes to `sink`. The magic
 * bytes are written at once. */
int floe_parquet_writer_open(floe_parquet_writer **out,
                             const struct ArrowSchema *schema,
                             const floe_parquet_writer_options *options,
                             floe_parquet_sink sink, floe_error *err);
/* Convenience: a writer onto a new file at path (created, truncated). The
 * file is closed by floe_parquet_writer_close/free. */
int floe_parquet_writer_open_file(floe_parquet_writer **out, const char *path,
                                  const struct ArrowSchema *schema,
                                  const floe_parquet_writer_options *options,
                                  floe_error *err);
/* Appends the rows of `batch` (a struct array matching the schema). The
 * batch is only read; the caller keeps ownership. A value that does not fit
 * its column (a decimal beyond its precision, a uuid of the wrong width) is
 * FLOE_ERANGE naming the column and row. */
int floe_parquet_writer_write(floe_parquet_writer *writer,
                              const struct ArrowArray *batch, floe_error *err);
/* Bytes written to the sink so far plus the buffered row group estimate:
 * what a caller rolling files at a target size compares against. */
int64_t floe_parquet_writer_estimated_size(const floe_parquet_writer *writer);
int64_t floe_parquet_writer_rows(const floe_parquet_writer *writer);
/* Flushes the last row group and writes the footer. `metrics` may be NULL;
 * otherwise it is filled and owned by the caller
 * (floe_parquet_file_metrics_free). The writer must still be freed. */
int floe_parquet_writer_close(floe_parquet_writer *writer,
                              floe_parquet_file_metrics *metrics,
                              floe_error *err);
/* Frees the writer (closing its file if it opened one, without a footer if
 * close was not called). Accepts NULL. */
void floe_parquet_writer_free(floe_parquet_writer *writer);

#ifdef __cplusplus
}
#endif
#endif
