/*
 * tests/fuzz/fuzz_metadata_json: libFuzzer target for the Iceberg table
 * metadata JSON parser (floe_iceberg_metadata_parse), which reads files any
 * engine may have written. Every accepted input must survive a round trip:
 * serialise it (floe_iceberg_metadata_to_json), parse that again, and
 * serialise once more; the two serialisations must be byte-equal, so what
 * floe writes it reads back as the same table. A deep copy (the start of
 * every commit) must serialise to the same bytes as well. A parse failure
 * is fine; a crash, over-read, leak, undefined behaviour, a serialisation
 * the parser rejects, or a drifting round trip is a bug (__builtin_trap).
 * Seeds: ../shared/fixtures/metadata-json and every fixture table's
 * metadata/ *.metadata.json files (read at fuzz time), and
 * tests/fuzz/corpus/metadata_json/.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "floe/common.h"
#include "floe/iceberg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  floe_error err = {0};
  floe_iceberg_metadata *first = NULL, *second = NULL, *copy = NULL;
  char *json1 = NULL, *json2 = NULL, *json3 = NULL;
  size_t len1 = 0, len2 = 0, len3 = 0;
  if (floe_iceberg_metadata_parse(&first, (const char *)data, size, &err) < 0)
    goto cleanup;
  if (floe_iceberg_metadata_to_json(first, &json1, &len1, &err) < 0)
    __builtin_trap();
  if (floe_iceberg_metadata_parse(&second, json1, len1, &err) < 0)
    __builtin_trap(); /* floe wrote metadata it cannot read */
  if (floe_iceberg_metadata_to_json(second, &json2, &len2, &err) < 0)
    __builtin_trap();
  if (len1 != len2 || memcmp(json1, json2, len1) != 0)
    __builtin_trap(); /* the round trip changed the table */
  if (floe_iceberg_metadata_copy(&copy, first, &err) < 0) __builtin_trap();
  if (floe_iceberg_metadata_to_json(copy, &json3, &len3, &err) < 0)
    __builtin_trap();
  if (len1 != len3 || memcmp(json1, json3, len1) != 0)
    __builtin_trap(); /* a copy differs from its original */
cleanup:
  floe_free(json1);
  floe_free(json2);
  floe_free(json3);
  floe_iceberg_metadata_free(first);
  floe_iceberg_metadata_free(second);
  floe_iceberg_metadata_free(copy);
  return 0;
}
