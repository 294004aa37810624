/*
 * io/http: one HTTP exchange for the object stores, over libcurl.
 *
 * Requests are signed by libcurl itself (CURLOPT_AWS_SIGV4) rather than by
 * hand-written code. Bodies are always in memory: S3 parts are bounded by
 * the part size, so sending from a buffer costs nothing extra and lets
 * libcurl hash the payload for the signature. Error messages name the
 * method and the URL without its query string; the user name and password
 * given for signing never reach a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/http_internal.h"

static int curl_ready;

int io_http_global_init(floe_error *err) {
  if (curl_ready) return FLOE_OK;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return floe_error_set(err, FLOE_ENETWORK, "libcurl failed to start");
  curl_ready = 1;
  return FLOE_OK;
}

void io_http_response_reset(io_http_response *resp) {
  floe_buf_free(&resp->body);
  floe_buf_init(&resp->body);
  resp->status = 0;
  resp->dest_len = 0;
  resp->etag[0] = '\0';
  resp->content_length = -1;
  resp->curl_code = CURLE_OK;
  resp->curl_error[0] = '\0';
}

typedef struct sink {
  const io_http_request *req;
  io_http_response *resp;
  int oom;
  int overflow;
} sink;

static size_t on_body(char *data, size_t size, size_t n, void *ctx) {
  sink *s = ctx;
  size_t bytes = size * n;
  if (s->req->dest != NULL) {
    if (bytes > s->req->dest_cap - s->resp->dest_len) {
      /* An answer longer than asked for (a store ignoring Range) is an
       * error body or a misbehaving server; keep the error text. */
      if (floe_buf_append(&s->resp->body, data, bytes) != 0) s->oom = 1;
      s->overflow = 1;
      return bytes;
    }
    memcpy((char *)s->req->dest + s->resp->dest_len, data, bytes);
    s->resp->dest_len += bytes;
    return bytes;
  }
  if (floe_buf_append(&s->resp->body, data, bytes) != 0) {
    s->oom = 1;
    return 0;
  }
  return bytes;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx) {
  sink *s = ctx;
  size_t bytes = size * n;
  size_t len = bytes;
  while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == '\n')) len--;
  if (len > 5 && strncasecmp(data, "etag:", 5) == 0) {
    const char *v = data + 5;
    size_t vl = len - 5;
    while (vl > 0 && (*v == ' ' || *v == '"')) v++, vl--;
    while (vl > 0 && (v[vl - 1] == '"' || v[vl - 1] == ' ')) vl--;
    if (vl >= sizeof s->resp->etag) vl = sizeof s->resp->etag - 1;
    memcpy(s->resp->etag, v, vl);
    s->resp->etag[vl] = '\0';
  } else if (len > 15 && strncasecmp(data, "content-length:", 15) == 0) {
    char num[32];
    size_t vl = len - 15;
    if (vl >= sizeof num) vl = sizeof num - 1;
    memcpy(num, data + 15, vl);
    num[vl] = '\0';
    s->resp->content_length = strtoll(num, NULL, 10);
  } else if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
    /* A new response (after a redirect or 100-continue): forget the
     * previous one's headers. */
    s->resp->etag[0] = '\0';
    s->resp->content_length = -1;
  }
  return bytes;
}

/* The URL without its query string, for messages. */
static void url_for_message(const char *url, char *out, size_t cap) {
  size_t n = strcspn(url, "?");
  if (n >= cap) n = cap - 1;
  memcpy(out, url, n);
  out[n] = '\0';
}

int io_http_perform(CURL *curl, const io_http_request *req,
                    io_http_response *resp, floe_error *err) {
  io_http_response_reset(resp);
  sink s = {req, resp, 0, 0};
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, req->url);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   req->connect_timeout_ms > 0 ? req->connect_timeout_ms
                                               : 10000L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   req->timeout_ms > 0 ? req->timeout_ms : 300000L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, resp->curl_error);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &s);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  if (req->headers != NULL)
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, req->headers);
  if (req->aws_sigv4 != NULL && req->userpwd != NULL) {
    curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, req->aws_sigv4);
    curl_easy_setopt(curl, CURLOPT_USERPWD, req->userpwd);
  }
  const char *m = req->method;
  if (strcmp(m, "HEAD") == 0) {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (strcmp(m, "PUT") == 0 || strcmp(m, "POST") == 0) {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)req->body_len);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS,
                     req->body != NULL ? req->body : "");
    if (strcmp(m, "PUT") == 0) curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, m);
  } else if (strcmp(m, "GET") != 0) {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, m);
  }
  CURLcode cc = curl_easy_perform(curl);
  if (s.oom)
    return floe_error_set(err, FLOE_ENOMEM, "%s: out of memory for the "
                          "response", m);
  char shown[512];
  url_for_message(req->url, shown, sizeof shown);
  if (cc != CURLE_OK) {
    resp->curl_code = cc;
    if (resp->curl_error[0] == '\0')
      snprintf(resp->curl_error, sizeof resp->curl_error, "%s",
               curl_easy_strerror(cc));
    return floe_error_set(err, FLOE_ENETWORK, "%s %s: %s", m, shown,
                          resp->curl_error);
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
  if (s.overflow && resp->status / 100 == 2) {
    resp->status = 0;
    return floe_error_set(err, FLOE_ENETWORK, "%s %s: the server sent more "
                          "bytes than the %zu asked for", m, shown,
                          req->dest_cap);
  }
  return FLOE_OK;
}

