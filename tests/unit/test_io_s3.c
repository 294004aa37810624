/*
 * tests/unit/test_io_s3.c: the S3 implementation of floe_io against a real
 * S3 server (moto's standalone server on 127.0.0.1), directly and through
 * the fault-injecting proxy tests/support/s3_fault_proxy.py.
 *
 * Checks contents byte for byte and error codes: conditional create,
 * ranged reads, multipart uploads with small parts, listing across pages,
 * directory markers, batched deletes; 500/503/SlowDown retried, 403 never;
 * connections dropped mid-upload retried or the upload aborted with no
 * part and no object left; a write whose answer was lost recognised as
 * ours; credentials from the environment, a profile, STS web identity and
 * a container endpoint and the instance metadata service (IMDSv2: token
 * PUT, role, credentials) whose credentials are refreshed before expiry;
 * credentials a catalog vended for one table (replaced on reload, asked
 * for again before they expire);
 * errors that name bucket, key, status and code and never a secret.
 */
#include <jansson.h>
#include <time.h>

#include "floe/io.h"
#include "s3_test_support.h"
#include "test.h"

static s3_server moto = {-1, 0, ""};
static s3_server proxy = {-1, 0, ""};
static int servers_ok;

static floe_io *open_s3(const char *endpoint, floe_io_s3_options *extra) {
  floe_io_s3_options o = {0};
  if (extra != NULL) o = *extra;
  o.endpoint = endpoint;
  o.backoff_base_ms = 5;
  o.backoff_max_ms = 20;
  floe_io *io = NULL;
  floe_error err = {0};
  if (floe_io_s3_open(&o, &io, &err) != 0) {
    printf("  open s3: %s\n", err.message);
    return NULL;
  }
  return io;
}

static int read_text(floe_io *io, const char *path, char **out) {
  floe_error err = {0};
  return floe_io_read_all(io, path, 64u << 20, out, NULL, &err);
}

static int object_exists(floe_io *io, const char *path) {
  int exists = 0;
  floe_error err = {0};
  if (floe_io_exists(io, path, &exists, NULL, &err) != 0) return -1;
  return exists;
}

/* Runs `curl` against the proxy's control port with a JSON body. */
static int set_rules(const char *json) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "curl -sf -X POST '%s/__faults__' -d '%s' -o /dev/null",
           proxy.endpoint, json);
  int rc = system(cmd);
  snprintf(cmd, sizeof cmd, "curl -sf -X DELETE '%s/__faults__/log' -o /dev/null",
           proxy.endpoint);
  return rc | system(cmd);
}

/* A JSON document from the proxy's control port (caller decrefs). */
static json_t *proxy_get_json(const char *path) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "curl -sf '%s%s'", proxy.endpoint, path);
  FILE *p = popen(cmd, "r");
  if (p == NULL) return NULL;
  json_error_t jerr;
  json_t *doc = json_loadf(p, 0, &jerr);
  pclose(p);
  return doc;
}

/* The proxy's request log as JSON (caller decrefs). */
static json_t *proxy_log(void) { return proxy_get_json("/__faults__/log"); }

/* Requests in the log with this method whose query contains `query`
 * ("" = any) and whose action is `action` (NULL = any). */
static int count_log(json_t *log, const char *method, const char *query,
                     const char *action) {
  int n = 0;
  size_t i;
  json_t *e;
  json_array_foreach(log, i, e) {
    const char *m = json_string_value(json_object_get(e, "method"));
    const char *q = json_string_value(json_object_get(e, "query"));
    const char *a = json_string_value(json_object_get(e, "action"));
    if (m && strcmp(m, method) == 0 && q && strstr(q, query) != NULL &&
        (action == NULL || (a && strcmp(a, action) == 0)))
      n++;
  }
  return n;
}

/* Requests in the log whose signature botocore recomputed: *ok equal,
 * *bad different. */
static void count_signatures(json_t *log, int *ok, int *bad) {
  size_t i;
  json_t *e;
  *ok = *bad = 0;
  json_array_foreach(log, i, e) {
    json_t *sig = json_object_get(e, "sig");
    if (json_is_true(sig)) (*ok)++;
    else if (json_is_false(sig)) (*bad)++;
  }
}

/* Multipart uploads in progress in `bucket`, straight from the server. */
static int uploads_in_progress(const char *bucket) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "curl -sf '%s/%s?uploads' | grep -o '<Upload>' | "
           "wc -l", moto.endpoint, bucket);
  FILE *p = popen(cmd, "r");
  int n = -1;
  if (p != NULL && fscanf(p, "%d", &n) != 1) n = -1;
  if (p != NULL) pclose(p);
  return n;
}

static void fill_pattern(uint8_t *buf, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)((i * 31 + seed) ^ (i >> 9));
}

