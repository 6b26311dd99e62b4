"""Where things live: landing zone, published warehouse and the pipeline's private work area.

Flags override environment variables, which override the defaults (docs/contract.md):

- ``CUSTOMER_STATUS_LANDING``   (default ``data/landing``)
- ``CUSTOMER_STATUS_WAREHOUSE`` (default ``data/warehouse.duckdb``)
- ``CUSTOMER_STATUS_WORK_DIR``  (default ``<warehouse dir>/<warehouse stem>.work``)
- ``CUSTOMER_STATUS_DUCKDB_MEMORY_LIMIT`` (default ``12GB``): the memory DuckDB may use in
  every connection of a run (our steps, dbt's, the import validation); DuckDB spills to disk
  beyond it. Its own default is 80 % of the machine's memory.

The published warehouse is only ever replaced whole (see ``pipeline.publish``); every write
happens in the work area: the working DuckDB file (raw tables, ledger, dbt models), dbt's
target folder and, for in-process runs, Airflow's metadata database.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LANDING = Path("data/landing")
DEFAULT_WAREHOUSE = Path("data/warehouse.duckdb")
DEFAULT_DUCKDB_MEMORY_LIMIT = "12GB"


def duckdb_memory_limit() -> str:
    return os.environ.get("CUSTOMER_STATUS_DUCKDB_MEMORY_LIMIT") or DEFAULT_DUCKDB_MEMORY_LIMIT


def _project_dir(env: str, name: str) -> Path:
    return Path(os.environ.get(env) or PROJECT_ROOT / name).resolve()


@dataclass(frozen=True)
class Paths:
    landing: Path
    warehouse: Path
    work_dir: Path

    @property
    def work_db(self) -> Path:
        """The pipeline's own DuckDB file: raw tables, ledger, staging and candidate marts."""
        return self.work_dir / "work.duckdb"

    @property
    def airflow_home(self) -> Path:
        return self.work_dir / "airflow"

    @property
    def dbt_target(self) -> Path:
        return self.work_dir / "dbt"

    @property
    def dbt_project(self) -> Path:
        return _project_dir("CUSTOMER_STATUS_DBT_PROJECT", "dbt_project")

    @property
    def dags_folder(self) -> Path:
        return _project_dir("CUSTOMER_STATUS_DAGS_FOLDER", "dags")

    def export_env(self) -> None:
        """Make these paths the ones every task of this process (and its children) sees."""
        os.environ["CUSTOMER_STATUS_LANDING"] = str(self.landing)
        os.environ["CUSTOMER_STATUS_WAREHOUSE"] = str(self.warehouse)
        os.environ["CUSTOMER_STATUS_WORK_DIR"] = str(self.work_dir)


def resolve_paths(
    landing: str | Path | None = None,
    warehouse: str | Path | None = None,
    work_dir: str | Path | None = None,
) -> Paths:
    land = Path(landing or os.environ.get("CUSTOMER_STATUS_LANDING") or DEFAULT_LANDING)
    wh = Path(warehouse or os.environ.get("CUSTOMER_STATUS_WAREHOUSE") or DEFAULT_WAREHOUSE)
    wh = wh.resolve()
    work = work_dir or os.environ.get("CUSTOMER_STATUS_WORK_DIR") or wh.parent / f"{wh.stem}.work"
    return Paths(landing=land.resolve(), warehouse=wh, work_dir=Path(work).resolve())
