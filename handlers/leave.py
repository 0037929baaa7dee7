"""/leave: a liaison's or a 包抓领导's leave (请假) with an optional substitute (代理人), listed and ended (销假) by
button.

Who approves: nobody waits. A leave entered by the person is recorded at once and the admins are told; an
admin may enter one for a liaison or a 包抓领导 (`/leave 姓名 …`; several of the name are offered as buttons), and
that person is told. The substitute is told either way. A liaison's substitute must be an active liaison (they
report with /report); a 包抓领导's another active leader (包抓领导 or 区领导), who holds his level on his projects'
problems while the leave runs (storage.problems.level_holders); named by name or phone, never the person
himself, nor someone on leave on one of its days; nor is a leave recorded for someone on days he stands in for
another's leave (he would be away while holding that person's reports or level). When a 包抓领导's leave with a
substitute begins, the substitute is told what already waits at his level (bot.services.leave_starts); when it
ends by 销假, the lead is told what the substitute decided in his place and what waits at his level now
(bot.services.leave_account). A leave changes only reporting duties and who holds a lead
official's level, so none is recorded for anyone else.
See ``bot.domain.leave``.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.clock import day_start
from bot.domain.digits import as_id
from bot.domain.leave import LeaveError, LeaveRequest, LeaveSpan, overlapping, parse_leave
from bot.domain.messages import Button, Reply
from bot.render import label
from bot.services import leave_account, leave_starts
from bot.services.leader_inbox import LeaderInbox
from bot.services.leave_account import LeadProjects, LeaveAccount
from handlers.commands import Command, CommandRegistry, Use, command_words
from handlers.context import Context
from handlers.flow_buttons import Press, drafted, drafted_data, expired, flow_buttons
from handlers.people_lookup import candidate_label, find_people, mask_phone
from storage import audit, outbox
from storage import leaves as leave_repo
from storage import people as people_repo
from storage import projects as project_repo
from storage.models import Leave, Person

PREFIX = "lv"
PICK_FLOW = "leave_pick"  # an admin's /leave for a name several people share waits for the pick
CANDIDATES = 10  # namesakes offered as buttons
EVERYONE = {"全部", "all"}
SHOWN = 30  # leaves one list shows
ON_LEAVE_ROLES = frozenset({"liaison", "lead"})  # whose leave changes something: reporting, a lead's level
LEADERS = frozenset({"lead", "top"})  # who may stand in for a 包抓领导


def register(registry: CommandRegistry) -> None:
    """/leave, for liaisons and lead officials (their own leave) and admins (anyone's of them)."""
    registry.add(Command.worded("leave", leave_command,
                                roles=frozenset({"liaison", "lead", "admin"}),
                                more=(Use(frozenset({"admin"}), command_words("leave.admin"),
                                          command_words("leave.admin.usage")),)))


async def leave_command(ctx: Context, args: str) -> None:
    """`/leave` lists; `/leave 开始 [结束] [代理人]` records; an admin: `/leave 姓名 …` or `/leave 全部`."""
    assert ctx.person is not None
    is_admin = "admin" in ctx.roles
    text = args.strip()
    if not text:
        await _show(ctx, await leave_repo.current_leaves(ctx.session, today=ctx.today, involving=ctx.person.id))
        return
    if text in EVERYONE and is_admin:
        await _show(ctx, await leave_repo.current_leaves(ctx.session, today=ctx.today), everyone=True)
        return
    request = parse_leave(text, today=ctx.today)
    if isinstance(request, LeaveError):
        ctx.reply("leave_refused", reason=request.reason, text=text)
        return
    person: Person | None = ctx.person
    if request.who is not None:
        if not is_admin:
            ctx.reply("leave_refused", reason="not_admin", text=text)
            return
        person = await _one_person(ctx, request.who, pick=text)
    elif not ctx.roles & ON_LEAVE_ROLES:
        ctx.reply("leave_refused", reason="not_liaison", text=text)
        return
    if person is not None:
        await _record(ctx, request, person, text)


async def _record(ctx: Context, request: LeaveRequest, person: Person, text: str) -> None:
    """Record the leave of `person` that `text` asked for (checked, audited and told)."""
    assert ctx.person is not None
    if not set(person.role_names) & ON_LEAVE_ROLES:  # a leave changes only reporting and a lead's level
        ctx.reply("leave_refused", reason="not_a_liaison", text=text, person=person)
        return
    clash = await _clash(ctx, person.id, request)
    if clash is not None:
        ctx.reply("leave_refused", reason="overlap", text=text, clash=clash, person=person)
        return
    covered = await _standing_in(ctx, person.id, request)
    if covered is not None:  # away while standing in: the absent one's reports or level would reach nobody
        absent = await people_repo.get_person(ctx.session, person_id=covered.person_id)
        ctx.reply("leave_refused", reason="standing_in", text=text, clash=covered, person=person, absent=absent)
        return
    substitute = None
    if request.substitute is not None:
        substitute = await _one_person(ctx, request.substitute, roles=substitute_roles(person))
        if substitute is None:
            return
        if substitute.id == person.id:
            ctx.reply("leave_refused", reason="self_substitute", text=text)
            return
        away = await _clash(ctx, substitute.id, request)
        if away is not None:  # nobody stands in while on leave himself
            ctx.reply("leave_refused", reason="substitute_away", text=text, clash=away, person=substitute)
            return
    leave = await leave_repo.add_leave(ctx.session, person_id=person.id, substitute_id=substitute and substitute.id,
                                       start=request.start, end=request.end, now=ctx.now, actor=ctx.actor.label)
    await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="leave.create", object_type="person",
                       object_key=str(person.id), detail={"leave_id": leave.id, "start": str(leave.start),
                                                       "end": str(leave.end),
                                                       "substitute": substitute.name if substitute else None})
    await _tell(ctx, leave, person, substitute, ended=False)
    if substitute is not None and leave.start == ctx.today:  # one beginning later: the escalation tick that day
        await leave_starts.tell_stand_in(ctx.session, ctx.deps.renderer, leave, now=ctx.now)
    ctx.reply("leave_recorded", leave=leave, person=person, substitute=substitute, own=person.id == ctx.person.id,
              buttons=[[Button(label("leave_end"), f"{PREFIX}:x:{leave.id}")]])


