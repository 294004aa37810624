"""Shared fixtures of the Python package tests: a SQLite source with a
batch_sk column (made with the standard library's sqlite3, read back as the
oracle), and a job over it into a SQL catalog in the test's own folder."""
import sqlite3

import pytest


def add_orders(db_path, first_id, n, batch_sk):
    """Appends n orders with ids first_id.. stamped with batch_sk."""
    db = sqlite3.connect(db_path)
    db.execute("CREATE TABLE IF NOT EXISTS orders (order_id INTEGER PRIMARY KEY,"
               " customer_id INTEGER NOT NULL, amount DECIMAL(10,2) NOT NULL,"
               " order_ts TIMESTAMP NOT NULL, status TEXT, batch_sk INTEGER NOT NULL)")
    db.execute(
        "WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
        " INSERT INTO orders SELECT i, i % 7, printf('%d.%02d', i % 500, i % 100),"
        " datetime('2024-01-01', '+' || (i % 3) || ' days', '+' || (i % 3600) || ' seconds'),"
        " CASE i % 3 WHEN 0 THEN 'new' WHEN 1 THEN 'paid' ELSE NULL END, ? FROM n",
        (first_id, first_id + n - 1, batch_sk))
    db.commit()
    db.close()


def source_rows(db_path, sql, args=()):
    db = sqlite3.connect(db_path)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def job_config(tmp_path, **table):
    return {
        "version": 1,
        "source": {"type": "sqlite", "path": str(tmp_path / "source.db")},
        "target": {"warehouse": str(tmp_path / "warehouse"),
                   "catalog": {"type": "sql", "uri": f"sqlite:{tmp_path / 'catalog.db'}"},
                   "namespace": "sales"},
        "run": {"durability": "none"},
        "tables": {"orders": table or {"partition_by": ["day(order_ts)"]}},
    }


@pytest.fixture
def source(tmp_path):
    """source.db with 1,000 orders in batches 1 and 2."""
    path = tmp_path / "source.db"
    add_orders(path, 1, 600, 1)
    add_orders(path, 601, 400, 2)
    return path
