/*
 * Unit tests of declared shapes: the nested type-string parser
 * (floe_iceberg_type_parse_nested: Iceberg and Spark spellings, the text it
 * writes back, error messages with the character position, Iceberg's
 * fresh-id order), the config key `columns:` (values, file:line:col errors
 * pointing into the type string), and JSON text decoded into the declared
 * type by a real SQLite source stream (every primitive, lists, nulls at each
 * level, and the errors naming table, column, row key and JSON path).
 */
#include <math.h>
#include <unistd.h>

#include "floe/arrow.h"
#include "floe/buffer.h"
#include "floe/common.h"
#include "floe/config.h"
#include "floe/iceberg.h"
#include "floe/source.h"
#include "test.h"

/* The type string of a parsed shape, as floe writes it back. */
static const char *round_trip(const char *text) {
  static char out[1200];
  floe_iceberg_schema *s = NULL;
  floe_error err = {0};
  if (floe_iceberg_type_parse_nested(&s, "c", text, NULL, &err) != FLOE_OK) {
    snprintf(out, sizeof out, "error: %s", err.message);
    return out;
  }
  floe_buf b = FLOE_BUF_INIT;
  if (floe_iceberg_type_to_string(&s->root.fields[0].type, &b) != FLOE_OK ||
      floe_buf_terminate(&b) != FLOE_OK)
    snprintf(out, sizeof out, "error: out of memory");
  else
    snprintf(out, sizeof out, "%s", (const char *)b.data);
  floe_buf_free(&b);
  floe_iceberg_schema_free(s);
  return out;
}

static void test_type_strings_parse_iceberg_and_spark_spellings(void) {
  CHECK_STR_EQ(round_trip("long"), "long");
  CHECK_STR_EQ(round_trip(" decimal( 9 , 2 ) "), "decimal(9,2)");
  CHECK_STR_EQ(round_trip("fixed[16]"), "fixed[16]");
  CHECK_STR_EQ(round_trip("list<string>"), "list<string>");
  CHECK_STR_EQ(round_trip("ARRAY<BIGINT>"), "list<long>");
  CHECK_STR_EQ(round_trip("array<int not null>"), "list<int not null>");
  CHECK_STR_EQ(round_trip("map<string, list<int>>"), "map<string, list<int>>");
  CHECK_STR_EQ(round_trip("map<date,double NOT NULL>"), "map<date, double not null>");
  CHECK_STR_EQ(round_trip("struct<a:int,b:string>"), "struct<a: int, b: string>");
  CHECK_STR_EQ(round_trip("struct<a int, b array<struct<c: timestamptz, d: uuid>>>"),
               "struct<a: int, b: list<struct<c: timestamptz, d: uuid>>>");
  CHECK_STR_EQ(round_trip("struct<`order id`: long not null, `a``b`: boolean, x-y: binary>"),
               "struct<`order id`: long not null, `a``b`: boolean, `x-y`: binary>");
  CHECK_STR_EQ(round_trip("struct<s: struct<t: struct<u: list<list<decimal(38,10)>>>>>"),
               "struct<s: struct<t: struct<u: list<list<decimal(38,10)>>>>>");
  CHECK_STR_EQ(round_trip("timestamp_ntz"), "timestamp");
  CHECK_STR_EQ(round_trip("Integer"), "int");

  /* Field names keep their case; requiredness and names are in the tree. */
  floe_iceberg_schema *s = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_iceberg_type_parse_nested(&s, "payload", "struct<Qty: int not null, tags: "
                                            "list<string>>", NULL, &err), &err);
  const floe_iceberg_field *col = &s->root.fields[0];
  CHECK_STR_EQ(col->name, "payload");
  CHECK(!col->required);
  CHECK_INT_EQ(col->type.id, FLOE_ICEBERG_STRUCT);
  REQUIRE(col->type.n_fields == 2);
  CHECK_STR_EQ(col->type.fields[0].name, "Qty");
  CHECK(col->type.fields[0].required);
  CHECK_INT_EQ(col->type.fields[1].type.id, FLOE_ICEBERG_LIST);
  CHECK_STR_EQ(col->type.fields[1].type.fields[0].name, "element");
  CHECK(!col->type.fields[1].type.fields[0].required);
  floe_iceberg_schema_free(s);
}

