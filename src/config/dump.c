/*
 * config/dump: the effective configuration, rendered back as YAML.
 *
 * `floe config check --show` prints what floe will actually do: every table
 * with the defaults applied, overrides and ${...} resolved, relative paths
 * made absolute. The output is itself a valid floe configuration (loading it
 * gives the same structs, secrets aside), which the tests use to check the
 * dump against the loader. Secrets never appear: password and token fields,
 * passwords inside conninfo strings and URIs, and any value that contains
 * text read from a ${file:} secret or a secret-looking variable print as ***.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "config/config_internal.h"

#define REDACTED "***"

bool cfg_is_secret_text(const floe_config *cfg, const char *text) {
  if (cfg->priv == NULL || text == NULL) return false;
  const cfg_diags *d = &cfg->priv->diags;
  for (size_t i = 0; i < d->n_secrets; i++)
    if (strstr(text, d->secrets[i]) != NULL) return true;
  return false;
}

/* A scalar that YAML would read back as this same string without quotes. */
static bool plain_safe(const char *s) {
  if (s[0] == '\0') return false;
  static const char *const reserved[] = {"null", "Null", "NULL", "~",     "true", "True",
                                         "TRUE", "false", "False", "FALSE", "yes", "no",
                                         "on",   "off",  "y",     "n"};
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (strcmp(s, reserved[i]) == 0) return false;
  if (!isalpha((unsigned char)s[0]) && s[0] != '_' && s[0] != '/' && s[0] != '.') return false;
  for (const char *p = s; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    if (!isalnum(ch) && strchr("_./-+@()", ch) == NULL) {
      /* "sqlite:/x" and "s3://b/p" are plain; ": " and " #" never appear here. */
      if (ch == ':' && p[1] != ' ' && p[1] != '\0') continue;
      return false;
    }
  }
  return true;
}

/* Values are interpolated when loaded, so a literal "${" in a value is
 * written "$${" (interp.c); keys are not, so they are written as they are. */
static int append_quoted(floe_buf *out, const char *s, bool value) {
  int rc = floe_buf_append_byte(out, '"');
  for (const unsigned char *p = (const unsigned char *)s; rc == 0 && *p; p++) {
    if (value && p[0] == '$' && p[1] == '{')
      rc = floe_buf_append_str(out, "$$");
    else if (*p == '"' || *p == '\\')
      rc = floe_buf_appendf(out, "\\%c", *p);
    else if (*p == '\n')
      rc = floe_buf_append_str(out, "\\n");
    else if (*p == '\t')
      rc = floe_buf_append_str(out, "\\t");
    else if (*p < 0x20)
      rc = floe_buf_appendf(out, "\\x%02x", *p);
    else
      rc = floe_buf_append_byte(out, *p);
  }
  if (rc == 0) rc = floe_buf_append_byte(out, '"');
  return rc;
}

static int append_scalar(floe_buf *out, const char *s) {
  return plain_safe(s) ? floe_buf_append_str(out, s) : append_quoted(out, s, true);
}

static int append_key(floe_buf *out, const char *s) {
  return plain_safe(s) ? floe_buf_append_str(out, s) : append_quoted(out, s, false);
}

