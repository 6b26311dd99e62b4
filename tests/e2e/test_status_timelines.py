"""End to end, customer status (rules §3, §6-§9): hand-written timelines for three tenants landed
as files, one real ``customer-status run`` for 2026-03-31, assertions on the published statuses,
history, changes, daily counts and monthly billing.

Tenants:

- ``ny``: America/New_York, window 30 days, reactivation by purchase, billed on active
  customers, e-mail only to those who accept marketing, suspended blocks redemption;
- ``eng``: UTC, window 30 days, reactivation by any engagement, billed on subscribers;
- ``sun``: UTC, default window (60), sunset after 30 days, reactivation by purchase.

Every date below is a local date of the tenant. New York is UTC-5 until 2026-03-08, UTC-4 after.
The ny customers are created 2026-01-06T02:00Z = 2026-01-05 21:00 local.

Case ``timelines`` of the shared one-night zone ``tests/e2e/one_night/`` (fixture
``one_night``): the files ``<source>/timelines.csv`` there. The zone also holds tenant ``t1``
(test_account_status.py): assertions about the whole set of customers, days or months select
this case's tenants; the invariants (every change has a reason, counts add up) hold for all.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

AS_OF = date(2026, 3, 31)

pytestmark = pytest.mark.e2e

# the case's files in the shared one-night zone (fixture ``one_night``), one per source
ZONE = Path(__file__).with_name("one_night") / "landing"
IN_CASE = "tenant_id in ('eng', 'ny', 'sun')"
# the case's files by landing path (tests/spark/test_spark_engine.py lands these on both engines)
FILES = {
    f"{source.name}/timelines.csv": (source / "timelines.csv").read_text(encoding="utf-8")
    for source in sorted(ZONE.iterdir())
    if (source / "timelines.csv").is_file()
}


@pytest.fixture(scope="module")
def published(one_night):
    zone, run = one_night
    assert run.code == 0, run.output[-4000:]
    con = duckdb.connect(str(zone.warehouse), read_only=True)
    yield con
    con.close()


def d(day: str) -> date:
    return date.fromisoformat(day)


def landed(source: str) -> list[dict]:
    """The rows of the case's landing file of one source, as dicts."""
    return list(csv.DictReader(io.StringIO(FILES[f"{source}/timelines.csv"])))


def created_local_dates() -> dict[tuple[str, str], date]:
    """(tenant, customer) -> local creation date, computed here from the landed files."""
    zones = {t["tenant_id"]: ZoneInfo(t["timezone"] or "UTC") for t in landed("tenants")}
    return {
        (c["tenant_id"], c["customer_id"]): datetime.fromisoformat(c["created_at"])
        .astimezone(zones[c["tenant_id"]])
        .date()
        for c in landed("customers")
    }


HISTORY_COLUMNS = (
    "status",
    "account_status",
    "status_label",
    "lifecycle_status",
    "member_status",
    "inactive_reason",
    "is_billable",
)


def on(con, tenant: str, customer: str, day: str) -> dict:
    """The published statuses of a customer at the end of local ``day``, read from the history."""
    rows = con.execute(
        f"select {', '.join(HISTORY_COLUMNS)} from marts.customer_status_history "
        "where tenant_id = ? and customer_id = ? and valid_from <= ? "
        "and (valid_to is null or valid_to > ?)",
        [tenant, customer, d(day), d(day)],
    ).fetchall()
    assert len(rows) == 1, f"{tenant}/{customer} on {day}: {len(rows)} history ranges hold"
    return dict(zip(HISTORY_COLUMNS, rows[0], strict=True))


def current(con, tenant: str, customer: str, columns: str) -> tuple:
    row = con.execute(
        f"select {columns} from marts.customer_status where tenant_id = ? and customer_id = ?",
        [tenant, customer],
    ).fetchone()
    assert row is not None, f"{tenant}/{customer} missing from customer_status"
    return row


def changes(con, tenant: str, customer: str, dimension: str) -> list[tuple]:
    return con.execute(
        "select changed_on::varchar, from_value, to_value, reason, actor, source "
        "from marts.status_changes where tenant_id = ? and customer_id = ? and dimension = ? "
        "order by changed_on",
        [tenant, customer, dimension],
    ).fetchall()


