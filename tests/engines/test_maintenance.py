"""floe continues tables Spark created, and survives Spark's maintenance.

Two jobs over one SQLite source, each into floe's SQL catalog (a SQLite
file) that Spark also uses as its JdbcCatalog:

  - `spark_made`: Spark creates the tables (its own properties, its own
    rows in the append table); floe appends and merges into them;
  - `floe_made`: floe creates the tables (append, and merge with position
    deletes).

Then Spark runs `rewrite_data_files`, `rewrite_manifests`,
`expire_snapshots` (retain_last 1: every floe snapshot but none, or all, go)
and `remove_orphan_files` on every table, and floe replicates again, also
through a crash after its control insert and a control row deleted by hand.
Nothing may be lost or duplicated: the control table, the snapshot
summaries and the property floe.watermark.<table>, and the row set agree;
Spark's snapshots and table properties are kept.
"""

import json
import os
import sqlite3
import time
from pathlib import Path

import pytest

import canon
from conftest import floe, floe_scan

COLS = ["id", "customer", "amount", "batch_sk"]
TYPES = ["long", "string", "decimal(10,2)", "long"]


class Job:
    def __init__(self, root, name, entries):
        self.dir = root / name
        self.dir.mkdir(parents=True)
        self.name = name
        self.source = self.dir / "source.db"
        (self.dir / "floe.yaml").write_text(
            "version: 1\n"
            "source: {type: sqlite, path: ./source.db}\n"
            "target:\n  warehouse: ./warehouse\n"
            f"  catalog: {{type: sql, uri: \"sqlite:./catalog.db\", name: {name}}}\n  namespace: m\n"
            "run: {durability: none}\n"
            "tables:\n" + "".join(f"  {k}: {v}\n" for k, v in entries.items()))

    def sql(self, script):
        con = sqlite3.connect(self.source)
        con.executescript(script)
        con.commit()
        con.close()

    def rows(self, sql):
        con = sqlite3.connect(self.source)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def run(self, env=None, check=True):
        return floe(["run", "-c", "floe.yaml"], self.dir, check=check, env=env)

    def control(self, table):
        return [r[0] for r in self.rows(f"SELECT batch_sk FROM floe_control WHERE table_name = '{table}' ORDER BY batch_sk")]

    def scan(self, table):
        rows = floe_scan([f"m.{table}", "-c", "floe.yaml"], self.dir)
        return canon.canon_rows(TYPES, [[r[c] for c in COLS] for r in rows])

    def metadata(self, table):
        con = sqlite3.connect(self.dir / "catalog.db")
        try:
            (loc,) = con.execute("SELECT metadata_location FROM iceberg_tables WHERE table_namespace = 'm' "
                                 "AND table_name = ?", (table,)).fetchone()
        finally:
            con.close()
        return json.loads(Path(loc.replace("file://", "", 1)).read_text())


def add_catalog(spark, job):
    c = f"spark.sql.catalog.{job.name}"
    spark.conf.set(c, "org.apache.iceberg.spark.SparkCatalog")
    spark.conf.set(f"{c}.catalog-impl", "org.apache.iceberg.jdbc.JdbcCatalog")
    spark.conf.set(f"{c}.uri", f"jdbc:sqlite:{job.dir / 'catalog.db'}")
    spark.conf.set(f"{c}.warehouse", str(job.dir / "warehouse"))
    # floe commits between Spark's statements: no cached table state.
    spark.conf.set(f"{c}.cache-enabled", "false")


def orders(lo, hi, batch, name="c"):
    return "INSERT INTO orders_src VALUES " + ",".join(
        f"({i}, '{name}{i % 5}', '{i * 1.25:.2f}', {batch})" for i in range(lo, hi)) + ";"


def spark_rows(spark, table):
    return canon.canon_rows(TYPES, [tuple(r[c] for c in COLS) for r in
                                    spark.sql(f"SELECT {', '.join(COLS)} FROM {table}").collect()])


