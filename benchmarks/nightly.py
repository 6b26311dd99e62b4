"""The nightly benchmark: ``make bench`` (``make bench SCALE=s|m|l``).

On one generated landing zone (S = 100k customers, M = 1M, L = 10M), each measurement in a
process of its own under ``/usr/bin/time -v`` (peak RSS):

1. **full run**: ``customer-status run --date D`` on an empty warehouse, split by stage
   (ingest, validate_imports, build, audit, publish) from the run log's
   ``[run_id] <stage>: done in N s`` lines (``pipeline/nightly.py`` ``step()``);
2. **floor**: DuckDB scanning every raw source table of the work file once; two variants,
   ``count(*)`` plus one aggregated column per table (``sum(amount)`` for orders), and
   ``count(*)`` plus a hash of every column;
3. **naive**: ``benchmarks/naive_grid.sql``, the customer x day grid a user might write
   instead, over the work file's ``staging`` tables (S and M only), checked against the
   published ``marts.customer_status`` on D;
4. **incremental night**: ``run --date D+1`` on the same warehouse after landing one day of
   new files;
5. **empty night**: ``run --date D+2`` with nothing new landed (the fixed overhead).

Where D+1's data comes from: a zone generated with ``--end-date D+1`` is not the D zone plus
one day (the generator lays its whole frame out from the end date, so every timestamp moves
by a day). So the zone is generated once with end date E (the generator's default,
2026-11-01) and the files of day E (``*/daily/E.*`` orders, engagement and customer
updates, and the status import dated E) are held back: the full run is D = E - 1, the
incremental night lands the held-back files and runs D+1 = E. Rows of day E inside the big
Parquet parts and small CSVs (new customers, subscription events, status actions) are loaded
by the first run already and wait for their day, which the pipeline allows (docs/contract.md).

The dbt project is copied into the work folder first (``CUSTOMER_STATUS_DBT_PROJECT``), so an
edit to ``dbt_project/`` while the benchmark runs cannot turn the incremental night into a
full refresh (its fingerprint decides that, ``pipeline/build.py``).

Before each measurement the 1-minute load average is read; above 1.5 it waits (30 s steps, at
most 5 min, ``BENCH_MAX_LOAD_WAIT_S``) and records what it saw. Results:
``benchmarks/results/<scale>-<engine>-<date>-<commit>.json`` and ``.md``.

``--engine spark`` (``make bench ENGINE=spark``): the nights run with ``--engine spark`` on a
local cluster that the benchmark starts (``customer-status spark start``, timed) in its work
area and stops at the end; the DuckDB-only baselines (floor, naive grid) are left out: run
the default engine for them. The cluster's own processes are not children of the nights:
their memory is not in the nights' peak RSS.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from customer_status.ingest.sources import LOAD_ORDER
from customer_status.pipeline_db import tune
from customer_status.settings import duckdb_memory_limit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS_DIR = HERE / "results"
NAIVE_SQL = HERE / "naive_grid.sql"

SCALES = {"s": 100_000, "m": 1_000_000, "l": 10_000_000}
NAIVE_SCALES = ("s", "m")
SEED = 42
END_DATE = date(2026, 11, 1)  # the generator's default --end-date
FULL_DATE = END_DATE - timedelta(days=1)  # D
INCREMENTAL_DATE = END_DATE  # D+1: the held-back day lands
EMPTY_DATE = END_DATE + timedelta(days=1)  # D+2: nothing new
STAGES = ("ingest", "validate_imports", "build", "audit", "publish")
# the one column each table's minimal floor scan aggregates besides count(*)
FLOOR_COLUMN = {
    "tenants": "hash(tenant_id)",
    "customers": "hash(customer_id)",
    "orders": "amount",
    "subscription_events": "hash(subscription_id)",
    "engagement_events": "hash(event_id)",
    "status_actions": "hash(action_id)",
    "status_labels": "hash(label)",
    "suppressions": "hash(value)",
    "status_imports": "hash(customer_id)",
    "erasure_requests": "hash(customer_id)",
}
LOAD_LIMIT = 1.5
LOAD_STEP_S = 30
LOAD_MAX_WAIT_S = int(os.environ.get("BENCH_MAX_LOAD_WAIT_S", "300"))  # a shared machine: wait less
ENGINES = ("duckdb", "spark")
TARGETS = {  # issue 6, on 2 cores / 24 GiB
    "full_run_wall_s": {"m": 60.0, "l": 600.0},  # end to end; none at S
    "full_run_peak_gib": {"l": 16.0},
    "incremental_wall_s": {"m": 15.0},
    "incremental_over_full": {"l": 0.10},
    "naive_over_ours": 5.0,  # at least, where the naive grid runs
    "build_over_floor": 5.0,  # at most
    "empty_wall_s": 20.0,
}
STAGE_DONE = re.compile(r"\] (\w+): done in ([0-9.]+)s")
# the night's short summary (the default output since the summary came): "  build   111.2s"
STAGE_SUMMARY = re.compile(r"^  (" + "|".join(STAGES) + r") +([0-9.]+)s$", re.M)
INGEST_SUMMARY = re.compile(r"ingest summary: (\{.*\})")
# the short summary's line (the default output): "  ingested: 66 file(s) loaded, 1 rejected,
# 0 already loaded, 0 hidden (skipped); 38,845,729 row(s) loaded, 8 rejected"
INGESTED_LINE = re.compile(
    r"ingested: (?P<files_loaded>[\d,]+) file\(s\) loaded, (?P<files_rejected>[\d,]+) rejected, "
    r"(?P<files_already_loaded>[\d,]+) already loaded, (?P<files_skipped>[\d,]+) hidden "
    r"\(skipped\); (?P<rows_loaded>[\d,]+) row\(s\) loaded, (?P<rows_rejected>[\d,]+) rejected"
)
SHOW = re.compile(r": starting|: done in|ingest summary|published |failed|Error|error:")


# ---------------------------------------------------------------- small helpers


def say(msg: str) -> None:
    print(f"{datetime.now():%H:%M:%S} {msg}", flush=True)


def stage_seconds(text: str) -> dict[str, float]:
    """Seconds per stage from a night's output: the log lines of ``-v``
    (``[run] build: done in 12.3s``) or the short summary (``  build   12.3s``)."""
    stages = {m.group(1): float(m.group(2)) for m in STAGE_DONE.finditer(text)}
    for m in STAGE_SUMMARY.finditer(text):
        stages.setdefault(m.group(1), float(m.group(2)))
    return stages


def ingest_counts(text: str) -> dict[str, int] | None:
    """The ingest's file and row counts from a night's output: the ``-v`` log line
    (``ingest summary: {...}``) or the short summary's ``ingested: ...`` line; None when
    the output has neither (never a made-up 0)."""
    m = INGEST_SUMMARY.search(text)
    if m:
        return ast.literal_eval(m.group(1))
    m = INGESTED_LINE.search(text)
    if m:
        return {k: int(v.replace(",", "")) for k, v in m.groupdict().items()}
    return None


def load_averages() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return " ".join(map(str, load_averages()))


def wait_for_quiet(label: str) -> dict:
    """Wait (30 s steps, at most 5 min) until the 1-minute load is at most 1.5."""
    first = uptime()
    waited = 0
    while load_averages()[0] > LOAD_LIMIT and waited < LOAD_MAX_WAIT_S:
        say(
            f"  load {load_averages()[0]:.2f} > {LOAD_LIMIT} before {label}: waiting {LOAD_STEP_S}s"
        )
        time.sleep(LOAD_STEP_S)
        waited += LOAD_STEP_S
    loads = load_averages()
    return {
        "uptime_first_seen": first,
        "waited_s": waited,
        "load_at_start": loads,
        "load_still_high": loads[0] > LOAD_LIMIT,
    }


def parse_time_v(path: Path) -> dict:
    """The fields of ``/usr/bin/time -v`` output we keep."""
    text = path.read_text() if path.exists() else ""

    def field(name: str) -> str | None:
        m = re.search(rf"^\s*{re.escape(name)}: (.+)$", text, re.M)
        return m.group(1).strip() if m else None

    rss = field("Maximum resident set size (kbytes)")
    return {
        "max_rss_mb": round(int(rss) / 1024, 1) if rss else None,
        "user_s": float(field("User time (seconds)") or 0),
        "system_s": float(field("System time (seconds)") or 0),
        "cpu_percent": field("Percent of CPU this job got"),
    }


def measured(label: str, cmd: list[str], log_path: Path, env: dict[str, str]) -> dict:
    """Run ``cmd`` under ``/usr/bin/time -v`` after waiting for a quiet machine; log to
    ``log_path``; echo the run's stage lines. Raises when the command fails."""
    load = wait_for_quiet(label)
    say(f"{label}: {' '.join(str(c) for c in cmd[:4])} ... (load {load['load_at_start'][0]:.2f})")
    time_file = log_path.with_suffix(".time")
    started = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            ["/usr/bin/time", "-v", "-o", str(time_file), *map(str, cmd)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=ROOT,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if SHOW.search(line) and "dbt |" not in line:
                print("    " + line.rstrip()[:160], flush=True)
        proc.wait()
    wall = time.monotonic() - started
    if proc.returncode != 0:
        tail = "".join(log_path.read_text(errors="replace").splitlines(True)[-30:])
        raise RuntimeError(f"{label} failed (exit {proc.returncode}); log {log_path}:\n{tail}")
    result = {"wall_s": round(wall, 2), **parse_time_v(time_file), "load": load}
    say(f"{label}: {wall:.1f}s wall, peak RSS {result['max_rss_mb']} MB")
    return result


def file_bytes(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def tree_bytes(path: Path) -> dict[str, int]:
    apparent = on_disk = files = 0
    for p in path.rglob("*"):
        if p.is_file():
            st = p.stat()
            apparent += st.st_size
            on_disk += st.st_blocks * 512
            files += 1
    return {"files": files, "bytes": apparent, "bytes_allocated": on_disk}


def git_state() -> dict:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True
            ).stdout.strip()
        except OSError:
            return ""

    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty": git("status", "--short", "--", "dbt_project", "plugins", "dags").splitlines(),
    }


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    except (OSError, AttributeError):
        mem_kb = 0
    import dbt.version
    import duckdb

    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "dbt_core": dbt.version.__version__,
        "duckdb_memory_limit": duckdb_memory_limit(),
    }


