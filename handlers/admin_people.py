"""Admin commands about people: /invite, /people, /person, /deactivate and /handover.

Only admins may use them (the commands are registered for the "admin" role; the buttons check it again,
since the router does not check roles for buttons). Every change is audited with the admin and the channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.digits import as_id
from bot.domain.escalation import ACTIVE
from bot.domain.messages import Reply
from bot.domain.paging import page_of
from bot.services import leader_inbox, stand_in_projects
from bot.services.invites import ROLES, create_invite, link_username
from handlers.commands import Command, CommandRegistry
from handlers.context import Context
from handlers.flow_buttons import Press, drafted, drafted_data, expired, flow_buttons
from handlers.paging import page_buttons
from handlers.people_lookup import (
    candidate_label,
    find_people,
    find_units,
    is_admin,
    mask_phone,
    parse_role,
    refuse_unless_admin,
    resolve_person,
    role_text,
)
from storage import audit, outbox, people, project_versions, web_sessions
from storage import projects as project_repo
from storage.models import ChatAccount, Person, PersonRole, Problem, Project, Unit

PREFIX = "adp"
HANDOVER_FLOW = "handover"  # waits for the pick of the namesake who takes over
ADMIN = frozenset({"admin"})
ROSTER_PAGE = 30  # people on one page of /people
# The finders the other admin handlers used to import from here live in handlers.people_lookup.
__all__ = ["BUTTONS", "candidate_label", "find_people", "find_units", "is_admin", "mask_phone", "open_items",
           "refuse_unless_admin", "register", "resolve_person"]


def register(registry: CommandRegistry) -> None:
    """Add the people commands, in menu order."""
    registry.add(Command.worded("invite", invite_command, roles=ADMIN))
    registry.add(Command.worded("people", people_command, roles=ADMIN))
    registry.add(Command.worded("person", person_command, roles=ADMIN))
    registry.add(Command.worded("deactivate", deactivate_command, roles=ADMIN))
    registry.add(Command.worded("handover", handover_command, roles=ADMIN))


async def _bound_ids(session: AsyncSession) -> set[int]:
    """Ids of the people with at least one chat account that has not blocked the bot."""
    query = select(ChatAccount.person_id).where(ChatAccount.blocked_at.is_(None))
    return set((await session.scalars(query)).all())


# --- /invite ---------------------------------------------------------------------------------------

async def invite_command(ctx: Context, args: str) -> None:
    """`/invite 角色 姓名|手机`: a fresh single-use link to forward to that person."""
    role_text, _, spec = args.strip().partition(" ")
    role = parse_role(role_text) if role_text else None
    if role is None or not spec.strip():
        ctx.reply("admin_people_usage", command="invite", role_text=role_text, roles=ROLES)
        return
    person = await resolve_person(ctx, spec, buttons_for=f"{PREFIX}:inv:{role}")
    if person is not None:
        await _invite(ctx, person, role)


async def _invite(ctx: Context, person: Person, role: str) -> None:
    if not person.active:
        ctx.reply("admin_people_refused", reason="inactive", person=person)
        return
    settings = ctx.deps.settings
    invite = await create_invite(ctx.session, person=person, role=role, now=ctx.now,
                                 ttl=timedelta(hours=settings.invite_ttl_hours), actor=ctx.actor,
                                 bot_username=link_username(settings))
    accounts = await people.accounts_of(ctx.session, person_id=person.id)
    ctx.reply("admin_people_invite", person=person, role=role, invite=invite,
              bound=sum(1 for a in accounts if a.blocked_at is None))


# --- /people and /person ---------------------------------------------------------------------------

async def people_command(ctx: Context, args: str) -> None:
    """`/people [单位|角色]`: the roster, with who has a bound chat account."""
    text = args.strip()
    query = select(Person).order_by(Person.id)
    role, unit = (parse_role(text) if text else None), None
    if role is not None:
        query = query.where(Person.id.in_(select(PersonRole.person_id).where(PersonRole.role == role)))
    elif text:
        unit = await _pick_unit(ctx, text)
        if unit is None:
            return
        query = query.where(Person.unit_id == unit.id)
    roster = list((await ctx.session.scalars(query)).unique().all())
    bound = await _bound_ids(ctx.session)
    page = page_of(roster, ctx.page, ROSTER_PAGE)
    ctx.reply("admin_people_list", role=role, unit=unit, people=page.items, bound=bound, labels=role_text, page=page,
              total=len(roster), buttons=page_buttons("people", page, text))


async def _pick_unit(ctx: Context, text: str) -> Unit | None:
    """The unit named exactly, or the only one whose name contains `text`; replies otherwise."""
    units = await find_units(ctx.session, text)
    if len(units) == 1:
        return units[0]
    ctx.reply("admin_people_refused", reason="unit_unknown" if not units else "unit_ambiguous", text=text,
              units=[u.name for u in units], roles=ROLES)
    return None


async def person_command(ctx: Context, args: str) -> None:
    """`/person 姓名|手机`: roles, unit or title, phone (masked), chat accounts and projects."""
    if not args.strip():
        ctx.reply("admin_people_usage", command="person", role_text="", roles=ROLES)
        return
    person = await resolve_person(ctx, args, buttons_for=f"{PREFIX}:per")
    if person is not None:
        await _person_card(ctx, person)


async def _person_card(ctx: Context, person: Person) -> None:
    card = {"person": person, "phone": mask_phone(person.phone),
            "accounts": await people.accounts_of(ctx.session, person_id=person.id),
            "liaison_of": await project_repo.projects_of_liaison(ctx.session, person_id=person.id),
            "lead_of": await _projects_led(ctx.session, person.id)}
    ctx.reply("admin_people_card", cards=[card], labels=role_text, more=0)


async def _projects_led(session: AsyncSession, person_id: int) -> list[Project]:
    query = select(Project).where(Project.lead_official_id == person_id).order_by(Project.code)
    return list((await session.scalars(query)).unique().all())


# --- /deactivate -----------------------------------------------------------------------------------

@dataclass
class OpenItems:
    """What a person still answers for: to hand over before (or after) they leave."""

    liaison_of: list[Project] = field(default_factory=list)
    lead_of: list[Project] = field(default_factory=list)
    raised: list[Problem] = field(default_factory=list)
    unit_held: list[Problem] = field(default_factory=list)  # their unit's, when nobody else handles it

    @property
    def empty(self) -> bool:
        return not (self.liaison_of or self.lead_of or self.raised or self.unit_held)


async def open_items(session: AsyncSession, person: Person) -> OpenItems:
    items = OpenItems(liaison_of=await project_repo.projects_of_liaison(session, person_id=person.id),
                      lead_of=await _projects_led(session, person.id))
    query = (select(Problem).where(Problem.raised_by_id == person.id, Problem.status != "closed")
             .order_by(Problem.id))
    items.raised = list((await session.scalars(query)).unique().all())
    if "unit" in person.role_names and person.unit_id is not None:
        handlers = await people.unit_handlers(session, unit_id=person.unit_id)
        others = [p for p in handlers if p.id != person.id]
        if not others:
            query = (select(Problem).where(Problem.unit_id == person.unit_id, Problem.status.in_(ACTIVE))
                     .order_by(Problem.id))
            items.unit_held = list((await session.scalars(query)).unique().all())
    return items


async def deactivate_command(ctx: Context, args: str) -> None:
    """`/deactivate 姓名|手机`: the person's chat accounts stop working; lists what to hand over."""
    if not args.strip():
        ctx.reply("admin_people_usage", command="deactivate", role_text="", roles=ROLES)
        return
    person = await resolve_person(ctx, args, buttons_for=f"{PREFIX}:dea")
    if person is not None:
        await _deactivate(ctx, person)


