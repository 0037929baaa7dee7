"""/import: an admin sends the ledger (台账, .xlsx or .csv) in the chat, sees a preview, then confirms it.

The same import as the CLI's `diaodu import` (bot.services.ledger_import), in the router's transaction:
the preview is a dry run (nothing written) whose plan is kept in this process's memory
(bot.services.import_previews), and 确认 writes that plan when the database still holds what it was compared
with; a plan this process does not have (another process previewed, or the bot was restarted) is worked out
again from the file by 确认 and written under the same condition. When the condition fails (the database
changed since the preview) or a day passed, 确认 writes nothing and previews the file again.
Before 确认 the admin may have to give the baseline's day (截至某日, when the file names none and it
matters) and may choose, conflict by conflict, between what was done in the chat (the default) and the
file (buttons under the preview). The file is checked and kept meanwhile by handlers.import_upload.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from bot.clock import to_local
from bot.domain.dates import parse_day
from bot.domain.digits import as_index
from bot.domain.ledger_plan import RowChange
from bot.messages import Button, IncomingFile
from bot.render import label
from bot.services.import_previews import Previewed
from bot.services.ledger_import import ISSUES_LISTED, ImportResult, import_ledger, write_previewed
from handlers import import_upload
from handlers.commands import Command, CommandRegistry
from handlers.context import Context
from handlers.flow_buttons import Press, confirm_button, drafted, drafted_data, expired, flow_buttons
from handlers.import_upload import EXTENSIONS, FOLDER, drop, path_of, refusal_for
from handlers.people_lookup import refuse_unless_admin

__all__ = ["BUTTONS", "COMMAND", "EXTENSIONS", "FLOW", "FLOWS", "register"]

FLOW = "admin_import"
PREFIX = "imp"
COMMAND = "import"  # the one command that takes a file (sent with it, or after it)
SHOWN = 30  # changes listed in a preview (and ISSUES_LISTED errors), fewer when the message would be too long
SUMMARY_CHARS = 3500  # a summary longer than this lists fewer lines (a Telegram message stops at 4096)
CONFLICT_BUTTONS = 8  # conflicts with a button row of their own (the others follow 全部保留 / 全部用台账)


def register(registry: CommandRegistry) -> None:
    registry.add(Command.worded(COMMAND, import_command, roles=frozenset({"admin"})))


def _buttons_confirm(state: dict[str, Any]) -> list[list[Button]]:
    """确认 / 取消, under a row per conflict to choose (the current choice ticked) and 全部… for several: but for
    取消, they name the preview `state` shows (``handlers.flow_buttons``)."""
    rows: list[list[Button]] = []
    keys, choices = state.get("conflicts") or [], state.get("choices") or {}
    for index, key in enumerate(keys[:CONFLICT_BUTTONS]):
        keep = choices.get(key, "keep") == "keep"
        rows.append([Button(label("import_keep", index + 1, keep), drafted_data(PREFIX, state, "k", str(index))),
                     Button(label("import_take", index + 1, not keep), drafted_data(PREFIX, state, "f", str(index)))])
    if len(keys) > 1:
        rows.append([Button(label("import_keep_all"), drafted_data(PREFIX, state, "k", "all")),
                     Button(label("import_take_all"), drafted_data(PREFIX, state, "f", "all"))])
    return [*rows, [confirm_button(label("confirm"), PREFIX, state), Button(label("cancel"), f"{PREFIX}:x")]]


def _buttons_as_of(ctx: Context) -> list[list[Button]]:
    """The two days a ledger's baseline usually stands at: the end of last month, and yesterday."""
    today = ctx.today
    month_end = today.replace(day=1) - timedelta(days=1)
    yesterday = today - timedelta(days=1)
    days = [month_end] if month_end == yesterday else [month_end, yesterday]
    return [[Button(label("import_as_of", day), f"{PREFIX}:d:{day.isoformat()}") for day in days],
            [Button(label("cancel"), f"{PREFIX}:x")]]


def _buttons_cancel() -> list[list[Button]]:
    return [[Button(label("cancel"), f"{PREFIX}:x")]]


def _max_size(ctx: Context) -> str:
    """The size cap as people write it: 5 MB, 512 KB."""
    cap = ctx.deps.settings.import_max_bytes
    if cap >= 1024 * 1024:
        return f"{round(cap / 1024 / 1024, 1):g} MB"
    return f"{round(cap / 1024, 1):g} KB"


# --- the flow --------------------------------------------------------------------------------------

async def import_command(ctx: Context, args: str) -> None:
    """`/import` waits for the file (or takes the one sent with /import as its caption)."""
    import_upload.remove_stale(ctx)
    if ctx.msg.document is not None:
        await _receive(ctx, ctx.msg.document)
        return
    if args.strip():  # "/import 台账.xlsx" typed: the file itself is what is read
        ctx.refuse_words(args.strip())
        return
    await ctx.save_flow(FLOW, {"step": "file"})
    ctx.reply("admin_import_ask", max_size=_max_size(ctx), buttons=_buttons_cancel())


