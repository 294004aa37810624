/*
 * format/avro/writer: Avro object container files (Avro spec: "Object
 * Container Files").
 *
 * The header is written at open: magic "Obj\1", the metadata map with
 * avro.schema (the caller's JSON, byte for byte: Iceberg readers look for
 * their field-id attributes in it), avro.codec and the caller's entries in
 * order, then the 16-byte sync marker. Records are encoded into a block
 * buffer; when it reaches the target size it is compressed and written as
 * count, size, data, sync. One output function serves memory, files and
 * caller sinks.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/compress.h"
#include "format/avro/avro_internal.h"

enum sink_kind { SINK_BUF, SINK_FILE, SINK_FN };

struct floe_avro_writer {
  floe_avro_schema *schema;
  floe_avro_codec codec;
  floe_codec_ctx codec_ctx;
  size_t block_size;
  uint8_t sync[16];
  floe_buf block;      /* encoded records of the current block */
  floe_buf compressed; /* scratch for the compressed block */
  uint64_t block_records;
  uint64_t records;
  uint64_t bytes;
  enum sink_kind sink;
  floe_buf *dest;
  FILE *file;
  char *path;
  floe_avro_write_fn write;
  void *write_ctx;
};

static int emit(floe_avro_writer *w, const void *data, size_t len, floe_error *err) {
  int rc = FLOE_OK;
  if (len == 0) return FLOE_OK;
  switch (w->sink) {
    case SINK_BUF:
      if (floe_buf_append(w->dest, data, len) < 0)
        rc = floe_error_set(err, FLOE_ENOMEM, "avro writer: out of memory");
      break;
    case SINK_FILE:
      if (w->file == NULL)
        return floe_error_set(err, FLOE_EINVAL, "avro writer %s: already closed", w->path);
      if (fwrite(data, 1, len, w->file) != len)
        rc = floe_error_errno(err, errno, "avro writer %s: write", w->path);
      break;
    case SINK_FN: rc = w->write(w->write_ctx, data, len, err); break;
  }
  if (rc == FLOE_OK) w->bytes += len;
  return rc;
}

static void random_sync(uint8_t sync[16]) {
  if (getrandom(sync, 16, 0) == 16) return;
  /* No entropy source: mix the clock and an address; the marker only has
   * to be unlikely to occur in the data. */
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)sync;
  for (int i = 0; i < 16; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    sync[i] = (uint8_t)(x >> 24);
  }
}

static int put_meta(floe_buf *header, const char *key, const void *value,
                    size_t len) {
  size_t key_len = strlen(key);
  if (floe_buf_append_zigzag(header, (int64_t)key_len) < 0 ||
      floe_buf_append(header, key, key_len) < 0 ||
      floe_buf_append_zigzag(header, (int64_t)len) < 0 ||
      floe_buf_append(header, value, len) < 0)
    return FLOE_ENOMEM;
  return FLOE_OK;
}

