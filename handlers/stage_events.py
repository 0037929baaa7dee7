"""/started and /finished: a project's 开工 or 竣工 on a day (bot.domain.stage_events).

A liaison reports it for their project (also with the 「报告开工」/「报告竣工」 button under a saved report); the
lead unit's handlers get a notice with 确认 / 不属实 buttons, and the liaison hears the outcome. Confirmed,
the project's stage moves on (在建, 竣工) and 开工率/竣工率 count it in its day's year. An admin's report is
confirmed at once. An admin who sets a project's stage (/project_set) finishes it, or takes it back from
finished, from the day he types after the stage or else from the day of the change (``record_stage_set``).
"""

from __future__ import annotations

from datetime import date, timedelta

from bot.domain import labels
from bot.domain.dates import parse_day
from bot.domain.digits import is_digits
from bot.domain.messages import Button, Reply
from bot.domain.stage_events import (
    FINISH,
    FROM_STAGES,
    PENDING,
    START,
    StageMove,
    TypedStage,
    move_day,
    refusal,
    stage_move,
    start_kept_by,
    start_withdrawn,
    typed_stage,
)
from bot.render import label, shared_renderer
from handlers.commands import Command, CommandRegistry, Use, command_words
from handlers.context import Context
from storage import audit, outbox
from storage import people as people_repo
from storage import projects as project_repo
from storage import stage_events as repo
from storage.models import Project, StageEvent
from storage.projects import ReportTarget

PREFIX = "se"
FINISH_BUTTON_AHEAD = timedelta(days=31)
WORDS: dict[str, str] = shared_renderer().words("stage_event_words", "words")  # START → 开工, FINISH → 竣工


def register(registry: CommandRegistry) -> None:
    roles = frozenset({"liaison", "admin"})
    for name, handler in (("started", started_command), ("finished", finished_command)):
        # an admin's report needs no unit's 确认: /help says so
        registry.add(Command.worded(name, handler, roles=roles,
                                    more=(Use(frozenset({"admin"}), command_words(f"{name}.admin")),)))


def report_button(project: Project | ReportTarget, today: date) -> Button | None:
    """The button under a saved report that reports this project's next event: 报告开工 while it is being
    prepared, 报告竣工 from a month before its planned finish (not under every report of a long build)."""
    if project.stage in FROM_STAGES[START]:
        return Button(label("stage_report", START), f"{PREFIX}:s:{START}:{project.code}")
    finish = project.planned_finish
    if project.stage in FROM_STAGES[FINISH] and finish is not None and finish <= today + FINISH_BUTTON_AHEAD:
        return Button(label("stage_report", FINISH), f"{PREFIX}:s:{FINISH}:{project.code}")
    return None


async def started_command(ctx: Context, args: str) -> None:
    await _command(ctx, START, args)


async def finished_command(ctx: Context, args: str) -> None:
    await _command(ctx, FINISH, args)


async def _command(ctx: Context, kind: str, args: str) -> None:
    code, _, rest = args.strip().partition(" ")
    # What started or finished did so already: 12月1日 is the latest 1 December, 周五 the latest Friday.
    day = parse_day(rest, today=ctx.today, past=True) if rest.strip() else ctx.today
    if not code or day is None:
        ctx.reply("stage_event_usage", kind=kind, word=WORDS[kind], text=rest.strip())
        return
    await _report(ctx, kind, code, day)


async def _report(ctx: Context, kind: str, code: str, day: date) -> None:
    admin = "admin" in ctx.roles
    project = await project_repo.get_project_by_code(ctx.session, code=code)
    if project is None:
        ctx.reply("project_not_found", code=code)
        return
    if not admin and project.liaison_id != ctx.person_id:
        ctx.reply("stage_event_refused", why="not_yours", project=project, word=WORDS[kind])
        return
    waiting = await repo.pending(ctx.session, project_id=project.id, kind=kind)
    why = refusal(kind, stage=project.stage, day=day, today=ctx.today, pending=waiting is not None)
    if why is not None:
        ctx.reply("stage_event_refused", why=why, project=project, word=WORDS[kind], day=day, waiting=waiting)
        return
    event = await repo.report(ctx.session, project=project, kind=kind, day=day, person_id=ctx.person_id,
                              now=ctx.now, confirmed=admin)
    if admin:
        await _audit(ctx, project, event)
        ctx.reply("stage_event_done", project=project, word=WORDS[kind], event=event, admin=True)
        return
    handlers = await people_repo.unit_handlers(ctx.session, unit_id=project.lead_unit_id)
    html = ctx.deps.renderer.render("stage_event_ask", project=project, word=WORDS[kind], event=event,
                                    liaison=ctx.actor.label)
    buttons = ((Button(label("stage_confirm", WORDS[kind]), f"{PREFIX}:c:{event.id}"),
                Button(label("stage_refuse"), f"{PREFIX}:r:{event.id}")),)
    for person in handlers:
        await outbox.enqueue_for_person(ctx.session, person_id=person.id, reply=Reply(html=html, buttons=buttons),
                                        key=f"stage:{event.id}:ask:p{person.id}", now=ctx.now)
    ctx.reply("stage_event_reported", project=project, word=WORDS[kind], event=event, handlers=len(handlers))


