"""Bulk status actions: ``customer-status action`` (docs/contract.md "Commands").

A bulk action never changes a status itself. It picks customers from the *published*
warehouse (``marts.customer_status``, opened read-only), shows how many and a sample, asks,
and writes one ``status_actions`` landing file that the next nightly run loads like any
other: the rules (rules §4, §6) decide there whether each action applies, changes nothing or
is rejected, and ``marts.status_action_outcomes`` says which.

Selectors (exactly one):

- ``--customers FILE``: customer ids of the tenant. Either one id per line (blank lines and
  lines starting with ``#`` skipped), or a CSV whose header has a ``customer_id`` or
  ``Customer ID`` column (any case; other columns ignored). Ids the published warehouse does
  not know for the tenant are listed and left out.
- ``--email-domain D``: customers whose email domain is D or a sub-domain of it
  (``example.com`` also selects ``eu.example.com``), case-insensitive.
- ``--where-status S``: customers whose headline ``status`` (rules §2: the account status
  when it is not ``active``, else the lifecycle status) is S.

The file is ``<landing>/status_actions/bulk-<UTC yyyymmddThhmmssffffff>Z-<tenant>-<action>.csv``
(names sort by time), written to a hidden temporary file in the same folder and moved in
with ``os.replace``, so a nightly run never sees half of it (the loader skips dot files).
Each row's ``action_id`` is ``bulk-<same timestamp>-<row number>``, unique across files.
"""

from __future__ import annotations

import csv
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

import duckdb
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from . import pipeline_db
from .ingest.sources import SOURCES
from .seeds import account_statuses, headline_statuses

#: CLI spelling -> the ``action`` value of the landing file.
ACTIONS = {
    "activate": "activate",
    "deactivate": "deactivate",
    "set-status": "set_status",
    "restore": "restore",
}
ACTION_COLUMNS = SOURCES["status_actions"].column_names  # docs/contract.md order
CUSTOMER_ID_HEADERS = ("customer_id", "customer id")
SAMPLE_ROWS = 10
PUBLISHED_TABLE = "marts.customer_status"


class BulkError(Exception):
    """Bad input or no published data to select from: the command exits 2 with this message."""


def utcnow() -> datetime:
    """The wall clock (UTC); tests replace it."""
    return pipeline_db.utc_now()


# --- the published warehouse --------------------------------------------------------------


