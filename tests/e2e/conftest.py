"""One generated landing zone and a few real runs of the command, shared by the e2e tests.

Each run is the real ``customer-status`` console script in a child process (Airflow's
``dag.test()`` in-process, dbt as its own child), as a user would type it.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

CLI = str(Path(sys.executable).with_name("customer-status"))

# the published tables that record the runs themselves: they differ between two histories
# of the same data, so comparisons of published nights leave them out
HISTORY_OF_RUNS = {"pipeline_runs", "billing_restatements"}


def published_rows(warehouse: Path, tenant: str | None = None) -> dict[str, list[tuple]]:
    """Every published mart's rows, sorted (the history of runs left out); with ``tenant``,
    only that tenant's rows of the marts that have ``tenant_id``."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = [
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
            ).fetchall()
            if name not in HISTORY_OF_RUNS
        ]
        tables = {}
        for name in names:
            if tenant is None:
                tables[name] = con.execute(f"select * from marts.{name} order by all").fetchall()
                continue
            columns = {d[0] for d in con.execute(f"select * from marts.{name} limit 0").description}
            if "tenant_id" in columns:
                tables[name] = con.execute(
                    f"select * from marts.{name} where tenant_id = ? order by all", [tenant]
                ).fetchall()
        return tables


@dataclass
class Run:
    code: int
    output: str


@dataclass
class Zone:
    landing: Path
    warehouse: Path
    work_db: Path
    generated: dict

    @classmethod
    def under(cls, root: Path, generated: dict | None = None) -> Zone:
        """The zone laid out as every test lays it out: ``root/landing``, the warehouse
        ``root/warehouse.duckdb`` and its work file beside it."""
        return cls(
            root / "landing",
            root / "warehouse.duckdb",
            root / "warehouse.work" / "work.duckdb",
            generated or {},
        )

    def run(self, *args: str, env: dict | None = None) -> Run:
        proc = subprocess.run(
            [CLI, "run", *args, "--landing", str(self.landing), "--warehouse", str(self.warehouse)],
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            timeout=600,
        )
        return Run(proc.returncode, proc.stdout + proc.stderr)

    def published(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql).fetchall()

    def work(self, sql: str, *params) -> list[tuple]:
        with duckdb.connect(str(self.work_db), read_only=True) as con:
            return con.execute(sql, list(params)).fetchall()


