/*
 * catalog/rest: the Iceberg REST catalog protocol (Iceberg's
 * open-api/rest-catalog-open-api.yaml), the catalog of Apache Polaris /
 * Snowflake Open Catalog, AWS Glue's and S3 Tables' Iceberg endpoints,
 * Nessie, Unity and Lakekeeper, over libcurl.
 *
 * Open asks GET /v1/config (with ?warehouse=) and merges defaults, the
 * client's settings and overrides; the result's `prefix` goes into every
 * path (/v1/{prefix}/namespaces/...). Namespaces travel as their levels
 * joined by the unit separator 0x1F, percent-encoded.
 *
 * The server, not floe, writes metadata files. A create sends the schema,
 * partition spec, sort order and properties of floe's metadata; a commit
 * diffs the metadata it was based on (cached from the last load, create or
 * commit of the table) against floe's new metadata and sends the result as
 * `updates` (add-snapshot, set-snapshot-ref, add-schema, add-spec, ...)
 * guarded by `requirements` (assert-table-uuid, assert-ref-snapshot-id for
 * every ref it moves, assert-current-schema-id, ...), so the server applies
 * it only on the state floe saw: the REST form of compare-and-swap. 409 is
 * FLOE_ECONFLICT and floe's commit loop reloads and retries. A 5xx or a
 * lost connection after a commit was sent leaves its outcome unknown: the
 * table is reloaded and the commit counts as landed when the snapshots it
 * adds are in the table; it is never resent blindly.
 *
 * Authentication: a static bearer token; OAuth2 client credentials (the
 * token endpoint from the config, the server's oauth2-server-uri or
 * <uri>/v1/oauth/tokens; refreshed before it expires and once after a
 * 401); or AWS SigV4 through libcurl's CURLOPT_AWS_SIGV4 with the signing
 * names glue or s3tables. Extra headers come from the configuration.
 * Secrets stay in this struct: no log line or error message carries them.
 *
 * Idempotent requests (GET, HEAD, DELETE, the token and config calls) are
 * retried with full-jitter exponential backoff on 429, 500, 502, 503, 504
 * and lost connections; POSTs that change state are sent once.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog_internal.h"
#include "floe/log.h"
#include "floe/time.h"

#define ERROR_BODY_MAX 4096
#define DEFAULT_SCOPE "PRINCIPAL_ROLE:ALL"

typedef struct table_cache {
  char *key; /* "<ns>\x1f<name>" */
  char *location;
  char *json;
  size_t len;
} table_cache;

typedef struct rest_catalog {
  CURL *curl;
  char *uri;    /* without trailing '/' */
  char *prefix; /* from /v1/config; may be NULL */
  char *warehouse;
  char *credential, *scope, *oauth2_uri;
  char *token;          /* static or from the token endpoint */
  int oauth;            /* token comes from client credentials */
  int64_t token_refresh_us; /* when to fetch a new one; 0 = never */
  char *sigv4;          /* "aws:amz:<region>:<service>" or NULL */
  char *aws_key, *aws_secret, *aws_session;
  char **header_lines; /* "Name: value" */
  size_t n_headers;
  char *delegation;
  char **endpoints; /* "METHOD /v1/{prefix}/..." from /v1/config */
  size_t n_endpoints;
  long request_timeout_ms, connect_timeout_ms;
  int max_attempts;
  unsigned rng;
  table_cache *cache;
  size_t n_cache;
} rest_catalog;

typedef struct rest_response {
  long status;
  floe_buf body;
  int transport_failed; /* no HTTP response (timeout, reset, refused) */
  char transport_error[CURL_ERROR_SIZE];
} rest_response;

enum {
  REQ_IDEMPOTENT = 1,
  REQ_NO_AUTH = 2,
  REQ_DELEGATION = 4,
  REQ_OK_204 = 8,        /* 204 No Content is success too (call()) */
  REQ_OK_404 = 16,       /* 404 is an answer, not an error (call()) */
  REQ_409_INVALID = 32,  /* a 409 is FLOE_EINVAL, not FLOE_EEXISTS (call()) */
};

static rest_catalog *impl(floe_catalog *c) { return c->impl; }

static int nomem(floe_error *err) {
  return floe_error_set(err, FLOE_ENOMEM, "out of memory");
}

static void response_reset(rest_response *r) {
  floe_buf_free(&r->body);
  memset(r, 0, sizeof *r);
}

/* ---- HTTP ------------------------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx) {
  rest_response *r = ctx;
  size_t n = size * nmemb;
  return floe_buf_append(&r->body, data, n) == FLOE_OK ? n : 0;
}

static long backoff_ms(rest_catalog *r, int attempt) {
  long cap = 100L << (attempt < 8 ? attempt : 8);
  if (cap > 5000) cap = 5000;
  r->rng = r->rng * 1103515245u + 12345u;
  return 20 + (long)((r->rng >> 8) % (unsigned)cap);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static int retryable_status(long status) {
  return status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

/* One exchange. FLOE_OK when an HTTP response arrived (any status); a
 * transport failure is FLOE_OK with resp->transport_failed set. */
static int send_once(rest_catalog *r, const char *method, const char *url,
                     const char *content_type, const char *body,
                     size_t body_len, int flags, rest_response *resp,
                     floe_error *err) {
  struct curl_slist *headers = NULL, *grown = NULL;
  char *auth = NULL;
  int rc = FLOE_OK;
  response_reset(resp);
  CURL *h = r->curl;
  curl_easy_reset(h);
#define ADD_HEADER(line)                                 \
  do {                                                   \
    grown = curl_slist_append(headers, (line));          \
    if (grown == NULL) {                                 \
      rc = nomem(err);                                   \
      goto cleanup;                                      \
    }                                                    \
    headers = grown;                                     \
  } while (0)
  ADD_HEADER("Accept: application/json");
  ADD_HEADER("User-Agent: floe");
  ADD_HEADER("X-Client-Version: floe");
  if (content_type != NULL) {
    char line[128];
    snprintf(line, sizeof line, "Content-Type: %s", content_type);
    ADD_HEADER(line);
  }
  if ((flags & REQ_DELEGATION) && r->delegation != NULL &&
      r->delegation[0] != '\0') {
    floe_buf line = FLOE_BUF_INIT;
    if (floe_buf_appendf(&line, "X-Iceberg-Access-Delegation: %s",
                         r->delegation) < 0 ||
        floe_buf_terminate(&line) < 0) {
      floe_buf_free(&line);
      rc = nomem(err);
      goto cleanup;
    }
    grown = curl_slist_append(headers, (const char *)line.data);
    floe_buf_free(&line);
    if (grown == NULL) {
      rc = nomem(err);
      goto cleanup;
    }
    headers = grown;
  }
  for (size_t i = 0; i < r->n_headers; i++) ADD_HEADER(r->header_lines[i]);
  if (!(flags & REQ_NO_AUTH)) {
    if (r->sigv4 != NULL) {
      curl_easy_setopt(h, CURLOPT_AWS_SIGV4, r->sigv4);
      curl_easy_setopt(h, CURLOPT_USERNAME, r->aws_key);
      curl_easy_setopt(h, CURLOPT_PASSWORD, r->aws_secret);
      if (r->aws_session != NULL) {
        size_t n = strlen(r->aws_session) + 40;
        auth = floe_malloc(n);
        if (auth == NULL) {
          rc = nomem(err);
          goto cleanup;
        }
        snprintf(auth, n, "x-amz-security-token: %s", r->aws_session);
        ADD_HEADER(auth);
      }
    } else if (r->token != NULL) {
      size_t n = strlen(r->token) + 32;
      auth = floe_malloc(n);
      if (auth == NULL) {
        rc = nomem(err);
        goto cleanup;
      }
      snprintf(auth, n, "Authorization: Bearer %s", r->token);
      ADD_HEADER(auth);
    }
  }
#undef ADD_HEADER
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, r->connect_timeout_ms);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, r->request_timeout_ms);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, resp->transport_error);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  if (strcmp(method, "GET") == 0) {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (strcmp(method, "HEAD") == 0) {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (strcmp(method, "POST") == 0) {
    /* libcurl silently resends a request whose reused connection died
     * before any answer; a POST that changes state must reach the server
     * at most once, so it gets a connection of its own. */
    if (!(flags & REQ_IDEMPOTENT)) curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body != NULL ? body : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)(body != NULL ? body_len : 0));
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  }
  CURLcode cc = curl_easy_perform(h);
  if (cc == CURLE_OK) {
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
  } else if (cc == CURLE_OUT_OF_MEMORY || cc == CURLE_WRITE_ERROR) {
    rc = nomem(err);
  } else {
    resp->transport_failed = 1;
    if (resp->transport_error[0] == '\0')
      snprintf(resp->transport_error, sizeof resp->transport_error, "%s",
               curl_easy_strerror(cc));
  }
cleanup:
  curl_slist_free_all(headers);
  if (auth != NULL) {
    memset(auth, 0, strlen(auth));
    floe_free(auth);
  }
  return rc;
}

/* "%XX"-encodes s into buf (RFC 3986 unreserved characters stay). */
static int append_escaped(floe_buf *buf, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    int unreserved = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
                     *p == '_' || *p == '~';
    int rc = unreserved ? floe_buf_append_byte(buf, *p)
                        : floe_buf_appendf(buf, "%%%c%c", hex[*p >> 4],
                                           hex[*p & 15]);
    if (rc < 0) return rc;
  }
  return FLOE_OK;
}