# --- §3 lifecycle -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tenant", "customer", "day", "expected"),
    [
        # paid 2026-02-11T04:30Z = 2026-02-10 23:30 New York: counts from the local date
        ("ny", "n-late", "2026-02-09", "prospect"),
        ("ny", "n-late", "2026-02-10", "active"),
        ("ny", "n-late", "2026-03-11", "active"),  # paid + N - 1
        ("ny", "n-late", "2026-03-12", "sleeping"),  # paid + N
        # paid 2026-03-02T04:30Z = 2026-03-01 23:30 New York: sleeping on the as-of date
        ("ny", "n-edge", "2026-02-28", "prospect"),
        ("ny", "n-edge", "2026-03-01", "active"),
        ("ny", "n-edge", "2026-03-30", "active"),
        ("ny", "n-edge", "2026-03-31", "sleeping"),
        # UTC tenant: 23:30Z stays on its UTC day
        ("eng", "e-edge", "2026-02-27", "prospect"),
        ("eng", "e-edge", "2026-02-28", "active"),
        ("eng", "e-edge", "2026-03-29", "active"),
        ("eng", "e-edge", "2026-03-30", "sleeping"),
        # only payment refunded 2026-02-06T03:00Z = 2026-02-05 22:00 New York
        ("ny", "n-refund", "2026-01-31", "prospect"),
        ("ny", "n-refund", "2026-02-01", "active"),
        ("ny", "n-refund", "2026-02-04", "active"),
        ("ny", "n-refund", "2026-02-05", "prospect"),
        # paid and refunded on the same local day (refund 2026-02-02T02:00Z = 02-01 21:00 NY)
        ("ny", "n-refund-same", "2026-02-01", "prospect"),
        ("ny", "n-refund-same", "2026-02-02", "prospect"),
        # a kept payment and a later refunded one
        ("ny", "n-refund2", "2026-02-08", "active"),
        ("ny", "n-refund2", "2026-02-09", "sleeping"),
        ("ny", "n-refund2", "2026-03-20", "active"),
        ("ny", "n-refund2", "2026-03-24", "active"),
        ("ny", "n-refund2", "2026-03-25", "sleeping"),
        # subscriptions: in_progress and suspended are subscribed, all terminated unsubscribed
        ("ny", "n-sub", "2026-01-31", "prospect"),
        ("ny", "n-sub", "2026-02-01", "subscribed"),
        ("ny", "n-sub", "2026-03-15", "subscribed"),
        ("ny", "n-sub2", "2026-01-31", "subscribed"),
        ("ny", "n-sub2", "2026-02-01", "unsubscribed"),
        ("ny", "n-sub2", "2026-02-20", "subscribed"),
        ("ny", "n-term", "2026-01-12", "subscribed"),
        ("ny", "n-term", "2026-02-14", "subscribed"),
        ("ny", "n-term", "2026-02-15", "unsubscribed"),  # paid long ago: not sleeping
        ("ny", "n-term-paid", "2026-03-01", "unsubscribed"),
        ("ny", "n-term-paid", "2026-03-20", "active"),
        # payments while suspended / under fraud suspicion / suspended after a deactivate
        ("ny", "n-susp-pay", "2026-02-10", "prospect"),
        ("ny", "n-susp-pay", "2026-02-25", "prospect"),
        ("ny", "n-fraud-pay", "2026-02-10", "prospect"),
        ("ny", "n-fraud-pay", "2026-02-25", "prospect"),
        ("ny", "n-deact-susp", "2026-02-25", "prospect"),
    ],
)
def test_lifecycle_on_past_dates(published, tenant, customer, day, expected):
    """rules §3, §1 (window N, local dates, refunds, outliers): lifecycle read from the history."""
    got = on(published, tenant, customer, day)["lifecycle_status"]
    assert got == expected, f"{tenant}/{customer} lifecycle on {day}: {got}, expected {expected}"


@pytest.mark.parametrize(
    ("tenant", "customer", "expected"),
    [
        ("ny", "n-late", ("sleeping", "sleeping")),
        ("ny", "n-edge", ("sleeping", "sleeping")),
        ("ny", "n-refund", ("prospect", "prospect")),
        ("ny", "n-refund2", ("sleeping", "sleeping")),
        ("ny", "n-unpaid", ("prospect", "prospect")),
        ("ny", "n-sub", ("subscribed", "subscribed")),
        ("ny", "n-sub2", ("subscribed", "subscribed")),
        ("ny", "n-term", ("unsubscribed", "unsubscribed")),
        ("ny", "n-term-paid", ("active", "active")),
        ("ny", "n-susp-pay", ("prospect", "prospect")),
        ("ny", "n-fraud-pay", ("prospect", "prospect")),
        ("ny", "n-deact-susp", ("prospect", "prospect")),
        ("ny", "n-block", ("active", "active")),
        ("ny", "n-firstday", ("active", "active")),
        ("ny", "n-susp", ("suspended", "prospect")),
        ("ny", "n-staff", ("internal", "prospect")),
        ("ny", "n-del-block", ("deleted", "prospect")),
        ("eng", "e-deact-pay", ("sleeping", "sleeping")),
        ("eng", "e-edge", ("sleeping", "sleeping")),
        ("eng", "e-susp", ("suspended", "prospect")),
        ("sun", "s-paid", ("active", "active")),  # default window 60: 2026-02-01 .. 2026-04-01
        ("sun", "s-quiet", ("prospect", "prospect")),
    ],
)
def test_headline_and_lifecycle_on_the_as_of_date(published, tenant, customer, expected):
    """rules §2-§3: status = account status when not active, else lifecycle, on the as-of date."""
    got = current(published, tenant, customer, "status, lifecycle_status")
    assert got == expected, f"{tenant}/{customer} (status, lifecycle_status) = {got}"


def test_payments_while_suspended_are_outliers(published):
    """rules §5: a payment made while suspended or fraud_suspected is flagged and never counts."""
    got = published.execute(
        "select order_id, is_outlier from marts.orders "
        "where order_id in ('o-sp', 'o-fp', 'o-ds', 'o-late', 'o5') order by order_id"
    ).fetchall()
    assert got == [
        ("o-ds", True),
        ("o-fp", True),
        ("o-late", False),
        ("o-sp", True),
        ("o5", False),
    ], f"outlier flags: {got}"


