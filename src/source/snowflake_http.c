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
  /* a pulled GET (floe_sf_http_pull_*) */
  CURLM *multi;
  bool pull_active, pull_paused, pull_refreshed;
  int pull_attempt;
  char *pull_path;
  struct curl_slist *pull_headers;
  floe_buf pull_url, pull_auth, pull_type;
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
  floe_sf_http_pull_end(http);
  if (http->multi != NULL) curl_multi_cleanup(http->multi);
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
    if (rc == FLOE_SF_PAUSE && h->multi != NULL && h->pull_active) {
      /* The caller's batch is full: libcurl keeps these bytes and hands
       * them over again once the transfer is resumed. */
      h->pull_paused = true;
      return CURL_WRITEFUNC_PAUSE;
    }
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

/* ---- pulled downloads ------------------------------------------------------- */

/* A result partition can be far larger than the batches floe wants to hold.
 * A pulled GET runs on a multi handle so that the sink can pause the
 * transfer when its batch is full (CURL_WRITEFUNC_PAUSE keeps the bytes)
 * and the caller resumes it after draining the batch: memory stays one
 * batch however large the partition is. Retries restart the body; the
 * sink's reset learns how much the caller already has. */

static void pull_detach(floe_sf_http *h) {
  if (h->multi != NULL && h->pull_active) curl_multi_remove_handle(h->multi, h->curl);
  h->pull_active = false;
  h->pull_paused = false;
  curl_slist_free_all(h->pull_headers);
  h->pull_headers = NULL;
  if (h->pull_auth.data != NULL) memset(h->pull_auth.data, 0, h->pull_auth.cap);
  floe_buf_free(&h->pull_url);
  floe_buf_free(&h->pull_auth);
  floe_buf_free(&h->pull_type);
}

void floe_sf_http_pull_end(floe_sf_http *http) {
  if (http == NULL) return;
  pull_detach(http);
  floe_free(http->pull_path);
  http->pull_path = NULL;
  http->sink = NULL;
  http->body = NULL;
}

/* Starts (or restarts) the transfer of h->pull_path. */
static int pull_start(floe_sf_http *h, bool refresh, floe_error *err) {
  const char *token = NULL, *token_type = NULL;
  int rc = h->opt.token(h->opt.token_ctx, refresh, &token, &token_type, err);
  if (rc < 0) return rc;
  pull_detach(h);
  if (floe_buf_appendf(&h->pull_url, "%s%s", h->base_url, h->pull_path) < 0 ||
      floe_buf_terminate(&h->pull_url) < 0 ||
      floe_buf_appendf(&h->pull_auth, "Authorization: Bearer %s", token) < 0 ||
      floe_buf_terminate(&h->pull_auth) < 0 ||
      floe_buf_appendf(&h->pull_type, "X-Snowflake-Authorization-Token-Type: %s", token_type) < 0 ||
      floe_buf_terminate(&h->pull_type) < 0)
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  const char *lines[] = {(const char *)h->pull_auth.data, (const char *)h->pull_type.data,
                         "Accept: application/json", "User-Agent: floe/0.1", "Expect:"};
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
    struct curl_slist *l = curl_slist_append(h->pull_headers, lines[i]);
    if (l == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    h->pull_headers = l;
  }
  CURL *c = h->curl;
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, (const char *)h->pull_url.data);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->pull_headers);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->opt.connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curl_error);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  /* No whole-request timeout: a paused transfer waits for its caller.
   * A stalled connection is caught by the low-speed limit instead. */
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (h->opt.request_timeout_ms + 999) / 1000);
  curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  h->sink_rc = 0;
  floe_error_init(&h->sink_err);
  h->retry_after_s = 0;
  h->curl_error[0] = '\0';
  if (h->body != NULL) floe_buf_reset(h->body);
  if (h->sink != NULL && h->sink->reset != NULL) h->sink->reset(h->sink->ctx);
  h->requests++;
  if (curl_multi_add_handle(h->multi, c) != CURLM_OK)
    return floe_error_set(err, FLOE_ENETWORK, "GET %s: cannot start the transfer", h->pull_path);
  h->pull_active = true;
  return FLOE_OK;
}

