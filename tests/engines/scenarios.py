"""The tables floe writes for the engine suite, and the state each must hold.

Each Scenario is one source table replicated by `floe run` through a job
file: the SQL that creates and changes the source before each run (step),
the job's table entry, and the SQL that yields the state the Iceberg table
must hold after the last run (expected). The SQLite scenarios run twice,
into floe's SQL catalog on a SQLite file and into the hadoop layout; the
PostgreSQL scenarios run into the SQL catalog on the PostgreSQL server.

Together they cover every Iceberg type floe maps to (edge values: decimal
(38,10), pre-1970 and year-9999 timestamps, NaN and infinities, empty
strings next to NULL, multi-byte text), every partition transform, and
every write mode: append, overwrite (table, partitions, range), merge with
position deletes, equality deletes and copy-on-write, CDC deletes, and
schema drift (added and widened columns).
"""

from dataclasses import dataclass, field


@dataclass
class Scenario:
    name: str                 # table name (control table and Iceberg table)
    entry: str                # the job's `tables:` entry (YAML flow mapping)
    steps: list               # source SQL before run 1, 2, ...
    expected: str             # source SQL: the state after the last run
    columns: list             # Iceberg columns compared, in expected's order
    spark: bool = True        # Spark 3.5 can load it (no time columns)
    transforms: dict = field(default_factory=dict)  # partition field -> Spark expr
    entries: list = None      # the job entry per run (layout evolution); None: entry
    specs: set = None         # spec ids the live files must have (partition evolution)

    def entry_at(self, step):
        return self.entries[min(step, len(self.entries) - 1)] if self.entries else self.entry


def rows_sql(table, rows):
    return f"INSERT INTO {table} VALUES " + ",".join("(" + ",".join(r) + ")" for r in rows) + ";"


# ---- SQLite ---------------------------------------------------------------

_TYPES_DDL = """CREATE TABLE types (id INTEGER PRIMARY KEY, dec DECIMAL(18,4), dec_s DECIMAL(10,2),
  u UUID, bin BLOB, ts TIMESTAMP, tstz TIMESTAMPTZ, d DATE, f DOUBLE, s TEXT, flag BOOLEAN,
  batch_sk INTEGER NOT NULL);"""
_TYPES_1 = [
    ["1", "'12345678901.1234'", "'0.01'", "'123e4567-e89b-12d3-a456-426614174000'", "X'00ff10'",
     "'1969-07-20 20:17:40'", "'1965-03-01T12:00:00+02:00'", "'1969-12-31'", "1.5", "''", "1", "1"],
    ["2", "'-99999999999.9999'", "'-12345678.99'", "NULL", "X''", "'1900-01-01 00:00:00.000001'",
     "'1970-01-01T00:00:00Z'", "'0001-01-01'", "9e999", "NULL", "0", "1"],
    ["3", "'0'", "NULL", "'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF'", "NULL", "'9999-12-31 23:59:59.999999'",
     "'9999-12-31T23:59:59.999999Z'", "'9999-12-31'", "-9e999", "'naïve café'", "NULL", "1"],
    ["4", "NULL", "'99999999.99'", "'00000000-0000-0000-0000-000000000000'", "X'deadbeef'", "NULL",
     "NULL", "NULL", "NULL", "'日本語テキスト 🧊'", "1", "1"],
]
_TYPES_2 = [
    ["5", "'0.0001'", "'1.10'", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "X'01'", "'2024-02-29 12:00:00.5'",
     "'2024-02-29T23:30:00-05:00'", "'2024-02-29'", "1e-300", "'comma,quote\"new\nline'", "0", "2"],
    ["6", "'1'", "'2.00'", "NULL", "X'0000'", "'1601-01-01 00:00:00'", "'1583-10-15T00:00:00Z'", "'1582-10-04'",
     "-2.5e300", "' '", "1", "2"],
]

_IDENT_VALUES = ["'a/b'", "'k=v'", "'100%'", "'with space'", "'ünïcödé'", "'日本'", "NULL", "''", "'plain'",
                 "'a%2Fb'", "'x?y#z'"]

