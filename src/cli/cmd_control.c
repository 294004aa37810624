/*
 * cli/cmd_control: `floe control set TABLE BATCH_SK --reason TEXT`, the
 * documented way to tell floe where a table stands when its batches were
 * loaded by something else (a notebook, a backfill, a restore): floe
 * inserts a control row of kind 'manual' and records a baseline commit on
 * the Iceberg table, so the next run loads only the batches above it
 * (docs/replicate.md, "Switching to floe").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "floe.h"
#include "job_cli.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: floe control set TABLE BATCH_SK --reason TEXT [-c floe.yaml]\n"
          "                        [--set key=value]... [--dry-run]\n"
          "       floe control migrate [-c floe.yaml] [--set key=value]...\n"
          "\n"
          "Records that the batches of TABLE (its name under tables:) up to BATCH_SK are\n"
          "loaded: a control row (kind 'manual') and a baseline commit on the Iceberg\n"
          "table (no data; summary floe.baseline carries the reason). The next floe run\n"
          "loads batch_sk > BATCH_SK. BATCH_SK must be above the table's control max and\n"
          "committed batch. The Iceberg table is created from the source when missing.\n"
          "\n"
          "migrate converts a notebook-era control table (table_name, batch_sk; floe's\n"
          "columns kept in the side table <table>_floe) to floe's full layout in place,\n"
          "in one transaction; rows floe did not write get kind 'manual'.\n"
          "\n"
          "exit codes: 0 recorded, 1 failure, 2 usage/config error\n");
}

int floe_cli_control(int argc, char **argv) {
  job_args args;
  floe_config cfg;
  floe_run_report report;
  floe_error err = {0};
  const char *rest[64];
  int n_rest = 0;
  const char *table = NULL, *batch_text = NULL, *reason = NULL;
  int code = 0;
  memset(&report, 0, sizeof report);
  memset(&args, 0, sizeof args);
  floe_config_init(&cfg);
  bool help = argc < 2;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) help = true;
  if (help) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? FLOE_EXIT_USAGE : 0;
  }
  if (strcmp(argv[1], "migrate") == 0) {
    code = job_args_parse(&args, argc, argv, 2, "s", "control migrate");
    if (code != 0) goto done;
    if ((code = job_load_config(&cfg, &args)) != 0) goto done;
    if ((code = job_setup_logging(&cfg)) != 0) goto done;
    int64_t rows = 0;
    int rc = floe_replicate_control_migrate(&cfg, &rows, &err);
    if (rc != FLOE_OK) {
      fprintf(stderr, "floe control migrate: %s\n", err.message);
      code = floe_replicate_exit_code(rc);
    } else {
      printf("control table migrated to the full layout: %lld rows\n", (long long)rows);
      if (cfg.control.layout == FLOE_CONTROL_LAYOUT_MINIMAL)
        printf("now remove layout: minimal from control: in the job file (layout: auto finds "
               "the full layout)\n");
    }
    goto done;
  }
  if (strcmp(argv[1], "set") != 0) {
    fprintf(stderr, "floe control: unknown sub-command '%s' (see floe control --help)\n",
            argv[1]);
    return FLOE_EXIT_USAGE;
  }
  /* Positionals and --reason here; the job options to job_args_parse. */
  rest[n_rest++] = argv[0];
  for (int i = 2; i < argc && n_rest < 63; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--reason") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "floe control set: --reason needs a value\n");
        return FLOE_EXIT_USAGE;
      }
      reason = argv[++i];
    } else if (strncmp(a, "--reason=", 9) == 0) {
      reason = a + 9;
    } else if (a[0] != '-' && table == NULL) {
      table = a;
    } else if (a[0] != '-' && batch_text == NULL) {
      batch_text = a;
    } else {
      rest[n_rest++] = a;
      bool takes_value = strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 ||
                         strcmp(a, "--set") == 0;
      if (takes_value && i + 1 < argc) rest[n_rest++] = argv[++i];
    }
  }
  if (table == NULL || batch_text == NULL) {
    fprintf(stderr, "floe control set: needs TABLE and BATCH_SK (see floe control --help)\n");
    return FLOE_EXIT_USAGE;
  }
  char *end = NULL;
  errno = 0;
  long long batch_sk = strtoll(batch_text, &end, 10);
  if (errno != 0 || end == batch_text || *end != '\0' || batch_sk <= 0) {
    fprintf(stderr, "floe control set: BATCH_SK must be a positive integer, got '%s'\n",
            batch_text);
    return FLOE_EXIT_USAGE;
  }
  if (reason == NULL || reason[0] == '\0') {
    fprintf(stderr,
            "floe control set: --reason TEXT is required (it is kept in the snapshot "
            "summary as floe.baseline)\n");
    return FLOE_EXIT_USAGE;
  }
  code = job_args_parse(&args, n_rest, (char **)rest, 1, "sd", "control set");
  if (code != 0) goto done;
  if ((code = job_load_config(&cfg, &args)) != 0) goto done;
  if ((code = job_setup_logging(&cfg)) != 0) goto done;
  floe_run_options opt;
  memset(&opt, 0, sizeof opt);
  opt.tables = &table;
  opt.n_tables = 1;
  opt.dry_run = args.dry_run;
  opt.control_set = true;
  opt.set_batch_sk = batch_sk;
  opt.set_reason = reason;
  int rc = floe_replicate_run(&cfg, &opt, &report, &err);
  code = floe_run_report_exit_code(&report, rc);
  if (rc != FLOE_OK) {
    fprintf(stderr, "floe control set: %s\n", err.message);
  } else {
    printf("%s: batches up to %lld recorded as loaded%s\n", table, batch_sk,
           args.dry_run ? " (dry run: nothing written)" : "");
  }
done:
  floe_run_report_free(&report);
  job_args_free(&args);
  floe_config_free(&cfg);
  job_close_logging();
  return code;
}
