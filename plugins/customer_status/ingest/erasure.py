"""Erasure on request (rules §12): the personal data of an erased customer leaves every table.

Runs at the end of the ingest step, after every new landing file is loaded and before the
import checks read anything, every night:

- **Who**: every customer that an ``erasure_requests`` row names and that ``raw.customers``
  knows (a request for an unknown customer erases nothing; the dbt model
  ``int_erasure_requests`` publishes it as rejected). Required reason and actor are checked
  by the ingest rules like any required column.
- **What**: the customer's email, phone, code and name, in every raw version of its rows,
  including versions that arrived tonight in a re-landed file (the landing files are the
  user's own and are never edited: the same scrub runs on every later load).
  ``full_name`` becomes NULL (no rule reads it); email, phone and code become a stable
  pseudonym, so that no figure of a day before the request moves when the night is rebuilt:

  - ``erased-<16 hex>@<domain>`` for an email: the same address always gives the same
    pseudonym within a tenant (blocklist entries, status-import rows keyed by Email and
    customers sharing the address are scrubbed with it, so they still match), the domain is
    kept (internal domains at creation, suppressed domains, sub-domain matching), and
    "has an email" stays true;
  - ``erased-<16 hex>`` for a phone (``can_sms`` on earlier days: "has a phone") and a code
    (status-import rows keyed by Code and customers sharing the code keep matching).

  The hex is HMAC-SHA256 of (tenant, kind, value) under a secret key: a plain hash of an
  email could be reversed by hashing guessed addresses. The key is
  ``CUSTOMER_STATUS_ERASURE_KEY`` when set (the same for every work area: rebuilds in a new
  work area then give the same pseudonyms), else a random key created once and kept in the
  work file (``ops.erasure_key``), which readers of the published warehouse never see.
- **Reject messages and the ledger**: every text of ``raw.import_rejects.error`` and
  ``raw.ingest_ledger.message`` that quotes one of the values (whole, or its first 60
  characters, as the ingest rules quote it) gets the pseudonym instead (``[erased]`` for a
  name); a rejected row of the customer's own (``raw.import_reject_keys``) has every quoted
  value replaced by ``'[erased]'``.
- **Artefacts of earlier nights** (``<work area>/runs/``: report pages and run records;
  ``gx/``: Great Expectations results and Data Docs; ``dbt/`` and ``airflow/``: logs): every
  text file that quotes a value (as is, HTML- or JSON-escaped) is rewritten with the
  pseudonym. The files are kept (the history of the nights stays), only the values go.

A night whose scrub changed a row records it in ``ops.erasure_scrubs``; the build then
rebuilds every model whole (``pipeline.build.plan_build``), so no staging, intermediate or
mart table keeps a copy of a value.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import logging
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

KEY_ENV = "CUSTOMER_STATUS_ERASURE_KEY"
PREFIX = "erased-"
ERASED_TEXT = "[erased]"
# what the scrub writes: a value matching this was already scrubbed (the scrub is idempotent)
PSEUDONYM = re.compile(r"^erased-[0-9a-f]{16}(@.*)?$")
QUOTED_LENGTH = 60  # the ingest rules quote at most this many characters of a value
# folders of the work area whose text files may quote a value from an earlier night
ARTEFACT_FOLDERS = ("runs", "gx", "dbt", "airflow")
ARTEFACT_MAX_BYTES = 256 * 1024 * 1024
BINARY_SUFFIXES = (".duckdb", ".db", ".wal", ".sqlite", ".png", ".jpg", ".gz", ".zip")

DDL = """
create schema if not exists ops;
create table if not exists ops.erasure_key (key varchar not null);
create table if not exists ops.erasure_scrubs (
    run_id varchar, scrubbed_at timestamp, through_load_id bigint, customers bigint,
    rows_changed bigint, files_changed bigint);
create table if not exists raw.import_reject_keys (
    _load_id bigint not null, row_number bigint not null, tenant_id varchar,
    customer_id varchar not null);
"""

# the customers whose data goes: named by a request and known to raw.customers
ERASED = """
    select distinct r.tenant_id, r.customer_id
    from raw.erasure_requests r
    where exists (
        select 1 from raw.customers c
        where c.tenant_id = r.tenant_id and c.customer_id = r.customer_id
    )
