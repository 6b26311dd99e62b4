"""The time frame of one tenant's data, in UTC epoch seconds.

All generated timestamps are whole seconds; the frame is built from the tenant's local
calendar days so that "the last N local days ending at end_date" holds in its time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

#: Daily files are written for this many local days at the end of the frame.
DAILY_FILE_DAYS = 3
#: Some customers were created up to this many days before the frame starts.
PREHISTORY_DAYS = 180


def local_midnight(day: date, tz: str) -> int:
    """UTC epoch seconds of local midnight starting ``day`` in time zone ``tz``."""
    local = datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(tz))
    return int(local.astimezone(UTC).timestamp())


@dataclass(frozen=True)
class Frame:
    """Bounds of one tenant's generated data (UTC epoch seconds).

    ``start`` is local midnight of the first day, ``end`` local midnight after
    ``end_date`` (exclusive: the latest timestamp is ``end - 1``), ``daily_bounds`` the
    local midnights splitting the last days into the daily files.
    """

    start: int
    end: int
    prehistory_start: int
    daily_dates: tuple[date, ...]
    daily_bounds: tuple[int, ...]  # len(daily_dates) + 1 boundaries, last == end

    @property
    def history_end(self) -> int:
        """Rows before this instant go to the Parquet history parts."""
        return self.daily_bounds[0]

    def daily_index(self, seconds: np.ndarray) -> np.ndarray:
        """Per timestamp: index into ``daily_dates``, or -1 when before the daily days."""
        return np.searchsorted(np.asarray(self.daily_bounds), seconds, side="right") - 1


def build_frame(end_date: date, days: int, tz: str) -> Frame:
    """The frame of ``days`` local days ending at ``end_date`` inclusive in ``tz``."""
    if days < 1:
        raise ValueError("days must be at least 1")
    first = end_date - timedelta(days=days - 1)
    n_daily = min(DAILY_FILE_DAYS, days)
    daily_dates = tuple(end_date - timedelta(days=n_daily - 1 - i) for i in range(n_daily))
    bounds = tuple(local_midnight(d, tz) for d in daily_dates) + (
        local_midnight(end_date + timedelta(days=1), tz),
    )
    start = local_midnight(first, tz)
    return Frame(
        start=start,
        end=bounds[-1],
        prehistory_start=start - PREHISTORY_DAYS * 86_400,
        daily_dates=daily_dates,
        daily_bounds=bounds,
    )


def iso(seconds: int) -> str:
    """``2026-10-31T13:05:00Z`` for UTC epoch seconds."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_array(seconds: np.ndarray, null: int = -1) -> list[str]:
    """ISO strings (``...Z``) for an array of epoch seconds; ``null`` entries become ``""``."""
    secs = np.asarray(seconds, dtype=np.int64)
    text = np.datetime_as_string(secs.astype("datetime64[s]"), unit="s")
    pairs = zip(secs.tolist(), text.tolist(), strict=True)
    return [("" if s == null else t + "Z") for s, t in pairs]
