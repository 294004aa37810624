/*
 * core/truncate: bounds of truncated values, as Iceberg's default metrics
 * mode truncate(16) needs them (Iceberg UnicodeUtil.truncateStringMin/Max,
 * BinaryUtil.truncateBinaryMin/Max). A lower bound is simply a prefix; an
 * upper bound is the prefix with its last incrementable unit incremented, so
 * it is greater than every value that starts with the prefix.
 */
#ifndef FLOE_CORE_TRUNCATE_H
#define FLOE_CORE_TRUNCATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of the first `limit` code points of UTF-8 text p[0..n) (n when the
 * text is shorter). */
size_t floe_utf8_prefix_len(const uint8_t *p, size_t n, int32_t limit);

/* Rewrites p[0..n) in place into the upper bound of its first `limit` code
 * points and returns the new length (never more than n). When the text has
 * at most `limit` code points it is its own bound (returns n). *exists is
 * false when no code point of the prefix can be incremented (all U+10FFFF):
 * then there is no upper bound. Surrogates are skipped (U+D7FF -> U+E000). */
size_t floe_utf8_truncate_upper(uint8_t *p, size_t n, int32_t limit, bool *exists);

/* The same for bytes: the first `limit` bytes with the last byte that is not
 * 0xFF incremented (what follows it dropped); *exists false when all are
 * 0xFF. */
size_t floe_binary_truncate_upper(uint8_t *p, size_t n, size_t limit, bool *exists);

#endif
