/*
 * core/log: structured log lines, logfmt or JSON.
 *
 * The kv format is parsed here rather than handed to printf so that each
 * value can be quoted for its output format (logfmt quotes values with
 * spaces, JSON escapes strings and leaves numbers bare). Lines are rendered
 * into a stack buffer; an over-long line is truncated, never allocated.
 */
#include "floe/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "floe/buffer.h"
#include "floe/time.h"

static floe_log_sink log_sink;
static void *log_sink_ctx;
static atomic_int log_level = FLOE_LOG_INFO;
static atomic_int log_format = FLOE_LOG_LOGFMT;

void floe_log_set_sink(floe_log_sink sink, void *ctx) {
  log_sink = sink;
  log_sink_ctx = ctx;
}
void floe_log_set_level(floe_log_level level) { atomic_store(&log_level, (int)level); }
void floe_log_set_format(floe_log_format format) { atomic_store(&log_format, (int)format); }
bool floe_log_enabled(floe_log_level level) {
  return log_sink != NULL && (int)level <= atomic_load(&log_level);
}

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

const char *floe_log_level_name(floe_log_level level) {
  return (unsigned)level <= FLOE_LOG_TRACE ? level_names[level] : "info";
}

int floe_log_level_parse(const char *name) {
  for (int i = 0; i <= FLOE_LOG_TRACE; i++)
    if (strcmp(name, level_names[i]) == 0) return i;
  if (strcmp(name, "warning") == 0) return FLOE_LOG_WARN;
  return -1;
}

typedef struct line {
  char *p;
  size_t len, cap;
} line;

static void put(line *l, const char *s, size_t n) {
  if (l->len >= l->cap) return;
  size_t room = l->cap - 1 - l->len;
  if (n > room) n = room;
  memcpy(l->p + l->len, s, n);
  l->len += n;
  l->p[l->len] = '\0';
}
static void puts_(line *l, const char *s) { put(l, s, strlen(s)); }

/* JSON lines must be valid UTF-8 whatever a message quotes (source values,
 * file names): a byte that does not begin a well-formed sequence is written
 * as U+FFFD. */
static void put_json_string(line *l, const char *s) {
  put(l, "\"", 1);
  size_t n = strlen(s);
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)s[i];
    char esc[8];
    size_t len = 1;
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      put(l, esc, 2);
    } else if (c == '\n') {
      put(l, "\\n", 2);
    } else if (c == '\t') {
      put(l, "\\t", 2);
    } else if (c == '\r') {
      put(l, "\\r", 2);
    } else if (c < 0x20 || c == 0x7F) {
      snprintf(esc, sizeof esc, "\\u%04x", c);
      put(l, esc, 6);
    } else if ((len = floe_utf8_sequence_length((const uint8_t *)s + i, n - i)) == 0) {
      put(l, "\\ufffd", 6);
      len = 1;
    } else {
      put(l, s + i, len);
    }
    i += len;
  }
  put(l, "\"", 1);
}

/* logfmt lines stay valid UTF-8 too: invalid bytes become U+FFFD. */
static void put_logfmt_value(line *l, const char *s) {
  size_t n = strlen(s);
  bool quote = n == 0 || strpbrk(s, " =\"\t\n\r\\") != NULL;
  if (quote) put(l, "\"", 1);
  for (size_t i = 0; i < n;) {
    size_t len = 1;
    if (quote && (s[i] == '"' || s[i] == '\\')) {
      put(l, "\\", 1);
      put(l, s + i, 1);
    } else if (quote && s[i] == '\n') {
      put(l, "\\n", 2);
    } else if ((unsigned char)s[i] < 0x80) {
      put(l, s + i, 1);
    } else if ((len = floe_utf8_sequence_length((const uint8_t *)s + i, n - i)) == 0) {
      put(l, "\xEF\xBF\xBD", 3);
      len = 1;
    } else {
      put(l, s + i, len);
    }
    i += len;
  }
  if (quote) put(l, "\"", 1);
}

