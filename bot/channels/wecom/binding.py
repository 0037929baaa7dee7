"""An admin binds a WeCom userid to a person of the roster (``diaodu people bind --wecom``)."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.channels.wecom import CHANNEL
from bot.clock import Clock

if TYPE_CHECKING:
    from bot.render import Renderer
    from storage.db import Database

# What an admin may type for a userid (WeCom's rule for new accounts).
USERID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


@dataclass(frozen=True)
class WeComBinding:
    """What ``bind_wecom`` did."""

    person_id: int
    person_name: str
    userid: str
    previous_person: str | None  # the userid was bound to someone else before
    already: bool  # it was bound to this person already


async def bind_wecom(db: Database, clock: Clock, *, userid: str, person_name: str,
                     phone: str | None = None, actor_label: str = "cli",
                     renderer: Renderer | None = None) -> WeComBinding:
    """Bind a WeCom userid to a person of the roster (an admin vouches for it).

    Raises ``AdminInputError`` with a Chinese message when the userid is malformed or the person is
    unknown, inactive or ambiguous (several of that name: give the phone).
    """
    from bot import render
    from bot.services import held_notices
    from bot.services.admin_ops import WeComRefused
    from storage import audit, people
    from storage.audit import Actor

    userid = userid.strip()
    if not USERID_RE.match(userid):
        raise WeComRefused("bad_userid", userid=userid)
    now: datetime = clock.now()
    async with db.session() as session:
        found = await people.find_people_by_name(session, name=person_name.strip(), phone=phone or None)
        if not found:
            raise WeComRefused("no_person", name=person_name, phone=phone)
        if len(found) > 1:
            raise WeComRefused("same_names", name=person_name, people=found)
        person = found[0]
        if not person.active:
            raise WeComRefused("deactivated", name=person.name)
        # WeCom userids are case-insensitive: "haofang" is the member bound as "HaoFang", whose spelling
        # (WeCom's, once they have written) stays the account's.
        existing = await people.get_account(session, channel=CHANNEL, external_id=userid)
        if existing is not None:
            userid = existing.external_id
        previous = None
        if existing is not None and existing.person_id != person.id:
            other = await people.get_person(session, person_id=existing.person_id)
            previous = other.name if other else str(existing.person_id)
        already = existing is not None and existing.person_id == person.id and existing.blocked_at is None
        account = await people.bind_account(session, person=person, channel=CHANNEL, external_id=userid,
                                            chat_id=userid, display_name=userid, now=now)
        # Notices held while the person had no account go out now, through this one.
        await held_notices.release(session, renderer or render.Renderer(), person_id=person.id, account=account,
                                   now=now)
        await audit.record(session, actor=Actor(label=actor_label, channel="cli"), at=now,
                           action="account.bind", object_type="person", object_key=str(person.id),
                           detail={"channel": CHANNEL, "external_id": userid, "by": "admin",
                                   "previous_person": previous})
        return WeComBinding(person_id=person.id, person_name=person.name, userid=userid,
                            previous_person=previous, already=already)


async def cli_bind_wecom(core: Any, args: argparse.Namespace, *, out: Callable[[str], None] = print) -> int:
    """`diaodu people bind --wecom USERID --person NAME [--phone PHONE]`."""
    result = await bind_wecom(core.db, core.clock, userid=args.wecom, person_name=args.person,
                              phone=getattr(args, "phone", None), renderer=core.deps.renderer)
    out(core.deps.renderer.plain("cli/wecom", menu=None, result=result))
    return 0
