"""/project_set: an admin changes one field of a project, audited with the old and the new value.

A change of the annual plan that moves the completion rate a lot (settings PLAN_CHANGE_CONFIRM and
COMPLETION_CONFIRM, see `bot.domain.plan_change`) is shown with its consequence and waits for 确认. A
包抓领导 or 联络员 named by a name several people share waits for the pick among them (buttons).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import labels
from bot.domain.amounts import AmountError, format_wan, parse_amount
from bot.domain.dates import day_of
from bot.domain.digits import as_id
from bot.domain.ledger_rows import STAGES
from bot.domain.messages import Button, Reply
from bot.domain.plan_change import plan_change
from bot.domain.text_widths import too_wide
from bot.render import label, shared_renderer
from bot.services import leader_inbox, stand_in_projects
from handlers import stage_events
from handlers.admin_people import find_people, find_units, resolve_person
from handlers.context import Context
from handlers.flow_buttons import Press, drafted, drafted_data, expired, flow_buttons
from handlers.flow_buttons import confirm_button as draft_confirm
from storage import annual_plans, audit, outbox, people, project_versions
from storage import projects as project_repo
from storage.models import Person, Project, ProjectSupportingUnit, Unit

_DATE = re.compile(r"([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?")
_LIST_SPLIT = re.compile(r"[、，,;；\s]+")
NONE_WORDS = frozenset({"无", "空", "-", "—", "none"})
FLOW = "project_set"
PREFIX = "ps"
PERSON_FIELDS = ("lead", "liaison")
# The fields a project's dated version keeps (storage.project_versions)
HELD_KEYS = frozenset({"name", "lead", "unit", "liaison"})


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    aliases: tuple[str, ...]

    @property
    def other_words(self) -> tuple[str, ...]:
        """The Chinese words an admin may type for the field besides its label (the usage lists them)."""
        return tuple(a for a in self.aliases if not a.isascii() and a != self.label)


# The words an admin may type for each field (the usage lists the Chinese ones, bot/templates/
# admin_project_set_usage.j2); a field's name as people read it is the audit's (bot/templates/code_labels.j2).
FIELD_WORDS: dict[str, tuple[str, ...]] = {
    "name": ("name", "项目名称", "名称"),
    "category": ("category", "项目类别", "类别"),
    "stage": ("stage", "建设阶段", "阶段"),
    "plan": ("plan", "annual_plan", "年度计划", "年度计划投资", "年度投资"),
    "total": ("total", "total_investment", "总投资"),
    "start": ("start", "planned_start", "计划开工", "开工"),
    "finish": ("finish", "planned_finish", "计划竣工", "竣工"),
    "lead": ("lead", "lead_official", "包抓领导", "领导"),
    "unit": ("unit", "lead_unit", "牵头单位"),
    "supporting": ("supporting", "supporting_units", "配合单位"),
    "liaison": ("liaison", "联络员", "首办秘书"),
}
FIELDS = tuple(Field(key, labels.FIELDS[key], words) for key, words in FIELD_WORDS.items())
_BY_ALIAS = {alias.lower(): f for f in FIELDS for alias in f.aliases}


class Invalid(ValueError):
    """A value that cannot be set; `reason` picks the message of admin_project_refused."""

    def __init__(self, reason: str, **context: Any) -> None:
        super().__init__(reason)
        self.reason, self.context = reason, context


def parse_day(text: str) -> date | None:
    """2026-11-20, 2026/11/20, 2026.11.20 or 2026年11月20日; None if it is not a real date."""
    match = _DATE.fullmatch(unicodedata.normalize("NFKC", text).strip())
    return day_of(match) if match else None


def _value(project: Project, key: str) -> object:
    """A field's stored value, to tell whether it changed."""
    return {"name": lambda: project.name, "category": lambda: project.category,
            "stage": lambda: project.stage, "plan": lambda: project.annual_plan,
            "total": lambda: project.total_investment, "start": lambda: project.planned_start,
            "finish": lambda: project.planned_finish, "lead": lambda: project.lead_official_id,
            "unit": lambda: project.lead_unit_id, "liaison": lambda: project.liaison_id,
            "supporting": lambda: [s.unit_id for s in project.supporting]}[key]()


def _words(macro: str, *args: Any) -> str:
    """A field's value as admin_project_set_words.j2 writes it."""
    return shared_renderer().phrase("admin_project_set_words", macro, *args)


