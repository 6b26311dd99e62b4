"""``customer-status docs``: the documentation sites of the tables, as static files.

- the dbt docs site (every model, source and column with its description and contract
  types, and the lineage graph), built by ``dbt docs generate --static`` against the working
  file of the warehouse's last night: ``<out>/dbt/static_index.html`` is one self-contained
  page (manifest and catalog inlined) that opens from disk, no server needed;
- the Great Expectations Data Docs that the last night's import checks wrote
  (``<work area>/gx/uncommitted/data_docs/local_site/index.html``), linked, not rebuilt;
- ``<out>/index.html``, a page that links both.

``<out>`` defaults to ``<work area>/docs``. The build holds the work area's run lock (a
running night is waited for: dbt opens the working file for writing).
"""

from __future__ import annotations

import html
import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

import duckdb

from . import pipeline_db
from .pipeline.build import RUN_PARAMETER_ENV, dbt_command, dbt_env, dbt_folder
from .settings import Paths

log = logging.getLogger(__name__)


class NoNightYet(Exception):
    """No night has run for this warehouse: there is nothing to document."""


class DocsFailed(Exception):
    """``dbt docs generate`` failed; the message carries the end of its output."""


@dataclass(frozen=True)
class DocsSites:
    index: Path
    dbt: Path
    data_docs: Path | None  # None when no night has validated a landing file yet
    as_of_date: str


def data_docs_index(paths: Paths) -> Path:
    return paths.work_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def _last_as_of_date(paths: Paths) -> str:
    if not paths.work_db.exists():
        raise NoNightYet(
            f"no night has run for {paths.warehouse} yet (no work area at {paths.work_dir}): "
            "run `customer-status run --date D` first"
        )
    with pipeline_db.connect(paths.work_db, read_only=True) as con:
        try:
            row = con.execute(
                "select max(as_of_date) from ops.pipeline_runs where as_of_date is not null"
            ).fetchone()
        except duckdb.CatalogException:
            row = None
    if not row or row[0] is None:
        raise NoNightYet(
            f"no night has run for {paths.warehouse} yet: run `customer-status run --date D` first"
        )
    return row[0].isoformat()


def _page(sites: DocsSites, out: Path) -> str:
    def link(target: Path, text: str) -> str:
        return f'<a href="{html.escape(target.resolve().as_uri())}">{html.escape(text)}</a>'

    gx = (
        link(sites.data_docs, "Great Expectations Data Docs")
        + " — the import checks of every night, per landing source"
        if sites.data_docs
        else "Great Expectations Data Docs: none yet (no night has validated a landing file)"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>customer-status docs</title>"
        "</head><body><h1>customer-status documentation</h1>"
        f"<p>Built from the working file of the night of {html.escape(sites.as_of_date)}.</p>"
        "<ul>"
        f"<li>{link(sites.dbt, 'dbt docs')} — every published table (schema <code>marts</code>)"
        " and every column with its description and type, the models behind them and the"
        " landing sources</li>"
        f"<li>{gx}</li>"
        "</ul></body></html>\n"
    )


def build(paths: Paths, out: Path | None = None) -> DocsSites:
    """Build the dbt docs site and the index page; link the last night's Data Docs."""
    from .pipeline.local import exclusive_run

    as_of = _last_as_of_date(paths)
    out = Path(out or paths.work_dir / "docs").resolve()
    target = out / "dbt"
    cmd = dbt_command(paths, "docs", "generate", "--static")
    # the docs have their own target folder: the night's build artefacts stay as they are
    cmd[cmd.index("--target-path") + 1] = str(target)
    cmd[cmd.index("--log-path") + 1] = str(target / "logs")
    env = {**dbt_env(paths), RUN_PARAMETER_ENV["as_of_date"]: as_of}
    with exclusive_run(paths):
        log.info("dbt docs generate --static (night of %s)", as_of)
        proc = subprocess.run(
            cmd, env=env, cwd=dbt_folder(paths), capture_output=True, text=True, check=False
        )
    static = target / "static_index.html"
    if proc.returncode != 0 or not static.exists():
        raise DocsFailed(f"dbt docs generate failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    gx = data_docs_index(paths)
    sites = DocsSites(out / "index.html", static, gx if gx.exists() else None, as_of)
    sites.index.write_text(_page(sites, out))
    return sites
