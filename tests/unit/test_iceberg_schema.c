/*
 * tests/unit/test_iceberg_schema: Iceberg schemas (JSON, lookups, Arrow
 * mapping, evolution, name mapping), partition specs and sort orders, and
 * partition tuples and paths computed from Arrow batches — the latter
 * checked against tables other engines wrote (../shared/fixtures): every
 * row of a partitioned table must land in the directory, and with the
 * partition tuple, that Trino or Spark gave it.
 */
#include <jansson.h>

#include "floe/iceberg.h"
#include "floe/time.h"
#include "test.h"

static const char *nested_schema_json =
    "{\"type\":\"struct\",\"schema-id\":3,\"identifier-field-ids\":[1],\"fields\":["
    "{\"id\":1,\"name\":\"id\",\"required\":true,\"type\":\"long\",\"doc\":\"row key\"},"
    "{\"id\":2,\"name\":\"price\",\"required\":false,\"type\":\"decimal(9, 2)\"},"
    "{\"id\":3,\"name\":\"location\",\"required\":false,\"type\":{\"type\":\"struct\","
    "\"fields\":[{\"id\":4,\"name\":\"lat\",\"required\":true,\"type\":\"double\"},"
    "{\"id\":5,\"name\":\"long\",\"required\":true,\"type\":\"double\"}]}},"
    "{\"id\":6,\"name\":\"tags\",\"required\":false,\"type\":{\"type\":\"list\","
    "\"element-id\":7,\"element\":\"string\",\"element-required\":true}},"
    "{\"id\":8,\"name\":\"attrs\",\"required\":false,\"type\":{\"type\":\"map\",\"key-id\":9,"
    "\"key\":\"string\",\"value-id\":10,\"value\":\"fixed[16]\",\"value-required\":false}},"
    "{\"id\":11,\"name\":\"created\",\"required\":false,\"type\":\"timestamptz\","
    "\"initial-default\":\"2017-11-16T22:31:08.123456+00:00\","
    "\"write-default\":\"2017-11-16T22:31:08+00:00\"}]}";

static void test_type_strings_parse_and_format(void) {
  floe_error err = {0};
  floe_iceberg_type t;
  char text[32];
  REQUIRE_OK(floe_iceberg_type_parse("decimal(9, 2)", &t, &err), &err);
  CHECK_INT_EQ(t.id, FLOE_ICEBERG_DECIMAL);
  CHECK_INT_EQ(t.precision, 9);
  CHECK_INT_EQ(t.scale, 2);
  floe_iceberg_type_format(&t, text, sizeof text);
  CHECK_STR_EQ(text, "decimal(9,2)");
  REQUIRE_OK(floe_iceberg_type_parse("fixed[16]", &t, &err), &err);
  CHECK_INT_EQ(t.length, 16);
  floe_iceberg_type_format(&t, text, sizeof text);
  CHECK_STR_EQ(text, "fixed[16]");
  const char *prims[] = {"boolean", "int", "long", "float", "double", "date", "time",
                         "timestamp", "timestamptz", "timestamp_ns", "timestamptz_ns",
                         "string", "uuid", "binary"};
  for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++) {
    CHECK_OK(floe_iceberg_type_parse(prims[i], &t, &err), &err);
    floe_iceberg_type_format(&t, text, sizeof text);
    CHECK_STR_EQ(text, prims[i]);
  }
  CHECK_INT_EQ(floe_iceberg_type_parse("decimal(39,2)", &t, &err), FLOE_EFORMAT);
  CHECK_INT_EQ(floe_iceberg_type_parse("fixed[0]", &t, &err), FLOE_EFORMAT);
  CHECK_INT_EQ(floe_iceberg_type_parse("varchar", &t, &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "varchar") != NULL);
}

static void test_schema_json_round_trips_nested_types(void) {
  floe_error err = {0};
  floe_iceberg_schema *s = NULL, *back = NULL;
  char *json = NULL, *json2 = NULL;
  REQUIRE_OK(floe_iceberg_schema_parse(&s, nested_schema_json, strlen(nested_schema_json), &err),
             &err);
  CHECK_INT_EQ(s->schema_id, 3);
  CHECK_INT_EQ(s->root.n_fields, 6);
  CHECK_INT_EQ(s->n_identifier_field_ids, 1);
  CHECK_STR_EQ(s->root.fields[0].doc, "row key");
  CHECK_INT_EQ(s->root.fields[1].type.precision, 9);
  CHECK_INT_EQ(s->root.fields[3].type.id, FLOE_ICEBERG_LIST);
  CHECK_INT_EQ(s->root.fields[3].type.fields[0].id, 7);
  CHECK(s->root.fields[3].type.fields[0].required);
  CHECK_INT_EQ(s->root.fields[4].type.fields[1].type.length, 16);
  CHECK(!s->root.fields[4].type.fields[1].required);
  CHECK_STR_EQ(s->root.fields[5].initial_default_json, "\"2017-11-16T22:31:08.123456+00:00\"");
  CHECK_INT_EQ(floe_iceberg_schema_highest_field_id(s), 11);
  REQUIRE_OK(floe_iceberg_schema_to_json(s, &json, &err), &err);
  REQUIRE_OK(floe_iceberg_schema_parse(&back, json, strlen(json), &err), &err);
  CHECK(floe_iceberg_schema_equal(s, back));
  CHECK_INT_EQ(back->schema_id, 3);
  REQUIRE_OK(floe_iceberg_schema_to_json(back, &json2, &err), &err);
  CHECK_STR_EQ(json2, json);
  /* The spec's decimal string has no space. */
  CHECK(strstr(json, "\"decimal(9,2)\"") != NULL);
  CHECK(strstr(json, "\"element-id\":7") != NULL);
  CHECK(strstr(json, "\"value-required\":false") != NULL);
  floe_free(json);
  floe_free(json2);
  floe_iceberg_schema_free(s);
  floe_iceberg_schema_free(back);
}

static void test_schema_json_rejects_bad_input(void) {
  floe_error err = {0};
  floe_iceberg_schema *s = NULL;
  const char *no_type = "{\"fields\":[{\"id\":1,\"name\":\"x\",\"required\":true,\"type\":\"long\"}]}";
  CHECK_INT_EQ(floe_iceberg_schema_parse(&s, no_type, strlen(no_type), &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "Cannot parse type from json:") != NULL);
  const char *dup = "{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"x\",\"required\":true,"
                    "\"type\":\"long\"},{\"id\":1,\"name\":\"y\",\"required\":true,\"type\":\"long\"}]}";
  CHECK_INT_EQ(floe_iceberg_schema_parse(&s, dup, strlen(dup), &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "field id 1 is used more than once") != NULL);
  const char *bad_ident = "{\"type\":\"struct\",\"identifier-field-ids\":[1],\"fields\":[{\"id\":1,"
                          "\"name\":\"x\",\"required\":false,\"type\":\"long\"}]}";
  CHECK_INT_EQ(floe_iceberg_schema_parse(&s, bad_ident, strlen(bad_ident), &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "cannot be an identifier field") != NULL);
  const char *bad_default = "{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"x\",\"required\":"
                            "false,\"type\":\"int\",\"initial-default\":\"seven\"}]}";
  CHECK_INT_EQ(floe_iceberg_schema_parse(&s, bad_default, strlen(bad_default), &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "initial-default") != NULL);
  CHECK(s == NULL);
}

