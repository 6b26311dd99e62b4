"""The ``customer-status`` command (docs/contract.md "Commands").

    customer-status generate --out DIR --customers N [--tenants T] [--days K] [--seed S]
    customer-status run --date D [--landing DIR] [--warehouse FILE] [--accept-swing]
    customer-status backfill --start D1 --end D2 [--landing DIR] [--warehouse FILE]
    customer-status demo
    customer-status action <activate|deactivate|set-status|restore> --tenant T
        (--customers FILE | --email-domain D | --where-status S) --reason R --actor A
        [--status S] [--dry-run] [--yes] [--landing DIR] [--warehouse FILE]
    customer-status export --tenant T --out FILE [--warehouse FILE]
    customer-status forget --tenant T (--customer C | --customers FILE | --email E)
        --reason R --actor A [--dry-run] [--yes] [--landing DIR] [--warehouse FILE]
    customer-status docs [--warehouse FILE] [--out DIR]
    customer-status explain --tenant T --customer C [--date D] [--warehouse FILE]
    customer-status billing --tenant T [--month YYYY-MM] --out FILE [--warehouse FILE]
    customer-status report [--run RUN_ID] [--warehouse FILE]
    customer-status spark <start|stop|status> [--warehouse FILE]
    (run and backfill also take --engine duckdb|spark and
     --publish-per-tenant [--publish-pii full|none])

Exit codes: 0 published (or done), 1 a run failed and published nothing (``action``: not
confirmed, nothing written), 2 bad usage.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from . import process_end
from .settings import Paths, resolve_paths

console = Console(stderr=True, highlight=False, soft_wrap=True)
DEMO_CUSTOMERS = 20_000
DEMO_DAYS = 120
DEMO_END = date(2026, 11, 1)
DEMO_NIGHTS = 3


class UsageError(Exception):
    """Bad input from the person at the keyboard: say what and exit 2."""


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (YYYY-MM-DD)") from exc


def _positive(text: str) -> int:
    value = int(text.replace("_", ""))
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number")
    return value


def _setup_logging(verbose: bool) -> None:
    """The night's short summary by default, every log line with -v (``summary.py``)."""
    from .summary import NightHandler, quiet_warnings

    if not verbose:
        quiet_warnings()
    package = logging.getLogger("customer_status")
    package.handlers[:] = [NightHandler(console, verbose)]
    package.setLevel(logging.INFO)
    package.propagate = False
    for noisy in ("great_expectations",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if verbose:  # every line dbt prints, not only one per finished model or test
        logging.getLogger("customer_status.pipeline.build").setLevel(logging.DEBUG)
        # and which step's child was started ahead (started_ahead)
        logging.getLogger("customer_status.started_ahead").setLevel(logging.DEBUG)


def _paths(args: argparse.Namespace) -> Paths:
    paths = resolve_paths(getattr(args, "landing", None), getattr(args, "warehouse", None))
    if not paths.landing.is_dir():
        raise UsageError(
            f"landing folder {paths.landing} does not exist (set --landing or "
            "CUSTOMER_STATUS_LANDING; `customer-status generate --out DIR` makes a sample)"
        )
    return paths


def _run_nights(paths: Paths, dates: list[date], accept_swing: bool, verbose: bool) -> int:
    from .pipeline import local

    local.configure_airflow(paths, quiet=not verbose)
    from . import started_ahead
    from .pipeline import build
    from .pipeline.nightly import run_outcome

    started_ahead.enable()  # the nights run in this process (pipeline.local)
    build.prepare_dbt()  # the first build's dbt imports itself while Airflow starts

    started = time.monotonic()
    try:
        made = local.run_dates(
            paths, dates, accept_swing=accept_swing, freeze_start_up=_PROCESS_ENTRY
        )
    finally:  # no spinner left turning after the last stage
        for handler in logging.getLogger("customer_status").handlers:
            if hasattr(handler, "stop"):
                handler.stop()
    for night in made:
        outcome = run_outcome(night.run_id, paths) or {}
        page = _report_of(paths, night.run_id)
        if outcome.get("outcome") == "published" and night.problem is None:
            console.print(
                f"[green]published[/] {night.as_of}: run {night.run_id}, "
                f"{outcome.get('checks_passed')} checks passed"
            )
            if page:
                console.print(f"  report: {escape(page)}")
        else:
            step, why = _failure(outcome, night)
            console.print(
                f"[red]FAILED[/] {night.as_of}: run {night.run_id} ({night.state}); "
                "nothing was published.\n"
                f"  step: {escape(step)}\n"
                f"  why:  {escape(why)}"
            )
            if page:
                console.print(f"  report: {escape(page)}")
            return 1
    skipped = dates[len(made) :]
    if skipped:
        console.print(f"[red]not run[/]: {', '.join(map(str, skipped))}")
        return 1
    docs = paths.work_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    if docs.exists():
        console.print(f"Import checks (Great Expectations Data Docs): {docs}")
    console.print(
        f"{len(made)} night(s) in {time.monotonic() - started:.1f}s. "
        f"Published warehouse: {paths.warehouse} (schema marts)"
    )
    return 0


def _report_of(paths: Paths, run_id: str) -> str | None:
    from . import report

    try:
        return str(report.find(paths, run_id))
    except report.NoReport:
        return None


def _failure(outcome: dict, night) -> tuple[str, str]:
    """The failed step and its reason: the run log's, else what Airflow's side shows."""
    step = outcome.get("failed_step") or ("dag_run" if night.problem else None)
    why = outcome.get("message") or night.problem
    if step is None or why is None:
        # the run log says the run did not publish, but not why (it should never happen)
        step = step or "dag_run"
        why = why or (
            f"the run ended '{outcome.get('outcome') or 'unrecorded'}' without a reason in "
            f"the run log (DAG run state {night.state})"
        )
    return step, why


def _as_of(value: date, option: str) -> date:
    from .pipeline.local import EARLIEST_AS_OF

    if value < EARLIEST_AS_OF:
        raise UsageError(
            f"{option} {value} is before {EARLIEST_AS_OF}: the history starts in 1900 at the "
            "earliest (a created_at before 1900-01-01 is rejected as bad input)"
        )
    return value


def cmd_generate(args: argparse.Namespace) -> int:
    from .generate import generate_landing

    started = time.monotonic()
    summary = generate_landing(
        Path(args.out),
        customers=args.customers,
        tenants=args.tenants,
        days=args.days,
        seed=args.seed,
        end_date=args.end_date,
        progress=not args.quiet,
    )
    files = summary.get("files", [])
    rows = sum(f.get("rows", 0) for f in files) if isinstance(files, list) else 0
    console.print(
        f"wrote {len(files)} files ({rows:,} rows) to {Path(args.out).resolve()} "
        f"in {time.monotonic() - started:.1f}s"
    )
    return 0


def _use_engine(args: argparse.Namespace, paths: Paths) -> None:
    """``--engine`` (else ``CUSTOMER_STATUS_ENGINE``) for the nights of this command; on Spark,
    the cluster must answer before a night starts."""

    from .pipeline.build import ENGINE_ENV, resolve_engine

    try:
        engine = resolve_engine(getattr(args, "engine", None))
    except ValueError as exc:
        raise UsageError(f"{ENGINE_ENV}: {exc}") from exc
    if engine == "spark":
        from .spark import cluster

        try:
            address = cluster.thrift_address(paths.work_dir)
        except cluster.SparkError as exc:
            raise UsageError(str(exc)) from exc
        if not cluster.answers(address):
            raise UsageError(f"the Spark Thrift server at {address} does not answer")
        console.print(f"engine: spark (Thrift server {address})")
    os.environ[ENGINE_ENV] = engine  # the night's tasks run in this process (dag.test)


def cmd_spark(args: argparse.Namespace) -> int:
    """``spark start|stop|status``: the local Spark cluster of this work area."""
    from .spark import cluster

    paths = resolve_paths(None, args.warehouse)
    try:
        if args.action == "start":
            console.print("starting a Spark master, worker and Thrift server (up to a few minutes)")
            address = cluster.start(paths.work_dir)
            logs = cluster.spark_dir(paths.work_dir) / "logs"
            console.print(f"Spark Thrift server: {address} (logs: {logs})")
            print(address)
        elif args.action == "stop":
            stopped = cluster.stop(paths.work_dir)
            console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
        else:
            running = cluster.status(paths.work_dir)
            for name, pid in running.items():
                console.print(f"{name}: " + (f"running (pid {pid})" if pid else "not running"))
            address = cluster.local_thrift(paths.work_dir)
            if address:
                print(address)
            return 0 if all(running.values()) else 1
    except cluster.SparkError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        return 1
    return 0


def _use_tenant_files(args: argparse.Namespace) -> None:
    """``--publish-per-tenant`` / ``--publish-pii`` (else their environment variables) for the
    nights of this command: checked here, then handed to the night's tasks (which run in this
    process, ``dag.test``) through the environment."""

    from .pipeline.publish import PER_TENANT_ENV, PII_ENV, tenant_publishing

    try:
        chosen = tenant_publishing(True if args.publish_per_tenant else None, args.publish_pii)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if args.publish_pii is not None and not chosen.enabled:
        raise UsageError(
            f"--publish-pii {args.publish_pii} is about the per-tenant files: add "
            f"--publish-per-tenant (or set {PER_TENANT_ENV}=1)"
        )
    os.environ[PER_TENANT_ENV] = "1" if chosen.enabled else "0"
    os.environ[PII_ENV] = chosen.pii
    if chosen.enabled:
        console.print(f"per-tenant files: yes (personal data: {chosen.pii})")


def cmd_run(args: argparse.Namespace) -> int:
    _use_engine(args, _paths(args))
    _use_tenant_files(args)
    return _run_nights(_paths(args), [_as_of(args.date, "--date")], args.accept_swing, args.verbose)


def cmd_backfill(args: argparse.Namespace) -> int:
    _as_of(args.start, "--start")
    if args.end < args.start:
        raise UsageError(f"--end {args.end} is before --start {args.start}")
    dates = [args.start + timedelta(days=i) for i in range((args.end - args.start).days + 1)]
    _use_engine(args, _paths(args))
    _use_tenant_files(args)
    return _run_nights(_paths(args), dates, args.accept_swing, args.verbose)


def cmd_demo(args: argparse.Namespace) -> int:
    paths = resolve_paths(args.landing, args.warehouse)
    if not paths.landing.is_dir() or not any(paths.landing.iterdir()):
        console.print(f"generating a sample landing zone in {paths.landing} ...")
        args.out, args.tenants, args.seed, args.quiet = str(paths.landing), 3, 42, False
        args.days, args.end_date = DEMO_DAYS, DEMO_END
        cmd_generate(args)
    else:
        console.print(f"using the landing zone already in {paths.landing}")
    nights = [DEMO_END - timedelta(days=i) for i in reversed(range(DEMO_NIGHTS))]
    code = _run_nights(paths, nights, accept_swing=False, verbose=args.verbose)
    if code == 0:
        _print_demo_results(paths)
    return code


def cmd_action(args: argparse.Namespace) -> int:
    from . import bulk

    paths = resolve_paths(args.landing, args.warehouse)
    request = bulk.Request(
        tenant=args.tenant,
        action=args.action,
        reason=args.reason,
        actor=args.actor,
        status=args.status,
        customers_file=Path(args.customers) if args.customers is not None else None,
        email_domain=args.email_domain,
        where_status=args.where_status,
    )
    try:
        return bulk.run(
            request,
            paths.landing,
            paths.warehouse,
            console=console,
            dry_run=args.dry_run,
            yes=args.yes,
        )
    except bulk.BulkError as exc:
        raise UsageError(escape(str(exc))) from exc


def cmd_forget(args: argparse.Namespace) -> int:
    from . import forget
    from .bulk import BulkError

    paths = resolve_paths(args.landing, args.warehouse)
    request = forget.ForgetRequest(
        tenant=args.tenant,
        reason=args.reason,
        actor=args.actor,
        customer=args.customer,
        customers_file=Path(args.customers) if args.customers is not None else None,
        email=args.email,
    )
    try:
        return forget.run(
            request,
            paths.landing,
            paths.warehouse,
            console=console,
            dry_run=args.dry_run,
            yes=args.yes,
        )
    except BulkError as exc:
        raise UsageError(escape(str(exc))) from exc


def cmd_export(args: argparse.Namespace) -> int:
    from .bulk import BulkError
    from .export import export_tenant

    paths = resolve_paths(None, args.warehouse)
    try:
        result = export_tenant(paths.warehouse, args.tenant, Path(args.out).resolve())
    except BulkError as exc:
        raise UsageError(escape(str(exc))) from exc
    console.print(
        f"wrote {result.rows:,} customers of tenant {escape(args.tenant.strip())} to "
        f"{escape(str(result.path))} "
        f"({result.guarded_cells:,} cells guarded against formulas with a leading ')"
    )
    if result.without_code:
        console.print(f"  {result.without_code:,} have no code: an import matches them by email")
    if result.without_key:
        console.print(
            f"[yellow]  {result.without_key:,} have neither code nor email: "
            "an import cannot match their rows[/]"
        )
    if result.shared_codes:
        console.print(
            f"[yellow]  {result.shared_codes:,} share their code with another customer: "
            "an import rejects their rows[/]"
        )
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from . import docs

    paths = resolve_paths(None, args.warehouse)
    try:
        sites = docs.build(paths, Path(args.out) if args.out else None)
    except docs.NoNightYet as exc:
        raise UsageError(str(exc)) from exc
    except docs.DocsFailed as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        return 1
    print(f"docs index: {sites.index}")
    print(f"dbt docs (tables, columns, lineage): {sites.dbt}")
    if sites.data_docs:
        print(f"Great Expectations Data Docs (import checks): {sites.data_docs}")
    else:
        print("Great Expectations Data Docs: none yet (no night has validated a landing file)")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from .bulk import BulkError
    from .explain import explain

    paths = resolve_paths(None, args.warehouse)
    try:
        result = explain(paths.warehouse, args.tenant, args.customer, args.date)
    except BulkError as exc:
        raise UsageError(escape(str(exc))) from exc
    out = Console(highlight=False, soft_wrap=True)
    for line in result.lines():
        out.print(escape(line))
    return 0


def cmd_billing(args: argparse.Namespace) -> int:
    from . import billing
    from .bulk import BulkError

    paths = resolve_paths(None, args.warehouse)
    try:
        out = billing.check_out(Path(args.out).resolve())
        month = billing.parse_month(args.month) if args.month is not None else None
        result = billing.export(paths.warehouse, args.tenant, month, out)
    except BulkError as exc:
        raise UsageError(escape(str(exc))) from exc
    console.print(
        f"wrote the billing file of tenant {escape(result.tenant)} for {result.month:%Y-%m} "
        f"({'complete' if result.is_complete else 'not complete yet'}): {result.figures} "
        f"figures, {result.restatements} restatement(s) to {escape(str(result.path))}"
    )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from . import report

    paths = resolve_paths(None, args.warehouse)
    try:
        path = report.find(paths, args.run)
    except report.NoReport as exc:
        raise UsageError(escape(str(exc))) from exc
    print(path)
    return 0


def _print_demo_results(paths: Paths) -> None:
    from .pipeline_db import connect

    with connect(paths.warehouse, read_only=True) as con:
        tables = con.execute(
            "select table_name, estimated_size from duckdb_tables() "
            "where schema_name = 'marts' order by table_name"
        ).fetchall()
        rejects = con.execute(
            "select source, count(*) from marts.import_rejects group by 1 order by 1"
        ).fetchall()
    console.print("\n[bold]Results[/]")
    console.print(f"  warehouse: {paths.warehouse}")
    for name, rows in tables:
        console.print(f"    marts.{name:<28} ~{rows:,} rows")
    console.print(
        "  rejected landing rows/files by source: " + ", ".join(f"{s} {n}" for s, n in rejects)
    )
    console.print(f"  work area (raw tables, dbt, Airflow metadata): {paths.work_dir}")
    python = Path(sys.executable).with_name("python")
    console.print(
        f"\n  try: {python} -c \"import duckdb; print(duckdb.connect('{paths.warehouse}', "
        "read_only=True).sql('select tenant_id, status, count(*) customers, "
        "count(*) filter (is_billable) billable from marts.customer_status group by all "
        "order by all'))\""
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="customer-status",
        description="Nightly customer status, contactability and billable counts.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show Airflow and dbt logs")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def engine(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--engine",
            choices=("duckdb", "spark"),
            help="where dbt builds the night (default $CUSTOMER_STATUS_ENGINE or duckdb; "
            "spark: `customer-status spark start` or $CUSTOMER_STATUS_SPARK_THRIFT)",
        )

    def tenant_files(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--publish-per-tenant",
            action="store_true",
            help="also publish <warehouse dir>/tenants/<tenant_id>.duckdb per tenant, with only "
            "its rows (default $CUSTOMER_STATUS_PUBLISH_PER_TENANT)",
        )
        p.add_argument(
            "--publish-pii",
            choices=("full", "none"),
            help="personal data (email, phone, name, code) in the tenant files (default "
            "$CUSTOMER_STATUS_PUBLISH_PII or full); the warehouse always keeps it",
        )

    def published(p: argparse.ArgumentParser, what: str = "published DuckDB file") -> None:
        p.add_argument(
            "--warehouse",
            help=f"{what} (default $CUSTOMER_STATUS_WAREHOUSE or data/warehouse.duckdb)",
        )

    def where(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--landing", help="landing folder (default $CUSTOMER_STATUS_LANDING or data/landing)"
        )
        published(p)

    p = sub.add_parser("generate", help="write a deterministic synthetic landing zone")
    p.add_argument("--out", required=True, help="folder to write the landing zone to")
    p.add_argument("--customers", type=_positive, required=True)
    p.add_argument("--tenants", type=_positive, default=3)
    p.add_argument("--days", type=_positive, default=120, help="days of history (default 120)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--end-date",
        type=_date,
        default=DEMO_END,
        help=f"last day of generated data (default {DEMO_END})",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser(
        "run", help="one nightly run for an as-of date: ingest, build, check, publish"
    )
    p.add_argument("--date", type=_date, required=True, help="as-of date YYYY-MM-DD")
    p.add_argument(
        "--accept-swing",
        action="store_true",
        help="accept a billable-count swing above the tenant's limit for this run",
    )
    where(p)
    engine(p)
    tenant_files(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("backfill", help="run each date from --start to --end in order")
    p.add_argument("--start", type=_date, required=True)
    p.add_argument("--end", type=_date, required=True)
    p.add_argument("--accept-swing", action="store_true")
    where(p)
    engine(p)
    tenant_files(p)
    p.set_defaults(func=cmd_backfill)

    p = sub.add_parser("demo", help="generate a sample landing zone and run its last nights")
    where(p)
    p.add_argument("--customers", type=_positive, default=DEMO_CUSTOMERS)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "action",
        help="a bulk status action: select customers, confirm, write a status_actions file",
        description="Select customers from the published warehouse, show how many and a "
        "sample, ask, then write one status_actions landing file for the next nightly run.",
    )
    p.add_argument("action", choices=("activate", "deactivate", "set-status", "restore"))
    p.add_argument("--tenant", required=True)
    chosen = p.add_mutually_exclusive_group(required=True)
    chosen.add_argument(
        "--customers",
        metavar="FILE",
        help="customer ids: one per line, or a CSV with a customer_id / Customer ID column",
    )
    chosen.add_argument(
        "--email-domain", metavar="D", help="emails at domain D or a sub-domain of it"
    )
    chosen.add_argument("--where-status", metavar="S", help="customers whose headline status is S")
    p.add_argument("--reason", required=True, help="why (kept with every action)")
    p.add_argument("--actor", required=True, help="who asks (kept with every action)")
    p.add_argument("--status", help="for set-status: a predefined account status or a tenant label")
    p.add_argument(
        "--dry-run", action="store_true", help="show what would be written, write nothing"
    )
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    where(p)
    p.set_defaults(func=cmd_action)

    p = sub.add_parser(
        "forget",
        help="erase a person on request (rules §12): confirm, write an erasure_requests file",
        description="Find the person in the published warehouse, show whom, ask, then write "
        "one erasure_requests landing file: the next night replaces their email, phone, name "
        "and code everywhere and publishes the erasure in marts.erasures. Lists the landing "
        "files (yours: never edited) that still hold the person.",
    )
    p.add_argument("--tenant", required=True)
    chosen = p.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--customer", metavar="C", help="one customer id")
    chosen.add_argument(
        "--customers",
        metavar="FILE",
        help="customer ids: one per line, or a CSV with a customer_id / Customer ID column",
    )
    chosen.add_argument("--email", metavar="E", help="every customer with this email address")
    p.add_argument("--reason", required=True, help="why (kept with the request)")
    p.add_argument("--actor", required=True, help="who asks (kept with the request)")
    p.add_argument(
        "--dry-run", action="store_true", help="show whom it would erase, write nothing"
    )
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    where(p)
    p.set_defaults(func=cmd_forget)

    p = sub.add_parser(
        "export",
        help="the status spreadsheet of a tenant (Code, Name, Email, Customer Status)",
    )
    p.add_argument("--tenant", required=True)
    p.add_argument("--out", required=True, metavar="FILE", help="CSV file to write")
    published(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "docs",
        help="build the dbt docs site and link the last night's Data Docs; print where they are",
    )
    published(p)
    p.add_argument("--out", metavar="DIR", help="folder to write to (default <work area>/docs)")
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser(
        "explain",
        help="a customer's timeline and which rule decides each status on a day",
    )
    p.add_argument("--tenant", required=True)
    p.add_argument("--customer", required=True, metavar="C", help="customer id (exact)")
    p.add_argument(
        "--date", type=_date, help="day to explain (default the last published day)"
    )
    published(p)
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser(
        "billing",
        help="the finance file: a month's billing figures and every restatement of it",
    )
    p.add_argument("--tenant", required=True)
    p.add_argument(
        "--month", metavar="YYYY-MM", help="default the tenant's latest complete month"
    )
    p.add_argument("--out", required=True, metavar="FILE", help=".csv or .xlsx file to write")
    published(p)
    p.set_defaults(func=cmd_billing)

    p = sub.add_parser("report", help="print where a night's report page (report.html) is")
    p.add_argument("--run", metavar="RUN_ID", help="default the last night with a report")
    published(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "spark", help="start, stop or show the local Spark cluster (for --engine spark)"
    )
    p.add_argument("action", choices=("start", "stop", "status"))
    published(p, "published DuckDB file whose work area holds the cluster")
    p.set_defaults(func=cmd_spark)
    return parser


def _end_without_final_collections() -> None:
    """This process ends when ``main`` returns: Python's finalization would then run full
    garbage collections over every object still alive (Airflow's modules, the DAG, the
    execution API), 2-3 s after an M night, for memory the process gives back anyway. So
    once every exit handler has run (Airflow's, logging's: registered later, they run
    first), the process ends with ``main``'s code without finalizing. Nothing relies on a
    finalizer: each DuckDB file is closed where it is used, the published file is flushed
    before it is moved in. When ``main`` raised, Python ends as usual."""
    global _PROCESS_ENTRY
    _PROCESS_ENTRY = True
    atexit.register(exit_now_if_done)


# True when ``main`` is the process's own command (the console script, ``python -m``)
_PROCESS_ENTRY = False
# ``main``'s return code, once it returned (in the command's own process)
_EXIT_CODE: int | None = None


def exit_now_if_done() -> None:
    """The last exit handler: end with ``main``'s code, skipping finalization."""
    if _EXIT_CODE is None:
        return
    process_end.end_now(_EXIT_CODE)


def main(argv: list[str] | None = None) -> int:
    global _EXIT_CODE
    entry = argv is None  # the command line of this process, not a caller's list
    if entry:
        _end_without_final_collections()
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        code = args.func(args)
    except UsageError as exc:
        console.print(f"[red]error:[/] {exc}")
        code = 2
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]: the published warehouse is unchanged")
        code = 130
    if entry and isinstance(code, int):
        _EXIT_CODE = code
    return code


if __name__ == "__main__":
    sys.exit(main())