# --- §6 member status ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tenant", "customer", "day", "expected"),
    [
        # email blocklist (case-insensitive match); a purchase does not lift it
        ("ny", "n-block", "2026-01-31", ("active", None)),
        ("ny", "n-block", "2026-02-01", ("inactive", "blocklisted")),
        ("ny", "n-block", "2026-03-20", ("inactive", "blocklisted")),
        # removing the entry lifts it from the removal's local date
        ("ny", "n-unblocked", "2026-02-01", ("inactive", "blocklisted")),
        ("ny", "n-unblocked", "2026-02-28", ("inactive", "blocklisted")),
        ("ny", "n-unblocked", "2026-03-01", ("active", None)),
        # suppressed domain example.com covers example.com and shop.example.com only
        ("ny", "n-dom", "2026-01-31", ("active", None)),
        ("ny", "n-dom", "2026-02-01", ("inactive", "domain_suppressed")),
        ("ny", "n-dom-exact", "2026-02-01", ("inactive", "domain_suppressed")),
        ("ny", "n-notdom", "2026-02-01", ("active", None)),
        # deactivate; an engagement does not reactivate (purchase tenant), a payment does
        ("ny", "n-deact", "2026-02-04", ("active", None)),
        ("ny", "n-deact", "2026-02-05", ("inactive", "deactivated")),
        ("ny", "n-deact", "2026-02-10", ("inactive", "deactivated")),
        ("ny", "n-deact", "2026-03-09", ("inactive", "deactivated")),
        ("ny", "n-deact", "2026-03-10", ("active", None)),
        ("ny", "n-deact-eng", "2026-03-12", ("inactive", "deactivated")),
        ("ny", "n-deact-act", "2026-02-19", ("inactive", "deactivated")),
        ("ny", "n-deact-act", "2026-02-20", ("active", None)),
        # deactivate 2026-02-06T03:00Z = 02-05 22:00 NY, activate 2026-02-11T04:00Z = 02-10 23:00 NY
        ("ny", "n-deact-late", "2026-02-04", ("active", None)),
        ("ny", "n-deact-late", "2026-02-05", ("inactive", "deactivated")),
        ("ny", "n-deact-late", "2026-02-09", ("inactive", "deactivated")),
        ("ny", "n-deact-late", "2026-02-10", ("active", None)),
        # an outlier payment (while suspended) does not reactivate
        ("ny", "n-deact-susp", "2026-02-10", ("inactive", "deactivated")),
        ("ny", "n-deact-susp", "2026-02-25", ("inactive", "deactivated")),
        # blocklisted, then deleted: deleted wins
        ("ny", "n-del-block", "2026-02-15", ("inactive", "blocklisted")),
        ("ny", "n-del-block", "2026-02-28", ("inactive", "blocklisted")),
        ("ny", "n-del-block", "2026-03-01", ("inactive", "deleted")),
        # any_engagement tenant: engagement after the deactivate reactivates, before does not
        ("eng", "e-deact-eng", "2026-02-05", ("inactive", "deactivated")),
        ("eng", "e-deact-eng", "2026-02-11", ("inactive", "deactivated")),
        ("eng", "e-deact-eng", "2026-02-12", ("active", None)),
        ("eng", "e-eng-before", "2026-02-05", ("inactive", "deactivated")),
        ("eng", "e-same-day", "2026-02-05", ("active", None)),
        ("eng", "e-deact-pay", "2026-02-19", ("inactive", "deactivated")),
        ("eng", "e-deact-pay", "2026-02-20", ("active", None)),
        # sunset after 30 days without a touch (creation, activate, reactivating event)
        ("sun", "s-quiet", "2026-02-08", ("active", None)),
        ("sun", "s-quiet", "2026-02-09", ("inactive", "no_engagement")),
        ("sun", "s-paid", "2026-02-09", ("active", None)),
        ("sun", "s-paid", "2026-03-02", ("active", None)),
        ("sun", "s-paid", "2026-03-03", ("inactive", "no_engagement")),
        ("sun", "s-engaged", "2026-02-09", ("inactive", "no_engagement")),
        ("sun", "s-engaged", "2026-03-20", ("inactive", "no_engagement")),
        ("sun", "s-activated", "2026-02-09", ("inactive", "no_engagement")),
        ("sun", "s-activated", "2026-03-14", ("inactive", "no_engagement")),
        ("sun", "s-activated", "2026-03-15", ("active", None)),
    ],
)
def test_member_status_on_past_dates(published, tenant, customer, day, expected):
    """rules §6: member status and inactive reason on past dates, read from the history."""
    row = on(published, tenant, customer, day)
    got = (row["member_status"], row["inactive_reason"])
    assert got == expected, f"{tenant}/{customer} member status on {day}: {got}"