static void test_schema_lookups_by_id_and_name(void) {
  floe_error err = {0};
  floe_iceberg_schema *s = NULL;
  REQUIRE_OK(floe_iceberg_schema_parse(&s, nested_schema_json, strlen(nested_schema_json), &err),
             &err);
  const floe_iceberg_field *f = floe_iceberg_schema_find_id(s, 5);
  REQUIRE(f != NULL);
  CHECK_STR_EQ(f->name, "long");
  CHECK(floe_iceberg_schema_find_id(s, 99) == NULL);
  CHECK(floe_iceberg_schema_find_name(s, "location.lat", true) == floe_iceberg_schema_find_id(s, 4));
  CHECK(floe_iceberg_schema_find_name(s, "tags.element", true) == floe_iceberg_schema_find_id(s, 7));
  CHECK(floe_iceberg_schema_find_name(s, "attrs.value", true) == floe_iceberg_schema_find_id(s, 10));
  CHECK(floe_iceberg_schema_find_name(s, "PRICE", true) == NULL);
  CHECK(floe_iceberg_schema_find_name(s, "PRICE", false) == floe_iceberg_schema_find_id(s, 2));
  CHECK(floe_iceberg_schema_find_name(s, "Location.LAT", false) == floe_iceberg_schema_find_id(s, 4));
  CHECK(floe_iceberg_schema_find_name(s, "location.nope", true) == NULL);
  floe_iceberg_schema_free(s);
}

static void test_iceberg_arrow_type_mapping(void) {
  floe_error err = {0};
  struct {
    floe_iceberg_type ice;
    floe_arrow_type arrow;
  } pairs[] = {
      {floe_iceberg_type_of(FLOE_ICEBERG_BOOLEAN), FLOE_ARROW_BOOL},
      {floe_iceberg_type_of(FLOE_ICEBERG_INT), FLOE_ARROW_INT32},
      {floe_iceberg_type_of(FLOE_ICEBERG_LONG), FLOE_ARROW_INT64},
      {floe_iceberg_type_of(FLOE_ICEBERG_FLOAT), FLOE_ARROW_FLOAT},
      {floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE), FLOE_ARROW_DOUBLE},
      {floe_iceberg_decimal(18, 3), FLOE_ARROW_DECIMAL128},
      {floe_iceberg_type_of(FLOE_ICEBERG_DATE), FLOE_ARROW_DATE32},
      {floe_iceberg_type_of(FLOE_ICEBERG_TIME), FLOE_ARROW_TIME64_US},
      {floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP), FLOE_ARROW_TIMESTAMP_US},
      {floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMPTZ), FLOE_ARROW_TIMESTAMP_US_TZ},
      {floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP_NS), FLOE_ARROW_TIMESTAMP_NS},
      {floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMPTZ_NS), FLOE_ARROW_TIMESTAMP_NS_TZ},
      {floe_iceberg_type_of(FLOE_ICEBERG_STRING), FLOE_ARROW_UTF8},
      {floe_iceberg_type_of(FLOE_ICEBERG_UUID), FLOE_ARROW_UUID},
      {floe_iceberg_fixed(7), FLOE_ARROW_FIXED},
      {floe_iceberg_type_of(FLOE_ICEBERG_BINARY), FLOE_ARROW_BINARY},
  };
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
    floe_arrow_type_info a;
    floe_iceberg_type back;
    CHECK_OK(floe_iceberg_type_to_arrow(&pairs[i].ice, &a, &err), &err);
    CHECK_INT_EQ(a.id, pairs[i].arrow);
    CHECK_OK(floe_iceberg_type_from_arrow(&a, &back, &err), &err);
    CHECK(floe_iceberg_type_equal(&back, &pairs[i].ice));
  }
  floe_arrow_type_info a;
  floe_iceberg_type t = floe_iceberg_decimal(18, 3);
  floe_iceberg_type_to_arrow(&t, &a, &err);
  CHECK_INT_EQ(a.precision, 18);
  CHECK_INT_EQ(a.scale, 3);
  floe_arrow_type_info u64 = floe_arrow_type_of(FLOE_ARROW_UINT64);
  CHECK_INT_EQ(floe_iceberg_type_from_arrow(&u64, &t, &err), FLOE_EUNSUPPORTED);
  floe_iceberg_type list = {FLOE_ICEBERG_LIST, 0, 0, 0, 0, NULL};
  CHECK_INT_EQ(floe_iceberg_type_to_arrow(&list, &a, &err), FLOE_EINVAL);
}

/* Struct, map and list nested in each other map to Arrow "+s", "+m" and
 * "+l" with the Iceberg field id on every level: struct fields, element-id,
 * key-id, value-id; nullability from required / element-required /
 * value-required; map keys never nullable. */
