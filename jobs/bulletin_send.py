"""A rendered bulletin queued in the outbox: its parts and files to every bulletin group, the top officials'
summary, each lead official's digest (to his stand-in on a day of his leave), and a note to the admins of
any file that could not be built. Keyed so that a bulletin's notices are queued once.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Attachment
from bot.clock import local_day
from bot.domain.messages import Button, Reply
from bot.domain.periods import KIND_NAMES
from bot.render import Renderer, label
from jobs.bulletin_render import Rendered
from storage import outbox
from storage import people as people_repo
from storage import problems as problem_repo
from storage.digest_queries import bulletin_groups
from storage.models import Person
from storage.outbox import PersonNotice


def _web_buttons(web_url: str | None, index: int, count: int, *, group_channel: str | None = None
                 ) -> tuple[tuple[Button, ...], ...]:
    """The 驾驶舱 button under the last part of a bulletin (when the web pages are configured): in a Telegram
    group a link to the pages (signing in is then /web in a private chat), for a person a button answering
    with their own sign-in link; a WeCom group robot shows no buttons."""
    if web_url is None or index != count - 1 or group_channel not in (None, "telegram"):
        return ()
    if group_channel == "telegram":
        return ((Button(label("web_open"), "", url=f"{web_url}/web/"),),)
    return ((Button(label("web_view"), "web:/web/"),),)


async def enqueue_bulletin(session: AsyncSession, rendered: Rendered, *, now: datetime, files_root: Path,
                           renderer: Renderer, web_url: str | None = None) -> int:
    """Queue a bulletin's notices in the caller's transaction (the one that claims the bulletin); how many."""
    period = rendered.period
    key = f"bulletin:{period.kind}:{period.name}"
    parts = rendered.parts
    attachments = [Attachment(kind="photo", path=str(rendered.files[name].relative_to(files_root)))
                   for name in ("chart", "units", "participation") if name in rendered.files]
    for name in ("ledger", "document"):  # the Excel ledger and the Word bulletin, monthly and up
        if name in rendered.files:
            attachments.append(Attachment(kind="document", path=str(rendered.files[name].relative_to(files_root)),
                                          filename=rendered.files[name].name))
    count = 0
    # A group the bot is out of or muted in gets them too: they wait there (``storage.group_waits``).
    for group in await bulletin_groups(session):
        for index, part in enumerate(parts):
            count += len(await outbox.enqueue_for_chat(session, channel=group.channel, chat_id=group.chat_id,
                                                       reply=Reply(html=part, buttons=_web_buttons(
                                                           web_url, index, len(parts), group_channel=group.channel)),
                                                       key=f"{key}:g{group.id}:{index}",
                                                       now=now))
        for index, attachment in enumerate(attachments):
            count += len(await outbox.enqueue_for_chat(
                session, channel=group.channel, chat_id=group.chat_id, reply=Reply(html=""),
                key=f"{key}:g{group.id}:file{index}", now=now, attachment=attachment))
    # The officials' notices in a few statements whatever their number: the transaction holds SQLite's write
    # lock, and replies to reports wait for it.
    notices: list[PersonNotice] = []
    for person in await people_repo.people_with_role(session, role="top"):
        notices += [PersonNotice(person.id, Reply(html=part, buttons=_web_buttons(
                        web_url, index, len(rendered.top_parts))), f"{key}:top:{index}:p{person.id}")
                    for index, part in enumerate(rendered.top_parts)]
        if "chart" in rendered.files:
            notices.append(PersonNotice(person.id, Reply(html=""), f"{key}:top:chart:p{person.id}",
                                        attachments[0]))
    active = {p.id: p for p in (await session.scalars(select(Person).where(
        Person.id.in_(sorted(rendered.leaders)), Person.active.is_(True)))).all()} if rendered.leaders else {}
    # On a day of his leave that names a substitute, the substitute gets his digest (he holds his level).
    holders = await problem_repo.lead_holders(session, list(active.values()), day=local_day(now))
    for leader_id, leader_parts in rendered.leaders.items():
        holder = holders.get(leader_id)
        if holder is None:
            continue
        standing = holder.id != leader_id
        own, stood_in = rendered.leader_heads[leader_id]
        head = (stood_in if standing else own) + "\n"
        notices += [PersonNotice(holder.id, Reply(html=(head if index == 0 else "") + part, buttons=_web_buttons(
                        web_url, index, len(leader_parts))),
                                 f"{key}:lead:{index}:p{holder.id}" + (f":l{leader_id}" if standing else ""))
                    for index, part in enumerate(leader_parts)]
    count += len(await outbox.enqueue_for_people(session, notices, now=now))
    if rendered.failed:
        html = renderer.render("bulletin_part_failed", kind_name=KIND_NAMES[period.kind], period=period,
                               failed=rendered.failed)
        for admin in await people_repo.people_with_role(session, role="admin"):
            count += len(await outbox.enqueue_for_person(session, person_id=admin.id, reply=Reply(html=html),
                                                         key=f"{key}:failed:p{admin.id}", now=now))
    return count

