"""The month a cost report covers: parsing ``YYYY-MM``, its UTC boundaries, and the projection.

A past month's projection is what it actually cost. The current month's is the spend so far
divided by the days elapsed, times the days in the month; until a whole day has passed the
spend so far counts as one day's, so a few early calls do not project a wild figure. A month
that has not started has no report.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from editorial_assistant.errors import InvalidInput

MONTH_PATTERN = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


class InvalidMonth(InvalidInput):
    """A month that is not ``YYYY-MM``, or one that has not started yet."""

    code = "invalid_month"
    hint = "Give the month as YYYY-MM, such as 2026-11: the current month or an earlier one."


@dataclass(frozen=True)
class Month:
    """One calendar month in UTC: ``start`` inclusive, ``end`` exclusive."""

    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        """``YYYY-MM``."""
        return self.start.strftime("%Y-%m")

    @property
    def days(self) -> int:
        """How many days the month has."""
        return calendar.monthrange(self.start.year, self.start.month)[1]


def month_of(moment: datetime) -> Month:
    """The month ``moment`` falls in (UTC)."""
    utc = moment.astimezone(timezone.utc)
    return _month(utc.year, utc.month)


def parse_month(text: str | None, *, now: datetime) -> Month:
    """``YYYY-MM`` as a month; none means the current one; a future month is refused."""
    current = month_of(now)
    if text is None or text == "":
        return current
    match = MONTH_PATTERN.fullmatch(text.strip())
    if match is None or int(match.group(1)) < 1:
        shown = text if len(text) <= 20 else text[:20] + "…"
        raise InvalidMonth(f"{shown!r} is not a month: use YYYY-MM, such as {current.label}.")
    year, number = int(match.group(1)), int(match.group(2))
    if (year, number) > (current.start.year, current.start.month):
        raise InvalidMonth(
            f"{match.group(0)} has not started yet (it is {current.label} now): "
            f"ask for {current.label} or an earlier month."
        )
    return _month(year, number)


def projection(*, spent: float, month: Month, now: datetime) -> dict[str, Any]:
    """The month's expected total: actual when it is over, else the run rate to its end."""
    over = now >= month.end
    elapsed = month.days if over else (now - month.start) / timedelta(days=1)
    rate = spent / max(elapsed, 1.0)
    return {
        "basis": "actual" if over else "run_rate",
        "projected_usd": round(spent if over else rate * month.days, 6),
        "days_elapsed": round(elapsed, 4),
        "days_in_month": month.days,
        "daily_run_rate_usd": round(rate, 6),
    }


def _month(year: int, month: int) -> Month:
    start = datetime(year, month, 1, tzinfo=timezone.utc)
    days = calendar.monthrange(year, month)[1]
    return Month(start=start, end=start + timedelta(days=days))