static int open_common(floe_avro_writer **out, const floe_avro_writer_config *config,
                       floe_avro_writer *w, floe_error *err) {
  int rc = FLOE_OK;
  floe_buf header = FLOE_BUF_INIT;
  if (config == NULL || config->schema_json == NULL) {
    rc = floe_error_set(err, FLOE_EINVAL, "avro writer: no schema given");
    goto cleanup;
  }
  if ((int)config->codec < FLOE_AVRO_CODEC_NULL || config->codec > FLOE_AVRO_CODEC_ZSTD) {
    rc = floe_error_set(err, FLOE_EINVAL, "avro writer: unknown codec %d", (int)config->codec);
    goto cleanup;
  }
  for (size_t i = 0; i < config->metadata_count; i++) {
    const floe_avro_metadata *m = &config->metadata[i];
    if (m->key == NULL || (m->value == NULL && m->value_len > 0)) {
      rc = floe_error_set(err, FLOE_EINVAL, "avro writer: metadata entry %zu has no key or value", i);
      goto cleanup;
    }
    /* Avro spec: "All metadata properties that start with "avro." are
     * reserved." */
    if (strncmp(m->key, "avro.", 5) == 0) {
      rc = floe_error_set(err, FLOE_EINVAL, "avro writer: metadata key '%s' is reserved", m->key);
      goto cleanup;
    }
  }
  size_t schema_len = config->schema_len ? config->schema_len : strlen(config->schema_json);
  rc = floe_avro_schema_parse(&w->schema, config->schema_json, schema_len, err);
  if (rc < 0) {
    floe_error_prefix(err, "avro writer");
    goto cleanup;
  }
  w->codec = config->codec;
  floe_codec_ctx_init(&w->codec_ctx);
  if (config->compression_level != 0) {
    w->codec_ctx.gzip_level = config->compression_level;
    w->codec_ctx.zstd_level = config->compression_level;
  }
  w->block_size = config->block_size ? config->block_size : 64 * 1024;
  if (config->sync_marker != NULL)
    memcpy(w->sync, config->sync_marker, 16);
  else
    random_sync(w->sync);

  const char *codec_name = floe_avro_codec_name(w->codec);
  if (floe_buf_append(&header, "Obj\x01", 4) < 0 ||
      floe_buf_append_zigzag(&header, (int64_t)(config->metadata_count + 2)) < 0 ||
      put_meta(&header, "avro.schema", config->schema_json, schema_len) < 0 ||
      put_meta(&header, "avro.codec", codec_name, strlen(codec_name)) < 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "avro writer: out of memory");
    goto cleanup;
  }
  for (size_t i = 0; i < config->metadata_count; i++) {
    const floe_avro_metadata *m = &config->metadata[i];
    if (put_meta(&header, m->key, m->value, m->value_len) < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "avro writer: out of memory");
      goto cleanup;
    }
  }
  if (floe_buf_append_byte(&header, 0) < 0 || floe_buf_append(&header, w->sync, 16) < 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "avro writer: out of memory");
    goto cleanup;
  }
  FLOE_TRY(emit(w, header.data, header.len, err));
  *out = w;
  w = NULL;
cleanup:
  floe_buf_free(&header);
  floe_avro_writer_free(w);
  return rc;
}

static floe_avro_writer *new_writer(void) {
  floe_avro_writer *w = floe_calloc(1, sizeof *w);
  if (w == NULL) return NULL;
  floe_codec_ctx_init(&w->codec_ctx);
  return w;
}

int floe_avro_writer_open_buf(floe_avro_writer **out,
                              const floe_avro_writer_config *config,
                              floe_buf *dest, floe_error *err) {
  *out = NULL;
  floe_avro_writer *w = new_writer();
  if (w == NULL) return floe_error_set(err, FLOE_ENOMEM, "avro writer: out of memory");
  w->sink = SINK_BUF;
  w->dest = dest;
  return open_common(out, config, w, err);
}

int floe_avro_writer_open_sink(floe_avro_writer **out,
                               const floe_avro_writer_config *config,
                               floe_avro_write_fn write, void *ctx,
                               floe_error *err) {
  *out = NULL;
  floe_avro_writer *w = new_writer();
  if (w == NULL) return floe_error_set(err, FLOE_ENOMEM, "avro writer: out of memory");
  w->sink = SINK_FN;
  w->write = write;
  w->write_ctx = ctx;
  return open_common(out, config, w, err);
}

int floe_avro_writer_open_path(floe_avro_writer **out,
                               const floe_avro_writer_config *config,
                               const char *path, floe_error *err) {
  *out = NULL;
  floe_avro_writer *w = new_writer();
  if (w == NULL) return floe_error_set(err, FLOE_ENOMEM, "avro writer: out of memory");
  w->sink = SINK_FILE;
  w->path = floe_strdup(path);
  if (w->path == NULL) {
    floe_avro_writer_free(w);
    return floe_error_set(err, FLOE_ENOMEM, "avro writer: out of memory");
  }
  w->file = fopen(path, "wb");
  if (w->file == NULL) {
    int rc = floe_error_errno(err, errno, "avro writer: open %s", path);
    floe_avro_writer_free(w);
    return rc;
  }
  return open_common(out, config, w, err);
}

