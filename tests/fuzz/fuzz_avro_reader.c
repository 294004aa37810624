/*
 * tests/fuzz/fuzz_avro_reader: libFuzzer target for the Avro container
 * reader. Opens the input from memory, decodes every record, renders each
 * as JSON and frees everything; any crash, over-read, leak or undefined
 * behaviour is a bug. Seeds: the golden Avro files and Iceberg manifests
 * under ../shared/fixtures (read at fuzz time) and
 * tests/fuzz/corpus/avro_reader/.
 */
#include <stddef.h>
#include <stdint.h>

#include "floe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  floe_error err = {0};
  floe_avro_reader *reader = NULL;
  if (floe_avro_reader_open_memory(&reader, data, size, &err) < 0) return 0;
  const floe_avro_node *root = floe_avro_schema_root(floe_avro_reader_schema(reader));
  floe_buf json = FLOE_BUF_INIT;
  /* The record cap keeps zero-byte records (an empty record schema) from
   * turning one input into a million iterations. */
  for (int n = 0; n < 100000; n++) {
    const floe_avro_value *record;
    if (floe_avro_reader_next(reader, &record, &err) < 0 || record == NULL) break;
    floe_buf_reset(&json);
    if (floe_avro_value_to_json(root, record, &json, &err) < 0) __builtin_trap();
    /* A decoded record must encode again under its own schema. */
    floe_buf_reset(&json);
    if (floe_avro_encode_value(root, record, &json, &err) < 0) __builtin_trap();
  }
  floe_buf_free(&json);
  floe_avro_reader_free(reader);
  return 0;
}
