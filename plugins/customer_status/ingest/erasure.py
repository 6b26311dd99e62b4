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

  The hex is SHA-256 of (secret key, tenant, kind, value): a plain hash of an email could
  be reversed by hashing guessed addresses. DuckDB computes the same, so a value that lands
  later (another customer with the erased address, a blocklist entry, an import row) is
  recognised by its pseudonym and scrubbed the same way: no clear value is ever kept. The key is
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
import html
import json
import logging
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .. import pipeline_db

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


def erasure_key(con: duckdb.DuckDBPyConnection) -> str:
    """The secret the pseudonyms are computed with (see the module's docstring)."""
    configured = os.environ.get(KEY_ENV, "").strip()
    if configured:
        return configured
    row = con.execute("select key from ops.erasure_key limit 1").fetchone()
    if row is None:
        row = (secrets.token_hex(32),)
        con.execute("insert into ops.erasure_key values (?)", [row[0]])
    return row[0]


SEPARATOR = "\x1f"  # between the parts hashed: key, tenant, kind, value


def pseudonym(key: str, tenant_id: str, kind: str, value: str) -> str | None:
    """The stable stand-in for ``value`` (an email keeps its domain); None for a name.
    The same as ``pseudonym_sql`` computes in DuckDB."""
    if kind == "full_name":
        return None
    message = SEPARATOR.join((key, tenant_id, kind, value)).encode()
    hexed = PREFIX + hashlib.sha256(message).hexdigest()[:16]
    if kind == "email" and "@" in value:
        return f"{hexed}@{value.rsplit('@', 1)[1]}"
    return hexed


def pseudonym_sql(kind: str, column: str, tenant: str) -> str:
    """SQL for ``pseudonym`` of ``column`` (the key is the statement's parameter ``$key``):
    a secret-prefixed SHA-256 that DuckDB computes itself, so that a scrub compares every
    value of a big table with the erased ones without reading the table out."""
    digest = (
        f"left(sha256($key || chr(31) || {tenant} || chr(31) || '{kind}' || chr(31) || "
        f"{column}), 16)"
    )
    if kind != "email":
        return f"('{PREFIX}' || {digest})"
    return (
        f"(case when contains({column}, '@') then '{PREFIX}' || {digest} || '@' || "
        f"regexp_extract({column}, '@([^@]*)$', 1) else '{PREFIX}' || {digest} end)"
    )