def maintain(spark, job, table):
    """Spark's four maintenance procedures, as a data engineer runs them."""
    t = f"m.{table}"
    cat = job.name
    # A stray file in the data folder, old enough for remove_orphan_files' default (3 days).
    data = job.dir / "warehouse" / "m" / table / "data"
    data.mkdir(parents=True, exist_ok=True)
    orphan = data / "stray-orphan.parquet"
    orphan.write_bytes(b"not referenced")
    old = time.time() - 10 * 86400
    os.utime(orphan, (old, old))
    spark.sql(f"CALL {cat}.system.rewrite_data_files(table => '{t}', options => map('rewrite-all', 'true'))").collect()
    spark.sql(f"CALL {cat}.system.rewrite_manifests('{t}')").collect()
    spark.sql(f"CALL {cat}.system.expire_snapshots(table => '{t}', older_than => TIMESTAMP '2999-01-01 00:00:00', "
              "retain_last => 1)").collect()
    spark.sql(f"CALL {cat}.system.remove_orphan_files(table => '{t}')").collect()
    assert not orphan.exists(), "remove_orphan_files removed the stray file"


def floe_summaries(md, table):
    return [(int(s["summary"]["floe.batch-sk.low"]), int(s["summary"]["floe.batch-sk.high"]))
            for s in sorted(md["snapshots"], key=lambda s: s["sequence-number"])
            if s["summary"].get("floe.source-table") == table]


def watermark(md, table):
    props = md.get("properties", {})
    return json.loads(props[f"floe.watermark.{table}"])


def expected(job, sql, extra=()):
    return canon.canon_rows(TYPES, list(job.rows(sql)) + list(extra))


@pytest.fixture(scope="module")
def root(workdir):
    d = workdir / "maintenance"
    d.mkdir()
    return d


def test_floe_continues_spark_tables_through_maintenance(spark, root):
    job = Job(root, "spark_made", {
        # Spark's own rows are kept: the table is loaded into as it is.
        "appended": "{source: orders_src, on_existing: append}",
        "merged": "{source: orders_src, mode: merge, primary_key: [id]}",
    })
    add_catalog(spark, job)
    spark.sql("CREATE NAMESPACE spark_made.m")
    foreign = []
    for t in ("appended", "merged"):
        spark.sql(f"""CREATE TABLE spark_made.m.{t} (id bigint, customer string, amount decimal(10,2), batch_sk bigint)
            USING iceberg PARTITIONED BY (bucket(4, id))
            TBLPROPERTIES ('format-version'='2', 'owner.team'='analytics', 'write.metadata.previous-versions-max'='50')""")
    # Spark's own rows in the append table (ids no source row has).
    spark.sql("INSERT INTO spark_made.m.appended VALUES (-1, 'spark', 1.00, 0), (-2, 'spark', NULL, 0)")
    foreign = [(-1, "spark", "1.00", 0), (-2, "spark", None, 0)]

    job.sql("CREATE TABLE orders_src (id INTEGER PRIMARY KEY, customer TEXT, amount DECIMAL(10,2), batch_sk INTEGER);" +
            orders(1, 30, 1))
    job.run()
    job.sql(orders(30, 40, 2) + "UPDATE orders_src SET customer = 'upd', batch_sk = 2 WHERE id IN (3, 4, 5);")
    job.run()
    src = "SELECT id, customer, amount, batch_sk FROM orders_src"
    assert spark_rows(spark, "spark_made.m.merged") == expected(job, src)
    before_app = job.metadata("appended")

    for t in ("appended", "merged"):
        maintain(spark, job, t)
        md = job.metadata(t)
        assert floe_summaries(md, t) == [], f"{t}: expire_snapshots removed every floe snapshot"
        assert watermark(md, t)["batch-sk-high"] == 2, f"{t}: the property survived Spark's maintenance"
        assert md["properties"]["owner.team"] == "analytics"

    spark_snaps = {t: [s["snapshot-id"] for s in job.metadata(t)["snapshots"]] for t in ("appended", "merged")}

    # Nothing new: floe must not take Spark's rewrite snapshots for missing loads.
    r = job.run()
    assert "repair" not in r.stderr, r.stderr
    assert job.control("appended") == [0, 1, 2] and job.control("merged") == [0, 1, 2]

    # A crash right after the control insert: the next run compensates and
    # loads the range once, with every floe snapshot expired.
    job.sql(orders(40, 50, 3) + "UPDATE orders_src SET amount = '0.01', batch_sk = 3 WHERE id IN (1, 35);")
    crashed = job.run(env={"FLOE_CRASH_AT": "after_control_insert"}, check=False)
    assert crashed.returncode == 137, crashed.stderr
    again = job.run()
    assert "action=compensate" in again.stderr, again.stderr

    # A control row deleted by hand comes back from the property.
    job.sql("DELETE FROM floe_control WHERE table_name = 'appended' AND batch_sk = 3")
    repaired = job.run()
    assert "action=reinsert" in repaired.stderr, repaired.stderr

    for t in ("appended", "merged"):
        md = job.metadata(t)
        assert job.control(t) == [0, 1, 2, 3], t
        assert floe_summaries(md, t) == [(2, 3)], t
        assert watermark(md, t)["batch-sk-high"] == 3, t
        assert md["properties"]["owner.team"] == "analytics", t
        ids = [s["snapshot-id"] for s in md["snapshots"]]
        assert all(s in ids for s in spark_snaps[t]), f"{t}: Spark's snapshots kept"
        assert md["snapshots"][-1]["parent-snapshot-id"] in spark_snaps[t], t

    # The append table: Spark's rows plus every source row exactly once (the
    # rows floe appended before an update keep their old values: append).
    got = spark_rows(spark, "spark_made.m.appended")
    ids = sorted(int(r[0]) for r in got)
    assert len(ids) == len(set(ids)) + 5, "updated ids 3, 4, 5 (batch 2) and 1, 35 (batch 3) appear twice"
    assert job.scan("appended") == got
    assert sorted(set(ids)) == sorted({-1, -2} | set(range(1, 50)))
    assert len(before_app["snapshots"]) >= 3

    merged_want = expected(job, src)
    assert spark_rows(spark, "spark_made.m.merged") == merged_want
    assert job.scan("merged") == merged_want


