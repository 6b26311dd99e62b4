"""Typing and row rules for one batch, as one DuckDB query built from ``sources.SOURCES``.

For every column the source knows, the query yields the typed value and, per row, the
reasons it cannot be loaded ("created_at '31/10/2026' is not an ISO 8601 timestamp"),
joined with "; ". Finding bad rows is set-based SQL over the whole batch, so a 10-million-
row Parquet file is checked in one scan.
"""

from __future__ import annotations

from datetime import datetime

from ..pipeline_db import quote_ident, quote_literal
from .readers import READ_ERROR, ROW_NUMBER
from .sources import Column, Source

TRUE_WORDS = ("true", "1", "yes", "t", "y")
FALSE_WORDS = ("false", "0", "no", "f", "n")
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# Clocks drift: a timestamp up to this far past the run's start is still accepted.
FUTURE_TOLERANCE = "interval 1 hour"
# No timestamp before this is data (rules §1: a created_at before 1900-01-01 cannot be right).
EARLIEST_TIMESTAMP = "1900-01-01"

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


def utc_timestamp(instant: str) -> str:
    """SQL: the UTC wall time (``timestamp``) of the ``timestamptz`` ``instant``, as
    ``timezone('UTC', instant)`` gives it. A finite instant is its microseconds since the
    epoch, which is what a UTC ``timestamp`` holds: that costs a tenth of the time zone
    conversion (0.3 s per 3.4M-row Parquet part); infinities keep the conversion."""
    return (
        f"case when isfinite({instant}) then make_timestamp(epoch_us({instant})) "
        f"else timezone('UTC', {instant}) end"
    )


def trimmed(text: str) -> str:
    """SQL: ``trim(text)`` (DuckDB removes the Unicode space separators, Zs, from both
    ends), skipped for the usual value that cannot need it: ASCII only (as many bytes as
    characters) and no space at either end, since the only ASCII Zs character is the space.
    Trimming every value cost half of the typing of a large file."""
    return (
        f"case when strlen({text}) = length({text}) and not starts_with({text}, ' ') "
        f"and not suffix({text}, ' ') then {text} else trim({text}) end"
    )


def typed_expression(col: Column, raw: str) -> str:
    """SQL turning ``raw`` (trimmed text, NULL when empty) into the column's type."""
    if col.kind == "timestamp":
        return utc_timestamp(f"try_cast({raw} as timestamptz)")
    if col.kind == "boolean":
        return (
            f"case when lower({raw}) in {_in_list(TRUE_WORDS)} then true "
            f"when lower({raw}) in {_in_list(FALSE_WORDS)} then false end"
        )
    if col.kind == "integer":
        # DuckDB casts the text '2.5' to the integer 3: only whole numbers are whole numbers
        return (
            f"case when regexp_full_match({raw}, '[+-]?[0-9]+') then try_cast({raw} as bigint) end"
        )
    if col.kind in ("amount", "ratio"):
        return f"try_cast({raw} as {col.sql_type})"
    if col.kind in ("enum", "lower", "email"):
        return f"lower({raw})"
    if col.kind == "timezone":
        return f"(select min(name) from pg_timezone_names() where lower(name) = lower({raw}))"
    return raw


