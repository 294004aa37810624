/*
 * cli/cmd_table: `floe table create|list|drop|inspect|scan`.
 *
 * The catalog comes from options (--catalog-type sql|hadoop|rest,
 * --catalog-uri sqlite:PATH, postgresql://... or the REST server's URL,
 * --warehouse DIR (rest: the warehouse sent to the server; an s3:// one
 * is also where the tables' files are read), --catalog-name NAME, and for
 * rest --credential ID:SECRET or --token T, or FLOE_REST_CREDENTIAL /
 * FLOE_REST_TOKEN in the environment, so no secret needs to be on a
 * command line);
 * inspect and scan also take --metadata PATH/vN.metadata.json to read a
 * bare table directory without a catalog (s3://, s3a:// and s3n://
 * locations too, with the S3 settings of -c's target.storage or the AWS
 * environment), and --location-map FROM=TO to read a table copied out of
 * its warehouse under its original file names. create parses a column list
 * ("id long required, name string, ts timestamptz") and a partition list
 * ("day(ts), bucket(16, id), truncate(4, name), region"). inspect prints
 * schemas, partition specs, sort orders, properties, snapshots with their
 * summaries and the live files of a snapshot. scan prints rows through the
 * scan API as CSV (floe_arrow_view_format, \N for null) or JSON lines, as
 * `floe parquet cat` does. Uses only the public API (floe.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe.h"

#include "cli.h"
#include "rows.h"

static int usage_to(FILE *out) {
  fprintf(out,
          "usage: floe table create NS.TABLE --schema COLUMNS [--partition FIELDS]\n"
          "                         [--property K=V]... [--location DIR] CATALOG\n"
          "       floe table list [NS] CATALOG\n"
          "       floe table drop NS.TABLE [--purge] CATALOG\n"
          "       floe table inspect (NS.TABLE CATALOG | --metadata FILE [--location-map FROM=TO])\n"
          "                          [--snapshot ID] [--limit N (files listed)]\n"
          "       floe table scan (NS.TABLE CATALOG | --metadata FILE [--location-map FROM=TO])\n"
          "                       [--snapshot ID | --as-of TS] [--format csv|jsonl]\n"
          "                       [--columns a,b] [--limit N]\n"
          "CATALOG: -c floe.yaml (the job's target catalog), or\n"
          "         --catalog-type sql|hadoop [--catalog-uri sqlite:PATH|postgresql://...]\n"
          "         --warehouse DIR [--catalog-name NAME], or\n"
          "         --catalog-type rest --catalog-uri URL [--warehouse NAME|s3://...]\n"
          "         [--credential ID:SECRET | --token T] (or FLOE_REST_CREDENTIAL,\n"
          "         FLOE_REST_TOKEN in the environment)\n"
          "FILE:    a metadata JSON path or s3://, s3a:// location (S3 settings from\n"
          "         -c floe.yaml's target.storage or AWS_* variables)\n"
          "--location-map FROM=TO: read every location under FROM from TO instead\n"
          "COLUMNS: 'id long required, name string, ts timestamptz, price decimal(9,2)'\n"
          "FIELDS:  'day(ts), bucket(16, id), truncate(4, name), region'\n");
  return out == stdout ? FLOE_EXIT_OK : FLOE_EXIT_USAGE;
}

static int usage(void) { return usage_to(stderr); }

static int fail(const floe_error *err) {
  fprintf(stderr, "floe: %s\n", err->message);
  return FLOE_EXIT_FAILURE;
}

/* ---- options ---------------------------------------------------------- */

#define MAX_PROPS 64

typedef struct options {
  const char *catalog_type, *catalog_uri, *warehouse, *catalog_name;
  const char *credential, *token;
  const char *config_file;
  const char *schema, *partition, *location, *metadata, *location_map;
  const char *format, *columns;
  bool purge;
  bool has_snapshot, has_as_of, has_limit;
  int64_t snapshot_id, as_of_ms, limit;
  const char *positional[4];
  int n_positional;
  floe_iceberg_property props[MAX_PROPS];
  int n_props;
} options;

static bool parse_i64(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0') return false;
  *out = v;
  return true;
}

/* --as-of: milliseconds since the epoch or an ISO timestamp (UTC unless a
 * zone is given). */
