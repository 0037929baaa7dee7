"""The half-monthly report's schedule: ask the liaisons, then compile the office's document.

On a half-month's ask day (``bot.domain.halfmonth.ask_day``: the 1st or 16th, or the next working day) at
the monthly bulletin's time, every liaison who owes a report on the half-month just ended gets one message
listing their projects with a button each; the ask goes out until the compile day to anyone the bot could
not ask earlier (a restart, a liaison added), and its key makes it at most once. On the compile day at the
same time, the document is compiled (``bot.services.halfmonth``) and sent to the admins with a summary;
a ``bulletins`` row of kind "halfmonth" makes that happen at most once, across restarts and processes.
Both follow the monthly bulletins' switch (``/schedule``). Nothing is asked for a half-month that ended
before the ledger was first imported.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.clock import SHANGHAI
from bot.domain import halfmonth as periods
from bot.domain.messages import Attachment, Button, Reply
from bot.render import Renderer, label
from bot.services import halfmonth as service
from storage import halfmonth as repo
from storage import outbox
from storage import people as people_repo
from storage.db import Database
from storage.models import Bulletin, Project
from storage.outbox import PersonNotice
from storage.settings import load_calendar, load_digest_settings

KIND = periods.BULLETIN_KIND
log = logging.getLogger(__name__)


@dataclass
class HalfMonthRun:
    """What one run did: the liaisons who owe reports (each asked once), the document compiled, if any."""

    owing: list[str] = field(default_factory=list)
    compiled: Path | None = None


async def run(db: Database, renderer: Renderer, *, now: datetime, files_root: Path) -> HalfMonthRun:
    """Ask and compile what is due at `now` (the digest tick calls this)."""
    result = HalfMonthRun()
    local = now.astimezone(SHANGHAI)
    today = local.date()
    async with db.session() as session:
        settings = await load_digest_settings(session)
        first_import = await session.scalar(select(func.min(Project.created_at)))
        if not settings.monthly_enabled or first_import is None or local.time() < settings.monthly_time:
            return result
        calendar = await load_calendar(session)
        half = periods.latest_asked(today, calendar)
        if half.end < first_import.astimezone(SHANGHAI).date():
            return result
        compile_day = periods.compile_day(half, calendar)
        if today < compile_day:
            result.owing = await _ask(session, renderer, half, due=compile_day, now=now)
            return result
    result.compiled = await produce(db, renderer, half=half, now=now, files_root=files_root)
    return result


async def produce(db: Database, renderer: Renderer, *, half: periods.HalfMonth, now: datetime,
                  files_root: Path) -> Path | None:
    """Compile `half`'s document and send it to the admins, unless that was done before (then None)."""
    async with db.session() as session:
        if await repo.compiled(session, half=half):
            return None
        compiled = await service.compile_document(session, renderer, half=half,
                                                  calendar=await load_calendar(session),
                                                  out_dir=files_root / KIND, issued=now.astimezone(SHANGHAI).date())
    try:
        async with db.session() as session:
            session.add(Bulletin(kind=KIND, period=half.key, produced_at=now, summary={
                "owed": compiled.owed, "sent": compiled.sent}))
            await session.flush()  # claims the half-month: a concurrent run fails here
            html = renderer.render("halfmonth_compiled", half=half, compiled=compiled)
            attachment = Attachment(kind="document", path=str(compiled.path.relative_to(files_root)),
                                    filename=compiled.path.name)
            admins = await people_repo.people_with_role(session, role="admin")
            await outbox.enqueue_for_people(session, [
                notice for admin in admins for notice in (
                    PersonNotice(admin.id, Reply(html=html), f"{KIND}:{half.key}:text:p{admin.id}"),
                    PersonNotice(admin.id, Reply(html=""), f"{KIND}:{half.key}:file:p{admin.id}", attachment))
            ], now=now)
    except IntegrityError:
        log.info("half-monthly report %s was compiled by another process", half.key)
        return None
    return compiled.path


async def _ask(session, renderer: Renderer, half: periods.HalfMonth, *, due, now: datetime) -> list[str]:  # type: ignore[no-untyped-def]
    """One message per liaison who still owes reports on `half`, listing those projects."""
    sent = await repo.sent(session, period_start=half.start)
    owing: dict[int, list[repo.Owed]] = defaultdict(list)
    for item in await repo.owed(session, half=half):
        if item.project_id not in sent:
            owing[item.liaison_id].append(item)
    notices = []
    for liaison_id, items in owing.items():
        html = renderer.render("halfmonth_list", half=half, rows=[(item, False) for item in items], asking=True,
                               due=due)
        buttons = tuple((Button(label("halfmonth", item.code), f"hm:p:{item.code}"),) for item in items[:10])
        notices.append(PersonNotice(liaison_id, Reply(html=html, buttons=buttons),
                                    f"{KIND}:{half.key}:ask:p{liaison_id}"))
    await outbox.enqueue_for_people(session, notices, now=now)
    return [items[0].liaison for items in owing.values()]
