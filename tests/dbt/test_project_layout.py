"""One home per rule inside the dbt project, checked on the parsed project (the manifest of
the session's empty build, tests/dbt/conftest.py): statuses and tenant defaults are data
(seeds), the per-customer incremental models share one folder-level config and one pair of
macros, and every macro is described."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
PER_CUSTOMER = "intermediate/customer_status/per_customer/"
ACCOUNT_STATUSES = ("active", "suspended", "fraud_suspected", "fraud_confirmed", "internal")
ACCOUNT_STATUSES += ("archived", "deleted")


def _models(manifest: dict) -> list[dict]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]


def test_per_customer_models_share_one_folder_config(manifest):
    per_customer = {m["name"]: m for m in _models(manifest) if m["path"].startswith(PER_CUSTOMER)}
    assert set(per_customer) == {
        "int_reactivating_events",
        "int_member_sunset_intervals",
        "int_member_deactivation_intervals",
        "int_customer_status_facts",
        "int_customer_status_segments",
        # the facts' per-customer inputs (their only reader takes the touched customers' rows)
        "int_lifecycle_payment_intervals",
        "int_account_status_date_intervals",
        "int_member_suppression_intervals",
        # the attribute history (read by the facts, the suppressions and the account fold)
        "int_customer_attribute_intervals",
        # the account-status chain and the orders chain upstream of the facts
        "int_account_status_events",
        "int_account_status_intervals",
        "int_orders_flagged",
        "int_payments_attributed",
    }
    for name, model in per_customer.items():
        config = model["config"]
        assert config["materialized"] == "incremental", name
        assert config["incremental_strategy"] == "append", name
        hooks = [h["sql"] for h in config["pre-hook"]]
        assert hooks == ["{{ customer_status.delete_touched_customers() }}"], name
        # the folder sets it: the model's own file repeats neither config nor dependency
        assert "config(" not in model["raw_code"], name
        assert "depends_on" not in model["raw_code"], name
        assert "customer_status.touched_rows(" in model["raw_code"], name
        # touched_rows makes the ref itself, so dbt orders the build without a comment line
        assert "model.customer_status.int_customers_touched" in model["depends_on"]["nodes"]
    for model in _models(manifest):
        if not model["path"].startswith(PER_CUSTOMER):
            assert not model["config"]["pre-hook"], model["name"]


def test_no_model_finds_a_relation_by_name(manifest):
    for model in _models(manifest):
        assert "adapter.get_relation" not in model["raw_code"], model["name"]
    macros = manifest["macros"]
    users = [m for m in macros.values() if "adapter.get_relation" in m["macro_sql"]]
    assert [m["name"] for m in users if m["package_name"] == "customer_status"] == [
        "built_relation"
    ]


def test_touched_customers_read_every_source_they_depend_on_once(manifest):
    model = next(m for m in _models(manifest) if m["name"] == "int_customers_touched")
    assert model["description"].strip()
    assert "depends_on" not in model["raw_code"].replace(
        "-- depends_on: {{ ref('int_run_parameters') }}", ""
    )
    sources = {s.split(".")[-1] for s in model["depends_on"]["nodes"] if s.startswith("source.")}
    assert sources == {
        "customers",
        "orders",
        "subscription_events",
        "engagement_events",
        "status_actions",
        "erasure_requests",
        "tenants",
        "status_labels",
        "suppressions",
        "status_imports",
    }
    tests = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test"
        and "model.customer_status.int_customers_touched" in n["depends_on"]["nodes"]
        and n.get("attached_node") == "model.customer_status.int_customers_touched"
    ]
    assert len(tests) >= 3, [t["name"] for t in tests]
    units = [u for u in manifest["unit_tests"].values() if u["model"] == "int_customers_touched"]
    assert len(units) >= 2


def test_statuses_are_data(manifest):
    """No model lists account statuses in SQL and no test lists them in YAML: both read
    the seed account_statuses (rules §2-§6)."""
    listed = re.compile(r"in\s*\(\s*'(" + "|".join(ACCOUNT_STATUSES) + r")'\s*,")
    for model in _models(manifest):
        assert not listed.search(model["raw_code"]), model["name"]
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or "test_metadata" not in node:
            continue
        values = node["test_metadata"]["kwargs"].get("values") or []
        assert not set(values) & {"fraud_confirmed", "sleeping", "no_engagement"}, node["name"]
    kinds = {
        n["test_metadata"]["kwargs"]["kind"]
        for n in manifest["nodes"].values()
        if n.get("test_metadata", {}).get("name") == "accepted_statuses"
    }
    assert kinds == {"account", "lifecycle", "headline", "inactive_reason"}


def test_tenant_defaults_are_applied_once(manifest):
    assert "customer_status__default" not in (PROJECT / "dbt_project.yml").read_text()
    readers = {
        m["name"]
        for m in _models(manifest)
        if "seed.customer_status.tenant_defaults" in m["depends_on"]["nodes"]
    }
    assert readers == {"int_tenants"}
    staging = next(m for m in _models(manifest) if m["name"] == "stg_landing__tenants")
    assert "coalesce" not in staging["raw_code"]
    tenant_readers = {
        m["name"]
        for m in _models(manifest)
        if "model.customer_status.stg_landing__tenants" in m["depends_on"]["nodes"]
    }
    # staging models read the declared tenants only (macros/declared_tenants.sql)
    assert {n for n in tenant_readers if not n.startswith("stg_landing__")} == {"int_tenants"}


def test_every_macro_is_described():
    described = {}
    for path in (PROJECT / "macros").glob("*.yml"):
        for macro in yaml.safe_load(path.read_text())["macros"]:
            described[macro["name"]] = macro.get("description", "").strip()
    defined = set()
    for path in (PROJECT / "macros").glob("*.sql"):
        defined |= set(re.findall(r"{%-?\s*macro\s+(\w+)\(", path.read_text()))
    public = {m for m in defined if "__" not in m}  # default__x / duckdb__x: dispatch targets
    assert public <= set(described), sorted(public - set(described))
    assert all(described[m] for m in public), [m for m in public if not described[m]]
