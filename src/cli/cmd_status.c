/*
 * cli/cmd_status: `floe status [-c floe.yaml] [--table NAME]...` (what the
 * control table and each Iceberg table say) and `floe validate [-c ...]
 * [--table NAME]...` (recount the source ranges of the committed loads).
 * Both print a table on stdout; --json prints the JSON instead (validate:
 * the run report format). Exit codes as `floe run`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "floe.h"
#include "job_cli.h"

static void usage_status(FILE *out) {
  fprintf(out,
          "usage: floe status [-c floe.yaml] [--table NAME]... [--set key=value]... [-v]\n"
          "\n"
          "Per table: the control table's latest batch, the highest batch committed to\n"
          "Iceberg (snapshot summaries), the watermark, the current snapshot, its row\n"
          "count (total-records) and the last run; notes a source behind its control\n"
          "table. Writes nothing. Logs warnings and errors only (-v: logging.level).\n"
          "\n"
          "exit codes: 0 ok, 1 the source or catalog cannot be read, 2 usage/config error\n");
}

static void usage_validate(FILE *out) {
  fprintf(out,
          "usage: floe validate [-c floe.yaml] [--table NAME]... [--set key=value]... [--json]\n"
          "                     [-v]\n"
          "\n"
          "Recounts the source rows of every committed load still on each table's main\n"
          "branch and compares them with the rows the commit added (and checksums the\n"
          "latest load when validate.checksum is set). Writes nothing. Logs warnings and\n"
          "errors only (-v: logging.level).\n"
          "\n"
          "exit codes: 0 all match, 1 failure, 2 usage/config error, 3 mismatch\n");
}

int floe_cli_status(int argc, char **argv) {
  job_args args;
  floe_config cfg;
  floe_status_report report;
  floe_error err = {0};
  memset(&report, 0, sizeof report);
  floe_config_init(&cfg);
  int code = job_args_parse(&args, argc, argv, 1, "tsv", "status");
  if (code != 0 || args.help) {
    if (args.help) usage_status(stdout);
    job_args_free(&args);
    return args.help ? 0 : code;
  }
  if ((code = job_load_config(&cfg, &args)) != 0) goto done;
  if ((code = job_setup_logging_interactive(&cfg, args.verbose)) != 0) goto done;
  floe_run_options opt;
  memset(&opt, 0, sizeof opt);
  opt.tables = args.tables;
  opt.n_tables = args.n_tables;
  int rc = floe_replicate_status(&cfg, &opt, &report, &err);
  if (rc != FLOE_OK) {
    fprintf(stderr, "floe status: %s\n", err.message);
    code = floe_replicate_exit_code(rc);
    goto done;
  }
  floe_buf text = FLOE_BUF_INIT;
  if (floe_status_report_text(&report, &text, NULL) == 0) fwrite(text.data, 1, text.len, stdout);
  floe_buf_free(&text);
  code = 0;
done:
  job_close_logging();
  floe_status_report_free(&report);
  floe_config_free(&cfg);
  job_args_free(&args);
  return code;
}

int floe_cli_validate(int argc, char **argv) {
  job_args args;
  floe_config cfg;
  floe_run_report report;
  floe_error err = {0};
  memset(&report, 0, sizeof report);
  floe_config_init(&cfg);
  int code = job_args_parse(&args, argc, argv, 1, "tsjv", "validate");
  if (code != 0 || args.help) {
    if (args.help) usage_validate(stdout);
    job_args_free(&args);
    return args.help ? 0 : code;
  }
  if ((code = job_load_config(&cfg, &args)) != 0) goto done;
  if ((code = job_setup_logging_interactive(&cfg, args.verbose)) != 0) goto done;
  floe_run_options opt;
  memset(&opt, 0, sizeof opt);
  opt.tables = args.tables;
  opt.n_tables = args.n_tables;
  int rc = floe_replicate_validate(&cfg, &opt, &report, &err);
  code = floe_run_report_exit_code(&report, rc);
  floe_buf text = FLOE_BUF_INIT;
  if (args.json ? floe_run_report_json(&report, &text, NULL) == 0
                : floe_run_report_text(&report, &text, NULL) == 0) {
    fwrite(text.data, 1, text.len, stdout);
    if (args.json) fputc('\n', stdout);
  }
  floe_buf_free(&text);
  if (rc != FLOE_OK) fprintf(stderr, "floe validate: %s\n", err.message);
done:
  job_close_logging();
  floe_run_report_free(&report);
  floe_config_free(&cfg);
  job_args_free(&args);
  return code;
}
