"""Ending a command's process without Python's finalization (issue 18, the fixed cost).

When a process ends normally, Python's finalization runs full garbage collections over every
object still alive: after a 1M-customer night, 2-3 s for Airflow's modules, the DAG and the
execution API in ``customer-status``, 1-2 s for dbt's objects in the dbt child. That memory
goes back to the system anyway. ``end_now`` is called from the last exit handler (so every
other handler has run: Airflow's, dbt-duckdb's closing of its database): it shuts logging down,
flushes the standard streams and ends the process with ``code``. Nothing relies on a finalizer:
each DuckDB file is closed where it is used, and the published file is flushed before it is
moved in.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import NoReturn


def end_now(code: int) -> NoReturn:
    """End this process with ``code``, skipping finalization (logging shut down, streams flushed)."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
