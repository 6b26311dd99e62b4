"""Load every new landing file into the ``raw`` schema of the working DuckDB file.

- **Ledger** (``raw.ingest_ledger``): one row per file version the pipeline evaluated, and per
  file it did not read (a hidden file, a copy of loaded content). A file is known by what it
  *means* (``raw.ingest_ledger_meaning``, beside the ledger so the ledger's own shape is
  unchanged): its content (SHA-256), plus the tenant for a status import (the tenant comes
  from its folder). A file whose meaning was already loaded for its source is
  skipped, however often and under whatever name it lands again (a copy under a new name is
  recorded once, as ``already_loaded``). A file rejected whole is not "already loaded": it is
  evaluated again once tenant settings (``max_reject_ratio``) were loaded after it was
  rejected, and a file that vanished while a night read it is evaluated again when it lands.
- **Unchanged files are not read again**: beside each ledger row's hash the file's stat is
  kept (``file_stat``: size, mtime, ctime, inode, device); a night hashes only files whose
  stat differs from every stat recorded for that path (``HashMemo``), then decides by
  meaning as above. The one trade-off: a file rewritten in place with the same size while
  the clock was set back (so that even the kernel's ctime repeats) is taken as unchanged.
  ``touch``, ``cp -p`` and ``rsync -t`` cannot do that (they set mtime, not ctime).
- **Hidden files** (a path part starting with ``.`` or ``_``: editors' lock files, Spark's
  ``_SUCCESS``) are not read, but each is recorded (outcome ``skipped``, with the reason) and
  listed in the night's output; a file directly in the landing folder is rejected ("not in a
  source folder").
- **One transaction per file**: its good rows, its rejects and its ledger row commit
  together, so a killed run never leaves half a file.
- **Rejects** (``raw.import_rejects``): every bad row with file, row number and reason; a
  whole-file reject (unreadable, missing required columns, or more bad rows than the
  tenant's ``max_reject_ratio``) is one row with ``row_number`` NULL and loads nothing.
- Bad input in one file never stops the others: each file is loaded or rejected on its own.

Raw tables keep every version of every record with ``_source_file``, ``_row_number`` and
``_load_id``; the dbt staging models pick the current version of each key.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from .. import pipeline_db
from ..pipeline_db import META_COLUMNS, quote_ident
from ..seeds import tenant_default
from . import rules
from .readers import (
    READ_ERROR,
    ROW_NUMBER,
    FileRejected,
    ReadStats,
    drop_batch,
    read_batch,
)
from .sources import (
    LOAD_ORDER,
    SOURCES,
    STATUS_IMPORT_KEYS,
    STATUS_IMPORT_OPTIONAL,
    STATUS_IMPORT_STATUS_COLUMNS,
    STATUS_IMPORT_VALUES,
    Source,
)

log = logging.getLogger(__name__)


def default_max_reject_ratio() -> float:
    """A tenant's ``max_reject_ratio`` when its setting is empty (or it has no settings yet):
    the dbt project's seed ``tenant_defaults``, the one home of every tenant default."""
    return float(tenant_default("max_reject_ratio"))


def raw_table_ddl(source: Source) -> str:
    cols = ", ".join(f"{quote_ident(c.name)} {c.sql_type}" for c in source.columns)
    return f"create table if not exists raw.{source.name} ({cols}, {META_COLUMNS})"


# What a ledger row's file means (see ``file_meaning``), for rows written before the ledger
# recorded it.
_MEANING_SQL = """case when source = 'status_imports' and len(string_split(file, '/')) >= 3
    then sha256 || ' tenant=' || split_part(file, '/', 2) else sha256 end"""
# the ledger with each row's meaning and physical row count
_LEDGER = "(select * from raw.ingest_ledger left join raw.ingest_ledger_meaning using (load_id))"
HIDDEN_PREFIXES = (".", "_")
ROOT_SOURCE = "landing_root"  # the ledger's source for a file directly in the landing folder
LOADED_OUTCOMES = ("loaded", "loaded_with_rejects")


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    pipeline_db.ensure(con, *pipeline_db.INGEST_TABLES)
    _migrate_ledger(con)
    for source in SOURCES.values():
        con.execute(raw_table_ddl(source))


