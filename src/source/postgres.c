/*
 * source/postgres: the PostgreSQL driver (libpq).
 *
 * Tables are described from pg_catalog (format_type for the declared text,
 * attnotnull, pg_index.indkey for the primary key), and each column maps by
 * its type oid (a domain by its base type) to one floe type; docs/types.md
 * has the table. Composites, arrays of them and arrays declared with
 * several dimensions are typed from the catalog as a nested type string
 * (struct<...>, list<list<...>>) and read from their text output, the
 * array and record literal grammars parsed recursively into the column's
 * nested builder. Queries stream through a server-side cursor, DECLARE ...
 * NO SCROLL CURSOR inside the caller's transaction or one of the stream's
 * own, then FETCH FORWARD batch_rows, so client memory holds one fetched
 * result and one batch whatever the table size. Results come in text format;
 * the session is pinned to settings that make the text exact and stable:
 * TimeZone UTC (timestamptz values read as UTC), DateStyle ISO, bytea_output
 * hex, extra_float_digits 3 (shortest exact floats), IntervalStyle iso_8601.
 * Every error carries the SQLSTATE and the server's message.
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "source/source_internal.h"

/* Type oids from pg_type.dat; stable across PostgreSQL versions. */
enum {
  OID_BOOL = 16,
  OID_BYTEA = 17,
  OID_CHAR = 18,
  OID_NAME = 19,
  OID_INT8 = 20,
  OID_INT2 = 21,
  OID_INT4 = 23,
  OID_TEXT = 25,
  OID_OID = 26,
  OID_JSON = 114,
  OID_FLOAT4 = 700,
  OID_FLOAT8 = 701,
  OID_BPCHAR = 1042,
  OID_VARCHAR = 1043,
  OID_DATE = 1082,
  OID_TIME = 1083,
  OID_TIMESTAMP = 1114,
  OID_TIMESTAMPTZ = 1184,
  OID_NUMERIC = 1700,
  OID_UUID = 2950,
  OID_JSONB = 3802
};

typedef struct pg_source {
  floe_source base;
  PGconn *conn;
  unsigned cursor_seq;
} pg_source;

typedef struct pg_stream {
  floe_source_stream base;
  pg_source *src;
  char cursor[32];
  bool own_transaction; /* the stream began it and ends it */
  bool cursor_open;
  PGresult *res;  /* the rows of the last FETCH */
  int row;        /* current row in res */
  int n_rows;
  int64_t fetch_rows;
  bool exhausted; /* a FETCH returned fewer rows than asked */
} pg_stream;

/* ---- errors ----------------------------------------------------------------- */

/* "<what>: SQLSTATE 42P01: relation "x" does not exist" from a failed result
 * (with the server's detail in parentheses when it gives one), or the
 * connection's message when there is no result; `what` may be NULL.
 * Returns FLOE_ESOURCE. */
static int pg_error(floe_error *err, PGconn *conn, const PGresult *res,
                    const char *what) {
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
  const char *sep = what != NULL ? ": " : "";
  if (what == NULL) what = "";
  if (primary != NULL && detail != NULL)
    return floe_error_set(err, FLOE_ESOURCE, "%s%sSQLSTATE %s: %s (%s)", what,
                          sep, state ? state : "?????", primary, detail);
  if (primary != NULL)
    return floe_error_set(err, FLOE_ESOURCE, "%s%sSQLSTATE %s: %s", what, sep,
                          state ? state : "?????", primary);
  const char *msg = conn ? PQerrorMessage(conn) : "no connection";
  size_t len = strlen(msg);
  while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' ')) len--;
  return floe_error_set(err, FLOE_ESOURCE, "%s%s%.*s", what, sep, (int)len, msg);
}

/* Runs a parameterless command; returns FLOE_OK or FLOE_ESOURCE. */
static int run_command(pg_source *src, const char *sql, floe_error *err) {
  PGresult *res = PQexec(src->conn, sql);
  ExecStatusType status = PQresultStatus(res);
  int rc = FLOE_OK;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    rc = pg_error(err, src->conn, res, sql);
  }
  PQclear(res);
  return rc;
}

/* ---- type mapping --------------------------------------------------------------- */

/* Maps a type oid (a domain's base type) and its type modifier. */
static floe_arrow_type_info pg_map_type(unsigned oid, int typmod) {
  switch (oid) {
    case OID_BOOL: return floe_arrow_type_of(FLOE_ARROW_BOOL);
    case OID_BYTEA: return floe_arrow_type_of(FLOE_ARROW_BINARY);
    case OID_INT2:
    case OID_INT4: return floe_arrow_type_of(FLOE_ARROW_INT32);
    case OID_INT8:
    case OID_OID: return floe_arrow_type_of(FLOE_ARROW_INT64);
    case OID_FLOAT4: return floe_arrow_type_of(FLOE_ARROW_FLOAT);
    case OID_FLOAT8: return floe_arrow_type_of(FLOE_ARROW_DOUBLE);
    case OID_DATE: return floe_arrow_type_of(FLOE_ARROW_DATE32);
    case OID_TIME: return floe_arrow_type_of(FLOE_ARROW_TIME64_US);
    case OID_TIMESTAMP: return floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_US);
    case OID_TIMESTAMPTZ: return floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_US_TZ);
    case OID_UUID: return floe_arrow_type_of(FLOE_ARROW_UUID);
    case OID_NUMERIC: {
      if (typmod < 4) return floe_arrow_decimal(38, 10); /* unconstrained */
      /* typmod = ((precision << 16) | (scale & 0x7ff)) + VARHDRSZ, scale
       * an 11-bit signed field since PostgreSQL 15 (numeric.c). */
      int precision = ((typmod - 4) >> 16) & 0xffff;
      int scale = (((typmod - 4) & 0x7ff) ^ 1024) - 1024;
      if (scale < 0) { /* numeric(3,-2) holds 99900: decimal(5,0) */
        precision -= scale;
        scale = 0;
      }
      if (scale > precision) precision = scale; /* numeric(2,4): 0.0099 */
      if (precision < 1 || precision > 38)
        return floe_arrow_type_of(FLOE_ARROW_UTF8);
      return floe_arrow_decimal(precision, scale);
    }
    default:
      /* text, varchar, char, name, citext, json, jsonb, xml, interval,
       * timetz, money, enums, arrays, ranges, ...: their text form. */
      return floe_arrow_type_of(FLOE_ARROW_UTF8);
  }
}

