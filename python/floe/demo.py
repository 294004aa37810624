"""The embedded demo source: a SQLite database with the shape of the job
``floe demo`` runs (orders partitioned by day and bucketed by customer,
customers upserted on their key), for notebooks and tutorials. Made with
the standard library's sqlite3; each call to :func:`add_batch` stamps new
and changed rows with the next ``batch_sk``, as a warehouse load would.
"""
import sqlite3
from os import PathLike
from typing import Union

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS orders ("
    " order_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL,"
    " order_ts TIMESTAMP NOT NULL, amount DECIMAL(10,2) NOT NULL,"
    " status TEXT, batch_sk INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS customers ("
    " customer_id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT,"
    " signup_date DATE, vip BOOLEAN NOT NULL, batch_sk INTEGER NOT NULL)",
]

ORDERS_PER_BATCH = 1200


def add_batch(path: Union[str, "PathLike[str]"]) -> int:
    """Adds the next batch to the demo source at ``path`` (created when
    missing) and returns its batch_sk. Batch 1: 1,200 orders over three
    days and 40 customers. Every later batch: 1,200 orders on the next
    days, five existing customers changed and three new ones."""
    db = sqlite3.connect(path)
    try:
        for sql in _SCHEMA:
            db.execute(sql)
        batch = db.execute("SELECT coalesce(max(batch_sk), 0) + 1 FROM orders").fetchone()[0]
        first = (batch - 1) * ORDERS_PER_BATCH + 1
        last = batch * ORDERS_PER_BATCH
        n_customers = 40 + 3 * (batch - 1)
        db.execute(
            "WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            " INSERT INTO orders SELECT i, 1 + (i * 7) % ?,"
            " datetime('2024-01-01', '+' || ((? - 1) * 3 + i % 3) || ' days',"
            "          '+' || (i * 37 % 86400) || ' seconds'),"
            " printf('%d.%02d', 5 + i * 13 % 500, i % 100),"
            " CASE i % 3 WHEN 0 THEN 'new' WHEN 1 THEN 'paid' ELSE 'shipped' END, ? FROM n",
            (first, last, n_customers, batch, batch))
        if batch == 1:
            db.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)"
                " INSERT INTO customers SELECT i, 'customer ' || i, 'c' || i || '@example.com',"
                " date('2023-01-01', '+' || (i * 9) || ' days'), i % 5 = 0, 1 FROM n")
        else:
            db.execute("UPDATE customers SET email = 'new' || ? || '.' || email, batch_sk = ?"
                       " WHERE customer_id IN (SELECT customer_id FROM customers"
                       " ORDER BY customer_id LIMIT 5 OFFSET ?)",
                       (batch, batch, (batch * 5) % 35))
            db.execute(
                "WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
                " INSERT INTO customers SELECT i, 'customer ' || i, 'c' || i || '@example.com',"
                " date('2024-01-01', '+' || i || ' days'), 0, ? FROM n",
                (n_customers - 2, n_customers, batch))
        db.commit()
        return batch
    finally:
        db.close()