def _migrate_ledger(con: duckdb.DuckDBPyConnection) -> None:
    """Ledger rows without a meaning (written before meanings were recorded, or by hand):
    give each the meaning its file has (its content, plus the folder's tenant for a status
    import), so a file they loaded stays loaded."""
    con.execute(
        f"""insert into raw.ingest_ledger_meaning (load_id, meaning, physical_rows, by_settings)
        select load_id, {_MEANING_SQL}, null,
               coalesce(outcome = 'rejected' and message like '%max_reject_ratio%', false)
        from raw.ingest_ledger
        where load_id not in (select load_id from raw.ingest_ledger_meaning)"""
    )


def file_meaning(source: str, relative: str, sha: str) -> str:
    """What identifies a file's effect: its bytes, and for a status import also the tenant
    of its folder (the same bytes under ``status_imports/t1/`` and ``status_imports/t3/``
    are two imports). Must agree with ``_MEANING_SQL``."""
    parts = relative.split("/")
    if source == "status_imports" and len(parts) >= 3:
        return f"{sha} tenant={parts[1]}"
    return sha


@dataclass
class FileResult:
    source: str
    file: str
    rows_in_file: int
    rows_loaded: int
    rows_rejected: int
    # loaded | loaded_with_rejects | rejected: evaluated now; skipped: the ledger knows its
    # meaning (nothing to do); hidden: a hidden file, not read (recorded the first time)
    outcome: str
    message: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class LoadContext:
    landing: Path
    run_id: str
    as_of_date: date
    started_at: datetime  # wall clock (UTC, naive) at the run's start


def ingest_landing(
    con: duckdb.DuckDBPyConnection,
    ctx: LoadContext,
    on_first_load: Callable[[], None] | None = None,
) -> list[FileResult]:
    """Load every file of the landing zone that the ledger has not seen; return what happened.
    ``on_first_load``: called once, after the first file that loaded rows (the night's
    checks of those rows can get ready meanwhile)."""
    con.execute("set TimeZone = 'UTC'")
    ensure_raw_schema(con)
    hashes = HashMemo(con)
    results = []
    for source, path in discover(ctx.landing):
        started = time.monotonic()
        result = load_file(con, ctx, source, path, hashes)
        if result.rows_loaded and on_first_load is not None:
            on_first_load()
            on_first_load = None
        if result.outcome != "skipped":
            log.info(
                "%-28s %-50s %9d rows, %d loaded, %d rejected (%.1fs)%s",
                result.outcome,
                result.file,
                result.rows_in_file,
                result.rows_loaded,
                result.rows_rejected,
                time.monotonic() - started,
                f": {result.message}" if result.message else "",
            )
        results.append(result)
    log.info(
        "%d landing files, %d read and hashed (the others are unchanged since they were hashed)",
        len(results),
        hashes.files_hashed,
    )
    return results


def discover(landing: Path) -> list[tuple[str, Path]]:
    """(source, file) for every file under the landing folder: sources in load order, files
    in path order, then files directly in the landing folder (source ``ROOT_SOURCE``).

    Every file is returned, hidden ones too (``load_file`` records and skips them), and a
    folder that is not a known source still yields its files (they are rejected with a
    reason), so a typo in a folder name never loses data silently.
    """
    if not landing.is_dir():
        raise FileNotFoundError(f"landing folder {landing} does not exist")
    entries = sorted(landing.iterdir())
    folders = [p.name for p in entries if p.is_dir()]
    ordered = [s for s in LOAD_ORDER if s in folders] + [f for f in folders if f not in LOAD_ORDER]
    found = []
    for source in ordered:
        # os.walk, not rglob: a folder removed while it is listed is no error
        files = [
            Path(folder, name) for folder, _, names in os.walk(landing / source) for name in names
        ]
        found += [(source, path) for path in sorted(files) if path.is_file()]
    found += [(ROOT_SOURCE, p) for p in entries if p.is_file()]
    return found


def hidden_part(relative: str) -> str | None:
    """The first part of the path that makes the file hidden (``.`` or ``_`` first), if any."""
    return next((part for part in relative.split("/") if part.startswith(HIDDEN_PREFIXES)), None)


