"""One unit of work: generate a chunk of customers, write its Parquet parts, return the rest.

``run_chunk`` is what the worker processes run. It writes
``customers|orders|subscription_events|engagement_events/<tenant>/part-NNNNN.parquet`` and
returns, for the parent to write, the chunk's rows of the daily files (last local days),
its status actions and its samples for the small sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..ingest.sources import SOURCES
from .actions import Action, chunk_actions
from .entities import (
    SUBSCRIPTION_STATUSES,
    Customers,
    Engagement,
    Orders,
    make_customers,
    make_engagement,
    make_orders,
    make_subscriptions,
)
from .samples import Samples, chunk_samples, share
from .tenants import Tenant
from .timeframe import Frame, build_frame, iso_array
from .vocabulary import ENGAGEMENT_KINDS, SECONDARY_CURRENCIES
from .writer import (
    NO_TIME,
    amounts,
    categorical,
    cents_text,
    constant,
    fixed_width_ids,
    timestamps,
    write_parquet,
)

#: Customers per chunk. Fixed: the output must not depend on the machine.
CHUNK_SIZE = 100_000
#: The first chunk of the first tenant hosts the bad daily rows; it gets at least this many
#: good rows on the last day so that bad rows stay well under 10 % of the file.
MIN_HOST_ORDERS = 80
MIN_HOST_EVENTS = 40

ORDER_COLUMNS: tuple[str, ...] = SOURCES["orders"].column_names  # docs/contract.md order
ENGAGEMENT_COLUMNS: tuple[str, ...] = SOURCES["engagement_events"].column_names  # docs/contract.md order
CHANNELS: tuple[str, ...] = tuple(dict.fromkeys(ch for ch, _, _ in ENGAGEMENT_KINDS))
EVENT_TYPES: tuple[str, ...] = tuple(dict.fromkeys(et for _, et, _ in ENGAGEMENT_KINDS))


@dataclass(frozen=True)
class ChunkSpec:
    """Everything a worker needs to generate one chunk (picklable)."""

    out_dir: Path
    tenant: Tenant
    tenant_customers: int
    chunk_index: int  # 0-based within the tenant
    first: int  # 0-based index of the chunk's first customer within the tenant
    size: int
    seed: int
    end_date: date
    days: int
    id_width: int
    host_bad_rows: bool  # first chunk of the first tenant: top up the last day
    customer_host: bool  # the tenant whose customers CSV gets the bad customer rows
    merge_cycle: bool  # add the deliberate merge cycle


@dataclass
class ChunkResult:
    """What a chunk hands back to the parent."""

    tenant_id: str
    chunk_index: int
    size: int
    files: dict[str, int] = field(default_factory=dict)  # relpath -> data rows
    malformed: list[dict] = field(default_factory=list)
    daily_orders: list[list[list[str]]] = field(default_factory=list)  # per daily day
    daily_events: list[list[str]] = field(default_factory=list)  # JSONL lines per daily day
    actions: list[Action] = field(default_factory=list)
    samples: Samples = field(default_factory=Samples)


def tenant_totals(tenant_customers: int, customer_host: bool) -> dict[str, int]:
    """Tenant-wide row counts of the small sources (shared out over its chunks).

    A few hundred status actions per tenant at scale, fewer for tiny tenants; the tenant
    hosting the bad customer rows gets at least 60 customer updates (bad rows < 5 %).
    """
    return {
        "actions": min(80 + tenant_customers // 1000, max(30, tenant_customers // 2)),
        "customer_updates": max(60 if customer_host else 10, tenant_customers // 200),
        "import_by_code": max(12, tenant_customers // 2000),
        "import_by_id": max(8, tenant_customers // 5000),
        "import_by_email": max(5, tenant_customers // 10000),
        "blocklist": max(4, tenant_customers // 5000),
    }


def _customers_table(tenant_id: str, c: Customers) -> pa.Table:
    merged = c.merged_into >= 0
    merged_into = pc.take(c.ids, pa.array(np.where(merged, c.merged_into, 0), mask=~merged))
    return pa.table(
        {
            "tenant_id": constant(tenant_id, c.size),
            "customer_id": c.ids,
            "code": c.codes,
            "email": c.emails,
            "phone": c.phones,
            "full_name": c.names,
            "accepts_marketing": pa.array(c.accepts, pa.bool_()),
            "created_at": timestamps(c.created),
            "updated_at": timestamps(c.updated),
            "deleted_at": timestamps(c.deleted),
            "merged_into": merged_into,
            "merged_at": timestamps(c.merged_at),
        }
    )


def _order_version(o: Orders, rows: np.ndarray, cut: int) -> tuple[np.ndarray, ...]:
    """``paid``/``refunded``/``updated`` of ``rows`` as known just before instant ``cut``."""
    paid = o.paid[rows]
    refunded = o.refunded[rows]
    paid = np.where((paid != NO_TIME) & (paid < cut), paid, NO_TIME)
    refunded = np.where((refunded != NO_TIME) & (refunded < cut), refunded, NO_TIME)
    updated = np.maximum(np.maximum(o.created[rows], paid), refunded)
    return paid, refunded, updated


def _orders_table(
    tenant_id: str,
    o: Orders,
    rows: np.ndarray,
    cut: int,
    c: Customers,
    order_ids: pa.Array,
    currencies: list[str],
) -> pa.Table:
    paid, refunded, updated = _order_version(o, rows, cut)
    idx = pa.array(rows)
    return pa.table(
        {
            "tenant_id": constant(tenant_id, rows.size),
            "order_id": pc.take(order_ids, idx),
            "customer_id": pc.take(c.ids, pa.array(o.cust[rows])),
            "created_at": timestamps(o.created[rows]),
            "paid_at": timestamps(paid),
            "refunded_at": timestamps(refunded),
            "amount": amounts(o.cents[rows]),
            "currency": categorical(o.currency[rows], currencies),
            "updated_at": timestamps(updated),
        }
    )


def _engagement_table(
    tenant_id: str, e: Engagement, rows: np.ndarray, c: Customers, event_ids: pa.Array
) -> pa.Table:
    kind = e.kind[rows]
    ch_code = np.array([CHANNELS.index(ch) for ch, _, _ in ENGAGEMENT_KINDS])[kind]
    et_code = np.array([EVENT_TYPES.index(et) for _, et, _ in ENGAGEMENT_KINDS])[kind]
    return pa.table(
        {
            "tenant_id": constant(tenant_id, rows.size),
            "event_id": pc.take(event_ids, pa.array(rows)),
            "customer_id": pc.take(c.ids, pa.array(e.cust[rows])),
            "channel": categorical(ch_code, CHANNELS),
            "event_type": categorical(et_code, EVENT_TYPES),
            "occurred_at": timestamps(e.occurred[rows]),
        }
    )


def _daily_order_rows(
    tenant_id: str,
    o: Orders,
    rows: np.ndarray,
    cut: int,
    c: Customers,
    order_ids: pa.Array,
    currencies: list[str],
) -> list[list[str]]:
    paid, refunded, updated = _order_version(o, rows, cut)
    ids = pc.take(order_ids, pa.array(rows)).to_pylist()
    cids = pc.take(c.ids, pa.array(o.cust[rows])).to_pylist()
    cols = [
        iso_array(o.created[rows]),
        iso_array(paid),
        iso_array(refunded),
        cents_text(o.cents[rows]),
        [currencies[k] for k in o.currency[rows].tolist()],
        iso_array(updated),
    ]
    return [[tenant_id, oid, cid, *vals] for oid, cid, *vals in zip(ids, cids, *cols, strict=True)]


def _daily_event_lines(
    tenant_id: str, e: Engagement, rows: np.ndarray, c: Customers, event_ids: pa.Array
) -> list[str]:
    ids = pc.take(event_ids, pa.array(rows)).to_pylist()
    cids = pc.take(c.ids, pa.array(e.cust[rows])).to_pylist()
    times = iso_array(e.occurred[rows])
    kinds = [ENGAGEMENT_KINDS[k] for k in e.kind[rows].tolist()]
    return [
        f'{{"tenant_id": "{tenant_id}", "event_id": "{eid}", "customer_id": "{cid}", '
        f'"channel": "{ch}", "event_type": "{et}", "occurred_at": "{ts}"}}'
        for eid, cid, (ch, et, _), ts in zip(ids, cids, kinds, times, strict=True)
    ]


def run_chunk(spec: ChunkSpec) -> ChunkResult:
    """Generate one chunk, write its Parquet parts and return the rest (see module doc)."""
    t = spec.tenant
    tid = t.tenant_id
    frame: Frame = build_frame(spec.end_date, spec.days, t.profile.timezone)
    rng = np.random.default_rng([spec.seed, t.index, spec.chunk_index])
    result = ChunkResult(tenant_id=tid, chunk_index=spec.chunk_index, size=spec.size)
    part = f"part-{spec.chunk_index + 1:05d}.parquet"
    first_chunk = spec.chunk_index == 0

    c = make_customers(
        rng,
        t.profile,
        frame,
        first_num=spec.first + 1,
        size=spec.size,
        id_width=spec.id_width,
        forced=first_chunk,
        merge_cycle=spec.merge_cycle,
        formula_names=first_chunk,
    )
    o = make_orders(rng, c, t.profile, frame, MIN_HOST_ORDERS if spec.host_bad_rows else 0)
    s = make_subscriptions(rng, c, t.profile)
    e = make_engagement(rng, c, frame, MIN_HOST_EVENTS if spec.host_bad_rows else 0)
    totals = tenant_totals(spec.tenant_customers, spec.customer_host)
    counts = {k: share(v, spec.first, spec.size, spec.tenant_customers) for k, v in totals.items()}
    result.actions = chunk_actions(
        rng, c, o, t, frame, counts.pop("actions"), first_chunk, spec.id_width
    )
    result.samples = chunk_samples(rng, c, t, frame, counts)

    out = spec.out_dir
    rel = f"customers/{tid}/{part}"
    result.files[rel] = write_parquet(_customers_table(tid, c), out / rel)
    for row in c.cycle_rows:
        result.malformed.append({"file": rel, "row_number": row + 1, "kind": "merge_cycle"})

    currencies = [t.profile.currency] + [x for x in SECONDARY_CURRENCIES if x != t.profile.currency]
    prefix = f"{spec.chunk_index + 1:04d}"
    order_ids = fixed_width_ids("O" + prefix, o.seq, 7)
    history = np.flatnonzero(o.created < frame.history_end)
    rel = f"orders/{tid}/{part}"
    result.files[rel] = write_parquet(
        _orders_table(tid, o, history, frame.history_end, c, order_ids, currencies), out / rel
    )
    bounds = frame.daily_bounds
    for d in range(len(frame.daily_dates)):
        lo, hi = bounds[d], bounds[d + 1]
        changed = (
            ((o.created >= lo) & (o.created < hi))
            | ((o.paid >= lo) & (o.paid < hi))
            | ((o.refunded >= lo) & (o.refunded < hi))
        )
        result.daily_orders.append(
            _daily_order_rows(tid, o, np.flatnonzero(changed), hi, c, order_ids, currencies)
        )
    del order_ids, o

    rel = f"subscription_events/{tid}/{part}"
    result.files[rel] = write_parquet(
        pa.table(
            {
                "tenant_id": constant(tid, s.cust.size),
                "subscription_id": fixed_width_ids("S" + prefix, s.sub_seq, 7),
                "customer_id": pc.take(c.ids, pa.array(s.cust)),
                "status": categorical(s.status, SUBSCRIPTION_STATUSES),
                "changed_at": timestamps(s.changed),
            }
        ),
        out / rel,
    )
    del s

    event_ids = fixed_width_ids("E" + prefix, e.seq, 9)
    day_of = frame.daily_index(e.occurred)
    rel = f"engagement_events/{tid}/{part}"
    result.files[rel] = write_parquet(
        _engagement_table(tid, e, np.flatnonzero(day_of < 0), c, event_ids), out / rel
    )
    for d in range(len(frame.daily_dates)):
        result.daily_events.append(
            _daily_event_lines(tid, e, np.flatnonzero(day_of == d), c, event_ids)
        )
    return result