# ---------------------------------------------------------------- the workers
# Run as `python benchmarks/nightly.py --worker floor|naive ...` so each is its own process.


def worker_floor(db: Path, variant: str, out: Path) -> None:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    tune(con)  # the pipeline's own session settings: UTC and its memory limit
    tables = {}
    started = time.perf_counter()
    for table in LOAD_ORDER:
        expr = FLOOR_COLUMN[table] if variant == "one_column" else "hash(columns(*))"
        t0 = time.perf_counter()
        row = con.execute(f"select count(*), sum({expr}) from raw.{table}").fetchone()
        tables[table] = {"rows": row[0], "seconds": round(time.perf_counter() - t0, 3)}
    seconds = time.perf_counter() - started
    con.close()
    out.write_text(json.dumps({"variant": variant, "seconds": seconds, "tables": tables}))


def worker_naive(db: Path, out_db: Path, as_of: str, out: Path) -> None:
    import duckdb

    out_db.unlink(missing_ok=True)
    con = duckdb.connect(str(out_db))
    tune(con)  # the pipeline's own session settings: UTC and its memory limit
    con.execute(f"attach '{db}' as work (read_only)")
    con.execute(f"set variable as_of_date = date '{as_of}'")
    started = time.perf_counter()
    con.execute(NAIVE_SQL.read_text())
    seconds = time.perf_counter() - started
    rows = con.execute("select count(*) from naive_status_daily").fetchone()[0]
    con.close()
    out.write_text(json.dumps({"seconds": seconds, "grid_rows": rows}))