/* ---- parameters ------------------------------------------------------------------- */

typedef struct pg_params {
  int n;
  unsigned *types;
  char **values;
  int *lengths;
  int *formats;
} pg_params;

static void pg_params_free(pg_params *p) {
  if (p->values != NULL)
    for (int i = 0; i < p->n; i++) floe_free(p->values[i]);
  floe_free(p->types);
  floe_free(p->values);
  floe_free(p->lengths);
  floe_free(p->formats);
  memset(p, 0, sizeof *p);
}

static int pg_params_init(pg_params *p, const floe_source_param *params,
                          size_t n, floe_error *err) {
  memset(p, 0, sizeof *p);
  if (n > 65535)
    return floe_error_set(err, FLOE_EINVAL, "%zu parameters (at most 65535)", n);
  p->n = (int)n;
  size_t count = n ? n : 1;
  p->types = floe_calloc(count, sizeof *p->types);
  p->values = floe_calloc(count, sizeof *p->values);
  p->lengths = floe_calloc(count, sizeof *p->lengths);
  p->formats = floe_calloc(count, sizeof *p->formats);
  if (!p->types || !p->values || !p->lengths || !p->formats) goto nomem;
  for (size_t i = 0; i < n; i++) {
    const floe_source_param *param = &params[i];
    char text[48];
    switch (param->type) {
      case FLOE_PARAM_NULL:
        break;
      case FLOE_PARAM_INT64:
        p->types[i] = OID_INT8;
        snprintf(text, sizeof text, "%" PRId64, param->int64_value);
        if ((p->values[i] = floe_strdup(text)) == NULL) goto nomem;
        break;
      case FLOE_PARAM_DOUBLE:
        p->types[i] = OID_FLOAT8;
        floe_src_format_double(param->double_value, text, sizeof text);
        if ((p->values[i] = floe_strdup(text)) == NULL) goto nomem;
        break;
      case FLOE_PARAM_TEXT:
        /* Type left to the server (unknown), as for a quoted literal. */
        if (memchr(param->bytes, 0, param->len) != NULL)
          return floe_error_set(err, FLOE_EINVAL,
                                "parameter %zu: text holds a NUL byte", i + 1);
        p->values[i] = floe_strndup(param->bytes ? param->bytes : "", param->len);
        if (p->values[i] == NULL) goto nomem;
        break;
      case FLOE_PARAM_BLOB:
        if (param->len > INT32_MAX)
          return floe_error_set(err, FLOE_EINVAL, "parameter %zu: blob too large",
                                i + 1);
        p->types[i] = OID_BYTEA;
        p->formats[i] = 1; /* binary: the bytes as they are */
        p->lengths[i] = (int)param->len;
        p->values[i] = floe_malloc(param->len ? param->len : 1);
        if (p->values[i] == NULL) goto nomem;
        if (param->len) memcpy(p->values[i], param->bytes, param->len);
        break;
      default:
        return floe_error_set(err, FLOE_EINVAL, "parameter %zu: unknown type %d",
                              i + 1, (int)param->type);
    }
  }
  return FLOE_OK;
nomem:
  return floe_error_set(err, FLOE_ENOMEM, "out of memory");
}

static PGresult *exec_params(pg_source *src, const char *sql,
                             const pg_params *p) {
  return PQexecParams(src->conn, sql, p->n, p->types,
                      (const char *const *)p->values, p->lengths, p->formats, 0);
}

/* ---- statements ---------------------------------------------------------------------- */

static int pg_exec(floe_source *base, const char *sql,
                   const floe_source_param *params, size_t n_params,
                   int64_t *out_rows, floe_error *err) {
  pg_source *src = (pg_source *)base;
  pg_params p;
  PGresult *res = NULL;
  int rc;
  *out_rows = 0;
  FLOE_TRY(pg_params_init(&p, params, n_params, err));
  /* Without parameters the simple protocol runs a whole script. */
  res = n_params == 0 ? PQexec(src->conn, sql) : exec_params(src, sql, &p);
  ExecStatusType status = PQresultStatus(res);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    rc = pg_error(err, src->conn, res, NULL);
    goto cleanup;
  }
  const char *tuples = PQcmdTuples(res);
  const char *cmd = PQcmdStatus(res);
  /* SELECT reports its row count too; only DML counts as affected. */
  if (tuples[0] != '\0' && cmd != NULL &&
      (strncmp(cmd, "INSERT", 6) == 0 || strncmp(cmd, "UPDATE", 6) == 0 ||
       strncmp(cmd, "DELETE", 6) == 0 || strncmp(cmd, "MERGE", 5) == 0))
    *out_rows = strtoll(tuples, NULL, 10);
cleanup:
  PQclear(res);
  pg_params_free(&p);
  return rc;
}

static int pg_begin(floe_source *base, floe_error *err) {
  return run_command((pg_source *)base, "BEGIN", err);
}

