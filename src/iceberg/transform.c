/*
 * iceberg/transform: partition transforms (Iceberg spec: Partition
 * Transforms, Bucket and Truncate Transform Details) — their string forms,
 * result types, and application to single values and to whole Arrow
 * columns.
 *
 * Applying a transform is a pure function of (transform, source type,
 * value), so the per-row path and the column path share one
 * implementation: the column path reads each row as a value through the
 * Arrow bridge and appends the result to a builder. Time transforms use
 * floor division, so instants before 1970 land in negative years, months,
 * days and hours, as the reference implementation computes them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/time.h"
#include "iceberg/iceberg_internal.h"

static const struct {
  const char *name;
  floe_iceberg_transform_kind kind;
} simple_transforms[] = {
    {"identity", FLOE_TRANSFORM_IDENTITY}, {"year", FLOE_TRANSFORM_YEAR},
    {"month", FLOE_TRANSFORM_MONTH},       {"day", FLOE_TRANSFORM_DAY},
    {"hour", FLOE_TRANSFORM_HOUR},         {"void", FLOE_TRANSFORM_VOID},
};

int floe_iceberg_transform_parse(const char *text,
                                 floe_iceberg_transform *out, floe_error *err) {
  out->kind = FLOE_TRANSFORM_UNKNOWN;
  out->param = 0;
  for (size_t i = 0; i < sizeof simple_transforms / sizeof simple_transforms[0]; i++)
    if (strcmp(text, simple_transforms[i].name) == 0) {
      out->kind = simple_transforms[i].kind;
      return FLOE_OK;
    }
  floe_iceberg_transform_kind kind = FLOE_TRANSFORM_UNKNOWN;
  const char *p = NULL;
  if (strncmp(text, "bucket[", 7) == 0) {
    kind = FLOE_TRANSFORM_BUCKET;
    p = text + 7;
  } else if (strncmp(text, "truncate[", 9) == 0) {
    kind = FLOE_TRANSFORM_TRUNCATE;
    p = text + 9;
  }
  if (p != NULL) {
    char *end;
    long n = strtol(p, &end, 10);
    if (end == p || strcmp(end, "]") != 0 || n <= 0 || n > INT32_MAX)
      return floe_error_set(err, FLOE_EFORMAT,
                            "transform '%s': the parameter must be a positive int", text);
    out->kind = kind;
    out->param = (int32_t)n;
    return FLOE_OK;
  }
  return floe_error_set(err, FLOE_EUNSUPPORTED, "unknown transform '%s'", text);
}

void floe_iceberg_transform_format(const floe_iceberg_transform *t, char *out,
                                   size_t out_size) {
  if (t->kind == FLOE_TRANSFORM_BUCKET) {
    snprintf(out, out_size, "bucket[%d]", t->param);
    return;
  }
  if (t->kind == FLOE_TRANSFORM_TRUNCATE) {
    snprintf(out, out_size, "truncate[%d]", t->param);
    return;
  }
  for (size_t i = 0; i < sizeof simple_transforms / sizeof simple_transforms[0]; i++)
    if (simple_transforms[i].kind == t->kind) {
      snprintf(out, out_size, "%s", simple_transforms[i].name);
      return;
    }
  snprintf(out, out_size, "unknown");
}

static bool is_timestamp(floe_iceberg_type_id id) {
  return id == FLOE_ICEBERG_TIMESTAMP || id == FLOE_ICEBERG_TIMESTAMPTZ ||
         id == FLOE_ICEBERG_TIMESTAMP_NS || id == FLOE_ICEBERG_TIMESTAMPTZ_NS;
}

int floe_iceberg_transform_result_type(const floe_iceberg_transform *t,
                                       const floe_iceberg_type *source,
                                       floe_iceberg_type *out,
                                       floe_error *err) {
  floe_iceberg_type_id id = source->id;
  bool ok;
  /* Iceberg spec: Partition Transforms, "Source types" column. */
  switch (t->kind) {
    case FLOE_TRANSFORM_IDENTITY:
      ok = floe_iceberg_type_is_primitive(id) && id != FLOE_ICEBERG_VARIANT;
      *out = *source;
      break;
    case FLOE_TRANSFORM_VOID:
      ok = true;
      *out = *source;
      break;
    case FLOE_TRANSFORM_BUCKET:
      ok = id == FLOE_ICEBERG_INT || id == FLOE_ICEBERG_LONG || id == FLOE_ICEBERG_DECIMAL ||
           id == FLOE_ICEBERG_DATE || id == FLOE_ICEBERG_TIME || is_timestamp(id) ||
           id == FLOE_ICEBERG_STRING || id == FLOE_ICEBERG_UUID || id == FLOE_ICEBERG_FIXED ||
           id == FLOE_ICEBERG_BINARY;
      *out = floe_iceberg_type_of(FLOE_ICEBERG_INT);
      break;
    case FLOE_TRANSFORM_TRUNCATE:
      ok = id == FLOE_ICEBERG_INT || id == FLOE_ICEBERG_LONG || id == FLOE_ICEBERG_DECIMAL ||
           id == FLOE_ICEBERG_STRING || id == FLOE_ICEBERG_BINARY;
      *out = *source;
      break;
    case FLOE_TRANSFORM_YEAR:
    case FLOE_TRANSFORM_MONTH:
      ok = id == FLOE_ICEBERG_DATE || is_timestamp(id);
      *out = floe_iceberg_type_of(FLOE_ICEBERG_INT);
      break;
    case FLOE_TRANSFORM_DAY:
      ok = id == FLOE_ICEBERG_DATE || is_timestamp(id);
      /* Java's Days and PyIceberg's DayTransform type the result as date. */
      *out = floe_iceberg_type_of(FLOE_ICEBERG_DATE);
      break;
    case FLOE_TRANSFORM_HOUR:
      ok = is_timestamp(id);
      *out = floe_iceberg_type_of(FLOE_ICEBERG_INT);
      break;
    default:
      return floe_error_set(err, FLOE_EUNSUPPORTED, "unknown transform cannot be applied");
  }
  if (!ok) {
    char tname[24], sname[32];
    floe_iceberg_transform_format(t, tname, sizeof tname);
    floe_iceberg_type_format(source, sname, sizeof sname);
    return floe_error_set(err, FLOE_EINVAL, "transform %s cannot be applied to type %s",
                          tname, sname);
  }
  return FLOE_OK;
}

