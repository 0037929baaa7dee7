"""/import: an admin sends the ledger (台账, .xlsx or .csv) in the chat, sees a preview, then confirms it.

The same import as the CLI's `diaodu import` (bot.importing.import_into), run inside the router's
transaction: the preview is the upsert in a SAVEPOINT that is rolled back (a dry run), and 确认 reads and
checks the same file again before writing. While the admin decides, the file waits under
DATA_DIR/imports/<timestamp>_<name> (its path is in the conversation state); it is removed once imported or
cancelled, and leftovers of abandoned imports are removed by the next /import.

Files are checked before the reader opens them: the extension, the size cap (IMPORT_MAX_BYTES), and the
content: an .xlsx must be a zip holding [Content_Types].xml whose members do not inflate beyond
ZIP_MAX_BYTES or ZIP_MAX_RATIO times the upload (a zip bomb); a CSV must decode as UTF-8 or GB18030.
"""

from __future__ import annotations

import hashlib
import io
import re
import time
import zipfile
from pathlib import Path
from typing import Any

from bot.clock import SHANGHAI
from bot.importing import import_into
from bot.messages import Button, IncomingFile
from handlers.admin_people import refuse_unless_admin
from handlers.commands import Command, CommandRegistry
from handlers.context import Context
from storage import audit, conversations
from storage.ledger_import import ImportSummary

FLOW = "admin_import"
PREFIX = "imp"
FOLDER = "imports"
EXTENSIONS = (".xlsx", ".csv")
# Python's zipfile never inflates a member past the size its header declares (it stops there, and the
# CRC check fails), so the declared sizes bound what openpyxl can be made to read.
ZIP_MAX_BYTES = 50 * 1024 * 1024
ZIP_MAX_RATIO = 100
ZIP_MAX_MEMBERS = 10_000
STALE_SECONDS = 24 * 3600
SHOWN = 30  # changes and issues listed in a preview
_UNSAFE = re.compile(r"[^\w.\-()（）\u4e00-\u9fff]+")


def register(registry: CommandRegistry) -> None:
    registry.add(Command("import", "导入项目台账(Excel/CSV)", import_command, roles=frozenset({"admin"}),
                         usage="/import,再发送台账文件"))


def _buttons_confirm() -> list[list[Button]]:
    return [[Button("确认", f"{PREFIX}:ok"), Button("取消", f"{PREFIX}:x")]]


def _buttons_cancel() -> list[list[Button]]:
    return [[Button("取消", f"{PREFIX}:x")]]


def _max_size(ctx: Context) -> str:
    """The size cap as people write it: 5 MB, 512 KB."""
    cap = ctx.deps.settings.import_max_bytes
    if cap >= 1024 * 1024:
        return f"{round(cap / 1024 / 1024, 1):g} MB"
    return f"{round(cap / 1024, 1):g} KB"


# --- checking a file -------------------------------------------------------------------------------

def refusal_for(document: IncomingFile, *, max_bytes: int) -> str | None:
    """Why this upload cannot be a ledger (a reason of admin_import_refused), or None if it may be read."""
    suffix = Path(document.name).suffix.lower()
    if suffix == ".xls":
        return "xls"
    if suffix not in EXTENSIONS:
        return "not_spreadsheet"
    if document.data is None:
        return "too_big" if document.size > max_bytes else "download_failed"
    data = document.data
    if len(data) > max_bytes:
        return "too_big"
    if not data:
        return "empty"
    if suffix == ".xlsx":
        return _xlsx_refusal(data)
    if b"\x00" in data:
        return "not_csv"
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            data.decode(encoding)
            return None
        except UnicodeDecodeError:
            continue
    return "not_csv"