static void test_nested_schema_to_arrow_carries_every_field_id(void) {
  static const char json[] =
      "{\"type\":\"struct\",\"schema-id\":0,\"fields\":["
      "{\"id\":1,\"name\":\"id\",\"required\":true,\"type\":\"long\"},"
      "{\"id\":2,\"name\":\"s\",\"required\":false,\"type\":{\"type\":\"struct\",\"fields\":["
      "{\"id\":5,\"name\":\"a\",\"required\":true,\"type\":\"int\"},"
      "{\"id\":6,\"name\":\"inner\",\"required\":false,\"type\":{\"type\":\"struct\",\"fields\":["
      "{\"id\":7,\"name\":\"x\",\"required\":false,\"type\":\"double\"}]}}]}},"
      "{\"id\":3,\"name\":\"m\",\"required\":false,\"type\":{\"type\":\"map\",\"key-id\":8,"
      "\"key\":\"string\",\"value-id\":9,\"value-required\":false,\"value\":{\"type\":\"list\","
      "\"element-id\":10,\"element\":\"int\",\"element-required\":true}}},"
      "{\"id\":4,\"name\":\"ls\",\"required\":true,\"type\":{\"type\":\"list\",\"element-id\":11,"
      "\"element-required\":false,\"element\":{\"type\":\"struct\",\"fields\":["
      "{\"id\":12,\"name\":\"k\",\"required\":false,\"type\":\"string\"}]}}}]}";
  floe_error err = {0};
  floe_iceberg_schema *s = NULL, *grown = NULL;
  REQUIRE_OK(floe_iceberg_schema_parse(&s, json, strlen(json), &err), &err);
  struct ArrowSchema a;
  REQUIRE_OK(floe_iceberg_schema_to_arrow(s, NULL, 0, &a, &err), &err);
  REQUIRE(a.n_children == 4);
  struct ArrowSchema *st = a.children[1], *m = a.children[2], *ls = a.children[3];
  CHECK_STR_EQ(st->format, "+s");
  CHECK_INT_EQ(floe_arrow_schema_field_id(st), 2);
  CHECK(st->flags & ARROW_FLAG_NULLABLE);
  REQUIRE(st->n_children == 2);
  CHECK_STR_EQ(st->children[0]->name, "a");
  CHECK((st->children[0]->flags & ARROW_FLAG_NULLABLE) == 0);
  CHECK_STR_EQ(st->children[1]->format, "+s");
  CHECK_INT_EQ(floe_arrow_schema_field_id(st->children[1]->children[0]), 7);
  CHECK_STR_EQ(m->format, "+m");
  CHECK_INT_EQ(floe_arrow_schema_field_id(m), 3);
  struct ArrowSchema *entries = m->children[0];
  CHECK_STR_EQ(entries->children[0]->name, "key");
  CHECK_INT_EQ(floe_arrow_schema_field_id(entries->children[0]), 8);
  CHECK((entries->children[0]->flags & ARROW_FLAG_NULLABLE) == 0);
  CHECK_STR_EQ(entries->children[1]->name, "value");
  CHECK_STR_EQ(entries->children[1]->format, "+l");
  CHECK_INT_EQ(floe_arrow_schema_field_id(entries->children[1]), 9);
  CHECK(entries->children[1]->flags & ARROW_FLAG_NULLABLE);
  CHECK_INT_EQ(floe_arrow_schema_field_id(entries->children[1]->children[0]), 10);
  CHECK((entries->children[1]->children[0]->flags & ARROW_FLAG_NULLABLE) == 0);
  CHECK_STR_EQ(ls->format, "+l");
  CHECK((ls->flags & ARROW_FLAG_NULLABLE) == 0);
  CHECK_STR_EQ(ls->children[0]->name, "element");
  CHECK_STR_EQ(ls->children[0]->format, "+s");
  CHECK_INT_EQ(floe_arrow_schema_field_id(ls->children[0]), 11);
  CHECK(ls->children[0]->flags & ARROW_FLAG_NULLABLE);
  CHECK_INT_EQ(floe_arrow_schema_field_id(ls->children[0]->children[0]), 12);
  /* The Arrow schema builds a batch builder for every column. */
  floe_arrow_batch_builder bb;
  CHECK_OK(floe_arrow_batch_builder_init(&bb, &a, &err), &err);
  CHECK(bb.columns[3].type.id == FLOE_ARROW_LIST && bb.columns[3].child->type.id == FLOE_ARROW_STRUCT);
  floe_arrow_batch_builder_free(&bb);
  floe_arrow_schema_release(&a);
  /* Adding a field inside a nested struct takes a new id above last-column-id. */
  int32_t last = 12;
  floe_iceberg_type t_str = floe_iceberg_type_of(FLOE_ICEBERG_STRING);
  REQUIRE_OK(floe_iceberg_schema_add_column(&grown, s, "s.inner", "y", &t_str, NULL, &last, &err),
             &err);
  CHECK_INT_EQ(last, 13);
  const floe_iceberg_field *y = floe_iceberg_schema_find_id(grown, 13);
  REQUIRE(y != NULL);
  CHECK_STR_EQ(y->name, "y");
  CHECK(!y->required);
  floe_iceberg_schema_free(grown);
  grown = NULL;
  /* A type with no Arrow mapping deep inside is refused with its path. */
  floe_iceberg_type variant = floe_iceberg_type_of(FLOE_ICEBERG_STRUCT);
  floe_iceberg_field bad = {20, "v", false, floe_iceberg_type_of(FLOE_ICEBERG_VARIANT),
                            NULL, NULL, NULL};
  variant.n_fields = 1;
  variant.fields = &bad;
  floe_arrow_type_info info;
  CHECK_INT_EQ(floe_iceberg_type_to_arrow(&variant, &info, &err), FLOE_EUNSUPPORTED);
  CHECK(strstr(err.message, "struct field 'v'") != NULL);
  floe_iceberg_schema_free(s);
}

static void test_schema_to_arrow_carries_ids_and_nullability(void) {
  floe_error err = {0};
  floe_iceberg_column cols[] = {
      {1, "id", true, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL},
      {2, "ts", false, floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMPTZ), NULL},
      {3, "key", false, floe_iceberg_type_of(FLOE_ICEBERG_UUID), NULL},
  };
  floe_iceberg_schema *s = NULL;
  REQUIRE_OK(floe_iceberg_schema_new(&s, 0, cols, 3, &err), &err);
  struct ArrowSchema as;
  REQUIRE_OK(floe_iceberg_schema_to_arrow(s, NULL, 0, &as, &err), &err);
  CHECK_STR_EQ(as.format, "+s");
  CHECK_INT_EQ(as.n_children, 3);
  CHECK_STR_EQ(as.children[0]->format, "l");
  CHECK_STR_EQ(as.children[0]->name, "id");
  CHECK_INT_EQ(as.children[0]->flags & ARROW_FLAG_NULLABLE, 0);
  CHECK_INT_EQ(floe_arrow_schema_field_id(as.children[0]), 1);
  CHECK_STR_EQ(as.children[1]->format, "tsu:UTC");
  CHECK(as.children[1]->flags & ARROW_FLAG_NULLABLE);
  CHECK_STR_EQ(as.children[2]->format, "w:16");
  floe_arrow_schema_release(&as);
  int32_t proj[] = {3, 1};
  REQUIRE_OK(floe_iceberg_schema_to_arrow(s, proj, 2, &as, &err), &err);
  CHECK_INT_EQ(as.n_children, 2);
  CHECK_STR_EQ(as.children[0]->name, "key");
  CHECK_INT_EQ(floe_arrow_schema_field_id(as.children[1]), 1);
  floe_arrow_schema_release(&as);
  int32_t missing[] = {9};
  CHECK_INT_EQ(floe_iceberg_schema_to_arrow(s, missing, 1, &as, &err), FLOE_ENOTFOUND);
  floe_iceberg_schema_free(s);
}

