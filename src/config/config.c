/*
 * config/config: load a floe job file, apply overrides, check it against the
 * schema and map it onto the public structs (include/floe/config.h).
 *
 * The work happens on the node tree from yaml_tree.c, which knows where every
 * key and value was written, in this order: parse, apply command-line
 * overrides (they edit the tree, so an overridden value is checked exactly
 * like one from the file), interpolate ${...}, then map section by section.
 * Mapping never stops at the first problem: each one is collected with
 * file:line:column and its key path, because a user fixing a new file wants
 * the whole list at once. Tables inherit `defaults` field by field: the
 * defaults are mapped once into a table struct, each table starts from a copy
 * of it and the table's own keys overwrite what they name, so
 * `validate: {checksum: true}` keeps the inherited count. Allocation failure
 * sets a flag instead of aborting the walk; the load then returns
 * FLOE_ENOMEM.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"
#include "floe/iceberg.h"
#include "floe/maintain.h"

#define PATH_SIZE 512
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- names -------------------------------------------------------------- */

static const char *const source_types[] = {"sqlite", "postgres", "snowflake"};
static const char *const catalog_types[] = {"sql", "hadoop", "rest"};
static const char *const strategies[] = {"full", "incremental", "chunked", "partition"};
static const char *const modes[] = {"append", "overwrite", "merge"};
static const char *const on_existings[] = {"fail", "adopt", "append", "overwrite"};
static const char *const check_types[] = {"not_null", "unique",    "accepted_values", "range",
                                          "regex",    "row_count", "freshness"};
static const char *const severities[] = {"fail", "warn"};
static const char *const overwrites[] = {"table", "partitions", "range"};
static const char *const source_behinds[] = {"warn", "fail"};
static const char *const late_rows_kinds[] = {"warn", "fail", "reload"};
static const char *const chunk_bys[] = {"batch", "rows"};
static const char *const deletes_kinds[] = {"position", "equality", "copy_on_write"};
static const char *const cdc_types[] = {"none", "op_column", "hash_diff", "stream", "changes"};
static const char *const auths[] = {"keypair", "oauth", "pat"};
static const char *const log_levels[] = {"error", "warn", "info", "debug", "trace"};
static const char *const log_formats[] = {"logfmt", "json"};
static const char *const durabilities[] = {"fsync", "none"};
static const char *const control_locations[] = {"source"};

#define NAME_OF(table, v) ((unsigned)(v) < N_OF(table) ? (table)[v] : "?")
const char *floe_config_source_type_name(floe_config_source_type t) {
  return NAME_OF(source_types, t);
}
const char *floe_config_catalog_type_name(floe_config_catalog_type t) {
  return NAME_OF(catalog_types, t);
}
const char *floe_config_strategy_name(floe_config_strategy s) { return NAME_OF(strategies, s); }
const char *floe_config_mode_name(floe_config_mode m) { return NAME_OF(modes, m); }
const char *floe_config_overwrite_name(floe_config_overwrite o) {
  return NAME_OF(overwrites, o);
}

const char *floe_config_on_existing_name(floe_config_on_existing v) {
  return (unsigned)v < N_OF(on_existings) ? on_existings[v] : "?";
}
const char *floe_config_cdc_type_name(floe_config_cdc_type t) { return NAME_OF(cdc_types, t); }
const char *floe_config_check_type_name(floe_config_check_type t) {
  return NAME_OF(check_types, t);
}

/* ---- suggestions -------------------------------------------------------- */

/* Words people write for a floe word; offered when the floe word is valid
 * where they wrote it. */
static const struct {
  const char *written;
  const char *meant;
} synonyms[] = {
    {"upsert", "merge"},           {"insert", "append"},
    {"replace", "overwrite"},      {"snapshot", "full"},
    {"delta", "incremental"},      {"batched", "chunked"},
    {"partitioned", "partition"},  {"pk", "primary_key"},
    {"primary_keys", "primary_key"}, {"key", "primary_key"},
    {"keys", "primary_key"},       {"partition", "partition_by"},
    {"partitioned_by", "partition_by"}, {"partitioning", "partition_by"},
    {"cursor", "cursor_column"},   {"batch", "batch_column"},
    {"filter", "where"},           {"table", "source"},
    {"from", "source"},            {"to", "target"},
    {"destination", "target"},     {"postgresql", "postgres"},
    {"pg", "postgres"},            {"sqlite3", "sqlite"},
    {"jdbc", "sql"},               {"file", "hadoop"},
    {"filesystem", "hadoop"},      {"warning", "warn"},
    {"verbose", "debug"},          {"text", "logfmt"},
    {"cow", "copy_on_write"},      {"copy-on-write", "copy_on_write"},
    {"mor", "position"},           {"merge-on-read", "position"},
    {"op", "op_column"},           {"hash", "hash_diff"},
    {"password_file", "password"}, {"token_file", "token"},
    {"private_key", "private_key_file"}, {"db", "database"},
    {"sync", "fsync"},             {"tables_defaults", "defaults"},
};

/* Optimal string alignment distance (Levenshtein plus adjacent
 * transpositions, so "dya" is one edit from "day"), case-insensitive. */
static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return SIZE_MAX;
  unsigned char d[65][65];
  for (size_t i = 0; i <= la; i++) d[i][0] = (unsigned char)i;
  for (size_t j = 0; j <= lb; j++) d[0][j] = (unsigned char)j;
  for (size_t i = 1; i <= la; i++) {
    for (size_t j = 1; j <= lb; j++) {
      int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
      unsigned best = d[i - 1][j - 1] + (ca == cb ? 0u : 1u);
      if (d[i - 1][j] + 1u < best) best = d[i - 1][j] + 1u;
      if (d[i][j - 1] + 1u < best) best = d[i][j - 1] + 1u;
      if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
          tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1u < best)
        best = d[i - 2][j - 2] + 1u;
      d[i][j] = (unsigned char)best;
    }
  }
  return d[la][lb];
}

const char *cfg_suggest(const char *word, const char *const *candidates, size_t n) {
  for (size_t s = 0; s < N_OF(synonyms); s++) {
    if (strcmp(word, synonyms[s].written) != 0) continue;
    for (size_t i = 0; i < n; i++)
      if (strcmp(candidates[i], synonyms[s].meant) == 0) return candidates[i];
  }
  size_t len = strlen(word);
  size_t limit = len <= 3 ? 1 : len <= 5 ? 2 : 3;
  const char *best = NULL;
  size_t best_d = SIZE_MAX;
  for (size_t i = 0; i < n; i++) {
    size_t d = edit_distance(word, candidates[i]);
    if (d < best_d) {
      best_d = d;
      best = candidates[i];
    }
  }
  return best != NULL && best_d <= limit && best_d < len ? best : NULL;
}

/* "a, b or c" */
static void join_names(char *out, size_t size, const char *const *names, size_t n) {
  size_t used = 0;
  out[0] = '\0';
  for (size_t i = 0; i < n && used < size; i++) {
    const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
    int w = snprintf(out + used, size - used, "%s%s", sep, names[i]);
    if (w < 0) break;
    used += (size_t)w;
  }
}

/* ---- mapping context ---------------------------------------------------- */

typedef struct ctx {
  floe_config *cfg;
  cfg_diags *d;
  const char *base_dir;
  const cfg_node *root;
  const cfg_node *defaults_node;
  bool connection_failed; /* source.connection could not be read: its error says why */
} ctx;

/* "path.key" into out (PATH_SIZE bytes); very long paths are cut, which
 * only shortens a message. */
static void pjoin(char *out, const char *path, const char *key) {
  int n = path == NULL || path[0] == '\0' ? snprintf(out, PATH_SIZE, "%s", key)
                                          : snprintf(out, PATH_SIZE, "%s.%s", path, key);
  if (n < 0) out[0] = '\0';
}

static char *xdup(ctx *c, const char *s) {
  if (s == NULL) return NULL;
  char *copy = floe_strdup(s);
  if (copy == NULL) c->d->oom = true;
  return copy;
}

static void set_str(ctx *c, char **slot, const char *s) {
  char *copy = xdup(c, s);
  floe_free(*slot);
  *slot = copy;
}

static const char *kind_text(const cfg_node *node) {
  switch (node->kind) {
    case CFG_SEQUENCE: return "a list";
    case CFG_MAPPING: return "a mapping";
    default: return cfg_node_is_null(node) ? "null" : "a single value";
  }
}

static bool in_list(const char *word, const char *const *names, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(word, names[i]) == 0) return true;
  return false;
}

/* Reports every key of `map` that is not in `allowed`. */
static void check_keys(ctx *c, const cfg_node *map, const char *path,
                       const char *const *allowed, size_t n) {
  for (size_t i = 0; i < map->n; i++) {
    const cfg_node *key = map->keys[i];
    if (in_list(key->text, allowed, n)) continue;
    char child[PATH_SIZE];
    pjoin(child, path, key->text);
    const char *guess = cfg_suggest(key->text, allowed, n);
    if (guess != NULL) {
      cfg_diag(c->d, key, child, "unknown key (did you mean %s?)", guess);
    } else {
      char list[600];
      join_names(list, sizeof list, allowed, n);
      cfg_diag(c->d, key, child, "unknown key (expected %s)", list);
    }
  }
}

/* The key node of `key` in map, for messages about the key itself. */
static const cfg_node *key_node(const cfg_node *map, const char *key) {
  size_t i;
  return cfg_map_get(map, key, &i) != NULL ? map->keys[i] : NULL;
}

/* Value of `key`, or NULL when absent or null. */
static const cfg_node *value_of(const cfg_node *map, const char *key) {
  const cfg_node *v = cfg_map_get(map, key, NULL);
  return cfg_node_is_null(v) ? NULL : v;
}

static bool want_scalar(ctx *c, const cfg_node *node, const char *path, const char *what) {
  if (node->kind == CFG_SCALAR) return true;
  cfg_diag(c->d, node, path, "%s expected, got %s", what, kind_text(node));
  return false;
}

/* Optional string: absent leaves *out, null clears it. Returns true when
 * the key was present and valid. */
static bool get_str(ctx *c, const cfg_node *map, const char *path, const char *key,
                    char **out) {
  const cfg_node *node = cfg_map_get(map, key, NULL);
  if (node == NULL) return false;
  char child[PATH_SIZE];
  pjoin(child, path, key);
  if (cfg_node_is_null(node)) {
    floe_free(*out);
    *out = NULL;
    return true;
  }
  if (!want_scalar(c, node, child, "a string")) return false;
  if (node->text[0] == '\0') {
    cfg_diag(c->d, node, child, "empty value (write null to unset)");
    return false;
  }
  set_str(c, out, node->text);
  return true;
}

static bool is_uri(const char *s) {
  const char *colon = strstr(s, "://");
  if (colon == NULL || colon == s) return false;
  for (const char *p = s; p < colon; p++)
    if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' && *p != '.') return false;
  return true;
}

/* A relative local path written in the file is resolved against the file's
 * directory; override values stay as typed. */
static char *resolve_path(ctx *c, const cfg_node *node, const char *text) {
  if (c->base_dir == NULL || node->line == 0 || text[0] == '/' || is_uri(text))
    return xdup(c, text);
  const char *rel = text;
  while (rel[0] == '.' && rel[1] == '/') rel += 2;
  floe_buf buf = FLOE_BUF_INIT;
  size_t dir_len = strlen(c->base_dir);
  const char *sep = dir_len > 0 && c->base_dir[dir_len - 1] == '/' ? "" : "/";
  if (floe_buf_appendf(&buf, "%s%s%s", c->base_dir, sep, rel) != 0 ||
      floe_buf_terminate(&buf) != 0) {
    floe_buf_free(&buf);
    c->d->oom = true;
    return NULL;
  }
  return (char *)floe_buf_detach(&buf, NULL);
}

static bool get_path(ctx *c, const cfg_node *map, const char *path, const char *key,
                     char **out) {
  if (!get_str(c, map, path, key, out) || *out == NULL) return false;
  char *resolved = resolve_path(c, cfg_map_get(map, key, NULL), *out);
  floe_free(*out);
  *out = resolved;
  return true;
}

