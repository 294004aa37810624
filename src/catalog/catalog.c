/*
 * catalog/catalog: the generic front of floe's catalogs.
 *
 * Every floe_catalog_* call lands here first: identifiers are checked once
 * (dotted namespaces with non-empty levels, names without '/' or '.', at
 * most 255 bytes to fit the JDBC schema's VARCHAR(255) columns), defaults
 * are filled in, and the kind's operation runs behind the catalog_ops table
 * (catalog_internal.h). Errors gain the context the caller needs to act on
 * them: "catalog sql 'prod': table sales.orders: commit: ...". The helpers
 * that both kinds need (paths, name lists, bounded metadata reads) live
 * here too.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "core/debug.h"

#define DEFAULT_MAX_METADATA_BYTES ((size_t)64 << 20)
#define MAX_IDENT_BYTES 255

/* ---- value types ---------------------------------------------------------- */

void floe_catalog_table_reset(floe_catalog_table *table) {
  if (table == NULL) return;
  floe_free(table->metadata_location);
  floe_free(table->previous_metadata_location);
  floe_free(table->metadata_json);
  for (size_t i = 0; i < table->config_count; i++) {
    floe_free(table->config_keys[i]);
    floe_free(table->config_values[i]);
  }
  floe_free(table->config_keys);
  floe_free(table->config_values);
  memset(table, 0, sizeof *table);
}

void floe_catalog_names_reset(floe_catalog_names *names) {
  if (names == NULL) return;
  for (size_t i = 0; i < names->count; i++) floe_free(names->items[i]);
  floe_free(names->items);
  names->items = NULL;
  names->count = 0;
}

void floe_catalog_properties_reset(floe_catalog_properties *props) {
  if (props == NULL) return;
  for (size_t i = 0; i < props->count; i++) {
    floe_free(props->keys[i]);
    floe_free(props->values[i]);
  }
  floe_free(props->keys);
  floe_free(props->values);
  props->keys = NULL;
  props->values = NULL;
  props->count = 0;
}

/* ---- shared helpers ------------------------------------------------------- */

int catalog_join(const char *a, const char *b, char **out, floe_error *err) {
  size_t alen = strlen(a);
  while (alen > 0 && a[alen - 1] == '/') alen--;
  while (*b == '/') b++;
  size_t blen = strlen(b);
  char *s = floe_malloc(alen + 1 + blen + 1);
  if (s == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "path %s/%s: out of memory", a, b);
  memcpy(s, a, alen);
  s[alen] = '/';
  memcpy(s + alen + 1, b, blen + 1);
  *out = s;
  return FLOE_OK;
}

int catalog_ns_path(floe_catalog *c, const char *ns, const char *name,
                    char **out, floe_error *err) {
  floe_buf buf = FLOE_BUF_INIT;
  int rc = floe_buf_append_str(&buf, c->warehouse);
  if (rc == FLOE_OK && ns != NULL && ns[0] != '\0') {
    rc = floe_buf_append_byte(&buf, '/');
    for (const char *p = ns; rc == FLOE_OK && *p; p++)
      rc = floe_buf_append_byte(&buf, *p == '.' ? '/' : (uint8_t)*p);
  }
  if (rc == FLOE_OK && name != NULL) {
    rc = floe_buf_append_byte(&buf, '/');
    if (rc == FLOE_OK) rc = floe_buf_append_str(&buf, name);
  }
  if (rc == FLOE_OK) rc = floe_buf_terminate(&buf);
  if (rc < 0) {
    floe_buf_free(&buf);
    return floe_error_set(err, FLOE_ENOMEM, "path of %s: out of memory",
                          ns ? ns : "");
  }
  *out = (char *)floe_buf_detach(&buf, NULL);
  return FLOE_OK;
}

int catalog_names_add(floe_catalog_names *names, const char *s,
                      floe_error *err) {
  char *copy = floe_strdup(s);
  char **grown = copy ? floe_realloc(names->items,
                                     (names->count + 1) * sizeof *grown)
                      : NULL;
  if (grown == NULL) {
    floe_free(copy);
    return floe_error_set(err, FLOE_ENOMEM, "name list: out of memory");
  }
  names->items = grown;
  names->items[names->count++] = copy;
  return FLOE_OK;
}

static int str_ptr_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void catalog_names_sort_unique(floe_catalog_names *names) {
  if (names->count < 2) return;
  qsort(names->items, names->count, sizeof *names->items, str_ptr_cmp);
  size_t kept = 1;
  for (size_t i = 1; i < names->count; i++) {
    if (strcmp(names->items[i], names->items[kept - 1]) == 0)
      floe_free(names->items[i]);
    else
      names->items[kept++] = names->items[i];
  }
  names->count = kept;
}

