"""Admins' settings in chat: /sla (problem deadlines), /calendar (official days off and 调休 working days) and
/schedule (reminder and bulletin times, switches, thresholds, weights).

Deadlines and days go through bot.services.admin_ops, exactly as the CLI does (same validation, same audit entries).
The schedule is the stored DigestSettings: each change is validated, stored and audited here; a running
bot picks up new reminder times through the scheduler's settings watcher (jobs.scheduler).
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import date, time, timedelta
from typing import Any

from bot.domain.dates import parse_day
from bot.domain.digest_settings import DIGEST_KEY, DigestSettings
from bot.domain.digits import as_int
from bot.domain.duties import entered_late
from bot.domain.escalation import CATEGORIES
from bot.domain.progress import LightThresholds
from bot.domain.ranking import ScoreWeights
from bot.services.admin_ops import AdminInputError, set_days, set_official_year, set_policy
from bot.services.calendar_recount import recount_open_problems
from bot.services.nodes import escalate_after_days
from bot.worded_error import WordedError
from handlers.commands import Command, CommandRegistry
from handlers.context import Context
from storage import audit
from storage.settings import calendar_overrides, load_calendar, load_digest_settings, load_policy, set_setting

ADMIN = frozenset({"admin"})
SLA_WHATS = ("category", "response", "resolution", "end-of-day", "nudge-at", "node")
DAY_KINDS = {"off": "off", "放假": "off", "休": "off", "休息": "off",
             "work": "work", "上班": "work", "调休": "work", "调休上班": "work",
             "auto": "auto", "恢复": "auto", "默认": "auto"}
YEAR = re.compile(r"[0-9]{4}")
YEAR_WORDS = {"official": "official", "官方": "official", "已录入": "official",
              "estimated": "estimated", "预估": "estimated"}
SCHEDULE_ALIASES = {"提醒": "reminders", "周报": "weekly", "月报": "monthly", "预警": "alert", "表扬": "praise",
                    "权重": "weights", "阈值": "thresholds", "红黄灯": "thresholds", "排名": "top",
                    "红灯": "red"}
ON_WORDS = {"on": True, "开": True, "开启": True, "off": False, "关": False, "关闭": False}
CLOCK = re.compile(r"^([0-9]{1,2})[:：]([0-9]{2})$")
MAX_REMINDERS = 6


def register(registry: CommandRegistry) -> None:
    """/sla, /calendar and /schedule, for admins."""
    registry.add(Command.worded("sla", sla_command, roles=ADMIN))
    registry.add(Command.worded("calendar", calendar_command, roles=ADMIN))
    registry.add(Command.worded("schedule", schedule_command, roles=ADMIN))


# --- /sla ------------------------------------------------------------------------------------------

async def sla_command(ctx: Context, args: str) -> None:
    """`/sla` shows the deadlines; `/sla category 审批手续 3` (response, resolution, end-of-day, nudge-at)
    changes one of them for problems raised from now on."""
    words = args.split()
    if not words:
        ctx.reply("sla", policy=await load_policy(ctx.session), categories=CATEGORIES,
                  node_days=await escalate_after_days(ctx.session))
        return
    what = words[0].lower()
    if what not in SLA_WHATS:
        ctx.reply("admin_settings_refused", reason="sla_usage", word=words[0])
        return
    try:
        policy = await set_policy(ctx.session, what=what, args=words[1:], now=ctx.now, actor=ctx.actor)
    except AdminInputError as error:
        ctx.reply("admin_settings_refused", reason="message", message=_chat_wording(str(error)))
        return
    ctx.reply("admin_settings_sla_changed", policy=policy, categories=CATEGORIES,
              node_days=await escalate_after_days(ctx.session))


def _chat_wording(message: str) -> str:
    """bot.services.admin_ops speaks of the CLI's `sla set …`; in chat the command is `/sla …`."""
    return message.replace("sla set ", "/sla ")


# --- /calendar -------------------------------------------------------------------------------------

