"""The dispatch meeting (调度会): /meeting builds its agenda, /decide records a decision (议定事项).

The agenda lists the open problems at or near their deadline (within two working days, or past it) by
level and unit, the red-light projects, and the decisions still open. A decision is then followed
exactly like a problem (bot.services.problems.record_decision): assigned to a unit, with deadlines,
escalation (skipping level 1, as it has no project) and 销号 by the admin who recorded it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from bot.clock import to_local
from bot.domain import overdue as overdue_rule
from bot.domain.dates import split_near_day
from bot.domain.escalation import ACTIVE, LEVEL_NAMES
from bot.domain.limits import DECISION_TEXT_MAX
from bot.domain.paging import page_of
from bot.domain.promises import on_working_day
from bot.domain.workdays import WorkCalendar
from bot.services import problems as service
from bot.services.standings import compute_standings
from handlers.commands import NO_WORDS, Command, CommandRegistry
from handlers.context import Context
from handlers.paging import page_buttons
from storage import audit
from storage import people as people_repo
from storage.models import Problem, Unit
from storage.settings import load_calendar, load_digest_settings, load_policy

ADMIN = frozenset({"admin"})
NEAR_WORKING_DAYS = 2
TEXT_MAX = DECISION_TEXT_MAX
PREVIEW = 40
AGENDA_PAGE = 15  # entries (problems, red projects, decisions) on one page of /meeting


def register(registry: CommandRegistry) -> None:
    """/meeting and /decide, for admins."""
    registry.add(Command.worded("meeting", meeting_command, roles=ADMIN, words=NO_WORDS))
    registry.add(Command.worded("decide", decide_command, roles=ADMIN))


# --- /meeting --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AgendaItem:
    """An open problem at or near a deadline: which clock, when, and how many working days over or left."""

    problem: Problem
    clock: str  # "response" | "resolution" | "promise" (bot.domain.overdue)
    due_at: datetime
    overdue: bool
    working_days: int  # over (overdue) or left (near)

    @property
    def preview(self) -> str:
        text = " ".join(self.problem.text.split())
        return text if len(text) <= PREVIEW else text[:PREVIEW] + "…"


def agenda_items(problems: Sequence[Problem], *, now: datetime, today: date, calendar: WorkCalendar,
                 near: int = NEAR_WORKING_DAYS) -> list[AgendaItem]:
    """The active problems whose earliest running deadline (bot.domain.overdue: 受理, 办结, the unit's promised day)
    has passed or falls within `near` working days."""
    horizon = calendar.add_working_days(today, near)
    items = []
    for problem in problems:
        deadlines = overdue_rule.ProblemDeadlines(problem.status, problem.level, problem.response_due_at,
                                                  problem.resolution_due_at, service.promised_due_at(problem))
        found = overdue_rule.earliest(deadlines)
        if found is None:
            continue
        due, name = found
        due_day = to_local(due).date()
        if overdue_rule.is_overdue(deadlines, now):
            items.append(AgendaItem(problem, name, due, True, calendar.working_days_between(due_day, today)))
        elif due_day <= horizon:
            items.append(AgendaItem(problem, name, due, False, calendar.working_days_between(today, due_day)))
    return items


def grouped(items: Sequence[AgendaItem]) -> list[tuple[int, list[tuple[str, list[AgendaItem]]]]]:
    """Items by level (highest first), then by unit name, then by deadline."""
    levels: dict[int, dict[str, list[AgendaItem]]] = {}
    for item in sorted(items, key=lambda i: (i.due_at, i.problem.id)):
        levels.setdefault(item.problem.level, {}).setdefault(item.problem.unit.name, []).append(item)
    return [(level, sorted(units.items())) for level, units in sorted(levels.items(), reverse=True)]


async def meeting_command(ctx: Context, _args: str) -> None:
    """The agenda of a dispatch meeting, a page at a time (``ctx.page``): its three parts in order, every
    part's heading on every page, with its count and where its entries are when none is on this page."""
    today = ctx.today
    calendar = await load_calendar(ctx.session)
    settings = await load_digest_settings(ctx.session)
    query = select(Problem).where(Problem.status.in_(sorted(ACTIVE))).order_by(Problem.id)
    problems = list((await ctx.session.scalars(query)).unique().all())
    items = agenda_items(problems, now=ctx.now, today=today, calendar=calendar)
    standings = await compute_standings(
        ctx.session, period=today.isoformat(), cutoff=today,
        window_start=today - timedelta(days=today.weekday()), calendar=calendar,
        thresholds=settings.thresholds, weights=settings.weights, praise_n=settings.praise_n,
    )
    reds = [p for p in standings.projects if p.light == "red"]
    decisions = [p for p in problems if p.project_id is None]
    in_order = [item for _level, units in grouped(items) for _unit, unit_items in units for item in unit_items]
    entries: list[tuple[str, object]] = ([("item", i) for i in in_order] + [("red", p) for p in reds]
                                         + [("decision", d) for d in decisions])
    page = page_of(entries, ctx.page, AGENDA_PAGE)
    first_page = {part: 1 + index // AGENDA_PAGE
                  for index, (part, _entry) in reversed(list(enumerate(entries)))}
    shown = {part: [entry for kind, entry in page.items if kind == part] for part in ("item", "red", "decision")}
    unit_counts: dict[tuple[int, str], int] = {}
    for item in items:
        key = (item.problem.level, item.problem.unit.name)
        unit_counts[key] = unit_counts.get(key, 0) + 1
    ctx.reply("meeting_agenda", page_buttons("meeting", page), today=today,
              groups=grouped(shown["item"]), count=len(items),  # type: ignore[arg-type]
              overdue=sum(1 for i in items if i.overdue), reds=shown["red"], red_count=len(reds),
              decisions=shown["decision"], decision_count=len(decisions), level_names=LEVEL_NAMES,
              near=NEAR_WORKING_DAYS, schedule=standings.schedule, page=page, first_page=first_page,
              unit_counts=unit_counts)


# --- /decide ---------------------------------------------------------------------------------------

async def decide_command(ctx: Context, args: str) -> None:
    """`/decide 事项内容 责任单位 期限`: record a meeting decision, assigned to the unit, due that day."""
    assert ctx.person is not None
    parts = args.strip().rsplit(maxsplit=2)
    if len(parts) < 3:
        ctx.reply("meeting_refused", reason="usage")
        return
    text, unit_token, due_token = parts[0].strip(), parts[1], parts[2]
    asked = parse_due(due_token, today=ctx.today)
    if asked is None:
        ctx.reply("meeting_refused", reason="bad_date", token=due_token)
        return
    calendar = await load_calendar(ctx.session)
    due_day = on_working_day(calendar, asked)  # a rest day moves to the next working day, and the reply says so
    due = due_day.day
    policy = await load_policy(ctx.session)
    if service.decision_due_at(due, policy) <= ctx.now:
        ctx.reply("meeting_refused", reason="past_date", due=due, end_of_day=policy.end_of_day)
        return
    units = list((await ctx.session.scalars(select(Unit).order_by(Unit.name))).all())
    matches = [u for u in units if u.name == unit_token] or [u for u in units if unit_token in u.name]
    if len(matches) != 1:
        ctx.reply("meeting_refused", reason="unit", token=unit_token, units=matches)
        return
    if len(text) < 2 or len(text) > TEXT_MAX:
        ctx.reply("meeting_refused", reason="text", limit=TEXT_MAX)
        return
    unit = matches[0]
    deps = service.ProblemDeps(calendar=calendar, policy=policy,
                               renderer=ctx.deps.renderer)
    problem = await service.record_decision(ctx.session, deps, raiser=ctx.person, text=text, unit=unit,
                                            due=due, now=ctx.now)
    await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="decision.create",
                       object_type="problem", object_key=problem.number,
                       detail={"unit": unit.name, "due": due.isoformat(), "text": text})
    handlers = await people_repo.unit_handlers(ctx.session, unit_id=unit.id)
    ctx.reply("meeting_decided", problem=problem, handlers=handlers, due_day=due_day)


def parse_due(text: str, *, today: date) -> date | None:
    """A deadline as people type it (bot.domain.dates): "2026-12-15", "12月15日" (this year's; next year's when
    this year's has passed by more than half a year, so a day just past is refused as past), "12-15", "下周五",
    "明天"."""
    day, rest, _ = split_near_day(text, today=today)
    return day if day is not None and not rest else None