static void put_pair(line *l, floe_log_format format, bool first,
                     const char *key, size_t key_len, const char *value,
                     bool is_number) {
  if (format == FLOE_LOG_JSON) {
    if (!first) put(l, ",", 1);
    char k[128];
    snprintf(k, sizeof k, "%.*s", (int)key_len, key);
    put_json_string(l, k);
    put(l, ":", 1);
    if (is_number)
      puts_(l, value);
    else
      put_json_string(l, value);
  } else {
    if (!first) put(l, " ", 1);
    put(l, key, key_len);
    put(l, "=", 1);
    put_logfmt_value(l, value);
  }
}

static int render(char *out, size_t out_size, floe_log_format format,
                  floe_log_level level, const char *event, const char *kv,
                  va_list *ap) {
  line l = {out, 0, out_size};
  if (out_size == 0) return 0;
  out[0] = '\0';
  char ts[48];
  int n = floe_format_timestamp(floe_now_micros(), 'T', ts, sizeof ts);
  /* Millisecond precision is plenty for logs. */
  if (n > 23) n = 23;
  ts[n] = 'Z';
  ts[n + 1] = '\0';
  if (format == FLOE_LOG_JSON) put(&l, "{", 1);
  put_pair(&l, format, true, "ts", 2, ts, false);
  put_pair(&l, format, false, "level", 5, floe_log_level_name(level), false);
  put_pair(&l, format, false, "event", 5, event, false);
  const char *p = kv ? kv : "";
  while (*p) {
    while (*p == ' ') p++;
    if (!*p) break;
    const char *key = p;
    while (*p && *p != '=' && *p != ' ') p++;
    size_t key_len = (size_t)(p - key);
    if (*p != '=') break;
    p++;
    char value[768];
    bool number = true;
    if (*p == '%') {
      const char *conv = p++;
      while (*p && strchr("0123456789.", *p)) p++;
      char lenmod[3] = {0};
      int lm = 0;
      while (*p && strchr("lzh", *p) && lm < 2) lenmod[lm++] = *p++;
      char spec = *p ? *p++ : 's';
      char fmt[16];
      snprintf(fmt, sizeof fmt, "%.*s", (int)(p - conv), conv);
      switch (spec) {
        case 's': {
          const char *s = va_arg(*ap, const char *);
          snprintf(value, sizeof value, "%s", s ? s : "");
          number = false;
          break;
        }
        case 'd': case 'i': case 'u': case 'x':
          if (strcmp(lenmod, "ll") == 0)
            snprintf(value, sizeof value, fmt, va_arg(*ap, long long));
          else if (strcmp(lenmod, "l") == 0)
            snprintf(value, sizeof value, fmt, va_arg(*ap, long));
          else if (strcmp(lenmod, "z") == 0)
            snprintf(value, sizeof value, fmt, va_arg(*ap, size_t));
          else
            snprintf(value, sizeof value, fmt, va_arg(*ap, int));
          number = spec != 'x';
          break;
        case 'f': case 'g': case 'e':
          snprintf(value, sizeof value, fmt, va_arg(*ap, double));
          break;
        default:
          snprintf(value, sizeof value, "?");
          number = false;
      }
    } else {
      const char *v = p;
      while (*p && *p != ' ') p++;
      snprintf(value, sizeof value, "%.*s", (int)(p - v), v);
      number = false;
    }
    put_pair(&l, format, false, key, key_len, value, number);
  }
  if (format == FLOE_LOG_JSON) put(&l, "}", 1);
  return (int)l.len;
}

void floe_log(floe_log_level level, const char *event, const char *kv_format, ...) {
  if (!floe_log_enabled(level)) return;
  char text[4096];
  va_list ap;
  va_start(ap, kv_format);
  render(text, sizeof text, (floe_log_format)atomic_load(&log_format), level,
         event, kv_format, &ap);
  va_end(ap);
  floe_log_sink sink = log_sink;
  if (sink != NULL) sink(log_sink_ctx, level, text);
}

int floe_log_render(char *out, size_t out_size, floe_log_format format,
                    floe_log_level level, const char *event,
                    const char *kv_format, ...) {
  va_list ap;
  va_start(ap, kv_format);
  int n = render(out, out_size, format, level, event, kv_format, &ap);
  va_end(ap);
  return n;
}
