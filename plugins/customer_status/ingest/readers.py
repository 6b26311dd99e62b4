"""Read one landing file into a DuckDB temporary relation, whatever its format.

Every reader produces the relation ``batch`` with the file's wanted columns under normalised
names (trimmed, lower case), ``ROW_NUMBER`` (1-based data row, header not counted, blank lines
skipped) and ``READ_ERROR`` (why a row could not even be read, else NULL), so that each row
keeps its number and a broken row is a reject, not a failed file. The two internal columns
have names no landing column can have (``cs:`` prefix; only the source's own columns are
kept), so a file with its own ``_row_number`` or ``_read_error`` column cannot override them.
``ReadStats.physical_rows`` counts the rows physically in the file independently of the
parser (non-blank lines, Parquet metadata), for the reconciliation. CSV is read in Python;
JSONL is split into lines and parsed by set-based DuckDB SQL (its results match Python's
``json`` module, see ``_read_jsonl``); Parquet is read by DuckDB directly. A file that cannot
be read at all raises ``FileRejected`` with a reason a person understands.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from ..pipeline_db import quote_ident, quote_literal

CHUNK_ROWS = 100_000
SUPPORTED = (".csv", ".parquet", ".jsonl")
# the internal columns of ``batch`` (a landing column name never contains ':')
ROW_NUMBER = "cs:row_number"
READ_ERROR = "cs:read_error"


@dataclass
class ReadStats:
    """What a reader counted in the file besides the rows of ``batch``."""

    physical_rows: int | None = None  # rows physically in the file, counted apart from parsing


class FileRejected(Exception):
    """The whole file cannot be loaded; the message says why.

    ``rows`` is how many data rows the file has, where that could be counted (else 0);
    ``by_settings``: the verdict came from tenant settings (``max_reject_ratio``), so new
    settings can change it.
    """

    def __init__(self, message: str, rows: int = 0, by_settings: bool = False):
        super().__init__(message)
        self.rows = rows
        self.by_settings = by_settings


def normalise(name: str) -> str:
    return name.replace("\ufeff", "").strip().lower()


def drop_batch(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the temp relation ``batch``, a table (CSV, JSONL) or a view (Parquet)."""
    for (kind,) in con.execute(
        "select 'view' from duckdb_views() where temporary and view_name = 'batch' union all "
        "select 'table' from duckdb_tables() where temporary and table_name = 'batch'"
    ).fetchall():
        con.execute(f"drop {kind} batch")


def read_batch(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    wanted: Iterable[str],
    stats: ReadStats | None = None,
) -> list[str]:
    """Create temp relation ``batch`` from ``path``; return the normalised columns it has.

    ``wanted`` are the columns the source knows; only those are kept (unknown extra columns
    never reach the raw tables and do not fail the file). ``stats``, if given, is filled in.
    """
    stats = stats if stats is not None else ReadStats()
    wanted = tuple(wanted)
    drop_batch(con)
    if path.stat().st_size == 0:
        raise FileRejected("the file is empty (0 bytes)")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".jsonl"):
        with path.open("rb") as handle:
            if b"\x00" in handle.read(1 << 16):
                raise FileRejected("not a text file: it contains NUL bytes (binary data?)")
    if suffix == ".parquet":
        return _read_parquet(con, path, wanted, stats)
    if suffix == ".csv":
        return _load_rows(con, *_csv_rows(path, wanted, stats))
    if suffix == ".jsonl":
        return _read_jsonl(con, path, list(wanted), stats)
    raise FileRejected(
        f"unsupported file type '{path.suffix or '(none)'}': landing files must be "
        + ", ".join(SUPPORTED)
    )


