/*
 * source/snowflake_http: the SQL API's HTTP layer, over libcurl.
 *
 * One easy handle per connection (keep-alive, TLS session reuse). Every
 * request carries the bearer token and X-Snowflake-Authorization-Token-Type
 * (sqlapi.yaml: KEYPAIR_JWT, OAUTH or PROGRAMMATIC_ACCESS_TOKEN), asks for
 * gzip (libcurl inflates), and streams a 200 body straight into the
 * caller's sink, so a result partition is decoded while it downloads.
 *
 * Retries follow sqlapi.yaml's responses: 429 (slow down), 503 and 504
 * ("may retry with backoff; jittered backoff is recommended") and dropped
 * connections or timeouts are retried with full-jitter exponential backoff
 * (a Retry-After header sets the least wait), at most max_attempts times;
 * a 401 gets one token refresh. The caller makes retries safe: statements
 * are submitted with a fixed requestId (and retry=true on resubmission), so
 * Snowflake never runs one twice. Nothing here logs or reports the token.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "floe/log.h"
#include "floe/time.h"
#include "source/snowflake_internal.h"

#define ERROR_BODY_MAX (1u << 20)

struct floe_sf_http {
  CURL *curl;
  floe_sf_http_options opt;
  char *base_url;
  unsigned rng;
  int64_t requests;
  bool ignore_interrupt;
  bool aborting_get; /* the current request is a GET */
  /* per request */
  const floe_sf_sink *sink;
  floe_buf *body;
  int sink_rc;
  floe_error sink_err;
  long retry_after_s;
  char curl_error[CURL_ERROR_SIZE];
};

static bool curl_ready;

int floe_sf_http_new(floe_sf_http **out, const floe_sf_http_options *options,
                     floe_error *err) {
  *out = NULL;
  if (!curl_ready) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      return floe_error_set(err, FLOE_ENETWORK, "libcurl failed to start");
    curl_ready = true;
  }
  floe_sf_http *h = floe_calloc(1, sizeof *h);
  if (h == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  h->opt = *options;
  if (h->opt.connect_timeout_ms <= 0) h->opt.connect_timeout_ms = 10000;
  if (h->opt.request_timeout_ms <= 0) h->opt.request_timeout_ms = 600000;
  if (h->opt.max_attempts <= 0) h->opt.max_attempts = 8;
  if (h->opt.backoff_base_ms <= 0) h->opt.backoff_base_ms = 200;
  if (h->opt.backoff_max_ms <= 0) h->opt.backoff_max_ms = 20000;
  h->base_url = floe_strdup(options->base_url ? options->base_url : "");
  h->curl = curl_easy_init();
  if (h->base_url == NULL || h->curl == NULL) {
    floe_sf_http_free(h);
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  }
  h->rng = (unsigned)floe_now_micros() ^ (unsigned)getpid();
  *out = h;
  return FLOE_OK;
}

void floe_sf_http_free(floe_sf_http *http) {
  if (http == NULL) return;
  if (http->curl != NULL) curl_easy_cleanup(http->curl);
  floe_free(http->base_url);
  floe_free(http);
}

int64_t floe_sf_http_requests(const floe_sf_http *http) {
  return http->requests;
}

static bool interrupted(const floe_sf_http *h) {
  return !h->ignore_interrupt && h->opt.interrupt != NULL &&
         *h->opt.interrupt != 0;
}

void floe_sf_http_ignore_interrupt(floe_sf_http *http, bool ignore) {
  http->ignore_interrupt = ignore;
}