SQLITE = [
    Scenario(
        "types", "{}",
        [_TYPES_DDL + rows_sql("types", _TYPES_1), rows_sql("types", _TYPES_2)],
        "SELECT id, dec, dec_s, u, bin, ts, tstz, d, f, s, flag, batch_sk FROM types",
        ["id", "dec", "dec_s", "u", "bin", "ts", "tstz", "d", "f", "s", "flag", "batch_sk"]),
    Scenario(
        "times", "{}",
        ["CREATE TABLE times (id INTEGER, t TIME, batch_sk INTEGER);" +
         rows_sql("times", [["1", "'00:00:00'", "1"], ["2", "'23:59:59.999999'", "1"],
                            ["3", "'12:34:56.5'", "1"], ["4", "NULL", "1"]])],
        "SELECT id, t, batch_sk FROM times", ["id", "t", "batch_sk"], spark=False),
    Scenario(
        "ident", "{partition_by: [region]}",
        ["CREATE TABLE ident (id INTEGER, region TEXT, batch_sk INTEGER);" +
         rows_sql("ident", [[str(i + 1), v, "1"] for i, v in enumerate(_IDENT_VALUES)]),
         rows_sql("ident", [[str(i + 100), v, "2"] for i, v in enumerate(_IDENT_VALUES[:4])])],
        "SELECT id, region, batch_sk FROM ident", ["id", "region", "batch_sk"],
        transforms={"region": "region"}),
    Scenario(
        "buckets",
        "{partition_by: [bucket(4, l), bucket(3, dec), bucket(5, s), bucket(2, d), bucket(6, u)]}",
        ["CREATE TABLE buckets (id INTEGER, l INTEGER, dec DECIMAL(10,2), s TEXT, d DATE, u UUID, batch_sk INTEGER);" +
         rows_sql("buckets", [
             [str(i), str((i * 7919) - 50000 if i % 3 else -(2 ** 62) + i), f"'{(i * 37.25) - 400:.2f}'",
              f"'s{i}ü{i * i}'" if i % 5 else "NULL", f"'{1960 + i}-0{1 + i % 9}-1{i % 10}'",
              f"'{i:08x}-0000-4000-8000-{i * 977:012x}'" if i % 4 else "NULL", "1"] for i in range(1, 25)])],
        "SELECT id, l, dec, s, d, u, batch_sk FROM buckets", ["id", "l", "dec", "s", "d", "u", "batch_sk"],
        transforms={"l_bucket": "system.bucket(4, l)", "dec_bucket": "system.bucket(3, dec)",
                    "s_bucket": "system.bucket(5, s)", "d_bucket": "system.bucket(2, d)"}),
    # (u_bucket is not compared in Spark: Spark has no uuid type, so its
    # system.bucket(6, u) hashes the uuid's text, not its 16 bytes as the spec
    # says; Iceberg Java's Transform.bind checks floe's uuid buckets instead.)
    Scenario(
        "truncs", "{partition_by: [truncate(3, s), truncate(10, l), truncate(50, dec)]}",
        ["CREATE TABLE truncs (id INTEGER, s TEXT, l INTEGER, dec DECIMAL(10,2), batch_sk INTEGER);" +
         rows_sql("truncs", [
             ["1", "'abcdef'", "-1", "'-0.01'", "1"], ["2", "'ab'", "9", "'0.49'", "1"],
             ["3", "'日本語テキスト'", "10", "'0.50'", "1"], ["4", "'🧊🧊🧊🧊'", "-10", "'-0.50'", "1"],
             ["5", "NULL", "NULL", "NULL", "1"], ["6", "''", "-11", "'12345.67'", "1"],
             ["7", "'ünï-x'", "123456789", "'-99.99'", "1"]])],
        "SELECT id, s, l, dec, batch_sk FROM truncs", ["id", "s", "l", "dec", "batch_sk"],
        transforms={"s_trunc": "system.truncate(3, s)", "l_trunc": "system.truncate(10, l)",
                    "dec_trunc": "system.truncate(50, dec)"}),
    Scenario(
        "temporal", "{partition_by: [year(ts), month(d), day(tstz), hour(ts2)]}",
        ["CREATE TABLE temporal (id INTEGER, ts TIMESTAMP, d DATE, tstz TIMESTAMPTZ, ts2 TIMESTAMP, batch_sk INTEGER);" +
         rows_sql("temporal", [
             ["1", "'1969-12-31 23:59:59.999999'", "'1969-12-31'", "'1969-12-31T23:59:59.999999Z'",
              "'1969-12-31 23:00:00'", "1"],
             ["2", "'1970-01-01 00:00:00'", "'1970-01-01'", "'1970-01-01T00:00:00Z'", "'1970-01-01 00:59:59'", "1"],
             ["3", "'1900-06-15 12:00:00'", "'1900-02-28'", "'1900-06-15T12:00:00+05:30'", "'1900-06-15 12:30:00'", "1"],
             ["4", "'9999-12-31 23:59:59.999999'", "'9999-12-31'", "'9999-12-31T23:59:59Z'", "'9999-12-31 23:00:00'", "1"],
             ["5", "NULL", "NULL", "NULL", "NULL", "1"],
             ["6", "'2024-02-29 23:59:59'", "'2024-02-29'", "'2024-02-29T23:59:59-01:00'", "'2024-02-29 23:59:59'", "1"]])],
        "SELECT id, ts, d, tstz, ts2, batch_sk FROM temporal", ["id", "ts", "d", "tstz", "ts2", "batch_sk"],
        transforms={"ts_year": "system.years(ts)", "d_month": "system.months(d)",
                    "tstz_day": "system.days(tstz)", "ts2_hour": "system.hours(ts2)"}),
    Scenario(
        "ow_table", "{strategy: full, mode: overwrite}",
        ["CREATE TABLE ow_table (sku TEXT, price REAL);"
         "INSERT INTO ow_table VALUES ('a', 1.0), ('b', 2.0), ('c', 3.0);",
         "DELETE FROM ow_table WHERE sku = 'a'; UPDATE ow_table SET price = 2.5 WHERE sku = 'b';"
         "INSERT INTO ow_table VALUES ('d', 4.0);"],
        "SELECT sku, price FROM ow_table", ["sku", "price"]),
    Scenario(
        "ow_parts",
        "{strategy: partition, partition_column: sale_date, partition_by: [sale_date], mode: overwrite, overwrite: partitions}",
        ["CREATE TABLE ow_parts (sale_date DATE, store TEXT, total INTEGER, batch_sk INTEGER);"
         "INSERT INTO ow_parts VALUES ('2024-01-01','s1',10,1),('2024-01-01','s2',20,1),('2024-01-02','s1',30,1);",
         "INSERT INTO ow_parts VALUES ('2024-01-02','s2',40,2),('2024-01-03','s1',50,2);"],
        "SELECT sale_date, store, total, batch_sk FROM ow_parts", ["sale_date", "store", "total", "batch_sk"],
        transforms={"sale_date": "sale_date"}),
    Scenario(
        "ow_range", "{mode: overwrite, overwrite: range, partition_by: [day(ts), bucket(4, id)]}",
        ["CREATE TABLE ow_range (id INTEGER PRIMARY KEY, customer TEXT, amount DECIMAL(10,2), ts TIMESTAMP, batch_sk INTEGER);" +
         rows_sql("ow_range", [[str(i), f"'c{i % 7}'", f"'{i * 1.25:.2f}'", f"'2024-01-0{1 + i % 5} 1{i % 10}:00:00'", "1"]
                               for i in range(1, 31)]),
         rows_sql("ow_range", [[str(i), f"'c{i % 7}'", f"'{i * 1.25:.2f}'", f"'2024-01-0{1 + i % 5} 1{i % 10}:00:00'", "2"]
                               for i in range(31, 41)])],
        "SELECT id, customer, amount, ts, batch_sk FROM ow_range", ["id", "customer", "amount", "ts", "batch_sk"],
        transforms={"ts_day": "system.days(ts)", "id_bucket": "system.bucket(4, id)"}),
]

