from datetime import date
from decimal import Decimal

import pytest

from bot.domain.progress import (
    LightThresholds,
    RateCount,
    StageInfo,
    completion_decimal,
    completion_rate,
    finish_rate,
    gap_points,
    previous_week_end,
    schedule_progress,
    start_and_finish_rates,
    start_rate,
    traffic_light,
)

# --- schedule progress -------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 1, 1), 1 / 365),
        (date(2025, 6, 30), 181 / 365),
        (date(2025, 12, 31), 1.0),
        (date(2024, 1, 1), 1 / 366),
        (date(2024, 2, 29), 60 / 366),
        (date(2024, 6, 30), 182 / 366),
        (date(2024, 12, 31), 1.0),
    ],
)
def test_schedule_progress(day: date, expected: float) -> None:
    assert schedule_progress(day) == pytest.approx(expected)


def test_schedule_progress_half_year_crossing() -> None:
    assert round(schedule_progress(date(2025, 6, 30)) * 100, 1) == 49.6
    assert schedule_progress(date(2025, 7, 1)) < 0.5  # day 182 of 365
    assert schedule_progress(date(2025, 7, 2)) > 0.5
    assert schedule_progress(date(2024, 7, 1)) == 0.5  # day 183 of 366


def test_weekly_cut_off_is_last_sunday_and_drives_schedule_progress() -> None:
    # Bulletin issued Monday 1 July 2024 (leap year): cut-off is Sunday 30 June.
    cut_off = previous_week_end(date(2024, 7, 1))
    assert cut_off == date(2024, 6, 30)
    assert schedule_progress(cut_off) == pytest.approx(182 / 366)
    # Issued on a Sunday: the previous week ended a week earlier, not today.
    assert previous_week_end(date(2024, 7, 7)) == date(2024, 6, 30)
    # Cut-off across the new year belongs to the previous year.
    cut_off = previous_week_end(date(2025, 1, 2))
    assert cut_off == date(2024, 12, 29)
    assert schedule_progress(cut_off) == pytest.approx(364 / 366)


# --- completion rate and gap -------------------------------------------------


def test_completion_rate() -> None:
    assert completion_rate(Decimal("2500"), Decimal("10000")) == pytest.approx(0.25)
    assert completion_rate(Decimal("12000"), Decimal("10000")) == pytest.approx(1.2)


@pytest.mark.parametrize("plan", [Decimal("0"), Decimal("0.00"), None, Decimal("-5")])
def test_completion_rate_without_plan_is_none(plan: Decimal | None) -> None:
    assert completion_rate(Decimal("300"), plan) is None
    assert completion_decimal(Decimal("300"), plan) is None


def test_the_completion_rate_is_the_decimal_one_as_a_float() -> None:
    # 57 万元 more on a plan of 22,800: exactly 0.25 points in decimal
    before, after = Decimal("5700"), Decimal("5757")
    plan = Decimal("22800")
    assert (completion_decimal(after, plan) - completion_decimal(before, plan)) * 100 == Decimal("0.25")
    assert completion_rate(after, plan) == float(completion_decimal(after, plan))


def test_gap_points() -> None:
    assert gap_points(0.25, 0.373) == pytest.approx(-12.3)
    assert gap_points(0.6, 0.5) == pytest.approx(10.0)
    assert gap_points(None, 0.5) is None


def test_gap_points_removes_float_noise() -> None:
    # 0.9 - 1.0 is -0.09999999999999998 in floats; the gap must be exactly -10.
    assert gap_points(0.9, 1.0) == -10.0
    assert gap_points(0.7, 1.0) == -30.0


# --- traffic light -----------------------------------------------------------

MID_YEAR = date(2025, 6, 30)


@pytest.mark.parametrize(
    ("gap", "light"),
    [
        (5.0, "green"),
        (0.0, "green"),
        (-9.99, "green"),
        (-10.0, "yellow"),
        (-20.0, "yellow"),
        (-30.0, "yellow"),
        (-30.01, "red"),
    ],
)
def test_light_gap_boundaries(gap: float, light: str) -> None:
    assert traffic_light(0.5, gap, MID_YEAR) == light


def light_of(done: Decimal, plan: Decimal, day: date) -> str:
    """A project's light on ``day`` from its figures, as the standings compute it (bot.services.standings)."""
    rate = completion_rate(done, plan)
    return traffic_light(rate, gap_points(rate, schedule_progress(day)), day)


def test_light_boundaries_from_real_figures() -> None:
    # On 31 Dec schedule is 100%: 90% done is exactly 10 behind, 70% exactly 30.
    day = date(2025, 12, 31)
    assert light_of(Decimal("90"), Decimal("100"), day) == "yellow"
    assert light_of(Decimal("70"), Decimal("100"), day) == "yellow"
    assert light_of(Decimal("69.99"), Decimal("100"), day) == "red"
    assert light_of(Decimal("90.01"), Decimal("100"), day) == "green"


