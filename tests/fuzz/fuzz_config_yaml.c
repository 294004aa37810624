/*
 * tests/fuzz/fuzz_config_yaml: libFuzzer target for the YAML configuration
 * loader (floe_config_load_string: libyaml events, floe's node tree, schema
 * checks, defaults, ${...} interpolation, partition spec strings). Any
 * input must load or fail with messages, never crash, over-read, leak or
 * hit undefined behaviour. An accepted configuration must also dump
 * (floe_config_dump), the dump must load again, and dumping that must give
 * the same text: `floe config show` output is itself a valid, equivalent
 * configuration. Seeds: the .yaml files of tests/unit/config/ and examples/ (read
 * at fuzz time) and tests/fuzz/corpus/config_yaml/.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "floe/buffer.h"
#include "floe/common.h"
#include "floe/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  floe_error err = {0};
  floe_config first, second;
  floe_buf dump1 = FLOE_BUF_INIT, dump2 = FLOE_BUF_INIT;
  floe_config_init(&first);
  floe_config_init(&second);
  if (floe_config_load_string(&first, "fuzz.yaml", (const char *)data, size,
                              NULL, 0, &err) < 0) {
    /* Every failure explains itself. */
    if (err.message[0] == '\0') __builtin_trap();
    goto cleanup;
  }
  if (floe_config_dump(&first, &dump1, &err) < 0) __builtin_trap();
  if (floe_config_load_string(&second, "fuzz.yaml", (const char *)dump1.data,
                              dump1.len, NULL, 0, &err) < 0)
    __builtin_trap(); /* the dump of a valid config does not load */
  if (floe_config_dump(&second, &dump2, &err) < 0) __builtin_trap();
  if (dump1.len != dump2.len || memcmp(dump1.data, dump2.data, dump1.len) != 0)
    __builtin_trap(); /* loading the dump changed the configuration */
cleanup:
  floe_buf_free(&dump1);
  floe_buf_free(&dump2);
  floe_config_free(&first);
  floe_config_free(&second);
  return 0;
}
