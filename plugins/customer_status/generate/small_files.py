"""The small CSV sources: tenants, status labels, status actions, customer updates,
status imports, suppressions, and the one broken orders export."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from .actions import ACTION_COLUMNS, Action
from .malformed import (
    BROKEN_ORDERS_HEADER,
    bad_action_rows,
    bad_customer_rows,
    inject,
    record,
)
from .samples import (
    CUSTOMER_COLUMNS,
    IMPORT_BY_CODE,
    IMPORT_BY_EMAIL,
    IMPORT_BY_ID,
    Samples,
)
from .tenants import TENANT_COLUMNS, Tenant, tenant_row
from .timeframe import Frame, iso
from .writer import NO_TIME, csv_text, write_text

DAY = 86_400
#: The one header written in odd case with spaces (column names match case-insensitively).
STATUS_LABEL_HEADER = (" Tenant_ID", "Label", "STATUS ")


class FileLog:
    """Collects written files (relative path → data rows) and malformed records."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.files: dict[str, int] = {}
        self.malformed: list[dict] = []

    def csv(self, rel: str, header: list[str] | tuple[str, ...], rows: list[list[str]]) -> None:
        """Write a CSV file and log its data-row count."""
        write_text(self.out_dir / rel, csv_text(list(header), rows))
        self.files[rel] = len(rows)


def write_tenants(log: FileLog, tenants: list[Tenant], frames: list[Frame]) -> None:
    """``tenants/tenants.csv``: one row per tenant, settings last changed before the frame."""
    rows = [tenant_row(t, iso(f.start - 7 * DAY)) for t, f in zip(tenants, frames, strict=True)]
    log.csv("tenants/tenants.csv", TENANT_COLUMNS, rows)


def write_status_labels(log: FileLog, tenants: list[Tenant]) -> None:
    """``status_labels/status_labels.csv`` for all tenants, with the odd-case header."""
    rows = [[t.tenant_id, label, status] for t in tenants for label, status in t.profile.labels]
    log.csv("status_labels/status_labels.csv", STATUS_LABEL_HEADER, rows)


def write_actions(
    log: FileLog, tenant: Tenant, actions: list[Action], end_date: date, host_bad_rows: bool
) -> None:
    """``status_actions/<t>/actions.csv``: in ``requested_at`` order, ids ``A000001``..."""
    ordered = sorted(actions)
    width = max(6, len(str(len(ordered) + 2)))
    rows = [
        [
            tenant.tenant_id,
            f"A{k:0{width}d}",
            a.customer_id,
            a.action,
            a.status,
            a.reason,
            a.actor,
            iso(a.requested_at),
            a.source,
        ]
        for k, a in enumerate(ordered, start=1)
    ]
    rel = f"status_actions/{tenant.tenant_id}/actions.csv"
    if host_bad_rows and rows:
        template = rows[len(rows) // 2]
        bad = bad_action_rows(template, f"A{len(rows) + 1:0{width}d}", end_date)
        rows, records = inject(rows, bad, rel)
        log.malformed.extend(records)
    log.csv(rel, ACTION_COLUMNS, rows)


def write_customer_updates(
    log: FileLog, tenant: Tenant, frame: Frame, samples: Samples, host_bad_rows: bool
) -> None:
    """``customers/<t>/daily/<last day>.csv``: newer versions of existing customers."""
    rows = samples.customer_updates
    rel = f"customers/{tenant.tenant_id}/daily/{frame.daily_dates[-1]:%Y-%m-%d}.csv"
    if host_bad_rows and len(rows) >= 3:
        step = len(rows) // 3
        bad = bad_customer_rows([rows[0], rows[step], rows[2 * step]])
        rows, records = inject(rows, bad, rel)
        log.malformed.extend(records)
    log.csv(rel, CUSTOMER_COLUMNS, rows)


def write_status_imports(log: FileLog, tenant: Tenant, end_date: date, samples: Samples) -> None:
    """Three shop/spreadsheet exports under ``status_imports/<t>/``."""
    base = f"status_imports/{tenant.tenant_id}"
    d = [end_date - timedelta(days=k) for k in (2, 1, 0)]
    log.csv(f"{base}/shop-export-{d[0]:%Y-%m-%d}.csv", IMPORT_BY_CODE, samples.import_by_code)
    log.csv(f"{base}/deactivations-{d[1]:%Y-%m-%d}.csv", IMPORT_BY_ID, samples.import_by_id)
    log.csv(
        f"{base}/newsletter-cleanup-{d[2]:%Y-%m-%d}.csv", IMPORT_BY_EMAIL, samples.import_by_email
    )


def write_suppressions(log: FileLog, tenant: Tenant, frame: Frame, samples: Samples) -> None:
    """``suppressions/<t>/suppressions.csv``: domain suppressions and an email blocklist."""
    header = ("tenant_id", "kind", "value", "added_at", "removed_at", "actor", "reason")
    tid = tenant.tenant_id
    entries: list[tuple[int, str, str, int, str, str]] = []
    for k, domain in enumerate(tenant.profile.suppressed_domains):
        reason = (
            "disposable email provider"
            if "mail" in domain.lower() or "yop" in domain.lower()
            else "corporate mail gateway rejects marketing"
        )
        entries.append(
            (frame.start - (30 - k) * DAY, "domain", domain, NO_TIME, "staff:dana", reason)
        )
    temp_added = frame.start + (frame.end - frame.start) // 4
    temp_removed = temp_added + 20 * DAY
    entries.append(
        (
            temp_added,
            "domain",
            "contoso.com",
            temp_removed if temp_removed < frame.end else NO_TIME,
            "staff:dana",
            "partner asked to pause mailings",
        )
    )
    readded = False
    for j, (email, added, removed) in enumerate(samples.blocklist):
        kind = "Email" if j % 7 == 3 else "email"
        value = email.upper() if j % 5 == 2 else email
        actor, reason = (
            ("api:esp-webhook", "spam complaint")
            if j % 2
            else ("staff:erin", "customer asked to be blocked")
        )
        entries.append((added, kind, value, removed, actor, reason))
        if removed != NO_TIME and not readded and removed + 5 * DAY < frame.end:
            entries.append(
                (
                    removed + 5 * DAY,
                    "email",
                    email,
                    NO_TIME,
                    "api:esp-webhook",
                    "spam complaint (again)",
                )
            )
            readded = True
    entries.sort(key=lambda e: (e[0], e[1].lower(), e[2].lower()))
    rows = [
        [tid, kind, value, iso(added), "" if removed == NO_TIME else iso(removed), actor, reason]
        for added, kind, value, removed, actor, reason in entries
    ]
    log.csv(f"suppressions/{tid}/suppressions.csv", header, rows)


def write_broken_orders(log: FileLog, tenant: Tenant, template_rows: list[list[str]]) -> None:
    """``orders/<t>/broken-export.csv``: its header lacks the required ``customer_id``."""
    rows = [[r[0], r[1], r[2], r[3], r[4], r[6], r[7]] for r in template_rows[:5]]
    rel = f"orders/{tenant.tenant_id}/broken-export.csv"
    log.csv(rel, BROKEN_ORDERS_HEADER, rows)
    log.malformed.append(record(rel, None, "missing_required_column"))