static bool parse_as_of(const char *s, int64_t *out_ms) {
  if (parse_i64(s, out_ms)) return true;
  int64_t micros;
  bool zone;
  floe_error err = {0};
  if (floe_parse_timestamp(s, strlen(s), &micros, &zone, &err) < 0) return false;
  *out_ms = floe_floor_div(micros, 1000);
  return true;
}

static int parse_options(int argc, char **argv, options *o) {
  memset(o, 0, sizeof *o);
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    bool has_value = i + 1 < argc;
#define VALUE(field)                  \
  do {                                \
    if (!has_value) return -1;        \
    o->field = argv[++i];             \
  } while (0)
    if (strcmp(a, "--catalog-type") == 0) VALUE(catalog_type);
    else if (strcmp(a, "--catalog-uri") == 0) VALUE(catalog_uri);
    else if (strcmp(a, "--warehouse") == 0) VALUE(warehouse);
    else if (strcmp(a, "--catalog-name") == 0) VALUE(catalog_name);
    else if (strcmp(a, "--credential") == 0) VALUE(credential);
    else if (strcmp(a, "--token") == 0) VALUE(token);
    else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) VALUE(config_file);
    else if (strcmp(a, "--schema") == 0) VALUE(schema);
    else if (strcmp(a, "--partition") == 0) VALUE(partition);
    else if (strcmp(a, "--location") == 0) VALUE(location);
    else if (strcmp(a, "--metadata") == 0) VALUE(metadata);
    else if (strcmp(a, "--location-map") == 0) VALUE(location_map);
    else if (strcmp(a, "--format") == 0) VALUE(format);
    else if (strcmp(a, "--columns") == 0) VALUE(columns);
    else if (strcmp(a, "--purge") == 0) o->purge = true;
    else if (strcmp(a, "--snapshot") == 0) {
      if (!has_value || !parse_i64(argv[++i], &o->snapshot_id)) return -1;
      o->has_snapshot = true;
    } else if (strcmp(a, "--as-of") == 0) {
      if (!has_value || !parse_as_of(argv[++i], &o->as_of_ms)) return -1;
      o->has_as_of = true;
    } else if (strcmp(a, "--limit") == 0) {
      if (!has_value || !parse_i64(argv[++i], &o->limit) || o->limit < 0) return -1;
      o->has_limit = true;
    } else if (strcmp(a, "--property") == 0) {
      if (!has_value || o->n_props == MAX_PROPS) return -1;
      char *kv = argv[++i];
      char *eq = strchr(kv, '=');
      if (eq == NULL) return -1;
      *eq = '\0';
      o->props[o->n_props].key = kv;
      o->props[o->n_props].value = eq + 1;
      o->n_props++;
    } else if (a[0] == '-' && a[1] != '\0') {
      return -1;
    } else {
      if (o->n_positional == 4) return -1;
      o->positional[o->n_positional++] = a;
    }
#undef VALUE
  }
  if (o->format != NULL && strcmp(o->format, "csv") != 0 && strcmp(o->format, "jsonl") != 0)
    return -1;
  return 0;
}

static const char *env_value(const char *name) {
  const char *v = getenv(name);
  return v != NULL && v[0] != '\0' ? v : NULL;
}

/* --catalog-type rest: the server at --catalog-uri; the tables' files
 * through S3 when --warehouse is an s3:// location (S3 settings from the
 * AWS_* environment), or with the credentials the server vends. */
static int open_rest_catalog(const options *o, floe_catalog **out, floe_error *err) {
  floe_catalog_config config = {0};
  if (o->catalog_uri == NULL)
    return floe_error_set(err, FLOE_EINVAL, "--catalog-uri URL is required for a rest catalog");
  config.type = FLOE_CATALOG_REST;
  config.name = o->catalog_name;
  config.durable = 1;
  config.rest.uri = o->catalog_uri;
  config.rest.warehouse = o->warehouse;
  config.rest.credential = o->credential ? o->credential : env_value("FLOE_REST_CREDENTIAL");
  config.rest.token = o->token ? o->token : env_value("FLOE_REST_TOKEN");
  if (o->warehouse != NULL && floe_io_is_s3(o->warehouse)) config.warehouse = o->warehouse;
  return floe_catalog_open(&config, out, err);
}

