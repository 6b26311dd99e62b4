"""Shared fixtures: small landing zones in tmp_path and a loader bound to a fresh DuckDB file."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from customer_status.ingest import LoadContext, ingest_landing

RUN_START = datetime(2026, 11, 2, 6, 0, 0)
TENANTS_CSV = (
    "tenant_id,name,timezone,max_reject_ratio,updated_at\n"
    "t1,Shop one,Europe/Paris,0.5,2026-01-01T00:00:00Z\n"
)


class Landing:
    """A landing zone under tmp_path plus a working DuckDB file to ingest it into."""

    def __init__(self, root: Path):
        self.root = root / "landing"
        self.root.mkdir()
        self.db = duckdb.connect(str(root / "work.duckdb"))
        self.runs = 0
        self.write("tenants/tenants.csv", TENANTS_CSV)

    def write(self, relative: str, content: str | bytes) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def ingest(self, as_of: date = date(2026, 11, 1)):
        self.runs += 1
        ctx = LoadContext(self.root, f"run{self.runs}", as_of, RUN_START)
        return {r.file: r for r in ingest_landing(self.db, ctx)}

    def rows(self, sql: str, *params) -> list[tuple]:
        return self.db.execute(sql, list(params)).fetchall()

    def rejects(self, file: str) -> list[tuple]:
        return self.rows(
            "select row_number, error from raw.import_rejects where file = ? order by row_number",
            file,
        )


@pytest.fixture
def landing(tmp_path: Path) -> Landing:
    zone = Landing(tmp_path)
    yield zone
    zone.db.close()
