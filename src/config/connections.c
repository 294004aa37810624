/*
 * config/connections: `source.connection: NAME` reads a Snowflake source's
 * settings from Snowflake's standard connections.toml, the file the Python
 * connector, SnowSQL's successor and the Snowflake CLI share.
 *
 * Where the file is, as the drivers look for it: $SNOWFLAKE_HOME when set,
 * else ~/.snowflake when that directory exists, else $XDG_CONFIG_HOME/snowflake
 * (~/.config/snowflake). The connection `default` means the default
 * connection: $SNOWFLAKE_DEFAULT_CONNECTION_NAME, else `default_connection_name`
 * in config.toml beside connections.toml, else the table named "default".
 * Like the Python connector, a file that group or others can write is
 * refused (anyone could point floe at another account), and a file others
 * can read, or that another user owns, is logged as a warning.
 *
 * No Debian package offers a TOML parser for C, so this file carries a small
 * strict one for the subset these files use: comments, `[table]` and dotted
 * `[a.b]` headers, `key = value` with bare or quoted keys, and basic or
 * literal strings, integers and booleans as values. Anything else (arrays,
 * inline tables, multi-line strings, floats, dates) is an error naming
 * file:line, never silently skipped. The parsed connection becomes YAML-like
 * nodes that keep the file's line numbers, so the job file's own checks
 * report a bad value as `connections.toml:4:1: source.authenticator: ...`.
 * Keys the job file sets win over the file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config_internal.h"
#include "floe/log.h"

#define TOML_MAX_BYTES (1u << 20)

/* ---- the TOML subset ------------------------------------------------------ */

typedef struct toml_state {
  const char *p, *end;
  const char *origin;
  int line;
  const char *line_start;
  cfg_diags *d;
} toml_state;

static int toml_col(const toml_state *st) { return (int)(st->p - st->line_start) + 1; }

static int toml_fail(toml_state *st, const char *what) {
  cfg_diag_at(st->d, st->origin, st->line, toml_col(st), NULL, "%s", what);
  return FLOE_EFORMAT;
}

static void skip_blank(toml_state *st) {
  while (st->p < st->end && (*st->p == ' ' || *st->p == '\t')) st->p++;
}

/* After a value or header: blanks, an optional comment, then the line end. */
static int end_of_line(toml_state *st) {
  skip_blank(st);
  if (st->p < st->end && *st->p == '#')
    while (st->p < st->end && *st->p != '\n') st->p++;
  if (st->p < st->end && *st->p == '\r') st->p++;
  if (st->p < st->end && *st->p != '\n')
    return toml_fail(st, "unexpected text after the value (one key = value per line)");
  return FLOE_OK;
}

static bool bare_char(char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
         ch == '_' || ch == '-';
}

static int put_utf8(floe_buf *b, unsigned long cp) {
  uint8_t u[4];
  size_t n;
  if (cp < 0x80) {
    u[0] = (uint8_t)cp;
    n = 1;
  } else if (cp < 0x800) {
    u[0] = (uint8_t)(0xC0 | (cp >> 6));
    u[1] = (uint8_t)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    u[0] = (uint8_t)(0xE0 | (cp >> 12));
    u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (uint8_t)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    u[0] = (uint8_t)(0xF0 | (cp >> 18));
    u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (uint8_t)(0x80 | (cp & 0x3F));
    n = 4;
  }
  return floe_buf_append(b, u, n);
}

