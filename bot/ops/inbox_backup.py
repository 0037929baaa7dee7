"""The messages confirmed to their sender and not yet handled, in backups: WeCom does not post an answered message
again, nor Telegram deliver an update confirmed, so one still in a journal (``bot.channels.inbox``,
``DATA_DIR/wecom-inbox`` and ``DATA_DIR/telegram-inbox``) lives nowhere else. Each channel's are kept apart.

- Backup: the journals are read before the database is copied (``read_inbox``), and what they hold not done is
  written beside the copy, ``diaodu-….sqlite3`` → ``diaodu-….wecom-inbox/`` (or ``….telegram-inbox/``;
  ``save_inbox``; nothing when there is none). Read first, a message handled between the read and the copy is
  in both: handled again after a restore, the router's record of what it handled (``Incoming.key``, in the copy)
  keeps it from being acted on twice; one answered after the read is no part of the backup, like anything done
  after it.
- Restore: the saved journal is put into the inbox folder as one no process holds (``restore_inbox``): the next
  ``diaodu run`` takes it over at its start and handles its messages before any new one, each once. Its lines are
  marked restored: a message the restored database holds handled is not answered again (its replies kept with it
  went out, or not, when the backup was made, maybe days before), one it does not is handled as it comes.

Like the database and its copies, the files are private (0600, folders 0700): they hold what members wrote.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from bot.channels.inbox import FOLDERS, SUFFIX, Answered, journal_lines, open_in, outstanding
from bot.ops.backup import BackupError

BACKED_UP = "journal" + SUFFIX  # the one journal of a backup's inbox folder


class InboxBackupError(BackupError):
    """The messages that could not be saved or put back (``inbox_failed``, worded as a BackupError's)."""


@dataclass(frozen=True)
class InboxCopy:
    """What was saved or put back: where, how many messages, of which channel."""

    where: Path
    messages: int
    channel: str = "wecom"


def inbox_beside(database_backup: Path, channel: str = "wecom") -> Path:
    """Where the channel's messages of a database backup are: ``diaodu-….sqlite3`` → ``diaodu-….wecom-inbox``."""
    return database_backup.with_suffix("." + FOLDERS[channel])


def read_inbox(folder: Path) -> list[Answered]:
    """The messages answered and not handled in the inbox ``folder`` (none when there is no such folder)."""
    return open_in(folder) if folder.is_dir() else []


def _write_private(path: Path, data: bytes, *, restoring: bool, channel: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            if os.write(fd, data) != len(data):
                raise OSError(f"{path}: not written whole")
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as error:
        raise InboxBackupError("inbox_failed", path=path, error=error, restoring=restoring,
                               channel=channel) from error


def save_inbox(messages: list[Answered], database_backup: Path, channel: str = "wecom") -> InboxCopy | None:
    """Write the channel's ``messages`` beside a database backup just made (None when there are none: nothing is
    written)."""
    if not messages:
        return None
    where = inbox_beside(database_backup, channel)
    _write_private(where / BACKED_UP, journal_lines(messages), restoring=False, channel=channel)
    return InboxCopy(where=where, messages=len(messages), channel=channel)


def restore_inbox(database_backup: Path, folder: Path, channel: str = "wecom") -> InboxCopy | None:
    """Put the channel's messages saved beside ``database_backup`` into its inbox ``folder``, as a journal the next
    start takes over (None when the backup has none)."""
    saved = inbox_beside(database_backup, channel) / BACKED_UP
    if not saved.is_file():
        return None
    messages = outstanding(saved.read_bytes())
    if not messages:
        return None
    _write_private(folder / f"{time.time_ns()}-restored{SUFFIX}", journal_lines(messages, restored=True),
                   restoring=True, channel=channel)
    return InboxCopy(where=folder, messages=len(messages), channel=channel)