/* Number of bytes of the first `n` UTF-8 code points of s[0..len). */
static size_t utf8_prefix(const uint8_t *s, size_t len, int32_t n) {
  size_t i = 0;
  for (int32_t cp = 0; cp < n && i < len; cp++) {
    i++;
    while (i < len && (s[i] & 0xc0) == 0x80) i++; /* continuation bytes */
  }
  return i;
}

/* Days since the epoch of a date or timestamp value. */
static int64_t value_days(floe_iceberg_type_id id, const floe_iceberg_value *v) {
  if (id == FLOE_ICEBERG_DATE) return v->v.i32;
  int64_t per_day = FLOE_MICROS_PER_DAY;
  if (id == FLOE_ICEBERG_TIMESTAMP_NS || id == FLOE_ICEBERG_TIMESTAMPTZ_NS) per_day *= 1000;
  return floe_floor_div(v->v.i64, per_day);
}

int floe_iceberg_transform_apply(const floe_iceberg_transform *t,
                                 const floe_iceberg_type *source,
                                 const floe_iceberg_value *in,
                                 floe_iceberg_value *out, floe_error *err) {
  floe_iceberg_type result;
  int rc = floe_iceberg_transform_result_type(t, source, &result, err);
  if (rc < 0) return rc;
  *out = floe_iceberg_null_value();
  if (in->is_null || t->kind == FLOE_TRANSFORM_VOID) return FLOE_OK;
  out->is_null = false;
  floe_iceberg_type_id id = source->id;
  switch (t->kind) {
    case FLOE_TRANSFORM_IDENTITY:
      *out = *in;
      out->owned = NULL; /* borrowed */
      return FLOE_OK;
    case FLOE_TRANSFORM_BUCKET: {
      int32_t hash;
      rc = floe_iceberg_hash(source, in, &hash, err);
      if (rc < 0) return rc;
      /* (hash & Integer.MAX_VALUE) % N */
      out->v.i32 = (int32_t)((hash & INT32_MAX) % t->param);
      return FLOE_OK;
    }
    case FLOE_TRANSFORM_TRUNCATE: {
      int64_t w = t->param;
      switch (id) {
        case FLOE_ICEBERG_INT: {
          int64_t v = in->v.i32;
          /* Spec note 1: v - (((v % W) + W) % W), remainder made positive. */
          out->v.i32 = (int32_t)(uint32_t)(v - (((v % w) + w) % w));
          return FLOE_OK;
        }
        case FLOE_ICEBERG_LONG: {
          int64_t v = in->v.i64;
          out->v.i64 = (int64_t)((uint64_t)v - (uint64_t)(((v % w) + w) % w));
          return FLOE_OK;
        }
        case FLOE_ICEBERG_DECIMAL: {
          /* Note 2: W applies to the unscaled value at the column's scale. */
          floe_int128 v = in->v.dec, w128 = w;
          out->v.dec = v - (((v % w128) + w128) % w128);
          return FLOE_OK;
        }
        case FLOE_ICEBERG_STRING:
          *out = *in;
          out->owned = NULL;
          out->len = utf8_prefix(in->bytes, in->len, t->param);
          return FLOE_OK;
        default: /* binary */
          *out = *in;
          out->owned = NULL;
          if (out->len > (size_t)t->param) out->len = (size_t)t->param;
          return FLOE_OK;
      }
    }
    case FLOE_TRANSFORM_YEAR:
    case FLOE_TRANSFORM_MONTH: {
      int64_t year;
      unsigned month, day;
      floe_civil_from_days(value_days(id, in), &year, &month, &day);
      int64_t r = t->kind == FLOE_TRANSFORM_YEAR ? year - 1970
                                                 : (year - 1970) * 12 + (int64_t)month - 1;
      out->v.i32 = (int32_t)r;
      return FLOE_OK;
    }
    case FLOE_TRANSFORM_DAY:
      out->v.i32 = (int32_t)value_days(id, in);
      return FLOE_OK;
    case FLOE_TRANSFORM_HOUR: {
      int64_t per_hour = INT64_C(3600000000);
      if (id == FLOE_ICEBERG_TIMESTAMP_NS || id == FLOE_ICEBERG_TIMESTAMPTZ_NS) per_hour *= 1000;
      out->v.i32 = (int32_t)floe_floor_div(in->v.i64, per_hour);
      return FLOE_OK;
    }
    default:
      return floe_error_set(err, FLOE_EUNSUPPORTED, "unknown transform cannot be applied");
  }
}

