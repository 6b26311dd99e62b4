"""Check results and the runner that collects them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb


@dataclass
class CheckResult:
    check: str
    passed: bool
    detail: str
    tenant_id: str | None = None
    sample: list[tuple] = field(default_factory=list)

    def describe(self) -> str:
        who = f" [tenant {self.tenant_id}]" if self.tenant_id else ""
        rows = "".join(f"\n      {row}" for row in self.sample)
        return f"{'PASS' if self.passed else 'FAIL'} {self.check}{who}: {self.detail}{rows}"


class ChecksFailed(Exception):
    """At least one check failed; the message names each failed check, tenant and sample rows."""

    def __init__(self, failures: list[CheckResult]):
        self.failures = failures
        super().__init__(
            f"{len(failures)} check(s) failed; nothing was published:\n"
            + "\n".join("  " + f.describe() for f in failures)
        )


Check = Callable[[duckdb.DuckDBPyConnection], list[CheckResult]]


def run_checks(con: duckdb.DuckDBPyConnection, accept_swing: bool = False) -> list[CheckResult]:
    """Every audit of the night's candidate tables; ``accept_swing``: the operator accepted
    a billable swing beyond the tenant's limit for this run (the check then passes and says
    so)."""
    from . import reclassification, status_audits
    from .reconciliation import rows_reconcile

    checks: list[Check] = [rows_reconcile, *reclassification.CHECKS, *status_audits.CHECKS]
    results: list[CheckResult] = []
    for check in checks:
        results.extend(check(con))
    results.extend(status_audits.billable_swing(con, accept_swing))
    return results
