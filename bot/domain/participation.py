"""填报率 (reporting participation): per liaison and per lead unit, week by week over the last four weeks,
the share of the days a report was due that have one. The one definition /rank, the weekly bulletin, the
heat-map chart and the web 填报情况 page show. Pure: no I/O and no clock.

A day is due for a project as ``bot.domain.duties.report_due`` says (a working day of the calendar, the
project still being prepared or built, its liaison not on an approved leave that day): the same rule as the
reminders and the rankings' 按时填报, which also says that the days before the project was entered in the bot
(imported or added) owe nothing: a district that starts using the bot is not at 0 % for the weeks before. So
a week's figure for a unit is its punctuality for that week, the week a project was entered included; a
project entered after the last week's end is not listed at all (it was not in the ledger then).
Reports on a day that was not due (a rest day, a leave day, a finished project) add nothing, and neither
does a 补报 (the 项目办 entering a missed day afterwards: it counts in the money; the liaison did not report).
Each day reads the stage the project was in on it (``bot.domain.stage_history``: a project finished in the
weeks owes the days before its 竣工, as the rankings count it); the liaison is the current one. Projects
without a liaison count for their unit.

A day still under way (``today``, when the cut-off is today) counts only once it is over: liaisons have until
the evening. Until then it is neither owed nor reported in 填报率, a report already sent that day included (it
would lift the share while the others still have time); the heat map marks it "ok" when reported and "wait"
(待填报) when not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import NamedTuple

from bot.domain.duties import REPORTING_STAGES, due_days, entered_by, last_owed_day, report_due
from bot.domain.leave import LeaveSpan
from bot.domain.ranking import share
from bot.domain.stage_history import Move, stage_on
from bot.domain.worded import worded
from bot.domain.workdays import WorkCalendar

__all__ = ["WEEKS", "DayMasks", "Duty", "Marks", "Participation", "ReportedMasks", "Row", "Tally", "Week", "day_bits",
           "last_weeks", "participation", "pooled_before", "reported_masks"]

WEEKS = 4  # the weeks a participation covers
DISTRICT: str = worded("code_labels.j2", "district_name")  # the district's row: every unit's days pooled


@dataclass(frozen=True)
class Week:
    """One week of a participation: Monday to Sunday, or to the cut-off day for the week under way."""

    start: date
    end: date

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    @property
    def label(self) -> str:
        """The week as the charts name it: its Monday, 11-16."""
        return f"{self.start:%m-%d}"


def last_weeks(cutoff: date, weeks: int = WEEKS) -> list[Week]:
    """The week of ``cutoff`` (Monday to ``cutoff``) and the ``weeks - 1`` before it, oldest first."""
    monday = cutoff - timedelta(days=cutoff.weekday())
    found = [Week(monday, cutoff)]
    for _ in range(weeks - 1):
        monday -= timedelta(days=7)
        found.insert(0, Week(monday, monday + timedelta(days=6)))
    return found


class Duty(NamedTuple):
    """A project as participation counts it: its stage, lead unit and liaison now, the liaison's leaves and the
    project's confirmed stage moves (a day reads the stage it was in then). (A named tuple: thousands are read for
    each 填报情况 page on a large district, at a seventh of a frozen dataclass's cost.)"""

    project_id: int
    code: str
    stage: str
    unit: str
    liaison_id: int | None
    liaison: str | None
    away: tuple[LeaveSpan, ...] = ()
    since: date | None = None  # the local day it was entered in the bot: nothing is due before (report_due)
    moves: tuple[Move, ...] = ()  # its 开工, 竣工 and reopenings (bot.domain.stage_history)


