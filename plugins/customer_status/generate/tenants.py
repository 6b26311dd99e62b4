"""Tenant profiles: the settings each synthetic tenant is generated with.

Three profiles cover the tenant settings of the contract between them (time zones on
both sides of UTC, purchase vs engagement reactivation, both billing bases, soft delete,
sunset, internal domains, a looser billable swing). With more tenants the profiles are
reused in turn under new ids (``t4`` is built like ``t1``, and so on).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ingest.sources import SOURCES


@dataclass(frozen=True)
class TenantProfile:
    """Settings of one tenant (``tenants.csv`` columns) plus generation knobs."""

    name: str
    timezone: str
    activity_window_days: int
    reactivation_trigger: str
    billing_basis: str
    send_to_accept_marketing_only: bool
    deleted_can_be_restored: bool
    suspended_blocks_redemption: bool
    sunset_after_days: int | None
    internal_email_domains: tuple[str, ...]
    max_billable_swing: float
    max_reject_ratio: float
    # --- generation knobs (not written to tenants.csv) ---
    weight: float  # share of the customers
    currency: str  # main order currency
    amount_scale: float  # typical order amount in the main currency
    phone_prefix: str
    subscription_rate: float  # share of customers with a subscription
    labels: tuple[tuple[str, str], ...]  # status_labels: (label, predefined status)
    suppressed_domains: tuple[str, ...]


PROFILES: tuple[TenantProfile, ...] = (
    TenantProfile(
        name="Northwind Outfitters",
        timezone="UTC",
        activity_window_days=60,
        reactivation_trigger="purchase",
        billing_basis="active_customers",
        send_to_accept_marketing_only=False,
        deleted_can_be_restored=False,
        suspended_blocks_redemption=False,
        sunset_after_days=None,
        internal_email_domains=(),
        max_billable_swing=0.25,
        max_reject_ratio=0.1,
        weight=0.5,
        currency="USD",
        amount_scale=48.0,
        phone_prefix="+1",
        subscription_rate=0.12,
        labels=(
            ("regular", "active"),
            ("trending", "active"),
            ("vip", "active"),
            ("on_hold", "suspended"),
        ),
        suppressed_domains=("amazon.com", "mailinator.com"),
    ),
    TenantProfile(
        name="Pacific Coffee Club",
        timezone="America/Los_Angeles",
        activity_window_days=90,
        reactivation_trigger="any_engagement",
        billing_basis="subscribers",
        send_to_accept_marketing_only=True,
        deleted_can_be_restored=True,
        suspended_blocks_redemption=False,
        sunset_after_days=180,
        internal_email_domains=(),
        max_billable_swing=0.25,
        max_reject_ratio=0.1,
        weight=0.3,
        currency="USD",
        amount_scale=22.0,
        phone_prefix="+1",
        subscription_rate=0.4,
        labels=(
            ("regular", "active"),
            ("trending", "active"),
            ("vip", "active"),
            ("on_hold", "suspended"),
            ("founding_member", "active"),
        ),
        suppressed_domains=("amazon.com",),
    ),
    TenantProfile(
        name="Chai & Co",
        timezone="Asia/Kolkata",
        activity_window_days=30,
        reactivation_trigger="purchase",
        billing_basis="active_customers",
        send_to_accept_marketing_only=False,
        deleted_can_be_restored=False,
        suspended_blocks_redemption=True,
        sunset_after_days=None,
        internal_email_domains=("acme-internal.com", "staff.acme.com"),
        max_billable_swing=0.3,
        max_reject_ratio=0.1,
        weight=0.2,
        currency="INR",
        amount_scale=1400.0,
        phone_prefix="+91",
        subscription_rate=0.08,
        labels=(
            ("regular", "active"),
            ("trending", "active"),
            ("vip", "active"),
            ("on_hold", "suspended"),
            ("watchlist", "fraud_suspected"),
        ),
        suppressed_domains=("mailinator.com", "Yopmail.com"),
    ),
)

TENANT_COLUMNS: tuple[str, ...] = SOURCES["tenants"].column_names  # docs/contract.md order


@dataclass(frozen=True)
class Tenant:
    """One generated tenant: its id, position and profile."""

    index: int  # 0-based position, part of every random seed
    tenant_id: str
    name: str
    profile: TenantProfile


def build_tenants(count: int) -> list[Tenant]:
    """The first ``count`` tenants ``t1``, ``t2``, ...; profiles cycle."""
    if count < 1:
        raise ValueError("at least one tenant is needed")
    tenants = []
    for i in range(count):
        profile = PROFILES[i % len(PROFILES)]
        cycle = i // len(PROFILES)
        name = profile.name if cycle == 0 else f"{profile.name} {cycle + 1}"
        tenants.append(Tenant(index=i, tenant_id=f"t{i + 1}", name=name, profile=profile))
    return tenants


def split_customers(total: int, tenants: list[Tenant]) -> list[int]:
    """Share ``total`` customers out by profile weight (largest remainder, deterministic)."""
    weights = [t.profile.weight for t in tenants]
    wsum = sum(weights)
    exact = [total * w / wsum for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(tenants)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def tenant_row(tenant: Tenant, updated_at: str) -> list[str]:
    """The ``tenants.csv`` row of a tenant, in ``TENANT_COLUMNS`` order."""
    p = tenant.profile

    def b(value: bool) -> str:
        return "true" if value else "false"

    return [
        tenant.tenant_id,
        tenant.name,
        p.timezone,
        str(p.activity_window_days),
        p.reactivation_trigger,
        p.billing_basis,
        b(p.send_to_accept_marketing_only),
        b(p.deleted_can_be_restored),
        b(p.suspended_blocks_redemption),
        "" if p.sunset_after_days is None else str(p.sunset_after_days),
        ";".join(p.internal_email_domains),
        f"{p.max_billable_swing:g}",
        f"{p.max_reject_ratio:g}",
        updated_at,
    ]
