/*
 * io/s3: floe's file-system interface on S3 and S3-compatible stores
 * (MinIO, R2, Ceph, test servers).
 *
 * Locations are s3://bucket/key (s3a:// and s3n:// too, as Hadoop and
 * Spark write them). Requests are signed by libcurl (CURLOPT_AWS_SIGV4);
 * credentials come from the provider chain in io/s3_auth.c. Every request
 * is retried with exponential backoff and full jitter on the answers S3
 * documents as transient -- 500, 502, 503, 504, SlowDown, RequestTimeout,
 * InternalError -- and on dropped connections, never on another 4xx.
 *
 * The interface maps onto S3 like this:
 *  - open_read: HEAD for the size, then ranged GETs; a small read-ahead
 *    window serves the Parquet and Avro readers' many short reads.
 *  - create: a streaming writer holding at most one part in memory. Up to
 *    the multipart threshold the object is sent with one PUT on close;
 *    beyond it as a multipart upload, which close completes and any
 *    failure aborts, so no part is left behind and no partial object is
 *    ever visible.
 *  - never-replace writes (create, FLOE_IO_NO_REPLACE) are conditional
 *    creates, If-None-Match: * (on PUT and on CompleteMultipartUpload).
 *    When a retried create meets 412, the object may be our own earlier
 *    attempt whose answer was lost: its ETag is compared with the MD5 we
 *    sent (or the multipart ETag), so a landed write is never reported as
 *    a conflict. Stores without conditional writes can be configured to
 *    check with HEAD first (a race window, documented in docs/config.md).
 *  - directories are key prefixes; mkdirs writes a zero-byte "dir/"
 *    marker (as Hadoop's S3A does) so an empty namespace exists.
 *  - list is ListObjectsV2 with delimiter "/", following continuation
 *    tokens; delete_many is DeleteObjects in batches of 1000 keys.
 *  - rename_noreplace is a conditional copy and a delete: not atomic, and
 *    floe's commit path never uses it on S3.
 *
 * Threads: one s3_io may be used by two threads at once (the copy-on-write
 * merge reads data files on one while it writes on the other), each file
 * and writer by one thread; requests share the connection, so they take
 * turns under the io's mutex (s3_request).
 *
 * Errors name the operation, bucket, key, HTTP status and S3 error code,
 * never a credential: "s3 PUT bucket=b key=t/data/x.parquet: HTTP 403
 * AccessDenied: Access Denied".
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "floe/buffer.h"
#include "floe/io.h"
#include "floe/log.h"
#include "io/http_internal.h"
#include "io/s3_internal.h"

#define DEFAULT_THRESHOLD (16u << 20)
#define DEFAULT_PART_SIZE (8u << 20)
#define DEFAULT_READ_AHEAD (256u << 10)
#define DELETE_BATCH 1000

typedef struct s3_io {
  floe_io base;
  pthread_mutex_t lock; /* held for a request: curl, auth and rng */
  CURL *curl;
  s3_auth *auth;
  char *region;
  char *endpoint; /* scheme://host[:port][/path], no trailing slash */
  int path_style;
  char sigv4[160];
  size_t threshold, part_size, read_ahead;
  int max_attempts, backoff_base_ms, backoff_max_ms;
  int conditional;
  int list_max_keys;
  long connect_timeout_ms, request_timeout_ms;
  unsigned rng;
} s3_io;

typedef struct s3_loc {
  char *bucket;
  char *key; /* may be "" (the bucket's root) */
} s3_loc;

typedef struct s3_file {
  floe_io_file base;
  s3_io *io;
  s3_loc loc;
  floe_buf window; /* bytes [window_offset, window_offset + window.len) */
  uint64_t window_offset;
} s3_file;

typedef struct s3_writer {
  floe_io_writer base;
  s3_io *io;
  s3_loc loc;
  floe_buf part;      /* bytes not yet sent; at most part_size */
  char *upload_id;    /* multipart upload in progress, or NULL */
  int part_number;    /* parts sent */
  floe_buf parts_xml; /* <Part> elements for CompleteMultipartUpload */
  floe_buf part_md5s; /* 16 bytes per part: the multipart ETag's input */
} s3_writer;

/* ---- locations -------------------------------------------------------- */

static void loc_reset(s3_loc *loc) {
  floe_free(loc->bucket);
  floe_free(loc->key);
  loc->bucket = loc->key = NULL;
}

static int parse_loc(const char *location, s3_loc *out, floe_error *err) {
  out->bucket = out->key = NULL;
  const char *p = NULL;
  if (strncmp(location, "s3://", 5) == 0) p = location + 5;
  else if (strncmp(location, "s3a://", 6) == 0 ||
           strncmp(location, "s3n://", 6) == 0)
    p = location + 6;
  if (p == NULL)
    return floe_error_set(err, FLOE_EUNSUPPORTED, "%s: not an s3:// location",
                          location);
  size_t bl = strcspn(p, "/");
  if (bl == 0)
    return floe_error_set(err, FLOE_EINVAL, "%s: no bucket name", location);
  const char *key = p[bl] == '/' ? p + bl + 1 : "";
  /* Collapse "//" runs and drop a trailing '/' so that "a//b/" and "a/b"
   * name the same object or prefix. */
  size_t kl = strlen(key);
  out->bucket = floe_strndup(p, bl);
  out->key = floe_malloc(kl + 1);
  if (out->bucket == NULL || out->key == NULL) {
    loc_reset(out);
    return floe_error_set(err, FLOE_ENOMEM, "%s: out of memory", location);
  }
  size_t o = 0;
  for (size_t i = 0; i < kl; i++) {
    if (key[i] == '/' && (o == 0 || out->key[o - 1] == '/')) continue;
    out->key[o++] = key[i];
  }
  while (o > 0 && out->key[o - 1] == '/') o--;
  out->key[o] = '\0';
  return FLOE_OK;
}

/* The request URL for bucket/key plus an already canonical query string
 * (keys sorted, values encoded), which libcurl signs as it stands. */
static int build_url(s3_io *io, const char *bucket, const char *key,
                     const char *query, floe_buf *out) {
  int rc = 0;
  out->len = 0;
  if (io->path_style) {
    rc = floe_buf_appendf(out, "%s/", io->endpoint);
    if (rc == 0) rc = io_uri_encode(out, bucket, 0);
    if (rc == 0) rc = floe_buf_append_str(out, "/");
  } else {
    const char *sep = strstr(io->endpoint, "://");
    size_t scheme = sep ? (size_t)(sep - io->endpoint) + 3 : 0;
    rc = floe_buf_appendf(out, "%.*s%s.%s/", (int)scheme, io->endpoint, bucket,
                          io->endpoint + scheme);
  }
  if (rc == 0 && key != NULL) rc = io_uri_encode(out, key, 1);
  if (rc == 0 && query != NULL) rc = floe_buf_appendf(out, "?%s", query);
  if (rc == 0) rc = floe_buf_terminate(out);
  return rc != 0 ? FLOE_ENOMEM : FLOE_OK;
}

/* ---- hashing ------------------------------------------------------------ */

static int digest(const char *name, const void *data, size_t len,
                  unsigned char *out, unsigned *out_len) {
  const EVP_MD *md = strcmp(name, "md5") == 0 ? EVP_md5() : EVP_sha256();
  return EVP_Digest(data, len, out, out_len, md, NULL) == 1 ? 0 : -1;
}