async def _deactivate(ctx: Context, person: Person) -> None:
    assert ctx.person is not None
    if person.id == ctx.person.id:
        ctx.reply("admin_people_refused", reason="self", person=person)
        return
    if not person.active:
        ctx.reply("admin_people_refused", reason="already_inactive", person=person)
        return
    person.active = False
    await web_sessions.end_sessions_of(ctx.session, person_id=person.id, now=ctx.now)  # signed out of the web
    await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="person.deactivate",
                       object_type="person", object_key=str(person.id), detail={"name": person.name})
    ctx.reply("admin_people_deactivated", person=person, items=await open_items(ctx.session, person))


# --- /handover -------------------------------------------------------------------------------------

async def handover_command(ctx: Context, args: str) -> None:
    """`/handover 原人员 接替人员`: projects (as liaison or lead official) and the open problems `from`
    raised go to `to`, who gets the roles for them and a notice."""
    words = args.split()
    if len(words) > 2:  # "/handover 郝芳 严超 明天起": one giving and one taking, nothing more
        ctx.refuse_words(" ".join(words[2:]))
        return
    if len(words) != 2:
        ctx.reply("admin_people_usage", command="handover", role_text="", roles=ROLES)
        return
    givers, takers = await find_people(ctx.session, words[0]), await find_people(ctx.session, words[1])
    for spec, found in zip(words, (givers, takers), strict=True):
        if not found:
            ctx.reply("admin_people_refused", reason="not_found", spec=spec)
            return
    # Namesakes are picked by button: the one handing over first (the one taking over carried along when
    # there is only one, else asked next: HANDOVER_FLOW keeps how they were named), then the one taking over.
    if len(givers) > 1 and len(takers) == 1:
        await resolve_person(ctx, words[0], buttons_for=f"{PREFIX}:ho", after=f":{takers[0].id}", what="giver")
        return
    if len(givers) > 1:  # the giver's buttons name this handover (HANDOVER_FLOW): not one typed since
        state = drafted({"step": "pick", "taker": words[1]})
        await ctx.save_flow(HANDOVER_FLOW, state)
        await resolve_person(ctx, words[0], buttons_for=drafted_data(PREFIX, state, "hp"), what="giver")
        return
    taker = await resolve_person(ctx, words[1], buttons_for=f"{PREFIX}:ho:{givers[0].id}", what="taker")
    if taker is not None:
        await _handover_between(ctx, givers[0], taker)


