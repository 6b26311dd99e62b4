"""Audits run on the night's candidate tables before anything is published.

Each check returns ``CheckResult``s; a run publishes only when none failed. dbt's data tests
(run inside ``dbt build``) are the first line; these checks cover what spans the whole run.
"""

from .results import CheckResult, ChecksFailed, run_checks

__all__ = ["CheckResult", "ChecksFailed", "run_checks"]
