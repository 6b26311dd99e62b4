"""The night's run record on disk: ``<work area>/runs/<run id>/run.json``, beside its report.

Each step adds to it as the night goes (its time and outcome, the checks with their sample
rows), so a report can be written for any night, published or not, and under a real Airflow
deployment where every task runs in its own process. Small JSON, rewritten whole each time
(write to a temporary file, then ``os.replace``).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .. import pipeline_db
from ..settings import Paths

RUNS_DIR = "runs"
RECORD = "run.json"
REPORT = "report.html"


def run_folder(paths: Paths, run_id: str) -> Path:
    """``<work area>/runs/<run id>``, the run id made safe as a file name."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", run_id).strip(".") or "run"
    return paths.work_dir / RUNS_DIR / safe


def load(paths: Paths, run_id: str) -> dict:
    path = run_folder(paths, run_id) / RECORD
    if not path.is_file():
        return {"run_id": run_id, "stages": [], "checks": []}
    return json.loads(path.read_text(encoding="utf-8"))


def _save(paths: Paths, record: dict) -> None:
    folder = run_folder(paths, record["run_id"])
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".{RECORD}.{os.getpid()}.tmp"
    temp.write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
    os.replace(temp, folder / RECORD)


def _now() -> str:
    return pipeline_db.utc_now().replace(microsecond=0).isoformat()


def stage(paths: Paths, run_id: str, name: str, seconds: float, ok: bool, **facts) -> None:
    """One step's time and outcome (a step run again replaces its entry)."""
    record = load(paths, run_id)
    record.setdefault("first_seen", _now())
    record["stages"] = [s for s in record.get("stages", []) if s["stage"] != name]
    record["stages"].append({"stage": name, "seconds": round(seconds, 2), "ok": ok, **facts})
    _save(paths, record)


def checks(paths: Paths, run_id: str, step: str, results) -> None:
    """The checks of one step (``CheckResult``s) with their sample rows, as text."""
    record = load(paths, run_id)
    record.setdefault("first_seen", _now())
    record["checks"] = [c for c in record.get("checks", []) if c["step"] != step] + [
        {
            "step": step,
            "check": r.check,
            "tenant_id": r.tenant_id,
            "passed": bool(r.passed),
            "detail": r.detail,
            "sample": [[str(v) for v in row] for row in (r.sample or [])][:20],
        }
        for r in results
    ]
    _save(paths, record)


def reports(paths: Paths) -> list[Path]:
    """The report of every night that has one, oldest first (by when it was written)."""
    found = (paths.work_dir / RUNS_DIR).glob(f"*/{REPORT}")
    return sorted(found, key=lambda p: (p.stat().st_mtime_ns, p.parent.name))