/* The error message and 0-based offset of a bad type string. */
static void check_type_error(const char *text, size_t offset, const char *message, int line) {
  floe_iceberg_schema *s = NULL;
  floe_error err = {0};
  size_t at = 9999;
  int rc = floe_iceberg_type_parse_nested(&s, "c", text, &at, &err);
  if (rc != FLOE_EFORMAT) TEST_FAIL_AT(__FILE__, line, "'%s' parsed (rc %d)", text, rc);
  if (at != offset) TEST_FAIL_AT(__FILE__, line, "'%s': offset %zu, expected %zu", text, at, offset);
  if (strcmp(err.message, message) != 0)
    TEST_FAIL_AT(__FILE__, line, "message\n      got      %s\n      expected %s", err.message,
                 message);
  floe_iceberg_schema_free(s);
}

static void test_type_string_errors_name_the_position(void) {
  check_type_error("struct<a: int, b>", 16,
                   "type 'struct<a: int, b>': at character 17 ('>'): expected ':' and a type "
                   "after the field name", __LINE__);
  check_type_error("list<strin>", 5,
                   "type 'list<strin>': at character 6 ('strin>'): unknown type (expected a "
                   "primitive such as int, long, string, decimal(P,S), timestamptz, or list<…>, "
                   "map<…, …>, struct<…>)", __LINE__);
  check_type_error("list<int", 8,
                   "type 'list<int': at character 9 (the end): expected '>' to close list<",
                   __LINE__);
  check_type_error("map<list<int>, string>", 4,
                   "type 'map<list<int>, string>': at character 5 ('list<int>, s'): a map key "
                   "must be a primitive type (JSON object keys are strings)", __LINE__);
  check_type_error("map<string int>", 11,
                   "type 'map<string int>': at character 12 ('int>'): expected ',' between the "
                   "map's key and value types", __LINE__);
  check_type_error("struct<a: int, a: long>", 15,
                   "type 'struct<a: int, a: long>': at character 16 ('a: long>'): duplicate field "
                   "name in struct", __LINE__);
  check_type_error("decimal(40,2)", 12,
                   "type 'decimal(40,2)': at character 13 (')'): decimal precision must be "
                   "1..38 and the scale at most the precision", __LINE__);
  check_type_error("struct<`a: int>", 15,
                   "type 'struct<`a: int>': at character 16 (the end): unterminated `quoted` "
                   "field name", __LINE__);
  check_type_error("long long", 5,
                   "type 'long long': at character 6 ('long'): unexpected text after the type",
                   __LINE__);
  check_type_error("", 0, "type '': at character 1 (the end): expected a type", __LINE__);
}

static void test_fresh_ids_follow_iceberg_order(void) {
  /* Iceberg's TypeUtil.assignFreshIds: all children of a type, then each
   * child's subtree. */
  floe_iceberg_schema *s = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_iceberg_type_parse_nested(
                 &s, "p", "struct<a: int, b: list<struct<c: int, d: map<string, int>>>, e: long>",
                 NULL, &err), &err);
  floe_iceberg_type *t = &s->root.fields[0].type;
  int32_t last = 3; /* three top-level columns before it */
  floe_iceberg_type_assign_ids(t, &last);
  CHECK_INT_EQ(t->fields[0].id, 4);  /* a */
  CHECK_INT_EQ(t->fields[1].id, 5);  /* b */
  CHECK_INT_EQ(t->fields[2].id, 6);  /* e */
  const floe_iceberg_type *b = &t->fields[1].type;
  CHECK_INT_EQ(b->fields[0].id, 7);  /* b.element */
  const floe_iceberg_type *el = &b->fields[0].type;
  CHECK_INT_EQ(el->fields[0].id, 8);  /* c */
  CHECK_INT_EQ(el->fields[1].id, 9);  /* d */
  CHECK_INT_EQ(el->fields[1].type.fields[0].id, 10); /* d.key */
  CHECK_INT_EQ(el->fields[1].type.fields[1].id, 11); /* d.value */
  CHECK_INT_EQ(last, 11);
  floe_iceberg_schema_free(s);
}