async def _clash(ctx: Context, person_id: int, request: LeaveRequest) -> LeaveSpan | None:
    """The first leave of `person_id` (not over) sharing a day with the one asked for, if any."""
    theirs = await leave_repo.current_leaves(ctx.session, today=ctx.today, person_id=person_id)
    return overlapping([leave_repo.span(le) for le in theirs], request.start, request.end)


async def _standing_in(ctx: Context, person_id: int, request: LeaveRequest) -> LeaveSpan | None:
    """The first leave of someone else (not over) that `person_id` stands in for and that shares a day with the
    one asked for, if any: nobody goes on leave while he stands in, as nobody stands in while on leave."""
    named = await leave_repo.current_leaves(ctx.session, today=ctx.today, involving=person_id)
    return overlapping([leave_repo.span(le) for le in named if le.substitute_id == person_id],
                       request.start, request.end)


async def leave_button(ctx: Context, data: str) -> None:
    """销假 under a leave: `lv:x:<id>`, by the person on leave or an admin; `lv:p:<person id>`: the admin picks
    which of several people of the name typed the leave is for (the line typed waits in PICK_FLOW)."""
    kind, _, raw = data.partition(":")
    if kind == "p":
        await _picked(ctx, data)
        return
    leave_id = as_id(raw)
    leave = await ctx.session.get(Leave, leave_id) if kind == "x" and leave_id is not None else None
    if leave is None or leave.cancelled_at is not None or ctx.person_id is None:
        ctx.reply("button_expired")
        return
    if leave.person_id != ctx.person_id and "admin" not in ctx.roles:
        ctx.reply("leave_refused", reason="not_yours", text="")
        return
    if not await leave_repo.end_leave(ctx.session, leave, today=ctx.today, now=ctx.now):
        ctx.reply("leave_refused", reason="over", text="", leave=leave)
        return
    person = await ctx.session.get(Person, leave.person_id)
    substitute = await ctx.session.get(Person, leave.substitute_id) if leave.substitute_id else None
    assert person is not None
    await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="leave.end", object_type="person",
                       object_key=str(person.id), detail={"leave_id": leave.id, "cancelled": leave.cancelled_at
                                                       is not None, "end": str(leave.end)})
    # A 包抓领导 back early holds his level again today: what waits there is his now (his stand-in held it from the
    # leave's first day, today's too when the leave is cancelled the day it began). The projects he holds now are
    # said as they are, with those handed to or away from him meanwhile.
    told_of = LeaveAccount()
    if substitute is not None and "lead" in person.role_names and leave.start <= ctx.today:
        told_of = await leave_account.account(ctx.session, person, substitute, since=day_start(leave.start),
                                              until=ctx.now, now=ctx.now)
    elif substitute is not None and "lead" in person.role_names:  # cancelled before it began: nothing was held
        told_of = LeaveAccount(projects=LeadProjects(now=await project_repo.projects_led_by(ctx.session,
                                                                                            lead_ids=[person.id])))
    await _tell(ctx, leave, person, substitute, ended=True, told_of=told_of)
    mine = person.id == ctx.person_id
    ctx.reply("leave_ended", [list(row) for row in told_of.waiting.action_buttons()] if mine else [], leave=leave,
              person=person, substitute=substitute, inbox=told_of.waiting if mine else LeaderInbox(),
              projects=told_of.projects, changes=told_of.projects if mine else LeadProjects(), mine=mine,
              gone_up=told_of.gone_up if mine else [], decided=told_of.decided if mine else [])


