"""Engagement-driven reactivating events on an incremental night (issue 18): the night adds
only the engagement rows staged since the last build and keeps the earlier ones by event key
(``int_reactivating_events``, rules §6), and publishes what a rebuild publishes. Case
``react`` of the shared ``two_nights`` zone (``tests/e2e/two_nights/``), tenant ``react``
(America/Los_Angeles, reactivation trigger ``any_engagement``, sunset after 6 days). All
events are at 18:00Z (10:00 local) unless said otherwise.

Night 1 (as of 2026-03-25) lands customers ``r1``, ``r2``, ``r4`` (created 03-01), engagement
of ``r1`` (03-05, ``re-2`` on 03-12), of ``r4`` (03-06; 03-18T03:00Z, which is 03-17 local)
and of ``r3`` (03-04), who has not landed yet; ``r2`` is deactivated on 03-03. ``r5`` and
``r6`` (created 03-01) engage on 03-04, ``r5`` again on 03-16 (``re-10``).

Night 2 (as of 2026-03-31, incremental) lands:

- ``re-2`` again, now on 03-14 (a re-sent key: the later arrival wins, its 03-12 version
  must go), and ``r1``'s ``re-6`` on 03-24: ``r1``'s engagement arrives over two nights;
- ``r2``'s visit on 03-09: it lifts the deactivation;
- customer ``r3`` (its night-1 engagement counts now) and its visit on 03-15;
- a new version of ``r4`` (a changed email): its night-1 engagement must stay;
- ``re-10`` again, now naming ``r6``: it is no longer ``r5``'s, whose sunset from 03-10 must
  then last (``r5`` has no row of its own tonight).

The fresh rebuild over all files (one night, as of 03-31) must publish the same rows.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from conftest import published_rows

pytestmark = pytest.mark.e2e


def _sunsets(warehouse: Path) -> dict[str, list[tuple]]:
    """Each customer's days inactive for no_engagement, as (valid_from, valid_to) ranges."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select customer_id, valid_from::varchar, valid_to::varchar "
            "from marts.customer_status_history where tenant_id = 'react' "
            "and inactive_reason = 'no_engagement' order by all"
        ).fetchall()
    out: dict[str, list[tuple]] = {}
    for customer_id, valid_from, valid_to in rows:
        out.setdefault(customer_id, []).append((valid_from, valid_to))
    return out


def test_the_rebuild_counts_each_engagement_from_its_own_day(two_nights):
    """Sanity: the case is what the docstring says, in the rebuild."""
    assert _sunsets(two_nights.fresh_rebuild) == {
        # 03-05 -> sunset 03-11 until re-2 on 03-14 (not 03-12), -> 03-20 until re-6 on 03-24
        "r1": [("2026-03-11", "2026-03-14"), ("2026-03-20", "2026-03-24"), ("2026-03-30", None)],
        # deactivated (not sunset) until its visit of 03-09, landed on night 2
        "r2": [("2026-03-15", None)],
        # r3's visit of 03-04 landed before r3 did, and counts
        "r3": [("2026-03-10", "2026-03-15"), ("2026-03-21", None)],
        # 03-06 -> 03-12 until 03-17 local (03-18T03:00Z), -> 03-23
        "r4": [("2026-03-12", "2026-03-17"), ("2026-03-23", None)],
        # re-10 of 03-16 is r6's now, not r5's
        "r5": [("2026-03-10", None)],
        "r6": [("2026-03-10", "2026-03-16"), ("2026-03-22", None)],
    }


def test_the_deactivation_is_lifted_by_engagement_landed_later(two_nights):
    with duckdb.connect(str(two_nights.fresh_rebuild), read_only=True) as con:
        reasons = con.execute(
            "select valid_from::varchar, inactive_reason from marts.customer_status_history "
            "where tenant_id = 'react' and customer_id = 'r2' order by valid_from"
        ).fetchall()
    assert reasons == [
        ("2026-03-01", None),
        ("2026-03-03", "deactivated"),
        ("2026-03-09", None),  # the visit of 03-09 lifts it
        ("2026-03-15", "no_engagement"),
    ]


def test_the_incremental_night_publishes_what_a_rebuild_publishes(two_nights):
    assert two_nights.builds_after_night_2 == [True, False]  # night 2 was incremental
    nightly = published_rows(two_nights.after_night_2, "react")
    rebuild = published_rows(two_nights.fresh_rebuild, "react")
    assert nightly.keys() == rebuild.keys()
    assert nightly["customer_status_history"], "the case published nothing"
    for name in rebuild:
        assert nightly[name] == rebuild[name], name
    assert _sunsets(two_nights.after_night_2) == _sunsets(two_nights.fresh_rebuild)


def test_each_engagement_key_is_one_reactivating_event(two_nights):
    """The engagement rows of the status engine (read here after the in-place rebuild, the
    last step of the fixture): r1's re-2 once, in its later version; r3's visit of 03-04;
    r4's 03-18T03:00Z on its local day; re-10 as r6's only."""
    rows = two_nights.zone.work(
        "select customer_id, event_id, event_date::varchar from "
        "intermediate.int_reactivating_events where tenant_id = 'react' "
        "and event_source = 'engagement' order by all"
    )
    assert rows == [
        ("r1", "re-1", "2026-03-05"),
        ("r1", "re-2", "2026-03-14"),
        ("r1", "re-6", "2026-03-24"),
        ("r2", "re-7", "2026-03-09"),
        ("r3", "re-3", "2026-03-04"),
        ("r3", "re-8", "2026-03-15"),
        ("r4", "re-4", "2026-03-06"),
        ("r4", "re-5", "2026-03-17"),
        ("r5", "re-9", "2026-03-04"),
        ("r6", "re-10", "2026-03-16"),
        ("r6", "re-11", "2026-03-04"),
    ]
