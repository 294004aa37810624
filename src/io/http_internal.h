/*
 * io/http_internal.h: one HTTP exchange for the object-store
 * implementations (S3 now; GCS and Azure would use the same helper).
 *
 * A request is performed exactly once; retrying is the caller's decision,
 * because only the store's protocol knows which answers are transient (S3's
 * RequestTimeout is an HTTP 400). The helper also carries the small XML
 * reader those protocols need for their answers.
 */
#ifndef FLOE_IO_HTTP_INTERNAL_H
#define FLOE_IO_HTTP_INTERNAL_H

#include <curl/curl.h>
#include <stdint.h>

#include "floe/buffer.h"
#include "floe/common.h"

typedef struct io_http_request {
  const char *method; /* "GET", "HEAD", "PUT", "POST", "DELETE" */
  const char *url;
  const struct curl_slist *headers;
  const void *body; /* PUT/POST body (may be NULL with body_len 0) */
  size_t body_len;
  const char *aws_sigv4; /* CURLOPT_AWS_SIGV4 provider string, or NULL */
  const char *userpwd;   /* "key:secret" for signing; never logged */
  /* GET into a caller buffer of dest_cap bytes instead of resp->body. */
  void *dest;
  size_t dest_cap;
  long connect_timeout_ms;
  long timeout_ms;
} io_http_request;

typedef struct io_http_response {
  long status;   /* 0 when no response arrived */
  floe_buf body; /* the body (when no dest); freed by io_http_response_reset */
  size_t dest_len;
  char etag[96];          /* the ETag header without quotes, or "" */
  int64_t content_length; /* -1 when absent */
  CURLcode curl_code;
  char curl_error[CURL_ERROR_SIZE];
} io_http_response;

/* Makes sure curl_global_init ran. Errors: FLOE_ENETWORK. */
int io_http_global_init(floe_error *err);

/* Performs one request with `curl` (reset first; its connection cache is
 * kept). FLOE_OK when a response arrived, whatever its status;
 * FLOE_ENETWORK when the transfer failed (resp->curl_code and curl_error
 * say why; err names the method and the url's host and path only);
 * FLOE_ENOMEM. The response is reset first. */
int io_http_perform(CURL *curl, const io_http_request *req,
                    io_http_response *resp, floe_error *err);

void io_http_response_reset(io_http_response *resp);

/* The text of the next <tag>...</tag> at or after *pos in xml[0..len),
 * with XML entities decoded, into a new string (*out, freed by the caller;
 * NULL when there is none). *pos moves past the element. Returns
 * FLOE_ENOMEM or FLOE_OK. Enough for the flat answers of S3's API. */
int io_xml_next(const char *xml, size_t len, const char *tag, size_t *pos,
                char **out);

/* Span [*out_start, *out_end) of the next <tag>...</tag> element's
 * content at or after *pos; returns 0 when there is none. */
int io_xml_element(const char *xml, size_t len, const char *tag, size_t pos,
                   size_t *out_start, size_t *out_end);

/* Appends `s` percent-encoded as AWS SigV4 asks (RFC 3986 unreserved
 * characters kept; '/' kept when keep_slash). */
int io_uri_encode(floe_buf *out, const char *s, int keep_slash);

/* Appends `s` with XML special characters escaped. */
int io_xml_escape(floe_buf *out, const char *s);

#endif