static void hex(const unsigned char *b, size_t n, char *out) {
  static const char h[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = h[b[i] >> 4];
    out[2 * i + 1] = h[b[i] & 15];
  }
  out[2 * n] = '\0';
}

/* ---- requests ------------------------------------------------------------ */

typedef struct s3_call {
  const char *method;
  const char *bucket;
  const char *key;   /* NULL: the bucket itself */
  const char *query; /* canonical, or NULL */
  const void *body;
  size_t body_len;
  const char *headers[6]; /* extra headers, NULL-terminated */
  int content_md5;        /* send Content-MD5 (DeleteObjects needs it) */
  void *dest;             /* GET into this buffer */
  size_t dest_cap;
} s3_call;

static int is_retryable_curl(CURLcode cc) {
  switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return 1;
    default:
      return 0;
  }
}

/* The S3 error code and message of an error answer (XML body), each into a
 * caller buffer; "" when absent (HEAD answers have no body). */
static void error_code(const io_http_response *resp, char *code, size_t cap,
                       char *message, size_t mcap) {
  code[0] = '\0';
  if (message != NULL) message[0] = '\0';
  const char *x = (const char *)resp->body.data;
  size_t len = resp->body.len, s, e;
  if (x == NULL) return;
  if (io_xml_element(x, len, "Code", 0, &s, &e)) {
    size_t n = e - s < cap - 1 ? e - s : cap - 1;
    memcpy(code, x + s, n);
    code[n] = '\0';
  }
  if (message != NULL && io_xml_element(x, len, "Message", 0, &s, &e)) {
    size_t n = e - s < mcap - 1 ? e - s : mcap - 1;
    memcpy(message, x + s, n);
    message[n] = '\0';
  }
}

/* S3 answers some failed CompleteMultipartUpload and CopyObject calls
 * with 200 and an <Error> body. */
static int is_error_body(const io_http_response *resp) {
  const char *x = (const char *)resp->body.data;
  if (x == NULL || resp->body.len == 0) return 0;
  size_t s, e;
  return io_xml_element(x, resp->body.len, "Error", 0, &s, &e) &&
         !io_xml_element(x, resp->body.len, "CompleteMultipartUploadResult", 0,
                         &s, &e) &&
         !io_xml_element(x, resp->body.len, "CopyObjectResult", 0, &s, &e);
}

static int is_retryable(const io_http_response *resp) {
  long st = resp->status;
  if (st == 500 || st == 502 || st == 503 || st == 504) return 1;
  char code[64];
  error_code(resp, code, sizeof code, NULL, 0);
  if (strcmp(code, "SlowDown") == 0 || strcmp(code, "RequestTimeout") == 0 ||
      strcmp(code, "InternalError") == 0 ||
      strcmp(code, "ConditionalRequestConflict") == 0)
    return 1;
  return 0;
}

static void backoff(s3_io *io, int attempt) {
  long cap = io->backoff_base_ms;
  for (int i = 1; i < attempt && cap < io->backoff_max_ms; i++) cap *= 2;
  if (cap > io->backoff_max_ms) cap = io->backoff_max_ms;
  long ms = cap > 0 ? (long)(rand_r(&io->rng) % (unsigned)(cap + 1)) : 0;
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void describe(const s3_call *c, char *out, size_t cap) {
  snprintf(out, cap, "s3 %s bucket=%s key=%s", c->method, c->bucket,
           c->key ? c->key : "");
}

/* Performs `c` with retries. FLOE_OK when an answer arrived that is final
 * (success, a non-retryable error, or a retryable one after the last
 * attempt): the caller reads resp->status. *out_attempts (may be NULL)
 * gets the number of attempts made. */
static int s3_request_locked(s3_io *io, const s3_call *c, io_http_response *resp,
                             int *out_attempts, floe_error *err) {
  int rc = FLOE_OK;
  floe_buf url = FLOE_BUF_INIT, userpwd = FLOE_BUF_INIT, hdr = FLOE_BUF_INIT;
  struct curl_slist *headers = NULL;
  char what[600];
  describe(c, what, sizeof what);
  if (build_url(io, c->bucket, c->key, c->query, &url) < 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "%s: out of memory", what);
    goto cleanup;
  }
  unsigned char sum[EVP_MAX_MD_SIZE];
  unsigned sum_len = 0;
  char sha_hex[2 * 32 + 1];
  if (digest("sha256", c->body ? c->body : "", c->body_len, sum, &sum_len) <
      0) {
    rc = floe_error_set(err, FLOE_EIO, "%s: sha256 failed", what);
    goto cleanup;
  }
  hex(sum, sum_len, sha_hex);
  char md5_b64[32] = "";
  if (c->content_md5) {
    unsigned char md5[EVP_MAX_MD_SIZE];
    unsigned md5_len = 0;
    if (digest("md5", c->body ? c->body : "", c->body_len, md5, &md5_len) < 0) {
      rc = floe_error_set(err, FLOE_EIO, "%s: md5 failed", what);
      goto cleanup;
    }
    EVP_EncodeBlock((unsigned char *)md5_b64, md5, (int)md5_len);
  }
  int expired_retry = 0;
  for (int attempt = 1;; attempt++) {
    if (out_attempts != NULL) *out_attempts = attempt;
    const s3_credentials *creds = NULL;
    rc = s3_auth_credentials(io->auth, io->curl, &creds, err);
    if (rc < 0) goto cleanup;
    curl_slist_free_all(headers);
    headers = NULL;
    int hrc = 0;
    /* Only headers that are sent: libcurl signs every header it is given,
     * including an empty one that merely suppresses a default. */
    const char *fixed[4];
    size_t nf = 0;
    hdr.len = 0;
    hrc |= floe_buf_appendf(&hdr, "x-amz-content-sha256: %s", sha_hex);
    hrc |= floe_buf_terminate(&hdr);
    if (hrc == 0) headers = curl_slist_append(headers, (const char *)hdr.data);
    if (strcmp(c->method, "PUT") == 0 || strcmp(c->method, "POST") == 0)
      fixed[nf++] = "Content-Type: application/octet-stream";
    for (size_t i = 0; i < nf && headers != NULL; i++)
      headers = curl_slist_append(headers, fixed[i]);
    for (size_t i = 0; c->headers[i] != NULL && headers != NULL; i++)
      headers = curl_slist_append(headers, c->headers[i]);
    if (headers != NULL && c->content_md5) {
      hdr.len = 0;
      hrc |= floe_buf_appendf(&hdr, "Content-MD5: %s", md5_b64);
      hrc |= floe_buf_terminate(&hdr);
      if (hrc == 0) headers = curl_slist_append(headers, (const char *)hdr.data);
    }
    if (headers != NULL && creds->session_token != NULL) {
      hdr.len = 0;
      hrc |= floe_buf_appendf(&hdr, "x-amz-security-token: %s",
                              creds->session_token);
      hrc |= floe_buf_terminate(&hdr);
      if (hrc == 0) headers = curl_slist_append(headers, (const char *)hdr.data);
    }
    userpwd.len = 0;
    hrc |= floe_buf_appendf(&userpwd, "%s:%s", creds->access_key_id,
                            creds->secret_access_key);
    hrc |= floe_buf_terminate(&userpwd);
    if (hrc != 0 || headers == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "%s: out of memory", what);
      goto cleanup;
    }
    io_http_request req = {0};
    req.method = c->method;
    req.url = (const char *)url.data;
    req.headers = headers;
    req.body = c->body;
    req.body_len = c->body_len;
    req.aws_sigv4 = io->sigv4;
    req.userpwd = (const char *)userpwd.data;
    req.dest = c->dest;
    req.dest_cap = c->dest_cap;
    req.connect_timeout_ms = io->connect_timeout_ms;
    req.timeout_ms = io->request_timeout_ms;
    floe_error attempt_err = {0};
    rc = io_http_perform(io->curl, &req, resp, &attempt_err);
    memset(userpwd.data, 0, userpwd.len);
    if (rc == FLOE_ENOMEM) {
      floe_error_set(err, rc, "%s: %s", what, attempt_err.message);
      goto cleanup;
    }
    int transient;
    if (rc < 0) {
      transient = is_retryable_curl(resp->curl_code) || resp->status == 0;
    } else {
      transient = is_retryable(resp);
      char code[64];
      error_code(resp, code, sizeof code, NULL, 0);
      if (!expired_retry && (strcmp(code, "ExpiredToken") == 0 ||
                             strcmp(code, "TokenRefreshRequired") == 0)) {
        /* Temporary credentials expired early: fetch new ones once. */
        expired_retry = 1;
        s3_auth_invalidate(io->auth);
        attempt--;
        continue;
      }
    }
    if (!transient || attempt >= io->max_attempts) {
      if (rc < 0)
        floe_error_set(err, FLOE_ENETWORK, "%s: %s (after %d attempt%s)",
                       what, resp->curl_error, attempt, attempt == 1 ? "" : "s");
      goto cleanup;
    }
    floe_log(FLOE_LOG_WARN, "s3_retry",
             "method=%s bucket=%s key=%s attempt=%d status=%ld "
             "error=%s",
             c->method, c->bucket, c->key ? c->key : "", attempt,
             resp->status, rc < 0 ? resp->curl_error : "");
    backoff(io, attempt);
  }
