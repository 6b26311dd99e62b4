"""Typing and row rules for one batch, as one DuckDB query built from ``sources.SOURCES``.

For every column the source knows, the query yields the typed value and, per row, the
reasons it cannot be loaded ("created_at '31/10/2026' is not an ISO 8601 timestamp"),
joined with "; ". Finding bad rows is set-based SQL over the whole batch, so a 10-million-
row Parquet file is checked in one scan.
"""

from __future__ import annotations

from datetime import datetime

from .readers import quote_ident, quote_literal
from .sources import Column, Source

TRUE_WORDS = ("true", "1", "yes", "t", "y")
FALSE_WORDS = ("false", "0", "no", "f", "n")
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# Clocks drift: a timestamp up to this far past the run's start is still accepted.
FUTURE_TOLERANCE = "interval 1 hour"

_WHAT = {
    "timestamp": "an ISO 8601 timestamp",
    "boolean": "a boolean (true/false, 1/0, yes/no)",
    "integer": "a whole number",
    "amount": "a number",
    "ratio": "a number",
    "timezone": "a known time zone (e.g. Europe/Paris)",
}


def _in_list(words: tuple[str, ...]) -> str:
    return "(" + ", ".join(quote_literal(w) for w in words) + ")"


def typed_expression(col: Column, raw: str) -> str:
    """SQL turning ``raw`` (trimmed text, NULL when empty) into the column's type."""
    if col.kind == "timestamp":
        return f"timezone('UTC', try_cast({raw} as timestamptz))"
    if col.kind == "boolean":
        return (
            f"case when lower({raw}) in {_in_list(TRUE_WORDS)} then true "
            f"when lower({raw}) in {_in_list(FALSE_WORDS)} then false end"
        )
    if col.kind in ("integer", "amount", "ratio"):
        return f"try_cast({raw} as {col.sql_type})"
    if col.kind in ("enum", "lower", "email"):
        return f"lower({raw})"
    if col.kind == "timezone":
        return f"(select min(name) from pg_timezone_names() where lower(name) = lower({raw}))"
    return raw


def row_errors(col: Column, raw: str, typed: str, started_at: datetime) -> list[str]:
    """SQL expressions, each a reason (text) or NULL, for one column of one row."""
    name = col.name
    shown = f"left({raw}, 60)"
    errors = []
    if col.required:
        errors.append(f"case when {raw} is null then '{name} is missing' end")
    if col.kind in _WHAT:
        errors.append(
            f"case when {raw} is not null and {typed} is null then "
            f"'{name} ''' || {shown} || ''' is not {_WHAT[col.kind]}' end"
        )
    if col.kind == "enum":
        errors.append(
            f"case when {typed} not in {_in_list(col.values)} then "
            f"'{name} ''' || {shown} || ''' is not one of {', '.join(col.values)}' end"
        )
    if col.kind == "email":
        errors.append(
            f"case when not regexp_full_match({typed}, {quote_literal(EMAIL_PATTERN)}) then "
            f"'{name} ''' || {shown} || ''' is not an email address' end"
        )
    if col.kind in ("amount", "integer"):
        errors.append(f"case when {typed} < 0 then '{name} ' || {shown} || ' is negative' end")
    if col.kind == "ratio":
        errors.append(
            f"case when {typed} not between 0 and 1 then "
            f"'{name} ' || {shown} || ' is not between 0 and 1' end"
        )
    if col.kind == "timestamp":
        start = quote_literal(started_at.strftime("%Y-%m-%d %H:%M:%S"))
        errors.append(
            f"case when {typed} > timestamp {start} + {FUTURE_TOLERANCE} then "
            f"'{name} ' || strftime({typed}, '%Y-%m-%d %H:%M:%S') || "
            f"' UTC is later than the start of this run ({start[1:-1]} UTC)' end"
        )
    return errors


def raw_text(name: str, present: bool) -> str:
    if not present:
        return "cast(null as varchar)"
    return f"nullif(trim(cast({quote_ident(name)} as varchar)), '')"


def checked_query(source: Source, present: list[str], started_at: datetime) -> str:
    """SELECT over ``batch``: typed columns, ``_row_number`` and ``_error`` (NULL = good row).

    A row whose key (and version) repeats an earlier row of the same file with other values
    is rejected as a duplicate; an identical repeat is kept (staging collapses it).
    """
    typed_cols, errors = [], ["_read_error"]
    for col in source.columns:
        raw = raw_text(col.name, col.name in present)
        typed = typed_expression(col, raw)
        typed_cols.append(f"{typed} as {quote_ident(col.name)}")
        errors.extend(row_errors(col, raw, typed, started_at))
    partition = ", ".join(quote_ident(k) for k in (*source.key, source.version_column) if k)
    content = ", ".join(quote_ident(c.name) for c in source.columns)
    key_text = " || ', ' || ".join(
        f"'{k}=' || coalesce(cast({quote_ident(k)} as varchar), '')" for k in source.key
    )
    return f"""
        with typed as (
            select {", ".join(typed_cols)}, _row_number,
                   nullif(concat_ws('; ', {", ".join(errors)}), '') as _row_error
            from batch
        ),
        ranked as (
            select *,
                   first_value(_row_number) over w as _first_row,
                   hash({content}) <> first_value(hash({content})) over w as _differs
            from typed
            window w as (partition by {partition} order by _row_number)
        )
        select * exclude (_row_error, _first_row, _differs),
               coalesce(_row_error, case when _differs then
                   'duplicate key (' || {key_text} || ') with other values than row '
                   || _first_row || ' of the same file' end) as _error
        from ranked
    """
