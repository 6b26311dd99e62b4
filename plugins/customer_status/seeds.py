"""The dbt project's rule tables (``dbt_project/seeds/*.csv``) as the Python code reads them.

The statuses and the tenant defaults have one home, the seeds, read by every dbt model and
test; the Python that needs them (``customer-status action --where-status``, ingestion's
default ``max_reject_ratio``) reads the same files here rather than repeating their values.
The project folder is the one the pipeline builds (``CUSTOMER_STATUS_DBT_PROJECT``).
"""

from __future__ import annotations

import csv

from .settings import Paths, resolve_paths


def _seed_rows(name: str, paths: Paths | None = None) -> list[dict[str, str]]:
    project = (paths or resolve_paths()).dbt_project
    with open(project / "seeds" / f"{name}.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _true(value: str) -> bool:
    return value.strip().lower() == "true"


def account_statuses() -> tuple[str, ...]:
    """The predefined account statuses (rules §4), in rules order."""
    rows = sorted(_seed_rows("account_statuses"), key=lambda r: int(r["spec_order"]))
    return tuple(r["status"] for r in rows)


def headline_statuses() -> tuple[str, ...]:
    """Values of the headline ``status`` (rules §2): the account statuses that show as the
    status (every one but ``active``), then the lifecycle statuses, each in rules order."""
    account = sorted(_seed_rows("account_statuses"), key=lambda r: int(r["spec_order"]))
    lifecycle = sorted(_seed_rows("lifecycle_statuses"), key=lambda r: int(r["spec_order"]))
    return (
        *(r["status"] for r in account if _true(r["is_headline"])),
        *(r["status"] for r in lifecycle),
    )


def tenant_default(setting: str) -> str:
    """The default of a tenant setting left empty in ``tenants`` (seed ``tenant_defaults``,
    one row), as the text the seed holds."""
    (row,) = _seed_rows("tenant_defaults")
    return row[setting]