const floe_avro_schema *floe_avro_writer_schema(const floe_avro_writer *w) {
  return w->schema;
}

int floe_avro_writer_flush(floe_avro_writer *w, floe_error *err) {
  if (w->block_records == 0) return FLOE_OK;
  int rc = FLOE_OK;
  const uint8_t *data = w->block.data;
  size_t len = w->block.len;
  floe_buf_reset(&w->compressed);
  if (w->codec != FLOE_AVRO_CODEC_NULL) {
    floe_codec codec = w->codec == FLOE_AVRO_CODEC_DEFLATE ? FLOE_CODEC_DEFLATE
                       : w->codec == FLOE_AVRO_CODEC_SNAPPY ? FLOE_CODEC_SNAPPY
                                                            : FLOE_CODEC_ZSTD;
    rc = floe_compress(&w->codec_ctx, codec, data, len, &w->compressed, err);
    if (rc < 0) return floe_error_prefix(err, "avro writer"), rc;
    if (w->codec == FLOE_AVRO_CODEC_SNAPPY) {
      /* Avro spec: snappy blocks are followed by the 4-byte big-endian
       * CRC32 of the uncompressed data. */
      uint8_t crc[4];
      floe_store_u32be(crc, floe_crc32(0, data, len));
      if (floe_buf_append(&w->compressed, crc, 4) < 0)
        return floe_error_set(err, FLOE_ENOMEM, "avro writer: out of memory");
    }
    data = w->compressed.data;
    len = w->compressed.len;
  }
  uint8_t prefix[20];
  floe_buf head = {prefix, 0, sizeof prefix};
  floe_buf_put_uvarint(&head, w->block_records << 1);
  floe_buf_put_uvarint(&head, (uint64_t)len << 1);
  if ((rc = emit(w, prefix, head.len, err)) < 0 || (rc = emit(w, data, len, err)) < 0 ||
      (rc = emit(w, w->sync, 16, err)) < 0)
    return rc;
  floe_buf_reset(&w->block);
  w->block_records = 0;
  return FLOE_OK;
}

int floe_avro_writer_append(floe_avro_writer *w, const floe_avro_value *record,
                            floe_error *err) {
  int rc = floe_avro_encode_value(w->schema->root, record, &w->block, err);
  if (rc < 0) return floe_error_prefix(err, "record %llu", (unsigned long long)w->records), rc;
  w->records++;
  w->block_records++;
  if (w->block.len >= w->block_size) return floe_avro_writer_flush(w, err);
  return FLOE_OK;
}

int floe_avro_writer_close(floe_avro_writer *w, floe_error *err) {
  int rc = floe_avro_writer_flush(w, err);
  if (rc < 0) return rc;
  if (w->sink == SINK_FILE && w->file != NULL) {
    FILE *file = w->file;
    w->file = NULL;
    if (fclose(file) != 0) return floe_error_errno(err, errno, "avro writer: close %s", w->path);
  }
  return FLOE_OK;
}

void floe_avro_writer_free(floe_avro_writer *w) {
  if (w == NULL) return;
  if (w->file != NULL) fclose(w->file);
  floe_free(w->path);
  floe_avro_schema_free(w->schema);
  floe_codec_ctx_free(&w->codec_ctx);
  floe_buf_free(&w->block);
  floe_buf_free(&w->compressed);
  floe_free(w);
}

uint64_t floe_avro_writer_record_count(const floe_avro_writer *w) { return w->records; }
uint64_t floe_avro_writer_bytes_written(const floe_avro_writer *w) { return w->bytes; }
const uint8_t *floe_avro_writer_sync_marker(const floe_avro_writer *w) { return w->sync; }
