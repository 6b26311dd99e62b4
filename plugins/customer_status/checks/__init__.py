"""Checks that must pass before anything is published.

- ``gx_imports``: the Great Expectations suites of the landing sources, on the rows loaded
  (before dbt builds anything);
- dbt's data tests, run inside ``dbt build``;
- ``gx_reclassification``: the Great Expectations suites of the candidate tables, run-wide
  (after the build, before publishing);
- ``reconciliation``: what neither GX nor dbt can know, the rows in a landing file against
  the rows loaded and rejected.

Each reports ``CheckResult``s (``results``); a run publishes only when none failed.
"""

from .results import CheckResult, ChecksFailed

__all__ = ["CheckResult", "ChecksFailed"]
