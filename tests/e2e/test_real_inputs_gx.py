"""The night's Great Expectations Data Docs show the reclassification suites (run by the
``audit`` step on the candidate tables) beside the import suites (run by
``validate_imports`` on the rows loaded). Reads no files of its own: it asserts on the
one night over the hand-made zone (``real_inputs``)."""

from __future__ import annotations

import json

import pytest

from customer_status.checks import gx_reclassification

pytestmark = pytest.mark.e2e


def test_data_docs_show_the_reclassification_suites_beside_the_import_suites(real_inputs):
    zone, run = real_inputs
    assert run.code == 0, run.output
    site = zone.work_db.parent / "gx" / "uncommitted" / "data_docs" / "local_site"
    index = (site / "index.html").read_text()
    suites = [gx_reclassification.read_suite(p)["name"] for p in gx_reclassification.suite_files()]
    assert len(suites) == 6
    for name in [*suites, "landing.customers", "landing.tenants"]:
        assert name in index, name
        assert list((site / "validations").glob(name.replace(".", "/") + "/*/*/*.html")), name
    # every reclassification expectation ran and passed on this night's candidates
    results = zone.work_db.parent / "gx" / "uncommitted" / "validations" / "reclassification"
    found = [json.loads(p.read_text()) for p in results.rglob("*.json")]
    assert {r["suite_name"] for r in found} == set(suites)
    assert all(r["success"] for r in found) and sum(len(r["results"]) for r in found) == 8
