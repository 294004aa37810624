/*
 * tests/unit/test_puffin: Puffin files and deletion vectors against the
 * Java-written fixtures (apache/iceberg core test resources, iceberg-go's
 * cross-client files, Trino- and Spark-written DVs) with the values their
 * source tests assert (fixtures README, "Puffin and deletion-vector
 * blobs"), plus corruption, LZ4 and allocation-failure cases built here.
 */
#include <lz4frame.h>

#include "core/compress.h"
#include "floe/io.h"
#include "floe/scan.h"
#include "test.h"

/* Reads a fixture file into a floe_malloc'd buffer; NULL when absent. */
static uint8_t *read_fixture(const char *relative, size_t *out_len) {
  const char *path = test_fixture(relative);
  if (path == NULL) return NULL;
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *data = floe_malloc((size_t)n + 1);
  if (data != NULL && fread(data, 1, (size_t)n, f) != (size_t)n) {
    floe_free(data);
    data = NULL;
  }
  fclose(f);
  *out_len = (size_t)n;
  return data;
}

static bool values_equal(const uint64_t *got, size_t n_got, const uint64_t *want, size_t n_want) {
  if (n_got != n_want) return false;
  for (size_t i = 0; i < n_got; i++)
    if (got[i] != want[i]) return false;
  return true;
}

/* Parses a bare roaring64 fixture and returns its values (caller frees). */
static int roaring_fixture(const char *name, uint64_t **values, size_t *n, floe_error *err) {
  char rel[256];
  snprintf(rel, sizeof rel, "puffin/apache-iceberg/deletes/%s", name);
  size_t len = 0;
  uint8_t *data = read_fixture(rel, &len);
  if (data == NULL) return 1;
  floe_roaring64 *bm = NULL;
  size_t consumed = 0;
  int rc = floe_roaring64_deserialize(&bm, data, len, &consumed, err);
  if (rc == 0 && consumed != len) rc = floe_error_set(err, FLOE_EFORMAT, "consumed %zu of %zu", consumed, len);
  if (rc == 0) rc = floe_roaring64_to_array(bm, values, n, err);
  if (rc == 0 && floe_roaring64_cardinality(bm) != *n) rc = floe_error_set(err, FLOE_EFORMAT, "cardinality");
  floe_roaring64_free(bm);
  floe_free(data);
  return rc;
}

static void test_roaring64_empty_map(void) {
  floe_error err = {0};
  uint64_t *v = NULL;
  size_t n = 99;
  int rc = roaring_fixture("64mapempty.bin", &v, &n, &err);
  if (rc == 1) SKIP("../shared fixtures absent");
  CHECK_OK(rc, &err);
  CHECK_INT_EQ(n, 0);
  floe_free(v);
}

static void test_roaring64_32bit_values(void) {
  floe_error err = {0};
  uint64_t *v = NULL;
  size_t n = 0;
  int rc = roaring_fixture("64map32bitvals.bin", &v, &n, &err);
  if (rc == 1) SKIP("../shared fixtures absent");
  REQUIRE_OK(rc, &err);
  uint64_t want[10];
  for (int i = 0; i < 10; i++) want[i] = (uint64_t)i;
  CHECK(values_equal(v, n, want, 10));
  floe_free(v);
}

static void test_roaring64_spread_values_over_ten_keys(void) {
  floe_error err = {0};
  uint64_t *v = NULL;
  size_t n = 0;
  int rc = roaring_fixture("64mapspreadvals.bin", &v, &n, &err);
  if (rc == 1) SKIP("../shared fixtures absent");
  REQUIRE_OK(rc, &err);
  uint64_t want[100];
  for (int k = 0; k < 10; k++)
    for (int i = 0; i < 10; i++) want[k * 10 + i] = (uint64_t)k << 32 | (uint64_t)i;
  CHECK_INT_EQ(n, 100);
  CHECK(values_equal(v, n, want, 100));
  floe_free(v);
}

static void test_roaring64_rejects_key_above_int_max(void) {
  floe_error err = {0};
  uint64_t *v = NULL;
  size_t n = 0;
  int rc = roaring_fixture("64maphighvals.bin", &v, &n, &err);
  if (rc == 1) SKIP("../shared fixtures absent");
  CHECK_INT_EQ(rc, FLOE_EFORMAT);
  CHECK(strstr(err.message, "Invalid unsigned key") != NULL);
  CHECK(v == NULL);
}

