"""Per-tenant files on the generated zone's nights (``first_night``, ``second_night`` in
conftest.py run with ``CUSTOMER_STATUS_PUBLISH_PER_TENANT=1``, personal data kept): each
declared tenant's file holds exactly its rows of every published table, and a dashboard
holding ``tenants/t1.duckdb`` open read-only during night 2 neither blocks it nor sees it."""

from __future__ import annotations

import duckdb

from customer_status.pipeline import published
from customer_status.settings import PROJECT_ROOT

MARTS = published.marts(PROJECT_ROOT / "dbt_project")


def _folder(zone):
    return zone.warehouse.parent / "tenants"


def test_every_declared_tenant_has_a_file_with_exactly_its_rows(zone, second_night):
    assert second_night["run"].code == 0, second_night["run"].output[-4000:]
    declared = [r[0] for r in zone.work("select distinct tenant_id from raw.tenants order by 1")]
    assert declared == ["t1", "t2", "t3"]
    assert sorted(p.name for p in _folder(zone).iterdir()) == [f"{t}.duckdb" for t in declared]
    with duckdb.connect(str(zone.warehouse), read_only=True) as con:
        for tenant_id in declared:
            con.execute(f"attach '{_folder(zone) / tenant_id}.duckdb' as tf (read_only)")
            tables = {
                r[0]
                for r in con.execute(
                    "select table_name from duckdb_tables() where database_name = 'tf'"
                ).fetchall()
            }
            assert tables == set(MARTS) | {"pipeline_runs"}
            rows = 0
            for mart in MARTS.values():
                main = f"select * from marts.{mart.name} where tenant_id = '{tenant_id}'"
                own = f"select * from tf.marts.{mart.name}"
                for a, b in ((main, own), (own, main)):
                    assert con.execute(f"select count(*) from ({a} except all {b})").fetchone() == (
                        0,
                    ), (tenant_id, mart.name)
                rows += con.execute(f"select count(*) from tf.marts.{mart.name}").fetchone()[0]
            assert rows > 0, tenant_id
            assert con.execute(
                "select count(*) from tf.marts.customer_status where email is not null"
            ).fetchone()[0] > 0  # --publish-pii full (the default) keeps personal data
            # the run log up to the night that wrote the file (a failed night later adds its
            # row to the warehouse only), without messages
            runs = (
                "select run_id, as_of_date, started_at, outcome, checks_passed, checks_failed, "
                "accepted_swing from {}.pipeline_runs where outcome = 'published' order by 1"
            )
            assert con.execute(runs.format("tf.marts")).fetchall() == con.execute(
                runs.format("marts")
            ).fetchall()
            assert con.execute(
                "select count(*) from tf.marts.pipeline_runs where message is not null"
            ).fetchone() == (0,)
            con.execute("detach tf")


def test_a_reader_holding_a_tenant_file_never_blocks_the_next_night(zone, second_night):
    assert second_night["run"].code == 0, second_night["run"].output[-4000:]
    # the dashboard kept night 1 (one run, 2026-11-01) while night 2 was published around it
    count, last = second_night["seen_by_open_tenant_reader"]
    assert (count, str(last)) == (1, "2026-11-01")
    with duckdb.connect(str(_folder(zone) / "t1.duckdb"), read_only=True) as con:
        assert con.execute(
            "select count(*), max(as_of_date) from marts.pipeline_runs where outcome = 'published'"
        ).fetchone()[0] == 2
    assert not list(_folder(zone).glob(".*"))  # no half-written file left
