"""Benchmark of the account-status fold (`int_account_status_events`, a recursive CTE).

Builds a synthetic raw layer straight into a fresh working DuckDB file (no landing files,
no ingestion: `insert ... select ... from range(n)` with hash-based, deterministic
pseudo-randomness), then runs dbt the way `customer_status.pipeline.build` does, and
reports wall times, dbt's per-model times, the recursion depth, outcome counts and peak
memory.

    /work/main/.venv/bin/python benchmarks/account_status_fold.py \
        --customers 1000000 --actions 1000000 [--workdir DIR] [--repeat 3] [--profile]

Run it under `/usr/bin/time -v` for the peak RSS of the whole script; the peak RSS of each
dbt child process is measured here with `os.wait4`.

Data shape (all deterministic; see `generate`):

- tenants t1 (no restore, no internal domains), t2 (`deleted_can_be_restored`),
  t3 (`internal_email_domains` = "acme-internal.com; staff.acme.com"); customers 50/30/20 %;
- customers: ~3 % of t3 on an internal domain (plus a non-internal sub-domain), ~1 %
  self-deleted, ~0.5 % merged (into the customer 10 ids further on, same tenant), plus
  forced chains (A -> B -> C), 2-cycles, self-merges and merges into unknown customers;
  ~2 % of customers have an older version row (latest_version dedup);
- status actions: the customer of each action is drawn from three tiers: uniform over all
  customers (most customers get 0-2 actions), "frequent" customers (1 in 1000 customers,
  `--frequent-share` of the actions, ~50 each at M = N) and 10 "heavy" customers
  (`--heavy-share` of the actions, ~100 each at M = N = 1M). The longest history (the
  recursion depth) is therefore set by the heavy tier.
  70 % set_status (labels incl. labels unknown to the tenant, every predefined status incl.
  invalid transitions, an unknown status, a missing status), 4 % restore, 26 %
  activate/deactivate; ~0.5 % missing reason, ~0.3 % missing actor, ~0.2 % unknown
  customer, ~0.2 % before the customer's creation, 15 % bulk (timestamps truncated to the
  hour: ties), ~0.5 % identical re-deliveries (a later `_load_id`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import duckdb

from customer_status.ingest.loader import ensure_raw_schema
from customer_status.pipeline.build import dbt_command, dbt_env, dbt_folder
from customer_status.settings import resolve_paths

AS_OF = "2026-11-01"
FOLD = "int_account_status_events"
COMPILED = Path("compiled/customer_status/models/intermediate/account_status") / f"{FOLD}.sql"

LABELS = {
    "t1": [
        ("regular", "active"),
        ("trending", "active"),
        ("vip", "active"),
        ("on_hold", "suspended"),
    ],
    "t2": [
        ("regular", "active"),
        ("trending", "active"),
        ("vip", "active"),
        ("on_hold", "suspended"),
        ("founding_member", "active"),
    ],
    "t3": [
        ("regular", "active"),
        ("trending", "active"),
        ("vip", "active"),
        ("on_hold", "suspended"),
        ("watchlist", "fraud_suspected"),
    ],
}


# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------
def generate(con: duckdb.DuckDBPyConnection, n: int, m: int, frequent: float, heavy: float) -> None:
    if n < 100_000:
        raise SystemExit("--customers must be at least 100000 (tiers and forced merges use it)")
    con.execute("set TimeZone = 'UTC'")
    ensure_raw_schema(con)
    # u(x, salt): uniform [0, 1) from a hash; cid(i): customer id; created_of(i): creation
    # instant, uniform over 2023-01-01 .. 2026-10-01 (1369 days).
    con.execute(f"""
        create or replace temp macro u(x, s) as (hash(x, s) % 1000003) / 1000003.0;
        create or replace temp macro cid(i) as 'c' || lpad(cast(i as varchar), 8, '0');
        create or replace temp macro tenant_of(i) as
            case when i % 10 < 5 then 't1' when i % 10 < 8 then 't2' else 't3' end;
        create or replace temp macro created_of(i) as
            timestamp '2023-01-01'
            + to_microseconds(cast(u(i, 'created') * 1369 * 86400e6 as bigint));
        create or replace temp macro before_as_of(t, x, s) as
            t + to_microseconds(cast(
                u(x, s) * (epoch_us(timestamp '{AS_OF}') - epoch_us(t) - 1) as bigint));
    """)

    con.execute("""
        insert into raw.tenants by name
        select *, timestamp '2023-01-01' as updated_at, 'tenants/tenants.csv' as _source_file,
               1 as _load_id
        from (values
            ('t1', 'Northwind Outfitters', 'UTC', 60, 'purchase', 'active_customers', false,
             false, false, null::bigint, null::varchar, 0.25, 0.1, 1),
            ('t2', 'Pacific Coffee Club', 'America/Los_Angeles', 90, 'any_engagement',
             'subscribers', true, true, false, 180, null, 0.25, 0.1, 2),
            ('t3', 'Chai & Co', 'Asia/Kolkata', 30, 'purchase', 'active_customers', false,
             false, true, null, 'acme-internal.com; staff.acme.com', 0.3, 0.1, 3)
        ) as t(tenant_id, name, timezone, activity_window_days, reactivation_trigger,
               billing_basis, send_to_accept_marketing_only, deleted_can_be_restored,
               suspended_blocks_redemption, sunset_after_days, internal_email_domains,
               max_billable_swing, max_reject_ratio, _row_number)
    """)

    label_rows = [
        (t, lab, st, f"status_labels/{t}.csv", k + 1)
        for t, ls in LABELS.items()
        for k, (lab, st) in enumerate(ls)
    ]
    con.executemany(
        "insert into raw.status_labels (tenant_id, label, status, _source_file, _row_number,"
        " _load_id) values (?, ?, ?, ?, ?, 1)",
        label_rows,
    )

    # merges: ~0.5 % into i+10 (same tenant: tenant is i % 10), and per 50k block a chain
    # 17 -> 27 -> 37, a 2-cycle 99 <-> 109; per 250k block a self-merge (3) and a merge into
    # an unknown customer (5).
    con.execute(f"""
        insert into raw.customers by name
        with base as (
            select
                i,
                tenant_of(i) as tenant_id,
                cid(i) as customer_id,
                created_of(i) as created_at,
                u(i, 'dom') as ud,
                case
                    when i % 50000 in (17, 27) then cid(i + 10)
                    when i % 50000 = 99 then cid(i + 10)
                    when i % 50000 = 109 then cid(i - 10)
                    when i % 250000 = 3 then cid(i)
                    when i % 250000 = 5 then 'c_unknown'
                    when u(i, 'merge') < 0.005 then cid(case when i + 10 < {n} then i + 10
                                                       else i - 10 end)
                end as merged_into
            from range({n}) as r(i)
        ),
        current as (
            select
                tenant_id,
                customer_id,
                'K-' || i as code,
                'user' || i || '@' || case
                    when tenant_id = 't3' and ud < 0.02 then 'staff.acme.com'
                    when tenant_id = 't3' and ud < 0.03 then 'acme-internal.com'
                    when tenant_id = 't3' and ud < 0.035 then 'eu.staff.acme.com'
                    when tenant_id = 't1' and ud < 0.01 then 'staff.acme.com'
                    else ['gmail.com', 'yahoo.com', 'outlook.com', 'shop.com'][
                        1 + cast(floor(u(i, 'dom2') * 4) as int)]
                end as email,
                '+1555' || lpad(cast(i % 10000000 as varchar), 7, '0') as phone,
                'Customer ' || i as full_name,
                u(i, 'mkt') < 0.6 as accepts_marketing,
                created_at,
                case when u(i, 'del') < 0.01 then before_as_of(created_at, i, 'delt') end
                    as deleted_at,
                merged_into,
                case when merged_into is not null then before_as_of(created_at, i, 'mt') end
                    as merged_at,
                'customers/' || tenant_id || '/customers-' || (i // 100000) || '.csv'
                    as _source_file,
                i % 100000 + 1 as _row_number,
                2 + i // 100000 as _load_id,
                i
            from base
        )
        select * exclude (i), greatest(created_at, deleted_at, merged_at) as updated_at
        from current
        union all by name
        -- an older version of ~2 % of the customers (different email, earlier updated_at)
        select
            tenant_id, customer_id, code, 'old' || email as email, phone, full_name,
            accepts_marketing, created_at, _source_file, _row_number, 1 as _load_id,
            created_at - interval 1 second as updated_at
        from current
        where u(i, 'ver') < 0.02
    """)

    # status actions
    h_lo = heavy
    f_lo = heavy + frequent
    con.execute(f"""
        insert into raw.status_actions by name
        with picked as (
            select
                a,
                case
                    when u(a, 'tier') < {h_lo}
                        then (hash(a, 'c') % 10) * ({n} // 10) + 13
                    when u(a, 'tier') < {f_lo}
                        then (hash(a, 'c') % ({n} // 1000)) * 1000 + 7
                    else hash(a, 'c') % {n}
                end::bigint as ci,
                u(a, 'kind') as uk,
                u(a, 'status') as us,
                u(a, 'src') as usrc
            from range({m}) as r(a)
        ),
        actions as (
            select
                a,
                tenant_of(ci) as tenant_id,
                'a' || lpad(cast(a as varchar), 9, '0') as action_id,
                case when u(a, 'unk') < 0.002 then 'x' || a else cid(ci) end as customer_id,
                case
                    when uk < 0.70 then 'set_status'
                    when uk < 0.74 then 'restore'
                    when uk < 0.87 then 'deactivate'
                    else 'activate'
                end as action,
                case
                    when uk >= 0.70 then null
                    when us < 0.30 then ['regular', 'trending', 'vip', 'on_hold', 'watchlist',
                                         'founding_member'][1 + cast(floor(u(a, 'lab') * 6) as int)]
                    when us < 0.50 then 'active'
                    when us < 0.64 then 'suspended'
                    when us < 0.72 then 'fraud_suspected'
                    when us < 0.77 then 'fraud_confirmed'
                    when us < 0.82 then 'archived'
                    when us < 0.85 then 'internal'
                    when us < 0.855 then 'deleted'
                    when us < 0.865 then 'platinum'
                    when us < 0.87 then null
                    else 'active'
                end as status,
                case
                    when u(a, 'rsn') < 0.005 then null
                    when u(a, 'rsn') < 0.007 then '  '
                    else ['customer request', 'payment dispute opened', 'identity verified',
                          'velocity rule R12 triggered', 'segment refresh'][
                          1 + cast(floor(u(a, 'rsn2') * 5) as int)]
                end as reason,
                case
                    when u(a, 'act') < 0.003 then null
                    else ['staff:alice', 'staff:bob', 'api:risk-engine', 'bulk:ops'][
                          1 + cast(floor(u(a, 'act2') * 4) as int)]
                end as actor,
                case when usrc < 0.15 then 'bulk' when usrc < 0.6 then 'ui' else 'api' end
                    as source,
                case
                    when u(a, 'early') < 0.002
                        then created_of(ci) - to_microseconds(
                            cast(u(a, 'early2') * 86400e6 * 30 as bigint) + 1)
                    when usrc < 0.15
                        then date_trunc('hour', before_as_of(created_of(ci), a, 't'))
                    else before_as_of(created_of(ci), a, 't')
                end as requested_at
            from picked
        ),
        rows as (
            select
                * exclude (a),
                'status_actions/' || tenant_id || '/actions-' || (a // 100000) || '.csv'
                    as _source_file,
                a % 100000 + 1 as _row_number,
                100 + a // 100000 as _load_id,
                a
            from actions
        )
        select * exclude (a) from rows
        union all by name
        -- identical re-deliveries of ~0.5 % (a later load of the same rows)
        select * exclude (a, _load_id), 1000 + a // 100000 as _load_id
        from rows where u(a, 'dup') < 0.005
    """)


# --------------------------------------------------------------------------------------
# dbt
# --------------------------------------------------------------------------------------
def run_dbt(paths, args: list[str], log_file: Path) -> dict:
    cmd = dbt_command(paths, *args)
    started = time.monotonic()
    with open(log_file, "w") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env=dbt_env(paths),
            cwd=dbt_folder(paths),
        )
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    results_path = paths.dbt_target / "target" / "run_results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {"results": []}
    shutil.copy(results_path, log_file.with_suffix(".run_results.json"))
    nodes = {}
    for r in results["results"]:
        ex = next((t for t in r.get("timing", []) if t["name"] == "execute"), None)
        nodes[r["unique_id"]] = {
            "status": r["status"],
            "execution_time": r["execution_time"],
            "execute": _span(ex),
        }
    return {
        "cmd": cmd,
        "returncode": proc.returncode,
        "wall_s": wall,
        "dbt_elapsed_s": results.get("elapsed_time"),
        "child_maxrss_mib": usage.ru_maxrss / 1024,
        "child_user_s": usage.ru_utime,
        "child_sys_s": usage.ru_stime,
        "nodes": nodes,
        "failed": [k for k, v in nodes.items() if v["status"] in ("error", "fail")],
    }


def _span(t: dict | None) -> float | None:
    if not t or not t.get("started_at") or not t.get("completed_at"):
        return None
    f = "%Y-%m-%dT%H:%M:%S.%fZ"
    return (
        datetime.strptime(t["completed_at"], f) - datetime.strptime(t["started_at"], f)
    ).total_seconds()


# --------------------------------------------------------------------------------------
# facts about the result
# --------------------------------------------------------------------------------------
FACT_QUERIES = {
    "raw_rows": """
        select 'tenants' t, count(*) n from raw.tenants union all
        select 'customers', count(*) from raw.customers union all
        select 'status_actions', count(*) from raw.status_actions union all
        select 'status_labels', count(*) from raw.status_labels""",
    "requests_by_kind_and_error": """
        select request_kind,
               coalesce(regexp_replace(request_error, '^(unknown customer|merge cycle|merged into '
                        || 'unknown customer|unknown status or label) .*$', '\\1 …'), '(ok)')
                   as request_error,
               count(*) n
        from main.int_account_status_requests group by all order by 1, 3 desc""",
    "fold_rows_by_outcome": """
        select outcome, count(*) n from main.int_account_status_events group by all order by 2 desc""",
    "fold_rows_by_kind_and_outcome": """
        select request_kind, outcome, count(*) n from main.int_account_status_events
        group by all order by 1, 2""",
    "rejection_reasons": """
        select regexp_replace(rejection_reason, '\\(status is [a-z_]+\\)|from [a-z_]+ to [a-z_]+',
               '…') as reason, count(*) n
        from main.int_account_status_events where outcome = 'rejected' group by all order by 2 desc""",
    "recursion_depth": """
        select max(step) as max_step_in_fold,
               (select max(c) from (select count(*) c from main.int_account_status_requests
                where request_error is null group by tenant_id, customer_id)) as longest_history
        from main.int_account_status_events""",
    "history_length_histogram": """
        with h as (
            select c.tenant_id, c.customer_id, count(r.request_id) as n
            from staging.stg_landing__customers c
            left join main.int_account_status_requests r
              on r.tenant_id = c.tenant_id and r.customer_id = c.customer_id
             and r.request_error is null
            group by all)
        select case when n <= 2 then n::varchar when n <= 5 then '3-5' when n <= 10 then '6-10'
                    when n <= 20 then '11-20' when n <= 50 then '21-50'
                    when n <= 100 then '51-100' else '>100' end as requests_per_customer,
               count(*) customers, min(n) lo
        from h group by 1 order by lo""",
    "fold_rows_per_step": """
        select step, count(*) n from main.int_account_status_events
        where step in (0, 1, 2, 3, 5, 10, 20, 50, 100) or step = (select max(step)
        from main.int_account_status_events) group by all order by 1""",
    "final_status": """
        select account_status, count(*) n from (
            select account_status, row_number() over (partition by tenant_id, customer_id
                   order by step desc) as rn from main.int_account_status_events) where rn = 1
        group by all order by 2 desc""",
    "initial_status_by_domain": """
        select c.tenant_id, c.email_domain, e.account_status, count(*) n
        from main.int_account_status_events e join staging.stg_landing__customers c using
             (tenant_id, customer_id)
        where e.step = 0 and c.email_domain like '%acme%' group by all order by all""",
    "merges": """
        select coalesce(regexp_replace(merge_problem, 'c[0-9]+|c_unknown', '…', 'g'), '(ok)')
               as merge_problem, count(*) n
        from main.int_customer_merges_resolved group by 1 order by 2 desc""",
    "merge_outcomes": """
        select outcome, from_status, count(*) n from main.int_account_status_events
        where request_kind = 'merge' group by all order by 3 desc""",
    # a merge that lands on an already-archived customer is `no_change`, so
    # archived_by_merge stays false and a later set_status active / restore applies
    "anomaly_merged_then_reactivated": """
        with m as (
            select tenant_id, customer_id, step as merge_step, outcome as merge_outcome
            from main.int_account_status_events where request_kind = 'merge')
        select m.merge_outcome, count(distinct (e.tenant_id, e.customer_id)) customers,
               count(*) later_applied_reactivations
        from main.int_account_status_events e join m using (tenant_id, customer_id)
        where e.step > m.merge_step and e.outcome = 'applied' and e.account_status = 'active'
        group by all""",
    "anomaly_merged_no_change_flag": """
        select count(*) filter (where outcome = 'no_change') as merges_no_change,
               count(*) filter (where outcome = 'no_change' and not archived_by_merge)
                   as merges_no_change_not_flagged
        from main.int_account_status_events where request_kind = 'merge'""",
    # self-deletions / merges are not checked against created_at (staff actions are)
    "anomaly_requests_before_creation": """
        select r.request_kind, count(*) n
        from main.int_account_status_requests r join staging.stg_landing__customers c
          using (tenant_id, customer_id)
        where r.request_error is null and r.requested_at < c.created_at group by all""",
    "status_action_outcomes": """
        select action, outcome, count(*) n from marts.status_action_outcomes group by all
        order by 1, 2""",
}


def facts(work_db: Path, full: bool) -> dict:
    out = {}
    con = duckdb.connect(str(work_db), read_only=True)
    try:
        # the queries say main./staging./marts.<model>; the project decides the schemas
        where = dict(
            con.execute(
                "select table_name, schema_name from duckdb_tables() where schema_name <> 'raw'"
            ).fetchall()
        )

        def located(sql: str) -> str:
            return re.sub(
                r"\b(?:main|staging|marts)\.(\w+)",
                lambda m: f"{where.get(m.group(1), 'main')}.{m.group(1)}",
                sql,
            )

        out["schemas"] = where
        for name, sql in FACT_QUERIES.items():
            if name == "status_action_outcomes" and not full:
                continue
            try:
                cur = con.execute(located(sql))
                cols = [d[0] for d in cur.description]
                out[name] = {
                    "columns": cols,
                    "rows": [list(map(_plain, r)) for r in cur.fetchall()],
                }
            except duckdb.Error as e:  # a model missing (e.g. not built)
                out[name] = {"error": str(e).splitlines()[0]}
        out["db_size_mib"] = work_db.stat().st_size / 2**20
    finally:
        con.close()
    return out


def _plain(v):
    return v if isinstance(v, (int, float, str, type(None), bool)) else str(v)


# --------------------------------------------------------------------------------------
# profiling the fold's compiled SQL on the built database
# --------------------------------------------------------------------------------------
def variants(sql: str) -> dict[str, str]:
    """The compiled model and rewrites of it (same result) to time side by side."""
    if "int_account_status_requests_ordered" in sql:
        raise RuntimeError(
            "the fold already reads the numbered requests table (fix B is in): --profile "
            "compares rewrites of the earlier model shape; see account_status_fold.md"
        )
    if "ordered_requests as (" not in sql:
        raise RuntimeError("compiled SQL changed shape: no `ordered_requests as (`")
    out = {"as_is": sql}
    # 1. compute the step numbers once (DuckDB inlines a CTE referenced once, so the window
    #    and the scan of the requests table run again in every recursion step)
    out["materialized_ordered_requests"] = sql.replace(
        "ordered_requests as (", "ordered_requests as materialized (", 1
    )
    # 2. the portable form of 1: the numbered requests as their own table (a dbt model),
    #    simulated with a temp table built first (its build time is added to the total)
    out["ordered_requests_table"] = "__TABLE__ order by step"
    out["ordered_requests_table_unsorted"] = "__TABLE__"
    return out


def _ordered_requests_sql(sql: str) -> str:
    """The body of the `ordered_requests` CTE with its `requests` CTE inlined."""
    m = re.search(r"requests as \((.*?)\n\),", sql, re.S)
    o = re.search(r"ordered_requests as \((.*?)\n\),", sql, re.S)
    assert m and o
    return "with requests as (" + m.group(1) + "\n)\n" + o.group(1)


def _with_table(sql: str, table: str) -> str:
    start = sql.index("ordered_requests as (")
    end = sql.index("\n),", start) + 3
    return sql[:start] + f"ordered_requests as (select * from {table})," + sql[end:]


def profile(paths, out_dir: Path, repeat: int, only: tuple[str, ...] = ()) -> dict:
    compiled = paths.dbt_target / "target" / COMPILED
    sql = compiled.read_text()
    res: dict = {"compiled": str(compiled)}
    work_copy = out_dir / "profile_copy.duckdb"
    shutil.copy(paths.work_db, work_copy)  # never touch the built DB
    # the compiled SQL names the database `work`: attach the copy under that name
    con = duckdb.connect(":memory:")
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"attach '{work_copy}' as work")
    con.execute("use work")
    try:
        if not only or "as_is" in only:
            plan = con.execute("explain analyze " + sql).fetchall()
            (out_dir / "explain_analyze_as_is.txt").write_text("\n".join(r[1] for r in plan))
        timings: dict[str, list[float]] = {}
        checks: dict[str, str] = {}
        for name, v in variants(sql).items():
            if only and name not in only:
                continue
            for _ in range(repeat):
                t0 = time.monotonic()
                if v.startswith("__TABLE__"):
                    con.execute(
                        "create or replace temp table bench_ordered_requests as "
                        + _ordered_requests_sql(sql)
                        + v.removeprefix("__TABLE__")
                    )
                    q = _with_table(sql, "bench_ordered_requests")
                else:
                    q = v
                con.execute(f"create or replace temp table bench_out as {q}")
                timings.setdefault(name, []).append(time.monotonic() - t0)
            checks[name] = con.execute(
                "select count(*) || ' rows, checksum ' || sum(hash(tenant_id, customer_id, step,"
                " outcome, account_status, status_label, archived_by_merge)) from bench_out"
            ).fetchone()[0]
            if name != "as_is":
                plan = con.execute("explain analyze " + q).fetchall()
                (out_dir / f"explain_analyze_{name}.txt").write_text("\n".join(r[1] for r in plan))
        res["timings_s"] = timings
        res["checks"] = checks
    finally:
        con.close()
        work_copy.unlink(missing_ok=True)
    return res


# --------------------------------------------------------------------------------------
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--actions", type=int, default=1_000_000)
    p.add_argument("--workdir", type=Path, help="default: a new folder under $TMPDIR")
    p.add_argument("--frequent-share", type=float, default=0.05)
    p.add_argument("--heavy-share", type=float, default=0.001)
    p.add_argument("--repeat", type=int, default=3, help="dbt builds of each kind (default 3)")
    p.add_argument("--skip-full", action="store_true", help="only the +fold selection")
    p.add_argument("--profile", action="store_true", help="EXPLAIN ANALYZE the fold + rewrites")
    p.add_argument("--profile-repeat", type=int, default=2)
    p.add_argument("--variants", default="", help="comma-separated subset of the rewrites")
    p.add_argument(
        "--profile-only",
        action="store_true",
        help="only profile, on the database an earlier run left in --workdir",
    )
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    args = p.parse_args()
    only = tuple(v for v in args.variants.split(",") if v)

    if args.profile_only:
        if not args.workdir:
            raise SystemExit("--profile-only needs the --workdir of an earlier run")
        workdir = args.workdir.resolve()
        paths = resolve_paths(
            landing=workdir / "landing",
            warehouse=workdir / "warehouse.duckdb",
            work_dir=workdir / "warehouse.work",
        )
        res = profile(paths, workdir / "bench", args.profile_repeat, only)
        print(json.dumps(res, indent=1))
        return

    started = time.monotonic()
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="fold-bench-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    paths = resolve_paths(
        landing=workdir / "landing",
        warehouse=workdir / "warehouse.duckdb",
        work_dir=workdir / "warehouse.work",
    )
    if paths.work_dir.exists():
        shutil.rmtree(paths.work_dir)
    paths.work_dir.mkdir(parents=True)
    (paths.landing).mkdir(exist_ok=True)
    out_dir = workdir / "bench"
    out_dir.mkdir(exist_ok=True)

    report: dict = {
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
        },
        "work_db": str(paths.work_db),
        "git": _git(paths.dbt_project.parent),
    }

    t0 = time.monotonic()
    con = duckdb.connect(str(paths.work_db))
    try:
        generate(con, args.customers, args.actions, args.frequent_share, args.heavy_share)
        con.execute("checkpoint")
    finally:
        con.close()
    report["generate_s"] = time.monotonic() - t0
    print(f"generated raw data in {report['generate_s']:.1f}s -> {paths.work_db}", flush=True)

    vars_arg = json.dumps({"as_of_date": AS_OF})
    builds = {
        "fold": [
            "build",
            "--select",
            f"+{FOLD}",
            "--exclude-resource-type",
            "unit_test",
            "--vars",
            vars_arg,
        ]
    }
    if not args.skip_full:
        builds["full"] = ["build", "--exclude-resource-type", "unit_test", "--vars", vars_arg]
    report["builds"] = {}
    for kind, dbt_args in builds.items():
        runs = []
        for k in range(args.repeat):
            r = run_dbt(paths, dbt_args, out_dir / f"dbt_{kind}_{k}.log")
            fold = r["nodes"].get(f"model.customer_status.{FOLD}", {})
            print(
                f"dbt build [{kind} #{k + 1}] rc={r['returncode']} wall={r['wall_s']:.1f}s "
                f"fold={fold.get('execution_time', float('nan')):.1f}s "
                f"child_maxrss={r['child_maxrss_mib']:.0f}MiB failed={r['failed']}",
                flush=True,
            )
            runs.append(r)
        report["builds"][kind] = {"runs": runs, "summary": _summary(runs)}

    report["facts"] = facts(paths.work_db, full=not args.skip_full)
    if args.profile:
        report["profile"] = profile(paths, out_dir, args.profile_repeat, only)
        print("profile:", json.dumps(report["profile"]["timings_s"]), flush=True)

    ru_self = resource.getrusage(resource.RUSAGE_SELF)
    ru_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    report["script"] = {
        "wall_s": time.monotonic() - started,
        "self_maxrss_mib": ru_self.ru_maxrss / 1024,
        "children_maxrss_mib": ru_children.ru_maxrss / 1024,
    }
    (out_dir / "report.json").write_text(json.dumps(report, indent=1, default=str))
    print(render(report))
    if not args.keep and args.workdir is None:
        shutil.rmtree(workdir)  # a temp folder of our own: 1M/1M is ~0.5 GiB
        print(f"\n{workdir} removed (--keep or --workdir keep it)")
    else:
        print(f"\nfull report: {out_dir / 'report.json'}")
    failed = [f for b in report["builds"].values() for r in b["runs"] for f in r["failed"]]
    bad_rc = [
        r["returncode"] for b in report["builds"].values() for r in b["runs"] if r["returncode"]
    ]
    sys.exit(1 if bad_rc and not failed else 0 if not bad_rc else 2)


def _summary(runs: list[dict]) -> dict:
    def stats(xs):
        xs = [x for x in xs if x is not None]
        return {"best": min(xs), "median": statistics.median(xs), "all": xs} if xs else None

    nodes = sorted({n for r in runs for n in r["nodes"]})
    return {
        "wall_s": stats([r["wall_s"] for r in runs]),
        "dbt_elapsed_s": stats([r["dbt_elapsed_s"] for r in runs]),
        "child_maxrss_mib": stats([r["child_maxrss_mib"] for r in runs]),
        "nodes": {
            n: stats([r["nodes"].get(n, {}).get("execution_time") for r in runs]) for n in nodes
        },
    }


def _git(root: Path) -> dict:
    def git(*a):
        try:
            return subprocess.run(
                ["git", "-C", str(root), *a], capture_output=True, text=True, timeout=30
            ).stdout.strip()
        except Exception as e:  # noqa: BLE001
            return f"({e})"

    return {"head": git("rev-parse", "--short", "HEAD"), "status": git("status", "--short")}


def render(report: dict) -> str:
    lines = [
        f"customers={report['args']['customers']} actions={report['args']['actions']} "
        f"generate={report['generate_s']:.1f}s git={report['git']['head']}"
    ]
    for kind, b in report["builds"].items():
        s = b["summary"]
        lines.append(
            f"\n[{kind}] wall best {s['wall_s']['best']:.1f}s median "
            f"{s['wall_s']['median']:.1f}s; dbt child peak RSS "
            f"{s['child_maxrss_mib']['best']:.0f}-{max(s['child_maxrss_mib']['all']):.0f} MiB"
        )
        models = {n: v for n, v in s["nodes"].items() if v and not n.startswith("test.")}
        tests = [v for n, v in s["nodes"].items() if v and n.startswith("test.")]
        for n, v in sorted(models.items(), key=lambda kv: -kv[1]["median"]):
            lines.append(
                f"  {n.split('.')[-1]:<40} best {v['best']:7.2f}s  median {v['median']:7.2f}s"
            )
        if tests:
            lines.append(
                f"  {f'({len(tests)} data tests, sum)':<40} best "
                f"{sum(v['best'] for v in tests):7.2f}s  median "
                f"{sum(v['median'] for v in tests):7.2f}s"
            )
    for name in ("recursion_depth", "fold_rows_by_outcome", "history_length_histogram"):
        f = report["facts"].get(name, {})
        lines.append(f"\n{name}: {f.get('columns')}")
        for r in f.get("rows", []):
            lines.append(f"  {r}")
    lines.append(f"\nscript: {json.dumps(report['script'])}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
