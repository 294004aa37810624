/*
 * source/snowflake: the Snowflake driver, over the SQL API v2.
 *
 * floe talks to Snowflake the documented way (docs.snowflake.com/en/
 * developer-guide/sql-api/, sqlapi.yaml): POST /api/v2/statements with the
 * statement, its bindings and the context (warehouse, role, database,
 * schema) in every request body, a fresh requestId per statement reused on
 * every retry (with retry=true) so a retry never runs it twice; a 202 is
 * polled with GET /api/v2/statements/{handle} under backoff (and cancelled
 * with POST .../cancel when the user interrupts); a result's partitions are
 * fetched with GET ...?partition=N and decoded while they download
 * (snowflake_decode.c): with prefetch_partitions > 1 several at a time on
 * worker threads (snowflake_prefetch.c), handed over in order; with 1 one
 * at a time, pulled in batches of at most batch_rows rows (the transfer
 * pauses while a batch waits), so memory does not grow with a partition's
 * size.
 *
 * The SQL API is stateless: there is no session in which BEGIN could stay
 * open between requests ("Using explicit transactions"). A transaction is
 * therefore sent as one request: floe_source_begin starts collecting the
 * statements executed in it (parameters written as literals: the API takes
 * no bindings in multi-statement requests), and commit sends them as one
 * Snowflake Scripting block, EXECUTE IMMEDIATE 'BEGIN BEGIN TRANSACTION;
 * ...; COMMIT; EXCEPTION WHEN OTHER THEN ROLLBACK; RAISE; END;', so a
 * failure never leaves the transaction open and detached; rollback drops
 * them unsent. Queries run at once and do not see the uncommitted
 * statements. Context names (database, schema, warehouse, role) are
 * case-sensitive in the request body and are resolved as Snowflake
 * resolves identifiers.
 *
 * Tables are described from information_schema.columns and the primary key
 * from SHOW PRIMARY KEYS; docs/snowflake.md has the type mapping.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "floe/log.h"
#include "floe/time.h"
#include "source/snowflake_internal.h"
#include "source/source_internal.h"

enum { AUTH_KEYPAIR, AUTH_OAUTH, AUTH_PAT };

#define JWT_LIFETIME_S 3600   /* the documented maximum: one hour */
#define JWT_REFRESH_MARGIN_S 300

/* A connection's view of the shared bearer token: its own copy, so that a
 * refresh on another thread (a partition worker after a 401) never frees
 * the string a request is about to send. */
typedef struct sf_token_client {
  struct sf_source *src;
  char *token;
} sf_token_client;

typedef struct sf_source {
  floe_source base;
  floe_sf_http *http;
  floe_sf_http_options http_options; /* for partition workers' connections */
  char *base_url;
  sf_token_client main_token;
  pthread_mutex_t token_mutex; /* token, token_expiry */
  bool token_mutex_ready;
  int prefetch_partitions;     /* partitions in flight; 1: one at a time */
  char *account, *user, *warehouse, *role, *database, *schema;
  char *query_tag; /* QUERY_TAG of every statement, or NULL */
  int auth;
  floe_sf_key *key;
  char *token;          /* current bearer token (JWT or configured token) */
  int64_t token_expiry; /* JWT exp, seconds */
  char *token_env, *token_file, *token_literal;
  int statement_timeout_s;
  long poll_max_ms;
  const volatile sig_atomic_t *interrupt;
  /* statements collected inside floe_source_begin .. commit */
  floe_buf txn_sql;
  int txn_statements;
} sf_source;

typedef struct sf_stream {
  floe_source_stream base;
  sf_source *src;
  floe_sf_decoder *dec;
  char *handle;
  int64_t n_partitions, next_partition;
  int64_t *partition_rows;
  int64_t rows_before; /* rows in the partitions before the next one */
  struct ArrowArray batch;
  struct ArrowSchema schema;
  floe_arrow_view *views;
  int64_t row, n_rows;
  /* Partitions are pulled in batches of at most batch_rows rows
   * (floe_sf_http_pull_*), so memory does not grow with their size. */
  int64_t batch_rows;
  bool pulling;               /* a partition transfer is under way */
  int64_t pull_first_row;     /* 1-based number of its first row */
  int64_t pull_taken;         /* its rows already delivered */
  int64_t partition0_kept;    /* rows of partition 0 kept from the POST */
  floe_buf pull_answer;       /* a non-200 body */
  floe_sf_sink pull_sink;
  /* With prefetch_partitions > 1 the partitions after the POST answer
   * come from worker threads (snowflake_prefetch.c). */
  floe_sf_prefetch *prefetch;
} sf_stream;

/* ---- small helpers ------------------------------------------------------------ */

static void wipe_free(char *s) {
  if (s == NULL) return;
  memset(s, 0, strlen(s));
  floe_free(s);
}

static int dup_opt(char **out, const char *s) {
  *out = NULL;
  if (s == NULL || *s == '\0') return FLOE_OK;
  *out = floe_strdup(s);
  return *out != NULL ? FLOE_OK : FLOE_ENOMEM;
}

static int make_uuid(char out[37]) {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) return FLOE_EIO;
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  snprintf(out, 37,
           "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
           b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
           b[11], b[12], b[13], b[14], b[15]);
  return FLOE_OK;
}

/* Reads a token file, trimming surrounding whitespace. */
static int read_token_file(const char *path, char **out, floe_error *err) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (f == NULL) return floe_error_errno(err, errno, "token file '%s'", path);
  floe_buf b = FLOE_BUF_INIT;
  char chunk[1024];
  size_t n;
  int rc = FLOE_OK;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (b.len + n > 65536) {
      rc = floe_error_set(err, FLOE_EINVAL, "token file '%s': too large", path);
      break;
    }
    if (floe_buf_append(&b, chunk, n) < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      break;
    }
  }
  fclose(f);
  memset(chunk, 0, sizeof chunk);
  if (rc == FLOE_OK) {
    size_t start = 0, end = b.len;
    while (start < end && isspace(b.data[start])) start++;
    while (end > start && isspace(b.data[end - 1])) end--;
    if (end == start) {
      rc = floe_error_set(err, FLOE_EINVAL, "token file '%s' is empty", path);
    } else if ((*out = floe_strndup((const char *)b.data + start, end - start)) ==
               NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    }
  }
  if (b.data != NULL) memset(b.data, 0, b.cap);
  floe_buf_free(&b);
  return rc;
}

