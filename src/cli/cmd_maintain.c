/*
 * cli/cmd_maintain: `floe maintain orphans NS.TABLE [--older-than DURATION]
 * [--delete] CATALOG`.
 *
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

#include "floe.h"

#include "cli.h"

static int usage(void) {
  fprintf(stderr,
          "usage: floe maintain orphans NS.TABLE [--older-than DURATION] [--delete] CATALOG\n"
          "  Lists files under the table's location that no snapshot of its current\n"
          "  metadata reaches (failed commits' data files, manifests, manifest lists,\n"
          "  metadata files beyond the metadata log, temporary files); with --delete,\n"
          "  removes them. Files modified within DURATION (default 3d; units ms, s,\n"
          "  m, h, d, w) are kept: a running writer may still commit them.\n"
          "CATALOG: -c floe.yaml (the job's target catalog), or\n"
          "         --catalog-type sql|hadoop [--catalog-uri sqlite:PATH|postgresql://...]\n"
          "         --warehouse DIR [--catalog-name NAME]\n");
  return FLOE_EXIT_USAGE;
}

static int fail(const floe_error *err) {
  fprintf(stderr, "floe: %s\n", err->message);
  return FLOE_EXIT_FAILURE;
}

typedef struct options {
  const char *catalog_type, *catalog_uri, *warehouse, *catalog_name;
  const char *config_file, *older_than, *table;
  bool delete_files;
} options;

static int parse_options(int argc, char **argv, options *o) {
  memset(o, 0, sizeof *o);
  for (int i = 2; i < argc; i++) {
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

int floe_cli_maintain(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) return usage();
  options o;
  if (strcmp(argv[1], "orphans") != 0) {
    fprintf(stderr, "floe maintain: unknown action '%s'\n", argv[1]);
    return usage();
  }
  if (parse_options(argc, argv, &o) < 0) return usage();
  return run_orphans(&o);
}