static void test_schema_evolution_allowed_operations(void) {
  floe_error err = {0};
  floe_iceberg_column cols[] = {
      {1, "id", true, floe_iceberg_type_of(FLOE_ICEBERG_INT), NULL},
      {2, "score", false, floe_iceberg_type_of(FLOE_ICEBERG_FLOAT), NULL},
      {3, "price", true, floe_iceberg_decimal(9, 2), NULL},
      {4, "name", true, floe_iceberg_type_of(FLOE_ICEBERG_STRING), NULL},
  };
  floe_iceberg_schema *s0 = NULL, *s1 = NULL, *s2 = NULL, *s3 = NULL, *s4 = NULL, *s5 = NULL,
                      *s6 = NULL, *s7 = NULL;
  REQUIRE_OK(floe_iceberg_schema_new(&s0, 0, cols, 4, &err), &err);
  int32_t last = 4;
  floe_iceberg_type ts = floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMPTZ);
  REQUIRE_OK(floe_iceberg_schema_add_column(&s1, s0, NULL, "loaded_at", &ts, "load time", &last,
                                            &err),
             &err);
  CHECK_INT_EQ(last, 5);
  CHECK_INT_EQ(s1->schema_id, 1);
  CHECK_INT_EQ(s1->root.n_fields, 5);
  CHECK_INT_EQ(s1->root.fields[4].id, 5);
  CHECK(!s1->root.fields[4].required);
  CHECK_STR_EQ(s1->root.fields[4].doc, "load time");
  CHECK_INT_EQ(s0->root.n_fields, 4); /* base untouched */
  floe_iceberg_type lng = floe_iceberg_type_of(FLOE_ICEBERG_LONG);
  REQUIRE_OK(floe_iceberg_schema_promote_column(&s2, s1, "id", &lng, &err), &err);
  CHECK_INT_EQ(floe_iceberg_schema_find_id(s2, 1)->type.id, FLOE_ICEBERG_LONG);
  floe_iceberg_type dbl = floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE);
  REQUIRE_OK(floe_iceberg_schema_promote_column(&s3, s2, "score", &dbl, &err), &err);
  floe_iceberg_type wider = floe_iceberg_decimal(12, 2);
  REQUIRE_OK(floe_iceberg_schema_promote_column(&s4, s3, "price", &wider, &err), &err);
  CHECK_INT_EQ(floe_iceberg_schema_find_id(s4, 3)->type.precision, 12);
  REQUIRE_OK(floe_iceberg_schema_make_optional(&s5, s4, "price", &err), &err);
  CHECK(!floe_iceberg_schema_find_id(s5, 3)->required);
  REQUIRE_OK(floe_iceberg_schema_rename_column(&s6, s5, "name", "full_name", &err), &err);
  CHECK_STR_EQ(floe_iceberg_schema_find_id(s6, 4)->name, "full_name");
  CHECK(floe_iceberg_schema_find_name(s6, "name", true) == NULL);
  REQUIRE_OK(floe_iceberg_schema_delete_column(&s7, s6, "score", &err), &err);
  CHECK_INT_EQ(s7->root.n_fields, 4);
  CHECK(floe_iceberg_schema_find_id(s7, 2) == NULL);
  CHECK_INT_EQ(s7->schema_id, 7);
  /* Nested add: a struct column gets fresh ids for its fields too. */
  floe_iceberg_field inner[2] = {
      {0, "x", true, floe_iceberg_type_of(FLOE_ICEBERG_INT), NULL, NULL, NULL},
      {0, "y", false, floe_iceberg_type_of(FLOE_ICEBERG_INT), NULL, NULL, NULL}};
  floe_iceberg_type point = {FLOE_ICEBERG_STRUCT, 0, 0, 0, 2, inner};
  floe_iceberg_schema *s8 = NULL, *s9 = NULL;
  REQUIRE_OK(floe_iceberg_schema_add_column(&s8, s7, NULL, "point", &point, NULL, &last, &err),
             &err);
  CHECK_INT_EQ(last, 8);
  CHECK_INT_EQ(floe_iceberg_schema_find_name(s8, "point.y", true)->id, 8);
  REQUIRE_OK(floe_iceberg_schema_add_column(&s9, s8, "point", "z", &dbl, NULL, &last, &err), &err);
  CHECK_INT_EQ(floe_iceberg_schema_find_name(s9, "point.z", true)->id, 9);
  floe_iceberg_schema *all[] = {s0, s1, s2, s3, s4, s5, s6, s7, s8, s9};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) floe_iceberg_schema_free(all[i]);
}

static void test_schema_evolution_rejects_unsafe_changes(void) {
  floe_error err = {0};
  floe_iceberg_column cols[] = {
      {1, "id", true, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL},
      {2, "price", false, floe_iceberg_decimal(9, 2), NULL},
      {3, "name", false, floe_iceberg_type_of(FLOE_ICEBERG_STRING), NULL},
  };
  floe_iceberg_schema *s = NULL, *out = NULL;
  REQUIRE_OK(floe_iceberg_schema_new(&s, 0, cols, 3, &err), &err);
  floe_iceberg_type it = floe_iceberg_type_of(FLOE_ICEBERG_INT);
  CHECK_INT_EQ(floe_iceberg_schema_promote_column(&out, s, "id", &it, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "change column 'id' from long to int: not an allowed type promotion") !=
        NULL);
  CHECK_INT_EQ(floe_iceberg_schema_promote_column(&out, s, "name", &it, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "from string to int") != NULL);
  floe_iceberg_type rescale = floe_iceberg_decimal(12, 3);
  CHECK_INT_EQ(floe_iceberg_schema_promote_column(&out, s, "price", &rescale, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "decimal scale cannot change") != NULL);
  floe_iceberg_type narrow = floe_iceberg_decimal(8, 2);
  CHECK_INT_EQ(floe_iceberg_schema_promote_column(&out, s, "price", &narrow, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "decimal precision can only widen") != NULL);
  CHECK_INT_EQ(floe_iceberg_schema_set_required(&out, s, "name", &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "an optional column cannot become required") != NULL);
  CHECK_INT_EQ(floe_iceberg_schema_rename_column(&out, s, "name", "id", &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "a column with that name exists") != NULL);
  int32_t last = 3;
  CHECK_INT_EQ(floe_iceberg_schema_add_column(&out, s, NULL, "name", &it, NULL, &last, &err),
               FLOE_EINVAL);
  CHECK_INT_EQ(last, 3);
  int32_t stale = 2;
  CHECK_INT_EQ(floe_iceberg_schema_add_column(&out, s, NULL, "n2", &it, NULL, &stale, &err),
               FLOE_EINVAL);
  CHECK(strstr(err.message, "last-column-id 2 is below") != NULL);
  CHECK_INT_EQ(floe_iceberg_schema_delete_column(&out, s, "missing", &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "column 'missing' does not exist") != NULL);
  CHECK(out == NULL);
  /* Identifier fields stay required and cannot be dropped. */
  const char *ident = "{\"type\":\"struct\",\"schema-id\":0,\"identifier-field-ids\":[1],\"fields\":["
                      "{\"id\":1,\"name\":\"id\",\"required\":true,\"type\":\"long\"}]}";
  floe_iceberg_schema *si = NULL;
  REQUIRE_OK(floe_iceberg_schema_parse(&si, ident, strlen(ident), &err), &err);
  CHECK_INT_EQ(floe_iceberg_schema_delete_column(&out, si, "id", &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "identifier field") != NULL);
  CHECK_INT_EQ(floe_iceberg_schema_make_optional(&out, si, "id", &err), FLOE_EINVAL);
  floe_iceberg_schema_free(si);
  floe_iceberg_schema_free(s);
}