static int pg_commit(floe_source *base, floe_error *err) {
  pg_source *src = (pg_source *)base;
  PGresult *res = PQexec(src->conn, "COMMIT");
  int rc = FLOE_OK;
  if (PQresultStatus(res) != PGRES_COMMAND_OK) {
    rc = pg_error(err, src->conn, res, "COMMIT");
  } else if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
    /* COMMIT of a transaction that an error aborted answers ROLLBACK. */
    rc = floe_error_set(err, FLOE_ESOURCE,
                        "COMMIT: the transaction was aborted by an earlier "
                        "error and has been rolled back");
  }
  PQclear(res);
  return rc;
}

static int pg_rollback(floe_source *base, floe_error *err) {
  return run_command((pg_source *)base, "ROLLBACK", err);
}

/* ---- nested types ------------------------------------------------------------------- */

/* A primitive floe type in Iceberg's spelling, for nested type strings. */
static void iceberg_spelling(const floe_arrow_type_info *t, char *out, size_t size) {
  const char *name = "string";
  switch (t->id) {
    case FLOE_ARROW_BOOL: name = "boolean"; break;
    case FLOE_ARROW_INT32: name = "int"; break;
    case FLOE_ARROW_INT64: name = "long"; break;
    case FLOE_ARROW_FLOAT: name = "float"; break;
    case FLOE_ARROW_DOUBLE: name = "double"; break;
    case FLOE_ARROW_DATE32: name = "date"; break;
    case FLOE_ARROW_TIME64_US: name = "time"; break;
    case FLOE_ARROW_TIMESTAMP_US: name = "timestamp"; break;
    case FLOE_ARROW_TIMESTAMP_US_TZ: name = "timestamptz"; break;
    case FLOE_ARROW_UUID: name = "uuid"; break;
    case FLOE_ARROW_BINARY: name = "binary"; break;
    case FLOE_ARROW_DECIMAL128:
      snprintf(out, size, "decimal(%d,%d)", (int)t->precision, (int)t->scale);
      return;
    default: break;
  }
  snprintf(out, size, "%s", name);
}

#define MAX_NESTING 32

/* Appends the type `oid` (type modifier typmod; ndims > 1: an array column
 * declared with that many dimensions) as a nested type string: a domain by
 * its base type, an array as list<...> once per dimension, a composite as
 * struct<`attribute`: type, ...> of its live attributes in order (each by
 * its own type, modifier and declared dimensions), anything else as the
 * primitive pg_map_type gives. PostgreSQL does not enforce an array's
 * dimensions; a value with more or fewer than declared is refused when it
 * is read. */
