"""Issue 14 in the hand-made landing zone (``tests/e2e/real_inputs/``): files and rows that
used to vanish at ingest are published with a trace. Tenants ``ing1`` and ``ing3``
(``tenants/ingest.csv``), each with customer ``i-1`` (``customers/ingest.csv``).

- ``status_imports/ing1/ingest-same.csv`` and ``status_imports/ing3/ingest-same.csv``: the same
  bytes in two tenants' folders (deactivate ``i-1`` on 2026-03-10) are two imports: both load.
- ``orders/ingest-quote.csv``: 100 orders of ``ing1``; row 95 opens a quote it never closes, so
  it swallows rows 96-100: the six are rejected with their line numbers, 94 load.
- ``orders/ingest-cents.csv``: 20 orders of ``ing3``; row 20's amount ``1.005`` has more
  decimals than stored: rejected, not rounded.
- ``ingest-root.csv``: a file directly in the landing folder: rejected, not in a source folder.
- ``customers/.~lock.ingest.csv#``: an editor's lock file: not read, listed as skipped.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def zone(real_inputs):
    zone, run = real_inputs
    assert run.code == 0, run.output[-4000:]
    return zone


def test_same_bytes_in_two_tenant_folders_are_two_imports(zone):
    assert zone.published(
        "select tenant_id, customer_id, outcome, actor from marts.status_action_outcomes "
        "where tenant_id in ('ing1', 'ing3') order by tenant_id"
    ) == [
        ("ing1", "i-1", "applied", "import:ingest-same.csv"),
        ("ing3", "i-1", "applied", "import:ingest-same.csv"),
    ]
    assert zone.published(
        "select tenant_id, outcome from marts.landing_files "
        "where file like 'status_imports/ing%/ingest-same.csv' order by 1"
    ) == [("ing1", "loaded"), ("ing3", "loaded")]


def test_rows_swallowed_by_an_unclosed_quote_are_published_with_line_numbers(zone):
    rejects = zone.published(
        "select row_number, error from marts.import_rejects "
        "where file = 'orders/ingest-quote.csv' order by row_number"
    )
    assert [r[0] for r in rejects] == [95, 96, 97, 98, 99, 100]
    assert rejects[0][1].startswith("line 96: a quote")
    assert [r[1].split(":")[0] for r in rejects[1:]] == [f"line {n}" for n in range(97, 102)]
    assert zone.published(
        "select outcome, rows_in_file, rows_loaded, rows_rejected from marts.landing_files "
        "where file = 'orders/ingest-quote.csv'"
    ) == [("loaded", 100, 94, 6)]
    assert zone.published(
        "select count(*) from marts.orders where tenant_id = 'ing1' and order_id like 'q-%'"
    ) == [(94,)]


def test_an_amount_with_too_many_decimals_is_rejected_not_rounded(zone):
    assert zone.published(
        "select row_number, error from marts.import_rejects where file = 'orders/ingest-cents.csv'"
    ) == [
        (
            20,
            "amount 1.005 has more than 2 decimals: amounts are kept to 2 decimals and never rounded",
        )
    ]
    assert zone.published(
        "select count(*), sum(amount) from marts.orders where tenant_id = 'ing3'"
    ) == [(19, 237.5)]


def test_a_root_file_is_rejected_and_a_hidden_file_listed(zone, real_inputs):
    _, run = real_inputs
    assert zone.published(
        "select source, row_number, error like 'not in a source folder%' from marts.import_rejects "
        "where file = 'ingest-root.csv'"
    ) == [("landing_root", None, True)]
    assert zone.published(
        "select source, outcome, reason like 'hidden file%' from marts.landing_files "
        "where file in ('ingest-root.csv', 'customers/.~lock.ingest.csv#') order by file"
    ) == [("customers", "skipped", True), ("landing_root", "rejected", False)]
    assert "skipped hidden file (not read; rename it to load it): customers/.~lock.ingest.csv#" in (
        run.output
    )
