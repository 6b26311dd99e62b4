"""Vectorised generation of one chunk of customers and everything they do.

A chunk is a run of consecutive customers of one tenant. Everything in it comes from one
``numpy`` generator seeded with ``[seed, tenant_index, chunk_index]``, so a chunk's data
never depends on other chunks, on the machine or on how many workers ran. Timestamps are
integer UTC epoch seconds (``NO_TIME`` = missing) until they are written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .tenants import TenantProfile
from .timeframe import Frame
from .vocabulary import (
    EMAIL_DOMAINS,
    EMAIL_SEPARATORS,
    ENGAGEMENT_KINDS,
    FIRST_NAMES,
    FORMULA_NAMES,
    LAST_NAMES,
)
from .writer import NO_TIME, fixed_width_ids

DAY = 86_400
HOUR = 3_600

# Behaviour segments: (share, rate per 30 days).
ORDER_SEGMENTS = ((0.35, 0.0), (0.42, 1.0), (0.23, 3.0))
ENGAGEMENT_SEGMENTS = ((0.12, 0.0), (0.33, 5.0), (0.35, 16.0), (0.20, 45.0))
#: Subscription status codes (index into ``SUBSCRIPTION_STATUSES``).
SUBSCRIPTION_STATUSES = ("in_progress", "suspended", "terminated")
IN_PROGRESS, SUSPENDED, TERMINATED = 0, 1, 2
MAX_SUBSCRIPTION_EVENTS = 5


@dataclass
class Customers:
    """One chunk of customers. Index ``i`` is the chunk-local position (sorted by creation)."""

    num: np.ndarray  # tenant-wide customer number, 1-based
    ids: pa.Array  # customer_id, e.g. C0000042
    codes: pa.Array  # code, e.g. K-0000042
    emails: pa.Array  # nullable
    phones: pa.Array  # nullable
    names: pa.Array
    accepts: np.ndarray  # accepts_marketing
    created: np.ndarray
    updated: np.ndarray
    deleted: np.ndarray  # NO_TIME when not self-deleted
    merged_into: np.ndarray  # chunk-local index of the target, -1 when not merged
    merged_at: np.ndarray
    internal: np.ndarray  # email in one of the tenant's internal domains
    email_unique: np.ndarray  # has an email no other customer of the chunk has
    special: np.ndarray  # part of a forced merge chain/cycle: keep out of other scenarios
    act_start: np.ndarray  # activity possible from here ...
    act_end: np.ndarray  # ... until here (exclusive): frame end, deletion or merge
    cycle_rows: tuple[int, ...]  # 0-based rows of a deliberate merge cycle (usually empty)

    @property
    def size(self) -> int:
        """Number of customers in the chunk."""
        return int(self.num.size)


@dataclass
class Orders:
    """Orders of a chunk, sorted by ``created``; ``paid``/``refunded`` may be ``NO_TIME``."""

    cust: np.ndarray
    created: np.ndarray
    paid: np.ndarray
    refunded: np.ndarray
    cents: np.ndarray
    currency: np.ndarray  # index into the currency list
    seq: np.ndarray  # 1-based number within the chunk (order_id)


@dataclass
class Subscriptions:
    """Subscription status events of a chunk, sorted by subscription then time."""

    sub_seq: np.ndarray  # 1-based subscription number within the chunk
    cust: np.ndarray
    changed: np.ndarray
    status: np.ndarray  # index into SUBSCRIPTION_STATUSES


@dataclass
class Engagement:
    """Engagement events of a chunk, sorted by time."""

    cust: np.ndarray
    occurred: np.ndarray
    kind: np.ndarray  # index into ENGAGEMENT_KINDS
    seq: np.ndarray  # 1-based number within the chunk (event_id)


def _str_take(values: list[str], idx: np.ndarray) -> pa.Array:
    return pc.take(pa.array(values, pa.string()), pa.array(idx, pa.int32()))


def _uniform(rng: np.random.Generator, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Integer seconds uniformly in ``[low, high)`` (``low`` where the span is empty)."""
    span = np.maximum(high - low, 1)
    return low + (rng.random(low.shape) * span).astype(np.int64)


