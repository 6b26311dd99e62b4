"""Status actions (staff, bulk and API) drawn from one chunk's customers.

Each scenario uses customers no other scenario touches, so the only rejections the rules
of rules §4 make are the deliberate ones of :func:`rejected_actions`: a direct
``active → fraud_confirmed``, an unknown customer, a missing reason, a missing actor, an
unknown label, and a restore where the tenant does not keep deleted customers restorable.
Those are valid rows, not malformed ones.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..ingest.sources import SOURCES
from .entities import DAY, HOUR, Customers, Orders
from .tenants import Tenant
from .timeframe import Frame
from .vocabulary import STAFF
from .writer import NO_TIME

ACTION_COLUMNS: tuple[str, ...] = SOURCES["status_actions"].column_names  # docs/contract.md order

#: Scenario name → weight (share of picks).
SCENARIOS: tuple[tuple[str, float], ...] = (
    ("suspend", 0.15),
    ("fraud", 0.11),
    ("archive", 0.06),
    ("internal", 0.03),
    ("label", 0.18),
    ("deactivate", 0.22),
    ("bulk_deactivate", 0.08),
    ("gdpr_delete", 0.03),
    ("restore", 0.04),
    ("noop_activate", 0.10),
)


class Action(NamedTuple):
    """One ``status_actions`` row before it gets its ``action_id``."""

    requested_at: int
    customer_id: str
    action: str
    status: str
    reason: str
    actor: str
    source: str


class _Builder:
    """Shared state of the scenarios of one chunk."""

    def __init__(
        self, rng: np.random.Generator, c: Customers, orders: Orders, tenant: Tenant, frame: Frame
    ) -> None:
        self.rng = rng
        self.c = c
        self.tenant = tenant
        self.frame = frame
        self.ids: list[str] = c.ids.to_pylist()
        self.out: list[Action] = []
        idx = np.arange(c.size)
        targets = c.merged_into[c.merged_into >= 0]
        eligible = (
            (c.deleted == NO_TIME)
            & (c.merged_into < 0)
            & ~np.isin(idx, targets)
            & ~c.internal
            & ~c.special
            & (c.created < frame.end - 2 * DAY)
        )
        paid = orders.paid != NO_TIME
        self.paid_cust = orders.cust[paid]
        self.paid_time = orders.paid[paid]
        by_cust = np.argsort(self.paid_cust, kind="stable")
        self.paid_cust, self.paid_time = self.paid_cust[by_cust], self.paid_time[by_cust]
        counts = np.bincount(self.paid_cust, minlength=c.size)
        self.pool = rng.permutation(np.flatnonzero(eligible)).tolist()
        self.buyers = rng.permutation(np.flatnonzero(eligible & (counts >= 2))).tolist()
        self.deleted = rng.permutation(
            np.flatnonzero((c.deleted != NO_TIME) & (c.deleted < frame.end - 2 * HOUR) & ~c.special)
        ).tolist()
        self.used: set[int] = set()

    # -- picking -----------------------------------------------------------------------
    def take(self, pool: list[int]) -> int | None:
        """Next customer of ``pool`` no scenario has used yet."""
        while pool:
            i = pool.pop()
            if i not in self.used:
                self.used.add(i)
                return i
        return None

    def time_after(self, i: int, after: int | None = None) -> int | None:
        """A random instant after the customer exists (and after ``after``), before the end."""
        lo = max(int(self.c.created[i]), self.frame.start) + HOUR
        if after is not None:
            lo = max(lo, after + 60)
        hi = self.frame.end - 1
        if lo >= hi:
            return None
        return lo + int(self.rng.random() * (hi - lo))

    def later(self, t: int, min_gap: int, max_gap: int) -> int | None:
        """``t`` plus a random gap, or ``None`` when that is past the end."""
        t2 = t + int(self.rng.integers(min_gap, max_gap))
        return t2 if t2 < self.frame.end else None

    def staff(self) -> str:
        return STAFF[int(self.rng.integers(0, len(STAFF)))]

    def status_text(self, status: str) -> str:
        """Mostly as is; now and then capitalised (values match case-insensitively)."""
        return status.capitalize() if self.rng.random() < 0.05 else status

    def add(
        self,
        t: int,
        i: int | None,
        action: str,
        status: str,
        reason: str,
        actor: str,
        source: str,
        customer_id: str | None = None,
    ) -> None:
        cid = customer_id if customer_id is not None else self.ids[i]  # type: ignore[index]
        self.out.append(Action(t, cid, action, status, reason, actor, source))

    # -- scenarios ---------------------------------------------------------------------
    def suspend(self) -> bool:
        """Suspend a buyer shortly before one of their payments (an outlier), maybe lift it."""
        i = self.take(self.buyers)
        if i is None:
            return False
        lo, hi = np.searchsorted(self.paid_cust, [i, i + 1])
        p = int(self.paid_time[lo + int(self.rng.integers(0, hi - lo))])
        floor = max(int(self.c.created[i]), self.frame.start) + 60
        t1 = max(p - int(self.rng.integers(HOUR, 5 * DAY)), floor)
        if t1 >= p:
            return False
        reason = ["payment dispute opened", "chargeback received", "suspicious address change"][
            int(self.rng.integers(0, 3))
        ]
        self.add(t1, i, "set_status", self.status_text("suspended"), reason, self.staff(), "ui")
        if self.rng.random() < 0.6:
            t2 = self.later(p, DAY, 20 * DAY)
            if t2 is not None:
                self.add(t2, i, "set_status", "active", "dispute resolved", self.staff(), "ui")
        return True

    def fraud(self) -> bool:
        """Fraud suspected by the risk engine, then confirmed, cleared or left open."""
        i = self.take(self.pool)
        t1 = None if i is None else self.time_after(i)
        if t1 is None:
            return False
        self.add(
            t1,
            i,
            "set_status",
            self.status_text("fraud_suspected"),
            "velocity rule R12 triggered",
            "api:risk-engine",
            "api",
        )
        u = self.rng.random()
        t2 = self.later(t1, HOUR, 10 * DAY)
        if t2 is not None and u < 0.45:
            self.add(
                t2,
                i,
                "set_status",
                "fraud_confirmed",
                "chargeback confirmed by card issuer",
                "staff:bob",
                "ui",
            )
        elif t2 is not None and u < 0.75:
            self.add(t2, i, "set_status", "active", "identity verified", "staff:bob", "ui")
        return True

    def archive(self) -> bool:
        i = self.take(self.pool)
        t1 = None if i is None else self.time_after(i)
        if t1 is None:
            return False
        self.add(t1, i, "set_status", "archived", "dormant account cleanup", "staff:carol", "bulk")
        if self.rng.random() < 0.2:
            t2 = self.later(t1, DAY, 30 * DAY)
            if t2 is not None:
                self.add(t2, i, "set_status", "active", "customer came back", self.staff(), "ui")
        return True

    def internal(self) -> bool:
        i = self.take(self.pool)
        t1 = None if i is None else self.time_after(i)
        if t1 is None:
            return False
        self.add(t1, i, "set_status", "internal", "employee test account", "staff:alice", "ui")
        return True

    def label(self) -> bool:
        """Set one of the tenant's labels; sometimes back to ``regular`` later."""
        i = self.take(self.pool)
        t1 = None if i is None else self.time_after(i)
        if t1 is None:
            return False
        labels = self.tenant.profile.labels
        name = labels[int(self.rng.integers(0, len(labels)))][0]
        source = "api" if self.rng.random() < 0.3 else "ui"
        actor = "api:loyalty-service" if source == "api" else self.staff()
        self.add(t1, i, "set_status", name, f"segment review: {name}", actor, source)
        if self.rng.random() < 0.4:
            t2 = self.later(t1, DAY, 30 * DAY)
            if t2 is not None:
                self.add(
                    t2,
                    i,
                    "set_status",
                    "regular",
                    "segment review: back to regular",
                    self.staff(),
                    "ui",
                )
        return True

    def deactivate(self) -> bool:
        i = self.take(self.pool)
        t1 = None if i is None else self.time_after(i)
        if t1 is None:
            return False
        if self.rng.random() < 0.3:
            self.add(t1, i, "deactivate", "", "spam complaint from ESP", "api:esp-webhook", "api")
        else:
            reason = ["customer asked to stop all contact", "hard bounce", "moved abroad"][
                int(self.rng.integers(0, 3))
            ]
            self.add(t1, i, "deactivate", "", reason, self.staff(), "ui")
        if self.rng.random() < 0.4:
            t2 = self.later(t1, DAY, 30 * DAY)
            if t2 is not None:
                self.add(t2, i, "activate", "", "customer opted back in", self.staff(), "ui")
        return True

    def bulk_deactivate(self) -> bool:
        """One bulk action on a small group: same instant, reason and actor."""
        size = int(self.rng.integers(3, max(4, self.c.size // 2000) + 1))
        group = [g for g in (self.take(self.pool) for _ in range(size)) if g is not None]
        if not group:
            return False
        t = self.time_after(max(group, key=lambda g: int(self.c.created[g])))
        if t is None:
            return False
        for g in group:
            self.add(t, g, "deactivate", "", "bounce list cleanup", "staff:carol", "bulk")
        return True

    def gdpr_delete(self) -> bool:
        i = self.take(self.pool)
        t1 = None if i is None else self.time_after(i)
        if t1 is None:
            return False
        self.add(t1, i, "set_status", "deleted", "GDPR erasure request", "staff:erin", "ui")
        return True

    def restore(self, allowed_only: bool = True) -> bool:
        """Restore a self-deleted customer (only valid where deleted customers are restorable)."""
        if allowed_only and not self.tenant.profile.deleted_can_be_restored:
            return False
        i = self.take(self.deleted)
        if i is None:
            return False
        t = self.later(int(self.c.deleted[i]), HOUR, 10 * DAY)
        if t is None:
            t = int(self.c.deleted[i]) + (self.frame.end - 1 - int(self.c.deleted[i])) // 2
        self.add(t, i, "restore", "", "account deleted by mistake", "staff:erin", "ui")
        return True

    def noop_activate(self) -> bool:
        """Activate an already active customer: no change, not an error."""
        i = self.take(self.pool)
        t1 = None if i is None else self.time_after(i)
        if t1 is None:
            return False
        self.add(t1, i, "activate", "", "CRM sync", "api:crm-sync", "api")
        return True

    def rejected(self, id_width: int) -> None:
        """The deliberate rule-level rejections (rules §4), one of each."""
        cases = [
            ("set_status", "fraud_confirmed", "confirmed fraud", "staff:bob"),  # not suspected
            ("set_status", "suspended", "", "staff:alice"),  # missing reason
            ("deactivate", "", "customer asked to stop all contact", ""),  # missing actor
            ("set_status", "platinum", "upgrade to platinum", "staff:dana"),  # unknown label
        ]
        for action, status, reason, actor in cases:
            i = self.take(self.pool)
            t = None if i is None else self.time_after(i)
            if t is not None:
                self.add(t, i, action, status, reason, actor, "ui")
        t = self.frame.end - 1 - int(self.rng.integers(HOUR, 3 * DAY))
        self.add(
            t,
            None,
            "set_status",
            "suspended",
            "chargeback received",
            "staff:alice",
            "ui",
            customer_id="C" + "0" * id_width,
        )  # unknown customer
        if not self.tenant.profile.deleted_can_be_restored:
            self.restore(allowed_only=False)  # rejected: deleted is final in this tenant
        else:
            self.restore()  # at least one valid restore


def chunk_actions(
    rng: np.random.Generator,
    c: Customers,
    orders: Orders,
    tenant: Tenant,
    frame: Frame,
    target: int,
    first_chunk: bool,
    id_width: int,
) -> list[Action]:
    """About ``target`` status actions on the chunk's customers.

    The first chunk also gets the deliberate rejections and one of every scenario.
    """
    b = _Builder(rng, c, orders, tenant, frame)
    names = [s for s, _ in SCENARIOS]
    if first_chunk:
        b.rejected(id_width)
        for scenario in names:  # every kind of action at least once, whatever the size
            getattr(b, scenario)()
    weights = np.array([w for _, w in SCENARIOS])
    weights = weights / weights.sum()
    misses = 0
    while len(b.out) < target and misses < 50:
        scenario = names[int(rng.choice(len(names), p=weights))]
        misses = 0 if getattr(b, scenario)() else misses + 1
    return b.out
