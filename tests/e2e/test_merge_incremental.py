"""Point-in-time merges on incremental nights (issue 14 item 3): a night that recomputes only
the touched customers (``int_customers_touched``) publishes what a rebuild publishes, when
the rows that land change who holds a merged customer's history.

Tenant ``t1`` (UTC, window 3 days). Night 1 (as of 2026-03-30) lands:

- ``customers/night-1.csv``: ``a`` merged into ``b`` on 03-10, ``b`` into ``c`` on 03-15,
  ``c`` into ``d`` on 03-20 (so ``a``'s history counts for ``b``, then ``c``, then ``d``);
  ``u`` merged into ``v`` on 03-12, ``v`` not landed yet (the merge is rejected).

Night 2 (as of 2026-03-31) lands:

- ``orders/night-2.csv``: a payment of ``a`` on 03-05: it counts for ``b`` on 03-10..14,
  ``c`` on 03-15..19 (the middle of the chain) and ``d`` from 03-20;
- ``customers/night-2.csv``: ``v``: ``u``'s merge applies now, ``u`` is archived from 03-12.

A rebuild over all files (one night, as of 03-31) must publish the same tables.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

CLI = str(Path(sys.executable).with_name("customer-status"))

pytestmark = pytest.mark.e2e

NIGHT_1 = {
    "tenants/t.csv": "tenant_id,name,timezone,activity_window_days\nt1,Shop,UTC,3\n",
    "customers/night-1.csv": """tenant_id,customer_id,email,created_at,merged_into,merged_at
t1,a,a@shop.test,2026-01-01T10:00:00Z,b,2026-03-10T12:00:00Z
t1,b,b@shop.test,2026-01-01T10:00:00Z,c,2026-03-15T12:00:00Z
t1,c,c@shop.test,2026-01-01T10:00:00Z,d,2026-03-20T12:00:00Z
t1,d,d@shop.test,2026-01-01T10:00:00Z,,
t1,u,u@shop.test,2026-01-01T10:00:00Z,v,2026-03-12T12:00:00Z
""",
}
NIGHT_2 = {
    "orders/night-2.csv": """tenant_id,order_id,customer_id,created_at,paid_at,amount,currency
t1,o1,a,2026-03-05T09:00:00Z,2026-03-05T09:01:00Z,10.00,EUR
""",
    "customers/night-2.csv": """tenant_id,customer_id,email,created_at
t1,v,v@shop.test,2026-01-01T10:00:00Z
""",
}
SKIP = {"pipeline_runs", "billing_restatements"}  # the history of runs itself


def _land(landing: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = landing / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _night(landing: Path, warehouse: Path, day: str) -> None:
    proc = subprocess.run(
        [CLI, "run", "--date", day, "--landing", str(landing), "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def _tables(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = [
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
            ).fetchall()
            if name not in SKIP
        ]
        return {n: con.execute(f"select * from marts.{n} order by all").fetchall() for n in names}


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("merge-incremental")
    nightly = root / "nightly"
    _land(nightly / "landing", NIGHT_1)
    _night(nightly / "landing", nightly / "warehouse.duckdb", "2026-03-30")
    _land(nightly / "landing", NIGHT_2)
    _night(nightly / "landing", nightly / "warehouse.duckdb", "2026-03-31")
    rebuild = root / "rebuild"
    _land(rebuild / "landing", {**NIGHT_1, **NIGHT_2})
    _night(rebuild / "landing", rebuild / "warehouse.duckdb", "2026-03-31")
    return {"nightly": nightly / "warehouse.duckdb", "rebuild": rebuild / "warehouse.duckdb"}


def _history(warehouse: Path, customer_id: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select valid_from::varchar, status from marts.customer_status_history "
            "where customer_id = ? order by valid_from",
            [customer_id],
        ).fetchall()


def test_the_rebuild_gives_the_middle_of_the_chain_its_days(warehouses):
    """Sanity: the case is what the docstring says, in the rebuild."""
    rebuild = warehouses["rebuild"]
    assert _history(rebuild, "c") == [
        ("2026-01-01", "prospect"),
        ("2026-03-15", "sleeping"),  # a's payment, inherited through b
        ("2026-03-20", "archived"),  # merged into d; a's history goes on to d
    ]
    assert _history(rebuild, "d") == [("2026-01-01", "prospect"), ("2026-03-20", "sleeping")]
    assert _history(rebuild, "u") == [("2026-01-01", "prospect"), ("2026-03-12", "archived")]


def test_the_second_night_recomputed_only_touched_customers(warehouses):
    work_db = warehouses["nightly"].with_name("warehouse.work") / "work.duckdb"
    with duckdb.connect(str(work_db), read_only=True) as con:
        builds = [
            r[0]
            for r in con.execute(
                "select full_refresh from ops.dbt_builds order by built_at"
            ).fetchall()
        ]
    assert builds == [True, False], builds


@pytest.mark.parametrize(
    "customer_id",
    [
        "c",  # the middle of the chain: holds a's payment on 03-15..19 only
        "u",  # merged into v, which landed on the second night
    ],
)
def test_the_incremental_night_recomputed_the_merge_partners(warehouses, customer_id):
    assert _history(warehouses["nightly"], customer_id) == _history(
        warehouses["rebuild"], customer_id
    )


def test_incremental_nights_equal_the_rebuild(warehouses):
    expected, actual = _tables(warehouses["rebuild"]), _tables(warehouses["nightly"])
    assert sorted(actual) == sorted(expected)
    for name, rows in expected.items():
        assert actual[name] == rows, (
            f"marts.{name}: only in the rebuild "
            f"{[r for r in rows if r not in actual[name]][:3]}; only in the nightly "
            f"{[r for r in actual[name] if r not in rows][:3]}"
        )
