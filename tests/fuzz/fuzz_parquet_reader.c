/*
 * tests/fuzz/fuzz_parquet_reader: libFuzzer target for the Parquet reader.
 *
 * Opens the input from memory, walks every piece of metadata the public API
 * exposes (schema nodes, columns, row groups, chunk statistics rendered by
 * type), then scans every readable column of every row group with a small
 * batch size, so footer decoding, page headers, decompression and every
 * value decoder see the mutated bytes. Errors are expected; crashes, hangs,
 * leaks and out-of-bounds reads are the bugs.
 *
 * Seeds: tests/fuzz/corpus/parquet_reader/ plus the fixture files in
 * ../shared/fixtures/parquet (parquet-testing/ and bad_data/), passed as
 * extra corpus directories at fuzz time.
 */
#include <stddef.h>
#include <stdint.h>

#include "floe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  floe_error err = {0};
  floe_parquet_reader *r = NULL;
  floe_parquet_scan *scan = NULL;
  floe_buf text = FLOE_BUF_INIT;
  if (floe_parquet_reader_open_memory(&r, data, size, "fuzz", &err) < 0) return 0;
  for (int32_t i = 0; i < floe_parquet_reader_num_schema_nodes(r); i++) {
    floe_parquet_schema_node node;
    floe_parquet_reader_schema_node(r, i, &node, &err);
  }
  int32_t n_kv;
  floe_parquet_reader_key_values(r, &n_kv);
  for (int32_t g = 0; g < floe_parquet_reader_num_row_groups(r); g++) {
    floe_parquet_row_group_info rg;
    floe_parquet_reader_row_group(r, g, &rg, &err);
    for (int32_t c = 0; c < floe_parquet_reader_num_columns(r); c++) {
      floe_parquet_chunk_info ch;
      if (floe_parquet_reader_chunk(r, g, c, &ch, &err) < 0) continue;
      floe_buf_reset(&text);
      if (ch.has_min) floe_parquet_reader_format_stat(r, c, ch.min, ch.min_len, &text);
      if (ch.has_max) floe_parquet_reader_format_stat(r, c, ch.max, ch.max_len, &text);
    }
  }
  floe_parquet_scan_options opt = {0};
  opt.batch_size = 1000;
  if (floe_parquet_reader_scan_open(&scan, r, &opt, &err) == FLOE_OK) {
    struct ArrowSchema schema = {0};
    if (floe_parquet_reader_scan_schema(scan, &schema, &err) == FLOE_OK) {
      int64_t rows = 0;
      for (;;) {
        struct ArrowArray batch;
        int64_t first;
        if (floe_parquet_reader_scan_next(scan, &batch, &first, &err) < 0) break;
        if (batch.release == NULL) break;
        /* Touch every value so the sanitizers see the buffers. */
        for (int64_t c = 0; c < batch.n_children; c++) {
          floe_arrow_view view;
          if (floe_arrow_view_init(&view, schema.children[c], batch.children[c], &err) < 0)
            continue;
          for (int64_t i = 0; i < view.length; i++) {
            floe_buf_reset(&text);
            floe_arrow_view_format(&view, i, &text);
          }
        }
        rows += batch.length;
        floe_arrow_array_release(&batch);
        if (rows > 10000000) break;
      }
      floe_arrow_schema_release(&schema);
    }
    floe_parquet_reader_scan_free(scan);
  }
  floe_buf_free(&text);
  floe_parquet_reader_free(r);
  return 0;
}
