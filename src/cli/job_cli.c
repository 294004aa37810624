/*
 * cli/job_cli: helpers shared by the job commands (see job_cli.h): option
 * parsing, config loading with all errors printed, logging per the config
 * (stderr or logging.file, logfmt or JSON), and the terminal progress line.
 */
#include "job_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int job_args_parse(job_args *out, int argc, char **argv, int first, const char *allowed,
                   const char *command) {
  memset(out, 0, sizeof *out);
  out->config_path = "floe.yaml";
  out->tables = calloc((size_t)argc + 1, sizeof *out->tables);
  out->sets = calloc((size_t)argc + 1, sizeof *out->sets);
  if (out->tables == NULL || out->sets == NULL) {
    fprintf(stderr, "floe %s: out of memory\n", command);
    return 1;
  }
  bool have_positional = false;
  for (int i = first; i < argc; i++) {
    const char *a = argv[i];
    const char *value = NULL;
    bool needs_value = false;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      out->help = true;
      continue;
    }
    if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
      needs_value = true;
    } else if (strncmp(a, "--config=", 9) == 0) {
      out->config_path = a + 9;
      continue;
    } else if (strchr(allowed, 't') && strcmp(a, "--table") == 0) {
      needs_value = true;
    } else if (strchr(allowed, 's') && strcmp(a, "--set") == 0) {
      needs_value = true;
    } else if (strchr(allowed, 'd') && strcmp(a, "--dry-run") == 0) {
      out->dry_run = true;
      continue;
    } else if (strchr(allowed, 'w') && strcmp(a, "--show") == 0) {
      out->show = true;
      continue;
    } else if (strchr(allowed, 'v') && (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)) {
      out->verbose = true;
      continue;
    } else if (strchr(allowed, 'k') && strcmp(a, "--connect") == 0) {
      out->connect = true;
      continue;
    } else if (strchr(allowed, 'j') && strcmp(a, "--json") == 0) {
      out->json = true;
      continue;
    } else if (a[0] != '-' && strchr(allowed, 'p') && !have_positional) {
      out->config_path = a;
      have_positional = true;
      continue;
    } else {
      fprintf(stderr, "floe %s: unknown argument '%s' (see floe %s --help)\n", command, a,
              command);
      return 2;
    }
    if (needs_value) {
      if (i + 1 >= argc) {
        fprintf(stderr, "floe %s: %s needs a value\n", command, a);
        return 2;
      }
      value = argv[++i];
      if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0)
        out->config_path = value;
      else if (strcmp(a, "--table") == 0)
        out->tables[out->n_tables++] = value;
      else {
        if (strchr(value, '=') == NULL) {
          fprintf(stderr, "floe %s: --set wants key=value, got '%s'\n", command, value);
          return 2;
        }
        out->sets[out->n_sets++] = value;
      }
    }
  }
  return 0;
}

void job_args_free(job_args *args) {
  free(args->tables);
  free(args->sets);
  memset(args, 0, sizeof *args);
}

int job_load_config(floe_config *cfg, const job_args *args) {
  floe_error err = {0};
  floe_config_init(cfg);
  int rc = floe_config_load(cfg, args->config_path, (const char *const *)args->sets,
                            args->n_sets, &err);
  if (rc == FLOE_OK) return 0;
  size_t n = floe_config_error_count(cfg);
  if (n == 0)
    fprintf(stderr, "floe: %s\n", err.message);
  for (size_t i = 0; i < n; i++) fprintf(stderr, "%s\n", floe_config_error_message(cfg, i));
  if (rc == FLOE_ENOTFOUND)
    fprintf(stderr, "floe: no configuration at %s (`floe init > floe.yaml` writes a sample; "
                    "-c FILE names another)\n",
            args->config_path);
  return 2;
}

/* ---- logging and progress ------------------------------------------------ */

static FILE *log_file;
static bool progress_drawn;

static void job_sink(void *ctx, floe_log_level level, const char *line) {
  (void)ctx;
  (void)level;
  if (log_file != NULL) {
    fprintf(log_file, "%s\n", line);
    fflush(log_file);
    return;
  }
  job_progress_clear();
  fprintf(stderr, "%s\n", line);
}

int job_setup_logging(const floe_config *cfg) {
  floe_log_set_level(cfg->logging.level);
  floe_log_set_format(cfg->logging.format);
  if (cfg->logging.file != NULL) {
    log_file = fopen(cfg->logging.file, "a");
    if (log_file == NULL) {
      perror(cfg->logging.file);
      return 1;
    }
  }
  floe_log_set_sink(job_sink, NULL);
  return 0;
}

int job_setup_logging_interactive(const floe_config *cfg, bool verbose) {
  int rc = job_setup_logging(cfg);
  if (rc == 0 && !verbose && cfg->logging.level > FLOE_LOG_WARN) floe_log_set_level(FLOE_LOG_WARN);
  return rc;
}

void job_close_logging(void) {
  job_progress_clear();
  if (log_file != NULL) fclose(log_file);
  log_file = NULL;
}

void job_progress_clear(void) {
  if (progress_drawn) {
    fputs("\r\033[K", stderr);
    progress_drawn = false;
  }
}

void job_progress(void *ctx, const floe_run_progress *p) {
  (void)ctx;
  static int tty = -1;
  if (tty < 0) tty = isatty(2);
  if (!tty) return;
  double rate = p->seconds > 0 ? (double)p->rows / p->seconds : 0;
  fprintf(stderr, "\r\033[K%s: %lld rows (%.0f rows/s), %.1f MiB written, %.1f s", p->table,
          (long long)p->rows, rate, (double)p->bytes / (1024.0 * 1024.0), p->seconds);
  fflush(stderr);
  progress_drawn = true;
}