/* A dotted namespace as a path segment: levels joined by %1F. */
static int append_ns(floe_buf *buf, const char *ns) {
  const char *p = ns;
  for (;;) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    char level[256];
    if (n >= sizeof level) n = sizeof level - 1;
    memcpy(level, p, n);
    level[n] = '\0';
    if (append_escaped(buf, level) < 0) return FLOE_ENOMEM;
    if (dot == NULL) return FLOE_OK;
    if (floe_buf_append_str(buf, "%1F") < 0) return FLOE_ENOMEM;
    p = dot + 1;
  }
}

static int fetch_token(rest_catalog *r, floe_error *err);

/* The path without the "/v1/{prefix}/" head, for messages. */
static int request(rest_catalog *r, const char *method, const char *path,
                   const char *body, int flags, rest_response *resp,
                   floe_error *err) {
  floe_buf url = FLOE_BUF_INIT;
  int rc = FLOE_OK;
  if (floe_buf_appendf(&url, "%s/v1/", r->uri) < 0 ||
      (r->prefix != NULL && r->prefix[0] != '\0' &&
       floe_buf_appendf(&url, "%s/", r->prefix) < 0) ||
      floe_buf_append_str(&url, path) < 0 || floe_buf_terminate(&url) < 0) {
    floe_buf_free(&url);
    return nomem(err);
  }
  int refreshed = 0;
  for (int attempt = 1;; attempt++) {
    if (r->oauth && !(flags & REQ_NO_AUTH) &&
        (r->token == NULL ||
         (r->token_refresh_us > 0 && floe_now_micros() >= r->token_refresh_us)))
      FLOE_TRY(fetch_token(r, err));
    FLOE_TRY(send_once(r, method, (const char *)url.data,
                       body != NULL ? "application/json" : NULL, body,
                       body ? strlen(body) : 0, flags, resp, err));
    floe_log(FLOE_LOG_DEBUG, "rest_request", "method=%s path=%s status=%ld%s%s",
             method, path, resp->status,
             resp->transport_failed ? " error=" : "",
             resp->transport_failed ? resp->transport_error : "");
    if (resp->status == 401 && r->oauth && !refreshed) {
      /* The token expired early or was revoked: one new token. */
      refreshed = 1;
      floe_free(r->token);
      r->token = NULL;
      attempt--;
      continue;
    }
    int retry = resp->transport_failed || retryable_status(resp->status);
    if (!retry || !(flags & REQ_IDEMPOTENT) || attempt >= r->max_attempts)
      break;
    long wait = backoff_ms(r, attempt);
    floe_log(FLOE_LOG_WARN, "rest_retry", "method=%s path=%s status=%ld attempt=%d wait_ms=%ld%s%s",
             method, path, resp->status, attempt, wait,
             resp->transport_failed ? " error=" : "",
             resp->transport_failed ? resp->transport_error : "");
    sleep_ms(wait);
  }
cleanup:
  floe_buf_free(&url);
  return rc;
}

/* Sets err from a non-2xx response: the REST ErrorModel's type and
 * message when the body has one. `code` 0 maps the status. */
static int response_error(const rest_response *resp, const char *method,
                          const char *path, int code, floe_error *err) {
  if (resp->transport_failed)
    return floe_error_set(err, code ? code : FLOE_ENETWORK, "%s %s: %s",
                          method, path, resp->transport_error);
  if (code == 0) {
    switch (resp->status) {
      case 400: case 401: case 403: case 422: code = FLOE_EINVAL; break;
      case 404: code = FLOE_ENOTFOUND; break;
      case 409: code = FLOE_EEXISTS; break;
      case 406: case 501: code = FLOE_EUNSUPPORTED; break;
      default: code = FLOE_ENETWORK; break;
    }
  }
  const char *type = NULL, *message = NULL;
  json_t *root = NULL;
  if (resp->body.len > 0) {
    root = json_loadb((const char *)resp->body.data, resp->body.len, 0, NULL);
    json_t *e = json_object_get(root, "error");
    type = json_string_value(json_object_get(e, "type"));
    message = json_string_value(json_object_get(e, "message"));
  }
  const char *hint = resp->status == 401 ? " (not authenticated: check "
                                           "credential or token)"
                     : resp->status == 403 ? " (not authorized)"
                                            : "";
  if (message != NULL)
    floe_error_set(err, code, "%s %s: HTTP %ld %s: %.*s%s", method, path,
                   resp->status, type ? type : "", 600, message, hint);
  else
    floe_error_set(err, code, "%s %s: HTTP %ld%s", method, path, resp->status,
                   hint);
  json_decref(root);
  return code;
}

static int parse_body(const rest_response *resp, const char *what,
                      json_t **out, floe_error *err) {
  json_error_t jerr;
  *out = json_loadb((const char *)resp->body.data, resp->body.len, 0, &jerr);
  if (*out == NULL || !json_is_object(*out)) {
    json_decref(*out);
    *out = NULL;
    return floe_error_set(err, FLOE_EFORMAT, "%s: response is not a JSON "
                          "object: %s", what, jerr.text);
  }
  return FLOE_OK;
}

/* One catalog call: METHOD PATH (under /v1/{prefix}/) with the JSON BODY
 * (or none) through request(), with its retries. Success is HTTP 200, 204
 * too with REQ_OK_204, and 404 too with REQ_OK_404; any other answer sets
 * err (response_error; messages name the path as SHOWN when it is not
 * NULL). With OUT, a 200 answer must be a JSON object, handed to the caller
 * in *out (parse errors name it WHAT). STATUS, when not NULL, gets the
 * answer's status. */
static int call(rest_catalog *r, const char *method, const char *path,
                const char *shown, const char *body, int flags,
                const char *what, json_t **out, long *status,
                floe_error *err) {
  rest_response resp = {0};
  int rc = FLOE_OK;
  FLOE_TRY(request(r, method, path, body, flags, &resp, err));
  if (status != NULL) *status = resp.status;
  long s = resp.status;
  if (resp.transport_failed ||
      !(s == 200 || (s == 204 && (flags & REQ_OK_204)) ||
        (s == 404 && (flags & REQ_OK_404)))) {
    rc = response_error(&resp, method, shown != NULL ? shown : path,
                        s == 409 && (flags & REQ_409_INVALID) ? FLOE_EINVAL : 0,
                        err);
    goto cleanup;
  }
  if (out != NULL && s == 200) FLOE_TRY(parse_body(&resp, what, out, err));
cleanup:
  response_reset(&resp);
  return rc;
}

/* The next page's token of a list answer (NULL after the last page) in
 * *page, replacing the one there. */
static int next_page(json_t *root, char **page, floe_error *err) {
  const char *next = json_string_value(json_object_get(root, "next-page-token"));
  floe_free(*page);
  *page = NULL;
  if (next == NULL || next[0] == '\0') return FLOE_OK;
  *page = floe_strdup(next);
  return *page != NULL ? FLOE_OK : nomem(err);
}

/* ---- authentication ---------------------------------------------------------- */

static int form_append(floe_buf *form, const char *key, const char *value) {
  if (form->len > 0 && floe_buf_append_byte(form, '&') < 0) return FLOE_ENOMEM;
  if (floe_buf_append_str(form, key) < 0 || floe_buf_append_byte(form, '=') < 0)
    return FLOE_ENOMEM;
  return append_escaped(form, value);
}

/* OAuth2 client credentials (RFC 6749 4.4), as Iceberg's OAuth2Util
 * sends them: grant_type, client_id, client_secret and scope in a form. */