/* ---- tests -------------------------------------------------------------- */

static void test_write_read_and_scheme_forms(void) {
  REQUIRE(servers_ok);
  floe_io *io = open_s3(moto.endpoint, NULL);
  REQUIRE(io != NULL);
  floe_error err = {0};
  const char *text = "hello, object store";
  CHECK_OK(floe_io_write_atomic(io, "s3://unit/a/b/hello.txt", text,
                                strlen(text), 0, &err), &err);
  const char *forms[] = {"s3://unit/a/b/hello.txt", "s3a://unit/a/b/hello.txt",
                         "s3n://unit/a//b/hello.txt"};
  for (size_t i = 0; i < 3; i++) {
    char *got = NULL;
    CHECK_INT_EQ(read_text(io, forms[i], &got), 0);
    CHECK_STR_EQ(got, text);
    floe_free(got);
  }
  /* Replacing write: the new contents, whole. */
  CHECK_OK(floe_io_write_atomic(io, "s3://unit/a/b/hello.txt", "v2", 2, 0,
                                &err), &err);
  char *got = NULL;
  CHECK_INT_EQ(read_text(io, "s3://unit/a/b/hello.txt", &got), 0);
  CHECK_STR_EQ(got, "v2");
  floe_free(got);
  floe_io_file *f = NULL;
  CHECK_INT_EQ(floe_io_open_read(io, "s3://unit/a/b/missing", &f, &err),
               FLOE_ENOTFOUND);
  CHECK(strstr(err.message, "bucket=unit key=a/b/missing") != NULL);
  CHECK(strstr(err.message, "404") != NULL);
  floe_io_free(io);
}

static void test_ranged_reads_with_read_ahead(void) {
  REQUIRE(servers_ok);
  floe_io_s3_options o = {0};
  o.read_ahead = 4096;
  floe_io *io = open_s3(moto.endpoint, &o);
  REQUIRE(io != NULL);
  floe_error err = {0};
  size_t n = 100000;
  uint8_t *data = malloc(n), *buf = malloc(n);
  REQUIRE(data != NULL && buf != NULL);
  fill_pattern(data, n, 7);
  CHECK_OK(floe_io_write_atomic(io, "s3://unit/ranged.bin", data, n, 0, &err),
           &err);
  floe_io_file *f = NULL;
  REQUIRE_OK(floe_io_open_read(io, "s3://unit/ranged.bin", &f, &err), &err);
  CHECK_INT_EQ(floe_io_file_size(f), n);
  size_t offsets[] = {0, 10, 4000, 99990, 50000, 1234};
  size_t lens[] = {10, 100, 200, 10, 30000, 1};
  for (size_t i = 0; i < 6; i++) {
    memset(buf, 0, n);
    CHECK_OK(floe_io_file_read_exact(f, offsets[i], buf, lens[i], &err), &err);
    CHECK(memcmp(buf, data + offsets[i], lens[i]) == 0);
  }
  size_t got = 0;
  CHECK_OK(floe_io_file_read_at(f, n - 5, buf, 100, &got, &err), &err);
  CHECK_INT_EQ(got, 5);
  CHECK(memcmp(buf, data + n - 5, 5) == 0);
  CHECK_INT_EQ(floe_io_file_read_exact(f, n - 5, buf, 100, &err), FLOE_EFORMAT);
  floe_io_file_close(f);
  free(data);
  free(buf);
  floe_io_free(io);
}

static void test_never_replace_is_a_conditional_create(void) {
  REQUIRE(servers_ok);
  floe_io *io = open_s3(moto.endpoint, NULL);
  REQUIRE(io != NULL);
  floe_error err = {0};
  CHECK_OK(floe_io_write_atomic(io, "s3://unit/nr/v1.metadata.json", "first",
                                5, FLOE_IO_NO_REPLACE, &err), &err);
  CHECK_INT_EQ(floe_io_write_atomic(io, "s3://unit/nr/v1.metadata.json",
                                    "second", 6, FLOE_IO_NO_REPLACE, &err),
               FLOE_EEXISTS);
  CHECK(strstr(err.message, "412") != NULL);
  char *got = NULL;
  CHECK_INT_EQ(read_text(io, "s3://unit/nr/v1.metadata.json", &got), 0);
  CHECK_STR_EQ(got, "first");
  floe_free(got);
  floe_io_writer *w = NULL;
  CHECK_INT_EQ(floe_io_create(io, "s3://unit/nr/v1.metadata.json", &w, &err),
               FLOE_EEXISTS);
  CHECK(w == NULL);
  /* The documented fallback for stores without conditional writes. */
  floe_io_s3_options o = {0};
  o.no_conditional_writes = 1;
  floe_io *io2 = open_s3(moto.endpoint, &o);
  REQUIRE(io2 != NULL);
  CHECK_INT_EQ(floe_io_write_atomic(io2, "s3://unit/nr/v1.metadata.json",
                                    "third", 5, FLOE_IO_NO_REPLACE, &err),
               FLOE_EEXISTS);
  CHECK_OK(floe_io_write_atomic(io2, "s3://unit/nr/v2.metadata.json", "x", 1,
                                FLOE_IO_NO_REPLACE, &err), &err);
  floe_io_free(io2);
  floe_io_free(io);
}

