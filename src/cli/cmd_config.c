/*
 * cli/cmd_config: `floe config check [-c floe.yaml | FILE] [--show]
 * [--set key=value]...` (every configuration error, file:line:column; with
 * --show the effective configuration, secrets as ***) and `floe init`
 * (the commented sample configuration on stdout).
 */
#include <stdio.h>
#include <string.h>

#include "floe.h"
#include "job_cli.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: floe config check [-c floe.yaml | FILE] [--set key=value]... [--show]\n"
          "                         [--connect]\n"
          "\n"
          "Checks the job file and prints every error as file:line:column: key: what.\n"
          "--show prints the effective configuration (defaults applied, overrides and\n"
          "${...} resolved, secrets as ***).\n"
          "--connect also checks online: the source answers, its tables have the\n"
          "configured batch/cursor/key columns, the catalog opens (writes nothing).\n"
          "\n"
          "exit codes: 0 valid, 1 the source or catalog cannot be reached, 2 errors found\n");
}

int floe_cli_config(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "check") != 0) {
    fprintf(stderr, "floe config: unknown sub-command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
  }
  job_args args;
  floe_config cfg;
  floe_config_init(&cfg);
  int code = job_args_parse(&args, argc, argv, 2, "swpk", "config check");
  if (code != 0 || args.help) {
    if (args.help) usage(stdout);
    job_args_free(&args);
    return args.help ? 0 : code;
  }
  if ((code = job_load_config(&cfg, &args)) == 0) {
    if (args.show) {
      floe_buf out = FLOE_BUF_INIT;
      floe_error err = {0};
      if (floe_config_dump(&cfg, &out, &err) == 0) {
        fwrite(out.data, 1, out.len, stdout);
      } else {
        fprintf(stderr, "floe config: %s\n", err.message);
        code = 1;
      }
      floe_buf_free(&out);
    } else if (args.connect) {
      floe_buf out = FLOE_BUF_INIT;
      floe_error err = {0};
      int problems = 0;
      if ((code = job_setup_logging_interactive(&cfg, false)) == 0) {
        int rc = floe_replicate_check_online(&cfg, &out, &problems, &err);
        if (rc < 0) {
          fprintf(stderr, "floe config check: %s\n", err.message);
          code = 1;
        } else {
          fwrite(out.data, 1, out.len, stderr);
          if (problems > 0) code = 2;
          else
            printf("%s: ok (%zu table%s; source, columns and catalog checked)\n",
                   args.config_path, cfg.n_tables, cfg.n_tables == 1 ? "" : "s");
        }
        job_close_logging();
      }
      floe_buf_free(&out);
    } else {
      printf("%s: ok (%zu table%s)\n", args.config_path, cfg.n_tables, cfg.n_tables == 1 ? "" : "s");
    }
  }
  floe_config_free(&cfg);
  job_args_free(&args);
  return code;
}

int floe_cli_init(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    printf("usage: floe init > floe.yaml\n\nPrints a commented sample job file.\n");
    return 0;
  }
  if (argc > 1) {
    fprintf(stderr, "floe init: takes no arguments (redirect the output: floe init > floe.yaml)\n");
    return 2;
  }
  fputs(floe_config_sample(), stdout);
  return 0;
}
