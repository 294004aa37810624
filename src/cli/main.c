/*
 * cli/main: the `floe` command. Parses the sub-command and dispatches to it;
 * installs the stderr log sink. This is the only part of floe that talks to
 * the terminal, and it uses only the public header.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "floe.h"

#define FLOE_VERSION "0.1.0"

typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} command;

static const command commands[] = {
    {"run", floe_cli_run, "replicate the configured tables (the hourly job)"},
    {"status", floe_cli_status, "per table: control max, committed watermark, snapshot, rows"},
    {"validate", floe_cli_validate, "recount source ranges against committed snapshots"},
    {"config", floe_cli_config, "check a configuration file (config check [--show])"},
    {"init", floe_cli_init, "print a commented sample configuration"},
    {"demo", floe_cli_demo, "run the main job on a generated SQLite source (make demo)"},
    {"parquet", floe_cli_parquet, "inspect or print a Parquet file (inspect|cat)"},
    {"avro", floe_cli_avro, "inspect or print an Avro container file (inspect|cat)"},
    {"table", floe_cli_table, "create, list, drop, inspect or scan Iceberg tables"},
    {"control", floe_cli_control, "record where a table stands (control set TABLE BATCH_SK)"},
    {"maintain", floe_cli_maintain, "table maintenance: list or remove orphan files"},
};

static void usage(FILE *out) {
  fprintf(out,
          "usage: floe <command> [arguments]\n"
          "\n"
          "commands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out,
          "\n"
          "`floe <command> --help` shows a command's options.\n"
          "exit codes: 0 success (including \"nothing new\"), 1 failure, 2 usage or\n"
          "configuration error, 3 validation mismatch\n");
}

static void stderr_sink(void *ctx, floe_log_level level, const char *line) {
  (void)ctx;
  (void)level;
  fprintf(stderr, "%s\n", line);
}

int main(int argc, char **argv) {
  floe_log_set_sink(stderr_sink, NULL);
  /* Warnings and errors only; the job commands apply logging.* from the job
   * file. */
  floe_log_set_level(FLOE_LOG_WARN);
  if (argc < 2) {
    usage(stderr);
    return FLOE_EXIT_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    usage(stdout);
    return FLOE_EXIT_OK;
  }
  if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
    printf("floe %s\n", FLOE_VERSION);
    return FLOE_EXIT_OK;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "floe: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return FLOE_EXIT_USAGE;
}
