"""Where the channel-neutral message types used to live; they are in ``bot.domain.messages`` now.

Kept only for ``handlers/admin_import.py``, which another change is rewriting: once it imports
``bot.domain.messages`` this module goes.
"""

from bot.domain.messages import Button, IncomingFile

__all__ = ["Button", "IncomingFile"]