def open_published(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """Open the published warehouse read-only; it must hold ``marts.customer_status``."""
    if not warehouse.is_file():
        raise BulkError(
            f"no published warehouse at {warehouse} yet: run `customer-status run --date D` "
            "first (or set --warehouse / CUSTOMER_STATUS_WAREHOUSE)"
        )
    try:
        con = pipeline_db.connect(warehouse, read_only=True)
    except duckdb.Error as exc:
        raise BulkError(f"cannot open the published warehouse {warehouse}: {exc}") from exc
    found = con.execute(
        "select count(*) from duckdb_tables() "
        "where schema_name = 'marts' and table_name = 'customer_status'"
    ).fetchone()[0]
    if not found:
        con.close()
        raise BulkError(
            f"{warehouse} has no {PUBLISHED_TABLE} table yet: publish a night with the "
            "status engine first (`customer-status run --date D`)"
        )
    return con


def require_tenant(con: duckdb.DuckDBPyConnection, tenant: str) -> None:
    known = [
        t
        for (t,) in con.execute(
            f"select distinct tenant_id from {PUBLISHED_TABLE} order by 1"
        ).fetchall()
    ]
    if tenant not in known:
        shown = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
        raise BulkError(
            f"unknown tenant '{tenant}': the published warehouse has no customers for it "
            f"(tenants: {shown or 'none'})"
        )


# --- the request ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    tenant: str
    action: str  # CLI spelling: activate | deactivate | set-status | restore
    reason: str
    actor: str
    status: str | None = None
    customers_file: Path | None = None
    email_domain: str | None = None
    where_status: str | None = None

    def checked(self) -> Request:
        """The request with normalised values, or BulkError saying what is wrong."""
        if self.action not in ACTIONS:
            raise BulkError(f"unknown action '{self.action}' (one of {', '.join(ACTIONS)})")
        tenant, reason, actor = self.tenant.strip(), self.reason.strip(), self.actor.strip()
        if not tenant:
            raise BulkError("--tenant is empty")
        if not reason:
            raise BulkError("--reason is empty: every status action needs a reason (rules §4)")
        if not actor:
            raise BulkError("--actor is empty: every status action needs an actor (rules §4)")
        status = None if self.status is None else self.status.strip().lower()
        if self.action == "set-status" and not status:
            raise BulkError(
                "set-status needs --status: a predefined account status "
                f"({', '.join(account_statuses())}) or one of the tenant's status labels"
            )
        if self.action != "set-status" and self.status is not None:
            raise BulkError(f"--status is only for set-status, not for {self.action}")
        selectors = [
            s for s in (self.customers_file, self.email_domain, self.where_status) if s is not None
        ]
        if len(selectors) != 1:
            raise BulkError("choose exactly one of --customers, --email-domain, --where-status")
        domain = where = None
        if self.email_domain is not None:
            domain = self.email_domain.strip().lower().lstrip("@").rstrip(".")
            if not re.fullmatch(r"[^@\s.]+(\.[^@\s.]+)*", domain):
                raise BulkError(f"--email-domain '{self.email_domain}' is not a domain name")
        if self.where_status is not None:
            where = self.where_status.strip().lower()
            headline = headline_statuses()  # rules §2, from the dbt project's seeds
            if where not in headline:
                raise BulkError(
                    f"--where-status '{self.where_status}' is not a headline status "
                    f"(one of {', '.join(headline)})"
                )
        return Request(
            tenant, self.action, reason, actor, status, self.customers_file, domain, where
        )

    @property
    def described(self) -> str:
        if self.customers_file is not None:
            return f"listed in {self.customers_file}"
        if self.email_domain is not None:
            return f"with an email at {self.email_domain} or a sub-domain of it"
        return f"whose status is {self.where_status}"


def read_customer_ids(path: Path) -> list[str]:
    """Customer ids from a plain list (one a line) or a CSV with a customer id column."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise BulkError(f"--customers file {path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise BulkError(f"cannot read --customers file {path}: {exc}") from exc
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise BulkError(f"--customers file {path} is empty")
    header = [h.strip().lower() for h in next(csv.reader([lines[0]]))]
    column = next((header.index(h) for h in CUSTOMER_ID_HEADERS if h in header), None)
    if column is not None:
        ids = []
        for number, record in enumerate(csv.reader(lines[1:]), start=2):
            if len(record) != len(header):
                raise BulkError(
                    f"{path}, line {number}: {len(record)} fields but the header has {len(header)}"
                )
            ids.append(record[column].strip())
    elif len(header) > 1:
        raise BulkError(
            f"{path} looks like a CSV file but has no customer_id or Customer ID column "
            f"(header: {lines[0].strip()})"
        )
    else:
        ids = [line.strip() for line in lines if not line.lstrip().startswith("#")]
    return list(dict.fromkeys(i for i in ids if i))  # file order, each id once


# --- selection ------------------------------------------------------------------------------


@dataclass
class Selection:
    customer_ids: list[str]
    sample: list[tuple]  # SAMPLE_COLUMNS
    breakdown: list[tuple[str | None, int]]  # (current value, customers)
    breakdown_of: str
    unknown_ids: list[str]


# the headline status is the account status whenever that is not active (rules §2)
SAMPLE_COLUMNS = ("customer_id", "code", "email", "full_name", "status", "member_status")


def select(con: duckdb.DuckDBPyConnection, request: Request) -> Selection:
    """The tenant's published customers the request names, in customer id order."""
    wanted: list[str] = []
    if request.customers_file is not None:
        wanted = read_customer_ids(request.customers_file)
        predicate, params = "customer_id in (select unnest(?::varchar[]))", [wanted]
    elif request.email_domain is not None:
        domain = "lower(split_part(email, '@', 2))"
        predicate = f"({domain} = ? or ends_with({domain}, '.' || ?))"
        params = [request.email_domain, request.email_domain]
    else:
        predicate, params = "status = ?", [request.where_status]
    con.execute(
        f"create or replace temp table selected as select {', '.join(SAMPLE_COLUMNS)}, "
        "account_status "
        f"from {PUBLISHED_TABLE} where tenant_id = ? and {predicate}",
        [request.tenant, *params],
    )
    ids = [i for (i,) in con.execute("select customer_id from selected order by 1").fetchall()]
    found = set(ids)
    breakdown_of = (
        "member_status" if request.action in ("activate", "deactivate") else "account_status"
    )
    return Selection(
        customer_ids=ids,
        sample=con.execute(
            f"select {', '.join(SAMPLE_COLUMNS)} from selected order by customer_id limit ?",
            [SAMPLE_ROWS],
        ).fetchall(),
        breakdown=con.execute(
            f"select {breakdown_of}, count(*) from selected group by 1 order by 2 desc, 1"
        ).fetchall(),
        breakdown_of=breakdown_of,
        unknown_ids=[i for i in wanted if i not in found],
    )


# --- the command ----------------------------------------------------------------------------


def show(console: Console, request: Request, selection: Selection) -> None:
    if selection.unknown_ids:
        sample = ", ".join(selection.unknown_ids[:10])
        more = " ..." if len(selection.unknown_ids) > 10 else ""
        console.print(
            f"[yellow]{len(selection.unknown_ids):,} id(s) of "
            f"{escape(str(request.customers_file))} are not customers of tenant "
            f"{escape(request.tenant)} in the published warehouse; left out:[/] "
            f"{escape(sample)}{more}"
        )
    n = len(selection.customer_ids)
    if not n:
        return
    what = request.action + (f" to '{request.status}'" if request.status else "")
    console.print(
        f"[bold]{escape(what)}[/]: {n:,} customer(s) of tenant {escape(request.tenant)} "
        f"{escape(request.described)}"
    )
    console.print(
        f"  currently ({selection.breakdown_of}): "
        + ", ".join(f"{value or '(none)'} {count:,}" for value, count in selection.breakdown),
        markup=False,
    )
    console.print(f"  reason: {request.reason}   actor: {request.actor}", markup=False)
    table = Table(
        title=f"sample ({len(selection.sample)} of {n:,})", title_justify="left", box=None
    )
    for column in SAMPLE_COLUMNS:
        table.add_column(column, overflow="fold")
    for row in selection.sample:
        table.add_row(*(Text("" if v is None else str(v)) for v in row))
    console.print(table)
    if request.status and request.status not in account_statuses():
        console.print(
            f"[yellow]note:[/] '{escape(request.status)}' is not a predefined account status: "
            f"it must be one of tenant {escape(request.tenant)}'s status labels, or the night "
            "rejects these "
            "actions"
        )


def confirm(console: Console, question: str, stdin: TextIO) -> bool:
    """Ask on the terminal; refuse (BulkError) rather than wait on a pipe or file."""
    if not stdin.isatty():
        raise BulkError(
            "stdin is not a terminal, so there is no one to confirm: pass --yes to write the "
            "actions without asking, or --dry-run to only look"
        )
    console.print(f"{escape(question)} \\[y/N] ", end="")
    return stdin.readline().strip().lower() in ("y", "yes")


def run(
    request: Request,
    landing: Path,
    warehouse: Path,
    *,
    console: Console,
    dry_run: bool = False,
    yes: bool = False,
    stdin: TextIO | None = None,
    now: Callable[[], datetime] | None = None,
) -> int:
    """The whole command. Exit code 0 written, dry run or nothing to do; 1 not confirmed."""
    request = request.checked()
    if not dry_run:
        require_landing_folder(landing)
    with open_published(warehouse) as con:
        require_tenant(con, request.tenant)
        selection = select(con, request)
    show(console, request, selection)
    n = len(selection.customer_ids)
    if not n:
        console.print(
            f"nothing to do: no customer of tenant {request.tenant} {request.described}",
            markup=False,
        )
        return 0
    if dry_run:
        console.print("dry run: nothing written")
        return 0
    if not yes and not confirm(
        console, f"Write {n:,} {request.action} action(s)?", stdin or sys.stdin
    ):
        console.print("not confirmed: nothing written")
        return 1
    path = write_action_file(
        landing,
        request.tenant,
        ACTIONS[request.action],
        selection.customer_ids,
        status=request.status,
        reason=request.reason,
        actor=request.actor,
        now=(now or utcnow)(),
    )
    console.print(
        f"[green]wrote[/] {n:,} action(s) to {escape(str(path))}; the next nightly run applies them "
        "(outcomes in marts.status_action_outcomes)"
    )
    return 0


def write_csv_atomically(path: Path, header, rows) -> None:
    """Write a CSV to a hidden temporary file beside ``path``, flush it to disk, then move it
    in with ``os.replace``: a reader (a nightly run, a spreadsheet) sees the whole file or
    none of it. The writer ends lines with \r\n, so fields holding \r or \n get quoted."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temp.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def require_landing_folder(landing: Path) -> None:
    """A command that writes a landing file needs the landing folder to exist."""
    if not landing.is_dir():
        raise BulkError(
            f"landing folder {landing} does not exist (set --landing or CUSTOMER_STATUS_LANDING)"
        )


def new_landing_file(
    folder: Path, prefix: str, tenant: str, now: datetime, *suffix: str
) -> tuple[Path, str, datetime]:
    """A name no file in ``folder`` has yet, ``<prefix>-<UTC stamp>-<tenant>[-<suffix>].csv``
    (another file of the same microsecond: the next microsecond), with its stamp and instant."""
    folder.mkdir(exist_ok=True)
    now = now.astimezone(UTC)
    name = "-".join((re.sub(r"[^A-Za-z0-9_.-]+", "_", tenant), *suffix))
    while True:
        stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
        path = folder / f"{prefix}-{stamp}-{name}.csv"
        if not path.exists():
            return path, stamp, now
        now += timedelta(microseconds=1)


def write_action_file(
    landing: Path,
    tenant: str,
    action: str,
    customer_ids: list[str],
    *,
    status: str | None,
    reason: str,
    actor: str,
    now: datetime,
) -> Path:
    """Write one ``status_actions`` file atomically; return its path."""
    path, stamp, now = new_landing_file(landing / "status_actions", "bulk", tenant, now, action)
    requested_at = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    width = max(6, len(str(len(customer_ids))))  # ids sort in row order
    rows = (
        {
            "tenant_id": tenant,
            "action_id": f"bulk-{stamp}-{number:0{width}d}",
            "customer_id": customer_id,
            "action": action,
            "status": status or "",
            "reason": reason,
            "actor": actor,
            "requested_at": requested_at,
            "source": "bulk",
        }
        for number, customer_id in enumerate(customer_ids, start=1)
    )
    write_csv_atomically(
        path, ACTION_COLUMNS, ([row.get(c, "") for c in ACTION_COLUMNS] for row in rows)
    )
    return path