static void test_name_mapping_from_schema_and_lookup(void) {
  floe_error err = {0};
  floe_iceberg_schema *s = NULL;
  REQUIRE_OK(floe_iceberg_schema_parse(&s, nested_schema_json, strlen(nested_schema_json), &err),
             &err);
  char *json = NULL;
  REQUIRE_OK(floe_iceberg_name_mapping_from_schema(s, &json, &err), &err);
  CHECK_STR_EQ(json,
               "[{\"field-id\":1,\"names\":[\"id\"]},{\"field-id\":2,\"names\":[\"price\"]},"
               "{\"field-id\":3,\"names\":[\"location\"],\"fields\":[{\"field-id\":4,\"names\":"
               "[\"lat\"]},{\"field-id\":5,\"names\":[\"long\"]}]},{\"field-id\":6,\"names\":"
               "[\"tags\"],\"fields\":[{\"field-id\":7,\"names\":[\"element\"]}]},{\"field-id\":8,"
               "\"names\":[\"attrs\"],\"fields\":[{\"field-id\":9,\"names\":[\"key\"]},"
               "{\"field-id\":10,\"names\":[\"value\"]}]},{\"field-id\":11,\"names\":"
               "[\"created\"]}]");
  floe_iceberg_name_mapping *m = NULL;
  /* The spec's own example (Appendix C, Name Mapping Serialization). */
  const char *example =
      "[ { \"field-id\": 1, \"names\": [\"id\", \"record_id\"] },"
      "   { \"field-id\": 2, \"names\": [\"data\"] },"
      "   { \"field-id\": 3, \"names\": [\"location\"], \"fields\": ["
      "       { \"field-id\": 4, \"names\": [\"latitude\", \"lat\"] },"
      "       { \"field-id\": 5, \"names\": [\"longitude\", \"long\"] } ] },"
      "   { \"names\": [\"legacy\"] } ]";
  REQUIRE_OK(floe_iceberg_name_mapping_parse(&m, example, strlen(example), &err), &err);
  const char *p1[] = {"record_id"};
  const char *p2[] = {"location", "lat"};
  const char *p3[] = {"location", "longitude"};
  const char *p4[] = {"legacy"};
  const char *p5[] = {"nope"};
  CHECK_INT_EQ(floe_iceberg_name_mapping_find(m, p1, 1), 1);
  CHECK_INT_EQ(floe_iceberg_name_mapping_find(m, p2, 2), 4);
  CHECK_INT_EQ(floe_iceberg_name_mapping_find(m, p3, 2), 5);
  CHECK_INT_EQ(floe_iceberg_name_mapping_find(m, p4, 1), -1);
  CHECK_INT_EQ(floe_iceberg_name_mapping_find(m, p5, 1), -1);
  floe_iceberg_name_mapping_free(m);
  floe_free(json);
  floe_iceberg_schema_free(s);
}

static floe_iceberg_schema *events_schema(void) {
  floe_iceberg_column cols[] = {
      {1, "id", true, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL},
      {2, "ts", false, floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMPTZ), NULL},
      {3, "category", false, floe_iceberg_type_of(FLOE_ICEBERG_STRING), NULL},
      {4, "score", false, floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE), NULL},
  };
  floe_iceberg_schema *s = NULL;
  floe_iceberg_schema_new(&s, 0, cols, 4, NULL);
  return s;
}

static void test_partition_spec_build_json_and_checks(void) {
  floe_error err = {0};
  floe_iceberg_schema *s = events_schema();
  REQUIRE(s != NULL);
  floe_iceberg_partition_spec *spec = NULL, *back = NULL;
  REQUIRE_OK(floe_iceberg_partition_spec_new(&spec, 0, &err), &err);
  int32_t last = 999;
  REQUIRE_OK(floe_iceberg_partition_spec_add_field(spec, s, "ts", "day", NULL, &last, &err), &err);
  REQUIRE_OK(floe_iceberg_partition_spec_add_field(spec, s, "id", "bucket[16]", NULL, &last, &err),
             &err);
  REQUIRE_OK(floe_iceberg_partition_spec_add_field(spec, s, "category", "truncate[4]", "cat4",
                                                   &last, &err),
             &err);
  CHECK_INT_EQ(last, 1002);
  CHECK_STR_EQ(spec->fields[0].name, "ts_day");
  CHECK_STR_EQ(spec->fields[1].name, "id_bucket");
  CHECK_INT_EQ(spec->fields[1].field_id, 1001);
  char *json = NULL;
  REQUIRE_OK(floe_iceberg_partition_spec_to_json(spec, false, &json, &err), &err);
  CHECK_STR_EQ(json,
               "{\"spec-id\":0,\"fields\":[{\"name\":\"ts_day\",\"transform\":\"day\","
               "\"source-id\":2,\"field-id\":1000},{\"name\":\"id_bucket\",\"transform\":"
               "\"bucket[16]\",\"source-id\":1,\"field-id\":1001},{\"name\":\"cat4\","
               "\"transform\":\"truncate[4]\",\"source-id\":3,\"field-id\":1002}]}");
  REQUIRE_OK(floe_iceberg_partition_spec_parse(&back, json, strlen(json), &err), &err);
  CHECK(floe_iceberg_partition_spec_equal(spec, back));
  CHECK_OK(floe_iceberg_partition_spec_check(back, s, &err), &err);
  floe_free(json);
  REQUIRE_OK(floe_iceberg_partition_spec_to_json(spec, true, &json, &err), &err);
  CHECK(json[0] == '[');
  floe_free(json);
  /* Rejections: unknown column, transform that does not fit, duplicate name. */
  CHECK_INT_EQ(floe_iceberg_partition_spec_add_field(spec, s, "nope", "identity", NULL, &last,
                                                     &err),
               FLOE_EINVAL);
  CHECK(strstr(err.message, "column 'nope' is not in schema 0") != NULL);
  CHECK_INT_EQ(floe_iceberg_partition_spec_add_field(spec, s, "score", "bucket[4]", NULL, &last,
                                                     &err),
               FLOE_EINVAL);
  CHECK(strstr(err.message, "bucket[4] cannot be applied to type double") != NULL);
  CHECK_INT_EQ(floe_iceberg_partition_spec_add_field(spec, s, "category", "hour", NULL, &last,
                                                     &err),
               FLOE_EINVAL);
  CHECK_INT_EQ(floe_iceberg_partition_spec_add_field(spec, s, "id", "identity", "cat4", &last,
                                                     &err),
               FLOE_EINVAL);
  CHECK(strstr(err.message, "'cat4' already exists") != NULL);
  CHECK_INT_EQ(last, 1002);
  /* A parsed spec whose source column is gone fails the check; an unknown
   * transform is kept and tolerated by the check (readable). */
  const char *gone = "{\"spec-id\":1,\"fields\":[{\"name\":\"x\",\"transform\":\"identity\","
                     "\"source-id\":42,\"field-id\":1000}]}";
  floe_iceberg_partition_spec *g = NULL;
  REQUIRE_OK(floe_iceberg_partition_spec_parse(&g, gone, strlen(gone), &err), &err);
  CHECK_INT_EQ(floe_iceberg_partition_spec_check(g, s, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "source column id 42 is not in schema 0") != NULL);
  floe_iceberg_partition_spec_free(g);
  const char *unknown = "{\"spec-id\":2,\"fields\":[{\"name\":\"z\",\"transform\":\"zorder\","
                        "\"source-id\":1,\"field-id\":1000}]}";
  REQUIRE_OK(floe_iceberg_partition_spec_parse(&g, unknown, strlen(unknown), &err), &err);
  CHECK_INT_EQ(g->fields[0].transform.kind, FLOE_TRANSFORM_UNKNOWN);
  CHECK_STR_EQ(g->fields[0].transform_text, "zorder");
  CHECK_OK(floe_iceberg_partition_spec_check(g, s, &err), &err);
  floe_iceberg_partition_spec_free(g);
  /* Partition type: field ids and result types. */
  floe_iceberg_schema *pt = NULL;
  REQUIRE_OK(floe_iceberg_partition_spec_type(spec, s, &pt, &err), &err);
  CHECK_INT_EQ(pt->root.n_fields, 3);
  CHECK_INT_EQ(pt->root.fields[0].id, 1000);
  CHECK_INT_EQ(pt->root.fields[0].type.id, FLOE_ICEBERG_DATE);
  CHECK_INT_EQ(pt->root.fields[1].type.id, FLOE_ICEBERG_INT);
  CHECK_INT_EQ(pt->root.fields[2].type.id, FLOE_ICEBERG_STRING);
  CHECK(!pt->root.fields[2].required);
  floe_iceberg_schema_free(pt);
  floe_iceberg_partition_spec_free(back);
  floe_iceberg_partition_spec_free(spec);
  floe_iceberg_schema_free(s);
}

