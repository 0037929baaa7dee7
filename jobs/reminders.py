"""Reporting reminders on working days, and alerts when a project goes unreported for days in a row.

Who is asked for a report today is decided by `bot.domain.duties.asked_of`, the rule /mine shows too:
working days of the calendar, projects not yet finished, and while a liaison is on leave (请假) their
substitute (代理人), or nobody when the leave names none. At each reminder time (16:00 and 18:00 by
default) every person asked who has not reported today on one of those projects gets one message listing
them, with a button per project into /report. At the last reminder time of the day, a project unreported
for `missed_days_alert` working days in a row (days its liaison was on leave do not count:
`bot.domain.duties.missed_days`) is reported once per streak to its lead unit's handlers and its lead
official. A run's result names only what it queued (what `diaodu job remind` prints). Each person gets one
message per run: a handler or leader with several projects in a streak gets them listed in one notice
(`bot.services.grouped_notices`), not one notice per project. Dedupe keys make every notice at most
once, however often the job runs.

A run cut short (the bot killed or restarted at 18:00) or due while no process led is not lost: a process
elected leader runs the latest reminder time of the day that passed less than ``CATCH_UP`` ago
(``catch_up``), and the dedupe keys keep whatever had gone out from going twice.

Every run, on any day, first keeps what the calendar says of the days passed since the last
(``storage.calendar_history``): reports stay owed, or not, as the calendar stood on each day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from bot.clock import SHANGHAI
from bot.domain.duties import REPORTING_STAGES, asked_of, is_reporting_day, missed_days
from bot.domain.grouping import Concern
from bot.domain.leave import LeaveSpan
from bot.domain.messages import Button, Reply
from bot.render import Renderer
from bot.services import grouped_notices
from storage import leaves as leave_repo
from storage import outbox
from storage import people as people_repo
from storage.calendar_history import keep_passed_days
from storage.db import Database
from storage.digest_queries import ReportingDuty, reporting_duties
from storage.models import Person
from storage.settings import load_calendar, load_digest_settings

# How far back a never-reported project's streak is counted (a year: the figure only says how long it has been).
_LONGEST_STREAK_DAYS = 366
# How late a reminder run missed by a restart still goes out (later, the day's next time or tomorrow's does).
CATCH_UP = timedelta(hours=2)


@dataclass
class ReminderResult:
    """What a run queued: whom it reminded and which projects it flagged (a notice sent before, under the same
    key, is not sent again and not counted), and the projects in a streak it did not flag again or could not."""

    reminded: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    alerted_before: list[str] = field(default_factory=list)  # in a streak already told: nothing sent again
    unaddressed: list[str] = field(default_factory=list)  # in a streak, but no handler nor lead official to tell
    skipped: str | None = None


def slot_at(times: tuple[time, ...] | list[time], local: time) -> time | None:
    """The reminder time a run at `local` o'clock stands for: the latest one not after it."""
    passed = [t for t in times if t <= local]
    return max(passed) if passed else None


async def run_as_of(db: Database, now: datetime, renderer: Renderer) -> str:
    """The reminders as they would run at `now` (the latest reminder time of the day not after it), for an
    operator; returns what happened, in the Chinese of cli/remind.j2. Dedupe keys make a repeat send nothing twice."""
    async with db.session() as session:
        times = (await load_digest_settings(session)).reminder_times
    local = now.astimezone(SHANGHAI)
    slot = slot_at(times, local.time())
    if slot is None:
        return renderer.plain("cli/remind", early=True, local=local, first=min(times))
    result = await run(db, now, renderer, slot=slot)
    return renderer.plain("cli/remind", early=False, disabled=result.skipped == "disabled",
                          day_off=result.skipped is not None, local=local, slot=slot, result=result)


async def catch_up(db: Database, now: datetime, renderer: Renderer) -> ReminderResult | None:
    """The run of today's latest reminder time not after `now`, if it passed less than ``CATCH_UP`` ago: what a
    process elected leader does, since the scheduler of a process started after a reminder time fires it only
    the next day. None when no time is that recent."""
    async with db.session() as session:
        times = (await load_digest_settings(session)).reminder_times
    local = now.astimezone(SHANGHAI)
    slot = slot_at(times, local.time())
    if slot is None or local - datetime.combine(local.date(), slot, tzinfo=SHANGHAI) >= CATCH_UP:
        return None
    return await run(db, now, renderer, slot=slot)