async def _handover_between(ctx: Context, giver: Person, taker: Person) -> None:
    if giver.id == taker.id:
        ctx.reply("admin_people_refused", reason="same_person", person=giver)
        return
    if not taker.active:
        ctx.reply("admin_people_refused", reason="inactive", person=taker)
        return
    items = await open_items(ctx.session, giver)
    if not (items.liaison_of or items.lead_of or items.raised):
        ctx.reply("admin_people_refused", reason="nothing_to_hand_over", person=giver, items=items)
        return
    await _hand_over(ctx, giver, taker, items)


async def _hand_over(ctx: Context, giver: Person, taker: Person, items: OpenItems) -> None:
    async def record(action: str, object_type: str, key: str, detail: dict[str, object]) -> None:
        await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action=action, object_type=object_type,
                           object_key=key, detail={"from": giver.id, "to": taker.id, **detail})

    for project in items.liaison_of:
        project.liaison_id, project.liaison, project.updated_at = taker.id, taker, ctx.now
        await record("project.update", "project", project.code,
                     {"field": "liaison", "before": giver.name, "after": taker.name, "handover": True})
    for project in items.lead_of:
        project.lead_official_id, project.lead_official, project.updated_at = taker.id, taker, ctx.now
        await record("project.update", "project", project.code,
                     {"field": "lead_official", "before": giver.name, "after": taker.name, "handover": True})
    # the projects' new holders, dated (storage.project_versions)
    await project_versions.record(ctx.session, {*items.liaison_of, *items.lead_of}, at=ctx.now)
    for problem in items.raised:
        problem.raised_by_id, problem.raised_by, problem.updated_at = taker.id, taker, ctx.now
        await record("problem.raiser", "problem", problem.number, {"before": giver.name, "after": taker.name})
    wanted = (["liaison"] if items.liaison_of or items.raised else []) + (["lead"] if items.lead_of else [])
    granted = [role for role in wanted if people.grant_role(taker, role)]
    for role in granted:
        await record("person.grant_role", "person", str(taker.id), {"role": role})
    # Whom the giver's notices go to from now on, should the giver be deactivated (storage.recipients).
    change = await audit.record_id(ctx.session, actor=ctx.actor, at=ctx.now, action="person.handover",
                                   object_type="person", object_key=str(giver.id),
                                   detail={"to": taker.id, "name": taker.name})
    await ctx.session.flush()
    inbox = await leader_inbox.waiting_on(ctx.session, project_ids=[p.id for p in items.lead_of])
    context = {"giver": giver, "taker": taker, "items": items, "granted": granted, "inbox": inbox}
    html = ctx.deps.renderer.render("admin_people_handover_notice", **context)
    buttons = inbox.action_buttons(raised=items.raised)
    await outbox.enqueue_for_person(ctx.session, person_id=taker.id, reply=Reply(html=html, buttons=buttons),
                                    now=ctx.now,
                                    key=f"handover:{change}")
    # a taker away on leave: his stand-in holds the level the projects bring, and is told so; a giver away on
    # leave: his stand-in no longer holds it, and is told whom it went to (one standing in for both, once)
    context["stand_in"], context["giver_stand_in"] = await stand_in_projects.tell_stand_ins(
        ctx.session, ctx.deps.renderer, giver=giver, taker=taker, projects=items.lead_of, before=giver.name,
        change=change, now=ctx.now)
    if giver.active:  # told once: the problems of what he handed over are no longer his to hear of
        await outbox.enqueue_for_person(ctx.session, person_id=giver.id, now=ctx.now,
                                        reply=Reply(html=ctx.deps.renderer.render("admin_people_handover_given",
                                                                                  **context)),
                                        key=f"handover:{change}:given")
    ctx.reply("admin_people_handover", **context)