/* A basic ("...") or literal ('...') string on one line into *out. */
static int parse_string(toml_state *st, char **out) {
  char quote = *st->p;
  floe_buf b = FLOE_BUF_INIT;
  int rc = FLOE_OK;
  if (st->end - st->p >= 3 && st->p[1] == quote && st->p[2] == quote) {
    rc = toml_fail(st, "multi-line strings are not supported in this file");
    goto cleanup;
  }
  st->p++;
  for (;;) {
    if (st->p >= st->end || *st->p == '\n') {
      rc = toml_fail(st, "unterminated string");
      goto cleanup;
    }
    char ch = *st->p;
    if (ch == quote) {
      st->p++;
      break;
    }
    if (quote == '"' && ch == '\\') {
      st->p++;
      char e = st->p < st->end ? *st->p : '\0';
      const char *simple = strchr("btnfr\"\\", e);
      if (e != '\0' && simple != NULL) {
        static const char decoded[] = "\b\t\n\f\r\"\\";
        if (floe_buf_append_byte(&b, (uint8_t)decoded[simple - "btnfr\"\\"]) < 0) goto oom;
        st->p++;
        continue;
      }
      if (e == 'u' || e == 'U') {
        int digits = e == 'u' ? 4 : 8;
        unsigned long cp = 0;
        st->p++;
        for (int i = 0; i < digits; i++, st->p++) {
          char h = st->p < st->end ? *st->p : '\0';
          int v = h >= '0' && h <= '9' ? h - '0'
                  : h >= 'a' && h <= 'f' ? h - 'a' + 10
                  : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                         : -1;
          if (v < 0) {
            rc = toml_fail(st, "\\u needs hexadecimal digits");
            goto cleanup;
          }
          cp = cp * 16 + (unsigned long)v;
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
          rc = toml_fail(st, "escape is not a Unicode scalar value");
          goto cleanup;
        }
        if (put_utf8(&b, cp) < 0) goto oom;
        continue;
      }
      rc = toml_fail(st, "unknown escape sequence in a string");
      goto cleanup;
    }
    if ((unsigned char)ch < 0x20 && ch != '\t') {
      rc = toml_fail(st, "control character in a string");
      goto cleanup;
    }
    if (floe_buf_append_byte(&b, (uint8_t)ch) < 0) goto oom;
    st->p++;
  }
  *out = floe_strndup(b.data ? (const char *)b.data : "", b.len);
  if (*out == NULL) goto oom;
  goto cleanup;
oom:
  st->d->oom = true;
  rc = FLOE_ENOMEM;
cleanup:
  floe_buf_free(&b);
  return rc;
}

/* A key: bare, or a quoted string. */
static int parse_key(toml_state *st, char **out) {
  if (st->p < st->end && (*st->p == '"' || *st->p == '\'')) return parse_string(st, out);
  const char *start = st->p;
  while (st->p < st->end && bare_char(*st->p)) st->p++;
  if (st->p == start) return toml_fail(st, "a key expected");
  *out = floe_strndup(start, (size_t)(st->p - start));
  if (*out == NULL) {
    st->d->oom = true;
    return FLOE_ENOMEM;
  }
  return FLOE_OK;
}

/* Child mapping `name` of `map`, created when missing. A name that holds a
 * value already is an error (TOML: a key is defined once). */
static int child_table(toml_state *st, cfg_node *map, const char *name, int column,
                       cfg_node **out) {
  cfg_node *have = cfg_map_get(map, name, NULL);
  if (have != NULL) {
    if (have->kind != CFG_MAPPING) return toml_fail(st, "key is already a value, not a table");
    *out = have;
    return FLOE_OK;
  }
  cfg_node *key = cfg_node_new(CFG_SCALAR, st->origin, st->line, column);
  cfg_node *table = cfg_node_new(CFG_MAPPING, st->origin, st->line, column);
  if (key == NULL || table == NULL || (key->text = floe_strdup(name)) == NULL ||
      cfg_node_push(map, key, table) != 0) {
    cfg_node_free(key);
    cfg_node_free(table);
    st->d->oom = true;
    return FLOE_ENOMEM;
  }
  *out = table;
  return FLOE_OK;
}

/* `[a.b."c d"]`: the table it names, below the root. */
static int parse_header(toml_state *st, cfg_node *root, cfg_node **current) {
  st->p++; /* '[' */
  if (st->p < st->end && *st->p == '[')
    return toml_fail(st, "arrays of tables ([[...]]) are not supported in this file");
  cfg_node *table = root;
  for (;;) {
    skip_blank(st);
    int column = toml_col(st);
    char *name = NULL;
    int rc = parse_key(st, &name);
    if (rc < 0) return rc;
    rc = child_table(st, table, name, column, &table);
    floe_free(name);
    if (rc < 0) return rc;
    skip_blank(st);
    if (st->p < st->end && *st->p == '.') {
      st->p++;
      continue;
    }
    if (st->p < st->end && *st->p == ']') {
      st->p++;
      break;
    }
    return toml_fail(st, "']' expected at the end of a table header");
  }
  if (table->line < 0) return toml_fail(st, "table defined twice");
  table->line = -table->line; /* marks "defined by a header" until the end */
  *current = table;
  return end_of_line(st);
}

