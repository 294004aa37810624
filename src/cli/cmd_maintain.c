/*
 * cli/cmd_maintain: `floe maintain NS.TABLE [operations] [--dry-run]
 * [--json] CATALOG` and `floe maintain orphans NS.TABLE [--older-than
 * DURATION] [--delete] CATALOG`.
 *
 * The first runs the table maintenance of floe/maintain.h: the operations
 * chosen by --convert-equality-deletes, --compact, --rewrite-manifests and
 * --expire-snapshots (none named: all four, in that order), each safe
 * while `floe run` commits. It prints a summary (or, with --json, the
 * JSON report of floe_maintain_report_json; --report FILE writes it to a
 * file too) and, when stderr is a terminal, a progress line per phase.
 * --dry-run plans and reports without writing anything.
 *
 * Orphans:
 * Lists the files under a table's location that no snapshot of its current
 * metadata reaches (floe_maintain_orphans): one line per file with its kind,
 * size, modification time and path, then a summary. A dry run by default;
 * --delete removes exactly the listed files. Files newer than --older-than
 * (default 3d) are never listed or touched, since a writer that is still
 * running owns them. The catalog options are those of `floe table`
 * (--catalog-type, --catalog-uri, --warehouse, --catalog-name, or -c
 * floe.yaml for the job's target catalog). Uses only the public API.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "floe.h"

#include "cli.h"

static int usage_to(FILE *out) {
  fprintf(out,
          "usage: floe maintain NS.TABLE [OPERATIONS] [--dry-run] [--json] [--report FILE] CATALOG\n"
          "  OPERATIONS (none named: all four, in this order):\n"
          "    --convert-equality-deletes  equality delete files -> position delete files\n"
          "    --compact                   rewrite small data files (deletes applied)\n"
          "      [--target-file-size BYTES] [--min-input-files N] [--max-group-bytes BYTES]\n"
          "      [--partial-progress] [--where COLUMN=VALUE]...\n"
          "      [--no-sort] [--sort-buffer BYTES]  (rows are written in the table's sort\n"
          "       order when it has one, sorted BYTES at a time; default 64 MiB)\n"
          "    --rewrite-manifests         cluster manifest entries by partition\n"
          "      [--target-manifest-size BYTES]\n"
          "    --expire-snapshots          remove old snapshots and the files only they reach\n"
          "      [--older-than DURATION] [--retain-last N]\n"
          "       (defaults: history.expire.max-snapshot-age-ms or 5d, min-snapshots-to-keep or 1)\n"
          "usage: floe maintain orphans NS.TABLE [--older-than DURATION] [--delete] CATALOG\n"
          "  Lists files under the table's location that no snapshot of its current\n"
          "  metadata reaches (failed commits' data files, manifests, manifest lists,\n"
          "  metadata files beyond the metadata log, temporary files); with --delete,\n"
          "  removes them. Files modified within DURATION (default 3d; units ms, s,\n"
          "  m, h, d, w) are kept: a running writer may still commit them.\n"
          "CATALOG: -c floe.yaml (the job's target catalog), or\n"
          "         --catalog-type sql|hadoop [--catalog-uri sqlite:PATH|postgresql://...]\n"
          "         --warehouse DIR [--catalog-name NAME]\n");
  return out == stdout ? FLOE_EXIT_OK : FLOE_EXIT_USAGE;
}

static int usage(void) { return usage_to(stderr); }

static int fail(const floe_error *err) {
  fprintf(stderr, "floe: %s\n", err->message);
  return FLOE_EXIT_FAILURE;
}

#define MAX_WHERE 16

typedef struct options {
  const char *catalog_type, *catalog_uri, *warehouse, *catalog_name;
  const char *config_file, *older_than, *table;
  bool delete_files;
  /* floe maintain TABLE */
  bool convert, compact, manifests, expire, dry_run, json, partial_progress, no_sort;
  const char *sort_buffer;
  const char *report_file, *retain_last, *target_file_size, *min_input_files;
  const char *max_group_bytes, *target_manifest_size;
  const char *where[MAX_WHERE];
  int n_where;
} options;

