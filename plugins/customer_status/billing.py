"""``customer-status billing --tenant T [--month YYYY-MM] --out FILE``: the file finance sends.

From the published warehouse only (read-only): the month's figures of rules §7
(``marts.billing_monthly``: billing basis, month-end and peak billable count with its date,
average, days computed, complete or not) with the run that published them, and every
restatement of the period (``marts.billing_restatements``: the month's own figures and each
of its days), each with the run that made it and when.

- ``--month`` defaults to the tenant's latest complete month (the latest month when none
  is complete yet): the month finance invoices.
- ``.csv``: one table, a ``section`` column (``figure`` or ``restatement``) and the same
  columns for both; ``.xlsx`` (openpyxl): a sheet ``figures`` and a sheet ``restatements``.
  Both are written to a temporary file beside the target and moved in whole. Cells are data
  only (text cells that a spreadsheet would run as a formula get a leading ``'``).
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from .bulk import BulkError, open_published, require_tenant
from .export import guard

EXTENSIONS = (".csv", ".xlsx")
FIGURES = (
    "billing_basis",
    "month_end_billable",
    "peak_billable",
    "peak_date",
    "average_billable",
    "days_computed",
    "is_complete",
)
HEADER = (
    "section",
    "tenant_id",
    "month",
    "metric",
    "value",
    "period",
    "grain",
    "old_value",
    "new_value",
    "run_id",
    "at",
)


@dataclass(frozen=True)
class BillingFile:
    path: Path
    tenant: str
    month: date
    figures: int
    restatements: int
    is_complete: bool


def parse_month(text: str) -> date:
    match = re.fullmatch(r"\s*(\d{4})-(\d{2})\s*", text or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise BulkError(f"--month '{text}' is not a month: write it YYYY-MM (e.g. 2026-10)")
    return date(int(match.group(1)), int(match.group(2)), 1)


def check_out(out: Path) -> Path:
    if out.suffix.lower() not in EXTENSIONS:
        raise BulkError(
            f"--out {out}: the file must end in .csv or .xlsx (the extension chooses the format)"
        )
    if not out.parent.is_dir():
        raise BulkError(f"--out {out}: the folder {out.parent} does not exist")
    return out


def _value(v):
    if isinstance(v, Decimal):
        return float(v) if v != v.to_integral_value() else int(v)
    if isinstance(v, bool):
        return str(v).lower()
    return v


def rows_for(warehouse: Path, tenant: str, month: date | None) -> tuple[date, bool, list, list]:
    """(month, complete, figure rows, restatement rows) as lists of HEADER-ordered values."""
    con = open_published(warehouse)
    try:
        require_tenant(con, tenant)
        months = con.execute(
            "select month, is_complete from marts.billing_monthly where tenant_id = ? "
            "order by month",
            [tenant],
        ).fetchall()
        if not months:
            raise BulkError(f"tenant '{tenant}' has no billing figures in the published warehouse")
        if month is None:
            complete = [m for m, done in months if done]
            month = complete[-1] if complete else months[-1][0]
        elif month not in {m for m, _ in months}:
            raise BulkError(
                f"no billing figures for tenant '{tenant}' in {month:%Y-%m}: the published "
                f"months are {months[0][0]:%Y-%m} to {months[-1][0]:%Y-%m}"
            )
        cur = con.execute(
            f"select {', '.join(FIGURES)} from marts.billing_monthly "
            "where tenant_id = ? and month = ?",
            [tenant, month],
        )
        figures = dict(zip(FIGURES, cur.fetchone(), strict=True))
        run = con.execute(
            "select run_id, finished_at from marts.pipeline_runs where outcome = 'published' "
            "order by finished_at desc, run_id desc limit 1"
        ).fetchone() or (None, None)
        end = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        restated = con.execute(
            "select period, coalesce(grain, case when period = ? then 'month' else 'day' end), "
            "metric, old_value, new_value, restated_by_run, restated_at "
            "from marts.billing_restatements where tenant_id = ? and period >= ? and period < ? "
            "order by restated_at, period, metric",
            [month, tenant, month, end],
        ).fetchall()
    finally:
        con.close()
    m = month.strftime("%Y-%m")
    figure_rows = [
        [
            "figure",
            tenant,
            m,
            name,
            _value(figures[name]),
            None,
            "month",
            None,
            None,
            run[0],
            run[1],
        ]
        for name in FIGURES
    ]
    restatement_rows = [
        ["restatement", tenant, m, metric, None, period, grain, _value(old), _value(new), by, at]
        for period, grain, metric, old, new, by, at in restated
    ]
    return month, bool(figures["is_complete"]), figure_rows, restatement_rows


def _cell(v):
    return guard(v) if isinstance(v, str) else v


def export(warehouse: Path, tenant: str, month: date | None, out: Path) -> BillingFile:
    """Write the billing file of ``tenant`` for ``month`` (None: the latest complete one)."""
    out = check_out(Path(out))
    month, complete, figures, restated = rows_for(Path(warehouse), tenant, month)
    temp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        if out.suffix.lower() == ".csv":
            with temp.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(HEADER)
                for row in figures + restated:
                    writer.writerow(["" if v is None else _cell(v) for v in row])
                handle.flush()
                os.fsync(handle.fileno())
        else:
            from openpyxl import Workbook

            book = Workbook()
            sheet = book.active
            sheet.title = "figures"
            sheet.append(
                ["tenant_id", "month", "metric", "value", "published_by_run", "published_at"]
            )
            for row in figures:
                sheet.append([_cell(v) for v in (row[1], row[2], row[3], row[4], row[9], row[10])])
            sheet = book.create_sheet("restatements")
            sheet.append(
                [
                    "tenant_id",
                    "month",
                    "period",
                    "grain",
                    "metric",
                    "old_value",
                    "new_value",
                    "restated_by_run",
                    "restated_at",
                ]
            )
            for row in restated:
                sheet.append(
                    [
                        _cell(v)
                        for v in (
                            row[1],
                            row[2],
                            row[5],
                            row[6],
                            row[3],
                            row[7],
                            row[8],
                            row[9],
                            row[10],
                        )
                    ]
                )
            book.save(temp)
        os.replace(temp, out)
    finally:
        temp.unlink(missing_ok=True)
    return BillingFile(out, tenant, month, len(figures), len(restated), complete)


def export_all_tenants(warehouse: Path, folder: Path) -> list[Path]:
    """Each tenant's billing file of its latest complete month, as
    ``<folder>/<tenant>-<YYYY-MM>.csv`` (the example DAG scheduled on the published asset).
    Tenants without billing figures are skipped, and said so in the log."""
    import logging

    con = open_published(Path(warehouse))
    try:
        tenants = [
            t
            for (t,) in con.execute(
                "select distinct tenant_id from marts.customer_status order by 1"
            ).fetchall()
        ]
    finally:
        con.close()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for tenant in tenants:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", tenant)
        try:
            result = export(Path(warehouse), tenant, None, folder / f"{safe}.csv")
        except BulkError as exc:
            logging.getLogger(__name__).warning("no billing file for tenant %r: %s", tenant, exc)
            continue
        final = result.path.with_name(f"{safe}-{result.month:%Y-%m}.csv")
        os.replace(result.path, final)
        written.append(final)
    return written
