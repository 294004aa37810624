/*
 * tests/fuzz/fuzz_snowflake_decode: libFuzzer target for the SQL API v2
 * partition decoder (src/source/snowflake_decode.c). The input is fed in
 * chunks whose size comes from its first byte (the decoder must give the
 * same verdict however the bytes arrive), then finished and taken as an
 * Arrow batch; every column is rendered as text. Any crash, over-read,
 * leak or undefined behaviour is a bug. Seeds: the bodies of
 * tests/unit/test_snowflake_decode.c in tests/fuzz/corpus/snowflake_decode/.
 */
#include <stddef.h>
#include <stdint.h>

#include "floe/arrow.h"
#include "source/snowflake_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int decode(const uint8_t *data, size_t size, size_t chunk, int64_t *rows) {
  floe_error err = {0};
  floe_sf_decoder *dec = NULL;
  if (floe_sf_decoder_new(&dec, &err) < 0) return -1;
  floe_sf_decoder_reset(dec, 1);
  int rc = 0;
  for (size_t off = 0; rc == 0 && off < size; off += chunk) {
    size_t n = size - off < chunk ? size - off : chunk;
    rc = floe_sf_decoder_feed(dec, data + off, n, &err);
  }
  if (rc == 0) rc = floe_sf_decoder_finish(dec, &err);
  *rows = -1;
  if (rc == 0 && floe_sf_decoder_columns(dec, NULL) != NULL) {
    struct ArrowArray batch;
    struct ArrowSchema schema;
    rc = floe_sf_decoder_take_batch(dec, &batch, &schema, &err);
    if (rc == 0) {
      *rows = batch.length;
      floe_buf text = FLOE_BUF_INIT;
      for (int64_t c = 0; c < schema.n_children; c++) {
        floe_arrow_view v;
        if (floe_arrow_view_init(&v, schema.children[c], batch.children[c], &err) < 0)
          __builtin_trap();
        for (int64_t i = 0; i < batch.length; i++) {
          floe_buf_reset(&text);
          floe_arrow_view_format(&v, i, &text);
        }
      }
      floe_buf_free(&text);
      floe_arrow_array_release(&batch);
      floe_arrow_schema_release(&schema);
    }
  }
  floe_sf_decoder_free(dec);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t chunk = (size_t)(data[0] % 16) + 1;
  int64_t rows_whole, rows_chunked;
  int whole = decode(data, size, size, &rows_whole);
  int chunked = decode(data, size, chunk, &rows_chunked);
  /* Same verdict in any chunking. */
  if (whole != chunked || rows_whole != rows_chunked) __builtin_trap();
  return 0;
}
