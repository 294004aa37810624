/*
 * io/s3_auth: where the S3 implementation's credentials come from.
 *
 * The chain follows the AWS SDKs' order, so a machine set up for the AWS
 * CLI works unchanged:
 *   1. keys given in floe's configuration (target.storage, which takes
 *      them from ${ENV} or ${file:...} references);
 *   2. an explicitly configured profile (target.storage.profile);
 *   3. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN;
 *   4. the shared credentials and config files (AWS_SHARED_CREDENTIALS_FILE,
 *      AWS_CONFIG_FILE, default ~/.aws/...) for AWS_PROFILE or "default":
 *      static keys, or web_identity_token_file + role_arn;
 *   5. AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN: STS
 *      AssumeRoleWithWebIdentity (an unsigned request, as the token is the
 *      proof);
 *   6. the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI
 *      or _RELATIVE_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]);
 *   7. the instance metadata service (IMDSv2), unless
 *      AWS_EC2_METADATA_DISABLED=true.
 * A table's io may instead sign with credentials its catalog vended
 * (s3_auth_set_vended): then the chain is not consulted, and fresh vended
 * credentials are asked of the table before the old ones expire.
 * Temporary credentials are fetched again five minutes before they expire.
 * No secret is ever written into an error message or a log line.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "floe/buffer.h"
#include "floe/log.h"
#include "io/http_internal.h"
#include "io/s3_internal.h"

#define REFRESH_MARGIN_MS (5 * 60 * 1000)
#define MAX_CRED_FILE_BYTES (1u << 20)

struct s3_auth {
  char *cfg_key, *cfg_secret, *cfg_token;
  char *profile; /* explicit profile, or NULL */
  char *region;
  char *sts_endpoint;
  long connect_timeout_ms;
  s3_credentials creds;
  int have;
  int vended; /* creds came from the catalog; refresh through the callback */
  floe_io_s3_refresh_fn refresh;
  void *refresh_ctx;
};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v != NULL && v[0] != '\0' ? v : NULL;
}

static void creds_reset(s3_credentials *c) {
  floe_free(c->access_key_id);
  if (c->secret_access_key != NULL)
    memset(c->secret_access_key, 0, strlen(c->secret_access_key));
  floe_free(c->secret_access_key);
  floe_free(c->session_token);
  memset(c, 0, sizeof *c);
}

static int creds_set(s3_credentials *c, const char *key, const char *secret,
                     const char *token, int64_t expires_ms,
                     const char *source) {
  creds_reset(c);
  c->access_key_id = floe_strdup(key);
  c->secret_access_key = floe_strdup(secret);
  c->session_token = token != NULL ? floe_strdup(token) : NULL;
  c->expires_ms = expires_ms;
  snprintf(c->source, sizeof c->source, "%s", source);
  if (c->access_key_id == NULL || c->secret_access_key == NULL ||
      (token != NULL && c->session_token == NULL)) {
    creds_reset(c);
    return FLOE_ENOMEM;
  }
  return FLOE_OK;
}

int64_t s3_parse_iso8601_ms(const char *text) {
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  if (text == NULL) return -1;
  int y, mo, d, h, mi, s;
  if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) != 6)
    return -1;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  time_t t = timegm(&tm);
  int64_t ms = (int64_t)t * 1000;
  const char *frac = text + 19;
  if (*frac == '.') {
    int64_t scale = 100;
    for (frac++; *frac >= '0' && *frac <= '9'; frac++, scale /= 10)
      ms += (*frac - '0') * scale;
  }
  return ms;
}

/* ---- shared config / credentials files ---------------------------------- */

static char *read_small_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  floe_buf buf = FLOE_BUF_INIT;
  char chunk[4096];
  size_t n;
  int ok = 1;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (buf.len + n > MAX_CRED_FILE_BYTES || floe_buf_append(&buf, chunk, n)) {
      ok = 0;
      break;
    }
  }
  fclose(f);
  if (!ok || floe_buf_terminate(&buf) != 0) {
    floe_buf_free(&buf);
    return NULL;
  }
  return (char *)floe_buf_detach(&buf, NULL);
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
    s[--n] = '\0';
  return s;
}

/* The value of `key` in section `section` of an INI file (the AWS files'
 * dialect: [section], key = value, # or ; comments). */
