"""Which month a report covers, and how the month's total is projected."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from editorial_assistant.costs.period import InvalidMonth, month_of, parse_month, projection

NOW = datetime(2026, 11, 16, 12, 0, tzinfo=timezone.utc)


def test_no_month_means_the_current_one_in_utc() -> None:
    late_evening_in_wisconsin = datetime(2026, 10, 31, 20, 0, tzinfo=timezone.utc)
    assert parse_month(None, now=NOW).label == "2026-11"
    assert parse_month("", now=NOW).label == "2026-11"
    assert month_of(late_evening_in_wisconsin).label == "2026-10"


def test_a_month_runs_from_its_first_midnight_to_the_next_months() -> None:
    february = parse_month("2028-02", now=NOW.replace(year=2028, month=3))
    assert february.start == datetime(2028, 2, 1, tzinfo=timezone.utc)
    assert february.end == datetime(2028, 3, 1, tzinfo=timezone.utc)
    assert february.days == 29
    assert parse_month("2025-12", now=NOW).end == datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "0000-05", "Nov 2026", "2026-11-01"])
def test_it_refuses_what_is_not_a_month(text: str) -> None:
    with pytest.raises(InvalidMonth, match="use YYYY-MM"):
        parse_month(text, now=NOW)


def test_it_refuses_a_month_that_has_not_started() -> None:
    with pytest.raises(InvalidMonth, match="2026-12 has not started yet"):
        parse_month("2026-12", now=NOW)


def test_a_past_month_projects_its_actual_total() -> None:
    october = parse_month("2026-10", now=NOW)
    forecast = projection(spent=31.0, month=october, now=NOW)
    assert forecast["basis"] == "actual" and forecast["projected_usd"] == 31.0
    assert forecast["daily_run_rate_usd"] == 1.0


def test_the_current_month_extends_its_run_rate_to_the_end() -> None:
    november = parse_month("2026-11", now=NOW)
    forecast = projection(spent=3.1, month=november, now=NOW)  # 0.2 a day over 15.5 days
    assert forecast["basis"] == "run_rate"
    assert forecast["projected_usd"] == 6.0


def test_on_the_first_day_the_spend_so_far_counts_as_one_days() -> None:
    six_in_the_morning = datetime(2026, 11, 1, 6, 0, tzinfo=timezone.utc)
    november = month_of(six_in_the_morning)
    forecast = projection(spent=0.9, month=november, now=six_in_the_morning)
    # Not 0.9 / 0.25 x 30 = 108: a quarter of a day is too little to extrapolate from.
    assert forecast["projected_usd"] == 27.0
    assert forecast["days_elapsed"] == 0.25