# ---------------------------------------------------------------- the harness


class Bench:
    def __init__(
        self,
        scale: str,
        workdir: Path,
        keep: bool,
        engine: str = "duckdb",
        zone: Path | None = None,
    ) -> None:
        self.scale = scale
        self.reuse_zone = zone
        self.engine = engine
        self.customers = SCALES[scale]
        self.base = workdir / (scale if engine == "duckdb" else f"{scale}-{engine}")
        self.keep = keep
        self.zone = self.base / "zone"
        self.landing = self.base / "landing"
        self.warehouse = self.base / "warehouse" / "warehouse.duckdb"
        self.work_dir = self.base / "warehouse" / "warehouse.work"
        self.work_db = self.work_dir / "work.duckdb"
        self.logs = self.base / "logs"
        self.dbt_project = self.base / "dbt_project"
        self.held: list[str] = []
        self.results: dict = {
            "scale": scale,
            "engine": engine,
            "customers": self.customers,
            "seed": SEED,
            "dates": {
                "full": FULL_DATE.isoformat(),
                "incremental": INCREMENTAL_DATE.isoformat(),
                "empty": EMPTY_DATE.isoformat(),
            },
            "started_at": datetime.now().isoformat(timespec="seconds"),
            "workdir": str(self.base),
            "machine": machine(),
            "git": git_state(),
            "measurements": {},
        }

    @property
    def cli(self) -> str:
        exe = Path(sys.executable).with_name("customer-status")
        return str(exe) if exe.exists() else "customer-status"

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("CUSTOMER_STATUS_") or k == "CUSTOMER_STATUS_DUCKDB_MEMORY_LIMIT"
        }
        env["CUSTOMER_STATUS_DBT_PROJECT"] = str(self.dbt_project)
        return env

    # -- steps

    def prepare(self) -> None:
        if self.base.exists():
            say(f"clearing {self.base}")
            shutil.rmtree(self.base)
        self.logs.mkdir(parents=True)
        shutil.copytree(
            ROOT / "dbt_project",
            self.dbt_project,
            ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml"),
        )

    def generate(self) -> None:
        if self.reuse_zone is not None:
            self.copy_zone()
        else:
            self.results["measurements"]["generate"] = self.generated()
        summary = json.loads((self.zone / "_GENERATED.json").read_text())
        self.describe_zone(summary)

    def copy_zone(self) -> None:
        """``--zone DIR``: hard-link a zone generated before instead of generating it again, so
        that before/after runs read the same files byte for byte."""
        src = self.reuse_zone
        summary = json.loads((src / "_GENERATED.json").read_text())
        customers = sum(t["customers"] for t in summary["tenants"])
        if customers != self.customers:
            raise SystemExit(f"--zone {src}: {customers:,} customers, not {self.customers:,}")
        last_days = {t["last_day"] for t in summary["tenants"]}
        if last_days != {END_DATE.isoformat()}:  # the held-back day is END_DATE's files
            raise SystemExit(f"--zone {src}: generated up to {sorted(last_days)}, not {END_DATE}")
        for path in sorted(src.rglob("*")):
            if path.is_file():
                (self.zone / path.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
                os.link(path, self.zone / path.relative_to(src))
        self.results["zone_reused_from"] = str(src)
        say(f"landing zone reused from {src}")

    def generated(self) -> dict:
        return measured(
            "generate",
            [
                self.cli,
                "generate",
                "--out",
                self.zone,
                "--customers",
                self.customers,
                "--seed",
                SEED,
                "--end-date",
                END_DATE.isoformat(),
                "--quiet",
            ],
            self.logs / "generate.log",
            self.env(),
        )

    def describe_zone(self, summary: dict) -> None:
        by_source: dict[str, dict] = {}
        for f in summary["files"]:
            source = f["path"].split("/", 1)[0]
            entry = by_source.setdefault(source, {"files": 0, "rows": 0, "bytes": 0})
            entry["files"] += 1
            entry["rows"] += f["rows"]
            entry["bytes"] += file_bytes(self.zone / f["path"])
        self.results["landing_zone"] = {
            "total_rows": summary["total_rows"],
            **tree_bytes(self.zone),
            "by_source": by_source,
        }
        say(
            f"landing zone: {summary['total_rows']:,} rows, "
            f"{self.results['landing_zone']['bytes'] / 1e6:.0f} MB"
        )

    def split_landing(self) -> None:
        """Hard-link the zone into the landing folder, holding back day END_DATE's files."""
        mark = END_DATE.isoformat()
        held = []
        for path in sorted(self.zone.rglob("*")):
            if not path.is_file() or path.name == "_GENERATED.json":
                continue
            rel = path.relative_to(self.zone)
            if mark in path.name:
                held.append(rel.as_posix())
                continue
            (self.landing / rel).parent.mkdir(parents=True, exist_ok=True)
            os.link(path, self.landing / rel)
        self.held = held
        rows = json.loads((self.zone / "_GENERATED.json").read_text())["files"]
        counts = {f["path"]: f["rows"] for f in rows}
        self.results["held_back"] = {
            "files": held,
            "rows": sum(counts.get(p, 0) for p in held),
            "bytes": sum(file_bytes(self.zone / p) for p in held),
        }
        say(f"held back {len(held)} files of {mark} ({self.results['held_back']['rows']:,} rows)")

    def land_held(self) -> None:
        for rel in self.held:
            (self.landing / rel).parent.mkdir(parents=True, exist_ok=True)
            os.link(self.zone / rel, self.landing / rel)

    def night(self, label: str, as_of: date) -> dict:
        result = measured(
            f"{label} night ({as_of})",
            [
                self.cli,
                "run",
                "--date",
                as_of.isoformat(),
                "--landing",
                self.landing,
                "--warehouse",
                self.warehouse,
                "--engine",
                self.engine,
            ],
            self.logs / f"{label}.log",
            self.env(),
        )
        text = (self.logs / f"{label}.log").read_text(errors="replace")
        stages = stage_seconds(text)
        result["stages_s"] = {s: stages.get(s) for s in STAGES}
        result["outside_stages_s"] = round(result["wall_s"] - sum(stages.values()), 2)
        result["ingest"] = ingest_counts(text)
        result.update(self.inspect_work(label))
        self.results["measurements"][label] = result
        if self.keep:  # each night's published tables, for benchmarks/compare_marts.py
            shutil.copy(self.warehouse, self.base / f"warehouse-{label}.duckdb")
        return result

    def inspect_work(self, label: str) -> dict:
        """After a night: the dbt build record, touched customers, dbt's per-model timings,
        file sizes."""
        import duckdb

        out: dict = {}
        with duckdb.connect(str(self.work_db), read_only=True) as con:
            last = con.execute(
                "select run_id, full_refresh from ops.dbt_builds order by built_at desc limit 1"
            ).fetchone()
            out["dbt_full_refresh"] = bool(last[1]) if last else None
            try:
                out["customers_touched"] = con.execute(
                    "select count(*) from intermediate.int_customers_touched"
                ).fetchone()[0]
            except duckdb.Error:
                out["customers_touched"] = None
        run_results = self.work_dir / "dbt" / "target" / "run_results.json"
        if run_results.exists():
            shutil.copy(run_results, self.logs / f"{label}-run_results.json")
            res = json.loads(run_results.read_text())["results"]
            timed = sorted(res, key=lambda r: -r["execution_time"])
            out["dbt"] = {
                "nodes": len(res),
                "models": sum(r["unique_id"].startswith("model.") for r in res),
                "tests": sum(r["unique_id"].startswith("test.") for r in res),
                "sum_execution_s": round(sum(r["execution_time"] for r in res), 2),
                "slowest": [
                    {
                        "node": r["unique_id"].split(".", 2)[-1],
                        "kind": r["unique_id"].split(".", 1)[0],
                        "seconds": round(r["execution_time"], 2),
                    }
                    for r in timed[:12]
                ],
            }
        out["work_db_bytes"] = file_bytes(self.work_db)
        out["warehouse_bytes"] = file_bytes(self.warehouse)
        return out

    def floor(self) -> None:
        for variant in ("one_column", "all_columns"):
            out = self.logs / f"floor-{variant}.json"
            result = measured(
                f"floor ({variant})",
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    "floor",
                    "--db",
                    self.work_db,
                    "--variant",
                    variant,
                    "--out",
                    out,
                ],
                self.logs / f"floor-{variant}.log",
                self.env(),
            )
            detail = json.loads(out.read_text())
            result["scan_s"] = round(detail["seconds"], 3)
            result["tables"] = detail["tables"]
            result["raw_rows"] = sum(t["rows"] for t in detail["tables"].values())
            say(f"  floor {variant}: {result['scan_s']}s over {result['raw_rows']:,} raw rows")
            self.results["measurements"][f"floor_{variant}"] = result

    def naive(self) -> None:
        out = self.logs / "naive.json"
        naive_db = self.base / "naive.duckdb"
        result = measured(
            "naive grid",
            [
                sys.executable,
                __file__,
                "--worker",
                "naive",
                "--db",
                self.work_db,
                "--naive-db",
                naive_db,
                "--as-of",
                FULL_DATE.isoformat(),
                "--out",
                out,
            ],
            self.logs / "naive.log",
            self.env(),
        )
        detail = json.loads(out.read_text())
        result["query_s"] = round(detail["seconds"], 2)
        result["grid_rows"] = detail["grid_rows"]
        result["naive_db_bytes"] = file_bytes(naive_db)
        result["agreement"] = self.compare_naive(naive_db)
        a = result["agreement"]
        say(
            f"  naive: {result['query_s']}s, {result['grid_rows']:,} grid rows; lifecycle "
            f"agrees on {a['lifecycle_agree']:,} of {a['customers']:,} ({a['lifecycle_ratio']:.4%})"
        )
        self.results["measurements"]["naive"] = result
        if not self.keep:
            naive_db.unlink(missing_ok=True)

    def compare_naive(self, naive_db: Path) -> dict:
        """Naive vs published ``marts.customer_status`` on D (not timed)."""
        import duckdb

        d = FULL_DATE.isoformat()
        with duckdb.connect(str(naive_db), read_only=True) as con:
            con.execute(f"attach '{self.warehouse}' as wh (read_only)")
            con.execute(f"attach '{self.work_db}' as work (read_only)")
            con.execute(f"""
                create temp table pairs as
                select
                    coalesce(m.tenant_id, n.tenant_id) as tenant_id,
                    coalesce(m.customer_id, n.customer_id) as customer_id,
                    m.lifecycle_status as ours_lifecycle, n.lifecycle_status as naive_lifecycle,
                    m.member_status as ours_member, n.member_status as naive_member,
                    m.inactive_reason as ours_reason, n.inactive_reason as naive_reason
                from (select * from naive_status_daily where day = date '{d}') as n
                full join wh.marts.customer_status as m
                    on m.tenant_id = n.tenant_id and m.customer_id = n.customer_id
            """)
            total, only_ours, only_naive, agree, member_agree = con.execute("""
                select count(*), count(*) filter (where naive_lifecycle is null),
                    count(*) filter (where ours_lifecycle is null),
                    count(*) filter (where ours_lifecycle = naive_lifecycle),
                    count(*) filter (where ours_member = naive_member)
                from pairs
            """).fetchone()
            # why they differ: merges (naive leaves them out) and outlier payments (ditto)
            differ = con.execute("""
                select ours_lifecycle, naive_lifecycle, count(*) as customers,
                    count(*) filter (where exists (
                        select 1 from work.intermediate.int_customer_merges_resolved as r
                        where r.tenant_id = p.tenant_id and r.survivor_id = p.customer_id
                            and r.merge_problem is null)) as merge_survivors,
                    count(*) filter (where exists (
                        select 1 from wh.marts.orders as o
                        where o.tenant_id = p.tenant_id and o.customer_id = p.customer_id
                            and o.is_outlier)) as with_outlier_payment
                from pairs as p
                where ours_lifecycle is distinct from naive_lifecycle
                group by all order by customers desc
            """).fetchall()
            member_differ = con.execute("""
                select ours_reason, naive_reason, count(*) from pairs
                where ours_reason is distinct from naive_reason
                group by all order by 3 desc
            """).fetchall()
        return {
            "as_of_date": d,
            "customers": total,
            "only_in_ours": only_ours,
            "only_in_naive": only_naive,
            "lifecycle_agree": agree,
            "lifecycle_ratio": agree / total if total else None,
            "lifecycle_differences": [
                {
                    "ours": o,
                    "naive": n,
                    "customers": c,
                    "merge_survivors": ms,
                    "with_outlier_payment": op,
                }
                for o, n, c, ms, op in differ
            ],
            "member_status_agree": member_agree,
            "member_status_ratio": member_agree / total if total else None,
            "member_reason_differences": [
                {"ours": o, "naive": n, "customers": c} for o, n, c in member_differ
            ],
        }

    def builds(self) -> None:
        import duckdb

        with duckdb.connect(str(self.work_db), read_only=True) as con:
            rows = con.execute(
                "select run_id, built_at, full_refresh from ops.dbt_builds order by built_at"
            ).fetchall()
        self.results["dbt_builds"] = [
            {"run_id": r, "built_at": str(b), "full_refresh": f} for r, b, f in rows
        ]

    def spark_start(self) -> None:
        self.warehouse.parent.mkdir(parents=True, exist_ok=True)
        cmd = [self.cli, "spark", "start", "--warehouse", self.warehouse]
        self.results["measurements"]["spark_start"] = measured(
            "spark start", cmd, self.logs / "spark-start.log", self.env()
        )

    def spark_stop(self) -> None:
        subprocess.run(
            [self.cli, "spark", "stop", "--warehouse", str(self.warehouse)],
            env=self.env(),
            check=False,
            timeout=300,
        )

    # -- the whole benchmark

    def run(self) -> Path:
        if self.scale == "l":
            say(
                "scale L: 10M customers, about 394M rows and 5.7 GB of landing files; "
                "generation alone took 171 s, the full night will take well over an hour "
                "(no naive baseline at L)"
            )
        self.prepare()
        self.generate()
        self.split_landing()
        steps = [("full night", lambda: self.night("full", FULL_DATE))]
        if self.engine == "spark":  # the DuckDB baselines come from a DuckDB run
            steps.insert(0, ("spark start", self.spark_start))
        else:
            steps.append(("floor", self.floor))
        if self.scale in NAIVE_SCALES and self.engine == "duckdb":
            steps.append(("naive grid", self.naive))
        steps += [
            ("incremental night", lambda: (self.land_held(), self.night("incremental", INCREMENTAL_DATE))),
            ("empty night", lambda: self.night("empty", EMPTY_DATE)),
        ]  # fmt: skip
        try:
            for name, step in steps:
                try:
                    step()
                except RuntimeError as exc:  # a failed measurement: keep what was measured
                    say(f"FAILED: {name}: {str(exc).splitlines()[0]}")
                    self.results["error"] = {"step": name, "message": str(exc)[-4000:]}
                    break
        finally:
            if self.engine == "spark":
                self.spark_stop()
        if self.work_db.exists():
            self.builds()
        self.results["ratios"] = ratios(self.results["measurements"])
        self.results["targets"] = targets(self.scale, self.results)
        self.results["issue_ratios"] = issue_ratios(self.scale, self.results["measurements"])
        self.results["finished_at"] = datetime.now().isoformat(timespec="seconds")
        path = write_results(self.results)
        if not self.keep:
            shutil.rmtree(self.base, ignore_errors=True)
        else:
            say(f"kept {self.base}")
        return path


