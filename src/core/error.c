/*
 * core/error: the caller-owned error record.
 *
 * Messages are built in place in the caller's fixed buffer, so reporting an
 * error never allocates (it must work when allocation is what failed).
 * Context is prepended as the error travels up the call stack. A message
 * is always valid UTF-8 (it may quote source values and end up in JSON
 * logs and report.json): bytes that do not begin a well-formed sequence,
 * including one cut by truncation, are replaced by '?' in place.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "floe/buffer.h"
#include "floe/common.h"

static void utf8_sanitize(char *message) {
  size_t n = strlen(message);
  for (size_t i = 0; i < n;) {
    size_t len = floe_utf8_sequence_length((const uint8_t *)message + i, n - i);
    if (len == 0) {
      message[i] = '?';
      len = 1;
    }
    i += len;
  }
}

void floe_error_init(floe_error *err) {
  if (err == NULL) return;
  err->code = FLOE_OK;
  err->message[0] = '\0';
}

int floe_error_vset(floe_error *err, int code, const char *fmt, va_list ap) {
  if (err == NULL) return code;
  err->code = code;
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  utf8_sanitize(err->message);
  return code;
}

int floe_error_set(floe_error *err, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  floe_error_vset(err, code, fmt, ap);
  va_end(ap);
  return code;
}

int floe_error_prefix(floe_error *err, const char *fmt, ...) {
  if (err == NULL) return FLOE_OK;
  char prefix[FLOE_ERROR_MESSAGE_SIZE];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  if (n < 0) return err->code;
  size_t plen = strlen(prefix);
  size_t mlen = strlen(err->message);
  size_t cap = sizeof err->message;
  /* "<prefix>: <message>", truncated at the end if it does not fit. */
  if (plen + 2 >= cap) {
    memcpy(err->message, prefix, cap - 1);
    err->message[cap - 1] = '\0';
    utf8_sanitize(err->message);
    return err->code;
  }
  size_t keep = mlen;
  if (plen + 2 + keep >= cap) keep = cap - 1 - plen - 2;
  memmove(err->message + plen + 2, err->message, keep);
  memcpy(err->message, prefix, plen);
  err->message[plen] = ':';
  err->message[plen + 1] = ' ';
  err->message[plen + 2 + keep] = '\0';
  utf8_sanitize(err->message);
  return err->code;
}

int floe_error_errno(floe_error *err, int errnum, const char *fmt, ...) {
  int code = errnum == ENOENT   ? FLOE_ENOTFOUND
             : errnum == ENOMEM ? FLOE_ENOMEM
             : errnum == EEXIST ? FLOE_EEXISTS
                                : FLOE_EIO;
  if (err == NULL) return code;
  char what[FLOE_ERROR_MESSAGE_SIZE / 2];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return floe_error_set(err, code, "%s: %s", what, strerror(errnum));
}

const char *floe_error_code_name(int code) {
  switch (code) {
    case FLOE_OK: return "OK";
    case FLOE_ENOMEM: return "ENOMEM";
    case FLOE_EINVAL: return "EINVAL";
    case FLOE_EIO: return "EIO";
    case FLOE_EFORMAT: return "EFORMAT";
    case FLOE_EUNSUPPORTED: return "EUNSUPPORTED";
    case FLOE_ENOTFOUND: return "ENOTFOUND";
    case FLOE_ECONFLICT: return "ECONFLICT";
    case FLOE_ESOURCE: return "ESOURCE";
    case FLOE_ERANGE: return "ERANGE";
    case FLOE_EEXISTS: return "EEXISTS";
    case FLOE_ECANCELED: return "ECANCELED";
    case FLOE_EVALIDATE: return "EVALIDATE";
    case FLOE_ENETWORK: return "ENETWORK";
    case FLOE_ECHECK: return "ECHECK";
    default: return "EUNKNOWN";
  }
}