"""


@dataclass
class ScrubResult:
    customers: int = 0
    rows_changed: int = 0
    files_changed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "erased_customers": self.customers,
            "rows_scrubbed": self.rows_changed,
            "files_scrubbed": len(self.files_changed),
        }


def erasure_key(con: duckdb.DuckDBPyConnection) -> bytes:
    """The secret the pseudonyms are computed with (see the module's docstring)."""
    configured = os.environ.get(KEY_ENV, "").strip()
    if configured:
        return configured.encode()
    row = con.execute("select key from ops.erasure_key limit 1").fetchone()
    if row is None:
        row = (secrets.token_hex(32),)
        con.execute("insert into ops.erasure_key values (?)", [row[0]])
    return row[0].encode()


def pseudonym(key: bytes, tenant_id: str, kind: str, value: str) -> str | None:
    """The stable stand-in for ``value`` (an email keeps its domain); None for a name."""
    if kind == "full_name":
        return None
    digest = hmac.new(key, f"{tenant_id}\0{kind}\0{value}".encode(), hashlib.sha256)
    hexed = PREFIX + digest.hexdigest()[:16]
    if kind == "email" and "@" in value:
        return f"{hexed}@{value.rsplit('@', 1)[1]}"
    return hexed


def _changes(con, sql: str, params: list | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def apply_erasures(
    con: duckdb.DuckDBPyConnection, work_dir: Path | None, run_id: str
) -> ScrubResult:
    """Scrub the raw tables (and, when something changed, the work area's artefacts)."""
    con.execute(DDL)
    result = ScrubResult()
    erased = con.execute(ERASED).fetchall()
    result.customers = len(erased)
    if not erased:
        return result
    con.execute("create or replace temp table erased_customers as " + ERASED)
    values = con.execute(
        """
        with own as (
            select c.* from raw.customers c
            join erased_customers e using (tenant_id, customer_id)
        )
        select distinct tenant_id, kind, value from (
            select tenant_id, 'email' as kind, email as value from own union all
            select tenant_id, 'phone', phone from own union all
            select tenant_id, 'code', code from own union all
            select tenant_id, 'full_name', full_name from own
        ) as v
        where value is not null
        order by all
        """
    ).fetchall()
    values = [
        (t, kind, v) for t, kind, v in values if kind == "full_name" or not PSEUDONYM.match(v)
    ]
    if not values:
        return result
    key = erasure_key(con)
    mapping = [(t, kind, v, pseudonym(key, t, kind, v)) for t, kind, v in values]
    con.execute(
        "create or replace temp table erasure_map "
        "(tenant_id varchar, kind varchar, value varchar, pseudonym varchar)"
    )
    con.executemany("insert into erasure_map values (?, ?, ?, ?)", mapping)
    con.begin()
    try:
        result.rows_changed = _scrub_tables(con)
        if result.rows_changed:
            through = _changes(con, "select max(load_id) from raw.ingest_ledger")
            con.execute(
                "insert into ops.erasure_scrubs values "
                "(?, current_timestamp::timestamp, ?, ?, ?, 0)",
                [run_id, through, result.customers, result.rows_changed],
            )
        con.commit()
    except BaseException:
        con.rollback()
        raise
    if result.rows_changed and work_dir is not None:
        replacements = _text_replacements(mapping)
        result.files_changed = scrub_artefacts(work_dir, replacements)
        con.execute(
            "update ops.erasure_scrubs set files_changed = ? where run_id = ? "
            "and scrubbed_at = (select max(scrubbed_at) from ops.erasure_scrubs where run_id = ?)",
            [len(result.files_changed), run_id, run_id],
        )
    con.execute("drop table if exists erasure_map")
    con.execute("drop table if exists erased_customers")
    log.info("erasure (rules §12): %s", result.as_dict(), extra={"summary": True})
    return result


def _map(kind: str, column: str, alias: str) -> str:
    """The pseudonym of ``alias.column`` (kind ``kind``), or the value when not erased."""
    return (
        f"coalesce((select m.pseudonym from erasure_map m where m.kind = '{kind}' "
        f"and m.tenant_id = {alias}.tenant_id and m.value = {alias}.{column}), {alias}.{column})"
    )


def _in_map(kind: str, column: str, alias: str) -> str:
    return (
        f"exists (select 1 from erasure_map m where m.kind = '{kind}' "
        f"and m.tenant_id = {alias}.tenant_id and m.value = {alias}.{column})"
    )


def _scrub_tables(con) -> int:
    changed = 0
    # the erased customers' own rows: all four values
    changed += _changes(
        con,
        f"""update raw.customers as c set
            email = {_map("email", "email", "c")}, phone = {_map("phone", "phone", "c")},
            code = {_map("code", "code", "c")}, full_name = null
        where exists (select 1 from erased_customers e
                      where e.tenant_id = c.tenant_id and e.customer_id = c.customer_id)
          and (full_name is not null or {_in_map("email", "email", "c")}
               or {_in_map("phone", "phone", "c")} or {_in_map("code", "code", "c")})""",
    )
    # the same email or code elsewhere in the tenant: another customer sharing it, a
    # blocklist entry, a status-import row keyed by it (so that matches stay matches)
    for table, column, kind, extra in (
        ("customers", "email", "email", ""),
        ("customers", "code", "code", ""),
        ("suppressions", "value", "email", "and t.kind = 'email'"),
        ("status_imports", "email", "email", ""),
        ("status_imports", "code", "code", ""),
    ):
        changed += _changes(
            con,
            f"update raw.{table} as t set {column} = {_map(kind, column, 't')} "
            f"where {_in_map(kind, column, 't')} {extra}",
        )
    # a rejected row of an erased customer: every value it quotes
    changed += _changes(
        con,
        """update raw.import_rejects as r
        set error = regexp_replace(error, '''[^'']*''', '''[erased]''', 'g')
        where exists (
            select 1 from raw.import_reject_keys k join erased_customers e
                on e.tenant_id = k.tenant_id and e.customer_id = k.customer_id
            where k._load_id = r._load_id and k.row_number = r.row_number)
          and error <> regexp_replace(error, '''[^'']*''', '''[erased]''', 'g')""",
    )
    # any message quoting a value (whole, or cut at 60 characters as the rules quote it)
    for value, replacement in _text_replacements(
        con.execute("select tenant_id, kind, value, pseudonym from erasure_map").fetchall(),
        escaped=False,
    ):
        pattern = "(?i)" + _re2_escape(value)
        for table, column in (("import_rejects", "error"), ("ingest_ledger", "message")):
            changed += _changes(
                con,
                f"update raw.{table} set {column} = regexp_replace({column}, ?, ?, 'g') "
                f"where regexp_matches({column}, ?)",
                [pattern, replacement.replace("\\", "\\\\"), pattern],
            )
    return changed


def _re2_escape(text: str) -> str:
    """``text`` as a literal in a DuckDB (RE2) pattern."""
    return re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", text)


def _text_replacements(mapping, escaped: bool = True) -> list[tuple[str, str]]:
    """(text, replacement) pairs for every way a value may be written in a message or a
    file: as is, cut at 60 characters, and (``escaped``) HTML- and JSON-escaped. Longest
    first, so a value that contains another is replaced whole."""
    pairs: dict[str, str] = {}
    for _tenant, _kind, value, pseudo in mapping:
        shown = pseudo if pseudo is not None else ERASED_TEXT
        forms = {value, value[:QUOTED_LENGTH]}
        if escaped:
            forms |= {html.escape(value), html.escape(value, quote=False)}
            forms.add(html.escape(value, quote=False).replace("'", "&#39;"))  # Jinja's way
            forms |= {json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
        for form in forms:
            if len(form.strip()) >= 3:  # never rewrite texts for a one- or two-letter value
                pairs.setdefault(form, shown)
    return sorted(pairs.items(), key=lambda p: -len(p[0]))


def scrub_artefacts(work_dir: Path, replacements: list[tuple[str, str]]) -> list[str]:
    """Rewrite every text file under the work area's artefact folders that quotes a value.
    Returns the files changed (relative to ``work_dir``)."""
    if not replacements:
        return []
    pattern = re.compile("|".join(re.escape(text) for text, _ in replacements), re.IGNORECASE)
    lookup = {text.lower(): shown for text, shown in replacements}
    changed = []
    for folder in ARTEFACT_FOLDERS:
        root = work_dir / folder
        if not root.is_dir():
            continue
        for dirpath, _, names in os.walk(root):
            for name in names:
                path = Path(dirpath, name)
                if path.suffix.lower() in BINARY_SUFFIXES or ".duckdb" in name:
                    continue
                try:
                    if path.stat().st_size > ARTEFACT_MAX_BYTES:
                        log.warning("erasure: %s is too large to scrub; remove it by hand", path)
                        continue
                    text = path.read_text(encoding="utf-8")
                except (UnicodeDecodeError, OSError):
                    continue
                new = pattern.sub(lambda m: lookup[m.group(0).lower()], text)
                if new != text:
                    tmp = path.with_name(f".{path.name}.scrub")
                    tmp.write_text(new, encoding="utf-8")
                    os.replace(tmp, path)
                    changed.append(path.relative_to(work_dir).as_posix())
    return changed