def _xlsx_refusal(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return "not_xlsx"
    if "[Content_Types].xml" not in {m.filename for m in members}:
        return "not_xlsx"
    inflated = sum(m.file_size for m in members)
    if len(members) > ZIP_MAX_MEMBERS or inflated > ZIP_MAX_BYTES or inflated > ZIP_MAX_RATIO * len(data):
        return "zip_bomb"
    return None


def stored_name(name: str, ctx: Context, attempt: int = 0) -> str:
    """<local timestamp>_<the file's own name, made safe>: no directories, no odd characters (`attempt`
    tells apart uploads stamped with the same instant)."""
    base = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name).strip("._") or "ledger"
    stem, suffix = Path(base).stem[:60], Path(base).suffix.lower()
    stamp = ctx.now.astimezone(SHANGHAI).strftime("%Y%m%d_%H%M%S_%f") + (f"-{attempt}" if attempt else "")
    return f"{stamp}_{stem}{suffix}"


def _keep(ctx: Context, name: str, data: bytes) -> tuple[str, Path]:
    """Write the upload under DATA_DIR/imports (never over another one); its stored name and path."""
    folder = _folder(ctx)
    folder.mkdir(parents=True, exist_ok=True)
    attempt = 0
    while True:
        stored = stored_name(name, ctx, attempt)
        try:
            with (folder / stored).open("xb") as out:
                out.write(data)
        except FileExistsError:
            attempt += 1
            continue
        return stored, folder / stored


def _folder(ctx: Context) -> Path:
    return ctx.deps.settings.data_dir / FOLDER


def _path(ctx: Context, relative: str) -> Path | None:
    """The stored file a conversation names, if it is one of ours."""
    path = ctx.deps.settings.data_dir / relative
    if path.parent.resolve() != _folder(ctx).resolve():
        return None
    return path


def _remove_stale(ctx: Context) -> None:
    """Remove uploads of imports that were neither confirmed nor cancelled (older than a day)."""
    folder = _folder(ctx)
    if not folder.is_dir():
        return
    cutoff = time.time() - STALE_SECONDS
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            continue


def _drop(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)


# --- the flow --------------------------------------------------------------------------------------

async def _save(ctx: Context, state: dict[str, Any]) -> None:
    await conversations.save_conversation(ctx.session, channel=ctx.msg.channel, chat_id=ctx.msg.chat_id,
                                          user_id=ctx.msg.user_id, flow=FLOW, state=state, now=ctx.now)


async def _clear(ctx: Context) -> None:
    await conversations.clear_conversation(ctx.session, channel=ctx.msg.channel, chat_id=ctx.msg.chat_id,
                                           user_id=ctx.msg.user_id)


async def _state(ctx: Context) -> dict[str, Any] | None:
    conversation = await conversations.get_conversation(ctx.session, channel=ctx.msg.channel,
                                                        chat_id=ctx.msg.chat_id, user_id=ctx.msg.user_id)
    return dict(conversation.state) if conversation is not None and conversation.flow == FLOW else None


async def import_command(ctx: Context, _args: str) -> None:
    """`/import` waits for the file (or takes the one sent with /import as its caption)."""
    _remove_stale(ctx)
    if ctx.msg.document is not None:
        await _receive(ctx, ctx.msg.document)
        return
    await _save(ctx, {"step": "file"})
    ctx.reply("admin_import_ask", max_size=_max_size(ctx), buttons=_buttons_cancel())


async def import_step(ctx: Context, state: dict[str, Any]) -> None:
    """A message while /import waits: the file (a new one replaces a file awaiting 确认), or a hint."""
    if refuse_unless_admin(ctx):
        await _clear(ctx)
        return
    if ctx.msg.document is not None:
        if state.get("step") == "confirm":
            _drop(_path(ctx, str(state.get("path", ""))))
        await _receive(ctx, ctx.msg.document)
    elif state.get("step") == "confirm":
        ctx.reply("admin_import_waiting", name=state.get("name", ""), buttons=_buttons_confirm())
    else:
        ctx.reply("admin_import_ask", max_size=_max_size(ctx), buttons=_buttons_cancel())


