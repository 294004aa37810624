"""A 10,000,000-row table streamed through the Arrow C stream in bounded
memory: the reader's peak RSS grows by far less than the table's size in
Arrow, and every row arrives."""
import json
import sqlite3
import subprocess
import sys
import textwrap

import floe
from conftest import job_config

ROWS = 10_000_000


def make_source(path):
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL,"
               " batch_sk INTEGER NOT NULL)")
    # 10,000 x 1,000 through a cross join: much cheaper than a 10M-step
    # recursive CTE; ids ascend, so rows append to the b-tree in order.
    db.execute("CREATE TEMP TABLE k (i INTEGER PRIMARY KEY)")
    db.execute("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999)"
               " INSERT INTO k SELECT i FROM n")
    db.execute("INSERT INTO orders SELECT a.i * 1000 + b.i + 1, b.i, 1"
               " FROM k a CROSS JOIN k b WHERE b.i < 1000")
    db.commit()
    db.close()


READER = textwrap.dedent("""
    import json, sys
    import pyarrow as pa
    import pyarrow.compute as pc
    import floe

    def rss(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1]) * 1024

    table = floe.Catalog(type="sql", uri=sys.argv[1], warehouse=sys.argv[2]).load_table("sales.orders")
    scan = table.scan()
    before = rss("VmRSS:")
    rows = total = batches = 0
    for batch in pa.RecordBatchReader.from_stream(scan):
        rows += batch.num_rows
        total += pc.sum(batch.column("order_id")).as_py()
        batches += 1
    print(json.dumps({"rows": rows, "sum": total, "batches": batches,
                      "before": before, "peak": rss("VmHWM:")}))
""")


def test_ten_million_rows_stream_in_bounded_memory(tmp_path):
    make_source(tmp_path / "source.db")
    report = floe.Job(job_config(tmp_path, **{"mode": "append"})).run(progress=False)
    assert report["orders"]["rows_written"] == ROWS
    out = subprocess.run([sys.executable, "-c", READER, f"sqlite:{tmp_path / 'catalog.db'}",
                          str(tmp_path / "warehouse")], capture_output=True, text=True,
                         check=True, timeout=300)
    got = json.loads(out.stdout)
    assert got["rows"] == ROWS
    assert got["sum"] == ROWS * (ROWS + 1) // 2
    assert got["batches"] >= ROWS // 65536
    arrow_bytes = ROWS * 3 * 8  # three int64 columns, materialized
    growth = got["peak"] - got["before"]
    print(f"peak RSS growth {growth / 2**20:.1f} MiB for {arrow_bytes / 2**20:.0f} MiB of rows")
    assert growth < arrow_bytes / 4, growth
