"""Byte-stable file writing and fast Arrow column builders.

Parquet files are written with fixed settings (zstd level 3, 250 000-row row groups, format
2.6, no pandas or Arrow schema metadata) so the same table always gives the same bytes.
Timestamps are ``timestamp[us, tz=UTC]`` (Parquet ``TIMESTAMP(isAdjustedToUTC, MICROS)``),
amounts ``decimal(12, 2)``, everything else strings or booleans.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP_SIZE = 250_000
TIMESTAMP = pa.timestamp("us", tz="UTC")
AMOUNT = pa.decimal128(12, 2)
#: Marks a missing timestamp in the integer (epoch seconds) arrays.
NO_TIME = -1


def write_parquet(table: pa.Table, path: Path) -> int:
    """Write ``table`` to ``path`` with the fixed settings; return its row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        table,
        path,
        row_group_size=ROW_GROUP_SIZE,
        version="2.6",
        compression="zstd",
        compression_level=3,
        use_dictionary=True,
        write_statistics=True,
        store_schema=False,
        write_page_index=False,
    )
    return table.num_rows


def fixed_width_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Strings ``prefix`` + zero-padded ``numbers`` (e.g. ``C0000042``), without Python loops."""
    nums = np.asarray(numbers, dtype=np.int64)
    if nums.size and int(nums.max()) >= 10**width:
        width = len(str(int(nums.max())))
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = ((nums[:, None] // powers) % 10 + 48).astype(np.uint8)
    body = np.concatenate([np.broadcast_to(head, (nums.size, head.size)), digits], axis=1)
    row_len = head.size + width
    offsets = np.arange(nums.size + 1, dtype=np.int32) * row_len
    return pa.StringArray.from_buffers(
        nums.size, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(body))
    )


def constant(value: str, n: int) -> pa.Array:
    """A dictionary-encoded string column holding ``value`` ``n`` times."""
    return pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n, dtype=np.int32)), pa.array([value], pa.string())
    )


def categorical(codes: np.ndarray, values: list[str] | tuple[str, ...]) -> pa.Array:
    """A dictionary-encoded string column: ``values[codes[i]]``."""
    return pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(codes, dtype=np.int32)), pa.array(list(values), pa.string())
    )


def timestamps(seconds: np.ndarray) -> pa.Array:
    """``timestamp[us, UTC]`` column from epoch seconds; ``NO_TIME`` entries become null."""
    secs = np.asarray(seconds, dtype=np.int64)
    mask = secs == NO_TIME
    return pa.array(secs * 1_000_000, type=TIMESTAMP, mask=mask if mask.any() else None)


def amounts(cents: np.ndarray) -> pa.Array:
    """``decimal(12, 2)`` column from integer cents (non-negative)."""
    c = np.asarray(cents, dtype=np.int64)
    raw = np.zeros((c.size, 2), dtype=np.int64)
    raw[:, 0] = c
    raw[:, 1] = np.where(c < 0, -1, 0)
    return pa.Array.from_buffers(AMOUNT, c.size, [None, pa.py_buffer(raw)])


def cents_text(cents: np.ndarray) -> list[str]:
    """``"12.34"`` strings for integer cents."""
    return [f"{c // 100}.{c % 100:02d}" for c in np.asarray(cents, dtype=np.int64).tolist()]


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    """CSV text (``\\n`` line ends, minimal quoting) for a header and rows."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def csv_rows_text(rows: list[list[str]]) -> str:
    """CSV text of data rows only (no header), as ``csv_text`` writes them."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text (no BOM, ``\\n`` line ends)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
