"""/node: a project's milestones (节点计划) in the chat (bot.services.nodes).

A liaison (or the substitute of one on leave, for the leave's days) marks a node of his projects done: `/node`
lists the open nodes as buttons (so does 「节点完成」 in `/report`'s flow); after the node, the day (today with a
button, or a day typed), then photos and a note as evidence, then 完成. A finished project's nodes not marked
done are closed, but their real day may still be recorded, by the liaison (`/node 项目编号`) or an admin (the
project's card): a day typed, on or before the confirmed 竣工 day. The photos the report's flow held when
「节点完成」 was pressed go with the node, as its evidence: the liaison sent them of the site he now says is done.
An admin keeps the plan: `/node 城北` finds the project (by code or name, paged) and shows its nodes;
`/node 项目编号 新增 名称 日期`, `… 改名 名称 新名称`, `… 改期 名称 日期`, `… 移出 名称` change it, each change
audited.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.domain.dates import parse_day
from bot.domain.digits import as_id
from bot.domain.messages import Button
from bot.domain.nodes import finished_since, node_state
from bot.domain.paging import page_of
from bot.domain.progress import FINISHED_STAGES
from bot.domain.text_widths import too_wide
from bot.render import label
from bot.services import nodes as service
from handlers.commands import Command, CommandRegistry, Use, command_words
from handlers.context import Context
from handlers.flow_buttons import Press, confirm_button, drafted, expired, flow_buttons
from handlers.paging import page_buttons
from handlers.report_albums import albums_of, albums_with, carried, remember_node
from handlers.report_store import FLOW as REPORT_FLOW
from storage import leaves as leave_repo
from storage import nodes as repo
from storage import projects as project_repo
from storage import stage_events as stage_repo
from storage.models import Person, Project, ProjectNode

FLOW = "node"
PREFIX = service.PREFIX
NOTE_MAX = 500
LISTED = 20  # node buttons under a list
SEARCH_PAGE = 8
ACTIONS = {"新增": "add", "改名": "rename", "改期": "replan", "移出": "remove"}


def _cancel() -> Button:
    return Button(label("cancel"), f"{PREFIX}:x")


def register(registry: CommandRegistry) -> None:
    registry.add(Command.worded(
        "node", node_command, roles=frozenset({"liaison", "admin"}),
        more=(Use(frozenset({"admin"}), command_words("node.admin"),
                  command_words("node.admin.usage")),)))


async def _my_project_ids(ctx: Context) -> list[int]:
    """The projects the caller marks nodes for today: his own, and those of a liaison on leave he stands in for."""
    assert ctx.person_id is not None
    mine = await project_repo.projects_of_liaison(ctx.session, person_id=ctx.person_id)
    for span in await leave_repo.covering_for(ctx.session, substitute_id=ctx.person_id, day=ctx.today):
        mine += await project_repo.projects_of_liaison(ctx.session, person_id=span.person_id)
    return [p.id for p in mine]


async def _may_mark(ctx: Context, project: Project) -> bool:
    """The liaison (or his substitute) marks his project's nodes; an admin records a finished project's."""
    if ctx.person_id is not None and "admin" in ctx.roles and project.stage in FINISHED_STAGES:
        return True
    if ctx.person_id is None or project.liaison_id is None:
        return False
    if project.liaison_id == ctx.person_id:
        return True
    covering = await leave_repo.covering_for(ctx.session, substitute_id=ctx.person_id, day=ctx.today)
    return any(span.person_id == project.liaison_id for span in covering)


async def node_command(ctx: Context, args: str) -> None:
    """`/node` (the caller's open nodes), `/node CODE` (one project's), admins' `/node WORDS` and changes."""
    words = args.split()
    admin = "admin" in ctx.roles
    if admin and len(words) >= 2 and words[1] in ACTIONS:
        await _change(ctx, words[0], ACTIONS[words[1]], words[2:])
        return
    if not words:
        ids = await _my_project_ids(ctx) if "liaison" in ctx.roles or not admin else []
        if ids or not admin:
            await list_open(ctx, ids)
        else:
            ctx.reply("node_usage")
        return
    if admin:
        await _search(ctx, " ".join(words))
        return
    if len(words) > 1:
        ctx.refuse_words(" ".join(words[1:]))
        return
    await _liaison_list(ctx, words[0])


async def _liaison_list(ctx: Context, code: str) -> None:
    project = await project_repo.get_project_by_code(ctx.session, code=code)
    if project is None:
        ctx.reply("project_not_found", code=code)
    elif not await _may_mark(ctx, project):
        ctx.reply("node_refused", reason="not_yours", project=project)
    elif project.stage in FINISHED_STAGES:
        await _list_closed(ctx, project)
    else:
        await list_open(ctx, [project.id])