for _mode, _deletes in (("merge_pos", "position"), ("merge_eq", "equality"), ("merge_cow", "copy_on_write")):
    SQLITE.append(Scenario(
        _mode, f"{{mode: merge, merge: {{deletes: {_deletes}}}}}",
        [f"CREATE TABLE {_mode} (customer_id INTEGER PRIMARY KEY, name TEXT, score DOUBLE, batch_sk INTEGER);" +
         rows_sql(_mode, [[str(i), f"'n{i}'", f"{i}.5", "1"] for i in range(1, 21)]),
         f"UPDATE {_mode} SET name = 'changed' || customer_id, batch_sk = 2 WHERE customer_id % 3 = 0;" +
         rows_sql(_mode, [[str(i), f"'new{i}'", "NULL", "2"] for i in range(21, 25)]),
         f"UPDATE {_mode} SET score = -1, batch_sk = 3 WHERE customer_id IN (3, 4, 21);"],
        f"SELECT customer_id, name, score, batch_sk FROM {_mode}", ["customer_id", "name", "score", "batch_sk"]))

SQLITE += [
    Scenario(
        "cdc",
        "{source: cdc_changes, mode: merge, primary_key: [order_id], cdc: {type: op_column, column: op, sequence: seq}, "
        "changelog: {target: cdc_log}}",
        ["CREATE TABLE cdc_changes (order_id INTEGER, op TEXT, amount INTEGER, seq INTEGER, batch_sk INTEGER);"
         "INSERT INTO cdc_changes VALUES (1,'I',10,1,1),(2,'I',20,2,1),(1,'U',11,3,1),(3,'I',30,4,1),(3,'D',NULL,5,1),"
         "(5,'I',50,6,1),(6,'I',60,7,1);",
         "INSERT INTO cdc_changes VALUES (2,'D',NULL,8,2),(4,'I',40,9,2),(1,'U',12,10,2),(5,'D',NULL,11,2);",
         "INSERT INTO cdc_changes VALUES (2,'I',21,12,3),(6,'D',NULL,13,3);"],
        # The state: each key's last change by seq, unless it is a delete.
        "SELECT order_id, amount, batch_sk FROM cdc_changes c WHERE seq = (SELECT max(seq) FROM cdc_changes "
        "WHERE order_id = c.order_id) AND op <> 'D'",
        ["order_id", "amount", "batch_sk"]),
    Scenario(
        "drift", "{}",
        ["CREATE TABLE drift (id INTEGER, code INTEGER, price DECIMAL(6,2), batch_sk INTEGER);"
         "INSERT INTO drift VALUES (1, 10, '1.25', 1), (2, 20, '-9999.99', 1);",
         "ALTER TABLE drift ADD COLUMN note TEXT; INSERT INTO drift VALUES (3, 30, '7.5', 2, 'new');",
         # decimal(6,2) -> decimal(12,2): a widened column (the table is rebuilt, as SQLite alters types).
         "CREATE TABLE drift2 (id INTEGER, code INTEGER, price DECIMAL(12,2), batch_sk INTEGER, note TEXT);"
         "INSERT INTO drift2 SELECT * FROM drift; DROP TABLE drift; ALTER TABLE drift2 RENAME TO drift;"
         "INSERT INTO drift VALUES (4, 40, '1234567890.12', 3, NULL), (5, 50, '-0.5', 3, 'ü');"],
        "SELECT id, code, price, batch_sk, note FROM drift", ["id", "code", "price", "batch_sk", "note"]),
]