/* Masks password=... in a libpq conninfo and user:password@ in a URI. */
static int mask_connection(const char *s, floe_buf *out) {
  int rc = FLOE_OK;
  const char *scheme = strstr(s, "://");
  if (scheme != NULL) {
    const char *auth = scheme + 3;
    const char *at = strchr(auth, '@');
    const char *slash = strchr(auth, '/');
    const char *colon = strchr(auth, ':');
    if (at != NULL && (slash == NULL || at < slash) && colon != NULL && colon < at) {
      FLOE_TRY(floe_buf_append(out, s, (size_t)(colon + 1 - s)));
      FLOE_TRY(floe_buf_append_str(out, REDACTED));
      s = at;
    }
    /* A URI may also carry ?password=... */
  }
  const char *p = s;
  for (;;) {
    const char *hit = strstr(p, "password");
    if (hit == NULL) break;
    const char *q = hit + 8;
    while (*q == ' ') q++;
    bool word_start = hit == s || !isalnum((unsigned char)hit[-1]);
    if (*q != '=' || !word_start) {
      FLOE_TRY(floe_buf_append(out, p, (size_t)(q - p)));
      p = q;
      continue;
    }
    q++;
    while (*q == ' ') q++;
    FLOE_TRY(floe_buf_append(out, p, (size_t)(q - p)));
    FLOE_TRY(floe_buf_append_str(out, REDACTED));
    if (*q == '\'') { /* quoted conninfo value, \' escapes */
      q++;
      while (*q && *q != '\'') q += q[0] == '\\' && q[1] ? 2 : 1;
      if (*q) q++;
    } else {
      while (*q && *q != ' ' && *q != '&') q++;
    }
    p = q;
  }
  FLOE_TRY(floe_buf_append_str(out, p));
  FLOE_TRY(floe_buf_terminate(out));
cleanup:
  return rc;
}

typedef struct dumper {
  const floe_config *cfg;
  floe_buf *out;
  int rc;
} dumper;

static void line_start(dumper *w, int indent, const char *key) {
  if (w->rc != 0) return;
  w->rc = floe_buf_appendf(w->out, "%*s%s:", indent, "", key);
}

static void put_str(dumper *w, int indent, const char *key, const char *value, bool secret) {
  line_start(w, indent, key);
  if (w->rc != 0) return;
  if (value == NULL)
    w->rc = floe_buf_append_str(w->out, " null\n");
  else if (secret || cfg_is_secret_text(w->cfg, value))
    w->rc = floe_buf_append_str(w->out, " \"" REDACTED "\"\n");
  else if ((w->rc = floe_buf_append_byte(w->out, ' ')) == 0 &&
           (w->rc = append_scalar(w->out, value)) == 0)
    w->rc = floe_buf_append_byte(w->out, '\n');
}

/* Optional keys are written only when set, to keep the dump short. */
static void put_opt(dumper *w, int indent, const char *key, const char *value, bool secret) {
  if (value != NULL) put_str(w, indent, key, value, secret);
}

static void put_connection(dumper *w, int indent, const char *key, const char *value) {
  if (value == NULL) return;
  if (cfg_is_secret_text(w->cfg, value)) {
    put_str(w, indent, key, value, true);
    return;
  }
  floe_buf masked = FLOE_BUF_INIT;
  if (w->rc == 0) w->rc = mask_connection(value, &masked);
  if (w->rc == 0) put_str(w, indent, key, (const char *)masked.data, false);
  floe_buf_free(&masked);
}

static void put_raw(dumper *w, int indent, const char *key, const char *fmt_value) {
  line_start(w, indent, key);
  if (w->rc == 0) w->rc = floe_buf_appendf(w->out, " %s\n", fmt_value);
}

static void put_int(dumper *w, int indent, const char *key, long long v) {
  char text[32];
  snprintf(text, sizeof text, "%lld", v);
  put_raw(w, indent, key, text);
}

static void put_properties(dumper *w, int indent, const floe_config_property *props, size_t n) {
  if (n == 0) return;
  line_start(w, indent, "properties");
  if (w->rc == 0) w->rc = floe_buf_append_byte(w->out, '\n');
  for (size_t i = 0; i < n && w->rc == 0; i++) {
    w->rc = floe_buf_appendf(w->out, "%*s", indent + 2, "");
    if (w->rc == 0) w->rc = append_key(w->out, props[i].key);
    if (w->rc == 0) w->rc = floe_buf_append_str(w->out, ": ");
    if (w->rc == 0) {
      const char *v = props[i].value;
      w->rc = cfg_is_secret_text(w->cfg, v) ? floe_buf_append_str(w->out, "\"" REDACTED "\"")
                                            : append_quoted(w->out, v, true);
    }
    if (w->rc == 0) w->rc = floe_buf_append_byte(w->out, '\n');
  }
}