# Ledger entries whose rows no published night has been checked with yet: this run's loads
# and those of earlier runs that failed or were killed after ingesting.
UNPUBLISHED_LOADS = """
    select * from raw.ingest_ledger
    where run_id not in (
        select run_id from ops.pipeline_runs where outcome = 'published'
    )
"""


def file_sha256(path: Path) -> tuple[str, int]:
    """The file's SHA-256 and size, from one read (the size is what was hashed)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def file_stat(path: Path) -> str:
    """What says a file was not written since it was last hashed: its size, modification
    time, status-change time (ctime: set by the kernel on every write, rename into place,
    chmod or new hard link, and not settable by ``touch``, ``cp -p`` or ``rsync -t``),
    inode and device. A rewrite keeps all five only if it leaves the size the same and
    the clock was turned back: the one case in which a changed file is not read again."""
    st = path.stat()
    return (
        f"size={st.st_size} mtime_ns={st.st_mtime_ns} ctime_ns={st.st_ctime_ns} "
        f"ino={st.st_ino} dev={st.st_dev}"
    )


class HashMemo:
    """The content hash of every landing file whose stat (``file_stat``) is what it was
    when the file was last hashed, from the ledger (``raw.ingest_ledger_meaning.file_stat``),
    so that a night reads and hashes only files that changed. What a file *means* is then
    decided from that hash exactly as for a freshly hashed file (``_known``)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        rows = con.execute(
            f"""select source, file, file_stat, sha256, bytes from {_LEDGER}
            where file_stat is not null and sha256 <> '' order by load_id"""
        ).fetchall()
        # by (source, file, stat); of two rows with one stat the later wins
        self.known = {(s, f, st): (sha, size) for s, f, st, sha, size in rows}
        self.files_hashed = 0

    def sha256(self, source: str, relative: str, path: Path) -> tuple[str, int, str]:
        """(sha, size, stat): from the memo if the file's stat is unchanged, else read."""
        stat = file_stat(path)
        known = self.known.get((source, relative, stat))
        if known is not None:
            return known[0], known[1], stat
        sha, size = file_sha256(path)
        self.files_hashed += 1
        if file_stat(path) != stat:  # written while it was read: hash it again next night
            stat = ""
        return sha, size, stat

    def remember(self, source: str, relative: str, sha: str, size: int, stat: str) -> None:
        """Put the stat on the file's latest ledger row when that row has the same content
        (a file recorded before stats were, or touched without a change): no ledger row is
        added, the ledger keeps one row per evaluation."""
        if not stat or not sha or (source, relative, stat) in self.known:
            return
        row = self.con.execute(
            f"""select load_id from {_LEDGER} where source = ? and file = ? and sha256 = ?
            order by load_id desc limit 1""",
            [source, relative, sha],
        ).fetchone()
        if row is not None:
            self.con.execute(
                "update raw.ingest_ledger_meaning set file_stat = ? where load_id = ?",
                [stat, row[0]],
            )
            self.known[(source, relative, stat)] = (sha, size)


VANISHED = (
    "the file disappeared while this night read it (deleted or moved during ingestion); "
    "nothing of it was loaded: it is read again when it lands again"
)


def load_file(
    con: duckdb.DuckDBPyConnection,
    ctx: LoadContext,
    source: str,
    path: Path,
    hashes: HashMemo | None = None,
) -> FileResult:
    """Evaluate one file (see the module's doc). ``hashes``: the night's memo of content
    hashes by file stat; without it the file is hashed."""
    relative = path.relative_to(ctx.landing).as_posix()
    hashes = hashes or HashMemo(con)
    try:
        sha, size, stat = hashes.sha256(source, relative, path)
    except FileNotFoundError:
        return _record_whole(con, ctx, source, relative, "", 0, None, VANISHED)
    except OSError as exc:  # no permission, a device error: rejected once, until it changes
        meaning = f"unreadable: {exc.strerror or exc}"
        known = _known(con, ctx, source, relative, "", 0, meaning)
        if known is not None:
            return known
        message = f"the file could not be read: {exc.strerror or exc}"
        return _record_whole(con, ctx, source, relative, "", 0, meaning, message)
    result = _evaluate(con, ctx, source, path, relative, sha, size)
    hashes.remember(source, relative, sha, size, stat)
    return result