static int fetch_token(rest_catalog *r, floe_error *err) {
  floe_buf form = FLOE_BUF_INIT, url = FLOE_BUF_INIT;
  rest_response resp = {0};
  json_t *root = NULL;
  int rc = FLOE_OK;
  const char *colon = strchr(r->credential, ':');
  char *client_id = colon ? floe_strndup(r->credential,
                                         (size_t)(colon - r->credential))
                          : NULL;
  const char *secret = colon ? colon + 1 : r->credential;
  if ((colon && client_id == NULL) ||
      form_append(&form, "grant_type", "client_credentials") < 0 ||
      (client_id && form_append(&form, "client_id", client_id) < 0) ||
      form_append(&form, "client_secret", secret) < 0 ||
      form_append(&form, "scope", r->scope) < 0 ||
      floe_buf_terminate(&form) < 0) {
    rc = nomem(err);
    goto cleanup;
  }
  if ((r->oauth2_uri != NULL
           ? floe_buf_append_str(&url, r->oauth2_uri)
           : floe_buf_appendf(&url, "%s/v1/oauth/tokens", r->uri)) < 0 ||
      floe_buf_terminate(&url) < 0) {
    rc = nomem(err);
    goto cleanup;
  }
  for (int attempt = 1;; attempt++) {
    FLOE_TRY(send_once(r, "POST", (const char *)url.data,
                       "application/x-www-form-urlencoded",
                       (const char *)form.data, form.len, REQ_NO_AUTH, &resp,
                       err));
    int retry = resp.transport_failed || retryable_status(resp.status);
    if (!retry || attempt >= r->max_attempts) break;
    sleep_ms(backoff_ms(r, attempt));
  }
  if (resp.transport_failed || resp.status != 200) {
    /* The token endpoint's error (RFC 6749 5.2) names no secret. */
    rc = response_error(&resp, "POST", "oauth token endpoint",
                        resp.transport_failed ? FLOE_ENETWORK : FLOE_EINVAL,
                        err);
    if (!resp.transport_failed && resp.body.len > 0) {
      json_t *e = json_loadb((const char *)resp.body.data, resp.body.len, 0, NULL);
      const char *code = json_string_value(json_object_get(e, "error"));
      if (code != NULL)
        floe_error_set(err, FLOE_EINVAL, "oauth token endpoint: HTTP %ld %s "
                       "(client credentials refused)", resp.status, code);
      json_decref(e);
    }
    goto cleanup;
  }
  FLOE_TRY(parse_body(&resp, "oauth token endpoint", &root, err));
  const char *token = json_string_value(json_object_get(root, "access_token"));
  if (token == NULL || token[0] == '\0') {
    rc = floe_error_set(err, FLOE_EFORMAT, "oauth token endpoint: no "
                        "access_token in the response");
    goto cleanup;
  }
  floe_free(r->token);
  r->token = floe_strdup(token);
  if (r->token == NULL) {
    rc = nomem(err);
    goto cleanup;
  }
  json_int_t expires_in = json_integer_value(json_object_get(root, "expires_in"));
  if (expires_in > 0) {
    /* Refresh at 80% of the lifetime, and at most 5 minutes early. */
    int64_t margin_us = (int64_t)expires_in * 200000;
    if (margin_us > 300 * (int64_t)1000000) margin_us = 300 * (int64_t)1000000;
    r->token_refresh_us = floe_now_micros() + (int64_t)expires_in * 1000000 -
                          margin_us;
  } else {
    r->token_refresh_us = 0;
  }
  floe_log(FLOE_LOG_DEBUG, "rest_token", "expires_in=%lld", (long long)expires_in);
cleanup:
  json_decref(root);
  response_reset(&resp);
  if (form.data != NULL) memset(form.data, 0, form.len);
  floe_buf_free(&form);
  floe_buf_free(&url);
  floe_free(client_id);
  return rc;
}

/* ---- /v1/config ------------------------------------------------------------ */

static const char *config_value(json_t *root, const char *key) {
  const char *v = json_string_value(
      json_object_get(json_object_get(root, "overrides"), key));
  if (v == NULL)
    v = json_string_value(json_object_get(json_object_get(root, "defaults"), key));
  return v;
}

static int load_config(rest_catalog *r, floe_error *err) {
  floe_buf path = FLOE_BUF_INIT;
  json_t *root = NULL;
  int rc = FLOE_OK;
  if (floe_buf_append_str(&path, "config") < 0 ||
      (r->warehouse != NULL &&
       (floe_buf_append_str(&path, "?warehouse=") < 0 ||
        append_escaped(&path, r->warehouse) < 0)) ||
      floe_buf_terminate(&path) < 0) {
    rc = nomem(err);
    goto cleanup;
  }
  FLOE_TRY(call(r, "GET", (const char *)path.data, "/v1/config", NULL,
                REQ_IDEMPOTENT, "GET /v1/config", &root, NULL, err));
  const char *prefix = config_value(root, "prefix");
  if (prefix != NULL) {
    r->prefix = floe_strdup(prefix);
    if (r->prefix == NULL) {
      rc = nomem(err);
      goto cleanup;
    }
  }
  const char *uri = config_value(root, "uri");
  if (uri != NULL && uri[0] != '\0' && strcmp(uri, r->uri) != 0) {
    char *copy = floe_strdup(uri);
    if (copy == NULL) {
      rc = nomem(err);
      goto cleanup;
    }
    size_t n = strlen(copy);
    while (n > 0 && copy[n - 1] == '/') copy[--n] = '\0';
    floe_free(r->uri);
    r->uri = copy;
  }
  const char *oauth = config_value(root, "oauth2-server-uri");
  if (oauth != NULL && r->oauth2_uri == NULL) {
    r->oauth2_uri = floe_strdup(oauth);
    if (r->oauth2_uri == NULL) {
      rc = nomem(err);
      goto cleanup;
    }
  }
  json_t *endpoints = json_object_get(root, "endpoints");
  size_t n = json_array_size(endpoints);
  if (n > 0) {
    r->endpoints = floe_calloc(n, sizeof *r->endpoints);
    if (r->endpoints == NULL) {
      rc = nomem(err);
      goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
      const char *e = json_string_value(json_array_get(endpoints, i));
      if (e == NULL) continue;
      r->endpoints[r->n_endpoints] = floe_strdup(e);
      if (r->endpoints[r->n_endpoints] == NULL) {
        rc = nomem(err);
        goto cleanup;
      }
      r->n_endpoints++;
    }
  }
cleanup:
  json_decref(root);
  floe_buf_free(&path);
  return rc;
}

/* 1 when the server lists `endpoint` ("POST /v1/{prefix}/..."), or lists
 * none (servers before the endpoints field support the base set). */
static int supports(const rest_catalog *r, const char *endpoint) {
  if (r->n_endpoints == 0) return 1;
  for (size_t i = 0; i < r->n_endpoints; i++)
    if (strcmp(r->endpoints[i], endpoint) == 0) return 1;
  return 0;
}

/* ---- paths -------------------------------------------------------------------- */

static int ns_path(const char *ns, const char *tail, floe_buf *out) {
  floe_buf_reset(out);
  if (floe_buf_append_str(out, "namespaces/") < 0 || append_ns(out, ns) < 0 ||
      (tail != NULL && floe_buf_append_str(out, tail) < 0) ||
      floe_buf_terminate(out) < 0)
    return FLOE_ENOMEM;
  return FLOE_OK;
}

static int table_path(floe_catalog_ident ident, const char *query,
                      floe_buf *out) {
  floe_buf_reset(out);
  if (floe_buf_append_str(out, "namespaces/") < 0 ||
      append_ns(out, ident.ns) < 0 ||
      floe_buf_append_str(out, "/tables/") < 0 ||
      append_escaped(out, ident.name) < 0 ||
      (query != NULL && floe_buf_append_str(out, query) < 0) ||
      floe_buf_terminate(out) < 0)
    return FLOE_ENOMEM;
  return FLOE_OK;
}

static json_t *ns_levels(const char *ns) {
  json_t *arr = json_array();
  const char *p = ns;
  while (arr != NULL && p != NULL && *p) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (json_array_append_new(arr, json_stringn(p, n)) < 0) {
      json_decref(arr);
      return NULL;
    }
    p = dot ? dot + 1 : NULL;
  }
  return arr;
}

/* Levels array -> dotted string into out. */
static int levels_join(json_t *levels, floe_buf *out) {
  floe_buf_reset(out);
  for (size_t i = 0; i < json_array_size(levels); i++) {
    const char *s = json_string_value(json_array_get(levels, i));
    if (s == NULL) return FLOE_EFORMAT;
    if ((i > 0 && floe_buf_append_byte(out, '.') < 0) ||
        floe_buf_append_str(out, s) < 0)
      return FLOE_ENOMEM;
  }
  return floe_buf_terminate(out) < 0 ? FLOE_ENOMEM : FLOE_OK;
}

/* ---- the metadata cache ------------------------------------------------------- */

static int cache_key(floe_catalog_ident ident, floe_buf *out) {
  floe_buf_reset(out);
  if (floe_buf_appendf(out, "%s\x1f%s", ident.ns, ident.name) < 0 ||
      floe_buf_terminate(out) < 0)
    return FLOE_ENOMEM;
  return FLOE_OK;
}

static table_cache *cache_find(rest_catalog *r, const char *key) {
  for (size_t i = 0; i < r->n_cache; i++)
    if (strcmp(r->cache[i].key, key) == 0) return &r->cache[i];
  return NULL;
}

static void cache_drop(rest_catalog *r, floe_catalog_ident ident) {
  floe_buf key = FLOE_BUF_INIT;
  if (cache_key(ident, &key) == FLOE_OK) {
    table_cache *e = cache_find(r, (const char *)key.data);
    if (e != NULL) {
      floe_free(e->location);
      floe_free(e->json);
      e->location = NULL;
      e->json = NULL;
      e->len = 0;
    }
  }
  floe_buf_free(&key);
}

/* Remembers the state a commit will be based on. Failure to remember only
 * costs a reload later, so it is not an error. */
static void cache_put(rest_catalog *r, floe_catalog_ident ident,
                      const char *location, const char *json, size_t len) {
  floe_buf key = FLOE_BUF_INIT;
  if (cache_key(ident, &key) < 0) goto cleanup;
  table_cache *e = cache_find(r, (const char *)key.data);
  if (e == NULL) {
    table_cache *grown = floe_realloc(r->cache, (r->n_cache + 1) * sizeof *grown);
    if (grown == NULL) goto cleanup;
    r->cache = grown;
    e = &r->cache[r->n_cache];
    memset(e, 0, sizeof *e);
    e->key = (char *)floe_buf_detach(&key, NULL);
    if (e->key == NULL) goto cleanup;
    r->n_cache++;
  }
  floe_free(e->location);
  floe_free(e->json);
  e->location = floe_strdup(location);
  e->json = floe_strndup(json, len);
  e->len = len;
  if (e->location == NULL || e->json == NULL) {
    floe_free(e->location);
    floe_free(e->json);
    e->location = NULL;
    e->json = NULL;
  }
cleanup:
  floe_buf_free(&key);
}