# (status, lifecycle_status, member_status, inactive_reason, is_billable) on 2026-03-31
AS_OF_STATUSES = {
    ("ny", "n-late"): ("sleeping", "sleeping", "active", None, True),
    ("ny", "n-edge"): ("sleeping", "sleeping", "active", None, True),
    ("ny", "n-refund"): ("prospect", "prospect", "active", None, True),
    ("ny", "n-refund2"): ("sleeping", "sleeping", "active", None, True),
    ("ny", "n-unpaid"): ("prospect", "prospect", "active", None, True),
    ("ny", "n-sub"): ("subscribed", "subscribed", "active", None, True),
    ("ny", "n-sub2"): ("subscribed", "subscribed", "active", None, True),
    ("ny", "n-term"): ("unsubscribed", "unsubscribed", "active", None, True),
    ("ny", "n-term-paid"): ("active", "active", "active", None, True),
    ("ny", "n-susp-pay"): ("prospect", "prospect", "active", None, True),
    ("ny", "n-fraud-pay"): ("prospect", "prospect", "active", None, True),
    ("ny", "n-deact-susp"): ("prospect", "prospect", "inactive", "deactivated", False),
    ("ny", "n-block"): ("active", "active", "inactive", "blocklisted", False),
    ("ny", "n-dom"): ("prospect", "prospect", "inactive", "domain_suppressed", False),
    ("ny", "n-dom-exact"): ("prospect", "prospect", "inactive", "domain_suppressed", False),
    ("ny", "n-notdom"): ("prospect", "prospect", "active", None, True),
    ("ny", "n-unblocked"): ("prospect", "prospect", "active", None, True),
    ("ny", "n-deact"): ("active", "active", "active", None, True),
    ("ny", "n-deact-eng"): ("prospect", "prospect", "inactive", "deactivated", False),
    ("ny", "n-deact-act"): ("prospect", "prospect", "active", None, True),
    ("ny", "n-del-block"): ("deleted", "prospect", "inactive", "deleted", False),
    ("ny", "n-nomkt"): ("prospect", "prospect", "active", None, True),
    ("ny", "n-noemail"): ("prospect", "prospect", "active", None, True),
    ("ny", "n-susp"): ("suspended", "prospect", "active", None, True),
    ("ny", "n-staff"): ("internal", "prospect", "inactive", "internal", False),
    ("ny", "n-firstday"): ("active", "active", "active", None, True),
    ("ny", "n-lastday"): ("prospect", "prospect", "active", None, True),
    ("ny", "n-susp-late"): ("suspended", "prospect", "active", None, True),
    ("ny", "n-deact-late"): ("prospect", "prospect", "active", None, True),
    ("ny", "n-refund-same"): ("prospect", "prospect", "active", None, True),
    ("eng", "e-mkt"): ("prospect", "prospect", "active", None, True),
    ("eng", "e-nomkt"): ("prospect", "prospect", "active", None, False),
    ("eng", "e-staff"): ("internal", "prospect", "inactive", "internal", False),
    ("eng", "e-deact-eng"): ("prospect", "prospect", "active", None, True),
    ("eng", "e-eng-before"): ("prospect", "prospect", "inactive", "deactivated", False),
    ("eng", "e-deact-pay"): ("sleeping", "sleeping", "active", None, True),
    ("eng", "e-edge"): ("sleeping", "sleeping", "active", None, True),
    ("eng", "e-susp"): ("suspended", "prospect", "active", None, True),
    ("eng", "e-same-day"): ("prospect", "prospect", "active", None, True),
    ("sun", "s-quiet"): ("prospect", "prospect", "inactive", "no_engagement", False),
    ("sun", "s-paid"): ("active", "active", "inactive", "no_engagement", False),
    ("sun", "s-engaged"): ("prospect", "prospect", "inactive", "no_engagement", False),
    ("sun", "s-activated"): ("prospect", "prospect", "active", None, True),
    ("sun", "s-young"): ("prospect", "prospect", "active", None, True),
    ("sun", "s-gone"): ("deleted", "prospect", "inactive", "deleted", False),
    ("sun", "s-staff"): ("internal", "prospect", "inactive", "internal", False),
}


def test_customer_status_on_the_as_of_date(published):
    """rules §2, §3, §6, §7: every customer's statuses on 2026-03-31, one row per customer."""
    got = {
        (t, c): tuple(rest)
        for t, c, *rest in published.execute(
            "select tenant_id, customer_id, status, lifecycle_status, member_status, "
            f"inactive_reason, is_billable from marts.customer_status where {IN_CASE}"
        ).fetchall()
    }
    wrong = {
        key: {"expected": want, "got": got.get(key)}
        for key, want in AS_OF_STATUSES.items()
        if got.get(key) != want
    }
    assert not wrong, f"customer_status differs from the timelines: {wrong}"
    assert set(got) == set(AS_OF_STATUSES), (
        f"customers published: extra {set(got) - set(AS_OF_STATUSES)}, "
        f"missing {set(AS_OF_STATUSES) - set(got)}"
    )


def test_customer_status_rows_exist_from_the_local_creation_date(published):
    """rules §2: a customer exists from the local date of created_at (2026-03-31 23:30 NY yes,
    2026-04-01 00:30 NY no)."""
    rows = published.execute(
        "select customer_id, as_of_date from marts.customer_status "
        "where customer_id in ('n-lastday', 'n-tomorrow')"
    ).fetchall()
    assert rows == [("n-lastday", AS_OF)], f"rows for the boundary customers: {rows}"
    assert published.execute(
        "select count(*) from marts.customer_status where as_of_date <> ?", [AS_OF]
    ).fetchone() == (0,), "every customer_status row carries the as-of date"


def test_customer_status_extra_columns_and_status_since(published):
    """rules §2, §9: customer_status carries the contact columns and the headline status_since."""
    got = current(
        published,
        "ny",
        "n-late",
        "code, email, full_name, phone, accepts_marketing, status_since",
    )
    assert got == ("K-1", "late@mail.test", "Lena Late", "+15550001", True, d("2026-03-12")), (
        f"n-late extra columns: {got}"
    )
    got = current(published, "ny", "n-susp", "status, status_since, account_status_reason")
    assert got == ("suspended", d("2026-03-01"), "address check"), f"n-susp: {got}"