def _read_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, wanted: tuple[str, ...], stats: ReadStats
) -> list[str]:
    literal = quote_literal(_glob_literal(path))
    try:
        described = con.execute(f"describe select * from read_parquet({literal})").fetchall()
    except duckdb.Error as exc:
        raise FileRejected(f"not a readable Parquet file: {_first_line(exc)}") from exc
    names = [row[0] for row in described]
    seen: dict[str, str] = {}
    for name in names:
        norm = normalise(name)
        if norm in seen:
            raise FileRejected(f"column '{norm}' appears twice ('{seen[norm]}' and '{name}')")
        seen[norm] = name
    kept = {norm: orig for norm, orig in seen.items() if norm in wanted}
    select = "".join(f"{quote_ident(orig)} as {quote_ident(norm)}, " for norm, orig in kept.items())
    if "file_row_number" in seen:
        # the file has a column of that name, which hides DuckDB's row counter: number the
        # rows from an Arrow copy of the wanted columns instead (rare, so memory is fine)
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path, columns=list(kept.values()))
        except (OSError, pa.ArrowException) as exc:
            raise FileRejected(f"not a readable Parquet file: {_first_line(exc)}") from exc
        numbered = table.append_column(  # noqa: F841 (read by DuckDB)
            "cs:file_row_number", pa.array(range(table.num_rows), pa.int64())
        )
        scan = "numbered"
        counter = '"cs:file_row_number"'
        con.execute(
            f"create temp table batch as select {select}{counter} + 1 as "
            f"{quote_ident(ROW_NUMBER)}, cast(null as varchar) as {quote_ident(READ_ERROR)} "
            f"from {scan}"
        )
    else:
        con.execute(
            f"create temp view batch as select {select}"
            f"file_row_number + 1 as {quote_ident(ROW_NUMBER)}, "
            f"cast(null as varchar) as {quote_ident(READ_ERROR)} "
            f"from read_parquet({literal}, file_row_number = true)"
        )
    try:  # a truncated or corrupt body only shows when the data is read
        con.execute("select count(*) from batch").fetchone()
        (stats.physical_rows,) = con.execute(
            f"select sum(num_rows)::bigint from parquet_file_metadata({literal})"
        ).fetchone()
    except duckdb.Error as exc:
        raise FileRejected(f"not a readable Parquet file: {_first_line(exc)}") from exc
    return list(kept)


# --- JSONL ------------------------------------------------------------------------------
# One JSON object per line, read by set-based DuckDB SQL in three steps: the file is split into
# its non-blank lines (``_jsonl_lines``); the distinct key lists of the objects are collected
# (a file has few); then every line is parsed and the wanted values are picked out as text.
# If each column is filled by one key spelling and no object repeats a key (the normal case),
# the values are looked up by key; otherwise keys are matched object by object (slower).
#
# The result is the one the old line-by-line Python reader gave (``json.loads`` per line),
# because DuckDB is made to agree with Python where they differ:
# * what a line is: Python splits on \n, \r\n and a lone \r (universal newlines), drops one
#   BOM at the start of the file, and skips lines that ``str.strip()`` leaves empty;
# * which lines are valid: DuckDB also accepts trailing commas ``[1,]`` and NaN/Infinity in any
#   spelling (``nan``, ``-inf``), Python does not: such lines are rejected here too;
# * how a value becomes text: ``str()`` of the Python value (``True`` -> 'true', ``1e3`` ->
#   '1000.0', ``1e16`` -> '1e+16': DuckDB's DOUBLE to VARCHAR cast spells floats as Python);
# * which key fills a column: keys are normalised like column names (``normalise``); a key
#   repeated in an object keeps its first place and its last value (a Python dict), and of
#   two keys that give the same name the later one wins.
#
# Known differences, all in lines that never occur in valid landing data:
# * a nested object or array is ``json.dumps(value, sort_keys=True)`` in Python; here it is
#   DuckDB's text with sorted keys and the same ", " / ": " separators, but non-ASCII
#   characters are not \u-escaped, floats inside it keep DuckDB's spelling (1e-7, not 1e-07)
#   and a key repeated inside it is kept twice (Python keeps the last);
# * a string with a lone UTF-16 surrogate escape ("\ud800") is invalid JSON to DuckDB: the
#   line is a reject (the old reader loaded it, or crashed if the value was in a wanted column);
# * the detail of an invalid line's error: DuckDB only says whether a line parses.