/* ---- load results --------------------------------------------------------------- */

static int take_config(floe_catalog_table *out, json_t *config,
                       floe_error *err);

/* Fills out from a LoadTableResult {metadata-location, metadata, config,
 * storage-credentials}. */
static int take_load_result(rest_catalog *r, floe_catalog_ident ident,
                            json_t *root, floe_catalog_table *out,
                            floe_error *err) {
  const char *location = json_string_value(json_object_get(root, "metadata-location"));
  json_t *metadata = json_object_get(root, "metadata");
  if (location == NULL || !json_is_object(metadata))
    return floe_error_set(err, FLOE_EFORMAT, "load result without "
                          "metadata-location or metadata");
  char *json = json_dumps(metadata, JSON_COMPACT);
  char *loc = floe_strdup(location);
  if (json == NULL || loc == NULL) {
    floe_free(json);
    floe_free(loc);
    return nomem(err);
  }
  floe_free(out->metadata_location);
  floe_free(out->metadata_json);
  out->metadata_location = loc;
  out->metadata_json = json;
  out->metadata_json_len = strlen(json);
  out->version = -1;
  json_t *log = json_object_get(metadata, "metadata-log");
  size_t n_log = json_array_size(log);
  if (n_log > 0) {
    const char *prev = json_string_value(
        json_object_get(json_array_get(log, n_log - 1), "metadata-file"));
    if (prev != NULL) {
      floe_free(out->previous_metadata_location);
      out->previous_metadata_location = floe_strdup(prev);
    }
  }
  /* REST spec (LoadTableResult): `storage-credentials` entries apply to
   * locations under their prefix and take precedence over `config`; the
   * longest prefix of the table's location wins. */
  json_t *config = json_object_get(root, "config");
  json_t *creds = json_object_get(root, "storage-credentials");
  const char *table_location =
      json_string_value(json_object_get(metadata, "location"));
  json_t *best = NULL;
  size_t best_len = 0;
  size_t i_cred;
  json_t *entry;
  json_array_foreach(creds, i_cred, entry) {
    const char *prefix = json_string_value(json_object_get(entry, "prefix"));
    json_t *cred_config = json_object_get(entry, "config");
    if (prefix == NULL || !json_is_object(cred_config) || table_location == NULL)
      continue;
    size_t plen = strlen(prefix);
    if (strncmp(table_location, prefix, plen) == 0 && (best == NULL || plen > best_len)) {
      best = cred_config;
      best_len = plen;
    }
  }
  json_t *merged = json_is_object(config) ? json_copy(config) : json_object();
  if (merged == NULL) return nomem(err);
  if (best != NULL && json_object_update(merged, best) != 0) {
    json_decref(merged);
    return nomem(err);
  }
  int rc_config = take_config(out, merged, err);
  json_decref(merged);
  if (rc_config < 0) return rc_config;
  cache_put(r, ident, out->metadata_location, out->metadata_json,
            out->metadata_json_len);
  return FLOE_OK;
}

/* Copies the string values of a load result's (merged) config into out. */
static int take_config(floe_catalog_table *out, json_t *config,
                       floe_error *err) {
  const char *key;
  json_t *value;
  for (size_t i = 0; i < out->config_count; i++) {
    floe_free(out->config_keys[i]);
    floe_free(out->config_values[i]);
  }
  floe_free(out->config_keys);
  floe_free(out->config_values);
  out->config_keys = NULL;
  out->config_values = NULL;
  out->config_count = 0;
  size_t n = json_object_size(config);
  if (n > 0) {
    out->config_keys = floe_calloc(n, sizeof *out->config_keys);
    out->config_values = floe_calloc(n, sizeof *out->config_values);
    if (out->config_keys == NULL || out->config_values == NULL) return nomem(err);
    json_object_foreach(config, key, value) {
      const char *v = json_string_value(value);
      if (v == NULL) continue;
      out->config_keys[out->config_count] = floe_strdup(key);
      out->config_values[out->config_count] = floe_strdup(v);
      if (out->config_keys[out->config_count] == NULL ||
          out->config_values[out->config_count] == NULL) {
        out->config_count++;
        return nomem(err);
      }
      out->config_count++;
    }
  }
  return FLOE_OK;
}

static int load_table(rest_catalog *r, floe_catalog_ident ident,
                      floe_catalog_table *out, floe_error *err) {
  floe_buf path = FLOE_BUF_INIT;
  json_t *root = NULL;
  int rc = FLOE_OK;
  if (table_path(ident, NULL, &path) < 0) {
    rc = nomem(err);
    goto cleanup;
  }
  FLOE_TRY(call(r, "GET", (const char *)path.data, NULL, NULL,
                REQ_IDEMPOTENT | REQ_DELEGATION, "load table", &root, NULL, err));
  FLOE_TRY(take_load_result(r, ident, root, out, err));
cleanup:
  json_decref(root);
  floe_buf_free(&path);
  return rc;
}

/* ---- namespaces ------------------------------------------------------------------- */

static int rest_namespace_create(floe_catalog *c, const char *ns,
                                 const floe_catalog_property *props,
                                 size_t count, floe_error *err) {
  rest_catalog *r = impl(c);
  char *body = NULL;
  int rc = FLOE_OK;
  json_t *req = json_object(), *properties = json_object();
  json_t *levels = ns_levels(ns);
  if (req == NULL || properties == NULL || levels == NULL ||
      json_object_set_new(req, "namespace", levels) < 0) {
    json_decref(levels);
    rc = nomem(err);
    goto cleanup;
  }
  for (size_t i = 0; i < count; i++)
    if (json_object_set_new(properties, props[i].key,
                            json_string(props[i].value ? props[i].value : "")) < 0) {
      rc = nomem(err);
      goto cleanup;
    }
  if (json_object_set(req, "properties", properties) < 0 ||
      (body = json_dumps(req, JSON_COMPACT)) == NULL) {
    rc = nomem(err);
    goto cleanup;
  }
  rc = call(r, "POST", "namespaces", NULL, body, 0, NULL, NULL, NULL, err);
cleanup:
  json_decref(req);
  json_decref(properties);
  floe_free(body);
  return rc;
}

/* Whether PATH (built by ns_path or table_path: NULL when that ran out of
 * memory) exists: HEAD where the server lists ENDPOINT, else GET (older
 * servers); 404 is 0. */
static int exists(rest_catalog *r, const char *endpoint, floe_buf *path,
                  int *out, floe_error *err) {
  *out = 0;
  if (path == NULL) return nomem(err);
  const char *method = supports(r, endpoint) ? "HEAD" : "GET";
  long status = 0;
  int rc = call(r, method, (const char *)path->data, NULL, NULL,
                REQ_IDEMPOTENT | REQ_OK_204 | REQ_OK_404, NULL, NULL, &status,
                err);
  if (rc == FLOE_OK) *out = status != 404;
  return rc;
}

static int rest_namespace_exists(floe_catalog *c, const char *ns, int *out,
                                 floe_error *err) {
  floe_buf path = FLOE_BUF_INIT;
  int rc = exists(impl(c), "HEAD /v1/{prefix}/namespaces/{namespace}",
                  ns_path(ns, NULL, &path) < 0 ? NULL : &path, out, err);
  floe_buf_free(&path);
  return rc;
}

static int rest_namespace_list(floe_catalog *c, const char *parent,
                               floe_catalog_names *out, floe_error *err) {
  rest_catalog *r = impl(c);
  floe_buf path = FLOE_BUF_INIT, name = FLOE_BUF_INIT;
  json_t *root = NULL;
  char *page = NULL;
  int rc = FLOE_OK;
  for (;;) {
    floe_buf_reset(&path);
    int sep = 0;
    if (floe_buf_append_str(&path, "namespaces") < 0) goto oom;
    if (parent[0] != '\0') {
      if (floe_buf_append_str(&path, "?parent=") < 0 || append_ns(&path, parent) < 0)
        goto oom;
      sep = 1;
    }
    if (page != NULL && (floe_buf_append_str(&path, sep ? "&pageToken=" : "?pageToken=") < 0 ||
                         append_escaped(&path, page) < 0))
      goto oom;
    if (floe_buf_terminate(&path) < 0) goto oom;
    FLOE_TRY(call(r, "GET", (const char *)path.data, NULL, NULL, REQ_IDEMPOTENT,
                  "list namespaces", &root, NULL, err));
    json_t *list = json_object_get(root, "namespaces");
    for (size_t i = 0; i < json_array_size(list); i++) {
      if (levels_join(json_array_get(list, i), &name) < 0) goto oom;
      FLOE_TRY(catalog_names_add(out, (const char *)name.data, err));
    }
    FLOE_TRY(next_page(root, &page, err));
    json_decref(root);
    root = NULL;
    if (page == NULL) break;
  }
  goto cleanup;
oom:
  rc = nomem(err);
cleanup:
  json_decref(root);
  floe_buf_free(&path);
  floe_buf_free(&name);
  floe_free(page);
  return rc;
}

