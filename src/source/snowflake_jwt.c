/*
 * source/snowflake_jwt: key-pair authentication for the SQL API.
 *
 * Snowflake's key-pair authentication ("Key-pair authentication and
 * key-pair rotation", and "Authenticating to the server" of the SQL API
 * docs) signs a JWT with the user's RSA private key: RS256 (RFC 7518
 * section 3.3) over base64url(header) "." base64url(claims), where
 * iss = ACCOUNT.USER.SHA256:<fingerprint>, sub = ACCOUNT.USER, iat = now and
 * exp at most one hour later. The fingerprint is the standard base64 of the
 * SHA-256 of the public key in DER SubjectPublicKeyInfo form, the value
 * DESCRIBE USER shows as RSA_PUBLIC_KEY_FP. Signing uses OpenSSL's EVP
 * interface. The key and its passphrase never enter an error message.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "source/snowflake_internal.h"

struct floe_sf_key {
  EVP_PKEY *pkey;
  char fingerprint[64]; /* "SHA256:" + 44 base64 characters */
};

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int base64_with(floe_buf *out, const void *bytes, size_t len,
                       const char *alphabet, bool pad) {
  const uint8_t *p = bytes;
  int rc = floe_buf_reserve(out, (len + 2) / 3 * 4);
  if (rc < 0) return rc;
  size_t i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    floe_buf_put_byte(out, (uint8_t)alphabet[v >> 18]);
    floe_buf_put_byte(out, (uint8_t)alphabet[(v >> 12) & 63]);
    floe_buf_put_byte(out, (uint8_t)alphabet[(v >> 6) & 63]);
    floe_buf_put_byte(out, (uint8_t)alphabet[v & 63]);
  }
  size_t rest = len - i;
  if (rest > 0) {
    uint32_t v = (uint32_t)p[i] << 16 | (rest > 1 ? (uint32_t)p[i + 1] << 8 : 0);
    floe_buf_put_byte(out, (uint8_t)alphabet[v >> 18]);
    floe_buf_put_byte(out, (uint8_t)alphabet[(v >> 12) & 63]);
    if (rest > 1) floe_buf_put_byte(out, (uint8_t)alphabet[(v >> 6) & 63]);
    if (pad) {
      if (rest == 1) floe_buf_put_byte(out, '=');
      floe_buf_put_byte(out, '=');
    }
  }
  return FLOE_OK;
}

int floe_sf_base64url(floe_buf *out, const void *bytes, size_t len) {
  return base64_with(out, bytes, len, b64_url, false);
}

int floe_sf_base64(floe_buf *out, const void *bytes, size_t len) {
  return base64_with(out, bytes, len, b64_std, true);
}

static int compute_fingerprint(floe_sf_key *key, floe_error *err) {
  unsigned char *der = NULL;
  int der_len = i2d_PUBKEY(key->pkey, &der);
  if (der_len <= 0)
    return floe_error_set(err, FLOE_EINVAL,
                          "private key: cannot derive its public key");
  unsigned char digest[SHA256_DIGEST_LENGTH];
  unsigned int digest_len = 0;
  int ok = EVP_Digest(der, (size_t)der_len, digest, &digest_len, EVP_sha256(),
                      NULL);
  OPENSSL_free(der);
  if (!ok) return floe_error_set(err, FLOE_EIO, "private key: SHA-256 failed");
  floe_buf b64 = FLOE_BUF_INIT;
  if (floe_sf_base64(&b64, digest, digest_len) < 0) {
    floe_buf_free(&b64);
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  }
  snprintf(key->fingerprint, sizeof key->fingerprint, "SHA256:%.*s",
           (int)b64.len, (const char *)b64.data);
  floe_buf_free(&b64);
  return FLOE_OK;
}

/* PEM password callback: hands OpenSSL the passphrase (or none). */
static int passphrase_cb(char *buf, int size, int rwflag, void *u) {
  (void)rwflag;
  const char *pass = u;
  if (pass == NULL) return 0;
  size_t len = strlen(pass);
  if (len > (size_t)size) return 0;
  memcpy(buf, pass, len);
  return (int)len;
}

