/*
 * format/parquet/parquet_meta: the Parquet footer and page-header model and
 * its Thrift compact-protocol codec (parquet-format: parquet.thrift).
 *
 * These structs mirror parquet.thrift field for field (optional fields carry
 * a has_* flag). Decoded metadata lives in a caller's floe_arena: strings and
 * lists point into it, so one floe_arena_reset frees a whole footer.
 * Encoding direction: parquet_meta_write.c; decoding: parquet_meta_read.c.
 */
#ifndef FLOE_PARQUET_META_H
#define FLOE_PARQUET_META_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "floe/buffer.h"
#include "floe/common.h"

/* parquet.thrift enums, with their wire values. */
typedef enum {
  PQ_BOOLEAN = 0,
  PQ_INT32 = 1,
  PQ_INT64 = 2,
  PQ_INT96 = 3,
  PQ_FLOAT = 4,
  PQ_DOUBLE = 5,
  PQ_BYTE_ARRAY = 6,
  PQ_FIXED_LEN_BYTE_ARRAY = 7
} pq_type;

typedef enum {
  PQ_CT_UTF8 = 0, PQ_CT_MAP = 1, PQ_CT_MAP_KEY_VALUE = 2, PQ_CT_LIST = 3,
  PQ_CT_ENUM = 4, PQ_CT_DECIMAL = 5, PQ_CT_DATE = 6, PQ_CT_TIME_MILLIS = 7,
  PQ_CT_TIME_MICROS = 8, PQ_CT_TIMESTAMP_MILLIS = 9,
  PQ_CT_TIMESTAMP_MICROS = 10, PQ_CT_UINT_8 = 11, PQ_CT_UINT_16 = 12,
  PQ_CT_UINT_32 = 13, PQ_CT_UINT_64 = 14, PQ_CT_INT_8 = 15,
  PQ_CT_INT_16 = 16, PQ_CT_INT_32 = 17, PQ_CT_INT_64 = 18, PQ_CT_JSON = 19,
  PQ_CT_BSON = 20, PQ_CT_INTERVAL = 21
} pq_converted_type;

typedef enum { PQ_REQUIRED = 0, PQ_OPTIONAL = 1, PQ_REPEATED = 2 } pq_repetition;

typedef enum {
  PQ_ENC_PLAIN = 0,
  PQ_ENC_PLAIN_DICTIONARY = 2,
  PQ_ENC_RLE = 3,
  PQ_ENC_BIT_PACKED = 4,
  PQ_ENC_DELTA_BINARY_PACKED = 5,
  PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
  PQ_ENC_DELTA_BYTE_ARRAY = 7,
  PQ_ENC_RLE_DICTIONARY = 8,
  PQ_ENC_BYTE_STREAM_SPLIT = 9
} pq_encoding;

typedef enum {
  PQ_CODEC_UNCOMPRESSED = 0,
  PQ_CODEC_SNAPPY = 1,
  PQ_CODEC_GZIP = 2,
  PQ_CODEC_LZO = 3,
  PQ_CODEC_BROTLI = 4,
  PQ_CODEC_LZ4 = 5,
  PQ_CODEC_ZSTD = 6,
  PQ_CODEC_LZ4_RAW = 7
} pq_codec;

typedef enum {
  PQ_PAGE_DATA = 0,
  PQ_PAGE_INDEX = 1,
  PQ_PAGE_DICTIONARY = 2,
  PQ_PAGE_DATA_V2 = 3
} pq_page_type;

/* LogicalType union member (field id in parquet.thrift). */
typedef enum {
  PQ_LT_NONE = 0,
  PQ_LT_STRING = 1,
  PQ_LT_MAP = 2,
  PQ_LT_LIST = 3,
  PQ_LT_ENUM = 4,
  PQ_LT_DECIMAL = 5,
  PQ_LT_DATE = 6,
  PQ_LT_TIME = 7,
  PQ_LT_TIMESTAMP = 8,
  PQ_LT_INTEGER = 10,
  PQ_LT_UNKNOWN = 11,
  PQ_LT_JSON = 12,
  PQ_LT_BSON = 13,
  PQ_LT_UUID = 14,
  PQ_LT_FLOAT16 = 15
} pq_logical_kind;

typedef enum { PQ_UNIT_MILLIS = 1, PQ_UNIT_MICROS = 2, PQ_UNIT_NANOS = 3 } pq_time_unit;

typedef struct pq_logical_type {
  pq_logical_kind kind;
  int32_t decimal_scale, decimal_precision; /* DECIMAL */
  bool is_adjusted_to_utc;                  /* TIME, TIMESTAMP */
  pq_time_unit unit;                        /* TIME, TIMESTAMP */
  int8_t bit_width;                         /* INTEGER */
  bool is_signed;                           /* INTEGER */
} pq_logical_type;

typedef struct pq_bytes {
  const uint8_t *data;
  int64_t len;
} pq_bytes;

typedef struct pq_key_value {
  pq_bytes key;
  pq_bytes value;
  bool has_value;
} pq_key_value;

