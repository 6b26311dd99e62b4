"""What every Great Expectations step of the night shares: the DuckDB fix, the project's
GX context and datasources (the working DuckDB file; the Spark cluster for the audits of a
night built there), suites read from ``expectations/``, and the child process.

Both GX steps (``gx_imports`` before dbt, ``gx_reclassification`` after it) run GX in a
child process: GX opens the working DuckDB file through SQLAlchemy, and a separate process
guarantees that handle is gone before the next writer starts (one DuckDB configuration per
process). The child prints one JSON document; values that JSON has no type for (dates,
timestamps, decimals) travel tagged, so sample rows read the same on both sides.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from .. import started_ahead
from ..settings import PROJECT_ROOT, Paths, duckdb_memory_limit

SUITES = Path(os.environ.get("CUSTOMER_STATUS_EXPECTATIONS") or PROJECT_ROOT / "expectations")
SAMPLE = 5  # sample rows per failed check (and tenant)


class _DuckDBDialect(str):
    """A dialect entry for GX's persisted-connection list: equal to "duckdb" and with ``.value``."""

    value = "duckdb"


def patch_gx_for_duckdb() -> None:
    """GX 1.24's SQL path fails every expectation on DuckDB ("list index out of range", GX
    issues 10738 and 11579): it closes the SQLAlchemy connection before fetching, and
    duckdb-engine results do not survive that. GX keeps one connection open for the dialects
    in ``_PERSISTED_CONNECTION_DIALECTS``; adding duckdb there fixes it.
    ``tests/unit/test_expectations.py`` fails loudly if a GX upgrade moves this."""
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    dialects = engine._PERSISTED_CONNECTION_DIALECTS
    if "duckdb" not in dialects:
        engine._PERSISTED_CONNECTION_DIALECTS = (*dialects, _DuckDBDialect("duckdb"))


def import_gx():
    """``great_expectations``, quiet (it logs hundreds of INFO lines at import) and patched."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    from . import gx_counted_once  # noqa: F401 (registers its expectation type with GX)

    patch_gx_for_duckdb()
    return gx


def file_context(gx, paths: Paths):
    """The night's GX project in the work area: one store and one Data Docs site for every
    suite, so the import and reclassification results sit side by side, night after night."""
    return gx.get_context(mode="file", project_root_dir=str(paths.work_dir))


def work_datasource(context, work_db: Path, name: str = "work"):
    """The working DuckDB file as a GX SQL datasource (SQL pushdown: GX sends queries); one
    per step (``name``), as each step redefines its assets every night."""
    return context.data_sources.add_or_update_sql(
        name=name,
        connection_string=f"duckdb:///{work_db}",
        kwargs=engine_kwargs(),
    )


def cluster_datasource(context, address, name: str = "cluster"):
    """The Spark cluster's Thrift server (``spark.cluster.Thrift``) as a GX SQL datasource
    through PyHive's SQLAlchemy dialect: the same SQL pushdown as ``work_datasource``, run by
    the cluster on the tables it built (a night with ``--engine spark``)."""
    from ..spark import cluster

    url, kwargs = cluster.sqlalchemy_engine_args(address)
    return context.data_sources.add_or_update_sql(name=name, connection_string=url, kwargs=kwargs)


def engine_kwargs() -> dict:
    """SQLAlchemy engine arguments of GX's DuckDB connections: the run's DuckDB settings
    (``pipeline_db.tune``) as connect-time config."""
    return {
        "connect_args": {"config": {"memory_limit": duckdb_memory_limit()}},
    }


def isolate_failures(execution_engine) -> None:
    """GX keeps one DuckDB connection open (``patch_gx_for_duckdb``) and its queries share
    one transaction: after one fails (a check that names a missing column) every later
    expectation would fail with "Current transaction is aborted". Roll the failed one back
    at once, so each expectation reports its own error."""
    import sqlalchemy as sa

    def rollback(context) -> None:
        dbapi = getattr(context.connection, "connection", None)
        if dbapi is not None:
            try:
                dbapi.driver_connection.rollback()
            except Exception:  # nothing to roll back: the next query says what is wrong
                pass

    sa.event.listen(execution_engine.engine, "handle_error", rollback)


def update_data_docs(context, checkpoint_result) -> str | None:
    """Render this checkpoint's results and suites into the Data Docs site in one build and
    return the site's index. (GX's ``UpdateDataDocsAction`` rebuilds the site once per
    validation: 0.8 s each, most of a checkpoint's time.)"""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    validated = list(checkpoint_result.run_results)
    suites = {
        ExpectationSuiteIdentifier(name=v.suite_name)
        for v in checkpoint_result.run_results.values()
    }
    context.build_data_docs(resource_identifiers=[*validated, *sorted(suites, key=str)])
    docs = context.get_docs_sites_urls()
    return docs[0]["site_url"] if docs else None


def read_suite(path: Path) -> dict:
    return json.loads(path.read_text())


# a suite's type -> what runs it: an unexpected-rows query runs once, as a count
# (``gx_counted_once``: same verdict and count; GX's own expectation runs the query twice)
RUN_AS = {"unexpected_rows_expectation": "UnexpectedRowsCountedOnce"}
SUITE_TYPE = {"unexpected_rows_counted_once": "unexpected_rows_expectation"}


