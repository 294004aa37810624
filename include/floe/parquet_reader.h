/*
 * floe/parquet_reader.h: reads flat-schema Parquet files into Arrow batches.
 *
 * A reader opens a file (a path, a memory buffer, or any pread-style
 * source, so object stores can be added), decodes the footer, and exposes
 * the schema, row groups, column chunk metadata and statistics. A scan
 * then reads chosen row groups and columns as Arrow struct batches ("+s",
 * one child per column, field ids in "PARQUET:field_id").
 *
 * Supported: every physical type; PLAIN, PLAIN_DICTIONARY/RLE_DICTIONARY,
 * RLE, BIT_PACKED levels, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY,
 * DELTA_BYTE_ARRAY, BYTE_STREAM_SPLIT; data pages v1 and v2; codecs
 * uncompressed, snappy, gzip, zstd, lz4 (raw and Hadoop). Page CRCs are
 * verified when present: a mismatch is FLOE_EFORMAT.
 *
 * Type mapping (Parquet -> floe_arrow_type): BOOLEAN -> BOOL; INT32 (and
 * INT_8/16/32, UINT_8/16) -> INT32; UINT_32 -> INT64; INT64 -> INT64;
 * UINT_64 -> UINT64; DATE -> DATE32; TIME millis/micros/nanos -> TIME64_US;
 * TIMESTAMP millis/micros -> TIMESTAMP_US (_TZ when adjusted to UTC), nanos
 * -> TIMESTAMP_NS(_TZ); INT96 -> TIMESTAMP_US; DECIMAL on INT32, INT64,
 * FIXED_LEN_BYTE_ARRAY or BYTE_ARRAY -> DECIMAL128; STRING/UTF8/ENUM/JSON
 * -> UTF8; other BYTE_ARRAY -> BINARY; UUID -> UUID; other
 * FIXED_LEN_BYTE_ARRAY -> FIXED; FLOAT, DOUBLE.
 *
 * Nested data: leaf columns under a repeated field are reported with
 * `nested` set. Lists of primitives are readable as Arrow lists ("+l"
 * with an "element" child): the standard 3-level LIST layout and the
 * legacy 2-level and bare repeated layouts (parquet-format LogicalTypes.md:
 * "Lists", "Backward-compatibility rules"), in v1 and v2 pages, with null
 * lists, empty lists and null elements told apart by the definition level.
 * Such a column is named by its list field ("e", not "e.list.element"),
 * carries the list's field id and is found by the element's id too. Other
 * nested leaves (maps, lists of structs or lists) are not readable: scans
 * skip them unless projected (then FLOE_EUNSUPPORTED). Leaves of optional/
 * required groups without repetition are read as flat columns named by
 * their dotted path ("b_struct.b_c_int").
 *
 * Memory: a scan holds the projected column chunks of one row group and one
 * decompressed page per column, plus the batch being built.
 */
#ifndef FLOE_PARQUET_READER_H
#define FLOE_PARQUET_READER_H

#include <stdbool.h>
#include <stdint.h>

#include "floe/arrow.h"
#include "floe/buffer.h"
#include "floe/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where the bytes come from. read_at must fill buf with exactly n bytes
 * at offset or fail (return < 0 with err set). close (may be NULL) is
 * called once when the reader is freed. */
typedef struct floe_parquet_source {
  void *ctx;
  uint64_t size; /* file size in bytes */
  int (*read_at)(void *ctx, uint64_t offset, void *buf, size_t n,
                 floe_error *err);
  void (*close)(void *ctx);
} floe_parquet_source;

typedef struct floe_parquet_reader floe_parquet_reader;

/* Opens `path` and reads its footer. Errors: FLOE_ENOTFOUND/FLOE_EIO for
 * the file, FLOE_EFORMAT for a malformed file ("<path>: footer: ...").
 * Free the reader with floe_parquet_reader_free. */
int floe_parquet_reader_open(floe_parquet_reader **out, const char *path,
                             floe_error *err);
/* Reads a file held in memory; `data` must outlive the reader (it is not
 * copied). `name` (may be NULL) is used in error messages. */
int floe_parquet_reader_open_memory(floe_parquet_reader **out,
                                    const void *data, size_t size,
                                    const char *name, floe_error *err);
/* Reads through `source`; the reader takes ownership of it (its close is
 * called by floe_parquet_reader_free, also when opening fails). */
