"""floe reads the tables Spark and PyIceberg write.

Spark (Iceberg 1.12 runtime, JdbcCatalog on a SQLite file) creates v2
tables with merge-on-read MERGE INTO (position deletes), copy-on-write
UPDATE/DELETE/MERGE, partition evolution, schema evolution (add, rename,
drop, reorder, widen), a v3 table with deletion vectors, and NaN / NULL /
infinity statistics; PyIceberg (SqlCatalog on another SQLite file) writes
with its own Parquet writer, upserts and deletes. `floe table scan` through
floe's SQL catalog must return exactly the rows the writing engine reads,
for the current snapshot and for every earlier one.
"""

import datetime as dt
import uuid
from decimal import Decimal

import pyarrow as pa
import pytest

import canon
from conftest import floe_scan

SPARK_CAT = "sparkcat"
PY_CAT = "pycat"


def types_of(md):
    schema = next(s for s in md["schemas"] if s["schema-id"] == md["current-schema-id"])
    return [(f["name"], f["type"]) for f in schema["fields"]]


def snapshot_types(md, snapshot_id):
    snap = next(s for s in md["snapshots"] if s["snapshot-id"] == snapshot_id)
    sid = snap.get("schema-id", md["current-schema-id"])
    schema = next(s for s in md["schemas"] if s["schema-id"] == sid)
    return [(f["name"], f["type"]) for f in schema["fields"]]


@pytest.fixture(scope="module")
def theirs(workdir, spark):
    """Spark's catalog (JdbcCatalog on theirs/spark.db) and PyIceberg's."""
    root = workdir / "theirs"
    (root / "spark-wh").mkdir(parents=True)
    (root / "py-wh").mkdir(parents=True)
    spark.conf.set(f"spark.sql.catalog.{SPARK_CAT}", "org.apache.iceberg.spark.SparkCatalog")
    spark.conf.set(f"spark.sql.catalog.{SPARK_CAT}.catalog-impl", "org.apache.iceberg.jdbc.JdbcCatalog")
    spark.conf.set(f"spark.sql.catalog.{SPARK_CAT}.uri", f"jdbc:sqlite:{root / 'spark.db'}")
    spark.conf.set(f"spark.sql.catalog.{SPARK_CAT}.warehouse", str(root / "spark-wh"))
    spark.conf.set(f"spark.sql.catalog.{SPARK_CAT}.cache-enabled", "false")
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {SPARK_CAT}.s")
    return root


def floe_catalog_args(root, cat):
    if cat == SPARK_CAT:
        return ["--catalog-type", "sql", "--catalog-uri", f"sqlite:{root / 'spark.db'}",
                "--warehouse", str(root / "spark-wh"), "--catalog-name", SPARK_CAT]
    return ["--catalog-type", "sql", "--catalog-uri", f"sqlite:{root / 'py.db'}",
            "--warehouse", str(root / "py-wh"), "--catalog-name", PY_CAT]


def spark_metadata(spark, table):
    import json
    from pathlib import Path
    loc = spark.sql(f"SELECT file FROM {table}.metadata_log_entries ORDER BY timestamp DESC LIMIT 1").collect()[0][0]
    return json.loads(Path(loc.replace("file:", "", 1)).read_text())


def assert_floe_reads_spark(spark, root, name):
    table = f"{SPARK_CAT}.s.{name}"
    md = spark_metadata(spark, table)
    snaps = [s["snapshot-id"] for s in md["snapshots"]]
    assert snaps, table
    for snap in snaps + [None]:
        cols = types_of(md) if snap is None else snapshot_types(md, snap)
        names, types = [c for c, _ in cols], [t for _, t in cols]
        sql = f"SELECT * FROM {table}" + (f" VERSION AS OF {snap}" if snap is not None else "")
        want = canon.canon_rows(types, [tuple(r[c] for c in names) for r in spark.sql(sql).collect()])
        rows = floe_scan([f"s.{name}"] + floe_catalog_args(root, SPARK_CAT), root, snap)
        got = canon.canon_rows(types, [[r[c] for c in names] for r in rows])
        assert got == want, f"floe table scan s.{name} (snapshot {snap}) differs from Spark"
    return md


