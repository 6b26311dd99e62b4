"""The published tables: which ``marts`` tables readers get, with which columns, and what
readers saw before this run.

**One source of truth.** The published tables are the dbt models under
``dbt_project/models/marts/``; each has an enforced dbt model contract in its YAML
(``config: contract: {enforced: true}``, every column with its ``data_type``), so dbt fails the
build when a mart's SQL no longer produces exactly those columns and types. This module reads
the same YAML: ``marts()`` is the list of published marts and their columns, in order, that
``publish`` copies and that the restatement snapshot below creates. Adding a mart or a column
is one YAML edit (the public interface only grows: docs/contract.md); ``pipeline_runs``, the
run log, is the one published table that is not a dbt model (``runs.PUBLISHED_COLUMNS``).

**The snapshot.** Before dbt runs, the published billing figures are copied into the working
file (schema ``published``, the dbt source of the same name) so ``billing_restatements`` can
record every figure this run changes (rules §7). The published warehouse is only ever opened
read-only here, which never blocks a dashboard (readers share a read-only file) and never
blocks the run (nothing writes to that file: a publish replaces it whole).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from ..pipeline_db import quote_ident, quote_literal
from ..settings import resolve_paths

log = logging.getLogger(__name__)

MARTS_FOLDER = Path("models") / "marts"
# The contracts spell types so that every engine the project runs on accepts them (Spark
# refuses a `varchar` without a length, DuckDB reads `string` as VARCHAR: docs/stack-notes.md).
# The published warehouse is DuckDB: its tables get DuckDB's own name for each type.
DUCKDB_TYPES = {"string": "varchar"}
# the dbt source the pipeline fills before the build (models/marts/billing/_billing__sources.yml)
SNAPSHOT_SOURCE = "published"
# Personal data in a published column: a customer's email, phone, name and code, whatever mart
# carries them; a contracted column with ``meta: {pii: true}`` in its YAML is personal too.
# Per-tenant files published with ``--publish-pii none`` carry these columns as NULL.
PII_COLUMNS = ("email", "phone", "full_name", "code")


class ContractError(Exception):
    """The dbt project's published tables are not fully contracted (a developer's mistake:
    the message names the model and what is missing)."""


@dataclass(frozen=True)
class Mart:
    """A published table: its name and its contracted columns ``(name, data_type)`` in order,
    each type as DuckDB names it (``DUCKDB_TYPES``)."""

    name: str
    columns: tuple[tuple[str, str], ...]
    pii: frozenset[str] = frozenset()  # the columns holding personal data (PII_COLUMNS, meta)

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def ddl(self) -> str:
        """The column list of a ``create table``: ``"tenant_id" varchar, ...``."""
        return ", ".join(f"{quote_ident(name)} {data_type}" for name, data_type in self.columns)


# The marts' YAML is read several times a night (snapshot, publish, report): parsed once per
# file version, with libyaml where PyYAML has it (the pure-Python parser took 0.25 s for the
# marts' YAML on an idle machine, several seconds a night on a busy one).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PARSED: dict[Path, tuple[tuple[int, int], object]] = {}


def _read_yaml(path: Path):
    """``yaml.safe_load`` of ``path``, cached while its size and mtime stay the same. Callers
    get the same object: they only read it."""
    st = path.stat()
    version = (st.st_size, st.st_mtime_ns)
    cached = _PARSED.get(path)
    if cached is None or cached[0] != version:
        cached = (version, yaml.load(path.read_text(), Loader=_YAML_LOADER))
        _PARSED[path] = cached
    return cached[1]


def _yaml_files(project: Path) -> list[Path]:
    return sorted((project / MARTS_FOLDER).rglob("*.yml"))


def _enforced(model: dict) -> bool:
    config = model.get("config") or {}
    contract = config.get("contract") or {}
    return contract.get("enforced") is True


def marts(project: Path | None = None) -> dict[str, Mart]:
    """Every published mart of the dbt ``project`` (default: the one the pipeline builds) with
    its contracted columns, by name. Raises ``ContractError`` when a model under
    ``models/marts/`` has no enforced contract or a column without a ``data_type``: a table
    would otherwise be published (or not) without a promise about its shape."""
    project = Path(project or resolve_paths().dbt_project)
    declared: dict[str, Mart] = {}
    for path in _yaml_files(project):
        document = _read_yaml(path) or {}
        for model in document.get("models") or []:
            name = model["name"]
            where = f"{path.relative_to(project)}, model {name}"
            if not _enforced(model):
                raise ContractError(
                    f"{where}: a published mart needs `config: contract: {{enforced: true}}`"
                )
            columns = []
            pii = set()
            for column in model.get("columns") or []:
                if not column.get("data_type"):
                    raise ContractError(f"{where}: column {column['name']} has no data_type")
                data_type = str(column["data_type"]).strip()
                columns.append((column["name"], DUCKDB_TYPES.get(data_type.lower(), data_type)))
                config = column.get("config") or {}
                meta = {**(column.get("meta") or {}), **(config.get("meta") or {})}
                if column["name"] in PII_COLUMNS or meta.get("pii") is True:
                    pii.add(column["name"])
            if not columns:
                raise ContractError(f"{where}: the contract lists no columns")
            declared[name] = Mart(name, tuple(columns), frozenset(pii))
    models = sorted(p.stem for p in (project / MARTS_FOLDER).rglob("*.sql"))
    missing = [m for m in models if m not in declared]
    if missing:
        raise ContractError(
            f"models under {MARTS_FOLDER} without a contract in their YAML: {', '.join(missing)}"
        )
    return {name: declared[name] for name in sorted(declared)}


def snapshot_tables(project: Path | None = None) -> dict[str, Mart]:
    """The marts whose published rows are copied in before the build: the tables of the dbt
    source ``published``, each with its mart's contracted columns."""
    project = Path(project or resolve_paths().dbt_project)
    contracted = marts(project)
    tables: list[str] = []
    for path in _yaml_files(project):
        document = _read_yaml(path) or {}
        for source in document.get("sources") or []:
            if source["name"] == SNAPSHOT_SOURCE:
                tables += [t["name"] for t in source.get("tables") or []]
    unknown = [t for t in tables if t not in contracted]
    if unknown:
        raise ContractError(
            f"source {SNAPSHOT_SOURCE} names tables that are no published mart: {', '.join(unknown)}"
        )
    return {t: contracted[t] for t in tables}