def _money(amount: Decimal | None) -> str:
    if amount is None:
        return "—"
    if amount != amount.quantize(Decimal("0.1")):  # down to the 元, as stored
        return _words("money", f"{amount:,.4f}".rstrip("0"))
    return _words("money", format_wan(amount))


def shown(project: Project, key: str) -> str:
    """A field's current value as the admin reads it."""
    if key == "name":
        return project.name
    if key == "category":
        return project.category or "—"
    if key == "stage":
        return project.stage
    if key in ("plan", "total"):
        return _money(project.annual_plan if key == "plan" else project.total_investment)
    if key in ("start", "finish"):
        day = project.planned_start if key == "start" else project.planned_finish
        return day.isoformat() if day else "—"
    if key == "lead":
        return project.lead_official.name if project.lead_official else "—"
    if key == "unit":
        return project.lead_unit.name
    if key == "supporting":
        return _words("units", [s.unit.name for s in project.supporting])
    return project.liaison.name if project.liaison else "—"


async def project_set_command(ctx: Context, args: str) -> None:
    """`/project_set ZD2026-001 字段 值`: change one field of a project."""
    words = args.split(maxsplit=2)
    if len(words) < 3:
        ctx.reply("admin_project_set_usage", fields=FIELDS, stages=STAGES)
        return
    code, field_name, value = words[0], words[1], words[2].strip()
    project = await project_repo.get_project_by_code(ctx.session, code=code)
    if project is None:
        ctx.reply("project_not_found", code=code)
        return
    found = _BY_ALIAS.get(field_name.lower())
    if found is None:
        ctx.reply("admin_project_refused", reason="unknown_field", field=field_name, fields=FIELDS)
        return
    if found.key == "plan" and await _ask_to_confirm(ctx, project, value):
        return
    await _set(ctx, project, found, value)


async def _ask_to_confirm(ctx: Context, project: Project, value: str) -> bool:
    """A plan change that moves the completion rate a lot is shown with its consequence and waits for 确认
    (True); False when it can go ahead (or is invalid: applying it says why)."""
    try:
        new_plan = parse_amount(value)
    except AmountError:
        return False
    if new_plan > project.total_investment:
        return False  # refused when applied
    figures = await project_repo.project_figures(ctx.session, project=project, today=ctx.today)
    settings = ctx.deps.settings
    old_plan = figures.plan if figures.plan is not None else Decimal(0)  # this year's (storage.annual_plans)
    change = plan_change(old_plan, new_plan, figures.ytd_done, max_change=settings.plan_change_confirm,
                         max_rate=settings.completion_confirm)
    if not change.needs_confirmation or new_plan == figures.plan:
        return False
    state = drafted({"step": "confirm", "code": project.code, "field": "plan", "value": value})
    await ctx.save_flow(FLOW, state)
    ctx.reply("admin_project_set_confirm", project=project, change=change, before=_money(figures.plan),
              after=_words("money", format_wan(new_plan)), written=value, amount=new_plan,
              max_change=settings.plan_change_confirm,
              max_rate=settings.completion_confirm,
              buttons=[[draft_confirm(label("project_set_confirm"), PREFIX, state),
                        Button(label("cancel"), f"{PREFIX}:cancel")]])
    return True


async def confirm_button(ctx: Context, data: str) -> None:
    """确认修改 / 取消 under a plan change that waited for confirmation; ps:pp:<token>:<person id>, the namesake
    picked as 包抓领导 or 联络员 (the router does not check roles for buttons: an admin's only)."""
    if "admin" not in ctx.roles:
        ctx.reply("not_allowed", command=ctx.commands.get("project_set"))
        return
    await _pressed(ctx, data)


@flow_buttons(FLOW, cancel="cancel", cancelled="admin_project_set_cancelled", confirm=("ok", "pp"))
async def _pressed(ctx: Context, press: Press) -> None:
    """The change its message showed: the plan confirmed, or the person picked for it."""
    state = press.state
    project = await project_repo.get_project_by_code(ctx.session, code=state["code"])
    person_id = as_id(press.value) if press.at("pp:", "pick") else None
    person = await people.get_person(ctx.session, person_id=person_id) if person_id is not None else None
    await ctx.clear_flow()
    if project is None:
        expired(ctx)
    elif person is not None and state.get("field") in PERSON_FIELDS:
        await _set(ctx, project, _BY_ALIAS[state["field"]], person.name, person=person)
    elif press.at("ok", "confirm") and "value" in state:
        await _set(ctx, project, _BY_ALIAS[state["field"]], state["value"])
    else:
        expired(ctx)


