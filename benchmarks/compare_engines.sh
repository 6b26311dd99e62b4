#!/bin/bash
# The same two nights on DuckDB and on a local Spark cluster, on generated data; every
# published table compared (benchmarks/compare_marts.py, EXCEPT ALL both ways).
#
#   bash benchmarks/compare_engines.sh [CUSTOMERS (5000)] [WORKDIR (/tmp/customer-status-engines)]
#
# Night 1 (2026-10-31) lands every generated file but those of 2026-11-01; night 2
# (2026-11-01) lands them, so it is incremental on both engines. Starts the cluster
# (`customer-status spark start`) and stops it at the end. Needs `make install-spark`.
set -euo pipefail
cd "$(dirname "$0")/.."
customers=${1:-5000}
root=${2:-/tmp/customer-status-engines}
cs=.venv/bin/customer-status
unset CUSTOMER_STATUS_WAREHOUSE CUSTOMER_STATUS_LANDING CUSTOMER_STATUS_SPARK_THRIFT
rm -rf "$root" && mkdir -p "$root"
"$cs" generate --out "$root/zone" --customers "$customers" --days 120 --quiet
land() {  # land ENGINE FIND-NAME-TEST...: copy the zone's files that match into the landing
  local engine=$1; shift
  (cd "$root/zone" && find . -type f ! -name _GENERATED.json "$@" | while read -r f; do
    mkdir -p "$root/$engine/landing/$(dirname "$f")"; cp "$f" "$root/$engine/landing/$f"; done)
}
night() {  # night ENGINE DATE
  /usr/bin/time -f "$1 night $2: %e s wall, peak RSS %M kB (this process tree's largest)" \
    "$cs" run --engine "$1" --date "$2" --landing "$root/$1/landing" \
    --warehouse "$root/$1/warehouse.duckdb" > "$root/$1-$2.log" 2>&1 \
    || { tail -30 "$root/$1-$2.log"; exit 1; }
  tail -1 "$root/$1-$2.log"  # /usr/bin/time's line
  grep -h "audit: ran on" "$root/$1-$2.log"
}
"$cs" spark start --warehouse "$root/spark/warehouse.duckdb" | tail -1
trap '"$cs" spark stop --warehouse "$root/spark/warehouse.duckdb"' EXIT
for engine in duckdb spark; do land "$engine" ! -name '*2026-11-01*'; night "$engine" 2026-10-31; done
.venv/bin/python benchmarks/compare_marts.py "$root/duckdb/warehouse.duckdb" "$root/spark/warehouse.duckdb"
for engine in duckdb spark; do land "$engine" -name '*2026-11-01*'; night "$engine" 2026-11-01; done
.venv/bin/python benchmarks/compare_marts.py "$root/duckdb/warehouse.duckdb" "$root/spark/warehouse.duckdb"
for engine in duckdb spark; do
  .venv/bin/python - "$root/$engine/warehouse.work/work.duckdb" "$engine" <<'PY'
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
for fingerprint, full in con.execute(
    "select fingerprint, full_refresh from ops.dbt_builds order by built_at"
).fetchall():
    print(f"{sys.argv[2]} build: {'full refresh' if full else 'incremental'} ({fingerprint[:14]}…)")
PY
done