static void put_string_list(dumper *w, int indent, const char *key, char *const *items,
                            size_t n);

/* checks: one block per check (only the keys its type reads), then
 * quarantine. */
static void put_checks(dumper *w, const floe_config_table *t) {
  if (t->n_checks > 0 && w->rc == 0) w->rc = floe_buf_append_str(w->out, "    checks:\n");
  for (size_t i = 0; i < t->n_checks && w->rc == 0; i++) {
    const floe_config_check *k = &t->checks[i];
    w->rc = floe_buf_appendf(w->out, "      - type: %s\n", floe_config_check_type_name(k->type));
    put_str(w, 8, "name", k->name, false);
    put_raw(w, 8, "severity", k->warn ? "warn" : "fail");
    put_opt(w, 8, "column", k->column, false);
    if (k->type == FLOE_CHECK_UNIQUE) put_raw(w, 8, "scope", k->scope_table ? "table" : "load");
    if (k->type == FLOE_CHECK_ACCEPTED_VALUES) put_string_list(w, 8, "values", k->values, k->n_values);
    if (k->type == FLOE_CHECK_RANGE) {
      put_opt(w, 8, "min", k->min, false);
      put_opt(w, 8, "max", k->max, false);
    }
    put_opt(w, 8, "pattern", k->pattern, false);
    if (k->type == FLOE_CHECK_ROW_COUNT) {
      if (k->min_rows >= 0) put_int(w, 8, "min", k->min_rows);
      if (k->max_rows >= 0) put_int(w, 8, "max", k->max_rows);
      if (k->history > 0) {
        char text[64];
        snprintf(text, sizeof text, "%g", k->min_ratio);
        put_raw(w, 8, "min_ratio", text);
        snprintf(text, sizeof text, "%g", k->max_ratio);
        put_raw(w, 8, "max_ratio", text);
        put_int(w, 8, "history", k->history);
      }
    }
    if (k->type == FLOE_CHECK_FRESHNESS) {
      char text[64];
      snprintf(text, sizeof text, "%lldms", (long long)k->max_age_ms);
      put_raw(w, 8, "max_age", text);
    }
  }
  if (t->changelog_name != NULL && w->rc == 0) {
    floe_buf q = FLOE_BUF_INIT;
    w->rc = floe_buf_appendf(&q, "%s.%s", t->changelog_namespace, t->changelog_name);
    if (w->rc == 0) w->rc = floe_buf_terminate(&q);
    if (w->rc == 0) w->rc = floe_buf_append_str(w->out, "    changelog:\n");
    if (w->rc == 0) put_str(w, 6, "target", (const char *)q.data, false);
    floe_buf_free(&q);
  }
  if (t->n_columns > 0 && w->rc == 0) w->rc = floe_buf_append_str(w->out, "    columns:\n");
  for (size_t i = 0; i < t->n_columns && w->rc == 0; i++) {
    w->rc = floe_buf_append_str(w->out, "      ");
    if (w->rc == 0) w->rc = append_key(w->out, t->columns[i].name);
    if (w->rc == 0) w->rc = floe_buf_append_str(w->out, ":\n");
    put_str(w, 8, "type", t->columns[i].type, false);
    if (t->columns[i].fail_on_extra_fields) put_raw(w, 8, "on_extra_fields", "fail");
  }
  if (t->quarantine_name != NULL && w->rc == 0) {
    floe_buf q = FLOE_BUF_INIT;
    w->rc = floe_buf_appendf(&q, "%s.%s", t->quarantine_namespace, t->quarantine_name);
    if (w->rc == 0) w->rc = floe_buf_terminate(&q);
    if (w->rc == 0) put_str(w, 4, "quarantine", (const char *)q.data, false);
    floe_buf_free(&q);
  }
}