def test_floe_tables_survive_spark_maintenance(spark, root):
    job = Job(root, "floe_made", {
        "app": "{source: orders_src, partition_by: [bucket(4, id)]}",
        "mrg": "{source: orders_src, mode: merge, primary_key: [id], merge: {deletes: position}}",
    })
    add_catalog(spark, job)
    job.sql("CREATE TABLE orders_src (id INTEGER PRIMARY KEY, customer TEXT, amount DECIMAL(10,2), batch_sk INTEGER);" +
            orders(1, 25, 1))
    job.run()
    job.sql(orders(25, 35, 2) + "UPDATE orders_src SET customer = 'u2', batch_sk = 2 WHERE id % 4 = 0;")
    job.run()
    job.sql("UPDATE orders_src SET customer = 'u3', batch_sk = 3 WHERE id % 5 = 0;")
    job.run()
    src = "SELECT id, customer, amount, batch_sk FROM orders_src"
    assert job.scan("mrg") == expected(job, src)
    files = spark.sql("SELECT content FROM floe_made.m.mrg.files").collect()
    assert any(r.content == 1 for r in files), "the merges wrote position deletes"
    app_before = spark_rows(spark, "floe_made.m.app")

    for t in ("app", "mrg"):
        maintain(spark, job, t)
        md = job.metadata(t)
        assert floe_summaries(md, t) == []
        assert watermark(md, t)["batch-sk-high"] == 3
    assert spark_rows(spark, "floe_made.m.mrg") == expected(job, src)
    assert spark_rows(spark, "floe_made.m.app") == app_before

    job.sql(orders(35, 45, 4) + "UPDATE orders_src SET amount = '7.77', batch_sk = 4 WHERE id IN (2, 36);"
            "DELETE FROM orders_src WHERE id = 7;")  # (a source delete is not a merge change: the row stays)
    job.run()
    for t in ("app", "mrg"):
        md = job.metadata(t)
        assert job.control(t) == [0, 1, 2, 3, 4], t
        assert floe_summaries(md, t) == [(3, 4)], t
        assert watermark(md, t)["batch-sk-high"] == 4, t
    mrg = spark_rows(spark, "floe_made.m.mrg")
    assert job.scan("mrg") == mrg
    assert len(mrg) == 44 and {r[0] for r in mrg} == {str(i) for i in range(1, 45)}
    src_now = {r[0]: r for r in expected(job, src)}
    for r in mrg:
        if r[0] in src_now:
            assert r == src_now[r[0]], r
    app = spark_rows(spark, "floe_made.m.app")
    assert job.scan("app") == app
    new = [r for r in app if r[3] == "4"]
    assert sorted(new) == sorted(r for r in expected(job, src) if r[3] == "4")
    assert sorted(r for r in app if r[3] != "4") == sorted(app_before)