static int ini_value(const char *path, const char *section, const char *key,
                     char **out) {
  *out = NULL;
  if (path == NULL) return FLOE_OK;
  char *text = read_small_file(path);
  if (text == NULL) return FLOE_OK;
  int in_section = 0, rc = FLOE_OK;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line != NULL;
       line = strtok_r(NULL, "\n", &save)) {
    char *l = trim(line);
    if (l[0] == '#' || l[0] == ';' || l[0] == '\0') continue;
    if (l[0] == '[') {
      char *end = strchr(l, ']');
      if (end == NULL) continue;
      *end = '\0';
      in_section = strcmp(trim(l + 1), section) == 0;
      continue;
    }
    if (!in_section) continue;
    char *eq = strchr(l, '=');
    if (eq == NULL) continue;
    *eq = '\0';
    if (strcmp(trim(l), key) != 0) continue;
    *out = floe_strdup(trim(eq + 1));
    if (*out == NULL) rc = FLOE_ENOMEM;
    break;
  }
  memset(text, 0, strlen(text));
  floe_free(text);
  return rc;
}

static char *default_file(const char *env_name, const char *name) {
  const char *p = env(env_name);
  if (p != NULL) return floe_strdup(p);
  const char *home = env("HOME");
  if (home == NULL) return NULL;
  floe_buf b = FLOE_BUF_INIT;
  if (floe_buf_appendf(&b, "%s/.aws/%s", home, name) != 0 ||
      floe_buf_terminate(&b) != 0) {
    floe_buf_free(&b);
    return NULL;
  }
  return (char *)floe_buf_detach(&b, NULL);
}

/* A profile's value: the credentials file's [NAME] first, then the config
 * file's [profile NAME] ([default] for the default profile). */
static int profile_lookup(const char *profile, const char *key, int creds_file,
                          char **out) {
  *out = NULL;
  int rc = FLOE_OK;
  if (creds_file) {
    char *path = default_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    rc = ini_value(path, profile, key, out);
    floe_free(path);
    if (rc < 0 || *out != NULL) return rc;
  }
  char *path = default_file("AWS_CONFIG_FILE", "config");
  char section[256];
  if (strcmp(profile, "default") == 0)
    snprintf(section, sizeof section, "default");
  else
    snprintf(section, sizeof section, "profile %s", profile);
  rc = ini_value(path, section, key, out);
  floe_free(path);
  return rc;
}

int s3_profile_value(const char *profile, const char *key, char **out) {
  if (profile == NULL) profile = env("AWS_PROFILE");
  if (profile == NULL) profile = "default";
  return profile_lookup(profile, key, 0, out);
}

/* ---- STS AssumeRoleWithWebIdentity -------------------------------------- */