static bool parse_integer_text(const char *s, size_t n, bool *ok) {
  /* TOML integers: optional sign, digits with single underscores between
   * digits, no leading zeros. Hex/octal/binary are not in the subset. */
  size_t i = 0;
  *ok = false;
  if (i < n && (s[i] == '+' || s[i] == '-')) i++;
  if (i >= n) return false;
  if (s[i] == '0' && i + 1 < n) return false;
  bool prev_digit = false;
  for (; i < n; i++) {
    if (s[i] >= '0' && s[i] <= '9') {
      prev_digit = true;
    } else if (s[i] == '_' && prev_digit && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9') {
      prev_digit = false;
    } else {
      return false;
    }
  }
  *ok = true;
  return true;
}

/* `key = value` into `table`. */
static int parse_pair(toml_state *st, cfg_node *table) {
  int key_line = st->line, key_column = toml_col(st);
  char *name = NULL, *text = NULL;
  cfg_node *key = NULL, *value = NULL;
  int rc = parse_key(st, &name);
  if (rc < 0) goto cleanup;
  skip_blank(st);
  if (st->p < st->end && *st->p == '.') {
    rc = toml_fail(st, "dotted keys are not supported in this file (use a [table] header)");
    goto cleanup;
  }
  if (st->p >= st->end || *st->p != '=') {
    rc = toml_fail(st, "'=' expected after the key");
    goto cleanup;
  }
  st->p++;
  skip_blank(st);
  int value_column = toml_col(st);
  bool plain = true;
  if (st->p < st->end && (*st->p == '"' || *st->p == '\'')) {
    rc = parse_string(st, &text);
    if (rc < 0) goto cleanup;
    plain = false;
  } else {
    const char *start = st->p;
    while (st->p < st->end && *st->p != ' ' && *st->p != '\t' && *st->p != '#' &&
           *st->p != '\r' && *st->p != '\n')
      st->p++;
    size_t n = (size_t)(st->p - start);
    bool ok = false;
    if ((n == 4 && memcmp(start, "true", 4) == 0) || (n == 5 && memcmp(start, "false", 5) == 0))
      ok = true;
    else
      parse_integer_text(start, n, &ok);
    if (!ok) {
      st->p = start;
      rc = toml_fail(st, n == 0 ? "a value expected after '='"
                                : *start == '[' || *start == '{'
                                    ? "arrays and inline tables are not supported in this file"
                                    : "not a string, integer or boolean (strings need quotes)");
      goto cleanup;
    }
    text = floe_malloc(n + 1);
    if (text == NULL) goto oom;
    size_t j = 0;
    for (size_t i = 0; i < n; i++)
      if (start[i] != '_') text[j++] = start[i];
    text[j] = '\0';
  }
  if (cfg_map_get(table, name, NULL) != NULL) {
    st->p = st->line_start + key_column - 1;
    rc = toml_fail(st, "duplicate key");
    goto cleanup;
  }
  key = cfg_node_new(CFG_SCALAR, st->origin, key_line, key_column);
  value = cfg_node_new(CFG_SCALAR, st->origin, key_line, value_column);
  if (key == NULL || value == NULL) goto oom;
  key->text = name;
  name = NULL;
  value->text = text;
  text = NULL;
  value->plain = plain;
  if (cfg_node_push(table, key, value) != 0) goto oom;
  key = value = NULL;
  rc = end_of_line(st);
  goto cleanup;
oom:
  st->d->oom = true;
  rc = FLOE_ENOMEM;
cleanup:
  cfg_node_free(key);
  cfg_node_free(value);
  floe_free(name);
  floe_free(text);
  return rc;
}

static void unmark_tables(cfg_node *node) {
  if (node->kind != CFG_MAPPING) return;
  if (node->line < 0) node->line = -node->line;
  for (size_t i = 0; i < node->n; i++) unmark_tables(node->items[i]);
}

