"""Where the bot stands in a group chat, as its channel finds out (the chat app's membership and rights, or a send
it refused), in a word: ``IN`` (it may send everything), ``OUT`` (taken out), ``MUTED`` (in the group, but it may
not send messages), ``NO_FILES`` (it may send text, not photos or files). And what a send needs a right for:
``MESSAGES`` (text) or ``FILES`` (photos and documents)."""

from __future__ import annotations

IN, OUT, MUTED, NO_FILES = "in", "out", "muted", "no_files"
MESSAGES, FILES = "messages", "files"
