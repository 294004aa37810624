"""Spark 3.5 with Iceberg's runtime reads every table floe writes.

Each table of tests/engines/scenarios.py is loaded through floe's own SQL
catalog (Iceberg's JdbcCatalog on the SQLite file, and on PostgreSQL) and
through the hadoop layout. The rows must equal the source's state value for
value; the `snapshots`, `files`, `manifests` and `partitions` metadata tables
must agree with `floe table inspect` and the manifest lists; `VERSION AS OF`
each snapshot floe wrote must equal `floe table scan --snapshot`; and every
partition value floe computed must equal Iceberg's own transform of the row
(the `_partition` metadata column against `system.bucket/truncate/years/...`).
The cdc scenario keeps a changelog table, which Spark reads too.
"""

import json
import sqlite3
from collections import Counter

import pytest

import canon
from conftest import floe, floe_scan, spark_rows, spark_table

import scenarios

SPARK_TABLES = [(layout, s.name) for s in scenarios.SQLITE if s.spark for layout in ("sqlite", "hadoop")] + \
               [("pg", s.name) for s in scenarios.PG if s.spark]


@pytest.mark.parametrize("layout,name", SPARK_TABLES, ids=[f"{a}-{b}" for a, b in SPARK_TABLES])
def test_spark_rows_equal_source(spark, world, layout, name):
    t = world.target(layout, name)
    got = spark_rows(spark, t)
    assert got == t.expected(), f"{t}: Spark's rows differ from the source"
    # Spark's schema: the same columns, the types Iceberg's converter gives.
    fields = {f.name: f.dataType.simpleString() for f in spark.table(spark_table(t)).schema.fields}
    def spark_type(ty):
        if isinstance(ty, dict) and ty["type"] == "struct":
            return "struct<" + ",".join(f"{f['name']}:{spark_type(f['type'])}" for f in ty["fields"]) + ">"
        if isinstance(ty, dict) and ty["type"] == "map":
            return f"map<{spark_type(ty['key'])},{spark_type(ty['value'])}>"
        if isinstance(ty, dict):  # a list: Spark's array of the element's type
            return f"array<{spark_type(ty['element'])}>"
        return {"long": "bigint", "int": "int", "string": "string", "double": "double", "float": "float",
                "boolean": "boolean", "date": "date", "timestamptz": "timestamp", "timestamp": "timestamp_ntz",
                "uuid": "string", "binary": "binary"}.get(ty, ty)
    for col, ty in zip(t.scenario.columns, t.types()):
        want = spark_type(ty)
        assert fields[col] == want, f"{t}: column {col} ({ty}) is {fields[col]} in Spark"


SQLITE_SPARK = [s.name for s in scenarios.SQLITE if s.spark]


