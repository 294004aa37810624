"""Iceberg Java's strictness on every table floe writes.

tests/engines/java (CheckTables, built by scripts/engines.sh) loads every
metadata file with TableMetadataParser, every manifest list and manifest
with ManifestFiles, checks partition summaries, sequence numbers, file
sizes, record counts and column metrics against the real Parquet files, and
reads the rows with IcebergGenerics. Any exception or disagreement fails;
the rows must equal the source's state.
"""

import json
import struct
import subprocess

import pytest

import canon
import scenarios
from conftest import JAVA_CHECK

ALL = [(layout, s.name) for s in scenarios.SQLITE for layout in ("sqlite", "hadoop")] + \
      [("pg", s.name) for s in scenarios.PG]
IDS = [f"{a}-{b}" for a, b in ALL]


@pytest.fixture(scope="module")
def java_check(world):
    assert JAVA_CHECK.exists(), f"{JAVA_CHECK} missing (scripts/engines.sh builds it)"
    cp = f"{JAVA_CHECK}:{JAVA_CHECK.parent / 'lib'}/*"
    locations = [world.target(layout, name).metadata_location() for layout, name in ALL]
    r = subprocess.run(["java", "-Xmx1g", "-cp", cp, "dev.floe.enginecheck.CheckTables"] + locations,
                       capture_output=True, text=True)
    results = {}
    for line in r.stdout.splitlines():
        if line.startswith("{"):
            doc = json.loads(line)
            results[doc["metadata"]] = doc
    failures = [x for x in r.stderr.splitlines() if x.startswith("FAIL ")]
    return {"rc": r.returncode, "results": results, "failures": failures, "stderr": r.stderr}


def java_value(v):
    if isinstance(v, str) and v.startswith("f32:"):
        return struct.unpack(">f", bytes.fromhex(v[4:]))[0]
    if isinstance(v, str) and v.startswith("f64:"):
        return struct.unpack(">d", bytes.fromhex(v[4:]))[0]
    return v


@pytest.mark.parametrize("layout,name", ALL, ids=IDS)
def test_iceberg_java_reads_floe_table_strictly(world, java_check, layout, name):
    t = world.target(layout, name)
    loc = t.metadata_location()
    mine = [f for f in java_check["failures"] if f.startswith(f"FAIL {loc}:")]
    assert not mine, "\n".join(mine)
    assert loc in java_check["results"], f"{t}: no result from CheckTables\n{java_check['stderr'][-3000:]}"
    doc = java_check["results"][loc]
    idx = [doc["columns"].index(c) for c in t.scenario.columns]
    rows = [[java_value(r[i]) for i in idx] for r in doc["rows"]]
    assert canon.canon_rows(t.types(), rows) == t.expected(), f"{t}: IcebergGenerics rows differ from the source"


def test_iceberg_java_check_exits_zero(java_check):
    assert java_check["rc"] == 0, "\n".join(java_check["failures"]) or java_check["stderr"][-3000:]