# ---- tables floe itself maintained ---------------------------------------------

def java_check(locations):
    """CheckTables (tests/engines/java) on metadata files: {location: doc}
    and the FAIL lines; asserts it exited 0."""
    import subprocess
    from conftest import JAVA_CHECK
    assert JAVA_CHECK.exists(), f"{JAVA_CHECK} missing (scripts/engines.sh builds it)"
    cp = f"{JAVA_CHECK}:{JAVA_CHECK.parent / 'lib'}/*"
    r = subprocess.run(["java", "-Xmx1g", "-cp", cp, "dev.floe.enginecheck.CheckTables"] + list(locations),
                       capture_output=True, text=True)
    fails = [x for x in r.stderr.splitlines() if x.startswith("FAIL ")]
    assert r.returncode == 0 and not fails, "\n".join(fails) or r.stderr[-3000:]
    docs = {}
    for line in r.stdout.splitlines():
        if line.startswith("{"):
            doc = json.loads(line)
            docs[doc["metadata"]] = doc
    return docs


def java_rows(doc):
    idx = [doc["columns"].index(c) for c in COLS]
    return canon.canon_rows(TYPES, [[r[i] for i in idx] for r in doc["rows"]])


def metadata_location(job, table):
    con = sqlite3.connect(job.dir / "catalog.db")
    try:
        (loc,) = con.execute("SELECT metadata_location FROM iceberg_tables WHERE table_namespace = 'm' "
                             "AND table_name = ?", (table,)).fetchone()
    finally:
        con.close()
    return loc.replace("file://", "", 1)


def pyiceberg_rows(job, table, snapshot=None):
    """PyIceberg through its SqlCatalog on floe's catalog file, and as a
    StaticTable on the metadata file: both must agree; returns the rows."""
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.table import StaticTable
    cat = SqlCatalog(job.name, uri=f"sqlite:///{job.dir / 'catalog.db'}",
                     warehouse=f"file://{job.dir / 'warehouse'}")
    out = []
    for t in (cat.load_table(("m", table)), StaticTable.from_metadata(metadata_location(job, table))):
        arrow = t.scan(selected_fields=tuple(COLS), snapshot_id=snapshot).to_arrow()
        out.append(canon.canon_rows(TYPES, zip(*[arrow.column(c).to_pylist() for c in COLS])))
    assert out[0] == out[1], f"{table}: SqlCatalog and StaticTable differ"
    return out[0]


def floe_maintain(job, table, *args):
    r = floe(["maintain", f"m.{table}", *args, "--json", "-c", "floe.yaml"], job.dir)
    return json.loads(r.stdout)