static int web_identity(s3_auth *a, CURL *curl, const char *token_file,
                        const char *role_arn, const char *session_name,
                        const char *source, floe_error *err) {
  int rc = FLOE_OK;
  char *token = read_small_file(token_file);
  floe_buf url = FLOE_BUF_INIT, body = FLOE_BUF_INIT;
  io_http_response resp = {0};
  char *key = NULL, *secret = NULL, *session = NULL, *expiration = NULL;
  char *code = NULL, *message = NULL;
  struct curl_slist *headers = NULL;
  if (token == NULL) {
    rc = floe_error_set(err, FLOE_EINVAL, "s3 credentials (%s): cannot read "
                        "the web identity token file %s", source, token_file);
    goto cleanup;
  }
  size_t tl = strlen(token);
  while (tl > 0 && (token[tl - 1] == '\n' || token[tl - 1] == '\r'))
    token[--tl] = '\0';
  const char *endpoint = a->sts_endpoint;
  if (endpoint == NULL) endpoint = env("AWS_ENDPOINT_URL_STS");
  if (endpoint == NULL) endpoint = env("AWS_ENDPOINT_URL");
  if (endpoint != NULL) rc = floe_buf_appendf(&url, "%s", endpoint);
  else rc = floe_buf_appendf(&url, "https://sts.%s.amazonaws.com", a->region);
  while (url.len > 0 && url.data[url.len - 1] == '/') url.len--;
  if (rc == 0) rc = floe_buf_append_str(&url, "/");
  if (rc == 0) rc = floe_buf_terminate(&url);
  if (rc == 0)
    rc = floe_buf_append_str(&body, "Action=AssumeRoleWithWebIdentity"
                                    "&DurationSeconds=3600&RoleArn=");
  if (rc == 0) rc = io_uri_encode(&body, role_arn, 0);
  if (rc == 0) rc = floe_buf_append_str(&body, "&RoleSessionName=");
  if (rc == 0) rc = io_uri_encode(&body, session_name, 0);
  if (rc == 0) rc = floe_buf_append_str(&body, "&Version=2011-06-15"
                                               "&WebIdentityToken=");
  if (rc == 0) rc = io_uri_encode(&body, token, 0);
  headers = curl_slist_append(NULL, "Content-Type: application/x-www-form-"
                                    "urlencoded");
  if (rc != 0 || headers == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "s3 credentials: out of memory");
    goto cleanup;
  }
  io_http_request req = {0};
  req.method = "POST";
  req.url = (const char *)url.data;
  req.headers = headers;
  req.body = body.data;
  req.body_len = body.len;
  req.connect_timeout_ms = a->connect_timeout_ms;
  req.timeout_ms = 30000;
  rc = io_http_perform(curl, &req, &resp, err);
  if (rc < 0) {
    floe_error_prefix(err, "s3 credentials (%s): STS AssumeRoleWithWebIdentity",
                      source);
    goto cleanup;
  }
  const char *x = (const char *)resp.body.data;
  size_t xl = resp.body.len, pos = 0;
  if (resp.status != 200) {
    size_t p2 = 0;
    if (io_xml_next(x, xl, "Code", &pos, &code) < 0 ||
        io_xml_next(x, xl, "Message", &p2, &message) < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "s3 credentials: out of memory");
      goto cleanup;
    }
    rc = floe_error_set(err, resp.status / 100 == 4 ? FLOE_EINVAL
                                                    : FLOE_ENETWORK,
                        "s3 credentials (%s): STS AssumeRoleWithWebIdentity "
                        "for role %s: HTTP %ld %s%s%s",
                        source, role_arn, resp.status, code ? code : "",
                        message ? ": " : "", message ? message : "");
    goto cleanup;
  }
  pos = 0;
  size_t p2 = 0, p3 = 0, p4 = 0;
  if (io_xml_next(x, xl, "AccessKeyId", &pos, &key) < 0 ||
      io_xml_next(x, xl, "SecretAccessKey", &p2, &secret) < 0 ||
      io_xml_next(x, xl, "SessionToken", &p3, &session) < 0 ||
      io_xml_next(x, xl, "Expiration", &p4, &expiration) < 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "s3 credentials: out of memory");
    goto cleanup;
  }
  if (key == NULL || secret == NULL) {
    rc = floe_error_set(err, FLOE_EFORMAT, "s3 credentials (%s): STS answer "
                        "carries no credentials", source);
    goto cleanup;
  }
  int64_t expires = s3_parse_iso8601_ms(expiration);
  if (creds_set(&a->creds, key, secret, session, expires > 0 ? expires : 0,
                source) < 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "s3 credentials: out of memory");
    goto cleanup;
  }
  a->have = 1;
cleanup:
  if (token != NULL) memset(token, 0, strlen(token));
  floe_free(token);
  if (secret != NULL) memset(secret, 0, strlen(secret));
  floe_free(key);
  floe_free(secret);
  floe_free(session);
  floe_free(expiration);
  floe_free(code);
  floe_free(message);
  floe_buf_free(&url);
  if (body.data != NULL) memset(body.data, 0, body.len);
  floe_buf_free(&body);
  if (resp.body.data != NULL) memset(resp.body.data, 0, resp.body.len);
  io_http_response_reset(&resp);
  curl_slist_free_all(headers);
  return rc;
}

/* ---- container and instance metadata ------------------------------------ */