def _evaluate(con, ctx: LoadContext, source: str, path: Path, relative: str, sha, size):
    """The verdict on a readable file with content hash ``sha`` (``load_file``)."""
    meaning = file_meaning(source, relative, sha)
    hidden = hidden_part(relative)
    if hidden is not None:
        return _record_hidden(con, ctx, source, relative, sha, size, meaning, hidden)
    known = _known(con, ctx, source, relative, sha, size, meaning)
    if known is not None:
        return known
    if source == ROOT_SOURCE:
        return _record_whole(
            con,
            ctx,
            source,
            relative,
            sha,
            size,
            meaning,
            "not in a source folder: landing files go under <landing>/<source>/ "
            f"(one of {', '.join(LOAD_ORDER)})",
        )
    load_id = _next_load_id(con)
    stats = ReadStats()
    by_settings = False
    con.begin()
    try:
        if source in SOURCES:
            result = _load_source_file(con, ctx, SOURCES[source], path, relative, load_id, stats)
        elif source == "status_imports":
            result = _load_status_import(con, ctx, path, relative, load_id, stats)
        else:
            raise FileRejected(
                f"'{source}' is not a landing source (expected one of {', '.join(LOAD_ORDER)})"
            )
    except (FileRejected, duckdb.Error, OSError) as exc:
        con.rollback()
        drop_batch(con)
        if not path.exists() or isinstance(exc, FileNotFoundError):
            return _record_whole(con, ctx, source, relative, sha, size, None, VANISHED)
        if isinstance(exc, OSError) and not isinstance(exc, FileRejected):
            message = f"the file could not be read: {exc.strerror or exc}"
        else:
            message = str(exc).strip()
        con.begin()
        rows = getattr(exc, "rows", 0)
        by_settings = isinstance(exc, FileRejected) and exc.by_settings
        result = FileResult(source, relative, rows, 0, rows, "rejected", message)
        _record_reject(con, source, relative, None, None, result.message, load_id)
    _record_ledger(con, ctx, result, sha, size, load_id, meaning, stats.physical_rows, by_settings)
    con.commit()
    drop_batch(con)
    con.execute("drop table if exists checked")
    con.execute("drop table if exists _key_repeats")
    return result


def _next_load_id(con) -> int:
    return con.execute("select coalesce(max(load_id), 0) + 1 from raw.ingest_ledger").fetchone()[0]


def _known(
    con, ctx: LoadContext, source: str, relative: str, sha: str, size: int, meaning: str
) -> FileResult | None:
    """The result for a file whose meaning the ledger knows, or None to evaluate it.

    Loaded under any name: skipped (a copy under another name is recorded once, as
    ``already_loaded``). Rejected whole under this name: skipped, unless the verdict was the
    tenant's ``max_reject_ratio`` and tenant settings were loaded since (a raised ratio can
    change it; a missing column or an unreadable file stays so for the same bytes)."""
    loaded = con.execute(
        f"select file from {_LEDGER} where source = ? and meaning = ? "
        f"and outcome in {LOADED_OUTCOMES} order by load_id limit 1",
        [source, meaning],
    ).fetchone()
    if loaded:
        message = f"same content as {loaded[0]}"
        if loaded[0] != relative:
            copy = con.execute(
                f"select 1 from {_LEDGER} where source = ? and file = ? and meaning = ? "
                "and outcome = 'already_loaded'",
                [source, relative, meaning],
            ).fetchone()
            if not copy:
                load_id = _next_load_id(con)
                result = FileResult(source, relative, 0, 0, 0, "already_loaded", message)
                with _transaction(con):
                    _record_ledger(con, ctx, result, sha, size, load_id, meaning)
        return FileResult(source, relative, 0, 0, 0, "skipped", message)
    rejected = con.execute(
        f"""select l.load_id, l.message from {_LEDGER} l
        where l.source = ? and l.file = ? and l.meaning = ? and l.outcome = 'rejected'
          and not (l.by_settings and exists (
              select 1 from raw.ingest_ledger t
              where t.source = 'tenants' and t.outcome in ('loaded', 'loaded_with_rejects')
                and t.load_id > l.load_id))
        order by l.load_id desc limit 1""",
        [source, relative, meaning],
    ).fetchone()
    if rejected:
        return FileResult(source, relative, 0, 0, 0, "skipped", f"already rejected: {rejected[1]}")
    return None


