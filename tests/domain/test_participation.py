"""填报率 (bot.domain.participation): days due on China's calendar, a holiday, a weekend, a leave and a
finished project not due; per liaison, per unit, per week; the web's day marks from the same rule."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.leave import LeaveSpan
from bot.domain.participation import (
    DayMasks,
    Duty,
    Tally,
    Week,
    day_bits,
    last_weeks,
    participation,
    reported_masks,
)
from bot.domain.stage_events import FINISH
from bot.domain.stage_history import Move
from bot.domain.workdays import DayOverride, WorkCalendar
from bot.web.pages.reporting import _counted

# Four weeks up to Sunday 2026-10-11 on the official 2026 calendar: 中秋节 Friday 9/25 and National Day
# 10/1–10/7 off; Sundays 9/20 and 9/27 and Saturday 10/10 worked (调休).
CALENDAR = WorkCalendar([
    *(DayOverride(day=date(2026, 10, d), working=False, name="国庆节") for d in range(1, 8)),
    DayOverride(day=date(2026, 9, 25), working=False, name="中秋节"),
    DayOverride(day=date(2026, 9, 20), working=True, name="调休上班"),
    DayOverride(day=date(2026, 9, 27), working=True, name="调休上班"),
    DayOverride(day=date(2026, 10, 10), working=True, name="调休上班"),
])
CUTOFF = date(2026, 10, 11)
WEEKS = last_weeks(CUTOFF)
HAO, WU = 1, 2


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def day_marks(duty: Duty, span: list[date], calendar: WorkCalendar, reported: set[date], *,
              today: date | None = None) -> list[str]:
    """Per day of ``span`` (consecutive), its mark as the web's heat map reads it (``DayMasks.marks``): "ok" due and
    reported, "miss" due and not, "wait" due and not yet (``today`` or later), "extra" reported though not due,
    "off" neither."""
    masks = DayMasks(span[0], span[-1], calendar)
    marks = masks.marks(duty, masks.mask(reported), today=today)
    return [marks.at(n) for n in range(len(span))]


def test_the_four_weeks_end_with_the_cut_off_days_week() -> None:
    assert WEEKS == [Week(date(2026, 9, 14), date(2026, 9, 20)), Week(date(2026, 9, 21), date(2026, 9, 27)),
                     Week(date(2026, 9, 28), date(2026, 10, 4)), Week(date(2026, 10, 5), date(2026, 10, 11))]
    assert last_weeks(date(2026, 11, 25))[-1] == Week(date(2026, 11, 23), date(2026, 11, 25))  # a week under way


@pytest.fixture
def counted():  # type: ignore[no-untyped-def]
    """郝芳 (on leave 9/30–10/9) holds A; 武杰 holds B and the finished C; A and B are 区住建局's, C 区工信局's.
    A reported every working day before her leave and on 10/10; B every working day but 9/14 and on Sunday
    10/4 (a holiday); C (竣工) every day."""
    leave = LeaveSpan(HAO, date(2026, 9, 30), date(2026, 10, 9), WU)
    duties = [Duty(10, "A", "在建", "区住建局", HAO, "郝芳", (leave,)),
              Duty(11, "B", "前期", "区住建局", WU, "武杰"),
              Duty(12, "C", "竣工", "区工信局", WU, "武杰")]
    working = [d for d in days(date(2026, 9, 14), CUTOFF) if CALENDAR.is_working_day(d)]
    reported = {
        10: {d for d in working if d < date(2026, 9, 30)} | {date(2026, 10, 10), date(2026, 10, 2)},
        11: {d for d in working if d != date(2026, 9, 14)} | {date(2026, 10, 4)},
        12: set(days(date(2026, 9, 14), CUTOFF)),
    }
    return duties, reported, participation(duties, WEEKS, CALENDAR, reported)


def test_a_liaison_on_leave_owes_nothing_those_days(counted) -> None:  # type: ignore[no-untyped-def]
    _duties, _reported, part = counted
    hao = part.liaison(HAO)
    assert hao is not None and hao.name == "郝芳"
    # 6 and 5 working days (Sundays 9/20, 9/27 worked, Friday 9/25 中秋节); week 3: 9/28, 9/29 (9/30 on leave,
    # 10/1–10/4 the holiday); week 4: only 10/10 (10/5–10/7 the holiday, 10/8–10/9 on leave, Sunday 10/11)
    assert hao.weeks == (Tally(6, 6), Tally(5, 5), Tally(2, 2), Tally(1, 1))
    assert hao.rate == 1.0  # her report on the holiday (10/2) adds nothing


def test_a_finished_project_owes_nothing_and_a_missed_day_counts(counted) -> None:  # type: ignore[no-untyped-def]
    _duties, _reported, part = counted
    wu = part.liaison(WU)
    assert wu is not None and wu.projects == ("B", "C")
    # B alone is due (C is 竣工): the working days 6 (9/14 missed), 5, 3 (9/28–9/30), 3 (10/8–10/10)
    assert wu.weeks == (Tally(6, 5), Tally(5, 5), Tally(3, 3), Tally(3, 3))
    assert wu.rate == pytest.approx(16 / 17)


def test_units_and_the_district_pool_their_projects_days(counted) -> None:  # type: ignore[no-untyped-def]
    _duties, _reported, part = counted
    housing = part.unit("区住建局")
    assert housing is not None and housing.total == Tally(14 + 17, 14 + 16)
    industry = part.unit("区工信局")
    assert industry is not None and industry.rate is None and industry.total == Tally(0, 0)  # only C, finished
    assert [r.name for r in part.units] == ["区住建局", "区工信局"]  # nothing due: last
    assert part.district.total == housing.total
    assert [r.name for r in part.liaisons_of(housing)] == ["郝芳", "武杰"]


def test_the_web_marks_follow_the_same_rule(counted) -> None:  # type: ignore[no-untyped-def]
    duties, reported, _part = counted
    week3 = WEEKS[2].days  # 9/28 … 10/4
    assert day_marks(duties[0], week3, CALENDAR, reported[10]) == ["ok", "ok", "off", "off", "extra", "off", "off"]
    assert day_marks(duties[1], week3, CALENDAR, reported[11]) == ["ok", "ok", "ok", "off", "off", "off", "extra"]
    assert set(day_marks(duties[2], week3, CALENDAR, reported[12])) == {"extra"}
    monday = WEEKS[0].days[:1]
    assert day_marks(duties[1], monday, CALENDAR, reported[11]) == ["miss"]


def test_nothing_is_due_before_a_project_was_entered() -> None:
    """Entered on Wednesday 9/30 (the weeks before it was not in the bot): 9/30 and 10/8–10/10 are due."""
    duty = Duty(10, "A", "在建", "区住建局", HAO, "郝芳", since=date(2026, 9, 30))
    part = participation([duty], WEEKS, CALENDAR, {10: {date(2026, 9, 14), date(2026, 9, 30)}})
    assert part.district.weeks == (Tally(0, 0, True), Tally(0, 0, True), Tally(1, 1, True), Tally(3, 0))
    # the heat map: the days before it was entered are no rest days, a report then (only seeded data has one) neither
    assert day_marks(duty, WEEKS[2].days[:3], CALENDAR, {date(2026, 9, 28)}) == ["before", "before", "miss"]


def test_a_liaisons_days_are_before_entry_only_before_all_his_projects_were_entered() -> None:
    """郝芳 follows A, entered Wednesday 9/30, and B, entered Thursday 10/8 (after the holiday): in the heat map his
    days before 9/30 are 录入前; from it, a day only B had not come in by is A's (due, or a holiday off; Sunday 10/11
    is rest)."""
    a = Duty(10, "A", "在建", "区住建局", HAO, "郝芳", since=date(2026, 9, 30))
    b = Duty(11, "B", "在建", "区住建局", HAO, "郝芳", since=date(2026, 10, 8))
    masks = DayMasks(WEEKS[0].start, CUTOFF, CALENDAR)
    reported = reported_masks([(10, masks.mask([date(2026, 9, 30)]))], WEEKS[0].start)
    _units, [row] = _counted([a, b], WEEKS, CALENDAR, reported, CUTOFF)
    cells = dict(zip(masks.days, row.cells, strict=True))
    assert {cells[d] for d in days(WEEKS[0].start, date(2026, 9, 29))} == {"before"}
    assert [cells[d] for d in days(date(2026, 9, 30), date(2026, 10, 11))] == [
        "ok", "off", "off", "off", "off", "off", "off", "off", "miss", "miss", "miss", "off"]


def test_a_week_before_entry_is_the_web_pages_days_before_entry() -> None:
    """The PNG heat map's weeks 录入台账前 (``Tally.before_entry``) follow the web page's days (``pooled_before``):
    郝芳's A entered 9/30 and B 10/8: his two first weeks owed nothing because neither was entered yet; the third
    owed 9/30 (its first days are before entry, but the week is counted); a unit with a project followed all
    along has no week before entry, nor has the district."""
    a = Duty(10, "A", "在建", "区住建局", HAO, "郝芳", since=date(2026, 9, 30))
    b = Duty(11, "B", "在建", "区住建局", HAO, "郝芳", since=date(2026, 10, 8))
    old = Duty(12, "C", "在建", "区交通局", WU, "武杰", since=date(2026, 9, 1))
    part = participation([a, b, old], WEEKS, CALENDAR, {})
    hao = part.liaison(HAO)
    assert hao is not None
    assert [t.before_entry for t in hao.weeks] == [True, True, False, False]
    assert [t.due for t in hao.weeks] == [0, 0, 1, 6]
    housing = part.unit("区住建局")
    assert housing is not None and [t.before_entry for t in housing.weeks] == [True, True, False, False]
    assert not any(t.before_entry for t in part.district.weeks)  # C was followed all along
    # the web marks the same weeks' days 录入前: every day of the first two weeks
    masks = DayMasks(WEEKS[0].start, CUTOFF, CALENDAR)
    _units, rows = _counted([a, b, old], WEEKS, CALENDAR, reported_masks([], WEEKS[0].start), CUTOFF)
    row = next(r for r in rows if r.name == "郝芳")
    cells = dict(zip(masks.days, row.cells, strict=True))
    assert {cells[d] for d in WEEKS[0].days + WEEKS[1].days} == {"before"}
    # a week off (国庆) of a project followed all along is not before entry
    holiday = participation([old], [Week(date(2026, 10, 1), date(2026, 10, 7))], CALENDAR, {})
    assert holiday.district.weeks == (Tally(0, 0),) and not holiday.district.weeks[0].before_entry


def test_a_project_entered_finished_in_the_weeks_is_not_listed_one_finished_in_them_is() -> None:
    """Both are given for the days before their 竣工 in the weeks (their stage moved then): D, entered on 10/9 as
    竣工 that day, owed none and is not listed (nor its liaison, nor its unit); E, finished on 10/9, owed 9/28–9/30
    and 10/8 and is listed for them."""
    finish = (Move(FINISH, date(2026, 10, 9)),)
    entered = Duty(13, "D", "竣工", "区工信局", HAO, "郝芳", since=date(2026, 10, 9), moves=finish)
    finished = Duty(14, "E", "竣工", "区住建局", WU, "武杰", since=date(2026, 9, 28), moves=finish)
    part = participation([entered, finished], WEEKS, CALENDAR, {14: {date(2026, 9, 28)}})
    assert [r.name for r in part.liaisons] == ["武杰"] and [r.name for r in part.units] == ["区住建局"]
    assert part.district.weeks == (Tally(0, 0, True), Tally(0, 0, True), Tally(3, 1), Tally(1, 0))
    masks = DayMasks(WEEKS[0].start, CUTOFF, CALENDAR)
    assert not masks.listed(entered) and masks.listed(finished)


def test_a_working_sunday_entered_after_it_passed_is_not_due() -> None:
    """Sunday 10/11 made a 调休 working day on Monday 10/12: nobody was asked, so the web's mark and the week's
    填报率 leave it out; a report sent that day is an "extra", as on a rest day."""
    late = WorkCalendar([DayOverride(day=CUTOFF, working=True, entered=date(2026, 10, 12))])
    duty = Duty(10, "A", "在建", "区住建局", HAO, "郝芳")
    week = WEEKS[3].days  # 10/5 … 10/11: 国庆节 to 10/7, then Thursday to the 调休 Saturday due
    assert day_marks(duty, week, late, {CUTOFF})[-1] == "extra"
    assert participation([duty], WEEKS, late, {10: set(week[3:6])}).district.weeks[3] == Tally(3, 3)
    in_time = WorkCalendar([DayOverride(day=CUTOFF, working=True, entered=date(2026, 10, 9))])
    assert day_marks(duty, week, in_time, set())[-1] == "miss"


def test_a_day_under_way_counts_once_it_is_over() -> None:
    """Thursday 10/8 at 10:00 (the cut-off today): A has reported today, B not yet. Neither counts in 填报率
    until the day is over (a report already in would lift the share while B still has until the evening);
    the heat map shows A's today as reported and B's as 待填报 ("wait"), not missed; the days before as ever.
    The next morning, 10/8 counts: A's report and B's miss."""
    duties = [Duty(10, "A", "在建", "区住建局", HAO, "郝芳"), Duty(11, "B", "前期", "区住建局", WU, "武杰")]
    today = date(2026, 10, 8)
    weeks = last_weeks(today)
    reported = {10: {today}, 11: set()}
    part = participation(duties, weeks, CALENDAR, reported, today=today)
    assert part.district.weeks[-1] == Tally(0, 0) and part.district.weeks[-1].rate is None  # 10/5–10/7: 国庆节
    assert part.unit("区住建局").weeks[:3] == (Tally(12, 0), Tally(10, 0), Tally(6, 0))
    assert part.liaison(HAO).total == part.liaison(WU).total == Tally(14, 0)
    without_fix = participation(duties, weeks, CALENDAR, reported)  # the day counted as over (a past cut-off)
    assert without_fix.liaison(WU).weeks[-1] == Tally(1, 0) and without_fix.liaison(HAO).weeks[-1] == Tally(1, 1)
    assert day_marks(duties[0], weeks[-1].days, CALENDAR, reported[10], today=today)[-1] == "ok"
    assert day_marks(duties[1], weeks[-1].days, CALENDAR, set(), today=today) == ["off", "off", "off", "wait"]
    assert day_marks(duties[1], weeks[-2].days[:2], CALENDAR, set(), today=today) == ["miss", "miss"]
    tomorrow = date(2026, 10, 9)
    later = participation(duties, last_weeks(tomorrow), CALENDAR, reported, today=tomorrow)
    assert later.liaison(HAO).weeks[-1] == Tally(1, 1) and later.liaison(WU).weeks[-1] == Tally(1, 0)


def test_nobody_due_means_no_rate() -> None:
    part = participation([], WEEKS, CALENDAR, {})
    assert part.units == [] and part.liaisons == [] and part.district.rate is None
    assert len(part.district.weeks) == 4


@given(st.dictionaries(st.integers(1, 10_000), st.sets(st.sampled_from(days(WEEKS[0].start, CUTOFF)), min_size=1)))
def test_the_days_a_project_reported_come_back_from_their_mask(reported: dict[int, set[date]]) -> None:
    """The reported days are read as one mask per project, the sum of the distinct bits of its report days
    (storage.participation.reported_day_masks): the masks counted are those of the days, and give them back."""
    bits = day_bits(WEEKS[0].start, CUTOFF)
    assert len(bits) == 28 and set(bits.values()) == {1 << n for n in range(28)}
    rows = [(project_id, sum(bits[d] for d in found)) for project_id, found in reported.items()]
    counter = DayMasks(WEEKS[0].start, CUTOFF, CALENDAR)
    assert reported_masks(rows, WEEKS[0].start).masks == {project_id: counter.mask(found)
                                                          for project_id, found in reported.items()}
    assert {project_id: {day for day, bit in bits.items() if mask & bit} for project_id, mask in rows} == reported


def test_a_mask_holds_at_most_62_days() -> None:
    with pytest.raises(ValueError):
        day_bits(date(2026, 1, 1), date(2026, 3, 31))


def test_the_masks_read_count_as_the_days_they_hold(counted) -> None:  # type: ignore[no-untyped-def]
    """/rank 填报, the weekly bulletin and the web count the masks as read (``ReportedMasks``): the same rows as
    the days themselves, today under way or not; masks of another range are refused."""
    duties, reported, part = counted
    bits = day_bits(WEEKS[0].start, CUTOFF)
    rows = [(project_id, sum(bits[d] for d in found)) for project_id, found in reported.items()]
    assert participation(duties, WEEKS, CALENDAR, reported_masks(rows, WEEKS[0].start)) == part
    today = date(2026, 10, 10)
    weeks = last_weeks(today)
    assert participation(duties, weeks, CALENDAR, reported_masks(rows, weeks[0].start), today=today) == \
        participation(duties, weeks, CALENDAR, reported, today=today)
    with pytest.raises(ValueError):
        participation(duties, WEEKS, CALENDAR, reported_masks(rows, WEEKS[1].start))


def test_the_heat_map_works_out_a_moved_projects_due_days_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The web's heat map asks a project's due days once per counting (whether it is listed, then its marks): a
    project whose stage moved in the weeks has them worked out day by day."""
    asked: Counter[tuple[int, str]] = Counter()
    real = DayMasks.owed

    def owed(self: DayMasks, duty: Duty) -> int:
        asked[(id(self), duty.code)] += 1
        return real(self, duty)

    monkeypatch.setattr(DayMasks, "owed", owed)
    finished = Duty(14, "E", "竣工", "区住建局", WU, "武杰", since=date(2026, 9, 28),
                    moves=(Move(FINISH, date(2026, 10, 9)),))
    reported = reported_masks([(14, day_bits(WEEKS[0].start, CUTOFF)[date(2026, 9, 28)])], WEEKS[0].start)
    units, rows = _counted([finished], WEEKS, CALENDAR, reported, CUTOFF)
    assert [u.name for u in units] == ["区住建局"] and [(r.name, r.missed) for r in rows] == [("武杰", 3)]
    assert len(asked) == 2 and set(asked.values()) == {1}  # 填报率's counting and the heat map's, once each


def test_a_backfilled_day_is_a_miss_in_the_share_and_marked_on_the_heat_map(counted) -> None:  # type: ignore[no-untyped-def]
    """武杰 missed B's Monday 9/14 and the 项目办 entered it afterwards (补报): his 填报率 still misses it, and
    the web's heat map shows the day as "late" (补报) rather than "miss", counted among his days not reported."""
    duties, reported, part = counted
    bits = day_bits(WEEKS[0].start, CUTOFF)
    rows = [(project_id, sum(bits[d] for d in found), bits[date(2026, 9, 14)] if project_id == 11 else 0)
            for project_id, found in reported.items()]
    masks = reported_masks(rows, WEEKS[0].start)
    assert participation(duties, WEEKS, CALENDAR, masks) == part  # the 补报 is no report of his
    _units, liaisons = _counted(duties, WEEKS, CALENDAR, masks, CUTOFF + timedelta(days=1))
    wu = next(r for r in liaisons if r.name == "武杰")
    assert wu.cells[0] == "late" and "miss" not in wu.cells
    assert wu.missed == 1
