"""What a night held back or flagged, in words for the run's output (issue 14, items 7 and 9).

Read from the candidate tables after the build: per tenant, the orders flagged in
``marts.orders`` (``invalid_reason``: counted in no status or revenue figure), and the rows
held because no accepted ``tenants`` row declares their tenant (``marts.import_rejects``,
scope ``held``). Both are reported every night until the data is fixed.
"""

from __future__ import annotations

import duckdb


def lines(con: duckdb.DuckDBPyConnection) -> list[str]:
    """One line per tenant with flagged orders and one per undeclared tenant with held rows."""
    flagged = con.execute(
        """
        select tenant_id, sum(n) as n,
               string_agg(reason_count, ', ' order by reason_count) as reasons
        from (
            select tenant_id, count(*) as n,
                   cast(count(*) as varchar) || ' ' || invalid_reason as reason_count
            from marts.orders where invalid_reason is not null
            group by tenant_id, invalid_reason
        ) as per_reason
        group by tenant_id order by tenant_id
        """
    ).fetchall()
    held = con.execute(
        """
        select tenant_id, sum(held_rows) as n,
               string_agg(source_count, ', ' order by source_count) as sources
        from (
            select tenant_id, source || ' ' || cast(sum(held_rows) as varchar) as source_count,
                   sum(held_rows) as held_rows
            from marts.import_rejects where scope = 'held'
            group by tenant_id, source
        ) as per_source
        group by tenant_id order by tenant_id
        """
    ).fetchall()
    out = [
        f"tenant {tenant!r}: {n} order(s) flagged in marts.orders and left out of every "
        f"status and revenue figure ({reasons})"
        for tenant, n, reasons in flagged
    ]
    out += [
        f"tenant {tenant!r} is not declared in tenants: {n} row(s) held, not computed or "
        f"published until a tenants row declares it ({sources}; see marts.import_rejects)"
        for tenant, n, sources in held
    ]
    return out