@contextlib.contextmanager
def _transaction(con):
    con.begin()
    try:
        yield
    except BaseException:
        con.rollback()
        raise
    con.commit()


def _record_hidden(con, ctx, source, relative, sha, size, meaning, part) -> FileResult:
    """A hidden file: not read, recorded once per content (outcome ``skipped``)."""
    message = (
        f"hidden file ('{part}' starts with '.' or '_', like editors' lock files): not read; "
        "rename it to load it"
    )
    result = FileResult(source, relative, 0, 0, 0, "hidden", message)
    seen = con.execute(
        f"select 1 from {_LEDGER} where source = ? and file = ? and meaning = ? "
        "and outcome = 'skipped'",
        [source, relative, meaning],
    ).fetchone()
    if not seen:
        with _transaction(con):
            ledger = FileResult(source, relative, 0, 0, 0, "skipped", message)
            _record_ledger(con, ctx, ledger, sha, size, _next_load_id(con), meaning)
    return result


def _record_whole(con, ctx, source, relative, sha, size, meaning, message) -> FileResult:
    """A file rejected whole before anything of it was read (one reject row, no rows)."""
    result = FileResult(source, relative, 0, 0, 0, "rejected", message)
    with _transaction(con):
        load_id = _next_load_id(con)
        _record_reject(con, source, relative, None, None, message, load_id)
        _record_ledger(con, ctx, result, sha, size, load_id, meaning)
    return result


def _load_source_file(
    con, ctx: LoadContext, source: Source, path: Path, relative: str, load_id: int, stats
) -> FileResult:
    present = read_batch(con, path, [c.name for c in source.columns], stats)
    missing = [c for c in source.required if c not in present]
    if missing:
        raise FileRejected(
            f"missing required column(s) {', '.join(missing)}; the header has "
            f"{', '.join(present) or 'no known columns'}",
            rows=_batch_rows(con),
        )
    types = dict(con.execute("select column_name, column_type from (describe batch)").fetchall())
    present_types = {c: types[c] for c in present}
    columns = [c.name for c in source.columns]
    target = f"raw.{source.name}"
    query = rules.checked_query(source, present_types, ctx.started_at)
    result = _load_in_one_pass(con, source, query, relative, load_id, columns, target)
    if result is not None:
        return result
    # the general way: every row typed into ``checked`` first
    con.execute(f"create or replace temp table checked as {query}")
    repeats, in_order = _key_repeats(con, source)
    if repeats is not None:
        # keys that repeat in the file (rare): only their rows are compared
        # (rules.checked_query); that comparison is a join, which keeps no row order
        con.register("_key_repeats_arrow", pa.table({"_key_hash": repeats}))
        try:
            con.execute("create or replace temp table _key_repeats as from _key_repeats_arrow")
        finally:
            con.unregister("_key_repeats_arrow")
        query = rules.checked_query(source, present_types, ctx.started_at, "_key_repeats")
        con.execute(f"create or replace temp table checked as {query}")
        in_order = None
    return _commit_checked(con, ctx, source.name, relative, load_id, columns, target, in_order)