def test_floe_reads_spark_merge_on_read(spark, theirs):
    t = f"{SPARK_CAT}.s.mor"
    spark.sql(f"""CREATE TABLE {t} (id bigint, name string, amount decimal(12,2), ts timestamp)
        USING iceberg TBLPROPERTIES ('format-version'='2', 'write.delete.mode'='merge-on-read',
        'write.update.mode'='merge-on-read', 'write.merge.mode'='merge-on-read')""")
    spark.sql(f"""INSERT INTO {t} SELECT id, concat('n', id), CAST(id * 1.5 AS decimal(12,2)),
        TIMESTAMP '2024-01-01 00:00:00' + make_interval(0, 0, 0, 0, CAST(id AS int), 0, 0) FROM range(1, 41)""")
    spark.sql(f"""MERGE INTO {t} t USING (SELECT id, id % 3 = 0 AS gone FROM range(1, 61) WHERE id % 2 = 0) s
        ON t.id = s.id
        WHEN MATCHED AND s.gone THEN DELETE
        WHEN MATCHED THEN UPDATE SET name = 'merged'
        WHEN NOT MATCHED THEN INSERT (id, name, amount, ts) VALUES (s.id, 'inserted', NULL, NULL)""")
    spark.sql(f"DELETE FROM {t} WHERE id = 1")
    md = assert_floe_reads_spark(spark, theirs, "mor")
    files = spark.sql(f"SELECT content FROM {t}.files").collect()
    assert any(r.content == 1 for r in files), "the MERGE wrote position deletes"
    assert md["format-version"] == 2


def test_floe_reads_spark_copy_on_write(spark, theirs):
    t = f"{SPARK_CAT}.s.cow"
    spark.sql(f"CREATE TABLE {t} (id int, v string) USING iceberg PARTITIONED BY (bucket(2, id)) "
              "TBLPROPERTIES ('format-version'='2')")
    spark.sql(f"INSERT INTO {t} SELECT CAST(id AS int), concat('v', id) FROM range(0, 30)")
    spark.sql(f"UPDATE {t} SET v = 'updated' WHERE id % 5 = 0")
    spark.sql(f"DELETE FROM {t} WHERE id % 7 = 0")
    spark.sql(f"MERGE INTO {t} t USING (SELECT CAST(id AS int) id FROM range(25, 35)) s ON t.id = s.id "
              "WHEN MATCHED THEN UPDATE SET v = 'm' WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, 'new')")
    assert_floe_reads_spark(spark, theirs, "cow")
    assert not any(r.content for r in spark.sql(f"SELECT content FROM {t}.files").collect())


def test_floe_reads_spark_partition_evolution(spark, theirs):
    t = f"{SPARK_CAT}.s.pevo"
    spark.sql(f"CREATE TABLE {t} (id bigint, ts timestamp, cat string) USING iceberg PARTITIONED BY (days(ts))")
    spark.sql(f"INSERT INTO {t} VALUES (1, TIMESTAMP '2024-03-01 10:00:00', 'a/b'), (2, TIMESTAMP '1969-12-31 23:00:00', NULL)")
    spark.sql(f"ALTER TABLE {t} ADD PARTITION FIELD bucket(4, id)")
    spark.sql(f"ALTER TABLE {t} ADD PARTITION FIELD truncate(2, cat)")
    spark.sql(f"INSERT INTO {t} VALUES (3, TIMESTAMP '2024-03-02 10:00:00', 'xyz'), (4, NULL, 'ünï')")
    spark.sql(f"ALTER TABLE {t} DROP PARTITION FIELD days(ts)")
    spark.sql(f"INSERT INTO {t} VALUES (5, TIMESTAMP '2025-01-01 00:00:00', 'q=%')")
    md = assert_floe_reads_spark(spark, theirs, "pevo")
    assert len(md["partition-specs"]) == 4  # one per ALTER