def _changes(con, sql: str, params: dict | list | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _not_scrubbed(column: str) -> str:
    return f"not regexp_full_match({column}, '{PSEUDONYM.pattern[1:-1]}')"


def apply_erasures(
    con: duckdb.DuckDBPyConnection, work_dir: Path | None, run_id: str
) -> ScrubResult:
    """Scrub the raw tables (and, when something changed, the work area's artefacts)."""
    pipeline_db.ensure(con, *pipeline_db.ERASURE_TABLES)
    result = ScrubResult()
    through = _changes(con, "select coalesce(max(load_id), -1) from raw.ingest_ledger")
    checked = _changes(con, "select coalesce(max(through_load_id), -1) from ops.erasure_checked")
    erased = con.execute(ERASED).fetchall()
    result.customers = len(erased)
    mapping: list[tuple] = []
    if erased:
        key = erasure_key(con)
        con.execute("create or replace temp table erased_customers as " + ERASED)
        mapping = _originals(con, key)
        con.begin()
        try:
            result.rows_changed = _scrub_tables(con, key, mapping, checked)
            if result.rows_changed:
                con.execute(
                    "insert into ops.erasure_scrubs values "
                    "(?, current_timestamp::timestamp, ?, ?, ?, 0)",
                    [run_id, through, result.customers, result.rows_changed],
                )
            con.commit()
        except BaseException:
            con.rollback()
            raise
        con.execute("drop table if exists erased_customers")
        con.execute("drop table if exists erased_keys")
    con.execute("delete from ops.erasure_checked")
    con.execute("insert into ops.erasure_checked values (?)", [through])
    if result.rows_changed and work_dir is not None and mapping:
        result.files_changed = scrub_artefacts(work_dir, _text_replacements(mapping))
        con.execute(
            "update ops.erasure_scrubs set files_changed = ? where run_id = ? "
            "and scrubbed_at = (select max(scrubbed_at) from ops.erasure_scrubs where run_id = ?)",
            [len(result.files_changed), run_id, run_id],
        )
    if result.rows_changed:
        log.info("erasure (rules §12): %s", result.as_dict(), extra={"summary": True})
    return result


def _originals(con, key: str) -> list[tuple]:
    """(tenant, kind, value, pseudonym) of every value still in clear in an erased
    customer's own rows (a new erasure, or rows of the customer that landed again)."""
    values = con.execute(
        f"""
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
        where value is not null and (kind = 'full_name' or {_not_scrubbed("value")})
        order by all
        """
    ).fetchall()
    return [(t, kind, v, pseudonym(key, t, kind, v)) for t, kind, v in values]


# values compared with the erased customers' pseudonyms: (table, column, kind, condition)
SHARED_VALUES = (
    ("customers", "email", "email", ""),
    ("customers", "code", "code", ""),
    ("suppressions", "value", "email", "and t.kind = 'email'"),
    ("status_imports", "email", "email", ""),
    ("status_imports", "code", "code", ""),
)
QUOTED_VALUE = "'''[^'']*'''"  # a value quoted in a reject message, as SQL text
ERASED_QUOTE = "'''[erased]'''"


def _own_rows_sql() -> str:
    sets = ", ".join(
        f"{c} = case when {_not_scrubbed(c)} then {pseudonym_sql(c, c, 'c.tenant_id')} else {c} end"
        for c in ("email", "phone", "code")
    )
    in_clear = " or ".join(
        f"({c} is not null and {_not_scrubbed(c)})" for c in ("email", "phone", "code")
    )
    return f"""update raw.customers as c set {sets}, full_name = null
        where exists (select 1 from erased_customers e
                      where e.tenant_id = c.tenant_id and e.customer_id = c.customer_id)
          and (full_name is not null or {in_clear})"""


def _scrub_tables(con, key: str, mapping: list[tuple], checked: int) -> int:
    # the erased customers' own rows: all four values
    changed = _changes(con, _own_rows_sql(), {"key": key})
    # the same email or code anywhere else in the tenant: another customer sharing it, a
    # blocklist entry, a status-import row keyed by it, whenever it landed (so that matches
    # stay matches, and nights that scrubbed as rows came give a rebuild's rows). Compared by
    # pseudonym: no clear value is kept to compare with. Only rows loaded since the last
    # check, unless tonight's erased rows changed (then every row of the tenants).
    con.execute(
        """create or replace temp table erased_keys as
        select distinct c.tenant_id, 'email' as kind, c.email as pseudonym
        from raw.customers c join erased_customers e using (tenant_id, customer_id)
        where c.email is not null
        union
        select distinct c.tenant_id, 'code', c.code
        from raw.customers c join erased_customers e using (tenant_id, customer_id)
        where c.code is not null"""
    )
    since = -1 if changed else checked
    for table, column, kind, extra in SHARED_VALUES:
        value = f"t.{column}"
        changed += _changes(
            con,
            f"""update raw.{table} as t set {column} = {pseudonym_sql(kind, column, "t.tenant_id")}
            where t._load_id > $since {extra}
              and {value} is not null and {_not_scrubbed(value)}
              and t.tenant_id in (select tenant_id from erased_keys)
              and exists (select 1 from erased_keys k
                          where k.tenant_id = t.tenant_id and k.kind = '{kind}'
                            and k.pseudonym = {pseudonym_sql(kind, value, "t.tenant_id")})""",
            {"key": key, "since": since},
        )
    # a rejected row of an erased customer: every value it quotes
    changed += _changes(
        con,
        f"""update raw.import_rejects as r
        set error = regexp_replace(error, {QUOTED_VALUE}, {ERASED_QUOTE}, 'g')
        where exists (
            select 1 from raw.import_reject_keys k join erased_customers e
                on e.tenant_id = k.tenant_id and e.customer_id = k.customer_id
            where k._load_id = r._load_id and k.row_number = r.row_number)
          and error <> regexp_replace(error, {QUOTED_VALUE}, {ERASED_QUOTE}, 'g')""",
    )
    # any message quoting a value (whole, or cut at 60 characters as the rules quote it)
    for text, replacement in _text_replacements(mapping, escaped=False):
        pattern = "(?i)" + _re2_escape(text)
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