@dataclass(frozen=True)
class Tally:
    """Days a report was due, and of those the days one came in (a project-day each)."""

    due: int = 0
    reported: int = 0
    before: bool = False  # a day of it came before every project counted was entered in the bot (pooled_before)

    @property
    def rate(self) -> float | None:
        """reported ÷ due; None when nothing was due."""
        return share(self.reported, self.due)

    @property
    def before_entry(self) -> bool:
        """Nothing was due and the projects were not entered yet (录入台账前), as the web heat map marks such a
        day: not a week off (节假日、请假、已竣工)."""
        return self.due == 0 and self.before

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.due + other.due, self.reported + other.reported, self.before and other.before)


@dataclass(frozen=True)
class Row:
    """A liaison's or a unit's tallies, one per week, oldest first."""

    name: str
    weeks: tuple[Tally, ...]
    projects: tuple[str, ...] = ()  # the codes counted
    person_id: int | None = None  # a liaison's row: whose

    @cached_property
    def total(self) -> Tally:
        return Tally(sum(t.due for t in self.weeks), sum(t.reported for t in self.weeks))

    @cached_property
    def rate(self) -> float | None:
        """The share over the four weeks (the days pooled, not the weeks' rates averaged)."""
        return self.total.rate


@dataclass(frozen=True)
class Participation:
    """The units' and liaisons' rows (best first, those with nothing due last) and the district's."""

    weeks: tuple[Week, ...]
    units: list[Row] = field(default_factory=list)
    liaisons: list[Row] = field(default_factory=list)
    district: Row = field(default_factory=lambda: Row(DISTRICT, ()))

    def unit(self, name: str) -> Row | None:
        return next((r for r in self.units if r.name == name), None)

    def liaison(self, person_id: int) -> Row | None:
        return next((r for r in self.liaisons if r.person_id == person_id), None)

    def liaisons_of(self, unit: Row) -> list[Row]:
        """The liaisons of the unit's projects (their rows count all their projects), best first."""
        codes = set(unit.projects)
        return [r for r in self.liaisons if codes.intersection(r.projects)]


class DayMasks:
    """Sets of the days of ``start``..``end`` as masks (bit n: day n, ``day_bits``), a project's owed days asked
    once per stage (then only for the projects with a leave or entered since): the counting of ``participation``
    and the web's heat map, a few integer operations a project rather than a few per project and day."""

    def __init__(self, start: date, end: date, calendar: WorkCalendar) -> None:
        self.start, self.calendar = start, calendar
        self.days = [start + timedelta(days=n) for n in range((end - start).days + 1)] if start <= end else []
        self.bit = day_bits(start, end) if self.days else {}
        self._stages: dict[str, tuple[list[date], int]] = {}
        self._pending: dict[date | None, int] = {}  # the days not over by a ``today``
        self._before: dict[date, int] = {}  # the days before a project was entered, by that day

    def mask(self, days: Iterable[date]) -> int:
        """The mask of those of ``days`` in the range (the others are left out)."""
        found = 0
        for day in days:
            found |= self.bit.get(day, 0)
        return found

    def owed(self, duty: Duty) -> int:
        """The days the project owed a report (``due_days``, with its liaison's leaves and the day it was
        entered, each day in the stage the project was in on it)."""
        if duty.moves and self.days and any(move.day > self.days[0] for move in duty.moves):
            return self.mask(d for d in self.days if report_due(d, stage_on(duty.stage, duty.moves, d), self.calendar,
                                                                 away=duty.away, entered=duty.since))
        if duty.stage not in self._stages:
            days = due_days(self.days, duty.stage, self.calendar)
            self._stages[duty.stage] = (days, self.mask(days))
        days, mask = self._stages[duty.stage]
        if duty.away or (duty.since is not None and days and days[0] < duty.since):
            return self.mask(due_days(days, duty.stage, self.calendar, away=duty.away, entered=duty.since))
        return mask

    def listed(self, duty: Duty, owed: int | None = None) -> bool:
        """Whether the project is listed at all: one given for the days before its 竣工 in these weeks (finished
        now, its stage moved in them) is, only when it owed one (entered finished, it owed none)."""
        if duty.stage in REPORTING_STAGES or not duty.moves:
            return True
        return bool(self.owed(duty) if owed is None else owed)

    def marks(self, duty: Duty, reported: int, *, today: date | None = None, owed: int | None = None,
              backfilled: int = 0) -> Marks:
        """The project's days as ``Marks`` (a day not over by ``today`` is "wait" when due and not reported yet);
        ``reported``: the mask of the days its liaison reported; ``owed``: its ``owed`` days when the caller has
        them; ``backfilled``: the mask of its days whose report the 项目办 entered afterwards (补报: "late")."""
        if owed is None:
            owed = self.owed(duty)
        if today not in self._pending:
            self._pending[today] = 0 if today is None else self.mask(d for d in self.days if d >= today)
        pending = self._pending[today]
        missing = owed & ~reported
        late = missing & backfilled & ~pending
        return Marks(ok=owed & reported, miss=missing & ~pending & ~late, wait=missing & pending,
                     extra=reported & ~owed, late=late, before=self.before(duty))

    def before(self, duty: Duty) -> int:
        """The days before the project was entered in the bot (``Duty.since``): it was not followed here yet."""
        if duty.since is None or not self.days or duty.since <= self.days[0]:
            return 0
        if duty.since not in self._before:
            self._before[duty.since] = self.mask(d for d in self.days if d < duty.since)
        return self._before[duty.since]


