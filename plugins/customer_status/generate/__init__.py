"""Synthetic landing-zone generator (``customer-status generate``).

``generate_landing(out_dir, customers, ...)`` writes every landing source of docs/contract.md
for several tenants — big sources as Parquet part files (one per 100 000-customer chunk),
the last local days of orders and engagement as daily CSV/JSONL files, small sources as
CSV — deterministically for a seed, with a few deliberately malformed rows and one broken
file listed in ``_GENERATED.json``.
"""

from .landing import generate_landing

__all__ = ["generate_landing"]