async def import_step(ctx: Context, state: dict[str, Any]) -> None:
    """A message while /import waits: the file (a new one replaces a file awaiting 确认), the baseline's
    day when it was asked for, or a hint."""
    if refuse_unless_admin(ctx):
        await ctx.clear_flow()
        return
    if ctx.msg.document is not None:
        if state.get("step") in ("confirm", "as_of"):
            drop(path_of(ctx, str(state.get("path", ""))))
            ctx.deps.previews.drop(state.get("plan"))
        await _receive(ctx, ctx.msg.document)
    elif state.get("step") == "as_of":
        day = parse_day(ctx.msg.text or "")
        if day is None:
            ctx.reply("admin_import_as_of", name=state.get("name", ""), typed=ctx.msg.text or "",
                      reason=state.get("as_of_reason"), buttons=_buttons_as_of(ctx))
            return
        await _preview(ctx, {**state, "as_of": day.isoformat()})
    elif state.get("step") == "confirm":
        ctx.reply("admin_import_waiting", name=state.get("name", ""), buttons=_buttons_confirm(state))
    else:
        ctx.reply("admin_import_ask", max_size=_max_size(ctx), buttons=_buttons_cancel())


async def _receive(ctx: Context, document: IncomingFile) -> None:
    """Check the upload, keep it, and show what importing it would do. Only here, once the sender is known
    to be an admin in an /import, is the file downloaded (and only if its name is a ledger's)."""
    if Path(document.name).suffix.lower() in EXTENSIONS:
        document = await document.load()
    reason = refusal_for(document, max_bytes=ctx.deps.settings.import_max_bytes)
    if reason is not None:
        await ctx.save_flow(FLOW, {"step": "file"})
        ctx.reply("admin_import_refused", reason=reason, name=document.name, max_size=_max_size(ctx),
                  buttons=_buttons_cancel())
        return
    assert document.data is not None
    name, _kept = import_upload.keep(ctx, document.name, document.data)
    await _preview(ctx, {"path": f"{FOLDER}/{name}", "name": document.name,
                         "sha256": hashlib.sha256(document.data).hexdigest(), "as_of": None, "choices": {}})


async def _preview(ctx: Context, state: dict[str, Any]) -> None:
    """The dry run of the waiting file with the admin's answers so far; ask for the baseline's day if it
    is needed, else show the preview with 确认 and the conflicts' buttons."""
    path = path_of(ctx, str(state.get("path", "")))
    if path is None or not path.is_file():
        await ctx.clear_flow()
        ctx.reply("admin_import_refused", reason="gone", name=state.get("name", ""), max_size=_max_size(ctx))
        return
    ctx.deps.previews.drop(state.get("plan"))  # a plan previewed before (other choices, another day)
    state = {key: value for key, value in state.items() if key not in ("plan", "compared")}
    result = await _run(ctx, path, state, dry_run=True)
    if result.as_of_refused and state.get("as_of"):  # the day the admin typed is not over yet: ask again
        await ctx.save_flow(FLOW, {**state, "as_of": None})
        ctx.reply("admin_import_as_of", name=state["name"], typed=ctx.msg.text or state["as_of"],
                  reason=state.get("as_of_reason"), buttons=_buttons_as_of(ctx))
        return
    if result.issues:
        drop(path)
        await ctx.save_flow(FLOW, {"step": "file"})
        _summary(ctx, "invalid", result, path.name, state["name"], _buttons_cancel())
        return
    if result.needs_as_of:
        reason = result.plan.as_of_reason if result.plan else None
        await ctx.save_flow(FLOW, {**state, "step": "as_of", "as_of_reason": reason})
        ctx.reply("admin_import_as_of", name=state["name"], typed=None, reason=reason, buttons=_buttons_as_of(ctx))
        return
    keys = [c.key for c in result.conflicts if c.choice is not None]
    assert result.compared is not None  # a file read without issues
    kept = ctx.deps.previews.keep(Previewed(result, to_local(ctx.now).date()))
    state = drafted({**state, "step": "confirm", "conflicts": keys, "plan": kept, "compared": result.compared.digest})
    await ctx.save_flow(FLOW, state)
    _summary(ctx, "preview", result, path.name, state["name"], _buttons_confirm(state))


async def _run(ctx: Context, path: Path, state: dict[str, Any], *, dry_run: bool,
               expect: str | None = None) -> ImportResult:
    """The import in this message's transaction, with the admin's day and choices (written only if the
    database still gives the digest `expect`, when given)."""
    as_of = date.fromisoformat(state["as_of"]) if state.get("as_of") else None
    return await import_ledger(ctx.session, [path], now=ctx.now, actor=ctx.actor, as_of=as_of, dry_run=dry_run,
                               choices=dict(state.get("choices") or {}), workers=ctx.deps.workers, expect=expect,
                               names=[str(state.get("name", path.name))])