static void test_multipart_upload_streams_in_parts(void) {
  REQUIRE(servers_ok);
  floe_io_s3_options o = {0};
  o.part_size = 64 * 1024;
  o.multipart_threshold = 64 * 1024;
  floe_io *io = open_s3(proxy.endpoint, &o);
  REQUIRE(io != NULL);
  REQUIRE(set_rules("{\"rules\":[]}") == 0);
  floe_error err = {0};
  size_t n = 300 * 1024 + 17;
  uint8_t *data = malloc(n);
  REQUIRE(data != NULL);
  fill_pattern(data, n, 3);
  floe_io_writer *w = NULL;
  REQUIRE_OK(floe_io_create(io, "s3://unit/mp/big.bin", &w, &err), &err);
  for (size_t off = 0; off < n; off += 10000) {
    size_t len = n - off < 10000 ? n - off : 10000;
    CHECK_OK(floe_io_writer_write(w, data + off, len, &err), &err);
  }
  /* Not visible before close. */
  CHECK_INT_EQ(object_exists(io, "s3://unit/mp/big.bin"), 0);
  CHECK_OK(floe_io_writer_close(w, &err), &err);
  char *got = NULL;
  size_t got_len = 0;
  CHECK_OK(floe_io_read_all(io, "s3://unit/mp/big.bin", n + 1, &got, &got_len,
                            &err), &err);
  CHECK_INT_EQ(got_len, n);
  CHECK(got != NULL && memcmp(got, data, n) == 0);
  floe_free(got);
  json_t *log = proxy_log();
  int sig_ok = 0, sig_bad = 0;
  count_signatures(log, &sig_ok, &sig_bad);
  CHECK_INT_EQ(sig_bad, 0);
  CHECK(sig_ok >= 8); /* create, 5 parts, complete, HEADs */
  CHECK_INT_EQ(count_log(log, "PUT", "partNumber=", NULL), 5);
  CHECK_INT_EQ(count_log(log, "POST", "uploads=", NULL), 1);
  json_decref(log);
  CHECK_INT_EQ(uploads_in_progress("unit"), 0);
  /* A small object through the same writer is one PUT. */
  REQUIRE(set_rules("{\"rules\":[]}") == 0);
  REQUIRE_OK(floe_io_create(io, "s3://unit/mp/small.bin", &w, &err), &err);
  CHECK_OK(floe_io_writer_write(w, data, 1000, &err), &err);
  CHECK_OK(floe_io_writer_close(w, &err), &err);
  log = proxy_log();
  CHECK_INT_EQ(count_log(log, "POST", "uploads", NULL), 0);
  CHECK_INT_EQ(count_log(log, "PUT", "", NULL), 1);
  json_decref(log);
  /* Abort leaves nothing. */
  REQUIRE_OK(floe_io_create(io, "s3://unit/mp/aborted.bin", &w, &err), &err);
  CHECK_OK(floe_io_writer_write(w, data, 200 * 1024, &err), &err);
  floe_io_writer_abort(w);
  CHECK_INT_EQ(object_exists(io, "s3://unit/mp/aborted.bin"), 0);
  CHECK_INT_EQ(uploads_in_progress("unit"), 0);
  free(data);
  floe_io_free(io);
}