static void test_sort_order_json_and_unsorted(void) {
  floe_error err = {0};
  floe_iceberg_schema *s = events_schema();
  floe_iceberg_sort_order *o = NULL, *back = NULL, *unsorted = NULL;
  REQUIRE_OK(floe_iceberg_sort_order_new(&o, 1, &err), &err);
  REQUIRE_OK(floe_iceberg_sort_order_add_field(o, s, "category", "identity", FLOE_SORT_ASC,
                                               FLOE_NULLS_FIRST, &err),
             &err);
  REQUIRE_OK(floe_iceberg_sort_order_add_field(o, s, "id", "bucket[4]", FLOE_SORT_DESC,
                                               FLOE_NULLS_LAST, &err),
             &err);
  char *json = NULL;
  REQUIRE_OK(floe_iceberg_sort_order_to_json(o, &json, &err), &err);
  CHECK_STR_EQ(json,
               "{\"order-id\":1,\"fields\":[{\"transform\":\"identity\",\"source-id\":3,"
               "\"direction\":\"asc\",\"null-order\":\"nulls-first\"},{\"transform\":"
               "\"bucket[4]\",\"source-id\":1,\"direction\":\"desc\",\"null-order\":"
               "\"nulls-last\"}]}");
  REQUIRE_OK(floe_iceberg_sort_order_parse(&back, json, strlen(json), &err), &err);
  CHECK_INT_EQ(back->n_fields, 2);
  CHECK_INT_EQ(back->fields[1].direction, FLOE_SORT_DESC);
  CHECK_INT_EQ(back->fields[1].null_order, FLOE_NULLS_LAST);
  CHECK_INT_EQ(back->fields[1].transform.param, 4);
  floe_free(json);
  REQUIRE_OK(floe_iceberg_sort_order_new(&unsorted, 0, &err), &err);
  REQUIRE_OK(floe_iceberg_sort_order_to_json(unsorted, &json, &err), &err);
  CHECK_STR_EQ(json, "{\"order-id\":0,\"fields\":[]}");
  CHECK_INT_EQ(floe_iceberg_sort_order_add_field(unsorted, s, "id", "identity", FLOE_SORT_ASC,
                                                 FLOE_NULLS_FIRST, &err),
               FLOE_EINVAL);
  const char *bad = "{\"order-id\":2,\"fields\":[{\"transform\":\"identity\",\"source-id\":1,"
                    "\"direction\":\"up\",\"null-order\":\"nulls-first\"}]}";
  floe_iceberg_sort_order *b = NULL;
  CHECK_INT_EQ(floe_iceberg_sort_order_parse(&b, bad, strlen(bad), &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "direction") != NULL);
  floe_free(json);
  floe_iceberg_sort_order_free(o);
  floe_iceberg_sort_order_free(back);
  floe_iceberg_sort_order_free(unsorted);
  floe_iceberg_schema_free(s);
}

/* ---- partition tuples and paths from Arrow -------------------------------- */

/* Appends a CSV text value (fixture conventions) to a builder. */
static int append_text(floe_arrow_builder *b, const floe_iceberg_type *t, const char *text) {
  floe_iceberg_value v = floe_iceberg_null_value();
  uint8_t buf[256];
  if (strcmp(text, "\\N") == 0) return floe_iceberg_value_append_arrow(t, &v, b, NULL);
  v.is_null = false;
  size_t n = strlen(text);
  bool zone;
  switch (t->id) {
    case FLOE_ICEBERG_BOOLEAN: v.v.b = strcmp(text, "true") == 0; break;
    case FLOE_ICEBERG_INT: v.v.i32 = (int32_t)strtol(text, NULL, 10); break;
    case FLOE_ICEBERG_LONG: v.v.i64 = strtoll(text, NULL, 10); break;
    case FLOE_ICEBERG_FLOAT: v.v.f32 = strtof(text, NULL); break;
    case FLOE_ICEBERG_DOUBLE: v.v.f64 = strtod(text, NULL); break;
    case FLOE_ICEBERG_DATE:
      if (floe_parse_date(text, n, &v.v.i32, NULL) < 0) return -1;
      break;
    case FLOE_ICEBERG_TIME:
      if (floe_parse_time(text, n, &v.v.i64, NULL) < 0) return -1;
      break;
    case FLOE_ICEBERG_TIMESTAMP:
    case FLOE_ICEBERG_TIMESTAMPTZ:
      if (floe_parse_timestamp(text, n, &v.v.i64, &zone, NULL) < 0) return -1;
      break;
    case FLOE_ICEBERG_DECIMAL: {
      floe_int128 u = 0;
      bool neg = text[0] == '-';
      for (const char *p = text + (neg ? 1 : 0); *p; p++)
        if (*p != '.') u = u * 10 + (*p - '0');
      v.v.dec = neg ? -u : u;
      break;
    }
    case FLOE_ICEBERG_UUID:
      if (floe_iceberg_uuid_parse(text, n, buf, NULL) < 0) return -1;
      v.bytes = buf;
      v.len = 16;
      break;
    case FLOE_ICEBERG_BINARY:
    case FLOE_ICEBERG_FIXED:
      for (size_t i = 0; i + 1 < n && i / 2 < sizeof buf; i += 2) {
        unsigned x;
        sscanf(text + i, "%2x", &x);
        buf[i / 2] = (uint8_t)x;
      }
      v.bytes = buf;
      v.len = n / 2;
      break;
    default:
      v.bytes = (const uint8_t *)text;
      v.len = n;
      break;
  }
  return floe_iceberg_value_append_arrow(t, &v, b, NULL);
}