# --- buttons ---------------------------------------------------------------------------------------

async def people_button(ctx: Context, data: str) -> None:
    """adp:inv:<role>:<person id>, adp:dea:<person id>, adp:per:<person id> and adp:ho:<giver id>:<taker
    id> (0: the taker is still to be picked): a candidate picked from a list of namesakes."""
    if refuse_unless_admin(ctx):
        return
    kind, _, rest = data.partition(":")
    if kind == "ho":
        await _handover_button(ctx, rest)
        return
    if kind == "hp":
        await _giver_picked(ctx, data)
        return
    role, _, token = rest.rpartition(":")
    person_id = as_id(token)
    person = await people.get_person(ctx.session, person_id=person_id) if person_id is not None else None
    if person is None:
        expired(ctx)
    elif kind == "inv" and role in ROLES:
        await _invite(ctx, person, role)
    elif kind == "dea" and not role:
        await _deactivate(ctx, person)
    elif kind == "per" and not role:
        await _person_card(ctx, person)
    else:
        expired(ctx)


async def _handover_button(ctx: Context, data: str) -> None:
    """adp:ho:<giver>:<taker>: both picked, hand over. (taker 0, a message of an older version whose taker was
    still to be picked: 「按钮已失效」, the handover is typed again.)"""
    giver_token, _, taker_token = data.partition(":")
    giver_id, taker_id = as_id(giver_token), as_id(taker_token)
    giver = await people.get_person(ctx.session, person_id=giver_id) if giver_id is not None else None
    taker = await people.get_person(ctx.session, person_id=taker_id) if taker_id is not None else None
    if giver is None or taker is None:
        expired(ctx)
        return
    await _handover_between(ctx, giver, taker)


@flow_buttons(HANDOVER_FLOW, cancel="cancel", cancelled="cancelled", confirm="hp")
async def _giver_picked(ctx: Context, press: Press) -> None:
    """adp:hp:<token>:<giver>: the one handing over picked among namesakes; then the one taking over, as
    named in the /handover the buttons were under (the flow's state), is asked for among his."""
    giver_id = as_id(press.value) if press.at("hp:", "pick") else None
    giver = await people.get_person(ctx.session, person_id=giver_id) if giver_id is not None else None
    if giver is None:
        expired(ctx)
        return
    await ctx.clear_flow()
    taker = await resolve_person(ctx, str(press.state.get("taker", "")), buttons_for=f"{PREFIX}:ho:{giver.id}",
                                 what="taker")
    if taker is not None:
        await _handover_between(ctx, giver, taker)


BUTTONS = {PREFIX: people_button}
