"""Fixtures of the engine suite (tests/engines): floe, a PostgreSQL server,
the tables floe writes, and one Spark session per test module.

Everything runs on this machine: `build/floe` (FLOE_BIN), a PostgreSQL
server started by tests/support/pg.sh on 127.0.0.1, Spark in `local[2]`
with the jars scripts/engines.sh resolved into build/engines/jars
(FLOE_ENGINE_JARS). A component that cannot start fails the tests that
need it; nothing is skipped.
"""

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import canon
import scenarios

# Every reader renders naive timestamps in the process's zone; pin it to UTC
# before the JVM starts so Spark's collect() and Python agree.
os.environ["TZ"] = "UTC"
time.tzset()

REPO = Path(__file__).resolve().parents[2]
FLOE = Path(os.environ.get("FLOE_BIN", REPO / "build" / "floe"))
JARS = Path(os.environ.get("FLOE_ENGINE_JARS", REPO / "build" / "engines" / "jars"))
JAVA_CHECK = Path(os.environ.get("FLOE_JAVA_CHECK", REPO / "build" / "engines" / "java" / "floe-engine-check.jar"))
PG_SH = REPO / "tests" / "support" / "pg.sh"


# ---- running floe -----------------------------------------------------------

def floe(args, cwd, check=True, env=None):
    """Runs build/floe; returns the CompletedProcess (text)."""
    e = dict(os.environ)
    if env:
        e.update(env)
    r = subprocess.run([str(FLOE)] + [str(a) for a in args], cwd=cwd, capture_output=True,
                       text=True, env=e)
    if check and r.returncode != 0:
        raise AssertionError(f"floe {' '.join(map(str, args))} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def floe_scan(table_args, cwd, snapshot=None):
    """`floe table scan ... --format jsonl` as a list of dicts."""
    args = ["table", "scan"] + table_args + ["--format", "jsonl"]
    if snapshot is not None:
        args += ["--snapshot", str(snapshot)]
    out = floe(args, cwd).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def parse_inspect(text):
    """`floe table inspect` output: snapshots (id, parent, operation,
    summary) and the files of the inspected snapshot."""
    snaps, files, props = [], [], {}
    section = None
    for line in text.splitlines():
        if line == "snapshots:":
            section = "snapshots"
            continue
        if line == "properties:":
            section = "properties"
            continue
        if line.startswith("files of snapshot"):
            section = "files"
            continue
        if not line.startswith("  "):
            section = None if line.endswith(":") else section
            continue
        if section == "properties":
            k, _, v = line.strip().partition("=")
            props[k] = v
        elif section == "snapshots":
            if line.startswith("    "):
                body = line.strip()
                if body.startswith("manifest-list "):
                    snaps[-1]["manifest-list"] = body.split(" ", 1)[1]
                else:
                    k, _, v = body.partition("=")
                    snaps[-1]["summary"][k] = v
            else:
                parts = line.split()
                fields = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
                snaps.append({"id": int(parts[0]), "seq": int(fields["seq"]),
                              "parent": None if fields["parent"] == "-" else int(fields["parent"]),
                              "operation": fields["operation"], "summary": {}})
        elif section == "files" and not line.strip().endswith("bytes"):
            parts = line.split()
            kv = {}
            for p in parts[2:]:
                if "=" in p and not p.startswith("partition="):
                    k, _, v = p.partition("=")
                    kv[k] = v
            part = line[line.index("partition=") + len("partition="): line.index(" spec=")]
            files.append({"content": parts[0], "path": parts[1], "records": int(kv["records"]),
                          "size": int(kv["size"]), "partition": part, "spec": int(kv["spec"]),
                          "seq": int(kv["seq"]), "snapshot": int(kv["snapshot"])})
    return {"snapshots": snaps, "files": files, "properties": props}


# ---- the tables floe writes --------------------------------------------------

class Target:
    """One Iceberg table floe wrote, with what it must hold."""

    def __init__(self, world, layout, ns, scenario, expected_rows):
        self.world = world
        self.layout = layout          # "sqlite" (SQL catalog on SQLite), "hadoop", "pg"
        self.ns = ns
        self.scenario = scenario
        self.name = scenario.name
        self.expected_rows = expected_rows  # raw source rows, columns of scenario.columns
        self.dir = world.dirs[layout]

    @property
    def ident(self):
        return f"{self.ns}.{self.name}"

    def catalog_args(self):
        """floe table ... arguments selecting this table."""
        return [self.ident, "-c", str(self.dir / "floe.yaml")]

    def metadata_location(self):
        if self.layout == "hadoop":
            mdir = self.dir / "warehouse" / self.ns / self.name / "metadata"
            v = int((mdir / "version-hint.text").read_text().strip())
            return str(mdir / f"v{v}.metadata.json")
        if self.layout == "sqlite":
            con = sqlite3.connect(self.dir / "catalog.db")
            try:
                (loc,) = con.execute(
                    "SELECT metadata_location FROM iceberg_tables WHERE table_namespace = ? AND table_name = ?",
                    (self.ns, self.name)).fetchone()
            finally:
                con.close()
        else:
            loc = self.world.pg_query(
                self.world.pg_catalog_db,
                f"SELECT metadata_location FROM iceberg_tables WHERE table_namespace = '{self.ns}' "
                f"AND table_name = '{self.name}'")[0][0]
        return loc[len("file://"):] if loc.startswith("file://") else loc

    def metadata(self):
        return json.loads(Path(self.metadata_location()).read_text())

    def types(self):
        """Iceberg type of each compared column, from the current schema."""
        md = self.metadata()
        schema = next(s for s in md["schemas"] if s["schema-id"] == md["current-schema-id"])
        by_name = {f["name"]: f["type"] for f in schema["fields"]}
        return [by_name[c] for c in self.scenario.columns]

    def expected(self):
        return canon.canon_rows(self.types(), self.expected_rows)

    def inspect(self, snapshot=None):
        args = ["table", "inspect"] + self.catalog_args()
        if snapshot is not None:
            args += ["--snapshot", str(snapshot)]
        return parse_inspect(floe(args, self.dir).stdout)

    def scan(self, snapshot=None):
        rows = floe_scan(self.catalog_args(), self.dir, snapshot)
        return canon.canon_rows(self.types(), [[r[c] for c in self.scenario.columns] for r in rows])

    def __repr__(self):
        return f"{self.layout}:{self.ident}"


class World:
    """A SQLite source replicated into floe's SQL catalog (a SQLite file) and
    into the hadoop layout, and a PostgreSQL source replicated into the SQL
    catalog on PostgreSQL."""

    def __init__(self, root, pg):
        self.root = root
        self.pg = pg
        self.dirs = {k: root / k for k in ("sqlite", "hadoop", "pg")}
        for d in self.dirs.values():
            d.mkdir(parents=True)
        self.source = root / "source.db"
        self.pg_source_db = "engines_src"
        self.pg_catalog_db = "engines_cat"
        self.targets = []

    # PostgreSQL through psql, as the e2e tests do.
    def pg_conninfo(self, db):
        return f"host=127.0.0.1 port={self.pg['port']} user=postgres dbname={db}"

    def pg_exec(self, db, sql):
        r = subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "-q", "-X", self.pg_conninfo(db)],
                           input=sql, capture_output=True, text=True)
        assert r.returncode == 0, f"psql: {r.stderr}\n{sql}"

    def pg_query(self, db, sql):
        import psycopg2
        con = psycopg2.connect(self.pg_conninfo(db))
        try:
            cur = con.cursor()
            cur.execute(sql)
            return cur.fetchall()
        finally:
            con.close()

    def write_jobs(self, step=0):
        common = "run: {durability: none}\n"
        (self.dirs["sqlite"] / "floe.yaml").write_text(
            "version: 1\n"
            f"source: {{type: sqlite, path: {self.source}}}\n"
            "target:\n  warehouse: ./warehouse\n"
            "  catalog: {type: sql, uri: \"sqlite:./catalog.db\", name: floe}\n  namespace: e2e\n"
            "control: {table: floe_control}\n" + common +
            "tables:\n" + "".join(f"  {s.name}: {s.entry_at(step)}\n" for s in scenarios.SQLITE))
        (self.dirs["hadoop"] / "floe.yaml").write_text(
            "version: 1\n"
            f"source: {{type: sqlite, path: {self.source}}}\n"
            "target:\n  warehouse: ./warehouse\n  catalog: {type: hadoop}\n  namespace: e2e\n"
            "control: {table: floe_control_hadoop}\n" + common +
            "tables:\n" + "".join(f"  {s.name}: {s.entry_at(step)}\n" for s in scenarios.SQLITE))
        (self.dirs["pg"] / "floe.yaml").write_text(
            "version: 1\n"
            f"source: {{type: postgres, conninfo: \"{self.pg_conninfo(self.pg_source_db)}\"}}\n"
            "target:\n  warehouse: ./warehouse\n"
            f"  catalog: {{type: sql, uri: \"postgresql://postgres@127.0.0.1:{self.pg['port']}/{self.pg_catalog_db}\","
            " name: floepg}\n  namespace: pg\n" + common +
            "tables:\n" + "".join(f"  {s.name}: {s.entry_at(step)}\n" for s in scenarios.PG))

    def build(self):
        self.write_jobs()
        self.pg_exec("postgres", f"CREATE DATABASE {self.pg_source_db}; CREATE DATABASE {self.pg_catalog_db};")
        steps = max(len(s.steps) for s in scenarios.SQLITE)
        for i in range(steps):
            self.write_jobs(i)  # a scenario's entry may change between runs (evolution)
            src = sqlite3.connect(self.source)
            for s in scenarios.SQLITE:
                if i < len(s.steps):
                    src.executescript(s.steps[i])
            src.commit()
            src.close()
            for layout in ("sqlite", "hadoop"):
                floe(["run", "-c", "floe.yaml"], self.dirs[layout])
        steps = max(len(s.steps) for s in scenarios.PG)
        for i in range(steps):
            self.pg_exec(self.pg_source_db, "".join(s.steps[i] for s in scenarios.PG if i < len(s.steps)))
            floe(["run", "-c", "floe.yaml"], self.dirs["pg"])
        src = sqlite3.connect(self.source)
        for s in scenarios.SQLITE:
            rows = src.execute(s.expected).fetchall()
            for layout in ("sqlite", "hadoop"):
                self.targets.append(Target(self, layout, "e2e", s, rows))
        src.close()
        for s in scenarios.PG:
            self.targets.append(Target(self, "pg", "pg", s, self.pg_query(self.pg_source_db, s.expected)))

    def target(self, layout, name):
        return next(t for t in self.targets if t.layout == layout and t.name == name)