def row_errors(
    col: Column, raw: str, typed: str, started_at: datetime, shown_raw: str | None = None
) -> list[str]:
    """SQL expressions, each a reason (text) or NULL, for one column of one row.

    ``raw`` is the value as read (NULL when empty), ``shown_raw`` its text for messages
    (default: ``raw`` itself, for text columns)."""
    name = col.name
    shown = f"left({shown_raw or raw}, 60)"
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
    if col.kind == "amount":
        errors.append(_too_precise(col, raw, typed, shown, native=shown_raw is not None))
    if col.kind == "ratio":
        errors.append(
            f"case when {typed} not between 0 and 1 then "
            f"'{name} ' || {shown} || ' is not between 0 and 1' end"
        )
    if col.kind == "timestamp":
        errors.append(
            f"case when {typed} < timestamp '{EARLIEST_TIMESTAMP}' then "
            f"'{name} ' || strftime({typed}, '%Y-%m-%d %H:%M:%S') || "
            f"' UTC is before {EARLIEST_TIMESTAMP}: not a plausible date' end"
        )
        start = quote_literal(started_at.strftime("%Y-%m-%d %H:%M:%S"))
        errors.append(
            f"case when {typed} > timestamp {start} + {FUTURE_TOLERANCE} then "
            f"'{name} ' || strftime({typed}, '%Y-%m-%d %H:%M:%S') || "
            f"' UTC is later than the start of this run ({start[1:-1]} UTC)' end"
        )
    return errors


def _too_precise(col: Column, raw: str, typed: str, shown: str, native: bool) -> str:
    """An amount with more decimals than the raw table keeps (``decimal(18, 2)``) is
    rejected, never rounded: '1.005' is not 1.01. Trailing zeros are no extra precision
    ('12.500' is 12.50). Text is checked by its digits (and, for an exponent form such as
    '1.5e-3', by value); a native Parquet number by value (a DECIMAL(p, 4) or a DOUBLE)."""
    scale = col.sql_type.rstrip(")").split(",")[-1].strip()
    if native:
        lost = f"{raw} <> {typed}"
    else:
        lost = (
            f"(regexp_matches({raw}, '\\.[0-9]{{{scale}}}[0-9]*[1-9]') "
            f"or try_cast({raw} as double) <> cast({typed} as double))"
        )
    return (
        f"case when {typed} is not null and {lost} then '{col.name} ' || {shown} || "
        f"' has more than {scale} decimals: amounts are kept to {scale} decimals and "
        "never rounded' end"
    )


def raw_text(name: str, present: bool) -> str:
    if not present:
        return "cast(null as varchar)"
    return f"nullif({trimmed(f'cast({quote_ident(name)} as varchar)')}, '')"


# A Parquet column that already has the column's type skips the text round trip (a cast to
# text, then a parse back, for every value): DuckDB type of the batch column -> the typed
# value.
_NATIVE = {
    "timestamp": {
        "TIMESTAMP WITH TIME ZONE": utc_timestamp("{c}"),
        "TIMESTAMP": "{c}",
        "TIMESTAMP_NS": "cast({c} as timestamp)",
        "TIMESTAMP_MS": "cast({c} as timestamp)",
        "TIMESTAMP_S": "cast({c} as timestamp)",
    },
    "boolean": {"BOOLEAN": "{c}"},
}
_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")


def _native_typed(col: Column, batch_type: str | None, value: str) -> str | None:
    """The typed value straight from a natively typed batch column, or None (parse text)."""
    if batch_type is None:
        return None
    numeric = batch_type in _INTEGERS or batch_type.startswith("DECIMAL") or batch_type == "DOUBLE"
    # a whole-number column takes integer types only: 2.5 must be rejected, not rounded
    if (col.kind == "integer" and batch_type in _INTEGERS) or (
        col.kind in ("amount", "ratio") and numeric
    ):
        return f"try_cast({value} as {col.sql_type})"  # NULL when it does not fit
    template = _NATIVE.get(col.kind, {}).get(batch_type)
    return template.format(c=value) if template else None


