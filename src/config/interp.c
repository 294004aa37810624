/*
 * config/interp: ${ENV}, ${ENV:-default} and ${file:/path} in scalar values.
 *
 * Secrets belong in the environment or in files (Docker and Kubernetes
 * secrets are files), never in the YAML, so every scalar value may pull text
 * from either. `$${` writes a literal `${`. A node that received such text
 * remembers the first reference ("${PGPASSWORD}"), and every message about
 * it shows that reference instead of the value: an interpolated value never
 * reaches an error or a log. Text read from files, and from variables whose
 * name looks secret, is also remembered so that dumps can redact it.
 * Keys are not interpolated: they are the schema.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

#define PATH_SIZE 512
#define MAX_SECRET_FILE (1 << 20)

static bool name_looks_secret(const char *name) {
  static const char *const words[] = {"PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY",
                                      "CREDENTIAL"};
  char upper[256];
  size_t n = 0;
  for (; name[n] != '\0' && n + 1 < sizeof upper; n++)
    upper[n] = (char)toupper((unsigned char)name[n]);
  upper[n] = '\0';
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (strstr(upper, words[i]) != NULL) return true;
  return false;
}

/* Reads a secret file into buf, dropping trailing newlines. */
static int read_secret_file(const char *path, floe_buf *buf, int *errnum) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    *errnum = errno;
    return FLOE_EIO;
  }
  int rc = FLOE_OK;
  char chunk[4096];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (buf->len + got > MAX_SECRET_FILE) {
      *errnum = EFBIG;
      rc = FLOE_EIO;
      goto cleanup;
    }
    if (floe_buf_append(buf, chunk, got) != 0) {
      rc = FLOE_ENOMEM;
      goto cleanup;
    }
  }
  if (ferror(f)) {
    *errnum = errno;
    rc = FLOE_EIO;
    goto cleanup;
  }
  while (buf->len > 0 && (buf->data[buf->len - 1] == '\n' || buf->data[buf->len - 1] == '\r'))
    buf->len--;
cleanup:
  fclose(f);
  return rc;
}

/* Resolves one reference (the text between "${" and "}") into out. Returns
 * false after reporting a problem. */
static bool resolve_reference(const char *ref, size_t ref_len, const cfg_node *node,
                              const char *path, const char *base_dir, cfg_diags *d,
                              floe_buf *out) {
  char *spec = floe_strndup(ref, ref_len);
  if (spec == NULL) {
    d->oom = true;
    return false;
  }
  bool ok = false;
  floe_buf content = FLOE_BUF_INIT;
  if (strncmp(spec, "file:", 5) == 0) {
    const char *file = spec + 5;
    if (file[0] == '\0') {
      cfg_diag(d, node, path, "${file:} needs a path, as in ${file:/run/secrets/pg}");
      goto cleanup;
    }
    char full[4096];
    if (file[0] != '/' && base_dir != NULL)
      snprintf(full, sizeof full, "%s/%s", base_dir, file);
    else
      snprintf(full, sizeof full, "%s", file);
    int errnum = 0;
    int rc = read_secret_file(full, &content, &errnum);
    if (rc == FLOE_ENOMEM) {
      d->oom = true;
      goto cleanup;
    }
    if (rc != FLOE_OK) {
      cfg_diag(d, node, path, "cannot read secret file %s: %s", full,
               errnum == EFBIG ? "larger than 1 MiB" : strerror(errnum));
      goto cleanup;
    }
    if (memchr(content.data, '\0', content.len) != NULL) {
      cfg_diag(d, node, path, "secret file %s holds a NUL byte", full);
      goto cleanup;
    }
    if (floe_buf_terminate(&content) != 0) {
      d->oom = true;
      goto cleanup;
    }
    cfg_diags_add_secret(d, content.len ? (const char *)content.data : "");
    if (floe_buf_append(out, content.data, content.len) != 0) d->oom = true;
    ok = !d->oom;
    goto cleanup;
  }
  size_t name_len = 0;
  if (isalpha((unsigned char)spec[0]) || spec[0] == '_') {
    name_len = 1;
    while (isalnum((unsigned char)spec[name_len]) || spec[name_len] == '_') name_len++;
  }
  const char *fallback = NULL;
  if (name_len > 0 && spec[name_len] == ':' && spec[name_len + 1] == '-')
    fallback = spec + name_len + 2;
  else if (name_len == 0 || spec[name_len] != '\0') {
    cfg_diag(d, node, path,
             "bad reference ${%s} (expected ${NAME}, ${NAME:-default} or ${file:/path})",
             spec);
    goto cleanup;
  }
  spec[name_len] = '\0';
  const char *value = getenv(spec);
  /* As in the shell, ":-" also replaces a variable that is set but empty. */
  if (fallback != NULL && (value == NULL || value[0] == '\0')) value = fallback;
  if (value == NULL) {
    cfg_diag(d, node, path,
             "environment variable %s is not set (referenced as ${%s}; "
             "write ${%s:-default} for a fallback)",
             spec, spec, spec);
    goto cleanup;
  }
  if (value != fallback && name_looks_secret(spec)) cfg_diags_add_secret(d, value);
  if (floe_buf_append_str(out, value) != 0) {
    d->oom = true;
    goto cleanup;
  }
  ok = true;
cleanup:
  floe_buf_free(&content);
  floe_free(spec);
  return ok;
}