@pytest.mark.parametrize("name", SQLITE_SPARK)
def test_spark_metadata_tables_agree_with_floe(spark, world, name):
    t = world.target("sqlite", name)
    tab = spark_table(t)
    ins = t.inspect()

    snaps = spark.sql(f"SELECT snapshot_id, parent_id, operation, summary FROM {tab}.snapshots").collect()
    assert sorted((r.snapshot_id, r.parent_id, r.operation, dict(r.summary)) for r in snaps) == \
        sorted((s["id"], s["parent"], s["operation"], s["summary"]) for s in ins["snapshots"]), t

    # Live files of the current snapshot: data and delete files alike.
    files = spark.sql(f"SELECT content, file_path, record_count, file_size_in_bytes, spec_id FROM {tab}.files").collect()
    content = {0: "data", 1: "position-deletes", 2: "equality-deletes"}
    assert sorted((content[r.content], r.file_path, r.record_count, r.file_size_in_bytes, r.spec_id) for r in files) == \
        sorted((f["content"], f["path"], f["records"], f["size"], f["spec"]) for f in ins["files"]), t

    # Manifests of the current snapshot against floe's manifest list.
    current = max(ins["snapshots"], key=lambda s: s["seq"]) if ins["snapshots"] else None
    if current is not None:
        mlist = floe(["avro", "cat", current["manifest-list"]], t.dir).stdout
        entries = [json.loads(x) for x in mlist.splitlines() if x.strip()]
        manifests = spark.sql(f"SELECT path, length, partition_spec_id, added_snapshot_id, added_data_files_count, "
                              f"existing_data_files_count, deleted_data_files_count, added_delete_files_count, "
                              f"existing_delete_files_count, deleted_delete_files_count, content FROM {tab}.manifests").collect()
        mine = []
        for e in entries:
            data = e["content"] == 0
            mine.append((e["manifest_path"], e["manifest_length"], e["partition_spec_id"], e["added_snapshot_id"],
                         e["added_files_count"] if data else 0, e["existing_files_count"] if data else 0,
                         e["deleted_files_count"] if data else 0, 0 if data else e["added_files_count"],
                         0 if data else e["existing_files_count"], 0 if data else e["deleted_files_count"],
                         e["content"]))
        assert sorted(tuple(r) for r in manifests) == sorted(mine), t

    # partitions: data records and files per partition, from the live files.
    parts = spark.sql(f"SELECT * FROM {tab}.partitions").collect()
    want = Counter()
    wantf = Counter()
    for f in ins["files"]:
        if f["content"] == "data":
            want[f["partition"]] += f["records"]
            wantf[f["partition"]] += 1
    assert sum(r.record_count for r in parts) == sum(want.values()), t
    assert sum(r.file_count for r in parts) == sum(wantf.values()), t
    assert sorted((r.record_count, r.file_count) for r in parts if r.file_count) == \
        sorted(zip((want[k] for k in want), (wantf[k] for k in want))), t


@pytest.mark.parametrize("layout,name", [(l, n) for l, n in SPARK_TABLES if l != "hadoop"],
                         ids=[f"{a}-{b}" for a, b in SPARK_TABLES if a != "hadoop"])
def test_spark_time_travel_equals_floe_scan(spark, world, layout, name):
    t = world.target(layout, name)
    md = t.metadata()
    schemas = {x["schema-id"]: {f["name"]: f["type"] for f in x["fields"]} for x in md["schemas"]}
    schema_of = {x["snapshot-id"]: x.get("schema-id", md["current-schema-id"]) for x in md["snapshots"]}
    for s in t.inspect()["snapshots"]:
        # Each snapshot is read with its own schema (drift: older snapshots
        # lack the added column); floe's scan of the snapshot must agree on it.
        df = spark.sql(f"SELECT * FROM {spark_table(t)} VERSION AS OF {s['id']}")
        cols = [c for c in t.scenario.columns if c in df.columns]
        types = [schemas[schema_of[s["id"]]][c] for c in cols]
        got = canon.canon_rows(types, [tuple(r[c] for c in cols) for r in df.collect()])
        floe_rows = floe_scan(t.catalog_args(), t.dir, s["id"])
        want = canon.canon_rows(types, [[r.get(c) for c in cols] for r in floe_rows])
        assert got == want, f"{t} VERSION AS OF {s['id']}"


PARTITIONED = [(l, n) for l, n in SPARK_TABLES
               if next(s for s in scenarios.SQLITE + scenarios.PG if s.name == n).transforms]


@pytest.mark.parametrize("layout,name", PARTITIONED, ids=[f"{a}-{b}" for a, b in PARTITIONED])
def test_spark_partition_values_equal_iceberg_transforms(spark, world, layout, name):
    t = world.target(layout, name)
    cat = spark_table(t).split(".")[0]
    exprs = {f: e.replace("system.", f"{cat}.system.") for f, e in t.scenario.transforms.items()}
    cols = ", ".join(f"_partition.`{f}` AS p_{i}, {e} AS e_{i}" for i, (f, e) in enumerate(exprs.items()))
    rows = spark.sql(f"SELECT {cols} FROM {spark_table(t)}").collect()
    assert rows, t
    for r in rows:
        for i, field in enumerate(exprs):
            assert r[f"p_{i}"] == r[f"e_{i}"], f"{t}: partition field {field}: floe wrote {r[f'p_{i}']!r}, " \
                                               f"Iceberg computes {r[f'e_{i}']!r}"