def _load_in_one_pass(
    con, source: Source, query: str, relative: str, load_id: int, columns: list[str], target: str
) -> FileResult | None:
    """Load the file in one pass over it when it can be: its good rows go from the typing
    query straight into ``target`` (the file's order: a scan keeps it), and only its bad rows
    (if any) are kept in ``checked`` for the rejects. The result is the general way's
    (``_commit_checked``), and so is a whole-file reject (raised: the transaction is rolled
    back). None, with nothing of the file left in ``target``: a key (and version) repeats in
    the file, or the rows were not stored in row order; the general way then loads it."""
    (total,) = con.execute("select count(*) from batch").fetchone()
    (keeps_order,) = con.execute("select current_setting('preserve_insertion_order')").fetchone()
    if total == 0 or not keeps_order:
        return None
    cols = ", ".join(quote_ident(c) for c in columns)
    with _one_thread(con):
        (loaded,) = con.execute(
            f"insert into {target} ({cols}, _source_file, _row_number, _load_id) "
            f"select {cols}, ?, _row_number, ? from ({query}) where _error is null",
            [relative, load_id],
        ).fetchone()
    this_file = "where _load_id = ? and _source_file = ?"
    good = con.execute(
        f"select _row_number, {rules.key_hash(source)} as _key_hash from {target} {this_file}",
        [load_id, relative],
    ).fetchnumpy()
    hashes = good["_key_hash"]
    bad = total - loaded
    if bad:
        # the bad rows' typed values: their keys count among the repeats too
        con.execute(
            f"create or replace temp table checked as from ({query}) where _error is not null"
        )
        bad_hashes = con.execute(f"select {rules.key_hash(source)} as h from checked").fetchnumpy()
        hashes = np.concatenate([hashes, bad_hashes["h"]])
    hashes = np.sort(hashes)
    if np.any(hashes[1:] == hashes[:-1]) or not _ascending(good["_row_number"]):
        con.execute(f"delete from {target} {this_file}", [load_id, relative])
        return None
    if bad:
        (tenants,) = con.execute(
            "select list(distinct tenant_id order by tenant_id) filter (where tenant_id is not null) "
            f"from (select tenant_id from {target} {this_file} "
            "union all select tenant_id from checked)",
            [load_id, relative],
        ).fetchone()
        _judge(con, total, bad, tenants or [])
        _record_rejects(con, source.name, relative, load_id, columns)
    outcome = "loaded_with_rejects" if bad else "loaded"
    return FileResult(source.name, relative, total, loaded, bad, outcome)


@contextlib.contextmanager
def _one_thread(con):
    """Run a bulk insert on one DuckDB thread. Threads writing one file's rows in order cut
    the table's row groups at the file's own row-group boundaries (a 3.4M-row Parquet part
    became 41 row groups instead of 29), and the next checkpoint rewrote all of them to
    merge the partial ones (5 s at close after a full night). One thread fills each row
    group: less CPU in all, and nothing for the checkpoint to redo."""
    (threads,) = con.execute("select current_setting('threads')").fetchone()
    con.execute("set threads = 1")
    try:
        yield
    finally:
        con.execute(f"set threads = {int(threads)}")


def _key_repeats(con, source: Source) -> tuple[pa.Array | None, bool]:
    """The key hashes (``rules.key_hash``) that occur more than once in ``checked`` (None
    when none does: the normal case), and whether its rows are in row-number order.

    One scan of two 64-bit columns, sorted in numpy: several times cheaper than DuckDB
    grouping the hashes of a multi-million-row file."""
    columns = con.execute(
        f"select _row_number, {rules.key_hash(source)} as _key_hash from checked"
    ).fetchnumpy()
    hashes = np.sort(columns["_key_hash"])
    repeated = np.unique(hashes[1:][hashes[1:] == hashes[:-1]])
    repeats = pa.array(repeated, pa.uint64()) if len(repeated) else None
    return repeats, _ascending(columns["_row_number"])


def _ascending(numbers: np.ndarray) -> bool:
    return bool(np.all(numbers[1:] > numbers[:-1]))


def _in_row_order(con) -> bool:
    """Whether the rows of ``checked`` are stored in strictly ascending row-number order."""
    return _ascending(con.execute("select _row_number from checked").fetchnumpy()["_row_number"])