def make_customers(
    rng: np.random.Generator,
    profile: TenantProfile,
    frame: Frame,
    first_num: int,
    size: int,
    id_width: int,
    forced: bool,
    merge_cycle: bool,
    formula_names: bool,
) -> Customers:
    """Generate ``size`` customers numbered from ``first_num``.

    ``forced`` makes sure the chunk has at least two self-deleted customers and a merge
    chain A→B→C; ``merge_cycle`` adds a deliberate X→Y→X cycle; ``formula_names`` gives a
    few customers names a spreadsheet would run as formulas.
    """
    n = size
    end = frame.end
    idx = np.arange(n, dtype=np.int64)
    num = first_num + idx
    pre = rng.random(n) < 0.12
    created = _uniform(
        rng,
        np.where(pre, frame.prehistory_start, frame.start).astype(np.int64),
        np.where(pre, frame.start, end - HOUR).astype(np.int64),
    )
    created.sort()

    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    sep = rng.integers(0, len(EMAIL_SEPARATORS), n)
    domains = [d for d, _ in EMAIL_DOMAINS] + list(profile.internal_email_domains)
    weights = np.array([w for _, w in EMAIL_DOMAINS], dtype=float)
    n_internal = len(profile.internal_email_domains)
    if n_internal:
        weights = np.concatenate(
            [weights / weights.sum() * 0.99, np.full(n_internal, 0.01 / n_internal)]
        )
    domain = rng.choice(len(domains), size=n, p=weights / weights.sum())
    no_email = rng.random(n) < 0.01
    accepts = rng.random(n) < 0.62
    no_phone = rng.random(n) < 0.3
    phone_digits = rng.integers(2_000_000_000, 10_000_000_000, n)

    # Self-deletions and merges.
    deleted_mask = rng.random(n) < 0.015
    merge_draw = rng.random(n)
    target_draw = (rng.random(n) * idx).astype(np.int64)
    copy_email_draw = rng.random(n) < 0.5
    dup_draw = (rng.random(n) < 0.003) & (idx > 0)
    dup_src = (rng.random(n) * idx).astype(np.int64)
    t_draw = rng.random((n, 2))
    edit_draw = rng.random(n)
    edit_time_draw = rng.random(n)

    merged_into = np.full(n, -1, dtype=np.int64)
    src = (merge_draw < 0.01) & ~deleted_mask & (idx > 0)
    tgt = target_draw
    ok = src & ~src[tgt] & ~deleted_mask[tgt] & (created[tgt] < created)
    merged_into[ok] = tgt[ok]
    merged_at = np.full(n, NO_TIME, dtype=np.int64)
    base = np.maximum(created, created[tgt])
    merged_at[ok] = (base + HOUR + (t_draw[:, 0] * np.maximum(end - 1 - base - HOUR, 1)))[ok]

    deleted = np.full(n, NO_TIME, dtype=np.int64)
    deleted[deleted_mask] = (created + 60 + t_draw[:, 1] * np.maximum(end - 61 - created, 1))[
        deleted_mask
    ].astype(np.int64)

    special = np.zeros(n, dtype=bool)
    cycle_rows: tuple[int, ...] = ()
    if forced and n >= 12:
        plain = np.flatnonzero((merged_into < 0) & ~deleted_mask & ~np.isin(idx, merged_into))
        extra = rng.permutation(plain)
        # at least two self-deleted customers
        for i in extra[: max(0, 2 - int(deleted_mask.sum()))]:
            deleted_mask[i] = True
            deleted[i] = created[i] + 60 + int(rng.random() * max(end - 61 - created[i], 1))
        plain = np.array([i for i in extra.tolist() if not deleted_mask[i]], dtype=np.int64)
        chain = np.sort(plain[:3])
        if chain.size == 3 and created[chain[0]] < created[chain[1]] < created[chain[2]]:
            c, b, a = (int(x) for x in chain)
            t1 = created[a] + HOUR + int(rng.random() * max((end - created[a]) // 2 - HOUR, 1))
            t2 = t1 + 60 + int(rng.random() * max(end - 61 - t1, 1))
            merged_into[a], merged_at[a] = b, min(t1, end - 2)
            merged_into[b], merged_at[b] = c, min(t2, end - 1)
            special[[a, b, c]] = True
        pair = np.sort(plain[3:5])
        if merge_cycle and pair.size == 2 and created[pair[0]] < created[pair[1]]:
            x, y = (int(v) for v in pair)
            t1 = created[y] + HOUR + int(rng.random() * max((end - created[y]) // 2 - HOUR, 1))
            t2 = t1 + 60 + int(rng.random() * max(end - 61 - t1, 1))
            merged_into[y], merged_at[y] = x, min(t1, end - 2)  # valid: x is older
            merged_into[x], merged_at[x] = y, min(t2, end - 1)  # closes the cycle
            special[[x, y]] = True
            cycle_rows = (x, y)

    # Emails: first.last<number>@domain; a few shared (duplicate accounts, merges).
    email_src = idx.copy()
    email_src[dup_draw] = dup_src[dup_draw]
    merged = merged_into >= 0
    copy = merged & copy_email_draw & ~special
    email_src[copy] = merged_into[copy]
    ascii_first = [a for _, a in FIRST_NAMES]
    ascii_last = [a for _, a in LAST_NAMES]
    local = pc.binary_join_element_wise(
        _str_take(ascii_first, first),
        _str_take(list(EMAIL_SEPARATORS), sep),
        _str_take(ascii_last, last),
        pc.cast(pa.array(num), pa.string()),
        "@",
        _str_take(domains, domain),
        "",
    )
    email_null = no_email[email_src]
    emails = pc.take(local, pa.array(email_src))
    emails = pc.if_else(pa.array(email_null), pa.scalar(None, pa.string()), emails)
    internal = (domain[email_src] >= len(EMAIL_DOMAINS)) & ~email_null
    uses = np.bincount(email_src, minlength=n)
    email_unique = (email_src == idx) & (uses == 1) & ~email_null

    names = pc.binary_join_element_wise(
        _str_take([d for d, _ in FIRST_NAMES], first),
        _str_take([d for d, _ in LAST_NAMES], last),
        " ",
    )
    if formula_names and n >= 2 * len(FORMULA_NAMES):
        listed = names.to_pylist()
        for k, text in enumerate(FORMULA_NAMES):
            listed[2 * k + 1] = text
        if n > 2 * len(FORMULA_NAMES) + 1:
            listed[2 * len(FORMULA_NAMES) + 1] = "O'Brien, Siobhán"  # comma: CSV quoting
        names = pa.array(listed, pa.string())

    phones = fixed_width_ids(profile.phone_prefix, phone_digits, 10)
    phones = pc.if_else(pa.array(no_phone), pa.scalar(None, pa.string()), phones)

    updated = np.maximum(np.maximum(created, deleted), merged_at)
    edit = edit_draw < 0.4
    edit_time = created + (edit_time_draw * np.maximum(end - 1 - created, 1)).astype(np.int64)
    updated = np.where(edit, np.maximum(updated, edit_time), updated)

    act_start = np.maximum(created, frame.start)
    act_end = np.full(n, end, dtype=np.int64)
    act_end = np.where(deleted != NO_TIME, np.minimum(act_end, deleted), act_end)
    act_end = np.where(merged_at != NO_TIME, np.minimum(act_end, merged_at), act_end)

    return Customers(
        num=num,
        ids=fixed_width_ids("C", num, id_width),
        codes=fixed_width_ids("K-", num, id_width),
        emails=emails,
        phones=phones,
        names=names,
        accepts=accepts,
        created=created,
        updated=updated,
        deleted=deleted,
        merged_into=merged_into,
        merged_at=merged_at,
        internal=internal,
        email_unique=email_unique,
        special=special,
        act_start=act_start,
        act_end=act_end,
        cycle_rows=cycle_rows,
    )


def _segment_rates(
    rng: np.random.Generator, segments: tuple[tuple[float, float], ...], n: int
) -> np.ndarray:
    shares = np.array([s for s, _ in segments])
    rates = np.array([r for _, r in segments])
    return rates[rng.choice(len(segments), size=n, p=shares / shares.sum())]


def _top_up(
    rng: np.random.Generator, c: Customers, frame: Frame, times: np.ndarray, minimum: int
) -> tuple[np.ndarray, np.ndarray]:
    """Extra (customer, time) pairs so that at least ``minimum`` fall on the last local day."""
    day_start = frame.daily_bounds[-2]
    have = int(np.count_nonzero(times >= day_start))
    candidates = np.flatnonzero((c.act_end >= frame.end) & (c.created < frame.end - HOUR))
    if have >= minimum or candidates.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    cust = candidates[rng.integers(0, candidates.size, minimum - have)]
    low = np.maximum(c.act_start[cust], day_start)
    return cust.astype(np.int64), _uniform(rng, low, np.full(cust.size, frame.end, np.int64))


def make_orders(
    rng: np.random.Generator, c: Customers, profile: TenantProfile, frame: Frame, min_last_day: int
) -> Orders:
    """Orders: most paid, some unpaid, a few refunded; buyers churn into sleepers."""
    n = c.size
    rate = _segment_rates(rng, ORDER_SEGMENTS, n)
    span = np.maximum(c.act_end - c.act_start, 0)
    churn = rng.random(n) < 0.3
    buy_end = np.where(churn, c.act_start + (rng.random(n) * span).astype(np.int64), c.act_end)
    buy_span = np.maximum(buy_end - c.act_start, 0)
    k = rng.poisson(rate * buy_span / (30 * DAY))
    cust = np.repeat(np.arange(n, dtype=np.int64), k)
    created = c.act_start[cust] + (rng.random(cust.size) * buy_span[cust]).astype(np.int64)
    if min_last_day:
        extra_cust, extra_time = _top_up(rng, c, frame, created, min_last_day)
        cust = np.concatenate([cust, extra_cust])
        created = np.concatenate([created, extra_time])
    m = cust.size
    order = np.lexsort((cust, created))
    cust, created = cust[order], created[order]
    unpaid = rng.random(m) < 0.08
    paid = np.minimum(created + rng.integers(0, 1800, m), frame.end - 1)
    paid = np.where(unpaid, NO_TIME, paid)
    refunded = paid + rng.integers(HOUR, 20 * DAY, m)
    refund = ~unpaid & (rng.random(m) < 0.05) & (refunded < frame.end)
    refunded = np.where(refund, refunded, NO_TIME)
    cents = np.maximum(
        100, np.round(rng.lognormal(np.log(profile.amount_scale), 0.7, m) * 100)
    ).astype(np.int64)
    currency = np.where(rng.random(m) < 0.05, rng.integers(1, 4, m), 0)
    return Orders(
        cust=cust,
        created=created,
        paid=paid,
        refunded=refunded,
        cents=cents,
        currency=currency,
        seq=np.arange(1, m + 1, dtype=np.int64),
    )


def make_subscriptions(
    rng: np.random.Generator, c: Customers, profile: TenantProfile
) -> Subscriptions:
    """Subscriptions: in_progress → (suspended ↔ in_progress)* → terminated, up to 5 events."""
    n = c.size
    span = c.act_end - c.act_start
    has = (rng.random(n) < profile.subscription_rate) & (span > DAY)
    second = has & (rng.random(n) < 0.08)
    cust = np.sort(np.concatenate([np.flatnonzero(has), np.flatnonzero(second)])).astype(np.int64)
    s = cust.size
    start = c.act_start[cust] + (rng.random(s) * span[cust] * 0.8).astype(np.int64)
    by_start = np.lexsort((cust, start))
    cust, start = cust[by_start], start[by_start]
    sub = np.arange(s, dtype=np.int64)
    ev_sub, ev_t, ev_status = [sub], [start], [np.zeros(s, dtype=np.int64)]
    state = np.zeros(s, dtype=np.int64)
    t = start.copy()
    alive = np.ones(s, dtype=bool)
    limit = c.act_end[cust]
    for _ in range(MAX_SUBSCRIPTION_EVENTS - 1):
        u = rng.random(s)
        gap = (rng.exponential(25 * DAY, s) + HOUR).astype(np.int64)
        nxt = np.where(
            state == IN_PROGRESS,
            np.where(u < 0.35, SUSPENDED, np.where(u < 0.7, TERMINATED, -1)),
            np.where(state == SUSPENDED, np.where(u < 0.6, IN_PROGRESS, TERMINATED), -1),
        )
        t_next = t + gap
        alive &= (nxt >= 0) & (t_next < limit)
        ev_sub.append(sub[alive])
        ev_t.append(t_next[alive])
        ev_status.append(nxt[alive])
        state = np.where(alive, nxt, state)
        t = np.where(alive, t_next, t)
    sub_all = np.concatenate(ev_sub)
    t_all = np.concatenate(ev_t)
    order = np.lexsort((t_all, sub_all))
    sub_all = sub_all[order]
    return Subscriptions(
        sub_seq=sub_all + 1,
        cust=cust[sub_all],
        changed=t_all[order],
        status=np.concatenate(ev_status)[order],
    )


def make_engagement(
    rng: np.random.Generator, c: Customers, frame: Frame, min_last_day: int
) -> Engagement:
    """Engagement events (opens, clicks, visits, logins, redemptions) — the biggest source."""
    n = c.size
    rate = _segment_rates(rng, ENGAGEMENT_SEGMENTS, n)
    span = np.maximum(c.act_end - c.act_start, 0)
    k = rng.poisson(rate * span / (30 * DAY))
    cust = np.repeat(np.arange(n, dtype=np.int64), k)
    occurred = c.act_start[cust] + (rng.random(cust.size) * span[cust]).astype(np.int64)
    if min_last_day:
        extra_cust, extra_time = _top_up(rng, c, frame, occurred, min_last_day)
        cust = np.concatenate([cust, extra_cust])
        occurred = np.concatenate([occurred, extra_time])
    weights = np.array([w for _, _, w in ENGAGEMENT_KINDS])
    kind = rng.choice(len(ENGAGEMENT_KINDS), size=cust.size, p=weights / weights.sum())
    order = np.lexsort((cust, occurred))
    return Engagement(
        cust=cust[order],
        occurred=occurred[order],
        kind=kind[order],
        seq=np.arange(1, cust.size + 1, dtype=np.int64),
    )