int floe_iceberg_transform_column(const floe_iceberg_transform *t,
                                  const floe_iceberg_type *source,
                                  const floe_arrow_view *column,
                                  struct ArrowArray *out, floe_error *err) {
  memset(out, 0, sizeof *out);
  floe_iceberg_type result;
  floe_arrow_type_info arrow;
  floe_arrow_builder builder;
  int rc = floe_iceberg_transform_result_type(t, source, &result, err);
  if (rc < 0) return rc;
  rc = floe_iceberg_type_to_arrow(&result, &arrow, err);
  if (rc < 0) return rc;
  rc = floe_arrow_builder_init(&builder, &arrow);
  if (rc < 0) return floe_error_set(err, rc, "transform column: out of memory");
  rc = floe_arrow_builder_reserve(&builder, column->length, 0);
  if (rc < 0) {
    rc = floe_error_set(err, rc, "transform column: out of memory");
    goto cleanup;
  }
  for (int64_t row = 0; row < column->length; row++) {
    floe_iceberg_value in, value;
    rc = floe_iceberg_value_from_arrow(source, column, row, &in, err);
    if (rc == FLOE_OK) rc = floe_iceberg_transform_apply(t, source, &in, &value, err);
    if (rc == FLOE_OK) rc = floe_iceberg_value_append_arrow(&result, &value, &builder, err);
    if (rc < 0) {
      floe_error_prefix(err, "row %" PRId64, row);
      goto cleanup;
    }
  }
  rc = floe_arrow_builder_finish(&builder, out);
  if (rc < 0) rc = floe_error_set(err, rc, "transform column: out of memory");
cleanup:
  floe_arrow_builder_free(&builder);
  return rc;
}