/* ---- config ------------------------------------------------------------------ */

#define HEADER                                                          \
  "version: 1\nsource:\n  type: sqlite\n  path: ./s.db\ntarget:\n  warehouse: ./w\n"

static void test_config_columns_key_maps_shapes(void) {
  floe_config cfg;
  floe_error err = {0};
  const char *text = HEADER
      "tables:\n"
      "  t:\n"
      "    columns:\n"
      "      payload: {type: \"struct<a: int>\", on_extra_fields: fail}\n"
      "      tags:\n"
      "        type: list<string>\n"
      "      n: \"array<bigint>\"\n";
  REQUIRE_OK(floe_config_load_string(&cfg, "floe.yaml", text, strlen(text), NULL, 0, &err), &err);
  REQUIRE(cfg.n_tables == 1 && cfg.tables[0].n_columns == 3);
  const floe_config_column *c = cfg.tables[0].columns;
  CHECK_STR_EQ(c[0].name, "payload");
  CHECK_STR_EQ(c[0].type, "struct<a: int>");
  CHECK(c[0].fail_on_extra_fields);
  CHECK_INT_EQ(c[0].location.line, 10);
  CHECK_STR_EQ(c[1].name, "tags");
  CHECK_STR_EQ(c[1].type, "list<string>");
  CHECK(!c[1].fail_on_extra_fields);
  CHECK_STR_EQ(c[2].type, "array<bigint>");
  floe_buf dump = FLOE_BUF_INIT;
  REQUIRE_OK(floe_config_dump(&cfg, &dump, &err), &err);
  REQUIRE_OK(floe_buf_terminate(&dump), &err);
  CHECK(strstr((const char *)dump.data,
               "    columns:\n      payload:\n        type: \"struct<a: int>\"\n"
               "        on_extra_fields: fail\n      tags:\n        type: \"list<string>\"\n") !=
        NULL);
  floe_config again;
  REQUIRE_OK(floe_config_load_string(&again, "dump.yaml", (const char *)dump.data, dump.len, NULL,
                                     0, &err), &err);
  CHECK_INT_EQ(again.tables[0].n_columns, 3);
  floe_config_free(&again);
  floe_buf_free(&dump);
  floe_config_free(&cfg);
}

static void check_config_error(const char *body, const char *expected, int line) {
  floe_config cfg;
  floe_error err = {0};
  char text[2048];
  snprintf(text, sizeof text, HEADER "%s", body);
  int rc = floe_config_load_string(&cfg, "floe.yaml", text, strlen(text), NULL, 0, &err);
  if (rc != FLOE_EINVAL) TEST_FAIL_AT(__FILE__, line, "load rc %d, expected FLOE_EINVAL", rc);
  const char *got = floe_config_error_count(&cfg) > 0 ? floe_config_error_message(&cfg, 0) : "";
  if (strcmp(got, expected) != 0 || floe_config_error_count(&cfg) != 1)
    TEST_FAIL_AT(__FILE__, line, "message\n      got      %s (%zu messages)\n      expected %s",
                 got, floe_config_error_count(&cfg), expected);
  floe_config_free(&cfg);
}

