"""End to end, SPEC §1: a later version of a ``customers`` row without ``updated_at`` holds from
the as-of date of the run that first loaded it, recorded so that a rebuild gives the same
answer. This needs two as-of dates, so it has its own landing zone and two nights:

- night 2026-03-25 loads ``customers/first.csv`` (``n-1`` accepting marketing, no
  ``updated_at``: the creation version) and ``customers/second.csv`` (``n-1`` again, opt-out,
  no ``updated_at``: holds from 03-25, the as-of date of the run that loaded it);
- night 2026-03-31 is a full rebuild (``CUSTOMER_STATUS_FULL_REFRESH=1``) of the same work
  file: the opt-out still counts from 03-25, not from 03-31 and not from creation.

``n-2`` (consenting, never changed) keeps the tenant's billable count from dropping to zero.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

CLI = str(Path(sys.executable).with_name("customer-status"))

pytestmark = pytest.mark.e2e

FILES = {
    # max_billable_swing 1: the opt-out moves 1 of 2 billable customers on 03-25
    "tenants/tenants.csv": "tenant_id,name,timezone,billing_basis,max_billable_swing\n"
    "n_subs,Versions without updated_at,Europe/Paris,subscribers,1\n",
    "customers/first.csv": "tenant_id,customer_id,email,accepts_marketing,created_at\n"
    "n_subs,n-1,one@shop.test,true,2026-01-05T10:00:00Z\n"
    "n_subs,n-2,two@shop.test,true,2026-01-05T10:00:00Z\n",
    "customers/second.csv": "tenant_id,customer_id,email,accepts_marketing,created_at\n"
    "n_subs,n-1,one@shop.test,false,2026-01-05T10:00:00Z\n",
}


def _run(root: Path, day: str, **env: str) -> None:
    proc = subprocess.run(
        [
            CLI,
            "run",
            "--date",
            day,
            "--landing",
            str(root / "landing"),
            "--warehouse",
            str(root / "warehouse.duckdb"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **env},
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]


def _published(root: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


HISTORY = (
    "select customer_id, valid_from, valid_to, is_billable from marts.customer_status_history "
    "where tenant_id = 'n_subs' order by customer_id, valid_from"
)
CHANGES = (
    "select customer_id, changed_on, dimension, from_value, to_value from marts.status_changes "
    "where tenant_id = 'n_subs' order by all"
)


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("versions")
    for relative, content in FILES.items():
        path = root / "landing" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    _run(root, "2026-03-25")
    first = {"history": _published(root, HISTORY), "changes": _published(root, CHANGES)}
    _run(root, "2026-03-31", CUSTOMER_STATUS_FULL_REFRESH="1")
    rebuilt = {"history": _published(root, HISTORY), "changes": _published(root, CHANGES)}
    billable = dict(
        _published(
            root,
            "select date, billable_customers from marts.billable_counts_daily "
            "where tenant_id = 'n_subs'",
        )
    )
    return {"first": first, "rebuilt": rebuilt, "billable": billable}


def test_a_version_without_updated_at_holds_from_the_night_that_loaded_it(nights):
    assert nights["first"]["history"] == [
        ("n-1", date(2026, 1, 5), date(2026, 3, 25), True),
        ("n-1", date(2026, 3, 25), None, False),
        ("n-2", date(2026, 1, 5), None, True),
    ]
    assert nights["first"]["changes"] == [
        ("n-1", date(2026, 3, 25), "is_billable", "true", "false"),
    ]


def test_a_rebuild_on_a_later_night_gives_the_same_answer(nights):
    assert nights["rebuilt"] == nights["first"]
    billable = nights["billable"]
    assert billable[date(2026, 1, 5)] == 2
    assert billable[date(2026, 3, 24)] == 2
    assert billable[date(2026, 3, 25)] == 1
    assert billable[date(2026, 3, 31)] == 1
