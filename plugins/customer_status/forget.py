"""Erasure on request: ``customer-status forget`` (docs/contract.md "Commands", rules §12).

Like a bulk action (``bulk.py``), the command changes nothing itself. It finds the person in
the *published* warehouse (``marts.customer_status``, read-only), shows whom it would erase,
asks unless ``--yes``, and writes one ``erasure_requests`` landing file; the next night
erases the person's email, phone, name and code from every table the pipeline keeps and
publishes the erasure in ``marts.erasures``.

Selectors (exactly one): ``--customer C``; ``--customers FILE`` (as ``action``: one id a
line, or a CSV with a ``customer_id`` / ``Customer ID`` column); ``--email E`` (every
customer of the tenant with that address, case-insensitive). Ids the tenant does not have
are listed and left out; customers already erased (``marts.erasures``) are listed and left
out too: a request for them would change nothing.

The landing files are the user's own: the pipeline never edits or deletes them. The command
says so and lists the files of the sources that carry personal data (``customers``,
``suppressions``, ``status_imports``) that still quote the person's email, phone, name or
code, so that the user can deal with them; the nights scrub the person from every load of
them meanwhile.

The file is ``<landing>/erasure_requests/forget-<UTC yyyymmddThhmmssffffff>Z-<tenant>.csv``,
written to a hidden temporary file and moved in with ``os.replace``; each ``request_id`` is
``forget-<same timestamp>-<row>``, ``requested_at`` is now (UTC): the erasure counts from
today's local date on, nothing of an earlier day changes.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

import duckdb
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from . import pipeline_db
from .bulk import (
    PUBLISHED_TABLE,
    BulkError,
    confirm,
    new_landing_file,
    open_published,
    read_customer_ids,
    require_landing_folder,
    require_tenant,
    utcnow,
    write_csv_atomically,
)
from .ingest.loader import hidden_part
from .ingest.sources import SOURCES

REQUEST_COLUMNS = SOURCES["erasure_requests"].column_names
SAMPLE_ROWS = 10
SAMPLE_COLUMNS = ("customer_id", "code", "email", "full_name", "phone", "status")
# the landing sources whose files carry personal data (docs/contract.md)
PERSONAL_SOURCES = ("customers", "suppressions", "status_imports")
MIN_SEARCHED = 3  # a value shorter than this is not searched for (it would match anything)


@dataclass(frozen=True)
class ForgetRequest:
    tenant: str
    reason: str
    actor: str
    customer: str | None = None
    customers_file: Path | None = None
    email: str | None = None

    def checked(self) -> ForgetRequest:
        tenant, reason, actor = self.tenant.strip(), self.reason.strip(), self.actor.strip()
        if not tenant:
            raise BulkError("--tenant is empty")
        if not reason:
            raise BulkError("--reason is empty: every erasure request needs a reason (rules §12)")
        if not actor:
            raise BulkError("--actor is empty: every erasure request needs an actor (rules §12)")
        selectors = [s for s in (self.customer, self.customers_file, self.email) if s is not None]
        if len(selectors) != 1:
            raise BulkError("choose exactly one of --customer, --customers, --email")
        customer = None if self.customer is None else self.customer.strip()
        if self.customer is not None and not customer:
            raise BulkError("--customer is empty")
        email = None if self.email is None else self.email.strip().lower()
        if self.email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email or ""):
            raise BulkError(f"--email '{self.email}' is not an email address")
        return ForgetRequest(tenant, reason, actor, customer, self.customers_file, email)

    @property
    def described(self) -> str:
        if self.customer is not None:
            return f"with id {self.customer}"
        if self.customers_file is not None:
            return f"listed in {self.customers_file}"
        return f"with the email {self.email}"


@dataclass
class Person:
    """Whom the request names: the published customers and their personal values."""

    customer_ids: list[str]
    sample: list[tuple]
    values: list[str]  # email, phone, name and code of every selected customer
    unknown_ids: list[str]
    already_erased: list[str]


def _erased_ids(con: duckdb.DuckDBPyConnection, tenant: str) -> set[str]:
    has = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'marts' "
        "and table_name = 'erasures'"
    ).fetchone()[0]
    if not has:
        return set()
    rows = con.execute("select customer_id from marts.erasures where tenant_id = ?", [tenant])
    return {c for (c,) in rows.fetchall()}


def find(con: duckdb.DuckDBPyConnection, request: ForgetRequest) -> Person:
    wanted: list[str] = []
    if request.email is not None:
        predicate, params = "lower(email) = ?", [request.email]
    else:
        wanted = (
            [request.customer]
            if request.customer is not None
            else read_customer_ids(request.customers_file)  # type: ignore[arg-type]
        )
        predicate, params = "customer_id in (select unnest(?::varchar[]))", [wanted]
    rows = con.execute(
        f"select {', '.join(SAMPLE_COLUMNS)} from {PUBLISHED_TABLE} "
        f"where tenant_id = ? and {predicate} order by customer_id",
        [request.tenant, *params],
    ).fetchall()
    erased = _erased_ids(con, request.tenant)
    found = {r[0] for r in rows}
    keep = [r for r in rows if r[0] not in erased]
    values = sorted(
        {
            str(v)
            for r in keep
            for v in (r[1], r[2], r[3], r[4])
            if v is not None and len(str(v).strip()) >= MIN_SEARCHED
        }
    )
    return Person(
        customer_ids=[r[0] for r in keep],
        sample=keep[:SAMPLE_ROWS],
        values=values,
        unknown_ids=[i for i in wanted if i not in found],
        already_erased=[r[0] for r in rows if r[0] in erased],
    )


def landing_files_holding(landing: Path, values: list[str]) -> list[str]:
    """The files of the personal-data sources that quote one of ``values`` (case-insensitive),
    relative to ``landing``. CSV and JSONL files are searched as text, Parquet files row by
    row (every column as text)."""
    if not values or not landing.is_dir():
        return []
    lowered = [v.lower() for v in values]
    held = []
    for source in PERSONAL_SOURCES:
        root = landing / source
        if not root.is_dir():
            continue
        for dirpath, _, names in os.walk(root):
            for name in sorted(names):
                path = Path(dirpath, name)
                relative = path.relative_to(landing).as_posix()
                if hidden_part(relative):
                    continue
                if _holds(path, lowered):
                    held.append(relative)
    return sorted(held)


def _holds(path: Path, lowered: list[str]) -> bool:
    if path.suffix.lower() == ".parquet":
        try:
            with pipeline_db.connect(":memory:") as con:
                condition = " or ".join("contains(lower(cast(t as varchar)), ?)" for _ in lowered)
                row = con.execute(
                    f"select count(*) from read_parquet(?) as t where {condition}",
                    [str(path), *lowered],
                ).fetchone()
            return bool(row and row[0])
        except duckdb.Error:
            return False
    try:
        text = path.read_bytes().decode("utf-8", errors="replace").lower()
    except OSError:
        return False
    return any(v in text for v in lowered)


def show(console: Console, request: ForgetRequest, person: Person) -> None:
    if person.unknown_ids:
        shown = ", ".join(person.unknown_ids[:10]) + (
            " ..." if len(person.unknown_ids) > 10 else ""
        )
        console.print(
            f"[yellow]{len(person.unknown_ids):,} id(s) are not customers of tenant "
            f"{escape(request.tenant)} in the published warehouse; left out:[/] {escape(shown)}"
        )
    if person.already_erased:
        console.print(
            f"{len(person.already_erased):,} customer(s) already erased, left out (a new "
            f"request would change nothing): {', '.join(person.already_erased[:10])}",
            markup=False,
        )
    n = len(person.customer_ids)
    if not n:
        return
    console.print(
        f"[bold]forget[/]: {n:,} customer(s) of tenant {escape(request.tenant)} "
        f"{escape(request.described)}: the next night replaces their email, phone, name and "
        "code with a pseudonym or NULL in every table, keeps their ids, statuses, history and "
        "counts, and makes them inactive members (reason erased) from today"
    )
    console.print(f"  reason: {request.reason}   actor: {request.actor}", markup=False)
    table = Table(title=f"whom ({len(person.sample)} of {n:,})", title_justify="left", box=None)
    for column in SAMPLE_COLUMNS:
        table.add_column(column, overflow="fold")
    for row in person.sample:
        table.add_row(*(Text("" if v is None else str(v)) for v in row))
    console.print(table)


def show_landing_files(console: Console, landing: Path, files: list[str]) -> None:
    console.print(
        "The landing files are yours: the pipeline does not edit or delete them. Every night "
        "scrubs the person from each load of them, but they still hold the data.",
        markup=False,
    )
    if files:
        console.print(
            f"{len(files):,} landing file(s) under {landing} still hold the person's email, "
            "phone, name or code (edit or remove them yourself):",
            markup=False,
        )
        for file in files:
            console.print(f"  {file}", markup=False)
    else:
        console.print(
            f"No file of {', '.join(PERSONAL_SOURCES)} under {landing} quotes the person's "
            "current email, phone, name or code.",
            markup=False,
        )


def run(
    request: ForgetRequest,
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
        person = find(con, request)
    show(console, request, person)
    n = len(person.customer_ids)
    if not n:
        console.print(
            f"nothing to do: no customer to erase of tenant {request.tenant} {request.described}",
            markup=False,
        )
        return 0
    files = landing_files_holding(landing, person.values)
    if dry_run:
        show_landing_files(console, landing, files)
        console.print("dry run: nothing written")
        return 0
    if not yes and not confirm(
        console, f"Write {n:,} erasure request(s)? This cannot be undone.", stdin or sys.stdin
    ):
        console.print("not confirmed: nothing written")
        return 1
    path = write_request_file(
        landing,
        request.tenant,
        person.customer_ids,
        reason=request.reason,
        actor=request.actor,
        now=(now or utcnow)(),
    )
    console.print(
        f"[green]wrote[/] {n:,} erasure request(s) to {escape(str(path))}; the next nightly run "
        "carries them out (published in marts.erasures)"
    )
    show_landing_files(console, landing, files)
    return 0


def write_request_file(
    landing: Path,
    tenant: str,
    customer_ids: list[str],
    *,
    reason: str,
    actor: str,
    now: datetime,
) -> Path:
    """Write one ``erasure_requests`` file atomically; return its path."""
    path, stamp, now = new_landing_file(landing / "erasure_requests", "forget", tenant, now)
    requested_at = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    width = max(6, len(str(len(customer_ids))))
    rows = (
        {
            "tenant_id": tenant,
            "request_id": f"forget-{stamp}-{number:0{width}d}",
            "customer_id": customer_id,
            "requested_at": requested_at,
            "reason": reason,
            "actor": actor,
        }
        for number, customer_id in enumerate(customer_ids, start=1)
    )
    write_csv_atomically(path, REQUEST_COLUMNS, ([row[c] for c in REQUEST_COLUMNS] for row in rows))
    return path
