/*
 * source/source_internal.h: the contract between the source interface
 * (source.c) and its drivers (sqlite.c, postgres.c, and later snowflake.c).
 *
 * A driver supplies a floe_source_driver table and embeds `floe_source` as
 * the first member of its connection struct, and `floe_source_stream` as the
 * first member of its stream struct. source.c owns everything that is the
 * same for every driver: checking that no stream is open, building the batch
 * schema and batch builder, filling batches row by row, turning a value that
 * does not fit into an error that names table, column, row key and value,
 * and the text -> Arrow value conversions that every text-speaking driver
 * (postgres text format, Snowflake JSON partitions) shares. A driver only
 * steps rows and appends cells.
 *
 * Private to src/source/: nothing outside this folder includes it.
 */
#ifndef FLOE_SOURCE_INTERNAL_H
#define FLOE_SOURCE_INTERNAL_H

#include "floe/arrow.h"
#include "floe/buffer.h"
#include "floe/source.h"

typedef struct floe_source_driver {
  const char *dialect;
  /* Frees the driver's connection struct (src itself). */
  void (*close)(floe_source *src);
  /* Describes the table named by parts[0..n_parts) (unquoted names; 1 or 2
   * parts). Fills *out (zeroed by the caller); a missing table leaves
   * out->exists false. */
  int (*describe)(floe_source *src, char *const *parts, int n_parts,
                  floe_source_table *out, floe_error *err);
  /* Prepares and starts spec->sql, allocating the driver's stream (with
   * floe_source_stream first, zeroed) into *out and setting its `ops` and
   * `n_result_columns`. When spec->columns is NULL the driver fills
   * `columns`/`n_columns` (owned by the stream) from result metadata; it
   * may step the first row to do so and then sets `row_pending`. */
  int (*query)(floe_source *src, const floe_source_query_spec *spec,
               floe_source_stream **out, floe_error *err);
  /* Runs sql (see floe_source_exec). */
  int (*exec)(floe_source *src, const char *sql,
              const floe_source_param *params, size_t n_params,
              int64_t *out_rows, floe_error *err);
  int (*begin)(floe_source *src, floe_error *err);
  int (*commit)(floe_source *src, floe_error *err);
  int (*rollback)(floe_source *src, floe_error *err);
} floe_source_driver;

struct floe_source {
  const floe_source_driver *driver;
  bool in_transaction;             /* floe_source_begin is in effect */
  floe_source_stream *open_stream; /* at most one */
};

typedef struct floe_source_stream_ops {
  /* Advances to the next row: 1 = a row is current, 0 = end, < 0 = error. */
  int (*step)(floe_source_stream *stream, floe_error *err);
  /* Whether column `col` of the current row is SQL NULL. */
  bool (*is_null)(floe_source_stream *stream, int64_t col);
  /* Appends the current row's non-null column `col` to `builder`, converted
   * to builder->type. A value that does not fit is FLOE_ERANGE with the
   * message floe_src_value_error makes; source.c adds where it happened. */
  int (*append)(floe_source_stream *stream, int64_t col,
                floe_arrow_builder *builder, floe_error *err);
  /* The current row's column `col` as text (for row keys in messages). */
  int (*cell_text)(floe_source_stream *stream, int64_t col, floe_buf *out);
  /* Releases the driver's statement/cursor and frees the stream struct. */
  void (*close)(floe_source_stream *stream);
  /* Optional, in place of is_null + append for every column: appends the
   * whole current row to stream->builder (NULLs included). Returns FLOE_OK;
   * 1 with *col set when column *col is NULL but declared NOT NULL
   * (nothing of it appended); or an error of append's kind with *col set
   * to the column that failed. One call per row instead of two per value. */
  int (*read_row)(floe_source_stream *stream, int64_t *col, floe_error *err);
} floe_source_stream_ops;