static void test_list_pages_dirs_and_deletes(void) {
  REQUIRE(servers_ok);
  floe_io_s3_options o = {0};
  o.list_max_keys = 3;
  floe_io *io = open_s3(proxy.endpoint, &o);
  REQUIRE(io != NULL);
  REQUIRE(set_rules("{\"rules\":[]}") == 0);
  floe_error err = {0};
  char path[256];
  const char *paths[8];
  char store[8][300];
  for (int i = 0; i < 8; i++) {
    snprintf(path, sizeof path, "s3://unit/ls/t/data/f%d.parquet", 7 - i);
    snprintf(store[i], sizeof store[i], "%s", path);
    paths[i] = store[i];
    CHECK_OK(floe_io_write_atomic(io, path, "x", 1, 0, &err), &err);
  }
  CHECK_OK(floe_io_write_atomic(io, "s3://unit/ls/t/metadata/v1.metadata.json",
                                "{}", 2, 0, &err), &err);
  CHECK_OK(floe_io_mkdirs(io, "s3://unit/ls/empty_ns", &err), &err);
  floe_io_listing l = {0};
  REQUIRE_OK(floe_io_list(io, "s3://unit/ls/t/data", &l, &err), &err);
  CHECK_INT_EQ(l.count, 8);
  if (l.count == 8) {
    CHECK_STR_EQ(l.entries[0].name, "f0.parquet");
    CHECK_STR_EQ(l.entries[7].name, "f7.parquet");
    CHECK_INT_EQ(l.entries[3].size, 1);
    CHECK(l.entries[3].mtime_ms > 1600000000000LL);
    CHECK_INT_EQ(l.entries[3].is_dir, 0);
  }
  floe_io_listing_reset(&l);
  REQUIRE_OK(floe_io_list(io, "s3://unit/ls", &l, &err), &err);
  CHECK_INT_EQ(l.count, 2);
  if (l.count == 2) {
    CHECK_STR_EQ(l.entries[0].name, "empty_ns");
    CHECK_INT_EQ(l.entries[0].is_dir, 1);
    CHECK_STR_EQ(l.entries[1].name, "t");
  }
  floe_io_listing_reset(&l);
  int exists = 0, is_dir = 0;
  CHECK_OK(floe_io_exists(io, "s3://unit/ls/empty_ns", &exists, &is_dir, &err),
           &err);
  CHECK(exists && is_dir);
  CHECK_OK(floe_io_exists(io, "s3://unit/ls/t/data/f3.parquet", &exists,
                          &is_dir, &err), &err);
  CHECK(exists && !is_dir);
  CHECK_OK(floe_io_exists(io, "s3://unit/ls/nothing", &exists, &is_dir, &err),
           &err);
  CHECK(!exists);
  CHECK_INT_EQ(floe_io_list(io, "s3://unit/ls/nothing", &l, &err),
               FLOE_ENOTFOUND);
  CHECK_OK(floe_io_rmdir(io, "s3://unit/ls/empty_ns", &err), &err);
  CHECK_INT_EQ(object_exists(io, "s3://unit/ls/empty_ns"), 0);
  /* Batched delete, with a missing key among them. */
  size_t deleted = 0;
  paths[7] = "s3://unit/ls/t/data/never-there";
  CHECK_OK(floe_io_delete_many(io, paths, 8, &deleted, &err), &err);
  CHECK_INT_EQ(deleted, 8);
  REQUIRE_OK(floe_io_list(io, "s3://unit/ls/t/data", &l, &err), &err);
  CHECK_INT_EQ(l.count, 1); /* f0, not in the batch */
  floe_io_listing_reset(&l);
  CHECK_OK(floe_io_delete_tree(io, "s3://unit/ls", &err), &err);
  CHECK_INT_EQ(object_exists(io, "s3://unit/ls/t"), 0);
  /* Paged listings (continuation tokens) and DeleteObjects were signed as
   * botocore signs them. */
  json_t *log = proxy_log();
  int sig_ok = 0, sig_bad = 0;
  count_signatures(log, &sig_ok, &sig_bad);
  CHECK_INT_EQ(sig_bad, 0);
  CHECK(count_log(log, "GET", "continuation-token=", NULL) >= 2);
  CHECK_INT_EQ(count_log(log, "POST", "delete=", NULL), 1);
  CHECK_INT_EQ(sig_ok, (int)json_array_size(log));
  json_decref(log);
  floe_io_free(io);
}

static void test_transient_errors_are_retried_others_not(void) {
  REQUIRE(servers_ok);
  floe_io *io = open_s3(proxy.endpoint, NULL);
  REQUIRE(io != NULL);
  floe_error err = {0};
  REQUIRE(set_rules("{\"rules\":[{\"method\":\"PUT\",\"count\":1,\"status\":503,"
                    "\"code\":\"SlowDown\"},{\"method\":\"PUT\",\"count\":1,"
                    "\"status\":500,\"code\":\"InternalError\"},{\"method\":"
                    "\"PUT\",\"count\":1,\"status\":400,\"code\":"
                    "\"RequestTimeout\"}]}") == 0);
  CHECK_OK(floe_io_write_atomic(io, "s3://unit/retry/a", "abc", 3,
                                FLOE_IO_NO_REPLACE, &err), &err);
  json_t *log = proxy_log();
  CHECK_INT_EQ(count_log(log, "PUT", "", "status"), 3);
  CHECK_INT_EQ(count_log(log, "PUT", "", "forward"), 1);
  json_decref(log);
  /* 403 is final: one attempt, named with bucket, key, status and code. */
  REQUIRE(set_rules("{\"rules\":[{\"method\":\"PUT\",\"count\":5,\"status\":403,"
                    "\"code\":\"AccessDenied\"}]}") == 0);
  CHECK_INT_EQ(floe_io_write_atomic(io, "s3://unit/retry/b", "abc", 3, 0, &err),
               FLOE_EIO);
  CHECK(strstr(err.message, "bucket=unit key=retry/b") != NULL);
  CHECK(strstr(err.message, "HTTP 403 AccessDenied") != NULL);
  CHECK(strstr(err.message, "testing-secret") == NULL);
  CHECK(strstr(err.message, "testing-key") == NULL);
  log = proxy_log();
  CHECK_INT_EQ(count_log(log, "PUT", "", NULL), 1);
  json_decref(log);
  /* 500 on every attempt: fails after max_attempts, nothing visible. */
  REQUIRE(set_rules("{\"rules\":[{\"method\":\"PUT\",\"count\":100,\"status\":"
                    "500,\"code\":\"InternalError\"}]}") == 0);
  CHECK_INT_EQ(floe_io_write_atomic(io, "s3://unit/retry/c", "abc", 3, 0, &err),
               FLOE_ENETWORK);
  CHECK(strstr(err.message, "HTTP 500 InternalError") != NULL);
  log = proxy_log();
  CHECK_INT_EQ(count_log(log, "PUT", "", NULL), 6);
  json_decref(log);
  REQUIRE(set_rules("{\"rules\":[]}") == 0);
  CHECK_INT_EQ(object_exists(io, "s3://unit/retry/c"), 0);
  floe_io_free(io);
}