int floe_sf_key_from_pem(floe_sf_key **out, const void *pem, size_t len,
                         const char *passphrase, floe_error *err) {
  *out = NULL;
  if (len > INT32_MAX)
    return floe_error_set(err, FLOE_EINVAL, "private key: PEM too large");
  BIO *bio = BIO_new_mem_buf(pem, (int)len);
  if (bio == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, passphrase_cb,
                                           (void *)passphrase);
  BIO_free(bio);
  unsigned long ossl = ERR_peek_last_error();
  ERR_clear_error();
  if (pkey == NULL) {
    /* OpenSSL's reason string names no secret ("bad decrypt"). */
    char reason[128] = "";
    if (ossl != 0) ERR_error_string_n(ossl, reason, sizeof reason);
    return floe_error_set(err, FLOE_EINVAL,
                          "not a readable PEM private key%s%s%s",
                          passphrase == NULL
                              ? " (no passphrase given; is it encrypted?)"
                              : " (wrong passphrase?)",
                          reason[0] ? ": " : "", reason);
  }
  if (EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA) {
    EVP_PKEY_free(pkey);
    return floe_error_set(err, FLOE_EINVAL,
                          "private key is not RSA (Snowflake key-pair "
                          "authentication needs an RSA key)");
  }
  floe_sf_key *key = floe_calloc(1, sizeof *key);
  if (key == NULL) {
    EVP_PKEY_free(pkey);
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  }
  key->pkey = pkey;
  int rc = compute_fingerprint(key, err);
  if (rc < 0) {
    floe_sf_key_free(key);
    return rc;
  }
  *out = key;
  return FLOE_OK;
}

int floe_sf_key_load(floe_sf_key **out, const char *pem_path,
                     const char *passphrase, floe_error *err) {
  *out = NULL;
  FILE *f = fopen(pem_path, "rb");
  if (f == NULL)
    return floe_error_errno(err, errno, "private key file '%s'", pem_path);
  floe_buf pem = FLOE_BUF_INIT;
  int rc = FLOE_OK;
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (pem.len + n > (1u << 20)) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "private key file '%s': larger than 1 MiB", pem_path);
      break;
    }
    if (floe_buf_append(&pem, chunk, n) < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      break;
    }
  }
  if (rc == FLOE_OK && ferror(f))
    rc = floe_error_errno(err, errno, "private key file '%s'", pem_path);
  fclose(f);
  if (rc == FLOE_OK) {
    rc = floe_sf_key_from_pem(out, pem.data, pem.len, passphrase, err);
    if (rc < 0) floe_error_prefix(err, "private key file '%s'", pem_path);
  }
  /* The PEM text may be an unencrypted key: wipe it. */
  if (pem.data != NULL) OPENSSL_cleanse(pem.data, pem.cap);
  floe_buf_free(&pem);
  return rc;
}

void floe_sf_key_free(floe_sf_key *key) {
  if (key == NULL) return;
  EVP_PKEY_free(key->pkey);
  floe_free(key);
}

const char *floe_sf_key_fingerprint(const floe_sf_key *key) {
  return key->fingerprint;
}

void floe_sf_jwt_account(const char *account, char *out, size_t out_size) {
  if (out_size == 0) return;
  size_t len = strlen(account);
  /* "Generate a JWT": a locator with region/cloud segments keeps only the
   * locator; global (replication) URLs keep the part before '-'. */
  if (strstr(account, ".global") != NULL) {
    const char *dash = strchr(account, '-');
    if (dash != NULL) len = (size_t)(dash - account);
  } else {
    const char *dot = strchr(account, '.');
    if (dot != NULL) len = (size_t)(dot - account);
  }
  if (len >= out_size) len = out_size - 1;
  for (size_t i = 0; i < len; i++)
    out[i] = (char)toupper((unsigned char)account[i]);
  out[len] = '\0';
}