static int open_catalog(const options *o, floe_catalog **out, floe_error *err) {
  if (o->config_file != NULL) {
    /* The job file's target catalog and warehouse, as `floe run` opens them. */
    floe_config cfg;
    floe_config_init(&cfg);
    int rc = floe_config_load(&cfg, o->config_file, NULL, 0, err);
    if (rc == FLOE_OK) rc = floe_replicate_open_catalog(&cfg, out, err);
    floe_config_free(&cfg);
    return rc;
  }
  floe_catalog_config config = {0};
  if (o->catalog_type == NULL)
    return floe_error_set(err, FLOE_EINVAL, "--catalog-type sql|hadoop|rest is required");
  if (strcmp(o->catalog_type, "hadoop") == 0)
    config.type = FLOE_CATALOG_HADOOP;
  else if (strcmp(o->catalog_type, "sql") == 0)
    config.type = FLOE_CATALOG_SQL;
  else if (strcmp(o->catalog_type, "rest") == 0)
    return open_rest_catalog(o, out, err);
  else
    return floe_error_set(err, FLOE_EINVAL, "--catalog-type '%s': expected sql, hadoop or rest",
                          o->catalog_type);
  if (config.type == FLOE_CATALOG_SQL && o->catalog_uri == NULL)
    return floe_error_set(err, FLOE_EINVAL, "--catalog-uri is required for a sql catalog");
  if (o->warehouse == NULL)
    return floe_error_set(err, FLOE_EINVAL, "--warehouse is required");
  config.name = o->catalog_name;
  config.warehouse = o->warehouse;
  config.sql_uri = o->catalog_uri;
  return floe_catalog_open(&config, out, err);
}

/* "ns.sub.table" -> namespace "ns.sub", name "table" (in buf). */
static int parse_ident(const char *text, char *buf, size_t cap,
                       floe_catalog_ident *out, floe_error *err) {
  snprintf(buf, cap, "%s", text);
  char *dot = strrchr(buf, '.');
  if (dot == NULL || dot == buf || dot[1] == '\0')
    return floe_error_set(err, FLOE_EINVAL,
                          "table '%s': expected NAMESPACE.TABLE", text);
  *dot = '\0';
  out->ns = buf;
  out->name = dot + 1;
  return FLOE_OK;
}

/* ---- create ----------------------------------------------------------- */

/* Splits a list at top-level commas (not inside parentheses) in place. */
static int split_top(char *s, char **items, int max) {
  int n = 0, depth = 0;
  char *start = s;
  for (char *p = s;; p++) {
    if (*p == '(') depth++;
    if (*p == ')') depth--;
    if ((*p == ',' && depth == 0) || *p == '\0') {
      bool end = *p == '\0';
      *p = '\0';
      while (*start == ' ' || *start == '\t') start++;
      char *e = start + strlen(start);
      while (e > start && (e[-1] == ' ' || e[-1] == '\t')) *--e = '\0';
      if (*start != '\0') {
        if (n == max) return -1;
        items[n++] = start;
      }
      if (end) break;
      start = p + 1;
    }
  }
  return n;
}

#define MAX_COLUMNS 1024

