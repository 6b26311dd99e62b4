"""Child processes started ahead of the step that uses them (issue 18, the fixed cost).

A night's heavy children import their library first: dbt (``pipeline/dbt_child.py``, about
1.3 s) and Great Expectations for the import checks and the audit (``checks/gx_runtime``,
about 3 s). Where the whole night runs in this process (``pipeline.local``: the
``customer-status`` command, Airflow in-process), each is started ahead: it imports, then
waits for one line on its stdin before it opens anything, so the import overlaps the work
before it (the ingest, Airflow's task starts, the dbt build). The step that needs it hands
it that line (``take``). A child that died meanwhile is not used (the step starts a fresh
one, as it would without this module); one never used exits with this process (end of file
on its stdin). In a real Airflow deployment every task is its own process and a child
started ahead would end with the task that started it: nothing is started ahead there
(``enable`` is not called).
"""

from __future__ import annotations

import logging
import subprocess

log = logging.getLogger(__name__)
# per key: the command line of the child started ahead, and the child
_children: dict[str, tuple[list[str], subprocess.Popen]] = {}
_enabled: list[bool] = [False]


def enable() -> None:
    """Start children ahead from now on (``pipeline.local``: every step in this process)."""
    _enabled[0] = True


def start(key: str, argv: list[str], **popen) -> None:
    """Start ``argv`` (stdin a pipe; ``popen``: the rest of ``subprocess.Popen``'s arguments)
    as the child for ``key``, unless a child of that command line is still waiting. A child
    of ``key`` for another command line (an earlier night's) is ended."""
    if not _enabled[0]:
        return
    waiting = _children.get(key)
    if waiting is not None and waiting[0] == argv and waiting[1].poll() is None:
        return
    discard(key)
    _children[key] = (argv, subprocess.Popen(argv, stdin=subprocess.PIPE, **popen))


def take(key: str, argv: list[str], line: str) -> subprocess.Popen | None:
    """The child started ahead for ``key`` with command line ``argv``, handed ``line`` (its
    stdin stays open: the caller closes it), or None when there is none still waiting."""
    started = _children.pop(key, None)
    if started is None:
        return None
    command, proc = started
    if command != argv or proc.poll() is not None or proc.stdin is None:
        why = "it was started for another command" if command != argv else "it died"
        log.info("%s: a new process, not the one started ahead (%s)", key, why)
        end(proc)
        return None
    try:
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
    except OSError:  # it died meanwhile
        log.info("%s: a new process, not the one started ahead (it died)", key)
        end(proc)
        return None
    log.debug("%s: the process started ahead takes over", key)
    return proc


def waiting(key: str) -> subprocess.Popen | None:
    """The child started ahead for ``key``, if it is still waiting (for tests and logs)."""
    started = _children.get(key)
    return started[1] if started is not None and started[1].poll() is None else None


def discard(key: str) -> None:
    """End the child started ahead for ``key``, if any."""
    started = _children.pop(key, None)
    if started is not None:
        end(started[1])


def end(proc: subprocess.Popen) -> None:
    """Kill ``proc`` and close its pipes."""
    proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
