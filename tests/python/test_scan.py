"""Table scans: values equal to the source, projection, filters, time
travel, snapshots and history, diffs, scan errors."""
import datetime as dt
import sqlite3
from decimal import Decimal

import pyarrow as pa
import pytest

import floe
from conftest import add_orders, job_config, source_rows


@pytest.fixture
def loaded(tmp_path, source):
    job = floe.Job(job_config(tmp_path))
    job.run()
    return job


def sorted_rows(table, key="order_id"):
    return sorted(table.to_pylist(), key=lambda r: r[key])


def test_scan_reads_every_row_equal_to_the_source(loaded, source):
    t = loaded.table("orders")
    got = sorted_rows(t.scan().to_arrow())
    want = source_rows(source, "SELECT order_id, customer_id, printf('%.2f', amount), order_ts, status, batch_sk "
                               "FROM orders ORDER BY order_id")
    assert len(got) == len(want) == 1000
    for g, (oid, cust, amount, ts, status, batch) in zip(got, want):
        assert g["order_id"] == oid and g["customer_id"] == cust
        assert g["amount"] == Decimal(amount)
        assert g["order_ts"] == dt.datetime.fromisoformat(ts)
        assert g["status"] == status and g["batch_sk"] == batch


def test_scan_schema_carries_iceberg_field_ids(loaded):
    schema = pa.schema(loaded.table("orders").scan())
    assert schema.names == ["order_id", "customer_id", "amount", "order_ts", "status", "batch_sk"]
    assert schema.field("amount").type == pa.decimal128(10, 2)
    assert schema.field("order_ts").type == pa.timestamp("us")
    assert schema.field("order_id").metadata[b"PARQUET:field_id"] == b"1"


def test_projection_and_filters(loaded, source):
    t = loaded.table("orders")
    proj = t.scan(columns=["status", "order_id"]).to_arrow()
    assert proj.column_names == ["status", "order_id"] and proj.num_rows == 1000
    eq = t.scan(filter=("customer_id", "==", 3)).to_arrow()
    assert eq.num_rows == source_rows(source, "SELECT count(*) FROM orders WHERE customer_id = 3")[0][0]
    assert set(eq["customer_id"].to_pylist()) == {3}
    both = t.scan(filter=[("batch_sk", ">", 1), ("status", "in", ["new", "paid"])]).count()
    assert both == source_rows(source, "SELECT count(*) FROM orders WHERE batch_sk > 1 "
                                       "AND status IN ('new', 'paid')")[0][0]
    nulls = t.scan(filter=("status", "is_null")).count()
    assert nulls == source_rows(source, "SELECT count(*) FROM orders WHERE status IS NULL")[0][0]
    ts = t.scan(filter=("order_ts", ">=", dt.datetime(2024, 1, 2))).count()
    assert ts == source_rows(source, "SELECT count(*) FROM orders WHERE order_ts >= '2024-01-02'")[0][0]
    dec = t.scan(filter=("amount", "<", Decimal("10.00"))).count()
    assert dec == source_rows(source, "SELECT count(*) FROM orders WHERE CAST(amount AS REAL) < 10")[0][0]


def test_scan_errors_are_exceptions(loaded):
    t = loaded.table("orders")
    with pytest.raises(floe.NotFoundError) as e:
        t.scan(columns=["nope"])
    assert "nope" in str(e.value)
    with pytest.raises(floe.NotFoundError):
        t.scan(filter=("nope", "==", 1))
    with pytest.raises(floe.NotFoundError):
        t.scan(snapshot_id=12345)
    with pytest.raises(floe.ConfigError):
        t.scan(filter=("order_id", "~", 1))
    with pytest.raises(floe.FormatError):
        t.scan(filter=("order_id", "==", "not a number"))
    with pytest.raises(floe.NotFoundError):
        loaded.catalog().load_table("sales.nope")


def test_snapshots_history_and_time_travel(loaded, source):
    add_orders(source, 1001, 100, 3)
    loaded.run()
    t = loaded.table("orders")
    snaps = t.snapshots()
    assert [(s["operation"], s["batch_sk_low"], s["batch_sk_high"], s["added_records"])
            for s in snaps] == [("append", 0, 2, 1000), ("append", 2, 3, 100)]
    assert snaps[1]["parent_id"] == snaps[0]["snapshot_id"]
    assert snaps[1]["snapshot_id"] == t.current_snapshot_id
    hist = t.history()
    assert [h["snapshot_id"] for h in hist] == [s["snapshot_id"] for s in snaps]
    assert all(h["is_current_ancestor"] for h in hist)
    assert t.scan(snapshot_id=snaps[0]["snapshot_id"]).count() == 1000
    assert t.scan().count() == 1100
    # as_of: the snapshot current at the first commit's time (datetime or ms).
    assert t.scan(as_of=snaps[0]["timestamp"]).count() == 1000
    assert t.scan(as_of=snaps[1]["timestamp_ms"]).count() == 1100
    with pytest.raises(floe.NotFoundError):
        t.scan(as_of=dt.datetime(2000, 1, 1))
    df = t.snapshots().to_pandas()
    assert list(df["batch_sk_high"]) == [2, 3]


def test_diff_of_an_append_is_the_new_batch(loaded, source):
    add_orders(source, 1001, 100, 3)
    loaded.run()
    t = loaded.table("orders")
    a, b = [s["snapshot_id"] for s in t.snapshots()]
    d = t.diff(a, b)
    assert d.removed.num_rows == 0
    assert sorted(d.added["order_id"].to_pylist()) == list(range(1001, 1101))
    back = t.diff(b, a)
    assert back.added.num_rows == 0 and back.removed.num_rows == 100
    df = d.to_pandas()
    assert set(df["_change"]) == {"added"} and len(df) == 100


def test_diff_of_a_merge_shows_updates_as_removed_and_added(tmp_path, source):
    job = floe.Job(job_config(tmp_path, mode="merge", primary_key=["order_id"]))
    job.run()
    db = sqlite3.connect(source)
    db.execute("UPDATE orders SET status = 'refunded', batch_sk = 3 WHERE order_id IN (5, 6, 7)")
    db.commit()
    db.close()
    job.run()
    t = job.table("orders")
    a, b = [s["snapshot_id"] for s in t.snapshots()][-2:]
    d = t.diff(a, b)
    assert sorted(d.removed["order_id"].to_pylist()) == [5, 6, 7]
    assert sorted(d.added["order_id"].to_pylist()) == [5, 6, 7]
    assert set(d.added["status"].to_pylist()) == {"refunded"}
    assert "refunded" not in d.removed["status"].to_pylist()
    assert t.scan().count() == 1000


def test_catalog_opened_directly(loaded, tmp_path):
    cat = floe.Catalog(type="sql", uri=f"sqlite:{tmp_path / 'catalog.db'}",
                       warehouse=tmp_path / "warehouse")
    assert cat.namespaces() == ["sales"]
    assert cat.tables("sales") == ["orders"]
    t = cat.load_table("sales.orders")
    assert t.name == "sales.orders" and t.scan().count() == 1000
    assert [c["name"] for c in t.schema()][:2] == ["order_id", "customer_id"]
    with pytest.raises(floe.ConfigError):
        floe.Catalog(type="glue", warehouse=str(tmp_path))
