"""The dbt project's unit tests (rules in SQL) pass, run by dbt itself on an empty work file;
and the project is tagged the way the nightly build's model selection relies on."""

from __future__ import annotations

import json
import re

from customer_status.pipeline.build import RUN_PARAMETER_ENV


def test_dbt_unit_tests_pass(empty_build, run_dbt):
    proc = run_dbt(empty_build, "test", "--select", "test_type:unit")
    assert proc.returncode == 0, proc.stdout[-6000:]
    target = empty_build.dbt_target / "target"
    results = json.loads((target / "run_results.json").read_text())["results"]
    unit = [r for r in results if r["unique_id"].startswith("unit_test.")]
    assert len(unit) >= 36, [r["unique_id"] for r in results]
    assert all(r["status"] == "pass" for r in unit), [(r["unique_id"], r["status"]) for r in unit]


def test_models_reading_the_run_parameters_are_tagged_as_of_date(empty_build):
    """A nightly build rebuilds only what is downstream of new landing files or of a model
    tagged `as_of_date` (pipeline/build.py). A model that reads the as-of date or the run's id
    without the tag would keep last night's answer on a night without new files."""
    manifest = json.loads((empty_build.dbt_target / "target" / "manifest.json").read_text())
    # the macros that read a run parameter, directly or through another macro
    reading_macros = {"macro.customer_status.run_parameter"}
    while True:
        more = {
            uid
            for uid, m in manifest["macros"].items()
            if set(m["depends_on"]["macros"]) & reading_macros
        }
        if more <= reading_macros:
            break
        reading_macros |= more
    # or a run parameter directly: its var, or the environment variable the pipeline sets
    direct = re.compile(
        r"var\(\s*['\"](?:"
        + "|".join(RUN_PARAMETER_ENV)
        + r")['\"]|"
        + "|".join(RUN_PARAMETER_ENV.values())
    )
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    reading = {
        n["name"]
        for n in models
        if set(n["depends_on"]["macros"]) & reading_macros or direct.search(n["raw_code"])
    }
    assert {"customer_status", "int_run_parameters", "billing_restatements"} <= reading
    untagged = sorted(
        n["name"] for n in models if n["name"] in reading and "as_of_date" not in n["tags"]
    )
    assert not untagged, f"tag these models as_of_date: {untagged}"