# --- §7 billing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tenant", "customer", "expected"),
    [
        ("eng", "e-mkt", True),  # subscribers basis, accepts marketing
        ("eng", "e-nomkt", False),  # subscribers basis, does not accept marketing
        ("eng", "e-susp", True),  # suspended is still an active member
        ("ny", "n-nomkt", True),  # active_customers basis: marketing does not matter
        ("ny", "n-notdom", True),
        ("ny", "n-staff", False),  # internal
        ("eng", "e-staff", False),
        ("sun", "s-staff", False),
        ("ny", "n-del-block", False),  # deleted
    ],
)
def test_is_billable_on_the_as_of_date(published, tenant, customer, expected):
    """rules §7: billable = member active and, on billing basis subscribers, accepts marketing."""
    (got,) = current(published, tenant, customer, "is_billable")
    assert got is expected, f"{tenant}/{customer} is_billable {got}, expected {expected}"


def test_non_marketing_subscriber_tenant_customer_was_never_billable(published):
    """rules §7, §9: e-nomkt (subscribers basis, no marketing) has no billable range and no
    is_billable change."""
    ranges = published.execute(
        "select count(*) filter (where is_billable) from marts.customer_status_history "
        "where tenant_id = 'eng' and customer_id = 'e-nomkt'"
    ).fetchone()[0]
    assert ranges == 0, "e-nomkt has a billable history range"
    assert changes(published, "eng", "e-nomkt", "is_billable") == [], "e-nomkt is_billable changes"


# --- §8 contactability --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tenant", "customer", "expected"),
    [
        ("ny", "n-noemail", (False, True, True, True)),  # no email
        ("ny", "n-nomkt", (False, True, True, True)),  # send_to_accept_marketing_only
        ("ny", "n-notdom", (True, False, True, True)),  # no phone
        ("ny", "n-susp", (True, False, True, False)),  # suspended_blocks_redemption
        ("ny", "n-susp-late", (True, False, True, False)),
        ("ny", "n-block", (False, False, False, True)),  # member inactive
        ("ny", "n-staff", (False, False, False, True)),
        ("ny", "n-del-block", (False, False, False, False)),  # deleted
        ("eng", "e-nomkt", (True, False, True, True)),  # tenant mails everyone
        ("eng", "e-susp", (True, False, True, True)),  # tenant lets suspended redeem
    ],
)
def test_contactability_on_the_as_of_date(published, tenant, customer, expected):
    """rules §8: (can_email, can_sms, can_push, can_redeem) on the as-of date."""
    got = current(published, tenant, customer, "can_email, can_sms, can_push, can_redeem")
    assert got == expected, f"{tenant}/{customer} (email, sms, push, redeem) = {got}"


# --- §9 history and changes ---------------------------------------------------------------


def test_history_ranges_cover_creation_to_as_of_without_gaps_or_overlaps(published):
    """rules §9: each customer's history is contiguous from its local creation date, valid_to
    exclusive and NULL only on the last range."""
    created = {k: v for k, v in created_local_dates().items() if v <= AS_OF}
    rows = published.execute(
        "select tenant_id, customer_id, valid_from, valid_to from marts.customer_status_history "
        f"where {IN_CASE} order by tenant_id, customer_id, valid_from"
    ).fetchall()
    ranges: dict[tuple[str, str], list[tuple[date, date | None]]] = {}
    for tenant, customer, valid_from, valid_to in rows:
        ranges.setdefault((tenant, customer), []).append((valid_from, valid_to))
    assert set(ranges) == set(created), (
        f"customers with history: extra {set(ranges) - set(created)}, "
        f"missing {set(created) - set(ranges)}"
    )
    problems = []
    for key, spans in ranges.items():
        if spans[0][0] != created[key]:
            problems.append(f"{key} starts {spans[0][0]}, created {created[key]}")
        if spans[-1][1] is not None:
            problems.append(f"{key} last range ends {spans[-1][1]}, expected NULL")
        for (start, end), (next_start, _) in zip(spans, spans[1:], strict=False):
            if end is None or end != next_start or not start < end:
                problems.append(f"{key} range {start}..{end} then {next_start}")
    assert not problems, "history ranges: " + "; ".join(problems)


def test_history_last_range_matches_customer_status(published):
    """rules §9: the history's open range equals the as-of statuses of customer_status."""
    mismatch = published.execute(
        f"""
        select h.tenant_id, h.customer_id
        from marts.customer_status_history h
        join marts.customer_status c using (tenant_id, customer_id)
        where h.valid_to is null
          and ({" or ".join(f"h.{c} is distinct from c.{c}" for c in HISTORY_COLUMNS)})
        """
    ).fetchall()
    assert mismatch == [], f"history open range differs from customer_status for {mismatch}"