int floe_sf_http_pull_begin(floe_sf_http *http, const char *path, const floe_sf_sink *sink,
                            floe_buf *out_body, floe_error *err) {
  floe_sf_http *h = http;
  floe_sf_http_pull_end(h);
  if (h->multi == NULL && (h->multi = curl_multi_init()) == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  if ((h->pull_path = floe_strdup(path)) == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  h->sink = sink;
  h->body = out_body;
  h->aborting_get = false;
  h->pull_attempt = 0;
  h->pull_refreshed = false;
  int rc = pull_start(h, false, err);
  if (rc < 0) floe_sf_http_pull_end(h);
  return rc;
}

int floe_sf_http_pull_next(floe_sf_http *http, long *out_status, floe_error *err) {
  floe_sf_http *h = http;
  *out_status = 0;
  if (h->pull_path == NULL) return floe_error_set(err, FLOE_EINVAL, "no pulled transfer");
  if (h->pull_active && h->pull_paused) {
    h->pull_paused = false;
    curl_easy_pause(h->curl, CURLPAUSE_CONT); /* may deliver the kept bytes at once */
    if (h->sink_rc < 0) goto sink_failed;
    if (h->pull_paused) return 1;
  }
  for (;;) {
    int running = 0;
    curl_multi_perform(h->multi, &running);
    if (h->sink_rc < 0) goto sink_failed;
    if (h->pull_paused) return 1;
    int left = 0;
    CURLMsg *msg = NULL;
    CURLcode crc = CURLE_OK;
    bool done = false;
    while ((msg = curl_multi_info_read(h->multi, &left)) != NULL)
      if (msg->msg == CURLMSG_DONE && msg->easy_handle == h->curl) {
        crc = msg->data.result;
        done = true;
      }
    if (!done) {
      if (interrupted(h)) {
        floe_sf_http_pull_end(h);
        return floe_error_set(err, FLOE_ECANCELED, "GET: interrupted");
      }
      curl_multi_poll(h->multi, NULL, 0, 100, NULL);
      continue;
    }
    long status = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    floe_log(FLOE_LOG_DEBUG, "snowflake.http", "method=GET path=%s status=%ld attempt=%d pulled=1",
             h->pull_path, status, h->pull_attempt + 1);
    char failure[CURL_ERROR_SIZE + 64];
    bool retry = false;
    if (crc != CURLE_OK) {
      snprintf(failure, sizeof failure, "%s", h->curl_error[0] ? h->curl_error : curl_easy_strerror(crc));
      if (!retryable_curl(crc) && crc != CURLE_OPERATION_TIMEDOUT) {
        int rc = floe_error_set(err, FLOE_ENETWORK, "GET %s: %s", h->pull_path, failure);
        floe_sf_http_pull_end(h);
        return rc;
      }
      retry = true;
    } else if (status == 401 && !h->pull_refreshed) {
      h->pull_refreshed = true;
      floe_log(FLOE_LOG_INFO, "snowflake.token_refresh", "reason=%s", "http_401");
      int rc = pull_start(h, true, err);
      if (rc < 0) {
        floe_sf_http_pull_end(h);
        return rc;
      }
      continue;
    } else if (status == 429 || status == 503 || status == 504) {
      snprintf(failure, sizeof failure, "HTTP %ld", status);
      retry = true;
    } else {
      *out_status = status;
      pull_detach(h);
      return 0;
    }
    if (retry) {
      if (h->pull_attempt + 1 >= h->opt.max_attempts) {
        int rc = floe_error_set(err, FLOE_ENETWORK, "GET %s: %s (gave up after %d attempts)",
                                h->pull_path, failure, h->pull_attempt + 1);
        floe_sf_http_pull_end(h);
        return rc;
      }
      long delay = backoff_ms(h, h->pull_attempt);
      floe_log(FLOE_LOG_WARN, "snowflake.retry",
               "method=GET path=%s reason=%s attempt=%d delay_ms=%ld", h->pull_path, failure,
               h->pull_attempt + 1, delay);
      h->pull_attempt++;
      pull_detach(h);
      int rc = floe_sf_http_sleep(h, delay, err);
      if (rc == FLOE_OK) rc = pull_start(h, false, err);
      if (rc < 0) {
        floe_sf_http_pull_end(h);
        return rc;
      }
    }
  }
sink_failed: {
  int rc = h->sink_rc;
  if (err != NULL) *err = h->sink_err;
  floe_sf_http_pull_end(h);
  return rc;
}
}