static void test_dropped_connections_mid_upload(void) {
  REQUIRE(servers_ok);
  floe_io_s3_options o = {0};
  o.part_size = 64 * 1024;
  o.multipart_threshold = 64 * 1024;
  floe_io *io = open_s3(proxy.endpoint, &o);
  REQUIRE(io != NULL);
  floe_error err = {0};
  size_t n = 200 * 1024;
  uint8_t *data = malloc(n);
  REQUIRE(data != NULL);
  fill_pattern(data, n, 11);
  /* One part's connection dropped after 1000 bytes: retried, whole object. */
  REQUIRE(set_rules("{\"rules\":[{\"method\":\"PUT\",\"query_contains\":"
                    "\"partNumber=2\",\"count\":1,\"action\":\"drop\","
                    "\"drop_after\":1000}]}") == 0);
  floe_io_writer *w = NULL;
  REQUIRE_OK(floe_io_create(io, "s3://unit/drop/ok.bin", &w, &err), &err);
  CHECK_OK(floe_io_writer_write(w, data, n, &err), &err);
  CHECK_OK(floe_io_writer_close(w, &err), &err);
  char *got = NULL;
  size_t got_len = 0;
  CHECK_OK(floe_io_read_all(io, "s3://unit/drop/ok.bin", n, &got, &got_len,
                            &err), &err);
  CHECK(got_len == n && got != NULL && memcmp(got, data, n) == 0);
  floe_free(got);
  json_t *log = proxy_log();
  CHECK_INT_EQ(count_log(log, "PUT", "partNumber=2", "drop"), 1);
  json_decref(log);
  /* Every part upload dropped: the writer fails, the upload is aborted, no
   * object and no part remain. */
  REQUIRE(set_rules("{\"rules\":[{\"method\":\"PUT\",\"query_contains\":"
                    "\"partNumber\",\"count\":100,\"action\":\"drop\","
                    "\"drop_after\":5000}]}") == 0);
  REQUIRE_OK(floe_io_create(io, "s3://unit/drop/lost.bin", &w, &err), &err);
  int wrc = floe_io_writer_write(w, data, n, &err);
  if (wrc == FLOE_OK) wrc = floe_io_writer_close(w, &err);
  else floe_io_writer_abort(w);
  CHECK_INT_EQ(wrc, FLOE_ENETWORK);
  CHECK(strstr(err.message, "bucket=unit key=drop/lost.bin") != NULL);
  REQUIRE(set_rules("{\"rules\":[]}") == 0);
  CHECK_INT_EQ(object_exists(io, "s3://unit/drop/lost.bin"), 0);
  CHECK_INT_EQ(uploads_in_progress("unit"), 0);
  /* A conditional PUT that landed but whose answer was lost: the retry
   * meets 412, finds its own bytes and succeeds. */
  REQUIRE(set_rules("{\"rules\":[{\"method\":\"PUT\",\"count\":1,\"action\":"
                    "\"forward_then_drop\"}]}") == 0);
  CHECK_OK(floe_io_write_atomic(io, "s3://unit/drop/v7.metadata.json", "meta",
                                4, FLOE_IO_NO_REPLACE, &err), &err);
  log = proxy_log();
  CHECK_INT_EQ(count_log(log, "PUT", "", "forward_then_drop"), 1);
  json_decref(log);
  /* ... and another writer's object under that name is still a conflict. */
  REQUIRE(set_rules("{\"rules\":[{\"method\":\"PUT\",\"count\":1,\"action\":"
                    "\"forward_then_drop\"}]}") == 0);
  CHECK_OK(floe_io_write_atomic(io, "s3://unit/drop/v8.metadata.json", "mine",
                                4, FLOE_IO_NO_REPLACE, &err), &err);
  CHECK_INT_EQ(floe_io_write_atomic(io, "s3://unit/drop/v8.metadata.json",
                                    "theirs", 6, FLOE_IO_NO_REPLACE, &err),
               FLOE_EEXISTS);
  /* A completed multipart upload whose answer was lost. */
  REQUIRE(set_rules("{\"rules\":[{\"method\":\"POST\",\"query_contains\":"
                    "\"uploadId\",\"count\":1,\"action\":"
                    "\"forward_then_drop\"}]}") == 0);
  REQUIRE_OK(floe_io_create(io, "s3://unit/drop/mp.bin", &w, &err), &err);
  CHECK_OK(floe_io_writer_write(w, data, n, &err), &err);
  CHECK_OK(floe_io_writer_close(w, &err), &err);
  REQUIRE(set_rules("{\"rules\":[]}") == 0);
  CHECK_OK(floe_io_read_all(io, "s3://unit/drop/mp.bin", n, &got, &got_len,
                            &err), &err);
  CHECK(got_len == n && got != NULL && memcmp(got, data, n) == 0);
  floe_free(got);
  free(data);
  floe_io_free(io);
}

