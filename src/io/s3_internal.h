/*
 * io/s3_internal.h: what src/io/s3.c and src/io/s3_auth.c share: the
 * credential provider chain behind the S3 implementation.
 */
#ifndef FLOE_IO_S3_INTERNAL_H
#define FLOE_IO_S3_INTERNAL_H

#include <curl/curl.h>
#include <stdint.h>

#include "floe/io.h"

/* One set of credentials. Secrets live only here and in the "key:secret"
 * string handed to libcurl for signing. */
typedef struct s3_credentials {
  char *access_key_id;
  char *secret_access_key;
  char *session_token; /* NULL for long-term keys */
  int64_t expires_ms;  /* 0: does not expire */
  char source[64];     /* "config", "environment", "profile NAME", ... */
} s3_credentials;

typedef struct s3_auth s3_auth;

/* Copies what the chain needs from `o`; resolves nothing yet. */
int s3_auth_open(const floe_io_s3_options *o, const char *region,
                 s3_auth **out, floe_error *err);
void s3_auth_free(s3_auth *auth);

/* The current credentials (owned by auth), resolved on first use through
 * the chain and again when temporary ones are within five minutes of
 * expiring. `curl` is used for STS and metadata requests. Errors:
 * FLOE_EINVAL (none found: the places looked at are named),
 * FLOE_ENETWORK (STS or a metadata endpoint failed), FLOE_ENOMEM. */
int s3_auth_credentials(s3_auth *auth, CURL *curl,
                        const s3_credentials **out, floe_error *err);

/* Switches auth to vended credentials (replacing the chain); `creds` are
 * copied. Errors: FLOE_EINVAL (no key or secret), FLOE_ENOMEM. */
int s3_auth_set_vended(s3_auth *auth, const floe_io_s3_credentials *creds,
                       floe_error *err);

/* The callback asked for new vended credentials five minutes before the
 * current ones expire (NULL: none). */
void s3_auth_set_refresh(s3_auth *auth, floe_io_s3_refresh_fn refresh,
                         void *ctx);

/* Forgets cached credentials, so the next call resolves again (after an
 * ExpiredToken answer). */
void s3_auth_invalidate(s3_auth *auth);

/* A value of the shared config file's profile (e.g. "region") into *out
 * (NULL when absent), freed by the caller. */
int s3_profile_value(const char *profile, const char *key, char **out);

/* Milliseconds since the epoch of an ISO 8601 UTC time
 * ("2026-12-04T15:00:00Z", fractions ignored); -1 when malformed. */
int64_t s3_parse_iso8601_ms(const char *text);

#endif