/* Parses the JSON both metadata endpoints answer with. */
static int metadata_json(s3_auth *a, const char *json, size_t len,
                         const char *source, floe_error *err) {
  json_error_t jerr;
  json_t *root = json_loadb(json, len, 0, &jerr);
  if (root == NULL)
    return floe_error_set(err, FLOE_EFORMAT, "s3 credentials (%s): the "
                          "answer is not JSON", source);
  const char *key = json_string_value(json_object_get(root, "AccessKeyId"));
  const char *secret =
      json_string_value(json_object_get(root, "SecretAccessKey"));
  const char *token = json_string_value(json_object_get(root, "Token"));
  const char *exp = json_string_value(json_object_get(root, "Expiration"));
  int rc = FLOE_OK;
  if (key == NULL || secret == NULL) {
    rc = floe_error_set(err, FLOE_EFORMAT, "s3 credentials (%s): the answer "
                        "carries no AccessKeyId/SecretAccessKey", source);
  } else {
    int64_t expires = exp ? s3_parse_iso8601_ms(exp) : 0;
    rc = creds_set(&a->creds, key, secret, token, expires > 0 ? expires : 0,
                   source);
    if (rc < 0) floe_error_set(err, rc, "s3 credentials: out of memory");
    else a->have = 1;
  }
  json_decref(root);
  return rc;
}

static int get_text(s3_auth *a, CURL *curl, const char *method,
                    const char *url, struct curl_slist *headers,
                    const char *source, io_http_response *resp,
                    floe_error *err) {
  io_http_request req = {0};
  req.method = method;
  req.url = url;
  req.headers = headers;
  req.connect_timeout_ms = a->connect_timeout_ms < 2000 ? a->connect_timeout_ms
                                                        : 2000;
  req.timeout_ms = 5000;
  int rc = io_http_perform(curl, &req, resp, err);
  if (rc < 0) {
    floe_error_prefix(err, "s3 credentials (%s)", source);
    return rc;
  }
  if (resp->status != 200)
    return floe_error_set(err, FLOE_ENETWORK, "s3 credentials (%s): %s: "
                          "HTTP %ld", source, method, resp->status);
  return FLOE_OK;
}

static int container(s3_auth *a, CURL *curl, floe_error *err) {
  const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  floe_buf url = FLOE_BUF_INIT, auth = FLOE_BUF_INIT;
  struct curl_slist *headers = NULL;
  io_http_response resp = {0};
  char *token_text = NULL;
  int rc = full ? floe_buf_append_str(&url, full)
                : floe_buf_appendf(&url, "http://169.254.170.2%s", rel);
  if (rc == 0) rc = floe_buf_terminate(&url);
  const char *token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  const char *token_file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  if (token == NULL && token_file != NULL) {
    token_text = read_small_file(token_file);
    if (token_text != NULL) {
      token = trim(token_text);
    }
  }
  if (rc == 0 && token != NULL) {
    rc = floe_buf_appendf(&auth, "Authorization: %s", token);
    if (rc == 0) rc = floe_buf_terminate(&auth);
    if (rc == 0) {
      headers = curl_slist_append(NULL, (const char *)auth.data);
      if (headers == NULL) rc = -1;
    }
  }
  if (rc != 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "s3 credentials: out of memory");
    goto cleanup;
  }
  FLOE_TRY(get_text(a, curl, "GET", (const char *)url.data, headers,
                    "container", &resp, err));
  rc = metadata_json(a, (const char *)resp.body.data, resp.body.len,
                     "container", err);
cleanup:
  if (auth.data != NULL) memset(auth.data, 0, auth.len);
  floe_buf_free(&auth);
  floe_buf_free(&url);
  if (token_text != NULL) memset(token_text, 0, strlen(token_text));
  floe_free(token_text);
  if (resp.body.data != NULL) memset(resp.body.data, 0, resp.body.len);
  io_http_response_reset(&resp);
  curl_slist_free_all(headers);
  return rc;
}

