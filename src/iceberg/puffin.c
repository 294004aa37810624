/*
 * iceberg/puffin.c: reads Puffin files (format/puffin-spec.md), the
 * container Iceberg uses for statistics sketches and v3 deletion vectors.
 *
 * Layout: Magic "PFA1", the blobs, then the footer: Magic, FooterPayload
 * (UTF-8 JSON, optionally one LZ4 frame), FooterPayloadSize (4-byte LE),
 * Flags (4 bytes; byte 0 bit 0 = payload compressed), Magic. The reader
 * fetches the 12-byte tail first, then the footer, parses the JSON into
 * blob metadata held in one arena, and checks every blob's offset and
 * length against the file before anything is read. Blobs are read on
 * demand and decompressed: zstd frames through core/compress, LZ4 frames
 * through liblz4's frame API (core/compress handles LZ4 blocks only).
 * Unknown flag bits are refused, as the spec requires of readers.
 */
#include <lz4frame.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/compress.h"
#include "floe/scan.h"
#include "iceberg/iceberg_internal.h"

#define PUFFIN_MAGIC "PFA1"
#define FOOTER_TAIL 12 /* payload size, flags, magic */
/* Footers and blobs are small metadata; refuse absurd sizes before
 * allocating. */
#define MAX_FOOTER_BYTES (64u << 20)
#define MAX_BLOB_BYTES ((size_t)1 << 31)

struct floe_puffin_reader {
  floe_io_file *file;
  char *path;
  floe_arena *arena;
  uint32_t flags;
  int32_t n_blobs;
  floe_puffin_blob *blobs;
  int32_t n_properties;
  floe_iceberg_property *properties;
  floe_codec_ctx codec;
};

void floe_puffin_reader_free(floe_puffin_reader *r) {
  if (r == NULL) return;
  floe_io_file_close(r->file);
  ice_arena_destroy(r->arena);
  floe_codec_ctx_free(&r->codec);
  floe_free(r->path);
  floe_free(r);
}

/* Inflates one LZ4 frame (Puffin "lz4": a single frame) into out. */
static int lz4_frame_decompress(const uint8_t *src, size_t n, floe_buf *out,
                                size_t max_size, floe_error *err) {
  LZ4F_dctx *dctx = NULL;
  int rc = FLOE_OK;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
    return floe_error_set(err, FLOE_ENOMEM, "lz4: cannot create a decompression context");
  size_t pos = 0;
  for (;;) {
    if (out->len >= max_size) {
      rc = floe_error_set(err, FLOE_EFORMAT, "lz4: output exceeds %zu bytes", max_size);
      goto cleanup;
    }
    FLOE_TRY(floe_buf_reserve(out, 64 * 1024) < 0 ? floe_error_set(err, FLOE_ENOMEM, "lz4: out of memory")
                                                   : FLOE_OK);
    size_t dst_size = out->cap - out->len;
    size_t src_size = n - pos;
    size_t hint = LZ4F_decompress(dctx, out->data + out->len, &dst_size, src + pos, &src_size, NULL);
    if (LZ4F_isError(hint)) {
      rc = floe_error_set(err, FLOE_EFORMAT, "lz4: %s", LZ4F_getErrorName(hint));
      goto cleanup;
    }
    out->len += dst_size;
    pos += src_size;
    if (hint == 0) break; /* frame complete */
    if (pos >= n && dst_size == 0) {
      rc = floe_error_set(err, FLOE_EFORMAT, "lz4: frame truncated");
      goto cleanup;
    }
  }
  if (pos != n) rc = floe_error_set(err, FLOE_EFORMAT, "lz4: %zu bytes after the frame", n - pos);
cleanup:
  LZ4F_freeDecompressionContext(dctx);
  return rc;
}

static int get_i64_required(const json_t *obj, const char *key, int64_t *out,
                            floe_error *err) {
  int rc = ice_json_get_i64(obj, key, out, err);
  if (rc == FLOE_ENOTFOUND) return floe_error_set(err, FLOE_EFORMAT, "blob is missing \"%s\"", key);
  return rc;
}