static int parse_options(int argc, char **argv, int first, options *o) {
  memset(o, 0, sizeof *o);
  for (int i = first; i < argc; i++) {
    const char *a = argv[i];
    bool has_value = i + 1 < argc;
#define VALUE(field)           \
  do {                         \
    if (!has_value) return -1; \
    o->field = argv[++i];      \
  } while (0)
    if (strcmp(a, "--catalog-type") == 0) VALUE(catalog_type);
    else if (strcmp(a, "--catalog-uri") == 0) VALUE(catalog_uri);
    else if (strcmp(a, "--warehouse") == 0) VALUE(warehouse);
    else if (strcmp(a, "--catalog-name") == 0) VALUE(catalog_name);
    else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) VALUE(config_file);
    else if (strcmp(a, "--older-than") == 0) VALUE(older_than);
    else if (strcmp(a, "--delete") == 0) o->delete_files = true;
    else if (strcmp(a, "--convert-equality-deletes") == 0) o->convert = true;
    else if (strcmp(a, "--compact") == 0) o->compact = true;
    else if (strcmp(a, "--rewrite-manifests") == 0) o->manifests = true;
    else if (strcmp(a, "--expire-snapshots") == 0) o->expire = true;
    else if (strcmp(a, "--dry-run") == 0) o->dry_run = true;
    else if (strcmp(a, "--json") == 0) o->json = true;
    else if (strcmp(a, "--partial-progress") == 0) o->partial_progress = true;
    else if (strcmp(a, "--no-sort") == 0) o->no_sort = true;
    else if (strcmp(a, "--sort-buffer") == 0) VALUE(sort_buffer);
    else if (strcmp(a, "--report") == 0) VALUE(report_file);
    else if (strcmp(a, "--retain-last") == 0) VALUE(retain_last);
    else if (strcmp(a, "--target-file-size") == 0) VALUE(target_file_size);
    else if (strcmp(a, "--min-input-files") == 0) VALUE(min_input_files);
    else if (strcmp(a, "--max-group-bytes") == 0) VALUE(max_group_bytes);
    else if (strcmp(a, "--target-manifest-size") == 0) VALUE(target_manifest_size);
    else if (strcmp(a, "--where") == 0) {
      if (!has_value || o->n_where == MAX_WHERE) return -1;
      o->where[o->n_where++] = argv[++i];
    }
    else if (a[0] == '-' && a[1] != '\0') return -1;
    else if (o->table == NULL) o->table = a;
    else return -1;
#undef VALUE
  }
  return o->table != NULL ? 0 : -1;
}

static int open_catalog(const options *o, floe_catalog **out, floe_error *err) {
  if (o->config_file != NULL) {
    floe_config cfg;
    floe_config_init(&cfg);
    int rc = floe_config_load(&cfg, o->config_file, NULL, 0, err);
    if (rc == FLOE_OK) rc = floe_replicate_open_catalog(&cfg, out, err);
    floe_config_free(&cfg);
    return rc;
  }
  floe_catalog_config config = {0};
  if (o->catalog_type == NULL)
    return floe_error_set(err, FLOE_EINVAL,
                          "--catalog-type sql|hadoop (or -c floe.yaml) is required");
  if (strcmp(o->catalog_type, "hadoop") == 0)
    config.type = FLOE_CATALOG_HADOOP;
  else if (strcmp(o->catalog_type, "sql") == 0)
    config.type = FLOE_CATALOG_SQL;
  else
    return floe_error_set(err, FLOE_EINVAL, "--catalog-type '%s': expected sql or hadoop",
                          o->catalog_type);
  if (config.type == FLOE_CATALOG_SQL && o->catalog_uri == NULL)
    return floe_error_set(err, FLOE_EINVAL, "--catalog-uri is required for a sql catalog");
  if (o->warehouse == NULL) return floe_error_set(err, FLOE_EINVAL, "--warehouse is required");
  config.name = o->catalog_name;
  config.warehouse = o->warehouse;
  config.sql_uri = o->catalog_uri;
  return floe_catalog_open(&config, out, err);
}