struct floe_source_stream {
  floe_source *src;
  const floe_source_stream_ops *ops;
  int64_t n_result_columns; /* set by the driver */
  floe_source_column *columns; /* target columns, owned */
  int64_t n_columns;
  bool row_pending; /* the driver already stepped onto the first row */
  /* Set by source.c. */
  struct ArrowSchema schema;
  floe_arrow_batch_builder builder;
  bool builder_ready;
  int64_t batch_rows;
  char *table;
  int64_t rows; /* rows delivered (the row number of the last row read) */
  bool done;
  bool failed;
  floe_buf scratch;
  floe_buf json_text; /* a json column's cell text */
  size_t *data_hint; /* per column: variable-length bytes of the last batch */
  int64_t last_batch_rows; /* rows of the last batch (0 before the first) */
};

/* ---- drivers ------------------------------------------------------------ */

int floe_src_sqlite_open(floe_source **out, const floe_source_config *config,
                         floe_error *err);
int floe_src_postgres_open(floe_source **out, const floe_source_config *config,
                           floe_error *err);
int floe_src_snowflake_open(floe_source **out, const floe_source_config *config,
                            floe_error *err);

/* ---- shared helpers (source.c) ------------------------------------------- */

/* Splits a qualified name into unquoted parts (see floe_source_quote_name).
 * *out_parts is an array of n strings, each and the array allocated; free
 * with floe_src_free_parts. */
int floe_src_split_name(const char *qualified, char ***out_parts, int *out_n,
                        floe_error *err);
void floe_src_free_parts(char **parts, int n);

/* Frees the strings of n columns and the array. Accepts NULL. */
void floe_src_columns_free(floe_source_column *columns, int64_t n);

/* Sets FLOE_ERANGE: "value '<value>' does not fit <type>: <why>"; long
 * values are shortened. Returns FLOE_ERANGE. */
int floe_src_value_error(floe_error *err, const floe_arrow_type_info *type,
                         const char *value, size_t value_len, const char *why);

/* Strict parsers: the whole input must match, no surrounding spaces.
 * Return 0 or -1. */
int floe_src_parse_int64(const char *s, size_t len, int64_t *out);
/* Parses decimal text ("-12.30", "1.5e3") into the unscaled value at
 * `scale`. Rejects (FLOE_ERANGE, reason in why) a nonzero digit beyond the
 * scale (no rounding), more integer digits than precision - scale, NaN and
 * infinities, and malformed text. */
int floe_src_parse_decimal(const char *s, size_t len, int32_t precision,
                           int32_t scale, floe_int128 *out, char *why,
                           size_t why_size);
/* The shortest text that reads back as exactly v ("0.1", "1e+20"); returns
 * the length. out_size >= 32. */
int floe_src_format_double(double v, char *out, size_t out_size);
/* Whether bytes[0..len) is well-formed UTF-8. */
bool floe_src_utf8_valid(const uint8_t *bytes, size_t len);

/* Appends a value given as text, converted to builder->type (boolean
 * true/false/t/f/1/0, integers, floats incl. NaN/Infinity, decimal text,
 * ISO-8601 dates/times/timestamps, UTF-8 strings, binary as the raw bytes,
 * uuid as 36- or 32-digit hex). FLOE_ERANGE when it does not fit. */
int floe_src_append_text(floe_arrow_builder *builder, const char *s,
                         size_t len, floe_error *err);
/* Parses JSON text[0..len) and appends it to b as the declared shape
 * `field` describes (b's column: a primitive, list, struct or map nested to
 * any depth; field names and nullability come from `field`, which may be
 * NULL for a nullable leaf), the column named `column` in JSON paths.
 * refuse_extra: an object member a struct does not declare is an error
 * (else ignored). scratch is working memory. FLOE_ERANGE
 * ("payload.items[3].qty: JSON string "x" where int is declared"),
 * FLOE_EUNSUPPORTED, FLOE_ENOMEM. */
int floe_src_append_json(floe_arrow_builder *b, const struct ArrowSchema *field,
                         const char *column, const char *text, size_t len,
                         bool refuse_extra, floe_buf *scratch, floe_error *err);
/* Appends an integer / a double, converted to builder->type when exact. */
int floe_src_append_int64(floe_arrow_builder *builder, int64_t v,
                          floe_error *err);
int floe_src_append_double(floe_arrow_builder *builder, double v,
                           floe_error *err);

#endif
