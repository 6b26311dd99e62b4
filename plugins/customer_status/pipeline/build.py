"""Run ``dbt build`` on the working file: one dbt process per run, the only writer meanwhile.

The status engine's per-customer models are incremental (they recompute only the customers
touched by data loaded since the last build, ``int_customers_touched``). A build is a full
refresh instead when the dbt project itself changed since the last successful build (its
fingerprint is kept in ``ops.dbt_builds``), or when ``CUSTOMER_STATUS_FULL_REFRESH=1``.

Otherwise a build rebuilds only what can have changed since the last successful build: the
models downstream of a landing source that received files since then, and those downstream
of a model that reads the as-of date (tagged ``as_of_date``: the marts clip at D). Every other
model is a pure function of sources that did not change, so its table is already right; an
empty night then costs the as-of-date models and dbt's start-up, not a rebuild of everything.
A night that loaded nothing also leaves out the per-customer models (tag ``per_customer``):
they are downstream of the run's parameters only through ``int_customers_touched``, which is
empty then, so they would delete and append nothing.

dbt runs in a child process: the DuckDB file is released when it exits (dbt-duckdb keeps
its database open inside a process, docs/stack-notes.md), and a crash in dbt cannot take the run's
bookkeeping with it. Its output is streamed to the log line by line, so long builds show
progress.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .. import pipeline_db, started_ahead
from ..settings import Paths

log = logging.getLogger(__name__)
PROGRESS = re.compile(
    r"\d+ of \d+ (OK|PASS|ERROR|FAIL|WARN|SKIP)|Done\. PASS=|Completed|Finished running"
)


class BuildFailed(Exception):
    """dbt build failed; the message names the failing models and tests."""


def dbt_command(paths: Paths, *args: str) -> list[str]:
    dbt = Path(sys.executable).with_name("dbt")
    return [
        str(dbt) if dbt.exists() else "dbt",
        *args,
        "--project-dir",
        str(paths.dbt_project),
        "--profiles-dir",
        str(paths.dbt_project),
        "--target-path",
        str(paths.dbt_target / "target"),
        "--log-path",
        str(paths.dbt_target / "logs"),
    ]


def dbt_env(paths: Paths) -> dict[str, str]:
    """dbt's environment. The profile's DuckDB path is the work file's name, relative to the
    folder dbt runs in (``dbt_folder``): the same in every work area, so that dbt's saved
    parse of the project serves every work area (``_reuse_parse``; dbt parses again when a
    profile value changes)."""
    return {
        **os.environ,
        "CUSTOMER_STATUS_WORK_DB": paths.work_db.name,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
    }


def dbt_folder(paths: Paths) -> Path:
    """The folder every dbt command runs in: the work area, where the work file is (made if
    it is missing)."""
    paths.work_db.parent.mkdir(parents=True, exist_ok=True)
    return paths.work_db.parent


# dbt's saved parse of the project (``partial_parse.msgpack`` in its target folder)
SAVED_PARSE = "partial_parse.msgpack"


def shared_parse(paths: Paths, engine: str) -> Path:
    """The last saved parse of the project by any work area, per engine (its profile target),
    in the project's own (git-ignored) ``target`` folder."""
    return paths.dbt_project / "target" / f"{engine}-{SAVED_PARSE}"


def _reuse_parse(paths: Paths, engine: str) -> None:
    """Before a build: a work area without a saved parse of its own (its first night) starts
    from the shared one, so dbt parses only the files that differ (it checks each file's
    hash, dbt's version, the profile and the variables, and parses whole when they differ).
    A full parse of the project takes 5-9 s."""
    own = paths.dbt_target / "target" / SAVED_PARSE
    shared = shared_parse(paths, engine)
    if own.exists() or not shared.exists():
        return
    own.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        shutil.copy2(shared, own)  # its modification time too: ``_share_parse``


