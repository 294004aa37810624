/*
 * tests/unit/test_snowflake_jwt: key-pair JWTs for the SQL API.
 *
 * A fresh RSA key is generated with the openssl command at test time; the
 * expected fingerprint comes from the command Snowflake's key-pair page
 * gives (openssl pkey -pubout -outform DER | openssl dgst -sha256 -binary |
 * openssl enc -base64), and the signature is verified with OpenSSL against
 * the public key the openssl command wrote, so floe is checked by
 * independent tools, not by itself.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>

#include "floe/buffer.h"
#include "source/snowflake_internal.h"
#include "test.h"

static char key_path[4200], enc_key_path[4200], pub_path[4200];
static char expected_fp[128];
static bool have_keys;

static int run(const char *cmd) { return system(cmd); }

static void make_keys(void) {
  const char *dir = test_tmpdir("snowflake_jwt");
  if (dir == NULL) return;
  char cmd[30000];
  snprintf(key_path, sizeof key_path, "%s/rsa_key.p8", dir);
  snprintf(enc_key_path, sizeof enc_key_path, "%s/rsa_key_enc.p8", dir);
  snprintf(pub_path, sizeof pub_path, "%s/rsa_key.pub", dir);
  snprintf(cmd, sizeof cmd,
           "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s "
           "2>/dev/null && openssl pkcs8 -topk8 -v2 aes256 -in %s -out %s "
           "-passout pass:s3cret-Phrase 2>/dev/null && openssl pkey -in %s -pubout "
           "-out %s 2>/dev/null",
           key_path, key_path, enc_key_path, key_path, pub_path);
  if (run(cmd) != 0) return;
  snprintf(cmd, sizeof cmd,
           "openssl pkey -in %s -pubout -outform DER 2>/dev/null | openssl dgst "
           "-sha256 -binary | openssl enc -base64 > %s/fp.txt",
           key_path, dir);
  if (run(cmd) != 0) return;
  char fp_file[4200];
  snprintf(fp_file, sizeof fp_file, "%s/fp.txt", dir);
  FILE *f = fopen(fp_file, "r");
  if (f == NULL) return;
  char line[100] = "";
  if (fgets(line, sizeof line, f) == NULL) line[0] = '\0';
  fclose(f);
  line[strcspn(line, "\r\n")] = '\0';
  snprintf(expected_fp, sizeof expected_fp, "SHA256:%s", line);
  have_keys = line[0] != '\0';
}

static int b64url_decode(const char *s, size_t len, floe_buf *out) {
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-') v = 62;
    else if (c == '_') v = 63;
    else return -1; /* padding or '+' '/' are not base64url */
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (floe_buf_append_byte(out, (uint8_t)(acc >> bits)) < 0) return -1;
    }
  }
  return 0;
}