async def list_open(ctx: Context, project_ids: list[int]) -> None:
    """The open nodes of these projects, a button each (the first `LISTED`); and the finished ones among them
    with nodes not marked done, a button each to their list (补记完成)."""
    found = await repo.open_nodes(ctx.session, project_ids=project_ids)
    rows = [(node, project, node_state(node.planned_on, None, ctx.today)) for node, project in found]
    buttons = [[Button(f"{project.code} {node.name}", f"{PREFIX}:d:{node.id}")] for node, project, _ in rows[:LISTED]]
    finished = await repo.unrecorded_of_finished(ctx.session, project_ids=project_ids)
    buttons += [[Button(label("node_record_project", project.code), f"{PREFIX}:l:{project.code}")]
                for project, _ in finished[:LISTED]]
    ctx.reply("node_list", buttons, rows=rows[:LISTED], more=max(len(rows) - LISTED, 0), finished=finished)


async def _finished_by(ctx: Context, project: Project) -> date | None:
    """The day the project was confirmed finished (竣工), if it is finished and that day is known."""
    if project.stage not in FINISHED_STAGES:
        return None
    return await stage_repo.finish_day(ctx.session, project_id=project.id)


def _record_buttons(nodes: list[ProjectNode]) -> list[list[Button]]:
    """A finished project's nodes not marked done, a button each to record the day they were done."""
    return [[Button(label("node_record_done", node.name), f"{PREFIX}:d:{node.id}")]
            for node in nodes if node.done_on is None][:LISTED]


async def _list_closed(ctx: Context, project: Project) -> None:
    """A finished project's nodes not marked done (closed), to record the day one was really done."""
    nodes = [n for n in await repo.nodes_of_project(ctx.session, project_id=project.id) if n.done_on is None]
    ctx.reply("node_list_closed", _record_buttons(nodes), project=project, nodes=nodes[:LISTED],
              more=max(len(nodes) - LISTED, 0), finished_by=await _finished_by(ctx, project))


# --- marking a node done ----------------------------------------------------------------------------

async def _node_to_mark(ctx: Context, node_id: int) -> tuple[ProjectNode, Project] | None:
    """The node and its project if the caller may mark it done now; replies with the refusal otherwise."""
    node = await repo.get_node(ctx.session, node_id=node_id)
    project = None if node is None else await ctx.session.get(Project, node.project_id)
    if node is None or project is None or node.removed_at is not None:
        ctx.reply("node_refused", reason="removed", node=node, project=project)
        return None
    if not await _may_mark(ctx, project):
        ctx.reply("node_refused", reason="not_yours", project=project)
        return None
    if node.done_on is not None:
        by = None if node.done_by_id is None else await ctx.session.get(Person, node.done_by_id)
        ctx.reply("node_refused", reason="done", node=node, project=project, by=by)
        return None
    return node, project


async def _report_photos(ctx: Context, project: Project) -> tuple[list[list[str]], list[str]]:
    """The photos the caller's report of this project held, in its guided flow, when he turned to its nodes
    (「节点完成」), and the albums they are of: they go with the node, and so do the parts of those albums
    that come later."""
    state = await ctx.flow_state(REPORT_FLOW)
    if state is None or state.get("code") != project.code:
        return [], []
    held = carried(state)
    return [[ctx.msg.channel, file_id] for file_id in held["photos"]], held["albums"]


def _day_buttons(ctx: Context, project: Project, finished_by: date | None, *, dated: bool = False
                 ) -> list[list[Button]]:
    """今天完成 (with the day when `dated`), but for a finished project unless it finished today, and 取消."""
    today = project.stage not in FINISHED_STAGES or finished_by == ctx.today
    shown = label("node_today", ctx.today) if dated else label("node_today")
    return [*([[Button(shown, f"{PREFIX}:t")]] if today else []), [_cancel()]]


async def _ask_day(ctx: Context, node: ProjectNode, project: Project) -> None:
    photos, albums = await _report_photos(ctx, project)
    # the node's token: the 完成 of another node's message (an older flow) does not mark this one done
    await ctx.save_flow(FLOW, drafted({"step": "day", "node": node.id, "photos": photos, "albums": albums}))
    finished_by = await _finished_by(ctx, project)
    ctx.reply("node_ask_day", _day_buttons(ctx, project, finished_by, dated=True), node=node, project=project,
              today=ctx.today, photos=len(photos), finished=project.stage in FINISHED_STAGES,
              finished_by=finished_by)