static void put_string_list(dumper *w, int indent, const char *key, char *const *items,
                            size_t n) {
  line_start(w, indent, key);
  if (w->rc == 0) w->rc = floe_buf_append_str(w->out, " [");
  for (size_t i = 0; i < n && w->rc == 0; i++) {
    if (i > 0) w->rc = floe_buf_append_str(w->out, ", ");
    if (w->rc == 0) w->rc = append_scalar(w->out, items[i]);
  }
  if (w->rc == 0) w->rc = floe_buf_append_str(w->out, "]\n");
}

static void dump_source(dumper *w) {
  const floe_config_source *s = &w->cfg->source;
  if (w->rc == 0) w->rc = floe_buf_append_str(w->out, "source:\n");
  put_raw(w, 2, "type", floe_config_source_type_name(s->type));
  switch (s->type) {
    case FLOE_CONFIG_SOURCE_SQLITE:
      put_str(w, 2, "path", s->path, false);
      break;
    case FLOE_CONFIG_SOURCE_POSTGRES:
      put_connection(w, 2, "conninfo", s->conninfo);
      put_opt(w, 2, "password_env", s->password_env, false);
      put_opt(w, 2, "password", s->password, true);
      break;
    case FLOE_CONFIG_SOURCE_SNOWFLAKE: {
      static const char *const auth_names[] = {"keypair", "oauth", "pat"};
      put_str(w, 2, "account", s->account, false);
      put_str(w, 2, "user", s->user, false);
      put_raw(w, 2, "authenticator", auth_names[s->authenticator]);
      put_opt(w, 2, "private_key_file", s->private_key_file, false);
      put_opt(w, 2, "private_key_passphrase_env", s->private_key_passphrase_env, false);
      put_opt(w, 2, "token_env", s->token_env, false);
      put_opt(w, 2, "token", s->token, true);
      put_opt(w, 2, "warehouse", s->warehouse, false);
      put_opt(w, 2, "role", s->role, false);
      put_opt(w, 2, "database", s->database, false);
      put_opt(w, 2, "schema", s->schema, false);
      put_opt(w, 2, "host", s->host, false);
      put_opt(w, 2, "connection", s->connection, false);
      if (s->query_tag_set) {
        if (s->query_tag != NULL)
          put_str(w, 2, "query_tag", s->query_tag, false);
        else
          put_raw(w, 2, "query_tag", "null");
      }
      if (s->prefetch_partitions > 0)
        put_int(w, 2, "prefetch_partitions", (long long)s->prefetch_partitions);
      break;
    }
  }
  put_int(w, 2, "timeout_s", (long long)s->timeout_s);
}