def test_light_late_year_rule_after_30_september() -> None:
    # 1 Oct: schedule ~74.8%. 29% done is ~45.8 behind -> red either way, so use
    # lenient gap thresholds to isolate the late-year rule.
    lenient = LightThresholds(yellow_from_points=60.0, red_from_points=90.0)
    oct_1 = date(2025, 10, 1)
    gap = gap_points(0.29, schedule_progress(oct_1))
    assert traffic_light(0.29, gap, oct_1, lenient) == "red"
    assert traffic_light(0.30, gap_points(0.30, schedule_progress(oct_1)), oct_1, lenient) == "green"


def test_light_late_year_rule_not_applied_on_30_september() -> None:
    lenient = LightThresholds(yellow_from_points=60.0, red_from_points=90.0)
    sep_30 = date(2025, 9, 30)
    gap = gap_points(0.29, schedule_progress(sep_30))
    assert traffic_light(0.29, gap, sep_30, lenient) == "green"


def test_light_late_year_rule_with_default_thresholds() -> None:
    # Gap alone would be yellow (-20); after 30 Sept a 29% rate makes it red.
    assert traffic_light(0.29, -20.0, date(2025, 9, 30)) == "yellow"
    assert traffic_light(0.29, -20.0, date(2025, 10, 1)) == "red"
    assert traffic_light(0.29, -20.0, date(2025, 12, 31)) == "red"


def test_light_cutoff_is_a_setting() -> None:
    earlier = LightThresholds(late_year_cutoff=(6, 30), late_year_min_rate=0.2)
    assert traffic_light(0.19, 5.0, date(2025, 7, 1), earlier) == "red"
    assert traffic_light(0.19, 5.0, date(2025, 6, 30), earlier) == "green"


def test_light_without_plan_is_none() -> None:
    assert traffic_light(None, None, date(2025, 12, 31)) == "none"
    rate = completion_rate(Decimal("100"), Decimal("0"))
    assert (rate, gap_points(rate, 1.0)) == (None, None)
    assert light_of(Decimal("100"), Decimal("0"), date(2025, 12, 31)) == "none"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"yellow_from_points": 40.0, "red_from_points": 30.0},
        {"yellow_from_points": -1.0},
        {"late_year_cutoff": (2, 30)},
        {"late_year_min_rate": 1.5},
    ],
)
def test_invalid_light_thresholds(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        LightThresholds(**kwargs)


def test_the_figures_of_a_project_on_a_day() -> None:
    schedule, rate = schedule_progress(date(2025, 6, 30)), completion_rate(Decimal("2500"), Decimal("10000"))
    assert schedule == pytest.approx(181 / 365)
    assert rate == pytest.approx(0.25)
    assert gap_points(rate, schedule) == pytest.approx((0.25 - 181 / 365) * 100)
    assert light_of(Decimal("2500"), Decimal("10000"), date(2025, 6, 30)) == "yellow"


# --- start / finish rates ----------------------------------------------------

Y = 2025


def test_start_rate() -> None:
    projects = [
        StageInfo("在建", planned_start=date(Y, 3, 1)),  # planned, started
        StageInfo("竣工", planned_start=date(Y, 4, 1)),  # planned, started and done
        StageInfo("前期", planned_start=date(Y, 5, 1)),  # planned, not started
        StageInfo("谋划", planned_start=date(Y, 11, 1)),  # planned, not started
        StageInfo("在建", planned_start=date(Y + 1, 3, 1), started_on=date(Y, 12, 1)),  # early start
        StageInfo("在建", planned_start=date(Y - 1, 3, 1), started_on=date(Y - 1, 3, 1)),  # 续建
        StageInfo("前期", planned_start=date(Y + 1, 3, 1)),  # next year
        StageInfo("谋划"),  # no date
    ]
    assert start_rate(projects, Y) == RateCount(3, 5, 0.6)


def test_finish_rate() -> None:
    projects = [
        StageInfo("竣工", planned_finish=date(Y, 10, 1)),
        StageInfo("投产", planned_finish=date(Y, 6, 1)),
        StageInfo("在建", planned_finish=date(Y, 12, 31)),
        StageInfo("竣工", planned_finish=date(Y + 1, 6, 1), finished_on=date(Y, 8, 1)),  # early finish
        StageInfo("投产", planned_finish=date(Y - 1, 6, 1), finished_on=date(Y - 1, 6, 1)),  # last year
        StageInfo("在建", planned_finish=date(Y + 1, 6, 1)),
    ]
    assert finish_rate(projects, Y) == RateCount(3, 4, 0.75)


def test_rates_with_nothing_to_count_are_none() -> None:
    projects = iter([StageInfo("在建", planned_start=date(Y - 1, 1, 1), planned_finish=date(Y + 1, 1, 1))])
    assert start_and_finish_rates(projects, Y) == (RateCount(0, 0, None), RateCount(0, 0, None))


def test_start_and_finish_rates_accepts_a_one_shot_iterable() -> None:
    projects = (StageInfo("竣工", planned_start=date(Y, 1, 1), planned_finish=date(Y, 9, 1)) for _ in range(2))
    assert start_and_finish_rates(projects, Y) == (RateCount(2, 2, 1.0), RateCount(2, 2, 1.0))


def test_unknown_stage_is_rejected() -> None:
    with pytest.raises(ValueError):
        StageInfo("完工")
