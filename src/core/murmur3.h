/*
 * core/murmur3: MurmurHash3 x86 32-bit, the hash behind Iceberg's bucket
 * transform (Iceberg spec: Appendix B).
 */
#ifndef FLOE_CORE_MURMUR3_H
#define FLOE_CORE_MURMUR3_H

#include <stddef.h>
#include <stdint.h>

uint32_t floe_murmur3_32(const void *data, size_t len, uint32_t seed);

#endif