async def _audit(ctx: Context, project: Project, event: StageEvent) -> None:
    await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action=f"project.{event.kind}",
                       object_type="project", object_key=project.code,
                       detail={"day": event.day.isoformat(), "stage": project.stage})


async def stage_event_button(ctx: Context, data: str) -> None:
    """「报告开工/竣工」 under a report (``s:KIND:CODE``), and the lead unit's 确认 (``c:ID``) / 不属实 (``r:ID``)."""
    action, _, rest = data.partition(":")
    if action == "s":
        kind, _, code = rest.partition(":")
        if kind in WORDS and code:
            await _report(ctx, kind, code, ctx.today)
            return
    elif action in ("c", "r") and is_digits(rest):
        await _decide(ctx, int(rest), confirm=action == "c")
        return
    ctx.reply("button_expired")


async def _decide(ctx: Context, event_id: int, *, confirm: bool) -> None:
    event = await repo.get(ctx.session, event_id=event_id)
    project = None if event is None else await ctx.session.get(Project, event.project_id)
    if event is None or project is None:
        ctx.reply("button_expired")
        return
    if "admin" not in ctx.roles and not ("unit" in ctx.roles and ctx.person is not None
                                         and ctx.person.unit_id == project.lead_unit_id):
        ctx.reply("stage_event_refused", why="not_lead_unit", project=project, word=WORDS[event.kind])
        return
    if event.state != PENDING:  # decided already (by a colleague, or by this button before)
        ctx.reply("stage_event_already", project=project, word=WORDS[event.kind], event=event)
        return
    repo.decide(project, event, confirm=confirm, person_id=ctx.person_id, now=ctx.now)
    if confirm:
        await _audit(ctx, project, event)
    html = ctx.deps.renderer.render("stage_event_decided", project=project, word=WORDS[event.kind], event=event,
                                    by=ctx.actor.label)
    if event.raised_by_id is not None:
        await outbox.enqueue_for_person(ctx.session, person_id=event.raised_by_id, reply=Reply(html=html),
                                        key=f"stage:{event.id}:decided", now=ctx.now)
    ctx.reply("stage_event_done", project=project, word=WORDS[event.kind], event=event, admin=False)


def stage_typed(ctx: Context, project: Project, value: str) -> TypedStage | str:
    """The stage (and day) an admin typed to set for ``project`` (``bot.domain.stage_events.typed_stage``), or
    why it cannot be set (a reason of admin_project_refused)."""
    return typed_stage(value, before=project.stage, today=ctx.today)


async def stage_kept(ctx: Context, project: Project, stage: str) -> list[tuple[str, date]]:
    """The recorded moves (in words: 开工, 竣工, 恢复在建; and their days) that keep ``project`` from being set back to
    ``stage`` before its 开工 (``bot.domain.stage_events.start_kept_by``); empty when it may be."""
    moves = (await repo.histories(ctx.session, project_ids=[project.id])).get(project.id, [])
    return [(labels.STAGE_MOVES[kind], day) for kind, day in start_kept_by(project.stage, stage, moves)]


async def record_stage_set(ctx: Context, project: Project, *, before: str, value: str) -> dict[str, str]:
    """After an admin set ``project``'s stage from ``before`` to what ``value`` typed: the finish (or the
    reopening) it makes, recorded from the day typed or else today; or the 开工 it takes back, set back before
    it (``start_withdrawn``); what it adds to the change's audit entry ({} when the change neither finishes the
    project nor takes it back from finished, nor starts it or takes its start back)."""
    kind = stage_move(before, project.stage)
    typed = typed_stage(value, before=before, today=ctx.today)
    if kind is None:
        moves = (await repo.histories(ctx.session, project_ids=[project.id])).get(project.id, [])
        withdrawn = start_withdrawn(before, project.stage, moves)
        if withdrawn is None:
            return {}
        await repo.withdraw_start(ctx.session, project_id=project.id)
        return {"start_withdrawn": withdrawn.isoformat()}
    if isinstance(typed, str):
        return {}
    day, day_from = move_day(given=typed.day, today=ctx.today)
    move = StageMove(project.id, kind, day, day_from)
    await repo.record_moves(ctx.session, [move], person_id=ctx.person_id, now=ctx.now)
    return move.audit_detail()