int catalog_properties_add(floe_catalog_properties *props, const char *key,
                           const char *value, floe_error *err) {
  char *k = floe_strdup(key);
  char *v = floe_strdup(value ? value : "");
  char **keys = NULL, **values = NULL;
  if (k != NULL && v != NULL) {
    keys = floe_realloc(props->keys, (props->count + 1) * sizeof *keys);
    if (keys != NULL) {
      props->keys = keys;
      values = floe_realloc(props->values, (props->count + 1) * sizeof *values);
      if (values != NULL) props->values = values;
    }
  }
  if (values == NULL) {
    floe_free(k);
    floe_free(v);
    return floe_error_set(err, FLOE_ENOMEM, "property list: out of memory");
  }
  props->keys[props->count] = k;
  props->values[props->count] = v;
  props->count++;
  return FLOE_OK;
}

void catalog_properties_sort(floe_catalog_properties *props) {
  /* Insertion sort: property lists are short. */
  for (size_t i = 1; i < props->count; i++) {
    char *k = props->keys[i], *v = props->values[i];
    size_t j = i;
    while (j > 0 && strcmp(props->keys[j - 1], k) > 0) {
      props->keys[j] = props->keys[j - 1];
      props->values[j] = props->values[j - 1];
      j--;
    }
    props->keys[j] = k;
    props->values[j] = v;
  }
}

int catalog_read_metadata(floe_catalog *c, const char *location,
                          floe_catalog_table *out, floe_error *err) {
  char *json = NULL;
  size_t len = 0;
  int rc = floe_io_read_all(c->io, location, c->max_metadata_bytes, &json,
                            &len, err);
  if (rc < 0) {
    floe_error_prefix(err, "read metadata");
    return rc;
  }
  floe_free(out->metadata_json);
  out->metadata_json = json;
  out->metadata_json_len = len;
  return FLOE_OK;
}

int catalog_dirname(const char *location, char **out, floe_error *err) {
  const char *slash = strrchr(location, '/');
  if (slash == NULL)
    return floe_error_set(err, FLOE_EINVAL, "location '%s' has no directory",
                          location);
  *out = floe_strndup(location, (size_t)(slash - location));
  if (*out == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "location %s: out of memory",
                          location);
  return FLOE_OK;
}

/* ---- validation ----------------------------------------------------------- */

static int check_ns(const char *ns, int allow_empty, floe_error *err) {
  if (ns == NULL || ns[0] == '\0') {
    if (allow_empty) return FLOE_OK;
    return floe_error_set(err, FLOE_EINVAL, "namespace is empty");
  }
  size_t len = strlen(ns);
  if (len > MAX_IDENT_BYTES)
    return floe_error_set(err, FLOE_EINVAL,
                          "namespace '%.40s...' is %zu bytes, more than %d",
                          ns, len, MAX_IDENT_BYTES);
  if (ns[0] == '.' || ns[len - 1] == '.' || strstr(ns, "..") != NULL)
    return floe_error_set(err, FLOE_EINVAL,
                          "namespace '%s' has an empty level", ns);
  for (const char *p = ns; *p; p++)
    if (*p == '/' || (unsigned char)*p < 0x20)
      return floe_error_set(err, FLOE_EINVAL,
                            "namespace '%s' contains '/' or a control "
                            "character", ns);
  return FLOE_OK;
}

static int check_name(const char *name, floe_error *err) {
  if (name == NULL || name[0] == '\0')
    return floe_error_set(err, FLOE_EINVAL, "table name is empty");
  size_t len = strlen(name);
  if (len > MAX_IDENT_BYTES)
    return floe_error_set(err, FLOE_EINVAL,
                          "table name '%.40s...' is %zu bytes, more than %d",
                          name, len, MAX_IDENT_BYTES);
  for (const char *p = name; *p; p++)
    if (*p == '/' || *p == '.' || (unsigned char)*p < 0x20)
      return floe_error_set(err, FLOE_EINVAL,
                            "table name '%s' contains '/', '.' or a control "
                            "character", name);
  return FLOE_OK;
}

static int check_ident(floe_catalog_ident ident, floe_error *err) {
  int rc = check_ns(ident.ns, 0, err);
  if (rc == FLOE_OK) rc = check_name(ident.name, err);
  return rc;
}