/* Parses a DV fixture blob and returns its positions. */
static int dv_fixture(const char *name, uint64_t **values, size_t *n, floe_error *err) {
  char rel[256];
  snprintf(rel, sizeof rel, "puffin/apache-iceberg/deletes/%s", name);
  size_t len = 0;
  uint8_t *data = read_fixture(rel, &len);
  if (data == NULL) return 1;
  floe_roaring64 *bm = NULL;
  int rc = floe_deletion_vector_parse(&bm, data, len, err);
  if (rc == 0) rc = floe_roaring64_to_array(bm, values, n, err);
  floe_roaring64_free(bm);
  floe_free(data);
  return rc;
}

static void test_dv_small_alternating_values(void) {
  floe_error err = {0};
  uint64_t *v = NULL;
  size_t n = 0;
  int rc = dv_fixture("small-alternating-values-position-index.bin", &v, &n, &err);
  if (rc == 1) SKIP("../shared fixtures absent");
  REQUIRE_OK(rc, &err);
  uint64_t want[] = {1, 3, 5, 7, 9};
  CHECK(values_equal(v, n, want, 5));
  floe_free(v);
}

static void test_dv_empty(void) {
  floe_error err = {0};
  uint64_t *v = NULL;
  size_t n = 7;
  int rc = dv_fixture("empty-position-index.bin", &v, &n, &err);
  if (rc == 1) SKIP("../shared fixtures absent");
  CHECK_OK(rc, &err);
  CHECK_INT_EQ(n, 0);
  floe_free(v);
}

static void test_dv_small_and_large_values(void) {
  floe_error err = {0};
  uint64_t *v = NULL;
  size_t n = 0;
  int rc = dv_fixture("small-and-large-values-position-index.bin", &v, &n, &err);
  if (rc == 1) SKIP("../shared fixtures absent");
  REQUIRE_OK(rc, &err);
  uint64_t want[] = {100, 101, 2147483747ull, 2147483748ull};
  CHECK(values_equal(v, n, want, 4));
  floe_free(v);
}

static void test_dv_all_container_types(void) {
  floe_error err = {0};
  size_t len = 0;
  uint8_t *data = read_fixture("puffin/apache-iceberg/deletes/all-container-types-position-index.bin", &len);
  if (data == NULL) SKIP("../shared fixtures absent");
  floe_roaring64 *bm = NULL;
  int rc = floe_deletion_vector_parse(&bm, data, len, &err);
  floe_free(data);
  REQUIRE_OK(rc, &err);
  /* The exact set (fixtures README): array, run and bitmap containers. */
  size_t cap = 140000, n_want = 0;
  uint64_t *want = floe_malloc(cap * sizeof *want);
  REQUIRE(want != NULL);
  const uint64_t hi = 1ull << 32;
  want[n_want++] = 5;
  want[n_want++] = 7;
  for (uint64_t x = 65537; x <= 66535; x++) want[n_want++] = x;
  for (uint64_t x = 131073; x <= 196606; x++) want[n_want++] = x;
  want[n_want++] = hi + 10;
  want[n_want++] = hi + 20;
  for (uint64_t x = hi + 65546; x <= hi + 66035; x++) want[n_want++] = x;
  for (uint64_t x = hi + 131073; x <= hi + 196606; x++) want[n_want++] = x;
  CHECK_INT_EQ(n_want, 132561);
  CHECK_INT_EQ(floe_roaring64_cardinality(bm), 132561);
  uint64_t *v = NULL;
  size_t n = 0;
  CHECK_OK(floe_roaring64_to_array(bm, &v, &n, &err), &err);
  CHECK(values_equal(v, n, want, n_want));
  /* contains() agrees with the enumeration, and rejects neighbours. */
  size_t misses = 0;
  for (size_t i = 0; i < n_want; i++)
    if (!floe_roaring64_contains(bm, want[i])) misses++;
  CHECK_INT_EQ(misses, 0);
  CHECK(!floe_roaring64_contains(bm, 6));
  CHECK(!floe_roaring64_contains(bm, 65536));
  CHECK(!floe_roaring64_contains(bm, 66536));
  CHECK(!floe_roaring64_contains(bm, 196607));
  CHECK(!floe_roaring64_contains(bm, hi + 11));
  CHECK(!floe_roaring64_contains(bm, 2 * hi + 10));
  floe_free(v);
  floe_free(want);
  floe_roaring64_free(bm);
}

