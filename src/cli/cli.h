/*
 * cli/cli.h: the sub-commands of the `floe` command. Each takes the
 * arguments after `floe` (argv[0] is the sub-command's name) and returns the
 * process exit code (see FLOE_EXIT_* in main.c's usage text).
 */
#ifndef FLOE_CLI_H
#define FLOE_CLI_H

#define FLOE_EXIT_OK 0
#define FLOE_EXIT_FAILURE 1
#define FLOE_EXIT_USAGE 2

#include <stdbool.h>

/* Whether --help or -h is among the arguments (anywhere): every command
 * then prints its usage to stdout and exits 0. */
int cli_wants_help(int argc, char **argv);

/* Command-line convention: options may come before or after positionals.
 * Reorders argv[first..argc) stably so that positionals come first and
 * options after them; an option named in `with_value` (NULL-terminated)
 * keeps the argument after it as its value ("-" alone is a positional). */
void cli_args_positionals_first(int argc, char **argv, int first,
                                const char *const *with_value);

int floe_cli_parquet(int argc, char **argv);
int floe_cli_avro(int argc, char **argv);
int floe_cli_table(int argc, char **argv);
int floe_cli_run(int argc, char **argv);
int floe_cli_status(int argc, char **argv);
int floe_cli_validate(int argc, char **argv);
int floe_cli_config(int argc, char **argv);
int floe_cli_init(int argc, char **argv);
int floe_cli_demo(int argc, char **argv);
int floe_cli_maintain(int argc, char **argv);
int floe_cli_control(int argc, char **argv);

#endif
