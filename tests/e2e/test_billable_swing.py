"""End to end, rules §11: a night whose billable count jumps beyond the tenant's
``max_billable_swing`` publishes nothing (every published table stays exactly the previous
night's) and says which tenant; the same night with ``--accept-swing`` publishes, and the run
log records the acceptance."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

CLI = str(Path(sys.executable).with_name("customer-status"))

pytestmark = pytest.mark.e2e

CUSTOMERS = "\n".join(f"t1,c{i},c{i}@mail.com,2026-01-01T00:00:00Z" for i in range(1, 5))
FILES = {
    "tenants/tenants.csv": "tenant_id,name,timezone,max_billable_swing\nt1,Shop,UTC,0.25\n",
    "customers/customers.csv": "tenant_id,customer_id,email,created_at\n" + CUSTOMERS + "\n",
    # two of four billable customers deactivated on the as-of date: a 50% drop
    "status_actions/actions.csv": (
        "tenant_id,action_id,customer_id,action,reason,actor,requested_at,source\n"
        "t1,a1,c1,deactivate,cleanup,staff:ann,2026-03-31T10:00:00Z,bulk\n"
        "t1,a2,c2,deactivate,cleanup,staff:ann,2026-03-31T10:00:00Z,bulk\n"
    ),
}


def _run(root: Path, *extra: str, day: str = "2026-03-31") -> subprocess.CompletedProcess:
    command = [CLI, "run", "--date", day, "--landing", str(root / "landing")]
    command += ["--warehouse", str(root / "warehouse.duckdb"), *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("swing")
    for relative, content in FILES.items():
        path = root / "landing" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    previous = _run(root, day="2026-03-30")
    assert previous.returncode == 0, previous.stdout[-3000:]
    before = _published(root)
    refused = _run(root)
    after_refusal = _published(root)
    accepted = _run(root, "--accept-swing")
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        runs = con.execute(
            "select outcome, accepted_swing from marts.pipeline_runs order by started_at"
        ).fetchall()
        billable = con.execute(
            "select date, billable_customers from marts.billable_counts_daily "
            "where date >= '2026-03-30' order by date"
        ).fetchall()
    return {
        "before": before,
        "refused": refused,
        "after_refusal": after_refusal,
        "accepted": accepted,
        "runs": runs,
        "billable": billable,
    }


def _published(root: Path) -> dict:
    """Every published table but the run log, row by row."""
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts' "
                "and table_name <> 'pipeline_runs' order by 1"
            ).fetchall()
        ]
        return {n: con.execute(f"select * from marts.{n} order by all").fetchall() for n in names}


def test_a_swing_beyond_the_limit_publishes_nothing_and_names_the_tenant(nights):
    """§11: the check fails, names the check and the tenant, and nothing is published."""
    refused = nights["refused"]
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert "billable_swing_within_limit" in output and "tenant t1" in output, output[-2000:]
    assert "2 -> 2" not in output and "4 -> 2" in output, output[-2000:]
    assert nights["before"]["customer_status"], "the previous night published statuses"
    assert nights["after_refusal"] == nights["before"], "a refused night changed published tables"


def test_an_accepted_swing_publishes_and_is_recorded(nights):
    """§11: with --accept-swing the night publishes and the run log says it was accepted."""
    assert nights["accepted"].returncode == 0, nights["accepted"].stdout[-3000:]
    assert nights["runs"] == [("published", False), ("failed", False), ("published", True)]
    assert nights["billable"] == [(_d("2026-03-30"), 4), (_d("2026-03-31"), 2)]


def _d(text: str):
    from datetime import date

    return date.fromisoformat(text)