static void test_dv_rejects_bad_crc_length_and_magic(void) {
  floe_error err = {0};
  size_t len = 0;
  uint8_t *data = read_fixture("puffin/apache-iceberg/deletes/small-alternating-values-position-index.bin", &len);
  if (data == NULL) SKIP("../shared fixtures absent");
  floe_roaring64 *bm = NULL;
  data[len - 1] ^= 1;
  CHECK_INT_EQ(floe_deletion_vector_parse(&bm, data, len, &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "CRC") != NULL);
  data[len - 1] ^= 1;
  data[20] ^= 0x40; /* inside the bitmap: the CRC catches it */
  CHECK_INT_EQ(floe_deletion_vector_parse(&bm, data, len, &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "CRC") != NULL);
  data[20] ^= 0x40;
  CHECK_INT_EQ(floe_deletion_vector_parse(&bm, data, len - 1, &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "length") != NULL);
  data[4] = 0;
  CHECK_INT_EQ(floe_deletion_vector_parse(&bm, data, len, &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "magic") != NULL);
  CHECK(bm == NULL);
  data[4] = 0xD1;
  CHECK_OK(floe_deletion_vector_parse(&bm, data, len, &err), &err);
  CHECK_INT_EQ(floe_roaring64_cardinality(bm), 5);
  floe_roaring64_free(bm);
  floe_free(data);
}

static void test_roaring64_truncations_fail_cleanly(void) {
  floe_error err = {0};
  size_t len = 0;
  uint8_t *data = read_fixture("puffin/apache-iceberg/deletes/all-container-types-position-index.bin", &len);
  if (data == NULL) SKIP("../shared fixtures absent");
  /* Every proper prefix of the bitmap is rejected, never over-read. */
  int failures = 0;
  for (size_t cut = 0; cut < len - 12; cut++) {
    floe_roaring64 *bm = NULL;
    uint8_t *copy = floe_malloc(cut + 1);
    memcpy(copy, data + 8, cut);
    int rc = floe_roaring64_deserialize(&bm, copy, cut, NULL, &err);
    if (rc == FLOE_EFORMAT && bm == NULL) failures++;
    floe_roaring64_free(bm);
    floe_free(copy);
  }
  CHECK_INT_EQ(failures, (int)(len - 12));
  floe_free(data);
}

static void test_roaring64_allocation_failures(void) {
  floe_error err = {0};
  size_t len = 0;
  uint8_t *data = read_fixture("puffin/apache-iceberg/deletes/64mapspreadvals.bin", &len);
  if (data == NULL) SKIP("../shared fixtures absent");
  int ok = 0;
  for (long nth = 1; nth < 40; nth++) {
    floe_roaring64 *bm = NULL;
    floe_alloc_fail_after(nth);
    int rc = floe_roaring64_deserialize(&bm, data, len, NULL, &err);
    floe_alloc_fail_after(0);
    if (rc == 0) {
      CHECK_INT_EQ(floe_roaring64_cardinality(bm), 100);
      ok++;
    } else {
      CHECK_INT_EQ(rc, FLOE_ENOMEM);
      CHECK(bm == NULL);
    }
    floe_roaring64_free(bm);
  }
  CHECK(ok > 0);
  floe_free(data);
}

/* ---- Puffin files ------------------------------------------------------ */

static const char *prop(const floe_iceberg_property *p, int32_t n, const char *key) {
  for (int32_t i = 0; i < n; i++)
    if (strcmp(p[i].key, key) == 0) return p[i].value;
  return NULL;
}