async def _set(ctx: Context, project: Project, found: Field, value: str, *, person: Person | None = None) -> None:
    """Apply, audit and confirm one change (`person`: the 包抓领导 or 联络员 picked by button)."""
    before, value_before = shown(project, found.key), _value(project, found.key)
    lead_before = project.lead_official  # a lead away whose stand-in no longer holds the project is told
    if found.key == "plan":  # the plan of this year, which is the one set (storage.annual_plans)
        value_before = await annual_plans.plan_for(ctx.session, project_id=project.id, year=ctx.today.year)
        before = _money(value_before)
    try:
        granted = await _apply(ctx, project, found, value, person=person)
    except Invalid as error:
        ctx.reply("admin_project_refused", reason=error.reason, field=found.label, value=value,
                  project=project, **error.context)
        return
    if granted is None:  # a person could not be named: resolve_person replied
        return
    after = shown(project, found.key)
    if _value(project, found.key) == value_before:
        ctx.reply("admin_project_refused", reason="unchanged", field=found.label, value=after,
                  project=project)
        return
    project.updated_at = ctx.now
    detail = {"field": found.key, "before": before, "after": after}
    if found.key == "stage":  # finished, or taken back from finished: from which day
        detail |= await stage_events.record_stage_set(ctx, project, before=value_before, value=value)
    change = await audit.record_id(ctx.session, actor=ctx.actor, at=ctx.now, action="project.update",
                                   object_type="project", object_key=project.code, detail=detail)
    if found.key in HELD_KEYS:  # who holds it, or its name: dated, for the past periods' figures
        await project_versions.record(ctx.session, [project], at=ctx.now)
    for person, role in granted:
        await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="person.grant_role",
                           object_type="person", object_key=str(person.id), detail={"role": role})
    if found.key == "lead" and project.lead_official is not None:
        await _tell_new_lead(ctx, project, before=before, granted=bool(granted), change=change)
        if lead_before is not None:
            await _tell_lead_before(ctx, project, lead_before, change=change)
        # the stand-ins of either lead away on leave (one standing in for both told once)
        await stand_in_projects.tell_stand_ins(ctx.session, ctx.deps.renderer, giver=lead_before,
                                               taker=project.lead_official, projects=[project],
                                               before=None if before == "—" else before, change=change, now=ctx.now)
    # an amount written in Chinese numerals is said as read (「四万」按 4 万元计), as reports and /correct say it
    amount = project.annual_plan if found.key == "plan" else project.total_investment
    ctx.reply("admin_project_set_done", project=project, field=found.label, before=before, after=after,
              granted=granted, written=value if found.key in ("plan", "total") else None, amount=amount,
              start_withdrawn=detail.get("start_withdrawn"))


async def _tell_new_lead(ctx: Context, project: Project, *, before: str, granted: bool, change: int) -> None:
    """The project's new 包抓领导 is told it is his, with what waits for him on it (bot.services.leader_inbox)."""
    lead = project.lead_official
    inbox = await leader_inbox.waiting_on(ctx.session, project_ids=[project.id])
    html = ctx.deps.renderer.render("admin_project_lead_notice", project=project, before=before, inbox=inbox,
                                    granted=granted)
    await outbox.enqueue_for_person(ctx.session, person_id=lead.id,
                                    reply=Reply(html=html, buttons=inbox.action_buttons()),
                                    key=f"project:{project.code}:lead:change{change}", now=ctx.now)


async def _tell_lead_before(ctx: Context, project: Project, lead: Person, *, change: int) -> None:
    """The project's previous 包抓领导 is told it left him and whom it went to (as /handover tells the giver),
    unless he was deactivated."""
    if not lead.active:
        return
    html = ctx.deps.renderer.render("admin_project_lead_given", project=project, taker=project.lead_official)
    await outbox.enqueue_for_person(ctx.session, person_id=lead.id, reply=Reply(html=html), now=ctx.now,
                                    key=f"project:{project.code}:lead:change{change}:given")