def expectation(gx, spec: dict, render: Callable[[str], str] | None = None):
    """A suite entry (``type`` + ``kwargs`` + ``meta`` [+ ``description``]) as a GX
    expectation object; ``render`` fills the relation names into an unexpected-rows query.
    An ``unexpected_rows_expectation`` runs as ``UnexpectedRowsCountedOnce`` (``RUN_AS``)."""
    kwargs = dict(spec["kwargs"])
    if render and "unexpected_rows_query" in kwargs:
        kwargs["unexpected_rows_query"] = render(kwargs["unexpected_rows_query"])
    if spec.get("description"):
        kwargs["description"] = spec["description"]
    if spec["type"] in RUN_AS:
        from . import gx_counted_once

        return getattr(gx_counted_once, RUN_AS[spec["type"]])(**kwargs, meta=spec.get("meta"))
    cls = "".join(part.title() for part in spec["type"].split("_"))
    return getattr(gx.expectations, cls)(**kwargs, meta=spec.get("meta"))


def exception_message(result) -> str | None:
    """Why GX could not evaluate an expectation (None if it could): its exception info is
    one dict, or one per metric that failed."""
    info = result.exception_info
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return short_error(info.get("exception_message"))
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return short_error(value.get("exception_message"))
    return None


# PyHive's errors quote the Thrift server's whole response, Java stack included
_THRIFT_ERROR = re.compile(r"errorMessage=(['\"])(?P<text>.*?)\1, operationHandle", re.S)


def short_error(message: str | None) -> str | None:
    """An error from the Spark cluster as its message (first two lines), not the whole
    Thrift response; other messages unchanged."""
    found = _THRIFT_ERROR.search(message or "")
    if not found:
        return message
    lines = [line.strip() for line in found.group("text").split("\\n") if line.strip()]
    return " ".join(lines[:2])


# --- JSON with the types sample rows carry ---------------------------------------------


def _encode(value):
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, (tuple, list)):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _decode(value):
    if isinstance(value, dict):
        if len(value) == 1:
            [(tag, text)] = value.items()
            if tag == "$datetime":
                return datetime.fromisoformat(text)
            if tag == "$date":
                return date.fromisoformat(text)
            if tag == "$decimal":
                return Decimal(text)
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def dumps(report: dict) -> str:
    return json.dumps(_encode(report))


def loads(text: str) -> dict:
    return _decode(json.loads(text))


# --- the child process ---------------------------------------------------------------


def _child_command(module: str, args: list[str], wait: bool) -> list[str]:
    return [sys.executable, "-m", module, *args, *(["--wait"] if wait else [])]


_CHILD_PIPES = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}


def start_child(module: str, args: list[str], wait: bool = False) -> subprocess.Popen:
    """Start ``python -m module args``. ``wait``: the child imports GX (about 3 s) and then
    waits for ``go`` on its stdin before it opens anything, so it can be started while
    another process still writes the working file; it exits quietly if the parent goes."""
    return subprocess.Popen(
        _child_command(module, args, wait),
        stdin=subprocess.PIPE,
        env=os.environ.copy(),
        **_CHILD_PIPES,
    )


def start_ahead(step: str, module: str, args: list[str]) -> None:
    """Start ``step``'s child (``python -m module args``) now, waiting for ``go``, where the
    night runs in this process (``customer_status.started_ahead``); ``run_child`` with the
    same arguments then uses it."""
    started_ahead.start(
        step, _child_command(module, args, wait=True), env=os.environ.copy(), **_CHILD_PIPES
    )


def child_report(proc: subprocess.Popen) -> dict:
    """Let a started child run to its end and return the report it printed last."""
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        # DuckDB's bindings print reference-leak notes at interpreter exit: skip them
        lines = [ln for ln in stderr.splitlines() if "leaked" not in ln and "nanobind" not in ln]
        raise RuntimeError("Great Expectations could not run: " + "\n".join(lines[-15:]))
    return loads(stdout.strip().splitlines()[-1])


def run_child(step: str, module: str, args: list[str]) -> dict:
    """Run ``python -m module args`` (the child ``start_ahead`` started for ``step``, if it is
    still waiting) and return the report it printed last."""
    proc = started_ahead.take(step, _child_command(module, args, wait=True), "go")
    return child_report(proc or start_child(module, args))


def wait_for_go() -> bool:
    """In a child started with ``wait``: import GX now, then block until the parent says
    ``go`` (True) or is gone (False)."""
    import_gx()
    return sys.stdin.readline().strip() == "go"


def child_parser(description: str | None) -> argparse.ArgumentParser:
    """The command line of a child's ``main``, with the ``--wait`` that ``start_ahead`` and
    ``run_child`` pass; the child adds its own arguments."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--wait", action="store_true", help="import GX, then wait for 'go'")
    return parser


def serve(wait: bool, make_report: Callable[[], dict]) -> int:
    """A child's ``main``: with ``wait``, import GX and wait for ``go`` (exit quietly if the
    parent is gone); then print the report ``make_report`` returns."""
    if wait and not wait_for_go():
        return 0
    print_report(make_report)
    return 0


def print_report(make_report: Callable[[], dict]) -> None:
    """In the child: stdout carries only the report; whatever the libraries print meanwhile
    (DuckDB's progress bar on long queries, GX's metric bars) goes to stderr."""
    report_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        report = make_report()
    finally:
        sys.stdout.flush()
        os.dup2(report_fd, 1)
    print(dumps(report))