static void test_base64_rfc4648_vectors(void) {
  const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char *std[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  const char *url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
  for (int i = 0; i < 7; i++) {
    floe_buf a = FLOE_BUF_INIT, b = FLOE_BUF_INIT;
    CHECK(floe_sf_base64(&a, in[i], strlen(in[i])) == 0);
    CHECK(floe_sf_base64url(&b, in[i], strlen(in[i])) == 0);
    floe_buf_terminate(&a);
    floe_buf_terminate(&b);
    CHECK_STR_EQ(a.data ? (char *)a.data : "", std[i]);
    CHECK_STR_EQ(b.data ? (char *)b.data : "", url[i]);
    floe_buf_free(&a);
    floe_buf_free(&b);
  }
  floe_buf c = FLOE_BUF_INIT;
  const uint8_t bytes[] = {0xfb, 0xff, 0xbf};
  floe_sf_base64url(&c, bytes, 3);
  floe_buf_terminate(&c);
  CHECK_STR_EQ((char *)c.data, "-_-_");
  floe_buf_free(&c);
}

static void test_account_rules(void) {
  char out[256];
  floe_sf_jwt_account("xy12345.us-east-1", out, sizeof out);
  CHECK_STR_EQ(out, "XY12345");
  floe_sf_jwt_account("xy12345.us-east-2.aws", out, sizeof out);
  CHECK_STR_EQ(out, "XY12345");
  floe_sf_jwt_account("myorg-myaccount", out, sizeof out);
  CHECK_STR_EQ(out, "MYORG-MYACCOUNT");
  floe_sf_jwt_account("myorg-acct.global", out, sizeof out);
  CHECK_STR_EQ(out, "MYORG");
  floe_sf_jwt_account("Acme", out, sizeof out);
  CHECK_STR_EQ(out, "ACME");
}

static void test_fingerprint_matches_openssl(void) {
  if (!have_keys) SKIP("openssl command not available to generate a test key");
  floe_error err = {0};
  floe_sf_key *key = NULL;
  REQUIRE_OK(floe_sf_key_load(&key, key_path, NULL, &err), &err);
  CHECK_STR_EQ(floe_sf_key_fingerprint(key), expected_fp);
  CHECK_INT_EQ(strlen(floe_sf_key_fingerprint(key)), 7 + 44);
  floe_sf_key_free(key);
  /* The encrypted copy of the same key has the same fingerprint. */
  REQUIRE_OK(floe_sf_key_load(&key, enc_key_path, "s3cret-Phrase", &err), &err);
  CHECK_STR_EQ(floe_sf_key_fingerprint(key), expected_fp);
  floe_sf_key_free(key);
}

static void test_bad_keys_fail_without_secrets(void) {
  if (!have_keys) SKIP("openssl command not available to generate a test key");
  floe_error err = {0};
  floe_sf_key *key = NULL;
  CHECK(floe_sf_key_load(&key, enc_key_path, "wrong-Phrase", &err) == FLOE_EINVAL);
  CHECK(key == NULL);
  CHECK(strstr(err.message, "wrong-Phrase") == NULL);
  CHECK(strstr(err.message, enc_key_path) != NULL);
  CHECK(floe_sf_key_load(&key, enc_key_path, NULL, &err) == FLOE_EINVAL);
  CHECK(strstr(err.message, "passphrase") != NULL);
  CHECK(floe_sf_key_load(&key, "/nonexistent/key.p8", NULL, &err) == FLOE_ENOTFOUND);
  CHECK(floe_sf_key_from_pem(&key, "garbage", 7, NULL, &err) == FLOE_EINVAL);
  /* A public key is not a private key. */
  CHECK(floe_sf_key_load(&key, pub_path, NULL, &err) == FLOE_EINVAL);
  CHECK(key == NULL);
}

static void test_jwt_claims_and_signature_verify(void) {
  if (!have_keys) SKIP("openssl command not available to generate a test key");
  floe_error err = {0};
  floe_sf_key *key = NULL;
  char *jwt = NULL;
  REQUIRE_OK(floe_sf_key_load(&key, key_path, NULL, &err), &err);
  REQUIRE_OK(floe_sf_jwt_make(key, "xy12345.us-east-1", "floe_loader", 1700000000,
                              3600, &jwt, &err),
             &err);
  const char *dot1 = strchr(jwt, '.');
  REQUIRE(dot1 != NULL);
  const char *dot2 = strchr(dot1 + 1, '.');
  REQUIRE(dot2 != NULL);
  CHECK(strchr(dot2 + 1, '.') == NULL);
  CHECK(strchr(jwt, '=') == NULL); /* base64url without padding */

  floe_buf header = FLOE_BUF_INIT, claims = FLOE_BUF_INIT, sig = FLOE_BUF_INIT;
  REQUIRE(b64url_decode(jwt, (size_t)(dot1 - jwt), &header) == 0);
  REQUIRE(b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &claims) == 0);
  REQUIRE(b64url_decode(dot2 + 1, strlen(dot2 + 1), &sig) == 0);
  json_t *h = json_loadb((const char *)header.data, header.len, 0, NULL);
  json_t *c = json_loadb((const char *)claims.data, claims.len, 0, NULL);
  REQUIRE(h != NULL && c != NULL);
  CHECK_STR_EQ(json_string_value(json_object_get(h, "alg")), "RS256");
  CHECK_STR_EQ(json_string_value(json_object_get(h, "typ")), "JWT");
  char want_iss[256];
  snprintf(want_iss, sizeof want_iss, "XY12345.FLOE_LOADER.%s", expected_fp);
  CHECK_STR_EQ(json_string_value(json_object_get(c, "iss")), want_iss);
  CHECK_STR_EQ(json_string_value(json_object_get(c, "sub")), "XY12345.FLOE_LOADER");
  CHECK_INT_EQ(json_integer_value(json_object_get(c, "iat")), 1700000000);
  CHECK_INT_EQ(json_integer_value(json_object_get(c, "exp")), 1700003600);
  CHECK_INT_EQ(json_object_size(c), 4);
  CHECK_INT_EQ(sig.len, 256); /* RSA-2048 */

  /* Verify RS256 with the public key openssl wrote. */
  FILE *f = fopen(pub_path, "r");
  REQUIRE(f != NULL);
  EVP_PKEY *pub = PEM_read_PUBKEY(f, NULL, NULL, NULL);
  fclose(f);
  REQUIRE(pub != NULL);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  CHECK(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1);
  CHECK(EVP_DigestVerify(md, sig.data, sig.len, (const unsigned char *)jwt,
                         (size_t)(dot2 - jwt)) == 1);
  /* A changed claim no longer verifies. */
  EVP_MD_CTX_reset(md);
  char *tampered = floe_strdup(jwt);
  tampered[dot1 - jwt + 5] ^= 1;
  CHECK(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1);
  CHECK(EVP_DigestVerify(md, sig.data, sig.len, (const unsigned char *)tampered,
                         (size_t)(dot2 - jwt)) != 1);
  floe_free(tampered);
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(pub);
  json_decref(h);
  json_decref(c);
  floe_buf_free(&header);
  floe_buf_free(&claims);
  floe_buf_free(&sig);
  floe_free(jwt);
  CHECK(floe_sf_jwt_make(key, "", "u", 1, 60, &jwt, &err) == FLOE_EINVAL);
  floe_sf_key_free(key);
}

