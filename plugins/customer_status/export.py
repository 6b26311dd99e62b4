"""The status spreadsheet: ``customer-status export`` (docs/contract.md "Commands").

One row per customer of the tenant in the published ``marts.customer_status`` (erased
customers left out, rules §12: ``marts.erasures``), ordered by
code (customers without one last) then customer id, with the columns a status import reads
back (docs/contract.md ``status_imports``): ``Code``, ``Name`` (``full_name``), ``Email`` and
``Customer Status`` (``Active``/``Inactive`` from ``member_status``). UTF-8 without a BOM,
comma-delimited, fields quoted only where CSV needs it.

A cell a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or
carriage return) is written with a leading ``'``; the import strips a ``'`` standing before
one of those characters (``ingest.loader._unformula``), so the round trip gives back the
same codes and emails. A value that itself starts with ``'`` before such a character (a code
``'=X``, ``''+1``) gets one more ``'`` (``''=X``) for the same reason: the import strips
exactly one ``'`` from a cell of ``'`` characters followed by a formula character, so every
value comes back as it was.

Importing matches each row by ``Code``, or by ``Email`` when its ``Code`` is empty; a row
with neither, or whose code or email belongs to several customers, is rejected by the night
that loads it. The command counts such customers so nobody is surprised.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .bulk import (
    PUBLISHED_TABLE,
    BulkError,
    open_published,
    require_tenant,
    write_csv_atomically,
)

HEADER = ("Code", "Name", "Email", "Customer Status")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MEMBER_STATUS_CELL = {"active": "Active", "inactive": "Inactive"}


def needs_guard(value: str | None) -> bool:
    """Whether ``value`` starts with a formula character, after any leading ``'``."""
    return bool(value) and value.lstrip("'").startswith(FORMULA_STARTS)


def guard(value: str | None) -> str:
    """The cell for ``value``: empty for NULL, a leading ``'`` before a formula character
    (or before ``'`` characters that stand before one)."""
    if value is None:
        return ""
    return "'" + value if needs_guard(value) else value


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int
    without_code: int  # matched back by email
    without_key: int  # neither code nor email: cannot be matched back
    shared_codes: int  # customers whose code another customer of the tenant also has
    guarded_cells: int


def _not_erased(con) -> str:
    """rules §12: an erased customer is left out of exports (``marts.erasures``; a warehouse
    published before erasures existed has none)."""
    has = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'marts' "
        "and table_name = 'erasures'"
    ).fetchone()[0]
    if not has:
        return "true"
    return (
        f"customer_id not in (select e.customer_id from marts.erasures e "
        f"where e.tenant_id = {PUBLISHED_TABLE}.tenant_id)"
    )


def export_tenant(warehouse: Path, tenant: str, out: Path) -> ExportResult:
    """Write the tenant's spreadsheet to ``out`` (atomically: temp file, then os.replace)."""
    tenant = tenant.strip()
    if not out.parent.is_dir():
        raise BulkError(f"folder {out.parent} does not exist (for --out {out})")
    if out.is_dir():
        raise BulkError(f"--out {out} is a folder; name the file to write")
    with open_published(warehouse) as con:
        require_tenant(con, tenant)
        rows = con.execute(
            f"""
            select code, full_name, email, member_status,
                   count(code) over (partition by code) > 1 as shared_code
            from {PUBLISHED_TABLE}
            where tenant_id = ? and {_not_erased(con)}
            order by code nulls last, customer_id
            """,
            [tenant],
        ).fetchall()
    cells = [
        (code, name, email, MEMBER_STATUS_CELL.get(member_status, member_status))
        for code, name, email, member_status, _ in rows
    ]
    guarded = sum(1 for values in cells for v in values if needs_guard(v))
    write_csv_atomically(out, HEADER, ([guard(v) for v in values] for values in cells))
    return ExportResult(
        path=out,
        rows=len(rows),
        without_code=sum(1 for r in rows if r[0] is None and r[2] is not None),
        without_key=sum(1 for r in rows if r[0] is None and r[2] is None),
        shared_codes=sum(1 for r in rows if r[4]),
        guarded_cells=guarded,
    )