static int rest_namespace_properties(floe_catalog *c, const char *ns,
                                     floe_catalog_properties *out,
                                     floe_error *err) {
  rest_catalog *r = impl(c);
  floe_buf path = FLOE_BUF_INIT;
  json_t *root = NULL;
  int rc = FLOE_OK;
  if (ns_path(ns, NULL, &path) < 0) {
    rc = nomem(err);
    goto cleanup;
  }
  FLOE_TRY(call(r, "GET", (const char *)path.data, NULL, NULL, REQ_IDEMPOTENT,
                "load namespace", &root, NULL, err));
  const char *key;
  json_t *value;
  json_object_foreach(json_object_get(root, "properties"), key, value) {
    FLOE_TRY(catalog_properties_add(out, key, json_string_value(value), err));
  }
cleanup:
  json_decref(root);
  floe_buf_free(&path);
  return rc;
}

static int rest_namespace_drop(floe_catalog *c, const char *ns,
                               floe_error *err) {
  rest_catalog *r = impl(c);
  floe_buf path = FLOE_BUF_INIT;
  int rc = FLOE_OK;
  if (ns_path(ns, NULL, &path) < 0) {
    rc = nomem(err);
    goto cleanup;
  }
  /* 409: the namespace still holds tables or namespaces. */
  rc = call(r, "DELETE", (const char *)path.data, NULL, NULL,
            REQ_IDEMPOTENT | REQ_OK_204 | REQ_409_INVALID, NULL, NULL, NULL, err);
cleanup:
  floe_buf_free(&path);
  return rc;
}

/* ---- tables ------------------------------------------------------------------------ */

/* POST .../tables from floe's first metadata: the server assigns ids and
 * writes the metadata file; floe then works on the server's metadata. */
static int rest_table_create(floe_catalog *c, floe_catalog_ident ident,
                             const char *location, const char *json,
                             size_t len, floe_error *err) {
  rest_catalog *r = impl(c);
  floe_buf path = FLOE_BUF_INIT;
  json_t *md = NULL, *req = NULL, *root = NULL;
  char *body = NULL;
  floe_catalog_table state = {0};
  int rc = FLOE_OK;
  md = json_loadb(json, len, 0, NULL);
  if (!json_is_object(md)) {
    rc = floe_error_set(err, FLOE_EFORMAT, "create: metadata is not JSON");
    goto cleanup;
  }
  json_int_t schema_id = json_integer_value(json_object_get(md, "current-schema-id"));
  json_int_t spec_id = json_integer_value(json_object_get(md, "default-spec-id"));
  json_int_t order_id = json_integer_value(json_object_get(md, "default-sort-order-id"));
  json_t *schema = NULL, *spec = NULL, *order = NULL, *v;
  size_t i;
  json_array_foreach(json_object_get(md, "schemas"), i, v) if (
      json_integer_value(json_object_get(v, "schema-id")) == schema_id) schema = v;
  json_array_foreach(json_object_get(md, "partition-specs"), i, v) if (
      json_integer_value(json_object_get(v, "spec-id")) == spec_id) spec = v;
  json_array_foreach(json_object_get(md, "sort-orders"), i, v) if (
      json_integer_value(json_object_get(v, "order-id")) == order_id) order = v;
  if (schema == NULL) {
    rc = floe_error_set(err, FLOE_EFORMAT, "create: metadata has no current "
                        "schema");
    goto cleanup;
  }
  json_t *props = json_deep_copy(json_object_get(md, "properties"));
  if (props == NULL) props = json_object();
  char version[16];
  snprintf(version, sizeof version, "%lld",
           (long long)json_integer_value(json_object_get(md, "format-version")));
  req = json_object();
  if (req == NULL || props == NULL ||
      json_object_set_new(props, "format-version", json_string(version)) < 0 ||
      json_object_set_new(req, "name", json_string(ident.name)) < 0 ||
      json_object_set(req, "schema", schema) < 0 ||
      (spec != NULL && json_object_set(req, "partition-spec", spec) < 0) ||
      (order != NULL && json_object_set(req, "write-order", order) < 0) ||
      json_object_set_new(req, "properties", props) < 0 ||
      (location != NULL &&
       json_object_set_new(req, "location", json_string(location)) < 0) ||
      json_object_set_new(req, "stage-create", json_false()) < 0 ||
      (body = json_dumps(req, JSON_COMPACT)) == NULL) {
    rc = nomem(err);
    goto cleanup;
  }
  if (ns_path(ident.ns, "/tables", &path) < 0) {
    rc = nomem(err);
    goto cleanup;
  }
  FLOE_TRY(call(r, "POST", (const char *)path.data, NULL, body, REQ_DELEGATION,
                "create table", &root, NULL, err));
  FLOE_TRY(take_load_result(r, ident, root, &state, err));
cleanup:
  json_decref(md);
  json_decref(req);
  json_decref(root);
  floe_free(body);
  floe_catalog_table_reset(&state);
  floe_buf_free(&path);
  return rc;
}

static int rest_table_load(floe_catalog *c, floe_catalog_ident ident,
                           floe_catalog_table *out, floe_error *err) {
  return load_table(impl(c), ident, out, err);
}

static int rest_table_exists(floe_catalog *c, floe_catalog_ident ident,
                             int *out, floe_error *err) {
  floe_buf path = FLOE_BUF_INIT;
  int rc = exists(impl(c), "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}",
                  table_path(ident, NULL, &path) < 0 ? NULL : &path, out, err);
  floe_buf_free(&path);
  return rc;
}

static int rest_table_list(floe_catalog *c, const char *ns,
                           floe_catalog_names *out, floe_error *err) {
  rest_catalog *r = impl(c);
  floe_buf path = FLOE_BUF_INIT;
  json_t *root = NULL;
  char *page = NULL;
  int rc = FLOE_OK;
  for (;;) {
    if (ns_path(ns, "/tables", &path) < 0) goto oom;
    if (page != NULL) {
      path.len--; /* the NUL */
      if (floe_buf_append_str(&path, "?pageToken=") < 0 ||
          append_escaped(&path, page) < 0 || floe_buf_terminate(&path) < 0)
        goto oom;
    }
    FLOE_TRY(call(r, "GET", (const char *)path.data, NULL, NULL, REQ_IDEMPOTENT,
                  "list tables", &root, NULL, err));
    json_t *ids = json_object_get(root, "identifiers"), *id;
    size_t i;
    json_array_foreach(ids, i, id) {
      const char *name = json_string_value(json_object_get(id, "name"));
      if (name != NULL) FLOE_TRY(catalog_names_add(out, name, err));
    }
    FLOE_TRY(next_page(root, &page, err));
    json_decref(root);
    root = NULL;
    if (page == NULL) break;
  }
  goto cleanup;
oom:
  rc = nomem(err);
cleanup:
  json_decref(root);
  floe_buf_free(&path);
  floe_free(page);
  return rc;
}

static int rest_table_drop(floe_catalog *c, floe_catalog_ident ident,
                           int purge, floe_error *err) {
  rest_catalog *r = impl(c);
  floe_buf path = FLOE_BUF_INIT;
  int rc = FLOE_OK;
  if (table_path(ident, purge ? "?purgeRequested=true" : NULL, &path) < 0) {
    rc = nomem(err);
    goto cleanup;
  }
  rc = call(r, "DELETE", (const char *)path.data, NULL, NULL,
            REQ_IDEMPOTENT | REQ_OK_204, NULL, NULL, NULL, err);
  cache_drop(r, ident);
cleanup:
  floe_buf_free(&path);
  return rc;
}

