"""Files of the store that only the service's account may read: the SQLite database, its WAL and
shared-memory files, the leader lock file and backups are created with mode 0600, whatever the umask.

SQLite gives a database's ``-wal``, ``-shm`` and ``-journal`` files the permission bits of the database file
itself (it sets them explicitly, past the umask), so creating the database file 0600 before SQLite first
opens it is enough for them. A file that already exists keeps its mode: tightening it is the operator's call.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_FILE_MODE = 0o600


def open_private(path: Path | str, flags: int) -> int:
    """``os.open(path, flags | O_CREAT)``; a file it creates gets mode 0600 exactly."""
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return os.open(path, flags & ~os.O_EXCL)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)  # the umask may have taken bits off, or (000) left none off
    except BaseException:
        os.close(fd)
        raise
    return fd


def create_private_file(path: Path | str) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (an empty file is an empty SQLite database)."""
    os.close(open_private(path, os.O_WRONLY))