async def _apply(ctx: Context, project: Project, field: Field, value: str, *, person: Person | None = None
                 ) -> list[tuple[Person, str]] | None:
    """Set the field from the typed value; returns the roles granted on the way (None when the value names
    no single person: the candidates were shown as buttons, and the change waits for the pick). Raises
    Invalid."""
    key = field.key
    if key in ("name", "category"):
        text = " ".join(value.split())
        if not text:
            raise Invalid("bad_text")
        if (wide := too_wide("project_name" if key == "name" else "category", text)) is not None:
            raise Invalid("too_wide", wide=wide)
        if key == "name":
            project.name = text
        else:
            project.category = text
    elif key == "stage":
        typed = stage_events.stage_typed(ctx, project, value)
        if isinstance(typed, str):
            raise Invalid(typed, stages=STAGES)
        kept = await stage_events.stage_kept(ctx, project, typed.stage)
        if kept:
            raise Invalid("started_moves", moves=kept, stage=typed.stage)
        project.stage = typed.stage
    elif key in ("plan", "total"):
        try:
            amount = parse_amount(value)
        except AmountError as error:
            raise Invalid("bad_amount", error=error) from None
        plan = amount if key == "plan" else project.annual_plan
        total = amount if key == "total" else project.total_investment
        if key == "total" and amount <= 0:
            raise Invalid("total_zero")
        if plan > total:
            raise Invalid("plan_over_total", plan=format_wan(plan), total=format_wan(total))
        if key == "plan":
            project.annual_plan = amount
            await ctx.session.flush()
            await annual_plans.set_plan(ctx.session, project_id=project.id, year=ctx.today.year, amount=amount,
                                        now=ctx.now)
        else:
            project.total_investment = amount
    elif key in ("start", "finish"):
        day = None if value.lower() in NONE_WORDS else parse_day(value)
        if day is None and value.lower() not in NONE_WORDS:
            raise Invalid("bad_date")
        start = day if key == "start" else project.planned_start
        finish = day if key == "finish" else project.planned_finish
        if start is not None and finish is not None and start > finish:
            raise Invalid("start_after_finish", start=start.isoformat(), finish=finish.isoformat())
        if key == "start":
            project.planned_start = day
        else:
            project.planned_finish = day
    elif key in PERSON_FIELDS:
        if person is None:
            person = await _pick_person(ctx, project, key, value)
        if person is None:
            return None
        if not person.active:
            raise Invalid("inactive", person=person.name)
        if key == "lead":
            project.lead_official_id, project.lead_official = person.id, person
        else:
            project.liaison_id, project.liaison = person.id, person
        role = "lead" if key == "lead" else "liaison"
        return [(person, role)] if people.grant_role(person, role) else []
    elif key == "unit":
        unit = await _exact_unit(ctx.session, value)
        if any(s.unit_id == unit.id for s in project.supporting):
            raise Invalid("lead_is_supporting", unit=unit.name)
        project.lead_unit_id, project.lead_unit = unit.id, unit
    else:
        names = [] if value.lower() in NONE_WORDS else [n for n in _LIST_SPLIT.split(value) if n]
        units = list({u.id: u for u in [await _exact_unit(ctx.session, name) for name in names]}.values())
        if any(u.id == project.lead_unit_id for u in units):
            raise Invalid("lead_is_supporting", unit=project.lead_unit.name)
        if [s.unit_id for s in project.supporting] != [u.id for u in units]:
            project.supporting.clear()
            await ctx.session.flush()
            project.supporting.extend(ProjectSupportingUnit(unit_id=u.id, unit=u, position=i)
                                      for i, u in enumerate(units))
    await ctx.session.flush()
    return []


async def _pick_person(ctx: Context, project: Project, key: str, value: str) -> Person | None:
    """The one person `value` names; namesakes are offered as buttons (ps:pp:<id>), the change waiting for
    the pick."""
    state = drafted({"step": "pick", "code": project.code, "field": key})
    if len(await find_people(ctx.session, value)) > 1:
        await ctx.save_flow(FLOW, state)
    return await resolve_person(ctx, value, buttons_for=drafted_data(PREFIX, state, "pp"),
                                what=key, code=project.code)


async def _exact_unit(session: AsyncSession, name: str) -> Unit:
    units = await find_units(session, name)
    if len(units) == 1 and units[0].name == name.strip().replace("（", "(").replace("）", ")"):
        return units[0]
    raise Invalid("unknown_unit", unit=name, similar=[u.name for u in units[:10]])