int cfg_toml_parse(cfg_node **out, const char *text, size_t len, const char *origin,
                   cfg_diags *diags) {
  toml_state st = {text, text + len, origin, 1, text, diags};
  *out = NULL;
  cfg_node *root = cfg_node_new(CFG_MAPPING, origin, 1, 1);
  if (root == NULL) {
    diags->oom = true;
    return FLOE_ENOMEM;
  }
  cfg_node *current = root;
  int rc = FLOE_OK;
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) st.p += 3;
  while (st.p < st.end) {
    skip_blank(&st);
    if (st.p < st.end && *st.p == '[')
      rc = parse_header(&st, root, &current);
    else if (st.p < st.end && *st.p != '#' && *st.p != '\n' && *st.p != '\r')
      rc = parse_pair(&st, current);
    else
      rc = end_of_line(&st);
    if (rc < 0) break;
    if (st.p < st.end) st.p++; /* '\n' */
    st.line++;
    st.line_start = st.p;
  }
  unmark_tables(root);
  if (rc < 0) {
    cfg_node_free(root);
    return rc;
  }
  *out = root;
  return FLOE_OK;
}

/* ---- finding and reading the file --------------------------------------- */

/* The buffer as a C string ("" when empty or when the NUL cannot be added). */
static const char *buf_str(floe_buf *b) {
  if (floe_buf_terminate(b) != 0 || b->data == NULL) return "";
  return (const char *)b->data;
}

static bool is_dir(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The directory the Snowflake drivers read connections.toml from. */
static int snowflake_home(floe_buf *out) {
  const char *home = getenv("HOME");
  const char *sf_home = getenv("SNOWFLAKE_HOME");
  floe_buf_reset(out);
  if (sf_home != NULL && sf_home[0] != '\0') {
    if (sf_home[0] == '~' && (sf_home[1] == '/' || sf_home[1] == '\0') && home != NULL)
      return floe_buf_appendf(out, "%s%s", home, sf_home + 1);
    return floe_buf_appendf(out, "%s", sf_home);
  }
  if (home == NULL) home = "";
  if (floe_buf_appendf(out, "%s/.snowflake", home) != 0) return FLOE_ENOMEM;
  if (is_dir(buf_str(out))) return FLOE_OK;
  floe_buf_reset(out);
  const char *xdg = getenv("XDG_CONFIG_HOME");
  if (xdg != NULL && xdg[0] == '/') return floe_buf_appendf(out, "%s/snowflake", xdg);
  return floe_buf_appendf(out, "%s/.config/snowflake", home);
}

/* Reads a whole file (at most TOML_MAX_BYTES) after the permission checks.
 * *missing is set when it does not exist. */
static int read_checked(const char *path, floe_buf *text, bool *missing, const cfg_node *at,
                        const char *key_path, cfg_diags *d) {
  struct stat sb;
  *missing = false;
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    if (errno == ENOENT) {
      *missing = true;
      return FLOE_OK;
    }
    cfg_diag(d, at, key_path, "cannot read %s: %s", path, strerror(errno));
    return FLOE_EIO;
  }
  int rc = FLOE_OK;
  if (fstat(fileno(f), &sb) != 0) {
    cfg_diag(d, at, key_path, "cannot read %s: %s", path, strerror(errno));
    rc = FLOE_EIO;
    goto cleanup;
  }
  /* The Python connector's checks (config_manager): writable by group or
   * others is refused; readable by them, or owned by another user (root
   * aside), is a warning, as OpenSSH does for its config. */
  if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
    cfg_diag(d, at, key_path,
             "%s is writable by group or others (mode %03o); anyone who can change it "
             "can point floe at another account: chmod 0600 %s",
             path, (unsigned)(sb.st_mode & 0777), path);
    rc = FLOE_EINVAL;
    goto cleanup;
  }
  if ((sb.st_mode & (S_IRGRP | S_IROTH)) || (sb.st_uid != 0 && sb.st_uid != getuid()))
    floe_log(FLOE_LOG_WARN, "config",
             "msg=\"bad owner or permissions on %s (mode %03o); chmod 0600 it\"", path,
             (unsigned)(sb.st_mode & 0777));
  char chunk[8192];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (text->len + got > TOML_MAX_BYTES) {
      cfg_diag(d, at, key_path, "%s is larger than 1 MiB", path);
      rc = FLOE_EINVAL;
      goto cleanup;
    }
    if (floe_buf_append(text, chunk, got) != 0) {
      d->oom = true;
      rc = FLOE_ENOMEM;
      goto cleanup;
    }
  }
  if (ferror(f)) {
    cfg_diag(d, at, key_path, "cannot read %s: %s", path, strerror(errno));
    rc = FLOE_EIO;
  }