static int parse_schema(const char *text, floe_iceberg_schema **out, floe_error *err) {
  int rc = FLOE_OK;
  char *copy = strdup(text);
  char **items = calloc(MAX_COLUMNS, sizeof *items);
  floe_iceberg_column *cols = calloc(MAX_COLUMNS, sizeof *cols);
  if (copy == NULL || items == NULL || cols == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  int n = split_top(copy, items, MAX_COLUMNS);
  if (n <= 0) {
    rc = floe_error_set(err, FLOE_EINVAL, "--schema: no columns");
    goto cleanup;
  }
  for (int i = 0; i < n; i++) {
    /* name type [required | not null | optional] */
    char *name = items[i];
    char *sp = strpbrk(name, " \t");
    if (sp == NULL) {
      rc = floe_error_set(err, FLOE_EINVAL, "--schema column %d '%s': expected 'NAME TYPE'",
                          i + 1, name);
      goto cleanup;
    }
    *sp = '\0';
    char *type = sp + 1;
    while (*type == ' ' || *type == '\t') type++;
    bool required = false;
    char *tail = NULL;
    /* The type ends at the first blank outside parentheses. */
    int depth = 0;
    for (char *p = type; *p; p++) {
      if (*p == '(') depth++;
      if (*p == ')') depth--;
      if ((*p == ' ' || *p == '\t') && depth == 0) {
        *p = '\0';
        tail = p + 1;
        break;
      }
    }
    if (tail != NULL) {
      while (*tail == ' ') tail++;
      if (strcasecmp(tail, "required") == 0 || strcasecmp(tail, "not null") == 0)
        required = true;
      else if (strcasecmp(tail, "optional") != 0 && *tail != '\0') {
        rc = floe_error_set(err, FLOE_EINVAL,
                            "--schema column '%s': unknown modifier '%s' (required, "
                            "not null or optional)",
                            name, tail);
        goto cleanup;
      }
    }
    rc = floe_iceberg_type_parse(type, &cols[i].type, err);
    if (rc < 0) {
      floe_error_prefix(err, "--schema column '%s'", name);
      goto cleanup;
    }
    cols[i].id = i + 1;
    cols[i].name = name;
    cols[i].required = required;
  }
  rc = floe_iceberg_schema_new(out, 0, cols, n, err);
  if (rc < 0) floe_error_prefix(err, "--schema");
cleanup:
  free(copy);
  free(items);
  free(cols);
  return rc;
}

static int parse_partition(const char *text, const floe_iceberg_schema *schema,
                           floe_iceberg_partition_spec **out, floe_error *err) {
  int rc = FLOE_OK;
  char *items[256];
  char *copy = strdup(text);
  floe_iceberg_partition_spec *spec = NULL;
  int32_t last = 999;
  if (copy == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  FLOE_TRY(floe_iceberg_partition_spec_new(&spec, 0, err));
  int n = split_top(copy, items, 256);
  if (n < 0) {
    rc = floe_error_set(err, FLOE_EINVAL, "--partition: too many fields");
    goto cleanup;
  }
  for (int i = 0; i < n; i++) {
    char *item = items[i];
    char *open = strchr(item, '(');
    char transform[64];
    const char *column = item;
    if (open == NULL) {
      snprintf(transform, sizeof transform, "identity");
    } else {
      char *close = strrchr(item, ')');
      if (close == NULL || close[1] != '\0') {
        rc = floe_error_set(err, FLOE_EINVAL, "--partition '%s': expected FN(ARGS)", item);
        goto cleanup;
      }
      *open = '\0';
      *close = '\0';
      char *fn = item, *args = open + 1;
      char *comma = strchr(args, ',');
      if (comma != NULL) {
        /* bucket(N, col) / truncate(W, col) */
        *comma = '\0';
        char *param = args;
        column = comma + 1;
        while (*column == ' ') column++;
        while (*param == ' ') param++;
        snprintf(transform, sizeof transform, "%s[%s]", fn, param);
      } else {
        column = args;
        while (*column == ' ') column++;
        snprintf(transform, sizeof transform, "%s", fn);
      }
      char *e = (char *)column + strlen(column);
      while (e > column && e[-1] == ' ') *--e = '\0';
    }
    rc = floe_iceberg_partition_spec_add_field(spec, schema, column, transform, NULL,
                                               &last, err);
    if (rc < 0) {
      floe_error_prefix(err, "--partition field %d", i + 1);
      goto cleanup;
    }
  }
  *out = spec;
  spec = NULL;
cleanup:
  floe_iceberg_partition_spec_free(spec);
  free(copy);
  return rc;
}

static int cmd_create(const options *o) {
  floe_error err = {0};
  floe_catalog *cat = NULL;
  floe_iceberg_schema *schema = NULL;
  floe_iceberg_partition_spec *spec = NULL;
  floe_table *table = NULL;
  char ident_buf[1024];
  floe_catalog_ident ident;
  int rc;
  if (o->n_positional != 1 || o->schema == NULL) return usage();
  FLOE_TRY(parse_ident(o->positional[0], ident_buf, sizeof ident_buf, &ident, &err));
  FLOE_TRY(parse_schema(o->schema, &schema, &err));
  if (o->partition != NULL) FLOE_TRY(parse_partition(o->partition, schema, &spec, &err));
  FLOE_TRY(open_catalog(o, &cat, &err));
  int exists = 0;
  FLOE_TRY(floe_catalog_namespace_exists(cat, ident.ns, &exists, &err));
  if (!exists) FLOE_TRY(floe_catalog_namespace_create(cat, ident.ns, NULL, 0, &err));
  FLOE_TRY(floe_table_create(cat, ident, schema, spec, NULL, o->props, o->n_props,
                             o->location, &table, &err));
  printf("created %s.%s at %s\n", ident.ns, ident.name, floe_table_location(table));
  printf("metadata %s\n", floe_table_metadata_location(table));
cleanup:
  floe_table_free(table);
  floe_catalog_free(cat);
  floe_iceberg_schema_free(schema);
  floe_iceberg_partition_spec_free(spec);
  return rc < 0 ? fail(&err) : FLOE_EXIT_OK;
}

/* ---- list / drop ------------------------------------------------------ */

static int list_namespace(floe_catalog *cat, const char *ns, bool recurse,
                          floe_error *err) {
  floe_catalog_names tables = {0}, children = {0};
  int rc = FLOE_OK;
  if (ns != NULL && ns[0] != '\0') {
    FLOE_TRY(floe_catalog_table_list(cat, ns, &tables, err));
    for (size_t i = 0; i < tables.count; i++) printf("%s.%s\n", ns, tables.items[i]);
  }
  if (recurse) {
    FLOE_TRY(floe_catalog_namespace_list(cat, ns, &children, err));
    for (size_t i = 0; i < children.count; i++)
      FLOE_TRY(list_namespace(cat, children.items[i], true, err));
  }
cleanup:
  floe_catalog_names_reset(&tables);
  floe_catalog_names_reset(&children);
  return rc;
}

static int cmd_list(const options *o) {
  floe_error err = {0};
  floe_catalog *cat = NULL;
  int rc;
  if (o->n_positional > 1) return usage();
  FLOE_TRY(open_catalog(o, &cat, &err));
  if (o->n_positional == 1)
    rc = list_namespace(cat, o->positional[0], false, &err);
  else
    rc = list_namespace(cat, NULL, true, &err);
cleanup:
  floe_catalog_free(cat);
  return rc < 0 ? fail(&err) : FLOE_EXIT_OK;
}

static int cmd_drop(const options *o) {
  floe_error err = {0};
  floe_catalog *cat = NULL;
  char ident_buf[1024];
  floe_catalog_ident ident;
  int rc;
  if (o->n_positional != 1) return usage();
  FLOE_TRY(parse_ident(o->positional[0], ident_buf, sizeof ident_buf, &ident, &err));
  FLOE_TRY(open_catalog(o, &cat, &err));
  FLOE_TRY(floe_catalog_table_drop(cat, ident, o->purge ? 1 : 0, &err));
  printf("dropped %s.%s%s\n", ident.ns, ident.name, o->purge ? " (purged)" : "");
cleanup:
  floe_catalog_free(cat);
  return rc < 0 ? fail(&err) : FLOE_EXIT_OK;
}

/* ---- opening a table for inspect / scan -------------------------------- */

typedef struct opened {
  floe_catalog *cat;
  floe_io *io; /* owned when reading a bare metadata file */
  floe_table *table;
} opened;

static int open_table(const options *o, opened *out, floe_error *err) {
  memset(out, 0, sizeof *out);
  if (o->location_map != NULL && o->metadata == NULL)
    return floe_error_set(err, FLOE_EINVAL, "--location-map works with --metadata");
  if (o->metadata != NULL) {
    if (o->n_positional != 0)
      return floe_error_set(err, FLOE_EINVAL, "give either NS.TABLE or --metadata");
    const char *to = NULL;
    char from[4096];
    if (o->location_map != NULL) {
      const char *eq = strchr(o->location_map, '=');
      if (eq == NULL || eq == o->location_map || eq[1] == '\0' ||
          (size_t)(eq - o->location_map) >= sizeof from)
        return floe_error_set(err, FLOE_EINVAL, "--location-map %s: expected FROM=TO",
                              o->location_map);
      memcpy(from, o->location_map, (size_t)(eq - o->location_map));
      from[eq - o->location_map] = '\0';
      to = eq + 1;
    }
    /* The io for where the bytes are: TO when mapping, else the metadata's
     * own scheme; S3 settings from the job file when one is given. */
    floe_config cfg;
    floe_config_init(&cfg);
    floe_io_options storage;
    memset(&storage, 0, sizeof storage);
    int rc = FLOE_OK;
    if (o->config_file != NULL) {
      rc = floe_config_load(&cfg, o->config_file, NULL, 0, err);
      if (rc == FLOE_OK) floe_replicate_storage_options(&cfg, &storage);
    }
    storage.local.durable = 0;
    if (rc == FLOE_OK) rc = floe_io_open_for(to ? to : o->metadata, &storage, &out->io, err);
    floe_config_free(&cfg);
    if (rc == FLOE_OK && to != NULL) rc = floe_io_remap_open(out->io, from, to, &out->io, err);
    if (rc < 0) {
      out->io = NULL;
      return rc;
    }
    return floe_table_load_metadata_file(out->io, o->metadata, &out->table, err);
  }
  if (o->n_positional != 1)
    return floe_error_set(err, FLOE_EINVAL, "expected NS.TABLE or --metadata FILE");
  char ident_buf[1024];
  floe_catalog_ident ident;
  int rc = parse_ident(o->positional[0], ident_buf, sizeof ident_buf, &ident, err);
  if (rc < 0) return rc;
  rc = open_catalog(o, &out->cat, err);
  if (rc < 0) return rc;
  return floe_table_load(out->cat, ident, &out->table, err);
}

static void close_table(opened *t) {
  floe_table_free(t->table);
  floe_catalog_free(t->cat);
  floe_io_free(t->io);
}

/* ---- inspect ---------------------------------------------------------- */

static void print_ts(int64_t ms) {
  char text[64];
  floe_format_timestamp(ms * 1000, 'T', text, sizeof text);
  printf("%sZ", text);
}

static void print_fields(const floe_iceberg_type *type, int depth) {
  for (int32_t i = 0; i < type->n_fields; i++) {
    const floe_iceberg_field *f = &type->fields[i];
    char t[64];
    floe_iceberg_type_format(&f->type, t, sizeof t);
    printf("%*s%d %s %s %s", 4 + 2 * depth, "", (int)f->id, f->name, t,
           f->required ? "required" : "optional");
    if (f->doc) printf("  -- %s", f->doc);
    printf("\n");
    if (!floe_iceberg_type_is_primitive(f->type.id)) print_fields(&f->type, depth + 1);
  }
}

static void print_partition(const floe_iceberg_metadata *md,
                            const floe_iceberg_content_file *f, floe_buf *tmp) {
  const floe_iceberg_partition_spec *spec = floe_iceberg_metadata_spec(md, f->spec_id);
  const floe_iceberg_schema *schema = floe_iceberg_metadata_current_schema(md);
  printf("{");
  for (int32_t i = 0; spec != NULL && i < spec->n_fields && i < f->n_partition; i++) {
    const floe_iceberg_partition_field *pf = &spec->fields[i];
    const floe_iceberg_field *src = floe_iceberg_schema_find_id(schema, pf->source_id);
    floe_iceberg_type rt;
    floe_error ignore = {0};
    floe_buf_reset(tmp);
    if (src == NULL ||
        floe_iceberg_transform_result_type(&pf->transform, &src->type, &rt, &ignore) < 0 ||
        floe_iceberg_value_to_human(&rt, &f->partition[i], tmp, &ignore) < 0) {
      floe_buf_reset(tmp);
      floe_buf_append_str(tmp, "?");
    }
    printf("%s%s=%.*s", i ? ", " : "", pf->name, (int)tmp->len, (const char *)tmp->data);
  }
  printf("}");
}

static const char *content_name(floe_iceberg_content c) {
  return c == FLOE_CONTENT_DATA ? "data"
         : c == FLOE_CONTENT_POSITION_DELETES ? "position-deletes"
                                              : "equality-deletes";
}

static int cmd_inspect(const options *o) {
  floe_error err = {0};
  opened t;
  floe_table_files files = {0};
  floe_buf tmp = FLOE_BUF_INIT;
  int rc = open_table(o, &t, &err);
  if (rc < 0) goto cleanup;
  const floe_iceberg_metadata *md = floe_table_metadata(t.table);
  printf("table %s\n", floe_table_name(t.table));
  printf("metadata %s\n", floe_table_metadata_location(t.table));
  printf("location %s\n", md->location);
  printf("format-version %d\n", (int)md->format_version);
  printf("table-uuid %s\n", md->table_uuid ? md->table_uuid : "-");
  printf("last-sequence-number %" PRId64 "\n", md->last_sequence_number);
  printf("last-updated ");
  print_ts(md->last_updated_ms);
  printf("\n");
  if (md->has_current_snapshot)
    printf("current-snapshot-id %" PRId64 "\n", md->current_snapshot_id);
  else
    printf("current-snapshot-id none\n");
  printf("schemas:\n");
  for (int32_t i = 0; i < md->n_schemas; i++) {
    const floe_iceberg_schema *s = md->schemas[i];
    printf("  schema %d%s\n", (int)s->schema_id,
           s->schema_id == md->current_schema_id ? " (current)" : "");
    print_fields(&s->root, 0);
  }
  printf("partition specs:\n");
  for (int32_t i = 0; i < md->n_specs; i++) {
    const floe_iceberg_partition_spec *s = md->specs[i];
    printf("  spec %d%s:%s", (int)s->spec_id,
           s->spec_id == md->default_spec_id ? " (default)" : "",
           s->n_fields == 0 ? " unpartitioned" : "");
    for (int32_t j = 0; j < s->n_fields; j++) {
      const floe_iceberg_partition_field *f = &s->fields[j];
      printf("%s %s=%s(%d) [%d]", j ? "," : "", f->name, f->transform_text,
             (int)f->source_id, (int)f->field_id);
    }
    printf("\n");
  }
  printf("sort orders:\n");
  for (int32_t i = 0; i < md->n_sort_orders; i++) {
    const floe_iceberg_sort_order *s = md->sort_orders[i];
    printf("  order %d%s:%s", (int)s->order_id,
           s->order_id == md->default_sort_order_id ? " (default)" : "",
           s->n_fields == 0 ? " unsorted" : "");
    for (int32_t j = 0; j < s->n_fields; j++)
      printf("%s %s(%d) %s %s", j ? "," : "", s->fields[j].transform_text,
             (int)s->fields[j].source_id,
             s->fields[j].direction == FLOE_SORT_ASC ? "asc" : "desc",
             s->fields[j].null_order == FLOE_NULLS_FIRST ? "nulls-first" : "nulls-last");
    printf("\n");
  }
  printf("properties:\n");
  for (int32_t i = 0; i < md->n_properties; i++)
    printf("  %s=%s\n", md->properties[i].key, md->properties[i].value);
  printf("snapshots:\n");
  for (int32_t i = 0; i < md->n_snapshots; i++) {
    const floe_iceberg_snapshot *s = &md->snapshots[i];
    printf("  %" PRId64 " seq=%" PRId64 " parent=", s->snapshot_id, s->sequence_number);
    if (s->has_parent)
      printf("%" PRId64, s->parent_snapshot_id);
    else
      printf("-");
    printf(" time=");
    print_ts(s->timestamp_ms);
    if (s->has_schema_id) printf(" schema=%d", (int)s->schema_id);
    printf(" operation=%s\n", s->operation ? s->operation : "-");
    if (s->manifest_list) printf("    manifest-list %s\n", s->manifest_list);
    for (int32_t j = 0; j < s->n_summary; j++)
      if (strcmp(s->summary[j].key, "operation") != 0)
        printf("    %s=%s\n", s->summary[j].key, s->summary[j].value);
  }
  const floe_iceberg_snapshot *snap = floe_iceberg_metadata_current_snapshot(md);
  if (o->has_snapshot) {
    snap = floe_iceberg_metadata_snapshot(md, o->snapshot_id);
    if (snap == NULL) {
      rc = floe_error_set(&err, FLOE_ENOTFOUND, "table %s: no snapshot %" PRId64,
                          floe_table_name(t.table), o->snapshot_id);
      goto cleanup;
    }
  }
  if (snap != NULL) {
    FLOE_TRY(floe_table_files_read(t.table, snap, &files, &err));
    int64_t records = 0, bytes = 0;
    printf("files of snapshot %" PRId64 ":\n", snap->snapshot_id);
    for (int32_t i = 0; i < files.n; i++) {
      const floe_table_file *f = &files.files[i];
      if (f->file.content == FLOE_CONTENT_DATA) records += f->file.record_count;
      bytes += f->file.file_size_in_bytes;
      /* --limit N: list the first N files, count them all. */
      if (o->has_limit && i >= o->limit) {
        if (i == o->limit) printf("  ... %d more\n", (int)(files.n - i));
        continue;
      }
      printf("  %s %s records=%" PRId64 " size=%" PRId64 " partition=",
             content_name(f->file.content), f->file.file_path, f->file.record_count,
             f->file.file_size_in_bytes);
      print_partition(md, &f->file, &tmp);
      printf(" spec=%d seq=%" PRId64 " snapshot=%" PRId64, (int)f->file.spec_id,
             f->sequence_number, f->snapshot_id);
      /* data_file.sort_order_id: the order the file's rows follow (0 or
       * absent: unsorted). */
      if (f->file.has_sort_order_id && f->file.sort_order_id != 0)
        printf(" sort_order=%d", (int)f->file.sort_order_id);
      printf("\n");
    }
    printf("  %d files, %" PRId64 " data records, %" PRId64 " bytes\n", (int)files.n,
           records, bytes);
  }
cleanup:
  floe_table_files_reset(&files);
  floe_buf_free(&tmp);
  close_table(&t);
  return rc < 0 ? fail(&err) : FLOE_EXIT_OK;
}

/* ---- scan ------------------------------------------------------------- */

static int cmd_scan(const options *o) {
  floe_error err = {0};
  opened t;
  floe_scan *scan = NULL;
  struct ArrowSchema schema = {0};
  struct ArrowArray batch = {0};
  cli_rows rows = {0};
  const char **names = NULL;
  bool jsonl = o->format != NULL && strcmp(o->format, "jsonl") == 0;
  int rc = open_table(o, &t, &err);
  if (rc < 0) goto cleanup;
  if (o->has_snapshot && o->has_as_of) {
    rc = floe_error_set(&err, FLOE_EINVAL, "give --snapshot or --as-of, not both");
    goto cleanup;
  }
  floe_scan_options so = {0};
  so.has_snapshot_id = o->has_snapshot;
  so.snapshot_id = o->snapshot_id;
  so.has_as_of = o->has_as_of;
  so.as_of_timestamp_ms = o->as_of_ms;
  if (o->columns != NULL) {
    int32_t n = 0;
    if ((names = cli_split_names(o->columns, &n)) == NULL) {
      rc = floe_error_set(&err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    so.columns = names;
    so.n_columns = n;
  }
  FLOE_TRY(floe_scan_open(&scan, floe_table_metadata(t.table), floe_table_io(t.table), &so,
                          &err));
  FLOE_TRY(floe_scan_schema(scan, &schema, &err));
  FLOE_TRY(cli_rows_begin(&rows, stdout, &schema, jsonl, o->has_limit ? o->limit : -1, &err));
  while (!cli_rows_done(&rows)) {
    FLOE_TRY(floe_scan_next(scan, &batch, &err));
    if (batch.release == NULL) break;
    FLOE_TRY(cli_rows_print(&rows, &schema, &batch, &err));
    floe_arrow_array_release(&batch);
  }
cleanup:
  floe_arrow_array_release(&batch);
  floe_arrow_schema_release(&schema);
  floe_scan_free(scan);
  cli_rows_free(&rows);
  free(names);
  close_table(&t);
  return rc < 0 ? fail(&err) : FLOE_EXIT_OK;
}

int floe_cli_table(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) return usage_to(stdout);
  if (argc < 2) return usage();
  options o;
  if (parse_options(argc, argv, &o) < 0) return usage();
  const char *sub = argv[1];
  if (strcmp(sub, "create") == 0) return cmd_create(&o);
  if (strcmp(sub, "list") == 0) return cmd_list(&o);
  if (strcmp(sub, "drop") == 0) return cmd_drop(&o);
  if (strcmp(sub, "inspect") == 0) return cmd_inspect(&o);
  if (strcmp(sub, "scan") == 0) return cmd_scan(&o);
  return usage();
}