@pytest.mark.parametrize(
    ("tenant", "customer", "expected"),
    [
        (
            "ny",
            "n-late",
            [
                ("2026-02-10", "prospect", "active", "paid order o-late", "system", "behaviour"),
                (
                    "2026-03-12",
                    "active",
                    "sleeping",
                    "no payment for 30 days",
                    "system",
                    "behaviour",
                ),
            ],
        ),
        (
            "ny",
            "n-edge",
            [
                ("2026-03-01", "prospect", "active", "paid order o-edge", "system", "behaviour"),
                (
                    "2026-03-31",
                    "active",
                    "sleeping",
                    "no payment for 30 days",
                    "system",
                    "behaviour",
                ),
            ],
        ),
        (
            "ny",
            "n-term",
            [
                (
                    "2026-01-10",
                    "prospect",
                    "subscribed",
                    "live subscription s2",
                    "system",
                    "behaviour",
                ),
                (
                    "2026-02-15",
                    "subscribed",
                    "unsubscribed",
                    "all subscriptions terminated",
                    "system",
                    "behaviour",
                ),
            ],
        ),
        (
            "ny",
            "n-term-paid",
            [
                (
                    "2026-01-10",
                    "prospect",
                    "subscribed",
                    "live subscription s3",
                    "system",
                    "behaviour",
                ),
                (
                    "2026-02-01",
                    "subscribed",
                    "unsubscribed",
                    "all subscriptions terminated",
                    "system",
                    "behaviour",
                ),
                ("2026-03-20", "unsubscribed", "active", "paid order o-tp", "system", "behaviour"),
            ],
        ),
    ],
)
def test_lifecycle_changes(published, tenant, customer, expected):
    """rules §9: lifecycle changes carry actor system and a reason a person can read."""
    got = changes(published, tenant, customer, "lifecycle_status")
    assert got == expected, f"{tenant}/{customer} lifecycle changes: {got}"


def test_refund_lifecycle_change_back_to_prospect(published):
    """rules §1, §9: a refunded only payment turns the customer prospect on the refund's local date."""
    got = [row[:3] + row[4:] for row in changes(published, "ny", "n-refund", "lifecycle_status")]
    assert got == [
        ("2026-02-01", "prospect", "active", "system", "behaviour"),
        ("2026-02-05", "active", "prospect", "system", "behaviour"),
    ], f"n-refund lifecycle changes: {got}"


def test_sleeping_after_a_refund_names_the_refund(published):
    """rules §9, §1: active -> sleeping because the recent payment was refunded gives that reason."""
    got = changes(published, "ny", "n-refund2", "lifecycle_status")
    assert [row[:3] for row in got] == [
        ("2026-01-10", "prospect", "active"),
        ("2026-02-09", "active", "sleeping"),
        ("2026-03-20", "sleeping", "active"),
        ("2026-03-25", "active", "sleeping"),
    ], f"n-refund2 lifecycle changes: {got}"
    assert got[1][3] == "no payment for 30 days", f"window expiry reason: {got[1]}"
    assert "refund" in got[3][3], (
        f"o-r2 was paid 2026-03-20 and refunded 2026-03-25: the 2026-03-25 change is due to the "
        f"refund, but its reason is {got[3][3]!r} (there was a payment 5 days before)"
    )


def test_member_status_changes_deactivate_then_purchase(published):
    """rules §6, §9: the deactivate's reason/actor/source, then reactivated by order o5 (system)."""
    got = changes(published, "ny", "n-deact", "member_status")
    assert len(got) == 2, f"n-deact member changes: {got}"
    assert got[0] == ("2026-02-05", "active", "inactive", "asked for no mail", "staff:kim", "ui"), (
        f"deactivation change: {got[0]}"
    )
    assert got[1][:5] == (
        "2026-03-10",
        "inactive",
        "active",
        "reactivated by order o5",
        "system",
    ), f"reactivation change: {got[1]}"


def test_member_status_changes_bulk_deactivate_and_engagement_reactivation(published):
    """rules §6, §9: a bulk deactivate carries its actor and source; an engagement lift is system."""
    got = changes(published, "ny", "n-deact-susp", "member_status")
    assert got == [("2026-02-01", "active", "inactive", "no more mail", "staff:lee", "bulk")], (
        f"n-deact-susp member changes: {got}"
    )
    got = changes(published, "eng", "e-deact-eng", "member_status")
    assert [row[:3] for row in got] == [
        ("2026-02-05", "active", "inactive"),
        ("2026-02-12", "inactive", "active"),
    ], f"e-deact-eng member changes: {got}"
    assert got[1][3].startswith("reactivated by") and "ev-e1" in got[1][3], (
        f"reason should name the engagement event: {got[1][3]!r}"
    )
    assert got[1][4] == "system", f"behaviour-driven lift should be actor system: {got[1]}"


def test_member_status_changes_sunset(published):
    """rules §6.4, §9: sunset from creation + 30 days, actor system; lifted by an activate."""
    got = changes(published, "sun", "s-activated", "member_status")
    assert [row[:3] for row in got] == [
        ("2026-02-09", "active", "inactive"),
        ("2026-03-15", "inactive", "active"),
    ], f"s-activated member changes: {got}"
    assert got[0][4] == "system" and "30" in got[0][3], f"sunset change: {got[0]}"


def test_is_billable_changes(published):
    """rules §9: is_billable changes follow the member status, source billing."""
    got = [
        (row[0], row[1], row[2], row[5])
        for row in changes(published, "ny", "n-deact", "is_billable")
    ]
    assert got == [
        ("2026-02-05", "true", "false", "billing"),
        ("2026-03-10", "false", "true", "billing"),
    ], f"n-deact is_billable changes: {got}"


def test_account_status_change(published):
    """rules §4, §9: a set_status suspended is an account_status change with its reason and actor."""
    got = [row[:5] for row in changes(published, "ny", "n-susp", "account_status")]
    assert got == [("2026-03-01", "active", "suspended", "address check", "staff:kim")], (
        f"n-susp account changes: {got}"
    )
    got = [row[:5] for row in changes(published, "ny", "n-susp-late", "account_status")]
    assert got == [("2026-03-01", "active", "suspended", "night check", "staff:kim")], (
        f"n-susp-late (suspended 2026-03-02T04:00Z = 03-01 23:00 NY) account changes: {got}"
    )


