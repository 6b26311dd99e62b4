"""Reclassifications stay valid (SPEC §11): audits of the night's candidate account statuses.

Each check reads the candidate tables in the working file (never the published warehouse)
and fails per tenant, with a sample of the offending rows.
"""

from __future__ import annotations

import duckdb

from .results import CheckResult

SAMPLE = 5


def per_tenant(con, name: str, sql: str, ok: str, bad: str, columns: str) -> list[CheckResult]:
    rows = con.execute(sql).fetchall()
    if not rows:
        return [CheckResult(name, True, ok)]
    by_tenant: dict[str, list[tuple]] = {}
    for row in rows:
        by_tenant.setdefault(row[0], []).append(row[1:])
    return [
        CheckResult(
            name, False, f"{len(found)} {bad} ({columns})", tenant_id=tenant, sample=found[:SAMPLE]
        )
        for tenant, found in sorted(by_tenant.items())
    ]


def only_allowed_account_transitions(con: duckdb.DuckDBPyConnection) -> list[CheckResult]:
    return per_tenant(
        con,
        "only_allowed_account_transitions",
        """
        select e.tenant_id, e.customer_id, e.request_id, e.from_status, e.account_status
        from intermediate.int_account_status_events e
        left join rules.account_status_transitions t
            on t.from_status = e.from_status and t.to_status = e.account_status
        where e.outcome = 'applied' and e.step > 0
          and not coalesce(t.is_allowed, false)
          and not (e.from_status = 'deleted' and e.request_kind = 'restore')
          and not (e.request_kind = 'merge' and e.from_status <> 'deleted')
        order by all
        """,
        "every applied account-status change is allowed by SPEC §4",
        "account-status change(s) not allowed",
        "customer, request, from, to",
    )


def nothing_leaves_deleted_but_a_restore(con: duckdb.DuckDBPyConnection) -> list[CheckResult]:
    return per_tenant(
        con,
        "nothing_leaves_deleted_but_a_restore",
        """
        select e.tenant_id, e.customer_id, e.request_id, e.request_kind, e.account_status
        from intermediate.int_account_status_events e
        left join staging.stg_landing__tenants t on t.tenant_id = e.tenant_id
        where e.outcome = 'applied' and e.from_status = 'deleted' and e.account_status <> 'deleted'
          and not (e.request_kind = 'restore' and coalesce(t.deleted_can_be_restored, false))
        order by all
        """,
        "no customer leaves deleted except by an allowed restore",
        "customer(s) left deleted without an allowed restore",
        "customer, request, kind, to",
    )


def every_change_has_reason_and_actor(con: duckdb.DuckDBPyConnection) -> list[CheckResult]:
    return per_tenant(
        con,
        "every_change_has_reason_and_actor",
        """
        select tenant_id, customer_id, valid_from, account_status,
               account_status_reason, account_status_updated_by
        from marts.account_status_history
        where nullif(trim(account_status_reason), '') is null
           or nullif(trim(account_status_updated_by), '') is null
        order by all
        """,
        "every account-status change has a reason and an actor",
        "account-status change(s) without a reason or an actor",
        "customer, from, status, reason, actor",
    )


CHECKS = (
    only_allowed_account_transitions,
    nothing_leaves_deleted_but_a_restore,
    every_change_has_reason_and_actor,
)
