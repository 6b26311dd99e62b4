"""The ``dbt`` command, started ahead of its night's build (issue 18, the fixed cost).

``python -m customer_status.pipeline.dbt_child`` imports dbt (about 1.2 s of CPU, 3 s of
wall on a busy machine), then waits for one line on stdin: a JSON object with the command's
``args``, ``env`` and ``cwd``. It then runs exactly what the ``dbt`` console script runs
(``dbt.cli.main.cli`` with those arguments) in that environment and directory, and exits
with its code. ``build.prepare_dbt`` starts it when the night starts, so the import overlaps
the ingest and the task starts; ``build.run_dbt`` hands it the build's command. It opens no
file before its command comes, and exits quietly, having done nothing, when its parent goes
(end of file on stdin) or when the parent dies (``build._die_with_parent``).

Like the ``customer-status`` command (``customer_status.process_end``), it ends
without Python's finalization once every exit handler has run (dbt-duckdb's closes its
database): the full garbage collections over dbt's objects took 1-2 s after an M build.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import json
import os
import sys

from customer_status.process_end import end_now

_exit_code: list[int] = []


def _exit_now() -> None:
    """The last exit handler (registered before dbt's): end with dbt's code."""
    if not _exit_code:
        return
    end_now(_exit_code[0])


def main() -> int:
    atexit.register(_exit_now)
    from dbt.cli.main import cli  # what is paid ahead, with the adapter dbt loads first

    importlib.import_module("dbt.adapters.duckdb")
    gc.freeze()  # dbt's modules: out of sight of the build's full collections

    line = sys.stdin.readline()
    if not line.strip():  # the parent went without a build for it
        _exit_code.append(0)
        return 0
    command = json.loads(line)
    os.environ.clear()
    os.environ.update(command["env"])
    os.chdir(command["cwd"])
    sys.argv = ["dbt", *command["args"]]
    try:
        code = cli()
    except SystemExit as done:  # click ends the command with sys.exit(code)
        code = done.code
    code = 0 if code is None else code
    if isinstance(code, int):
        _exit_code.append(code)
    return code if isinstance(code, int) else 1


if __name__ == "__main__":
    sys.exit(main())