def test_engines_read_tables_floe_maintained(spark, root):
    """floe merges (position deletes into a bucketed table, equality deletes
    into an unpartitioned one), then `floe maintain` converts, compacts,
    rewrites manifests and expires; Spark, PyIceberg and Iceberg Java read
    the source's rows, time travel to a retained load snapshot reads that
    load's rows, and replication continues exactly once."""
    job = Job(root, "floe_maint", {
        "pos": "{source: orders_src, mode: merge, primary_key: [id], partition_by: [bucket(4, id)], "
               "merge: {deletes: position}}",
        "eq": "{source: orders_src, mode: merge, primary_key: [id], merge: {deletes: equality}}",
    })
    add_catalog(spark, job)
    src = "SELECT id, customer, amount, batch_sk FROM orders_src"
    job.sql("CREATE TABLE orders_src (id INTEGER PRIMARY KEY, customer TEXT, amount DECIMAL(10,2), batch_sk INTEGER);" +
            orders(1, 40, 1))
    job.run()
    first = {t: job.metadata(t)["current-snapshot-id"] for t in ("pos", "eq")}
    job.sql(orders(40, 60, 2) + "UPDATE orders_src SET customer = 'u2', batch_sk = 2 WHERE id % 3 = 0;")
    job.run()
    previous_rows = expected(job, src)
    previous = {t: job.metadata(t)["current-snapshot-id"] for t in ("pos", "eq")}
    job.sql("UPDATE orders_src SET amount = '9.99', customer = 'u3', batch_sk = 3 WHERE id % 4 = 1;")
    job.run()
    want = expected(job, src)
    deletes = {"pos": 1, "eq": 2}
    for t in ("pos", "eq"):
        contents = {r.content for r in spark.sql(f"SELECT content FROM floe_maint.m.{t}.files").collect()}
        assert deletes[t] in contents, f"{t}: the merges wrote delete files of content {deletes[t]}"
        assert spark_rows(spark, f"floe_maint.m.{t}") == want, t

    for t in ("pos", "eq"):
        rep = floe_maintain(job, t, "--convert-equality-deletes", "--compact", "--rewrite-manifests")
        assert rep["commits"] >= 2, rep
        if t == "eq":
            assert rep["convert_equality_deletes"]["equality_delete_files_removed"] >= 2, rep
        assert rep["compact"]["delete_files_after"] == 0 or rep["compact"]["files_rewritten"] > 0, rep
        # Keep the maintenance snapshots and the two newest loads; the first
        # load's snapshot goes.
        exp = floe_maintain(job, t, "--expire-snapshots", "--older-than", "0", "--retain-last",
                            str(rep["commits"] + 2))
        assert exp["expire_snapshots"]["snapshots_expired"] >= 1, exp
        ids = [s["snapshot-id"] for s in job.metadata(t)["snapshots"]]
        assert first[t] not in ids and previous[t] in ids, (t, ids, first[t], previous[t])

    locs = {t: metadata_location(job, t) for t in ("pos", "eq")}
    docs = java_check(locs.values())
    for t in ("pos", "eq"):
        table = f"floe_maint.m.{t}"
        files = spark.sql(f"SELECT content, record_count FROM {table}.files").collect()
        assert files and all(r.content == 0 for r in files), f"{t}: compaction applied and dropped every delete"
        assert sum(r.record_count for r in files) == len(want), t
        assert spark_rows(spark, table) == want, f"{t}: Spark after floe maintain"
        # Equality deletes are gone: PyIceberg (which refuses them) reads both.
        assert pyiceberg_rows(job, t) == want, f"{t}: PyIceberg after floe maintain"
        assert java_rows(docs[locs[t]]) == want, f"{t}: Iceberg Java after floe maintain"
        assert job.scan(t) == want, t
        # Time travel to the retained load before the last one.
        assert spark_rows(spark, f"{table} VERSION AS OF {previous[t]}") == previous_rows, f"{t}: Spark time travel"
        if t == "pos":
            assert pyiceberg_rows(job, t, previous[t]) == previous_rows, "PyIceberg time travel"
        with pytest.raises(Exception, match="(?i)snapshot|not found|cannot find"):
            spark.sql(f"SELECT * FROM {table} VERSION AS OF {first[t]}").collect()

    # Replication goes on after maintenance: one more load, exactly once.
    job.sql(orders(60, 70, 4) + "UPDATE orders_src SET customer = 'u4', batch_sk = 4 WHERE id IN (2, 61);")
    r = job.run()
    assert "event=repair" not in r.stderr, r.stderr
    want = expected(job, src)
    docs = java_check([metadata_location(job, t) for t in ("pos", "eq")])
    for t in ("pos", "eq"):
        md = job.metadata(t)
        assert job.control(t) == [0, 1, 2, 3, 4], t
        assert watermark(md, t)["batch-sk-high"] == 4, t
        assert spark_rows(spark, f"floe_maint.m.{t}") == want, t
        assert java_rows(docs[metadata_location(job, t)]) == want, t
        if t == "pos":
            assert pyiceberg_rows(job, t) == want


