"""Small-source rows sampled from one chunk's customers.

- customer updates for the nightly ``customers/<t>/daily/<last day>.csv`` (a newer version
  of existing customers: same key, later ``updated_at``),
- rows of the three shop/spreadsheet status imports,
- email blocklist entries for ``suppressions``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ingest.sources import SOURCES
from .entities import DAY, HOUR, Customers
from .tenants import Tenant
from .timeframe import Frame, iso
from .writer import NO_TIME

CUSTOMER_COLUMNS: tuple[str, ...] = SOURCES["customers"].column_names  # docs/contract.md order
#: The three status-import shapes (header of each file).
IMPORT_BY_CODE = ("Code", "Name", "Email", "Customer Status")
IMPORT_BY_ID = ("Customer ID", "Active/Inactive", "Reason", "Effective At")
IMPORT_BY_EMAIL = ("Email", "Customer Status")

BOOLEAN_STYLES = (("true", "false"), ("yes", "no"), ("1", "0"), ("TRUE", "FALSE"))


@dataclass
class Samples:
    """What one chunk contributes to the small sources of its tenant."""

    customer_updates: list[list[str]] = field(default_factory=list)
    import_by_code: list[list[str]] = field(default_factory=list)
    import_by_id: list[list[str]] = field(default_factory=list)
    import_by_email: list[list[str]] = field(default_factory=list)
    blocklist: list[tuple[str, int, int]] = field(default_factory=list)  # email, added, removed


def share(total: int, first: int, size: int, tenant_customers: int) -> int:
    """The part of a tenant-wide ``total`` that falls to customers ``[first, first+size)``."""
    if tenant_customers <= 0:
        return 0
    return total * (first + size) // tenant_customers - total * first // tenant_customers


def _odd_case(rng: np.random.Generator, text: str) -> str:
    """Random upper/lower case per character."""
    flips = rng.random(len(text)) < 0.4
    return "".join(ch.upper() if f else ch for ch, f in zip(text, flips.tolist(), strict=True))


def _status_word(rng: np.random.Generator, active: bool) -> str:
    words = ("Active", "active", "ACTIVE") if active else ("Inactive", "inactive", "INACTIVE")
    return words[int(rng.integers(0, 3))]


def chunk_samples(
    rng: np.random.Generator,
    c: Customers,
    tenant: Tenant,
    frame: Frame,
    counts: dict[str, int],
) -> Samples:
    """Draw the chunk's share of each small source; ``counts`` holds the wanted row counts."""
    out = Samples()
    n = c.size
    if n == 0:
        return out
    ids = c.ids.to_pylist()
    emails = c.emails.to_pylist()
    live = (c.deleted == NO_TIME) & (c.merged_into < 0) & ~c.special
    last_day = frame.daily_bounds[-2]

    # Customer updates on the last day: mostly phone and name fixes, a few opt-ins/outs
    # (few, both ways: billable counts must not swing because of them).
    cand = np.flatnonzero(live & (c.updated < last_day) & (c.created < last_day))
    picks = np.sort(rng.permutation(cand)[: counts["customer_updates"]])
    if picks.size:
        codes = c.codes.to_pylist()
        phones = c.phones.to_pylist()
        names = c.names.to_pylist()
        for i in picks.tolist():
            accepts = bool(c.accepts[i])
            phone, name = phones[i], names[i]
            u = rng.random()
            if u < 0.1:
                accepts = not accepts
            elif u < 0.55:
                phone = f"{tenant.profile.phone_prefix}{int(rng.integers(2_000_000_000, 10**10))}"
            elif u < 0.7:
                phone = None
            else:  # a middle initial added
                first, _, rest = name.partition(" ")
                name = f"{first} {chr(65 + int(rng.integers(0, 26)))}. {rest}" if rest else name
            yes, no = BOOLEAN_STYLES[int(rng.integers(0, len(BOOLEAN_STYLES)))]
            updated = last_day + int(rng.random() * (frame.end - 1 - last_day))
            out.customer_updates.append(
                [
                    tenant.tenant_id,
                    ids[i],
                    codes[i],
                    emails[i] or "",
                    phone or "",
                    name,
                    yes if accepts else no,
                    iso(int(c.created[i])),
                    iso(updated),
                    "",
                    "",
                    "",
                ]
            )

    # Status imports.
    with_email = live & c.email_unique & ~c.internal
    cand = rng.permutation(np.flatnonzero(live))
    codes_list = c.codes.to_pylist()
    names_list = c.names.to_pylist()
    for i in np.sort(cand[: counts["import_by_code"]]).tolist():
        out.import_by_code.append(
            [codes_list[i], names_list[i], emails[i] or "", _status_word(rng, rng.random() >= 0.08)]
        )
    cand = rng.permutation(np.flatnonzero(live & (c.created < frame.end - 2 * DAY)))
    for i in np.sort(cand[: counts["import_by_id"]]).tolist():
        active = rng.random() < 0.5
        lo = max(int(c.created[i]), frame.start) + HOUR
        when = (
            ""
            if rng.random() < 0.2 or lo >= frame.end - 1
            else (iso(lo + int(rng.random() * (frame.end - 1 - lo))).replace("Z", "+00:00"))
        )
        reason = (
            "reactivated by store manager"
            if active
            else ["bounced", "requested by phone", "duplicate account"][int(rng.integers(0, 3))]
        )
        out.import_by_id.append([ids[i], _status_word(rng, active), reason, when])
    cand = rng.permutation(np.flatnonzero(with_email))
    for i in np.sort(cand[: counts["import_by_email"]]).tolist():
        pad_l, pad_r = " " * int(rng.integers(0, 3)), " " * int(rng.integers(1, 3))
        out.import_by_email.append(
            [pad_l + _odd_case(rng, emails[i]) + pad_r, _status_word(rng, rng.random() >= 0.3)]
        )

    # Email blocklist entries, some lifted later.
    cand = rng.permutation(np.flatnonzero(with_email & (c.created < frame.end - 2 * DAY)))
    for i in np.sort(cand[: counts["blocklist"]]).tolist():
        lo = max(int(c.created[i]), frame.start) + HOUR
        added = lo + int(rng.random() * (frame.end - 1 - lo))
        removed = NO_TIME
        if rng.random() < 0.3:
            later = added + int(rng.integers(DAY, 30 * DAY))
            removed = later if later < frame.end else NO_TIME
        out.blocklist.append((emails[i], added, removed))
    return out