/* Splits one CSV line (RFC 4180 quotes) in place into at most max fields. */
static int split_csv(char *line, char **fields, int max) {
  int n = 0;
  char *p = line;
  while (n < max) {
    if (*p == '"') {
      char *w = ++p;
      fields[n++] = w;
      while (*p) {
        if (*p == '"' && p[1] == '"') {
          *w++ = '"';
          p += 2;
        } else if (*p == '"') {
          p++;
          break;
        } else {
          *w++ = *p++;
        }
      }
      *w = '\0';
      if (*p == ',') p++;
      else break;
    } else {
      fields[n++] = p;
      char *c = strchr(p, ',');
      if (c == NULL) break;
      *c = '\0';
      p = c + 1;
    }
  }
  return n;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *data = malloc((size_t)n + 1);
  if (fread(data, 1, (size_t)n, f) != (size_t)n) n = 0;
  data[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return data;
}

/* Avro fixed width of a decimal: the fewest bytes that hold precision P. */
static int decimal_width(int32_t precision) {
  for (int n = 1; n <= 16; n++) {
    long double max = 1;
    for (int i = 0; i < 8 * n - 1; i++) max *= 2;
    long double need = 1;
    for (int i = 0; i < precision; i++) need *= 10;
    if (max >= need) return n;
  }
  return 16;
}

/* Compares a computed partition value with the expected JSON tuple value
 * (fixture README "Partition tuple values"). */
static bool value_matches_json(const floe_iceberg_type *t, const floe_iceberg_value *v,
                               const json_t *j) {
  if (v->is_null || json_is_null(j)) return v->is_null && json_is_null(j);
  char hex[80] = "";
  switch (t->id) {
    case FLOE_ICEBERG_BOOLEAN: return json_is_boolean(j) && json_is_true(j) == v->v.b;
    case FLOE_ICEBERG_INT:
    case FLOE_ICEBERG_DATE: return json_is_integer(j) && json_integer_value(j) == v->v.i32;
    case FLOE_ICEBERG_LONG: {
      char text[32];
      snprintf(text, sizeof text, "%lld", (long long)v->v.i64);
      return json_is_string(j) && strcmp(json_string_value(j), text) == 0;
    }
    case FLOE_ICEBERG_FLOAT: return json_is_number(j) && json_number_value(j) == v->v.f32;
    case FLOE_ICEBERG_DOUBLE: return json_is_number(j) && json_number_value(j) == v->v.f64;
    case FLOE_ICEBERG_TIME:
    case FLOE_ICEBERG_TIMESTAMP:
    case FLOE_ICEBERG_TIMESTAMPTZ: return json_is_integer(j) && json_integer_value(j) == v->v.i64;
    case FLOE_ICEBERG_STRING:
      return json_is_string(j) && json_string_length(j) == v->len &&
             memcmp(json_string_value(j), v->bytes, v->len) == 0;
    case FLOE_ICEBERG_DECIMAL: {
      int w = decimal_width(t->precision);
      uint8_t be[16];
      unsigned __int128 u = (unsigned __int128)v->v.dec;
      for (int i = w - 1; i >= 0; i--) {
        be[i] = (uint8_t)u;
        u >>= 8;
      }
      for (int i = 0; i < w; i++) sprintf(hex + 2 * i, "%02x", be[i]);
      return json_is_string(j) && strcmp(json_string_value(j), hex) == 0;
    }
    default:
      for (size_t i = 0; i < v->len && i < 39; i++) sprintf(hex + 2 * i, "%02x", v->bytes[i]);
      return json_is_string(j) && strcmp(json_string_value(j), hex) == 0;
  }
}

/* Every row of the expected CSV, partitioned by floe with the table's own
 * spec, must fall in the directory and tuple the writing engine used. */
static void check_partition_fixture(const char *table, const char *version) {
  char rel[512];
  snprintf(rel, sizeof rel, "expected/iceberg/%s.%s.json", table, version);
  const char *path = test_fixture(rel);
  if (path == NULL) SKIP("fixtures absent (../shared/fixtures)");
  json_t *expected = json_load_file(path, 0, NULL);
  REQUIRE(expected != NULL);
  const json_t *files = json_object_get(expected, "files");
  snprintf(rel, sizeof rel, "iceberg/%s/%s", table,
           json_string_value(json_object_get(expected, "metadata")));
  size_t len;
  char *text = read_file(test_fixture(rel), &len);
  REQUIRE(text != NULL);
  floe_error err = {0};
  floe_iceberg_metadata *md = NULL;
  REQUIRE_OK(floe_iceberg_metadata_parse(&md, text, len, &err), &err);
  free(text);
  const floe_iceberg_schema *schema = floe_iceberg_metadata_current_schema(md);
  int32_t spec_id =
      (int32_t)json_integer_value(json_object_get(json_array_get(files, 0), "spec_id"));
  const floe_iceberg_partition_spec *spec = floe_iceberg_metadata_spec(md, spec_id);
  REQUIRE(spec != NULL && spec->n_fields > 0);

  /* Build an Arrow batch from the CSV. */
  snprintf(rel, sizeof rel, "expected/iceberg/%s.%s.csv", table, version);
  char *csv = read_file(test_fixture(rel), &len);
  REQUIRE(csv != NULL);
  struct ArrowSchema as;
  REQUIRE_OK(floe_iceberg_schema_to_arrow(schema, NULL, 0, &as, &err), &err);
  floe_arrow_batch_builder bb;
  REQUIRE_OK(floe_arrow_batch_builder_init(&bb, &as, &err), &err);
  char *save = NULL;
  char *line = strtok_r(csv, "\n", &save); /* header */
  int rows = 0;
  while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
    char *cells[64];
    int n = split_csv(line, cells, 64);
    REQUIRE(n == schema->root.n_fields);
    for (int c = 0; c < n; c++)
      REQUIRE(append_text(&bb.columns[c], &schema->root.fields[c].type, cells[c]) == 0);
    rows++;
  }
  struct ArrowArray batch;
  REQUIRE_OK(floe_arrow_batch_builder_finish(&bb, &batch, &err), &err);
  REQUIRE(rows > 0);

  floe_iceberg_value tuple[16];
  floe_buf dir = FLOE_BUF_INIT;
  floe_iceberg_schema *ptype = NULL;
  REQUIRE_OK(floe_iceberg_partition_spec_type(spec, schema, &ptype, &err), &err);
  for (int64_t row = 0; row < batch.length; row++) {
    CHECK_OK(floe_iceberg_partition_tuple(spec, schema, &as, &batch, row, tuple, &err), &err);
    floe_buf_reset(&dir);
    floe_buf_append_str(&dir, "data/");
    CHECK_OK(floe_iceberg_partition_path(spec, schema, tuple, &dir, &err), &err);
    floe_buf_append_byte(&dir, '/');
    floe_buf_terminate(&dir);
    const json_t *match = NULL;
    for (size_t i = 0; i < json_array_size(files); i++) {
      const char *p = json_string_value(json_object_get(json_array_get(files, i), "path"));
      if (strncmp(p, (const char *)dir.data, dir.len) == 0) match = json_array_get(files, i);
    }
    if (match == NULL) {
      TEST_FAIL_AT(__FILE__, __LINE__, "%s row %lld: no data file under %s", table,
                   (long long)row, (const char *)dir.data);
      continue;
    }
    const json_t *part = json_object_get(match, "partition");
    for (int32_t f = 0; f < spec->n_fields; f++) {
      const json_t *want = json_object_get(part, spec->fields[f].name);
      if (!value_matches_json(&ptype->root.fields[f].type, &tuple[f], want))
        TEST_FAIL_AT(__FILE__, __LINE__, "%s row %lld: partition field %s differs", table,
                     (long long)row, spec->fields[f].name);
    }
  }
  floe_iceberg_schema_free(ptype);
  floe_buf_free(&dir);
  floe_arrow_array_release(&batch);
  floe_arrow_batch_builder_free(&bb);
  floe_arrow_schema_release(&as);
  free(csv);
  floe_iceberg_metadata_free(md);
  json_decref(expected);
}

