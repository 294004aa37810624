/*
 * cli/rows.h: printing Arrow batches as CSV or JSON lines, shared by
 * `floe parquet cat` and `floe table scan`. Private to src/cli.
 *
 * CSV: a header of column names, values rendered by floe_arrow_view_format,
 * `\N` for null, RFC 4180 quoting only where needed. JSON lines: one object
 * per row keyed by column name; booleans, integers and finite floats as JSON
 * numbers/literals, null as null, everything else (NaN and infinities
 * included) as strings.
 */
#ifndef FLOE_CLI_ROWS_H
#define FLOE_CLI_ROWS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "floe.h"

typedef struct cli_rows {
  FILE *out;
  bool jsonl;
  int64_t limit; /* rows to print; < 0: all */
  int64_t printed;
  floe_buf text;
  floe_arrow_view *views;
} cli_rows;

/* Prepares to print batches of `schema` and prints the CSV header. */
int cli_rows_begin(cli_rows *rows, FILE *out, const struct ArrowSchema *schema, bool jsonl,
                   int64_t limit, floe_error *err);
/* Prints the rows of one batch, up to the limit. */
int cli_rows_print(cli_rows *rows, const struct ArrowSchema *schema,
                   const struct ArrowArray *batch, floe_error *err);
/* Whether the limit has been reached. */
static inline bool cli_rows_done(const cli_rows *rows) {
  return rows->limit >= 0 && rows->printed >= rows->limit;
}
void cli_rows_free(cli_rows *rows);

/* Splits "a,b,c" into a NULL-terminated array of names (one allocation,
 * freed with free()); *out_n gets the count. NULL on allocation failure. */
const char **cli_split_names(const char *list, int32_t *out_n);

#endif
