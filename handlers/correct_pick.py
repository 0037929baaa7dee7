"""Which report a correction is of: the project (a liaison's own, page by page; an admin's search by code or
name, paged), the day's report among the recent ones, and whether the caller may correct it
(``bot.domain.corrections``). The conversation that follows is ``handlers.correct``'s."""

from __future__ import annotations

from datetime import date

from bot.domain.corrections import correction_refusal, oldest_correctable
from bot.domain.messages import Button
from bot.domain.paging import page_of
from bot.render import label
from handlers.context import Context
from handlers.paging import page_buttons, project_page, project_rows
from storage import corrections
from storage import projects as project_repo
from storage.corrections import Correctable
from storage.models import Project
from storage.settings import load_calendar

FLOW = "correct"
PREFIX = "cr"
SEARCH_PAGE = 8  # projects to a page of an admin's search


def cancel_button() -> Button:
    """取消, under every step of the flow."""
    return Button(label("cancel"), f"{PREFIX}:cancel")


def is_admin(ctx: Context) -> bool:
    """Whether the caller corrects as the 项目办 (any project, any day; a day without a report is 补报)."""
    return "admin" in ctx.roles


async def project_for(ctx: Context, code: str) -> Project | None:
    """The project by code if the caller may correct its reports (replies otherwise)."""
    project = await project_repo.get_project_for_card(ctx.session, code=code)
    if project is None:
        ctx.reply("project_not_found", code=code)
    elif not is_admin(ctx) and project.liaison_id != ctx.person_id:
        ctx.reply("correct_refused", why="not_yours", project=project)
        return None
    return project


async def may_correct(ctx: Context, project: Project, old: Correctable) -> bool:
    """Whether the caller may correct `old`; replies with the refusal otherwise."""
    calendar = await load_calendar(ctx.session)
    own = old.person_id == ctx.person_id or project.liaison_id == ctx.person_id
    window = ctx.deps.settings.correct_window_days
    why = correction_refusal(day=old.local_day, today=ctx.today, admin=is_admin(ctx), own=own, calendar=calendar,
                             window=window)
    if why is not None:
        ctx.reply("correct_refused", why=why, project=project, day=old.local_day, window=window)
        return False
    return True


async def report_of(ctx: Context, project: Project, day: date) -> Correctable | None:
    """The report that counts for that day, if the caller may correct it (replies otherwise)."""
    if day > ctx.today:
        ctx.reply("correct_refused", why="future", project=project, day=day)
        return None
    old = await corrections.live_report(ctx.session, project_id=project.id, local_day=day)
    if old is None:
        ctx.reply("correct_refused", why="no_report", project=project, day=day, admin=is_admin(ctx))
        return None
    return old if await may_correct(ctx, project, old) else None


async def search(ctx: Context, words: str) -> None:
    """An admin's search for the project to correct, by code or name: the one found, or a page of buttons
    (上一页/下一页 as under other long lists; the page is the command again with the same words)."""
    words = " ".join(words.split())
    found = await project_repo.find_projects(ctx.session, words=words)
    if len(found) == 1:
        project = await project_for(ctx, found[0][0])
        if project is not None:
            await ask_day(ctx, project)
        return
    if not found:
        await ctx.save_flow(FLOW, {"step": "search"})
        ctx.reply("correct_search", words=words, found=0, buttons=[[cancel_button()]])
        return
    page = page_of(found, ctx.page, SEARCH_PAGE)
    await ctx.save_flow(FLOW, {"step": "project"})
    buttons = [[Button(f"{code} {name}", f"{PREFIX}:p:{code}")] for code, name in page.items]
    ctx.reply("correct_pick_project", words=words, page=page,
              buttons=[*buttons, *page_buttons("correct", page, words), [cancel_button()]])


async def ask_project(ctx: Context, number: int = 1) -> None:
    """An admin is asked for words to search by; a liaison picks one of his projects, page `number` of them."""
    assert ctx.person_id is not None
    if is_admin(ctx):
        await ctx.save_flow(FLOW, {"step": "search"})
        ctx.reply("correct_search", words="", found=None, buttons=[[cancel_button()]])
        return
    mine = await project_repo.projects_of_liaison(ctx.session, person_id=ctx.person_id)
    if not mine:
        ctx.reply("correct_usage", window=ctx.deps.settings.correct_window_days, unread="")
        return
    await ctx.save_flow(FLOW, {"step": "project"})
    page = project_page(mine, number)
    ctx.reply("correct_pick_project", mine=page, buttons=[*project_rows(page, PREFIX), [cancel_button()]])


async def ask_day(ctx: Context, project: Project) -> None:
    """The project's reports the caller may correct, a button each (newest day first)."""
    calendar = await load_calendar(ctx.session)
    window = ctx.deps.settings.correct_window_days
    since = date.min if is_admin(ctx) else oldest_correctable(ctx.today, calendar, window)
    found = await corrections.recent_reports(ctx.session, project_id=project.id, since=since)
    if not found:
        await ctx.clear_flow()
        ctx.reply("correct_no_recent", project=project, window=window, admin=is_admin(ctx))
        return
    await ctx.save_flow(FLOW, {"step": "day", "code": project.code})
    buttons = [[Button(label("correct_day", r.local_day, f"{r.amount.normalize():f}", r.progress_text[:12]),
                       f"{PREFIX}:d:{r.id}")] for r in found]
    ctx.reply("correct_pick_day", project=project, admin=is_admin(ctx), buttons=[*buttons, [cancel_button()]])
