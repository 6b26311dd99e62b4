"""``customer-status explain --tenant T --customer C [--date D]``: a customer as a person reads it.

From the published warehouse only (opened read-only: it never blocks a night):

- the timeline: every change of every dimension (``marts.status_changes``) with its date,
  from → to, reason, actor and source;
- for day D (default the last published day): the four statuses and the headline status,
  each with the rule that decides it (rules §2, §3, §6, §7) and the change that put it there
  ("member_status inactive: deactivated (rules §6.3), since 2026-03-05: 'bounced' by ann@shop
  (ui)"), and the last counting payment up to D.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .bulk import BulkError, open_published, require_tenant

LIFECYCLE_RULES = {
    "subscribed": "rules §3.1: a subscription whose latest event is in_progress or suspended",
    "active": "rules §3.2: a counting payment within the tenant's activity window",
    "unsubscribed": "rules §3.3: has had subscriptions, all terminated",
    "sleeping": "rules §3.4: has paid before, not within the activity window",
    "prospect": "rules §3.5: no subscription and no counting payment yet",
}
MEMBER_RULES = {
    "deleted": "rules §6.1: the account status makes the member inactive",
    "archived": "rules §6.1: the account status makes the member inactive",
    "internal": "rules §6.1: the account status makes the member inactive",
    "fraud_confirmed": "rules §6.1: the account status makes the member inactive",
    "blocklisted": "rules §6.2: the email is on the tenant's blocklist",
    "domain_suppressed": "rules §6.2: the email's domain is suppressed",
    "deactivated": "rules §6.3: the latest deactivate is later than the latest activate, "
    "with no reactivating event since",
    "no_engagement": "rules §6.4: sunset, no reactivating event or activate for too long",
}
DIMENSIONS = ("account_status", "status_label", "lifecycle_status", "member_status", "is_billable")


@dataclass
class Explanation:
    tenant: str
    customer: str
    day: date
    last_published: date
    timeline: list[tuple] = field(default_factory=list)
    state: dict = field(default_factory=dict)
    decided: dict[str, str] = field(default_factory=dict)  # dimension -> sentence
    last_payment: date | None = None

    def lines(self) -> list[str]:
        out = [
            f"customer {self.customer} of tenant {self.tenant} "
            f"(published up to {self.last_published})",
            "",
            "Timeline (each change: date, dimension, from -> to, reason, actor, source):",
        ]
        if not self.timeline:
            out.append("  no change since the customer was created")
        for changed_on, dimension, old, new, reason, actor, source in self.timeline:
            out.append(
                f"  {changed_on}  {dimension:<16} {old or '-'} -> {new or '-'}"
                f"  '{reason or ''}'  by {actor or '?'}  ({source or '?'})"
            )
        out += ["", f"On {self.day}:"]
        for dimension in ("status", *DIMENSIONS):
            value = self.state.get(dimension)
            shown = str(value).lower() if isinstance(value, bool) else value
            out.append(f"  {dimension:<16} {shown}: {self.decided.get(dimension, '')}")
        out.append(
            f"  last counting payment up to {self.day}: "
            + (str(self.last_payment) if self.last_payment else "none")
        )
        return out


def _since(change: tuple | None) -> str:
    if change is None:
        return "since the customer was created (no change)"
    changed_on, _, old, _, reason, actor, source = change
    return f"since {changed_on} (from {old or '-'}): '{reason or ''}' by {actor or '?'} ({source or '?'})"


def explain(warehouse, tenant: str, customer: str, day: date | None = None) -> Explanation:
    """The explanation of ``customer``; ``BulkError`` (exit 2) for an unknown tenant,
    customer or a day outside what is published for the customer."""
    con = open_published(warehouse)
    try:
        require_tenant(con, tenant)
        found = con.execute(
            "select as_of_date, created_at from marts.customer_status "
            "where tenant_id = ? and customer_id = ?",
            [tenant, customer],
        ).fetchone()
        if found is None:
            sample = [
                c
                for (c,) in con.execute(
                    "select customer_id from marts.customer_status where tenant_id = ? "
                    "order by customer_id limit 5",
                    [tenant],
                ).fetchall()
            ]
            raise BulkError(
                f"unknown customer '{customer}' for tenant '{tenant}': the published warehouse "
                f"has no such customer (ids are matched exactly; some of the tenant's: "
                f"{', '.join(sample)})"
            )
        last_published, _ = found
        day = day or last_published
        if day > last_published:
            raise BulkError(
                f"--date {day} is after the last published day {last_published}: "
                "nothing is known about it yet"
            )
        cur = con.execute(
            "select * from marts.customer_status_history where tenant_id = ? and customer_id = ? "
            "and valid_from <= ? and (valid_to is null or valid_to > ?)",
            [tenant, customer, day, day],
        )
        row = cur.fetchone()
        if row is None:
            first = con.execute(
                "select min(valid_from) from marts.customer_status_history "
                "where tenant_id = ? and customer_id = ?",
                [tenant, customer],
            ).fetchone()[0]
            raise BulkError(
                f"customer '{customer}' of tenant '{tenant}' has no status on {day}: "
                f"its history starts on {first}"
            )
        state = dict(zip([d[0] for d in cur.description], row, strict=True))
        timeline = con.execute(
            "select changed_on, dimension, from_value, to_value, reason, actor, source "
            "from marts.status_changes where tenant_id = ? and customer_id = ? "
            "order by changed_on, dimension, to_value",
            [tenant, customer],
        ).fetchall()
        last_payment = con.execute(
            "select max(cast(paid_at as date)) from marts.orders where tenant_id = ? "
            "and customer_id = ? and paid_at is not null and cast(paid_at as date) <= ? "
            "and refunded_at is null and not coalesce(is_outlier, false) "
            "and invalid_reason is null",
            [tenant, customer, day],
        ).fetchone()[0]
    finally:
        con.close()
    result = Explanation(tenant, customer, day, last_published, timeline, state)
    result.last_payment = last_payment
    latest = {}
    for change in timeline:
        if change[0] <= day:
            latest[change[1]] = change
    account = state["account_status"]
    result.decided["account_status"] = (
        "decided by people, the customer or merges (rules §4), "
        + _since(latest.get("account_status"))
    )
    result.decided["status_label"] = "the tenant's label of the account status, " + _since(
        latest.get("status_label")
    )
    lifecycle = state["lifecycle_status"]
    result.decided["lifecycle_status"] = (
        LIFECYCLE_RULES.get(lifecycle, "rules §3") + "; " + _since(latest.get("lifecycle_status"))
    )
    member, reason = state["member_status"], state.get("inactive_reason")
    member_rule = (
        MEMBER_RULES.get(reason, f"rules §6: inactive, reason {reason}")
        if member == "inactive"
        else "rules §6.5: no rule makes it inactive"
    )
    result.decided["member_status"] = member_rule + "; " + _since(latest.get("member_status"))
    result.decided["is_billable"] = (
        "rules §7: billable when the member status is active (and, for a tenant billed on "
        "subscribers, the customer accepts marketing); " + _since(latest.get("is_billable"))
    )
    result.decided["status"] = (
        f"rules §2: the account status ({account}) as it is not active"
        if account != "active"
        else f"rules §2: the account is active, so the lifecycle status ({lifecycle})"
    )
    return result