static void test_config_columns_errors_point_into_the_type(void) {
  /* Plain scalar: column 18 is where "list<strin>" starts; the error is at
   * its 6th character. */
  check_config_error("tables:\n  t:\n    columns:\n      tags: list<strin>\n",
                     "floe.yaml:10:18: tables.t.columns.tags: type 'list<strin>': at character 6 "
                     "('strin>'): unknown type (expected a primitive such as int, long, string, "
                     "decimal(P,S), timestamptz, or list<…>, map<…, …>, struct<…>)",
                     __LINE__);
  check_config_error("tables:\n  t:\n    columns:\n      p: {type: \"struct<a: int, b>\"}\n",
                     "floe.yaml:10:34: tables.t.columns.p.type: type 'struct<a: int, b>': at "
                     "character 17 ('>'): expected ':' and a type after the field name",
                     __LINE__);
  check_config_error("tables:\n  t:\n    columns:\n      p: {type: int, on_extra_field: fail}\n",
                     "floe.yaml:10:22: tables.t.columns.p.on_extra_field: unknown key (did you "
                     "mean on_extra_fields?)",
                     __LINE__);
  check_config_error("tables:\n  t:\n    columns:\n      p: {type: int, on_extra_fields: drop}\n",
                     "floe.yaml:10:39: tables.t.columns.p.on_extra_fields: unknown value 'drop' "
                     "(expected ignore or fail)",
                     __LINE__);
  check_config_error("tables:\n  t:\n    columns: [a]\n",
                     "floe.yaml:9:14: tables.t.columns: mapping of source columns expected "
                     "(columns: {payload: {type: \"struct<a: int>\"}}), got a list",
                     __LINE__);
  check_config_error("defaults:\n  columns: {a: int}\ntables:\n  t: {}\n",
                     "floe.yaml:8:3: defaults.columns: set per table, not in defaults", __LINE__);
}

/* ---- JSON text decoded by a source stream --------------------------------------- */

static char db_path[512];

static floe_source *open_db(const char *name) {
  mkdir("tmp", 0755);
  mkdir("tmp/test_shapes", 0755);
  snprintf(db_path, sizeof db_path, "tmp/test_shapes/%s.db", name);
  unlink(db_path);
  floe_source_config config = {0};
  config.type = FLOE_SOURCE_SQLITE;
  config.sqlite_path = db_path;
  config.sqlite_create = true;
  floe_source *src = NULL;
  floe_error err = {0};
  if (floe_source_open(&src, &config, &err) != 0) {
    printf("  open %s: %s\n", db_path, err.message);
    return NULL;
  }
  return src;
}

static int exec(floe_source *src, const char *sql) {
  floe_error err = {0};
  int rc = floe_source_exec(src, sql, NULL, 0, NULL, &err);
  if (rc != 0) printf("  exec failed: %s\n", err.message);
  return rc;
}

/* Two columns: id (long, the key) and payload (JSON text read as `type`,
 * or a list of `element` when type is a list). */
static void shape_columns(floe_source_column cols[2], floe_arrow_type_info type,
                          floe_arrow_type_info element, bool element_nullable) {
  memset(cols, 0, 2 * sizeof *cols);
  cols[0].name = (char *)"id";
  cols[0].type = floe_arrow_type_of(FLOE_ARROW_INT64);
  cols[0].pk_ordinal = 1;
  cols[1].name = (char *)"payload";
  cols[1].type = type;
  cols[1].nullable = true;
  cols[1].element = element;
  cols[1].element_nullable = element_nullable;
  cols[1].json = FLOE_SOURCE_JSON_DECODE;
}

/* Reads the whole table as the columns say; the rendered payload values,
 * "; "-separated, into out (or the error into err). */
static int read_rendered(floe_source *src, const floe_source_column *cols, char *out,
                         size_t out_size, floe_error *err) {
  floe_source_query_spec spec = {0};
  spec.sql = "SELECT id, payload FROM t ORDER BY id";
  spec.columns = cols;
  spec.n_columns = 2;
  spec.table = "t";
  floe_source_stream *stream = NULL;
  int rc = floe_source_query(src, &spec, &stream, err);
  if (rc < 0) return rc;
  floe_buf text = FLOE_BUF_INIT;
  struct ArrowArray batch;
  while ((rc = floe_source_stream_next(stream, &batch, err)) == 1) {
    floe_arrow_view v;
    rc = floe_arrow_view_init(&v, floe_source_stream_schema(stream)->children[1],
                              batch.children[1], err);
    for (int64_t i = 0; rc == FLOE_OK && i < v.length; i++) {
      if (text.len > 0) floe_buf_append_str(&text, "; ");
      rc = floe_arrow_view_format(&v, i, &text);
    }
    floe_arrow_array_release(&batch);
    if (rc < 0) break;
  }
  floe_source_stream_free(stream);
  floe_buf_terminate(&text);
  snprintf(out, out_size, "%s", text.data ? (const char *)text.data : "");
  floe_buf_free(&text);
  return rc < 0 ? rc : FLOE_OK;
}

