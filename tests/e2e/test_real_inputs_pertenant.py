"""Per-tenant files without personal data, on the hand-made zone's night (``real_inputs`` runs
with ``--publish-per-tenant --publish-pii none``), and tenant ids that must not become paths.

Files (all ``*/pertenant*``):

- ``tenants/pertenant.csv``: ``pt_shop`` (a plain id), ``../pt-evil`` (climbs out of the tenants
  folder if used as a file name) and ``CON`` (a name Windows reserves), each with a customer.
- ``customers/pertenant-1.csv``: pt-1, pt-2 with code, email, phone and name; pt-9 with an
  email that is no address (rejected: its reason quotes the value); ev-1 of ``../pt-evil`` and
  con-1 of ``CON``. ``customers/pertenant-2-email-change.csv``: pt-2 moves to a new email.
- ``suppressions/pertenant.csv``: pt-2's first email on the blocklist (its status changes
  quote the address: "email on the blocklist (...)", "email changed (no longer covered by ...)").
- ``status_imports/pt_shop/pertenant.csv``: pt-1 by code, and a code no customer has (its
  rejection quotes the code).
"""

from __future__ import annotations

import duckdb
import pytest

from customer_status.pipeline import published
from customer_status.settings import PROJECT_ROOT

MARTS = published.marts(PROJECT_ROOT / "dbt_project")
WITHHELD = "withheld: may quote personal data (see the main warehouse)"
# (mart, column) whose text can quote a personal value: withheld on some rows, never changed
TEXTS = {("import_rejects", "error"), ("status_action_outcomes", "rejection_reason"),
         ("status_changes", "reason")}


@pytest.fixture(scope="module")
def night(real_inputs):
    zone, run = real_inputs
    assert run.code == 0, run.output[-4000:]
    return zone, run, zone.warehouse.parent / "tenants"


def _declared(zone) -> list[str]:
    return [r[0] for r in zone.published(
        "select distinct tenant_id from marts.billable_counts_daily order by 1"
    )]


def test_unsafe_tenant_ids_get_no_file_and_nothing_outside_the_folder(night):
    zone, run, folder = night
    declared = _declared(zone)
    assert {"pt_shop", "../pt-evil", "CON"} <= set(declared)
    files = sorted(p.name for p in folder.iterdir())
    assert files == sorted(f"{t}.duckdb" for t in declared if t not in ("../pt-evil", "CON"))
    root = zone.warehouse.parent
    assert not (root / "pt-evil.duckdb").exists()
    assert not [p for p in root.rglob("*evil*") if "landing" not in p.parts]
    # the night says which tenants got no file and why, and the run log keeps it
    assert "no per-tenant file for tenant '../pt-evil'" in run.output
    assert "no per-tenant file for tenant 'CON'" in run.output
    (message,) = zone.published(
        "select message from marts.pipeline_runs where outcome = 'published'"
    )[0]
    assert "tenant '../pt-evil': the tenant id is not a plain identifier" in message
    assert "tenant 'CON': the tenant id is a reserved file name on Windows" in message
    # the warehouse still has their rows
    assert zone.published(
        "select tenant_id, customer_id from marts.customer_status "
        "where tenant_id in ('../pt-evil', 'CON') order by 1"
    ) == [("../pt-evil", "ev-1"), ("CON", "con-1")]


def test_each_tenant_file_is_its_rows_of_every_mart_without_personal_columns(night):
    zone, _, folder = night
    tenants = [t for t in _declared(zone) if t not in ("../pt-evil", "CON")]
    with duckdb.connect(str(zone.warehouse), read_only=True) as con:
        for tenant_id in tenants:
            con.execute(f"attach '{folder / tenant_id}.duckdb' as tf (read_only)")
            for mart in MARTS.values():
                columns = con.execute(
                    "select column_name, lower(data_type) from duckdb_columns() "
                    "where database_name = 'tf' and table_name = ? order by column_index",
                    [mart.name],
                ).fetchall()
                assert columns == list(mart.columns), mart.name  # same queries work on both
                kept = [
                    f'"{c}"' for c in mart.column_names
                    if c not in mart.pii and (mart.name, c) not in TEXTS
                ]
                main = f"select {', '.join(kept)} from marts.{mart.name} where tenant_id = ?"
                own = f"select {', '.join(kept)} from tf.marts.{mart.name}"
                for a, b in ((main, own), (own, main)):
                    assert con.execute(
                        f"select count(*) from ({a} except all {b})", [tenant_id]
                    ).fetchone() == (0,), (tenant_id, mart.name)
                for column in mart.pii:
                    assert con.execute(
                        f'select count(*) from tf.marts.{mart.name} where "{column}" is not null'
                    ).fetchone() == (0,), (tenant_id, mart.name, column)
                for name, column in TEXTS:
                    if name != mart.name:
                        continue
                    changed = con.execute(
                        f'select "{column}" from tf.marts.{name} where "{column}" <> ? '
                        f'except select "{column}" from marts.{name} where tenant_id = ?',
                        [WITHHELD, tenant_id],
                    ).fetchall()
                    assert changed == [], (tenant_id, name, column)
            con.execute("detach tf")
        # the main warehouse keeps the personal data
        assert con.execute(
            "select code, email, phone, full_name from marts.customer_status "
            "where tenant_id = 'pt_shop' and customer_id = 'pt-1'"
        ).fetchall() == [("PT-CODE-1", "pia.one@pertenant.test", "+33 6 11 11 11 11",
                          "Pia Pertenant")]


def _personal_values(zone) -> set[str]:
    """Every code, email, phone and name landed for a customer (each version, rejected rows
    too), every suppressed email and every code a status import named."""
    values = set()
    for row in zone.work(
        "select code, email, phone, full_name from raw.customers "
        "union all select null, value, null, null from raw.suppressions where kind = 'email' "
    ):
        values |= {v for v in row if v}
    values |= {"not-an-email-pertenant", "NOPE-CODE-PERTENANT"}
    return {v for v in values if len(v) >= 4}


def test_no_personal_value_is_anywhere_in_a_tenant_file(night):
    zone, _, folder = night
    personal = _personal_values(zone)
    assert {"paul.blocked@pertenant.test", "paul.new@pertenant.test", "PT-CODE-2"} <= personal
    with duckdb.connect(str(zone.warehouse), read_only=True) as con:
        # the cases are there: in the warehouse, these texts quote personal values
        quoted = con.execute(
            "select count(*) from marts.status_changes where tenant_id = 'pt_shop' "
            "and reason like '%paul.blocked@pertenant.test%'"
        ).fetchone()[0]
        assert quoted > 0
        assert con.execute(
            "select count(*) from marts.import_rejects where error like '%not-an-email-pertenant%'"
        ).fetchone()[0] == 1
        for file in sorted(folder.glob("*.duckdb")):
            con.execute(f"attach '{file}' as tf (read_only)")
            tables = [r[0] for r in con.execute(
                "select table_name from duckdb_tables() where database_name = 'tf'"
            ).fetchall()]
            for table in tables:
                # one text per column (COLUMNS(*) expands to every column), all rows joined
                texts = con.execute(
                    f"select string_agg(cast(columns(*) as varchar), '|') from tf.marts.{table}"
                ).fetchone()
                blob = "|".join(t for t in texts if t)
                found = sorted(v for v in personal if v in blob)
                assert not found, (file.name, table, found[:5])
            con.execute("detach tf")