/* Prefixes "catalog <kind> '<name>': " and passes rc through. */
static int with_context(floe_catalog *c, int rc, floe_error *err) {
  if (rc < 0) floe_error_prefix(err, "catalog %s '%s'", c->ops->kind, c->name);
  return rc;
}

static int table_context(floe_catalog *c, floe_catalog_ident ident,
                         const char *what, int rc, floe_error *err) {
  if (rc < 0) {
    floe_error_prefix(err, "table %s.%s: %s", ident.ns ? ident.ns : "",
                      ident.name ? ident.name : "", what);
    with_context(c, rc, err);
  }
  return rc;
}

static int ns_context(floe_catalog *c, const char *ns, const char *what,
                      int rc, floe_error *err) {
  if (rc < 0) {
    floe_error_prefix(err, "namespace '%s': %s", ns ? ns : "", what);
    with_context(c, rc, err);
  }
  return rc;
}

/* ---- open / free ---------------------------------------------------------- */

int floe_catalog_open(const floe_catalog_config *config, floe_catalog **out,
                      floe_error *err) {
  int rc = FLOE_OK;
  floe_catalog *c = NULL;
  *out = NULL;
  if (config == NULL)
    return floe_error_set(err, FLOE_EINVAL, "catalog: no configuration");
  if (config->type != FLOE_CATALOG_HADOOP && config->type != FLOE_CATALOG_SQL &&
      config->type != FLOE_CATALOG_REST)
    return floe_error_set(err, FLOE_EINVAL, "catalog: unknown type %d "
                          "(expected hadoop, sql or rest)", (int)config->type);
  /* A rest server chooses table locations itself; the others need one. */
  if (config->type != FLOE_CATALOG_REST &&
      (config->warehouse == NULL || config->warehouse[0] == '\0'))
    return floe_error_set(err, FLOE_EINVAL, "catalog: no warehouse location "
                          "configured");
  const char *name = config->name ? config->name : "floe";
  if (name[0] == '\0' || strlen(name) > MAX_IDENT_BYTES)
    return floe_error_set(err, FLOE_EINVAL, "catalog: name must be 1 to %d "
                          "bytes", MAX_IDENT_BYTES);
  c = floe_calloc(1, sizeof *c);
  if (c == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "catalog: out of memory");
  c->name = floe_strdup(name);
  c->warehouse = floe_strdup(config->warehouse ? config->warehouse : "");
  if (c->name == NULL || c->warehouse == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "catalog: out of memory");
    goto cleanup;
  }
  size_t wlen = strlen(c->warehouse);
  while (wlen > 1 && c->warehouse[wlen - 1] == '/') c->warehouse[--wlen] = '\0';
  c->max_metadata_bytes = config->max_metadata_bytes
                              ? config->max_metadata_bytes
                              : DEFAULT_MAX_METADATA_BYTES;
  if (config->io != NULL) {
    c->io = config->io;
  } else {
    floe_io_options options;
    memset(&options, 0, sizeof options);
    if (config->storage != NULL) options = *config->storage;
    options.local.durable = config->durable >= 0 ? 1 : 0;
    FLOE_TRY(floe_io_open_for(c->warehouse, &options, &c->io, err));
    c->owns_io = 1;
  }
  if (config->type == FLOE_CATALOG_HADOOP)
    rc = catalog_hadoop_open(c, config, err);
  else if (config->type == FLOE_CATALOG_SQL)
    rc = catalog_sql_open(c, config, err);
  else
    rc = catalog_rest_open(c, config, err);
  if (rc < 0) {
    floe_error_prefix(err, "catalog %s '%s'",
                      config->type == FLOE_CATALOG_HADOOP ? "hadoop"
                      : config->type == FLOE_CATALOG_SQL  ? "sql"
                                                          : "rest",
                      name);
    goto cleanup;
  }
  *out = c;
  c = NULL;
cleanup:
  floe_catalog_free(c);
  return rc;
}

void floe_catalog_free(floe_catalog *c) {
  if (c == NULL) return;
  if (c->ops != NULL) c->ops->destroy(c);
  if (c->owns_io) floe_io_free(c->io);
  floe_free(c->name);
  floe_free(c->warehouse);
  floe_free(c);
}

const char *floe_catalog_name(const floe_catalog *c) { return c->name; }

floe_io *floe_catalog_io(floe_catalog *c) { return c->io; }

int floe_catalog_server_writes_metadata(const floe_catalog *c) {
  return c->ops->server_writes_metadata;
}

/* ---- namespaces ------------------------------------------------------------ */