static json_t *ident_json(floe_catalog_ident ident) {
  json_t *o = json_object(), *levels = ns_levels(ident.ns);
  if (o == NULL || levels == NULL || json_object_set_new(o, "namespace", levels) < 0 ||
      json_object_set_new(o, "name", json_string(ident.name)) < 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static int rest_table_rename(floe_catalog *c, floe_catalog_ident from,
                             floe_catalog_ident to, floe_error *err) {
  rest_catalog *r = impl(c);
  char *body = NULL;
  int rc = FLOE_OK;
  json_t *req = json_object();
  if (req == NULL || json_object_set_new(req, "source", ident_json(from)) < 0 ||
      json_object_set_new(req, "destination", ident_json(to)) < 0 ||
      (body = json_dumps(req, JSON_COMPACT)) == NULL) {
    rc = nomem(err);
    goto cleanup;
  }
  rc = call(r, "POST", "tables/rename", NULL, body, REQ_OK_204, NULL, NULL, NULL,
            err);
  cache_drop(r, from);
cleanup:
  json_decref(req);
  floe_free(body);
  return rc;
}

static int rest_table_register(floe_catalog *c, floe_catalog_ident ident,
                               const char *metadata_location,
                               floe_error *err) {
  rest_catalog *r = impl(c);
  floe_buf path = FLOE_BUF_INIT;
  json_t *req = json_object(), *root = NULL;
  char *body = NULL;
  floe_catalog_table state = {0};
  int rc = FLOE_OK;
  if (req == NULL || json_object_set_new(req, "name", json_string(ident.name)) < 0 ||
      json_object_set_new(req, "metadata-location", json_string(metadata_location)) < 0 ||
      (body = json_dumps(req, JSON_COMPACT)) == NULL ||
      ns_path(ident.ns, "/register", &path) < 0) {
    rc = nomem(err);
    goto cleanup;
  }
  FLOE_TRY(call(r, "POST", (const char *)path.data, NULL, body, REQ_DELEGATION,
                "register table", &root, NULL, err));
  FLOE_TRY(take_load_result(r, ident, root, &state, err));
cleanup:
  json_decref(req);
  json_decref(root);
  floe_free(body);
  floe_catalog_table_reset(&state);
  floe_buf_free(&path);
  return rc;
}

/* ---- commits: metadata difference -> updates + requirements ------------------ */

static json_t *find_by_id(json_t *array, const char *id_key, json_int_t id) {
  size_t i;
  json_t *v;
  json_array_foreach(array, i, v) if (json_integer_value(json_object_get(v, id_key)) == id) return v;
  return NULL;
}

static int push(json_t *list, json_t *item) {
  return item != NULL && json_array_append_new(list, item) == 0 ? 0 : -1;
}

/* An update {"action": action, key: value (stolen)}. */
static json_t *action1(const char *action, const char *key, json_t *value) {
  json_t *o = json_object();
  if (o == NULL || value == NULL || json_object_set_new(o, "action", json_string(action)) < 0 ||
      json_object_set_new(o, key, value) < 0) {
    json_decref(o);
    json_decref(value);
    return NULL;
  }
  return o;
}

/* The refs of a metadata object; v1-style metadata without "refs" has
 * main = current-snapshot-id. Returns a new reference. */
static json_t *refs_of(json_t *md) {
  json_t *refs = json_object_get(md, "refs");
  if (json_is_object(refs)) return json_incref(refs);
  refs = json_object();
  json_t *cur = json_object_get(md, "current-snapshot-id");
  if (refs != NULL && json_is_integer(cur) && json_integer_value(cur) >= 0) {
    json_t *main_ref = json_object();
    json_object_set_new(main_ref, "snapshot-id", json_integer(json_integer_value(cur)));
    json_object_set_new(main_ref, "type", json_string("branch"));
    json_object_set_new(refs, "main", main_ref);
  }
  return refs;
}

static json_t *assert_ref(const char *ref, json_t *base_ref) {
  json_t *o = json_object();
  json_t *id = json_object_get(base_ref, "snapshot-id");
  if (o == NULL || json_object_set_new(o, "type", json_string("assert-ref-snapshot-id")) < 0 ||
      json_object_set_new(o, "ref", json_string(ref)) < 0 ||
      json_object_set_new(o, "snapshot-id", id ? json_incref(id) : json_null()) < 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *assert_int(const char *type, const char *key, json_t *value) {
  json_t *o = json_object();
  if (o == NULL || json_object_set_new(o, "type", json_string(type)) < 0 ||
      json_object_set_new(o, key, value ? json_incref(value) : json_null()) < 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static int cmp_seq(const void *a, const void *b) {
  json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "sequence-number"));
  json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "sequence-number"));
  if (x != y) return x < y ? -1 : 1;
  x = json_integer_value(json_object_get(*(json_t *const *)a, "timestamp-ms"));
  y = json_integer_value(json_object_get(*(json_t *const *)b, "timestamp-ms"));
  return x < y ? -1 : x > y;
}

/* Adds schemas/specs/orders of `next` missing from `base`: add-<kind>
 * for each, then set-default when the default changed (-1 = the last one
 * added, since the server may renumber). */
static int diff_versions(json_t *base, json_t *next, const char *list_key,
                         const char *id_key, const char *default_key,
                         const char *add_action, const char *add_key,
                         const char *set_action, const char *set_key,
                         json_t *updates, json_int_t *out_added_last) {
  json_t *v;
  size_t i;
  json_int_t last_added = -2;
  json_array_foreach(json_object_get(next, list_key), i, v) {
    json_int_t id = json_integer_value(json_object_get(v, id_key));
    if (find_by_id(json_object_get(base, list_key), id_key, id) != NULL) continue;
    json_t *u = action1(add_action, add_key, json_deep_copy(v));
    if (u != NULL && strcmp(add_action, "add-schema") == 0) {
      json_t *last = json_object_get(next, "last-column-id");
      if (last != NULL) json_object_set(u, "last-column-id", last);
    }
    if (push(updates, u) < 0) return -1;
    last_added = id;
  }
  json_t *bd = json_object_get(base, default_key), *nd = json_object_get(next, default_key);
  if (nd != NULL && (bd == NULL || json_integer_value(bd) != json_integer_value(nd))) {
    json_int_t id = json_integer_value(nd);
    if (push(updates, action1(set_action, set_key,
                              json_integer(id == last_added ? -1 : id))) < 0)
      return -1;
  }
  *out_added_last = last_added;
  return 0;
}

/* Builds the commit request body (identifier, requirements, updates) that
 * turns `base` into `next`. *out_snapshots receives the ids of the
 * snapshots it adds (a new array). */
static int build_commit(floe_catalog_ident ident, json_t *base, json_t *next,
                        json_t **out_body, json_t **out_snapshots) {
  json_t *req = json_array(), *upd = json_array(), *added = json_array();
  json_t *base_refs = refs_of(base), *next_refs = refs_of(next);
  json_t **snaps = NULL;
  json_int_t last;
  int rc = -1;
  if (req == NULL || upd == NULL || added == NULL || base_refs == NULL || next_refs == NULL)
    goto cleanup;
  if (push(req, assert_int("assert-table-uuid", "uuid", json_object_get(base, "table-uuid"))) < 0)
    goto cleanup;
  /* format version */
  json_int_t bv = json_integer_value(json_object_get(base, "format-version"));
  json_int_t nv = json_integer_value(json_object_get(next, "format-version"));
  if (nv > bv && push(upd, action1("upgrade-format-version", "format-version",
                                   json_integer(nv))) < 0)
    goto cleanup;
  /* schemas */
  size_t before = json_array_size(upd);
  if (diff_versions(base, next, "schemas", "schema-id", "current-schema-id", "add-schema",
                    "schema", "set-current-schema", "schema-id", upd, &last) < 0)
    goto cleanup;
  if (json_array_size(upd) > before &&
      (push(req, assert_int("assert-current-schema-id", "current-schema-id",
                            json_object_get(base, "current-schema-id"))) < 0 ||
       (last != -2 && push(req, assert_int("assert-last-assigned-field-id",
                                           "last-assigned-field-id",
                                           json_object_get(base, "last-column-id"))) < 0)))
    goto cleanup;
  /* partition specs */
  before = json_array_size(upd);
  if (diff_versions(base, next, "partition-specs", "spec-id", "default-spec-id", "add-spec",
                    "spec", "set-default-spec", "spec-id", upd, &last) < 0)
    goto cleanup;
  if (json_array_size(upd) > before &&
      (push(req, assert_int("assert-default-spec-id", "default-spec-id",
                            json_object_get(base, "default-spec-id"))) < 0 ||
       (last != -2 &&
        push(req, assert_int("assert-last-assigned-partition-id", "last-assigned-partition-id",
                             json_object_get(base, "last-partition-id"))) < 0)))
    goto cleanup;
  /* sort orders */
  before = json_array_size(upd);
  if (diff_versions(base, next, "sort-orders", "order-id", "default-sort-order-id",
                    "add-sort-order", "sort-order", "set-default-sort-order",
                    "sort-order-id", upd, &last) < 0)
    goto cleanup;
  if (json_array_size(upd) > before &&
      push(req, assert_int("assert-default-sort-order-id", "default-sort-order-id",
                           json_object_get(base, "default-sort-order-id"))) < 0)
    goto cleanup;
  /* location */
  json_t *bl = json_object_get(base, "location"), *nl = json_object_get(next, "location");
  if (json_is_string(nl) && !json_equal(bl, nl) &&
      push(upd, action1("set-location", "location", json_incref(nl))) < 0)
    goto cleanup;
  /* properties */
  {
    json_t *bp = json_object_get(base, "properties"), *np = json_object_get(next, "properties");
    json_t *set = json_object(), *removed = json_array(), *v;
    const char *k;
    if (set == NULL || removed == NULL) {
      json_decref(set);
      json_decref(removed);
      goto cleanup;
    }
    json_object_foreach(np, k, v) if (!json_equal(json_object_get(bp, k), v))
        json_object_set(set, k, v);
    json_object_foreach(bp, k, v) if (json_object_get(np, k) == NULL)
        json_array_append_new(removed, json_string(k));
    int bad = 0;
    if (json_object_size(set) > 0) bad |= push(upd, action1("set-properties", "updates", json_incref(set)));
    if (json_array_size(removed) > 0)
      bad |= push(upd, action1("remove-properties", "removals", json_incref(removed)));
    json_decref(set);
    json_decref(removed);
    if (bad) goto cleanup;
  }
  /* snapshots: added in sequence order, removed by id */
  {
    json_t *ns = json_object_get(next, "snapshots"), *bs = json_object_get(base, "snapshots");
    json_t *v;
    size_t i, n = 0;
    snaps = floe_calloc(json_array_size(ns) + 1, sizeof *snaps);
    if (snaps == NULL) goto cleanup;
    json_array_foreach(ns, i, v) {
      json_int_t id = json_integer_value(json_object_get(v, "snapshot-id"));
      if (find_by_id(bs, "snapshot-id", id) == NULL) snaps[n++] = v;
    }
    qsort(snaps, n, sizeof *snaps, cmp_seq);
    for (i = 0; i < n; i++) {
      if (push(upd, action1("add-snapshot", "snapshot", json_deep_copy(snaps[i]))) < 0 ||
          json_array_append(added, json_object_get(snaps[i], "snapshot-id")) < 0)
        goto cleanup;
    }
    json_t *gone = json_array();
    if (gone == NULL) goto cleanup;
    json_array_foreach(bs, i, v) {
      json_t *id = json_object_get(v, "snapshot-id");
      if (find_by_id(ns, "snapshot-id", json_integer_value(id)) == NULL)
        json_array_append(gone, id);
    }
    if (json_array_size(gone) > 0 &&
        push(upd, action1("remove-snapshots", "snapshot-ids", json_incref(gone))) < 0) {
      json_decref(gone);
      goto cleanup;
    }
    json_decref(gone);
  }
  /* refs: every moved or new ref asserts where it was */
  {
    const char *name;
    json_t *ref;
    json_object_foreach(next_refs, name, ref) {
      json_t *old = json_object_get(base_refs, name);
      if (old != NULL && json_equal(old, ref)) continue;
      json_t *u = json_deep_copy(ref);
      if (u == NULL || json_object_set_new(u, "action", json_string("set-snapshot-ref")) < 0 ||
          json_object_set_new(u, "ref-name", json_string(name)) < 0) {
        json_decref(u);
        goto cleanup;
      }
      if (json_object_get(u, "type") == NULL) json_object_set_new(u, "type", json_string("branch"));
      if (push(upd, u) < 0 || push(req, assert_ref(name, old)) < 0) goto cleanup;
    }
    json_object_foreach(base_refs, name, ref) {
      if (json_object_get(next_refs, name) != NULL) continue;
      if (push(upd, action1("remove-snapshot-ref", "ref-name", json_string(name))) < 0 ||
          push(req, assert_ref(name, ref)) < 0)
        goto cleanup;
    }
  }
  /* statistics files */
  {
    const char *keys[2] = {"statistics", "partition-statistics"};
    const char *set_actions[2] = {"set-statistics", "set-partition-statistics"};
    const char *rm_actions[2] = {"remove-statistics", "remove-partition-statistics"};
    const char *payload[2] = {"statistics", "partition-statistics"};
    for (int k = 0; k < 2; k++) {
      json_t *bstat = json_object_get(base, keys[k]), *nstat = json_object_get(next, keys[k]), *v;
      size_t i;
      json_array_foreach(nstat, i, v) {
        json_t *id = json_object_get(v, "snapshot-id");
        json_t *old = find_by_id(bstat, "snapshot-id", json_integer_value(id));
        if (old != NULL && json_equal(old, v)) continue;
        json_t *u = action1(set_actions[k], payload[k], json_deep_copy(v));
        if (u == NULL || json_object_set(u, "snapshot-id", id) < 0 || push(upd, u) < 0) goto cleanup;
      }
      json_array_foreach(bstat, i, v) {
        json_t *id = json_object_get(v, "snapshot-id");
        if (find_by_id(nstat, "snapshot-id", json_integer_value(id)) != NULL) continue;
        if (push(upd, action1(rm_actions[k], "snapshot-id", json_incref(id))) < 0) goto cleanup;
      }
    }
  }
  json_t *body = json_object();
  if (body == NULL || json_object_set_new(body, "identifier", ident_json(ident)) < 0 ||
      json_object_set(body, "requirements", req) < 0 ||
      json_object_set(body, "updates", upd) < 0) {
    json_decref(body);
    goto cleanup;
  }
  *out_body = body;
  *out_snapshots = json_incref(added);
  rc = 0;
cleanup:
  floe_free(snaps);
  json_decref(req);
  json_decref(upd);
  json_decref(added);
  json_decref(base_refs);
  json_decref(next_refs);
  return rc;
}

/* The metadata the commit is based on: the cached state when it is the
 * expected one, else the server's current state, which must be it. */
static int commit_base(rest_catalog *r, floe_catalog_ident ident,
                       const char *expected, json_t **out, floe_error *err) {
  floe_buf key = FLOE_BUF_INIT;
  floe_catalog_table state = {0};
  int rc = FLOE_OK;
  *out = NULL;
  if (cache_key(ident, &key) < 0) {
    rc = nomem(err);
    goto cleanup;
  }
  table_cache *e = cache_find(r, (const char *)key.data);
  if (e == NULL || e->location == NULL || strcmp(e->location, expected) != 0) {
    FLOE_TRY(load_table(r, ident, &state, err));
    if (strcmp(state.metadata_location, expected) != 0) {
      rc = floe_error_set(err, FLOE_ECONFLICT,
                          "metadata pointer moved: current is %s, expected %s "
                          "(conflict)", state.metadata_location, expected);
      goto cleanup;
    }
    e = cache_find(r, (const char *)key.data);
  }
  if (e == NULL || e->json == NULL) {
    *out = json_loadb(state.metadata_json, state.metadata_json_len, 0, NULL);
  } else {
    *out = json_loadb(e->json, e->len, 0, NULL);
  }
  if (*out == NULL) rc = floe_error_set(err, FLOE_EFORMAT, "base metadata is not JSON");
cleanup:
  floe_catalog_table_reset(&state);
  floe_buf_free(&key);
  return rc;
}

/* After an unknown outcome: did the commit land? Landed when every added
 * snapshot is in the table, or, for a commit without snapshots, when the
 * table's metadata leaves nothing of it to apply. */
static int commit_landed(floe_catalog_ident ident, json_t *current, json_t *next,
                         json_t *added, int *out) {
  *out = 0;
  if (json_array_size(added) > 0) {
    size_t i;
    json_t *id;
    json_array_foreach(added, i, id) if (find_by_id(json_object_get(current, "snapshots"),
                                                    "snapshot-id", json_integer_value(id)) == NULL) return 0;
    *out = 1;
    return 0;
  }
  json_t *body = NULL, *none = NULL;
  if (build_commit(ident, current, next, &body, &none) < 0) return -1;
  *out = json_array_size(json_object_get(body, "updates")) == 0;
  json_decref(body);
  json_decref(none);
  return 0;
}

static int rest_commit(floe_catalog *c, floe_catalog_ident ident,
                       const char *expected, const char *json, size_t len,
                       char **out_location, floe_catalog_table *out_state,
                       floe_error *err) {
  rest_catalog *r = impl(c);
  floe_buf path = FLOE_BUF_INIT;
  rest_response resp = {0};
  json_t *base = NULL, *next = NULL, *body = NULL, *added = NULL, *root = NULL, *cur = NULL;
  char *text = NULL;
  floe_catalog_table state = {0};
  int rc = FLOE_OK;
  next = json_loadb(json, len, 0, NULL);
  if (!json_is_object(next)) {
    rc = floe_error_set(err, FLOE_EFORMAT, "commit: new metadata is not JSON");
    goto cleanup;
  }
  FLOE_TRY(commit_base(r, ident, expected, &base, err));
  if (build_commit(ident, base, next, &body, &added) < 0 ||
      (text = json_dumps(body, JSON_COMPACT)) == NULL || table_path(ident, NULL, &path) < 0) {
    rc = nomem(err);
    goto cleanup;
  }
  FLOE_TRY(request(r, "POST", (const char *)path.data, text, 0, &resp, err));
  if (!resp.transport_failed && resp.status == 200) {
    FLOE_TRY(parse_body(&resp, "commit", &root, err));
    FLOE_TRY(take_load_result(r, ident, root, &state, err));
  } else if (!resp.transport_failed && resp.status == 409) {
    cache_drop(r, ident);
    rc = response_error(&resp, "POST", (const char *)path.data, FLOE_ECONFLICT, err);
    floe_error_prefix(err, "requirements failed (conflict)");
    goto cleanup;
  } else if (resp.transport_failed || resp.status >= 500) {
    /* The server may have applied the commit: CommitStateUnknown. Decide
     * from the table itself; never resend. */
    char what[CURL_ERROR_SIZE + 32];
    if (resp.transport_failed)
      snprintf(what, sizeof what, "%s", resp.transport_error);
    else
      snprintf(what, sizeof what, "HTTP %ld", resp.status);
    char table[600];
    snprintf(table, sizeof table, "%s.%s", ident.ns, ident.name);
    floe_log(FLOE_LOG_WARN, "rest_commit_state_unknown", "table=%s cause=%s action=reload", table,
             what);
    cache_drop(r, ident);
    floe_error load_err = {0};
    int lrc = FLOE_OK;
    for (int attempt = 1; attempt <= r->max_attempts; attempt++) {
      floe_catalog_table_reset(&state);
      lrc = load_table(r, ident, &state, &load_err);
      if (lrc == FLOE_OK) break;
      sleep_ms(backoff_ms(r, attempt));
    }
    if (lrc < 0) {
      rc = floe_error_set(err, FLOE_ENETWORK,
                          "commit state unknown (%s) and the table could not be "
                          "reloaded: %s", what, load_err.message);
      goto cleanup;
    }
    int landed = 0;
    cur = json_loadb(state.metadata_json, state.metadata_json_len, 0, NULL);
    if (cur == NULL || commit_landed(ident, cur, next, added, &landed) < 0) {
      rc = nomem(err);
      goto cleanup;
    }
    floe_log(FLOE_LOG_WARN, "rest_commit_state_resolved", "table=%s landed=%d metadata=%s", table,
             landed, state.metadata_location);
    if (!landed) {
      rc = floe_error_set(err, FLOE_ECONFLICT,
                          "commit state unknown (%s); the reloaded table does not "
                          "hold it (conflict: reload and re-apply)", what);
      goto cleanup;
    }
  } else {
    rc = response_error(&resp, "POST", (const char *)path.data, 0, err);
    goto cleanup;
  }
  *out_location = floe_strdup(state.metadata_location);
  if (*out_location == NULL) {
    rc = nomem(err);
    goto cleanup;
  }
  if (out_state != NULL) {
    floe_catalog_table_reset(out_state);
    *out_state = state;
    memset(&state, 0, sizeof state);
  }
cleanup:
  json_decref(base);
  json_decref(next);
  json_decref(body);
  json_decref(added);
  json_decref(root);
  json_decref(cur);
  floe_free(text);
  floe_catalog_table_reset(&state);
  response_reset(&resp);
  floe_buf_free(&path);
  return rc;
}

/* ---- open / destroy ----------------------------------------------------------------- */

static void free_secret(char *s) {
  if (s != NULL) {
    memset(s, 0, strlen(s));
    floe_free(s);
  }
}

static void rest_destroy(floe_catalog *c) {
  rest_catalog *r = impl(c);
  if (r == NULL) return;
  if (r->curl != NULL) curl_easy_cleanup(r->curl);
  floe_free(r->uri);
  floe_free(r->prefix);
  floe_free(r->warehouse);
  free_secret(r->credential);
  floe_free(r->scope);
  floe_free(r->oauth2_uri);
  free_secret(r->token);
  floe_free(r->sigv4);
  free_secret(r->aws_key);
  free_secret(r->aws_secret);
  free_secret(r->aws_session);
  for (size_t i = 0; i < r->n_headers; i++) free_secret(r->header_lines[i]);
  floe_free(r->header_lines);
  floe_free(r->delegation);
  for (size_t i = 0; i < r->n_endpoints; i++) floe_free(r->endpoints[i]);
  floe_free(r->endpoints);
  for (size_t i = 0; i < r->n_cache; i++) {
    floe_free(r->cache[i].key);
    floe_free(r->cache[i].location);
    floe_free(r->cache[i].json);
  }
  floe_free(r->cache);
  floe_free(r);
  c->impl = NULL;
}

static const catalog_ops rest_ops = {
    .kind = "rest",
    .namespace_create = rest_namespace_create,
    .namespace_exists = rest_namespace_exists,
    .namespace_list = rest_namespace_list,
    .namespace_properties = rest_namespace_properties,
    .namespace_drop = rest_namespace_drop,
    .table_create = rest_table_create,
    .table_load = rest_table_load,
    .table_exists = rest_table_exists,
    .table_list = rest_table_list,
    .table_drop = rest_table_drop,
    .table_rename = rest_table_rename,
    .commit = rest_commit,
    .table_register = rest_table_register,
    .server_writes_metadata = 1,
    .destroy = rest_destroy,
};

static int dup_opt(const char *s, char **out) {
  *out = NULL;
  if (s == NULL || s[0] == '\0') return FLOE_OK;
  *out = floe_strdup(s);
  return *out ? FLOE_OK : FLOE_ENOMEM;
}

static bool curl_started;

int catalog_rest_open(floe_catalog *c, const floe_catalog_config *config,
                      floe_error *err) {
  const floe_catalog_rest_config *rc_in = &config->rest;
  int rc = FLOE_OK;
  c->ops = &rest_ops;
  if (rc_in->uri == NULL || (strncmp(rc_in->uri, "http://", 7) != 0 &&
                             strncmp(rc_in->uri, "https://", 8) != 0))
    return floe_error_set(err, FLOE_EINVAL, "uri must be an http:// or https:// "
                          "URL (got '%s')", rc_in->uri ? rc_in->uri : "");
  if (!curl_started) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      return floe_error_set(err, FLOE_ENETWORK, "libcurl failed to start");
    curl_started = true;
  }
  rest_catalog *r = floe_calloc(1, sizeof *r);
  if (r == NULL) return nomem(err);
  c->impl = r;
  r->curl = curl_easy_init();
  if (r->curl == NULL) return nomem(err);
  r->request_timeout_ms = rc_in->request_timeout_ms > 0 ? rc_in->request_timeout_ms : 30000;
  r->connect_timeout_ms = rc_in->connect_timeout_ms > 0 ? rc_in->connect_timeout_ms : 10000;
  r->max_attempts = rc_in->max_attempts > 0 ? rc_in->max_attempts : 5;
  r->rng = (unsigned)floe_now_micros() ^ (unsigned)getpid();
  if (dup_opt(rc_in->uri, &r->uri) < 0 || dup_opt(rc_in->warehouse, &r->warehouse) < 0 ||
      dup_opt(rc_in->credential, &r->credential) < 0 ||
      dup_opt(rc_in->scope ? rc_in->scope : DEFAULT_SCOPE, &r->scope) < 0 ||
      dup_opt(rc_in->oauth2_uri, &r->oauth2_uri) < 0 || dup_opt(rc_in->token, &r->token) < 0 ||
      dup_opt(rc_in->access_delegation ? rc_in->access_delegation : "vended-credentials",
              &r->delegation) < 0)
    return nomem(err);
  size_t n = strlen(r->uri);
  while (n > 0 && r->uri[n - 1] == '/') r->uri[--n] = '\0';
  r->oauth = r->credential != NULL;
  if (r->oauth && r->token != NULL)
    return floe_error_set(err, FLOE_EINVAL, "give either a credential or a token, not both");
  if (rc_in->sigv4_region != NULL && rc_in->sigv4_region[0] != '\0') {
    if (r->oauth || r->token != NULL)
      return floe_error_set(err, FLOE_EINVAL, "sigv4 signing replaces credential and token; "
                            "give one of them");
    const char *service = rc_in->sigv4_service ? rc_in->sigv4_service : "execute-api";
    floe_buf b = FLOE_BUF_INIT;
    if (floe_buf_appendf(&b, "aws:amz:%s:%s", rc_in->sigv4_region, service) < 0 ||
        floe_buf_terminate(&b) < 0) {
      floe_buf_free(&b);
      return nomem(err);
    }
    r->sigv4 = (char *)floe_buf_detach(&b, NULL);
    const char *key = rc_in->sigv4_access_key_id ? rc_in->sigv4_access_key_id
                                                 : getenv("AWS_ACCESS_KEY_ID");
    const char *secret = rc_in->sigv4_secret_access_key ? rc_in->sigv4_secret_access_key
                                                        : getenv("AWS_SECRET_ACCESS_KEY");
    const char *session = rc_in->sigv4_session_token ? rc_in->sigv4_session_token
                                                     : getenv("AWS_SESSION_TOKEN");
    if (key == NULL || key[0] == '\0' || secret == NULL || secret[0] == '\0')
      return floe_error_set(err, FLOE_EINVAL, "sigv4: no AWS credentials (set "
                            "sigv4.access_key_id/secret_access_key or "
                            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)");
    if (dup_opt(key, &r->aws_key) < 0 || dup_opt(secret, &r->aws_secret) < 0 ||
        dup_opt(session, &r->aws_session) < 0)
      return nomem(err);
  }
  if (rc_in->n_headers > 0) {
    r->header_lines = floe_calloc(rc_in->n_headers, sizeof *r->header_lines);
    if (r->header_lines == NULL) return nomem(err);
    for (size_t i = 0; i < rc_in->n_headers; i++) {
      const floe_catalog_property *h = &rc_in->headers[i];
      if (h->key == NULL || h->key[0] == '\0' || strpbrk(h->key, ":\r\n") != NULL ||
          (h->value != NULL && strpbrk(h->value, "\r\n") != NULL))
        return floe_error_set(err, FLOE_EINVAL, "header %zu: a name without ':' and "
                              "values without line breaks are required", i + 1);
      floe_buf b = FLOE_BUF_INIT;
      if (floe_buf_appendf(&b, "%s: %s", h->key, h->value ? h->value : "") < 0 ||
          floe_buf_terminate(&b) < 0) {
        floe_buf_free(&b);
        return nomem(err);
      }
      r->header_lines[r->n_headers++] = (char *)floe_buf_detach(&b, NULL);
    }
  }
  rc = load_config(r, err);
  if (rc < 0) floe_error_prefix(err, "%s", r->uri);
  else
    floe_log(FLOE_LOG_INFO, "rest_catalog", "uri=%s prefix=%s auth=%s endpoints=%zu", r->uri,
             r->prefix ? r->prefix : "", r->sigv4 ? "sigv4" : r->oauth ? "oauth2"
                                                   : r->token ? "bearer" : "none",
             r->n_endpoints);
  return rc;
}