/* The bearer token for the next request (floe_sf_token_fn). */
static int sf_token(void *ctx, bool refresh, const char **token,
                    const char **token_type, floe_error *err) {
  sf_source *src = ctx;
  int64_t now = floe_now_micros() / 1000000;
  if (src->auth == AUTH_KEYPAIR) {
    *token_type = "KEYPAIR_JWT";
    /* A new JWT when asked, when none exists, or before the old expires. */
    if (refresh || src->token == NULL ||
        now >= src->token_expiry - JWT_REFRESH_MARGIN_S) {
      char *jwt = NULL;
      int rc = floe_sf_jwt_make(src->key, src->account, src->user, now,
                                JWT_LIFETIME_S, &jwt, err);
      if (rc < 0) return rc;
      wipe_free(src->token);
      src->token = jwt;
      src->token_expiry = now + JWT_LIFETIME_S;
      floe_log(FLOE_LOG_DEBUG, "snowflake.jwt", "expires_in_s=%d",
               JWT_LIFETIME_S);
    }
  } else {
    *token_type = src->auth == AUTH_PAT ? "PROGRAMMATIC_ACCESS_TOKEN" : "OAUTH";
    if (refresh || src->token == NULL) {
      char *t = NULL;
      if (src->token_env != NULL) {
        const char *v = getenv(src->token_env);
        if (v == NULL || *v == '\0')
          return floe_error_set(err, FLOE_EINVAL,
                                "environment variable %s (the token) is not set",
                                src->token_env);
        t = floe_strdup(v);
      } else if (src->token_file != NULL) {
        int rc = read_token_file(src->token_file, &t, err);
        if (rc < 0) return rc;
      } else {
        t = floe_strdup(src->token_literal);
      }
      if (t == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
      wipe_free(src->token);
      src->token = t;
    }
  }
  *token = src->token;
  return FLOE_OK;
}

/* The token for one connection (floe_sf_token_fn), safe to call from
 * several threads: the shared token is read or refreshed under the mutex
 * and copied. */
static int sf_token_shared(void *ctx, bool refresh, const char **token,
                           const char **token_type, floe_error *err) {
  sf_token_client *c = ctx;
  sf_source *src = c->src;
  const char *current = NULL;
  pthread_mutex_lock(&src->token_mutex);
  int rc = sf_token(src, refresh, &current, token_type, err);
  if (rc == FLOE_OK && (c->token == NULL || strcmp(c->token, current) != 0)) {
    char *copy = floe_strdup(current);
    if (copy == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    } else {
      wipe_free(c->token);
      c->token = copy;
    }
  }
  pthread_mutex_unlock(&src->token_mutex);
  *token = c->token;
  return rc;
}

/* ---- requests and responses ---------------------------------------------------- */

static void decoder_reset(void *ctx) { floe_sf_decoder_reset(ctx, 1); }

static int decoder_write(void *ctx, const void *bytes, size_t len,
                         floe_error *err) {
  return floe_sf_decoder_feed(ctx, bytes, len, err);
}

/* A first-row number for a partition's decoder; the sink resets with 1
 * and this fixes it up. */
typedef struct partition_sink {
  floe_sf_decoder *dec;
  int64_t first_row;
} partition_sink;

static void partition_reset(void *ctx) {
  partition_sink *p = ctx;
  floe_sf_decoder_reset(p->dec, p->first_row);
}

static int partition_write(void *ctx, const void *bytes, size_t len,
                           floe_error *err) {
  partition_sink *p = ctx;
  return floe_sf_decoder_feed(p->dec, bytes, len, err);
}

static const char *json_str(const json_t *obj, const char *key) {
  const json_t *v = json_object_get(obj, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Turns a non-200 answer into an error: 422 carries Snowflake's code,
 * sqlState and message (sqlapi.yaml QueryFailureStatus). */
int floe_sf_status_error(long status, const floe_buf *body, floe_error *err) {
  json_t *doc = NULL;
  if (body != NULL && body->len > 0)
    doc = json_loadb((const char *)body->data, body->len, 0, NULL);
  const char *code = json_str(doc, "code");
  const char *state = json_str(doc, "sqlState");
  const char *message = json_str(doc, "message");
  int rc;
  if (message != NULL) {
    rc = floe_error_set(err, status == 408 ? FLOE_ESOURCE : FLOE_ESOURCE,
                        "HTTP %ld: Snowflake error %s (SQLSTATE %s): %s", status,
                        code ? code : "?", state ? state : "?", message);
  } else if (status == 408) {
    rc = floe_error_set(err, FLOE_ESOURCE,
                        "HTTP 408: statement exceeded its timeout and was "
                        "cancelled");
  } else {
    size_t shown = body != NULL ? body->len : 0;
    if (shown > 200) shown = 200;
    int code_rc = status == 401 || status == 403 ? FLOE_ESOURCE
                  : status >= 500                 ? FLOE_ENETWORK
                                                  : FLOE_ESOURCE;
    rc = floe_error_set(err, code_rc, "HTTP %ld%s%.*s", status,
                        shown ? ": " : "", (int)shown,
                        shown ? (const char *)body->data : "");
  }
  if (doc != NULL) json_decref(doc);
  return rc;
}

/* Appends the bindings of params (numbered from first) to `bindings`
 * (sqlapi.yaml: bindings {"1": {"type": ..., "value": ...}}). */
static int add_bindings(json_t *bindings, const floe_source_param *params,
                        size_t n, size_t first, floe_error *err) {
  for (size_t i = 0; i < n; i++) {
    const floe_source_param *p = &params[i];
    json_t *b = json_object();
    json_t *value = NULL;
    const char *type = "TEXT";
    char text[48];
    floe_buf hex = FLOE_BUF_INIT;
    switch (p->type) {
      case FLOE_PARAM_NULL:
        value = json_null();
        break;
      case FLOE_PARAM_INT64:
        type = "FIXED";
        snprintf(text, sizeof text, "%" PRId64, p->int64_value);
        value = json_string(text);
        break;
      case FLOE_PARAM_DOUBLE:
        type = "REAL";
        floe_src_format_double(p->double_value, text, sizeof text);
        value = json_string(text);
        break;
      case FLOE_PARAM_TEXT:
        if (!floe_src_utf8_valid(p->bytes, p->len)) {
          json_decref(b);
          return floe_error_set(err, FLOE_EINVAL,
                                "parameter %zu: text is not valid UTF-8", i + 1);
        }
        value = json_stringn(p->bytes ? p->bytes : "", p->len);
        break;
      case FLOE_PARAM_BLOB: {
        type = "BINARY";
        static const char digits[] = "0123456789ABCDEF";
        const uint8_t *bytes = p->bytes;
        for (size_t j = 0; j < p->len; j++) {
          if (floe_buf_append_byte(&hex, (uint8_t)digits[bytes[j] >> 4]) < 0 ||
              floe_buf_append_byte(&hex, (uint8_t)digits[bytes[j] & 15]) < 0)
            break;
        }
        value = json_stringn(hex.data ? (const char *)hex.data : "", hex.len);
        floe_buf_free(&hex);
        break;
      }
      default:
        json_decref(b);
        return floe_error_set(err, FLOE_EINVAL, "parameter %zu: unknown type %d",
                              i + 1, (int)p->type);
    }
    char key[24];
    snprintf(key, sizeof key, "%zu", first + i);
    if (b == NULL || value == NULL ||
        json_object_set_new(b, "type", json_string(type)) < 0 ||
        json_object_set_new(b, "value", value) < 0 ||
        json_object_set_new(bindings, key, b) < 0) {
      if (b != NULL) json_decref(b);
      return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    }
  }
  return FLOE_OK;
}

/* The request body: statement, timeout, context, bindings, parameters. */
static int make_body(sf_source *src, const char *sql, json_t *bindings,
                     int multi_count, char **out, floe_error *err) {
  json_t *body = json_object();
  int rc = FLOE_OK;
  *out = NULL;
  if (body == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  bool ok = json_object_set_new(body, "statement", json_string(sql)) == 0 &&
            json_object_set_new(body, "timeout",
                                json_integer(src->statement_timeout_s)) == 0;
  const char *context[][2] = {{"warehouse", src->warehouse},
                              {"role", src->role},
                              {"database", src->database},
                              {"schema", src->schema}};
  for (size_t i = 0; ok && i < 4; i++)
    if (context[i][1] != NULL)
      ok = json_object_set_new(body, context[i][0], json_string(context[i][1])) == 0;
  if (ok && bindings != NULL && json_object_size(bindings) > 0)
    ok = json_object_set(body, "bindings", bindings) == 0;
  if (ok && (multi_count != 1 || src->query_tag != NULL)) {
    /* Session parameters of the request (OpenAPI SubmitStatement
     * "parameters"): MULTI_STATEMENT_COUNT ("Submitting multiple SQL
     * statements in a single request") and QUERY_TAG. */
    json_t *parameters = json_object();
    ok = parameters != NULL && json_object_set_new(body, "parameters", parameters) == 0;
    if (ok && multi_count != 1) {
      char count[16];
      snprintf(count, sizeof count, "%d", multi_count);
      ok = json_object_set_new(parameters, "MULTI_STATEMENT_COUNT", json_string(count)) == 0;
    }
    if (ok && src->query_tag != NULL)
      ok = json_object_set_new(parameters, "QUERY_TAG", json_string(src->query_tag)) == 0;
  }
  if (ok) *out = json_dumps(body, JSON_COMPACT);
  if (!ok || *out == NULL)
    rc = floe_error_set(err, FLOE_EINVAL,
                        "statement is not valid UTF-8 or out of memory");
  json_decref(body);
  return rc;
}

static int cancel_statement(sf_source *src, const char *handle) {
  char path[160];
  snprintf(path, sizeof path, "/api/v2/statements/%s/cancel", handle);
  long status = 0;
  floe_error ignored = {0};
  /* The user asked to stop; the cancel itself must not be interrupted. */
  floe_sf_http_ignore_interrupt(src->http, true);
  int rc = floe_sf_http_call(src->http, "POST", path, NULL, "{}", NULL, &status,
                             NULL, &ignored);
  floe_sf_http_ignore_interrupt(src->http, false);
  floe_log(FLOE_LOG_INFO, "snowflake.cancel", "handle=%s status=%ld ok=%d",
           handle, status, rc == FLOE_OK && status == 200);
  return rc;
}

/* Runs one request (sql may hold multi_count statements) and leaves the
 * first partition of its result decoded in dec (finished, envelope
 * parsed). Polls a 202 until the statement ends. */
static int run_statement(sf_source *src, const char *sql, json_t *bindings,
                         int multi_count, floe_sf_decoder *dec,
                         floe_error *err) {
  int rc;
  char *body = NULL;
  char request_id[37], path[128], retry_path[160];
  char *handle = NULL;
  floe_buf answer = FLOE_BUF_INIT;
  floe_sf_sink sink = {decoder_reset, decoder_write, dec};
  long status = 0;
  FLOE_TRY(make_body(src, sql, bindings, multi_count, &body, err));
  if (make_uuid(request_id) < 0) {
    rc = floe_error_set(err, FLOE_EIO, "no random bytes for a request id");
    goto cleanup;
  }
  /* "Resubmitting a request": same requestId, retry=true. */
  snprintf(path, sizeof path, "/api/v2/statements?requestId=%s", request_id);
  snprintf(retry_path, sizeof retry_path,
           "/api/v2/statements?requestId=%s&retry=true", request_id);
  floe_log(FLOE_LOG_DEBUG, "snowflake.submit", "request_id=%s statements=%d",
           request_id, multi_count);
  FLOE_TRY(floe_sf_http_call(src->http, "POST", path, retry_path, body, &sink,
                             &status, &answer, err));
  long delay = 50;
  while (status == 202) {
    if (handle == NULL) {
      json_t *doc = json_loadb((const char *)answer.data, answer.len, 0, NULL);
      const char *h = json_str(doc, "statementHandle");
      bool valid = h != NULL && strlen(h) < 100 &&
                   strspn(h, "0123456789abcdefABCDEF-") == strlen(h);
      if (valid) handle = floe_strdup(h);
      if (doc != NULL) json_decref(doc);
      if (!valid) {
        rc = floe_error_set(err, FLOE_EFORMAT,
                            "HTTP 202 without a valid statementHandle");
        goto cleanup;
      }
      if (handle == NULL) {
        rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
        goto cleanup;
      }
    }
    rc = floe_sf_http_sleep(src->http, delay, err);
    if (rc == FLOE_ECANCELED) {
      cancel_statement(src, handle);
      rc = floe_error_set(err, FLOE_ECANCELED,
                          "statement %s cancelled (interrupted)", handle);
      goto cleanup;
    }
    if (rc < 0) goto cleanup;
    delay = delay * 2 > src->poll_max_ms ? src->poll_max_ms : delay * 2;
    char poll_path[160];
    snprintf(poll_path, sizeof poll_path, "/api/v2/statements/%s", handle);
    rc = floe_sf_http_call(src->http, "GET", poll_path, NULL, NULL, &sink,
                           &status, &answer, err);
    if (rc == FLOE_ECANCELED) {
      cancel_statement(src, handle);
      goto cleanup;
    }
    if (rc < 0) goto cleanup;
  }
  if (status != 200) {
    rc = floe_sf_status_error(status, &answer, err);
    goto cleanup;
  }
  FLOE_TRY(floe_sf_decoder_finish(dec, err));
  rc = FLOE_OK;
cleanup:
  if (body != NULL) free(body); /* json_dumps uses jansson's allocator */
  floe_free(handle);
  floe_buf_free(&answer);
  return rc;
}

/* Fetches partition `index` of `handle` into dec. */
static int fetch_partition(sf_source *src, const char *handle, int64_t index,
                           int64_t first_row, floe_sf_decoder *dec,
                           floe_error *err) {
  char path[200];
  snprintf(path, sizeof path, "/api/v2/statements/%s?partition=%" PRId64, handle,
           index);
  partition_sink ps = {dec, first_row};
  floe_sf_sink sink = {partition_reset, partition_write, &ps};
  floe_buf answer = FLOE_BUF_INIT;
  long status = 0;
  int rc = floe_sf_http_call(src->http, "GET", path, NULL, NULL, &sink, &status,
                             &answer, err);
  if (rc == FLOE_OK && status != 200) rc = floe_sf_status_error(status, &answer, err);
  if (rc == FLOE_OK) rc = floe_sf_decoder_finish(dec, err);
  if (rc < 0) floe_error_prefix(err, "partition %" PRId64, index);
  floe_buf_free(&answer);
  return rc;
}

/* ---- placeholders and statement splitting ---------------------------------------- */

/* Appends the SQL literal of one parameter, typed the way its binding
 * would be (snowflake_internal.h). */
int floe_sf_literal(floe_buf *out, const floe_source_param *p, floe_error *err) {
  int rc = FLOE_OK;
  char text[48];
  switch (p->type) {
    case FLOE_PARAM_NULL:
      rc = floe_buf_append_str(out, "NULL");
      break;
    case FLOE_PARAM_INT64:
      /* Parenthesised when negative: "x - -5" would start a comment. */
      rc = floe_buf_appendf(out, p->int64_value < 0 ? "(%" PRId64 ")" : "%" PRId64,
                            p->int64_value);
      break;
    case FLOE_PARAM_DOUBLE:
      /* "Numeric data types": 'NaN', 'inf' and '-inf' are the special
       * FLOAT values as strings. */
      if (isnan(p->double_value))
        snprintf(text, sizeof text, "NaN");
      else if (isinf(p->double_value))
        snprintf(text, sizeof text, p->double_value < 0 ? "-inf" : "inf");
      else
        floe_src_format_double(p->double_value, text, sizeof text);
      rc = floe_buf_appendf(out, "CAST('%s' AS FLOAT)", text);
      break;
    case FLOE_PARAM_TEXT: {
      const uint8_t *b = p->bytes;
      if (!floe_src_utf8_valid(b, p->len))
        return floe_error_set(err, FLOE_EINVAL, "parameter: text is not valid UTF-8");
      /* "String constants": a single-quoted string takes '' for a quote
       * and backslash escapes, so a backslash is doubled too. */
      rc = floe_buf_append_byte(out, '\'');
      for (size_t i = 0; rc == FLOE_OK && i < p->len; i++) {
        if (b[i] == '\'') rc = floe_buf_append_str(out, "''");
        else if (b[i] == '\\') rc = floe_buf_append_str(out, "\\\\");
        else if (b[i] == 0) rc = floe_buf_append_str(out, "\\0");
        else rc = floe_buf_append_byte(out, b[i]);
      }
      if (rc == FLOE_OK) rc = floe_buf_append_byte(out, '\'');
      break;
    }
    case FLOE_PARAM_BLOB: {
      static const char digits[] = "0123456789ABCDEF";
      const uint8_t *b = p->bytes;
      rc = floe_buf_append_str(out, "TO_BINARY('");
      for (size_t i = 0; rc == FLOE_OK && i < p->len; i++)
        if ((rc = floe_buf_append_byte(out, (uint8_t)digits[b[i] >> 4])) == FLOE_OK)
          rc = floe_buf_append_byte(out, (uint8_t)digits[b[i] & 15]);
      if (rc == FLOE_OK) rc = floe_buf_append_str(out, "', 'HEX')");
      break;
    }
    default:
      return floe_error_set(err, FLOE_EINVAL, "parameter: unknown type %d", (int)p->type);
  }
  if (rc < 0) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  return FLOE_OK;
}

/* Walks sql outside quotes and comments, counting top-level statements
 * and placeholders (?, :N). When out is given, copies the text into it
 * with every placeholder replaced by the literal of its parameter
 * (floe_sf_literal): the SQL API takes no bindings in a multi-statement
 * request ("Submitting multiple SQL statements in a single request"). */
static int scan_sql(const char *sql, floe_buf *out, const floe_source_param *params,
                    size_t n_params, size_t *n_placeholders, int *n_statements,
                    floe_error *err) {
  size_t question = 0, max_numbered = 0;
  int statements = 0;
  bool content = false;
  const char *p = sql;
  int rc = FLOE_OK;
#define EMIT(ptr, n) \
  if (out != NULL && floe_buf_append(out, (ptr), (n)) < 0) goto oom
  while (*p) {
    char c = *p;
    if (c == '\'' || c == '"') {
      const char *start = p++;
      while (*p && !(*p == c && p[1] != c)) p += (*p == c || *p == '\\') && p[1] ? 2 : 1;
      if (*p) p++;
      EMIT(start, (size_t)(p - start));
      content = true;
      continue;
    }
    if (c == '-' && p[1] == '-') {
      const char *start = p;
      while (*p && *p != '\n') p++;
      EMIT(start, (size_t)(p - start));
      continue;
    }
    if (c == '/' && p[1] == '*') {
      const char *start = p;
      p += 2;
      while (*p && !(*p == '*' && p[1] == '/')) p++;
      if (*p) p += 2;
      EMIT(start, (size_t)(p - start));
      continue;
    }
    if (c == '$' && p[1] == '$') { /* $$ dollar-quoted text $$ */
      const char *start = p;
      p += 2;
      while (*p && !(*p == '$' && p[1] == '$')) p++;
      if (*p) p += 2;
      EMIT(start, (size_t)(p - start));
      content = true;
      continue;
    }
    if (c == ':' && p[1] == ':') { /* cast operator */
      EMIT(p, 2);
      p += 2;
      continue;
    }
    size_t index = 0;
    if (c == ':' && p[1] >= '0' && p[1] <= '9') {
      p++;
      while (*p >= '0' && *p <= '9') index = index * 10 + (size_t)(*p++ - '0');
      if (index > max_numbered) max_numbered = index;
    } else if (c == '?') {
      index = ++question;
      p++;
    }
    if (index > 0) {
      content = true;
      if (out == NULL) continue;
      if (index > n_params)
        return floe_error_set(err, FLOE_EINVAL, "placeholder %zu has no parameter (%zu given)",
                              index, n_params);
      rc = floe_sf_literal(out, &params[index - 1], err);
      if (rc < 0) return rc;
      continue;
    }
    if (c == ';') {
      if (content) statements++;
      content = false;
    } else if (!isspace((unsigned char)c)) {
      content = true;
    }
    EMIT(p, 1);
    p++;
  }
#undef EMIT
  if (content) statements++;
  if (n_placeholders != NULL)
    *n_placeholders = question > max_numbered ? question : max_numbered;
  if (n_statements != NULL) *n_statements = statements;
  return FLOE_OK;
oom:
  return floe_error_set(err, FLOE_ENOMEM, "out of memory");
}

/* ---- streams ------------------------------------------------------------------------ */

static void release_batch(sf_stream *s) {
  floe_arrow_array_release(&s->batch);
  floe_arrow_schema_release(&s->schema);
  floe_free(s->views);
  s->views = NULL;
  s->n_rows = 0;
  s->row = -1;
}

/* Reads the current batch (s->batch, s->schema) through views. */
static int view_batch(sf_stream *s, floe_error *err) {
  int rc = FLOE_OK;
  int64_t n = s->schema.n_children;
  s->views = floe_calloc((size_t)(n ? n : 1), sizeof *s->views);
  if (s->views == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  for (int64_t i = 0; i < n; i++)
    FLOE_TRY(floe_arrow_view_init(&s->views[i], s->schema.children[i],
                                  s->batch.children[i], err));
  s->n_rows = s->batch.length;
  s->row = -1;
cleanup:
  return rc;
}

/* Makes the decoder's rows the current batch. */
static int load_batch(sf_stream *s, floe_error *err) {
  release_batch(s);
  int rc = floe_sf_decoder_take_batch(s->dec, &s->batch, &s->schema, err);
  if (rc < 0) return rc;
  return view_batch(s, err);
}

/* Next batch from the partition workers: 1, 0 at the end, or the first
 * failed partition's error. */
static int next_prefetched(sf_stream *s, floe_error *err) {
  for (;;) {
    release_batch(s);
    int64_t partition = 0;
    int rc = floe_sf_prefetch_next(s->prefetch, &s->batch, &s->schema, &partition, err);
    if (rc <= 0) return rc;
    rc = view_batch(s, err);
    if (rc < 0) return rc;
    floe_log(FLOE_LOG_TRACE, "snowflake.batch", "partition=%" PRId64 " rows=%" PRId64,
             partition, s->n_rows);
    if (s->n_rows > 0) return 1;
  }
}

/* The pulled partition's sink: a retry restarts the body, skipping the
 * rows already delivered; a full batch pauses the transfer. */
static void pull_reset(void *ctx) {
  sf_stream *s = ctx;
  floe_sf_decoder_reset(s->dec, s->pull_first_row);
  floe_sf_decoder_skip(s->dec, s->pull_taken);
}

static int pull_write(void *ctx, const void *bytes, size_t len, floe_error *err) {
  sf_stream *s = ctx;
  if (floe_sf_decoder_rows(s->dec) >= s->batch_rows) return FLOE_SF_PAUSE;
  return floe_sf_decoder_feed(s->dec, bytes, len, err);
}

/* Next batch of the partitions after the first POST answer: 1 with rows in
 * the current batch, 0 at the end. */
static int next_batch(sf_stream *s, floe_error *err) {
  int rc;
  if (s->prefetch != NULL) return next_prefetched(s, err);
  for (;;) {
    if (!s->pulling) {
      if (s->next_partition >= s->n_partitions) return 0;
      int64_t index = s->next_partition++;
      char path[200];
      snprintf(path, sizeof path, "/api/v2/statements/%s?partition=%" PRId64, s->handle, index);
      /* Partition 0's rows past the POST's cap come again from a GET. */
      s->pull_taken = index == 0 ? s->partition0_kept : 0;
      s->pull_first_row = s->rows_before + 1 - s->pull_taken;
      s->pull_sink.reset = pull_reset;
      s->pull_sink.write = pull_write;
      s->pull_sink.ctx = s;
      rc = floe_sf_http_pull_begin(s->src->http, path, &s->pull_sink, &s->pull_answer, err);
      if (rc < 0) goto failed;
      s->pulling = true;
      floe_log(FLOE_LOG_DEBUG, "snowflake.partition", "handle=%s partition=%" PRId64
               " first_row=%" PRId64, s->handle, index, s->pull_first_row);
    }
    long status = 0;
    rc = floe_sf_http_pull_next(s->src->http, &status, err);
    if (rc < 0) {
      s->pulling = false;
      goto failed;
    }
    if (rc == 0) { /* the body ended */
      s->pulling = false;
      if (status != 200) {
        rc = floe_sf_status_error(status, &s->pull_answer, err);
        goto failed;
      }
      rc = floe_sf_decoder_finish(s->dec, err);
      if (rc < 0) goto failed;
    }
    s->pull_taken += floe_sf_decoder_rows(s->dec);
    rc = load_batch(s, err);
    if (rc < 0) goto failed;
    floe_log(FLOE_LOG_TRACE, "snowflake.batch", "partition=%" PRId64 " rows=%" PRId64,
             s->next_partition - 1, s->n_rows);
    s->rows_before += s->n_rows;
    if (s->n_rows > 0) return 1;
  }
failed:
  floe_error_prefix(err, "partition %" PRId64, s->next_partition - 1);
  return rc;
}

static int sf_step(floe_source_stream *base, floe_error *err) {
  sf_stream *s = (sf_stream *)base;
  s->row++;
  if (s->row < s->n_rows) return 1;
  int rc = next_batch(s, err);
  if (rc < 0 && s->base.table != NULL) floe_error_prefix(err, "table '%s'", s->base.table);
  if (rc == 1) s->row = 0;
  return rc;
}

static bool sf_is_null(floe_source_stream *base, int64_t col) {
  sf_stream *s = (sf_stream *)base;
  return floe_arrow_view_is_null(&s->views[col], s->row);
}

static int sf_append(floe_source_stream *base, int64_t col,
                     floe_arrow_builder *b, floe_error *err) {
  sf_stream *s = (sf_stream *)base;
  const floe_arrow_view *v = &s->views[col];
  int64_t i = s->row;
  (void)err;
  switch (v->type.id) {
    case FLOE_ARROW_BOOL: return floe_arrow_builder_append_bool(b, floe_arrow_view_bool(v, i));
    case FLOE_ARROW_INT32:
    case FLOE_ARROW_DATE32: return floe_arrow_builder_append_int32(b, floe_arrow_view_int32(v, i));
    case FLOE_ARROW_FLOAT: return floe_arrow_builder_append_float(b, floe_arrow_view_float(v, i));
    case FLOE_ARROW_DOUBLE: return floe_arrow_builder_append_double(b, floe_arrow_view_double(v, i));
    case FLOE_ARROW_DECIMAL128:
      return floe_arrow_builder_append_decimal(b, floe_arrow_view_decimal(v, i));
    case FLOE_ARROW_UTF8:
    case FLOE_ARROW_BINARY:
    case FLOE_ARROW_FIXED:
    case FLOE_ARROW_UUID: {
      size_t len;
      const uint8_t *bytes = floe_arrow_view_bytes(v, i, &len);
      return floe_arrow_builder_append_bytes(b, bytes, len);
    }
    default:
      return floe_arrow_builder_append_int64(b, floe_arrow_view_int64(v, i));
  }
}

static int sf_cell_text(floe_source_stream *base, int64_t col, floe_buf *out) {
  sf_stream *s = (sf_stream *)base;
  return floe_arrow_view_format(&s->views[col], s->row, out);
}

static void sf_stream_close(floe_source_stream *base) {
  sf_stream *s = (sf_stream *)base;
  floe_sf_prefetch_free(s->prefetch);
  if (s->pulling) floe_sf_http_pull_end(s->src->http);
  floe_buf_free(&s->pull_answer);
  release_batch(s);
  floe_sf_decoder_free(s->dec);
  floe_free(s->handle);
  floe_free(s->partition_rows);
  floe_free(s);
}

static const floe_source_stream_ops sf_stream_ops = {
    sf_step, sf_is_null, sf_append, sf_cell_text, sf_stream_close, NULL};

static int make_bindings(const floe_source_param *params, size_t n,
                         json_t **out, floe_error *err) {
  *out = NULL;
  if (n == 0) return FLOE_OK;
  json_t *b = json_object();
  if (b == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  int rc = add_bindings(b, params, n, 1, err);
  if (rc < 0) {
    json_decref(b);
    return rc;
  }
  *out = b;
  return FLOE_OK;
}

/* Reads statementHandle and partitionInfo from a result envelope. */
static int read_partitions(const json_t *env, char **out_handle,
                           int64_t *out_n, int64_t **out_rows, floe_error *err) {
  const char *h = json_str(env, "statementHandle");
  *out_handle = NULL;
  *out_rows = NULL;
  *out_n = 1;
  const json_t *info =
      json_object_get(json_object_get(env, "resultSetMetaData"), "partitionInfo");
  if (json_is_array(info) && json_array_size(info) > 0) *out_n = (int64_t)json_array_size(info);
  if (*out_n > 1 && (h == NULL || strspn(h, "0123456789abcdefABCDEF-") != strlen(h)))
    return floe_error_set(err, FLOE_EFORMAT,
                          "result has %" PRId64 " partitions but no valid "
                          "statementHandle",
                          *out_n);
  *out_handle = floe_strdup(h != NULL ? h : "");
  *out_rows = floe_calloc((size_t)*out_n, sizeof **out_rows);
  if (*out_handle == NULL || *out_rows == NULL) {
    floe_free(*out_handle);
    floe_free(*out_rows);
    *out_handle = NULL;
    *out_rows = NULL;
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  }
  for (int64_t i = 0; json_is_array(info) && i < *out_n; i++)
    (*out_rows)[i] = (int64_t)json_integer_value(
        json_object_get(json_array_get(info, (size_t)i), "rowCount"));
  return FLOE_OK;
}

static int sf_query(floe_source *base, const floe_source_query_spec *spec,
                    floe_source_stream **out, floe_error *err) {
  sf_source *src = (sf_source *)base;
  int rc;
  json_t *bindings = NULL;
  sf_stream *s = floe_calloc(1, sizeof *s);
  *out = NULL;
  if (s == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  s->src = src;
  s->row = -1;
  s->base.ops = &sf_stream_ops;
  FLOE_TRY(floe_sf_decoder_new(&s->dec, err));
  if (spec->columns != NULL) {
    floe_arrow_type_info *types =
        floe_calloc((size_t)(spec->n_columns ? spec->n_columns : 1), sizeof *types);
    if (types == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    /* A declared-shape column arrives as JSON text, decoded by source.c. */
    for (int64_t i = 0; i < spec->n_columns; i++)
      types[i] = spec->columns[i].json != FLOE_SOURCE_JSON_NONE ? floe_arrow_type_of(FLOE_ARROW_UTF8)
                                       : spec->columns[i].type;
    rc = floe_sf_decoder_set_targets(s->dec, types, spec->n_columns, err);
    floe_free(types);
    if (rc < 0) goto cleanup;
  }
  FLOE_TRY(make_bindings(spec->params, spec->n_params, &bindings, err));
  s->batch_rows = spec->batch_rows > 0 ? spec->batch_rows : FLOE_SOURCE_DEFAULT_BATCH_ROWS;
  /* The first partition comes with the POST answer: at most batch_rows of
   * its rows are kept, the rest are fetched again, pulled. */
  floe_sf_decoder_set_cap(s->dec, s->batch_rows);
  FLOE_TRY(run_statement(src, spec->sql, bindings, 1, s->dec, err));
  floe_sf_decoder_set_cap(s->dec, 0);
  FLOE_TRY(read_partitions(floe_sf_decoder_envelope(s->dec), &s->handle,
                           &s->n_partitions, &s->partition_rows, err));
  bool refetch = floe_sf_decoder_dropped(s->dec) > 0;
  FLOE_TRY(load_batch(s, err));
  s->partition0_kept = s->n_rows;
  s->next_partition = refetch ? 0 : 1;
  s->rows_before = s->n_rows;
  int64_t n_cols = 0;
  const floe_sf_column *cols = floe_sf_decoder_columns(s->dec, &n_cols);
  if (src->prefetch_partitions > 1 && s->next_partition < s->n_partitions) {
    floe_sf_prefetch_options po = {0};
    po.http = &src->http_options;
    po.handle = s->handle;
    po.first_partition = s->next_partition;
    po.n_partitions = s->n_partitions;
    po.partition_rows = s->partition_rows;
    po.skip_first = refetch ? s->partition0_kept : 0;
    po.batch_rows = s->batch_rows;
    po.depth = src->prefetch_partitions;
    po.columns = cols;
    po.n_columns = n_cols;
    po.targets = floe_sf_decoder_targets(s->dec);
    po.interrupt = src->interrupt;
    FLOE_TRY(floe_sf_prefetch_start(&s->prefetch, &po, err));
  }
  s->base.n_result_columns = n_cols;
  if (spec->columns == NULL) {
    const floe_arrow_type_info *targets = floe_sf_decoder_targets(s->dec);
    s->base.columns = floe_calloc((size_t)(n_cols ? n_cols : 1), sizeof *s->base.columns);
    if (s->base.columns == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    s->base.n_columns = n_cols;
    for (int64_t i = 0; i < n_cols; i++) {
      floe_source_column *c = &s->base.columns[i];
      c->name = floe_strdup(cols[i].name);
      c->declared_type = floe_strdup(floe_sf_kind_name(cols[i].kind));
      c->nullable = true;
      c->type = targets[i];
      if (c->name == NULL || c->declared_type == NULL) {
        rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
        goto cleanup;
      }
    }
  }
  *out = &s->base;
  s = NULL;
  rc = FLOE_OK;
cleanup:
  if (bindings != NULL) json_decref(bindings);
  if (s != NULL) {
    floe_src_columns_free(s->base.columns, s->base.n_columns);
    sf_stream_close(&s->base);
  }
  return rc;
}

/* ---- results read whole (describe, exec) ------------------------------------------ */

/* A small result as text cells (NULL for SQL NULL), every partition. */
typedef struct text_result {
  int64_t n_columns, n_rows;
  char **names;
  char **cells; /* n_rows * n_columns */
  json_t *envelope;
} text_result;

static void text_result_free(text_result *r) {
  if (r->names != NULL)
    for (int64_t i = 0; i < r->n_columns; i++) floe_free(r->names[i]);
  if (r->cells != NULL)
    for (int64_t i = 0; i < r->n_rows * r->n_columns; i++) floe_free(r->cells[i]);
  floe_free(r->names);
  floe_free(r->cells);
  if (r->envelope != NULL) json_decref(r->envelope);
  memset(r, 0, sizeof *r);
}

static int collect_batch(floe_sf_decoder *dec, text_result *r, floe_error *err) {
  struct ArrowArray batch;
  struct ArrowSchema schema;
  floe_buf cell = FLOE_BUF_INIT;
  int rc;
  FLOE_TRY(floe_sf_decoder_take_batch(dec, &batch, &schema, err));
  if (r->names == NULL) {
    r->n_columns = schema.n_children;
    r->names = floe_calloc((size_t)(r->n_columns ? r->n_columns : 1), sizeof *r->names);
    if (r->names == NULL) rc = FLOE_ENOMEM;
    for (int64_t i = 0; rc == FLOE_OK && i < r->n_columns; i++)
      if ((r->names[i] = floe_strdup(schema.children[i]->name)) == NULL) rc = FLOE_ENOMEM;
  }
  if (rc == FLOE_OK && batch.length > 0) {
    char **grown = floe_realloc(
        r->cells, (size_t)((r->n_rows + batch.length) * r->n_columns + 1) * sizeof *grown);
    if (grown == NULL) {
      rc = FLOE_ENOMEM;
    } else {
      r->cells = grown;
      /* Slots start NULL and the rows count at once, so a failure half
       * way leaves every slot freeable. */
      memset(r->cells + r->n_rows * r->n_columns, 0,
             (size_t)(batch.length * r->n_columns) * sizeof *r->cells);
      int64_t first = r->n_rows;
      r->n_rows += batch.length;
      for (int64_t c = 0; rc == FLOE_OK && c < r->n_columns; c++) {
        floe_arrow_view v;
        rc = floe_arrow_view_init(&v, schema.children[c], batch.children[c], err);
        for (int64_t i = 0; rc == FLOE_OK && i < batch.length; i++) {
          if (floe_arrow_view_is_null(&v, i)) continue;
          floe_buf_reset(&cell);
          char **slot = &r->cells[(first + i) * r->n_columns + c];
          if (floe_arrow_view_format(&v, i, &cell) < 0 ||
              (*slot = floe_strndup((const char *)cell.data, cell.len)) == NULL)
            rc = FLOE_ENOMEM;
        }
      }
    }
  }
  floe_arrow_array_release(&batch);
  floe_arrow_schema_release(&schema);
cleanup:
  floe_buf_free(&cell);
  if (rc == FLOE_ENOMEM) floe_error_set(err, FLOE_ENOMEM, "out of memory");
  return rc;
}

/* Runs sql and reads the whole result (up to max_partitions) as text. */
static int run_text(sf_source *src, const char *sql, json_t *bindings,
                    int multi_count, int64_t max_partitions, text_result *out,
                    floe_error *err) {
  int rc;
  floe_sf_decoder *dec = NULL;
  char *handle = NULL;
  int64_t n_parts = 0, *part_rows = NULL;
  memset(out, 0, sizeof *out);
  FLOE_TRY(floe_sf_decoder_new(&dec, err));
  FLOE_TRY(run_statement(src, sql, bindings, multi_count, dec, err));
  const json_t *env = floe_sf_decoder_envelope(dec);
  out->envelope = json_deep_copy(env);
  if (out->envelope == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  int64_t n_cols = 0;
  floe_sf_decoder_columns(dec, &n_cols);
  if (floe_sf_decoder_columns(dec, NULL) == NULL) {
    rc = FLOE_OK; /* no result set (a multi-statement summary, DDL) */
    goto cleanup;
  }
  FLOE_TRY(collect_batch(dec, out, err));
  FLOE_TRY(read_partitions(env, &handle, &n_parts, &part_rows, err));
  for (int64_t i = 1; i < n_parts && i < max_partitions; i++) {
    FLOE_TRY(fetch_partition(src, handle, i, out->n_rows + 1, dec, err));
    FLOE_TRY(collect_batch(dec, out, err));
  }
cleanup:
  if (rc < 0) text_result_free(out);
  floe_sf_decoder_free(dec);
  floe_free(handle);
  floe_free(part_rows);
  return rc;
}

static int64_t column_index(const text_result *r, const char *name) {
  for (int64_t i = 0; i < r->n_columns; i++)
    if (strcasecmp(r->names[i], name) == 0) return i;
  return -1;
}

static const char *cell(const text_result *r, int64_t row, int64_t col) {
  if (col < 0 || row >= r->n_rows) return NULL;
  return r->cells[row * r->n_columns + col];
}

/* Rows changed by a DML result: stats (numRowsInserted/Updated/Deleted),
 * else the "number of rows ..." columns Snowflake returns for DML. */
static int64_t affected_rows(const text_result *r) {
  const json_t *stats = json_object_get(r->envelope, "stats");
  if (json_is_object(stats)) {
    int64_t n = 0;
    const char *keys[] = {"numRowsInserted", "numRowsUpdated", "numRowsDeleted"};
    for (size_t i = 0; i < 3; i++) {
      const json_t *v = json_object_get(stats, keys[i]);
      if (json_is_integer(v)) n += (int64_t)json_integer_value(v);
    }
    return n;
  }
  int64_t n = 0;
  for (int64_t c = 0; c < r->n_columns; c++) {
    if (strncasecmp(r->names[c], "number of rows ", 15) != 0) continue;
    const char *name = r->names[c] + 15;
    if (strcasecmp(name, "inserted") != 0 && strcasecmp(name, "updated") != 0 &&
        strcasecmp(name, "deleted") != 0)
      continue;
    const char *v = cell(r, 0, c);
    if (v != NULL) n += strtoll(v, NULL, 10);
  }
  return n;
}

/* ---- statements and transactions ---------------------------------------------------- */

static int sf_exec(floe_source *base, const char *sql,
                   const floe_source_param *params, size_t n_params,
                   int64_t *out_rows, floe_error *err) {
  sf_source *src = (sf_source *)base;
  int rc, n_statements = 0;
  size_t n_placeholders = 0;
  json_t *bindings = NULL;
  text_result r = {0};
  floe_buf script = FLOE_BUF_INIT;
  *out_rows = 0;
  FLOE_TRY(scan_sql(sql, NULL, NULL, 0, &n_placeholders, &n_statements, err));
  if (n_statements == 0) goto cleanup; /* nothing but comments/space */
  if (base->in_transaction) {
    /* Collected for the commit's single request, parameters as literals. */
    FLOE_TRY(floe_buf_append_str(&src->txn_sql, ";\n"));
    FLOE_TRY(scan_sql(sql, &src->txn_sql, params, n_params, NULL, NULL, err));
    /* A block takes no empty statement: drop a trailing ';'. */
    while (src->txn_sql.len > 0 && (src->txn_sql.data[src->txn_sql.len - 1] == ';' ||
                                    isspace(src->txn_sql.data[src->txn_sql.len - 1])))
      src->txn_sql.len--;
    src->txn_statements += n_statements;
    goto cleanup;
  }
  if (n_statements > 1 && n_params > 0) {
    /* No bindings in a multi-statement request: literals instead. */
    FLOE_TRY(scan_sql(sql, &script, params, n_params, NULL, NULL, err));
    FLOE_TRY(floe_buf_terminate(&script));
    sql = (const char *)script.data;
    n_params = 0;
  }
  FLOE_TRY(make_bindings(params, n_params, &bindings, err));
  FLOE_TRY(run_text(src, sql, bindings, n_statements, 1, &r, err));
  if (n_statements > 1) {
    /* "Getting the results of each statement": the last handle. */
    const json_t *handles = json_object_get(r.envelope, "statementHandles");
    const char *last =
        json_string_value(json_array_get(handles, json_array_size(handles) - 1));
    if (last != NULL && strspn(last, "0123456789abcdefABCDEF-") == strlen(last)) {
      floe_sf_decoder *dec = NULL;
      text_result lr = {0};
      FLOE_TRY(floe_sf_decoder_new(&dec, err));
      rc = fetch_partition(src, last, 0, 1, dec, err);
      if (rc == FLOE_OK) {
        lr.envelope = json_deep_copy(floe_sf_decoder_envelope(dec));
        if (floe_sf_decoder_columns(dec, NULL) != NULL)
          rc = collect_batch(dec, &lr, err);
        if (rc == FLOE_OK) *out_rows = affected_rows(&lr);
      }
      text_result_free(&lr);
      floe_sf_decoder_free(dec);
      if (rc < 0) goto cleanup;
    }
  } else {
    *out_rows = affected_rows(&r);
  }
cleanup:
  if (rc == FLOE_ENOMEM) floe_error_set(err, FLOE_ENOMEM, "out of memory");
  if (bindings != NULL) json_decref(bindings);
  floe_buf_free(&script);
  text_result_free(&r);
  return rc;
}

static void txn_clear(sf_source *src) {
  floe_buf_reset(&src->txn_sql);
  src->txn_statements = 0;
}

static int sf_begin(floe_source *base, floe_error *err) {
  sf_source *src = (sf_source *)base;
  txn_clear(src);
  if (floe_buf_append_str(&src->txn_sql, "BEGIN TRANSACTION") < 0)
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  src->txn_statements = 1;
  return FLOE_OK;
}

static int sf_commit(floe_source *base, floe_error *err) {
  sf_source *src = (sf_source *)base;
  int rc;
  text_result r = {0};
  floe_buf block = FLOE_BUF_INIT, sql = FLOE_BUF_INIT;
  if (src->txn_statements <= 1) { /* nothing was executed */
    txn_clear(src);
    return FLOE_OK;
  }
  /* "Using explicit transactions" puts BEGIN ... COMMIT in one request,
   * but a statement that fails there ends the request with the
   * transaction open, and a session that ends so leaves it detached,
   * holding its locks ("Transactions": aborting transactions). So the
   * transaction is one Snowflake Scripting block whose handler rolls back
   * and re-raises ("BEGIN ... END", "Handling exceptions"), sent as
   * EXECUTE IMMEDIATE '<block>': a single statement, parameters as
   * literals. */
  FLOE_TRY(floe_buf_append_str(&block, "BEGIN\n"));
  FLOE_TRY(floe_buf_append(&block, src->txn_sql.data, src->txn_sql.len));
  FLOE_TRY(floe_buf_append_str(&block, ";\nCOMMIT;\nEXCEPTION\n  WHEN OTHER THEN\n"
                                       "    ROLLBACK;\n    RAISE;\nEND;"));
  FLOE_TRY(floe_buf_append_str(&sql, "EXECUTE IMMEDIATE "));
  floe_source_param text = {FLOE_PARAM_TEXT, 0, 0.0, block.data, block.len};
  FLOE_TRY(floe_sf_literal(&sql, &text, err));
  FLOE_TRY(floe_buf_terminate(&sql));
  rc = run_text(src, (const char *)sql.data, NULL, 1, 1, &r, err);
  if (rc == FLOE_ESOURCE) floe_error_prefix(err, "transaction rolled back");
cleanup:
  if (rc == FLOE_ENOMEM) floe_error_set(err, FLOE_ENOMEM, "out of memory");
  text_result_free(&r);
  floe_buf_free(&block);
  floe_buf_free(&sql);
  txn_clear(src);
  return rc;
}

static int sf_rollback(floe_source *base, floe_error *err) {
  (void)err;
  txn_clear((sf_source *)base); /* nothing was sent */
  return FLOE_OK;
}

/* ---- describe ------------------------------------------------------------------------- */

/* Appends an identifier: bare when it is a plain upper-case identifier
 * (Snowflake resolves `SHOP` and `"SHOP"` to the same object), otherwise
 * double-quoted with inner quotes doubled. */
static int append_quoted_ident(floe_buf *b, const char *name) {
  bool plain = (*name >= 'A' && *name <= 'Z') || *name == '_';
  for (const char *c = name; plain && *c; c++)
    plain = (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
            *c == '$';
  if (plain) return floe_buf_append_str(b, name);
  int rc = floe_buf_append_byte(b, '"');
  for (const char *c = name; rc == FLOE_OK && *c; c++) {
    if (*c == '"') rc = floe_buf_append_byte(b, '"');
    if (rc == FLOE_OK) rc = floe_buf_append_byte(b, (uint8_t)*c);
  }
  if (rc == FLOE_OK) rc = floe_buf_append_byte(b, '"');
  return rc;
}

static char *upper_dup(const char *s) {
  char *u = floe_strdup(s);
  if (u != NULL)
    for (char *c = u; *c; c++) *c = (char)toupper((unsigned char)*c);
  return u;
}

/* information_schema.columns for schema.table (schema NULL: the current). */
static int describe_columns(sf_source *src, const char *schema,
                            const char *table, text_result *out,
                            floe_error *err) {
  int rc;
  floe_buf sql = FLOE_BUF_INIT;
  json_t *bindings = NULL;
  floe_source_param params[2];
  size_t n = 0;
  FLOE_TRY(floe_buf_append_str(&sql,
                               "SELECT column_name, data_type, is_nullable, "
                               "numeric_precision, numeric_scale FROM "));
  if (src->database != NULL) {
    FLOE_TRY(append_quoted_ident(&sql, src->database));
    FLOE_TRY(floe_buf_append_byte(&sql, '.'));
  }
  FLOE_TRY(floe_buf_append_str(&sql, "information_schema.columns WHERE "));
  if (schema != NULL) {
    FLOE_TRY(floe_buf_append_str(&sql, "table_schema = ?"));
    params[n++] = floe_param_text(schema);
  } else {
    FLOE_TRY(floe_buf_append_str(&sql, "table_schema = CURRENT_SCHEMA()"));
  }
  FLOE_TRY(floe_buf_append_str(&sql, " AND table_name = ? ORDER BY ordinal_position"));
  params[n++] = floe_param_text(table);
  FLOE_TRY(floe_buf_terminate(&sql));
  FLOE_TRY(make_bindings(params, n, &bindings, err));
  FLOE_TRY(run_text(src, (const char *)sql.data, bindings, 1, INT64_MAX, out, err));
cleanup:
  if (rc == FLOE_ENOMEM) floe_error_set(err, FLOE_ENOMEM, "out of memory");
  if (bindings != NULL) json_decref(bindings);
  floe_buf_free(&sql);
  return rc;
}

/* Primary-key ordinals from SHOW PRIMARY KEYS IN TABLE; a failure (no
 * privilege, unsupported) leaves the table without a key and logs why. */
static void describe_primary_key(sf_source *src, const char *schema,
                                 const char *table, floe_source_table *t) {
  floe_buf sql = FLOE_BUF_INIT;
  text_result r = {0};
  floe_error err = {0};
  bool ok = floe_buf_append_str(&sql, "SHOW PRIMARY KEYS IN TABLE ") == FLOE_OK;
  if (ok && src->database != NULL && schema != NULL)
    ok = append_quoted_ident(&sql, src->database) == FLOE_OK &&
         floe_buf_append_byte(&sql, '.') == FLOE_OK;
  if (ok && schema != NULL)
    ok = append_quoted_ident(&sql, schema) == FLOE_OK &&
         floe_buf_append_byte(&sql, '.') == FLOE_OK;
  ok = ok && append_quoted_ident(&sql, table) == FLOE_OK &&
       floe_buf_terminate(&sql) == FLOE_OK;
  if (ok && run_text(src, (const char *)sql.data, NULL, 1, INT64_MAX, &r, &err) == FLOE_OK) {
    int64_t name_col = column_index(&r, "column_name");
    int64_t seq_col = column_index(&r, "key_sequence");
    for (int64_t i = 0; i < r.n_rows; i++) {
      const char *name = cell(&r, i, name_col);
      const char *seq = cell(&r, i, seq_col);
      if (name == NULL || seq == NULL) continue;
      for (int64_t c = 0; c < t->n_columns; c++)
        if (strcmp(t->columns[c].name, name) == 0)
          t->columns[c].pk_ordinal = (int32_t)strtol(seq, NULL, 10);
    }
  } else if (ok) {
    floe_log(FLOE_LOG_WARN, "snowflake.describe_no_primary_key",
             "table=%s reason=%s", table, err.message);
  }
  text_result_free(&r);
  floe_buf_free(&sql);
}

static int sf_describe(floe_source *base, char *const *parts, int n_parts,
                       floe_source_table *out, floe_error *err) {
  sf_source *src = (sf_source *)base;
  int rc;
  text_result r = {0};
  char *schema = NULL, *table = NULL;
  const char *given_schema = n_parts == 2 ? parts[0] : src->schema;
  const char *given_table = parts[n_parts - 1];
  FLOE_TRY(describe_columns(src, given_schema, given_table, &r, err));
  if (r.n_rows == 0) {
    /* Unquoted Snowflake identifiers are stored upper-cased. */
    text_result_free(&r);
    schema = given_schema ? upper_dup(given_schema) : NULL;
    table = upper_dup(given_table);
    if (table == NULL || (given_schema != NULL && schema == NULL)) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    if ((given_schema == NULL || strcmp(schema, given_schema) == 0) &&
        strcmp(table, given_table) == 0)
      goto cleanup; /* already tried: the table does not exist */
    FLOE_TRY(describe_columns(src, schema, table, &r, err));
    if (r.n_rows == 0) goto cleanup;
  } else {
    schema = given_schema ? floe_strdup(given_schema) : NULL;
    table = floe_strdup(given_table);
    if (table == NULL || (given_schema != NULL && schema == NULL)) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
  }
  int64_t c_name = column_index(&r, "column_name"), c_type = column_index(&r, "data_type"),
          c_null = column_index(&r, "is_nullable"),
          c_prec = column_index(&r, "numeric_precision"),
          c_scale = column_index(&r, "numeric_scale");
  out->columns = floe_calloc((size_t)r.n_rows, sizeof *out->columns);
  if (out->columns == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  out->exists = true;
  for (int64_t i = 0; i < r.n_rows; i++) {
    floe_source_column *c = &out->columns[i];
    out->n_columns = i + 1;
    const char *name = cell(&r, i, c_name), *type = cell(&r, i, c_type);
    const char *nullable = cell(&r, i, c_null);
    const char *prec = cell(&r, i, c_prec), *scale = cell(&r, i, c_scale);
    if (name == NULL || type == NULL) {
      rc = floe_error_set(err, FLOE_EFORMAT,
                          "information_schema.columns row %" PRId64
                          " has no column_name or data_type",
                          i + 1);
      goto cleanup;
    }
    floe_sf_kind kind = floe_sf_kind_parse(type);
    int32_t p = prec ? (int32_t)strtol(prec, NULL, 10) : 0;
    int32_t s = scale ? (int32_t)strtol(scale, NULL, 10) : 0;
    char declared[96];
    if (kind == FLOE_SF_FIXED && prec != NULL)
      snprintf(declared, sizeof declared, "%s(%d,%d)", type, p, s);
    else
      snprintf(declared, sizeof declared, "%s", type);
    c->name = floe_strdup(name);
    c->declared_type = floe_strdup(declared);
    if (c->name == NULL || c->declared_type == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    c->nullable = nullable == NULL || strcasecmp(nullable, "YES") == 0;
    c->type = floe_sf_map_type(kind, kind == FLOE_SF_FIXED && prec == NULL ? 38 : p, s);
  }
  describe_primary_key(src, schema, table, out);
  rc = FLOE_OK;
cleanup:
  text_result_free(&r);
  floe_free(schema);
  floe_free(table);
  return rc;
}

/* ---- opening ----------------------------------------------------------------------------- */

static void sf_close(floe_source *base) {
  sf_source *src = (sf_source *)base;
  if (src == NULL) return;
  floe_sf_http_free(src->http);
  floe_sf_key_free(src->key);
  wipe_free(src->token);
  wipe_free(src->main_token.token);
  floe_free(src->base_url);
  if (src->token_mutex_ready) pthread_mutex_destroy(&src->token_mutex);
  wipe_free(src->token_literal);
  floe_free(src->account);
  floe_free(src->user);
  floe_free(src->warehouse);
  floe_free(src->role);
  floe_free(src->query_tag);
  floe_free(src->database);
  floe_free(src->schema);
  floe_free(src->token_env);
  floe_free(src->token_file);
  txn_clear(src);
  floe_buf_free(&src->txn_sql);
  floe_free(src);
}

static const floe_source_driver sf_driver = {
    "snowflake", sf_close, sf_describe, sf_query, sf_exec,
    sf_begin,    sf_commit, sf_rollback};

int floe_sf_context_name(const char *name, char **out) {
  *out = NULL;
  if (name == NULL) return FLOE_OK;
  size_t len = strlen(name);
  while (len > 0 && isspace((unsigned char)name[len - 1])) len--;
  while (len > 0 && isspace((unsigned char)*name)) name++, len--;
  if (len == 0) return FLOE_OK;
  char *r = floe_malloc(len + 1);
  if (r == NULL) return FLOE_ENOMEM;
  size_t n = 0;
  if (len >= 2 && name[0] == '"' && name[len - 1] == '"') {
    /* "Identifier requirements": a double-quoted name keeps its case; ""
     * inside stands for one quote. */
    for (size_t i = 1; i + 1 < len; i++) {
      r[n++] = name[i];
      if (name[i] == '"' && name[i + 1] == '"' && i + 2 < len) i++;
    }
  } else {
    /* An unquoted name is stored and resolved upper-case. */
    for (size_t i = 0; i < len; i++) r[n++] = (char)toupper((unsigned char)name[i]);
  }
  r[n] = '\0';
  *out = r;
  return FLOE_OK;
}

bool floe_sf_host_is_loopback(const char *host) {
  /* The host part of "host", "host:port", "[v6]:port", "host/path": only
   * a name or address that is loopback itself, never one that merely
   * starts like one ("localhost.example.com", "127.0.0.1.nip.io"). */
  char name[256];
  size_t n = 0;
  if (*host == '[') {
    const char *end = strchr(host, ']');
    if (end == NULL || (size_t)(end - host) >= sizeof name) return false;
    n = (size_t)(end - host - 1);
    memcpy(name, host + 1, n);
    host = end + 1;
  } else {
    while (host[n] != '\0' && host[n] != ':' && host[n] != '/' && host[n] != '?' &&
           host[n] != '#' && n + 1 < sizeof name) {
      name[n] = host[n];
      n++;
    }
    host += n;
  }
  name[n] = '\0';
  if (*host != '\0' && *host != ':' && *host != '/') return false;
  if (strcasecmp(name, "localhost") == 0 || strcasecmp(name, "localhost.") == 0) return true;
  if (strcmp(name, "::1") == 0) return true;
  /* A dotted-quad IPv4 address in 127.0.0.0/8. */
  unsigned octets[4];
  int used = 0;
  if (sscanf(name, "%3u.%3u.%3u.%3u%n", &octets[0], &octets[1], &octets[2], &octets[3],
             &used) != 4 || name[used] != '\0')
    return false;
  for (int i = 0; i < 4; i++)
    if (octets[i] > 255) return false;
  for (const char *c = name; *c; c++)
    if (!(isdigit((unsigned char)*c) || *c == '.')) return false;
  return octets[0] == 127;
}

/* The endpoint: https://<account>.snowflakecomputing.com, or the host
 * override (plain http only for loopback). */
static int base_url(const floe_source_config *config, floe_buf *out,
                    floe_error *err) {
  const char *host = config->snowflake_host;
  int rc;
  if (host != NULL && *host != '\0') {
    if (strncmp(host, "https://", 8) == 0) {
      rc = floe_buf_append_str(out, host);
    } else if (strncmp(host, "http://", 7) == 0) {
      if (!floe_sf_host_is_loopback(host + 7))
        return floe_error_set(err, FLOE_EINVAL,
                              "host '%s': plain http is allowed only for a "
                              "loopback host (127.0.0.1, localhost)",
                              host);
      rc = floe_buf_append_str(out, host);
    } else {
      rc = floe_buf_appendf(out, "%s://%s",
                            floe_sf_host_is_loopback(host) ? "http" : "https", host);
    }
  } else {
    rc = floe_buf_append_str(out, "https://");
    /* Hostnames take '-' where account names have '_'. */
    for (const char *c = config->snowflake_account; rc == FLOE_OK && *c; c++)
      rc = floe_buf_append_byte(out, (uint8_t)(*c == '_' ? '-' : tolower((unsigned char)*c)));
    if (rc == FLOE_OK) rc = floe_buf_append_str(out, ".snowflakecomputing.com");
  }
  while (rc == FLOE_OK && out->len > 0 && out->data[out->len - 1] == '/') out->len--;
  if (rc == FLOE_OK) rc = floe_buf_terminate(out);
  if (rc < 0) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  return FLOE_OK;
}

int floe_src_snowflake_open(floe_source **out, const floe_source_config *config,
                            floe_error *err) {
  int rc = FLOE_OK;
  floe_buf url = FLOE_BUF_INIT;
  sf_source *src = NULL;
  *out = NULL;
  const char *account = config->snowflake_account, *user = config->snowflake_user;
  if (account == NULL || *account == '\0' || user == NULL || *user == '\0') {
    rc = floe_error_set(err, FLOE_EINVAL, "source snowflake: account and user are required");
    goto cleanup;
  }
  src = floe_calloc(1, sizeof *src);
  if (src == NULL) {
    rc = FLOE_ENOMEM;
    goto cleanup;
  }
  src->base.driver = &sf_driver;
  pthread_mutex_init(&src->token_mutex, NULL);
  src->token_mutex_ready = true;
  src->main_token.src = src;
  src->prefetch_partitions = config->snowflake_prefetch_partitions > 0
                                 ? config->snowflake_prefetch_partitions
                                 : FLOE_SOURCE_DEFAULT_PREFETCH_PARTITIONS;
  const char *auth = config->snowflake_authenticator;
  if (auth == NULL || *auth == '\0' || strcasecmp(auth, "keypair") == 0 ||
      strcasecmp(auth, "snowflake_jwt") == 0) {
    src->auth = AUTH_KEYPAIR;
  } else if (strcasecmp(auth, "oauth") == 0) {
    src->auth = AUTH_OAUTH;
  } else if (strcasecmp(auth, "pat") == 0 ||
             strcasecmp(auth, "programmatic_access_token") == 0) {
    src->auth = AUTH_PAT;
  } else {
    rc = floe_error_set(err, FLOE_EINVAL,
                        "source snowflake: authenticator '%s' (want keypair, "
                        "oauth or pat)",
                        auth);
    goto cleanup;
  }
  FLOE_TRY(dup_opt(&src->account, account));
  FLOE_TRY(dup_opt(&src->user, user));
  /* The request's context fields are case-sensitive ("Submitting a
   * request"): resolved the way Snowflake resolves an identifier. */
  FLOE_TRY(floe_sf_context_name(config->snowflake_warehouse, &src->warehouse));
  FLOE_TRY(floe_sf_context_name(config->snowflake_role, &src->role));
  FLOE_TRY(floe_sf_context_name(config->snowflake_database, &src->database));
  FLOE_TRY(floe_sf_context_name(config->snowflake_schema, &src->schema));
  FLOE_TRY(dup_opt(&src->token_env, config->snowflake_token_env));
  FLOE_TRY(dup_opt(&src->token_file, config->snowflake_token_file));
  FLOE_TRY(dup_opt(&src->token_literal, config->snowflake_token));
  if (config->snowflake_query_tag != NULL && strlen(config->snowflake_query_tag) > 2000) {
    /* Snowflake: "QUERY_TAG ... String (up to 2000 characters)". */
    rc = floe_error_set(err, FLOE_EINVAL,
                        "source snowflake: query_tag is %zu characters, at most 2000",
                        strlen(config->snowflake_query_tag));
    goto cleanup;
  }
  FLOE_TRY(dup_opt(&src->query_tag, config->snowflake_query_tag));
  src->statement_timeout_s =
      config->snowflake_statement_timeout_s > 0 ? config->snowflake_statement_timeout_s : 600;
  src->poll_max_ms = config->snowflake_poll_max_ms > 0 ? config->snowflake_poll_max_ms : 2000;
  src->interrupt = config->interrupt;
  if (src->auth == AUTH_KEYPAIR) {
    if (config->snowflake_private_key_file == NULL) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "source snowflake: keypair authentication needs "
                          "private_key_file");
      goto cleanup;
    }
    const char *passphrase = NULL;
    if (config->snowflake_private_key_passphrase_env != NULL) {
      passphrase = getenv(config->snowflake_private_key_passphrase_env);
      if (passphrase == NULL) {
        rc = floe_error_set(err, FLOE_EINVAL,
                            "source snowflake: environment variable %s (the "
                            "key passphrase) is not set",
                            config->snowflake_private_key_passphrase_env);
        goto cleanup;
      }
    }
    rc = floe_sf_key_load(&src->key, config->snowflake_private_key_file,
                          passphrase, err);
    if (rc < 0) {
      floe_error_prefix(err, "source snowflake");
      goto cleanup;
    }
  } else if (src->token_env == NULL && src->token_file == NULL &&
             src->token_literal == NULL) {
    rc = floe_error_set(err, FLOE_EINVAL,
                        "source snowflake: %s authentication needs token_env, "
                        "a token file or token",
                        src->auth == AUTH_PAT ? "pat" : "oauth");
    goto cleanup;
  }
  FLOE_TRY(base_url(config, &url, err));
  if ((src->base_url = floe_strndup((const char *)url.data, url.len)) == NULL) {
    rc = FLOE_ENOMEM;
    goto cleanup;
  }
  floe_sf_http_options opt = {0};
  opt.base_url = src->base_url;
  opt.token = sf_token_shared;
  opt.token_ctx = &src->main_token;
  opt.connect_timeout_ms = config->snowflake_connect_timeout_ms;
  opt.request_timeout_ms = config->snowflake_request_timeout_ms;
  opt.max_attempts = config->snowflake_max_attempts;
  opt.backoff_base_ms = config->snowflake_backoff_base_ms;
  opt.interrupt = config->interrupt;
  FLOE_TRY(floe_sf_http_new(&src->http, &opt, err));
  src->http_options = opt;
  /* Fail early on a missing token or unusable key, not at the first query. */
  const char *token, *type;
  FLOE_TRY(sf_token(src, false, &token, &type, err));
  floe_log(FLOE_LOG_INFO, "snowflake.open", "url=%s account=%s user=%s auth=%s",
           (const char *)url.data, account, user, type);
  *out = &src->base;
  src = NULL;
cleanup:
  if (rc == FLOE_ENOMEM) floe_error_set(err, FLOE_ENOMEM, "out of memory");
  sf_close(src ? &src->base : NULL);
  floe_buf_free(&url);
  return rc;
}