static void test_json_lists_of_every_primitive_decode(void) {
  floe_source *src = open_db("lists");
  REQUIRE(src != NULL);
  REQUIRE(exec(src, "CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT)") == 0);
  floe_error err = {0};
  floe_source_column cols[2];
  char got[2048];
  struct {
    floe_arrow_type_info element;
    const char *rows;
    const char *expected;
  } cases[] = {
      {floe_arrow_type_of(FLOE_ARROW_INT64),
       "(1, '[1, -2, 9223372036854775807]'), (2, '[]'), (3, NULL), (4, 'null'), (5, '[null, 3.0]')",
       "[1, -2, 9223372036854775807]; []; \\N; \\N; [\\N, 3]"},
      {floe_arrow_type_of(FLOE_ARROW_INT32), "(1, '[2147483647, -2147483648]')",
       "[2147483647, -2147483648]"},
      {floe_arrow_type_of(FLOE_ARROW_DOUBLE), "(1, '[1.5, 2, -0.25]')", "[1.5, 2.0, -0.25]"},
      {floe_arrow_type_of(FLOE_ARROW_FLOAT), "(1, '[0.5]')", "[0.5]"},
      {floe_arrow_type_of(FLOE_ARROW_BOOL), "(1, '[true, false, null]')", "[true, false, \\N]"},
      {floe_arrow_decimal(10, 2), "(1, '[1.25, 7, \"12345678.90\", -0.5]')",
       "[1.25, 7.00, 12345678.90, -0.50]"},
      {floe_arrow_type_of(FLOE_ARROW_UTF8), "(1, '[\"a\", \"é\\\"q\", 3, {\"k\": [1]}]')",
       "[a, é\"q, 3, {\"k\":[1]}]"},
      {floe_arrow_type_of(FLOE_ARROW_DATE32), "(1, '[\"2024-02-29\", \"1969-12-31\"]')",
       "[2024-02-29, 1969-12-31]"},
      {floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_US_TZ),
       "(1, '[\"2024-03-01T10:00:00+02:00\", \"2024-03-01 08:00:00.5Z\"]')",
       "[2024-03-01 08:00:00+00, 2024-03-01 08:00:00.500000+00]"},
      {floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_US), "(1, '[\"2024-03-01T10:00:00\"]')",
       "[2024-03-01 10:00:00]"},
      {floe_arrow_type_of(FLOE_ARROW_UUID),
       "(1, '[\"123e4567-e89b-12d3-a456-426614174000\"]')",
       "[123e4567-e89b-12d3-a456-426614174000]"},
      {floe_arrow_type_of(FLOE_ARROW_BINARY), "(1, '[\"AAEC/w==\", \"aGk\", \"\"]')",
       "[000102ff, 6869, ]"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    REQUIRE(exec(src, "DELETE FROM t") == 0);
    char sql[512];
    snprintf(sql, sizeof sql, "INSERT INTO t VALUES %s", cases[k].rows);
    REQUIRE(exec(src, sql) == 0);
    shape_columns(cols, floe_arrow_type_of(FLOE_ARROW_LIST), cases[k].element, true);
    int rc = read_rendered(src, cols, got, sizeof got, &err);
    if (rc != FLOE_OK) {
      TEST_FAIL_AT(__FILE__, __LINE__, "case %zu: %s", k, err.message);
      continue;
    }
    if (strcmp(got, cases[k].expected) != 0)
      TEST_FAIL_AT(__FILE__, __LINE__, "case %zu:\n      got      %s\n      expected %s", k, got,
                   cases[k].expected);
  }
  floe_source_close(src);
}