static bool parse_int(const char *text, int64_t *out) {
  const char *p = text;
  bool negative = false;
  if (*p == '+' || *p == '-') negative = *p++ == '-';
  if (!isdigit((unsigned char)*p)) return false;
  uint64_t v = 0;
  for (; *p; p++) {
    if (*p == '_') continue; /* 536_870_912 reads better */
    if (!isdigit((unsigned char)*p)) return false;
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  if (v > (uint64_t)INT64_MAX) return false;
  *out = negative ? -(int64_t)v : (int64_t)v;
  return true;
}

static bool get_int(ctx *c, const cfg_node *map, const char *path, const char *key,
                    int64_t minimum, int64_t *out) {
  const cfg_node *node = value_of(map, key);
  if (node == NULL) return false;
  char child[PATH_SIZE];
  pjoin(child, path, key);
  if (!want_scalar(c, node, child, "an integer")) return false;
  int64_t v;
  char shown[128];
  cfg_show_value(node, shown, sizeof shown);
  if (!parse_int(node->text, &v)) {
    cfg_diag(c->d, node, child, "integer expected, got %s", shown);
    return false;
  }
  if (v < minimum) {
    cfg_diag(c->d, node, child, "must be at least %lld, got %s", (long long)minimum, shown);
    return false;
  }
  *out = v;
  return true;
}

static bool get_bool(ctx *c, const cfg_node *map, const char *path, const char *key,
                     bool *out) {
  const cfg_node *node = value_of(map, key);
  if (node == NULL) return false;
  char child[PATH_SIZE];
  pjoin(child, path, key);
  if (!want_scalar(c, node, child, "true or false")) return false;
  const char *t = node->text;
  if (!strcmp(t, "true") || !strcmp(t, "True") || !strcmp(t, "TRUE")) {
    *out = true;
    return true;
  }
  if (!strcmp(t, "false") || !strcmp(t, "False") || !strcmp(t, "FALSE")) {
    *out = false;
    return true;
  }
  char shown[128];
  cfg_show_value(node, shown, sizeof shown);
  cfg_diag(c->d, node, child, "true or false expected, got %s", shown);
  return false;
}

static bool check_enum(ctx *c, const cfg_node *node, const char *path,
                       const char *const *names, size_t n, int *out) {
  char expected[300];
  join_names(expected, sizeof expected, names, n);
  if (node->kind != CFG_SCALAR) {
    cfg_diag(c->d, node, path, "one of %s expected, got %s", expected, kind_text(node));
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    if (strcmp(node->text, names[i]) == 0) {
      *out = (int)i;
      return true;
    }
  }
  char shown[128];
  cfg_show_value(node, shown, sizeof shown);
  const char *guess = node->interp_from ? NULL : cfg_suggest(node->text, names, n);
  if (guess != NULL)
    cfg_diag(c->d, node, path, "unknown value %s (expected %s; did you mean %s?)", shown,
             expected, guess);
  else
    cfg_diag(c->d, node, path, "unknown value %s (expected %s)", shown, expected);
  return false;
}

static bool get_enum(ctx *c, const cfg_node *map, const char *path, const char *key,
                     const char *const *names, size_t n, int *out) {
  const cfg_node *node = value_of(map, key);
  if (node == NULL) return false;
  char child[PATH_SIZE];
  pjoin(child, path, key);
  return check_enum(c, node, child, names, n, out);
}

/* A mapping value, or NULL (absent or null; other kinds are reported). */
static const cfg_node *get_map(ctx *c, const cfg_node *map, const char *path,
                               const char *key) {
  const cfg_node *node = value_of(map, key);
  if (node == NULL) return NULL;
  if (node->kind == CFG_MAPPING) return node;
  char child[PATH_SIZE];
  pjoin(child, path, key);
  cfg_diag(c->d, node, child, "mapping expected (key: value lines), got %s",
           kind_text(node));
  return NULL;
}

static void free_str_list(char **list, size_t n) {
  for (size_t i = 0; i < n; i++) floe_free(list[i]);
  floe_free(list);
}

static bool get_str_list(ctx *c, const cfg_node *map, const char *path, const char *key,
                         char ***out, size_t *n_out) {
  const cfg_node *node = cfg_map_get(map, key, NULL);
  if (node == NULL) return false;
  char child[PATH_SIZE];
  pjoin(child, path, key);
  if (cfg_node_is_null(node)) {
    free_str_list(*out, *n_out);
    *out = NULL;
    *n_out = 0;
    return true;
  }
  if (node->kind != CFG_SEQUENCE) {
    if (node->kind == CFG_SCALAR && node->interp_from == NULL)
      cfg_diag(c->d, node, child, "list expected, got %s (write [%s])", kind_text(node),
               node->text);
    else
      cfg_diag(c->d, node, child, "list expected, got %s", kind_text(node));
    return false;
  }
  char **list = floe_calloc(node->n ? node->n : 1, sizeof *list);
  if (list == NULL) {
    c->d->oom = true;
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < node->n; i++) {
    const cfg_node *item = node->items[i];
    char item_path[PATH_SIZE + 32];
    snprintf(item_path, sizeof item_path, "%s[%zu]", child, i);
    if (item->kind != CFG_SCALAR || cfg_node_is_null(item) || item->text[0] == '\0') {
      cfg_diag(c->d, item, item_path, "a column name expected, got %s", kind_text(item));
      ok = false;
      continue;
    }
    list[i] = xdup(c, item->text);
  }
  if (!ok || c->d->oom) {
    free_str_list(list, node->n);
    return false;
  }
  free_str_list(*out, *n_out);
  *out = list;
  *n_out = node->n;
  return true;
}

/* ---- properties --------------------------------------------------------- */

static void free_properties(floe_config_property *props, size_t n) {
  for (size_t i = 0; i < n; i++) {
    floe_free(props[i].key);
    floe_free(props[i].value);
  }
  floe_free(props);
}

/* Sets (value != NULL) or removes (value == NULL) one property. */
static void property_put(ctx *c, floe_config_property **props, size_t *n, const char *key,
                         const char *value) {
  for (size_t i = 0; i < *n; i++) {
    if (strcmp((*props)[i].key, key) != 0) continue;
    if (value == NULL) {
      floe_free((*props)[i].key);
      floe_free((*props)[i].value);
      memmove(*props + i, *props + i + 1, (*n - i - 1) * sizeof **props);
      (*n)--;
    } else {
      set_str(c, &(*props)[i].value, value);
    }
    return;
  }
  if (value == NULL) return;
  floe_config_property *grown = floe_realloc(*props, (*n + 1) * sizeof *grown);
  if (grown == NULL) {
    c->d->oom = true;
    return;
  }
  *props = grown;
  grown[*n].key = xdup(c, key);
  grown[*n].value = xdup(c, value);
  (*n)++;
}

static void get_properties(ctx *c, const cfg_node *map, const char *path,
                           floe_config_property **props, size_t *n) {
  char child[PATH_SIZE];
  pjoin(child, path, "properties");
  const cfg_node *node = get_map(c, map, path, "properties");
  if (node == NULL) return;
  for (size_t i = 0; i < node->n; i++) {
    const cfg_node *value = node->items[i];
    char prop_path[PATH_SIZE];
    pjoin(prop_path, child, node->keys[i]->text);
    if (value->kind != CFG_SCALAR) {
      cfg_diag(c->d, value, prop_path, "a property value expected, got %s",
               kind_text(value));
      continue;
    }
    property_put(c, props, n, node->keys[i]->text,
                 cfg_node_is_null(value) ? NULL : value->text);
  }
}

/* ---- sections ------------------------------------------------------------ */

static const char *const sqlite_keys[] = {"path"};
static const char *const postgres_keys[] = {"conninfo", "password_env", "password"};
static const char *const snowflake_keys[] = {
    "account", "user",   "authenticator", "private_key_file", "private_key_passphrase_env",
    "token_env", "token", "warehouse",    "role",             "database",
    "schema",  "host", "connection", "query_tag", "prefetch_partitions"};
static const char *const source_keys[] = {
    "type",     "timeout_s",  "path",          "conninfo",
    "password_env", "password", "account",     "user",
    "authenticator", "private_key_file", "private_key_passphrase_env", "token_env",
    "token",    "warehouse",  "role",          "database",
    "schema",   "host",       "connection",    "query_tag",
    "prefetch_partitions"};

static const char *source_type_owning(const char *key) {
  if (in_list(key, sqlite_keys, N_OF(sqlite_keys))) return "sqlite";
  if (in_list(key, postgres_keys, N_OF(postgres_keys))) return "postgres";
  if (in_list(key, snowflake_keys, N_OF(snowflake_keys))) return "snowflake";
  return NULL;
}

static void require(ctx *c, const cfg_node *map, const cfg_node *at, const char *path,
                    const char *key, const char *why) {
  if (value_of(map, key) != NULL || c->connection_failed) return;
  char child[PATH_SIZE];
  pjoin(child, path, key);
  cfg_diag(c->d, at, child, "missing (%s)", why);
}

static void map_source(ctx *c, const cfg_node *root) {
  floe_config_source *s = &c->cfg->source;
  s->timeout_s = 600;
  const cfg_node *at = key_node(root, "source");
  const cfg_node *map = get_map(c, root, "", "source");
  if (map == NULL) {
    if (at == NULL)
      cfg_diag(c->d, root, "source", "missing (where rows come from: a mapping with type "
                                     "sqlite, postgres or snowflake)");
    else if (value_of(root, "source") == NULL) /* `source:` with no value */
      cfg_diag(c->d, at, "source.type", "missing (expected sqlite, postgres or snowflake)");
    return;
  }
  check_keys(c, map, "source", source_keys, N_OF(source_keys));
  int type = -1;
  if (value_of(map, "type") == NULL) {
    cfg_diag(c->d, at, "source.type", "missing (expected sqlite, postgres or snowflake)");
  } else if (!get_enum(c, map, "source", "type", source_types, N_OF(source_types), &type)) {
    type = -1;
  }
  if (type >= 0) {
    s->type = (floe_config_source_type)type;
    /* A key that belongs to another source type is a mistake worth naming. */
    for (size_t i = 0; i < map->n; i++) {
      const char *key = map->keys[i]->text;
      const char *owner = source_type_owning(key);
      if (owner != NULL && strcmp(owner, source_types[type]) != 0) {
        char child[PATH_SIZE];
        pjoin(child, "source", key);
        cfg_diag(c->d, map->keys[i], child, "not used by a %s source (it is a %s setting)",
                 source_types[type], owner);
      }
    }
  }
  get_int(c, map, "source", "timeout_s", 1, &s->timeout_s);
  get_path(c, map, "source", "path", &s->path);
  get_str(c, map, "source", "conninfo", &s->conninfo);
  get_str(c, map, "source", "password_env", &s->password_env);
  get_str(c, map, "source", "password", &s->password);
  get_str(c, map, "source", "account", &s->account);
  get_str(c, map, "source", "user", &s->user);
  int auth = -1;
  bool auth_set = get_enum(c, map, "source", "authenticator", auths, N_OF(auths), &auth);
  if (auth_set) s->authenticator = (floe_config_snowflake_auth)auth;
  get_path(c, map, "source", "private_key_file", &s->private_key_file);
  get_str(c, map, "source", "private_key_passphrase_env", &s->private_key_passphrase_env);
  get_str(c, map, "source", "token_env", &s->token_env);
  get_str(c, map, "source", "token", &s->token);
  get_str(c, map, "source", "warehouse", &s->warehouse);
  get_str(c, map, "source", "role", &s->role);
  get_str(c, map, "source", "database", &s->database);
  get_str(c, map, "source", "schema", &s->schema);
  get_str(c, map, "source", "host", &s->host);
  get_str(c, map, "source", "connection", &s->connection);
  s->query_tag_set = get_str(c, map, "source", "query_tag", &s->query_tag);
  if (s->query_tag != NULL && strlen(s->query_tag) > 2000)
    cfg_diag(c->d, cfg_map_get(map, "query_tag", NULL), "source.query_tag",
             "%zu characters; Snowflake takes at most 2000", strlen(s->query_tag));
  if (get_int(c, map, "source", "prefetch_partitions", 1, &s->prefetch_partitions) &&
      s->prefetch_partitions > FLOE_CONFIG_PREFETCH_PARTITIONS_MAX)
    cfg_diag(c->d, value_of(map, "prefetch_partitions"), "source.prefetch_partitions",
             "must be at most %d, got %lld", FLOE_CONFIG_PREFETCH_PARTITIONS_MAX,
             (long long)s->prefetch_partitions);

  switch (type) {
    case FLOE_CONFIG_SOURCE_SQLITE:
      require(c, map, at, "source", "path", "the SQLite database file");
      break;
    case FLOE_CONFIG_SOURCE_POSTGRES:
      require(c, map, at, "source", "conninfo",
              "a libpq connection string, e.g. \"host=127.0.0.1 dbname=shop user=floe\"");
      if (s->password != NULL && s->password_env != NULL)
        cfg_diag(c->d, key_node(map, "password"), "source.password",
                 "set either password or password_env, not both");
      break;
    case FLOE_CONFIG_SOURCE_SNOWFLAKE:
      require(c, map, at, "source", "account", "the Snowflake account identifier");
      require(c, map, at, "source", "user", "the Snowflake user");
      if (s->authenticator == FLOE_SNOWFLAKE_AUTH_KEYPAIR) {
        require(c, map, auth_set ? cfg_map_get(map, "authenticator", NULL) : at, "source",
                "private_key_file", "authenticator keypair signs in with a private key file");
        if (s->token != NULL || s->token_env != NULL)
          cfg_diag(c->d, key_node(map, s->token ? "token" : "token_env"),
                   s->token ? "source.token" : "source.token_env",
                   "tokens are for authenticator oauth or pat; this source uses keypair");
      } else if (s->token == NULL && s->token_env == NULL) {
        cfg_diag(c->d, cfg_map_get(map, "authenticator", NULL), "source.token_env",
                 "missing (authenticator %s needs token_env or token)", auths[auth]);
      }
      if (s->token != NULL && s->token_env != NULL)
        cfg_diag(c->d, key_node(map, "token"), "source.token",
                 "set either token or token_env, not both");
      break;
    default:
      break;
  }
}

static const char *const catalog_keys[] = {
    "type",  "uri",        "name",   "token", "warehouse", "credential", "scope", "oauth2_server_uri",
    "sigv4", "headers",    "access_delegation", "timeout_s"};
static const char *const rest_only_keys[] = {"warehouse", "credential", "scope", "oauth2_server_uri",
                                             "sigv4", "headers", "access_delegation", "timeout_s"};
static const char *const sigv4_keys[] = {"region", "signing_name", "access_key_id",
                                         "secret_access_key", "session_token"};

/* target.catalog.sigv4 and .headers (rest). */
static void map_rest_catalog(ctx *c, const cfg_node *map) {
  floe_config_catalog *cat = &c->cfg->target.catalog;
  get_str(c, map, "target.catalog", "warehouse", &cat->warehouse);
  get_str(c, map, "target.catalog", "credential", &cat->credential);
  get_str(c, map, "target.catalog", "scope", &cat->scope);
  get_str(c, map, "target.catalog", "oauth2_server_uri", &cat->oauth2_server_uri);
  get_str(c, map, "target.catalog", "access_delegation", &cat->access_delegation);
  cat->timeout_s = 30;
  if (get_int(c, map, "target.catalog", "timeout_s", 1, &cat->timeout_s) &&
      cat->timeout_s > 3600) {
    cfg_diag(c->d, cfg_map_get(map, "timeout_s", NULL), "target.catalog.timeout_s",
             "expected 1 to 3600 seconds");
    cat->timeout_s = 30;
  }
  if (cat->credential != NULL && cat->token != NULL)
    cfg_diag(c->d, key_node(map, "token"), "target.catalog.token",
             "set either credential (OAuth2 client credentials) or token, not both");
  const cfg_node *sig = get_map(c, map, "target.catalog", "sigv4");
  if (sig != NULL) {
    check_keys(c, sig, "target.catalog.sigv4", sigv4_keys, N_OF(sigv4_keys));
    get_str(c, sig, "target.catalog.sigv4", "region", &cat->sigv4_region);
    get_str(c, sig, "target.catalog.sigv4", "signing_name", &cat->sigv4_signing_name);
    get_str(c, sig, "target.catalog.sigv4", "access_key_id", &cat->sigv4_access_key_id);
    get_str(c, sig, "target.catalog.sigv4", "secret_access_key", &cat->sigv4_secret_access_key);
    get_str(c, sig, "target.catalog.sigv4", "session_token", &cat->sigv4_session_token);
    if (cat->sigv4_region == NULL)
      cfg_diag(c->d, key_node(map, "sigv4"), "target.catalog.sigv4.region",
               "missing (the AWS region the catalog endpoint is in)");
    if (cat->credential != NULL || cat->token != NULL)
      cfg_diag(c->d, key_node(map, "sigv4"), "target.catalog.sigv4",
               "SigV4 signing replaces credential and token; keep one of them");
  }
  const cfg_node *headers = get_map(c, map, "target.catalog", "headers");
  for (size_t i = 0; headers != NULL && i < headers->n; i++) {
    const cfg_node *value = headers->items[i];
    const char *name = headers->keys[i]->text;
    char hpath[PATH_SIZE];
    pjoin(hpath, "target.catalog.headers", name);
    if (value->kind != CFG_SCALAR || cfg_node_is_null(value)) {
      cfg_diag(c->d, value, hpath, "a header value expected");
      continue;
    }
    if (name[0] == '\0' || strpbrk(name, ": \r\n") != NULL || strpbrk(value->text, "\r\n")) {
      cfg_diag(c->d, value, hpath, "a header name without ':' or spaces, and a one-line value");
      continue;
    }
    property_put(c, &cat->headers, &cat->n_headers, name, value->text);
  }
}
static const char *const target_keys[] = {"warehouse", "catalog", "namespace", "properties",
                                          "storage"};
static const char *const storage_keys[] = {
    "type",          "region",           "endpoint",           "path_style",
    "profile",       "access_key_id",    "secret_access_key",  "session_token",
    "sts_endpoint",  "conditional_writes", "multipart_threshold", "part_size",
    "max_attempts"};
static const char *const storage_types[] = {"default", "local", "s3"};

/* target.storage: the S3 settings of an s3:// warehouse. */
static void map_storage(ctx *c, const cfg_node *target) {
  floe_config_storage *st = &c->cfg->target.storage;
  const cfg_node *map = get_map(c, target, "target", "storage");
  if (map == NULL) return;
  check_keys(c, map, "target.storage", storage_keys, N_OF(storage_keys));
  int type = 0;
  if (get_enum(c, map, "target.storage", "type", storage_types, N_OF(storage_types), &type))
    st->type = (floe_config_storage_type)type;
  get_str(c, map, "target.storage", "region", &st->region);
  get_str(c, map, "target.storage", "endpoint", &st->endpoint);
  get_str(c, map, "target.storage", "profile", &st->profile);
  get_str(c, map, "target.storage", "access_key_id", &st->access_key_id);
  get_str(c, map, "target.storage", "secret_access_key", &st->secret_access_key);
  get_str(c, map, "target.storage", "session_token", &st->session_token);
  get_str(c, map, "target.storage", "sts_endpoint", &st->sts_endpoint);
  bool b;
  if (get_bool(c, map, "target.storage", "path_style", &b)) st->path_style = b ? 1 : 2;
  if (get_bool(c, map, "target.storage", "conditional_writes", &b))
    st->conditional_writes = b ? 1 : 2;
  get_int(c, map, "target.storage", "multipart_threshold", 5 << 20, &st->multipart_threshold);
  get_int(c, map, "target.storage", "part_size", 5 << 20, &st->part_size);
  get_int(c, map, "target.storage", "max_attempts", 1, &st->max_attempts);
  const char *urls[] = {st->endpoint, st->sts_endpoint};
  const char *names[] = {"endpoint", "sts_endpoint"};
  for (int i = 0; i < 2; i++)
    if (urls[i] != NULL && strncmp(urls[i], "http://", 7) != 0 &&
        strncmp(urls[i], "https://", 8) != 0) {
      char shown[128], child[64];
      cfg_show_value(cfg_map_get(map, names[i], NULL), shown, sizeof shown);
      snprintf(child, sizeof child, "target.storage.%s", names[i]);
      cfg_diag(c->d, cfg_map_get(map, names[i], NULL), child,
               "unsupported url %s (expected http:// or https://)", shown);
    }
  if ((st->access_key_id == NULL) != (st->secret_access_key == NULL))
    cfg_diag(c->d, key_node(map, st->access_key_id ? "access_key_id" : "secret_access_key"),
             "target.storage", "give both access_key_id and secret_access_key, or neither");
}

/* A dotted namespace ("a" or "a.b"): non-empty levels, and no '/' (the
 * catalogs make levels into directories and refuse it at run time). */
static bool valid_identifier_path(const char *s) {
  /* An interpolation left unresolved was reported where it failed. */
  if (strstr(s, "${") != NULL) return true;
  if (s[0] == '\0' || s[0] == '.' || strchr(s, '/') != NULL || strchr(s, '\\') != NULL)
    return false;
  size_t len = strlen(s);
  if (s[len - 1] == '.' || strstr(s, "..") != NULL) return false;
  return true;
}

static void map_catalog(ctx *c, const cfg_node *target) {
  floe_config_catalog *cat = &c->cfg->target.catalog;
  set_str(c, &cat->name, "floe");
  const cfg_node *at = key_node(target, "catalog");
  const cfg_node *map = get_map(c, target, "target", "catalog");
  if (map == NULL) {
    if (at == NULL) cat->type = FLOE_CONFIG_CATALOG_HADOOP;
    return;
  }
  check_keys(c, map, "target.catalog", catalog_keys, N_OF(catalog_keys));
  int type = -1;
  if (value_of(map, "type") == NULL)
    cfg_diag(c->d, at, "target.catalog.type", "missing (expected sql, hadoop or rest)");
  else if (!get_enum(c, map, "target.catalog", "type", catalog_types, N_OF(catalog_types),
                     &type))
    type = -1;
  if (type >= 0) cat->type = (floe_config_catalog_type)type;
  get_str(c, map, "target.catalog", "name", &cat->name);
  get_str(c, map, "target.catalog", "token", &cat->token);
  const cfg_node *uri_node = value_of(map, "uri");
  get_str(c, map, "target.catalog", "uri", &cat->uri);
  char shown[128];
  if (uri_node != NULL) cfg_show_value(uri_node, shown, sizeof shown);
  switch (type) {
    case FLOE_CONFIG_CATALOG_SQL:
      if (cat->uri == NULL) {
        if (uri_node == NULL)
          cfg_diag(c->d, at, "target.catalog.uri",
                   "missing (sql catalog: sqlite:PATH, postgresql://... or a conninfo)");
      } else if (strncmp(cat->uri, "sqlite:", 7) == 0) {
        if (cat->uri[7] == '\0') {
          cfg_diag(c->d, uri_node, "target.catalog.uri", "sqlite: needs a path (sqlite:PATH)");
        } else if (strncmp(cat->uri + 7, "//", 2) != 0) {
          char *path = resolve_path(c, uri_node, cat->uri + 7);
          if (path != NULL) {
            floe_buf buf = FLOE_BUF_INIT;
            if (floe_buf_appendf(&buf, "sqlite:%s", path) != 0 || floe_buf_terminate(&buf) != 0)
              c->d->oom = true;
            else {
              floe_free(cat->uri);
              cat->uri = (char *)floe_buf_detach(&buf, NULL);
            }
            floe_buf_free(&buf);
            floe_free(path);
          }
        }
      } else if (strncmp(cat->uri, "postgresql://", 13) != 0 &&
                 strncmp(cat->uri, "postgres://", 11) != 0 && strchr(cat->uri, '=') == NULL) {
        cfg_diag(c->d, uri_node, "target.catalog.uri",
                 "unsupported uri %s (sql catalog: sqlite:PATH, postgresql://... or a "
                 "conninfo such as \"host=... dbname=...\")",
                 shown);
      }
      break;
    case FLOE_CONFIG_CATALOG_HADOOP:
      if (uri_node != NULL)
        cfg_diag(c->d, uri_node, "target.catalog.uri",
                 "a hadoop catalog keeps its pointer under the warehouse; remove uri");
      break;
    case FLOE_CONFIG_CATALOG_REST:
      if (cat->uri == NULL) {
        if (uri_node == NULL)
          cfg_diag(c->d, at, "target.catalog.uri", "missing (rest catalog: https://host/...)");
      } else if (strncmp(cat->uri, "http://", 7) != 0 && strncmp(cat->uri, "https://", 8) != 0) {
        cfg_diag(c->d, uri_node, "target.catalog.uri",
                 "unsupported uri %s (rest catalog: http:// or https://)", shown);
      }
      break;
    default:
      break;
  }
  if (cat->token != NULL && type != FLOE_CONFIG_CATALOG_REST && type >= 0)
    cfg_diag(c->d, key_node(map, "token"), "target.catalog.token",
             "only a rest catalog takes a token");
  if (type == FLOE_CONFIG_CATALOG_REST) {
    map_rest_catalog(c, map);
  } else if (type >= 0) {
    for (size_t i = 0; i < N_OF(rest_only_keys); i++)
      if (key_node(map, rest_only_keys[i]) != NULL) {
        char kpath[PATH_SIZE];
        pjoin(kpath, "target.catalog", rest_only_keys[i]);
        cfg_diag(c->d, key_node(map, rest_only_keys[i]), kpath, "only a rest catalog takes %s",
                 rest_only_keys[i]);
      }
  }
}

static void map_target(ctx *c, const cfg_node *root) {
  floe_config_target *t = &c->cfg->target;
  set_str(c, &t->default_namespace, "default");
  const cfg_node *at = key_node(root, "target");
  const cfg_node *map = get_map(c, root, "", "target");
  if (map == NULL) {
    if (at == NULL)
      cfg_diag(c->d, root, "target",
               "missing (where tables go: a mapping with warehouse and catalog)");
    else
      cfg_diag(c->d, at, "target.warehouse", "missing (a local path, file:// or s3:// URI)");
    return;
  }
  check_keys(c, map, "target", target_keys, N_OF(target_keys));
  if (get_path(c, map, "target", "warehouse", &t->warehouse) && t->warehouse != NULL &&
      is_uri(t->warehouse) && strncmp(t->warehouse, "file://", 7) != 0 &&
      strncmp(t->warehouse, "s3://", 5) != 0) {
    char shown[128];
    cfg_show_value(cfg_map_get(map, "warehouse", NULL), shown, sizeof shown);
    cfg_diag(c->d, cfg_map_get(map, "warehouse", NULL), "target.warehouse",
             "unsupported location %s (expected a local path, file:// or s3://)", shown);
  }
  map_catalog(c, map);
  map_storage(c, map);
  if (t->storage.type == FLOE_CONFIG_STORAGE_S3 && t->warehouse != NULL &&
      strncmp(t->warehouse, "s3://", 5) != 0 && strncmp(t->warehouse, "s3a://", 6) != 0)
    cfg_diag(c->d, cfg_map_get(map, "warehouse", NULL), "target.warehouse",
             "target.storage.type is s3: the warehouse must be an s3://bucket/prefix location");
  /* A rest catalog's server chooses table locations. */
  if (t->warehouse == NULL && value_of(map, "warehouse") == NULL &&
      t->catalog.type != FLOE_CONFIG_CATALOG_REST)
    cfg_diag(c->d, at, "target.warehouse", "missing (a local path, file:// or s3:// URI)");
  if (get_str(c, map, "target", "namespace", &t->default_namespace) &&
      (t->default_namespace == NULL || !valid_identifier_path(t->default_namespace))) {
    cfg_diag(c->d, cfg_map_get(map, "namespace", NULL), "target.namespace",
             "a namespace name expected (\"analytics\" or \"a.b\"; levels are separated by "
             "'.', and '/' is not allowed)");
    set_str(c, &t->default_namespace, "default");
  }
  get_properties(c, map, "target", &t->properties, &t->n_properties);
}

static const char *const control_keys[] = {"table", "location", "schema", "layout"};
static const char *const control_layouts[] = {"auto", "full", "minimal"};
static const char *const logging_keys[] = {"level", "format", "file"};
static const char *const run_keys[] = {"report", "durability", "threads", "spill_dir"};

static void map_control_logging_run(ctx *c, const cfg_node *root) {
  floe_config *cfg = c->cfg;
  set_str(c, &cfg->control.table, "floe_control");
  const cfg_node *map = get_map(c, root, "", "control");
  if (map != NULL) {
    check_keys(c, map, "control", control_keys, N_OF(control_keys));
    if (get_str(c, map, "control", "table", &cfg->control.table) && cfg->control.table == NULL)
      set_str(c, &cfg->control.table, "floe_control");
    int v;
    if (get_enum(c, map, "control", "location", control_locations, N_OF(control_locations),
                 &v))
      cfg->control.location = (floe_config_control_location)v;
    get_str(c, map, "control", "schema", &cfg->control.schema);
    if (get_enum(c, map, "control", "layout", control_layouts, N_OF(control_layouts), &v))
      cfg->control.layout = (floe_config_control_layout)v;
  }
  cfg->logging.level = FLOE_LOG_INFO;
  cfg->logging.format = FLOE_LOG_LOGFMT;
  map = get_map(c, root, "", "logging");
  if (map != NULL) {
    check_keys(c, map, "logging", logging_keys, N_OF(logging_keys));
    int v;
    if (get_enum(c, map, "logging", "level", log_levels, N_OF(log_levels), &v))
      cfg->logging.level = (floe_log_level)v;
    if (get_enum(c, map, "logging", "format", log_formats, N_OF(log_formats), &v))
      cfg->logging.format = (floe_log_format)v;
    get_path(c, map, "logging", "file", &cfg->logging.file);
  }
  map = get_map(c, root, "", "run");
  if (map != NULL) {
    check_keys(c, map, "run", run_keys, N_OF(run_keys));
    get_path(c, map, "run", "report", &cfg->run.report);
    get_path(c, map, "run", "spill_dir", &cfg->run.spill_dir);
    int v;
    if (get_enum(c, map, "run", "durability", durabilities, N_OF(durabilities), &v))
      cfg->run.durability = (floe_config_durability)v;
    if (get_int(c, map, "run", "threads", 1, &cfg->run.threads) && cfg->run.threads > 256) {
      cfg_diag(c->d, cfg_map_get(map, "threads", NULL), "run.threads",
               "at most 256 threads, got %lld", (long long)cfg->run.threads);
      cfg->run.threads = 0;
    }
  }
}

/* ---- tables ------------------------------------------------------------- */

static const char *const table_keys[] = {
    "source", "target",      "strategy",      "batch_column", "cursor_column", "chunk",
    "partition_by", "mode",  "overwrite",     "primary_key",  "merge",         "cdc",
    "validate", "partition_column", "where",  "properties", "start_after", "on_existing",
    "maintenance", "on_source_behind", "late_rows", "sort_by", "metadata_columns", "checks",
    "quarantine", "changelog", "columns"};
static const char *const metadata_column_keys[] = {"batch_sk", "loaded_at", "run_id", "op"};
static const char *const check_keys_all[] = {"type", "name",      "column",    "severity",
                                             "values", "min",     "max",       "pattern",
                                             "min_ratio", "max_ratio", "history", "max_age",
                                             "scope"};
static const char *const chunk_keys[] = {"by", "rows"};
static const char *const merge_keys[] = {"deletes", "order_by", "memory_mb"};
static const char *const validate_keys[] = {"count", "checksum"};
static const char *const maintenance_keys[] = {
    "enabled",       "compact_min_files", "delete_ratio_percent", "convert_equality_deletes",
    "max_manifests", "max_snapshots",     "expire_older_than",    "retain_last",
    "target_file_size", "partial_progress"};
static const char *const cdc_keys[] = {"type",   "column",   "insert", "update",
                                       "delete", "sequence", "stream"};
static const char *const cdc_op_keys[] = {"type",   "column",   "insert", "update",
                                          "delete", "sequence"};

/* What one mapping (defaults or a table) wrote itself. */
typedef struct table_marks {
  bool batch_column;  /* set to a column (not null) */
  bool cursor_column; /* set to a column (not null) */
  bool overwrite;
} table_marks;

static void free_cdc(floe_config_cdc *cdc) {
  floe_free(cdc->column);
  floe_free(cdc->insert_value);
  floe_free(cdc->update_value);
  floe_free(cdc->delete_value);
  floe_free(cdc->sequence);
  floe_free(cdc->stream);
  memset(cdc, 0, sizeof *cdc);
}

static void free_checks(floe_config_check *checks, size_t n) {
  for (size_t i = 0; i < n; i++) {
    floe_config_check *k = &checks[i];
    floe_free(k->name);
    floe_free(k->column);
    free_str_list(k->values, k->n_values);
    floe_free(k->min);
    floe_free(k->max);
    floe_free(k->pattern);
  }
  floe_free(checks);
}

static void free_table(floe_config_table *t) {
  if (t == NULL) return;
  floe_free(t->name);
  floe_free(t->source);
  floe_free(t->target_namespace);
  floe_free(t->target_name);
  floe_free(t->batch_column);
  floe_free(t->cursor_column);
  for (size_t i = 0; i < t->n_partition_by; i++)
    floe_config_partition_field_clear(&t->partition_by[i]);
  floe_free(t->partition_by);
  free_str_list(t->primary_key, t->n_primary_key);
  free_str_list(t->sort_by, t->n_sort_by);
  floe_free(t->metadata_columns.batch_sk);
  floe_free(t->metadata_columns.loaded_at);
  floe_free(t->metadata_columns.run_id);
  floe_free(t->metadata_columns.op);
  floe_free(t->merge.order_by);
  free_cdc(&t->cdc);
  floe_free(t->partition_column);
  floe_free(t->where);
  free_properties(t->properties, t->n_properties);
  free_checks(t->checks, t->n_checks);
  for (size_t i = 0; i < t->n_columns; i++) {
    floe_free(t->columns[i].name);
    floe_free(t->columns[i].type);
  }
  floe_free(t->columns);
  floe_free(t->quarantine_namespace);
  floe_free(t->quarantine_name);
  floe_free(t->changelog_namespace);
  floe_free(t->changelog_name);
  memset(t, 0, sizeof *t);
}

/* Deep copy; on allocation failure sets oom and leaves a freeable struct. */
static void copy_table(ctx *c, floe_config_table *dst, const floe_config_table *src) {
  *dst = *src;
  dst->name = xdup(c, src->name);
  dst->source = xdup(c, src->source);
  dst->target_namespace = xdup(c, src->target_namespace);
  dst->target_name = xdup(c, src->target_name);
  dst->batch_column = xdup(c, src->batch_column);
  dst->cursor_column = xdup(c, src->cursor_column);
  dst->merge.order_by = xdup(c, src->merge.order_by);
  dst->cdc.column = xdup(c, src->cdc.column);
  dst->cdc.insert_value = xdup(c, src->cdc.insert_value);
  dst->cdc.update_value = xdup(c, src->cdc.update_value);
  dst->cdc.delete_value = xdup(c, src->cdc.delete_value);
  dst->cdc.sequence = xdup(c, src->cdc.sequence);
  dst->cdc.stream = xdup(c, src->cdc.stream);
  dst->partition_column = xdup(c, src->partition_column);
  dst->where = xdup(c, src->where);
  dst->metadata_columns.batch_sk = xdup(c, src->metadata_columns.batch_sk);
  dst->metadata_columns.loaded_at = xdup(c, src->metadata_columns.loaded_at);
  dst->metadata_columns.run_id = xdup(c, src->metadata_columns.run_id);
  dst->metadata_columns.op = xdup(c, src->metadata_columns.op);
  dst->partition_by = NULL;
  dst->n_partition_by = 0;
  dst->primary_key = NULL;
  dst->n_primary_key = 0;
  dst->sort_by = NULL;
  dst->n_sort_by = 0;
  dst->properties = NULL;
  dst->n_properties = 0;
  if (src->n_partition_by > 0) {
    dst->partition_by = floe_calloc(src->n_partition_by, sizeof *dst->partition_by);
    if (dst->partition_by == NULL) {
      c->d->oom = true;
    } else {
      dst->n_partition_by = src->n_partition_by;
      for (size_t i = 0; i < src->n_partition_by; i++) {
        dst->partition_by[i] = src->partition_by[i];
        dst->partition_by[i].column = xdup(c, src->partition_by[i].column);
      }
    }
  }
  if (src->n_sort_by > 0) {
    dst->sort_by = floe_calloc(src->n_sort_by, sizeof *dst->sort_by);
    if (dst->sort_by == NULL) {
      c->d->oom = true;
    } else {
      dst->n_sort_by = src->n_sort_by;
      for (size_t i = 0; i < src->n_sort_by; i++) dst->sort_by[i] = xdup(c, src->sort_by[i]);
    }
  }
  if (src->n_primary_key > 0) {
    dst->primary_key = floe_calloc(src->n_primary_key, sizeof *dst->primary_key);
    if (dst->primary_key == NULL) {
      c->d->oom = true;
    } else {
      dst->n_primary_key = src->n_primary_key;
      for (size_t i = 0; i < src->n_primary_key; i++)
        dst->primary_key[i] = xdup(c, src->primary_key[i]);
    }
  }
  for (size_t i = 0; i < src->n_properties; i++)
    property_put(c, &dst->properties, &dst->n_properties, src->properties[i].key,
                 src->properties[i].value);
}

static void get_partition_by(ctx *c, const cfg_node *map, const char *path,
                             floe_config_table *t) {
  const cfg_node *node = cfg_map_get(map, "partition_by", NULL);
  if (node == NULL) return;
  t->has_partition_by = true;
  char child[PATH_SIZE];
  pjoin(child, path, "partition_by");
  if (cfg_node_is_null(node)) {
    for (size_t i = 0; i < t->n_partition_by; i++)
      floe_config_partition_field_clear(&t->partition_by[i]);
    floe_free(t->partition_by);
    t->partition_by = NULL;
    t->n_partition_by = 0;
    return;
  }
  if (node->kind != CFG_SEQUENCE) {
    if (node->kind == CFG_SCALAR && node->interp_from == NULL)
      cfg_diag(c->d, node, child, "list expected, got %s (write [%s])", kind_text(node),
               node->text);
    else
      cfg_diag(c->d, node, child, "list expected, got %s", kind_text(node));
    return;
  }
  floe_config_partition_field *fields = floe_calloc(node->n ? node->n : 1, sizeof *fields);
  if (fields == NULL) {
    c->d->oom = true;
    return;
  }
  /* In YAML flow syntax [day(ts), bucket(16, id)] splits at the comma inside
   * the parentheses; items whose parentheses do not balance are joined with
   * the ones that follow, so the natural spelling works. */
  size_t n_fields = 0;
  bool ok = true;
  for (size_t i = 0; i < node->n; i++) {
    const cfg_node *item = node->items[i];
    char item_path[PATH_SIZE + 32];
    snprintf(item_path, sizeof item_path, "%s[%zu]", child, n_fields);
    if (item->kind != CFG_SCALAR || cfg_node_is_null(item)) {
      cfg_diag(c->d, item, item_path,
               "a partition field expected (day(ts), bucket(16, id)), got %s", kind_text(item));
      ok = false;
      continue;
    }
    floe_buf joined = FLOE_BUF_INIT;
    int depth = 0;
    size_t j = i;
    for (;;) {
      const cfg_node *part = node->items[j];
      if (j > i && floe_buf_append_str(&joined, ", ") != 0) c->d->oom = true;
      if (floe_buf_append_str(&joined, part->text) != 0) c->d->oom = true;
      for (const char *p = part->text; *p; p++) depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
      if (depth <= 0 || j + 1 >= node->n || !node->items[j + 1]->plain ||
          node->items[j + 1]->kind != CFG_SCALAR || !part->plain)
        break;
      j++;
    }
    i = j;
    if (floe_buf_terminate(&joined) != 0) c->d->oom = true;
    if (c->d->oom) {
      floe_buf_free(&joined);
      ok = false;
      break;
    }
    floe_error perr;
    floe_error_init(&perr);
    int rc = floe_config_partition_parse(&fields[n_fields], (const char *)joined.data, &perr);
    floe_buf_free(&joined);
    if (rc == FLOE_ENOMEM) {
      c->d->oom = true;
      ok = false;
    } else if (rc != FLOE_OK) {
      char shown[128];
      cfg_show_value(item, shown, sizeof shown);
      cfg_diag(c->d, item, item_path, "bad partition field %s: %s", shown, perr.message);
      ok = false;
    }
    n_fields++;
  }
  /* Two fields from one column with one transform would collide (Iceberg
   * spec: partition field names are unique). */
  for (size_t i = 0; ok && i < n_fields; i++)
    for (size_t j = 0; j < i; j++)
      if (fields[i].transform == fields[j].transform &&
          strcmp(fields[i].column, fields[j].column) == 0) {
        char item_path[PATH_SIZE + 32];
        snprintf(item_path, sizeof item_path, "%s[%zu]", child, i);
        cfg_diag(c->d, node, item_path, "repeats partition field %zu", j);
        ok = false;
        break;
      }
  if (!ok) {
    for (size_t i = 0; i < n_fields; i++) floe_config_partition_field_clear(&fields[i]);
    floe_free(fields);
    return;
  }
  for (size_t i = 0; i < t->n_partition_by; i++)
    floe_config_partition_field_clear(&t->partition_by[i]);
  floe_free(t->partition_by);
  t->partition_by = fields;
  t->n_partition_by = n_fields;
}

/* metadata_columns: true (all four, default names), false or null (none),
 * or a mapping naming which to add: {batch_sk: true, op: change_op} (true:
 * the default name _floe_<key>; false or null: not added). */
static void get_metadata_columns(ctx *c, const cfg_node *map, const char *path,
                                 floe_config_table *t) {
  const cfg_node *node = cfg_map_get(map, "metadata_columns", NULL);
  if (node == NULL) return;
  char child[PATH_SIZE];
  pjoin(child, path, "metadata_columns");
  floe_config_metadata_columns *mc = &t->metadata_columns;
  char **slots[4] = {&mc->batch_sk, &mc->loaded_at, &mc->run_id, &mc->op};
  bool all = false;
  if (cfg_node_is_null(node) || (node->kind == CFG_SCALAR && get_bool(c, map, path,
                                                                      "metadata_columns", &all))) {
    for (int i = 0; i < 4; i++) {
      char name[32];
      snprintf(name, sizeof name, "_floe_%s", metadata_column_keys[i]);
      set_str(c, slots[i], all ? name : NULL);
    }
    return;
  }
  if (node->kind != CFG_MAPPING) {
    if (node->kind != CFG_SCALAR)
      cfg_diag(c->d, node, child,
               "true, false or a mapping expected ({batch_sk: true, op: change_op})");
    return;
  }
  check_keys(c, node, child, metadata_column_keys, N_OF(metadata_column_keys));
  for (int i = 0; i < 4; i++) {
    const cfg_node *v = cfg_map_get(node, metadata_column_keys[i], NULL);
    if (v == NULL) continue;
    char item[PATH_SIZE + 32];
    snprintf(item, sizeof item, "%s.%s", child, metadata_column_keys[i]);
    if (cfg_node_is_null(v) || (v->plain && v->kind == CFG_SCALAR &&
                                (!strcmp(v->text, "false") || !strcmp(v->text, "False")))) {
      set_str(c, slots[i], NULL);
    } else if (v->plain && v->kind == CFG_SCALAR &&
               (!strcmp(v->text, "true") || !strcmp(v->text, "True"))) {
      char name[32];
      snprintf(name, sizeof name, "_floe_%s", metadata_column_keys[i]);
      set_str(c, slots[i], name);
    } else if (v->kind != CFG_SCALAR || v->text[0] == '\0') {
      cfg_diag(c->d, v, item, "a column name, true or false expected");
    } else {
      set_str(c, slots[i], v->text);
    }
  }
  for (int i = 0; i < 4; i++)
    for (int k = 0; k < i; k++)
      if (*slots[i] != NULL && *slots[k] != NULL && strcasecmp(*slots[i], *slots[k]) == 0)
        cfg_diag(c->d, node, child, "%s and %s have the same name '%s'",
                 metadata_column_keys[k], metadata_column_keys[i], *slots[i]);
}

/* maintenance: a mapping (its keys merge over the inherited block's, the
 * first block starting from the defaults below), or null (off). */
static void get_maintenance(ctx *c, const cfg_node *map, const char *path, floe_config_table *t) {
  const cfg_node *node = cfg_map_get(map, "maintenance", NULL);
  if (node == NULL) return;
  char child[PATH_SIZE];
  pjoin(child, path, "maintenance");
  floe_config_maintenance *m = &t->maintenance;
  if (cfg_node_is_null(node)) {
    memset(m, 0, sizeof *m);
    return;
  }
  const cfg_node *block = get_map(c, map, path, "maintenance");
  if (block == NULL) return;
  check_keys(c, block, child, maintenance_keys, N_OF(maintenance_keys));
  if (!m->enabled && m->compact_min_files == 0 && m->max_snapshots == 0 &&
      m->expire_older_than_ms == 0) {
    m->compact_min_files = 10;
    m->delete_ratio_percent = 10;
    m->max_manifests = 100;
    m->max_snapshots = 100;
    m->expire_older_than_ms = INT64_C(5) * 24 * 3600 * 1000;
    m->retain_last = 1;
  }
  m->enabled = true;
  get_bool(c, block, child, "enabled", &m->enabled);
  get_int(c, block, child, "compact_min_files", 0, &m->compact_min_files);
  get_int(c, block, child, "delete_ratio_percent", 0, &m->delete_ratio_percent);
  get_bool(c, block, child, "convert_equality_deletes", &m->convert_equality_deletes);
  get_int(c, block, child, "max_manifests", 0, &m->max_manifests);
  get_int(c, block, child, "max_snapshots", 0, &m->max_snapshots);
  get_int(c, block, child, "retain_last", 1, &m->retain_last);
  get_int(c, block, child, "target_file_size", 0, &m->target_file_size);
  get_bool(c, block, child, "partial_progress", &m->partial_progress);
  char *age = NULL;
  if (get_str(c, block, child, "expire_older_than", &age) && age != NULL) {
    floe_error perr = {0};
    int64_t ms = 0;
    char key[PATH_SIZE];
    pjoin(key, child, "expire_older_than");
    if (floe_maintain_parse_duration(age, &ms, &perr) < 0)
      cfg_diag(c->d, value_of(block, "expire_older_than"), key, "%s", perr.message);
    else
      m->expire_older_than_ms = ms;
  }
  floe_free(age);
}

static void get_cdc(ctx *c, const cfg_node *map, const char *path, floe_config_table *t) {
  const cfg_node *node = cfg_map_get(map, "cdc", NULL);
  if (node == NULL) return;
  char child[PATH_SIZE];
  pjoin(child, path, "cdc");
  free_cdc(&t->cdc); /* a table's cdc replaces the inherited one whole */
  if (cfg_node_is_null(node)) return;
  if (node->kind != CFG_MAPPING) {
    cfg_diag(c->d, node, child,
             "mapping expected, e.g. {type: op_column, column: op}, got %s", kind_text(node));
    return;
  }
  check_keys(c, node, child, cdc_keys, N_OF(cdc_keys));
  int type = -1;
  if (value_of(node, "type") == NULL) {
    char type_path[PATH_SIZE];
    pjoin(type_path, child, "type");
    cfg_diag(c->d, key_node(map, "cdc"), type_path,
             "missing (expected op_column, hash_diff, stream or changes)");
    return;
  }
  if (!get_enum(c, node, child, "type", cdc_types, N_OF(cdc_types), &type)) return;
  t->cdc.type = (floe_config_cdc_type)type;
  /* Keys that the chosen type does not read are mistakes, not noise. */
  for (size_t i = 0; i < node->n; i++) {
    const char *key = node->keys[i]->text;
    bool used = strcmp(key, "type") == 0 ||
                (type == FLOE_CDC_OP_COLUMN && in_list(key, cdc_op_keys, N_OF(cdc_op_keys))) ||
                (type == FLOE_CDC_STREAM && strcmp(key, "stream") == 0);
    if (!used && in_list(key, cdc_keys, N_OF(cdc_keys))) {
      char key_path[PATH_SIZE];
      pjoin(key_path, child, key);
      cfg_diag(c->d, node->keys[i], key_path, "not used by cdc type %s", cdc_types[type]);
    }
  }
  if (type == FLOE_CDC_OP_COLUMN) {
    set_str(c, &t->cdc.insert_value, "I");
    set_str(c, &t->cdc.update_value, "U");
    set_str(c, &t->cdc.delete_value, "D");
    get_str(c, node, child, "column", &t->cdc.column);
    get_str(c, node, child, "insert", &t->cdc.insert_value);
    get_str(c, node, child, "update", &t->cdc.update_value);
    get_str(c, node, child, "delete", &t->cdc.delete_value);
    get_str(c, node, child, "sequence", &t->cdc.sequence);
  } else if (type == FLOE_CDC_STREAM) {
    get_str(c, node, child, "stream", &t->cdc.stream);
  }
}

/* ---- data-quality checks ------------------------------------------------ */

/* A number written as a plain scalar (ratios). */
static bool get_double(ctx *c, const cfg_node *map, const char *path, const char *key,
                       double *out) {
  const cfg_node *node = value_of(map, key);
  if (node == NULL) return false;
  char child[PATH_SIZE];
  pjoin(child, path, key);
  if (!want_scalar(c, node, child, "a number")) return false;
  char *end = NULL;
  errno = 0;
  double v = strtod(node->text, &end);
  if (end == node->text || *end != '\0' || errno != 0 || v < 0) {
    char shown[128];
    cfg_show_value(node, shown, sizeof shown);
    cfg_diag(c->d, node, child, "a number >= 0 expected, got %s", shown);
    return false;
  }
  *out = v;
  return true;
}

/* One item of checks: a mapping {type: ..., column: ..., severity: ...}. */
static void get_check(ctx *c, const cfg_node *item, const char *path, floe_config_check *k) {
  k->min_rows = k->max_rows = -1;
  if (item->kind != CFG_MAPPING) {
    cfg_diag(c->d, item, path,
             "mapping expected, e.g. {type: not_null, column: id}, got %s", kind_text(item));
    return;
  }
  check_keys(c, item, path, check_keys_all, N_OF(check_keys_all));
  int type = -1;
  if (value_of(item, "type") == NULL) {
    char tp[PATH_SIZE];
    pjoin(tp, path, "type");
    cfg_diag(c->d, item, tp,
             "missing (expected not_null, unique, accepted_values, range, regex, row_count or "
             "freshness)");
    return;
  }
  if (!get_enum(c, item, path, "type", check_types, N_OF(check_types), &type)) return;
  k->type = (floe_config_check_type)type;
  int sev = 0;
  if (get_enum(c, item, path, "severity", severities, N_OF(severities), &sev)) k->warn = sev == 1;
  get_str(c, item, path, "name", &k->name);
  get_str(c, item, path, "column", &k->column);
  /* Keys another type reads are mistakes here, not noise. */
  static const char *const by_type[][6] = {
      {"column"},
      {"column", "scope"},
      {"column", "values"},
      {"column", "min", "max"},
      {"column", "pattern"},
      {"min", "max", "min_ratio", "max_ratio", "history"},
      {"column", "max_age"}};
  for (size_t i = 0; i < item->n; i++) {
    const char *key = item->keys[i]->text;
    if (!in_list(key, check_keys_all, N_OF(check_keys_all)) || strcmp(key, "type") == 0 ||
        strcmp(key, "name") == 0 || strcmp(key, "severity") == 0)
      continue;
    bool used = false;
    for (size_t j = 0; j < 6 && by_type[type][j] != NULL; j++)
      used |= strcmp(by_type[type][j], key) == 0;
    if (!used) {
      char kp[PATH_SIZE];
      pjoin(kp, path, key);
      cfg_diag(c->d, item->keys[i], kp, "not used by check type %s", check_types[type]);
    }
  }
  char kp[PATH_SIZE];
  if (k->type != FLOE_CHECK_ROW_COUNT && k->column == NULL) {
    pjoin(kp, path, "column");
    cfg_diag(c->d, item, kp, "missing (check %s needs the column it checks)", check_types[type]);
  }
  switch (k->type) {
    case FLOE_CHECK_UNIQUE: {
      static const char *const scopes[] = {"load", "table"};
      int scope = 0;
      if (get_enum(c, item, path, "scope", scopes, 2, &scope)) k->scope_table = scope == 1;
      break;
    }
    case FLOE_CHECK_ACCEPTED_VALUES:
      if (!get_str_list(c, item, path, "values", &k->values, &k->n_values) || k->n_values == 0) {
        pjoin(kp, path, "values");
        cfg_diag(c->d, item, kp, "missing (accepted_values needs values: [a, b, ...])");
      }
      break;
    case FLOE_CHECK_RANGE:
      get_str(c, item, path, "min", &k->min);
      get_str(c, item, path, "max", &k->max);
      if (k->min == NULL && k->max == NULL) {
        pjoin(kp, path, "min");
        cfg_diag(c->d, item, kp, "missing (range needs min, max or both)");
      }
      break;
    case FLOE_CHECK_REGEX:
      if (get_str(c, item, path, "pattern", &k->pattern) && k->pattern != NULL) {
        regex_t re;
        int rrc = regcomp(&re, k->pattern, REG_EXTENDED | REG_NOSUB);
        if (rrc != 0) {
          char why[200];
          regerror(rrc, &re, why, sizeof why);
          pjoin(kp, path, "pattern");
          cfg_diag(c->d, value_of(item, "pattern"), kp, "not a POSIX extended regex: %s", why);
        } else {
          regfree(&re);
        }
      } else {
        pjoin(kp, path, "pattern");
        cfg_diag(c->d, item, kp, "missing (regex needs pattern: '...')");
      }
      break;
    case FLOE_CHECK_ROW_COUNT: {
      get_int(c, item, path, "min", 0, &k->min_rows);
      get_int(c, item, path, "max", 0, &k->max_rows);
      bool lo = get_double(c, item, path, "min_ratio", &k->min_ratio);
      bool hi = get_double(c, item, path, "max_ratio", &k->max_ratio);
      bool hist = get_int(c, item, path, "history", 1, &k->history);
      if ((lo || hi) && !hist) k->history = 5;
      if (hist && !lo && !hi) {
        k->min_ratio = 0.5;
        k->max_ratio = 2.0;
      }
      if (k->min_rows < 0 && k->max_rows < 0 && k->history == 0) {
        pjoin(kp, path, "min_ratio");
        cfg_diag(c->d, item, kp,
                 "missing (row_count needs min/max rows or min_ratio/max_ratio of the last "
                 "history loads)");
      }
      break;
    }
    case FLOE_CHECK_FRESHNESS: {
      char *age = NULL;
      pjoin(kp, path, "max_age");
      if (get_str(c, item, path, "max_age", &age) && age != NULL) {
        floe_error perr = {0};
        if (floe_maintain_parse_duration(age, &k->max_age_ms, &perr) < 0)
          cfg_diag(c->d, value_of(item, "max_age"), kp, "%s", perr.message);
      } else {
        cfg_diag(c->d, item, kp, "missing (freshness needs max_age, e.g. 24h)");
      }
      floe_free(age);
      break;
    }
    default:
      break;
  }
  if (k->name == NULL) {
    char text[PATH_SIZE];
    if (k->column != NULL)
      snprintf(text, sizeof text, "%s(%s)", check_types[type], k->column);
    else
      snprintf(text, sizeof text, "%s", check_types[type]);
    set_str(c, &k->name, text);
  }
  k->location.file = item->origin;
  k->location.line = item->line;
  k->location.column = item->column;
}

/* "ns.table" (last dot) or "table" in the default namespace. */
static void split_target(ctx *c, const char *text, char **ns, char **name) {
  const char *dot = strrchr(text, '.');
  *ns = dot ? floe_strndup(text, (size_t)(dot - text)) : xdup(c, c->cfg->target.default_namespace);
  *name = xdup(c, dot ? dot + 1 : text);
  if (*ns == NULL || *name == NULL) c->d->oom = true;
}

/* changelog: {target: ns.table}; needs mode merge (not hash_diff). */
static void get_changelog(ctx *c, const cfg_node *map, const char *path, floe_config_table *t) {
  static const char *const changelog_keys[] = {"target"};
  const cfg_node *block = get_map(c, map, path, "changelog");
  if (block == NULL) return;
  char child[PATH_SIZE];
  pjoin(child, path, "changelog");
  check_keys(c, block, child, changelog_keys, N_OF(changelog_keys));
  char *target = NULL;
  if (!get_str(c, block, child, "target", &target) || target == NULL) {
    char kp[PATH_SIZE];
    pjoin(kp, child, "target");
    cfg_diag(c->d, block, kp, "missing (the changelog table: target: ns.table_changes)");
    return;
  }
  split_target(c, target, &t->changelog_namespace, &t->changelog_name);
  floe_free(target);
  if (t->mode != FLOE_MODE_MERGE || t->cdc.type == FLOE_CDC_HASH_DIFF)
    cfg_diag(c->d, key_node(map, "changelog"), child,
             "a changelog records the changes a merge applies: it needs mode: merge (with a "
             "key, or cdc op_column, stream or changes; not hash_diff)");
}

/* checks: a list of check mappings; quarantine: "ns.table" or "table". */
static void get_checks(ctx *c, const cfg_node *map, const char *path, floe_config_table *t) {
  const cfg_node *node = value_of(map, "checks");
  char child[PATH_SIZE];
  pjoin(child, path, "checks");
  if (node != NULL) {
    if (node->kind != CFG_SEQUENCE) {
      cfg_diag(c->d, node, child, "list expected, e.g. [{type: not_null, column: id}], got %s",
               kind_text(node));
    } else if (node->n > 0) {
      t->checks = floe_calloc(node->n, sizeof *t->checks);
      if (t->checks == NULL) {
        c->d->oom = true;
        return;
      }
      t->n_checks = node->n;
      for (size_t i = 0; i < node->n; i++) {
        char ip[PATH_SIZE + 32];
        snprintf(ip, sizeof ip, "%s[%zu]", child, i);
        get_check(c, node->items[i], ip, &t->checks[i]);
      }
      for (size_t i = 0; i < t->n_checks; i++)
        for (size_t j = 0; j < i; j++)
          if (t->checks[i].name && t->checks[j].name &&
              strcmp(t->checks[i].name, t->checks[j].name) == 0) {
            char ip[PATH_SIZE + 32];
            snprintf(ip, sizeof ip, "%s[%zu]", child, i);
            cfg_diag(c->d, node->items[i], ip,
                     "a second check named '%s' (give one a name: to tell them apart in the "
                     "report)",
                     t->checks[i].name);
          }
    }
  }
  char *q = NULL;
  if (get_str(c, map, path, "quarantine", &q) && q != NULL) {
    split_target(c, q, &t->quarantine_namespace, &t->quarantine_name);
    if (t->n_checks == 0) {
      pjoin(child, path, "quarantine");
      cfg_diag(c->d, value_of(map, "quarantine"), child,
               "quarantine takes the rows that fail checks, and the table has no checks");
    }
  }
  floe_free(q);
}

/* ---- declared shapes ---------------------------------------------------- */

static const char *const column_keys[] = {"type", "on_extra_fields"};
static const char *const extra_fields_values[] = {"ignore", "fail"};

/* columns: {NAME: {type: "TYPE", on_extra_fields: ignore|fail}} or
 * {NAME: "TYPE"}; every type string is parsed here, so a typo is reported
 * with its file:line and the character it stopped at before anything runs. */
static void get_columns(ctx *c, const cfg_node *map, const char *path, floe_config_table *t) {
  const cfg_node *node = value_of(map, "columns");
  if (node == NULL) return;
  char child[PATH_SIZE];
  pjoin(child, path, "columns");
  if (node->kind != CFG_MAPPING) {
    cfg_diag(c->d, node, child,
             "mapping of source columns expected (columns: {payload: {type: "
             "\"struct<a: int>\"}}), got %s",
             kind_text(node));
    return;
  }
  if (node->n == 0) return;
  t->columns = floe_calloc(node->n, sizeof *t->columns);
  if (t->columns == NULL) {
    c->d->oom = true;
    return;
  }
  for (size_t i = 0; i < node->n; i++) {
    const cfg_node *key = node->keys[i], *item = node->items[i];
    char cp[PATH_SIZE];
    pjoin(cp, child, key->text);
    const cfg_node *type_node = item;
    char tp[PATH_SIZE + 8];
    snprintf(tp, sizeof tp, "%s", cp);
    floe_config_column *col = &t->columns[t->n_columns];
    /* The slot is reused when an entry fails below; nothing of a failed
     * entry carries over to the next one. */
    col->fail_on_extra_fields = false;
    if (item->kind == CFG_MAPPING) {
      check_keys(c, item, cp, column_keys, N_OF(column_keys));
      type_node = value_of(item, "type");
      snprintf(tp, sizeof tp, "%s.type", cp);
      if (type_node == NULL) {
        cfg_diag(c->d, key, tp, "missing (the column's Iceberg type, e.g. \"list<long>\")");
        continue;
      }
      int v;
      if (get_enum(c, item, cp, "on_extra_fields", extra_fields_values,
                   N_OF(extra_fields_values), &v))
        col->fail_on_extra_fields = v == 1;
    }
    if (type_node->kind != CFG_SCALAR || cfg_node_is_null(type_node) ||
        type_node->text[0] == '\0') {
      cfg_diag(c->d, type_node, tp,
               "a type string expected (\"struct<a: int>\", \"list<string>\"), got %s",
               kind_text(type_node));
      continue;
    }
    if (key->text[0] == '\0') {
      cfg_diag(c->d, key, cp, "empty column name");
      continue;
    }
    for (size_t j = 0; j < t->n_columns; j++)
      if (strcasecmp(t->columns[j].name, key->text) == 0)
        cfg_diag(c->d, key, cp, "column '%s' is declared twice", key->text);
    floe_iceberg_schema *shape = NULL;
    floe_error perr = {0};
    size_t offset = 0;
    int rc = floe_iceberg_type_parse_nested(&shape, key->text, type_node->text, &offset, &perr);
    floe_iceberg_schema_free(shape);
    if (rc == FLOE_ENOMEM) {
      c->d->oom = true;
      return;
    }
    if (rc < 0) {
      /* Point at the character in a single-line scalar (after its quote). */
      int column = type_node->column;
      if (type_node->line > 0 && strchr(type_node->text, '\n') == NULL)
        column += (int)offset + (type_node->plain ? 0 : 1);
      cfg_diag_at(c->d, type_node->origin, type_node->line, column, tp,
                  "%s", perr.message);
      continue;
    }
    col->name = xdup(c, key->text);
    col->type = xdup(c, type_node->text);
    col->location.file = type_node->origin;
    col->location.line = type_node->line;
    col->location.column = type_node->column;
    t->n_columns++;
  }
}

/* Applies the keys of one mapping (defaults or a table) onto t. */
static void apply_table_keys(ctx *c, const cfg_node *map, const char *path,
                             floe_config_table *t, table_marks *marks, bool is_defaults) {
  if (is_defaults) {
    for (size_t i = 0; i < map->n; i++) {
      const char *key = map->keys[i]->text;
      char child[PATH_SIZE];
      pjoin(child, path, key);
      if (strcmp(key, "source") == 0 || strcmp(key, "target") == 0 ||
          strcmp(key, "checks") == 0 || strcmp(key, "quarantine") == 0 ||
          strcmp(key, "changelog") == 0 || strcmp(key, "columns") == 0) {
        cfg_diag(c->d, map->keys[i], child, "set per table, not in defaults");
      } else if (!in_list(key, table_keys, N_OF(table_keys))) {
        const char *guess = cfg_suggest(key, table_keys + 2, N_OF(table_keys) - 2);
        if (guess != NULL)
          cfg_diag(c->d, map->keys[i], child, "unknown key (did you mean %s?)", guess);
        else
          cfg_diag(c->d, map->keys[i], child,
                   "unknown key (defaults take the keys of a table except source and "
                   "target)");
      }
    }
  } else {
    check_keys(c, map, path, table_keys, N_OF(table_keys));
  }
  int v;
  if (get_enum(c, map, path, "strategy", strategies, N_OF(strategies), &v))
    t->strategy = (floe_config_strategy)v;
  if (get_str(c, map, path, "batch_column", &t->batch_column))
    marks->batch_column = t->batch_column != NULL;
  if (get_str(c, map, path, "cursor_column", &t->cursor_column))
    marks->cursor_column = t->cursor_column != NULL;
  const cfg_node *chunk = get_map(c, map, path, "chunk");
  if (chunk != NULL) {
    char child[PATH_SIZE];
    pjoin(child, path, "chunk");
    check_keys(c, chunk, child, chunk_keys, N_OF(chunk_keys));
    bool by_set = get_enum(c, chunk, child, "by", chunk_bys, N_OF(chunk_bys), &v);
    if (by_set) t->chunk.by = (floe_config_chunk_by)v;
    if (get_int(c, chunk, child, "rows", 1, &t->chunk.rows) && !by_set)
      t->chunk.by = FLOE_CHUNK_BY_ROWS; /* {rows: N} says it all */
  }
  get_partition_by(c, map, path, t);
  if (get_enum(c, map, path, "mode", modes, N_OF(modes), &v)) t->mode = (floe_config_mode)v;
  if (get_enum(c, map, path, "overwrite", overwrites, N_OF(overwrites), &v)) {
    t->overwrite = (floe_config_overwrite)v;
    marks->overwrite = true;
  }
  get_str_list(c, map, path, "primary_key", &t->primary_key, &t->n_primary_key);
  if (get_str_list(c, map, path, "sort_by", &t->sort_by, &t->n_sort_by)) t->has_sort_by = true;
  const cfg_node *merge = get_map(c, map, path, "merge");
  if (merge != NULL) {
    char child[PATH_SIZE];
    pjoin(child, path, "merge");
    check_keys(c, merge, child, merge_keys, N_OF(merge_keys));
    if (get_enum(c, merge, child, "deletes", deletes_kinds, N_OF(deletes_kinds), &v))
      t->merge.deletes = (floe_config_merge_deletes)v;
    get_str(c, merge, child, "order_by", &t->merge.order_by);
    get_int(c, merge, child, "memory_mb", 1, &t->merge.memory_mb);
  }
  get_cdc(c, map, path, t);
  const cfg_node *validate = get_map(c, map, path, "validate");
  if (validate != NULL) {
    char child[PATH_SIZE];
    pjoin(child, path, "validate");
    check_keys(c, validate, child, validate_keys, N_OF(validate_keys));
    get_bool(c, validate, child, "count", &t->validate.count);
    get_bool(c, validate, child, "checksum", &t->validate.checksum);
  }
  get_maintenance(c, map, path, t);
  get_metadata_columns(c, map, path, t);
  get_str(c, map, path, "partition_column", &t->partition_column);
  get_str(c, map, path, "where", &t->where);
  if (get_enum(c, map, path, "on_source_behind", source_behinds, N_OF(source_behinds), &v))
    t->on_source_behind = (floe_config_on_source_behind)v;
  if (get_enum(c, map, path, "late_rows", late_rows_kinds, N_OF(late_rows_kinds), &v))
    t->late_rows = (floe_config_late_rows)v;
  get_properties(c, map, path, &t->properties, &t->n_properties);
  if (get_int(c, map, path, "start_after", 0, &t->start_after)) t->has_start_after = true;
  if (get_enum(c, map, path, "on_existing", on_existings, N_OF(on_existings), &v))
    t->on_existing = (floe_config_on_existing)v;

  if (marks->batch_column && marks->cursor_column) {
    char child[PATH_SIZE];
    pjoin(child, path, "cursor_column");
    cfg_diag(c->d, key_node(map, "cursor_column"), child,
             "both batch_column and cursor_column are set; a table advances by one of "
             "them (remove one)");
  } else if (marks->cursor_column) {
    floe_free(t->batch_column); /* the cursor replaces the inherited batch column */
    t->batch_column = NULL;
  } else if (marks->batch_column) {
    floe_free(t->cursor_column);
    t->cursor_column = NULL;
  }
}

/* The node that best locates `key` ("chunk.rows") of table `name`: the
 * table's own, else the defaults', else `fallback`. want_key picks the key
 * node rather than the value. */
static const cfg_node *table_node(ctx *c, const cfg_node *table_map, const char *key,
                                  bool want_key, const cfg_node *fallback) {
  const cfg_node *scopes[2] = {table_map, c->defaults_node};
  for (int s = 0; s < 2; s++) {
    const cfg_node *map = scopes[s];
    char buf[PATH_SIZE];
    snprintf(buf, sizeof buf, "%s", key);
    char *seg = buf;
    while (map != NULL && map->kind == CFG_MAPPING) {
      char *dot = strchr(seg, '.');
      if (dot != NULL) *dot = '\0';
      size_t i;
      const cfg_node *v = cfg_map_get(map, seg, &i);
      if (v == NULL) break;
      if (dot == NULL) return want_key ? map->keys[i] : v;
      map = v;
      seg = dot + 1;
    }
  }
  return fallback;
}

static void validate_table(ctx *c, const cfg_node *tmap, const cfg_node *tkey,
                           const floe_config_table *t, const char *path) {
  char kp[PATH_SIZE];
#define AT(key, want_key) table_node(c, tmap, key, want_key, tkey)
#define KP(key) (pjoin(kp, path, key), kp)
  bool ranged = t->strategy == FLOE_STRATEGY_INCREMENTAL || t->strategy == FLOE_STRATEGY_CHUNKED;
  if (ranged && t->batch_column == NULL && t->cursor_column == NULL)
    cfg_diag(c->d, AT("strategy", false), KP("batch_column"),
             "missing (strategy %s needs batch_column or cursor_column)",
             strategies[t->strategy]);
  if (t->strategy == FLOE_STRATEGY_CHUNKED && t->chunk.by == FLOE_CHUNK_BY_BATCH &&
      t->batch_column == NULL && t->cursor_column != NULL)
    cfg_diag(c->d, AT("chunk", true), KP("chunk.by"),
             "chunks by batch need batch_column; with cursor_column use chunk: {by: rows, "
             "rows: N}");
  /* An invalid rows value was reported where it was read; absent or null
   * (`rows:`) is missing. */
  const cfg_node *rows_value = table_node(c, tmap, "chunk.rows", false, NULL);
  if (t->chunk.by == FLOE_CHUNK_BY_ROWS && t->chunk.rows <= 0 &&
      (rows_value == NULL || cfg_node_is_null(rows_value)))
    cfg_diag(c->d, AT("chunk", true), KP("chunk.rows"),
             "missing (chunk.by rows needs rows: N, e.g. rows: 100000)");
  if (t->strategy == FLOE_STRATEGY_PARTITION && t->partition_column == NULL)
    cfg_diag(c->d, AT("strategy", false), KP("partition_column"),
             "missing (strategy partition loads one value of partition_column at a time)");
  if (t->has_start_after &&
      (t->batch_column == NULL || t->cdc.type == FLOE_CDC_STREAM ||
       t->cdc.type == FLOE_CDC_CHANGES))
    cfg_diag(c->d, AT("start_after", false), KP("start_after"),
             "start_after names a batch_sk, and this table advances by %s",
             t->batch_column == NULL ? "a cursor column or a load counter"
                                     : "a Snowflake stream or CHANGES window");
  if (t->mode == FLOE_MODE_OVERWRITE && t->overwrite == FLOE_OVERWRITE_PARTITIONS &&
      t->n_partition_by == 0)
    cfg_diag(c->d, AT("overwrite", false), KP("overwrite"),
             "overwrite partitions needs partition_by (the table is unpartitioned)");
  if (t->mode == FLOE_MODE_OVERWRITE && t->overwrite == FLOE_OVERWRITE_RANGE &&
      t->strategy == FLOE_STRATEGY_FULL)
    cfg_diag(c->d, AT("overwrite", false), KP("overwrite"),
             "overwrite range replaces the loaded batch range, and strategy full has none "
             "(use overwrite: table)");
  if (t->cdc.type != FLOE_CDC_NONE) {
    if (t->mode != FLOE_MODE_MERGE)
      cfg_diag(c->d, AT("cdc", true), KP("cdc"),
               "change capture applies updates and deletes, so it needs mode: merge (mode "
               "is %s)",
               modes[t->mode]);
    if (t->cdc.type == FLOE_CDC_OP_COLUMN && t->cdc.column == NULL)
      cfg_diag(c->d, AT("cdc", true), KP("cdc.column"),
               "missing (cdc type op_column needs the operation column, e.g. column: op)");
    if (t->cdc.type == FLOE_CDC_STREAM && t->cdc.stream == NULL)
      cfg_diag(c->d, AT("cdc", true), KP("cdc.stream"),
               "missing (cdc type stream needs the Snowflake stream name)");
    if ((t->cdc.type == FLOE_CDC_STREAM || t->cdc.type == FLOE_CDC_CHANGES) &&
        c->cfg->source.type != FLOE_CONFIG_SOURCE_SNOWFLAKE && value_of(c->root, "source") != NULL)
      cfg_diag(c->d, AT("cdc.type", false), KP("cdc.type"),
               "%s needs a snowflake source (source.type is %s)", cdc_types[t->cdc.type],
               source_types[c->cfg->source.type]);
    if (t->cdc.type == FLOE_CDC_HASH_DIFF && t->strategy != FLOE_STRATEGY_FULL)
      cfg_diag(c->d, AT("cdc.type", false), KP("cdc.type"),
               "hash_diff compares whole snapshots and needs strategy: full (strategy is "
               "%s)",
               strategies[t->strategy]);
  }
#undef AT
#undef KP
}

/* Splits "ns.table" (last dot) or takes the default namespace. */
static void set_target(ctx *c, floe_config_table *t, const cfg_node *node, const char *path) {
  const char *text = t->target_name;
  const char *dot = strrchr(text, '.');
  char *ns = dot ? floe_strndup(text, (size_t)(dot - text)) : xdup(c, c->cfg->target.default_namespace);
  char *name = xdup(c, dot ? dot + 1 : text);
  if (ns == NULL || name == NULL) {
    c->d->oom = true;
    floe_free(ns);
    floe_free(name);
    return;
  }
  if (name[0] == '\0' || strchr(name, '/') != NULL || strchr(name, '\\') != NULL ||
      !valid_identifier_path(ns)) {
    char shown[128];
    cfg_show_value(node, shown, sizeof shown);
    cfg_diag(c->d, node, path,
             "bad target %s (expected table or namespace.table; '/' is not allowed)", shown);
  }
  floe_free(t->target_namespace);
  floe_free(t->target_name);
  t->target_namespace = ns;
  t->target_name = name;
}

static void map_tables(ctx *c, const cfg_node *root) {
  floe_config *cfg = c->cfg;
  floe_config_table defaults;
  memset(&defaults, 0, sizeof defaults);
  table_marks defaults_marks = {0};
  defaults.strategy = FLOE_STRATEGY_INCREMENTAL;
  defaults.batch_column = xdup(c, "batch_sk");
  defaults.mode = FLOE_MODE_APPEND;
  defaults.validate.count = true;
  const cfg_node *dmap = get_map(c, root, "", "defaults");
  c->defaults_node = dmap;
  if (dmap != NULL) apply_table_keys(c, dmap, "defaults", &defaults, &defaults_marks, true);
  /* Inherited by every table: properties of the target first. */
  floe_config_property *own = defaults.properties;
  size_t n_own = defaults.n_properties;
  defaults.properties = NULL;
  defaults.n_properties = 0;
  for (size_t i = 0; i < cfg->target.n_properties; i++)
    property_put(c, &defaults.properties, &defaults.n_properties, cfg->target.properties[i].key,
                 cfg->target.properties[i].value);
  for (size_t i = 0; i < n_own; i++)
    property_put(c, &defaults.properties, &defaults.n_properties, own[i].key, own[i].value);
  free_properties(own, n_own);

  const cfg_node *tkey = key_node(root, "tables");
  const cfg_node *tables = cfg_map_get(root, "tables", NULL);
  if (tables == NULL) {
    cfg_diag(c->d, root, "tables", "missing (the tables to replicate: tables: {orders: {}})");
    goto cleanup;
  }
  if (tables->kind != CFG_MAPPING) {
    cfg_diag(c->d, cfg_node_is_null(tables) ? tkey : tables, "tables",
             "mapping of table names expected (tables: {orders: {source: ...}}), got %s",
             kind_text(tables));
    goto cleanup;
  }
  if (tables->n == 0) {
    cfg_diag(c->d, tkey, "tables", "no tables (add at least one)");
    goto cleanup;
  }
  cfg->tables = floe_calloc(tables->n, sizeof *cfg->tables);
  if (cfg->tables == NULL) {
    c->d->oom = true;
    goto cleanup;
  }
  for (size_t i = 0; i < tables->n && !c->d->oom; i++) {
    const cfg_node *name_node = tables->keys[i];
    const cfg_node *tmap = tables->items[i];
    char path[PATH_SIZE];
    pjoin(path, "tables", name_node->text);
    floe_config_table *t = &cfg->tables[cfg->n_tables++];
    copy_table(c, t, &defaults);
    set_str(c, &t->name, name_node->text);
    t->location.file = name_node->origin;
    t->location.line = name_node->line;
    t->location.column = name_node->column;
    if (name_node->text[0] == '\0') {
      cfg_diag(c->d, name_node, path, "empty table name");
      continue;
    }
    table_marks marks = defaults_marks;
    marks.batch_column = marks.cursor_column = false;
    if (!cfg_node_is_null(tmap)) {
      if (tmap->kind != CFG_MAPPING) {
        cfg_diag(c->d, tmap, path, "mapping expected (source:, target:, ...), got %s",
                 kind_text(tmap));
        continue;
      }
      apply_table_keys(c, tmap, path, t, &marks, false);
      get_checks(c, tmap, path, t);
      get_columns(c, tmap, path, t);
      get_changelog(c, tmap, path, t);
      get_str(c, tmap, path, "source", &t->source);
      get_str(c, tmap, path, "target", &t->target_name);
    } else {
      tmap = NULL;
    }
    if (t->source == NULL) set_str(c, &t->source, t->name);
    if (t->target_name == NULL) set_str(c, &t->target_name, t->name);
    if (c->d->oom) break;
    char target_path[PATH_SIZE];
    pjoin(target_path, path, "target");
    const cfg_node *target_node = tmap ? value_of(tmap, "target") : NULL;
    set_target(c, t, target_node ? target_node : name_node, target_path);
    if (!marks.overwrite && !defaults_marks.overwrite)
      t->overwrite = t->strategy == FLOE_STRATEGY_FULL ? FLOE_OVERWRITE_TABLE
                                                       : FLOE_OVERWRITE_RANGE;
    validate_table(c, tmap, name_node, t, path);
    for (size_t j = 0; j + 1 < cfg->n_tables && !c->d->oom; j++) {
      const floe_config_table *o = &cfg->tables[j];
      if (o->target_namespace && t->target_namespace && o->target_name && t->target_name &&
          strcmp(o->target_namespace, t->target_namespace) == 0 &&
          strcmp(o->target_name, t->target_name) == 0) {
        cfg_diag(c->d, target_node ? target_node : name_node, target_path,
                 "%s.%s is also the target of table %s (line %d)", t->target_namespace,
                 t->target_name, o->name, o->location.line);
        break;
      }
    }
  }
cleanup:
  free_table(&defaults);
}

static const char *const root_keys[] = {"version", "source",   "target", "control",
                                        "logging", "run",      "defaults", "tables"};

static void map_root(ctx *c, const cfg_node *root) {
  check_keys(c, root, "", root_keys, N_OF(root_keys));
  int64_t version = 1;
  if (get_int(c, root, "", "version", 0, &version) && version != 1)
    cfg_diag(c->d, cfg_map_get(root, "version", NULL), "version",
             "unsupported version %lld (this floe reads version 1)", (long long)version);
  c->cfg->version = (int)version;
  map_source(c, root);
  map_target(c, root);
  map_control_logging_run(c, root);
  map_tables(c, root);
}

/* ---- overrides ----------------------------------------------------------- */

/* The key of `map` that `rest` starts with (whole segments; longest wins, so
 * keys holding dots such as table names and properties work). */
static size_t match_key(const cfg_node *map, const char *rest, size_t *key_len) {
  size_t best = SIZE_MAX, best_len = 0;
  for (size_t i = 0; i < map->n; i++) {
    const char *k = map->keys[i]->text;
    size_t len = strlen(k);
    if (len > best_len && strncmp(rest, k, len) == 0 && (rest[len] == '\0' || rest[len] == '.')) {
      best = i;
      best_len = len;
    }
  }
  *key_len = best_len;
  return best;
}

static int apply_override(ctx *c, cfg_node **rootp, const char *text) {
  cfg_diags *d = c->d;
  const char *origin = cfg_diags_intern(d, "override");
  const char *eq = strchr(text, '=');
  int rc = FLOE_OK;
  char *path = NULL;
  cfg_node *value = NULL;
  if (eq == NULL || eq == text) {
    char key[PATH_SIZE];
    snprintf(key, sizeof key, "%.*s", eq ? 0 : (int)strcspn(text, "="), text);
    cfg_diag_at(d, origin, 0, 0, key, "expected key.path=value");
    return FLOE_EINVAL;
  }
  path = floe_strndup(text, (size_t)(eq - text));
  if (path == NULL) goto oom;
  const char *raw = eq + 1;
  if (raw[0] == '[' || raw[0] == '{' || raw[0] == '"' || raw[0] == '\'') {
    rc = cfg_yaml_parse(&value, raw, strlen(raw), origin, false, path, d);
    if (rc != FLOE_OK) goto cleanup;
    if (value == NULL) {
      value = cfg_node_new(CFG_SCALAR, origin, 0, 0);
      if (value == NULL || (value->text = floe_strdup("")) == NULL) goto oom;
      value->plain = true;
    }
  } else {
    value = cfg_node_new(CFG_SCALAR, origin, 0, 0);
    if (value == NULL || (value->text = floe_strdup(raw)) == NULL) goto oom;
    value->plain = true;
  }
  if (*rootp == NULL) {
    *rootp = cfg_node_new(CFG_MAPPING, origin, 0, 0);
    if (*rootp == NULL) goto oom;
  }
  cfg_node *map = *rootp;
  const char *rest = path;
  bool in_properties = false, in_tables = false;
  for (;;) {
    size_t key_len = 0;
    size_t index = SIZE_MAX;
    if (in_properties) {
      key_len = strlen(rest); /* property names hold dots */
      cfg_map_get(map, rest, &index);
    } else {
      index = match_key(map, rest, &key_len);
      if (index == SIZE_MAX) {
        key_len = strcspn(rest, ".");
        if (in_tables) {
          char name[PATH_SIZE], where[PATH_SIZE];
          snprintf(name, sizeof name, "%.*s", (int)key_len, rest);
          pjoin(where, "tables", name);
          const char *names[64];
          size_t n = 0;
          for (size_t i = 0; i < map->n && n < 64; i++) names[n++] = map->keys[i]->text;
          const char *guess = cfg_suggest(name, names, n);
          char hint[PATH_SIZE + 32] = "";
          if (guess != NULL) snprintf(hint, sizeof hint, " (did you mean %s?)", guess);
          cfg_diag_at(d, origin, 0, 0, where, "no table named '%s' in %s%s", name,
                      c->cfg->path, hint);
          rc = FLOE_EINVAL;
          goto cleanup;
        }
      }
    }
    if (key_len == 0) {
      cfg_diag_at(d, origin, 0, 0, path, "empty key in the path");
      rc = FLOE_EINVAL;
      goto cleanup;
    }
    bool last = rest[key_len] == '\0';
    if (index == SIZE_MAX) {
      cfg_node *key = cfg_node_new(CFG_SCALAR, origin, 0, 0);
      cfg_node *child = last ? value : cfg_node_new(CFG_MAPPING, origin, 0, 0);
      if (key == NULL || child == NULL || (key->text = floe_strndup(rest, key_len)) == NULL ||
          cfg_node_push(map, key, child) != 0) {
        cfg_node_free(key);
        if (!last) cfg_node_free(child);
        goto oom;
      }
      key->plain = true;
      if (last) {
        value = NULL; /* now owned by the tree */
        break;
      }
      index = map->n - 1;
    } else if (last) {
      cfg_node_free(map->items[index]);
      map->items[index] = value;
      value = NULL;
      break;
    }
    cfg_node *child = map->items[index];
    if (cfg_node_is_null(child)) {
      cfg_node *fresh = cfg_node_new(CFG_MAPPING, origin, 0, 0);
      if (fresh == NULL) goto oom;
      cfg_node_free(child);
      map->items[index] = child = fresh;
    }
    if (child->kind != CFG_MAPPING) {
      char prefix[PATH_SIZE];
      snprintf(prefix, sizeof prefix, "%.*s", (int)(rest + key_len - path), path);
      cfg_diag_at(d, origin, 0, 0, path, "%s is %s, not a mapping", prefix, kind_text(child));
      rc = FLOE_EINVAL;
      goto cleanup;
    }
    const char *key_text = map->keys[index]->text;
    in_tables = map == *rootp && strcmp(key_text, "tables") == 0;
    in_properties = strcmp(key_text, "properties") == 0;
    map = child;
    rest += key_len + 1;
  }
  goto cleanup;
oom:
  d->oom = true;
  rc = FLOE_ENOMEM;
cleanup:
  cfg_node_free(value);
  floe_free(path);
  return rc;
}

/* ---- load ---------------------------------------------------------------- */

void floe_config_init(floe_config *cfg) {
  if (cfg != NULL) memset(cfg, 0, sizeof *cfg);
}

static void finish_error(floe_config *cfg, int rc, floe_error *err) {
  cfg_diags *d = &cfg->priv->diags;
  cfg_diags_sort(d);
  if (rc == FLOE_ENOMEM || d->oom) {
    floe_error_set(err, FLOE_ENOMEM, "%s: out of memory while loading the configuration",
                   cfg->path ? cfg->path : "config");
    return;
  }
  if (d->n == 0) {
    floe_error_set(err, rc, "%s: invalid configuration", cfg->path ? cfg->path : "config");
  } else if (d->n == 1) {
    floe_error_set(err, rc, "%s", d->messages[0]);
  } else {
    floe_error_set(err, rc, "%s (and %zu more error%s)", d->messages[0], d->n - 1,
                   d->n == 2 ? "" : "s");
  }
}

static int load_text(floe_config *cfg, const char *name, const char *text, size_t len,
                     const char *base_dir, const char *const *overrides, size_t n_overrides,
                     floe_error *err) {
  int rc = FLOE_OK;
  cfg->priv = floe_calloc(1, sizeof *cfg->priv);
  if (cfg->priv == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  cfg_diags *d = &cfg->priv->diags;
  cfg->path = floe_strdup(name);
  if (cfg->path == NULL) {
    rc = FLOE_ENOMEM;
    goto done;
  }
  if (base_dir != NULL && (cfg->priv->base_dir = floe_strdup(base_dir)) == NULL) {
    rc = FLOE_ENOMEM;
    goto done;
  }
  const char *origin = cfg_diags_intern(d, name);
  rc = cfg_yaml_parse(&cfg->priv->root, text, len, origin, true, NULL, d);
  if (rc != FLOE_OK) goto done;
  ctx c = {cfg, d, cfg->priv->base_dir, NULL, NULL, false};
  for (size_t i = 0; i < n_overrides; i++) {
    if (apply_override(&c, &cfg->priv->root, overrides[i]) == FLOE_ENOMEM) {
      rc = FLOE_ENOMEM;
      goto done;
    }
  }
  cfg_node *root = cfg->priv->root;
  if (root == NULL || root->kind != CFG_MAPPING) {
    cfg_diag_at(d, origin, root ? root->line : 1, root ? root->column : 1, NULL,
                "%s; a floe configuration is a mapping with version, source, target and "
                "tables (floe init prints a sample)",
                root == NULL ? "the file is empty" : "not a mapping");
    rc = FLOE_EINVAL;
    goto done;
  }
  cfg_interpolate(root, "", cfg->priv->base_dir, d);
  {
    /* connections.toml fills in what the job's snowflake source leaves out. */
    cfg_node *source = cfg_map_get(root, "source", NULL);
    const cfg_node *type = cfg_map_get(source, "type", NULL);
    if (type != NULL && type->kind == CFG_SCALAR && strcmp(type->text, "snowflake") == 0) {
      int connection_rc = cfg_snowflake_connection(source, d);
      if (connection_rc == FLOE_ENOMEM) {
        rc = FLOE_ENOMEM;
        goto done;
      }
      c.connection_failed = connection_rc < 0;
    }
  }
  c.root = root;
  map_root(&c, root);
  rc = d->oom ? FLOE_ENOMEM : d->n > 0 ? FLOE_EINVAL : FLOE_OK;
done:
  if (d->oom) rc = FLOE_ENOMEM;
  if (rc != FLOE_OK) finish_error(cfg, rc, err);
  return rc;
}

int floe_config_load_string(floe_config *cfg, const char *name, const char *text, size_t len,
                            const char *const *overrides, size_t n_overrides,
                            floe_error *err) {
  floe_config_init(cfg);
  return load_text(cfg, name, text, len, NULL, overrides, n_overrides, err);
}

int floe_config_load(floe_config *cfg, const char *path, const char *const *overrides,
                     size_t n_overrides, floe_error *err) {
  floe_config_init(cfg);
  int rc = FLOE_OK;
  floe_buf text = FLOE_BUF_INIT;
  char *dir = NULL;
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    rc = floe_error_errno(err, errno, "cannot read configuration %s", path);
    goto cleanup;
  }
  char chunk[8192];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (floe_buf_append(&text, chunk, got) != 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory reading %s", path);
      goto cleanup;
    }
  }
  if (ferror(f)) {
    rc = floe_error_errno(err, errno, "cannot read configuration %s", path);
    goto cleanup;
  }
  const char *slash = strrchr(path, '/');
  if (slash != NULL) {
    dir = floe_strndup(path, slash == path ? 1 : (size_t)(slash - path));
    if (dir == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
  }
  rc = load_text(cfg, path, text.data ? (const char *)text.data : "", text.len, dir, overrides,
                 n_overrides, err);
cleanup:
  if (f != NULL) fclose(f);
  floe_buf_free(&text);
  floe_free(dir);
  return rc;
}

size_t floe_config_error_count(const floe_config *cfg) {
  return cfg != NULL && cfg->priv != NULL ? cfg->priv->diags.n : 0;
}

const char *floe_config_error_message(const floe_config *cfg, size_t index) {
  if (index >= floe_config_error_count(cfg)) return NULL;
  return cfg->priv->diags.messages[index];
}

void floe_config_free(floe_config *cfg) {
  if (cfg == NULL) return;
  floe_free(cfg->path);
  floe_config_source *s = &cfg->source;
  char **strings[] = {&s->path,     &s->conninfo,  &s->password_env, &s->password,
                      &s->account,  &s->user,      &s->private_key_file,
                      &s->private_key_passphrase_env, &s->token_env, &s->token,
                      &s->warehouse, &s->role,     &s->database,     &s->schema,
                      &s->host,     &s->connection, &s->query_tag, &cfg->target.warehouse, &cfg->target.catalog.uri,
                      &cfg->target.catalog.name, &cfg->target.catalog.token,
                      &cfg->target.storage.region, &cfg->target.storage.endpoint,
                      &cfg->target.storage.profile, &cfg->target.storage.access_key_id,
                      &cfg->target.storage.secret_access_key,
                      &cfg->target.storage.session_token, &cfg->target.storage.sts_endpoint,
                      &cfg->target.catalog.warehouse, &cfg->target.catalog.credential,
                      &cfg->target.catalog.scope, &cfg->target.catalog.oauth2_server_uri,
                      &cfg->target.catalog.access_delegation, &cfg->target.catalog.sigv4_region,
                      &cfg->target.catalog.sigv4_signing_name,
                      &cfg->target.catalog.sigv4_access_key_id,
                      &cfg->target.catalog.sigv4_secret_access_key,
                      &cfg->target.catalog.sigv4_session_token,
                      &cfg->target.default_namespace, &cfg->control.table,
                      &cfg->control.schema, &cfg->logging.file, &cfg->run.report,
                      &cfg->run.spill_dir};
  for (size_t i = 0; i < N_OF(strings); i++) floe_free(*strings[i]);
  free_properties(cfg->target.properties, cfg->target.n_properties);
  free_properties(cfg->target.catalog.headers, cfg->target.catalog.n_headers);
  for (size_t i = 0; i < cfg->n_tables; i++) free_table(&cfg->tables[i]);
  floe_free(cfg->tables);
  if (cfg->priv != NULL) {
    cfg_diags_free(&cfg->priv->diags);
    cfg_node_free(cfg->priv->root);
    floe_free(cfg->priv->base_dir);
    floe_free(cfg->priv);
  }
  memset(cfg, 0, sizeof *cfg);
}

const floe_config_table *floe_config_table_find(const floe_config *cfg, const char *name) {
  if (cfg == NULL || name == NULL) return NULL;
  for (size_t i = 0; i < cfg->n_tables; i++)
    if (strcmp(cfg->tables[i].name, name) == 0) return &cfg->tables[i];
  return NULL;
}

/* Walks key_path through mappings (longest key match per step); returns the
 * key node of the last segment, or NULL. */
static const cfg_node *walk_keys(const cfg_node *map, const char *key_path,
                                 const cfg_node **deepest_key) {
  const char *rest = key_path;
  while (map != NULL && map->kind == CFG_MAPPING) {
    size_t len;
    size_t i = match_key(map, rest, &len);
    if (i == SIZE_MAX) return NULL;
    if (deepest_key != NULL) *deepest_key = map->keys[i];
    if (rest[len] == '\0') return map->keys[i];
    map = map->items[i];
    rest += len + 1;
  }
  return NULL;
}

int floe_config_locate(const floe_config *cfg, const char *key_path, floe_config_location *out) {
  if (cfg == NULL || cfg->priv == NULL || cfg->priv->root == NULL || key_path == NULL)
    return FLOE_ENOTFOUND;
  const cfg_node *root = cfg->priv->root;
  const cfg_node *found = walk_keys(root, key_path, NULL);
  if (found == NULL && strncmp(key_path, "tables.", 7) == 0) {
    /* tables.<name>.<key>: inherited from defaults, else the table entry. */
    const cfg_node *tables = cfg_map_get(root, "tables", NULL);
    size_t len;
    size_t i = tables && tables->kind == CFG_MAPPING ? match_key(tables, key_path + 7, &len)
                                                     : SIZE_MAX;
    if (i != SIZE_MAX) {
      const char *rest = key_path + 7 + len;
      if (*rest == '.') {
        char defaults_path[PATH_SIZE];
        snprintf(defaults_path, sizeof defaults_path, "defaults%s", rest);
        found = walk_keys(root, defaults_path, NULL);
      }
      if (found == NULL) found = tables->keys[i];
    }
  }
  if (found == NULL) return FLOE_ENOTFOUND;
  out->file = found->origin;
  out->line = found->line;
  out->column = found->column;
  return FLOE_OK;
}