# Python's str.strip() whitespace (str.isspace): a line of only these is blank.
_WHITESPACE = quote_literal(
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_BOM = "chr(65279)"

# The non-blank lines with their line index ``n`` (blank lines are not rows: ``n`` has gaps
# only if the file has blank lines before its last row).
_JSONL_LINES = f"""
    create or replace temp table _jsonl_lines as
    with file as (
        -- universal newlines: a lone \\r ends a line too; \\r\\n becomes \\n\\n, whose empty
        -- second line is blank
        select case when contains(content, chr(13)) then replace(content, chr(13), chr(10))
                    else content end as text
        from read_text($path)
    ),
    split as (
        select unnest(lines) as line, generate_subscripts(lines, 1) as n
        from (select string_split(text, chr(10)) as lines from file)
    ),
    lines as (
        select n, case when n = 1 and starts_with(line, {_BOM}) then substr(line, 2)
                       else line end as line
        from split
    )
    select n, line
    from lines
    -- trim() with a long character list is slow: only a line that starts with whitespace
    -- can be blank
    where line <> ''
      and (not contains({_WHITESPACE}, left(line, 1)) or trim(line, {_WHITESPACE}) <> '')
"""


def _matches(text: str, pattern: str) -> str:
    return f"regexp_matches({text}, {quote_literal(pattern)})"


# Valid for DuckDB but not for Python: a trailing comma, or NaN/Infinity spelled other than
# NaN, Infinity, -Infinity. Cheap tests find the few candidate lines: a literal follows ':' in
# an object, '[' or ',' in an array, or starts the line (the tests may also match inside a
# string; RE2 scans a pattern led by one literal character far faster than one led by a
# class). The exact test looks at the line with its strings blanked out (its "skeleton").
_TRAILING_COMMA = r",[ \t]*[\]}]"
_MAYBE_LENIENT = " or ".join(
    [
        _matches("line", _TRAILING_COMMA),
        _matches("line", r":[ \t]*-?[nNiI]"),
        _matches("line", r"^[ \t]*-?[nNiI]"),
        "(contains(line, '[') and " + _matches("line", r"[\[,][ \t]*-?[nNiI]") + ")",
    ]
)
_STRING = r'"(?:[^"\\]|\\.)*"'
_SKELETON = f"regexp_replace(line, {quote_literal(_STRING)}, '\"\"', 'g')"
_LENIENT = f"""(
    {_matches(_SKELETON, _TRAILING_COMMA)}
    or not list_has_all(['true', 'false', 'null', 'NaN', 'Infinity', '-Infinity', 'e', 'E'],
                        regexp_extract_all({_SKELETON}, '-?[A-Za-z]+')))"""
# CASE, not AND: DuckDB runs the exact test on the candidate lines only.
_PYTHON_VALID = f"""json_valid(line)
    and not case when {_MAYBE_LENIENT} then {_LENIENT} else false end"""

# Every key of the (DuckDB-)valid objects, and whether an object repeats a key. An object's
# key list is its "shape"; a file has few shapes, so they are collected first.
_JSONL_KEYS = """
    with shapes as materialized (
        select distinct json_keys(line) as _keys from _jsonl_lines where json_valid(line)
    )
    select (select list(distinct k) from (select unnest(_keys) as k from shapes)),
           (select coalesce(bool_or(len(list_distinct(_keys)) < len(_keys)), false) from shapes)
"""

# The general case, per object. ``_NAMES``: the name each key gives (``normalise`` in SQL).
# Keys of printable ASCII without spaces and capitals are their own names; only others are
# normalised (slow). DuckDB's lower() equals Python's str.lower() character by character
# except for U+0130 (Python: 'i' + U+0307). ``_FIRST_NAMES``: the same, NULL where a key
# repeats an earlier one, for Python keeps a repeated key at its first place (with its last
# value), and of two keys giving the same name the later one wins.
_PLAIN_KEYS = r"[!-@\[-~\x01]*"
_NAMES = f"""case
    when regexp_full_match(array_to_string(_keys, chr(1)), {quote_literal(_PLAIN_KEYS)}) then _keys
    else list_transform(_keys, lambda k: lower(trim(
        replace(replace(k, {_BOM}, ''), chr(304), 'i' || chr(775)), {_WHITESPACE})))
end"""
_FIRST_NAMES = """case
    when len(list_distinct(_keys)) = len(_keys) then _names
    else list_transform(_names, lambda name, i: case when list_position(_keys, _keys[i]) = i then name end)
end"""

# Compact JSON -> Python's ", " and ": " separators, skipping whole strings: each match is a
# run of strings and other characters up to the next separator (or the end).
_SEPARATED = quote_literal(f'((?:{_STRING}|[^",:])*)([,:]|$)')


def _read_jsonl(
    con: duckdb.DuckDBPyConnection, path: Path, wanted: list[str], stats: ReadStats
) -> list[str]:
    # JSON lines carry their own keys: keep every wanted column, absent ones are NULL.
    try:
        con.execute(_JSONL_LINES, {"path": _glob_literal(path)})
    except duckdb.InvalidInputException as exc:
        if "UTF-8" not in str(exc):
            raise
        raise _not_utf8(path) from exc
    try:
        keys, repeated = con.execute(_JSONL_KEYS).fetchone()
        # Without blank lines before the last row, the line index is the row number (and
        # numbering with a window, which sorts, is not needed).
        gapless, stats.physical_rows = con.execute(
            "select count(*) = coalesce(max(n), 0), count(*) from _jsonl_lines"
        ).fetchone()
        row_number = "n" if gapless else "row_number() over (order by n)"
        sources = None if repeated else _key_per_column(keys or [], wanted)
        con.execute(_jsonl_batch_sql(wanted, row_number, sources))
    finally:
        con.execute("drop table if exists _jsonl_lines")
    return wanted


def _key_per_column(keys: list[str], wanted: list[str]) -> dict[str, str] | None:
    """The one key that fills each wanted column found in the file, or None if a column has
    keys of more than one spelling (which one fills it then depends on the object)."""
    found: dict[str, str] = {}
    for key in keys:
        name = normalise(key)
        if name in wanted:
            if name in found:
                return None
            found[name] = key
    return found


def _jsonl_batch_sql(wanted: list[str], row_number: str, sources: dict[str, str] | None) -> str:
    """SQL creating ``batch`` from ``_jsonl_lines``.

    Per object, ``_types`` and ``_texts`` list JSON types and texts of values, and the column
    ``_at:<name>`` is the list position of the value for column <name>. With ``sources`` (the
    one key for each column found, no repeated keys) the lists hold those keys' values, by
    JSON pointer. Without, they hold all values in key order.
    """
    if sources is None:
        named = f"""select *, list_reverse({_FIRST_NAMES}) as _reversed
            from (select *, {_NAMES} as _names
                  from (select *, json_keys(_object) as _keys from objects))"""
        # the key (at its first place) that wins the name, then that key's last place
        positions = [
            f"len(_keys) + 1 - list_position(list_reverse(_keys), _keys[len(_keys) + 1 - "
            f"list_position(_reversed, {quote_literal(w)})])"
            for w in wanted
        ]
        values = (
            "json_type(_object, '$.*') as _types, json_extract_string(_object, '$.*') as _texts"
        )
    else:
        named = "select * from objects"
        index = {name: str(i) for i, name in enumerate(sources, start=1)}
        positions = [index.get(w, "null") for w in wanted]
        pointers = "[" + ", ".join(quote_literal(_json_pointer(k)) for k in sources.values()) + "]"
        values = (
            f"json_type(_object, {pointers}) as _types, "
            f"json_extract_string(_object, {pointers}) as _texts"
            if sources
            else "null::varchar[] as _types, null::varchar[] as _texts"
        )
    at = "".join(f"{p} as {_at(w)}, " for p, w in zip(positions, wanted, strict=True))
    columns = "".join(
        f"{_python_text(f'_types[{_at(w)}]', f'_texts[{_at(w)}]')} as {quote_ident(w)}, "
        for w in wanted
    )
    return f"""
        create temp table batch as
        with checked as (
            select {row_number} as _row_number, line, {_PYTHON_VALID} as _valid
            from _jsonl_lines
        ),
        objects as (
            -- a valid JSON line is an object if it starts with '{{' after JSON whitespace
            -- (ltrim() is slow: only for a line that starts with a space or a tab)
            select _row_number, _valid,
                   case when _valid and (left(line, 1) = '{{'
                                         or left(line, 1) in (' ', chr(9))
                                            and starts_with(ltrim(line, ' ' || chr(9)), '{{'))
                        then line end as _object
            from checked
        ),
        named as ({named}),
        positioned as (
            select {at}{values}, _row_number, _valid, _object from named
        )
        select {columns}_row_number as {quote_ident(ROW_NUMBER)},
               case when not _valid then
                        'the line is not valid JSON (it does not parse as one JSON value)'
                    when _object is null then 'the line is JSON but not an object ({{...}})'
               end as {quote_ident(READ_ERROR)}
        from positioned
    """


def _at(column: str) -> str:
    return quote_ident(f"_at:{column}")


def _json_pointer(key: str) -> str:
    return "/" + key.replace("~", "~0").replace("/", "~1")


def _python_text(json_type: str, text: str) -> str:
    """SQL for Python's ``str()`` of a parsed JSON value, from its JSON type and
    ``json_extract_string`` text (strings unescaped, NULL for null, 'true'/'false').

    An integer keeps its digits, even one too big for 64 bits that DuckDB calls a DOUBLE
    (Python's int has no size limit); any other number is a float, and DuckDB's DOUBLE cast
    spells it as Python's repr does (shortest round-trip digits, '1000.0', '1e+16', 'inf').
    """
    return f"""case {json_type}
            when 'DOUBLE' then case when regexp_full_match({text}, '-?[0-9]+') then {text}
                                    else cast(cast({text} as double) as varchar) end
            when 'OBJECT' then {_nested_text(text)}
            when 'ARRAY' then {_nested_text(text)}
            else {text}
        end"""


def _nested_text(text: str) -> str:
    spaced = f"regexp_replace(json_normalize({text})::varchar, {_SEPARATED}, '\\1\\2 ', 'g')"
    return f"rtrim({spaced}, ' ')"


def _glob_literal(path: Path) -> str:
    # read_text() takes a glob pattern: match '[', '*' and '?' in a file name literally.
    return re.sub(r"([\[*?])", r"[\1]", str(path))


def _not_utf8(path: Path) -> FileRejected:
    # The error path only: find the first undecodable byte the way the reader counts lines.
    number = 0
    try:
        with path.open(encoding="utf-8-sig") as handle:
            for line in handle:
                if line.strip():
                    number += 1
    except UnicodeDecodeError as exc:
        return _unreadable_text(exc, number + 1)
    return FileRejected("not UTF-8 text: DuckDB cannot read it as UTF-8")


Rows = Iterator[tuple[int, dict[str, str | None], str | None]]


class _Lines:
    """The file's physical lines as the CSV reader takes them (``reader.line_num`` counts
    them), remembering those of the record being read (``current``): a record whose opening
    quote never closes would otherwise swallow every line after it."""

    def __init__(self, handle):
        self.current: list[str] = []
        self.lines = self._read(handle)

    def _read(self, handle) -> Iterator[str]:
        append = self.current.append
        for line in handle:
            append(line)
            yield line


def _csv_rows(path: Path, wanted: tuple[str, ...], stats: ReadStats) -> tuple[list[str], Rows]:
    handle = path.open(encoding="utf-8-sig", newline="")
    lines = _Lines(handle)
    reader = csv.reader(lines.lines, strict=False)
    try:
        header = next(reader, None)
    except (UnicodeDecodeError, csv.Error) as exc:
        handle.close()
        raise _unreadable_text(exc) from exc
    if not header or not any(h.strip() for h in header):
        handle.close()
        raise FileRejected("the file has no header row")
    names = [normalise(h) for h in header]
    dupes = sorted({n for n in names if n and names.count(n) > 1})
    if dupes:
        handle.close()
        raise FileRejected(f"column(s) {', '.join(dupes)} appear more than once in the header")
    if len(names) == 1 and ";" in header[0]:
        handle.close()
        raise FileRejected(
            "the header is one column containing ';': the file looks semicolon-delimited, "
            "but landing CSV files must be comma-delimited"
        )
    keep = [(i, n) for i, n in enumerate(names) if n in wanted]
    header_lines = reader.line_num

    def rows() -> Rows:
        number = 0
        # lines that are no row of their own: blank, or inside a well-formed quoted value
        not_rows = 0
        try:
            while True:
                lines.current.clear()
                record = next(reader, None)
                if record is None:
                    break
                spanned = len(lines.current)
                if not record or (len(record) == 1 and not record[0].strip()):
                    not_rows += spanned
                    continue  # a blank line is not a row
                number += 1
                if spanned > 1:
                    first = reader.line_num - spanned + 1
                    texts = [(first + i, t) for i, t in enumerate(lines.current) if t.strip()]
                    if len(record) != len(names) or sum(t.count('"') for _, t in texts) % 2:
                        # an opening quote that never closes where it should: every line
                        # it swallowed is a row of its own, reported with its line number
                        not_rows += spanned - len(texts)
                        yield from _swallowed(number, texts)
                        number += len(texts) - 1
                        continue
                    not_rows += spanned - 1
                if len(record) != len(names):
                    error = f"the row has {len(record)} fields but the header has {len(names)}"
                    yield number, {}, error
                    continue
                yield number, {n: (record[i] if record[i] != "" else None) for i, n in keep}, None
            stats.physical_rows = reader.line_num - header_lines - not_rows
        except (UnicodeDecodeError, csv.Error) as exc:
            raise _unreadable_text(exc, reader.line_num + 1) from exc
        finally:
            handle.close()

    return [n for _, n in keep], rows()


def _swallowed(row: int, lines: list[tuple[int, str]]) -> Rows:
    """The rejects for a record (data row ``row``) whose quote swallowed the lines after its
    first: that row, then one row per swallowed non-blank line, each with its line number."""
    first, last = lines[0][0], lines[-1][0]
    yield (
        row,
        {},
        f'line {first}: a quote (") opened on this row is not closed where the row should '
        f"end, so lines {first + 1}-{last} were read into it; fix the quote and land the "
        "file again",
    )
    for offset, (line, _) in enumerate(lines[1:], start=1):
        yield (
            row + offset,
            {},
            f"line {line}: swallowed by the unclosed quote of row {row} (line {first}); not loaded",
        )


def _load_rows(con: duckdb.DuckDBPyConnection, columns: list[str], rows: Rows) -> list[str]:
    cols = ", ".join(f"{quote_ident(c)} varchar" for c in columns)
    con.execute(
        f"create temp table batch ({cols}{', ' if cols else ''}"
        f"{quote_ident(ROW_NUMBER)} bigint, {quote_ident(READ_ERROR)} varchar)"
    )
    schema = pa.schema(
        [
            *(pa.field(c, pa.string()) for c in columns),
            pa.field(ROW_NUMBER, pa.int64()),
            pa.field(READ_ERROR, pa.string()),
        ]
    )
    chunk: list[tuple[int, dict[str, str | None], str | None]] = []

    def flush() -> None:
        data = {c: [r[1].get(c) for r in chunk] for c in columns}
        data[ROW_NUMBER] = [r[0] for r in chunk]
        data[READ_ERROR] = [r[2] for r in chunk]
        arrow_chunk = pa.Table.from_pydict(data, schema=schema)  # noqa: F841 (read by DuckDB)
        con.execute("insert into batch select * from arrow_chunk")
        chunk.clear()

    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK_ROWS:
            flush()
    if chunk:
        flush()
    return columns


def _unreadable_text(exc: Exception, line: int | None = None) -> FileRejected:
    where = f" (near line {line})" if line else ""
    if isinstance(exc, UnicodeDecodeError):
        return FileRejected(
            f"not UTF-8 text{where}: byte 0x{exc.object[exc.start]:02x} cannot be decoded; "
            "is it a binary file, or text saved in another encoding?"
        )
    if "NUL" in str(exc):
        return FileRejected(f"not a text file{where}: it contains NUL bytes (binary data?)")
    return FileRejected(f"not a readable CSV file{where}: {exc}")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]