def create_empty(con: duckdb.DuckDBPyConnection, project: Path | None = None) -> None:
    """The ``published`` schema with empty tables (a new warehouse; dbt's test harness)."""
    con.execute("create schema if not exists published")
    for table, mart in snapshot_tables(project).items():
        con.execute(f"create or replace table published.{quote_ident(table)} ({mart.ddl()})")


def snapshot(
    con: duckdb.DuckDBPyConnection, warehouse: Path, project: Path | None = None
) -> dict[str, int]:
    """Replace ``published.*`` in the working file with the warehouse's current figures.

    A column the contract has but the published table does not (a mart that gained a column
    since that night) is NULL in the snapshot."""
    tables = snapshot_tables(project)
    create_empty(con, project)
    counts = dict.fromkeys(tables, 0)
    if not warehouse.exists():
        return counts
    con.execute(f"attach {quote_literal(str(warehouse))} as current_warehouse (read_only)")
    try:
        present: dict[str, set[str]] = {}
        for table, column in con.execute(
            "select table_name, column_name from duckdb_columns() where database_name = "
            "'current_warehouse' and schema_name = 'marts'"
        ).fetchall():
            present.setdefault(table, set()).add(column)
        for table, mart in tables.items():
            if table not in present:
                continue
            names = ", ".join(quote_ident(c) for c in mart.column_names if c in present[table])
            con.execute(
                f"insert into published.{quote_ident(table)} by name "
                f"select {names} from current_warehouse.marts.{quote_ident(table)}"
            )
            counts[table] = con.execute(
                f"select count(*) from published.{quote_ident(table)}"
            ).fetchone()[0]
    finally:
        con.execute("detach current_warehouse")
    log.info("published figures before this run: %s", counts)
    return counts