static void dump_target(dumper *w) {
  const floe_config_target *t = &w->cfg->target;
  if (w->rc == 0) w->rc = floe_buf_append_str(w->out, "target:\n");
  put_str(w, 2, "warehouse", t->warehouse, false);
  const floe_config_storage *st = &t->storage;
  if (st->type != FLOE_CONFIG_STORAGE_DEFAULT || st->region || st->endpoint || st->profile ||
      st->access_key_id || st->path_style || st->conditional_writes ||
      st->sts_endpoint || st->multipart_threshold || st->part_size || st->max_attempts) {
    static const char *const types[] = {"default", "local", "s3"};
    if (w->rc == 0) w->rc = floe_buf_append_str(w->out, "  storage:\n");
    put_raw(w, 4, "type", types[st->type]);
    put_opt(w, 4, "region", st->region, false);
    put_opt(w, 4, "endpoint", st->endpoint, false);
    if (st->path_style) put_raw(w, 4, "path_style", st->path_style == 1 ? "true" : "false");
    put_opt(w, 4, "profile", st->profile, false);
    put_opt(w, 4, "access_key_id", st->access_key_id, false);
    put_opt(w, 4, "secret_access_key", st->secret_access_key, true);
    put_opt(w, 4, "session_token", st->session_token, true);
    put_opt(w, 4, "sts_endpoint", st->sts_endpoint, false);
    if (st->conditional_writes)
      put_raw(w, 4, "conditional_writes", st->conditional_writes == 1 ? "true" : "false");
    if (st->multipart_threshold) put_int(w, 4, "multipart_threshold", st->multipart_threshold);
    if (st->part_size) put_int(w, 4, "part_size", st->part_size);
    if (st->max_attempts) put_int(w, 4, "max_attempts", st->max_attempts);
  }
  if (w->rc == 0) w->rc = floe_buf_append_str(w->out, "  catalog:\n");
  put_raw(w, 4, "type", floe_config_catalog_type_name(t->catalog.type));
  put_connection(w, 4, "uri", t->catalog.uri);
  put_str(w, 4, "name", t->catalog.name, false);
  put_opt(w, 4, "token", t->catalog.token, true);
  if (t->catalog.type == FLOE_CONFIG_CATALOG_REST) {
    const floe_config_catalog *k = &t->catalog;
    put_opt(w, 4, "warehouse", k->warehouse, false);
    put_opt(w, 4, "credential", k->credential, true);
    put_opt(w, 4, "scope", k->scope, false);
    put_opt(w, 4, "oauth2_server_uri", k->oauth2_server_uri, false);
    put_opt(w, 4, "access_delegation", k->access_delegation, false);
    if (w->rc == 0) w->rc = floe_buf_appendf(w->out, "    timeout_s: %lld\n", (long long)k->timeout_s);
    if (k->sigv4_region != NULL) {
      if (w->rc == 0) w->rc = floe_buf_append_str(w->out, "    sigv4:\n");
      put_str(w, 6, "region", k->sigv4_region, false);
      put_opt(w, 6, "signing_name", k->sigv4_signing_name, false);
      put_opt(w, 6, "access_key_id", k->sigv4_access_key_id, false);
      put_opt(w, 6, "secret_access_key", k->sigv4_secret_access_key, true);
      put_opt(w, 6, "session_token", k->sigv4_session_token, true);
    }
    if (k->n_headers > 0) {
      if (w->rc == 0) w->rc = floe_buf_append_str(w->out, "    headers:\n");
      for (size_t i = 0; i < k->n_headers; i++)
        put_str(w, 6, k->headers[i].key, k->headers[i].value, false);
    }
  }
  put_str(w, 2, "namespace", t->default_namespace, false);
  put_properties(w, 2, t->properties, t->n_properties);
}