int floe_parquet_reader_open_source(floe_parquet_reader **out,
                                    const floe_parquet_source *source,
                                    const char *name, floe_error *err);
/* Closes the source and frees everything. Accepts NULL. */
void floe_parquet_reader_free(floe_parquet_reader *reader);

/* ---- file metadata -------------------------------------------------- */

int64_t floe_parquet_reader_num_rows(const floe_parquet_reader *reader);
int32_t floe_parquet_reader_num_row_groups(const floe_parquet_reader *reader);
/* The writer's created_by string, or NULL. Owned by the reader. */
const char *floe_parquet_reader_created_by(const floe_parquet_reader *reader);

typedef struct floe_parquet_key_value {
  const char *key;
  const char *value; /* NULL when the entry has no value */
} floe_parquet_key_value;

/* The file's key-value metadata; *out_n gets the count. Owned by the
 * reader. */
const floe_parquet_key_value *floe_parquet_reader_key_values(
    const floe_parquet_reader *reader, int32_t *out_n);

/* One element of the Parquet schema tree, in depth-first file order
 * (element 0 is the root). Strings are owned by the reader. */
typedef struct floe_parquet_schema_node {
  const char *name;
  int32_t depth;          /* root 0 */
  int32_t num_children;   /* > 0 for groups */
  const char *physical_type; /* "INT32", ...; NULL for groups */
  int32_t type_length;    /* FIXED_LEN_BYTE_ARRAY width, else 0 */
  const char *repetition; /* "required", "optional", "repeated" */
  int32_t field_id;       /* -1 when absent */
  char logical_type[64];  /* "STRING", "DECIMAL(4,2)", "TIMESTAMP(MICROS,UTC)",
                             converted type when no logical type; "" none */
} floe_parquet_schema_node;

int32_t floe_parquet_reader_num_schema_nodes(const floe_parquet_reader *reader);
/* Fills *out for node i (0 <= i < num_schema_nodes); FLOE_EINVAL when out
 * of range. */
int floe_parquet_reader_schema_node(const floe_parquet_reader *reader,
                                    int32_t i, floe_parquet_schema_node *out,
                                    floe_error *err);

/* A leaf column (a column chunk in every row group). */
typedef struct floe_parquet_column_info {
  const char *name;          /* dotted path, e.g. "a" or "b_struct.b_c_int" */
  int32_t schema_node;       /* index of its schema node */
  int32_t field_id;          /* -1 when absent */
  const char *physical_type; /* "INT32", ... */
  int32_t type_length;
  bool nullable;             /* max definition level > 0 (lists: the list
                                can be null) */
  bool nested;               /* under a repeated field: readable only as a
                                list (arrow_type FLOE_ARROW_LIST) */
  int32_t max_definition_level;
  int32_t max_repetition_level;
  floe_arrow_type_info arrow_type; /* FLOE_ARROW_UNKNOWN when unreadable */
  /* Lists (arrow_type FLOE_ARROW_LIST): the element, and the definition
   * levels that tell a null list (d < list_definition_level), an empty
   * list (d < element_definition_level) and a null element (d <
   * max_definition_level) apart. */
  floe_arrow_type_info element_type;
  int32_t element_field_id;  /* -1 when absent */
  bool element_nullable;
  int32_t list_definition_level;
  int32_t element_definition_level;
} floe_parquet_column_info;

int32_t floe_parquet_reader_num_columns(const floe_parquet_reader *reader);
/* Column i (0 <= i < num_columns), or NULL. Owned by the reader. A nested
 * group column (a top-level struct, map or list of nested values, read
 * whole by record assembly) has index num_columns + k: its info holds its
 * name, field id and Arrow type (STRUCT, MAP or LIST, nested = true); it
 * has no column chunk of its own. */
const floe_parquet_column_info *floe_parquet_reader_column(
    const floe_parquet_reader *reader, int32_t i);
/* Index of the column with this field id (a list column also by its
 * element's id; a nested group column by its own id, num_columns + k) /
 * dotted name (a list column by its list field's path), or -1. */
int32_t floe_parquet_reader_find_field_id(const floe_parquet_reader *reader,
                                          int32_t field_id);
int32_t floe_parquet_reader_find_column(const floe_parquet_reader *reader,
                                        const char *name);