async def calendar_command(ctx: Context, args: str) -> None:
    """`/calendar` shows the official days entered; `/calendar 2027-02-06 off 春节` (`… work`, `… auto`), a range
    `/calendar 2027-02-05..2027-02-13 off 春节`, and `/calendar 2027 official` once a year's notice is all in
    (`/calendar 2027 estimated` undoes that). A change counts open problems' deadlines again
    (bot.services.calendar_recount) and says what it did."""
    words = args.split(maxsplit=2)
    changed = recount = None
    days: list[date] = []
    if words:
        before = await load_calendar(ctx.session)
        try:
            change = await _calendar_change(ctx, words)
        except AdminInputError as error:
            ctx.reply("admin_settings_refused", reason="message", message=str(error))
            return
        if change is None:
            return
        changed, days = change
        recount = await recount_open_problems(ctx.session, ctx.deps.renderer, before=before, now=ctx.now,
                                              actor=ctx.actor)
    calendar = await load_calendar(ctx.session)
    overrides = await calendar_overrides(ctx.session)
    ctx.reply("admin_settings_calendar", changed=changed, recount=recount, overrides=overrides,
              late=entered_late((o.day for o in overrides), calendar), official_until=calendar.official_until,
              official_years=sorted(calendar.official_years),
              passed=entered_late(days, calendar) if changed == "restored" else [])


async def _calendar_change(ctx: Context, words: list[str]) -> tuple[str, list[date]] | None:
    """Make the change `words` ask for and say which kind ("days", "restored", "official", "estimated") and which
    days it named; None after replying that they could not be read."""
    if YEAR.fullmatch(words[0]):  # "/calendar 2027 official"
        year_word = YEAR_WORDS.get(words[1].lower()) if len(words) > 1 else None
        if year_word is None or len(words) > 2:  # the first word not read ("2027 official 多余": 多余)
            ctx.reply("admin_settings_refused", reason="calendar_usage", word=words[min(len(words) - 1, 2)]
                      if year_word else words[min(len(words) - 1, 1)])
            return None
        await set_official_year(ctx.session, year=int(words[0]), official=year_word == "official", now=ctx.now,
                                actor=ctx.actor)
        return year_word, []
    first_word, _, last_word = words[0].partition("..")
    first = parse_day(first_word)
    last = parse_day(last_word) if last_word else first
    kind = DAY_KINDS.get(words[1].lower()) if len(words) > 1 else None
    if first is None or last is None or kind is None:
        unread = words[1] if first is not None and last is not None and len(words) > 1 else words[0]
        ctx.reply("admin_settings_refused", reason="calendar_usage", word=unread)
        return None
    name = words[2].strip() if len(words) > 2 else ""
    if kind == "auto" and name:  # back to the default: there is no name to keep
        ctx.reply("admin_settings_refused", reason="calendar_usage", word=name)
        return None
    await set_days(ctx.session, first=first, last=last, kind=kind, name=name, now=ctx.now, actor=ctx.actor)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return ("restored" if kind == "auto" else "days"), days


# --- /schedule -------------------------------------------------------------------------------------

class ScheduleInputError(WordedError, ValueError):
    """A /schedule change that cannot be made, by its reason; worded in its template and shown as is."""

    template = "schedule_refused"


async def schedule_command(ctx: Context, args: str) -> None:
    """`/schedule` shows the reminder and bulletin settings; `/schedule reminders 16:00,18:00` etc. change
    them (stored, audited, and picked up by the running scheduler within a minute)."""
    words = args.split()
    before = await load_digest_settings(ctx.session)
    if not words:
        ctx.reply("admin_settings_schedule", s=before, changed=None)
        return
    what = SCHEDULE_ALIASES.get(words[0], words[0].lower())
    try:
        after = changed_schedule(before, what, words[1:])
    except ScheduleInputError as error:
        ctx.reply("admin_settings_refused", reason="message", message=str(error))
        return
    await set_setting(ctx.session, key=DIGEST_KEY, value=after.to_json(), now=ctx.now, by=ctx.actor.label)
    await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="digests.set", object_type="setting",
                       object_key=DIGEST_KEY, detail={"what": what, "before": before.to_json(),
                                                      "after": after.to_json()})
    ctx.reply("admin_settings_schedule", s=after, changed=what)


