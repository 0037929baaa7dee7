"""The guided /report: project → amount → progress → photos → 确认/修改/取消 (修改 changes one field and
keeps the rest), and the buttons of every report question (确认替换 / 保留原填报, which reading of an amount)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.domain.digits import as_id, as_index
from bot.domain.limits import PHOTO_FILE_MAX, PROGRESS_TEXT_MAX, photo_too_big
from bot.domain.messages import Button
from bot.domain.report_line import ReportLine, parse_report_line, progress_as_stored, project_code
from bot.domain.typed_choice import typed_choice
from bot.render import label
from handlers import report_albums, report_store
from handlers.context import Context
from handlers.flow_buttons import Press, confirm_button, drafted, expired, flow_buttons
from handlers.nodes import PREFIX as NODE_PREFIX
from handlers.paging import project_page, project_rows
from handlers.report_store import FLOW, PREFIX
from storage import leaves as leave_repo
from storage import nodes as node_repo
from storage import projects as project_repo
from storage.models import Project

# The steps that wait for a button: a photo sent meanwhile (the rest of an album…) is kept for the report.
_BUTTON_STEPS = ("project", "confirm", "edit", "replace", "reading")


def _buttons_photos() -> list[list[Button]]:
    return [[Button(label("photos_done"), f"{PREFIX}:done")], [Button(label("cancel"), f"{PREFIX}:cancel")]]


def _buttons_cancel() -> list[list[Button]]:
    return [[Button(label("cancel"), f"{PREFIX}:cancel")]]


def _buttons_confirm(state: dict[str, Any]) -> list[list[Button]]:
    """确认 (naming the summary `state` shows, ``handlers.flow_buttons``), 修改, 取消."""
    return [[confirm_button(label("confirm"), PREFIX, state), Button(label("edit"), f"{PREFIX}:edit"),
             Button(label("cancel"), f"{PREFIX}:cancel")]]


def _buttons_edit(photo_count: int) -> list[list[Button]]:
    """修改 picks one field; the others are kept."""
    rows = [[Button(label("edit_amount"), f"{PREFIX}:e:amount"),
             Button(label("edit_progress"), f"{PREFIX}:e:progress")],
            [Button(label("add_photos"), f"{PREFIX}:e:photos")]]
    if photo_count:
        rows[1].append(Button(label("clear_photos"), f"{PREFIX}:e:nophotos"))
    rows.append([Button(label("edit_back"), f"{PREFIX}:e:back"), Button(label("cancel"), f"{PREFIX}:cancel")])
    return rows


async def ask_project(ctx: Context, number: int = 1, state: dict[str, Any] | None = None) -> None:
    """The flow's start: which project, page `number` of them (the photos of the message that started it are
    kept for the report); `state`: the flow already waiting for the project (上一页/下一页), kept as it is."""
    assert ctx.person_id is not None
    mine = await project_repo.projects_of_liaison(ctx.session, person_id=ctx.person_id)
    for span in await leave_repo.covering_for(ctx.session, substitute_id=ctx.person_id, day=ctx.today):
        mine += await project_repo.projects_of_liaison(ctx.session, person_id=span.person_id)
    if not mine:
        ctx.reply("report_no_projects")
        return
    if state is None:
        state = {"step": "project", **report_albums.photos_of_message(ctx)}
        await ctx.save_flow(FLOW, state)
    page = project_page(mine, number)
    buttons = [*project_rows(page, PREFIX), [Button(label("cancel"), f"{PREFIX}:cancel")]]
    ctx.reply("report_pick_project", photo_count=len(state.get("photos", [])), page=page, buttons=buttons)


async def ask_amount(ctx: Context, project: Project, kept: dict[str, Any] | None = None) -> None:
    """The flow's first question once the project is known; `kept`: the photos (and their albums) the flow
    holds already. A project with nodes still to do also offers 节点完成 (handlers.nodes)."""
    await ctx.save_flow(FLOW, {"step": "amount", "code": project.code, **report_albums.carried(kept)})
    buttons = [[Button(label("cancel"), f"{PREFIX}:cancel")]]
    if await node_repo.has_open_nodes(ctx.session, project_id=project.id):
        buttons.insert(0, [Button(label("node_done"), f"{NODE_PREFIX}:l:{project.code}")])
    ctx.reply("report_ask_amount", project=project, buttons=buttons)


async def report_step(ctx: Context, state: dict[str, Any]) -> None:
    """A text or photo message while the guided flow waits for input."""
    step = state.get("step")
    text = ctx.msg.text.strip()
    if ctx.msg.photos and step in _BUTTON_STEPS:  # a photo while a button is awaited is kept for the report
        state = report_albums.with_photos(ctx, state)
        await ctx.save_flow(FLOW, state)
        if not text:
            ctx.point_to_choices("report_photo_kept", count=len(state["photos"]))
            return
    if step == "project":
        if (code := project_code(text)) is None:
            ctx.point_to_choices("report_pick_project_again")
        elif (project := await report_store.own_project(ctx, code)) is not None:  # its code typed, not pressed
            await ask_amount(ctx, project, state)
        return
    if text and not ctx.msg.photos and (typed := _typed_button(state, text)) is not None:
        await report_button(ctx, typed)  # 「完成」「确认」 typed where they are buttons: as if pressed
        return
    if step == "replace":
        ctx.reply("report_replace_pending", buttons=report_store.buttons_replace(state))
        return
    project = await report_store.own_project(ctx, state["code"])
    if project is None:
        await ctx.clear_flow()
        return
    if ctx.msg.photos and step in ("amount", "progress"):  # a photo sent early is kept for the photos step
        state = report_albums.with_photos(ctx, state)
        if not text:
            await ctx.save_flow(FLOW, state)
            ctx.reply("report_photo_early", count=len(state["photos"]), step=step)
            return
    if step == "amount":
        if not text:
            ctx.reply("report_ask_amount", project=project, buttons=_buttons_cancel())
            return
        line = None if state.get("editing") else parse_report_line(f"{project.code} {text}")
        if line is not None and len(line.readings) == 1 and line.progress:
            await _amount_and_progress(ctx, project, state, line)  # "850万 桩基完成" answers both questions
            return
        if line is not None and line.ambiguous and all(r.progress for r in line.readings):
            # "850万达广场", "3 000 主体": asked as the one-shot line is ("3 000" alone is the amount 3,000)
            await report_store.ask_reading(ctx, project, line.readings, report_albums.carried(state))
            return
        checked = await report_store.checked_amount(ctx, project, text)
        if checked is None:
            return
        amount = checked[0]
        state = {**state, "amount": str(amount), "written": text}
        if state.get("editing"):
            await _summary(ctx, project, state)
            return
        await ctx.save_flow(FLOW, {**state, "step": "progress"})
        ctx.reply("report_ask_progress", project=project, amount=amount, written=text)
    elif step == "progress":
        text = progress_as_stored(text)
        if not text:
            ctx.reply("report_ask_progress", project=project, amount=Decimal(state["amount"]),
                      written=state.get("written"))
            return
        if ctx.refuse_too_long(text, PROGRESS_TEXT_MAX, "progress"):
            return
        if state.get("editing"):
            await _summary(ctx, project, {**state, "progress": text})
            return
        photos = state.get("photos", [])
        await ctx.save_flow(FLOW, {**state, "step": "photos", "progress": text, "photos": photos})
        if photos:
            ctx.reply("report_photo_received", count=len(photos), buttons=_buttons_photos())
        else:
            ctx.reply("report_ask_photos", buttons=_buttons_photos())
    elif step == "reading":
        ctx.point_to_choices("report_pick_reading_again")
    elif step == "photos":
        document = ctx.msg.document
        if not ctx.msg.photos and document is not None and photo_too_big(document.name, document.size):
            ctx.reply("photo_too_big", max_mb=PHOTO_FILE_MAX // 2**20, buttons=_buttons_photos())
            return
        if not ctx.msg.photos:
            ctx.reply("report_ask_photos", buttons=_buttons_photos())
            return
        state = report_albums.with_photos(ctx, state)
        await ctx.save_flow(FLOW, state)
        ctx.reply("report_photo_received", count=len(state["photos"]), buttons=_buttons_photos())
    else:
        await _summary(ctx, project, state)


def _typed_button(state: dict[str, Any], text: str) -> str | None:
    """The button of the step whose words `text` is, as report_button takes it (without the prefix): those of
    the steps waiting for one (photos, confirm, edit, replace), and the amount step's 取消 (no amount reads
    so); None for other words or steps."""
    step = state.get("step")
    shown = {"photos": _buttons_photos, "amount": _buttons_cancel}
    if step in shown:
        buttons = shown[step]()
    elif step == "confirm":
        buttons = _buttons_confirm(state)
    elif step == "replace":
        buttons = report_store.buttons_replace(state)
    elif step == "edit":
        buttons = _buttons_edit(len(state.get("photos", [])))
    else:
        return None
    data = typed_choice(text, buttons)
    return None if data is None else data.removeprefix(f"{PREFIX}:")


async def _amount_and_progress(ctx: Context, project: Project, state: dict[str, Any], line: ReportLine) -> None:
    """The amount step answered with the amount and the progress text: both taken, on to the photos."""
    assert line.amount_text is not None
    checked = await report_store.checked_amount(ctx, project, line.amount_text)
    if checked is None or ctx.refuse_too_long(line.progress, PROGRESS_TEXT_MAX, "progress"):
        return
    photos = state.get("photos", [])
    await ctx.save_flow(FLOW, {**state, "step": "photos", "amount": str(checked[0]), "written": line.amount_text,
                               "progress": line.progress, "photos": photos})
    ctx.reply("report_took_both", amount=checked[0], written=line.amount_text, progress=line.progress,
              count=len(photos), buttons=_buttons_photos())


async def _summary(ctx: Context, project: Project, state: dict[str, Any]) -> None:
    """The report for 确认, its 确认 naming it: one left on an earlier summary does not store this one."""
    state = drafted({**state, "step": "confirm", "editing": False})
    await ctx.save_flow(FLOW, state)
    ctx.reply(
        "report_summary", project=project, amount=Decimal(state["amount"]), written=state.get("written"),
        progress=state.get("progress", ""), photo_count=len(state.get("photos", [])),
        buttons=_buttons_confirm(state),
    )


async def _again(ctx: Context, state: dict[str, Any]) -> None:
    """The summary, or the question 确认替换, shown again for a state kept without its token (before 确认 named
    its draft): a 确认 pressed under it stores what was shown."""
    project = await report_store.own_project(ctx, state["code"])
    if project is None:
        await ctx.clear_flow()
    elif state.get("step") == "replace":
        await report_store.ask_replace_again(ctx, project, state)
    else:
        await _summary(ctx, project, state)


async def _edit(ctx: Context, project: Project, state: dict[str, Any], field: str) -> None:
    """修改 one field of the summary; everything else (photos included) is kept."""
    photo_count = len(state.get("photos", []))
    if field == "amount":
        await ctx.save_flow(FLOW, {**state, "step": "amount", "editing": True})
        ctx.reply("report_ask_amount", project=project, buttons=_buttons_cancel())
    elif field == "progress":
        await ctx.save_flow(FLOW, {**state, "step": "progress", "editing": True})
        ctx.reply("report_ask_progress", project=project, amount=Decimal(state["amount"]),
                  written=state.get("written"))
    elif field == "photos":
        await ctx.save_flow(FLOW, {**state, "step": "photos", "editing": True})
        ctx.reply("report_photo_received", count=photo_count, buttons=_buttons_photos())
    elif field == "nophotos":
        await _summary(ctx, project, {**state, "photos": []})
    else:  # back
        await _summary(ctx, project, state)


# a project's button still acts once the flow is over: the report starts again for that project
@flow_buttons(FLOW, cancel="cancel", cancelled="report_cancelled", open_to=("p:",), confirm=("ok", "replace", "keep"),
              again=_again, confirm_steps=("confirm", "replace"))
async def report_button(ctx: Context, press: Press) -> None:
    """Buttons of the guided flow: pick project, photos done, confirm, edit, cancel."""
    state = press.state
    if press.data in ("replace", "keep"):
        if not press.at(press.data, "replace"):
            expired(ctx)
        elif press.data == "keep":
            await ctx.clear_flow()
            ctx.reply("report_replace_kept")
        else:
            await report_store.replace(ctx, state)
        return
    if press.data.startswith("pg:"):
        number = as_id(press.value)
        if not press.at("pg:", "project") or number is None:
            expired(ctx)
        else:
            await ask_project(ctx, number, state)
        return
    if press.data.startswith("p:"):
        project = await report_store.own_project(ctx, press.value)
        if project is not None:
            picking = state if press.step == "project" else None
            await ask_amount(ctx, project, picking)  # photos sent with /report, or since, are kept
        return
    if "code" not in state:
        expired(ctx)
        return
    project = await report_store.own_project(ctx, state["code"])
    if project is None:
        await ctx.clear_flow()
        return
    if press.at("done", "photos"):
        await _summary(ctx, project, state)
    elif press.at("edit", "confirm"):
        await ctx.save_flow(FLOW, {**state, "step": "edit"})
        ctx.reply("report_edit_pick", buttons=_buttons_edit(len(state.get("photos", []))))
    elif press.at("e:", "edit"):
        await _edit(ctx, project, state, press.value)
    elif press.at("r:", "reading") and (reading := as_index(press.value, len(state.get("readings", [])))) is not None:
        written, _value, progress = state["readings"][reading]
        checked = await report_store.checked_amount(ctx, project, written)
        await ctx.clear_flow()
        if checked is not None:
            amount, figures = checked
            await report_store.store(ctx, project, amount, progress, list(state.get("photos", [])), figures,
                                     written=written, albums=report_albums.albums_of(state))
    elif press.at("ok", "confirm"):
        checked = await report_store.checked_amount(ctx, project, state["amount"])
        await ctx.clear_flow()
        if checked is not None:
            amount, figures = checked
            photos = list(state.get("photos", []))
            await report_store.store(ctx, project, amount, state.get("progress", ""), photos, figures,
                                     written=state.get("written"), albums=report_albums.albums_of(state))
    else:
        expired(ctx)