static void test_puffin_empty_file(void) {
  const char *path = test_fixture("puffin/apache-iceberg/puffin-v1/empty-puffin-uncompressed.bin");
  if (path == NULL) SKIP("../shared fixtures absent");
  floe_error err = {0};
  floe_io *io = NULL;
  floe_puffin_reader *r = NULL;
  REQUIRE_OK(floe_io_local_open(NULL, &io, &err), &err);
  CHECK_OK(floe_puffin_reader_open(&r, io, path, &err), &err);
  if (r != NULL) {
    CHECK_INT_EQ(floe_puffin_reader_num_blobs(r), 0);
    CHECK_INT_EQ(floe_puffin_reader_flags(r), 0);
    CHECK(floe_puffin_reader_blob(r, 0) == NULL);
  }
  floe_puffin_reader_free(r);
  floe_io_free(io);
}

/* Checks the two blobs of the sample-metric-data files; returns the second
 * blob's bytes in `other`. */
static void check_sample_metric_data(const char *rel, const char *codec, floe_buf *other) {
  const char *path = test_fixture(rel);
  if (path == NULL) return;
  floe_error err = {0};
  floe_io *io = NULL;
  floe_puffin_reader *r = NULL;
  floe_buf blob = FLOE_BUF_INIT;
  if (floe_io_local_open(NULL, &io, &err) != 0) return;
  CHECK_OK(floe_puffin_reader_open(&r, io, path, &err), &err);
  if (r == NULL) goto done;
  CHECK_INT_EQ(floe_puffin_reader_num_blobs(r), 2);
  if (floe_puffin_reader_num_blobs(r) != 2) goto done;
  const floe_puffin_blob *b0 = floe_puffin_reader_blob(r, 0), *b1 = floe_puffin_reader_blob(r, 1);
  CHECK_STR_EQ(b0->type, "some-blob");
  CHECK_STR_EQ(b1->type, "some-other-blob");
  CHECK_INT_EQ(b0->n_fields, 1);
  CHECK_INT_EQ(b0->fields[0], 1);
  CHECK_INT_EQ(b1->fields[0], 2);
  CHECK_INT_EQ(b0->snapshot_id, 2);
  CHECK_INT_EQ(b0->sequence_number, 1);
  if (codec == NULL) {
    CHECK(b0->compression_codec == NULL);
    CHECK_INT_EQ(b0->offset, 4);
    CHECK_INT_EQ(b0->length, 9);
    CHECK_INT_EQ(b1->offset, 13);
    CHECK_INT_EQ(b1->length, 83);
  } else {
    CHECK_STR_EQ(b0->compression_codec, codec);
    CHECK_STR_EQ(b1->compression_codec, codec);
  }
  int32_t np = 0;
  const floe_iceberg_property *props = floe_puffin_reader_properties(r, &np);
  CHECK_STR_EQ(prop(props, np, "created-by"), "Test 1234");
  CHECK_OK(floe_puffin_reader_read_blob(r, 0, &blob, &err), &err);
  CHECK_INT_EQ(blob.len, 9);
  CHECK(blob.len == 9 && memcmp(blob.data, "abcdefghi", 9) == 0);
  CHECK_OK(floe_puffin_reader_read_blob(r, 1, other, &err), &err);
  CHECK_INT_EQ(other->len, 83);
  CHECK(memchr(other->data, 0, other->len) != NULL);           /* embedded NUL */
  CHECK(memmem(other->data, other->len, "\xf0\x9f", 2) != NULL); /* an emoji */
  CHECK(other->len >= 83 && memcmp(other->data + 71, "long, is it?", 12) == 0);
  CHECK_INT_EQ(floe_puffin_reader_read_blob(r, 2, &blob, &err), FLOE_EINVAL);
done:
  floe_buf_free(&blob);
  floe_puffin_reader_free(r);
  floe_io_free(io);
}

static void test_puffin_sample_metric_data_uncompressed_and_zstd(void) {
  if (test_fixture("puffin/apache-iceberg/puffin-v1/sample-metric-data-uncompressed.bin") == NULL)
    SKIP("../shared fixtures absent");
  floe_buf plain = FLOE_BUF_INIT, zstd = FLOE_BUF_INIT;
  check_sample_metric_data("puffin/apache-iceberg/puffin-v1/sample-metric-data-uncompressed.bin", NULL, &plain);
  check_sample_metric_data("puffin/apache-iceberg/puffin-v1/sample-metric-data-compressed-zstd.bin", "zstd", &zstd);
  CHECK(plain.len == 83 && zstd.len == 83 && memcmp(plain.data, zstd.data, 83) == 0);
  floe_buf_free(&plain);
  floe_buf_free(&zstd);
}