# Partition and sort-order evolution: a changed partition_by on an existing
# table (day -> bucket -> unpartitioned) gives a new default spec; files
# already written keep theirs, merges delete rows of old-spec files (position
# deletes in the old spec, copy-on-write rewriting them into the new spec,
# deletes: an equality-delete merge deletes by position once there are several specs).
_EVOLVE_ROWS = [[str(i), f"'2024-03-0{1 + (i - 1) // 4} 1{i % 10}:00:00'", f"'v{i}'", "1"] for i in range(1, 13)]
SQLITE += [
    Scenario(
        "evolve", "{}",
        ["CREATE TABLE evolve (id INTEGER PRIMARY KEY, ts TIMESTAMP, v TEXT, batch_sk INTEGER);" +
         rows_sql("evolve", _EVOLVE_ROWS),
         "UPDATE evolve SET v = 'two', batch_sk = 2 WHERE id IN (1, 2);" +
         rows_sql("evolve", [[str(i), f"'2024-03-0{i - 10} 08:00:00'", f"'n{i}'", "2"] for i in range(13, 17)]),
         "UPDATE evolve SET v = 'three', batch_sk = 3 WHERE id IN (3, 13);" +
         rows_sql("evolve", [["17", "'2024-04-01 00:00:00'", "'n17'", "3"]])],
        "SELECT id, ts, v, batch_sk FROM evolve", ["id", "ts", "v", "batch_sk"],
        entries=["{mode: merge, primary_key: [id], partition_by: [day(ts)], sort_by: [id]}",
                 "{mode: merge, primary_key: [id], partition_by: [bucket(4, id)], sort_by: [ts desc, id]}",
                 "{mode: merge, primary_key: [id], merge: {deletes: copy_on_write}, partition_by: []}"],
        specs={0, 1, 2}),
    Scenario(
        "evolve_eq", "{}",
        ["CREATE TABLE evolve_eq (id INTEGER PRIMARY KEY, ts TIMESTAMP, v TEXT, batch_sk INTEGER);" +
         rows_sql("evolve_eq", _EVOLVE_ROWS),
         "UPDATE evolve_eq SET v = 'two', batch_sk = 2 WHERE id IN (1, 2);" +
         rows_sql("evolve_eq", [[str(i), f"'2024-03-0{i - 10} 08:00:00'", f"'n{i}'", "2"] for i in range(13, 17)]),
         "UPDATE evolve_eq SET v = 'three', batch_sk = 3 WHERE id IN (3, 13, 14);"],
        "SELECT id, ts, v, batch_sk FROM evolve_eq", ["id", "ts", "v", "batch_sk"],
        entries=["{mode: merge, primary_key: [id], merge: {deletes: equality}, partition_by: [day(ts)]}",
                 "{mode: merge, primary_key: [id], merge: {deletes: equality}, partition_by: [bucket(4, id)]}"],
        specs={0, 1}),
]