int floe_sf_http_sleep(const floe_sf_http *http, long ms, floe_error *err) {
  while (ms > 0) {
    if (interrupted(http))
      return floe_error_set(err, FLOE_ECANCELED, "interrupted");
    long slice = ms < 50 ? ms : 50;
    struct timespec ts = {slice / 1000, (slice % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    ms -= slice;
  }
  if (interrupted(http)) return floe_error_set(err, FLOE_ECANCELED, "interrupted");
  return FLOE_OK;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx) {
  floe_sf_http *h = ctx;
  size_t n = size * nmemb;
  long status = 0;
  curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status == 200 && h->sink != NULL) {
    int rc = h->sink->write(h->sink->ctx, data, n, &h->sink_err);
    if (rc < 0) {
      h->sink_rc = rc;
      return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    return n;
  }
  if (h->body != NULL && h->body->len < ERROR_BODY_MAX) {
    size_t keep = n;
    if (h->body->len + keep > ERROR_BODY_MAX) keep = ERROR_BODY_MAX - h->body->len;
    if (floe_buf_append(h->body, data, keep) < 0) {
      h->sink_rc = FLOE_ENOMEM;
      floe_error_set(&h->sink_err, FLOE_ENOMEM, "out of memory");
      return 0;
    }
  }
  return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ctx) {
  floe_sf_http *h = ctx;
  size_t n = size * nmemb;
  static const char name[] = "retry-after:";
  if (n > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
    /* Delay-seconds form (RFC 9110 section 10.2.3); an HTTP date is read
     * as "no hint". */
    long v = strtol(data + sizeof name - 1, NULL, 10);
    if (v > 0) h->retry_after_s = v;
  }
  return n;
}

/* Aborts a download (a GET: status poll or partition) when interrupted. A
 * POST is left to finish, so the caller learns the statement handle it
 * must cancel. */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow) {
  floe_sf_http *h = ctx;
  (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
  return h->aborting_get && interrupted(h) ? 1 : 0;
}

static bool retryable_curl(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING: /* a gzip stream cut short */
      return true;
    default:
      return false;
  }
}

/* Full jitter (sqlapi.yaml's 503/504 advice): uniform in [0, min(max,
 * base * 2^attempt)], and never less than a Retry-After hint. */
static long backoff_ms(floe_sf_http *h, int attempt) {
  long cap = h->opt.backoff_base_ms;
  for (int i = 0; i < attempt && cap < h->opt.backoff_max_ms; i++) cap *= 2;
  if (cap > h->opt.backoff_max_ms) cap = h->opt.backoff_max_ms;
  long delay = (long)(rand_r(&h->rng) % (unsigned)(cap + 1));
  if (h->retry_after_s > 0) {
    long hint = h->retry_after_s * 1000;
    long ceiling = h->opt.backoff_max_ms > 60000 ? h->opt.backoff_max_ms : 60000;
    if (hint > ceiling) hint = ceiling;
    if (delay < hint) delay = hint;
  }
  return delay;
}

int floe_sf_http_call(floe_sf_http *http, const char *method, const char *path,
                      const char *retry_path, const char *body,
                      const floe_sf_sink *sink, long *out_status,
                      floe_buf *out_body, floe_error *err) {
  floe_sf_http *h = http;
  int rc = FLOE_OK;
  bool refreshed = false, want_refresh = false;
  struct curl_slist *headers = NULL;
  floe_buf url = FLOE_BUF_INIT, auth = FLOE_BUF_INIT, type = FLOE_BUF_INIT;
  char last_failure[CURL_ERROR_SIZE + 64] = "";
  *out_status = 0;
  for (int attempt = 0;; attempt++) {
    const char *token = NULL, *token_type = NULL;
    rc = h->opt.token(h->opt.token_ctx, want_refresh, &token, &token_type, err);
    want_refresh = false;
    if (rc < 0) goto cleanup;
    curl_slist_free_all(headers);
    headers = NULL;
    floe_buf_reset(&url);
    floe_buf_reset(&auth);
    floe_buf_reset(&type);
    const char *use_path = attempt > 0 && retry_path != NULL ? retry_path : path;
    if (floe_buf_appendf(&url, "%s%s", h->base_url, use_path) < 0 ||
        floe_buf_terminate(&url) < 0 ||
        floe_buf_appendf(&auth, "Authorization: Bearer %s", token) < 0 ||
        floe_buf_terminate(&auth) < 0 ||
        floe_buf_appendf(&type, "X-Snowflake-Authorization-Token-Type: %s",
                         token_type) < 0 ||
        floe_buf_terminate(&type) < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    struct curl_slist *l = NULL;
    l = curl_slist_append(l, (const char *)auth.data);
    if (l != NULL) headers = l;
    const char *fixed[] = {(const char *)type.data, "Accept: application/json",
                           "Content-Type: application/json",
                           "User-Agent: floe/0.1", "Expect:"};
    for (size_t i = 0; l != NULL && i < sizeof fixed / sizeof fixed[0]; i++) {
      l = curl_slist_append(headers, fixed[i]);
      if (l != NULL) headers = l;
    }
    if (l == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    CURL *c = h->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, (const char *)url.data);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->opt.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->opt.request_timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curl_error);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (strcmp(method, "POST") == 0) {
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, body != NULL ? body : "");
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                       (curl_off_t)(body != NULL ? strlen(body) : 0));
    } else {
      curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    h->sink = sink;
    h->aborting_get = strcmp(method, "GET") == 0;
    h->body = out_body;
    h->sink_rc = 0;
    floe_error_init(&h->sink_err);
    h->retry_after_s = 0;
    h->curl_error[0] = '\0';
    if (out_body != NULL) floe_buf_reset(out_body);
    if (sink != NULL && sink->reset != NULL) sink->reset(sink->ctx);
    h->requests++;
    double started = floe_monotonic_seconds();
    CURLcode crc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    floe_log(FLOE_LOG_DEBUG, "snowflake.http",
             "method=%s path=%s status=%ld attempt=%d seconds=%.3f", method,
             use_path, status, attempt + 1, floe_monotonic_seconds() - started);
    if (h->sink_rc < 0) {
      rc = h->sink_rc;
      if (err != NULL) *err = h->sink_err;
      goto cleanup;
    }
    if (crc == CURLE_ABORTED_BY_CALLBACK) {
      rc = floe_error_set(err, FLOE_ECANCELED, "%s %s: interrupted", method,
                          path);
      goto cleanup;
    }
    bool retry = false;
    if (crc != CURLE_OK) {
      snprintf(last_failure, sizeof last_failure, "%s",
               h->curl_error[0] ? h->curl_error : curl_easy_strerror(crc));
      if (!retryable_curl(crc)) {
        rc = floe_error_set(err, FLOE_ENETWORK, "%s %s: %s", method, path,
                            last_failure);
        goto cleanup;
      }
      retry = true;
    } else if (status == 401 && !refreshed) {
      /* sqlapi.yaml 401: "obtain a new access token for retry". */
      refreshed = true;
      want_refresh = true;
      snprintf(last_failure, sizeof last_failure, "HTTP 401");
      floe_log(FLOE_LOG_INFO, "snowflake.token_refresh", "reason=%s",
               "http_401");
      attempt--; /* the refresh does not use up an attempt */
      continue;
    } else if (status == 429 || status == 503 || status == 504) {
      snprintf(last_failure, sizeof last_failure, "HTTP %ld", status);
      retry = true;
    } else {
      *out_status = status;
      rc = FLOE_OK;
      goto cleanup;
    }
    if (retry) {
      if (attempt + 1 >= h->opt.max_attempts) {
        rc = floe_error_set(err, FLOE_ENETWORK, "%s %s: %s (gave up after %d attempts)",
                            method, path, last_failure, attempt + 1);
        goto cleanup;
      }
      long delay = backoff_ms(h, attempt);
      floe_log(FLOE_LOG_WARN, "snowflake.retry",
               "method=%s path=%s reason=%s attempt=%d delay_ms=%ld", method,
               path, last_failure, attempt + 1, delay);
      rc = floe_sf_http_sleep(h, delay, err);
      if (rc < 0) goto cleanup;
    }
  }
cleanup:
  curl_slist_free_all(headers);
  /* The Authorization line held the token: wipe it before freeing. */
  if (auth.data != NULL) memset(auth.data, 0, auth.cap);
  floe_buf_free(&url);
  floe_buf_free(&auth);
  floe_buf_free(&type);
  h->sink = NULL;
  h->body = NULL;
  return rc;
}
