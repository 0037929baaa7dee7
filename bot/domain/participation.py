"""填报率 (reporting participation): per liaison and per lead unit, week by week over the last four weeks,
the share of the days a report was due that have one. The one definition /rank, the weekly bulletin, the
heat-map chart and the web 填报情况 page show. Pure: no I/O and no clock.

A day is due for a project as ``bot.domain.duties.report_due`` says (a working day of the calendar, the
project still being prepared or built, its liaison not on an approved leave that day): the same rule as the
reminders and the rankings' 按时填报, which also says that the days before the project was entered in the bot
(imported or added) owe nothing: a district that starts using the bot is not at 0 % for the weeks before. So
a week's figure for a unit is its punctuality for that week, the week a project was entered included.
Reports on a day that was not due (a rest day, a leave day, a finished project) add nothing. The project's
stage and liaison are the current ones, as the rankings read them. Projects without a liaison count for
their unit.

A day still under way (``today``, when the cut-off is today) counts only once it is over: liaisons have until
the evening. Until then it is neither owed nor reported in 填报率, a report already sent that day included (it
would lift the share while the others still have time); the heat map marks it "ok" when reported and "wait"
(待填报) when not.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.domain.duties import due_days
from bot.domain.leave import LeaveSpan
from bot.domain.ranking import share
from bot.domain.worded import worded
from bot.domain.workdays import WorkCalendar

__all__ = ["WEEKS", "Duty", "Participation", "Row", "Tally", "Week", "day_marks", "last_weeks", "participation",
           "day_bits", "reported_by_project"]

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


@dataclass(frozen=True)
class Duty:
    """A project as participation counts it: its stage, lead unit and liaison now, and the liaison's leaves."""

    project_id: int
    code: str
    stage: str
    unit: str
    liaison_id: int | None
    liaison: str | None
    away: tuple[LeaveSpan, ...] = ()
    since: date | None = None  # the local day it was entered in the bot: nothing is due before (report_due)


@dataclass(frozen=True)
class Tally:
    """Days a report was due, and of those the days one came in (a project-day each)."""

    due: int = 0
    reported: int = 0

    @property
    def rate(self) -> float | None:
        """reported ÷ due; None when nothing was due."""
        return share(self.reported, self.due)

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.due + other.due, self.reported + other.reported)


@dataclass(frozen=True)
class Row:
    """A liaison's or a unit's tallies, one per week, oldest first."""

    name: str
    weeks: tuple[Tally, ...]
    projects: tuple[str, ...] = ()  # the codes counted
    person_id: int | None = None  # a liaison's row: whose

    @property
    def total(self) -> Tally:
        return sum(self.weeks, Tally())

    @property
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


def _owed(duty: Duty, days: Sequence[date], calendar: WorkCalendar,
          by_stage: dict[str, list[date]]) -> list[date]:
    """The days of ``days`` the project owed a report (``due_days``, with its liaison's leaves and the day it
    was entered); the stage's days asked once, then only the projects with a leave or entered since asked again."""
    if duty.stage not in by_stage:
        by_stage[duty.stage] = due_days(days, duty.stage, calendar)
    owed = by_stage[duty.stage]
    if duty.away or (duty.since is not None and owed and owed[0] < duty.since):
        return due_days(owed, duty.stage, calendar, away=duty.away, entered=duty.since)
    return owed


def day_marks(duty: Duty, days: Sequence[date], calendar: WorkCalendar, reported: Collection[date],
              by_stage: dict[str, list[date]] | None = None, *, today: date | None = None) -> list[str]:
    """Per day of ``days``: "ok" due and reported, "miss" due and not reported, "wait" due, not reported yet
    and not over (``today`` or later: 待填报), "extra" reported though not due (a rest day, a leave day, a
    finished project: counts for nothing), "off" neither. ``by_stage``: a dict kept across the calls for the
    same ``days``, so that each stage's days are asked once."""
    owed = set(_owed(duty, days, calendar, {} if by_stage is None else by_stage))

    def mark(d: date) -> str:
        if d in owed:
            return "ok" if d in reported else "wait" if today is not None and d >= today else "miss"
        return "extra" if d in reported else "off"

    return [mark(d) for d in days]


def day_bits(start: date, end: date) -> dict[date, int]:
    """Each day of ``start``..``end`` → its bit in a mask of days (the first day 1, the next 2, then 4…)."""
    count = (end - start).days + 1
    if not 0 < count <= 62:
        raise ValueError(f"a mask holds 1 to 62 days, not {count}: {start}..{end}")
    return {start + timedelta(days=n): 1 << n for n in range(count)}


def reported_by_project(rows: Iterable[tuple[int, int]], start: date, end: date) -> dict[int, set[date]]:
    """Project id → the days it has a live report, from (project id, mask of the days of ``start``..``end``:
    ``day_bits``) rows."""
    bits = list(day_bits(start, end).items())
    return {project_id: {day for day, bit in bits if int(mask) & bit} for project_id, mask in rows}


def _ordered(rows: Iterable[Row]) -> list[Row]:
    """Best share first, ties by name; rows with nothing due last."""
    return sorted(rows, key=lambda r: (r.rate is None, -(r.rate or 0.0), r.name))


def participation(duties: Iterable[Duty], weeks: Sequence[Week], calendar: WorkCalendar,
                  reported: Mapping[int, Collection[date]], *, today: date | None = None) -> Participation:
    """Each unit's and liaison's tallies per week; ``reported``: project id → the days it has a live report;
    ``today``: the day under way, when the weeks reach it: it (and any later day) counts for nothing yet."""
    by_stage: dict[str, list[date]] = {}
    days = [d for week in weeks for d in week.days if today is None or d < today]
    week_of = {d: i for i, week in enumerate(weeks) for d in week.days}
    units: dict[str, list[list[int]]] = {}
    liaisons: dict[int, tuple[str, list[list[int]], list[str]]] = {}
    unit_codes: dict[str, list[str]] = {}
    district = [[0, 0] for _ in weeks]
    for duty in duties:
        owed = _owed(duty, days, calendar, by_stage)
        came = reported.get(duty.project_id, ())
        unit = units.setdefault(duty.unit, [[0, 0] for _ in weeks])
        unit_codes.setdefault(duty.unit, []).append(duty.code)
        person = None
        if duty.liaison_id is not None:
            person = liaisons.setdefault(duty.liaison_id, (duty.liaison or "", [[0, 0] for _ in weeks], []))
            person[2].append(duty.code)
        for day in owed:
            i = week_of[day]
            hit = int(day in came)
            for tally in (unit[i], district[i], *((person[1][i],) if person else ())):
                tally[0] += 1
                tally[1] += hit

    def row(name: str, counts: list[list[int]], codes: list[str], person_id: int | None = None) -> Row:
        return Row(name, tuple(Tally(due, done) for due, done in counts), tuple(codes), person_id)

    return Participation(
        weeks=tuple(weeks),
        units=_ordered(row(name, counts, unit_codes[name]) for name, counts in units.items()),
        liaisons=_ordered(row(name, counts, codes, person_id)
                          for person_id, (name, counts, codes) in liaisons.items()),
        district=row(DISTRICT, district, []),
    )
