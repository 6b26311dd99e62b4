"""The run's output names, per tenant, the orders flagged and the rows held (issue 14, items
7 and 9): ``customer_status.pipeline.night_report`` over candidate tables."""

from __future__ import annotations

import duckdb

from customer_status.pipeline import night_report


def _candidate_tables() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        "create table marts.orders as select * from (values "
        "('t1', 'o1', null), ('t1', 'o2', 'unknown customer'), ('t1', 'o3', 'unknown customer'), "
        "('t1', 'o4', 'paid before it was created'), ('t2', 'o5', 'refunded before it was paid'), "
        "('t3', 'o6', null)) as v(tenant_id, order_id, invalid_reason)"
    )
    con.execute(
        "create table marts.import_rejects as select * from (values "
        "('customers', 'customers/a.csv', 'tUNK', 'held', 2), "
        "('customers', 'customers/b.csv', 'tUNK', 'held', 1), "
        "('orders', 'orders/a.csv', 'tUNK', 'held', 4), "
        "('customers', 'customers/a.csv', 't1', 'row', null)) "
        "as v(source, file, tenant_id, scope, held_rows)"
    )
    return con


def test_a_line_per_tenant_with_flagged_orders_and_per_held_tenant():
    assert night_report.lines(_candidate_tables()) == [
        "tenant 't1': 3 order(s) flagged in marts.orders and left out of every status and "
        "revenue figure (1 paid before it was created, 2 unknown customer)",
        "tenant 't2': 1 order(s) flagged in marts.orders and left out of every status and "
        "revenue figure (1 refunded before it was paid)",
        "tenant 'tUNK' is not declared in tenants: 7 row(s) held, not computed or published "
        "until a tenants row declares it (customers 3, orders 4; see marts.import_rejects)",
    ]


def test_nothing_to_say_on_a_clean_night():
    con = _candidate_tables()
    con.execute("delete from marts.orders where invalid_reason is not null")
    con.execute("delete from marts.import_rejects where scope = 'held'")
    assert night_report.lines(con) == []
