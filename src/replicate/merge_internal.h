/*
 * replicate/merge_internal.h: what merge.c exposes to its unit tests and
 * benchmark beyond include/floe/merge.h.
 */
#ifndef FLOE_REPLICATE_MERGE_INTERNAL_H
#define FLOE_REPLICATE_MERGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* XXH64 (xxHash's 64-bit hash, seed `seed`) of data[0..len): the key hash
 * and, over the Appendix D serialization of a row's non-key columns, the
 * hash-diff row hash. Stable across runs and machines. */
uint64_t floe_merge_xxh64(const void *data, size_t len, uint64_t seed);

#endif
