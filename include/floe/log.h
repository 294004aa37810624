/*
 * floe/log.h: structured logging.
 *
 * Each line is an event with key=value pairs, rendered as logfmt
 * (`ts=... level=info event=commit table=db.t rows=10`) or as one JSON object
 * per line. Library code calls floe_log; only the program that embeds floe
 * decides where lines go (floe_log_set_sink). With no sink, nothing is
 * written.
 *
 * The pairs are given as a format of space-separated `key=%conv` items, e.g.
 * floe_log(FLOE_LOG_INFO, "commit", "table=%s rows=%lld", name, rows);
 * Supported conversions: %s %d %u %ld %lu %lld %llu %zu %zd %g %f and %.Nf.
 * Numbers stay unquoted in JSON; strings are quoted and escaped as needed.
 */
#ifndef FLOE_LOG_H
#define FLOE_LOG_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum floe_log_level {
  FLOE_LOG_ERROR = 0,
  FLOE_LOG_WARN = 1,
  FLOE_LOG_INFO = 2,
  FLOE_LOG_DEBUG = 3,
  FLOE_LOG_TRACE = 4
} floe_log_level;

typedef enum floe_log_format { FLOE_LOG_LOGFMT = 0, FLOE_LOG_JSON = 1 } floe_log_format;

/* Receives one rendered line (no trailing newline). */
typedef void (*floe_log_sink)(void *ctx, floe_log_level level, const char *line);

void floe_log_set_sink(floe_log_sink sink, void *ctx);
void floe_log_set_level(floe_log_level level);
void floe_log_set_format(floe_log_format format);
bool floe_log_enabled(floe_log_level level);
/* Parses "error|warn|info|debug|trace"; returns -1 when unknown. */
int floe_log_level_parse(const char *name);
const char *floe_log_level_name(floe_log_level level);

void floe_log(floe_log_level level, const char *event, const char *kv_format, ...);

/* Renders into a caller buffer instead of the sink (used by tests). */
int floe_log_render(char *out, size_t out_size, floe_log_format format,
                    floe_log_level level, const char *event,
                    const char *kv_format, ...);

#ifdef __cplusplus
}
#endif
#endif
