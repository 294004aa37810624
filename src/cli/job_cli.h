/*
 * cli/job_cli.h: what the job commands (`floe run`, `status`, `validate`,
 * `config`, `init`) share: option parsing, loading the config with its
 * errors printed file:line, and the log sink that respects logging.* and a
 * progress line on the terminal. Private to src/cli.
 */
#ifndef FLOE_CLI_JOB_CLI_H
#define FLOE_CLI_JOB_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "floe.h"

typedef struct job_args {
  const char *config_path; /* -c / --config; default floe.yaml */
  const char **tables;     /* --table NAME ... */
  size_t n_tables;
  const char **sets;       /* --set key=value ... */
  size_t n_sets;
  bool dry_run;            /* --dry-run (run) */
  bool show;               /* --show (config check) */
  bool json;               /* --json (status, validate) */
  bool verbose;            /* -v / --verbose (status, validate) */
  bool connect;            /* --connect (config check) */
  bool help;
} job_args;

/* Parses argv[first..argc). Options allowed: a string of letters naming
 * them: 't' --table, 's' --set, 'd' --dry-run, 'w' --show, 'j' --json, 'v'
 * -v/--verbose, 'k' --connect, 'p' a positional config path. Prints a message and returns 2 on bad
 * arguments, else 0. Free with job_args_free. */
int job_args_parse(job_args *out, int argc, char **argv, int first, const char *allowed,
                   const char *command);
void job_args_free(job_args *args);

/* Loads the config (printing every error "file:line:col: key: what" to
 * stderr); returns 0, or the exit code 2. */
int job_load_config(floe_config *cfg, const job_args *args);

/* Applies logging.* (level, format, file) and installs the sink, which
 * clears the progress line before writing. Returns 0, or 1 when the log
 * file cannot be opened. */
int job_setup_logging(const floe_config *cfg);
/* The same for interactive commands (status, validate): warnings and
 * errors only, unless `verbose` (-v), when logging.level applies. */
int job_setup_logging_interactive(const floe_config *cfg, bool verbose);
void job_close_logging(void);

/* A floe_run_progress_fn drawing "table: rows (rows/s), bytes" on stderr
 * when it is a terminal. */
void job_progress(void *ctx, const floe_run_progress *p);
/* Clears the progress line (if drawn). */
void job_progress_clear(void);

#endif
