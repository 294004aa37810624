/*
 * cli/main: the `floe` command. Parses the sub-command and dispatches; it is
 * the only place that talks to the terminal.
 */
#include <stdio.h>
#include <string.h>

#include "floe.h"

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0) {
    printf("usage: floe <command> [args]\n");
    return argc < 2 ? 2 : 0;
  }
  fprintf(stderr, "floe: unknown command '%s'\n", argv[1]);
  return 2;
}
