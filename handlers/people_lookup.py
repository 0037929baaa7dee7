"""Finding people and units as admins name them (姓名, 手机, 姓名 手机; a unit's name or part of it), and the
answers shared by the admin handlers (namesakes offered as buttons, masked phones, role names)."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.labels import LIST_SEPARATOR
from bot.domain.ledger_rows import ROLE_BY_LABEL
from bot.domain.messages import Button
from bot.render import ROLE_LABELS
from bot.services.invites import ROLES
from handlers.context import Context
from storage import people
from storage.models import Person, Unit

CANDIDATE_LIMIT = 10
_PHONE_CHARS = re.compile(r"[0-9\s\-+()]+")
_PHONE = re.compile(r"1[3-9][0-9]{9}")
_HALF_WIDTH_BRACKETS = str.maketrans("（）", "()")  # a unit's name is stored with half-width brackets


def is_admin(ctx: Context) -> bool:
    return ctx.person is not None and "admin" in ctx.roles


def refuse_unless_admin(ctx: Context) -> bool:
    """For buttons and flow steps (commands are checked by the router): True, after replying, if the caller
    is not an admin."""
    if is_admin(ctx):
        return False
    ctx.reply("admin_people_refused", reason="not_admin")
    return True


def mask_phone(phone: str | None) -> str:
    """13800104729 → 138****4729."""
    if not phone:
        return "—"
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:] if len(phone) > 7 else phone


def role_text(person: Person) -> str:
    """The person's roles in Chinese, in the usual order: 联络员、单位经办人."""
    return LIST_SEPARATOR.join(ROLE_LABELS[r] for r in ROLES if r in person.role_names)


def parse_role(text: str) -> str | None:
    """"liaison" or 联络员 (and the other labels of the roster) → "liaison"."""
    text = text.strip()
    if text.lower() in ROLES:
        return text.lower()
    return ROLE_BY_LABEL.get(text)


def as_phone(text: str) -> str | None:
    """The 11-digit mobile number written in `text` (spaces, dashes, +86 allowed), or None."""
    text = unicodedata.normalize("NFKC", text).strip()
    if not _PHONE_CHARS.fullmatch(text):
        return None
    digits = re.sub(r"\D", "", text)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits if _PHONE.fullmatch(digits) else None


async def find_people(session: AsyncSession, spec: str) -> list[Person]:
    """People matching "姓名", "手机" or "姓名 手机" (inactive ones included)."""
    words = spec.split()
    phones = [p for p in (as_phone(w) for w in words) if p]
    names = [w for w in words if as_phone(w) is None]
    if phones:
        query = select(Person).where(Person.phone == phones[0]).order_by(Person.id)
        found = list((await session.scalars(query)).unique().all())
        return [p for p in found if not names or p.name == names[0]]
    if not names:
        return []
    return await people.find_people_by_name(session, name=names[0])


def names_one_person(spec: str) -> bool:
    """Whether `spec` is at most one name and one phone ("郝芳", "13900007919", "郝芳 13900007919"): any more
    words would otherwise be dropped without a word (`/deactivate 郝芳 张三` must not stop 郝芳 alone)."""
    words = spec.split()
    phones = [w for w in words if as_phone(w) is not None]
    return len(phones) <= 1 and len(words) - len(phones) <= 1


async def resolve_person(ctx: Context, spec: str, *, buttons_for: str | None = None, after: str = "",
                         what: str = "", code: str = "") -> Person | None:
    """The one person `spec` names; otherwise replies (not found, or the candidates to pick from, with a
    button each when `buttons_for` gives the button data before the person id, and `after` what follows
    it). `what` says which person is being picked, when a command names two or more: "giver" or "taker" of a
    handover, or the field of project `code` the person is picked for ("lead", "liaison")."""
    if not names_one_person(spec):
        ctx.reply("admin_people_refused", reason="one_person", spec=spec.strip())
        return None
    found = await find_people(ctx.session, spec)
    if len(found) == 1:
        return found[0]
    if not found:
        ctx.reply("admin_people_refused", reason="not_found", spec=spec.strip())
        return None
    buttons = ([[Button(candidate_label(p), f"{buttons_for}:{p.id}{after}")] for p in found[:CANDIDATE_LIMIT]]
               if buttons_for else [])
    ctx.reply("admin_people_candidates", spec=spec.strip(), candidates=found[:CANDIDATE_LIMIT], what=what, code=code,
              more=max(len(found) - CANDIDATE_LIMIT, 0), mask=mask_phone, pick=bool(buttons), buttons=buttons)
    return None


def candidate_label(person: Person) -> str:
    """A namesake's button: name, unit (or title) and masked phone."""
    where = person.unit.name if person.unit else (person.title or "")
    return " ".join(part for part in (person.name, where, mask_phone(person.phone)) if part)


async def find_units(session: AsyncSession, text: str) -> list[Unit]:
    """The unit with exactly this name, else every unit whose name contains it."""
    text = text.strip().translate(_HALF_WIDTH_BRACKETS)
    exact = await session.scalar(select(Unit).where(Unit.name == text))
    if exact is not None:
        return [exact]
    if not text:
        return []
    return list((await session.scalars(select(Unit).where(Unit.name.contains(text, autoescape=True))
                                       .order_by(Unit.name))).all())