/* Reads blob i of a Puffin file as a DV and returns its positions. */
static void check_dv_blob(floe_puffin_reader *r, int32_t i, const char *ref, const uint64_t *want, size_t n_want) {
  floe_error err = {0};
  floe_buf blob = FLOE_BUF_INIT;
  floe_roaring64 *bm = NULL;
  uint64_t *v = NULL;
  size_t n = 0;
  const floe_puffin_blob *b = floe_puffin_reader_blob(r, i);
  REQUIRE(b != NULL);
  CHECK_STR_EQ(b->type, "deletion-vector-v1");
  CHECK_STR_EQ(prop(b->properties, b->n_properties, "referenced-data-file"), ref);
  char card[32];
  snprintf(card, sizeof card, "%zu", n_want);
  CHECK_STR_EQ(prop(b->properties, b->n_properties, "cardinality"), card);
  CHECK_OK(floe_puffin_reader_read_blob(r, i, &blob, &err), &err);
  CHECK_OK(floe_deletion_vector_parse(&bm, blob.data, blob.len, &err), &err);
  CHECK_OK(floe_roaring64_to_array(bm, &v, &n, &err), &err);
  CHECK(values_equal(v, n, want, n_want));
  floe_free(v);
  floe_roaring64_free(bm);
  floe_buf_free(&blob);
}

static void test_puffin_iceberg_go_cross_client_dvs(void) {
  const char *single = test_fixture("puffin/iceberg-go/single-blob-dv.puffin");
  if (single == NULL) SKIP("../shared fixtures absent");
  floe_error err = {0};
  floe_io *io = NULL;
  floe_puffin_reader *r = NULL;
  REQUIRE_OK(floe_io_local_open(NULL, &io, &err), &err);
  CHECK_OK(floe_puffin_reader_open(&r, io, single, &err), &err);
  if (r != NULL) {
    CHECK_INT_EQ(floe_puffin_reader_num_blobs(r), 1);
    const floe_puffin_blob *b = floe_puffin_reader_blob(r, 0);
    CHECK_INT_EQ(b->n_fields, 1);
    CHECK_INT_EQ(b->fields[0], 2147483645);
    CHECK_INT_EQ(b->snapshot_id, -1);
    uint64_t want[] = {1, 3, 5, 7, 9};
    check_dv_blob(r, 0, "s3://warehouse/db/table/data/00000-0-abc.parquet", want, 5);
  }
  floe_puffin_reader_free(r);
  r = NULL;
  CHECK_OK(floe_puffin_reader_open(&r, io, test_fixture("puffin/iceberg-go/multi-blob-dv.puffin"), &err), &err);
  if (r != NULL) {
    CHECK_INT_EQ(floe_puffin_reader_num_blobs(r), 2);
    uint64_t want1[] = {0, 100, 200}, want2[] = {50, 150};
    check_dv_blob(r, 0, "s3://warehouse/db/table/data/file-001.parquet", want1, 3);
    check_dv_blob(r, 1, "s3://warehouse/db/table/data/file-002.parquet", want2, 2);
  }
  floe_puffin_reader_free(r);
  floe_io_free(io);
}