@pytest.fixture(scope="session")
def pg_server():
    d = Path(tempfile.mkdtemp(prefix="floe-engines-pg-"))
    r = subprocess.run([str(PG_SH), "start", str(d), str(os.getpid())], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"tests/support/pg.sh start failed ({r.returncode}): {r.stderr}", pytrace=False)
    fields = dict(kv.split("=", 1) for kv in r.stdout.split())
    yield {"dir": d, "port": int(fields["port"])}
    subprocess.run([str(PG_SH), "stop", str(d)], capture_output=True)


@pytest.fixture(scope="session")
def workdir():
    d = Path(tempfile.mkdtemp(prefix="floe-engines-"))
    yield d
    if not os.environ.get("FLOE_KEEP_TMP"):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def world(workdir, pg_server):
    assert FLOE.exists(), f"no floe binary at {FLOE} (make build, or set FLOE_BIN)"
    w = World(workdir / "floe-tables", pg_server)
    w.build()
    return w


# ---- Spark --------------------------------------------------------------------

def engine_jars():
    jars = sorted(str(p) for p in JARS.glob("*.jar"))
    assert any("iceberg-spark-runtime" in j for j in jars), f"no Iceberg Spark runtime in {JARS} (scripts/engines.sh)"
    return jars


@pytest.fixture(scope="module")
def spark(world, workdir):
    """One Spark session (local[2]) per test module, with floe's catalogs:
    `floe` (JDBC catalog on the SQLite file), `floepg` (JDBC catalog on
    PostgreSQL) and `hadoop` (the hadoop layout)."""
    from pyspark.sql import SparkSession

    jars = engine_jars()
    b = (SparkSession.builder.master("local[2]").appName("floe-engines")
         .config("spark.jars", ",".join(jars))
         .config("spark.driver.extraClassPath", ":".join(jars))
         .config("spark.sql.extensions", "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
         .config("spark.sql.session.timeZone", "UTC")
         .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
         .config("spark.ui.enabled", "false")
         .config("spark.driver.host", "127.0.0.1")
         .config("spark.driver.bindAddress", "127.0.0.1")
         .config("spark.sql.shuffle.partitions", "2")
         .config("spark.default.parallelism", "2")
         .config("spark.driver.memory", "2g")
         .config("spark.sql.warehouse.dir", str(workdir / "spark-warehouse")))
    cats = {
        "floe": {"catalog-impl": "org.apache.iceberg.jdbc.JdbcCatalog",
                 "uri": f"jdbc:sqlite:{world.dirs['sqlite'] / 'catalog.db'}",
                 "warehouse": str(world.dirs["sqlite"] / "warehouse")},
        "floepg": {"catalog-impl": "org.apache.iceberg.jdbc.JdbcCatalog",
                   "uri": f"jdbc:postgresql://127.0.0.1:{world.pg['port']}/{world.pg_catalog_db}",
                   "jdbc.user": "postgres", "jdbc.password": "",
                   "warehouse": str(world.dirs["pg"] / "warehouse")},
        "hadoop": {"type": "hadoop", "warehouse": str(world.dirs["hadoop"] / "warehouse")},
    }
    for cat, props in cats.items():
        b = b.config(f"spark.sql.catalog.{cat}", "org.apache.iceberg.spark.SparkCatalog")
        for k, v in props.items():
            b = b.config(f"spark.sql.catalog.{cat}.{k}", v)
    session = b.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def spark_table(target):
    cat = {"sqlite": "floe", "pg": "floepg", "hadoop": "hadoop"}[target.layout]
    return f"{cat}.{target.ns}.{target.name}"


def spark_rows(spark, target, snapshot=None):
    cols = ", ".join(f"`{c}`" for c in target.scenario.columns)
    sql = f"SELECT {cols} FROM {spark_table(target)}"
    if snapshot is not None:
        sql += f" VERSION AS OF {snapshot}"
    return canon.canon_rows(target.types(), [tuple(r) for r in spark.sql(sql).collect()])