# ---------------------------------------------------------------- results


def _div(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def _get(d: dict, *keys: str):
    for key in keys:
        if not isinstance(d, dict) or d.get(key) is None:
            return None
        d = d[key]
    return d


def ratios(m: dict) -> dict:
    build = _get(m, "full", "stages_s", "build")
    full_wall = _get(m, "full", "wall_s")
    return {
        "build_over_floor_one_column": _div(build, _get(m, "floor_one_column", "scan_s")),
        "build_over_floor_all_columns": _div(build, _get(m, "floor_all_columns", "scan_s")),
        "full_wall_over_floor_one_column": _div(full_wall, _get(m, "floor_one_column", "scan_s")),
        "incremental_over_full_wall": _div(_get(m, "incremental", "wall_s"), full_wall),
        "incremental_over_full_build": _div(_get(m, "incremental", "stages_s", "build"), build),
        "empty_over_full_wall": _div(_get(m, "empty", "wall_s"), full_wall),
        "naive_over_ours_build": _div(_get(m, "naive", "query_s"), build),
        "naive_over_ours_full_wall": _div(_get(m, "naive", "query_s"), full_wall),
    }


def targets(scale: str, r: dict) -> list[dict]:
    """The issue's targets that apply at ``scale``: M and L have their own for the full and
    the incremental night; the ratios and the empty night apply everywhere."""
    m, q = r["measurements"], r["ratios"]
    peak_mb = _get(m, "full", "max_rss_mb")
    candidates = [
        ("full run end to end", _get(m, "full", "wall_s"), "<=", TARGETS["full_run_wall_s"].get(scale)),
        ("full run peak memory, GiB", peak_mb and round(peak_mb / 1024, 2), "<=", TARGETS["full_run_peak_gib"].get(scale)),
        ("incremental night end to end", _get(m, "incremental", "wall_s"), "<=", TARGETS["incremental_wall_s"].get(scale)),
        ("incremental night / full night (wall)", q["incremental_over_full_wall"], "<=", TARGETS["incremental_over_full"].get(scale)),
        ("naive / ours (dbt build)", q["naive_over_ours_build"], ">=", TARGETS["naive_over_ours"] if scale in NAIVE_SCALES else None),
        ("full dbt build / floor (one column)", q["build_over_floor_one_column"], "<=", TARGETS["build_over_floor"]),
        ("empty night end to end", _get(m, "empty", "wall_s"), "<=", TARGETS["empty_wall_s"]),
    ]  # fmt: skip
    out = []
    for name, value, op, limit in candidates:
        if limit is None:
            continue
        met = None if value is None else (value <= limit if op == "<=" else value >= limit)
        miss = (
            None if not value or met else round(value / limit if op == "<=" else limit / value, 2)
        )
        out.append({"target": name, "value": value, "limit": f"{op} {limit:g}", "met": met, "missed_by_factor": miss})  # fmt: skip
    return out


# The ratios of issue 18's table, each measured within one run (the machine's speed drifts
# between runs, so absolute times are not comparable): name, (numerator, denominator) as
# paths into the measurements, the comparison, and the limit per scale. The yardstick is the
# bare all-columns scan of the raw tables (``floor_all_columns.scan_s``). The issue sets its
# targets for M and L; at S the M target is applied (and the row says so).
ISSUE_RATIOS = (
    ("full night wall / scan floor", ("full", "wall_s"), ("floor_all_columns", "scan_s"), "<=", {"m": 35.0, "l": 35.0}),
    ("incremental night / full night", ("incremental", "wall_s"), ("full", "wall_s"), "<=", {"m": 0.10, "l": 0.10}),
    ("empty night / full night", ("empty", "wall_s"), ("full", "wall_s"), "<=", {"m": 0.05, "l": 0.03}),
    ("naive customer x day grid / our dbt build", ("naive", "query_s"), ("full", "stages_s", "build"), ">=", {"m": 5.0}),
    ("dbt build / scan floor", ("full", "stages_s", "build"), ("floor_all_columns", "scan_s"), "<=", {"m": 15.0, "l": 15.0}),
)  # fmt: skip
PEAK_MEMORY_LIMIT_GIB = {"m": 16.0, "l": 16.0}  # the issue names L; M must fit as well
NAIVE_WITHIN_FULL_AT_L = 10.0  # at L: does the grid finish within 10x our full night?


def _ratio_row(name: str, value, op: str, limit: float | None, scale: str, applied: str, **extra) -> dict:  # fmt: skip
    met = (
        None
        if value is None or limit is None
        else (value <= limit if op == "<=" else value >= limit)
    )
    # how far off: >1 means missed by that factor, <1 means met with that much room
    by = None
    if value and limit:
        by = round(value / limit if op == "<=" else limit / value, 2)
    return {
        "ratio": name,
        "scale": scale,
        "value": value,
        "target": None if limit is None else f"{op} {limit:g}",
        "target_scale": applied,
        "met": met,
        "factor_of_target": by,
        **extra,
    }


def issue_ratios(scale: str, m: dict) -> list[dict]:
    """Every ratio of issue 18's table for one run, with its target and met/missed.

    ``value`` is the ratio (None when a part was not measured); ``factor_of_target`` is the
    value over the limit (for ">=" the limit over the value): above 1 the target is missed by
    that factor, at most 1 it is met. ``target_scale`` names the scale whose target applies
    (the issue's M target at S)."""
    applied = "m" if scale == "s" else scale
    rows = []
    for name, num, den, op, limits in ISSUE_RATIOS:
        a, b = _get(m, *num), _get(m, *den)
        value = round(a / b, 3) if a is not None and b else None
        rows.append(_ratio_row(name, value, op, limits.get(applied), scale, applied,
                               numerator_s=a, denominator_s=b))  # fmt: skip
    if scale == "l":  # no naive grid at L: say whether it would finish within 10x our night
        rows.append(_ratio_row("naive grid finishes within 10x our full night", None, "<=",
                               None, scale, applied, note="the naive grid is not run at L"))  # fmt: skip
    peaks = [_get(m, night, "max_rss_mb") for night in ("full", "incremental", "empty")]
    peaks = [p for p in peaks if p is not None]
    peak = round(max(peaks) / 1024, 2) if peaks else None
    rows.append(_ratio_row("peak memory of a night, GiB", peak, "<=",
                           PEAK_MEMORY_LIMIT_GIB.get(applied), scale, applied))  # fmt: skip
    return rows


def nights_table(m: dict) -> list[str]:
    """The "Nights" section: what each night loaded and rebuilt (– where unknown)."""

    def n(v) -> str:
        return "–" if v is None else f"{v:,}"

    lines = ["", "## Nights", "", "| night | rows loaded | files loaded | dbt full refresh | customers recomputed | dbt nodes | work file | warehouse |", "|---|--:|--:|---|--:|--:|--:|--:|"]  # fmt: skip
    for label in ("full", "incremental", "empty"):
        if label not in m:
            continue
        x = m[label]
        ing = x.get("ingest") or {}
        lines.append(
            f"| {label} | {n(ing.get('rows_loaded'))} | {n(ing.get('files_loaded'))} "
            f"| {x['dbt_full_refresh']} | {n(x['customers_touched'])} | {x['dbt']['nodes']} "
            f"| {_mb(x['work_db_bytes'])} | {_mb(x['warehouse_bytes'])} |"
        )
    return lines


def issue_ratios_markdown(rows: list[dict]) -> list[str]:
    """The issue's ratios as a table for the results .md (short version first)."""
    if not rows:
        return []
    out = [
        "",
        "## Issue 18 ratios (same run)",
        "",
        "| ratio | value | target | met | factor of target |",
        "|---|--:|---|---|--:|",
    ]
    for row in rows:
        value = "–" if row["value"] is None else f"{row['value']:g}"
        target = row["target"] or "–"
        if row["target"] and row["target_scale"] != row["scale"]:
            target += f" ({row['target_scale'].upper()} target)"
        met = {True: "**met**", False: "**missed**", None: "not measured"}[row["met"]]
        factor = "" if row["factor_of_target"] is None else f"{row['factor_of_target']:g}×"
        out.append(f"| {row['ratio']} | {value} | {target} | {met} | {factor} |")
    return out


def _s(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}"


def _mb(b: int | float | None) -> str:
    if not b:
        return "–"
    return f"{b / 1e6:,.0f} MB" if b >= 1e6 else f"{b / 1e3:,.1f} kB"


def markdown(r: dict) -> str:
    m = r["measurements"]
    mach = r["machine"]
    lines = [
        f"# Nightly benchmark, scale {r['scale'].upper()} ({r['customers']:,} customers), "
        f"engine {r.get('engine', 'duckdb')}, {r['started_at'][:10]}",
        "",
        f"Machine: {mach['cpus']} CPUs ({mach['cpu_model']}), {mach['memory_gib']} GiB; "
        f"Python {mach['python']}, DuckDB {mach['duckdb']}, dbt-core {mach['dbt_core']}; "
        f"DuckDB memory limit {mach['duckdb_memory_limit']}. Commit `{r['git']['commit'][:10]}`"
        + (f" with local changes in {len(r['git']['dirty'])} file(s)" if r["git"]["dirty"] else "")
        + ". Produced by `benchmarks/nightly.py`.",
        "",
        "## Landing zone",
        "",
        "| source | files | rows | bytes |",
        "|---|--:|--:|--:|",
    ]
    lz = r["landing_zone"]
    for source, e in sorted(lz["by_source"].items()):
        lines.append(f"| {source} | {e['files']} | {e['rows']:,} | {_mb(e['bytes'])} |")
    lines += [
        f"| **total** | {lz['files'] - 1} (+ _GENERATED.json) | {lz['total_rows']:,} | "
        f"{_mb(lz['bytes'])} ({_mb(lz['bytes_allocated'])} allocated) |",
        "",
        f"Held back for the incremental night ({r['dates']['incremental']}): "
        f"{len(r['held_back']['files'])} files, {r['held_back']['rows']:,} rows, "
        f"{_mb(r['held_back']['bytes'])}.",
        "",
        "## Timings",
        "",
        "Seconds; one process per row under `/usr/bin/time -v` (peak RSS: the largest process of "
        "the tree; CPU: user + system over wall, 200 % = both cores); *outside* = wall minus the "
        "stages (process and Airflow start-up, DAG run bookkeeping).",
        "",
        "| measurement | wall | ingest | validate_imports | dbt build | audit | publish | outside "
        "| peak RSS | CPU | load 1/5/15 at start |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]

    def load(x: dict) -> str:
        a = x["load"]["load_at_start"]
        waited = f" (waited {x['load']['waited_s']}s)" if x["load"]["waited_s"] else ""
        return f"{a[0]:.2f} / {a[1]:.2f} / {a[2]:.2f}{waited}"

    def rss(x: dict) -> str:
        peak = f"{x['max_rss_mb'] / 1024:.2f} GB" if x.get("max_rss_mb") else "–"
        return f"{peak} | {x.get('cpu_percent') or '–'}"

    g = m.get("generate")
    if g:
        lines.append(f"| generate | {_s(g['wall_s'])} | | | | | | | {rss(g)} | {load(g)} |")
    if "spark_start" in m:  # the cluster's own memory is not in the nights' peak RSS
        x = m["spark_start"]
        lines.append(f"| spark start | {_s(x['wall_s'])} | | | | | | | {rss(x)} | {load(x)} |")
    for label, as_of in (("full", "full"), ("incremental", "incremental"), ("empty", "empty")):
        if label not in m:
            lines.append(
                f"| {label} night ({r['dates'][as_of]}) | not measured | | | | | | | | | |"
            )
            continue
        x = m[label]
        st = x["stages_s"]
        name = f"{label} night ({r['dates'][as_of]})"
        lines.append(
            f"| {name} | **{_s(x['wall_s'])}** | {_s(st['ingest'])} | {_s(st['validate_imports'])} "
            f"| {_s(st['build'])} | {_s(st['audit'])} | {_s(st['publish'])} "
            f"| {_s(x['outside_stages_s'])} | {rss(x)} | {load(x)} |"
        )
    for variant in ("one_column", "all_columns"):
        if f"floor_{variant}" not in m:
            continue
        x = m[f"floor_{variant}"]
        lines.append(
            f"| floor, {variant.replace('_', ' ')} (scan {x['scan_s']:.2f} s) | {_s(x['wall_s'])} "
            f"| | | | | | | {rss(x)} | {load(x)} |"
        )
    if "naive" in m:
        x = m["naive"]
        lines.append(
            f"| naive grid (query {x['query_s']:.1f} s, {x['grid_rows']:,} rows) "
            f"| {_s(x['wall_s'])} | | | | | | | {rss(x)} | {load(x)} |"
        )
    lines += nights_table(m)
    lines += issue_ratios_markdown(r.get("issue_ratios") or [])
    q = r["ratios"]
    lines += ["", "## Ratios", "", "| ratio | value |", "|---|--:|"]
    for k, v in q.items():
        lines.append(f"| {k.replace('_', ' ')} | {'–' if v is None else v} |")
    lines += ["", "## Targets", "", "| target | measured | limit | met | missed by |", "|---|--:|---|---|--:|"]  # fmt: skip
    for t in r["targets"]:
        miss = f"{t['missed_by_factor']}×" if t["missed_by_factor"] else ""
        met = {True: "yes", False: "no", None: "not measured"}[t["met"]]
        value = "–" if t["value"] is None else t["value"]
        lines.append(f"| {t['target']} | {value} | {t['limit']} | {met} | {miss} |")
    if "naive" in m:
        a = m["naive"]["agreement"]
        lines += [
            "",
            f"## Naive vs ours on {a['as_of_date']}",
            "",
            f"lifecycle_status agrees for {a['lifecycle_agree']:,} of {a['customers']:,} "
            f"customers (**{a['lifecycle_ratio']:.4%}**); member_status for "
            f"{a['member_status_agree']:,} ({a['member_status_ratio']:.2%}: the naive grid "
            f"leaves out account status, hence member rule 1). Customers only in ours: "
            f"{a['only_in_ours']}, only in the naive grid: {a['only_in_naive']}.",
            "",
            "| ours | naive | customers | of which merge survivors | with an outlier payment |",
            "|---|---|--:|--:|--:|",
        ]
        for d in a["lifecycle_differences"]:
            lines.append(
                f"| {d['ours']} | {d['naive']} | {d['customers']:,} | {d['merge_survivors']:,} "
                f"| {d['with_outlier_payment']:,} |"
            )
    for label in ("full", "incremental", "empty"):
        if "dbt" not in m.get(label, {}):
            continue
        x = m[label]
        lines += [
            "",
            f"## Slowest dbt nodes, {label} night (of {x['dbt']['nodes']}; sum "
            f"{x['dbt']['sum_execution_s']} s)",
            "",
            "| node | seconds |",
            "|---|--:|",
        ]
        for n in x["dbt"]["slowest"]:
            lines.append(f"| {n['node']} | {n['seconds']} |")
    if r.get("error"):
        e = r["error"]
        tail = "\n".join(e["message"].splitlines()[-8:])
        lines += ["", f"## Failed: {e['step']}", "", "```", tail, "```"]
    return "\n".join(lines) + "\n"


def write_results(r: dict) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    # the commit in the name: several runs on one day (before and after a change) all stay
    engine = r.get("engine", "duckdb")
    stem = RESULTS_DIR / f"{r['scale']}-{engine}-{r['started_at'][:10]}-{r['git']['commit'][:7]}"
    stem.with_suffix(".json").write_text(json.dumps(r, indent=2, default=str) + "\n")
    stem.with_suffix(".md").write_text(markdown(r))
    say(f"results: {stem}.md and .json")
    return stem.with_suffix(".md")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="s")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/customer-status-bench"))
    parser.add_argument("--keep", action="store_true", help="keep the landing zone and warehouse")
    parser.add_argument("--engine", choices=ENGINES, default="duckdb", help="the nights' engine")
    parser.add_argument(
        "--zone",
        type=Path,
        default=Path(os.environ["BENCH_ZONE"]) if os.environ.get("BENCH_ZONE") else None,
        help="reuse this generated landing zone (hard links) instead of generating one "
        "(default: $BENCH_ZONE); with --keep each night's warehouse is copied beside it",
    )
    # internal: the floor and naive measurements run in processes of their own
    parser.add_argument("--worker", choices=("floor", "naive"), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--variant", choices=("one_column", "all_columns"), help=argparse.SUPPRESS)
    parser.add_argument("--naive-db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--as-of", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "floor":
        worker_floor(args.db, args.variant, args.out)
        return 0
    if args.worker == "naive":
        worker_naive(args.db, args.naive_db, args.as_of, args.out)
        return 0
    zone = args.zone.resolve() if args.zone else None
    bench = Bench(args.scale, args.workdir.resolve(), args.keep, args.engine, zone)
    path = bench.run()
    print(path.read_text())
    return 1 if bench.results.get("error") else 0


if __name__ == "__main__":
    sys.exit(main())