def sort_key_cmp(a, b):
    """customer DESC NULLS LAST, then id ASC NULLS FIRST (the order Spark
    sets below); a and b are (customer, id)."""
    if (a[0] is None) != (b[0] is None):
        return -1 if b[0] is None else 1
    if a[0] != b[0]:
        ab, bb = a[0].encode(), b[0].encode()
        return -1 if ab > bb else 1
    if a[1] == b[1]:
        return 0
    return -1 if a[1] < b[1] else 1


def test_sorted_compaction_read_by_spark(spark, root):
    """A sort order set by Spark (WRITE ORDERED BY) on a table floe loads:
    `floe maintain --compact` writes every file in that order (read back
    in file order by pyarrow), records the order's id in the manifests
    (Spark's files table), and Spark and Iceberg Java read the source's
    rows."""
    import pyarrow.parquet as pq
    job = Job(root, "floe_sorted", {
        "srt": "{source: orders_src, mode: merge, primary_key: [id], partition_by: [bucket(2, id)]}",
    })
    add_catalog(spark, job)
    src = "SELECT id, customer, amount, batch_sk FROM orders_src"
    job.sql("CREATE TABLE orders_src (id INTEGER PRIMARY KEY, customer TEXT, amount DECIMAL(10,2), batch_sk INTEGER);" +
            orders(1, 30, 1) + "UPDATE orders_src SET customer = NULL WHERE id IN (4, 17);")
    job.run()
    job.sql(orders(30, 50, 2, "b") + "UPDATE orders_src SET customer = 'zz', batch_sk = 2 WHERE id % 7 = 0;")
    job.run()
    job.sql(orders(50, 60, 3, "A") + "UPDATE orders_src SET customer = NULL, batch_sk = 3 WHERE id IN (33, 51);")
    job.run()
    spark.sql("ALTER TABLE floe_sorted.m.srt WRITE ORDERED BY customer DESC NULLS LAST, id ASC NULLS FIRST")
    order_id = job.metadata("srt")["default-sort-order-id"]
    assert order_id > 0
    rep = floe_maintain(job, "srt", "--compact", "--min-input-files", "2")
    assert rep["compact"]["sort_order_id"] == order_id, rep
    assert rep["compact"]["sorted_runs"] >= 2 and rep["compact"]["files_written"] >= 2, rep
    want = expected(job, src)
    files = spark.sql("SELECT content, file_path, sort_order_id, record_count FROM floe_sorted.m.srt.files").collect()
    assert {r.content for r in files} == {0}, "compaction applied every delete"
    assert {r.sort_order_id for r in files} == {order_id}, files
    assert sum(r.record_count for r in files) == len(want)

    def check_in_order(f):
        t = pq.read_table(f.file_path.replace("file://", "", 1), columns=["customer", "id"])
        rows = list(zip(t.column("customer").to_pylist(), t.column("id").to_pylist()))
        assert len(rows) == f.record_count
        bad = [(a, b) for a, b in zip(rows, rows[1:]) if sort_key_cmp(a, b) > 0]
        assert not bad, f"{f.file_path}: rows out of order: {bad[:3]}"
    for f in files:
        check_in_order(f)
    assert spark_rows(spark, "floe_sorted.m.srt") == want
    docs = java_check([metadata_location(job, "srt")])
    assert java_rows(docs[metadata_location(job, "srt")]) == want
    # Replication continues on the sorted table: the merge writes its new
    # rows in the table's order too, and Spark's files table shows the id.
    compacted = {f.file_path for f in files}
    job.sql(orders(60, 65, 4) + "UPDATE orders_src SET customer = 'q', batch_sk = 4 WHERE id IN (1, 2);" +
            "UPDATE orders_src SET customer = NULL WHERE id = 62;")
    job.run()
    assert job.control("srt") == [0, 1, 2, 3, 4]
    assert spark_rows(spark, "floe_sorted.m.srt") == expected(job, src)
    files = spark.sql("SELECT content, file_path, sort_order_id, record_count FROM floe_sorted.m.srt.files "
                      "WHERE content = 0").collect()
    written = [f for f in files if f.file_path not in compacted]
    assert written and {f.sort_order_id for f in written} == {order_id}, files
    assert sum(f.record_count for f in written) == 7  # new ids 60..64, changed ids 1 and 2
    for f in written:
        check_in_order(f)
