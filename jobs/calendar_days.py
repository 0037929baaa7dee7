"""The calendar's daily record: each day, right after midnight (Asia/Shanghai), what the calendar in force said
of the day that just ended is kept (``storage.calendar_history``), and at start-up the days missed while no
process ran are caught up. A day is so kept with the holidays data and the admins' rulings it passed under:
a new release of the holidays package installed, and the bot restarted, before the next reminder run cannot
rewrite yesterday. Keeping is idempotent: a day kept once is never written again."""

from __future__ import annotations

from bot.clock import Clock, local_today
from storage.calendar_history import keep_passed_days
from storage.db import Database
from storage.settings import load_calendar


async def run(db: Database, clock: Clock) -> int:
    """Keep every passed day not kept yet, as of ``clock``; how many were kept."""
    now = clock.now()
    async with db.session() as session:
        return await keep_passed_days(session, calendar=await load_calendar(session), today=local_today(clock), now=now)


__all__ = ["run"]
