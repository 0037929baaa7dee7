"""The oracle of ``test_month_oracle``: a district's month worked out by hand from what was entered, by the
rules of the domain guide and the README, calling none of the project's figure functions.

序时进度 = the days of the year elapsed by the end of the day over the year's days; 年度累计 = the ledger's base +
the live reports after the base's day; 完成率 = 年度累计 ÷ 年度计划; 差距 = (完成率 − 序时进度) in points; the light:
red more than 30 points behind (or under 30 % of the plan after 30 September), yellow 10 to 30 behind; places by
the published figure (one decimal), equal figures sharing a place; 按时填报 = the days with a report over the days
one was due (working days of the calendar as entered, the project being prepared or built that day, from the day
it came in), pooled; 按期办结率 of the problems a unit held at the period's end, resolved in it or still open past
their deadline (or escalated), those resolved by their deadline and never escalated; 超期未办结 those still open
past a deadline; a unit's or town's score weighs its investment index (each project's 完成率 ÷ 序时进度, between 0
and 1.2, over 1.2, averaged) 0.5, 按时填报 0.2 and 问题办理 0.15, a part with nothing to measure left out and the
others weighed again; 开工率 (竣工率) over the projects planned to start (finish) in the year and those that did.
Every figure is shown rounded half away from zero to one decimal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from bot.clock import SHANGHAI


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def span(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def one(value: Decimal) -> Decimal:
    """四舍五入 to one decimal, as every surface shows a figure."""
    return Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{one(value * 100)}%"


def signed(value: Decimal | None) -> str:
    return "—" if value is None else f"{one(value):+}"


def wan(value: Decimal) -> str:
    return f"{one(value):,}"


def schedule(day: date) -> Decimal:
    """序时进度: the share of the year elapsed at the end of ``day``."""
    days = (date(day.year + 1, 1, 1) - date(day.year, 1, 1)).days
    return Decimal(day.timetuple().tm_yday) / days


def places(figures: dict[str, Decimal | None]) -> dict[str, int | None]:
    """Competition places by the published figure, highest first: equal published figures share a place."""
    shown = {k: one(v) for k, v in figures.items() if v is not None}
    return {k: (1 + sum(1 for o in shown.values() if o > shown[k]) if k in shown else None) for k in figures}


@dataclass
class Row:
    name: str
    plan: Decimal
    base: Decimal
    stage: str  # as imported
    unit: str
    town: str
    liaison: str
    lead: str
    planned_start: date
    planned_finish: date
    entered: date


@dataclass
class Problem:
    number: str
    raised: datetime
    holders: list[tuple[datetime, str, datetime]]  # (from, unit, resolution deadline) as the problem moved
    resolved: datetime | None = None
    escalated: datetime | None = None
    extended: tuple[datetime, datetime] | None = None  # (approved at, new deadline)

    def held(self, end: datetime) -> tuple[str, datetime]:
        """The unit holding the problem at ``end`` and the deadline it then ran on."""
        unit, due = next((u, d) for since, u, d in reversed(self.holders) if since < end)
        if self.extended and self.extended[0] < end and unit == self.holders[-1][1]:
            due = self.extended[1]
        return unit, due


@dataclass
class Book:
    """What was entered, and every figure worked out from it by hand."""

    base_day: date  # the day the ledger's 累计完成 counts up to
    off: set[date] = field(default_factory=set)  # weekdays entered as holidays
    worked: set[date] = field(default_factory=set)  # weekend days entered as working days (调休)
    rows: dict[str, Row] = field(default_factory=dict)
    reports: dict[str, dict[date, Decimal]] = field(default_factory=dict)  # the live amount of each day
    problems: list[Problem] = field(default_factory=list)
    moves: dict[str, list[tuple[str, date]]] = field(default_factory=dict)  # confirmed (开工 | 竣工, day)

    def working(self, day: date) -> bool:
        return day in self.worked or (day.weekday() < 5 and day not in self.off)

    def codes(self, end: date) -> list[str]:
        return sorted(c for c, r in self.rows.items() if r.entered <= end)

    def ytd(self, code: str, day: date) -> Decimal:
        after = (a for d, a in self.reports.get(code, {}).items() if self.base_day < d <= day)
        return self.rows[code].base + sum(after, Decimal(0))

    def rate(self, code: str, day: date) -> Decimal | None:
        plan = self.rows[code].plan
        return self.ytd(code, day) / plan if plan else None

    def gap(self, code: str, day: date) -> Decimal | None:
        rate = self.rate(code, day)
        return None if rate is None else (rate - schedule(day)) * 100

    def stage(self, code: str, day: date) -> str:
        """The stage on ``day``: as imported, then as each 开工 (在建) or 竣工 made it from its day."""
        stage = self.rows[code].stage
        for kind, since in sorted(self.moves.get(code, []), key=lambda move: move[1]):
            if since <= day:
                stage = "在建" if kind == "开工" else "竣工"
        return stage

    def due(self, code: str, start: date, end: date) -> list[date]:
        return [d for d in span(max(start, self.rows[code].entered), end)
                if self.working(d) and self.stage(code, d) in ("谋划", "前期", "在建")]

    def punctuality(self, codes: list[str], start: date, end: date) -> Decimal | None:
        due = [(c, d) for c in codes for d in self.due(c, start, end)]
        return Decimal(sum(1 for c, d in due if d in self.reports.get(c, {}))) / len(due) if due else None

    def light(self, code: str, day: date) -> str:
        """Red more than 30 points behind (or under 30 % of the plan after 30 September), yellow 10 to 30 behind."""
        rate, gap = self.rate(code, day), self.gap(code, day)
        if rate is None or gap is None:
            return "无计划"
        if gap < -30 or (day > date(day.year, 9, 30) and rate < Decimal("0.3")):
            return "红灯"
        return "黄灯" if gap <= -10 else "绿灯"

    def problem_figures(self, unit: str | None, start: date, end: date) -> tuple[int, int, int, int]:
        """(本期提出, 解决, 超期未办结, 按期办结) of the problems ``unit`` (None: the district) held at the end."""
        opened, closed = at(start, 0), at(end + timedelta(days=1), 0)
        raised = solved = overdue = on_time = 0
        for p in self.problems:
            if p.raised >= closed:
                continue
            holder, due = p.held(closed)
            if unit is not None and holder != unit:
                continue
            raised += p.raised >= opened
            if p.resolved is not None and p.resolved < closed:
                if p.resolved >= opened:
                    solved += 1
                    on_time += p.resolved <= due and (p.escalated is None or p.escalated > p.resolved)
            elif due < closed or (p.escalated is not None and p.escalated < closed):
                overdue += 1
        return raised, solved, overdue, on_time

    def handled(self, unit: str, start: date, end: date) -> Decimal | None:
        _, solved, overdue, on_time = self.problem_figures(unit, start, end)
        return Decimal(on_time) / (solved + overdue) if solved + overdue else None

    def group(self, codes: list[str], name: str, start: date, end: date) -> dict[str, Decimal | None]:
        """A unit's or town's parts and score (weights 0.5 / 0.2 / 0.15 / 0.15, no milestones here)."""
        s = schedule(end)
        ratios = [min(max(r / s, Decimal(0)), Decimal("1.2")) / Decimal("1.2")
                  for r in (self.rate(c, end) for c in codes) if r is not None]
        parts = {"investment": sum(ratios, Decimal(0)) / len(ratios) if ratios else None,
                 "punctuality": self.punctuality(codes, start, end), "problems": self.handled(name, start, end)}
        weights = {"investment": Decimal("0.5"), "punctuality": Decimal("0.2"), "problems": Decimal("0.15")}
        weighed = [(weights[k], v) for k, v in parts.items() if v is not None]
        total = sum((w for w, _ in weighed), Decimal(0))
        parts["score"] = 100 * sum((w * v for w, v in weighed), Decimal(0)) / total if total else None
        return parts

    def groups(self, of: str, start: date, end: date) -> dict[str, dict[str, Decimal | None]]:
        members: dict[str, list[str]] = {}
        for code in self.codes(end):
            members.setdefault(getattr(self.rows[code], of), []).append(code)
        found = {name: {**self.group(codes, name, start, end), "projects": Decimal(len(codes))}
                 for name, codes in members.items()}
        ranks = places({name: g["score"] for name, g in found.items()})
        for name, g in found.items():
            g["rank"] = None if ranks[name] is None else Decimal(ranks[name])
        return found

    def ranks(self, end: date) -> dict[str, int | None]:
        return places({c: self.gap(c, end) for c in self.codes(end)})

    def share(self, kind: str, end: date) -> tuple[int, int]:
        """开工率's or 竣工率's (done, counted): the projects planned to start (finish) in the year, plus those whose
        开工 (竣工) came in it; done: started (在建 or later) or finished by ``end``."""
        planned = {"开工": lambda r: r.planned_start, "竣工": lambda r: r.planned_finish}[kind]
        counted = [c for c in self.codes(end) if planned(self.rows[c]).year == end.year
                   or any(k == kind and d.year == end.year and d <= end for k, d in self.moves.get(c, []))]
        done = ("在建", "竣工", "投产") if kind == "开工" else ("竣工", "投产")
        return sum(1 for c in counted if self.stage(c, end) in done), len(counted)