cleanup:
  fclose(f);
  return rc;
}

/* connections.toml key -> floe source key. Values of `authenticator` are
 * translated from the drivers' names. Keys floe has no use for (password,
 * client_session_keep_alive, ...) stay in the file: it is shared with other
 * tools. */
static const struct {
  const char *toml;
  const char *floe;
} connection_keys[] = {
    {"account", "account"},
    {"user", "user"},
    {"authenticator", "authenticator"},
    {"private_key_file", "private_key_file"},
    {"private_key_path", "private_key_file"},
    {"token", "token"},
    {"warehouse", "warehouse"},
    {"role", "role"},
    {"database", "database"},
    {"schema", "schema"},
    {"host", "host"},
};

static const char *floe_authenticator(const char *driver_name) {
  if (strcasecmp(driver_name, "SNOWFLAKE_JWT") == 0 || strcasecmp(driver_name, "keypair") == 0)
    return "keypair";
  if (strcasecmp(driver_name, "OAUTH") == 0) return "oauth";
  if (strcasecmp(driver_name, "PROGRAMMATIC_ACCESS_TOKEN") == 0 ||
      strcasecmp(driver_name, "pat") == 0)
    return "pat";
  return NULL;
}

/* The default connection's name into *out (static or from config.toml,
 * caller frees via *owned). */
static int default_connection(const char *dir, const char **out, char **owned,
                              const cfg_node *at, cfg_diags *d) {
  *owned = NULL;
  const char *env = getenv("SNOWFLAKE_DEFAULT_CONNECTION_NAME");
  if (env != NULL && env[0] != '\0') {
    *out = env;
    return FLOE_OK;
  }
  *out = "default";
  floe_buf path = FLOE_BUF_INIT, text = FLOE_BUF_INIT;
  cfg_node *tree = NULL;
  bool missing = false;
  int rc = floe_buf_appendf(&path, "%s/config.toml", dir);
  if (rc != 0) {
    d->oom = true;
    goto cleanup;
  }
  rc = read_checked(buf_str(&path), &text, &missing, at, "source.connection", d);
  if (rc < 0 || missing) goto cleanup;
  rc = cfg_toml_parse(&tree, text.data ? (const char *)text.data : "", text.len,
                      cfg_diags_intern(d, buf_str(&path)), d);
  if (rc < 0) goto cleanup;
  const cfg_node *name = cfg_map_get(tree, "default_connection_name", NULL);
  if (name != NULL && name->kind == CFG_SCALAR && !name->plain) {
    *owned = floe_strdup(name->text);
    if (*owned == NULL) {
      d->oom = true;
      rc = FLOE_ENOMEM;
      goto cleanup;
    }
    *out = *owned;
  }
cleanup:
  cfg_node_free(tree);
  floe_buf_free(&path);
  floe_buf_free(&text);
  return rc;
}

