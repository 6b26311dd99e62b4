"""The property of rules §1 and issue 4: published tables are a pure function of the landing
files and the as-of date. For generated data, three histories must publish identical tables:

- **rebuild**: everything landed, one run for the last night on a new warehouse;
- **night by night**: files land day by day (the bulk history first, then each day's
  files), one run per night, in order;
- **out of order**: everything landed, the last night, then an earlier one, then the last
  night again.

The seed is fixed so `make test` is repeatable; set ``CUSTOMER_STATUS_PROPERTY_SEED`` to try
others. Status-import files with rows lacking an ``Effective At`` are left out: by contract
they take the as-of date of the run that first loads them, so they *should* depend on the
order of runs. ``pipeline_runs`` and ``billing_restatements`` record the run history itself
and are compared only for what must hold (restatements name real runs).

The rebuild is the out-of-order history's first night (the same run: everything landed, the
last night, a new warehouse), its published file kept before that history goes on. The
night-by-night history's first night is the shared one of fixture ``generated_history``
(tests/e2e/conftest.py), which test_kill.py and test_failed_audit.py start from too.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import published_rows

CLI = str(Path(sys.executable).with_name("customer-status"))

pytestmark = pytest.mark.e2e

NIGHTS = ["2026-10-31", "2026-11-01"]  # fixture generated_history's nights


def _run(landing: Path, warehouse: Path, *dates: str) -> None:
    for day in dates:
        proc = subprocess.run(
            [CLI, "run", "--date", day, "--landing", str(landing), "--warehouse", str(warehouse)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, (
            f"night {day} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )


@pytest.fixture(scope="module")
def histories(generated_history, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("determinism")
    assert list(generated_history.nights) == NIGHTS

    # every history reads its own copy of the files under the same relative paths; the
    # night-by-night history's first night is the shared one of ``generated_history``
    nightly = root / "nightly"
    generated_history.copy_after_first_night(nightly)
    for night in NIGHTS[1:]:
        generated_history.land(nightly / "landing", up_to=night)
        _run(nightly / "landing", nightly / "warehouse.duckdb", night)

    shuffled = root / "shuffled"
    generated_history.land(shuffled / "landing", up_to=None)
    # the last night first: everything landed, one run on a new warehouse, which is the
    # rebuild: its published file is kept as the rebuild before the history goes on
    _run(shuffled / "landing", shuffled / "warehouse.duckdb", NIGHTS[-1])
    rebuild = root / "rebuild" / "warehouse.duckdb"
    rebuild.parent.mkdir()
    shutil.copyfile(shuffled / "warehouse.duckdb", rebuild)
    # then an earlier one (a backfill after the fact), then the last again
    earlier = random.Random(generated_history.seed).choice(NIGHTS[:-1])
    _run(shuffled / "landing", shuffled / "warehouse.duckdb", earlier, NIGHTS[-1])
    return {
        "rebuild": rebuild,
        "nightly": nightly / "warehouse.duckdb",
        "shuffled": shuffled / "warehouse.duckdb",
    }


def _assert_same(expected: dict, actual: dict, label: str) -> None:
    assert sorted(actual) == sorted(expected), f"{label}: different tables"
    for name, rows in expected.items():
        other = actual[name]
        missing = [r for r in rows if r not in set(other)][:3]
        extra = [r for r in other if r not in set(rows)][:3]
        assert rows == other, (
            f"{label}: marts.{name} differs ({len(rows)} vs {len(other)} rows); "
            f"only in rebuild: {missing}; only in {label}: {extra}"
        )


def test_the_rebuild_publishes_every_status_table(histories):
    """Sanity: the comparison is over real, non-empty status tables."""
    tables = published_rows(histories["rebuild"])
    for name in (
        "customer_status",
        "customer_status_history",
        "status_changes",
        "status_counts_daily",
        "billable_counts_daily",
        "billing_monthly",
    ):
        assert tables.get(name), f"marts.{name} is empty or missing"


def test_night_by_night_equals_a_rebuild(histories):
    """rules §1: running night by night as files land gives the tables of one rebuild."""
    _assert_same(
        published_rows(histories["rebuild"]), published_rows(histories["nightly"]), "night by night"
    )


def test_nights_out_of_order_equal_a_rebuild(histories):
    """rules §1: running the nights in any order, then the last, gives the tables of one rebuild."""
    _assert_same(
        published_rows(histories["rebuild"]), published_rows(histories["shuffled"]), "out of order"
    )


def test_later_nights_were_incremental(histories):
    """Issue 4: nights after the first recompute only touched customers, and still equal the
    rebuild (the tests above); the first night on a new work file is a full build."""
    work_db = histories["nightly"].with_name("warehouse.work") / "work.duckdb"
    with duckdb.connect(str(work_db), read_only=True) as con:
        builds = [
            r[0]
            for r in con.execute(
                "select full_refresh from ops.dbt_builds order by built_at"
            ).fetchall()
        ]
    assert builds == [True] + [False] * (len(NIGHTS) - 1), builds


def test_nights_without_new_files_rebuilt_only_what_reads_the_as_of_date(histories):
    """The out-of-order history's second and third nights found no new file: their builds
    selected only the models downstream of the as-of date (pipeline/build.py), and the
    tables still equal the rebuild (test_nights_out_of_order_equal_a_rebuild)."""
    work_db = histories["shuffled"].with_name("warehouse.work") / "work.duckdb"
    with duckdb.connect(str(work_db), read_only=True) as con:
        builds = con.execute(
            "select full_refresh, through_load_id from ops.dbt_builds order by built_at"
        ).fetchall()
    assert len(builds) == 3 and builds[0][0] and not builds[1][0] and not builds[2][0], builds
    assert builds[0][1] == builds[1][1] == builds[2][1] >= 0, builds
    last = histories["shuffled"].with_name("warehouse.work") / "dbt" / "target" / "run_results.json"
    ran = {r["unique_id"] for r in json.loads(last.read_text())["results"]}
    assert "model.customer_status.customer_status" in ran
    assert "model.customer_status.stg_landing__orders" not in ran, "an unchanged source rebuilt"
    # no customer touched: the per-customer models keep their tables (pipeline/build.py)
    assert "model.customer_status.int_customer_status_segments" not in ran, "per-customer ran"


def test_restatements_name_runs_that_published(histories):
    """rules §7: every restatement names a run of this warehouse that published it."""
    for label in ("nightly", "shuffled"):
        with duckdb.connect(str(histories[label]), read_only=True) as con:
            orphans = con.execute(
                "select r.* from marts.billing_restatements r "
                "left join marts.pipeline_runs p on p.run_id = r.restated_by_run "
                "where p.outcome is distinct from 'published'"
            ).fetchall()
        assert orphans == [], f"{label}: restatements by runs that did not publish: {orphans[:3]}"