def test_floe_reads_spark_schema_evolution(spark, theirs):
    t = f"{SPARK_CAT}.s.sevo"
    spark.sql(f"CREATE TABLE {t} (id int, a string, b double, c float, d decimal(9,2)) USING iceberg")
    spark.sql(f"INSERT INTO {t} VALUES (1, 'x', 1.5, 2.5, 3.25), (2, NULL, NULL, NULL, NULL)")
    spark.sql(f"ALTER TABLE {t} ADD COLUMN e date")
    spark.sql(f"ALTER TABLE {t} RENAME COLUMN a TO a2")
    spark.sql(f"ALTER TABLE {t} DROP COLUMN b")
    spark.sql(f"ALTER TABLE {t} ALTER COLUMN id TYPE bigint")
    spark.sql(f"ALTER TABLE {t} ALTER COLUMN c TYPE double")
    spark.sql(f"ALTER TABLE {t} ALTER COLUMN d TYPE decimal(18,2)")
    spark.sql(f"ALTER TABLE {t} ALTER COLUMN e FIRST")
    spark.sql(f"ALTER TABLE {t} ADD COLUMN b string AFTER id")   # a new column reusing a dropped name
    spark.sql(f"INSERT INTO {t} (e, id, b, a2, c, d) VALUES (DATE '1999-12-31', 5000000000, 'new b', 'y', 0.1, 1234567890123456.78)")
    assert_floe_reads_spark(spark, theirs, "sevo")


def test_floe_reads_spark_v3_deletion_vectors(spark, theirs):
    t = f"{SPARK_CAT}.s.dv"
    spark.sql(f"""CREATE TABLE {t} (id bigint, v string) USING iceberg TBLPROPERTIES ('format-version'='3',
        'write.delete.mode'='merge-on-read', 'write.update.mode'='merge-on-read', 'write.merge.mode'='merge-on-read')""")
    spark.sql(f"INSERT INTO {t} SELECT id, concat('v', id) FROM range(0, 100)")
    spark.sql(f"DELETE FROM {t} WHERE id % 3 = 0")
    spark.sql(f"UPDATE {t} SET v = 'u' WHERE id % 10 = 1")
    spark.sql(f"DELETE FROM {t} WHERE id % 4 = 0")  # a second DV for the same data file replaces the first
    md = assert_floe_reads_spark(spark, theirs, "dv")
    assert md["format-version"] == 3
    fmts = {r.file_format for r in spark.sql(f"SELECT file_format FROM {t}.delete_files").collect()}
    assert fmts == {"PUFFIN"}, fmts


def test_floe_reads_spark_nan_and_null_statistics(spark, theirs):
    t = f"{SPARK_CAT}.s.nans"
    spark.sql(f"CREATE TABLE {t} (id int, d double, f float, s string, b binary, tz timestamp, ntz timestamp_ntz) USING iceberg")
    spark.sql(f"""INSERT INTO {t} VALUES
        (1, double('NaN'), float('NaN'), '', X'', TIMESTAMP '1900-01-01 00:00:00', TIMESTAMP_NTZ '9999-12-31 23:59:59.999999'),
        (2, double('Infinity'), float('-Infinity'), NULL, NULL, NULL, NULL),
        (3, -0.0, 0.0, 'ünïcödé 🧊', X'00ff', TIMESTAMP '2024-02-29 12:00:00.000001', TIMESTAMP_NTZ '1969-07-20 20:17:40'),
        (4, NULL, NULL, 'z', X'01', TIMESTAMP '1970-01-01 00:00:00', TIMESTAMP_NTZ '1970-01-01 00:00:00')""")
    assert_floe_reads_spark(spark, theirs, "nans")
    # floe's scan filter by value: NaN and NULL statistics must not prune wrongly
    # (the rows above are in one file whose d bounds exclude NaN).


@pytest.fixture(scope="module")
def pycat(theirs):
    from pyiceberg.catalog.sql import SqlCatalog
    cat = SqlCatalog(PY_CAT, uri=f"sqlite:///{theirs / 'py.db'}", warehouse=f"file://{theirs / 'py-wh'}")
    cat.create_namespace("p")
    return cat