def changed_schedule(settings: DigestSettings, what: str, args: list[str]) -> DigestSettings:
    """New settings with one thing changed; raises ScheduleInputError (in Chinese) on bad input."""
    values: dict[str, Any]
    if what == "reminders" and len(args) == 1 and args[0].lower() in ON_WORDS:
        values = {"reminders_enabled": ON_WORDS[args[0].lower()]}
    elif what == "reminders" and args:
        values = {"reminder_times": _times(" ".join(args))}
    elif what in {"weekly", "monthly"} and len(args) == 1:
        word = args[0].lower()
        if word in ON_WORDS:
            values = {f"{what}_enabled": ON_WORDS[word]}
        else:
            values = {f"{what}_time": _clock(args[0])}
    elif what in COUNTS and len(args) == 1:
        values = {COUNTS[what][0]: _count(args[0], what)}
    elif what == "weights" and len(args) in (3, 4):
        values = {"weights": _weights(args)}
    elif what == "thresholds" and len(args) == 2:
        values = {"thresholds": _thresholds(settings.thresholds, args)}
    else:
        known = what in {"reminders", "weekly", "monthly", "weights", "thresholds", *COUNTS}
        unread = " ".join(args) if known else what  # "/schedule 多余": 多余; "/schedule weekly on 多余": on 多余
        raise ScheduleInputError("usage", unread=unread)
    try:
        return replace(settings, **values)
    except ValueError as error:  # DigestSettings' own checks; the parsers above catch what users can type
        raise ScheduleInputError("invalid", error=error) from error


def _clock(text: str) -> time:
    match = CLOCK.match(text.strip())
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return time(int(match[1]), int(match[2]))
    raise ScheduleInputError("time", text=text)


def _times(text: str) -> tuple[time, ...]:
    parts = [p for p in re.split(r"[,，、;；\s]+", text) if p]
    times = sorted({_clock(p) for p in parts})
    if not times:
        raise ScheduleInputError("no_times")
    if len(times) > MAX_REMINDERS:
        raise ScheduleInputError("too_many_times", most=MAX_REMINDERS)
    return tuple(times)


# /schedule word → (the setting, its least and greatest value); what each counts is said in schedule_refused.j2
COUNTS: dict[str, tuple[str, int, int]] = {
    "alert": ("missed_days_alert", 1, 20),
    "praise": ("praise_n", 1, 50),
    "top": ("bulletin_top_n", 1, 10),
    "red": ("bulletin_red_max", 0, 20),
}


def _count(text: str, what: str) -> int:
    _setting, least, most = COUNTS[what]
    number = as_int(text)
    if number is None or not least <= number <= most:
        raise ScheduleInputError("count", text=text, what=what, least=least, most=most)
    return number


def _number(text: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise ScheduleInputError("not_number", text=text) from None
    if not math.isfinite(value) or value < 0:
        raise ScheduleInputError("negative", text=text)
    return value


def _weights(args: list[str]) -> ScoreWeights:
    """Four weights (investment, punctuality, problems, nodes) summing to 1 (or to 100, as percentages); three
    leave node punctuality out of the score, as the settings did before nodes were scored."""
    parts = [_number(a) for a in args]
    total = sum(parts)
    if math.isclose(total, 100, abs_tol=1e-6) and any(p > 1 for p in parts):
        parts = [p / 100 for p in parts]
        total = 1.0
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ScheduleInputError("weights", total=f"{total:g}")
    investment, punctuality, *rest = parts
    nodes = rest[1] if len(rest) > 1 else 0.0
    try:  # the problems' weight takes up the rounding, so that they sum to 1 as ScoreWeights insists
        return ScoreWeights(investment=investment, punctuality=punctuality, nodes=nodes,
                            problems=max(0.0, 1.0 - investment - punctuality - nodes))
    except ValueError:
        raise ScheduleInputError("weights", total=f"{total:g}") from None


def _thresholds(current: LightThresholds, args: list[str]) -> LightThresholds:
    yellow, red = (_number(a) for a in args)
    if yellow > red or red > 100:
        raise ScheduleInputError("thresholds")
    return replace(current, yellow_from_points=yellow, red_from_points=red)  # valid: checked just above