typedef struct pq_statistics {
  bool has_max, has_min, has_null_count, has_distinct_count;
  bool has_max_value, has_min_value;
  bool has_is_max_value_exact, has_is_min_value_exact;
  pq_bytes max, min;             /* deprecated fields 1, 2 */
  int64_t null_count;
  int64_t distinct_count;
  pq_bytes max_value, min_value; /* fields 5, 6 */
  bool is_max_value_exact, is_min_value_exact;
} pq_statistics;

typedef struct pq_schema_element {
  bool has_type, has_type_length, has_repetition, has_num_children;
  bool has_converted_type, has_scale, has_precision, has_field_id;
  bool has_logical_type;
  pq_type type;
  int32_t type_length;
  pq_repetition repetition;
  const char *name; /* NUL-terminated */
  int32_t num_children;
  pq_converted_type converted_type;
  int32_t scale, precision;
  int32_t field_id;
  pq_logical_type logical_type;
} pq_schema_element;

typedef struct pq_column_meta {
  pq_type type;
  int32_t n_encodings;
  pq_encoding *encodings;
  int32_t n_path;
  const char **path_in_schema;
  pq_codec codec;
  int64_t num_values;
  int64_t total_uncompressed_size;
  int64_t total_compressed_size;
  int32_t n_key_value;
  pq_key_value *key_value;
  int64_t data_page_offset;
  bool has_index_page_offset, has_dictionary_page_offset, has_statistics;
  int64_t index_page_offset;
  int64_t dictionary_page_offset;
  pq_statistics statistics;
} pq_column_meta;

typedef struct pq_column_chunk {
  const char *file_path; /* NULL when absent */
  int64_t file_offset;
  bool has_meta_data;
  pq_column_meta meta_data;
  bool has_offset_index, has_column_index;
  int64_t offset_index_offset;
  int32_t offset_index_length;
  int64_t column_index_offset;
  int32_t column_index_length;
} pq_column_chunk;

typedef struct pq_sorting_column {
  int32_t column_idx;
  bool descending;
  bool nulls_first;
} pq_sorting_column;

typedef struct pq_row_group {
  int32_t n_columns;
  pq_column_chunk *columns;
  int64_t total_byte_size;
  int64_t num_rows;
  int32_t n_sorting_columns;
  pq_sorting_column *sorting_columns;
  bool has_file_offset, has_total_compressed_size, has_ordinal;
  int64_t file_offset;
  int64_t total_compressed_size;
  int16_t ordinal;
} pq_row_group;

typedef struct pq_file_meta {
  int32_t version;
  int32_t n_schema;
  pq_schema_element *schema;
  int64_t num_rows;
  int32_t n_row_groups;
  pq_row_group *row_groups;
  int32_t n_key_value;
  pq_key_value *key_value;
  const char *created_by; /* NULL when absent */
  int32_t n_column_orders; /* each TYPE_ORDER */
} pq_file_meta;

typedef struct pq_data_page_header {
  int32_t num_values;
  pq_encoding encoding;
  pq_encoding definition_level_encoding;
  pq_encoding repetition_level_encoding;
  bool has_statistics;
  pq_statistics statistics;
} pq_data_page_header;

typedef struct pq_dictionary_page_header {
  int32_t num_values;
  pq_encoding encoding;
  bool has_is_sorted;
  bool is_sorted;
} pq_dictionary_page_header;

typedef struct pq_data_page_header_v2 {
  int32_t num_values;
  int32_t num_nulls;
  int32_t num_rows;
  pq_encoding encoding;
  int32_t definition_levels_byte_length;
  int32_t repetition_levels_byte_length;
  bool is_compressed; /* default true */
  bool has_statistics;
  pq_statistics statistics;
} pq_data_page_header_v2;

typedef struct pq_page_header {
  pq_page_type type;
  int32_t uncompressed_page_size;
  int32_t compressed_page_size;
  bool has_crc;
  int32_t crc;
  bool has_data_page_header, has_dictionary_page_header, has_data_page_header_v2;
  pq_data_page_header data_page_header;
  pq_dictionary_page_header dictionary_page_header;
  pq_data_page_header_v2 data_page_header_v2;
} pq_page_header;

/* ---- encoding (parquet_meta_write.c) ---------------------------------- */

/* Appends the Thrift compact encoding of each struct to out. */
int pq_file_meta_write(const pq_file_meta *meta, floe_buf *out);
int pq_page_header_write(const pq_page_header *header, floe_buf *out);

/* ---- decoding (parquet_meta_read.c) ----------------------------------- */

/* Decodes a FileMetaData from data[0..len); allocations come from arena.
 * Malformed input is FLOE_EFORMAT with a message that says what was wrong;
 * it never reads outside data[0..len). Nesting and list sizes are bounded. */
int pq_file_meta_read(const uint8_t *data, size_t len, floe_arena *arena,
                      pq_file_meta *out, floe_error *err);
/* Decodes a PageHeader at data[0..len); *out_consumed gets its size. */
int pq_page_header_read(const uint8_t *data, size_t len, floe_arena *arena,
                        pq_page_header *out, size_t *out_consumed,
                        floe_error *err);

#endif