static void test_json_primitive_shapes_decode(void) {
  floe_source *src = open_db("primitives");
  REQUIRE(src != NULL);
  REQUIRE(exec(src, "CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT)") == 0);
  REQUIRE(exec(src, "INSERT INTO t VALUES (1, '42'), (2, 'null'), (3, NULL), (4, ' -7 ')") == 0);
  floe_error err = {0};
  floe_source_column cols[2];
  char got[512];
  shape_columns(cols, floe_arrow_type_of(FLOE_ARROW_INT32), floe_arrow_type_of(0), true);
  REQUIRE_OK(read_rendered(src, cols, got, sizeof got, &err), &err);
  CHECK_STR_EQ(got, "42; \\N; \\N; -7");
  /* A string column keeps a JSON string's text and any other value's JSON. */
  REQUIRE(exec(src, "DELETE FROM t") == 0);
  REQUIRE(exec(src, "INSERT INTO t VALUES (1, '\"plain\"'), (2, '{\"a\": [1, 2]}'), (3, 'true')") == 0);
  shape_columns(cols, floe_arrow_type_of(FLOE_ARROW_UTF8), floe_arrow_type_of(0), true);
  REQUIRE_OK(read_rendered(src, cols, got, sizeof got, &err), &err);
  CHECK_STR_EQ(got, "plain; {\"a\":[1,2]}; true");
  floe_source_close(src);
}

/* The error reading one row of payload as the columns say. */
static void check_json_error(floe_source *src, const char *payload, floe_arrow_type_info type,
                             floe_arrow_type_info element, bool element_nullable,
                             const char *expected, int line) {
  char sql[1024];
  exec(src, "DELETE FROM t");
  snprintf(sql, sizeof sql, "INSERT INTO t VALUES (7, '%s')", payload);
  if (exec(src, sql) != 0) {
    TEST_FAIL_AT(__FILE__, line, "insert failed");
    return;
  }
  floe_source_column cols[2];
  shape_columns(cols, type, element, element_nullable);
  floe_error err = {0};
  char got[512];
  int rc = read_rendered(src, cols, got, sizeof got, &err);
  if (rc != FLOE_ERANGE) TEST_FAIL_AT(__FILE__, line, "rc %d, expected FLOE_ERANGE", rc);
  if (strcmp(err.message, expected) != 0)
    TEST_FAIL_AT(__FILE__, line, "message\n      got      %s\n      expected %s", err.message,
                 expected);
}