async def _receive(ctx: Context, document: IncomingFile) -> None:
    """Check the upload, keep it, and show what importing it would do. Only here, once the sender is known
    to be an admin in an /import, is the file downloaded (and only if its name is a ledger's)."""
    if Path(document.name).suffix.lower() in EXTENSIONS:
        document = await document.load()
    reason = refusal_for(document, max_bytes=ctx.deps.settings.import_max_bytes)
    if reason is not None:
        await _save(ctx, {"step": "file"})
        ctx.reply("admin_import_refused", reason=reason, name=document.name, max_size=_max_size(ctx),
                  buttons=_buttons_cancel())
        return
    assert document.data is not None
    name, path = _keep(ctx, document.name, document.data)
    summary = await _run(ctx, path, dry_run=True)
    if summary.issues:
        _drop(path)
        await _save(ctx, {"step": "file"})
        ctx.reply("admin_import_summary", stage="invalid", **_shown(summary, name, document.name),
                  buttons=_buttons_cancel())
        return
    await _save(ctx, {"step": "confirm", "path": f"{FOLDER}/{name}", "name": document.name,
                      "sha256": hashlib.sha256(document.data).hexdigest()})
    ctx.reply("admin_import_summary", stage="preview", **_shown(summary, name, document.name),
              buttons=_buttons_confirm())


async def _run(ctx: Context, path: Path, *, dry_run: bool) -> ImportSummary:
    """The import in this message's transaction; the caller stays loaded after a dry run's rollback."""
    return await import_into(ctx.session, [path], now=ctx.now, actor=ctx.actor, dry_run=dry_run,
                             keep_loaded=[ctx.person] if ctx.person is not None else [])


def _shown(summary: ImportSummary, stored: str, original: str) -> dict[str, Any]:
    """What the summary template lists: counts, the first changes, and the issues by row (naming the file
    as the admin sent it)."""
    issues = [str(issue).replace(stored, original) for issue in summary.issues]
    return {"summary": summary, "name": original, "changes": summary.changes[:SHOWN],
            "more_changes": max(len(summary.changes) - SHOWN, 0), "issues": issues[:SHOWN],
            "more_issues": max(len(issues) - SHOWN, 0)}


async def import_button(ctx: Context, data: str) -> None:
    """imp:ok imports the previewed file for real (checked again); imp:x drops it."""
    if refuse_unless_admin(ctx):
        return
    state = await _state(ctx)
    if data == "x":
        if state is not None:
            _drop(_path(ctx, str(state.get("path", ""))))
            await _clear(ctx)
        ctx.reply("admin_import_cancelled")
        return
    if data != "ok" or state is None or state.get("step") != "confirm":
        ctx.reply("button_expired")
        return
    path = _path(ctx, str(state.get("path", "")))
    await _clear(ctx)
    if path is None or not path.is_file():
        ctx.reply("admin_import_refused", reason="gone", name=state.get("name", ""), max_size=_max_size(ctx))
        return
    content = path.read_bytes()
    if hashlib.sha256(content).hexdigest() != state.get("sha256"):
        _drop(path)
        ctx.reply("admin_import_refused", reason="changed", name=state.get("name", ""),
                  max_size=_max_size(ctx))
        return
    original = str(state.get("name", path.name))
    summary = await _run(ctx, path, dry_run=False)
    _drop(path)
    if summary.issues:
        ctx.reply("admin_import_summary", stage="invalid", **_shown(summary, path.name, original))
        return
    await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="ledger.import", object_type="ledger",
                       object_key=original[:100],
                       detail={"file": original, "sha256": state.get("sha256"), "bytes": len(content),
                               "added": dict(summary.added), "changed": dict(summary.changed),
                               "unchanged": dict(summary.unchanged)})
    ctx.reply("admin_import_summary", stage="done", **_shown(summary, path.name, original))


BUTTONS = {PREFIX: import_button}
FLOWS = {FLOW: import_step}