@flow_buttons(PICK_FLOW, cancel="cancel", cancelled="cancelled", confirm="p")
async def _picked(ctx: Context, press: Press) -> None:
    """`lv:p:<token>:<person id>`: the person the line typed (the flow's state) is for, picked among namesakes."""
    state = press.state
    person_id = as_id(press.value) if press.at("p:", "pick") else None
    person = await ctx.session.get(Person, person_id) if person_id is not None else None
    if person is None or not person.active or "admin" not in ctx.roles:
        expired(ctx)
        return
    await ctx.clear_flow()
    text = str(state.get("text", ""))
    request = parse_leave(text, today=ctx.today)
    if isinstance(request, LeaveError):  # the days typed have passed since
        ctx.reply("leave_refused", reason=request.reason, text=text)
        return
    await _record(ctx, request, person, text)


def substitute_roles(person: Person) -> frozenset[str]:
    """Who may stand in for `person`: a liaison for a liaison (he reports), a leader for a 包抓领导 (he decides)."""
    roles = set(person.role_names)
    return frozenset(({"liaison"} if "liaison" in roles else set()) | (LEADERS if "lead" in roles else set()))


async def _one_person(ctx: Context, name: str, *, roles: frozenset[str] = frozenset(), pick: str = ""
                      ) -> Person | None:
    """The one active person of that name (with one of `roles` when given: a substitute); replies why not
    otherwise. With `pick` (the line typed), several people of the name are offered as buttons (the leave waits
    for the pick)."""
    found = [p for p in await find_people(ctx.session, name) if p.active]  # a name, or a phone number
    if roles:
        found = [p for p in found if set(p.role_names) & roles]
    if len(found) > 1 and pick:
        state = drafted({"step": "pick", "text": pick})  # the buttons name this line: not one typed since
        await ctx.save_flow(PICK_FLOW, state)
        ctx.reply("admin_people_candidates", spec=name, candidates=found[:CANDIDATES], what="leave",
                  more=max(len(found) - CANDIDATES, 0), mask=mask_phone, pick=True,
                  buttons=[[Button(candidate_label(p), drafted_data(PREFIX, state, "p", str(p.id)))]
                           for p in found[:CANDIDATES]])
        return None
    if len(found) != 1:
        reason = "no_person" if not roles else "no_liaison" if "liaison" in roles else "no_leader"
        ctx.reply("leave_refused", reason=reason, text=name, found=len(found))
        return None
    return found[0]


