"""The installed package: one abi3 extension linked against libfloe,
pyarrow optional for the core API."""
import subprocess
import sys

import floe


def test_extension_is_built_for_the_stable_abi():
    assert floe._floe.__file__.endswith(".abi3.so")


def test_core_api_imports_and_runs_without_pyarrow(tmp_path):
    # A fresh interpreter in which importing pyarrow fails: loading a job,
    # running it and counting a scan still work; to_arrow says what is missing.
    code = f"""
import sys, sqlite3
sys.modules["pyarrow"] = None
import floe
db = sqlite3.connect({str(tmp_path / 'src.db')!r})
db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, batch_sk INTEGER NOT NULL)")
db.executemany("INSERT INTO t VALUES (?, 1)", [(i,) for i in range(100)])
db.commit()
job = floe.Job({{"version": 1, "source": {{"type": "sqlite", "path": {str(tmp_path / 'src.db')!r}}},
    "target": {{"warehouse": {str(tmp_path / 'wh')!r},
               "catalog": {{"type": "hadoop"}}, "namespace": "ns"}},
    "tables": {{"t": {{}}}}}})
report = job.run()
assert report["t"]["rows_written"] == 100
assert job.table("t").scan().count() == 100
try:
    job.table("t").scan().to_arrow()
except ImportError as e:
    print("no pyarrow:", e)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "no pyarrow" in out.stdout