def assert_floe_reads_pyiceberg(root, table, name):
    md_path = table.metadata_location.replace("file://", "")
    import json
    from pathlib import Path
    md = json.loads(Path(md_path).read_text())
    for snap in [s["snapshot-id"] for s in md["snapshots"]] + [None]:
        cols = types_of(md) if snap is None else snapshot_types(md, snap)
        names, types = [c for c, _ in cols], [t for _, t in cols]
        scan = table.scan() if snap is None else table.scan(snapshot_id=snap)
        arrow = scan.to_arrow()
        want = canon.canon_rows(types, zip(*[arrow.column(c).to_pylist() for c in names])) if arrow.num_rows else []
        rows = floe_scan([f"p.{name}"] + floe_catalog_args(root, PY_CAT), root, snap)
        got = canon.canon_rows(types, [[r[c] for c in names] for r in rows])
        assert got == want, f"floe table scan p.{name} (snapshot {snap}) differs from PyIceberg"


def py_rows(n0, n1):
    ids = list(range(n0, n1))
    return pa.Table.from_pydict({
        "id": pa.array(ids, pa.int64()),
        "name": pa.array([None if i % 4 == 0 else f"名前{i}" for i in ids], pa.string()),
        "price": pa.array([Decimal(i) / 8 for i in ids], pa.decimal128(20, 3)),
        "ts": pa.array([dt.datetime(1965 + i, 1 + i % 12, 1, 0, 0, i) for i in ids], pa.timestamp("us")),
        "tstz": pa.array([dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(hours=i * 1000) for i in ids],
                         pa.timestamp("us", tz="UTC")),
        "d": pa.array([dt.date(1960, 1, 1) + dt.timedelta(days=i * 400) for i in ids], pa.date32()),
        "f": pa.array([float("nan") if i % 5 == 0 else i / 3 for i in ids], pa.float64()),
        "flag": pa.array([i % 2 == 0 for i in ids], pa.bool_()),
        "u": pa.array([uuid.UUID(int=i * 0x1234567890abcdef).bytes for i in ids], pa.binary(16)),
        "bin": pa.array([bytes([i % 256]) * (i % 3) for i in ids], pa.binary()),
    }).cast(pa.schema([pa.field("id", pa.int64(), nullable=False)] + [
        pa.field(n, t) for n, t in (("name", pa.string()), ("price", pa.decimal128(20, 3)), ("ts", pa.timestamp("us")),
                                    ("tstz", pa.timestamp("us", tz="UTC")), ("d", pa.date32()), ("f", pa.float64()),
                                    ("flag", pa.bool_()), ("u", pa.binary(16)), ("bin", pa.binary()))]))


def py_schema():
    from pyiceberg.schema import Schema
    from pyiceberg.types import (BinaryType, BooleanType, DateType, DecimalType, DoubleType, LongType, NestedField,
                                 StringType, TimestampType, TimestamptzType, UUIDType)
    return Schema(
        NestedField(1, "id", LongType(), required=True), NestedField(2, "name", StringType()),
        NestedField(3, "price", DecimalType(20, 3)), NestedField(4, "ts", TimestampType()),
        NestedField(5, "tstz", TimestamptzType()), NestedField(6, "d", DateType()),
        NestedField(7, "f", DoubleType()), NestedField(8, "flag", BooleanType()),
        NestedField(9, "u", UUIDType()), NestedField(10, "bin", BinaryType()),
        identifier_field_ids=[1])


def test_floe_reads_pyiceberg_appends(theirs, pycat):
    t = pycat.create_table("p.appends", py_schema())
    t.append(py_rows(0, 30))
    t.append(py_rows(30, 45))
    assert_floe_reads_pyiceberg(theirs, pycat.load_table("p.appends"), "appends")


def test_floe_reads_pyiceberg_upsert_and_delete(theirs, pycat):
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.transforms import IdentityTransform
    # (PyIceberg's bucket and time transforms need the optional pyiceberg-core package.)
    spec = PartitionSpec(PartitionField(8, 1000, IdentityTransform(), "flag"))
    t = pycat.create_table("p.upserts", py_schema(), partition_spec=spec)
    t.append(py_rows(0, 20))
    changed = py_rows(10, 30).set_column(1, "name", pa.array([f"upserted {i}" for i in range(10, 30)], pa.string()))
    t = pycat.load_table("p.upserts")
    res = t.upsert(changed, join_cols=["id"])
    assert (res.rows_updated, res.rows_inserted) == (10, 10)
    t = pycat.load_table("p.upserts")
    t.delete("id < 3")
    assert_floe_reads_pyiceberg(theirs, pycat.load_table("p.upserts"), "upserts")