static void test_json_errors_name_row_and_json_path(void) {
  floe_source *src = open_db("errors");
  REQUIRE(src != NULL);
  REQUIRE(exec(src, "CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT)") == 0);
  floe_arrow_type_info list = floe_arrow_type_of(FLOE_ARROW_LIST);
  floe_arrow_type_info i32 = floe_arrow_type_of(FLOE_ARROW_INT32);
  floe_arrow_type_info none = floe_arrow_type_of(0);
  check_json_error(src, "[1, 2, 3, \"x\"]", list, i32, true,
                   "source sqlite: table 't' column 'payload' row (id=7): payload[3]: JSON "
                   "string \"x\" where int is declared",
                   __LINE__);
  check_json_error(src, "[1, 2147483648]", list, i32, true,
                   "source sqlite: table 't' column 'payload' row (id=7): payload[1]: value "
                   "'2147483648' does not fit int: out of int range",
                   __LINE__);
  check_json_error(src, "[1.5]", list, i32, true,
                   "source sqlite: table 't' column 'payload' row (id=7): payload[0]: value "
                   "'1.5' does not fit int: not an integer in range",
                   __LINE__);
  check_json_error(src, "[1, null]", list, i32, false,
                   "source sqlite: table 't' column 'payload' row (id=7): payload[1]: JSON null "
                   "where the shape declares not null",
                   __LINE__);
  check_json_error(src, "{\"a\": 1}", list, i32, true,
                   "source sqlite: table 't' column 'payload' row (id=7): payload: JSON object "
                   "{\"a\":1} where a list is declared",
                   __LINE__);
  check_json_error(src, "[1, 2", list, i32, true,
                   "source sqlite: table 't' column 'payload' row (id=7): payload: not valid "
                   "JSON (']' expected near end of file at character 5)",
                   __LINE__);
  check_json_error(src, "[1.234]", list, floe_arrow_decimal(5, 2), true,
                   "source sqlite: table 't' column 'payload' row (id=7): payload[0]: value "
                   "'1.234' does not fit decimal(5,2): 3 fractional digits, scale is 2",
                   __LINE__);
  check_json_error(src, "[\"2024-13-01\"]", list, floe_arrow_type_of(FLOE_ARROW_DATE32), true,
                   "source sqlite: table 't' column 'payload' row (id=7): payload[0]: value "
                   "'2024-13-01' does not fit date: not a valid YYYY-MM-DD date",
                   __LINE__);
  check_json_error(src, "[\"not base64!\"]", list, floe_arrow_type_of(FLOE_ARROW_BINARY), true,
                   "source sqlite: table 't' column 'payload' row (id=7): payload[0]: JSON "
                   "string is not base64",
                   __LINE__);
  check_json_error(src, "true", floe_arrow_type_of(FLOE_ARROW_INT64), none, true,
                   "source sqlite: table 't' column 'payload' row (id=7): payload: JSON boolean "
                   "true where long is declared",
                   __LINE__);
  floe_source_close(src);
}

/* payload: struct<a: int not null, tags: list<string>, m: map<string,
 * list<int>>, `x y`: struct<d: double>> as an Arrow field. */
static int nested_field(struct ArrowSchema *out) {
  floe_arrow_type_info i32 = floe_arrow_type_of(FLOE_ARROW_INT32);
  floe_arrow_type_info utf8 = floe_arrow_type_of(FLOE_ARROW_UTF8);
  floe_arrow_type_info dbl = floe_arrow_type_of(FLOE_ARROW_DOUBLE);
  int rc = floe_arrow_schema_init_struct_field(out, "payload", true, 2, 4);
  if (rc == FLOE_OK) rc = floe_arrow_schema_init(out->children[0], "a", &i32, false, 3);
  if (rc == FLOE_OK)
    rc = floe_arrow_schema_init_list(out->children[1], "tags", true, 4, &utf8, true, 7);
  if (rc == FLOE_OK) rc = floe_arrow_schema_init_map(out->children[2], "m", true, 5);
  if (rc == FLOE_OK) {
    struct ArrowSchema *entries = out->children[2]->children[0];
    rc = floe_arrow_schema_init(entries->children[0], "key", &utf8, false, 8);
    if (rc == FLOE_OK)
      rc = floe_arrow_schema_init_list(entries->children[1], "value", true, 9, &i32, true, 10);
  }
  if (rc == FLOE_OK) rc = floe_arrow_schema_init_struct_field(out->children[3], "x y", true, 6, 1);
  if (rc == FLOE_OK) rc = floe_arrow_schema_init(out->children[3]->children[0], "d", &dbl, true, 11);
  return rc;
}