/* The access key id the proxy saw on the last logged request. */
static void last_akid(char *out, size_t cap, int *token) {
  out[0] = '\0';
  json_t *log = proxy_log();
  size_t n = json_array_size(log);
  if (n > 0) {
    json_t *e = json_array_get(log, n - 1);
    snprintf(out, cap, "%s", json_string_value(json_object_get(e, "akid")));
    *token = json_is_true(json_object_get(e, "token"));
  }
  json_decref(log);
}

static void test_credentials_chain(void) {
  REQUIRE(servers_ok);
  floe_error err = {0};
  char akid[128];
  int token = 0;
  /* Environment. */
  REQUIRE(set_rules("{\"rules\":[]}") == 0);
  floe_io *io = open_s3(proxy.endpoint, NULL);
  REQUIRE(io != NULL);
  CHECK_OK(floe_io_write_atomic(io, "s3://unit/cred/env", "e", 1, 0, &err),
           &err);
  last_akid(akid, sizeof akid, &token);
  CHECK_STR_EQ(akid, "testing-key");
  CHECK(!token);
  floe_io_free(io);
  /* Config keys win over the environment. */
  floe_io_s3_options o = {0};
  o.access_key_id = "AKIACONFIG";
  o.secret_access_key = "config-secret";
  o.session_token = "config-token";
  io = open_s3(proxy.endpoint, &o);
  REQUIRE(io != NULL);
  CHECK_OK(floe_io_write_atomic(io, "s3://unit/cred/cfg", "c", 1, 0, &err),
           &err);
  last_akid(akid, sizeof akid, &token);
  CHECK_STR_EQ(akid, "AKIACONFIG");
  CHECK(token);
  floe_io_free(io);
  /* A named profile in the shared credentials file. */
  FILE *f = fopen("tmp/s3_credentials", "w");
  REQUIRE(f != NULL);
  fprintf(f, "[default]\naws_access_key_id = AKIADEFAULT\n"
             "aws_secret_access_key = d\n\n[floe-test]\n"
             "aws_access_key_id = AKIAPROFILE\naws_secret_access_key = p\n");
  fclose(f);
  setenv("AWS_SHARED_CREDENTIALS_FILE", "tmp/s3_credentials", 1);
  setenv("AWS_CONFIG_FILE", "tmp/s3_no_config", 1);
  floe_io_s3_options po = {0};
  po.profile = "floe-test";
  io = open_s3(proxy.endpoint, &po);
  REQUIRE(io != NULL);
  CHECK_OK(floe_io_write_atomic(io, "s3://unit/cred/profile", "p", 1, 0, &err),
           &err);
  last_akid(akid, sizeof akid, &token);
  CHECK_STR_EQ(akid, "AKIAPROFILE");
  floe_io_free(io);
  /* Without env keys, AWS_PROFILE's profile. */
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  io = open_s3(proxy.endpoint, NULL);
  REQUIRE(io != NULL);
  CHECK_OK(floe_io_write_atomic(io, "s3://unit/cred/default", "d", 1, 0, &err),
           &err);
  last_akid(akid, sizeof akid, &token);
  CHECK_STR_EQ(akid, "AKIADEFAULT");
  floe_io_free(io);
  /* Web identity: STS AssumeRoleWithWebIdentity at the test server. */
  setenv("AWS_SHARED_CREDENTIALS_FILE", "tmp/s3_no_credentials", 1);
  f = fopen("tmp/s3_web_token", "w");
  REQUIRE(f != NULL);
  fprintf(f, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmbG9lIn0.c2lnbmF0dXJl\n");
  fclose(f);
  setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "tmp/s3_web_token", 1);
  setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/floe-writer", 1);
  setenv("AWS_ENDPOINT_URL_STS", moto.endpoint, 1);
  io = open_s3(proxy.endpoint, NULL);
  REQUIRE(io != NULL);
  CHECK_OK(floe_io_write_atomic(io, "s3://unit/cred/web", "w", 1, 0, &err),
           &err);
  last_akid(akid, sizeof akid, &token);
  CHECK(strncmp(akid, "ASIA", 4) == 0);
  CHECK(token);
  floe_io_free(io);
  unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
  unsetenv("AWS_ROLE_ARN");
  unsetenv("AWS_ENDPOINT_URL_STS");
  /* Container endpoint; its credentials expire within the refresh margin,
   * so each request fetches new ones. */
  char uri[128];
  snprintf(uri, sizeof uri, "%s/__creds__", proxy.endpoint);
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
  io = open_s3(proxy.endpoint, NULL);
  REQUIRE(io != NULL);
  CHECK_OK(floe_io_write_atomic(io, "s3://unit/cred/c1", "1", 1, 0, &err),
           &err);
  char first[128];
  last_akid(first, sizeof first, &token);
  CHECK(strncmp(first, "ASIACONTAINER", 13) == 0);
  CHECK(token);
  CHECK_OK(floe_io_write_atomic(io, "s3://unit/cred/c2", "2", 1, 0, &err),
           &err);
  last_akid(akid, sizeof akid, &token);
  CHECK(strncmp(akid, "ASIACONTAINER", 13) == 0);
  CHECK(strcmp(akid, first) != 0);
  floe_io_free(io);
  unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  /* Instance metadata (IMDSv2) at a configured endpoint: a session token
   * first, then the role, then its credentials, which expire within the
   * refresh margin, so each request fetches new ones. */
  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", proxy.endpoint, 1);
  unsetenv("AWS_EC2_METADATA_DISABLED");
  io = open_s3(proxy.endpoint, NULL);
  REQUIRE(io != NULL);
  CHECK_OK(floe_io_write_atomic(io, "s3://unit/cred/i1", "1", 1, 0, &err),
           &err);
  last_akid(first, sizeof first, &token);
  CHECK_STR_EQ(first, "ASIAIMDS0001");
  CHECK(token);
  CHECK_OK(floe_io_write_atomic(io, "s3://unit/cred/i2", "2", 1, 0, &err),
           &err);
  last_akid(akid, sizeof akid, &token);
  CHECK_STR_EQ(akid, "ASIAIMDS0002");
  floe_io_free(io);
  json_t *imds = proxy_get_json("/__imds__");
  CHECK_INT_EQ(json_integer_value(json_object_get(imds, "tokens")), 2);
  CHECK_INT_EQ(json_integer_value(json_object_get(imds, "refused")), 0);
  json_decref(imds);
  unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  /* Nothing anywhere: an error naming where it looked, no request sent. */
  io = open_s3(proxy.endpoint, NULL);
  REQUIRE(io != NULL);
  CHECK_INT_EQ(floe_io_write_atomic(io, "s3://unit/cred/none", "n", 1, 0, &err),
               FLOE_EINVAL);
  CHECK(strstr(err.message, "no credentials found") != NULL);
  floe_io_free(io);
  unsetenv("AWS_SHARED_CREDENTIALS_FILE");
  unsetenv("AWS_CONFIG_FILE");
  s3_test_env();
}