static int instance_metadata(s3_auth *a, CURL *curl, floe_error *err) {
  const char *base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  if (base == NULL) base = "http://169.254.169.254";
  size_t bl = strlen(base);
  while (bl > 0 && base[bl - 1] == '/') bl--;
  io_http_response resp = {0};
  struct curl_slist *put_headers = NULL, *headers = NULL;
  floe_buf url = FLOE_BUF_INIT, hdr = FLOE_BUF_INIT;
  char *role = NULL;
  int rc = FLOE_OK;
  put_headers = curl_slist_append(NULL, "X-aws-ec2-metadata-token-ttl-seconds:"
                                        " 21600");
  if (put_headers == NULL ||
      floe_buf_appendf(&url, "%.*s/latest/api/token", (int)bl, base) != 0 ||
      floe_buf_terminate(&url) != 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "s3 credentials: out of memory");
    goto cleanup;
  }
  FLOE_TRY(get_text(a, curl, "PUT", (const char *)url.data, put_headers,
                    "instance metadata", &resp, err));
  if (floe_buf_append_str(&hdr, "X-aws-ec2-metadata-token: ") != 0 ||
      floe_buf_append(&hdr, resp.body.data, resp.body.len) != 0 ||
      floe_buf_terminate(&hdr) != 0 ||
      (headers = curl_slist_append(NULL, (const char *)hdr.data)) == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "s3 credentials: out of memory");
    goto cleanup;
  }
  url.len = 0;
  if (floe_buf_appendf(&url, "%.*s/latest/meta-data/iam/security-"
                       "credentials/", (int)bl, base) != 0 ||
      floe_buf_terminate(&url) != 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "s3 credentials: out of memory");
    goto cleanup;
  }
  FLOE_TRY(get_text(a, curl, "GET", (const char *)url.data, headers,
                    "instance metadata", &resp, err));
  size_t rl = strcspn((const char *)resp.body.data ? (const char *)resp.body.data
                                                   : "", "\r\n");
  if (resp.body.data == NULL || rl == 0 || rl > resp.body.len) {
    rc = floe_error_set(err, FLOE_EINVAL, "s3 credentials (instance "
                        "metadata): no IAM role attached");
    goto cleanup;
  }
  role = floe_strndup((const char *)resp.body.data, rl);
  url.len = 0;
  if (role == NULL ||
      floe_buf_appendf(&url, "%.*s/latest/meta-data/iam/security-"
                       "credentials/%s", (int)bl, base, role) != 0 ||
      floe_buf_terminate(&url) != 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "s3 credentials: out of memory");
    goto cleanup;
  }
  FLOE_TRY(get_text(a, curl, "GET", (const char *)url.data, headers,
                    "instance metadata", &resp, err));
  rc = metadata_json(a, (const char *)resp.body.data, resp.body.len,
                     "instance metadata", err);
cleanup:
  if (hdr.data != NULL) memset(hdr.data, 0, hdr.len);
  floe_buf_free(&hdr);
  floe_buf_free(&url);
  floe_free(role);
  if (resp.body.data != NULL) memset(resp.body.data, 0, resp.body.len);
  io_http_response_reset(&resp);
  curl_slist_free_all(put_headers);
  curl_slist_free_all(headers);
  return rc;
}

/* ---- the chain ------------------------------------------------------------ */

/* Static keys or a web identity role from a profile; *found = 0 when the
 * profile holds neither. */
static int from_profile(s3_auth *a, CURL *curl, const char *profile,
                        int *found, floe_error *err) {
  char *key = NULL, *secret = NULL, *token = NULL, *token_file = NULL,
       *role = NULL, *session = NULL;
  char source[64];
  snprintf(source, sizeof source, "profile %s", profile);
  *found = 0;
  int rc = profile_lookup(profile, "aws_access_key_id", 1, &key);
  if (rc == 0) rc = profile_lookup(profile, "aws_secret_access_key", 1, &secret);
  if (rc == 0) rc = profile_lookup(profile, "aws_session_token", 1, &token);
  if (rc == 0)
    rc = profile_lookup(profile, "web_identity_token_file", 0, &token_file);
  if (rc == 0) rc = profile_lookup(profile, "role_arn", 0, &role);
  if (rc == 0) rc = profile_lookup(profile, "role_session_name", 0, &session);
  if (rc < 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "s3 credentials: out of memory");
    goto cleanup;
  }
  if (key != NULL && secret != NULL) {
    *found = 1;
    rc = creds_set(&a->creds, key, secret, token, 0, source);
    if (rc < 0) floe_error_set(err, rc, "s3 credentials: out of memory");
    else a->have = 1;
  } else if (token_file != NULL && role != NULL) {
    *found = 1;
    rc = web_identity(a, curl, token_file, role, session ? session : "floe",
                      source, err);
  }