cleanup:
  if (userpwd.data != NULL) memset(userpwd.data, 0, userpwd.cap);
  floe_buf_free(&userpwd);
  if (hdr.data != NULL) memset(hdr.data, 0, hdr.cap);
  floe_buf_free(&hdr);
  floe_buf_free(&url);
  curl_slist_free_all(headers);
  return rc;
}

/* s3_request under the io's lock: requests of two threads take turns. */
static int s3_request(s3_io *io, const s3_call *c, io_http_response *resp,
                      int *out_attempts, floe_error *err) {
  pthread_mutex_lock(&io->lock);
  int rc = s3_request_locked(io, c, resp, out_attempts, err);
  pthread_mutex_unlock(&io->lock);
  return rc;
}

/* The error for a final non-2xx answer: 404 -> FLOE_ENOTFOUND, 412 ->
 * FLOE_EEXISTS, 5xx -> FLOE_ENETWORK, else FLOE_EIO. */
static int status_error(const s3_call *c, const io_http_response *resp,
                        floe_error *err) {
  char code[96], message[256], what[600];
  error_code(resp, code, sizeof code, message, sizeof message);
  describe(c, what, sizeof what);
  int rcode = FLOE_EIO;
  if (resp->status == 404) rcode = FLOE_ENOTFOUND;
  else if (resp->status == 412) rcode = FLOE_EEXISTS;
  else if (resp->status >= 500) rcode = FLOE_ENETWORK;
  if (code[0] == '\0' && resp->status == 404) snprintf(code, sizeof code, "NotFound");
  if (code[0] == '\0' && resp->status == 412)
    snprintf(code, sizeof code, "PreconditionFailed");
  return floe_error_set(err, rcode, "%s: HTTP %ld%s%s%s%s", what, resp->status,
                        code[0] ? " " : "", code, message[0] ? ": " : "",
                        message);
}

static int call_ok(const io_http_response *resp) {
  return resp->status / 100 == 2 && !is_error_body(resp);
}

/* HEAD of an object: *out_found, and its size and ETag into the response. */
static int head_object(s3_io *io, const char *bucket, const char *key,
                       int *out_found, io_http_response *resp,
                       floe_error *err) {
  s3_call c = {0};
  c.method = "HEAD";
  c.bucket = bucket;
  c.key = key;
  *out_found = 0;
  int rc = s3_request(io, &c, resp, NULL, err);
  if (rc < 0) return rc;
  if (resp->status == 404) return FLOE_OK;
  if (resp->status / 100 != 2) return status_error(&c, resp, err);
  *out_found = 1;
  return FLOE_OK;
}

/* ---- reading -------------------------------------------------------------- */

static int ranged_get(s3_file *f, uint64_t offset, size_t len, void *dest,
                      floe_error *err) {
  char range[80];
  snprintf(range, sizeof range, "Range: bytes=%llu-%llu",
           (unsigned long long)offset,
           (unsigned long long)(offset + len - 1));
  s3_call c = {0};
  c.method = "GET";
  c.bucket = f->loc.bucket;
  c.key = f->loc.key;
  c.headers[0] = range;
  c.dest = dest;
  c.dest_cap = len;
  io_http_response resp = {0};
  int rc = s3_request(f->io, &c, &resp, NULL, err);
  if (rc == FLOE_OK && resp.status != 206 && resp.status != 200)
    rc = status_error(&c, &resp, err);
  if (rc == FLOE_OK && resp.dest_len != len)
    rc = floe_error_set(err, FLOE_EIO, "s3 GET bucket=%s key=%s: wanted %zu "
                        "bytes at offset %llu, got %zu", f->loc.bucket,
                        f->loc.key, len, (unsigned long long)offset,
                        resp.dest_len);
  io_http_response_reset(&resp);
  return rc;
}

static int file_read_at(floe_io_file *base, uint64_t offset, void *buf,
                        size_t len, size_t *out_read, floe_error *err) {
  s3_file *f = (s3_file *)base;
  *out_read = 0;
  if (offset >= base->size || len == 0) return FLOE_OK;
  if (len > base->size - offset) len = (size_t)(base->size - offset);
  if (offset >= f->window_offset &&
      offset + len <= f->window_offset + f->window.len) {
    memcpy(buf, f->window.data + (offset - f->window_offset), len);
    *out_read = len;
    return FLOE_OK;
  }
  if (len >= f->io->read_ahead) {
    int rc = ranged_get(f, offset, len, buf, err);
    if (rc == FLOE_OK) *out_read = len;
    return rc;
  }
  size_t want = len + f->io->read_ahead;
  if (want > base->size - offset) want = (size_t)(base->size - offset);
  f->window.len = 0;
  if (floe_buf_reserve(&f->window, want) != 0)
    return floe_error_set(err, FLOE_ENOMEM, "s3 GET bucket=%s key=%s: out of "
                          "memory", f->loc.bucket, f->loc.key);
  int rc = ranged_get(f, offset, want, f->window.data, err);
  if (rc < 0) return rc;
  f->window.len = want;
  f->window_offset = offset;
  memcpy(buf, f->window.data, len);
  *out_read = len;
  return FLOE_OK;
}

static void file_close(floe_io_file *base) {
  s3_file *f = (s3_file *)base;
  loc_reset(&f->loc);
  floe_buf_free(&f->window);
  floe_free(base->path);
  floe_free(f);
}

static const floe_io_file_ops s3_file_ops = {file_read_at, file_close};

