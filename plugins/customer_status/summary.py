"""What a night prints: a short summary by default, every log line with ``-v``.

By default the terminal gets one line per stage with its time, the ingest counts, the plan
of the dbt build, every check (PASS/FAIL with its detail), the warnings (held tenants,
flagged orders, skipped files), where the report is and what was published or why not;
while a stage runs, a spinner says which (with dbt's node count during the build) on a
terminal. dbt's node lines, the per-file ingest lines and Airflow's own logs appear only with
``-v``. The pipeline marks the records meant for the summary with ``extra={"summary": True}``.

Third-party deprecation warnings (Airflow's, FastAPI's, dbt's, Great Expectations') are
for the project's maintainers, not for the person running a night: ``quiet_warnings`` keeps
them off the terminal, in this process and its children, unless ``-v``.
"""

from __future__ import annotations

import logging
import os
import warnings

from rich.console import Console
from rich.markup import escape

DBT_LOGGER = "customer_status.pipeline.build"
WARNING_CATEGORIES = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def quiet_warnings() -> None:
    for category in WARNING_CATEGORIES:
        warnings.filterwarnings("ignore", category=category)
    # some libraries warn of deprecations with their own UserWarning subclass (Starlette's
    # StarletteDeprecationWarning, raised when Airflow imports its test client)
    warnings.filterwarnings("ignore", message=r"(?is).*deprecat", category=UserWarning)
    kept = os.environ.get("PYTHONWARNINGS", "")
    extra = ",".join(f"ignore::{c.__name__}" for c in WARNING_CATEGORIES)
    os.environ["PYTHONWARNINGS"] = f"{kept},{extra}" if kept else extra


class NightHandler(logging.Handler):
    """The summary (``verbose`` False) or every record with its time (``verbose`` True)."""

    def __init__(self, console: Console, verbose: bool) -> None:
        super().__init__(logging.DEBUG)
        self.console = console
        self.verbose = verbose
        self.status = None
        self.stage: str | None = None
        self.dbt_lines = 0
        self.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))

    # --- the spinner --------------------------------------------------------------------
    def _spin(self, text: str | None) -> None:
        if not self.console.is_terminal:
            return
        if text is None:
            if self.status is not None:
                self.status.stop()
                self.status = None
            return
        if self.status is None:
            self.status = self.console.status(text)
            self.status.start()
        else:
            self.status.update(text)

    def stop(self) -> None:
        """End the spinner (a stage that failed never logs its "done" line)."""
        self._spin(None)
        self.stage = None

    def close(self) -> None:
        self.stop()
        super().close()

    # --- records ------------------------------------------------------------------------
    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._emit(record)
        except Exception:  # a display problem must never stop a night
            self.handleError(record)

    def _emit(self, record: logging.LogRecord) -> None:
        started = getattr(record, "stage_start", None)
        if started:
            self.stage, self.dbt_lines = started, 0
            self._spin(f"{started} ...")
        elif record.name == DBT_LOGGER and self.stage and record.levelno < logging.WARNING:
            self.dbt_lines += 1
            self._spin(f"{self.stage} ... ({self.dbt_lines} dbt nodes done)")
        if record.levelno >= logging.ERROR:
            self.stop()
        if self.verbose:
            self.console.print(escape(self.format(record)), soft_wrap=True)
            return
        if "seconds" in record.__dict__ and "stage" in record.__dict__:
            self._spin(None)
            self.stage = None
            self.console.print(
                f"  {escape(record.stage):<17}{record.seconds:7.1f}s", soft_wrap=True
            )
        elif "ingest" in record.__dict__:
            s = record.ingest
            self.console.print(
                f"  ingested: {s.get('files_loaded', 0)} file(s) loaded, "
                f"{s.get('files_rejected', 0)} rejected, {s.get('files_already_loaded', 0)} "
                f"already loaded, {s.get('files_skipped', 0)} hidden (skipped); "
                f"{s.get('rows_loaded', 0):,} row(s) loaded, {s.get('rows_rejected', 0):,} "
                "rejected",
                soft_wrap=True,
            )
        elif getattr(record, "summary", False) or record.levelno >= logging.WARNING:
            style = "[yellow]" if record.levelno >= logging.WARNING else ""
            text = escape(record.getMessage())
            self.console.print(f"{style}  {text}{'[/]' if style else ''}", soft_wrap=True)
