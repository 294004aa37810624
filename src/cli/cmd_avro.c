/*
 * cli/cmd_avro: `floe avro inspect FILE` and `floe avro cat FILE [--limit N]`.
 *
 * inspect prints what a person debugging a manifest needs: codec, sync
 * marker, every header entry (JSON values pretty-printed, text as is,
 * anything else as hex), the schema, and the block and record counts
 * (found by decoding every record, so a corrupt block is reported too).
 * cat prints one JSON object per record. Only the public API is used.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "floe.h"

static int usage_to(FILE *out) {
  fprintf(out,
          "usage: floe avro inspect FILE\n"
          "       floe avro cat FILE [--limit N]\n");
  return out == stdout ? FLOE_EXIT_OK : FLOE_EXIT_USAGE;
}

static int usage(void) { return usage_to(stderr); }

static int fail(const floe_error *err) {
  fprintf(stderr, "floe: %s\n", err->message);
  return 1;
}

/* Text we can print as is: valid UTF-8 without control characters other
 * than tab and newline. */
static int printable_text(const uint8_t *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint8_t c = s[i];
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return 0;
      if (c == 0x7f) return 0;
      i++;
      continue;
    }
    int need = c >= 0xC2 && c <= 0xDF   ? 1
               : c >= 0xE0 && c <= 0xEF ? 2
               : c >= 0xF0 && c <= 0xF4 ? 3
                                        : -1;
    if (need < 0) return 0;
    for (int k = 1; k <= need; k++)
      if (i + (size_t)k >= len || (s[i + k] & 0xC0) != 0x80) return 0;
    i += (size_t)need + 1;
  }
  return 1;
}

static void print_indented(const char *text, const char *indent) {
  fputs(indent, stdout);
  for (const char *p = text; *p; p++) {
    fputc(*p, stdout);
    if (*p == '\n' && p[1] != '\0') fputs(indent, stdout);
  }
  fputc('\n', stdout);
}

/* Pretty JSON for objects and arrays; NULL for anything else. The caller
 * frees the result with free(). */
static char *pretty_json(const uint8_t *value, size_t len) {
  json_error_t jerr;
  json_t *json = json_loadb((const char *)value, len, 0, &jerr);
  if (json == NULL) return NULL;
  char *text = json_dumps(json, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(json);
  return text;
}

static void print_hex(const uint8_t *value, size_t len) {
  for (size_t i = 0; i < len; i++) printf("%02x", value[i]);
}

static int inspect(const char *path) {
  floe_error err = {0};
  floe_avro_reader *reader = NULL;
  int rc = floe_avro_reader_open_path(&reader, path, &err);
  if (rc < 0) return fail(&err);
  printf("file: %s\n", path);
  printf("codec: %s\n", floe_avro_codec_name(floe_avro_reader_codec(reader)));
  printf("sync marker: ");
  print_hex(floe_avro_reader_sync_marker(reader), 16);
  printf("\nmetadata: %zu entries\n", floe_avro_reader_metadata_count(reader));
  for (size_t i = 0; i < floe_avro_reader_metadata_count(reader); i++) {
    const floe_avro_metadata *m = floe_avro_reader_metadata_at(reader, i);
    printf("  %s (%zu bytes):", m->key, m->value_len);
    if (strcmp(m->key, "avro.schema") == 0) {
      printf(" (see schema below)\n");
      continue;
    }
    if (m->value_len == 0) {
      printf(" (empty)\n");
      continue;
    }
    char *pretty = printable_text(m->value, m->value_len) ? pretty_json(m->value, m->value_len)
                                                          : NULL;
    if (pretty != NULL) {
      printf("\n");
      print_indented(pretty, "    ");
      free(pretty);
    } else if (printable_text(m->value, m->value_len)) {
      printf(" %s\n", (const char *)m->value);
    } else {
      printf(" hex ");
      print_hex(m->value, m->value_len);
      printf("\n");
    }
  }
  size_t schema_len;
  const char *schema = floe_avro_schema_json(floe_avro_reader_schema(reader), &schema_len);
  char *pretty = pretty_json((const uint8_t *)schema, schema_len);
  printf("schema:\n");
  print_indented(pretty != NULL ? pretty : schema, "  ");
  free(pretty);
  const floe_avro_value *record;
  do {
    rc = floe_avro_reader_next(reader, &record, &err);
  } while (rc == 0 && record != NULL);
  printf("blocks: %llu\n", (unsigned long long)floe_avro_reader_block_count(reader));
  printf("records: %llu\n", (unsigned long long)floe_avro_reader_record_count(reader));
  floe_avro_reader_free(reader);
  if (rc < 0) {
    fflush(stdout);
    fprintf(stderr, "floe: %s: %s\n", path, err.message);
    return 1;
  }
  return 0;
}

static int cat(const char *path, long long limit) {
  floe_error err = {0};
  floe_avro_reader *reader = NULL;
  floe_buf line = FLOE_BUF_INIT;
  int status = 0;
  int rc = floe_avro_reader_open_path(&reader, path, &err);
  if (rc < 0) return fail(&err);
  const floe_avro_node *root = floe_avro_schema_root(floe_avro_reader_schema(reader));
  for (long long n = 0; limit < 0 || n < limit; n++) {
    const floe_avro_value *record;
    rc = floe_avro_reader_next(reader, &record, &err);
    if (rc < 0 || record == NULL) break;
    floe_buf_reset(&line);
    rc = floe_avro_value_to_json(root, record, &line, &err);
    if (rc < 0 || floe_buf_append_byte(&line, '\n') < 0) break;
    if (fwrite(line.data, 1, line.len, stdout) != line.len) {
      floe_error_errno(&err, errno, "write");
      rc = FLOE_EIO;
      break;
    }
  }
  if (rc < 0) {
    fflush(stdout);
    fprintf(stderr, "floe: %s: %s\n", path, err.message);
    status = 1;
  }
  floe_buf_free(&line);
  floe_avro_reader_free(reader);
  return status;
}

int floe_cli_avro(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) return usage_to(stdout);
  static const char *const with_value[] = {"--limit", NULL};
  if (argc > 1) cli_args_positionals_first(argc, argv, 2, with_value);
  if (argc < 3) return usage();
  const char *command = argv[1];
  const char *path = argv[2];
  if (strcmp(command, "inspect") == 0) {
    if (argc != 3) return usage();
    return inspect(path);
  }
  if (strcmp(command, "cat") == 0) {
    long long limit = -1;
    for (int i = 3; i < argc; i++) {
      if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
        char *end;
        errno = 0;
        limit = strtoll(argv[++i], &end, 10);
        if (errno != 0 || *end != '\0' || end == argv[i] || limit < 0) {
          fprintf(stderr, "floe: --limit needs a number >= 0, got '%s'\n", argv[i]);
          return 2;
        }
      } else {
        return usage();
      }
    }
    return cat(path, limit);
  }
  return usage();
}