def _load_status_import(
    con, ctx: LoadContext, path: Path, relative: str, load_id: int, stats
) -> FileResult:
    parts = Path(relative).parts
    if len(parts) < 3:
        raise FileRejected("status import files must be under status_imports/<tenant_id>/")
    if path.suffix.lower() != ".csv":
        raise FileRejected("status imports must be .csv files (a shop or spreadsheet export)")
    wanted = [*STATUS_IMPORT_KEYS, *STATUS_IMPORT_STATUS_COLUMNS, *STATUS_IMPORT_OPTIONAL]
    present = read_batch(con, path, wanted, stats)
    keys = [k for k in STATUS_IMPORT_KEYS if k in present]
    status_col = next((c for c in STATUS_IMPORT_STATUS_COLUMNS if c in present), None)
    if not keys or not status_col:
        raise FileRejected(
            "a status import needs a key column (Customer ID, Code or Email) and a status "
            f"column (Customer Status or Active/Inactive); the header has {', '.join(present)}",
            rows=_batch_rows(con),
        )
    con.execute(
        f"create or replace temp table checked as "
        f"{_status_import_query(present, keys, status_col, parts[1], ctx)}"
    )
    columns = [
        "tenant_id",
        "customer_id",
        "code",
        "email",
        "member_status",
        "reason",
        "effective_at",
        "loaded_for_as_of_date",
    ]
    return _commit_checked(
        con, ctx, "status_imports", relative, load_id, columns, "raw.status_imports"
    )


def _unformula(expr: str) -> str:
    """Undo the export's formula guard: one leading ' is dropped from a cell whose '
    characters stand before = + - @ tab or CR (``export.guard`` adds exactly one)."""
    return f"regexp_replace({expr}, '^''(''*[=+\\-@\\t\\r])', '\\1')"


def _status_import_query(present, keys, status_col, tenant_id, ctx: LoadContext) -> str:
    def text(name: str) -> str:
        return (
            _unformula(rules.raw_text(name, name in present))
            if name in present
            else "cast(null as varchar)"
        )

    status = f"lower({text(status_col)})"
    effective = f"timezone('UTC', try_cast({text('effective at')} as timestamptz))"
    key_exprs = {col: text(name) for name, col in STATUS_IMPORT_KEYS.items()}
    key_exprs["email"] = f"lower({key_exprs['email']})"
    shown_status = status_col.title()
    errors = [
        quote_ident(READ_ERROR),
        "case when "
        + " and ".join(f"{key_exprs[STATUS_IMPORT_KEYS[k]]} is null" for k in keys)
        + " then 'no "
        + " or ".join(k.title() for k in keys)
        + " on this row' end",
        f"case when {status} is null then '{shown_status} is missing' "
        f"when {status} not in ('{STATUS_IMPORT_VALUES[0]}', '{STATUS_IMPORT_VALUES[1]}') then "
        f"'{shown_status} ''' || left({text(status_col)}, 60) || ''' is not active or inactive' end",
        f"case when {text('effective at')} is not null and {effective} is null then "
        f"'Effective At ''' || left({text('effective at')}, 60) || ''' is not an ISO 8601 timestamp' end",
    ]
    return f"""
        select '{tenant_id.replace("'", "''")}' as tenant_id,
               {key_exprs["customer_id"]} as customer_id, {key_exprs["code"]} as code,
               {key_exprs["email"]} as email, {status} as member_status,
               {text("reason")} as reason, {effective} as effective_at,
               date '{ctx.as_of_date.isoformat()}' as loaded_for_as_of_date,
               {quote_ident(ROW_NUMBER)} as _row_number,
               nullif(concat_ws('; ', {", ".join(errors)}), '') as _error
        from batch
    """


def _commit_checked(
    con,
    ctx: LoadContext,
    source: str,
    relative: str,
    load_id: int,
    columns: list[str],
    target: str,
    in_order: bool | None = None,
) -> FileResult:
    """Write ``checked``'s good rows into ``target`` and its bad rows into the rejects, in
    row-number order. ``in_order``: whether ``checked`` is stored in that order already (a
    scan of a file keeps its order: then the rows are written without a sort, which was
    half the cost of a large file); None: find out."""
    total, bad, tenants = con.execute(
        "select count(*), count(_error), list(distinct tenant_id order by tenant_id) "
        "filter (where tenant_id is not null) from checked"
    ).fetchone()
    if total == 0:
        raise FileRejected("the file has a header but no data rows: nothing to load")
    _judge(con, total, bad, tenants or [])
    cols = ", ".join(quote_ident(c) for c in columns)
    if in_order is None:
        in_order = _in_row_order(con)
    # an insert keeps the order of the scan it reads while preserve_insertion_order is on
    # (DuckDB's default)
    (keeps_order,) = con.execute("select current_setting('preserve_insertion_order')").fetchone()
    order = "" if in_order and keeps_order else " order by _row_number"
    # a sort's output fills whole row groups on any number of threads; a scan's, on one
    with _one_thread(con) if not order else contextlib.nullcontext():
        con.execute(
            f"insert into {target} ({cols}, _source_file, _row_number, _load_id) "
            f"select {cols}, ?, _row_number, ? from checked where _error is null{order}",
            [relative, load_id],
        )
    _record_rejects(con, source, relative, load_id, columns)
    outcome = "loaded_with_rejects" if bad else "loaded"
    return FileResult(source, relative, total, total - bad, bad, outcome)