class Marks(NamedTuple):
    """A project's days as masks over ``DayMasks.days``: "ok" due and reported, "miss" due and missed, "wait" due
    and not reported yet, "extra" reported though not due, "late" due, missed by the liaison and entered by the
    项目办 afterwards (补报: a miss in 填报率), "before" the days before the project was entered in the bot (owing
    nothing: not a rest day either); a day in none of them is "off". (A named tuple: one
    is made per project for the heat map, thousands on a large district, at a third of a frozen dataclass's cost.)"""

    ok: int = 0
    miss: int = 0
    wait: int = 0
    extra: int = 0
    late: int = 0
    before: int = 0

    def at(self, n: int) -> str:
        """The mark of day n."""
        bit = 1 << n
        return ("ok" if self.ok & bit else "miss" if self.miss & bit else "late" if self.late & bit
                else "wait" if self.wait & bit else "before" if self.before & bit else "extra" if self.extra & bit
                else "off")


def pooled_before(pooled: int | None, before: int) -> int:
    """The days 录入台账前 of a row of projects (a liaison's, a unit's, the district's), with one more project whose
    days before its entry are ``before`` (``Marks.before``): the days before every one of them was entered in the
    bot, when none was followed here yet. ``pooled``: the row's so far, None before its first project. The one
    rule of the web heat map's 录入台账前 days and the PNG's weeks (``Tally.before_entry``)."""
    return before if pooled is None else pooled & before


def day_bits(start: date, end: date) -> dict[date, int]:
    """Each day of ``start``..``end`` → its bit in a mask of days (the first day 1, the next 2, then 4…)."""
    count = (end - start).days + 1
    if not 0 < count <= 62:
        raise ValueError(f"a mask holds 1 to 62 days, not {count}: {start}..{end}")
    return {start + timedelta(days=n): 1 << n for n in range(count)}


@dataclass(frozen=True)
class ReportedMasks:
    """The days each project's liaison reported, as masks of the days from ``start`` (``day_bits``), and the days
    whose report is a 补报 the 项目办 entered afterwards (not the liaison's: they count in the money, not here):
    what ``storage.participation.reported_day_masks`` reads, counted as it is (``participation``, the heat map)."""

    start: date
    masks: Mapping[int, int]
    backfilled: Mapping[int, int] = field(default_factory=dict)


def reported_masks(rows: Iterable[tuple[int, ...]], start: date) -> ReportedMasks:
    """The (project id, mask of the days from ``start``[, mask of its 补报 days]) rows as ``ReportedMasks``."""
    masks: dict[int, int] = {}
    backfilled: dict[int, int] = {}
    for project_id, mask, *late in rows:
        if mask:
            masks[project_id] = int(mask)
        if late and late[0]:
            backfilled[project_id] = int(late[0])
    return ReportedMasks(start, masks, backfilled)


