"""Admin operations shared by the CLI (and later chat commands): calendar days and deadline policy."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.digits import as_int
from bot.domain.escalation import CATEGORIES, TOP_LEVEL, SlaPolicy
from storage import audit
from storage.audit import Actor
from storage.settings import (
    OFFICIAL_YEARS_KEY,
    SLA_KEY,
    clear_calendar_day,
    load_policy,
    official_years,
    set_calendar_day,
    set_setting,
)

FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_RANGE_DAYS = 31


class AdminInputError(ValueError):
    """Bad input from an admin; the message is Chinese and shown as is."""


# How many values each deadline setting reads after its name (`sla set category 审批手续 3`: two).
SLA_VALUES = {"category": 2, "response": 2, "resolution": 2, "end-of-day": 1, "nudge-at": 1, "node": 1}


class SlaWordsRefused(AdminInputError):
    """Words after a deadline setting's values, which it cannot use: named (template sla_words_refused), with
    that setting's usage, and nothing is changed."""

    def __init__(self, what: str, words: str) -> None:
        super().__init__(what, words)
        self.what = what
        self.words = words

    def __str__(self) -> str:
        from bot.render import shared_renderer

        # the CLI's command, as every message here names it (the chat says /sla instead)
        return shared_renderer().plain("sla_words_refused", what=self.what, words=self.words, command="sla set")


async def set_day(session: AsyncSession, *, day: date, kind: str, name: str, now: datetime, actor: Actor) -> None:
    """Enter an official day: `off` (holiday) or `work` (调休 working day); `auto` removes the entry."""
    if kind == "auto":
        if not await clear_calendar_day(session, day=day):
            raise AdminInputError(f"{day} 没有设置过，无需恢复。")
    elif kind in {"off", "work"}:
        await set_calendar_day(session, day=day, working=kind == "work", name=name, now=now, by=actor.label)
    else:
        raise AdminInputError("日期类型只能是 off（放假）、work（调休上班）或 auto（恢复默认）。")
    await audit.record(session, actor=actor, at=now, action="calendar.set", object_type="calendar",
                       object_key=day.isoformat(), detail={"kind": kind, "name": name})


async def set_days(session: AsyncSession, *, first: date, last: date, kind: str, name: str, now: datetime,
                   actor: Actor) -> int:
    """`set_day` for every day of first..last (both included, at most a month); returns how many."""
    if last < first:
        raise AdminInputError(f"日期范围 {first}..{last} 的结束日早于开始日。")
    count = (last - first).days + 1
    if count > MAX_RANGE_DAYS:
        raise AdminInputError(f"一次最多录入 {MAX_RANGE_DAYS} 天，请分段录入。")
    done = 0
    for offset in range(count):
        try:
            await set_day(session, day=first + timedelta(days=offset), kind=kind, name=name, now=now, actor=actor)
            done += 1
        except AdminInputError:
            if kind != "auto":  # restoring a range skips the days that were never set
                raise
    if done == 0:
        raise AdminInputError(f"{first}..{last} 没有设置过的日期，无需恢复。")
    return done


async def set_official_year(session: AsyncSession, *, year: int, official: bool, now: datetime,
                            actor: Actor) -> list[int]:
    """Declare a year's official notice entered in full (its days no longer estimated), or undo that."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise AdminInputError(f"年份「{year}」无效。")
    years = set(await official_years(session))
    years = years | {year} if official else years - {year}
    await set_setting(session, key=OFFICIAL_YEARS_KEY, value=sorted(years), now=now, by=actor.label)
    await audit.record(session, actor=actor, at=now, action="calendar.official", object_type="calendar",
                       object_key=str(year), detail={"year": year, "official": official})
    return sorted(years)


def _days(text: str) -> int:
    days = as_int(text)
    if days is None or not 1 <= days <= 250:
        raise AdminInputError(f"「{text}」不是 1 到 250 之间的工作日数。")
    return days


def _level(text: str) -> int:
    level = as_int(text)
    if level is None or level > TOP_LEVEL:
        raise AdminInputError(f"层级「{text}」无效：0 责任单位，1 包抓领导，2 区长，3 区委书记/领导小组。")
    return level


def changed_policy(policy: SlaPolicy, what: str, args: list[str]) -> SlaPolicy:
    """A new policy with one limit changed. `what`: response LEVEL DAYS | resolution LEVEL DAYS |
    category NAME DAYS | end-of-day HH:MM | nudge-at HH:MM."""
    try:
        if what == "response" and len(args) == 2:
            level = _level(args[0])
            if level != 0:
                raise AdminInputError(
                    "只有责任单位（第 0 层）有受理时限；各层领导按办结时限办理：sla set resolution 层级 天数")
            days = list(policy.response_days)
            days[level] = _days(args[1])
            return replace(policy, response_days=tuple(days))  # type: ignore[arg-type]
        if what == "resolution" and len(args) == 2:
            level = _level(args[0])
            if level == 0:
                raise AdminInputError("第 0 层（责任单位）的办结时限按问题类别设置：sla set category 类别 天数")
            above = list(policy.resolution_days_above)
            above[level - 1] = _days(args[1])
            return replace(policy, resolution_days_above=tuple(above))  # type: ignore[arg-type]
        if what == "category" and len(args) == 2:
            if args[0] not in CATEGORIES:
                raise AdminInputError(f"没有「{args[0]}」这个类别。类别：{'、'.join(CATEGORIES)}")
            return replace(policy, resolution_by_category={**policy.resolution_by_category, args[0]: _days(args[1])})
        if what in {"end-of-day", "nudge-at"} and len(args) == 1:
            try:
                value = time.fromisoformat(args[0])
            except ValueError:
                raise AdminInputError(f"「{args[0]}」不是时间，请写成 17:30 这样的形式。") from None
            return replace(policy, **{"end_of_day" if what == "end-of-day" else "nudge_at": value})
    except ValueError as error:
        if isinstance(error, AdminInputError):
            raise
        raise AdminInputError(f"设置无效：{error}") from error
    raise AdminInputError("用法：sla set response 层级 天数 | resolution 层级 天数 | category 类别 天数 | "
                          "end-of-day 17:30 | nudge-at 09:00")


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
            raise AdminInputError("用法：sla set node 天数（节点计划完成日期后几个工作日仍未完成，上报包抓领导）")
        await set_escalate_after_days(session, days=_days(args[0]), now=now, actor=actor)
        return await load_policy(session)
    before = await load_policy(session)
    after = changed_policy(before, what, args)
    await set_setting(session, key=SLA_KEY, value=after.to_json(), now=now, by=actor.label)
    await audit.record(session, actor=actor, at=now, action="sla.set", object_type="setting", object_key=SLA_KEY,
                       detail={"before": before.to_json(), "after": after.to_json()})
    return after