def _share_parse(paths: Paths, engine: str) -> None:
    """After a build: its saved parse becomes the shared one (replaced whole, with the
    saved parse's modification time, so that a build that saved nothing new copies nothing;
    a project folder that cannot be written keeps none)."""
    own = paths.dbt_target / "target" / SAVED_PARSE
    shared = shared_parse(paths, engine)
    if not own.exists() or _same_file_stat(own, shared):
        return
    partial = shared.with_name(f".{shared.name}.{os.getpid()}")
    try:
        shared.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(own, partial)
        os.replace(partial, shared)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)


def _same_file_stat(a: Path, b: Path) -> bool:
    """Whether ``b`` has ``a``'s size and modification time (a copy made with copy2)."""
    try:
        sa, sb = a.stat(), b.stat()
    except OSError:
        return False
    return (sa.st_size, sa.st_mtime_ns) == (sb.st_size, sb.st_mtime_ns)


FULL_REFRESH_ENV = "CUSTOMER_STATUS_FULL_REFRESH"
# landing sources that change without a file of their own: any new file adds to them
LEDGER_SOURCES = ("ingest_ledger", "import_rejects")
# the run's as-of date (models tagged in dbt) and the published figures copied in each run
ALWAYS_SELECTED = ("tag:as_of_date+", "source:published+")
# the status engine's per-customer models (dbt_project.yml tags their folder): on a night
# that loaded nothing, no customer is touched, so they would delete and append nothing
PER_CUSTOMER_TAG = "tag:per_customer"
# the status engine's last model: without its table a build recomputes every customer
STATUS_ENGINE_TABLE = ("intermediate", "int_customer_status_segments")