static void interpolate_scalar(cfg_node *node, const char *path, const char *base_dir,
                               cfg_diags *d) {
  const char *text = node->text;
  if (strchr(text, '$') == NULL) return;
  floe_buf out = FLOE_BUF_INIT;
  char *first_ref = NULL;
  bool changed = false;
  size_t i = 0;
  while (text[i] != '\0') {
    if (text[i] == '$' && text[i + 1] == '$' && text[i + 2] == '{') {
      if (floe_buf_append(&out, "${", 2) != 0) goto oom;
      i += 3;
      changed = true;
      continue;
    }
    if (text[i] == '$' && text[i + 1] == '{') {
      const char *close = strchr(text + i + 2, '}');
      if (close == NULL) {
        cfg_diag(d, node, path, "unterminated ${ (write $${ for a literal ${)");
        goto cleanup;
      }
      size_t ref_len = (size_t)(close - (text + i + 2));
      if (!resolve_reference(text + i + 2, ref_len, node, path, base_dir, d, &out))
        goto cleanup;
      if (first_ref == NULL) {
        first_ref = floe_strndup(text + i, ref_len + 3);
        if (first_ref == NULL) goto oom;
        /* "${NAME:-default}" is shown as "${NAME}". */
        char *colon = strstr(first_ref, ":-");
        if (colon != NULL && strncmp(first_ref, "${file:", 7) != 0) {
          colon[0] = '}';
          colon[1] = '\0';
        }
      }
      i += ref_len + 3;
      changed = true;
      continue;
    }
    if (floe_buf_append_byte(&out, (uint8_t)text[i]) != 0) goto oom;
    i++;
  }
  if (!changed) goto cleanup;
  if (floe_buf_terminate(&out) != 0) goto oom;
  floe_free(node->text);
  node->text = out.len ? (char *)floe_buf_detach(&out, NULL) : floe_strdup("");
  if (node->text == NULL) goto oom;
  if (first_ref != NULL) {
    floe_free(node->interp_from);
    node->interp_from = first_ref;
    first_ref = NULL;
  }
  goto cleanup;
oom:
  d->oom = true;
cleanup:
  floe_free(first_ref);
  floe_buf_free(&out);
}

void cfg_interpolate(cfg_node *node, const char *path, const char *base_dir, cfg_diags *d) {
  if (node == NULL) return;
  char child[PATH_SIZE];
  switch (node->kind) {
    case CFG_SCALAR:
      interpolate_scalar(node, path, base_dir, d);
      break;
    case CFG_SEQUENCE:
      for (size_t i = 0; i < node->n; i++) {
        snprintf(child, sizeof child, "%s[%zu]", path, i);
        cfg_interpolate(node->items[i], child, base_dir, d);
      }
      break;
    case CFG_MAPPING:
      for (size_t i = 0; i < node->n; i++) {
        if (path[0] == '\0')
          snprintf(child, sizeof child, "%s", node->keys[i]->text);
        else
          snprintf(child, sizeof child, "%s.%s", path, node->keys[i]->text);
        cfg_interpolate(node->items[i], child, base_dir, d);
      }
      break;
  }
}

void cfg_show_value(const cfg_node *node, char *buf, size_t size) {
  if (node == NULL) {
    snprintf(buf, size, "(nothing)");
  } else if (node->kind == CFG_SEQUENCE) {
    snprintf(buf, size, "(a list)");
  } else if (node->kind == CFG_MAPPING) {
    snprintf(buf, size, "(a mapping)");
  } else if (node->interp_from != NULL) {
    snprintf(buf, size, "(value from %s)", node->interp_from);
  } else if (strlen(node->text) > 60) {
    snprintf(buf, size, "'%.57s...'", node->text);
  } else {
    snprintf(buf, size, "'%s'", node->text);
  }
}