async def _ask_evidence(ctx: Context, node: ProjectNode, project: Project, state: dict[str, Any]) -> None:
    await ctx.save_flow(FLOW, state)
    ctx.reply("node_ask_evidence", _evidence_buttons(state), node=node, project=project,
              day=date.fromisoformat(state["day"]), photos=len(state.get("photos", [])), note=state.get("note", ""))


def _evidence_buttons(state: dict[str, Any]) -> list[list[Button]]:
    return [[confirm_button(label("node_finish"), PREFIX, state)], [_cancel()]]


async def node_step(ctx: Context, state: dict[str, Any]) -> None:
    """A text or photo while the flow waits for the day or for the evidence."""
    found = await _node_to_mark(ctx, int(state.get("node", 0)))
    if found is None:
        await ctx.clear_flow()
        return
    node, project = found
    text = ctx.msg.text.strip()
    photos = [*state.get("photos", []), *([ctx.msg.channel, f] for f in ctx.msg.photos)]
    state = {**state, "albums": albums_with(ctx, state)}  # whose later parts follow the photos to the node
    if state.get("step") == "day":
        finished = project.stage in FINISHED_STAGES  # a photo is no day: the node was done before it finished
        finished_by = await _finished_by(ctx, project)
        day = ctx.today if ctx.msg.photos and not text and not finished else parse_day(text, today=ctx.today,
                                                                                       past=True)
        why = ("day_needed" if finished and not text else "bad_day") if day is None else service.refusal_of_day(
            day, planned_on=node.planned_on, today=ctx.today, finished_by=finished_by)
        if why is not None:
            if ctx.msg.photos:  # the day is asked again; the photos are kept for the evidence
                await ctx.save_flow(FLOW, {**state, "photos": photos})
            ctx.reply("node_refused", _day_buttons(ctx, project, finished_by), reason=why, day=day, text=text,
                      node=node, project=project, finished_by=finished_by,
                      photos=len(photos) if ctx.msg.photos else 0)
            return
        await _ask_evidence(ctx, node, project, {**state, "step": "evidence", "day": day.isoformat(),
                                                 "photos": photos})
        return
    note = state.get("note", "")
    if text:
        note = f"{note}{ctx.deps.renderer.words('node_ask_evidence', 'note_separator')}{text}" if note else text
        if ctx.refuse_too_long(note, NOTE_MAX, "note"):
            return
    await _ask_evidence(ctx, node, project, {**state, "photos": photos, "note": note})


@flow_buttons(FLOW, cancel="x", cancelled="node_cancelled", open_to=("p:", "l:", "d:"), confirm="ok")
async def node_button(ctx: Context, press: Press) -> None:
    """nd:d:ID pick a node; nd:t today; nd:ok:<token> done; nd:x cancel; nd:l:CODE a project's open nodes (from
    /report); nd:p:CODE an admin's project."""
    action, _, rest = press.data.partition(":")
    if action == "p" and "admin" in ctx.roles:
        await _card(ctx, rest)
        return
    if action == "l":  # 节点完成 in /report's flow: the project's open nodes
        await _liaison_list(ctx, rest)
        return
    if action == "d" and (node_id := as_id(rest)) is not None:
        found = await _node_to_mark(ctx, node_id)
        if found is not None:
            await _ask_day(ctx, *found)
        return
    state = press.state
    if not state or action not in ("t", "ok"):
        expired(ctx)
        return
    found = await _node_to_mark(ctx, int(state.get("node", 0)))
    if found is None:
        await ctx.clear_flow()
        return
    node, project = found
    if action == "t" and state.get("step") == "day":
        finished_by = await _finished_by(ctx, project)
        why = service.refusal_of_day(ctx.today, planned_on=node.planned_on, today=ctx.today, finished_by=finished_by)
        if why is not None or (project.stage in FINISHED_STAGES and finished_by is None):
            ctx.reply("node_refused", _day_buttons(ctx, project, finished_by), reason=why or "day_needed",
                      day=ctx.today, text="", node=node, project=project, finished_by=finished_by)
            return
        await _ask_evidence(ctx, node, project, {**state, "step": "evidence", "day": ctx.today.isoformat()})
    elif action == "ok" and state.get("step") == "evidence":
        await _finish(ctx, node, project, state)
    else:
        expired(ctx)