static int parse_properties(floe_arena *arena, const json_t *obj,
                            floe_iceberg_property **out, int32_t *out_n,
                            floe_error *err) {
  *out = NULL;
  *out_n = 0;
  if (obj == NULL || json_is_null(obj)) return FLOE_OK;
  if (!json_is_object(obj)) return floe_error_set(err, FLOE_EFORMAT, "\"properties\" is not an object");
  size_t n = json_object_size(obj);
  floe_iceberg_property *props = floe_arena_calloc(arena, n ? n : 1, sizeof *props);
  if (props == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  const char *key;
  json_t *value;
  int32_t i = 0;
  json_object_foreach((json_t *)obj, key, value) {
    if (!json_is_string(value))
      return floe_error_set(err, FLOE_EFORMAT, "property \"%s\" is not a string", key);
    props[i].key = floe_arena_strdup(arena, key);
    props[i].value = floe_arena_strndup(arena, json_string_value(value), json_string_length(value));
    if (props[i].key == NULL || props[i].value == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    i++;
  }
  *out = props;
  *out_n = i;
  return FLOE_OK;
}

static int parse_footer(floe_puffin_reader *r, const char *json, size_t len,
                        uint64_t blob_area_end, floe_error *err) {
  json_t *root = NULL;
  int rc = FLOE_OK;
  FLOE_TRY(ice_json_load(json, len, "puffin footer", &root, err));
  if (!json_is_object(root)) {
    rc = floe_error_set(err, FLOE_EFORMAT, "footer payload is not a JSON object");
    goto cleanup;
  }
  json_t *blobs = json_object_get(root, "blobs");
  if (!json_is_array(blobs)) {
    rc = floe_error_set(err, FLOE_EFORMAT, "footer payload has no \"blobs\" array");
    goto cleanup;
  }
  size_t n = json_array_size(blobs);
  r->blobs = floe_arena_calloc(r->arena, n ? n : 1, sizeof *r->blobs);
  if (r->blobs == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  for (size_t i = 0; i < n; i++) {
    const json_t *b = json_array_get(blobs, i);
    floe_puffin_blob *blob = &r->blobs[i];
    char *type = NULL, *codec = NULL;
    if (!json_is_object(b)) {
      rc = floe_error_set(err, FLOE_EFORMAT, "blob %zu is not an object", i);
      goto cleanup;
    }
    rc = ice_json_get_str(r->arena, b, "type", &type, err);
    if (rc == FLOE_ENOTFOUND) rc = floe_error_set(err, FLOE_EFORMAT, "blob is missing \"type\"");
    if (rc < 0) goto blob_error;
    blob->type = type;
    json_t *fields = json_object_get(b, "fields");
    if (!json_is_array(fields)) {
      rc = floe_error_set(err, FLOE_EFORMAT, "blob \"%s\" has no \"fields\" array", type);
      goto blob_error;
    }
    size_t nf = json_array_size(fields);
    int32_t *ids = floe_arena_calloc(r->arena, nf ? nf : 1, sizeof *ids);
    if (ids == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    for (size_t k = 0; k < nf; k++) {
      const json_t *f = json_array_get(fields, k);
      if (!json_is_integer(f) || json_integer_value(f) < INT32_MIN || json_integer_value(f) > INT32_MAX) {
        rc = floe_error_set(err, FLOE_EFORMAT, "blob \"%s\": field %zu is not an int", type, k);
        goto blob_error;
      }
      ids[k] = (int32_t)json_integer_value(f);
    }
    blob->fields = ids;
    blob->n_fields = (int32_t)nf;
    FLOE_TRY(get_i64_required(b, "snapshot-id", &blob->snapshot_id, err));
    FLOE_TRY(get_i64_required(b, "sequence-number", &blob->sequence_number, err));
    FLOE_TRY(get_i64_required(b, "offset", &blob->offset, err));
    FLOE_TRY(get_i64_required(b, "length", &blob->length, err));
    rc = ice_json_get_str(r->arena, b, "compression-codec", &codec, err);
    if (rc == FLOE_ENOTFOUND) rc = FLOE_OK;
    if (rc < 0) goto blob_error;
    blob->compression_codec = codec;
    if (codec != NULL && strcmp(codec, "zstd") != 0 && strcmp(codec, "lz4") != 0) {
      rc = floe_error_set(err, FLOE_EUNSUPPORTED, "blob \"%s\": unknown compression-codec \"%s\"", type, codec);
      goto blob_error;
    }
    floe_iceberg_property *props = NULL;
    int32_t n_props = 0;
    FLOE_TRY(parse_properties(r->arena, json_object_get(b, "properties"), &props, &n_props, err));
    blob->properties = props;
    blob->n_properties = n_props;
    /* Blobs live between the leading magic and the footer. */
    if (blob->offset < 4 || blob->length < 0 || (uint64_t)blob->offset > blob_area_end ||
        (uint64_t)blob->length > blob_area_end - (uint64_t)blob->offset) {
      rc = floe_error_set(err, FLOE_EFORMAT,
                          "blob %zu (\"%s\") at offset %lld length %lld lies outside the blob area [4, %llu)", i,
                          type, (long long)blob->offset, (long long)blob->length,
                          (unsigned long long)blob_area_end);
      goto cleanup;
    }
    r->n_blobs = (int32_t)(i + 1);
    continue;
  blob_error:
    floe_error_prefix(err, "blob %zu", i);
    goto cleanup;
  }
  r->n_blobs = (int32_t)n;
  FLOE_TRY(parse_properties(r->arena, json_object_get(root, "properties"), &r->properties, &r->n_properties, err));
cleanup:
  json_decref(root);
  return rc;
}

int floe_puffin_reader_open(floe_puffin_reader **out, floe_io *io,
                            const char *path, floe_error *err) {
  int rc = FLOE_OK;
  floe_puffin_reader *r = NULL;
  uint8_t *footer = NULL;
  floe_buf inflated = FLOE_BUF_INIT;
  *out = NULL;
  ice_json_init();
  r = floe_calloc(1, sizeof *r);
  if (r == NULL) return floe_error_set(err, FLOE_ENOMEM, "puffin %s: out of memory", path);
  floe_codec_ctx_init(&r->codec);
  r->path = floe_strdup(path);
  r->arena = ice_arena_create(4096);
  if (r->path == NULL || r->arena == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "puffin %s: out of memory", path);
    goto cleanup;
  }
  FLOE_TRY(floe_io_open_read(io, path, &r->file, err));
  uint64_t size = floe_io_file_size(r->file);
  /* Smallest file: magic + (magic + empty payload + tail). */
  if (size < 4 + 4 + FOOTER_TAIL) {
    rc = floe_error_set(err, FLOE_EFORMAT, "%s: puffin file of %llu bytes is too short", path,
                        (unsigned long long)size);
    goto cleanup;
  }
  uint8_t head[4], tail[FOOTER_TAIL];
  FLOE_TRY(floe_io_file_read_exact(r->file, 0, head, 4, err));
  FLOE_TRY(floe_io_file_read_exact(r->file, size - FOOTER_TAIL, tail, FOOTER_TAIL, err));
  if (memcmp(head, PUFFIN_MAGIC, 4) != 0 || memcmp(tail + 8, PUFFIN_MAGIC, 4) != 0) {
    rc = floe_error_set(err, FLOE_EFORMAT, "%s: not a puffin file (magic \"PFA1\" missing at %s)", path,
                        memcmp(head, PUFFIN_MAGIC, 4) != 0 ? "the start" : "the end");
    goto cleanup;
  }
  uint32_t payload_size = floe_load_u32le(tail);
  r->flags = floe_load_u32le(tail + 4);
  if ((r->flags & ~FLOE_PUFFIN_FLAG_FOOTER_COMPRESSED) != 0) {
    rc = floe_error_set(err, FLOE_EUNSUPPORTED, "%s: puffin footer: unknown flags 0x%08x", path, r->flags);
    goto cleanup;
  }
  if (payload_size > MAX_FOOTER_BYTES || (uint64_t)payload_size + 4 + FOOTER_TAIL > size - 4) {
    rc = floe_error_set(err, FLOE_EFORMAT, "%s: puffin footer: payload size %u does not fit a %llu-byte file",
                        path, payload_size, (unsigned long long)size);
    goto cleanup;
  }
  uint64_t footer_start = size - FOOTER_TAIL - payload_size - 4;
  footer = floe_malloc((size_t)payload_size + 4 + 1);
  if (footer == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "%s: out of memory", path);
    goto cleanup;
  }
  FLOE_TRY(floe_io_file_read_exact(r->file, footer_start, footer, (size_t)payload_size + 4, err));
  if (memcmp(footer, PUFFIN_MAGIC, 4) != 0) {
    rc = floe_error_set(err, FLOE_EFORMAT, "%s: puffin footer: magic missing at offset %llu", path,
                        (unsigned long long)footer_start);
    goto cleanup;
  }
  const char *payload = (const char *)footer + 4;
  size_t payload_len = payload_size;
  if (r->flags & FLOE_PUFFIN_FLAG_FOOTER_COMPRESSED) {
    rc = lz4_frame_decompress(footer + 4, payload_size, &inflated, MAX_FOOTER_BYTES, err);
    if (rc < 0) {
      floe_error_prefix(err, "%s: puffin footer", path);
      goto cleanup;
    }
    payload = (const char *)inflated.data;
    payload_len = inflated.len;
  }
  rc = parse_footer(r, payload, payload_len, footer_start, err);
  if (rc < 0) {
    floe_error_prefix(err, "%s: puffin footer", path);
    goto cleanup;
  }
  *out = r;
  r = NULL;
cleanup:
  floe_free(footer);
  floe_buf_free(&inflated);
  floe_puffin_reader_free(r);
  return rc;
}

int32_t floe_puffin_reader_num_blobs(const floe_puffin_reader *r) { return r->n_blobs; }

const floe_puffin_blob *floe_puffin_reader_blob(const floe_puffin_reader *r, int32_t i) {
  return i >= 0 && i < r->n_blobs ? &r->blobs[i] : NULL;
}

const floe_iceberg_property *floe_puffin_reader_properties(const floe_puffin_reader *r, int32_t *out_n) {
  *out_n = r->n_properties;
  return r->properties;
}

uint32_t floe_puffin_reader_flags(const floe_puffin_reader *r) { return r->flags; }

int floe_puffin_reader_read_blob(floe_puffin_reader *r, int32_t i, floe_buf *out,
                                 floe_error *err) {
  int rc = FLOE_OK;
  uint8_t *raw = NULL;
  const floe_puffin_blob *blob = floe_puffin_reader_blob(r, i);
  if (blob == NULL)
    return floe_error_set(err, FLOE_EINVAL, "%s: blob %d out of range (%d blobs)", r->path, i, r->n_blobs);
  if ((uint64_t)blob->length > MAX_BLOB_BYTES)
    return floe_error_set(err, FLOE_EUNSUPPORTED, "%s: blob %d is %lld bytes", r->path, i, (long long)blob->length);
  size_t n = (size_t)blob->length;
  if (blob->compression_codec == NULL) {
    if (floe_buf_reserve(out, n) < 0) return floe_error_set(err, FLOE_ENOMEM, "%s: out of memory", r->path);
    rc = floe_io_file_read_exact(r->file, (uint64_t)blob->offset, out->data + out->len, n, err);
    if (rc < 0) return rc;
    out->len += n;
    return FLOE_OK;
  }
  raw = floe_malloc(n ? n : 1);
  if (raw == NULL) return floe_error_set(err, FLOE_ENOMEM, "%s: out of memory", r->path);
  FLOE_TRY(floe_io_file_read_exact(r->file, (uint64_t)blob->offset, raw, n, err));
  if (strcmp(blob->compression_codec, "zstd") == 0)
    rc = floe_decompress_buf(&r->codec, FLOE_CODEC_ZSTD, raw, n, out, MAX_BLOB_BYTES, err);
  else
    rc = lz4_frame_decompress(raw, n, out, MAX_BLOB_BYTES, err);
  if (rc < 0) floe_error_prefix(err, "%s: blob %d (\"%s\", %s)", r->path, i, blob->type, blob->compression_codec);
cleanup:
  floe_free(raw);
  return rc;
}