/* ---- XML ---------------------------------------------------------------- */

int io_xml_element(const char *xml, size_t len, const char *tag, size_t pos,
                   size_t *out_start, size_t *out_end) {
  char open[96], close[96];
  int on = snprintf(open, sizeof open, "<%s", tag);
  int cn = snprintf(close, sizeof close, "</%s>", tag);
  if (on <= 0 || cn <= 0 || (size_t)on >= sizeof open) return 0;
  while (pos < len) {
    const char *p = memmem(xml + pos, len - pos, open, (size_t)on);
    if (p == NULL) return 0;
    size_t after = (size_t)(p - xml) + (size_t)on;
    if (after >= len) return 0;
    char c = xml[after];
    if (c != '>' && c != ' ' && c != '/') { /* <Keys> is not <Key> */
      pos = after;
      continue;
    }
    const char *gt = memchr(xml + after, '>', len - after);
    if (gt == NULL) return 0;
    if (gt[-1] == '/') { /* <Tag/>: empty */
      *out_start = *out_end = (size_t)(gt - xml) + 1;
      return 1;
    }
    size_t start = (size_t)(gt - xml) + 1;
    const char *end = memmem(xml + start, len - start, close, (size_t)cn);
    if (end == NULL) return 0;
    *out_start = start;
    *out_end = (size_t)(end - xml);
    return 1;
  }
  return 0;
}

static int decode_entities(const char *s, size_t n, char **out) {
  char *d = floe_malloc(n + 1);
  if (d == NULL) return FLOE_ENOMEM;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '&') {
      d[o++] = s[i];
      continue;
    }
    const char *semi = memchr(s + i, ';', n - i);
    size_t el = semi ? (size_t)(semi - (s + i)) + 1 : 0;
    if (el == 5 && strncmp(s + i, "&amp;", 5) == 0) d[o++] = '&';
    else if (el == 4 && strncmp(s + i, "&lt;", 4) == 0) d[o++] = '<';
    else if (el == 4 && strncmp(s + i, "&gt;", 4) == 0) d[o++] = '>';
    else if (el == 6 && strncmp(s + i, "&quot;", 6) == 0) d[o++] = '"';
    else if (el == 6 && strncmp(s + i, "&apos;", 6) == 0) d[o++] = '\'';
    else if (el > 3 && s[i + 1] == '#') {
      unsigned long cp = s[i + 2] == 'x' ? strtoul(s + i + 3, NULL, 16)
                                         : strtoul(s + i + 2, NULL, 10);
      /* UTF-8 encode; an encoding never exceeds the entity's length. */
      if (cp < 0x80) d[o++] = (char)cp;
      else if (cp < 0x800) {
        d[o++] = (char)(0xc0 | (cp >> 6));
        d[o++] = (char)(0x80 | (cp & 0x3f));
      } else if (cp < 0x10000) {
        d[o++] = (char)(0xe0 | (cp >> 12));
        d[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        d[o++] = (char)(0x80 | (cp & 0x3f));
      } else {
        d[o++] = (char)(0xf0 | (cp >> 18));
        d[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        d[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        d[o++] = (char)(0x80 | (cp & 0x3f));
      }
    } else {
      d[o++] = '&';
      continue;
    }
    i += el - 1;
  }
  d[o] = '\0';
  *out = d;
  return FLOE_OK;
}

int io_xml_next(const char *xml, size_t len, const char *tag, size_t *pos,
                char **out) {
  size_t start, end;
  *out = NULL;
  if (!io_xml_element(xml, len, tag, *pos, &start, &end)) return FLOE_OK;
  *pos = end;
  return decode_entities(xml + start, end - start, out);
}

int io_uri_encode(floe_buf *out, const char *s, int keep_slash) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    unsigned char c = *p;
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
        c == '~' || (keep_slash && c == '/')) {
      if (floe_buf_append_byte(out, c) != 0) return FLOE_ENOMEM;
    } else {
      char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
      if (floe_buf_append(out, esc, 3) != 0) return FLOE_ENOMEM;
    }
  }
  return FLOE_OK;
}

int io_xml_escape(floe_buf *out, const char *s) {
  int rc = 0;
  for (const char *p = s; *p && rc == 0; p++) {
    switch (*p) {
      case '&': rc = floe_buf_append_str(out, "&amp;"); break;
      case '<': rc = floe_buf_append_str(out, "&lt;"); break;
      case '>': rc = floe_buf_append_str(out, "&gt;"); break;
      case '"': rc = floe_buf_append_str(out, "&quot;"); break;
      case '\'': rc = floe_buf_append_str(out, "&apos;"); break;
      default: rc = floe_buf_append_byte(out, (uint8_t)*p);
    }
  }
  return rc != 0 ? FLOE_ENOMEM : FLOE_OK;
}
