/*
 * cli/cmd_run: `floe run [-c floe.yaml] [--table NAME]... [--set key=value]...
 * [--dry-run]` — replicate every (or the named) table of the job once.
 *
 * Prints the per-table summary on stdout, writes run.report as JSON when
 * the config names one, logs per logging.*, and draws a progress line on
 * a terminal. Exit codes: 0 ok (including "nothing new"), 1 a table
 * failed, 2 usage or configuration error, 3 validation mismatch.
 *
 * SIGINT (Ctrl-C) stops the run cleanly: the handler only sets
 * the run's interrupt flag; the engine then fails the table being loaded
 * (compensating its control row), starts no other, and the summary shows
 * what was committed before.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "floe.h"
#include "job_cli.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: floe run [-c floe.yaml] [--table NAME]... [--set key=value]... [--dry-run]\n"
          "\n"
          "Replicates each table of the job: reads the new batches (control table),\n"
          "writes them to Iceberg in one commit per load, validates counts.\n"
          "\n"
          "  -c, --config FILE   the job file (default floe.yaml)\n"
          "  --table NAME        only this table (repeatable)\n"
          "  --set KEY=VALUE     override a config key (repeatable), e.g.\n"
          "                      --set tables.orders.mode=merge\n"
          "  --dry-run           plan and print what would be loaded; write nothing\n"
          "\n"
          "exit codes: 0 ok (also when there is nothing new), 1 a table failed,\n"
          "            2 usage or configuration error, 3 validation mismatch,\n"
          "            4 a source is behind its control table (on_source_behind: fail),\n"
          "            5 rows floe will never load were found (late_rows: fail),\n"
          "            6 a data-quality check (checks:, severity fail) stopped a table\n");
}

static volatile sig_atomic_t run_interrupted;

static void on_interrupt(int signo) {
  (void)signo;
  run_interrupted = 1;
}

static int write_report(const char *path, const floe_run_report *report) {
  floe_buf json = FLOE_BUF_INIT;
  floe_error err = {0};
  int rc = floe_run_report_json(report, &json, &err);
  if (rc == 0) {
    FILE *f = fopen(path, "w");
    if (f == NULL || fwrite(json.data, 1, json.len, f) != json.len || fputc('\n', f) == EOF) {
      perror(path);
      rc = -1;
    }
    if (f != NULL && fclose(f) != 0) rc = -1;
  } else {
    fprintf(stderr, "floe run: report: %s\n", err.message);
  }
  floe_buf_free(&json);
  return rc;
}

int floe_cli_run(int argc, char **argv) {
  job_args args;
  floe_config cfg;
  floe_run_report report;
  floe_error err = {0};
  memset(&report, 0, sizeof report);
  floe_config_init(&cfg);
  int code = job_args_parse(&args, argc, argv, 1, "tsd", "run");
  if (code != 0 || args.help) {
    if (args.help) usage(stdout);
    job_args_free(&args);
    return args.help ? 0 : code;
  }
  if ((code = job_load_config(&cfg, &args)) != 0) goto done;
  if ((code = job_setup_logging(&cfg)) != 0) goto done;
  floe_run_options opt;
  memset(&opt, 0, sizeof opt);
  opt.tables = args.tables;
  opt.n_tables = args.n_tables;
  opt.dry_run = args.dry_run;
  opt.progress = job_progress;
  opt.interrupt = &run_interrupted;
  struct sigaction sa, old_int;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_interrupt;
  sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C ends the process at once */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  int rc = floe_replicate_run(&cfg, &opt, &report, &err);
  sigaction(SIGINT, &old_int, NULL);
  job_progress_clear();
  code = floe_run_report_exit_code(&report, rc);
  if (report.n_tables > 0) {
    floe_buf text = FLOE_BUF_INIT;
    if (floe_run_report_text(&report, &text, NULL) == 0)
      fwrite(text.data, 1, text.len, stdout);
    floe_buf_free(&text);
  }
  if (cfg.run.report != NULL && !args.dry_run && write_report(cfg.run.report, &report) != 0 &&
      code == 0)
    code = 1;
  if (rc != FLOE_OK) fprintf(stderr, "floe run: %s\n", err.message);
done:
  job_close_logging();
  floe_run_report_free(&report);
  floe_config_free(&cfg);
  job_args_free(&args);
  return code;
}