int floe_catalog_namespace_create(floe_catalog *c, const char *ns,
                                  const floe_catalog_property *props,
                                  size_t count, floe_error *err) {
  int rc = check_ns(ns, 0, err);
  for (size_t i = 0; rc == FLOE_OK && i < count; i++)
    if (props[i].key == NULL || props[i].key[0] == '\0')
      rc = floe_error_set(err, FLOE_EINVAL, "property %zu has an empty key",
                          i);
  if (rc == FLOE_OK) rc = c->ops->namespace_create(c, ns, props, count, err);
  return ns_context(c, ns, "create", rc, err);
}

int floe_catalog_namespace_exists(floe_catalog *c, const char *ns,
                                  int *out_exists, floe_error *err) {
  *out_exists = 0;
  int rc = check_ns(ns, 0, err);
  if (rc == FLOE_OK) rc = c->ops->namespace_exists(c, ns, out_exists, err);
  return ns_context(c, ns, "exists", rc, err);
}

int floe_catalog_namespace_list(floe_catalog *c, const char *parent,
                                floe_catalog_names *out, floe_error *err) {
  out->items = NULL;
  out->count = 0;
  int rc = check_ns(parent, 1, err);
  if (rc == FLOE_OK) rc = c->ops->namespace_list(c, parent ? parent : "", out,
                                                 err);
  if (rc < 0) floe_catalog_names_reset(out);
  else catalog_names_sort_unique(out);
  return ns_context(c, parent, "list namespaces", rc, err);
}

int floe_catalog_namespace_properties(floe_catalog *c, const char *ns,
                                      floe_catalog_properties *out,
                                      floe_error *err) {
  memset(out, 0, sizeof *out);
  int rc = check_ns(ns, 0, err);
  if (rc == FLOE_OK) rc = c->ops->namespace_properties(c, ns, out, err);
  if (rc < 0) floe_catalog_properties_reset(out);
  else catalog_properties_sort(out);
  return ns_context(c, ns, "properties", rc, err);
}

int floe_catalog_namespace_drop(floe_catalog *c, const char *ns,
                                floe_error *err) {
  int rc = check_ns(ns, 0, err);
  if (rc == FLOE_OK) rc = c->ops->namespace_drop(c, ns, err);
  return ns_context(c, ns, "drop", rc, err);
}

/* ---- tables ----------------------------------------------------------------- */

int floe_catalog_default_location(floe_catalog *c, floe_catalog_ident ident,
                                  char **out, floe_error *err) {
  *out = NULL;
  int rc = check_ident(ident, err);
  if (rc == FLOE_OK) rc = catalog_ns_path(c, ident.ns, ident.name, out, err);
  return table_context(c, ident, "default location", rc, err);
}

int floe_catalog_table_create(floe_catalog *c, floe_catalog_ident ident,
                              const char *location, const char *json,
                              size_t len, floe_catalog_table *out,
                              floe_error *err) {
  int rc = check_ident(ident, err);
  if (rc == FLOE_OK && (json == NULL || len == 0))
    rc = floe_error_set(err, FLOE_EINVAL, "no metadata JSON given");
  if (rc == FLOE_OK && location != NULL && location[0] == '\0')
    rc = floe_error_set(err, FLOE_EINVAL, "empty location");
  if (rc == FLOE_OK)
    rc = c->ops->table_create(c, ident, location, json, len, err);
  if (rc == FLOE_OK && out != NULL) {
    floe_catalog_table_reset(out);
    rc = c->ops->table_load(c, ident, out, err);
    if (rc < 0) floe_catalog_table_reset(out);
  }
  return table_context(c, ident, "create", rc, err);
}

int floe_catalog_table_load(floe_catalog *c, floe_catalog_ident ident,
                            floe_catalog_table *out, floe_error *err) {
  floe_catalog_table_reset(out);
  out->version = -1;
  int rc = check_ident(ident, err);
  if (rc == FLOE_OK) rc = c->ops->table_load(c, ident, out, err);
  if (rc < 0) floe_catalog_table_reset(out);
  return table_context(c, ident, "load", rc, err);
}

int floe_catalog_table_exists(floe_catalog *c, floe_catalog_ident ident,
                              int *out_exists, floe_error *err) {
  *out_exists = 0;
  int rc = check_ident(ident, err);
  if (rc == FLOE_OK) rc = c->ops->table_exists(c, ident, out_exists, err);
  return table_context(c, ident, "exists", rc, err);
}

