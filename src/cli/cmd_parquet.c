/*
 * cli/cmd_parquet: `floe parquet inspect FILE` and `floe parquet cat FILE`.
 *
 * inspect prints what the footer says: the schema tree (field ids,
 * physical and logical types, repetition), every row group with its column
 * chunks (encodings, codec, sizes, statistics rendered by logical type),
 * and the key-value metadata. cat prints the rows as CSV (header, values as
 * floe_arrow_view_format renders them, \N for null, RFC 4180 quoting when
 * needed) or JSON lines. Uses only the public API (floe.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe.h"

#include "cli.h"
#include "rows.h"

static int usage_to(FILE *out) {
  fprintf(out,
          "usage: floe parquet inspect FILE\n"
          "       floe parquet cat FILE [--format csv|jsonl] [--columns a,b] [--limit N]\n");
  return out == stdout ? FLOE_EXIT_OK : FLOE_EXIT_USAGE;
}

static int usage(void) { return usage_to(stderr); }

static int fail(const floe_error *err) {
  fprintf(stderr, "floe: %s\n", err->message);
  return 1;
}

static void print_stat(floe_parquet_reader *r, int32_t col, const char *label,
                       const uint8_t *v, int64_t len, bool legacy, floe_buf *tmp) {
  floe_buf_reset(tmp);
  if (floe_parquet_reader_format_stat(r, col, v, len, tmp) < 0) return;
  printf(" %s%s=%.*s", label, legacy ? "(legacy)" : "", (int)tmp->len, (const char *)tmp->data);
}

static int inspect(const char *path) {
  floe_error err = {0};
  floe_parquet_reader *r = NULL;
  floe_buf tmp = FLOE_BUF_INIT;
  if (floe_parquet_reader_open(&r, path, &err) < 0) return fail(&err);
  const char *created_by = floe_parquet_reader_created_by(r);
  printf("file: %s\n", path);
  printf("created_by: %s\n", created_by ? created_by : "(none)");
  printf("rows: %" PRId64 "\nrow groups: %" PRId32 "\n", floe_parquet_reader_num_rows(r),
         floe_parquet_reader_num_row_groups(r));
  printf("schema:\n");
  for (int32_t i = 0; i < floe_parquet_reader_num_schema_nodes(r); i++) {
    floe_parquet_schema_node n;
    if (floe_parquet_reader_schema_node(r, i, &n, &err) < 0) continue;
    printf("  %*s%s: %s", (int)n.depth * 2, "", n.name, i == 0 ? "message" : n.repetition);
    if (n.physical_type != NULL) {
      printf(" %s", n.physical_type);
      if (n.type_length > 0) printf("(%" PRId32 ")", n.type_length);
    } else {
      printf(" group");
    }
    if (n.logical_type[0]) printf(" %s", n.logical_type);
    if (n.field_id >= 0) printf(" field_id=%" PRId32, n.field_id);
    printf("\n");
  }
  printf("columns:\n");
  for (int32_t c = 0; c < floe_parquet_reader_num_columns(r); c++) {
    const floe_parquet_column_info *ci = floe_parquet_reader_column(r, c);
    char type[64];
    floe_arrow_type_name(&ci->arrow_type, type, sizeof type);
    printf("  %" PRId32 " %s: %s%s\n", c, ci->name,
           ci->arrow_type.id == FLOE_ARROW_UNKNOWN ? "unreadable" : type,
           ci->nested ? " (nested)" : "");
  }
  for (int32_t g = 0; g < floe_parquet_reader_num_row_groups(r); g++) {
    floe_parquet_row_group_info rg;
    if (floe_parquet_reader_row_group(r, g, &rg, &err) < 0) continue;
    printf("row group %" PRId32 ": rows %" PRId64 ", first row %" PRId64 ", bytes %" PRId64
           " (compressed %" PRId64 ")\n",
           g, rg.num_rows, rg.first_row, rg.total_byte_size, rg.total_compressed_size);
    for (int32_t c = 0; c < floe_parquet_reader_num_columns(r); c++) {
      floe_parquet_chunk_info ch;
      if (floe_parquet_reader_chunk(r, g, c, &ch, &err) < 0) continue;
      printf("  %s: %s %s, %" PRId64 "/%" PRId64 " bytes (compressed/uncompressed), %" PRId64
             " values",
             floe_parquet_reader_column(r, c)->name, ch.encodings, ch.codec,
             ch.compressed_size, ch.uncompressed_size, ch.num_values);
      if (ch.has_null_count) printf(", nulls %" PRId64, ch.null_count);
      if (ch.has_min) print_stat(r, c, "min", ch.min, ch.min_len, ch.min_is_legacy, &tmp);
      if (ch.has_max) print_stat(r, c, "max", ch.max, ch.max_len, ch.max_is_legacy, &tmp);
      if (ch.has_min_exact && !ch.min_exact) printf(" (min inexact)");
      if (ch.has_max_exact && !ch.max_exact) printf(" (max inexact)");
      printf("\n");
      for (int32_t k = 0; k < ch.n_key_value; k++)
        printf("    %s = %s\n", ch.key_value[k].key,
               ch.key_value[k].value ? ch.key_value[k].value : "(null)");
    }
  }
  int32_t n_kv;
  const floe_parquet_key_value *kv = floe_parquet_reader_key_values(r, &n_kv);
  if (n_kv > 0) printf("key-value metadata:\n");
  for (int32_t k = 0; k < n_kv; k++)
    printf("  %s = %s\n", kv[k].key, kv[k].value ? kv[k].value : "(null)");
  floe_buf_free(&tmp);
  floe_parquet_reader_free(r);
  return 0;
}

static int cat(const char *path, bool jsonl, const char *columns, int64_t limit) {
  floe_error err = {0};
  floe_parquet_reader *r = NULL;
  floe_parquet_scan *scan = NULL;
  struct ArrowSchema schema = {0};
  struct ArrowArray batch = {0};
  cli_rows rows = {0};
  const char **names = NULL;
  int status = 1;
  if (floe_parquet_reader_open(&r, path, &err) < 0) goto cleanup;
  floe_parquet_scan_options opt = {0};
  if (columns != NULL) {
    int32_t n = 0;
    if ((names = cli_split_names(columns, &n)) == NULL) {
      floe_error_set(&err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    opt.names = names;
    opt.n_names = n;
  }
  if (floe_parquet_reader_scan_open(&scan, r, &opt, &err) < 0 ||
      floe_parquet_reader_scan_schema(scan, &schema, &err) < 0 ||
      cli_rows_begin(&rows, stdout, &schema, jsonl, limit, &err) < 0)
    goto cleanup;
  while (!cli_rows_done(&rows)) {
    if (floe_parquet_reader_scan_next(scan, &batch, NULL, &err) < 0) goto cleanup;
    if (batch.release == NULL) break;
    if (cli_rows_print(&rows, &schema, &batch, &err) < 0) goto cleanup;
    floe_arrow_array_release(&batch);
  }
  status = 0;
cleanup:
  if (status != 0) fail(&err);
  floe_arrow_array_release(&batch);
  floe_arrow_schema_release(&schema);
  floe_parquet_reader_scan_free(scan);
  floe_parquet_reader_free(r);
  cli_rows_free(&rows);
  free(names);
  return status;
}

int floe_cli_parquet(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) return usage_to(stdout);
  static const char *const with_value[] = {"--format", "--columns", "--limit", NULL};
  if (argc > 1) cli_args_positionals_first(argc, argv, 2, with_value);
  if (argc < 3) return usage();
  const char *sub = argv[1], *path = argv[2];
  if (strcmp(sub, "inspect") == 0) {
    if (argc != 3) return usage();
    return inspect(path);
  }
  if (strcmp(sub, "cat") != 0) return usage();
  bool jsonl = false;
  const char *columns = NULL;
  int64_t limit = -1;
  for (int i = 3; i < argc; i++) {
    if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
      const char *f = argv[++i];
      if (strcmp(f, "csv") == 0)
        jsonl = false;
      else if (strcmp(f, "jsonl") == 0)
        jsonl = true;
      else
        return usage();
    } else if (strcmp(argv[i], "--columns") == 0 && i + 1 < argc) {
      columns = argv[++i];
    } else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
      char *end;
      errno = 0;
      long long n = strtoll(argv[++i], &end, 10);
      if (errno != 0 || *end != '\0' || n < 0) return usage();
      limit = n;
    } else {
      return usage();
    }
  }
  return cat(path, jsonl, columns, limit);
}