def test_member_status_lifted_by_an_activate_carries_its_actor(published):
    """rules §6, §9: an activate that ends a deactivation or a sunset is a change by its actor."""
    got = changes(published, "ny", "n-deact-act", "member_status")
    assert [row[:3] for row in got] == [
        ("2026-02-05", "active", "inactive"),
        ("2026-02-20", "inactive", "active"),
    ], f"n-deact-act member changes: {got}"
    assert got[1][4] == "staff:lee" and "asked to come back" in got[1][3], (
        f"activate change should carry the activate's actor and reason: {got[1]}"
    )
    got = changes(published, "sun", "s-activated", "member_status")
    assert got[-1][:3] == ("2026-03-15", "inactive", "active") and got[-1][4] == "staff:max", (
        f"s-activated sunset lifted by staff:max's activate: {got}"
    )


def test_no_member_change_when_reactivated_on_the_deactivation_day(published):
    """rules §6.3, §2: deactivated and reactivated (engagement) within one local day: no change."""
    assert changes(published, "eng", "e-same-day", "member_status") == [], (
        "e-same-day: status at the end of 2026-02-05 is active, no member change expected"
    )
    assert changes(published, "ny", "n-refund-same", "lifecycle_status") == [], (
        "n-refund-same: paid and refunded on one local day, no lifecycle change expected"
    )


def test_no_change_rows_on_the_creation_day(published):
    """rules §9 (decision): status_changes has nothing for a customer's creation day."""
    created = created_local_dates()
    rows = published.execute(
        f"select tenant_id, customer_id, changed_on, dimension from marts.status_changes where {IN_CASE}"
    ).fetchall()
    on_creation = [r for r in rows if created[(r[0], r[1])] == r[2]]
    assert on_creation == [], f"change rows on the creation day: {on_creation}"
    assert changes(published, "ny", "n-firstday", "lifecycle_status") == [], (
        "n-firstday paid on its creation day: no lifecycle change expected"
    )


def test_every_change_has_a_reason_and_an_actor(published):
    """rules §9, §11: every published change has a reason, an actor and a source."""
    missing = published.execute(
        "select tenant_id, customer_id, changed_on, dimension from marts.status_changes "
        "where coalesce(trim(reason), '') = '' or coalesce(trim(actor), '') = '' "
        "or coalesce(trim(source), '') = ''"
    ).fetchall()
    assert missing == [], f"changes without reason/actor/source: {missing}"


def test_every_change_matches_the_history(published):
    """rules §9: a change on day X has from_value on X-1 and to_value on X in the history."""
    rows = published.execute(
        "select tenant_id, customer_id, changed_on, dimension, from_value, to_value "
        "from marts.status_changes where changed_on <= ?",
        [AS_OF],
    ).fetchall()
    assert rows, "no status changes published"

    def text(value):
        return str(value).lower() if isinstance(value, bool) else value

    wrong = []
    for tenant, customer, changed_on, dimension, from_value, to_value in rows:
        before = on(published, tenant, customer, (changed_on - timedelta(days=1)).isoformat())
        after = on(published, tenant, customer, changed_on.isoformat())
        if (text(before[dimension]), text(after[dimension])) != (from_value, to_value):
            wrong.append((tenant, customer, changed_on, dimension, from_value, to_value))
    assert wrong == [], f"changes that do not match the history: {wrong}"


# --- counts and monthly billing -----------------------------------------------------------


def test_status_counts_add_up_to_the_customers_counted(published):
    """rules §9, §11: per tenant, day and dimension the values add up to billable_counts_daily.customers."""
    bad = published.execute(
        """
        select s.tenant_id, s.date, s.dimension, sum(s.customers) as total, b.customers
        from marts.status_counts_daily s
        join marts.billable_counts_daily b using (tenant_id, date)
        group by s.tenant_id, s.date, s.dimension, b.customers
        having sum(s.customers) <> b.customers
        order by all
        limit 20
        """
    ).fetchall()
    assert bad == [], f"(tenant, date, dimension, sum, customers) that do not add up: {bad}"
    dimensions = {
        r[0]
        for r in published.execute(
            "select distinct dimension from marts.status_counts_daily"
        ).fetchall()
    }
    assert dimensions == {
        "status",
        "account_status",
        "status_label",
        "lifecycle_status",
        "member_status",
        "is_billable",
    }, f"dimensions: {dimensions}"
    values = {
        r[0]
        for r in published.execute(
            "select distinct value from marts.status_counts_daily where dimension = 'is_billable'"
        ).fetchall()
    }
    assert values <= {"true", "false"}, f"is_billable values: {values}"


def test_daily_counts_match_the_history_and_leave_out_internal_and_deleted(published):
    """rules §7, §9: billable_counts_daily per day = history counted that day, internal and
    deleted customers left out."""
    bad = published.execute(
        """
        with counted as (
            select b.tenant_id, b.date,
                count(h.customer_id) as customers,
                count(h.customer_id) filter (where h.is_billable) as billable,
                count(h.customer_id) filter (where h.member_status = 'active') as active,
                count(h.customer_id) filter (where h.member_status = 'inactive') as inactive
            from marts.billable_counts_daily b
            left join marts.customer_status_history h
                on h.tenant_id = b.tenant_id
                and h.valid_from <= b.date and (h.valid_to is null or h.valid_to > b.date)
                and h.account_status not in ('internal', 'deleted')
            group by b.tenant_id, b.date
        )
        select b.tenant_id, b.date, b.customers, c.customers, b.billable_customers, c.billable,
            b.active_members, c.active, b.inactive_members, c.inactive
        from marts.billable_counts_daily b
        join counted c using (tenant_id, date)
        where (b.customers, b.billable_customers, b.active_members, b.inactive_members)
            <> (c.customers, c.billable, c.active, c.inactive)
        order by all
        limit 20
        """
    ).fetchall()
    assert bad == [], f"billable_counts_daily differs from the history on: {bad}"


