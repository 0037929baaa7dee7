"""The ledger file sent to /import (handlers.admin_import): checked before the reader opens it, and kept while
the admin decides.

The checks: the extension, the size cap (IMPORT_MAX_BYTES), and the content: an .xlsx must be a zip holding
[Content_Types].xml whose members do not inflate beyond ZIP_MAX_BYTES or ZIP_MAX_RATIO times the upload (a zip
bomb); a CSV must decode as UTF-8 or GB18030. The file waits under DATA_DIR/imports/<timestamp>_<name> (its path
is in the conversation state); it is removed once imported or cancelled, and leftovers of abandoned imports
(older than a day) are removed by the next /import.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path

from bot.clock import SHANGHAI
from bot.domain.messages import IncomingFile
from handlers.context import Context

__all__ = ["EXTENSIONS", "FOLDER", "drop", "folder", "keep", "path_of", "refusal_for", "remove_stale",
           "stored_name"]

FOLDER = "imports"
EXTENSIONS = (".xlsx", ".csv")
# Python's zipfile never inflates a member past the size its header declares (it stops there, and the
# CRC check fails), so the declared sizes bound what openpyxl can be made to read.
ZIP_MAX_BYTES = 50 * 1024 * 1024
ZIP_MAX_RATIO = 100
ZIP_MAX_MEMBERS = 10_000
STALE_SECONDS = 24 * 3600
_UNSAFE = re.compile(r"[^\w.\-()（）\u4e00-\u9fff]+")


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


def keep(ctx: Context, name: str, data: bytes) -> tuple[str, Path]:
    """Write the upload under DATA_DIR/imports (never over another one); its stored name and path."""
    where = folder(ctx)
    where.mkdir(parents=True, exist_ok=True)
    attempt = 0
    while True:
        stored = stored_name(name, ctx, attempt)
        try:
            with (where / stored).open("xb") as out:
                out.write(data)
        except FileExistsError:
            attempt += 1
            continue
        return stored, where / stored


def folder(ctx: Context) -> Path:
    return ctx.deps.settings.data_dir / FOLDER


def path_of(ctx: Context, relative: str) -> Path | None:
    """The stored file a conversation names, if it is one of ours."""
    path = ctx.deps.settings.data_dir / relative
    if path.parent.resolve() != folder(ctx).resolve():
        return None
    return path


def remove_stale(ctx: Context) -> None:
    """Remove uploads of imports that were neither confirmed nor cancelled (older than a day)."""
    where = folder(ctx)
    if not where.is_dir():
        return
    cutoff = time.time() - STALE_SECONDS
    for path in where.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            continue


def drop(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)