/* The refresh callback of a vended io: a new key on every call. */
static int vend_calls;
static char vend_key[32];
static int vend_refresh(void *ctx, floe_io_s3_credentials *out,
                        floe_error *err) {
  (void)err;
  CHECK(ctx == &vend_calls);
  vend_calls++;
  snprintf(vend_key, sizeof vend_key, "VENDEDREFRESH%d", vend_calls);
  out->access_key_id = vend_key;
  out->secret_access_key = "vended-refreshed-secret";
  out->session_token = "vended-refreshed-token";
  out->expires_ms = 0; /* does not expire: no further refresh */
  return FLOE_OK;
}

static void test_vended_credentials_replace_the_chain(void) {
  REQUIRE(servers_ok);
  floe_error err = {0};
  char akid[64];
  int token = 0;
  /* The base io signs with the environment's key; a vended io for one
   * table takes its endpoint and settings but signs with the vended key. */
  floe_io *base = open_s3(proxy.endpoint, NULL);
  REQUIRE(base != NULL);
  floe_io_s3_credentials vended = {"VENDEDKEY1", "vended-secret-1", NULL, 0};
  floe_io *io = NULL;
  CHECK_OK(floe_io_s3_open_vended(base, NULL, NULL, -1, &vended, NULL, NULL,
                                  &io, &err), &err);
  REQUIRE(io != NULL);
  CHECK_OK(floe_io_write_atomic(io, "s3://unit/vended/a", "a", 1, 0, &err), &err);
  last_akid(akid, sizeof akid, &token);
  CHECK_STR_EQ(akid, "VENDEDKEY1");
  CHECK(!token);
  CHECK_OK(floe_io_write_atomic(base, "s3://unit/vended/b", "b", 1, 0, &err), &err);
  last_akid(akid, sizeof akid, &token);
  CHECK_STR_EQ(akid, "testing-key");
  /* A reload brings new ones: swapped in place. */
  floe_io_s3_credentials rotated = {"VENDEDKEY2", "vended-secret-2", "tok", 0};
  CHECK_OK(floe_io_s3_set_credentials(io, &rotated, &err), &err);
  CHECK_OK(floe_io_write_atomic(io, "s3://unit/vended/c", "c", 1, 0, &err), &err);
  last_akid(akid, sizeof akid, &token);
  CHECK_STR_EQ(akid, "VENDEDKEY2");
  CHECK(token);
  floe_io_free(io);
  io = NULL;
  /* Announced expiry within the margin: the callback is asked first. */
  vend_calls = 0;
  floe_io_s3_credentials expiring = {"VENDEDOLD", "old-secret", NULL,
                                     (int64_t)time(NULL) * 1000 + 60000};
  CHECK_OK(floe_io_s3_open_vended(NULL, proxy.endpoint, "us-east-1", 1,
                                  &expiring, vend_refresh, &vend_calls, &io,
                                  &err), &err);
  CHECK_OK(floe_io_write_atomic(io, "s3://unit/vended/d", "d", 1, 0, &err), &err);
  last_akid(akid, sizeof akid, &token);
  CHECK_STR_EQ(akid, "VENDEDREFRESH1");
  CHECK_OK(floe_io_write_atomic(io, "s3://unit/vended/e", "e", 1, 0, &err), &err);
  CHECK_INT_EQ(vend_calls, 1);
  floe_io_free(io);
  /* No key or secret: refused, and nothing without a secret is opened. */
  floe_io_s3_credentials half = {"K", NULL, NULL, 0};
  io = NULL;
  CHECK_INT_EQ(floe_io_s3_open_vended(base, NULL, NULL, -1, &half, NULL, NULL,
                                      &io, &err), FLOE_EINVAL);
  CHECK(io == NULL);
  CHECK_INT_EQ(floe_io_s3_set_credentials(base, &half, &err), FLOE_EINVAL);
  floe_io_free(base);
}

