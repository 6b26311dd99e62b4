"""The published tables explain and enforce themselves, shown on the hand-made night
(``tests/e2e/real_inputs/``; this module lands no files of its own, it reads the night's
published warehouse and work area):

- every published mart has exactly its contracted columns and types (``published.marts``,
  read from the marts' dbt YAML), and nothing else is published but the run log;
- an enforced contract fails the build when a mart's column or type changes: a copy of the
  dbt project with two marts' SQL changed, built with ``dbt build --select`` those models
  only against a copy of the night's working file;
- ``customer-status docs`` builds the dbt docs site and links the night's Data Docs, and
  dbt-coverage reports 100 % of the columns of every mart and every source described.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import CLI, REAL_INPUTS_AS_OF

from customer_status.pipeline import published

pytestmark = pytest.mark.e2e

PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
DBT = str(Path(sys.executable).with_name("dbt"))
DBT_COVERAGE = str(Path(sys.executable).with_name("dbt-coverage"))


def _columns(con, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, lower(data_type) from duckdb_columns() "
        "where schema_name = ? and table_name = ? order by column_index",
        [schema, table],
    ).fetchall()


def test_the_published_tables_are_the_contracted_marts_with_their_types(real_inputs):
    zone, run = real_inputs
    assert run.code == 0, run.output
    marts = published.marts(PROJECT)
    with duckdb.connect(str(zone.warehouse), read_only=True) as con:
        tables = {
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts'"
            ).fetchall()
        }
        assert tables == set(marts) | {"pipeline_runs"}
        for mart in marts.values():
            assert _columns(con, "marts", mart.name) == list(mart.columns), mart.name


def _dbt_build(project: Path, work_db: Path, target: Path, *models: str):
    return subprocess.run(
        [
            DBT,
            "build",
            "--select",
            *models,
            "--exclude-resource-type",
            "unit_test",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target-path",
            str(target),
            "--log-path",
            str(target / "logs"),
        ],
        env={
            **os.environ,
            "CUSTOMER_STATUS_WORK_DB": str(work_db),
            "CUSTOMER_STATUS_AS_OF_DATE": REAL_INPUTS_AS_OF,
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_USE_COLORS": "false",
        },
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_an_enforced_contract_fails_the_build_when_a_marts_column_or_type_changes(
    real_inputs, tmp_path
):
    zone, run = real_inputs
    assert run.code == 0, run.output
    work_db = tmp_path / "work.duckdb"
    shutil.copyfile(zone.work_db, work_db)
    project = tmp_path / "dbt_project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("target", "logs"))

    # the unchanged project builds those two models against this work file
    control = _dbt_build(project, work_db, tmp_path / "control", "billing_monthly", "orders")
    assert control.returncode == 0, control.stdout[-4000:]

    # billing_monthly: one column's type changes; orders: one column disappears
    for model, select in (
        (
            "billing/billing_monthly.sql",
            "select * replace (cast(days_computed as integer) as days_computed) from final",
        ),
        ("account/orders.sql", "select * exclude (currency) from final"),
    ):
        sql = project / "models" / "marts" / model
        text = sql.read_text()
        assert text.rstrip().endswith("select * from final"), model
        sql.write_text(text.rstrip().removesuffix("select * from final") + select + "\n")
    broken = _dbt_build(project, work_db, tmp_path / "broken", "billing_monthly", "orders")
    output = broken.stdout + broken.stderr
    assert broken.returncode != 0, output[-4000:]
    results = json.loads((tmp_path / "broken" / "run_results.json").read_text())["results"]
    status = {r["unique_id"]: r["status"] for r in results}
    assert status["model.customer_status.billing_monthly"] == "error", status
    assert status["model.customer_status.orders"] == "error", status
    messages = " ".join(r.get("message") or "" for r in results)
    assert "contract" in messages.lower(), messages
    assert "days_computed" in messages and "currency" in messages, messages
    # the tables stay as the contract says: the failed build replaced nothing
    with duckdb.connect(str(work_db), read_only=True) as con:
        marts = published.marts(PROJECT)
        for table in ("billing_monthly", "orders"):
            assert _columns(con, "marts", table) == list(marts[table].columns), table


@pytest.fixture(scope="module")
def docs_site(real_inputs, tmp_path_factory) -> dict:
    zone, run = real_inputs
    assert run.code == 0, run.output
    out = tmp_path_factory.mktemp("docs") / "site"
    proc = subprocess.run(
        [CLI, "docs", "--warehouse", str(zone.warehouse), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    return {"zone": zone, "out": out, "proc": proc}


def test_docs_builds_the_dbt_site_links_the_data_docs_and_prints_where_they_are(docs_site):
    proc, out = docs_site["proc"], docs_site["out"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    printed = dict(line.split(": ", 1) for line in proc.stdout.splitlines() if ": " in line)
    index = Path(printed["docs index"])
    static = Path(printed["dbt docs (tables, columns, lineage)"])
    data_docs = Path(printed["Great Expectations Data Docs (import checks)"])
    assert index == out / "index.html" and static == out / "dbt" / "static_index.html"
    assert (
        data_docs
        == docs_site["zone"].work_db.parent
        / "gx"
        / "uncommitted"
        / "data_docs"
        / "local_site"
        / "index.html"
    )
    for path in (index, static, data_docs):
        assert path.is_file() and path.stat().st_size > 0, path
    page = index.read_text()
    assert static.as_uri() in page and data_docs.as_uri() in page
    site = static.read_text()  # one self-contained page: manifest and catalog inlined
    assert "model.customer_status.billing_restatements" in site
    assert "the number finance bills on" in site  # a column's description
    assert REAL_INPUTS_AS_OF in page


def _coverage(out: Path, report: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            DBT_COVERAGE,
            "compute",
            "doc",
            "--project-dir",
            str(PROJECT),
            "--run-artifacts-dir",
            str(out / "dbt"),
            "--cov-report",
            str(report),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_dbt_coverage_reports_every_mart_and_source_column_described(docs_site, tmp_path):
    out = docs_site["out"]
    assert docs_site["proc"].returncode == 0, docs_site["proc"].stdout
    marts = _coverage(
        out,
        tmp_path / "marts.json",
        "--model-path-filter",
        "models/marts/",
        "--cov-fail-under",
        "1.0",
    )
    assert marts.returncode == 0, marts.stdout + marts.stderr
    report = json.loads((tmp_path / "marts.json").read_text())
    covered = {t["name"] for t in report["tables"] if t["name"].startswith("marts.")}
    assert covered == {f"marts.{m}" for m in published.marts(PROJECT)}
    assert report["coverage"] == 1.0 and report["total"] > 100

    # the sources (landing raw tables and the published snapshot) are described too
    everything = _coverage(out, tmp_path / "all.json")
    assert everything.returncode == 0, everything.stdout + everything.stderr
    tables = json.loads((tmp_path / "all.json").read_text())["tables"]
    sources = {
        t["name"]: t["coverage"] for t in tables if t["name"].startswith(("raw.", "published."))
    }
    assert len(sources) >= 14, sources
    assert all(c == 1.0 for c in sources.values()), sources


def test_docs_without_a_night_says_so_and_exits_2(tmp_path):
    proc = subprocess.run(
        [CLI, "docs", "--warehouse", str(tmp_path / "nothing.duckdb")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no night has run" in proc.stderr and "customer-status run --date" in proc.stderr
    assert not (tmp_path / "nothing.work" / "docs").exists()
