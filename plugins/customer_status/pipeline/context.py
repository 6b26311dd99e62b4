"""What every step of one run needs to know, passed between Airflow tasks as a dict."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ..settings import Paths, resolve_paths


@dataclass(frozen=True)
class RunContext:
    run_id: str
    as_of_date: date | None  # None only for a run refused for want of a date (RunDateError)
    started_at: datetime  # wall clock at the run's start, UTC (naive)
    accept_swing: bool = False

    @property
    def paths(self) -> Paths:
        return resolve_paths()

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "as_of_date": self.as_of_date.isoformat() if self.as_of_date else None,
            "started_at": self.started_at.isoformat(),
            "accept_swing": self.accept_swing,
        }

    @classmethod
    def from_dict(cls, data: dict) -> RunContext:
        return cls(
            run_id=data["run_id"],
            as_of_date=date.fromisoformat(data["as_of_date"]) if data["as_of_date"] else None,
            started_at=datetime.fromisoformat(data["started_at"]),
            accept_swing=bool(data.get("accept_swing", False)),
        )


class RunDateError(ValueError):
    """A run whose as-of date cannot be known: it must fail at once, not be retried."""


def as_of_date_for(requested: str | None, logical_date: datetime | None) -> date:
    """The as-of date of a run: the one asked for, else the day before the run's logical date.

    The DAG's schedule is a cron trigger: the run that fires on day X (after every tenant's
    local day X-1 has ended) has logical date X and computes X-1, the day that just ended.

    A manual run in Airflow 3 may have neither (triggered over the REST API or from the UI
    without a logical date). No day is guessed for it (the day before the trigger time would
    compute a day that has not ended everywhere yet, and differently by the minute it was
    triggered): ``RunDateError`` says how to trigger it.
    """
    if requested:
        try:
            return date.fromisoformat(str(requested))
        except ValueError as exc:
            raise RunDateError(
                f"as_of_date '{requested}' is not a date (YYYY-MM-DD); trigger the run again "
                'with conf {"as_of_date": "YYYY-MM-DD"}'
            ) from exc
    if logical_date is None:
        raise RunDateError(
            "this run has no as_of_date param and no logical date, so no day to compute; "
            'trigger it again with conf {"as_of_date": "YYYY-MM-DD"}, or with a logical date '
            "(the run then computes the day before it)"
        )
    return logical_date.date() - timedelta(days=1)
