"""Read one landing file into a DuckDB temporary relation, whatever its format.

Every reader produces the relation ``batch`` with the file's columns under normalised names
(trimmed, lower case), ``_row_number`` (1-based data row, header not counted, blank lines
skipped) and ``_read_error`` (why a row could not even be read, else NULL). CSV and JSONL
are read in Python so that each row keeps its number and a broken row is a reject, not a
failed file; Parquet is read by DuckDB directly. A file that cannot be read at all raises
``FileRejected`` with a reason a person understands.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

CHUNK_ROWS = 100_000
SUPPORTED = (".csv", ".parquet", ".jsonl")


class FileRejected(Exception):
    """The whole file cannot be loaded; the message says why.

    ``rows`` is how many data rows the file has, where that could be counted (else 0).
    """

    def __init__(self, message: str, rows: int = 0):
        super().__init__(message)
        self.rows = rows


def normalise(name: str) -> str:
    return name.replace("\ufeff", "").strip().lower()


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def drop_batch(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the temp relation ``batch``, a table (CSV, JSONL) or a view (Parquet)."""
    for (kind,) in con.execute(
        "select 'view' from duckdb_views() where temporary and view_name = 'batch' union all "
        "select 'table' from duckdb_tables() where temporary and table_name = 'batch'"
    ).fetchall():
        con.execute(f"drop {kind} batch")


def read_batch(con: duckdb.DuckDBPyConnection, path: Path, wanted: Iterable[str]) -> list[str]:
    """Create temp relation ``batch`` from ``path``; return the normalised columns it has.

    ``wanted`` are the columns the source knows; CSV and JSONL keep only those (unknown
    extra columns never reach the raw tables and do not fail the file).
    """
    drop_batch(con)
    if path.stat().st_size == 0:
        raise FileRejected("the file is empty (0 bytes)")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".jsonl"):
        with path.open("rb") as handle:
            if b"\x00" in handle.read(1 << 16):
                raise FileRejected("not a text file: it contains NUL bytes (binary data?)")
    if suffix == ".parquet":
        return _read_parquet(con, path)
    if suffix == ".csv":
        return _load_rows(con, *_csv_rows(path, tuple(wanted)))
    if suffix == ".jsonl":
        return _load_rows(con, *_jsonl_rows(path, tuple(wanted)))
    raise FileRejected(
        f"unsupported file type '{path.suffix or '(none)'}': landing files must be "
        + ", ".join(SUPPORTED)
    )


def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    scan = f"read_parquet({quote_literal(str(path))}, file_row_number = true)"
    try:
        described = con.execute(f"describe select * from {scan}").fetchall()
    except duckdb.Error as exc:
        raise FileRejected(f"not a readable Parquet file: {_first_line(exc)}") from exc
    names = [row[0] for row in described if row[0] != "file_row_number"]
    seen: dict[str, str] = {}
    for name in names:
        norm = normalise(name)
        if norm in seen:
            raise FileRejected(f"column '{norm}' appears twice ('{seen[norm]}' and '{name}')")
        seen[norm] = name
    select = ", ".join(f"{quote_ident(orig)} as {quote_ident(norm)}" for norm, orig in seen.items())
    con.execute(
        f"create temp view batch as select {select}, file_row_number + 1 as _row_number, "
        f"cast(null as varchar) as _read_error from {scan}"
    )
    try:  # a truncated or corrupt body only shows when the data is read
        con.execute("select count(*) from batch").fetchone()
    except duckdb.Error as exc:
        raise FileRejected(f"not a readable Parquet file: {_first_line(exc)}") from exc
    return list(seen)


Rows = Iterator[tuple[int, dict[str, str | None], str | None]]


def _csv_rows(path: Path, wanted: tuple[str, ...]) -> tuple[list[str], Rows]:
    handle = path.open(encoding="utf-8-sig", newline="")
    reader = csv.reader(handle, strict=False)
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

    def rows() -> Rows:
        number = 0
        try:
            for record in reader:
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue  # a blank line is not a row
                number += 1
                error = None
                if len(record) != len(names):
                    error = f"the row has {len(record)} fields but the header has {len(names)}"
                    yield number, {}, error
                    continue
                yield number, {n: (record[i] if record[i] != "" else None) for i, n in keep}, None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise _unreadable_text(exc, number + 2) from exc
        finally:
            handle.close()

    return [n for _, n in keep], rows()


def _jsonl_rows(path: Path, wanted: tuple[str, ...]) -> tuple[list[str], Rows]:
    # JSON lines carry their own keys: keep every wanted column, absent ones are NULL.
    def rows() -> Rows:
        number = 0
        try:
            with path.open(encoding="utf-8-sig") as handle:
                for line in handle:
                    if not line.strip():
                        continue
                    number += 1
                    try:
                        obj = json.loads(line)
                    except json.JSONDecodeError as exc:
                        yield (
                            number,
                            {},
                            f"the line is not valid JSON ({exc.msg} at column {exc.colno})",
                        )
                        continue
                    if not isinstance(obj, dict):
                        yield number, {}, "the line is JSON but not an object ({...})"
                        continue
                    values = {normalise(k): _json_text(v) for k, v in obj.items()}
                    yield number, {n: values.get(n) for n in wanted}, None
        except UnicodeDecodeError as exc:
            raise _unreadable_text(exc, number + 1) from exc

    return list(wanted), rows()


def _json_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _load_rows(con: duckdb.DuckDBPyConnection, columns: list[str], rows: Rows) -> list[str]:
    cols = ", ".join(f"{quote_ident(c)} varchar" for c in columns)
    con.execute(
        f"create temp table batch ({cols}{', ' if cols else ''}"
        "_row_number bigint, _read_error varchar)"
    )
    schema = pa.schema(
        [
            *(pa.field(c, pa.string()) for c in columns),
            pa.field("_row_number", pa.int64()),
            pa.field("_read_error", pa.string()),
        ]
    )
    chunk: list[tuple[int, dict[str, str | None], str | None]] = []

    def flush() -> None:
        data = {c: [r[1].get(c) for r in chunk] for c in columns}
        data["_row_number"] = [r[0] for r in chunk]
        data["_read_error"] = [r[2] for r in chunk]
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