def _shown(result: ImportResult, stored: str, original: str, listed: list[RowChange],
           shown: int = SHOWN) -> dict[str, Any]:
    """What the summary template lists: counts, the first changes (of `listed`), and the issues by row (naming
    the file as the admin sent it)."""
    issues = [str(issue).replace(stored, original) for issue in result.issues]
    return {"result": result, "plan": result.plan, "name": original, "shown": shown, "listed": listed,
            "conflict_buttons": CONFLICT_BUTTONS, "issues": issues, "issues_listed": ISSUES_LISTED * shown // SHOWN}


def _summary(ctx: Context, stage: str, result: ImportResult, stored: str, original: str,
             buttons: list[list[Button]] | None = None) -> None:
    """Reply with the summary, listing fewer lines of each kind when the full list would not fit in one
    message (a new year's ledger changes every project: plan, baseline and year-to-date lines each). The
    changes worth a line are picked once (of 50,000, a template filtering them at each try held the event
    loop for a second)."""
    listed = [change for change in result.changes if not change.only_dated]
    shown = SHOWN
    while shown > 3 and len(ctx.deps.renderer.render(
            "admin_import_summary", stage=stage, **_shown(result, stored, original, listed, shown))) > SUMMARY_CHARS:
        shown //= 2
    ctx.reply("admin_import_summary", buttons, stage=stage, **_shown(result, stored, original, listed, shown))


async def import_button(ctx: Context, data: str) -> None:
    """imp:ok imports the previewed file for real (checked again); imp:x drops it; imp:d:<day> gives the
    baseline's day; imp:k:<n> / imp:f:<n> keep the chat's version or take the file's for conflict n (or
    all). 确认 and the conflicts' buttons name the preview they are under."""
    if refuse_unless_admin(ctx):
        return
    await _pressed(ctx, data)


def _drop_upload(ctx: Context, state: dict[str, Any]) -> None:
    """What an import cancelled leaves: its file, and the plan its preview kept."""
    drop(path_of(ctx, str(state.get("path", ""))))
    ctx.deps.previews.drop(state.get("plan"))


@flow_buttons(FLOW, cancel="x", cancelled="admin_import_cancelled", confirm=("ok", "k", "f"), leaving=_drop_upload)
async def _pressed(ctx: Context, press: Press) -> None:
    state = press.state
    if press.at("d:", "as_of"):
        try:
            day = date.fromisoformat(press.value)
        except ValueError:
            expired(ctx)
            return
        await _preview(ctx, {**state, "as_of": day.isoformat()})
    elif press.at("k:", "confirm") or press.at("f:", "confirm"):
        keys = list(state.get("conflicts") or [])
        index = as_index(press.value, len(keys))
        chosen = keys if press.value == "all" else keys[index:index + 1] if index is not None else []
        if not chosen:
            expired(ctx)
            return
        kept = "keep" if press.data.startswith("k:") else "file"
        await _preview(ctx, {**state, "choices": {**(state.get("choices") or {}), **{key: kept for key in chosen}}})
    elif press.at("ok", "confirm"):
        await _confirm(ctx, state)
    else:
        expired(ctx)


async def _confirm(ctx: Context, state: dict[str, Any]) -> None:
    """Import for real what the preview showed, when the file is the one previewed and the database still holds
    what it was compared with: the plan kept since, or, when this process does not have it (another one
    previewed, or the bot was restarted), the plan worked out again from the file; else nothing is written and
    the file is previewed again, in a transaction of its own (this one given back first, and with it any lock
    the refused write took). Nothing is written in this transaction before the import's own writes (the flow is
    cleared after them)."""
    previewed = ctx.deps.previews.take(state.get("plan"))  # whatever happens next, no longer kept
    path = path_of(ctx, str(state.get("path", "")))
    if path is None or not path.is_file():
        await ctx.clear_flow()
        ctx.reply("admin_import_refused", reason="gone", name=state.get("name", ""), max_size=_max_size(ctx))
        return
    content = path.read_bytes()
    if hashlib.sha256(content).hexdigest() != state.get("sha256"):
        drop(path)
        await ctx.clear_flow()
        ctx.reply("admin_import_refused", reason="changed", name=state.get("name", ""),
                  max_size=_max_size(ctx))
        return
    original = str(state.get("name", path.name))
    if previewed is not None:
        result = await write_previewed(ctx.session, previewed, now=ctx.now, actor=ctx.actor)
    else:
        result = await _run(ctx, path, state, dry_run=False, expect=str(state.get("compared") or "-"))
        if result.stale or (result.needs_as_of and not result.issues):
            result = None
    if result is None:
        ctx.reply("admin_import_stale", name=original)
        # Nothing kept of this transaction: on SQLite it may hold the write lock (a mark found moved only once
        # taken), which the other writers must not wait for while the file is read and compared again.
        ctx.afresh(partial(_preview, state=state))
    await ctx.clear_flow()
    drop(path)
    if result.issues or result.plan is None or not result.written:
        _summary(ctx, "invalid", result, path.name, original)
        return
    _summary(ctx, "done", result, path.name, original)


BUTTONS = {PREFIX: import_button}
FLOWS = {FLOW: import_step}