async def _finish(ctx: Context, node: ProjectNode, project: Project, state: dict[str, Any]) -> None:
    assert ctx.person is not None
    await ctx.clear_flow()
    photos = [(str(c), str(f)) for c, f in state.get("photos", [])]
    done = await service.mark_done(ctx.session, ctx.deps.renderer, node, project, person=ctx.person,
                                   actor=ctx.actor, done_on=date.fromisoformat(state["day"]),
                                   note=state.get("note", ""), photos=photos, now=ctx.now)
    ctx.reply("node_done", node=node, project=project, state=done.state, closed=done.closed, photos=len(photos),
              late_days=(node.done_on - node.planned_on).days if node.done_on else 0,
              finished=project.stage in FINISHED_STAGES)
    await remember_node(ctx, node_id=node.id, albums=albums_of(state))


# --- the admins' plan -------------------------------------------------------------------------------

async def _search(ctx: Context, words: str) -> None:
    """The project by code or name: its card, or a page of buttons to pick it."""
    found = await project_repo.find_projects(ctx.session, words=words)
    if len(found) == 1:
        await _card(ctx, found[0][0])
        return
    if not found:
        ctx.reply("node_refused", reason="no_project", text=words)
        return
    page = page_of(found, ctx.page, SEARCH_PAGE)
    buttons = [[Button(f"{code} {name}", f"{PREFIX}:p:{code}")] for code, name in page.items]
    ctx.reply("node_pick_project", [*buttons, *page_buttons("node", page, words)], words=words, page=page)


async def _card(ctx: Context, code: str, changed: dict[str, Any] | None = None) -> None:
    """The project's nodes on the plan with their states, and how to change them (after `changed`, if given)."""
    project = await project_repo.get_project_by_code(ctx.session, code=code)
    if project is None:
        ctx.reply("project_not_found", code=code)
        return
    nodes = await repo.nodes_of_project(ctx.session, project_id=project.id)
    finished_by = await _finished_by(ctx, project)
    finished_on = finished_since(project.stage, finished_by)
    rows = [(n, node_state(n.planned_on, n.done_on, ctx.today, finished_on=finished_on)) for n in nodes]
    ctx.reply("node_card", _record_buttons(nodes) if finished_on is not None else [], project=project,
              rows=rows, changed=changed, finished=finished_on is not None, finished_by=finished_by)


async def _change(ctx: Context, code: str, action: str, args: list[str]) -> None:
    """新增 名称 日期 | 改名 名称 新名称 | 改期 名称 日期 | 移出 名称."""
    project = await project_repo.get_project_by_code(ctx.session, code=code)
    if project is None:
        ctx.reply("project_not_found", code=code)
        return
    wanted = {"add": 2, "rename": 2, "replan": 2, "remove": 1}[action]
    if len(args) > wanted:  # a node's name has no spaces: "… 2027-04-30 多余" is not part of it
        ctx.refuse_words(" ".join(args[wanted:]))
        return
    if len(args) < wanted:
        ctx.reply("node_usage")
        return
    name = args[0]
    day: date | None = None
    node = await repo.node_named(ctx.session, project_id=project.id, name=name)
    live = node if node is not None and node.removed_at is None else None
    if action != "add" and live is None:
        ctx.reply("node_refused", reason="no_node", project=project, name=name)
        return
    if action in ("add", "replan"):
        day = parse_day(args[1], today=ctx.today)
        if day is None:
            ctx.reply("node_refused", reason="bad_day", text=args[1], project=project)
            return
    if action == "add":
        if live is not None:
            ctx.reply("node_refused", reason="name_taken", project=project, name=name)
            return
        if (wide := too_wide("node_name", name)) is not None:
            ctx.reply("text_too_wide", wide=wide)
            return
        assert day is not None
        node = await service.add(ctx.session, project=project, name=name, planned_on=day, actor=ctx.actor,
                                 now=ctx.now)
    elif action == "rename":
        new = args[1]
        if (wide := too_wide("node_name", new)) is not None:
            ctx.reply("text_too_wide", wide=wide)
            return
        if await repo.node_named(ctx.session, project_id=project.id, name=new) is not None:
            ctx.reply("node_refused", reason="name_taken", project=project, name=new)
            return
        assert live is not None
        await service.rename(ctx.session, live, project, name=new, actor=ctx.actor, now=ctx.now)
    elif action == "replan":
        assert live is not None and day is not None
        await service.replan(ctx.session, live, project, planned_on=day, actor=ctx.actor, now=ctx.now)
    else:
        assert live is not None
        await service.remove(ctx.session, live, project, actor=ctx.actor, now=ctx.now)
    await ctx.session.flush()
    await _card(ctx, project.code, changed={"action": action, "name": name, "node": node or live})


BUTTONS = {PREFIX: node_button}
FLOWS = {FLOW: node_step}