typedef struct floe_parquet_row_group_info {
  int64_t num_rows;
  int64_t first_row;             /* file-relative position of its first row */
  int64_t total_byte_size;       /* uncompressed */
  int64_t total_compressed_size; /* sum of its column chunks */
} floe_parquet_row_group_info;

int floe_parquet_reader_row_group(const floe_parquet_reader *reader,
                                  int32_t row_group,
                                  floe_parquet_row_group_info *out,
                                  floe_error *err);

/* Metadata of one column chunk. Pointers are owned by the reader. */
typedef struct floe_parquet_chunk_info {
  const char *codec;          /* "uncompressed", "snappy", ... */
  char encodings[128];        /* "PLAIN,RLE,RLE_DICTIONARY" */
  int64_t num_values;
  int64_t compressed_size;
  int64_t uncompressed_size;
  int64_t data_page_offset;
  int64_t dictionary_page_offset; /* -1 when absent */
  bool has_statistics;
  bool has_null_count;
  int64_t null_count;
  bool has_distinct_count;
  int64_t distinct_count;
  bool has_min, has_max;
  bool min_is_legacy, max_is_legacy; /* deprecated min/max fields used */
  const uint8_t *min;         /* plain-encoded statistic bytes */
  int64_t min_len;
  const uint8_t *max;
  int64_t max_len;
  bool has_min_exact, min_exact, has_max_exact, max_exact;
  int32_t n_key_value;
  const floe_parquet_key_value *key_value;
} floe_parquet_chunk_info;

int floe_parquet_reader_chunk(const floe_parquet_reader *reader,
                              int32_t row_group, int32_t column,
                              floe_parquet_chunk_info *out, floe_error *err);

/* Appends a statistic value (as stored in floe_parquet_chunk_info.min/max)
 * rendered by the column's type, as floe_arrow_view_format renders values
 * ("2009-01-01", "1.50", "6162" for binary). Values that do not fit the
 * type are rendered as hex prefixed "0x". */
int floe_parquet_reader_format_stat(const floe_parquet_reader *reader,
                                    int32_t column, const uint8_t *value,
                                    int64_t len, floe_buf *out);

/* The Arrow struct schema of all readable columns (flat columns of
 * supported types and lists of them), in file order. The caller releases
 * *out. */
int floe_parquet_reader_arrow_schema(const floe_parquet_reader *reader,
                                     struct ArrowSchema *out, floe_error *err);

/* ---- scans ---------------------------------------------------------- */

typedef struct floe_parquet_scan_options {
  /* Projection, in output order: by field id, else by dotted name, else
   * (both NULL) every readable column. A column that is not in the file is
   * FLOE_ENOTFOUND; an unreadable nested one (a map, a list of structs)
   * FLOE_EUNSUPPORTED. */
  const int32_t *field_ids;
  int32_t n_field_ids;
  const char *const *names;
  int32_t n_names;
  /* Row groups to read, ascending or not; NULL reads all. */
  const int32_t *row_groups;
  int32_t n_row_groups;
  int64_t batch_size; /* rows per batch; 0 means 65536. Batches of very
                         wide rows get fewer rows, so that a batch's
                         fixed-width buffers stay under 128 MiB. */
} floe_parquet_scan_options;

typedef struct floe_parquet_scan floe_parquet_scan;

/* Starts a scan; the reader must outlive it. options may be NULL (all
 * columns, all row groups). When the file has columns but none is
 * readable (only nested data), FLOE_EUNSUPPORTED. */
int floe_parquet_reader_scan_open(floe_parquet_scan **out,
                                  floe_parquet_reader *reader,
                                  const floe_parquet_scan_options *options,
                                  floe_error *err);
/* The scan's output schema ("+s"); the caller releases *out. */
int floe_parquet_reader_scan_schema(const floe_parquet_scan *scan,
                                    struct ArrowSchema *out, floe_error *err);
/* Reads the next batch into *out (the caller releases it) and its first
 * row's file-relative position into *out_first_row (may be NULL). At the
 * end, returns FLOE_OK with out->release == NULL and *out_first_row = -1.
 * Errors name the file, row group, column and page offset. */
int floe_parquet_reader_scan_next(floe_parquet_scan *scan,
                                  struct ArrowArray *out,
                                  int64_t *out_first_row, floe_error *err);
/* Accepts NULL. */
void floe_parquet_reader_scan_free(floe_parquet_scan *scan);

#ifdef __cplusplus
}
#endif
#endif