static int s3_open_read(floe_io *base, const char *path, floe_io_file **out,
                        floe_error *err) {
  s3_io *io = (s3_io *)base;
  int rc = FLOE_OK, found = 0;
  io_http_response resp = {0};
  s3_file *f = floe_calloc(1, sizeof *f);
  if (f == NULL) return floe_error_set(err, FLOE_ENOMEM, "open %s: out of memory", path);
  f->base.ops = &s3_file_ops;
  f->io = io;
  f->base.path = floe_strdup(path);
  if (f->base.path == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "open %s: out of memory", path);
    goto cleanup;
  }
  FLOE_TRY(parse_loc(path, &f->loc, err));
  FLOE_TRY(head_object(io, f->loc.bucket, f->loc.key, &found, &resp, err));
  if (!found) {
    rc = floe_error_set(err, FLOE_ENOTFOUND, "s3 HEAD bucket=%s key=%s: HTTP "
                        "404 NotFound", f->loc.bucket, f->loc.key);
    goto cleanup;
  }
  if (resp.content_length < 0) {
    rc = floe_error_set(err, FLOE_EIO, "s3 HEAD bucket=%s key=%s: no "
                        "Content-Length", f->loc.bucket, f->loc.key);
    goto cleanup;
  }
  f->base.size = (uint64_t)resp.content_length;
  *out = &f->base;
  f = NULL;
cleanup:
  io_http_response_reset(&resp);
  if (f != NULL) file_close(&f->base);
  if (rc < 0) floe_error_prefix(err, "open %s", path);
  return rc;
}

/* ---- writing -------------------------------------------------------------- */

/* PUT of a whole object. With no_replace, a conditional create; when a
 * retried attempt meets 412, the object is compared with what we sent. */
static int put_object(s3_io *io, const s3_loc *loc, const void *data,
                      size_t len, int no_replace, floe_error *err) {
  int rc = FLOE_OK, found = 0;
  io_http_response resp = {0};
  unsigned char md5[EVP_MAX_MD_SIZE];
  unsigned md5_len = 0;
  char md5_hex[33];
  if (digest("md5", data ? data : "", len, md5, &md5_len) < 0)
    return floe_error_set(err, FLOE_EIO, "md5 failed");
  hex(md5, md5_len, md5_hex);
  if (no_replace && !io->conditional) {
    FLOE_TRY(head_object(io, loc->bucket, loc->key, &found, &resp, err));
    if (found) {
      rc = floe_error_set(err, FLOE_EEXISTS, "s3 PUT bucket=%s key=%s: the "
                          "object exists", loc->bucket, loc->key);
      goto cleanup;
    }
  }
  s3_call c = {0};
  c.method = "PUT";
  c.bucket = loc->bucket;
  c.key = loc->key;
  c.body = data;
  c.body_len = len;
  c.content_md5 = 1;
  if (no_replace && io->conditional) c.headers[0] = "If-None-Match: *";
  FLOE_TRY(s3_request(io, &c, &resp, NULL, err));
  if (call_ok(&resp)) goto cleanup;
  /* libcurl itself resends a request once when a reused connection dies
   * before any answer, so even a first "attempt" may have landed twice:
   * a 412 is always checked against our own bytes. Equal bytes under a
   * fresh name are our write (names carry UUIDs or versions, and metadata
   * JSON carries unique snapshot ids). */
  if (resp.status == 412) {
    io_http_response head = {0};
    rc = head_object(io, loc->bucket, loc->key, &found, &head, err);
    int ours = rc == FLOE_OK && found && strcmp(head.etag, md5_hex) == 0;
    io_http_response_reset(&head);
    if (rc < 0) goto cleanup;
    if (ours) goto cleanup; /* an earlier attempt landed; its answer was lost */
  }
  char code[64];
  error_code(&resp, code, sizeof code, NULL, 0);
  rc = status_error(&c, &resp, err);
  if (resp.status == 501 || strcmp(code, "NotImplemented") == 0)
    floe_error_prefix(err, "the store does not support conditional writes "
                      "(If-None-Match); set target.storage.conditional_writes:"
                      " false");
cleanup:
  io_http_response_reset(&resp);
  return rc;
}

static int s3_write_atomic(floe_io *base, const char *path, const void *data,
                           size_t len, int flags, floe_error *err) {
  s3_io *io = (s3_io *)base;
  s3_loc loc;
  int rc = parse_loc(path, &loc, err);
  if (rc == FLOE_OK)
    rc = put_object(io, &loc, data, len, (flags & FLOE_IO_NO_REPLACE) != 0,
                    err);
  loc_reset(&loc);
  if (rc < 0) floe_error_prefix(err, "write %s", path);
  return rc;
}

