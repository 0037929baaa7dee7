"""Admin operations shared by the CLI (and later chat commands): calendar days and deadline policy."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import to_local
from bot.domain.digits import as_int
from bot.domain.escalation import CATEGORIES, TOP_LEVEL, SlaPolicy
from bot.domain.text_widths import too_wide
from bot.worded_error import WordedError
from storage import audit
from storage.audit import Actor
from storage.calendar_history import keep_passed_days
from storage.settings import (
    OFFICIAL_YEARS_KEY,
    SLA_KEY,
    clear_calendar_day,
    load_calendar,
    load_policy,
    official_years,
    set_calendar_day,
    set_setting,
)

FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_RANGE_DAYS = 31


class AdminInputError(WordedError, ValueError):
    """Bad input from an admin, by its reason; worded in its template and shown as is."""

    template = "admin_input_refused"


class WeComRefused(AdminInputError):
    """Binding a WeCom account or publishing the WeCom app menu refused (``diaodu people bind --wecom``,
    ``diaodu wecom menu``), by its reason."""

    template = "cli/wecom_refused"


# How many values each deadline setting reads after its name (`sla set category 审批手续 3`: two).
SLA_VALUES = {"category": 2, "response": 2, "resolution": 2, "end-of-day": 1, "nudge-at": 1, "node": 1}


class SlaWordsRefused(AdminInputError):
    """Words after a deadline setting's values, which it cannot use: named (template sla_words_refused), with
    that setting's usage, and nothing is changed. The reason is the setting (`node`); the CLI's command is
    named, as every message here names it (the chat says /sla instead)."""

    template = "sla_words_refused"

    def __init__(self, what: str, words: str) -> None:
        super().__init__(what, what=what, words=words, command="sla set")


async def set_day(session: AsyncSession, *, day: date, kind: str, name: str, now: datetime, actor: Actor) -> None:
    """Enter an official day: `off` (holiday) or `work` (调休 working day); `auto` removes the entry."""
    if kind == "auto":
        if not await clear_calendar_day(session, day=day):
            raise AdminInputError("day_not_set", day=day)
    elif kind in {"off", "work"}:
        await set_calendar_day(session, day=day, working=kind == "work", name=name, now=now, by=actor.label)
    else:
        raise AdminInputError("day_kind")
    await audit.record(session, actor=actor, at=now, action="calendar.set", object_type="calendar",
                       object_key=day.isoformat(), detail={"kind": kind, "name": name})


async def set_days(session: AsyncSession, *, first: date, last: date, kind: str, name: str, now: datetime,
                   actor: Actor) -> int:
    """`set_day` for every day of first..last (both included, at most a month); returns how many. The days
    already passed are kept first as the calendar has them now (storage.calendar_history): whether a report was
    due on a past day stays as it was when the day passed."""
    if last < first:
        raise AdminInputError("range_reversed", first=first, last=last)
    if (wide := too_wide("day_name", name)) is not None:
        raise AdminInputError("too_wide", wide=wide)
    count = (last - first).days + 1
    if count > MAX_RANGE_DAYS:
        raise AdminInputError("range_too_long", most=MAX_RANGE_DAYS)
    await keep_passed_days(session, calendar=await load_calendar(session), today=to_local(now).date(), now=now)
    done = 0
    for offset in range(count):
        try:
            await set_day(session, day=first + timedelta(days=offset), kind=kind, name=name, now=now, actor=actor)
            done += 1
        except AdminInputError:
            if kind != "auto":  # restoring a range skips the days that were never set
                raise
    if done == 0:
        raise AdminInputError("range_not_set", first=first, last=last)
    return done


async def set_official_year(session: AsyncSession, *, year: int, official: bool, now: datetime,
                            actor: Actor) -> list[int]:
    """Declare a year's official notice entered in full (its days no longer estimated), or undo that."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise AdminInputError("year", year=year)
    years = set(await official_years(session))
    years = years | {year} if official else years - {year}
    await set_setting(session, key=OFFICIAL_YEARS_KEY, value=sorted(years), now=now, by=actor.label)
    await audit.record(session, actor=actor, at=now, action="calendar.official", object_type="calendar",
                       object_key=str(year), detail={"year": year, "official": official})
    return sorted(years)


def _days(text: str) -> int:
    days = as_int(text)
    if days is None or not 1 <= days <= 250:
        raise AdminInputError("days", text=text)
    return days


def _level(text: str) -> int:
    level = as_int(text)
    if level is None or level > TOP_LEVEL:
        raise AdminInputError("level", text=text)
    return level


def changed_policy(policy: SlaPolicy, what: str, args: list[str]) -> SlaPolicy:
    """A new policy with one limit changed. `what`: response LEVEL DAYS | resolution LEVEL DAYS |
    category NAME DAYS | end-of-day HH:MM | nudge-at HH:MM."""
    try:
        if what == "response" and len(args) == 2:
            level = _level(args[0])
            if level != 0:
                raise AdminInputError("response_above_unit")
            days = list(policy.response_days)
            days[level] = _days(args[1])
            return replace(policy, response_days=tuple(days))  # type: ignore[arg-type]
        if what == "resolution" and len(args) == 2:
            level = _level(args[0])
            if level == 0:
                raise AdminInputError("resolution_of_unit")
            above = list(policy.resolution_days_above)
            above[level - 1] = _days(args[1])
            return replace(policy, resolution_days_above=tuple(above))  # type: ignore[arg-type]
        if what == "category" and len(args) == 2:
            if args[0] not in CATEGORIES:
                raise AdminInputError("category", name=args[0], categories=CATEGORIES)
            return replace(policy, resolution_by_category={**policy.resolution_by_category, args[0]: _days(args[1])})
        if what in {"end-of-day", "nudge-at"} and len(args) == 1:
            try:
                value = time.fromisoformat(args[0])
            except ValueError:
                raise AdminInputError("time", text=args[0]) from None
            return replace(policy, **{"end_of_day" if what == "end-of-day" else "nudge_at": value})
    except ValueError as error:
        if isinstance(error, AdminInputError):
            raise
        raise AdminInputError("invalid", error=error) from error
    raise AdminInputError("usage")


async def set_policy(session: AsyncSession, *, what: str, args: list[str], now: datetime,
                     actor: Actor) -> SlaPolicy:
    """Change the deadline policy for problems raised from now on (open ones keep theirs). `node DAYS`: the
    working days after a node's planned day before an overdue node goes to the 包抓领导 (bot.services.nodes).
    Words after the values are refused (`sla set node 3 多余`: 「多余」), not dropped."""
    if what in SLA_VALUES and len(args) > SLA_VALUES[what]:
        raise SlaWordsRefused(what, " ".join(args[SLA_VALUES[what]:]))
    if what == "node":
        from bot.services.nodes import set_escalate_after_days

        if len(args) != 1:
            raise AdminInputError("node_usage")
        await set_escalate_after_days(session, days=_days(args[0]), now=now, actor=actor)
        return await load_policy(session)
    before = await load_policy(session)
    after = changed_policy(before, what, args)
    await set_setting(session, key=SLA_KEY, value=after.to_json(), now=now, by=actor.label)
    await audit.record(session, actor=actor, at=now, action="sla.set", object_type="setting", object_key=SLA_KEY,
                       detail={"before": before.to_json(), "after": after.to_json()})
    return after
