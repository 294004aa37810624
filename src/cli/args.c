/*
 * cli/args: the command-line conventions every sub-command shares: --help
 * (or -h) anywhere asks for the usage, and options may come before or
 * after the positionals (`floe parquet cat --format jsonl FILE` and
 * `floe parquet cat FILE --format jsonl` are the same). Parsers written
 * for "positionals, then options" get argv reordered into that shape.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
  }
  return 0;
}

static bool takes_value(const char *arg, const char *const *with_value) {
  for (size_t i = 0; with_value != NULL && with_value[i] != NULL; i++)
    if (strcmp(arg, with_value[i]) == 0) return true;
  return false;
}

void cli_args_positionals_first(int argc, char **argv, int first,
                                const char *const *with_value) {
  if (first >= argc) return;
  char **positional = malloc((size_t)argc * sizeof *positional);
  char **options = malloc((size_t)argc * sizeof *options);
  if (positional == NULL || options == NULL) {
    free(positional);
    free(options);
    return; /* the parser then sees the original order */
  }
  int np = 0, no = 0;
  for (int i = first; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-' || a[1] == '\0') {
      positional[np++] = argv[i];
      continue;
    }
    options[no++] = argv[i];
    if (takes_value(a, with_value) && i + 1 < argc) options[no++] = argv[++i];
  }
  int w = first;
  for (int i = 0; i < np; i++) argv[w++] = positional[i];
  for (int i = 0; i < no; i++) argv[w++] = options[i];
  free(positional);
  free(options);
}
