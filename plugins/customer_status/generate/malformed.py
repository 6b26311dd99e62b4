"""Deliberately bad input: bad rows made from good ones, spread through a file, and one broken file.

Every bad row or file is recorded as ``{"file", "row_number", "kind"}`` (``row_number``:
1-based data row, header not counted; ``None`` for a whole file). Kinds:

``bad_timestamp``, ``missing_required``, ``negative_amount``, ``unknown_enum``,
``bad_boolean``, ``bad_email``, ``wrong_field_count``, ``not_json``, ``merge_cycle``,
``missing_required_column``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TypeVar

Row = TypeVar("Row")

#: Header of the broken orders export: ``customer`` where ``customer_id`` is required.
BROKEN_ORDERS_HEADER = (
    "tenant_id",
    "order_id",
    "customer",
    "created_at",
    "paid_at",
    "amount",
    "currency",
)


def record(file: str, row_number: int | None, kind: str) -> dict:
    """One ``malformed`` entry."""
    return {"file": file, "row_number": row_number, "kind": kind}


def inject(rows: list[Row], bad: list[tuple[Row, str]], file: str) -> tuple[list[Row], list[dict]]:
    """Spread ``bad`` rows evenly through ``rows``; return the new rows and their records."""
    out = list(rows)
    n, k = len(rows), len(bad)
    records = []
    for j, (row, kind) in enumerate(bad):
        pos = (j + 1) * (n + k) // (k + 1)  # index in the final list; ascending, always valid
        out.insert(pos, row)
        records.append(record(file, pos + 1, kind))
    return out, records


def invalid_instant(end_date: date, kind: int) -> str:
    """A timestamp no ISO 8601 parser accepts (30 February, or hour 27)."""
    if kind == 0:
        return f"{end_date.year:04d}-02-30T10:15:00Z"
    return f"{end_date - timedelta(days=1):%Y-%m-%d}T27:15:00Z"


def bad_order_rows(template: list[str], end_date: date) -> list[tuple[list[str], str]]:
    """Bad versions of a good daily order row (9 fields, contract order)."""

    def new(k: int) -> list[str]:
        row = list(template)
        row[1] = f"O9999{k:07d}"  # an order id no chunk produces
        return row

    negative = new(1)
    negative[6] = "-" + negative[6]
    bad_time = new(2)
    bad_time[3] = invalid_instant(end_date, 0)
    split = new(3)  # "1,234.50" exported unquoted: one field too many
    split = split[:6] + ["1", "234.50"] + split[7:]
    return [
        (negative, "negative_amount"),
        (bad_time, "bad_timestamp"),
        (split, "wrong_field_count"),
    ]


def bad_action_rows(
    template: list[str], next_id: str, end_date: date
) -> list[tuple[list[str], str]]:
    """Bad versions of a good ``status_actions`` row (9 fields, contract order)."""
    unknown = list(template)
    unknown[1] = next_id
    unknown[8] = "fax"  # source must be ui/bulk/api
    missing = list(template)
    missing[1] = ""  # action_id is required
    bad_time = list(template)
    bad_time[1] = next_id + "b"
    bad_time[7] = invalid_instant(end_date, 1)
    return [(unknown, "unknown_enum"), (missing, "missing_required"), (bad_time, "bad_timestamp")]


def bad_customer_rows(templates: list[list[str]]) -> list[tuple[list[str], str]]:
    """Bad versions of good customer update rows (12 fields, contract order); needs 3 templates."""
    email = list(templates[0])
    local = email[3].split("@")[0] if email[3] else "maria.gomez"
    email[3] = f"{local}(at)gmail.com"
    boolean = list(templates[1])
    boolean[6] = "maybe"
    missing = list(templates[2])
    missing[7] = ""  # created_at is required
    return [(email, "bad_email"), (boolean, "bad_boolean"), (missing, "missing_required")]


def truncated_json(line: str) -> str:
    """A JSON line cut off mid-write (not JSON)."""
    return line[: max(1, len(line) * 2 // 3)]
