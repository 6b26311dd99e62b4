"""What a check reports, and the failure that stops a night."""

from __future__ import annotations

from dataclasses import dataclass, field


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