static void format_time(int64_t ms, char *out, size_t cap) {
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int run_orphans(const options *o) {
  floe_error err = {0};
  floe_catalog *catalog = NULL;
  floe_table *table = NULL;
  floe_maintain_orphan_list orphans = {0};
  int exit_code = FLOE_EXIT_FAILURE;
  floe_maintain_orphan_options mo;
  floe_maintain_orphan_options_init(&mo);
  mo.delete_files = o->delete_files;
  if (o->older_than != NULL &&
      floe_maintain_parse_duration(o->older_than, &mo.older_than_ms, &err) < 0) {
    fprintf(stderr, "floe: --older-than: %s\n", err.message);
    return FLOE_EXIT_USAGE;
  }
  char ident_buf[1024];
  snprintf(ident_buf, sizeof ident_buf, "%s", o->table);
  char *dot = strrchr(ident_buf, '.');
  if (dot == NULL || dot == ident_buf || dot[1] == '\0') {
    fprintf(stderr, "floe: table '%s': expected NAMESPACE.TABLE\n", o->table);
    return FLOE_EXIT_USAGE;
  }
  *dot = '\0';
  floe_catalog_ident ident = {ident_buf, dot + 1};
  if (open_catalog(o, &catalog, &err) < 0 || floe_table_load(catalog, ident, &table, &err) < 0) {
    exit_code = fail(&err);
    goto cleanup;
  }
  int rc = floe_maintain_orphans(table, &mo, &orphans, &err);
  for (size_t i = 0; i < orphans.n_files; i++) {
    const floe_maintain_orphan *f = &orphans.files[i];
    char when[32];
    format_time(f->mtime_ms, when, sizeof when);
    printf("%-13s %12" PRIu64 "  %s  %s%s\n", floe_maintain_file_kind_name(f->kind), f->size,
           when, f->path, o->delete_files ? (f->deleted ? "  deleted" : "  NOT deleted") : "");
  }
  if (rc < 0) {
    exit_code = fail(&err);
    goto cleanup;
  }
  printf("%zu orphan file%s, %" PRIu64 " bytes", orphans.n_files,
         orphans.n_files == 1 ? "" : "s", orphans.total_bytes);
  if (o->delete_files)
    printf("; deleted %zu (%" PRIu64 " bytes)", orphans.n_deleted, orphans.deleted_bytes);
  else if (orphans.n_files > 0)
    printf(" (dry run: --delete removes them)");
  printf("\nkept: %zu reachable, %zu newer than %s (%" PRIu64 " bytes)", orphans.n_reachable,
         orphans.n_too_new, o->older_than ? o->older_than : "3d", orphans.too_new_bytes);
  if (orphans.n_nested_tables > 0)
    printf(", %zu nested table director%s skipped", orphans.n_nested_tables,
           orphans.n_nested_tables == 1 ? "y" : "ies");
  printf("\n");
  exit_code = FLOE_EXIT_OK;
cleanup:
  floe_maintain_orphan_list_reset(&orphans);
  floe_table_free(table);
  floe_catalog_free(catalog);
  return exit_code;
}

/* A positive integer option (bytes or a count); 0 when absent. */
static int parse_count(const char *name, const char *text, int64_t *out) {
  *out = 0;
  if (text == NULL) return 0;
  char *end = NULL;
  long long v = strtoll(text, &end, 10);
  if (end == text || *end != '\0' || v <= 0) {
    fprintf(stderr, "floe: %s '%s': expected a positive integer\n", name, text);
    return -1;
  }
  *out = (int64_t)v;
  return 0;
}

/* COLUMN=VALUE as an equality term on a top-level primitive column; the
 * value is read as the column's JSON single value (quoted for text-like
 * types). */
static int parse_where(const floe_iceberg_schema *schema, const char *text,
                       floe_scan_predicate *out, floe_buf *json, floe_error *err) {
  const char *eq = strchr(text, '=');
  if (eq == NULL || eq == text)
    return floe_error_set(err, FLOE_EINVAL, "--where '%s': expected COLUMN=VALUE", text);
  size_t name_len = (size_t)(eq - text);
  const floe_iceberg_field *field = NULL;
  for (int32_t i = 0; i < schema->root.n_fields && field == NULL; i++)
    if (strlen(schema->root.fields[i].name) == name_len &&
        strncmp(schema->root.fields[i].name, text, name_len) == 0)
      field = &schema->root.fields[i];
  if (field == NULL || !floe_iceberg_type_is_primitive(field->type.id))
    return floe_error_set(err, FLOE_EINVAL, "--where '%s': no primitive column %.*s", text,
                          (int)name_len, text);
  json->len = 0;
  const char *value = eq + 1;
  bool numeric = value[0] == '-' || (value[0] >= '0' && value[0] <= '9');
  bool quote = !(numeric && (field->type.id == FLOE_ICEBERG_INT || field->type.id == FLOE_ICEBERG_LONG ||
                            field->type.id == FLOE_ICEBERG_FLOAT || field->type.id == FLOE_ICEBERG_DOUBLE)) &&
               field->type.id != FLOE_ICEBERG_BOOLEAN;
  if (floe_buf_appendf(json, quote ? "\"%s\"" : "%s", value) < 0)
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  memset(out, 0, sizeof *out);
  out->field_id = field->id;
  out->op = FLOE_SCAN_EQ;
  int rc = floe_iceberg_value_from_json(&field->type, (const char *)json->data, json->len,
                                        &out->value, err);
  if (rc < 0) floe_error_prefix(err, "--where '%s'", text);
  return rc;
}

static bool progress_shown;

static void show_progress(void *ctx, const char *phase, int64_t done, int64_t total) {
  (void)ctx;
  fprintf(stderr, "\r%-10s %" PRId64 "/%" PRId64 "   ", phase, done, total);
  if (done >= total) fputc('\n', stderr);
  progress_shown = done < total;
  fflush(stderr);
}

static void print_summary(const options *o, const floe_maintain_report *r) {
  const char *would = r->dry_run ? "would " : "";
  if (o->convert)
    printf("convert    %s%sremove %" PRId64 " equality delete file%s applying to %" PRId64
           " data file%s (%" PRId64 " rows -> %" PRId64 " position delete file%s)\n",
           r->dry_run ? "" : "", would, r->eq_delete_files_removed,
           r->eq_delete_files_removed == 1 ? "" : "s", r->eq_data_files,
           r->eq_data_files == 1 ? "" : "s", r->eq_deleted_rows, r->pos_delete_files_added,
           r->pos_delete_files_added == 1 ? "" : "s");
  if (o->compact)
    printf("compact    %d group%s: %srewrite %" PRId64 " data files (%" PRId64 " bytes) into %" PRId64
           " (%" PRId64 " bytes, %" PRId64 " rows), %sdrop %" PRId64 " delete files; %d conflicted, %d redone\n",
           (int)r->groups, r->groups == 1 ? "" : "s", would, r->files_rewritten, r->bytes_rewritten,
           r->files_written, r->bytes_written, r->rows_rewritten, would, r->delete_files_removed,
           (int)r->groups_conflicted, (int)r->groups_redone);
  if (o->compact && r->sort_order_id > 0)
    printf("           sorted by sort order %d: %d run%s\n", (int)r->sort_order_id,
           (int)r->sorted_runs, r->sorted_runs == 1 ? "" : "s");
  if (o->manifests)
    printf("manifests  %d -> %d%s\n", (int)r->manifests_before, (int)r->manifests_after,
           r->dry_run ? " (dry run)" : "");
  if (o->expire)
    printf("expire     %d snapshot%s: %sexpire %d (%d kept for floe's history), delete %" PRId64
           " manifest lists, %" PRId64 " manifests, %" PRId64 " data files, %" PRId64
           " delete files, %" PRId64 " statistics files, %" PRId64 " metadata files\n",
           (int)r->snapshots_before, r->snapshots_before == 1 ? "" : "s", would,
           (int)r->snapshots_expired, (int)r->snapshots_kept_for_floe, r->manifest_lists_deleted,
           r->manifests_deleted, r->data_files_deleted, r->delete_files_deleted,
           r->statistics_files_deleted, r->metadata_files_deleted);
  if (o->expire && r->refs_expired > 0)
    printf("           %s%d branch%s or tag%s past max-ref-age-ms removed\n", would,
           (int)r->refs_expired, r->refs_expired == 1 ? "" : "es", r->refs_expired == 1 ? "" : "s");
  printf("%d commit%s%s; data files %" PRId64 " -> %" PRId64 ", delete files %" PRId64 " -> %" PRId64 "\n",
         (int)r->commits, r->commits == 1 ? "" : "s", r->dry_run ? " (dry run: nothing written)" : "",
         r->data_files_before, r->dry_run ? r->data_files_before : r->data_files_after,
         r->delete_files_before, r->dry_run ? r->delete_files_before : r->delete_files_after);
}

static int run_maintain(options *o) {
  floe_error err = {0};
  floe_catalog *catalog = NULL;
  floe_table *table = NULL;
  floe_buf json = {0}, where_json = {0};
  floe_scan_predicate where[MAX_WHERE];
  int n_where = 0;
  int exit_code = FLOE_EXIT_FAILURE;
  floe_maintain_options mo;
  floe_maintain_options_init(&mo);
  floe_maintain_report report;
  memset(&report, 0, sizeof report);
  if (!o->convert && !o->compact && !o->manifests && !o->expire)
    o->convert = o->compact = o->manifests = o->expire = true;
  mo.convert_equality_deletes = o->convert;
  mo.compact = o->compact;
  mo.rewrite_manifests = o->manifests;
  mo.expire_snapshots = o->expire;
  mo.dry_run = o->dry_run;
  mo.partial_progress = o->partial_progress;
  mo.no_sort = o->no_sort;
  int64_t retain = 0, min_input = 0;
  if (parse_count("--retain-last", o->retain_last, &retain) < 0 ||
      parse_count("--target-file-size", o->target_file_size, &mo.target_file_size_bytes) < 0 ||
      parse_count("--min-input-files", o->min_input_files, &min_input) < 0 ||
      parse_count("--max-group-bytes", o->max_group_bytes, &mo.max_group_bytes) < 0 ||
      parse_count("--sort-buffer", o->sort_buffer, &mo.sort_buffer_bytes) < 0 ||
      parse_count("--target-manifest-size", o->target_manifest_size, &mo.target_manifest_bytes) < 0)
    return FLOE_EXIT_USAGE;
  mo.retain_last = (int32_t)retain;
  mo.min_input_files = (int32_t)min_input;
  if (o->older_than != NULL &&
      floe_maintain_parse_duration(o->older_than, &mo.older_than_ms, &err) < 0) {
    fprintf(stderr, "floe: --older-than: %s\n", err.message);
    return FLOE_EXIT_USAGE;
  }
  if (isatty(fileno(stderr))) mo.progress = show_progress;
  char ident_buf[1024];
  snprintf(ident_buf, sizeof ident_buf, "%s", o->table);
  char *dot = strrchr(ident_buf, '.');
  if (dot == NULL || dot == ident_buf || dot[1] == '\0') {
    fprintf(stderr, "floe: table '%s': expected NAMESPACE.TABLE\n", o->table);
    return FLOE_EXIT_USAGE;
  }
  *dot = '\0';
  floe_catalog_ident ident = {ident_buf, dot + 1};
  if (open_catalog(o, &catalog, &err) < 0 || floe_table_load(catalog, ident, &table, &err) < 0) {
    exit_code = fail(&err);
    goto cleanup;
  }
  for (int i = 0; i < o->n_where; i++) {
    if (parse_where(floe_table_schema(table), o->where[i], &where[i], &where_json, &err) < 0) {
      fprintf(stderr, "floe: %s\n", err.message);
      exit_code = FLOE_EXIT_USAGE;
      goto cleanup;
    }
    n_where++;
  }
  mo.filter = where;
  mo.n_filter = n_where;
  int rc = floe_maintain_run(table, &mo, &report, &err);
  if (progress_shown) fputc('\n', stderr);
  if (floe_maintain_report_json(&report, o->table, &json, &err) < 0 || floe_buf_terminate(&json) < 0) {
    exit_code = fail(&err);
    goto cleanup;
  }
  if (o->json)
    printf("%s\n", (const char *)json.data);
  else
    print_summary(o, &report);
  if (o->report_file != NULL) {
    FILE *f = fopen(o->report_file, "w");
    if (f == NULL || fprintf(f, "%s\n", (const char *)json.data) < 0 || fclose(f) != 0) {
      fprintf(stderr, "floe: --report %s: cannot write\n", o->report_file);
      goto cleanup;
    }
  }
  if (rc < 0) {
    exit_code = fail(&err);
    goto cleanup;
  }
  exit_code = FLOE_EXIT_OK;
cleanup:
  for (int i = 0; i < n_where; i++) floe_iceberg_value_free(&where[i].value);
  floe_buf_free(&json);
  floe_buf_free(&where_json);
  floe_table_free(table);
  floe_catalog_free(catalog);
  return exit_code;
}

int floe_cli_maintain(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) return usage_to(stdout);
  if (argc < 2) return usage();
  options o;
  if (strcmp(argv[1], "orphans") == 0) {
    if (parse_options(argc, argv, 2, &o) < 0) return usage();
    return run_orphans(&o);
  }
  if (argv[1][0] == '-' || strchr(argv[1], '.') == NULL) {
    fprintf(stderr, "floe maintain: unknown action '%s'\n", argv[1]);
    return usage();
  }
  if (parse_options(argc, argv, 1, &o) < 0) return usage();
  return run_maintain(&o);
}