def test_spark_cannot_load_time_columns(spark, world):
    """Known difference, Spark's: Spark 3.5 has no time type, so Iceberg's
    Spark integration refuses a table with a time column. PyIceberg and
    Iceberg Java read floe's `times` tables (test_pyiceberg_reads_floe,
    test_java_reads_floe)."""
    t = world.target("sqlite", "times")
    with pytest.raises(Exception) as e:
        spark.sql(f"SELECT * FROM {spark_table(t)}").collect()
    assert "Spark does not support time fields" in str(e.value), str(e.value)[:500]


EVOLVED = [s.name for s in scenarios.SQLITE if s.specs]


@pytest.mark.parametrize("name", EVOLVED)
def test_spark_metadata_tables_show_every_spec(spark, world, name):
    """Partition evolution: Spark's `files` and `partitions` metadata tables
    show the live data files of every spec floe wrote (old files keep their
    spec), each file's partition tuple under its own spec's fields."""
    t = world.target("sqlite", name)
    tab = spark_table(t)
    files = spark.sql(f"SELECT spec_id, partition, file_path FROM {tab}.files WHERE content = 0").collect()
    assert {r.spec_id for r in files} == t.scenario.specs, t
    for r in files:
        p = r.partition.asDict()
        if r.spec_id == 0:
            assert p["ts_day"] is not None and p["id_bucket"] is None, (t, r)
        elif r.spec_id == 1:
            assert p["id_bucket"] is not None and p["ts_day"] is None, (t, r)
        else:
            assert p["ts_day"] is None and p["id_bucket"] is None, (t, r)
    parts = spark.sql(f"SELECT spec_id, record_count FROM {tab}.partitions").collect()
    assert {r.spec_id for r in parts} == t.scenario.specs, t
    live = spark.sql(f"SELECT count(*) AS n FROM {tab}").collect()[0].n
    assert live == len(t.expected()), t


def _nulls_first(row):
    """Sort key for rows holding NULLs (a delete's amount): None before values."""
    return tuple((v is not None, v) for v in row)


@pytest.mark.parametrize("layout", ["sqlite", "hadoop"])
def test_spark_reads_the_changelog_table(spark, world, layout):
    """The cdc scenario's changelog (docs/replicate.md, "Changelog tables"):
    Spark reads every change the three merges applied, once, with its op,
    sequence and load batch, one run id per load."""
    t = world.target(layout, "cdc")
    catalog = spark_table(t).rsplit(".", 1)[0]
    rows = spark.sql(f"SELECT order_id, amount, seq, batch_sk, _op, _sequence, _batch_sk, _run_id, _loaded_at "
                     f"FROM {catalog}.cdc_log").collect()
    src = sqlite3.connect(world.source)
    try:
        want = sorted(src.execute("SELECT order_id, amount, seq, batch_sk, op, CAST(seq AS TEXT), batch_sk "
                                  "FROM cdc_changes").fetchall(), key=_nulls_first)
    finally:
        src.close()
    got = sorted(((r.order_id, r.amount, r.seq, r.batch_sk, r._op, r._sequence, r._batch_sk) for r in rows),
                 key=_nulls_first)
    assert got == want, f"{t}: the changelog differs from the source's change rows"
    by_batch = {}
    for r in rows:
        by_batch.setdefault(r._batch_sk, set()).add(r._run_id)
    assert sorted(by_batch) == [1, 2, 3] and all(len(v) == 1 for v in by_batch.values()), by_batch
    assert len({r._run_id for r in rows}) == 3
    assert all(r._loaded_at is not None for r in rows)
    fields = {f.name: f.dataType.simpleString() for f in spark.table(f"{catalog}.cdc_log").schema.fields}
    assert (fields["_op"], fields["_sequence"], fields["_batch_sk"], fields["_loaded_at"]) == \
        ("string", "string", "bigint", "timestamp")
