"""/audit, for admins: who changed what, newest first, 20 lines a page; of one project, person, problem (its
history as the problem card words it) or any object key.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.domain import labels
from bot.domain.digits import as_id
from bot.domain.paging import page_of
from bot.domain.problem_numbers import parse_problem_number, problem_number
from handlers.context import Context
from handlers.paging import page_buttons
from storage import audit
from storage import people as people_repo
from storage import problems as problem_repo
from storage import projects as project_repo
from storage.models import AuditEntry, Unit

AUDIT_LIMIT = 20  # lines on one page of /audit
AUDIT_HISTORY = 200  # the latest lines /audit pages through
AUDIT_TEXT_CHARS = 60  # of what was written at a step of a problem's history, on one line of /audit


async def audit_command(ctx: Context, args: str) -> None:
    """`/audit` the latest changes, 20 a page; `/audit ZD2026-001`, `/audit 郝芳`, `/audit W0007` or any object
    key. Words after the object are refused, named, unless the whole text is a key with a record."""
    token = args.strip()
    keys: list[str] = []
    subject = ""
    events: list[dict[str, Any]] = []
    if not token:
        entries = await audit.entries_for(ctx.session, limit=AUDIT_HISTORY)
    else:
        keys, subject, events = await _audit_subject(ctx, token)
        entries = []
        for key in keys:
            entries += await audit.entries_for(ctx.session, object_key=key, limit=AUDIT_HISTORY)
        # "/audit ZD2026-001 多余" names one object and a word too many; a key of several words (an imported
        # file's name) is found whole, as typed
        extra = token.split(maxsplit=1)[1:]
        if extra and not entries and not events:
            ctx.refuse_words(extra[0])
            return
    rows = [_entry_row(e) for e in entries] + events
    rows.sort(key=lambda r: (r["at"], r["order"]), reverse=True)
    page = page_of(rows[:AUDIT_HISTORY], ctx.page, AUDIT_LIMIT)
    rows = page.items
    names = await _names_in(ctx, rows)
    for row in rows:
        person_id = as_id(str(row["object_key"])) if row.get("object_type") == "person" else None
        if person_id is not None:
            row["object"] = names["people"].get(person_id, row["object"])
    ctx.reply("admin_ops_audit", rows=rows, token=token, subject=subject, names=names, page=page,
              text_chars=AUDIT_TEXT_CHARS, buttons=page_buttons("audit", page, token))


async def _audit_subject(ctx: Context, token: str) -> tuple[list[str], str, list[dict[str, Any]]]:
    """The audit keys a token stands for, how to name it, and (for a problem) its history as rows."""
    number = parse_problem_number(token, prefix_required=True)
    if number is not None:
        key = problem_number(number)
        problem = await problem_repo.get_problem(ctx.session, problem_id=number)
        if problem is None:
            return [key], key, []
        history = await problem_repo.history(ctx.session, problem_id=problem.id)
        # worded by the template as the problem card words them (_problem_event.j2)
        rows = [{"at": e.at, "order": -1, "actor": e.actor.name if e.actor else None, "channel": "—",
                 "code": None, "detail": e.detail or {}, "kind": e.kind, "object": key,
                 "object_type": "problem", "object_key": key, "summary": e.text or ""} for e in history]
        code = problem.project.code if problem.project is not None else ""
        return [key], ctx.deps.renderer.phrase("admin_ops_words", "problem_subject", key, code), rows
    project = await project_repo.get_project_by_code(ctx.session, code=token)
    if project is not None:
        return [project.code], f"{project.code} {project.name}", []
    found = await people_repo.find_people_by_name(ctx.session, name=token)
    if found:
        return [str(p.id) for p in found], token, []
    return [token], token, []


def _entry_row(entry: AuditEntry) -> dict[str, Any]:
    """One line of /audit; what changed is worded by the template from `code` and `detail`."""
    # a group, a broadcast, a retry or a setting is named by the action and its detail
    shown = "" if entry.object_type in {"broadcast", "outbox", "group", "setting"} else entry.object_key
    return {"at": entry.at, "order": entry.id, "actor": entry.actor,
            "channel": labels.label(labels.CHANNELS, entry.channel) if entry.channel else "—",
            "action": labels.label(labels.ACTIONS, entry.action), "code": entry.action,
            "detail": entry.detail or {}, "object": shown, "object_type": entry.object_type,
            "object_key": entry.object_key, "summary": ""}


async def _names_in(ctx: Context, rows: list[dict[str, Any]]) -> dict[str, dict[int, str]]:
    """The names of the people and units that the rows name by id (object keys, import details)."""
    people: set[int] = set()
    units: set[int] = set()
    for row in rows:
        person_id = as_id(str(row["object_key"])) if row.get("object_type") == "person" else None
        if person_id is not None:
            people.add(person_id)
        detail = row.get("detail") or {}
        for part in (detail.get("changed"), detail.get("before")):
            if not isinstance(part, dict):
                continue
            people |= {v for k, v in part.items() if k in labels.PERSON_ID_FIELDS and isinstance(v, int)}
            units |= {v for k, v in part.items() if k in labels.UNIT_ID_FIELDS and isinstance(v, int)}
    unit_names = {}
    if units:
        found = await ctx.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(sorted(units))))
        unit_names = {uid: name for uid, name in found.all()}
    return {"people": await people_repo.names_of(ctx.session, ids=people), "units": unit_names}


