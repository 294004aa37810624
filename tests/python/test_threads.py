"""The GIL is released during runs and scans (another Python thread keeps
running), and Ctrl-C / an exception from the progress callback stops a run
cleanly: the table being loaded is compensated, nothing is committed, and
the next run loads the range exactly once."""
import os
import shutil
import signal
import threading
import time

import pyarrow as pa
import pytest

import floe
from conftest import add_orders, job_config, source_rows


class Ticker:
    """A Python thread that records when it runs; the largest gap between
    its ticks shows whether the main thread held the GIL."""

    def __init__(self):
        self.ticks = []
        self.stop = False
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.stop:
            self.ticks.append(time.perf_counter())
            time.sleep(0.001)

    def __enter__(self):
        self.thread.start()
        while not self.ticks:
            time.sleep(0.001)
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.thread.join()

    def ticks_between(self, t0, t1):
        return [t for t in self.ticks if t0 <= t <= t1]

    def max_gap(self, t0, t1):
        ts = [t0] + self.ticks_between(t0, t1) + [t1]
        return max(b - a for a, b in zip(ts, ts[1:]))


ROWS = 150_000


@pytest.fixture(scope="module")
def big_source(tmp_path_factory):
    """A 150,000-row source, made once: long enough a scan and a run to
    watch another thread."""
    path = tmp_path_factory.mktemp("big") / "source.db"
    add_orders(path, 1, ROWS, 1)
    return path


@pytest.fixture
def fresh(tmp_path, big_source):
    shutil.copy(big_source, tmp_path / "source.db")
    return tmp_path


@pytest.fixture(scope="module")
def big(tmp_path_factory, big_source):
    d = tmp_path_factory.mktemp("bigjob")
    shutil.copy(big_source, d / "source.db")
    job = floe.Job(job_config(d))
    job.run()
    return d, job


def test_scan_releases_the_gil(big):
    _, job = big
    scan = job.table("orders").scan()
    with Ticker() as ticker:
        t0 = time.perf_counter()
        n = scan.count()
        t1 = time.perf_counter()
        table = pa.table(scan)
        t2 = time.perf_counter()
    assert n == ROWS and table.num_rows == ROWS
    for a, b in ((t0, t1), (t1, t2)):
        if b - a > 0.05:  # long enough to tell
            assert len(ticker.ticks_between(a, b)) >= 5
            assert ticker.max_gap(a, b) < max(0.05, (b - a) / 3)


def test_run_releases_the_gil(fresh):
    tmp_path = fresh
    job = floe.Job(job_config(tmp_path))
    with Ticker() as ticker:
        t0 = time.perf_counter()
        job.run(progress=False)
        t1 = time.perf_counter()
    assert t1 - t0 > 0.1
    assert len(ticker.ticks_between(t0, t1)) >= 10
    assert ticker.max_gap(t0, t1) < max(0.1, (t1 - t0) / 3)


def assert_compensated_then_recovered(tmp_path, job, first_run_id=None):
    # Nothing committed, the control row of the interrupted run deleted.
    assert job.last_report is not None
    rep = job.last_report["orders"]
    assert rep["status"] == "failed" and "interrupted" in rep["message"]
    assert "control row compensated" in rep["message"]
    ctl = job.control()
    assert [(r["batch_sk"], r["kind"]) for r in ctl] == [(0, "init")]
    st = job.status()[0]
    assert st["snapshot_id"] is None and st["committed_high"] is None
    # The next run loads the whole range once.
    report = job.run(progress=False)
    assert report["orders"]["range"] == {"batch_sk_low": 0, "batch_sk_high": 1}
    assert job.table("orders").scan().count() == \
        source_rows(tmp_path / "source.db", "SELECT count(*) FROM orders")[0][0]
    assert [(r["batch_sk"], r["kind"]) for r in job.control()] == [(0, "init"), (1, "load")]


def test_ctrl_c_stops_a_run_cleanly(fresh):
    tmp_path = fresh
    job = floe.Job(job_config(tmp_path))
    seen = []

    def progress(p):
        seen.append(p)
        if len(seen) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C mid-extract

    with pytest.raises(KeyboardInterrupt):
        job.run(progress=progress)
    assert seen[0].table == "orders" and seen[0].rows > 0
    # Python's own SIGINT handler is back in place.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert_compensated_then_recovered(tmp_path, job)


def test_progress_callback_exception_stops_the_run(fresh):
    tmp_path = fresh
    job = floe.Job(job_config(tmp_path))

    def progress(p):
        raise KeyboardInterrupt("stop")

    with pytest.raises(KeyboardInterrupt):
        job.run(progress=progress)
    assert_compensated_then_recovered(tmp_path, job)


def test_interrupt_between_tables_leaves_later_tables_alone(tmp_path):
    add_orders(tmp_path / "source.db", 1, 50_000, 1)
    cfg = job_config(tmp_path)
    cfg["tables"]["orders_copy"] = {"source": "orders", "target": "sales.orders_copy"}
    job = floe.Job(cfg)

    def progress(p):
        if p.table == "orders" and p.bytes > 0:
            # The table's last tick, after its commit (bytes of the files it
            # wrote): the first table stays committed, the second never starts.
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        job.run(progress=progress)
    tables = {t["table"]: t for t in job.last_report.tables}
    assert tables["orders"]["status"] == "ok"
    assert "orders_copy" not in tables
    assert [r["table_name"] for r in job.control()] == ["orders", "orders"]
    report = job.run(progress=False)
    assert report["orders"]["status"] == "nothing_new"
    assert report["orders_copy"]["rows_written"] == 50_000


def test_progress_ticks_count_rows(tmp_path):
    add_orders(tmp_path / "source.db", 1, 100_000, 1)
    ticks = []
    floe.Job(job_config(tmp_path)).run(progress=ticks.append)
    assert ticks and ticks[-1].rows == 100_000 and ticks[-1].table == "orders"
    assert all(a.rows <= b.rows for a, b in zip(ticks, ticks[1:]))