def _ordered(rows: Iterable[Row]) -> list[Row]:
    """Best share first, ties by name; rows with nothing due last."""
    return sorted(rows, key=lambda r: (r.rate is None, -(r.rate or 0.0), r.name))


def participation(duties: Iterable[Duty], weeks: Sequence[Week], calendar: WorkCalendar,
                  reported: Mapping[int, Collection[date]] | ReportedMasks, *,
                  today: date | None = None) -> Participation:
    """Each unit's and liaison's tallies per week; ``reported``: project id → the days its liaison reported (or
    those days as masks: a 补报 the 项目办 entered is not one); ``today``: the day under way, when the weeks
    reach it: it (and any later day) counts for nothing yet."""
    first = weeks[0].start
    last = last_owed_day(weeks[-1].end, today=today)
    counter = DayMasks(first, last, calendar)
    week_masks = [counter.mask(week.days) for week in weeks]
    if isinstance(reported, ReportedMasks):
        if reported.start != first:
            raise ValueError(f"masks from {reported.start}, weeks from {first}")
        masks: Mapping[int, int] = reported.masks
    else:
        masks = {project_id: counter.mask(days) for project_id, days in reported.items()}

    def weekly() -> list[list[int]]:  # [due, reported] a week
        return [[0, 0] for _ in weeks]

    # made the first time a unit or liaison comes up (a setdefault would make them anew for every project)
    units: defaultdict[str, list[list[int]]] = defaultdict(weekly)
    unit_codes: defaultdict[str, list[str]] = defaultdict(list)
    liaison_counts: defaultdict[int, list[list[int]]] = defaultdict(weekly)
    liaison_codes: defaultdict[int, list[str]] = defaultdict(list)
    liaison_names: dict[int, str] = {}
    district = weekly()
    # the rows' days 录入台账前 (pooled_before); the district's under the key None
    unit_before: dict[str, int] = {}
    liaison_before: dict[int, int] = {}
    district_before: dict[None, int] = {}
    for duty in duties:
        if not entered_by(weeks[-1].end, duty.since):
            continue
        owed = counter.owed(duty)
        if not counter.listed(duty, owed):
            continue
        hit = owed & masks.get(duty.project_id, 0)
        before = counter.before(duty)
        unit_before[duty.unit] = pooled_before(unit_before.get(duty.unit), before)
        district_before[None] = pooled_before(district_before.get(None), before)
        unit_codes[duty.unit].append(duty.code)
        tallies = [units[duty.unit], district]
        if duty.liaison_id is not None:
            liaison_names.setdefault(duty.liaison_id, duty.liaison or "")
            liaison_codes[duty.liaison_id].append(duty.code)
            liaison_before[duty.liaison_id] = pooled_before(liaison_before.get(duty.liaison_id), before)
            tallies.append(liaison_counts[duty.liaison_id])
        for i, week in enumerate(week_masks):
            due = (owed & week).bit_count()
            if due:
                done = (hit & week).bit_count()
                for counts in tallies:
                    counts[i][0] += due
                    counts[i][1] += done

    def row(name: str, counts: list[list[int]], codes: list[str], before: int, person_id: int | None = None) -> Row:
        return Row(name, tuple(Tally(due, done, bool(before & week)) for (due, done), week in zip(counts, week_masks,
                                                                                              strict=True)),
                   tuple(codes), person_id)

    return Participation(
        weeks=tuple(weeks),
        units=_ordered(row(name, counts, unit_codes[name], unit_before[name]) for name, counts in units.items()),
        liaisons=_ordered(row(liaison_names[person_id], counts, liaison_codes[person_id], liaison_before[person_id],
                              person_id)
                          for person_id, counts in liaison_counts.items()),
        district=row(DISTRICT, district, [], district_before.get(None, 0)),
    )