static void test_puffin_trino_dv_file_with_two_blobs(void) {
  const char *path = test_fixture(
      "iceberg/lithium_deletion_vectors/data/dv-20260504_111849_00012_8gkte-2ed65adb-8895-4026-bb5e-efcedbf874e5.puffin");
  if (path == NULL) SKIP("../shared fixtures absent");
  floe_error err = {0};
  floe_io *io = NULL;
  floe_puffin_reader *r = NULL;
  REQUIRE_OK(floe_io_local_open(NULL, &io, &err), &err);
  CHECK_OK(floe_puffin_reader_open(&r, io, path, &err), &err);
  if (r != NULL) {
    CHECK_INT_EQ(floe_puffin_reader_num_blobs(r), 2);
    const floe_puffin_blob *b0 = floe_puffin_reader_blob(r, 0), *b1 = floe_puffin_reader_blob(r, 1);
    /* fixtures README: {2,5} at offset 4 (44 bytes), {0,1,3,4,6,7} at 48 (52). */
    CHECK_INT_EQ(b0->offset, 4);
    CHECK_INT_EQ(b0->length, 44);
    CHECK_INT_EQ(b1->offset, 48);
    CHECK_INT_EQ(b1->length, 52);
    CHECK_INT_EQ(b0->n_fields, 0); /* Trino writes "fields": [] */
    uint64_t want0[] = {2, 5}, want1[] = {0, 1, 3, 4, 6, 7};
    check_dv_blob(r, 0,
                  "s3a://warehouse/deletion_vectors/data/20260504_111846_00011_8gkte-7c2867a1-65a0-4133-9132-76d4b294da2a.parquet",
                  want0, 2);
    check_dv_blob(r, 1,
                  "s3a://warehouse/deletion_vectors/data/20260504_111440_00009_8gkte-580c7fe8-68ec-4a8b-8bce-a37f4af02113.parquet",
                  want1, 6);
  }
  floe_puffin_reader_free(r);
  floe_io_free(io);
}

/* Writes bytes to a scratch file; returns its path (static storage). */
static const char *write_scratch(const char *name, const uint8_t *data, size_t len) {
  static char path[4200];
  const char *dir = test_tmpdir("test_puffin");
  if (dir == NULL) return NULL;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL) return NULL;
  fwrite(data, 1, len, f);
  fclose(f);
  return path;
}

/* Assembles a Puffin file: magic, blob bytes, footer with the given
 * payload (compressed with an LZ4 frame when lz4_footer). */
static size_t build_puffin(uint8_t *out, const uint8_t *blob, size_t blob_len, const char *payload, bool lz4_footer) {
  size_t p = 0;
  memcpy(out, "PFA1", 4);
  p = 4;
  memcpy(out + p, blob, blob_len);
  p += blob_len;
  memcpy(out + p, "PFA1", 4);
  p += 4;
  size_t payload_len = strlen(payload);
  if (lz4_footer) {
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof prefs);
    prefs.frameInfo.contentSize = payload_len;
    payload_len = LZ4F_compressFrame(out + p, 4096, payload, strlen(payload), &prefs);
  } else {
    memcpy(out + p, payload, payload_len);
  }
  p += payload_len;
  floe_store_u32le(out + p, (uint32_t)payload_len);
  floe_store_u32le(out + p + 4, lz4_footer ? 1u : 0u);
  memcpy(out + p + 8, "PFA1", 4);
  return p + 12;
}

static void test_puffin_lz4_footer_and_blob(void) {
  floe_error err = {0};
  const char *text = "a blob compressed as one LZ4 frame, a blob compressed as one LZ4 frame";
  uint8_t frame[512], file[8192];
  LZ4F_preferences_t prefs;
  memset(&prefs, 0, sizeof prefs);
  prefs.frameInfo.contentSize = strlen(text);
  size_t frame_len = LZ4F_compressFrame(frame, sizeof frame, text, strlen(text), &prefs);
  REQUIRE(!LZ4F_isError(frame_len));
  char payload[1024];
  snprintf(payload, sizeof payload,
           "{\"blobs\":[{\"type\":\"t\",\"fields\":[7],\"snapshot-id\":5,\"sequence-number\":6,\"offset\":4,"
           "\"length\":%zu,\"compression-codec\":\"lz4\",\"properties\":{\"k\":\"v\"}}],\"properties\":{}}",
           frame_len);
  size_t n = build_puffin(file, frame, frame_len, payload, true);
  const char *path = write_scratch("lz4.puffin", file, n);
  REQUIRE(path != NULL);
  floe_io *io = NULL;
  floe_puffin_reader *r = NULL;
  floe_buf blob = FLOE_BUF_INIT;
  REQUIRE_OK(floe_io_local_open(NULL, &io, &err), &err);
  CHECK_OK(floe_puffin_reader_open(&r, io, path, &err), &err);
  if (r != NULL) {
    CHECK_INT_EQ(floe_puffin_reader_flags(r), 1);
    CHECK_INT_EQ(floe_puffin_reader_num_blobs(r), 1);
    const floe_puffin_blob *b = floe_puffin_reader_blob(r, 0);
    CHECK_INT_EQ(b->fields[0], 7);
    CHECK_INT_EQ(b->sequence_number, 6);
    CHECK_STR_EQ(prop(b->properties, b->n_properties, "k"), "v");
    CHECK_OK(floe_puffin_reader_read_blob(r, 0, &blob, &err), &err);
    CHECK(blob.len == strlen(text) && memcmp(blob.data, text, blob.len) == 0);
  }
  floe_buf_free(&blob);
  floe_puffin_reader_free(r);
  floe_io_free(io);
}