cleanup:
  if (secret != NULL) memset(secret, 0, strlen(secret));
  floe_free(key);
  floe_free(secret);
  floe_free(token);
  floe_free(token_file);
  floe_free(role);
  floe_free(session);
  return rc;
}

static int resolve(s3_auth *a, CURL *curl, floe_error *err) {
  int found = 0, rc;
  if (a->cfg_key != NULL && a->cfg_secret != NULL) {
    rc = creds_set(&a->creds, a->cfg_key, a->cfg_secret, a->cfg_token, 0,
                   "config");
    if (rc < 0) return floe_error_set(err, rc, "s3 credentials: out of memory");
    a->have = 1;
    return FLOE_OK;
  }
  if (a->profile != NULL) {
    rc = from_profile(a, curl, a->profile, &found, err);
    if (rc < 0 || found) return rc;
    return floe_error_set(err, FLOE_EINVAL, "s3 credentials: profile '%s' "
                          "has neither aws_access_key_id/aws_secret_access_key"
                          " nor web_identity_token_file/role_arn",
                          a->profile);
  }
  const char *key = env("AWS_ACCESS_KEY_ID");
  const char *secret = env("AWS_SECRET_ACCESS_KEY");
  if (key != NULL && secret != NULL) {
    rc = creds_set(&a->creds, key, secret, env("AWS_SESSION_TOKEN"), 0,
                   "environment");
    if (rc < 0) return floe_error_set(err, rc, "s3 credentials: out of memory");
    a->have = 1;
    return FLOE_OK;
  }
  const char *profile = env("AWS_PROFILE");
  rc = from_profile(a, curl, profile ? profile : "default", &found, err);
  if (rc < 0 || found) return rc;
  const char *token_file = env("AWS_WEB_IDENTITY_TOKEN_FILE");
  const char *role = env("AWS_ROLE_ARN");
  if (token_file != NULL && role != NULL) {
    const char *session = env("AWS_ROLE_SESSION_NAME");
    return web_identity(a, curl, token_file, role, session ? session : "floe",
                        "web identity", err);
  }
  if (env("AWS_CONTAINER_CREDENTIALS_FULL_URI") != NULL ||
      env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != NULL)
    return container(a, curl, err);
  const char *disabled = env("AWS_EC2_METADATA_DISABLED");
  if (disabled == NULL || strcasecmp(disabled, "true") != 0) {
    floe_error ignored = {0};
    if (instance_metadata(a, curl, &ignored) == FLOE_OK) return FLOE_OK;
    floe_log(FLOE_LOG_DEBUG, "s3_credentials", "source=instance-metadata "
             "error=%s", ignored.message);
  }
  return floe_error_set(err, FLOE_EINVAL, "s3: no credentials found (looked "
                        "at target.storage keys, AWS_ACCESS_KEY_ID/"
                        "AWS_SECRET_ACCESS_KEY, profile '%s' in the shared "
                        "credentials and config files, "
                        "AWS_WEB_IDENTITY_TOKEN_FILE/AWS_ROLE_ARN, the "
                        "container endpoint and instance metadata)",
                        profile ? profile : "default");
}

static int set_vended(s3_auth *a, const floe_io_s3_credentials *c,
                      floe_error *err) {
  if (c == NULL || c->access_key_id == NULL || c->access_key_id[0] == '\0' ||
      c->secret_access_key == NULL || c->secret_access_key[0] == '\0')
    return floe_error_set(err, FLOE_EINVAL, "s3: vended credentials without "
                          "an access key id or secret");
  int rc = creds_set(&a->creds, c->access_key_id, c->secret_access_key,
                     c->session_token != NULL && c->session_token[0] != '\0'
                         ? c->session_token
                         : NULL,
                     c->expires_ms > 0 ? c->expires_ms : 0, "vended");
  if (rc < 0) return floe_error_set(err, rc, "s3 credentials: out of memory");
  a->have = 1;
  a->vended = 1;
  return FLOE_OK;
}

int s3_auth_set_vended(s3_auth *a, const floe_io_s3_credentials *creds,
                       floe_error *err) {
  return set_vended(a, creds, err);
}

void s3_auth_set_refresh(s3_auth *a, floe_io_s3_refresh_fn refresh,
                         void *ctx) {
  a->refresh = refresh;
  a->refresh_ctx = ctx;
}