# ---- PostgreSQL -----------------------------------------------------------

PG = [
    Scenario(
        "pg_types", "{}",
        ["""CREATE TABLE pg_types (id integer PRIMARY KEY, i2 smallint, i8 bigint, r real, dp double precision,
              n numeric, n2 numeric(38,10), ts timestamp, tstz timestamptz, d date, u uuid, b bytea, s text,
              flag boolean, batch_sk bigint NOT NULL);
            INSERT INTO pg_types VALUES
            (1, -32768, -9223372036854775808, 3.4028235e38, 'NaN', 1234567890123456789012345678.0123456789,
             -9999999999999999999999999999.9999999999, '1969-07-20 20:17:40', '1965-03-01 12:00:00+02', '1969-12-31',
             'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff', '', true, 1),
            (2, 32767, 9223372036854775807, 1.1, 'Infinity', 0.0000000001, 0, '9999-12-31 23:59:59.999999',
             '9999-12-31 23:59:59.999999+00', '9999-12-31', NULL, '\\x', NULL, false, 1),
            (3, NULL, NULL, -0.0, '-Infinity', NULL, NULL, '1900-01-01 00:00:00.000001', '1800-01-01 00:00:00+00',
             '0001-01-01', '00000000-0000-0000-0000-000000000000', NULL, 'ünï 日本 🧊', NULL, 1),
            (4, 0, 0, 'NaN', 5e-324, 1, 1.5, NULL, NULL, NULL, 'ffffffff-ffff-ffff-ffff-ffffffffffff', '\\xdeadbeef',
             'tab	and
newline', true, 2);"""],
        "SELECT id, i2, i8, r, dp, n, n2, ts, tstz, d, u, b, s, flag, batch_sk FROM pg_types",
        ["id", "i2", "i8", "r", "dp", "n", "n2", "ts", "tstz", "d", "u", "b", "s", "flag", "batch_sk"]),
    Scenario(
        "pg_times", "{}",
        ["CREATE TABLE pg_times (id integer, t time, batch_sk integer);"
         "INSERT INTO pg_times VALUES (1, '00:00:00', 1), (2, '23:59:59.999999', 1), (3, NULL, 1);"],
        "SELECT id, t, batch_sk FROM pg_times", ["id", "t", "batch_sk"], spark=False),
    Scenario(
        "pg_bucket", "{partition_by: [bucket(4, k), truncate(5, k2), identity(tag)]}",
        ["CREATE TABLE pg_bucket (id integer, k integer, k2 integer, tag text, batch_sk integer);"
         "INSERT INTO pg_bucket SELECT g, g * 104729 - 1000000, g - 12, CASE WHEN g % 4 = 0 THEN NULL "
         "ELSE 'tag/' || (g % 3) || ' =%' END, 1 FROM generate_series(1, 30) g;"],
        "SELECT id, k, k2, tag, batch_sk FROM pg_bucket", ["id", "k", "k2", "tag", "batch_sk"],
        transforms={"k_bucket": "system.bucket(4, k)", "k2_trunc": "system.truncate(5, k2)", "tag": "tag"}),
    Scenario(
        "pg_drift", "{mode: merge, primary_key: [id]}",
        ["CREATE TABLE pg_drift (id integer PRIMARY KEY, qty integer, r real, batch_sk integer);"
         "INSERT INTO pg_drift VALUES (1, 1, 1.5, 1), (2, 2, 2.5, 1), (3, 3, 0.1, 1);",
         "ALTER TABLE pg_drift ALTER COLUMN qty TYPE bigint; ALTER TABLE pg_drift ALTER COLUMN r TYPE double precision;"
         "ALTER TABLE pg_drift ADD COLUMN note text;"
         "UPDATE pg_drift SET qty = 5000000000, r = 0.1, note = 'widened', batch_sk = 2 WHERE id = 2;"
         "INSERT INTO pg_drift VALUES (4, -5000000000, 1e300, 2, '');"],
        "SELECT id, qty, r, batch_sk, note FROM pg_drift", ["id", "qty", "r", "batch_sk", "note"]),
    # PostgreSQL arrays -> Iceberg lists: null arrays, empty arrays, null
    # elements, quoted text, decimal and timestamptz elements; merged on the
    # key in the second run (a row's list replaced, another's emptied).
    Scenario(
        "pg_arrays", "{mode: merge, primary_key: [id]}",
        ["CREATE TABLE pg_arrays (id integer PRIMARY KEY, tags text[], nums bigint[], prices numeric(10,2)[],"
         " seen timestamptz[], batch_sk integer);"
         "INSERT INTO pg_arrays VALUES"
         " (1, '{red,\"big,bold\",NULL,\"NULL\",\"\"}', '{1,-9223372036854775808}', '{1.50,-2.25}',"
         "  '{\"2024-01-02 03:04:05+00\"}', 1),"
         " (2, NULL, '{}', NULL, NULL, 1), (3, '{}', '{NULL,7}', '{NULL}', '{}', 1),"
         " (4, '{ünï,🧊}', '{9223372036854775807}', '{0.01}', '{\"1969-12-31 23:59:59.999999+00\",NULL}', 1);",
         "UPDATE pg_arrays SET tags = '{x,y}', nums = NULL, batch_sk = 2 WHERE id = 1;"
         "UPDATE pg_arrays SET seen = '{}', batch_sk = 2 WHERE id = 4;"
         "INSERT INTO pg_arrays VALUES (5, '{only}', '{5}', '{5.55}', NULL, 2);"],
        "SELECT id, tags, nums, prices, seen, batch_sk FROM pg_arrays",
        ["id", "tags", "nums", "prices", "seen", "batch_sk"]),
    # Declared shapes (config `columns:`): jsonb and json documents written
    # as typed lists and an int; the expected state is PostgreSQL's own
    # reading of the JSON (jsonb_array_elements_text, in element order).
    Scenario(
        "pg_shapes",
        '{mode: merge, primary_key: [id], columns: {items: "list<long>", labels: "array<string>",'
        ' amounts: "list<decimal(10,2)>", score: int}}',
        ["CREATE TABLE pg_shapes (id integer PRIMARY KEY, items jsonb, labels json, amounts jsonb, score jsonb,"
         " batch_sk integer);"
         "INSERT INTO pg_shapes VALUES"
         " (1, '[1, -9223372036854775808, null]', '[\"a\", \"b,c\", null, \"\"]', '[1.5, \"12345678.90\"]', '42', 1),"
         " (2, NULL, 'null', '[]', 'null', 1), (3, '[]', '[]', NULL, NULL, 1),"
         " (4, '[9223372036854775807]', '[\"ünï\", \"🧊\"]', '[0.01, -2.25]', '-7', 1);",
         "UPDATE pg_shapes SET items = '[7, 8]', labels = '[]', batch_sk = 2 WHERE id = 1;"
         "INSERT INTO pg_shapes VALUES (5, '[5]', '[\"only\"]', '[5.55]', '5', 2);"],
        "SELECT id,"
        " CASE WHEN jsonb_typeof(items) = 'array' THEN ARRAY(SELECT x::bigint FROM"
        "  jsonb_array_elements_text(items) WITH ORDINALITY AS e(x, n) ORDER BY n) END AS items,"
        " CASE WHEN json_typeof(labels) = 'array' THEN ARRAY(SELECT x FROM"
        "  json_array_elements_text(labels) WITH ORDINALITY AS e(x, n) ORDER BY n) END AS labels,"
        " CASE WHEN jsonb_typeof(amounts) = 'array' THEN ARRAY(SELECT x::numeric(10,2) FROM"
        "  jsonb_array_elements_text(amounts) WITH ORDINALITY AS e(x, n) ORDER BY n) END AS amounts,"
        " CASE WHEN jsonb_typeof(score) = 'number' THEN (score #>> '{}')::integer END AS score,"
        " batch_sk FROM pg_shapes",
        ["id", "items", "labels", "amounts", "score", "batch_sk"]),
    # Declared struct and map shapes from jsonb, merged on the key in the
    # second run: a struct holding a struct,
    # map<string, long>, a list of structs and map<string, list<int>>, with
    # nulls at every level (SQL NULL, JSON null, a null or missing field, a
    # null list element, a null struct in a list, a null map value) and
    # empty lists and maps. The expected state is PostgreSQL's own reading of
    # the JSON, rebuilt as jsonb with the declared types (casts to int,
    # bigint, numeric(10,2)).
    Scenario(
        "pg_nested_shapes",
        '{mode: merge, primary_key: [id],'
        ' columns: {person: "struct<name: string, age: int, address: struct<city: string, zip: string>>",'
        ' counts: "map<string, long>", lines: "list<struct<sku: string, qty: int, price: decimal(10,2)>>",'
        ' buckets: "map<string, array<int>>"}}',
        ["CREATE TABLE pg_nested_shapes (id integer PRIMARY KEY, person jsonb, counts jsonb, lines json,"
         " buckets jsonb, batch_sk integer);"
         "INSERT INTO pg_nested_shapes VALUES"
         " (1, '{\"name\": \"Ann\", \"age\": 31, \"address\": {\"city\": \"Oslo\", \"zip\": \"0150\"}}',"
         "  '{\"a\": 1, \"b\": -9223372036854775808}',"
         "  '[{\"sku\": \"x\", \"qty\": 2, \"price\": \"1.50\"}, {\"sku\": \"y,z\", \"qty\": null, \"price\": 2.25}]',"
         "  '{\"odd\": [1, 3, null], \"none\": [], \"nul\": null}', 1),"
         " (2, '{\"name\": null, \"age\": null, \"address\": null}', '{}', '[]', '{}', 1),"
         " (3, 'null', NULL, '[null, {\"sku\": null}]', NULL, 1),"
         " (4, '{\"name\": \"ünï 🧊\", \"address\": {\"city\": null}}', '{\"ü\": 9223372036854775807, \"n\": null}',"
         "  NULL, '{\"k\": [2147483647, -2147483648]}', 1);",
         "INSERT INTO pg_nested_shapes VALUES"
         " (5, '{\"name\": \"\", \"age\": -1, \"address\": {\"city\": \"\", \"zip\": null}}', '{\"\": 0}',"
         "  '[{\"sku\": \"only\", \"qty\": 0, \"price\": \"-99999999.99\"}]', '{\"e\": [null]}', 2),"
         " (6, NULL, 'null', 'null', '{\"a\": [], \"b\": [0]}', 2);"
         "UPDATE pg_nested_shapes SET person = '{\"name\": \"Bo\", \"address\": {\"zip\": \"9\"}}',"
         " counts = '{\"c\": 3}', batch_sk = 2 WHERE id = 1;"
         "UPDATE pg_nested_shapes SET lines = '[{\"sku\": \"new\", \"qty\": 1, \"price\": 0}]', buckets = NULL,"
         " batch_sk = 2 WHERE id = 2;"],
        "SELECT id,"
        " CASE WHEN jsonb_typeof(person) = 'object' THEN jsonb_build_object("
        "  'name', person->>'name', 'age', (person->>'age')::int,"
        "  'address', CASE WHEN jsonb_typeof(person->'address') = 'object' THEN jsonb_build_object("
        "   'city', person->'address'->>'city', 'zip', person->'address'->>'zip') END) END AS person,"
        " CASE WHEN jsonb_typeof(counts) = 'object' THEN (SELECT COALESCE(jsonb_object_agg(k, (v #>> '{}')::bigint),"
        "  '{}') FROM jsonb_each(counts) AS e(k, v)) END AS counts,"
        " CASE WHEN json_typeof(lines) = 'array' THEN (SELECT COALESCE(jsonb_agg(CASE WHEN json_typeof(x) = 'object'"
        "  THEN jsonb_build_object('sku', x->>'sku', 'qty', (x->>'qty')::int,"
        "   'price', (x->>'price')::numeric(10,2)::text) END ORDER BY n), '[]')"
        "  FROM json_array_elements(lines) WITH ORDINALITY AS e(x, n)) END AS lines,"
        " CASE WHEN jsonb_typeof(buckets) = 'object' THEN (SELECT COALESCE(jsonb_object_agg(k,"
        "  CASE WHEN jsonb_typeof(v) = 'array' THEN (SELECT COALESCE(jsonb_agg((y #>> '{}')::int ORDER BY m), '[]')"
        "   FROM jsonb_array_elements(v) WITH ORDINALITY AS f(y, m)) END), '{}')"
        "  FROM jsonb_each(buckets) AS e(k, v)) END AS buckets,"
        " batch_sk FROM pg_nested_shapes",
        ["id", "person", "counts", "lines", "buckets", "batch_sk"]),
    # PostgreSQL's own nested types, no declared shape: a composite holding
    # a composite and an array, an array of composites, a 2-D array, all
    # typed from pg_catalog; merged on the key in the second run. The
    # expected state is PostgreSQL's to_jsonb of each value (struct fields
    # by attribute name).
    Scenario(
        "pg_composite", "{mode: merge, primary_key: [id]}",
        ["CREATE TYPE pg_composite_addr AS (city text, zip varchar(10), geo numeric(9,6)[]);"
         "CREATE TYPE pg_composite_person AS (name text, born date, home pg_composite_addr, seen timestamptz);"
         "CREATE TABLE pg_composite (id integer PRIMARY KEY, who pg_composite_person, homes pg_composite_addr[],"
         " grid bigint[][], batch_sk integer);"
         "INSERT INTO pg_composite VALUES"
         " (1, ROW('Ann', '1990-02-03', ROW('Oslo', '0150', '{59.91,10.75}'), '2024-01-02 03:04:05+00'),"
         "  ARRAY[ROW('Bergen', '5003', '{}')::pg_composite_addr, NULL, ROW(NULL, NULL, NULL)::pg_composite_addr],"
         "  '{{1,2,3},{4,NULL,-9223372036854775808}}', 1),"
         " (2, NULL, NULL, NULL, 1), (3, ROW(NULL, NULL, NULL, NULL), '{}', '{}', 1),"
         " (4, ROW('a,b \"c\" (d)', NULL, ROW('', NULL, '{NULL}'), NULL), ARRAY[ROW('ünï 🧊', 'x', NULL)::pg_composite_addr],"
         "  '{{9223372036854775807}}', 1);",
         "INSERT INTO pg_composite VALUES (5, ROW('', '1969-12-31', NULL, '1969-12-31 23:59:59.999999+00'), '{}',"
         " '[0:1][1:2]={{7,8},{9,10}}', 2);"
         "UPDATE pg_composite SET who = ROW('Ann', '1990-02-03', NULL, NULL), homes = NULL, grid = '{{0}}', batch_sk = 2"
         " WHERE id = 1;"
         "UPDATE pg_composite SET homes = ARRAY[ROW('z', NULL, '{1}')::pg_composite_addr], batch_sk = 2 WHERE id = 3;"],
        "SELECT id, to_jsonb(who) AS who, to_jsonb(homes) AS homes, to_jsonb(grid) AS grid, batch_sk FROM pg_composite",
        ["id", "who", "homes", "grid", "batch_sk"]),
]