static void test_bucket_partitions_match_trino(void) {
  /* bucket[2,3,4,5,6,100,123,42,55,812] -> 0,0,3,2,2,99,75,13,5,724 */
  check_partition_fixture("lithium_bucket_partitioning", "v00002");
}
static void test_identity_partition_paths_match_trino(void) {
  check_partition_fixture("lithium_identity_partitioning", "v00002");
}
static void test_decimal_identity_partitions_match_trino(void) {
  check_partition_fixture("lithium_decimal_partitioning", "v00002");
}
static void test_null_identity_partitions_match_trino(void) {
  check_partition_fixture("lithium_partitioning_with_null_value", "v00002");
}
static void test_time_partitions_match_trino(void) {
  check_partition_fixture("lithium_year_date_partitioning", "v00002");
  check_partition_fixture("lithium_year_timestamp_partitioning", "v00002");
  check_partition_fixture("lithium_year_timestamptz_partitioning", "v00002");
  check_partition_fixture("lithium_month_timestamptz_partitioning", "v00002");
  check_partition_fixture("lithium_day_timestamptz_partitioning", "v00002");
  check_partition_fixture("lithium_hour_timestamptz_partitioning", "v00002");
}
static void test_bucket_and_date_partitions_match_spark(void) {
  check_partition_fixture("icebird_spark_rename_column", "v2");
  check_partition_fixture("icebird_spark_rename_column", "v3"); /* after a rename */
}
static void test_identity_partitions_match_java_api(void) {
  check_partition_fixture("duckdb_equality_deletes_mytable_partitioned", "v6");
  check_partition_fixture("duckdb_equality_delete_cross_partition", "vfinal");
}

static void test_partition_path_escapes_like_java(void) {
  floe_error err = {0};
  floe_iceberg_column cols[] = {
      {1, "s", false, floe_iceberg_type_of(FLOE_ICEBERG_STRING), NULL},
      {2, "ts", false, floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP), NULL},
  };
  floe_iceberg_schema *s = NULL;
  REQUIRE_OK(floe_iceberg_schema_new(&s, 0, cols, 2, &err), &err);
  floe_iceberg_partition_spec *spec = NULL;
  REQUIRE_OK(floe_iceberg_partition_spec_new(&spec, 0, &err), &err);
  int32_t last = 999;
  REQUIRE_OK(floe_iceberg_partition_spec_add_field(spec, s, "s", "identity", "a b/c", &last, &err),
             &err);
  REQUIRE_OK(floe_iceberg_partition_spec_add_field(spec, s, "ts", "hour", NULL, &last, &err), &err);
  REQUIRE_OK(floe_iceberg_partition_spec_add_field(spec, s, "ts", "month", NULL, &last, &err),
             &err);
  REQUIRE_OK(floe_iceberg_partition_spec_add_field(spec, s, "ts", "year", NULL, &last, &err), &err);
  floe_iceberg_value v[4];
  for (int i = 0; i < 4; i++) v[i] = floe_iceberg_null_value();
  const char *text = "x y/z=\xc3\xa9%+*~";
  v[0].is_null = false;
  v[0].bytes = (const uint8_t *)text;
  v[0].len = strlen(text);
  v[1].is_null = false;
  v[1].v.i32 = 474863; /* 2024-03-03-23 */
  v[2].is_null = false;
  v[2].v.i32 = -1; /* 1969-12 */
  floe_buf out = FLOE_BUF_INIT;
  REQUIRE_OK(floe_iceberg_partition_path(spec, s, v, &out, &err), &err);
  floe_buf_terminate(&out);
  CHECK_STR_EQ((const char *)out.data,
               "a+b%2Fc=x+y%2Fz%3D%C3%A9%25%2B*%7E/ts_hour=2024-03-03-23/ts_month=1969-12/"
               "ts_year=null");
  floe_buf_free(&out);
  floe_iceberg_partition_spec_free(spec);
  floe_iceberg_schema_free(s);
}

int main(void) {
  RUN(test_type_strings_parse_and_format);
  RUN(test_schema_json_round_trips_nested_types);
  RUN(test_schema_json_rejects_bad_input);
  RUN(test_schema_lookups_by_id_and_name);
  RUN(test_iceberg_arrow_type_mapping);
  RUN(test_schema_to_arrow_carries_ids_and_nullability);
  RUN(test_nested_schema_to_arrow_carries_every_field_id);
  RUN(test_schema_evolution_allowed_operations);
  RUN(test_schema_evolution_rejects_unsafe_changes);
  RUN(test_name_mapping_from_schema_and_lookup);
  RUN(test_partition_spec_build_json_and_checks);
  RUN(test_sort_order_json_and_unsorted);
  RUN(test_partition_path_escapes_like_java);
  RUN(test_bucket_partitions_match_trino);
  RUN(test_identity_partition_paths_match_trino);
  RUN(test_decimal_identity_partitions_match_trino);
  RUN(test_null_identity_partitions_match_trino);
  RUN(test_time_partitions_match_trino);
  RUN(test_bucket_and_date_partitions_match_spark);
  RUN(test_identity_partitions_match_java_api);
  return test_report();
}
