"""Statuses and tenant defaults have one home, the dbt project's seeds: the Python that
needs them (``customer-status action --where-status``, ingestion's default
``max_reject_ratio``) reads the seeds, so changing a seed changes what Python does."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from customer_status import seeds
from customer_status.bulk import BulkError, Request
from customer_status.ingest import loader

PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"


@pytest.fixture
def project_copy(tmp_path, monkeypatch) -> Path:
    """A copy of the dbt project's seeds the pipeline reads (CUSTOMER_STATUS_DBT_PROJECT)."""
    copy = tmp_path / "dbt_project"
    shutil.copytree(PROJECT / "seeds", copy / "seeds")
    monkeypatch.setenv("CUSTOMER_STATUS_DBT_PROJECT", str(copy))
    return copy


def test_headline_statuses_come_from_the_seeds_in_rules_order():
    assert seeds.headline_statuses() == (
        "suspended",
        "fraud_suspected",
        "fraud_confirmed",
        "internal",
        "archived",
        "deleted",
        "prospect",
        "subscribed",
        "active",
        "unsubscribed",
        "sleeping",
    )
    assert seeds.account_statuses()[0] == "active"


def test_a_status_added_to_the_seed_is_a_headline_status(project_copy):
    path = project_copy / "seeds" / "account_statuses.csv"
    path.write_text(path.read_text() + "on_hold,8,true,false,false,false\n")
    assert seeds.headline_statuses()[6] == "on_hold"
    assert "on_hold" in seeds.account_statuses()


def test_where_status_accepts_exactly_the_seeds_headline_statuses(project_copy):
    def check(status: str):
        return Request("t1", "deactivate", "r", "a", where_status=status).checked()

    check("sleeping")
    with pytest.raises(BulkError, match="not a headline status"):
        check("on_hold")
    path = project_copy / "seeds" / "account_statuses.csv"
    path.write_text(path.read_text() + "on_hold,8,true,false,false,false\n")
    check("on_hold")


def test_ingestion_default_max_reject_ratio_is_the_seeds(project_copy):
    assert loader.default_max_reject_ratio() == 0.1
    path = project_copy / "seeds" / "tenant_defaults.csv"
    header, row = path.read_text().splitlines()
    values = dict(zip(header.split(","), row.split(","), strict=True))
    values["max_reject_ratio"] = "0.35"
    path.write_text(header + "\n" + ",".join(values[c] for c in header.split(",")) + "\n")
    assert loader.default_max_reject_ratio() == 0.35
    with duckdb.connect() as con:
        loader.ensure_raw_schema(con)
        # a file of a tenant without settings yet takes the default
        assert loader._max_reject_ratio(con, ["t_new"]) == 0.35
        assert loader._max_reject_ratio(con, []) == 0.35