def _judge(con, total: int, bad: int, tenants: list[str]) -> None:
    """Reject the whole file (raise) when more of its rows are bad than its tenants'
    ``max_reject_ratio`` allows; the bad rows are those of ``checked``."""
    ratio = _max_reject_ratio(con, tenants)
    if bad and bad / total > ratio:
        first = con.execute(
            "select 'row ' || _row_number || ': ' || _error from checked "
            "where _error is not null order by _row_number limit 3"
        ).fetchall()
        raise FileRejected(
            f"{bad} of {total} rows are bad ({bad / total:.1%}, more than the "
            f"max_reject_ratio of {ratio:.0%}); nothing of this file was loaded. First: "
            + " | ".join(r[0] for r in first),
            rows=total,
            by_settings=True,  # a raised max_reject_ratio can change this verdict
        )


def _record_rejects(con, source: str, relative: str, load_id: int, columns: list[str]) -> None:
    """The bad rows of ``checked``: one reject each, in row order, and the customer each
    names (``raw.import_reject_keys``)."""
    con.execute(
        "insert into raw.import_rejects select ?, ?, _row_number, tenant_id, _error, ? "
        "from checked where _error is not null order by _row_number",
        [source, relative, load_id],
    )
    if "customer_id" in columns:
        con.execute(
            "insert into raw.import_reject_keys select ?, _row_number, tenant_id, customer_id "
            "from checked where _error is not null and customer_id is not null",
            [load_id],
        )


def _max_reject_ratio(con, tenants: list[str]) -> float:
    """The strictest ``max_reject_ratio`` among the file's tenants (current settings)."""
    default = default_max_reject_ratio()
    if not tenants:
        return default
    row = con.execute(
        """
        with latest as (
            select tenant_id, max_reject_ratio,
                   row_number() over (partition by tenant_id
                       order by updated_at desc nulls last, _load_id desc, _row_number desc) as rn
            from raw.tenants
        )
        select min(coalesce(l.max_reject_ratio, ?))
        from unnest(?::varchar[]) as t(tenant_id)
        left join latest l on l.tenant_id = t.tenant_id and l.rn = 1
        """,
        [default, tenants],
    ).fetchone()
    return default if row[0] is None else float(row[0])


def _batch_rows(con) -> int:
    return con.execute("select count(*) from batch").fetchone()[0]


def _record_reject(con, source, relative, row_number, tenant_id, error, load_id) -> None:
    con.execute(
        "insert into raw.import_rejects values (?, ?, ?, ?, ?, ?)",
        [source, relative, row_number, tenant_id, error, load_id],
    )


def _record_ledger(
    con,
    ctx: LoadContext,
    result: FileResult,
    sha: str,
    size: int | None,
    load_id: int,
    meaning: str | None,
    physical_rows: int | None = None,
    by_settings: bool = False,
) -> None:
    con.execute(
        "insert into raw.ingest_ledger values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            load_id,
            result.source,
            result.file,
            sha,
            size or 0,
            result.rows_in_file,
            result.rows_loaded,
            result.rows_rejected,
            result.outcome,
            result.message,
            ctx.run_id,
            ctx.as_of_date,
            pipeline_db.utc_timestamp(),
        ],
    )
    con.execute(
        "insert into raw.ingest_ledger_meaning (load_id, meaning, physical_rows, by_settings) "
        "values (?, ?, ?, ?)",
        [load_id, meaning, physical_rows, by_settings],
    )