static void test_org_account_claims(void) {
  if (!have_keys) SKIP("openssl command not available to generate a test key");
  floe_error err = {0};
  floe_sf_key *key = NULL;
  char *jwt = NULL;
  REQUIRE_OK(floe_sf_key_load(&key, key_path, NULL, &err), &err);
  REQUIRE_OK(floe_sf_jwt_make(key, "myorg-myaccount", "jane.doe", 10, 60, &jwt, &err),
             &err);
  const char *dot1 = strchr(jwt, '.'), *dot2 = strchr(dot1 + 1, '.');
  floe_buf claims = FLOE_BUF_INIT;
  REQUIRE(b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &claims) == 0);
  json_t *c = json_loadb((const char *)claims.data, claims.len, 0, NULL);
  REQUIRE(c != NULL);
  CHECK_STR_EQ(json_string_value(json_object_get(c, "sub")), "MYORG-MYACCOUNT.JANE.DOE");
  CHECK_INT_EQ(json_integer_value(json_object_get(c, "exp")), 70);
  json_decref(c);
  floe_buf_free(&claims);
  floe_free(jwt);
  floe_sf_key_free(key);
}

int main(void) {
  make_keys();
  RUN(test_base64_rfc4648_vectors);
  RUN(test_account_rules);
  RUN(test_fingerprint_matches_openssl);
  RUN(test_bad_keys_fail_without_secrets);
  RUN(test_jwt_claims_and_signature_verify);
  RUN(test_org_account_claims);
  return test_report();
}