static void test_json_structs_and_maps_decode(void) {
  floe_source *src = open_db("structs");
  REQUIRE(src != NULL);
  REQUIRE(exec(src, "CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT)") == 0);
  REQUIRE(exec(src, "INSERT INTO t VALUES "
                    "(1, '{\"a\": 1, \"tags\": [\"t\", null], \"m\": {\"k\": [1, null], \"j\": []},"
                    " \"x y\": {\"d\": 1.5}, \"extra\": {\"ignored\": true}}'),"
                    "(2, '{\"a\": 2}'), (3, 'null'), (4, NULL),"
                    "(5, '{\"A\": 5, \"tags\": [], \"m\": {}, \"x y\": null}'),"
                    "(6, '{\"a\": 6, \"m\": {\"n\": null}, \"x y\": {}}')") == 0);
  struct ArrowSchema field = {0};
  REQUIRE(nested_field(&field) == FLOE_OK);
  floe_source_column cols[2];
  shape_columns(cols, floe_arrow_type_of(FLOE_ARROW_STRUCT), floe_arrow_type_of(0), true);
  cols[1].arrow_field = &field;
  floe_error err = {0};
  char got[2048];
  REQUIRE_OK(read_rendered(src, cols, got, sizeof got, &err), &err);
  CHECK_STR_EQ(got,
               "{a: 1, tags: [t, \\N], m: {k -> [1, \\N], j -> []}, x y: {d: 1.5}}; "
               "{a: 2, tags: \\N, m: \\N, x y: \\N}; \\N; \\N; "
               "{a: 5, tags: [], m: {}, x y: \\N}; "
               "{a: 6, tags: \\N, m: {n -> \\N}, x y: {d: \\N}}");

  /* Errors name the path through structs and maps. */
  exec(src, "DELETE FROM t");
  const struct {
    const char *payload;
    floe_source_json mode;
    const char *message;
  } bad[] = {
      {"{\"tags\": []}", FLOE_SOURCE_JSON_DECODE,
       "payload.a: missing, and the shape declares it not null"},
      {"{\"a\": null}", FLOE_SOURCE_JSON_DECODE,
       "payload.a: JSON null where the shape declares not null"},
      {"{\"a\": 1, \"m\": {\"k\": [1, \"two\"]}}", FLOE_SOURCE_JSON_DECODE,
       "payload.m.k[1]: JSON string \"two\" where int is declared"},
      {"{\"a\": 1, \"m\": {\"a b\": {}}}", FLOE_SOURCE_JSON_DECODE,
       "payload.m[\"a b\"]: JSON object {} where a list is declared"},
      {"{\"a\": 1, \"x y\": {\"d\": \"1.5\"}}", FLOE_SOURCE_JSON_DECODE,
       "payload[\"x y\"].d: JSON string \"1.5\" where double is declared"},
      {"[1]", FLOE_SOURCE_JSON_DECODE, "payload: JSON array [1] where a struct is declared"},
      {"{\"a\": 1, \"m\": []}", FLOE_SOURCE_JSON_DECODE,
       "payload.m: JSON array [] where a map is declared"},
      {"{\"a\": 1, \"zz\": 2}", FLOE_SOURCE_JSON_STRICT,
       "payload.zz: a member the declared struct does not have (on_extra_fields: fail)"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    exec(src, "DELETE FROM t");
    char sql[512];
    snprintf(sql, sizeof sql, "INSERT INTO t VALUES (9, '%s')", bad[k].payload);
    REQUIRE(exec(src, sql) == 0);
    shape_columns(cols, floe_arrow_type_of(FLOE_ARROW_STRUCT), floe_arrow_type_of(0), true);
    cols[1].arrow_field = &field;
    cols[1].json = bad[k].mode;
    floe_error e = {0};
    int rc = read_rendered(src, cols, got, sizeof got, &e);
    char want[512];
    snprintf(want, sizeof want, "source sqlite: table 't' column 'payload' row (id=9): %s",
             bad[k].message);
    if (rc != FLOE_ERANGE || strcmp(e.message, want) != 0)
      TEST_FAIL_AT(__FILE__, __LINE__, "case %zu (rc %d):\n      got      %s\n      expected %s", k,
                   rc, e.message, want);
  }
  floe_arrow_schema_release(&field);
  floe_source_close(src);
}

int main(void) {
  RUN(test_type_strings_parse_iceberg_and_spark_spellings);
  RUN(test_type_string_errors_name_the_position);
  RUN(test_fresh_ids_follow_iceberg_order);
  RUN(test_config_columns_key_maps_shapes);
  RUN(test_config_columns_errors_point_into_the_type);
  RUN(test_json_lists_of_every_primitive_decode);
  RUN(test_json_primitive_shapes_decode);
  RUN(test_json_errors_name_row_and_json_path);
  RUN(test_json_structs_and_maps_decode);
  return test_report();
}
