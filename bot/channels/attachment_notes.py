"""The line a chat gets in place of a file that could not be sent (too large, gone from disk, refused by the
channel), so the reply's text still goes out; and the warning in the log that tells an admin."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from bot.channels.base import Attachment, AttachmentRefused
from bot.render import Renderer

log = logging.getLogger(__name__)


@cache
def _renderer() -> Renderer:
    return Renderer()


def file_name(attachment: Attachment) -> str:
    return attachment.filename or Path(attachment.path).name


def note_html(attachment: Attachment, refused: AttachmentRefused) -> str:
    """The Chinese line saying which file could not be sent and why."""
    limit_mb = round(refused.limit / (1024 * 1024)) if refused.limit else None
    return _renderer().render("attachment_not_sent", name=file_name(attachment), reason=refused.reason,
                              limit_mb=limit_mb, photo=attachment.kind == "photo", bulletin=attachment.of_bulletin)


def log_refused(channel: str, chat_id: str, attachment: Attachment, refused: AttachmentRefused) -> None:
    """Record for the admins that a file did not go out (its text did, with the note)."""
    log.warning("file %s not sent to %s:%s (%s): %s; the text went out with a note instead",
                attachment.path, channel, chat_id, refused.reason, refused)