/* Appends s as a JSON string (quotes and escapes). */
static int append_json_string(floe_buf *b, const char *s) {
  int rc = floe_buf_append_byte(b, '"');
  for (const unsigned char *p = (const unsigned char *)s; rc == FLOE_OK && *p; p++) {
    if (*p == '"' || *p == '\\')
      rc = floe_buf_appendf(b, "\\%c", *p);
    else if (*p < 0x20)
      rc = floe_buf_appendf(b, "\\u%04x", *p);
    else
      rc = floe_buf_append_byte(b, *p);
  }
  if (rc == FLOE_OK) rc = floe_buf_append_byte(b, '"');
  return rc;
}

int floe_sf_jwt_make(const floe_sf_key *key, const char *account,
                     const char *user, int64_t now_s, int64_t lifetime_s,
                     char **out, floe_error *err) {
  int rc = FLOE_OK;
  floe_buf claims = FLOE_BUF_INIT, token = FLOE_BUF_INIT;
  EVP_MD_CTX *md = NULL;
  unsigned char *sig = NULL;
  *out = NULL;
  if (account == NULL || *account == '\0' || user == NULL || *user == '\0')
    return floe_error_set(err, FLOE_EINVAL,
                          "key-pair JWT: account and user are required");
  char acct[256], usr[256], qualified[520];
  floe_sf_jwt_account(account, acct, sizeof acct);
  size_t ulen = strlen(user);
  if (ulen >= sizeof usr) ulen = sizeof usr - 1;
  for (size_t i = 0; i < ulen; i++) usr[i] = (char)toupper((unsigned char)user[i]);
  usr[ulen] = '\0';
  snprintf(qualified, sizeof qualified, "%s.%s", acct, usr);
  char iss[600];
  snprintf(iss, sizeof iss, "%s.%s", qualified, key->fingerprint);

  static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
  FLOE_TRY(floe_buf_append_str(&claims, "{\"iss\":"));
  FLOE_TRY(append_json_string(&claims, iss));
  FLOE_TRY(floe_buf_append_str(&claims, ",\"sub\":"));
  FLOE_TRY(append_json_string(&claims, qualified));
  FLOE_TRY(floe_buf_appendf(&claims, ",\"iat\":%" PRId64 ",\"exp\":%" PRId64 "}",
                            now_s, now_s + lifetime_s));
  FLOE_TRY(floe_sf_base64url(&token, header, sizeof header - 1));
  FLOE_TRY(floe_buf_append_byte(&token, '.'));
  FLOE_TRY(floe_sf_base64url(&token, claims.data, claims.len));

  md = EVP_MD_CTX_new();
  if (md == NULL) {
    rc = FLOE_ENOMEM;
    goto cleanup;
  }
  size_t sig_len = 0;
  if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key->pkey) != 1 ||
      EVP_DigestSign(md, NULL, &sig_len, token.data, token.len) != 1) {
    rc = floe_error_set(err, FLOE_EIO, "key-pair JWT: RS256 signing failed");
    goto cleanup;
  }
  sig = floe_malloc(sig_len);
  if (sig == NULL) {
    rc = FLOE_ENOMEM;
    goto cleanup;
  }
  if (EVP_DigestSign(md, sig, &sig_len, token.data, token.len) != 1) {
    rc = floe_error_set(err, FLOE_EIO, "key-pair JWT: RS256 signing failed");
    goto cleanup;
  }
  FLOE_TRY(floe_buf_append_byte(&token, '.'));
  FLOE_TRY(floe_sf_base64url(&token, sig, sig_len));
  FLOE_TRY(floe_buf_terminate(&token));
  *out = (char *)floe_buf_detach(&token, NULL);
cleanup:
  if (rc == FLOE_ENOMEM) floe_error_set(err, FLOE_ENOMEM, "out of memory");
  ERR_clear_error();
  EVP_MD_CTX_free(md);
  floe_free(sig);
  floe_buf_free(&claims);
  floe_buf_free(&token);
  return rc;
}