static void dump_table(dumper *w, const floe_config_table *t) {
  static const char *const chunk_bys[] = {"batch", "rows"};
  static const char *const deletes[] = {"position", "equality", "copy_on_write"};
  if (w->rc == 0) w->rc = floe_buf_append_str(w->out, "  ");
  if (w->rc == 0) w->rc = append_key(w->out, t->name);
  if (w->rc == 0) w->rc = floe_buf_append_str(w->out, ":\n");
  put_str(w, 4, "source", t->source, false);
  floe_buf target = FLOE_BUF_INIT;
  if (w->rc == 0)
    w->rc = floe_buf_appendf(&target, "%s.%s", t->target_namespace, t->target_name);
  if (w->rc == 0) w->rc = floe_buf_terminate(&target);
  if (w->rc == 0) put_str(w, 4, "target", (const char *)target.data, false);
  floe_buf_free(&target);
  put_raw(w, 4, "strategy", floe_config_strategy_name(t->strategy));
  put_str(w, 4, "batch_column", t->batch_column, false);
  put_str(w, 4, "cursor_column", t->cursor_column, false);
  if (t->chunk.by == FLOE_CHUNK_BY_ROWS) {
    char text[64];
    snprintf(text, sizeof text, "{by: rows, rows: %lld}", (long long)t->chunk.rows);
    put_raw(w, 4, "chunk", text);
  } else {
    char text[64];
    snprintf(text, sizeof text, "{by: %s}", chunk_bys[t->chunk.by]);
    put_raw(w, 4, "chunk", text);
  }
  line_start(w, 4, "partition_by");
  if (w->rc == 0) w->rc = floe_buf_append_str(w->out, " [");
  for (size_t i = 0; i < t->n_partition_by && w->rc == 0; i++) {
    floe_buf field = FLOE_BUF_INIT;
    if (i > 0) w->rc = floe_buf_append_str(w->out, ", ");
    if (w->rc == 0) w->rc = floe_config_partition_format(&t->partition_by[i], &field);
    if (w->rc == 0) w->rc = floe_buf_terminate(&field);
    if (w->rc == 0) w->rc = append_scalar(w->out, (const char *)field.data);
    floe_buf_free(&field);
  }
  if (w->rc == 0) w->rc = floe_buf_append_str(w->out, "]\n");
  put_raw(w, 4, "mode", floe_config_mode_name(t->mode));
  put_raw(w, 4, "overwrite", floe_config_overwrite_name(t->overwrite));
  if (t->has_start_after) {
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)t->start_after);
    put_raw(w, 4, "start_after", text);
  }
  put_raw(w, 4, "on_existing", floe_config_on_existing_name(t->on_existing));
  put_checks(w, t);
  put_string_list(w, 4, "primary_key", t->primary_key, t->n_primary_key);
  if (t->has_sort_by) put_string_list(w, 4, "sort_by", t->sort_by, t->n_sort_by);
  const floe_config_metadata_columns *mc = &t->metadata_columns;
  if (mc->batch_sk || mc->loaded_at || mc->run_id || mc->op) {
    if (w->rc == 0) w->rc = floe_buf_append_str(w->out, "    metadata_columns:\n");
    put_str(w, 6, "batch_sk", mc->batch_sk, false);
    put_str(w, 6, "loaded_at", mc->loaded_at, false);
    put_str(w, 6, "run_id", mc->run_id, false);
    put_str(w, 6, "op", mc->op, false);
  }
  if (w->rc == 0) w->rc = floe_buf_append_str(w->out, "    merge:\n");
  put_raw(w, 6, "deletes", deletes[t->merge.deletes]);
  put_str(w, 6, "order_by", t->merge.order_by, false);
  if (t->merge.memory_mb > 0) put_int(w, 6, "memory_mb", (long long)t->merge.memory_mb);
  if (t->cdc.type == FLOE_CDC_NONE) {
    put_raw(w, 4, "cdc", "null");
  } else {
    if (w->rc == 0) w->rc = floe_buf_append_str(w->out, "    cdc:\n");
    put_raw(w, 6, "type", floe_config_cdc_type_name(t->cdc.type));
    if (t->cdc.type == FLOE_CDC_OP_COLUMN) {
      put_str(w, 6, "column", t->cdc.column, false);
      put_str(w, 6, "insert", t->cdc.insert_value, false);
      put_str(w, 6, "update", t->cdc.update_value, false);
      put_str(w, 6, "delete", t->cdc.delete_value, false);
      put_str(w, 6, "sequence", t->cdc.sequence, false);
    } else if (t->cdc.type == FLOE_CDC_STREAM) {
      put_str(w, 6, "stream", t->cdc.stream, false);
    }
  }
  char validate[64];
  snprintf(validate, sizeof validate, "{count: %s, checksum: %s}",
           t->validate.count ? "true" : "false", t->validate.checksum ? "true" : "false");
  put_raw(w, 4, "validate", validate);
  const floe_config_maintenance *m = &t->maintenance;
  if (!m->enabled && m->compact_min_files == 0 && m->max_snapshots == 0) {
    put_raw(w, 4, "maintenance", "null");
  } else {
    char block[512];
    snprintf(block, sizeof block,
             "{enabled: %s, compact_min_files: %lld, delete_ratio_percent: %lld, "
             "convert_equality_deletes: %s, max_manifests: %lld, max_snapshots: %lld, "
             "expire_older_than: %lldms, retain_last: %lld, target_file_size: %lld, "
             "partial_progress: %s}",
             m->enabled ? "true" : "false", (long long)m->compact_min_files,
             (long long)m->delete_ratio_percent, m->convert_equality_deletes ? "true" : "false",
             (long long)m->max_manifests, (long long)m->max_snapshots,
             (long long)m->expire_older_than_ms, (long long)m->retain_last,
             (long long)m->target_file_size, m->partial_progress ? "true" : "false");
    put_raw(w, 4, "maintenance", block);
  }
  put_str(w, 4, "partition_column", t->partition_column, false);
  put_str(w, 4, "where", t->where, false);
  put_raw(w, 4, "on_source_behind",
          t->on_source_behind == FLOE_SOURCE_BEHIND_FAIL ? "fail" : "warn");
  put_raw(w, 4, "late_rows",
          t->late_rows == FLOE_LATE_ROWS_FAIL     ? "fail"
          : t->late_rows == FLOE_LATE_ROWS_RELOAD ? "reload"
                                                  : "warn");
  put_properties(w, 4, t->properties, t->n_properties);
  /* A target property the table removed is written as null, so that the
   * dump loads back to the same table. */
  const floe_config_target *target_cfg = &w->cfg->target;
  bool header = t->n_properties > 0;
  for (size_t i = 0; i < target_cfg->n_properties && w->rc == 0; i++) {
    bool kept = false;
    for (size_t j = 0; j < t->n_properties && !kept; j++)
      kept = strcmp(t->properties[j].key, target_cfg->properties[i].key) == 0;
    if (kept) continue;
    if (!header) {
      w->rc = floe_buf_append_str(w->out, "    properties:\n");
      header = true;
    }
    if (w->rc == 0) w->rc = floe_buf_append_str(w->out, "      ");
    if (w->rc == 0) w->rc = append_key(w->out, target_cfg->properties[i].key);
    if (w->rc == 0) w->rc = floe_buf_append_str(w->out, ": null\n");
  }
}