@pytest.fixture(scope="session")
def zone(tmp_path_factory) -> Zone:
    root = tmp_path_factory.mktemp("e2e")
    landing = root / "landing"
    proc = subprocess.run(
        [CLI, "generate", "--out", str(landing), "--customers", "300", "--seed", "7", "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    generated = json.loads((landing / "_GENERATED.json").read_text())
    return Zone.under(root, generated)


REAL_INPUTS = Path(__file__).with_name("real_inputs") / "landing"
REAL_INPUTS_AS_OF = "2026-03-31"


@pytest.fixture(scope="session")
def real_inputs(tmp_path_factory) -> tuple[Zone, Run]:
    """The hand-made landing zone of ``tests/e2e/real_inputs/`` and one night over it, for
    ``REAL_INPUTS_AS_OF``. Every ``test_real_inputs_*.py`` module asserts on this one run."""
    root = tmp_path_factory.mktemp("real-inputs")
    landing = root / "landing"
    shutil.copytree(REAL_INPUTS, landing)
    zone = Zone.under(root)
    # also one file per tenant, without personal data (test_real_inputs_pertenant.py)
    return zone, zone.run(
        "--date", REAL_INPUTS_AS_OF, "--publish-per-tenant", "--publish-pii", "none"
    )


ONE_NIGHT = Path(__file__).with_name("one_night") / "landing"
ONE_NIGHT_AS_OF = "2026-03-31"


@pytest.fixture(scope="session")
def one_night(tmp_path_factory) -> tuple[Zone, Run]:
    """The hand-written timelines of ``tests/e2e/one_night/`` and one plain night over them,
    for ``ONE_NIGHT_AS_OF``: test_status_timelines.py (tenants ``ny``, ``eng``, ``sun``) and
    test_account_status.py (tenant ``t1``) assert on this one run; test_erasure.py (tenant
    ``er1``) starts its later nights from a copy of it."""
    root = tmp_path_factory.mktemp("one-night")
    shutil.copytree(ONE_NIGHT, root / "landing")
    zone = Zone.under(root)
    return zone, zone.run("--date", ONE_NIGHT_AS_OF)


TWO_NIGHTS = Path(__file__).with_name("two_nights")


@dataclass
class TwoNights:
    """``tests/e2e/two_nights/``: the published warehouse after each of its steps, and the
    work file's dbt builds after night 2."""

    zone: Zone
    after_night_1: Path
    after_night_2: Path
    builds_after_night_2: list[bool]
    rebuilt_in_place: Path
    fresh_rebuild: Path

    @staticmethod
    def published(warehouse: Path, sql: str, *params) -> list[tuple]:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return con.execute(sql, list(params)).fetchall()


def _ran(run: Run, what: str) -> None:
    assert run.code == 0, f"{what}: {run.output[-4000:]}"


@pytest.fixture(scope="session")
def two_nights(tmp_path_factory) -> TwoNights:
    """Night 1 (2026-03-25) over ``night_1/``; ``night_2/`` landed and night 2 (2026-03-31,
    incremental); the same work file rebuilt for 2026-03-31; and a fresh warehouse over both
    folders in one night. Each case of ``two_nights/README.md`` asserts on these."""
    root = tmp_path_factory.mktemp("two-nights")
    zone = Zone.under(root)
    shutil.copytree(TWO_NIGHTS / "night_1", zone.landing)
    _ran(zone.run("--date", "2026-03-25"), "night 1")
    after_1 = shutil.copyfile(zone.warehouse, root / "after-night-1.duckdb")
    shutil.copytree(TWO_NIGHTS / "night_2", zone.landing, dirs_exist_ok=True)
    _ran(zone.run("--date", "2026-03-31"), "night 2")
    after_2 = shutil.copyfile(zone.warehouse, root / "after-night-2.duckdb")
    builds = [r[0] for r in zone.work("select full_refresh from ops.dbt_builds order by built_at")]
    _ran(
        zone.run("--date", "2026-03-31", env={"CUSTOMER_STATUS_FULL_REFRESH": "1"}),
        "rebuild in place",
    )
    fresh = Zone.under(root / "fresh")
    shutil.copytree(TWO_NIGHTS / "night_1", fresh.landing)
    shutil.copytree(TWO_NIGHTS / "night_2", fresh.landing, dirs_exist_ok=True)
    _ran(fresh.run("--date", "2026-03-31"), "fresh rebuild")
    return TwoNights(zone, Path(after_1), Path(after_2), builds, zone.warehouse, fresh.warehouse)


# The generated zone's nights also publish one file per tenant (set by the environment, with
# personal data: test_publish_per_tenant.py); a dashboard holds one open during night 2.
PER_TENANT = {"CUSTOMER_STATUS_PUBLISH_PER_TENANT": "1"}


@pytest.fixture(scope="session")
def first_night(zone) -> Run:
    return zone.run("--date", "2026-11-01", env=PER_TENANT)


@pytest.fixture(scope="session")
def second_night(zone, first_night) -> dict:
    """Re-land a loaded file under a new name, land one new file, and run the next night
    while a dashboard holds the published warehouse open read-only."""
    before_rejects = zone.published("select count(*) from marts.import_rejects")[0][0]
    loaded = sorted((zone.landing / "orders").rglob("*.parquet"))[0]
    copy = loaded.with_name("re-landed-" + loaded.name)
    shutil.copyfile(loaded, copy)
    new = zone.landing / "orders" / "late" / "2026-11-02.csv"
    new.parent.mkdir(parents=True)
    new.write_text(
        "tenant_id,order_id,customer_id,created_at,paid_at,amount,currency\n"
        "t1,late-1,C0000001,2026-11-02T09:00:00Z,2026-11-02T09:01:00Z,10.00,EUR\n"
        "t1,late-2,C0000001,2026-11-02T10:00:00Z,,5.00,EUR\n"
    )
    dbt_log = zone.work_db.parent / "dbt" / "logs" / "dbt.log"
    dbt_log_before = dbt_log.stat().st_size
    dashboard = duckdb.connect(str(zone.warehouse), read_only=True)
    tenant_file = zone.warehouse.parent / "tenants" / "t1.duckdb"
    tenant_dashboard = duckdb.connect(str(tenant_file), read_only=True)
    try:
        run = zone.run("--date", "2026-11-02", env=PER_TENANT)
        seen_by_open_reader = dashboard.execute(
            "select count(*) from marts.pipeline_runs"
        ).fetchone()[0]
        seen_by_open_tenant_reader = tenant_dashboard.execute(
            "select count(*), max(as_of_date) from marts.pipeline_runs"
        ).fetchone()
    finally:
        dashboard.close()
        tenant_dashboard.close()
    return {
        "run": run,
        "copy": copy.relative_to(zone.landing).as_posix(),
        "new": new.relative_to(zone.landing).as_posix(),
        "before_rejects": before_rejects,
        "seen_by_open_reader": seen_by_open_reader,
        "seen_by_open_tenant_reader": seen_by_open_tenant_reader,
        "dbt_log": dbt_log.read_bytes()[dbt_log_before:].decode(errors="replace"),
    }


@pytest.fixture(scope="session")
def failed_night(zone, second_night, tmp_path_factory) -> dict:
    """A night whose dbt build fails (a data test that always fails): nothing is published."""
    project = tmp_path_factory.mktemp("broken") / "dbt_project"
    shutil.copytree(
        Path(__file__).resolve().parents[2] / "dbt_project",
        project,
        ignore=shutil.ignore_patterns("target", "logs"),
    )
    (project / "tests" / "always_fails.sql").write_text("select 1 as broken_on_purpose\n")
    before = zone.published("select * from marts.import_rejects order by all")
    run = zone.run("--date", "2026-11-03", env={"CUSTOMER_STATUS_DBT_PROJECT": str(project)})
    return {"run": run, "rejects_before": before}


# --- the generated history of test_determinism.py, shared with test_kill.py and test_failed_audit.py

PROPERTY_SEED = int(os.environ.get("CUSTOMER_STATUS_PROPERTY_SEED", "11"))
PROPERTY_NIGHTS = ["2026-10-31", "2026-11-01"]
_DAILY = re.compile(r"(\d{4}-\d{2}-\d{2})\.\w+$")


def land_generated(source: Path, landing: Path, up_to: str | None) -> None:
    """Copy the generated files into ``landing``: undated ones always, dated ones up to a day
    (``None``: all of them). Files already there are left as they are."""
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.name == "_GENERATED.json":
            continue
        found = _DAILY.search(path.name)
        if up_to is not None and found is not None and found.group(1) > up_to:
            continue
        target = landing / path.relative_to(source)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


@dataclass
class GeneratedHistory:
    """Generated files (``--customers 200 --days 30``, seed ``PROPERTY_SEED``, ending on the
    last of ``PROPERTY_NIGHTS``; status-import files with rows lacking an ``Effective At`` left
    out), and a zone as it stood after the first night of the night-by-night history: the
    files dated up to ``PROPERTY_NIGHTS[0]`` landed, one night run for that date on a new
    warehouse. ``copy_after_first_night`` hands each user its own copy of that zone."""

    generated: Path
    after_first_night: Path  # a folder: landing/, warehouse.duckdb, warehouse.work/
    seed: int = PROPERTY_SEED
    nights: tuple[str, ...] = tuple(PROPERTY_NIGHTS)

    def land(self, landing: Path, up_to: str | None) -> None:
        land_generated(self.generated, landing, up_to)

    def copy_after_first_night(self, root: Path) -> Zone:
        shutil.copytree(self.after_first_night, root, dirs_exist_ok=True)
        return Zone.under(root)


@pytest.fixture(scope="session")
def generated_history(tmp_path_factory) -> GeneratedHistory:
    root = tmp_path_factory.mktemp("generated-history")
    generated = root / "generated"
    proc = subprocess.run(
        [
            CLI,
            "generate",
            "--out",
            str(generated),
            "--customers",
            "200",
            "--days",
            "30",
            "--seed",
            str(PROPERTY_SEED),
            "--end-date",
            PROPERTY_NIGHTS[-1],
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    for path in (generated / "status_imports").rglob("*.csv"):
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = [{k.strip().lower(): v for k, v in row.items()} for row in csv.DictReader(f)]
        if not all((row.get("effective at") or "").strip() for row in rows):
            path.unlink()
    first = root / "after-first-night"
    zone = Zone.under(first)
    land_generated(generated, zone.landing, up_to=PROPERTY_NIGHTS[0])
    _ran(zone.run("--date", PROPERTY_NIGHTS[0]), f"night {PROPERTY_NIGHTS[0]}")
    return GeneratedHistory(generated, first)