@pytest.mark.parametrize(
    ("tenant", "day", "expected"),
    [
        # (billable_customers, active_members, inactive_members, customers); s-staff never counted
        ("sun", "2026-01-10", (4, 4, 0, 4)),
        ("sun", "2026-02-09", (1, 1, 3, 4)),
        ("sun", "2026-03-19", (3, 3, 3, 6)),  # s-gone counted until its deletion
        ("sun", "2026-03-20", (2, 2, 3, 5)),
        ("sun", "2026-03-31", (2, 2, 3, 5)),
        # eng on D: 8 counted (e-staff left out); e-nomkt and e-eng-before not billable
        ("eng", "2026-03-31", (6, 7, 1, 8)),
        # ny on D: 30 created by D, minus n-staff and n-del-block
        ("ny", "2026-03-31", (23, 23, 5, 28)),
    ],
)
def test_billable_counts_daily(published, tenant, day, expected):
    """rules §7, §9: daily billable / active / inactive / counted customers per tenant."""
    got = published.execute(
        "select billable_customers, active_members, inactive_members, customers "
        "from marts.billable_counts_daily where tenant_id = ? and date = ?",
        [tenant, d(day)],
    ).fetchone()
    assert got == expected, f"{tenant} on {day} (billable, active, inactive, customers) = {got}"


def test_billable_counts_daily_span_first_customer_to_as_of(published):
    """rules §9 (contract): one row per tenant and local day, first customer's creation to D."""
    got = published.execute(
        "select tenant_id, min(date), max(date), count(*) from marts.billable_counts_daily "
        f"where {IN_CASE} group by tenant_id order by tenant_id"
    ).fetchall()
    assert got == [
        ("eng", d("2026-01-05"), AS_OF, 86),
        ("ny", d("2026-01-05"), AS_OF, 86),
        ("sun", d("2026-01-10"), AS_OF, 81),
    ], f"(tenant, first, last, days): {got}"


def test_status_counts_on_the_as_of_date(published):
    """rules §9: status_counts_daily values on D for the sunset tenant (internal, deleted left out)."""
    got = {
        (dimension, value): customers
        for dimension, value, customers in published.execute(
            "select dimension, value, customers from marts.status_counts_daily "
            "where tenant_id = 'sun' and date = ? and customers > 0",
            [AS_OF],
        ).fetchall()
    }
    assert got == {
        ("status", "active"): 1,
        ("status", "prospect"): 4,
        ("account_status", "active"): 5,
        ("status_label", "active"): 5,
        ("lifecycle_status", "active"): 1,
        ("lifecycle_status", "prospect"): 4,
        ("member_status", "active"): 2,
        ("member_status", "inactive"): 3,
        ("is_billable", "true"): 2,
        ("is_billable", "false"): 3,
    }, f"sun counts on {AS_OF}: {got}"


@pytest.mark.parametrize(
    ("month", "expected"),
    [
        # (month_end_billable, peak_billable, peak_date, average_billable, days_computed, is_complete)
        ("2026-01-01", (4, 4, d("2026-01-10"), 4.0, 22, True)),
        ("2026-02-01", (1, 4, d("2026-02-01"), 1.86, 28, True)),
        ("2026-03-01", (2, 3, d("2026-03-15"), 1.81, 31, True)),
    ],
)
def test_billing_monthly(published, month, expected):
    """rules §7: month-end, peak and its first date, average, days computed, complete (sun tenant)."""
    got = published.execute(
        "select month_end_billable, peak_billable, peak_date, average_billable, days_computed, "
        "is_complete from marts.billing_monthly where tenant_id = 'sun' and month = ?",
        [d(month)],
    ).fetchone()
    assert got is not None, f"no billing_monthly row for sun {month}"
    assert got[:3] + (round(float(got[3]), 2),) + got[4:] == expected, f"sun {month}: {got}"


def test_billing_monthly_basis_and_completeness(published):
    """rules §7: each tenant's month rows carry its billing basis; a past month is complete."""
    got = published.execute(
        "select tenant_id, month, billing_basis, days_computed, is_complete "
        f"from marts.billing_monthly where month = '2026-02-01' and {IN_CASE} order by tenant_id"
    ).fetchall()
    assert got == [
        ("eng", d("2026-02-01"), "subscribers", 28, True),
        ("ny", d("2026-02-01"), "active_customers", 28, True),
        ("sun", d("2026-02-01"), "active_customers", 28, True),
    ], f"February rows: {got}"
    month_end = published.execute(
        "select m.tenant_id from marts.billing_monthly m join marts.billable_counts_daily b "
        "on b.tenant_id = m.tenant_id and b.date = last_day(m.month) "
        "where m.is_complete and m.month_end_billable <> b.billable_customers"
    ).fetchall()
    assert month_end == [], f"month_end_billable differs from the last day's count: {month_end}"