int cfg_snowflake_connection(cfg_node *source, cfg_diags *d) {
  size_t index = 0;
  cfg_node *conn = cfg_map_get(source, "connection", &index);
  if (conn == NULL || cfg_node_is_null(conn)) return FLOE_OK;
  const cfg_node *at = conn;
  if (conn->kind != CFG_SCALAR || conn->text[0] == '\0') {
    cfg_diag(d, at, "source.connection", "a connection name from connections.toml expected");
    return FLOE_EINVAL;
  }
  floe_buf dir = FLOE_BUF_INIT, path = FLOE_BUF_INIT, text = FLOE_BUF_INIT;
  cfg_node *tree = NULL;
  char *owned_name = NULL;
  bool missing = false;
  int rc = snowflake_home(&dir);
  if (rc == 0) rc = floe_buf_appendf(&path, "%s/connections.toml", buf_str(&dir));
  if (rc != 0) {
    d->oom = true;
    rc = FLOE_ENOMEM;
    goto cleanup;
  }
  const char *name = conn->text;
  if (strcmp(name, "default") == 0) {
    rc = default_connection(buf_str(&dir), &name, &owned_name, at, d);
    if (rc < 0) goto cleanup;
  }
  rc = read_checked(buf_str(&path), &text, &missing, at, "source.connection", d);
  if (rc < 0) goto cleanup;
  if (missing) {
    cfg_diag(d, at, "source.connection",
             "connection '%s': %s does not exist (set SNOWFLAKE_HOME to the directory "
             "that holds connections.toml)",
             name, buf_str(&path));
    rc = FLOE_EINVAL;
    goto cleanup;
  }
  const char *origin = cfg_diags_intern(d, buf_str(&path));
  if (origin == NULL) {
    d->oom = true;
    rc = FLOE_ENOMEM;
    goto cleanup;
  }
  rc = cfg_toml_parse(&tree, text.data ? (const char *)text.data : "", text.len, origin, d);
  if (rc < 0) goto cleanup;
  const cfg_node *table = cfg_map_get(tree, name, NULL);
  if (table == NULL || table->kind != CFG_MAPPING) {
    floe_buf names = FLOE_BUF_INIT;
    for (size_t i = 0; i < tree->n; i++)
      if (tree->items[i]->kind == CFG_MAPPING)
        floe_buf_appendf(&names, "%s%s", names.len ? ", " : "", tree->keys[i]->text);
    cfg_diag(d, at, "source.connection", "connection '%s' is not in %s (it has: %s)", name,
             buf_str(&path), names.len ? buf_str(&names) : "no connections");
    floe_buf_free(&names);
    rc = FLOE_EINVAL;
    goto cleanup;
  }
  floe_log(FLOE_LOG_INFO, "config", "connection=%s file=%s", name, buf_str(&path));
  for (size_t i = 0; i < table->n; i++) {
    const cfg_node *key = table->keys[i];
    cfg_node *value = table->items[i];
    const char *floe_key = NULL;
    for (size_t k = 0; k < sizeof connection_keys / sizeof connection_keys[0]; k++)
      if (strcmp(key->text, connection_keys[k].toml) == 0) floe_key = connection_keys[k].floe;
    if (floe_key == NULL) {
      if (strcmp(key->text, "private_key_file_pwd") == 0 ||
          strcmp(key->text, "token_file_path") == 0) {
        char where[256];
        snprintf(where, sizeof where, "%s.%s", name, key->text);
        cfg_diag(d, key, where, "not read by floe: set source.%s in the job file",
                 key->text[0] == 'p' ? "private_key_passphrase_env" : "token_env");
      }
      continue;
    }
    if (value->kind == CFG_SCALAR && !value->plain &&
        (strcmp(key->text, "token") == 0))
      cfg_diags_add_secret(d, value->text);
    if (cfg_map_get(source, floe_key, NULL) != NULL) continue; /* the job file wins */
    cfg_node *key_copy = cfg_node_copy(key), *value_copy = cfg_node_copy(value);
    if (key_copy == NULL || value_copy == NULL) goto oom_pair;
    floe_free(key_copy->text);
    key_copy->text = floe_strdup(floe_key);
    if (key_copy->text == NULL) goto oom_pair;
    if (strcmp(floe_key, "authenticator") == 0 && value_copy->kind == CFG_SCALAR) {
      const char *mapped = floe_authenticator(value_copy->text);
      if (mapped == NULL) {
        cfg_diag(d, value, "source.authenticator",
                 "authenticator '%s' from connection '%s' is not one floe signs in with "
                 "(SNOWFLAKE_JWT, OAUTH or PROGRAMMATIC_ACCESS_TOKEN)",
                 value_copy->text, name);
        cfg_node_free(key_copy);
        cfg_node_free(value_copy);
        continue;
      }
      floe_free(value_copy->text);
      value_copy->text = floe_strdup(mapped);
      if (value_copy->text == NULL) goto oom_pair;
    }
    if (cfg_node_push(source, key_copy, value_copy) != 0) goto oom_pair;
    continue;
  oom_pair:
    cfg_node_free(key_copy);
    cfg_node_free(value_copy);
    d->oom = true;
    rc = FLOE_ENOMEM;
    goto cleanup;
  }
cleanup:
  floe_free(owned_name);
  cfg_node_free(tree);
  floe_buf_free(&dir);
  floe_buf_free(&path);
  floe_buf_free(&text);
  return rc;
}