static void test_unsupported_scheme_and_bad_endpoint(void) {
  floe_io *io = NULL;
  floe_error err = {0};
  CHECK_INT_EQ(floe_io_open_for("gs://bucket/x", NULL, &io, &err),
               FLOE_EUNSUPPORTED);
  CHECK(strstr(err.message, "gs") != NULL);
  CHECK_OK(floe_io_open_for("s3a://bucket/x", NULL, &io, &err), &err);
  CHECK(io != NULL && strcmp(io->ops->name, "s3") == 0);
  floe_io_free(io);
  io = NULL;
  CHECK_OK(floe_io_open_for("/tmp/x", NULL, &io, &err), &err);
  CHECK(io != NULL && strcmp(io->ops->name, "local") == 0);
  floe_io_free(io);
  floe_io_s3_options o = {0};
  o.endpoint = "ftp://127.0.0.1:1";
  io = NULL;
  CHECK_INT_EQ(floe_io_s3_open(&o, &io, &err), FLOE_EINVAL);
}

int main(void) {
  s3_test_env();
  servers_ok = s3_test_start_moto(&moto) == 0 &&
               s3_test_start_proxy(&proxy, &moto) == 0 &&
               s3_test_make_bucket(&moto, "unit") == 0;
  if (!servers_ok) printf("  the S3 test server did not start\n");
  RUN(test_write_read_and_scheme_forms);
  RUN(test_ranged_reads_with_read_ahead);
  RUN(test_never_replace_is_a_conditional_create);
  RUN(test_multipart_upload_streams_in_parts);
  RUN(test_list_pages_dirs_and_deletes);
  RUN(test_transient_errors_are_retried_others_not);
  RUN(test_dropped_connections_mid_upload);
  RUN(test_credentials_chain);
  RUN(test_vended_credentials_replace_the_chain);
  RUN(test_unsupported_scheme_and_bad_endpoint);
  s3_test_stop(&proxy);
  s3_test_stop(&moto);
  return test_report();
}