int floe_config_dump(const floe_config *cfg, floe_buf *out, floe_error *err) {
  static const char *const levels[] = {"error", "warn", "info", "debug", "trace"};
  dumper w = {cfg, out, 0};
  w.rc = floe_buf_appendf(out,
                          "# effective configuration of %s: defaults applied to every table,\n"
                          "# overrides and ${...} resolved, secrets shown as " REDACTED "\n"
                          "version: %d\n",
                          cfg->path ? cfg->path : "(memory)", cfg->version ? cfg->version : 1);
  dump_source(&w);
  dump_target(&w);
  if (w.rc == 0) w.rc = floe_buf_append_str(out, "control:\n");
  put_str(&w, 2, "table", cfg->control.table, false);
  put_raw(&w, 2, "location", "source");
  put_str(&w, 2, "schema", cfg->control.schema, false);
  put_raw(&w, 2, "layout",
          cfg->control.layout == FLOE_CONTROL_LAYOUT_FULL      ? "full"
          : cfg->control.layout == FLOE_CONTROL_LAYOUT_MINIMAL ? "minimal"
                                                               : "auto");
  if (w.rc == 0) w.rc = floe_buf_append_str(out, "logging:\n");
  put_raw(&w, 2, "level", levels[cfg->logging.level]);
  put_raw(&w, 2, "format", cfg->logging.format == FLOE_LOG_JSON ? "json" : "logfmt");
  put_str(&w, 2, "file", cfg->logging.file, false);
  if (w.rc == 0) w.rc = floe_buf_append_str(out, "run:\n");
  put_str(&w, 2, "report", cfg->run.report, false);
  put_raw(&w, 2, "durability", cfg->run.durability == FLOE_DURABILITY_NONE ? "none" : "fsync");
  if (cfg->run.threads > 0) put_int(&w, 2, "threads", (long long)cfg->run.threads);
  put_opt(&w, 2, "spill_dir", cfg->run.spill_dir, false);
  if (w.rc == 0) w.rc = floe_buf_append_str(out, "tables:\n");
  for (size_t i = 0; i < cfg->n_tables && w.rc == 0; i++) dump_table(&w, &cfg->tables[i]);
  if (w.rc != 0) return floe_error_set(err, w.rc, "config dump: out of memory");
  return FLOE_OK;
}