static void test_puffin_rejects_malformed_footers(void) {
  floe_error err = {0};
  uint8_t file[4096];
  floe_io *io = NULL;
  floe_puffin_reader *r = NULL;
  REQUIRE_OK(floe_io_local_open(NULL, &io, &err), &err);
  const uint8_t blob[8] = "12345678";
  struct {
    const char *payload;
    int want;
    const char *msg;
  } cases[] = {
      {"{\"blobs\":[{\"type\":\"t\",\"fields\":[],\"snapshot-id\":1,\"sequence-number\":1,\"offset\":4,\"length\":9}]}",
       FLOE_EFORMAT, "outside the blob area"},
      {"{\"blobs\":[{\"type\":\"t\",\"fields\":[],\"snapshot-id\":1,\"sequence-number\":1,\"offset\":4}]}",
       FLOE_EFORMAT, "\"length\""},
      {"{\"blobs\":[{\"type\":\"t\",\"fields\":[],\"snapshot-id\":1,\"sequence-number\":1,\"offset\":4,\"length\":8,"
       "\"compression-codec\":\"brotli\"}]}",
       FLOE_EUNSUPPORTED, "brotli"},
      {"{\"blobs\":7}", FLOE_EFORMAT, "blobs"},
      {"not json", FLOE_EFORMAT, "puffin footer"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t n = build_puffin(file, blob, 8, cases[i].payload, false);
    const char *path = write_scratch("bad.puffin", file, n);
    int rc = floe_puffin_reader_open(&r, io, path, &err);
    CHECK_INT_EQ(rc, cases[i].want);
    CHECK(strstr(err.message, cases[i].msg) != NULL);
    CHECK(r == NULL);
  }
  /* A well-formed footer, then broken magic and unknown flags. */
  size_t n = build_puffin(file, blob, 8, "{\"blobs\":[]}", false);
  file[n - 8] = 2; /* flags byte 0, bit 1 */
  const char *path = write_scratch("flags.puffin", file, n);
  CHECK_INT_EQ(floe_puffin_reader_open(&r, io, path, &err), FLOE_EUNSUPPORTED);
  file[n - 8] = 0;
  file[0] = 'X';
  path = write_scratch("magic.puffin", file, n);
  CHECK_INT_EQ(floe_puffin_reader_open(&r, io, path, &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "PFA1") != NULL);
  file[0] = 'P';
  path = write_scratch("ok.puffin", file, n);
  CHECK_OK(floe_puffin_reader_open(&r, io, path, &err), &err);
  floe_puffin_reader_free(r);
  floe_io_free(io);
}

int main(void) {
  RUN(test_roaring64_empty_map);
  RUN(test_roaring64_32bit_values);
  RUN(test_roaring64_spread_values_over_ten_keys);
  RUN(test_roaring64_rejects_key_above_int_max);
  RUN(test_dv_small_alternating_values);
  RUN(test_dv_empty);
  RUN(test_dv_small_and_large_values);
  RUN(test_dv_all_container_types);
  RUN(test_dv_rejects_bad_crc_length_and_magic);
  RUN(test_roaring64_truncations_fail_cleanly);
  RUN(test_roaring64_allocation_failures);
  RUN(test_puffin_empty_file);
  RUN(test_puffin_sample_metric_data_uncompressed_and_zstd);
  RUN(test_puffin_iceberg_go_cross_client_dvs);
  RUN(test_puffin_trino_dv_file_with_two_blobs);
  RUN(test_puffin_lz4_footer_and_blob);
  RUN(test_puffin_rejects_malformed_footers);
  return test_report();
}
