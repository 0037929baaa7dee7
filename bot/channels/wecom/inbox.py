"""The WeCom callback's inbox: the channels' journal (``bot.channels.inbox``) in ``DATA_DIR/wecom-inbox``."""

from __future__ import annotations

from bot.channels.inbox import FOLDERS, SUFFIX, Answered, Inbox, journal_lines, open_in, outstanding

FOLDER = FOLDERS["wecom"]  # the folder of DATA_DIR holding the journals

__all__ = ["FOLDER", "SUFFIX", "Answered", "Inbox", "journal_lines", "open_in", "outstanding"]