static int upload_part(s3_writer *w, floe_error *err) {
  s3_io *io = w->io;
  int rc = FLOE_OK;
  io_http_response resp = {0};
  char query[1200];
  floe_buf q = FLOE_BUF_INIT;
  if (w->upload_id == NULL) {
    s3_call c = {0};
    c.method = "POST";
    c.bucket = w->loc.bucket;
    c.key = w->loc.key;
    c.query = "uploads=";
    FLOE_TRY(s3_request(io, &c, &resp, NULL, err));
    if (!call_ok(&resp)) {
      rc = status_error(&c, &resp, err);
      goto cleanup;
    }
    size_t pos = 0;
    if (io_xml_next((const char *)resp.body.data, resp.body.len, "UploadId",
                    &pos, &w->upload_id) < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    if (w->upload_id == NULL) {
      rc = floe_error_set(err, FLOE_EFORMAT, "s3 POST bucket=%s key=%s: "
                          "CreateMultipartUpload answered without an UploadId",
                          w->loc.bucket, w->loc.key);
      goto cleanup;
    }
  }
  int number = w->part_number + 1;
  if (floe_buf_appendf(&q, "partNumber=%d&uploadId=", number) != 0 ||
      io_uri_encode(&q, w->upload_id, 0) < 0 || floe_buf_terminate(&q) != 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  snprintf(query, sizeof query, "%s", (const char *)q.data);
  s3_call c = {0};
  c.method = "PUT";
  c.bucket = w->loc.bucket;
  c.key = w->loc.key;
  c.query = query;
  c.body = w->part.data;
  c.body_len = w->part.len;
  c.content_md5 = 1;
  FLOE_TRY(s3_request(io, &c, &resp, NULL, err));
  if (!call_ok(&resp)) {
    rc = status_error(&c, &resp, err);
    goto cleanup;
  }
  unsigned char md5[EVP_MAX_MD_SIZE];
  unsigned md5_len = 0;
  if (digest("md5", w->part.data ? (const void *)w->part.data : "",
             w->part.len, md5, &md5_len) < 0 ||
      floe_buf_append(&w->part_md5s, md5, 16) != 0 ||
      floe_buf_appendf(&w->parts_xml, "<Part><PartNumber>%d</PartNumber>"
                       "<ETag>\"%s\"</ETag></Part>",
                       number, resp.etag) != 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  w->part_number = number;
  w->part.len = 0;
cleanup:
  floe_buf_free(&q);
  io_http_response_reset(&resp);
  return rc;
}

static void abort_upload(s3_writer *w) {
  if (w->upload_id == NULL) return;
  floe_buf q = FLOE_BUF_INIT;
  io_http_response resp = {0};
  floe_error err = {0};
  if (floe_buf_append_str(&q, "uploadId=") == 0 &&
      io_uri_encode(&q, w->upload_id, 0) == 0 && floe_buf_terminate(&q) == 0) {
    s3_call c = {0};
    c.method = "DELETE";
    c.bucket = w->loc.bucket;
    c.key = w->loc.key;
    c.query = (const char *)q.data;
    int rc = s3_request(w->io, &c, &resp, NULL, &err);
    if (rc == FLOE_OK && resp.status / 100 != 2 && resp.status != 404)
      rc = status_error(&c, &resp, &err);
    if (rc < 0)
      floe_log(FLOE_LOG_WARN, "s3_abort_failed", "bucket=%s key=%s "
               "error=%s", w->loc.bucket, w->loc.key, err.message);
  }
  floe_buf_free(&q);
  io_http_response_reset(&resp);
  floe_free(w->upload_id);
  w->upload_id = NULL;
}

static int complete_upload(s3_writer *w, floe_error *err) {
  s3_io *io = w->io;
  int rc = FLOE_OK, found = 0;
  floe_buf q = FLOE_BUF_INIT, body = FLOE_BUF_INIT;
  io_http_response resp = {0};
  if (floe_buf_append_str(&q, "uploadId=") != 0 ||
      io_uri_encode(&q, w->upload_id, 0) < 0 || floe_buf_terminate(&q) != 0 ||
      floe_buf_append_str(&body, "<CompleteMultipartUpload>") != 0 ||
      floe_buf_append(&body, w->parts_xml.data, w->parts_xml.len) != 0 ||
      floe_buf_append_str(&body, "</CompleteMultipartUpload>") != 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  s3_call c = {0};
  c.method = "POST";
  c.bucket = w->loc.bucket;
  c.key = w->loc.key;
  c.query = (const char *)q.data;
  c.body = body.data;
  c.body_len = body.len;
  if (io->conditional) c.headers[0] = "If-None-Match: *";
  FLOE_TRY(s3_request(io, &c, &resp, NULL, err));
  if (call_ok(&resp)) goto cleanup;
  char code[64];
  error_code(&resp, code, sizeof code, NULL, 0);
  if (resp.status == 412 || strcmp(code, "NoSuchUpload") == 0) {
    /* An earlier attempt may have completed: the multipart ETag is the MD5
     * of the parts' MD5s, "-" and the part count. */
    unsigned char md5[EVP_MAX_MD_SIZE];
    unsigned md5_len = 0;
    char want[64];
    if (digest("md5", w->part_md5s.data, w->part_md5s.len, md5, &md5_len) < 0) {
      rc = floe_error_set(err, FLOE_EIO, "md5 failed");
      goto cleanup;
    }
    hex(md5, md5_len, want);
    snprintf(want + 32, sizeof want - 32, "-%d", w->part_number);
    io_http_response head = {0};
    rc = head_object(io, w->loc.bucket, w->loc.key, &found, &head, err);
    int ours = rc == FLOE_OK && found && strcmp(head.etag, want) == 0;
    io_http_response_reset(&head);
    if (rc < 0) goto cleanup;
    if (ours) {
      floe_free(w->upload_id);
      w->upload_id = NULL;
      goto cleanup;
    }
  }
  rc = status_error(&c, &resp, err);
cleanup:
  if (rc == FLOE_OK) {
    floe_free(w->upload_id);
    w->upload_id = NULL;
  }
  floe_buf_free(&q);
  floe_buf_free(&body);
  io_http_response_reset(&resp);
  return rc;
}

static void writer_free(s3_writer *w) {
  loc_reset(&w->loc);
  floe_buf_free(&w->part);
  floe_buf_free(&w->parts_xml);
  floe_buf_free(&w->part_md5s);
  floe_free(w->upload_id);
  floe_free(w->base.path);
  floe_free(w);
}

static int writer_write(floe_io_writer *base, const void *data, size_t len,
                        floe_error *err) {
  s3_writer *w = (s3_writer *)base;
  const uint8_t *p = data;
  while (len > 0) {
    size_t room = w->io->part_size - w->part.len;
    size_t n = len < room ? len : room;
    if (floe_buf_append(&w->part, p, n) != 0)
      return floe_error_set(err, FLOE_ENOMEM, "write %s: out of memory",
                            base->path);
    p += n;
    len -= n;
    base->written += n;
    /* A full part goes out once the object is sure to exceed the
     * threshold; smaller objects wait for close and one PUT. */
    if (w->part.len == w->io->part_size &&
        (w->upload_id != NULL || base->written > w->io->threshold ||
         w->io->part_size >= w->io->threshold)) {
      int rc = upload_part(w, err);
      if (rc < 0) {
        floe_error_prefix(err, "write %s", base->path);
        return rc;
      }
    }
  }
  return FLOE_OK;
}

static int writer_close(floe_io_writer *base, floe_error *err) {
  s3_writer *w = (s3_writer *)base;
  int rc = FLOE_OK;
  if (w->upload_id == NULL && w->part_number == 0) {
    rc = put_object(w->io, &w->loc, w->part.data, w->part.len,
                    1, err);
  } else {
    if (w->part.len > 0) rc = upload_part(w, err);
    if (rc == FLOE_OK) rc = complete_upload(w, err);
    if (rc < 0) abort_upload(w);
  }
  if (rc < 0) floe_error_prefix(err, "close %s", base->path);
  writer_free(w);
  return rc;
}

static void writer_abort(floe_io_writer *base) {
  s3_writer *w = (s3_writer *)base;
  abort_upload(w);
  writer_free(w);
}

static const floe_io_writer_ops s3_writer_ops = {writer_write, writer_close,
                                                 writer_abort};

static int s3_create(floe_io *base, const char *path, floe_io_writer **out,
                     floe_error *err) {
  s3_io *io = (s3_io *)base;
  int rc = FLOE_OK, found = 0;
  io_http_response resp = {0};
  s3_writer *w = floe_calloc(1, sizeof *w);
  if (w == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "create %s: out of memory", path);
  w->base.ops = &s3_writer_ops;
  w->io = io;
  w->base.path = floe_strdup(path);
  if (w->base.path == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "create %s: out of memory", path);
    goto cleanup;
  }
  FLOE_TRY(parse_loc(path, &w->loc, err));
  FLOE_TRY(head_object(io, w->loc.bucket, w->loc.key, &found, &resp, err));
  if (found) {
    rc = floe_error_set(err, FLOE_EEXISTS, "s3 HEAD bucket=%s key=%s: the "
                        "object exists", w->loc.bucket, w->loc.key);
    goto cleanup;
  }
  *out = &w->base;
  w = NULL;
cleanup:
  io_http_response_reset(&resp);
  if (w != NULL) writer_free(w);
  if (rc < 0) floe_error_prefix(err, "create %s", path);
  return rc;
}

/* ---- names ---------------------------------------------------------------- */

static int delete_key(s3_io *io, const char *bucket, const char *key,
                      floe_error *err) {
  s3_call c = {0};
  c.method = "DELETE";
  c.bucket = bucket;
  c.key = key;
  io_http_response resp = {0};
  int rc = s3_request(io, &c, &resp, NULL, err);
  if (rc == FLOE_OK && resp.status / 100 != 2) rc = status_error(&c, &resp, err);
  io_http_response_reset(&resp);
  return rc;
}

static int s3_remove(floe_io *base, const char *path, floe_error *err) {
  s3_loc loc;
  int rc = parse_loc(path, &loc, err);
  /* S3 answers 204 for a missing key too: deleting is idempotent. */
  if (rc == FLOE_OK) rc = delete_key((s3_io *)base, loc.bucket, loc.key, err);
  loc_reset(&loc);
  if (rc < 0) floe_error_prefix(err, "delete %s", path);
  return rc;
}

static int s3_rename_noreplace(floe_io *base, const char *from,
                               const char *to, floe_error *err) {
  s3_io *io = (s3_io *)base;
  s3_loc src = {0}, dst = {0};
  io_http_response resp = {0};
  floe_buf source = FLOE_BUF_INIT;
  int rc = FLOE_OK, found = 0;
  FLOE_TRY(parse_loc(from, &src, err));
  FLOE_TRY(parse_loc(to, &dst, err));
  FLOE_TRY(head_object(io, dst.bucket, dst.key, &found, &resp, err));
  if (found) {
    rc = floe_error_set(err, FLOE_EEXISTS, "s3 bucket=%s key=%s: the object "
                        "exists", dst.bucket, dst.key);
    goto cleanup;
  }
  if (floe_buf_append_str(&source, "x-amz-copy-source: /") != 0 ||
      io_uri_encode(&source, src.bucket, 0) < 0 ||
      floe_buf_append_str(&source, "/") != 0 ||
      io_uri_encode(&source, src.key, 1) < 0 ||
      floe_buf_terminate(&source) != 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  s3_call c = {0};
  c.method = "PUT";
  c.bucket = dst.bucket;
  c.key = dst.key;
  c.headers[0] = (const char *)source.data;
  if (io->conditional) c.headers[1] = "If-None-Match: *";
  FLOE_TRY(s3_request(io, &c, &resp, NULL, err));
  if (!call_ok(&resp)) {
    rc = status_error(&c, &resp, err);
    if (resp.status == 404) rc = FLOE_ENOTFOUND;
    goto cleanup;
  }
  rc = delete_key(io, src.bucket, src.key, err);
cleanup:
  io_http_response_reset(&resp);
  floe_buf_free(&source);
  loc_reset(&src);
  loc_reset(&dst);
  if (rc < 0) floe_error_prefix(err, "rename %s to %s", from, to);
  return rc;
}

static int s3_mkdirs(floe_io *base, const char *path, floe_error *err) {
  s3_io *io = (s3_io *)base;
  s3_loc loc;
  int rc = parse_loc(path, &loc, err);
  if (rc == FLOE_OK && loc.key[0] != '\0') {
    char *marker = floe_malloc(strlen(loc.key) + 2);
    if (marker == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    } else {
      sprintf(marker, "%s/", loc.key);
      floe_free(loc.key);
      loc.key = marker;
      rc = put_object(io, &loc, "", 0, 0, err);
    }
  }
  loc_reset(&loc);
  if (rc < 0) floe_error_prefix(err, "mkdirs %s", path);
  return rc;
}

static int s3_rmdir(floe_io *base, const char *path, floe_error *err) {
  s3_loc loc;
  int rc = parse_loc(path, &loc, err);
  if (rc == FLOE_OK && loc.key[0] != '\0') {
    char *marker = floe_malloc(strlen(loc.key) + 2);
    if (marker == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    } else {
      sprintf(marker, "%s/", loc.key);
      rc = delete_key((s3_io *)base, loc.bucket, marker, err);
      floe_free(marker);
    }
  }
  loc_reset(&loc);
  if (rc < 0) floe_error_prefix(err, "rmdir %s", path);
  return rc;
}

/* ---- listing -------------------------------------------------------------- */

static int cmp_entry(const void *a, const void *b) {
  return strcmp(((const floe_io_entry *)a)->name,
                ((const floe_io_entry *)b)->name);
}

static int add_entry(floe_io_listing *out, size_t *cap, char *name,
                     int is_dir, uint64_t size, int64_t mtime_ms) {
  if (out->count == *cap) {
    size_t ncap = *cap ? *cap * 2 : 64;
    floe_io_entry *e = floe_realloc(out->entries, ncap * sizeof *e);
    if (e == NULL) return FLOE_ENOMEM;
    out->entries = e;
    *cap = ncap;
  }
  floe_io_entry *e = &out->entries[out->count++];
  e->name = name;
  e->is_dir = is_dir;
  e->size = size;
  e->mtime_ms = mtime_ms;
  return FLOE_OK;
}

/* Lists prefix `prefix` (with its trailing '/', or "" for the bucket) one
 * level deep. *out_any = 1 when anything (even only the "dir/" marker) is
 * there. max_keys = 1 only probes. */
static int list_prefix(s3_io *io, const char *bucket, const char *prefix,
                       int max_keys, floe_io_listing *out, int *out_any,
                       floe_error *err) {
  int rc = FLOE_OK;
  size_t cap = 0, plen = strlen(prefix);
  floe_buf q = FLOE_BUF_INIT;
  io_http_response resp = {0};
  char *token = NULL, *key = NULL, *size = NULL, *mtime = NULL;
  *out_any = 0;
  for (;;) {
    q.len = 0;
    int qrc = 0;
    if (token != NULL) {
      qrc |= floe_buf_append_str(&q, "continuation-token=");
      qrc |= io_uri_encode(&q, token, 0);
      qrc |= floe_buf_append_str(&q, "&");
    }
    qrc |= floe_buf_appendf(&q, "delimiter=%%2F&list-type=2&max-keys=%d"
                            "&prefix=", max_keys);
    qrc |= io_uri_encode(&q, prefix, 0);
    qrc |= floe_buf_terminate(&q);
    if (qrc != 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    s3_call c = {0};
    c.method = "GET";
    c.bucket = bucket;
    c.key = NULL;
    c.query = (const char *)q.data;
    FLOE_TRY(s3_request(io, &c, &resp, NULL, err));
    if (!call_ok(&resp)) {
      rc = status_error(&c, &resp, err);
      goto cleanup;
    }
    const char *x = (const char *)resp.body.data;
    size_t xl = resp.body.len, pos = 0, s, e;
    while (io_xml_element(x, xl, "Contents", pos, &s, &e)) {
      size_t p = s, p2 = s, p3 = s;
      if (io_xml_next(x, e, "Key", &p, &key) < 0 ||
          io_xml_next(x, e, "Size", &p2, &size) < 0 ||
          io_xml_next(x, e, "LastModified", &p3, &mtime) < 0) {
        rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
        goto cleanup;
      }
      pos = e;
      *out_any = 1;
      if (out != NULL && key != NULL && strlen(key) > plen &&
          strncmp(key, prefix, plen) == 0) {
        char *name = floe_strdup(key + plen);
        int64_t ms = mtime ? s3_parse_iso8601_ms(mtime) : 0;
        if (name == NULL ||
            add_entry(out, &cap, name, 0,
                      size ? strtoull(size, NULL, 10) : 0, ms > 0 ? ms : 0) < 0) {
          floe_free(name);
          rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
          goto cleanup;
        }
      }
      floe_free(key);
      floe_free(size);
      floe_free(mtime);
      key = size = mtime = NULL;
    }
    pos = 0;
    while (io_xml_element(x, xl, "CommonPrefixes", pos, &s, &e)) {
      size_t p = s;
      if (io_xml_next(x, e, "Prefix", &p, &key) < 0) {
        rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
        goto cleanup;
      }
      pos = e;
      *out_any = 1;
      if (out != NULL && key != NULL && strlen(key) > plen + 1) {
        size_t kl = strlen(key);
        char *name = floe_strndup(key + plen, kl - plen - 1);
        if (name == NULL || add_entry(out, &cap, name, 1, 0, 0) < 0) {
          floe_free(name);
          rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
          goto cleanup;
        }
      }
      floe_free(key);
      key = NULL;
    }
    floe_free(token);
    token = NULL;
    char *truncated = NULL;
    size_t tp = 0, np = 0;
    if (io_xml_next(x, xl, "IsTruncated", &tp, &truncated) < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    int more = truncated != NULL && strcmp(truncated, "true") == 0;
    floe_free(truncated);
    if (!more || max_keys == 1) break;
    if (io_xml_next(x, xl, "NextContinuationToken", &np, &token) < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    if (token == NULL) break;
  }
cleanup:
  floe_free(token);
  floe_free(key);
  floe_free(size);
  floe_free(mtime);
  floe_buf_free(&q);
  io_http_response_reset(&resp);
  return rc;
}

static char *dir_prefix(const char *key) {
  size_t kl = strlen(key);
  char *p = floe_malloc(kl + 2);
  if (p == NULL) return NULL;
  memcpy(p, key, kl);
  if (kl > 0) p[kl++] = '/';
  p[kl] = '\0';
  return p;
}

static int s3_list(floe_io *base, const char *dir, floe_io_listing *out,
                   floe_error *err) {
  s3_loc loc;
  char *prefix = NULL;
  int any = 0;
  int rc = parse_loc(dir, &loc, err);
  if (rc < 0) goto cleanup;
  prefix = dir_prefix(loc.key);
  if (prefix == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  FLOE_TRY(list_prefix((s3_io *)base, loc.bucket, prefix,
                       ((s3_io *)base)->list_max_keys, out, &any,
                       err));
  if (!any && loc.key[0] != '\0') {
    rc = floe_error_set(err, FLOE_ENOTFOUND, "s3 LIST bucket=%s prefix=%s: "
                        "nothing there", loc.bucket, prefix);
    goto cleanup;
  }
  if (out->count > 1) qsort(out->entries, out->count, sizeof *out->entries,
                            cmp_entry);
cleanup:
  if (rc < 0) {
    floe_io_listing_reset(out);
    floe_error_prefix(err, "list %s", dir);
  }
  floe_free(prefix);
  loc_reset(&loc);
  return rc;
}

static int s3_exists(floe_io *base, const char *path, int *out_exists,
                     int *out_is_dir, floe_error *err) {
  s3_io *io = (s3_io *)base;
  s3_loc loc;
  io_http_response resp = {0};
  char *prefix = NULL;
  int found = 0, any = 0;
  *out_exists = 0;
  *out_is_dir = 0;
  int rc = parse_loc(path, &loc, err);
  if (rc < 0) goto cleanup;
  if (loc.key[0] != '\0') {
    FLOE_TRY(head_object(io, loc.bucket, loc.key, &found, &resp, err));
    if (found) {
      *out_exists = 1;
      goto cleanup;
    }
  }
  prefix = dir_prefix(loc.key);
  if (prefix == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  rc = list_prefix(io, loc.bucket, prefix, 1, NULL, &any, err);
  if (rc == FLOE_ENOTFOUND) { /* NoSuchBucket */
    rc = FLOE_OK;
    goto cleanup;
  }
  if (rc < 0) goto cleanup;
  if (any || loc.key[0] == '\0') *out_exists = *out_is_dir = 1;
cleanup:
  io_http_response_reset(&resp);
  floe_free(prefix);
  loc_reset(&loc);
  if (rc < 0) floe_error_prefix(err, "exists %s", path);
  return rc;
}

/* ---- batched deletes ------------------------------------------------------ */

/* One DeleteObjects call for paths[0..n) (all in `bucket`). */
static int delete_batch(s3_io *io, const char *bucket, const s3_loc *locs,
                        size_t n, size_t *out_failed, floe_error *err) {
  int rc = FLOE_OK;
  floe_buf body = FLOE_BUF_INIT;
  io_http_response resp = {0};
  char *key = NULL, *code = NULL, *message = NULL;
  *out_failed = n;
  int brc = floe_buf_append_str(&body, "<Delete><Quiet>true</Quiet>");
  for (size_t i = 0; i < n && brc == 0; i++) {
    brc |= floe_buf_append_str(&body, "<Object><Key>");
    brc |= io_xml_escape(&body, locs[i].key);
    brc |= floe_buf_append_str(&body, "</Key></Object>");
  }
  brc |= floe_buf_append_str(&body, "</Delete>");
  if (brc != 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  s3_call c = {0};
  c.method = "POST";
  c.bucket = bucket;
  c.query = "delete=";
  c.body = body.data;
  c.body_len = body.len;
  c.content_md5 = 1;
  FLOE_TRY(s3_request(io, &c, &resp, NULL, err));
  if (resp.status / 100 != 2) {
    rc = status_error(&c, &resp, err);
    *out_failed = 0;
    goto cleanup;
  }
  const char *x = (const char *)resp.body.data;
  size_t xl = resp.body.len, s, e;
  if (x != NULL && io_xml_element(x, xl, "Error", 0, &s, &e)) {
    size_t p1 = s, p2 = s, p3 = s;
    if (io_xml_next(x, e, "Key", &p1, &key) < 0 ||
        io_xml_next(x, e, "Code", &p2, &code) < 0 ||
        io_xml_next(x, e, "Message", &p3, &message) < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    size_t failed = 0;
    for (size_t i = 0; key != NULL && i < n; i++)
      if (strcmp(locs[i].key, key) == 0) {
        failed = i;
        break;
      }
    *out_failed = failed;
    rc = floe_error_set(err, FLOE_EIO, "s3 DeleteObjects bucket=%s key=%s: "
                        "%s%s%s", bucket, key ? key : "?", code ? code : "",
                        message ? ": " : "", message ? message : "");
  }
cleanup:
  floe_free(key);
  floe_free(code);
  floe_free(message);
  floe_buf_free(&body);
  io_http_response_reset(&resp);
  return rc;
}

static int s3_remove_many(floe_io *base, const char *const *paths,
                          size_t count, size_t *out_done, floe_error *err) {
  s3_io *io = (s3_io *)base;
  int rc = FLOE_OK;
  size_t done = 0, n = 0;
  s3_loc *locs = floe_calloc(DELETE_BATCH, sizeof *locs);
  if (locs == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  while (done < count) {
    n = 0;
    while (done + n < count && n < DELETE_BATCH) {
      s3_loc loc;
      rc = parse_loc(paths[done + n], &loc, err);
      if (rc < 0) goto cleanup;
      if (n > 0 && strcmp(loc.bucket, locs[0].bucket) != 0) {
        loc_reset(&loc);
        break;
      }
      locs[n++] = loc;
    }
    size_t failed = 0;
    rc = delete_batch(io, locs[0].bucket, locs, n, &failed, err);
    if (rc < 0) {
      done += failed;
      goto cleanup;
    }
    done += n;
    for (size_t i = 0; i < n; i++) loc_reset(&locs[i]);
    n = 0;
  }
cleanup:
  for (size_t i = 0; i < n; i++) loc_reset(&locs[i]);
  floe_free(locs);
  *out_done = done;
  return rc;
}

/* ---- open / free ---------------------------------------------------------- */

static void s3_destroy(floe_io *base) {
  s3_io *io = (s3_io *)base;
  if (io->curl != NULL) curl_easy_cleanup(io->curl);
  s3_auth_free(io->auth);
  pthread_mutex_destroy(&io->lock);
  floe_free(io->region);
  floe_free(io->endpoint);
  floe_free(io);
}

static const floe_io_ops s3_ops = {
    .name = "s3",
    .open_read = s3_open_read,
    .create = s3_create,
    .write_atomic = s3_write_atomic,
    .rename_noreplace = s3_rename_noreplace,
    .remove = s3_remove,
    .rmdir = s3_rmdir,
    .exists = s3_exists,
    .mkdirs = s3_mkdirs,
    .list = s3_list,
    .set_fault = NULL,
    .destroy = s3_destroy,
    .fault_calls = NULL,
    .remove_many = s3_remove_many,
};

int floe_io_s3_open_vended(const floe_io *base, const char *endpoint,
                           const char *region, int path_style,
                           const floe_io_s3_credentials *creds,
                           floe_io_s3_refresh_fn refresh, void *ctx,
                           floe_io **out, floe_error *err) {
  floe_io_s3_options o;
  memset(&o, 0, sizeof o);
  *out = NULL;
  if (creds == NULL || creds->access_key_id == NULL ||
      creds->secret_access_key == NULL)
    return floe_error_set(err, FLOE_EINVAL, "s3: vended credentials without "
                          "an access key id or secret");
  const s3_io *b = base != NULL && base->ops == &s3_ops ? (const s3_io *)base
                                                        : NULL;
  if (b != NULL) {
    o.region = b->region;
    o.endpoint = b->endpoint;
    o.addressing = b->path_style ? FLOE_S3_ADDRESSING_PATH
                                 : FLOE_S3_ADDRESSING_VIRTUAL;
    o.multipart_threshold = b->threshold;
    o.part_size = b->part_size;
    o.read_ahead = b->read_ahead;
    o.max_attempts = b->max_attempts;
    o.backoff_base_ms = b->backoff_base_ms;
    o.backoff_max_ms = b->backoff_max_ms;
    o.no_conditional_writes = !b->conditional;
    o.list_max_keys = b->list_max_keys;
    o.connect_timeout_ms = b->connect_timeout_ms;
    o.request_timeout_ms = b->request_timeout_ms;
  }
  if (endpoint != NULL && endpoint[0] != '\0') {
    o.endpoint = endpoint;
    if (b == NULL || strcmp(endpoint, b->endpoint) != 0)
      o.addressing = FLOE_S3_ADDRESSING_AUTO;
  }
  if (region != NULL && region[0] != '\0') o.region = region;
  if (path_style == 0) o.addressing = FLOE_S3_ADDRESSING_VIRTUAL;
  if (path_style == 1) o.addressing = FLOE_S3_ADDRESSING_PATH;
  /* The chain's sources are never consulted: the vended keys replace them. */
  o.access_key_id = creds->access_key_id;
  o.secret_access_key = creds->secret_access_key;
  floe_io *io = NULL;
  int rc = floe_io_s3_open(&o, &io, err);
  if (rc == FLOE_OK) rc = s3_auth_set_vended(((s3_io *)io)->auth, creds, err);
  if (rc == FLOE_OK) s3_auth_set_refresh(((s3_io *)io)->auth, refresh, ctx);
  if (rc < 0) {
    floe_io_free(io);
    return rc;
  }
  *out = io;
  return FLOE_OK;
}

int floe_io_s3_set_credentials(floe_io *base, const floe_io_s3_credentials *creds,
                               floe_error *err) {
  if (base == NULL || base->ops != &s3_ops)
    return floe_error_set(err, FLOE_EINVAL, "s3: not an S3 io");
  return s3_auth_set_vended(((s3_io *)base)->auth, creds, err);
}

static const char *first_env(const char *a, const char *b) {
  const char *v = getenv(a);
  if (v != NULL && v[0] != '\0') return v;
  v = b ? getenv(b) : NULL;
  return v != NULL && v[0] != '\0' ? v : NULL;
}

int floe_io_s3_open(const floe_io_s3_options *options, floe_io **out,
                    floe_error *err) {
  static const floe_io_s3_options defaults = {0};
  const floe_io_s3_options *o = options ? options : &defaults;
  int rc = FLOE_OK;
  char *profile_region = NULL;
  *out = NULL;
  rc = io_http_global_init(err);
  if (rc < 0) return rc;
  s3_io *io = floe_calloc(1, sizeof *io);
  if (io == NULL) return floe_error_set(err, FLOE_ENOMEM, "s3: out of memory");
  pthread_mutex_init(&io->lock, NULL);
  io->base.ops = &s3_ops;
  const char *region = o->region;
  if (region == NULL) region = first_env("AWS_REGION", "AWS_DEFAULT_REGION");
  if (region == NULL) {
    if (s3_profile_value(o->profile, "region", &profile_region) < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "s3: out of memory");
      goto cleanup;
    }
    region = profile_region;
  }
  if (region == NULL) region = "us-east-1";
  const char *endpoint = o->endpoint;
  if (endpoint == NULL) endpoint = first_env("AWS_ENDPOINT_URL_S3",
                                             "AWS_ENDPOINT_URL");
  floe_buf ep = FLOE_BUF_INIT;
  if (endpoint != NULL) {
    if (strncmp(endpoint, "http://", 7) != 0 &&
        strncmp(endpoint, "https://", 8) != 0) {
      rc = floe_error_set(err, FLOE_EINVAL, "s3: endpoint %s: expected "
                          "http:// or https://", endpoint);
      goto cleanup;
    }
    rc = floe_buf_append_str(&ep, endpoint);
  } else {
    rc = floe_buf_appendf(&ep, "https://s3.%s.amazonaws.com", region);
  }
  while (rc == 0 && ep.len > 0 && ep.data[ep.len - 1] == '/') ep.len--;
  if (rc == 0) rc = floe_buf_terminate(&ep);
  io->endpoint = (char *)floe_buf_detach(&ep, NULL);
  io->region = floe_strdup(region);
  io->curl = curl_easy_init();
  if (rc != 0 || io->endpoint == NULL || io->region == NULL ||
      io->curl == NULL) {
    floe_buf_free(&ep);
    rc = floe_error_set(err, FLOE_ENOMEM, "s3: out of memory");
    goto cleanup;
  }
  io->path_style = o->addressing == FLOE_S3_ADDRESSING_PATH ||
                   (o->addressing == FLOE_S3_ADDRESSING_AUTO && endpoint != NULL);
  snprintf(io->sigv4, sizeof io->sigv4, "aws:amz:%s:s3", io->region);
  io->part_size = o->part_size ? o->part_size : DEFAULT_PART_SIZE;
  io->threshold = o->multipart_threshold ? o->multipart_threshold
                                         : DEFAULT_THRESHOLD;
  if (io->threshold < io->part_size) io->threshold = io->part_size;
  io->read_ahead = o->read_ahead ? o->read_ahead : DEFAULT_READ_AHEAD;
  io->max_attempts = o->max_attempts > 0 ? o->max_attempts : 6;
  io->backoff_base_ms = o->backoff_base_ms > 0 ? o->backoff_base_ms : 100;
  io->backoff_max_ms = o->backoff_max_ms > 0 ? o->backoff_max_ms : 5000;
  io->conditional = !o->no_conditional_writes;
  io->list_max_keys = o->list_max_keys > 1 && o->list_max_keys <= 1000
                          ? o->list_max_keys
                          : 1000;
  io->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms
                                                     : 10000;
  io->request_timeout_ms = o->request_timeout_ms > 0 ? o->request_timeout_ms
                                                     : 300000;
  io->rng = (unsigned)time(NULL) ^ (unsigned)getpid() ^
            (unsigned)(uintptr_t)io;
  FLOE_TRY(s3_auth_open(o, io->region, &io->auth, err));
  *out = &io->base;
  io = NULL;
cleanup:
  floe_free(profile_region);
  if (io != NULL) s3_destroy(&io->base);
  return rc;
}
