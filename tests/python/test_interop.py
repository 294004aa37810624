"""Zero-copy hand-off: the Arrow C stream of a scan goes straight into
pyarrow, polars and DuckDB; each reads floe's own buffers."""
import duckdb
import polars as pl
import pyarrow as pa

import floe
from conftest import job_config, source_rows


def loaded_table(tmp_path):
    job = floe.Job(job_config(tmp_path))
    job.run()
    return job.table("orders")


def test_pyarrow_imports_the_stream_without_allocating(tmp_path, source):
    t = loaded_table(tmp_path)
    scan = t.scan()
    before = pa.total_allocated_bytes()
    table = pa.table(scan)
    # Every buffer is floe's memory imported through the C data interface:
    # pyarrow's own pool allocated nothing to hold the 1,000 rows.
    assert pa.total_allocated_bytes() == before
    assert table.num_rows == 1000
    assert sum(table["order_id"].to_pylist()) == sum(range(1, 1001))
    # The stream object itself implements the capsule protocol.
    capsule = scan.__arrow_c_stream__()
    assert type(capsule).__name__ == "PyCapsule"
    reader = pa.RecordBatchReader.from_stream(scan)
    assert reader.schema == table.schema
    assert sum(b.num_rows for b in reader) == 1000


def test_polars_reads_the_stream(tmp_path, source):
    t = loaded_table(tmp_path)
    df = pl.DataFrame(t.scan(columns=["order_id", "customer_id", "status"]))
    assert df.height == 1000 and df.columns == ["order_id", "customer_id", "status"]
    by_cust = dict(df.group_by("customer_id").len().iter_rows())
    assert by_cust == dict(source_rows(source, "SELECT customer_id, count(*) FROM orders "
                                               "GROUP BY customer_id"))
    assert t.scan().to_polars().height == 1000


def test_duckdb_queries_the_stream(tmp_path, source):
    t = loaded_table(tmp_path)
    orders = t.scan()  # noqa: F841 - DuckDB finds it by name (replacement scan)
    got = duckdb.sql("SELECT status, count(*), sum(amount) FROM orders GROUP BY status "
                     "ORDER BY status NULLS FIRST").fetchall()
    want = source_rows(source, "SELECT status, count(*), sum(CAST(amount AS REAL)) FROM orders "
                               "GROUP BY status ORDER BY status NULLS FIRST")
    assert [(s, c) for s, c, _ in got] == [(s, c) for s, c, _ in want]
    for (_, _, g), (_, _, w) in zip(got, want):
        assert abs(float(g) - w) < 1e-6
    con = duckdb.connect()
    rel = con.from_arrow(t.scan(columns=["order_id"]))
    assert rel.aggregate("max(order_id)").fetchall()[0][0] == 1000


def test_pandas_without_going_through_python_objects(tmp_path, source):
    t = loaded_table(tmp_path)
    df = t.scan(filter=("batch_sk", "==", 2)).to_pandas()
    assert len(df) == 400 and int(df["order_id"].min()) == 601