/* Vended credentials near expiry: the table reloads them from its catalog.
 * Without a callback, or when it fails before the old ones have expired,
 * the old ones are used until S3 refuses them. */
static int refresh_vended(s3_auth *a, floe_error *err) {
  floe_io_s3_credentials fresh = {0};
  int rc = a->refresh != NULL ? a->refresh(a->refresh_ctx, &fresh, err)
                              : FLOE_EUNSUPPORTED;
  if (rc == FLOE_OK) rc = set_vended(a, &fresh, err);
  if (rc < 0 && a->creds.expires_ms > now_ms()) {
    floe_log(FLOE_LOG_WARN, "s3_credentials", "source=vended refresh "
             "failed, using the current ones until they expire: %s",
             rc == FLOE_EUNSUPPORTED ? "no refresh" : err->message);
    a->have = 1;
    return FLOE_OK;
  }
  if (rc == FLOE_OK)
    floe_log(FLOE_LOG_DEBUG, "s3_credentials", "source=vended refreshed=1");
  return rc;
}

int s3_auth_credentials(s3_auth *a, CURL *curl, const s3_credentials **out,
                        floe_error *err) {
  *out = NULL;
  if (a->vended) {
    if (a->creds.expires_ms != 0 &&
        a->creds.expires_ms - now_ms() <= REFRESH_MARGIN_MS) {
      int rc = refresh_vended(a, err);
      if (rc < 0) return rc;
    }
    *out = &a->creds;
    return FLOE_OK;
  }
  if (a->have && (a->creds.expires_ms == 0 ||
                  a->creds.expires_ms - now_ms() > REFRESH_MARGIN_MS)) {
    *out = &a->creds;
    return FLOE_OK;
  }
  int had = a->have;
  a->have = 0;
  int rc = resolve(a, curl, err);
  if (rc < 0) return rc;
  floe_log(FLOE_LOG_DEBUG, "s3_credentials", "source=%s refreshed=%d",
           a->creds.source, had);
  *out = &a->creds;
  return FLOE_OK;
}

void s3_auth_invalidate(s3_auth *a) {
  /* Vended: S3 said ExpiredToken, so ask the catalog again right away. */
  if (a->vended) a->creds.expires_ms = now_ms();
  else a->have = 0;
}

static int dup_opt(const char *s, char **out) {
  *out = NULL;
  if (s == NULL) return FLOE_OK;
  *out = floe_strdup(s);
  return *out ? FLOE_OK : FLOE_ENOMEM;
}

int s3_auth_open(const floe_io_s3_options *o, const char *region,
                 s3_auth **out, floe_error *err) {
  *out = NULL;
  s3_auth *a = floe_calloc(1, sizeof *a);
  if (a == NULL) return floe_error_set(err, FLOE_ENOMEM, "s3: out of memory");
  int rc = dup_opt(o->access_key_id, &a->cfg_key);
  if (rc == 0) rc = dup_opt(o->secret_access_key, &a->cfg_secret);
  if (rc == 0) rc = dup_opt(o->session_token, &a->cfg_token);
  if (rc == 0) rc = dup_opt(o->profile, &a->profile);
  if (rc == 0) rc = dup_opt(region, &a->region);
  if (rc == 0) rc = dup_opt(o->sts_endpoint, &a->sts_endpoint);
  if (rc < 0) {
    s3_auth_free(a);
    return floe_error_set(err, FLOE_ENOMEM, "s3: out of memory");
  }
  if ((a->cfg_key == NULL) != (a->cfg_secret == NULL)) {
    s3_auth_free(a);
    return floe_error_set(err, FLOE_EINVAL, "s3: give both access_key_id and "
                          "secret_access_key, or neither");
  }
  a->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms
                                                    : 10000;
  *out = a;
  return FLOE_OK;
}

void s3_auth_free(s3_auth *a) {
  if (a == NULL) return;
  creds_reset(&a->creds);
  floe_free(a->cfg_key);
  if (a->cfg_secret != NULL) memset(a->cfg_secret, 0, strlen(a->cfg_secret));
  floe_free(a->cfg_secret);
  floe_free(a->cfg_token);
  floe_free(a->profile);
  floe_free(a->region);
  floe_free(a->sts_endpoint);
  floe_free(a);
}