def project_fingerprint(paths: Paths) -> str:
    """A hash of everything in the dbt project that decides what the models compute."""
    project = paths.dbt_project
    files = [project / "dbt_project.yml"]
    for folder in ("models", "macros", "seeds", "tests"):
        files += sorted(p for p in (project / folder).rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(project).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class BuildPlan:
    """What tonight's ``dbt build`` rebuilds. ``changed_sources`` None = every model."""

    fingerprint: str
    full_refresh: bool
    through_load_id: int  # the highest load id in the ledger when the build starts
    changed_sources: tuple[str, ...] | None
    # no new file since the last build and the status engine's tables exist: its
    # per-customer models are left out (nothing touches a customer, so they would delete and
    # append nothing; their inputs are unchanged, so their data tests' verdicts stand)
    skips_per_customer: bool = False

    def dbt_args(self) -> tuple[str, ...]:
        """The ``dbt build`` arguments that carry out this plan."""
        if self.full_refresh:
            return ("--full-refresh",)
        if self.changed_sources is None:
            return ()
        landing = [*self.changed_sources, *(LEDGER_SOURCES if self.changed_sources else ())]
        selectors = [f"source:landing.{name}+" for name in landing] + list(ALWAYS_SELECTED)
        exclude = ("--exclude", PER_CUSTOMER_TAG) if self.skips_per_customer else ()
        return ("--select", " ".join(selectors), *exclude)

    def describe(self) -> str:
        if self.full_refresh:
            return "full refresh: every model rebuilt whole"
        if self.changed_sources is None:
            return "every model"
        changed = ", ".join(self.changed_sources) or "no new files"
        kept = (
            "; no customer touched, the per-customer models kept" if self.skips_per_customer else ""
        )
        return f"models downstream of the as-of date and of new landing files ({changed}){kept}"


def plan_build(
    con: duckdb.DuckDBPyConnection, fingerprint: str, engine: str = "duckdb"
) -> BuildPlan:
    """Compare the ledger and the project with the last successful build (``ops.dbt_builds``).

    A full refresh when the project changed (or none ran yet, or the operator asked for it),
    or when the last build ran on another engine (``engine_fingerprint``: the engines keep
    their own tables, so a switch rebuilds everything); otherwise the landing sources with
    files loaded or rejected since that build."""
    fingerprint = engine_fingerprint(fingerprint, engine)
    pipeline_db.ensure(con, pipeline_db.DBT_BUILDS)
    through = con.execute("select coalesce(max(load_id), -1) from raw.ingest_ledger").fetchone()[0]
    last = con.execute(
        "select fingerprint, through_load_id from ops.dbt_builds order by built_at desc limit 1"
    ).fetchone()
    forced = os.environ.get(FULL_REFRESH_ENV, "").strip() in ("1", "true", "yes")
    if forced or last is None or last[0] != fingerprint:
        return BuildPlan(fingerprint, True, through, None)
    if last[1] is None:  # built before builds recorded their watermark
        return BuildPlan(fingerprint, False, through, None)
    if _scrubbed_since(con, last[1]):
        # an erasure (rules §12, ingest/erasure.py) changed raw rows in place: every model
        # is rebuilt whole, so no table keeps a copy of an erased value
        return BuildPlan(fingerprint, True, through, None)
    changed = con.execute(
        "select distinct source from raw.ingest_ledger where load_id > ? order by source",
        [last[1]],
    ).fetchall()
    changed_sources = tuple(name for (name,) in changed)
    # Spark keeps the engine's tables on the cluster: its nights keep the whole selection
    skips = not changed_sources and engine == "duckdb" and _status_engine_built(con)
    return BuildPlan(fingerprint, False, through, changed_sources, skips)


def _status_engine_built(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the work file has the status engine's last table (else the build recomputes
    every customer, ``is_full_build`` in macros/per_customer.sql)."""
    return pipeline_db.has_table(con, *STATUS_ENGINE_TABLE)


def _scrubbed_since(con: duckdb.DuckDBPyConnection, through_load_id: int) -> bool:
    """Whether an erasure scrub changed raw rows after the build that read up to
    ``through_load_id``."""
    if not pipeline_db.has_table(con, "ops", "erasure_scrubs"):
        return False
    return bool(
        con.execute(
            "select count(*) from ops.erasure_scrubs where through_load_id > ? "
            "and rows_changed > 0",
            [through_load_id],
        ).fetchone()[0]
    )


def record_build(con: duckdb.DuckDBPyConnection, run_id: str, plan: BuildPlan) -> None:
    """A successful build of ``plan`` (project fingerprint and ledger watermark taken before
    it ran)."""
    pipeline_db.ensure(con, pipeline_db.DBT_BUILDS)
    con.execute(
        """insert into ops.dbt_builds (run_id, built_at, fingerprint, full_refresh, through_load_id)
        values (?, current_timestamp::timestamp, ?, ?, ?)""",
        [run_id, plan.fingerprint, plan.full_refresh, plan.through_load_id],
    )


# The run's parameters reach dbt as environment variables, not `--vars`: vars that change
# every night make dbt re-parse the whole project (seconds per run), a changed environment
# variable only the files that read it (macros/as_of_date.sql, billing_restatements.sql).
RUN_PARAMETER_ENV = {
    "as_of_date": "CUSTOMER_STATUS_AS_OF_DATE",
    "run_id": "CUSTOMER_STATUS_RUN_ID",
    "run_started_at": "CUSTOMER_STATUS_RUN_STARTED_AT",
}


ENGINE_ENV = "CUSTOMER_STATUS_ENGINE"
ENGINES = ("duckdb", "spark")


def resolve_engine(engine: str | None = None) -> str:
    """The engine dbt builds on: ``engine`` (flag, DAG param), else ``CUSTOMER_STATUS_ENGINE``,
    else DuckDB. Ingestion, checks, audits and publishing always run on DuckDB."""
    chosen = (engine or os.environ.get(ENGINE_ENV) or "duckdb").strip().lower()
    if chosen not in ENGINES:
        raise ValueError(f"unknown engine {chosen!r} (expected one of: {', '.join(ENGINES)})")
    return chosen


def engine_fingerprint(fingerprint: str, engine: str) -> str:
    """The fingerprint a build on ``engine`` is recorded under. A Spark build's tables live on
    the cluster (the working file gets copies), a DuckDB build's in the working file: each
    engine's incremental night continues only its own last build, and the first night after
    a switch of engine is a full refresh."""
    return fingerprint if engine == "duckdb" else f"{engine}:{fingerprint}"


def run_dbt_build(
    paths: Paths,
    as_of_date: str,
    plan: BuildPlan,
    run_vars: dict[str, str] | None = None,
    engine: str = "duckdb",
) -> BuildPlan:
    """``plan``: what to rebuild (``plan_build`` for ``engine``). ``run_vars``: the
    run's id and start (``run_id``, ``run_started_at``), stamped on the billing restatements
    it records. ``engine``: ``duckdb`` (in the working file) or ``spark``
    (``customer_status.spark.night``: on the cluster, tables copied back). Returns the plan
    it carried out: on Spark, a full refresh instead when the last Spark build did not
    finish (its tables may lack the customers it was recomputing: a table on the cluster
    has no transaction to roll back)."""
    if engine == "spark":
        from ..spark import night

        if not plan.full_refresh and night.unfinished_marker(paths.work_dir).exists():
            log.warning(
                "the last Spark build in %s did not finish: tonight's is a full refresh",
                paths.work_dir,
            )
            plan = BuildPlan(plan.fingerprint, True, plan.through_load_id, None)
    parameters = {"as_of_date": as_of_date, **(run_vars or {})}
    env = dbt_env(paths)
    env.update({RUN_PARAMETER_ENV[name]: value for name, value in parameters.items()})
    # unit tests check the rules, not the night's data: `make test` runs them (tests/dbt)
    args = ["--exclude-resource-type", "unit_test", *plan.dbt_args()]
    log.info(
        "dbt build for %s: %s (engine %s)",
        as_of_date,
        plan.describe(),
        engine,
        extra={"summary": True},
    )
    if engine == "spark":
        night.run_build(paths, as_of_date, env, args)
    else:
        run_dbt(paths, as_of_date, args, env)
    return plan


# the dbt child started ahead (``started_ahead``): imports dbt, then waits for its command
DBT_CHILD = [sys.executable, "-m", "customer_status.pipeline.dbt_child"]


def prepare_dbt() -> None:
    """Start the next build's dbt process now (``dbt_child``, where the night runs in this
    process: ``started_ahead``): it imports dbt while the night ingests and checks, and waits
    for its command. A prepared child still waiting is kept (it holds nothing: the next build
    uses it)."""
    started_ahead.start(
        "dbt",
        DBT_CHILD,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_die_with_parent,
    )


def _dbt_process(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
    """``cmd`` (``dbt_command``) running: in the child started ahead when there is one still
    waiting, else in a new ``dbt`` process (the same command line either way)."""
    command = json.dumps({"args": cmd[1:], "env": env, "cwd": str(cwd)})
    proc = started_ahead.take("dbt", DBT_CHILD, command)
    if proc is not None:
        return proc
    return subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=cwd,
        preexec_fn=_die_with_parent,
    )


def run_dbt(
    paths: Paths, as_of_date: str, args: list[str], env: dict[str, str], engine: str = "duckdb"
) -> None:
    """``dbt build`` with ``args`` in a child process (the one ``prepare_dbt`` started, if
    any), its output streamed to the log. ``engine``: the profile's target ``args`` name."""
    cmd = dbt_command(paths, "build", *args)
    _reuse_parse(paths, engine)
    with _dbt_process(cmd, env, dbt_folder(paths)) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            # one line per finished model/test (progress on long builds); the rest at DEBUG
            level = logging.INFO if PROGRESS.search(line) else logging.DEBUG
            log.log(level, "dbt | %s", line.rstrip())
    if proc.returncode != 0:
        raise BuildFailed(_failures(paths) or f"dbt build exited with {proc.returncode}")
    _share_parse(paths, engine)


def _die_with_parent() -> None:
    """In the dbt child: get SIGKILL when the run's process dies (Linux), so a killed run
    never leaves an orphaned dbt holding the working file's lock."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _failures(paths: Paths) -> str:
    results = paths.dbt_target / "target" / "run_results.json"
    if not results.exists():
        return ""
    failed = [
        f"{r['unique_id']}: {(r.get('message') or r['status']).strip()}"
        for r in json.loads(results.read_text())["results"]
        if r["status"] in ("error", "fail")
    ]
    return "dbt build failed: " + "; ".join(failed) if failed else ""
