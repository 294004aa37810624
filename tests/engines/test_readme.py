"""The README's "Reading the result with other engines" runs as written.

The section's Python and SQL blocks are taken from README.md, `/abs/path/demo`
replaced by the folder of a fresh `floe demo`, and run: the PySpark block
(from the repository's root, so its relative jar paths are the ones
scripts/engines.sh resolved), the PyIceberg block, and each verification
query through the same Spark session. Their results must be floe's: the
counts of `floe table scan` and the snapshot summaries of the metadata.
"""

import contextlib
import io
import os
import re

import pytest

from conftest import JARS, REPO, floe, floe_scan


def readme_blocks():
    text = (REPO / "README.md").read_text()
    start = text.index("## Reading the result with other engines")
    end = text.index("\n## ", start + 3)
    section = text[start:end]
    return re.findall(r"```(\w+)\n(.*?)```", section, re.S)


@pytest.fixture(scope="module")
def demo(workdir):
    d = workdir / "demo"
    floe(["demo", "--dir", str(d)], workdir)
    return d


def test_readme_names_the_pinned_versions():
    pins = dict(line.split("=", 1) for line in (REPO / "scripts" / "versions.env").read_text().splitlines()
                if "=" in line and not line.startswith("#"))
    section = "".join(b for _, b in readme_blocks())
    text = (REPO / "README.md").read_text()
    for needle in (f"pyspark {pins['PY_PYSPARK']}", f"iceberg-spark-runtime-3.5_2.12:{pins['MVN_ICEBERG']}",
                   f"sqlite-jdbc:{pins['MVN_SQLITE_JDBC']}", f"postgresql:{pins['MVN_POSTGRESQL_JDBC']}",
                   f"pyiceberg[sql-sqlite,pyarrow]=={pins['PY_PYICEBERG']}"):
        assert needle in text, needle
    for jar in re.findall(r"build/engines/jars/([\w.-]+\.jar)", section):
        assert (JARS / jar).exists(), f"the README names {jar}, which scripts/engines.sh did not install"


def test_readme_spark_and_verification_queries_run(spark, demo):
    blocks = readme_blocks()
    py = [b for lang, b in blocks if lang == "python"]
    sql = [b for lang, b in blocks if lang == "sql"]
    assert len(py) == 2 and len(sql) == 1, blocks
    spark_code = py[0].replace("/abs/path/demo", str(demo))
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        with contextlib.redirect_stdout(out):
            env = {}
            exec(spark_code, env)
    finally:
        os.chdir(cwd)
    session = env["spark"]
    rows = floe_scan(["demo.orders", "-c", str(demo / "floe.yaml")], demo)
    assert re.search(rf"\|\s*{len(rows)}\s*\|", out.getvalue()), out.getvalue()

    queries = [q.strip() for q in re.sub(r"--[^\n]*", "", sql[0]).split(";") if q.strip()]
    assert len(queries) == 3
    (n,), = session.sql(queries[0]).collect()
    assert n == sum(1 for r in rows if 1 < r["batch_sk"] <= 3) and n > 0
    snap = session.sql(queries[1]).collect()
    assert len(snap) == 1 and int(snap[0][1]) == n
    assert session.sql(queries[2]).collect() == []


def test_readme_pyiceberg_runs(demo):
    code = [b for lang, b in readme_blocks() if lang == "python"][1].replace("/abs/path/demo", str(demo))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, {})
    rows = floe_scan(["demo.orders", "-c", str(demo / "floe.yaml")], demo)
    assert out.getvalue().strip() == str(len(rows))