static int nested_type(pg_source *src, unsigned oid, int typmod, int ndims, int depth,
                       floe_buf *out, floe_error *err) {
  char oid_text[16];
  const char *values[1] = {oid_text};
  PGresult *res = NULL;
  int rc = FLOE_OK;
  if (depth > MAX_NESTING)
    return floe_error_set(err, FLOE_EUNSUPPORTED, "types nested deeper than %d levels",
                          MAX_NESTING);
  snprintf(oid_text, sizeof oid_text, "%u", oid);
  res = PQexecParams(src->conn,
                     "SELECT t.typtype, t.typbasetype::int8, t.typtypmod, t.typelem::int8,"
                     " t.typcategory = 'A' AND t.typelem <> 0 AND t.oid NOT IN (22, 30),"
                     " t.typrelid::int8, format_type(t.oid, NULL)"
                     " FROM pg_catalog.pg_type t WHERE t.oid = $1::oid",
                     1, NULL, values, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
    rc = PQresultStatus(res) != PGRES_TUPLES_OK
             ? pg_error(err, src->conn, res, "read pg_type")
             : floe_error_set(err, FLOE_ESOURCE, "no type with oid %u", oid);
    goto cleanup;
  }
  char typtype = PQgetvalue(res, 0, 0)[0];
  if (typtype == 'd') { /* a domain: its base type, with the domain's modifier */
    unsigned base = (unsigned)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
    int base_mod = atoi(PQgetvalue(res, 0, 2));
    rc = nested_type(src, base, base_mod >= 0 ? base_mod : typmod, ndims, depth + 1, out, err);
    goto cleanup;
  }
  if (PQgetvalue(res, 0, 4)[0] == 't') { /* an array */
    unsigned element = (unsigned)strtoul(PQgetvalue(res, 0, 3), NULL, 10);
    int dims = ndims > 1 ? ndims : 1;
    for (int i = 0; i < dims; i++)
      if (floe_buf_append_str(out, "list<") < 0) FLOE_TRY(FLOE_ENOMEM);
    FLOE_TRY(nested_type(src, element, typmod, 0, depth + 1, out, err));
    for (int i = 0; i < dims; i++)
      if (floe_buf_append_byte(out, '>') < 0) FLOE_TRY(FLOE_ENOMEM);
    goto cleanup;
  }
  if (typtype == 'c') {
    const char *relid[1] = {PQgetvalue(res, 0, 5)};
    PGresult *attrs = PQexecParams(
        src->conn,
        "SELECT a.attname, a.atttypid::int8, a.atttypmod, a.attndims FROM pg_catalog.pg_attribute a"
        " WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        1, NULL, relid, NULL, NULL, 0);
    if (PQresultStatus(attrs) != PGRES_TUPLES_OK) {
      rc = pg_error(err, src->conn, attrs, "read pg_attribute");
      PQclear(attrs);
      goto cleanup;
    }
    int n = PQntuples(attrs);
    if (n == 0) {
      rc = floe_error_set(err, FLOE_EUNSUPPORTED, "composite type %s has no attributes",
                          PQgetvalue(res, 0, 6));
      PQclear(attrs);
      goto cleanup;
    }
    rc = floe_buf_append_str(out, "struct<") < 0 ? FLOE_ENOMEM : FLOE_OK;
    for (int i = 0; i < n && rc == FLOE_OK; i++) {
      /* Names backtick-quoted (a backtick doubled), taken exactly. */
      rc = floe_buf_append_str(out, i ? ", `" : "`") < 0 ? FLOE_ENOMEM : FLOE_OK;
      for (const char *p = PQgetvalue(attrs, i, 0); *p && rc == FLOE_OK; p++)
        if ((*p == '`' && floe_buf_append_byte(out, '`') < 0) ||
            floe_buf_append_byte(out, (uint8_t)*p) < 0)
          rc = FLOE_ENOMEM;
      if (rc == FLOE_OK && floe_buf_append_str(out, "`: ") < 0) rc = FLOE_ENOMEM;
      if (rc == FLOE_OK)
        rc = nested_type(src, (unsigned)strtoul(PQgetvalue(attrs, i, 1), NULL, 10),
                         atoi(PQgetvalue(attrs, i, 2)), atoi(PQgetvalue(attrs, i, 3)), depth + 1,
                         out, err);
    }
    PQclear(attrs);
    if (rc == FLOE_OK && floe_buf_append_byte(out, '>') < 0) rc = FLOE_ENOMEM;
    goto cleanup;
  }
  char spelling[48];
  floe_arrow_type_info t = pg_map_type(oid, typmod);
  iceberg_spelling(&t, spelling, sizeof spelling);
  if (floe_buf_append_str(out, spelling) < 0) rc = FLOE_ENOMEM;
cleanup:
  if (rc == FLOE_ENOMEM) floe_error_set(err, FLOE_ENOMEM, "out of memory");
  PQclear(res);
  return rc;
}

/* ---- describe ----------------------------------------------------------------------- */

static const char *describe_sql =
    "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
    " COALESCE((SELECT k.n FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)"
    "   WHERE k.attnum = a.attnum), 0),"
    " (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END)::int8,"
    " CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END,"
    /* An array's element type (a domain over an array by its base type);
     * 0 for other types. int2vector and oidvector are arrays in pg_type
     * but print space-separated: kept as text. */
    " COALESCE((SELECT b.typelem FROM pg_catalog.pg_type b"
    "   WHERE b.oid = (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END)"
    "     AND b.typcategory = 'A' AND b.typelem <> 0 AND b.oid NOT IN (22, 30)), 0)::int8,"
    /* Whether the column is nested beyond a one-dimensional array of a
     * primitive: a composite (or a domain over one), an array declared
     * with several dimensions, or an array whose element is a composite,
     * a domain or an array (nested_type() walks those). */
    " (SELECT b.typtype = 'c' FROM pg_catalog.pg_type b"
    "   WHERE b.oid = (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END))"
    " OR (a.attndims > 1 AND t.typcategory = 'A')"
    " OR EXISTS (SELECT 1 FROM pg_catalog.pg_type b JOIN pg_catalog.pg_type e ON e.oid = b.typelem"
    "   WHERE b.oid = (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END)"
    "     AND b.typcategory = 'A' AND b.oid NOT IN (22, 30)"
    "     AND (e.typtype IN ('c', 'd') OR e.typcategory = 'A')),"
    " a.attndims"
    " FROM pg_catalog.pg_attribute a"
    " JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
    " LEFT JOIN pg_catalog.pg_index i ON i.indrelid = a.attrelid AND i.indisprimary"
    " WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped"
    " ORDER BY a.attnum";

static int pg_describe(floe_source *base, char *const *parts, int n_parts,
                       floe_source_table *out, floe_error *err) {
  pg_source *src = (pg_source *)base;
  floe_buf name = FLOE_BUF_INIT;
  PGresult *res = NULL;
  floe_source_column *columns = NULL;
  int n = 0, rc = FLOE_OK;
  /* to_regclass reads the name as SQL would: quote each part so the name
   * is taken exactly, and a missing table is NULL rather than an error. */
  for (int i = 0; i < n_parts; i++) {
    if (i > 0) FLOE_TRY(floe_buf_append_byte(&name, '.'));
    FLOE_TRY(floe_buf_append_byte(&name, '"'));
    for (const char *c = parts[i]; *c; c++) {
      if (*c == '"') FLOE_TRY(floe_buf_append_byte(&name, '"'));
      FLOE_TRY(floe_buf_append_byte(&name, (uint8_t)*c));
    }
    FLOE_TRY(floe_buf_append_byte(&name, '"'));
  }
  FLOE_TRY(floe_buf_terminate(&name));
  const char *values[1] = {(const char *)name.data};
  res = PQexecParams(src->conn, "SELECT to_regclass($1) IS NOT NULL", 1, NULL,
                     values, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    rc = pg_error(err, src->conn, res, "to_regclass");
    goto cleanup;
  }
  out->exists = PQgetvalue(res, 0, 0)[0] == 't';
  PQclear(res);
  res = NULL;
  if (!out->exists) goto cleanup;
  res = PQexecParams(src->conn, describe_sql, 1, NULL, values, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    rc = pg_error(err, src->conn, res, "read pg_attribute");
    goto cleanup;
  }
  int rows = PQntuples(res);
  columns = floe_calloc((size_t)(rows ? rows : 1), sizeof *columns);
  if (columns == NULL) FLOE_TRY(FLOE_ENOMEM);
  for (n = 0; n < rows;) {
    floe_source_column *c = &columns[n++];
    c->name = floe_strdup(PQgetvalue(res, n - 1, 0));
    c->declared_type = floe_strdup(PQgetvalue(res, n - 1, 1));
    if (c->name == NULL || c->declared_type == NULL) FLOE_TRY(FLOE_ENOMEM);
    c->nullable = PQgetvalue(res, n - 1, 2)[0] != 't';
    c->pk_ordinal = atoi(PQgetvalue(res, n - 1, 3));
    unsigned element_oid = (unsigned)strtoul(PQgetvalue(res, n - 1, 6), NULL, 10);
    if (PQgetvalue(res, n - 1, 7)[0] == 't') {
      /* A composite, an array of composites, a multi-dimensional array:
       * typed from pg_catalog as a nested type string. */
      floe_buf text = FLOE_BUF_INIT;
      unsigned base = (unsigned)strtoul(PQgetvalue(res, n - 1, 4), NULL, 10);
      rc = nested_type(src, base, atoi(PQgetvalue(res, n - 1, 5)),
                       atoi(PQgetvalue(res, n - 1, 8)), 0, &text, err);
      if (rc == FLOE_OK && floe_buf_terminate(&text) < 0) rc = FLOE_ENOMEM;
      c->nested_type = (char *)text.data;
      if (rc < 0) {
        if (rc != FLOE_ENOMEM) floe_error_prefix(err, "column %s (%s)", c->name, c->declared_type);
        goto cleanup;
      }
      c->type = floe_arrow_type_of(element_oid != 0 ? FLOE_ARROW_LIST : FLOE_ARROW_STRUCT);
    } else if (element_oid != 0) {
      /* A one-dimensional array -> list (docs/types.md); the type modifier
       * is the element's (numeric(10,2)[]). Elements may always be null. */
      c->type = floe_arrow_type_of(FLOE_ARROW_LIST);
      c->element = pg_map_type(element_oid, atoi(PQgetvalue(res, n - 1, 5)));
      c->element_nullable = true;
    } else {
      c->type = pg_map_type((unsigned)strtoul(PQgetvalue(res, n - 1, 4), NULL, 10),
                            atoi(PQgetvalue(res, n - 1, 5)));
    }
  }
  out->n_columns = n;
  out->columns = columns;
  columns = NULL;
cleanup:
  if (rc == FLOE_ENOMEM) floe_error_set(err, FLOE_ENOMEM, "out of memory");
  floe_src_columns_free(columns, n);
  PQclear(res);
  floe_buf_free(&name);
  return rc;
}

/* ---- streams -------------------------------------------------------------------------- */

static int fetch(pg_stream *s, floe_error *err) {
  char sql[96];
  snprintf(sql, sizeof sql, "FETCH FORWARD %" PRId64 " FROM %s", s->fetch_rows,
           s->cursor);
  PQclear(s->res);
  s->res = PQexec(s->src->conn, sql);
  s->row = -1;
  s->n_rows = 0;
  if (PQresultStatus(s->res) != PGRES_TUPLES_OK) {
    return pg_error(err, s->src->conn, s->res, "fetch");
  }
  s->n_rows = PQntuples(s->res);
  s->exhausted = s->n_rows < s->fetch_rows;
  return FLOE_OK;
}

static int stream_step(floe_source_stream *base, floe_error *err) {
  pg_stream *s = (pg_stream *)base;
  if (++s->row < s->n_rows) return 1;
  if (s->exhausted) return 0;
  int rc = fetch(s, err);
  if (rc < 0) return rc;
  return ++s->row < s->n_rows ? 1 : 0;
}

static bool stream_is_null(floe_source_stream *base, int64_t col) {
  pg_stream *s = (pg_stream *)base;
  return PQgetisnull(s->res, s->row, (int)col);
}

/* PostgreSQL writes years before 1 as "YYYY-MM-DD... BC" (ISO DateStyle);
 * floe's parser wants the astronomical year: 1 BC is year 0, 44 BC -43. */
static int rewrite_bc(const char *s, size_t len, floe_buf *out) {
  size_t body = len - 3, digits = 0;
  while (digits < body && s[digits] >= '0' && s[digits] <= '9') digits++;
  if (digits == 0 || digits > 9) return -1;
  long long year = strtoll(s, NULL, 10);
  floe_buf_reset(out);
  if (floe_buf_appendf(out, "-%04lld", year - 1) < 0 ||
      floe_buf_append(out, s + digits, body - digits) < 0)
    return -1;
  return 0;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int append_value(floe_buf *scratch, bool bytea, floe_arrow_builder *b,
                        const char *text, size_t len, floe_error *err);

static int append_nested(floe_buf *scratch, floe_arrow_builder *b, const char *text,
                         size_t len, int depth, floe_error *err);

/* The list depth of a builder: 1 for list<int>, 2 for list<list<int>>. */
static int list_depth(const floe_arrow_builder *b) {
  int d = 0;
  for (; b != NULL && b->type.id == FLOE_ARROW_LIST; b = b->child) d++;
  return d;
}

static int dimension_error(floe_error *err, const floe_arrow_builder *b, int dim,
                           const char *text, size_t len, bool more) {
  char why[200];
  int depth = dim + list_depth(b);
  snprintf(why, sizeof why,
           more ? "an array of more dimensions than the column's %d; floe maps each dimension to "
                  "a list level (declare the column's dimensions, e.g. int[][], or a shape such "
                  "as columns: {c: \"list<list<int>>\"})"
                : "an array of fewer dimensions than the column's %d",
           depth);
  return floe_src_value_error(err, &b->type, text, len, why);
}

/* The end of the sub-array starting at p ('{'): just past its matching
 * '}', skipping quoted elements; NULL when it does not close. */
static const char *sub_array_end(const char *p, const char *end) {
  int open = 0;
  bool quoted = false;
  for (; p < end; p++) {
    if (quoted) {
      if (*p == '\\' && p + 1 < end) p++;
      else if (*p == '"') quoted = false;
    } else if (*p == '"') {
      quoted = true;
    } else if (*p == '{') {
      open++;
    } else if (*p == '}' && --open == 0) {
      return p + 1;
    }
  }
  return NULL;
}

/* Appends an array's text output (PostgreSQL arrays.html, "Array Value
 * Input/Output": `{a,"b c",NULL}`, elements double-quoted when they hold
 * delimiters, braces, quotes, backslashes or spaces, or spell NULL;
 * `[2:3]={..}` when a lower bound is not 1) as one list. A
 * multi-dimensional array `{{1,2},{3,4}}` is a list of lists, one list
 * level per dimension (PostgreSQL arrays are rectangular, so a sub-array is
 * never NULL; its elements may be). An element that is itself quoted text
 * (a composite, or an array of a domain over an array) is unquoted and read
 * as the element type. dim: the dimension this literal is within its
 * array (0: the whole array), for messages. */
static int append_array(floe_buf *scratch, floe_arrow_builder *b, int dim, const char *text,
                        size_t len, int depth, floe_error *err) {
  floe_buf element = FLOE_BUF_INIT;
  floe_arrow_builder *child = NULL;
  const char *p = text, *end = text + len;
  int rc = FLOE_OK;
  if (p < end && *p == '[') {
    const char *eq = memchr(p, '=', len);
    if (eq == NULL) return floe_src_value_error(err, &b->type, text, len, "malformed array");
    p = eq + 1;
  }
  if (p >= end || *p != '{' || end[-1] != '}')
    return floe_src_value_error(err, &b->type, text, len, "malformed array");
  p++;
  end--;
  FLOE_TRY(floe_arrow_builder_list_start(b, &child));
  bool child_is_list = child->type.id == FLOE_ARROW_LIST;
  while (p < end) {
    if (*p == '{') { /* a sub-array: the next dimension */
      const char *close = sub_array_end(p, end);
      if (close == NULL) {
        rc = floe_src_value_error(err, &b->type, text, len, "malformed array");
        goto cleanup;
      }
      if (!child_is_list) {
        rc = dimension_error(err, b, dim, text, len, true);
        goto cleanup;
      }
      FLOE_TRY(append_array(scratch, child, dim + 1, p, (size_t)(close - p), depth + 1, err));
      p = close;
    } else {
      bool quoted = *p == '"';
      floe_buf_reset(&element);
      if (quoted) {
        p++;
        while (p < end && *p != '"') {
          if (*p == '\\' && p + 1 < end) p++;
          FLOE_TRY(floe_buf_append_byte(&element, (uint8_t)*p));
          p++;
        }
        if (p >= end) {
          rc = floe_src_value_error(err, &b->type, text, len, "malformed array");
          goto cleanup;
        }
        p++; /* closing quote */
      } else {
        while (p < end && *p != ',') {
          FLOE_TRY(floe_buf_append_byte(&element, (uint8_t)*p));
          p++;
        }
      }
      if (!quoted && element.len == 4 && strncasecmp((const char *)element.data, "NULL", 4) == 0) {
        FLOE_TRY(floe_arrow_builder_append_null(child));
      } else if (child_is_list && !quoted) {
        rc = dimension_error(err, b, dim, text, len, false);
        goto cleanup;
      } else {
        FLOE_TRY(append_nested(scratch, child, element.data ? (const char *)element.data : "",
                               element.len, depth + 1, err));
      }
    }
    if (p < end) {
      if (*p != ',') {
        rc = floe_src_value_error(err, &b->type, text, len, "malformed array");
        goto cleanup;
      }
      p++;
    }
  }
  rc = floe_arrow_builder_list_end(b);
cleanup:
  floe_buf_free(&element);
  return rc;
}

/* Appends a composite value's text output (PostgreSQL rowtypes.html,
 * "Composite Type Input and Output Syntax": `(1,"a b",,"(2,x)")`, one field
 * per attribute, an empty field NULL, `""` an empty string, a field
 * double-quoted when it holds commas, parentheses, quotes, backslashes or
 * spaces, `""` or `\"` a quote inside quotes) as one struct row, each field
 * read as its own type (a nested composite or an array by its text). */
static int append_composite(floe_buf *scratch, floe_arrow_builder *b, const char *text,
                            size_t len, int depth, floe_error *err) {
  floe_buf field = FLOE_BUF_INIT;
  floe_arrow_builder *children = NULL;
  int64_t n_children = 0, i = 0;
  const char *p = text, *end = text + len;
  int rc = FLOE_OK;
  if (len < 2 || *p != '(' || end[-1] != ')')
    return floe_src_value_error(err, &b->type, text, len, "malformed composite value");
  p++;
  end--;
  FLOE_TRY(floe_arrow_builder_struct_start(b, &children, &n_children));
  for (;;) {
    bool any_quoted = false, quoted = false;
    floe_buf_reset(&field);
    while (p < end && (quoted || *p != ',')) {
      if (*p == '\\' && p + 1 < end) {
        p++;
      } else if (*p == '"') {
        if (quoted && p + 1 < end && p[1] == '"') {
          p++; /* "" inside quotes: one quote */
        } else {
          quoted = !quoted;
          any_quoted = true;
          p++;
          continue;
        }
      }
      FLOE_TRY(floe_buf_append_byte(&field, (uint8_t)*p));
      p++;
    }
    if (quoted) {
      rc = floe_src_value_error(err, &b->type, text, len, "malformed composite value");
      goto cleanup;
    }
    if (i >= n_children) {
      rc = floe_src_value_error(err, &b->type, text, len,
                                "more fields than the composite type has attributes");
      goto cleanup;
    }
    if (field.len == 0 && !any_quoted)
      FLOE_TRY(floe_arrow_builder_append_null(&children[i]));
    else
      FLOE_TRY(append_nested(scratch, &children[i], field.data ? (const char *)field.data : "",
                             field.len, depth + 1, err));
    i++;
    if (p >= end) break;
    p++; /* the comma */
  }
  if (i != n_children) {
    rc = floe_src_value_error(err, &b->type, text, len,
                              "fewer fields than the composite type has attributes");
    goto cleanup;
  }
  rc = floe_arrow_builder_struct_end(b);
cleanup:
  floe_buf_free(&field);
  return rc;
}

/* One value's text output appended as b's type: an array as a list, a
 * composite as a struct, anything else by append_value (a binary leaf is
 * bytea, the only type mapped to binary). */
static int append_nested(floe_buf *scratch, floe_arrow_builder *b, const char *text,
                         size_t len, int depth, floe_error *err) {
  if (depth > 2 * MAX_NESTING)
    return floe_src_value_error(err, &b->type, text, len, "nested too deeply");
  if (b->type.id == FLOE_ARROW_LIST) return append_array(scratch, b, 0, text, len, depth, err);
  if (b->type.id == FLOE_ARROW_STRUCT) return append_composite(scratch, b, text, len, depth, err);
  return append_value(scratch, b->type.id == FLOE_ARROW_BINARY, b, text, len, err);
}

static int stream_append(floe_source_stream *base, int64_t col,
                         floe_arrow_builder *b, floe_error *err) {
  pg_stream *s = (pg_stream *)base;
  int c = (int)col;
  const char *text = PQgetvalue(s->res, s->row, c);
  size_t len = (size_t)PQgetlength(s->res, s->row, c);
  if (b->type.id == FLOE_ARROW_LIST || b->type.id == FLOE_ARROW_STRUCT)
    return append_nested(&s->base.scratch, b, text, len, 0, err);
  return append_value(&s->base.scratch, PQftype(s->res, c) == OID_BYTEA, b, text, len, err);
}

/* One value's text output converted to b's type (bytea: hex output). */
static int append_value(floe_buf *scratch, bool bytea, floe_arrow_builder *b,
                        const char *text, size_t len, floe_error *err) {
  if (bytea && (b->type.id == FLOE_ARROW_BINARY ||
                           b->type.id == FLOE_ARROW_UUID ||
                           b->type.id == FLOE_ARROW_FIXED)) {
    /* bytea_output = hex: "\x" then two digits a byte. */
    if (len < 2 || text[0] != '\\' || text[1] != 'x' || len % 2 != 0)
      return floe_src_value_error(err, &b->type, text, len,
                                  "bytea not in hex format");
    floe_buf_reset(scratch);
    if (floe_buf_reserve(scratch, (len - 2) / 2) < 0) return FLOE_ENOMEM;
    for (size_t i = 2; i < len; i += 2) {
      int hi = hex_digit(text[i]), lo = hex_digit(text[i + 1]);
      if (hi < 0 || lo < 0)
        return floe_src_value_error(err, &b->type, text, len,
                                    "bytea not in hex format");
      floe_buf_put_byte(scratch, (uint8_t)(hi << 4 | lo));
    }
    if (b->type.id != FLOE_ARROW_BINARY &&
        scratch->len != (size_t)b->type.byte_width)
      return floe_src_value_error(err, &b->type, text, len, "wrong length");
    return floe_arrow_builder_append_bytes(b, scratch->data, scratch->len);
  }
  if ((b->type.id == FLOE_ARROW_DATE32 ||
       b->type.id == FLOE_ARROW_TIMESTAMP_US ||
       b->type.id == FLOE_ARROW_TIMESTAMP_US_TZ ||
       b->type.id == FLOE_ARROW_TIMESTAMP_NS ||
       b->type.id == FLOE_ARROW_TIMESTAMP_NS_TZ) &&
      len > 3 && memcmp(text + len - 3, " BC", 3) == 0) {
    if (rewrite_bc(text, len, scratch) < 0)
      return floe_src_value_error(err, &b->type, text, len, "bad BC date");
    return floe_src_append_text(b, (const char *)scratch->data, scratch->len, err);
  }
  return floe_src_append_text(b, text, len, err);
}

static int stream_cell_text(floe_source_stream *base, int64_t col,
                            floe_buf *out) {
  pg_stream *s = (pg_stream *)base;
  return floe_buf_append(out, PQgetvalue(s->res, s->row, (int)col),
                         (size_t)PQgetlength(s->res, s->row, (int)col));
}

static void stream_close(floe_source_stream *base) {
  pg_stream *s = (pg_stream *)base;
  PQclear(s->res);
  PGconn *conn = s->src->conn;
  if (s->own_transaction) {
    /* A read transaction: COMMIT when healthy, ROLLBACK after an error. */
    PGresult *res = PQexec(conn, PQtransactionStatus(conn) == PQTRANS_INERROR
                                     ? "ROLLBACK"
                                     : "COMMIT");
    PQclear(res);
  } else if (s->cursor_open && PQtransactionStatus(conn) == PQTRANS_INTRANS) {
    char sql[64];
    snprintf(sql, sizeof sql, "CLOSE %s", s->cursor);
    PQclear(PQexec(conn, sql));
  }
  floe_free(s);
}

static const floe_source_stream_ops pg_stream_ops = {
    stream_step, stream_is_null, stream_append, stream_cell_text, stream_close, NULL};

static int infer_columns(pg_stream *s, floe_error *err) {
  int n = PQnfields(s->res);
  floe_source_column *columns = floe_calloc((size_t)(n ? n : 1), sizeof *columns);
  if (columns == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  s->base.columns = columns;
  s->base.n_columns = n;
  for (int i = 0; i < n; i++) {
    char type_name[48];
    unsigned oid = PQftype(s->res, i);
    columns[i].type = pg_map_type(oid, PQfmod(s->res, i));
    snprintf(type_name, sizeof type_name, "oid %u", oid);
    columns[i].name = floe_strdup(PQfname(s->res, i));
    columns[i].declared_type = floe_strdup(type_name);
    columns[i].nullable = true;
    if (columns[i].name == NULL || columns[i].declared_type == NULL)
      return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  }
  return FLOE_OK;
}

static int pg_query(floe_source *base, const floe_source_query_spec *spec,
                    floe_source_stream **out, floe_error *err) {
  pg_source *src = (pg_source *)base;
  floe_buf sql = FLOE_BUF_INIT;
  pg_params p = {0};
  PGresult *res = NULL;
  int rc = FLOE_OK;
  pg_stream *s = floe_calloc(1, sizeof *s);
  if (s == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  s->src = src;
  s->base.ops = &pg_stream_ops;
  s->fetch_rows =
      spec->batch_rows > 0 ? spec->batch_rows : FLOE_SOURCE_DEFAULT_BATCH_ROWS;
  snprintf(s->cursor, sizeof s->cursor, "floe_cursor_%u", ++src->cursor_seq);
  /* The cursor wraps the query text: drop a trailing ';' it may carry. */
  size_t len = strlen(spec->sql);
  while (len > 0 && (spec->sql[len - 1] == ';' || spec->sql[len - 1] == ' ' ||
                     spec->sql[len - 1] == '\n' || spec->sql[len - 1] == '\t' ||
                     spec->sql[len - 1] == '\r'))
    len--;
  if (floe_buf_appendf(&sql, "DECLARE %s NO SCROLL CURSOR FOR ", s->cursor) < 0 ||
      floe_buf_append(&sql, spec->sql, len) < 0 || floe_buf_terminate(&sql) < 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  FLOE_TRY(pg_params_init(&p, spec->params, spec->n_params, err));
  if (!src->base.in_transaction) {
    FLOE_TRY(run_command(src, "BEGIN", err));
    s->own_transaction = true;
  }
  res = exec_params(src, (const char *)sql.data, &p);
  if (PQresultStatus(res) != PGRES_COMMAND_OK) {
    rc = pg_error(err, src->conn, res, "declare cursor");
    goto cleanup;
  }
  s->cursor_open = true;
  /* The first FETCH gives the result's shape (and its first rows). */
  FLOE_TRY(fetch(s, err));
  s->base.n_result_columns = PQnfields(s->res);
  if (spec->columns == NULL) FLOE_TRY(infer_columns(s, err));
  *out = &s->base;
  s = NULL;
cleanup:
  if (s != NULL) {
    floe_src_columns_free(s->base.columns, s->base.n_columns);
    stream_close(&s->base);
  }
  PQclear(res);
  pg_params_free(&p);
  floe_buf_free(&sql);
  return rc;
}

/* ---- connection ----------------------------------------------------------------------------- */

static void pg_close(floe_source *base) {
  pg_source *src = (pg_source *)base;
  PQfinish(src->conn); /* the server rolls back an open transaction */
  floe_free(src);
}

/* libpq prints server notices on stderr by default; library code is quiet. */
static void ignore_notice(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

static const floe_source_driver pg_driver = {
    "postgres", pg_close, pg_describe, pg_query,
    pg_exec,    pg_begin, pg_commit,   pg_rollback};

int floe_src_postgres_open(floe_source **out, const floe_source_config *config,
                           floe_error *err) {
  int rc = FLOE_OK;
  const char *conninfo = config->postgres_conninfo;
  if (conninfo == NULL)
    return floe_error_set(err, FLOE_EINVAL, "source postgres: no conninfo");
  const char *password = NULL;
  if (config->password_env != NULL && *config->password_env != '\0') {
    password = getenv(config->password_env);
    if (password == NULL)
      return floe_error_set(err, FLOE_EINVAL,
                            "source postgres: password environment variable "
                            "%s is not set",
                            config->password_env);
  }
  pg_source *src = floe_calloc(1, sizeof *src);
  if (src == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  src->base.driver = &pg_driver;
  /* dbname with expand_dbname = 1 takes a whole conninfo string or URI;
   * later keywords override what it sets. */
  const char *keys[] = {"dbname", "client_encoding", "application_name",
                        password ? "password" : NULL, NULL};
  const char *values[] = {conninfo, "UTF8", "floe", password, NULL};
  src->conn = PQconnectdbParams(keys, values, 1);
  if (src->conn == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "source postgres: out of memory");
    goto cleanup;
  }
  if (PQstatus(src->conn) != CONNECTION_OK) {
    rc = pg_error(err, src->conn, NULL, "source postgres: connect");
    goto cleanup;
  }
  PQsetNoticeProcessor(src->conn, ignore_notice, NULL);
  rc = run_command(src,
                   "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD';"
                   " SET bytea_output = 'hex'; SET extra_float_digits = 3;"
                   " SET IntervalStyle = 'iso_8601'",
                   err);
  if (rc < 0) {
    floe_error_prefix(err, "source postgres: session setup");
    goto cleanup;
  }
  *out = &src->base;
  src = NULL;
cleanup:
  if (src != NULL) pg_close(&src->base);
  return rc;
}