int floe_catalog_table_list(floe_catalog *c, const char *ns,
                            floe_catalog_names *out, floe_error *err) {
  out->items = NULL;
  out->count = 0;
  int rc = check_ns(ns, 0, err);
  if (rc == FLOE_OK) rc = c->ops->table_list(c, ns, out, err);
  if (rc < 0) floe_catalog_names_reset(out);
  else catalog_names_sort_unique(out);
  return ns_context(c, ns, "list tables", rc, err);
}

int floe_catalog_table_drop(floe_catalog *c, floe_catalog_ident ident,
                            int purge, floe_error *err) {
  int rc = check_ident(ident, err);
  if (rc == FLOE_OK) rc = c->ops->table_drop(c, ident, purge, err);
  return table_context(c, ident, "drop", rc, err);
}

int floe_catalog_table_rename(floe_catalog *c, floe_catalog_ident from,
                              floe_catalog_ident to, floe_error *err) {
  int rc = check_ident(from, err);
  if (rc == FLOE_OK) rc = check_ident(to, err);
  if (rc == FLOE_OK) rc = c->ops->table_rename(c, from, to, err);
  if (rc < 0) {
    floe_error_prefix(err, "to %s.%s", to.ns ? to.ns : "",
                      to.name ? to.name : "");
    table_context(c, from, "rename", rc, err);
  }
  return rc;
}

static int commit_front(floe_catalog *c, floe_catalog_ident ident,
                        const char *expected_location, const char *json,
                        size_t len, char **out_location,
                        floe_catalog_table *out_state, floe_error *err) {
  char *location = NULL;
  if (out_location != NULL) *out_location = NULL;
  int rc = check_ident(ident, err);
  if (rc == FLOE_OK && (expected_location == NULL ||
                        expected_location[0] == '\0'))
    rc = floe_error_set(err, FLOE_EINVAL, "no expected metadata location");
  if (rc == FLOE_OK && (json == NULL || len == 0))
    rc = floe_error_set(err, FLOE_EINVAL, "no metadata JSON given");
  if (rc == FLOE_OK) {
    floe_debug_crash_point("before_catalog_commit");
    rc = c->ops->commit(c, ident, expected_location, json, len, &location,
                        out_state, err);
    if (rc == FLOE_OK) floe_debug_crash_point("after_catalog_commit");
  }
  if (out_location != NULL) *out_location = location;
  else floe_free(location);
  return table_context(c, ident, "commit", rc, err);
}

int floe_catalog_commit(floe_catalog *c, floe_catalog_ident ident,
                        const char *expected_location, const char *json,
                        size_t len, char **out_location, floe_error *err) {
  return commit_front(c, ident, expected_location, json, len, out_location,
                      NULL, err);
}

int floe_catalog_commit_table(floe_catalog *c, floe_catalog_ident ident,
                              const char *expected_location, const char *json,
                              size_t len, floe_catalog_table *out,
                              floe_error *err) {
  char *location = NULL;
  floe_catalog_table_reset(out);
  out->version = -1;
  int rc = commit_front(c, ident, expected_location, json, len, &location,
                        out, err);
  if (rc < 0) {
    floe_free(location);
    floe_catalog_table_reset(out);
    return rc;
  }
  floe_free(out->metadata_location);
  out->metadata_location = location;
  if (out->metadata_json == NULL) {
    /* The kind published the caller's bytes. */
    out->metadata_json = floe_strndup(json, len);
    out->metadata_json_len = len;
    if (out->metadata_json == NULL) {
      floe_catalog_table_reset(out);
      return floe_error_set(err, FLOE_ENOMEM, "commit: out of memory");
    }
  }
  return FLOE_OK;
}

int floe_catalog_table_register(floe_catalog *c, floe_catalog_ident ident,
                                const char *metadata_location,
                                floe_catalog_table *out, floe_error *err) {
  int rc = check_ident(ident, err);
  if (rc == FLOE_OK && (metadata_location == NULL || metadata_location[0] == '\0'))
    rc = floe_error_set(err, FLOE_EINVAL, "no metadata location given");
  if (rc == FLOE_OK && c->ops->table_register == NULL)
    rc = floe_error_set(err, FLOE_EUNSUPPORTED,
                        "the %s catalog cannot register tables", c->ops->kind);
  if (rc == FLOE_OK)
    rc = c->ops->table_register(c, ident, metadata_location, err);
  if (rc == FLOE_OK && out != NULL) {
    floe_catalog_table_reset(out);
    rc = c->ops->table_load(c, ident, out, err);
    if (rc < 0) floe_catalog_table_reset(out);
  }
  return table_context(c, ident, "register", rc, err);
}