async def _show(ctx: Context, leaves: list[Leave], *, everyone: bool = False) -> None:
    ids = {le.person_id for le in leaves} | {le.substitute_id for le in leaves if le.substitute_id}
    persons = (await ctx.session.scalars(select(Person).where(Person.id.in_(ids)))).all()
    names = {p.id: p.name for p in persons}
    # what a substitute does depends on whose leave it is: a liaison's reports, a 包抓领导's level on his problems
    leads = {p.id for p in persons if "lead" in p.role_names}
    liaisons = {p.id for p in persons if "liaison" in p.role_names}
    shown = leaves[:SHOWN]
    may_end = [le for le in shown if le.person_id == ctx.person_id or "admin" in ctx.roles]
    buttons = [[Button(label("leave_end_of", names.get(le.person_id, ""), le.start), f"{PREFIX}:x:{le.id}")]
               for le in may_end]
    ctx.reply("leave_list", leaves=shown, total=len(leaves), names=names, me=ctx.person_id, everyone=everyone,
              leads=leads, liaisons=liaisons, buttons=buttons)


async def _tell(ctx: Context, leave: Leave, person: Person, substitute: Person | None, *, ended: bool,
                told_of: LeaveAccount | None = None) -> None:
    """The admins, the substitute and the person on leave (unless they acted themselves) are told; at its end
    (`told_of`, bot.services.leave_account), what the substitute decided in the place of a 包抓领导, the projects
    he holds now, the 包抓领导 himself which of them changed hands meanwhile, what waits at his level now, with the
    acts as buttons, and what went up past it while he was away, and the substitute which of what waits went back
    to him."""
    told_of = told_of or LeaveAccount()
    admins = await people_repo.people_with_role(ctx.session, role="admin")
    whom = {p.id for p in admins if p.active} | {person.id} | ({substitute.id} if substitute else set())
    whom.discard(ctx.person_id or 0)
    context = dict(leave=leave, person=person, substitute=substitute, actor=ctx.actor.label, ended=ended,
                   lead="lead" in person.role_names, projects=told_of.projects, changes=LeadProjects(), gone_up=(),
                   decided=told_of.decided)
    html = ctx.deps.renderer.render("leave_notice", inbox=LeaderInbox(), handed=LeaderInbox(), **context)
    replies = {pid: Reply(html=html) for pid in whom}
    waiting = told_of.waiting
    changed = told_of.projects.given or told_of.projects.taken
    if person.id in whom and (told_of.gone_up or not waiting.empty or changed):
        replies[person.id] = Reply(html=ctx.deps.renderer.render(
            "leave_notice", inbox=waiting, handed=LeaderInbox(),
            **(context | {"gone_up": told_of.gone_up, "changes": told_of.projects})),
            buttons=waiting.action_buttons())
    if not waiting.empty:
        if substitute is not None and substitute.id in whom:  # which of them went back from him to the lead
            replies[substitute.id] = Reply(html=ctx.deps.renderer.render(
                "leave_notice", inbox=LeaderInbox(), handed=waiting, **context))
    key = f"leave:{leave.id}:{'end' if ended else 'new'}:{ctx.now:%Y%m%d%H%M%S}"
    await outbox.enqueue_for_people(ctx.session, [outbox.PersonNotice(person_id=pid, reply=replies[pid],
                                                                      key=f"{key}:p{pid}") for pid in sorted(whom)],
                                    now=ctx.now)