def _columns_sql(
    columns: tuple[Column, ...], present: dict[str, str], started_at: datetime
) -> tuple[list[str], list[str], list[str]]:
    """Per column: the raw value (trimmed text, or the native value of a typed Parquet
    column), the typed value and the reasons a row cannot be loaded (SQL lists)."""
    raws, typeds, errors = [], [], []
    for col in columns:
        raw_name = quote_ident(f"raw:{col.name}")
        batch_type = present.get(col.name)
        native = _native_typed(col, batch_type, raw_name)
        if native is None:
            raws.append(f"{raw_text(col.name, col.name in present)} as {raw_name}")
            typed = typed_expression(col, raw_name)
            errors.extend(row_errors(col, raw_name, quote_ident(col.name), started_at))
        else:
            raws.append(f"{quote_ident(col.name)} as {raw_name}")
            typed = native
            shown = f"cast({raw_name} as varchar)"
            errors.extend(row_errors(col, raw_name, quote_ident(col.name), started_at, shown))
        typeds.append(f"{typed} as {quote_ident(col.name)}")
    return raws, typeds, errors


def _key(source: Source) -> list[str]:
    """The columns whose values must not repeat with other content: key (and version)."""
    return [quote_ident(k) for k in (*source.key, source.version_column) if k]


def key_hash(source: Source) -> str:
    """SQL over ``checked`` (or any relation with the typed columns): the 64-bit hash of a
    row's typed key (and version). Grouping this hash is far cheaper than grouping the key's
    text, and a file almost never repeats a key, so ``checked_query`` compares rows only for
    the hashes that repeat (a hash collision only adds a candidate; the comparison itself is
    by the key's values)."""
    return f"hash({', '.join(_key(source))})"


def checked_query(
    source: Source, present: dict[str, str], started_at: datetime, repeats: str | None = None
) -> str:
    """SELECT over ``batch``: typed columns, ``_row_number`` and ``_error`` (NULL = good row).

    ``present`` maps the batch's known columns to their DuckDB types. Each expression is
    computed once per row, in one pass over the batch: the raw values (trimmed text, or the
    native value of a typed Parquet column), the typed values, then the reasons.

    A row whose key (and version) repeats an earlier row of the same file with other values
    is rejected as a duplicate; an identical repeat is kept (staging collapses it).
    ``repeats`` names a relation of the key hashes (``key_hash``, column ``_key_hash``) that
    occur more than once; only rows with those keys are compared, and without it (no key
    repeats) no comparison is made at all.
    """
    raws, typeds, errors = _columns_sql(source.columns, present, started_at)
    columns = ", ".join(quote_ident(c.name) for c in source.columns)
    reasons = f"""-- a row that could not be read has only that reason
                   coalesce(_read_error, nullif(concat_ws('; ', {", ".join(errors)}), ''))"""
    values = f"""
        with raw_values as (
            select {", ".join(raws)}, {quote_ident(ROW_NUMBER)} as _row_number,
                   {quote_ident(READ_ERROR)} as _read_error
            from batch
        ),
        typed as (
            select {", ".join(typeds)}, raw_values.*
            from raw_values
        )"""
    if repeats is None:
        return f"""{values}
        select {columns}, _row_number, {reasons} as _error
        from typed
    """
    key = _key(source)
    key_text = " || ', ' || ".join(
        f"'{k}=' || coalesce(cast(checked.{quote_ident(k)} as varchar), '')" for k in source.key
    )
    return f"""{values},
        checked as (
            select {columns}, _row_number, hash({columns}) as _content,
                   {key_hash(source)} as _key_hash,
                   {reasons} as _row_error
            from typed
        ),
        -- keys (and versions) that appear more than once, with the first row's content
        repeated as (
            select {", ".join(key)}, min(_row_number) as _first_row,
                   arg_min(_content, _row_number) as _first_content
            from checked
            where _key_hash in (select _key_hash from {repeats})
            group by {", ".join(key)}
            having count(*) > 1
        )
        select {", ".join(f"checked.{quote_ident(c.name)}" for c in source.columns)},
               checked._row_number,
               coalesce(checked._row_error, case when checked._content <> repeated._first_content then
                   'duplicate key (' || {key_text} || ') with other values than row '
                   || repeated._first_row || ' of the same file' end) as _error
        from checked
        left join repeated
            on {" and ".join(f"repeated.{k} is not distinct from checked.{k}" for k in key)}
    """
