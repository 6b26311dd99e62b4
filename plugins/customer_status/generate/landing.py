"""Generate a whole landing zone: schedule the chunks, write the daily and small files,
and the ``_GENERATED.json`` summary."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..ingest.sources import LOAD_ORDER
from .chunks import (
    CHUNK_SIZE,
    ORDER_COLUMNS,
    ChunkResult,
    ChunkSpec,
    run_chunk,
)
from .malformed import bad_order_rows, inject, truncated_json
from .samples import Samples
from .small_files import (
    FileLog,
    write_actions,
    write_broken_orders,
    write_customer_updates,
    write_status_imports,
    write_status_labels,
    write_suppressions,
    write_tenants,
)
from .tenants import Tenant, build_tenants, split_customers
from .timeframe import Frame, build_frame, iso
from .writer import csv_rows_text, csv_text

SUMMARY_FILE = "_GENERATED.json"
GENERATOR_VERSION = 1
MAX_WORKERS = 4


def generate_landing(
    out_dir: Path,
    customers: int,
    tenants: int = 3,
    days: int = 120,
    seed: int = 42,
    end_date: date = date(2026, 11, 1),
    progress: bool = True,
) -> dict:
    """Write a synthetic landing zone under ``out_dir`` and return its summary.

    The data covers the ``days`` local days (per tenant time zone) ending at ``end_date``
    inclusive; nothing is later than the end of ``end_date`` in the tenant's time zone.
    ``customers`` are shared out over the tenants by profile weight. The same arguments
    always give byte-identical files. The summary (also ``out_dir/_GENERATED.json``) holds
    the parameters, every file with its data-row count, and every deliberately malformed
    row or file.
    """
    return _generate(Path(out_dir), customers, tenants, days, seed, end_date, progress)


def _generate(
    out_dir: Path,
    customers: int,
    tenants: int,
    days: int,
    seed: int,
    end_date: date,
    progress: bool,
    chunk_size: int = CHUNK_SIZE,
    workers: int | None = None,
) -> dict:
    """``generate_landing`` with the chunk size and worker count exposed (for tests)."""
    if customers < tenants:
        raise ValueError(f"need at least one customer per tenant ({tenants} tenants)")
    if days < 1:
        raise ValueError("days must be at least 1")
    _prepare_out_dir(out_dir)
    tenant_list = build_tenants(tenants)
    counts = split_customers(customers, tenant_list)
    frames = [build_frame(end_date, days, t.profile.timezone) for t in tenant_list]
    id_width = max(7, len(str(max(counts))))
    specs = [
        ChunkSpec(
            out_dir=out_dir,
            tenant=t,
            tenant_customers=counts[t.index],
            chunk_index=k,
            first=first,
            size=min(chunk_size, counts[t.index] - first),
            seed=seed,
            end_date=end_date,
            days=days,
            id_width=id_width,
            host_bad_rows=(t.index == 0 and k == 0),
            customer_host=(t.index == min(1, len(tenant_list) - 1)),
            merge_cycle=(t.index == 0 and k == 0),
        )
        for t in tenant_list
        for k, first in enumerate(range(0, counts[t.index], chunk_size))
    ]
    n_workers = workers if workers is not None else min(_cpu_count(), len(specs), MAX_WORKERS)

    log = FileLog(out_dir)
    assembler = _TenantAssembler(out_dir, log, tenant_list, frames, counts, end_date)
    with _progress(progress) as bar:
        tasks = {
            t.tenant_id: bar.add_task(f"{t.tenant_id} customers", total=counts[t.index])
            for t in tenant_list
        }
        for result in _run(specs, n_workers):
            assembler.add(result)
            bar.advance(tasks[result.tenant_id], result.size)
    write_tenants(log, tenant_list, frames)
    write_status_labels(log, tenant_list)

    summary = {
        "generator": {"module": "customer_status.generate", "version": GENERATOR_VERSION},
        "parameters": {
            "customers": customers,
            "tenants": tenants,
            "days": days,
            "seed": seed,
            "end_date": end_date.isoformat(),
            "chunk_size": chunk_size,
        },
        "tenants": [
            {
                "tenant_id": t.tenant_id,
                "customers": counts[t.index],
                "timezone": t.profile.timezone,
                "first_day": (end_date - timedelta(days=days - 1)).isoformat(),
                "last_day": end_date.isoformat(),
                "daily_files_from": f.daily_dates[0].isoformat(),
                "data_start_utc": iso(f.start),
                "data_end_utc": iso(f.end - 1),
                "earliest_created_at_utc": iso(f.prehistory_start),
            }
            for t, f in zip(tenant_list, frames, strict=True)
        ],
        "files": [{"path": p, "rows": log.files[p]} for p in sorted(log.files)],
        "malformed": sorted(
            log.malformed, key=lambda m: (m["file"], m["row_number"] or 0, m["kind"])
        ),
        "total_rows": sum(log.files.values()),
    }
    (out_dir / SUMMARY_FILE).write_text(
        json.dumps(summary, sort_keys=True, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return summary


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _prepare_out_dir(out_dir: Path) -> None:
    """Create ``out_dir``; clear a previous generated landing zone, refuse any other content."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if not any(out_dir.iterdir()):
        return
    if not (out_dir / SUMMARY_FILE).exists():
        raise FileExistsError(
            f"{out_dir} is not empty and holds no {SUMMARY_FILE}: refusing to write into it"
        )
    for source in LOAD_ORDER:
        shutil.rmtree(out_dir / source, ignore_errors=True)
    (out_dir / SUMMARY_FILE).unlink()


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )


def _run(specs: list[ChunkSpec], workers: int) -> Iterator[ChunkResult]:
    """Results in spec order, from worker processes (spawned) or in this process."""
    if workers <= 1:
        yield from map(run_chunk, specs)
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        yield from pool.map(run_chunk, specs)


class _TenantAssembler:
    """Takes chunk results in order; writes each tenant's daily and small files."""

    def __init__(
        self,
        out_dir: Path,
        log: FileLog,
        tenants: list[Tenant],
        frames: list[Frame],
        counts: list[int],
        end_date: date,
    ) -> None:
        self.out_dir = out_dir
        self.log = log
        self.tenants = {t.tenant_id: t for t in tenants}
        self.frames = {t.tenant_id: f for t, f in zip(tenants, frames, strict=True)}
        self.counts = {t.tenant_id: n for t, n in zip(tenants, counts, strict=True)}
        self.end_date = end_date
        self.customer_host = tenants[1 if len(tenants) > 1 else 0].tenant_id
        self._reset()

    def _reset(self) -> None:
        self.stack = ExitStack()
        self.order_files: list[tuple[str, IO[str]]] = []
        self.event_files: list[tuple[str, IO[str]]] = []
        self.done = 0
        self.actions: list = []
        self.samples = Samples()
        self.broken_template: list[list[str]] = []

    def _open(self, rel: str) -> IO[str]:
        path = self.out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        self.log.files[rel] = 0
        return self.stack.enter_context(open(path, "w", encoding="utf-8", newline=""))

    def add(self, r: ChunkResult) -> None:
        """Fold one chunk result in (results arrive in tenant/chunk order)."""
        tenant = self.tenants[r.tenant_id]
        frame = self.frames[r.tenant_id]
        self.log.files.update(r.files)
        self.log.malformed.extend(r.malformed)
        if r.chunk_index == 0:
            for day in frame.daily_dates:
                rel = f"orders/{r.tenant_id}/daily/{day:%Y-%m-%d}.csv"
                fh = self._open(rel)
                fh.write(csv_text(list(ORDER_COLUMNS), []))
                self.order_files.append((rel, fh))
                rel = f"engagement_events/{r.tenant_id}/daily/{day:%Y-%m-%d}.jsonl"
                self.event_files.append((rel, self._open(rel)))
        host = tenant.index == 0 and r.chunk_index == 0
        last = len(frame.daily_dates) - 1
        for d, ((rel, fh), rows) in enumerate(zip(self.order_files, r.daily_orders, strict=True)):
            if host and d == last and rows:
                self.broken_template = rows[:5]
                rows, records = inject(
                    rows, bad_order_rows(rows[len(rows) // 2], self.end_date), rel
                )
                self.log.malformed.extend(records)
            if rows:
                fh.write(csv_rows_text(rows))
            self.log.files[rel] += len(rows)
        for d, ((rel, fh), lines) in enumerate(zip(self.event_files, r.daily_events, strict=True)):
            if host and d == last and lines:
                rows, records = inject(
                    lines, [(truncated_json(lines[len(lines) // 2]), "not_json")], rel
                )
                lines = rows
                self.log.malformed.extend(records)
            if lines:
                fh.write("\n".join(lines) + "\n")
            self.log.files[rel] += len(lines)
        self.actions.extend(r.actions)
        s = self.samples
        for name in (
            "customer_updates",
            "import_by_code",
            "import_by_id",
            "import_by_email",
            "blocklist",
        ):
            getattr(s, name).extend(getattr(r.samples, name))
        self.done += r.size
        if self.done >= self.counts[r.tenant_id]:
            self._finish(tenant, frame)

    def _finish(self, tenant: Tenant, frame: Frame) -> None:
        self.stack.close()
        log, first = self.log, tenant.index == 0
        write_actions(log, tenant, self.actions, self.end_date, host_bad_rows=first)
        write_customer_updates(
            log, tenant, frame, self.samples, host_bad_rows=tenant.tenant_id == self.customer_host
        )
        write_status_imports(log, tenant, self.end_date, self.samples)
        write_suppressions(log, tenant, frame, self.samples)
        if first:
            write_broken_orders(log, tenant, self.broken_template)
        self._reset()