async def run(db: Database, now: datetime, renderer: Renderer, *, slot: time) -> ReminderResult:
    """One reminder run for the time slot `slot` as of `now`."""
    local = now.astimezone(SHANGHAI)
    today = local.date()
    result = ReminderResult()
    async with db.session() as session:
        settings = await load_digest_settings(session)
        calendar = await load_calendar(session)
        # what the calendar says of the days passed is kept, whether reminders are on or not
        await keep_passed_days(session, calendar=calendar, today=today, now=now)
        if not settings.reminders_enabled:
            result.skipped = "disabled"
            return result
        if not is_reporting_day(today, calendar):
            result.skipped = "not a working day"
            return result
        all_duties = await reporting_duties(session, up_to=today)
        earliest = min((d.last_day or d.since or today for d in all_duties), default=today)
        leaves = await leave_repo.spans_between(session, start=earliest, end=today)
        duties: list[ReportingDuty] = []
        missing: dict[int, list[ReportingDuty]] = defaultdict(list)
        for duty in all_duties:
            asked = asked_of(today, duty.stage, calendar, duty.liaison_id, leaves, entered=duty.since)
            if duty.stage in REPORTING_STAGES:
                duties.append(duty)
            if asked is not None and duty.last_day != today:
                missing[asked].append(duty)
        liaisons = {d.liaison_id: d.liaison for d in all_duties}
        names = liaisons | await people_repo.names_of(session, ids=[p for p in missing if p not in liaisons])
        slot_name = slot.strftime("%H%M")
        concerns: list[Concern] = []
        for liaison_id, projects in missing.items():
            late = slot != min(settings.reminder_times)
            html = renderer.render("reminder", projects=projects, late=late, person_id=liaison_id)
            buttons = tuple(Button(renderer.phrase("buttons", "report", d.code), f"rp:p:{d.code}")
                            for d in projects[:10])
            concerns.append(Concern(
                person_id=liaison_id, key=f"remind:{today}:{slot_name}:{liaison_id}",
                reply=Reply(html=html, buttons=tuple((b,) for b in buttons), about=tuple(d.code for d in projects)),
                line=renderer.render("reminder_line", projects=projects), buttons=buttons))
        reminders = [(names.get(c.person_id, str(c.person_id)), c.key) for c in concerns]
        alerts: dict[str, list[str]] = {}
        if slot == max(settings.reminder_times):
            for duty in duties:
                missed = _missed_working_days(calendar, duty, today, leaves)
                if missed >= settings.missed_days_alert:
                    told = await _alerts(session, renderer, duty, missed, key_day=str(duty.last_day or "never"))
                    concerns += told
                    alerts[duty.code] = [c.key for c in told]
        used = await outbox.keys_used(session, [c.key for c in concerns])
        await grouped_notices.deliver(session, renderer, concerns, now=now, kind="reminders")
    result.reminded = [name for name, key in reminders if key not in used]
    for code, keys in alerts.items():
        if not keys:
            result.unaddressed.append(code)
        elif all(key in used for key in keys):
            result.alerted_before.append(code)
        else:
            result.alerts.append(code)
    return result


def _missed_working_days(calendar, duty: ReportingDuty, today,  # type: ignore[no-untyped-def]
                         leaves: list[LeaveSpan]) -> int:
    """The days up to today a report was due without one since the last (today counts: it is the last slot):
    working days, less the days the project's liaison was on leave and those before the project was entered
    (``bot.domain.duties.missed_days``).

    A project never reported on has missed every working day since it was entered (the day it was
    entered included), across New Year too (a project imported on 12-30 and never reported has missed three
    days on 01-04), at most a year back: a project imported this morning has missed one.
    """
    if duty.last_day == today:
        return 0
    away = [s for s in leaves if s.person_id == duty.liaison_id]
    entered = duty.since or today.replace(month=1, day=1)
    last = duty.last_day or max(entered - timedelta(days=1), today - timedelta(days=_LONGEST_STREAK_DAYS))
    return missed_days(calendar, last, today, away=away, entered=duty.since, stage=duty.stage)


async def _alerts(session, renderer: Renderer, duty: ReportingDuty, missed: int, *,  # type: ignore[no-untyped-def]
                  key_day: str) -> list[Concern]:
    """The 连续未填报 alert of one project for its unit's handlers and its lead official."""
    handlers = await people_repo.unit_handlers(session, unit_id=duty.lead_unit_id)
    recipients: dict[int, Person] = {p.id: p for p in handlers}
    if duty.lead_official_id is not None:
        lead = await session.get(Person, duty.lead_official_id)
        if lead is not None and lead.active:
            recipients.setdefault(lead.id, lead)
    button = Button(renderer.phrase("buttons", "project", duty.code), f"pj:{duty.code}")
    reply = Reply(html=renderer.render("missed_reports", duty=duty, missed=missed), buttons=((button,),))
    line = renderer.render("missed_reports_line", duty=duty, missed=missed)
    return [Concern(person_id=person.id, key=f"missed:{duty.project_id}:{key_day}:p{person.id}", reply=reply,
                    line=line, buttons=(button,))
            for person in recipients.values()]
