"""Admins' operations in chat, registered here: /groups (bulletin groups; handlers.admin_groups), /broadcast
(a notice to many people through the outbox; handlers.broadcast), /audit (who changed what;
handlers.admin_audit) and /outbox (notices that did not get through, with retry buttons; handlers.admin_outbox).

Every change is audited in the same transaction; every refusal says why, in Chinese.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers import admin_audit, admin_groups, admin_outbox, broadcast
from handlers.commands import NO_WORDS, Command, CommandRegistry
from handlers.context import Context

ADMIN = frozenset({"admin"})


def register(registry: CommandRegistry) -> None:
    """/groups, /broadcast, /audit and /outbox, for admins."""
    registry.add(Command.worded("groups", admin_groups.groups_command, roles=ADMIN, in_group=True))
    registry.add(Command.worded("broadcast", broadcast.broadcast_command, roles=ADMIN))
    registry.add(Command.worded("audit", admin_audit.audit_command, roles=ADMIN))
    registry.add(Command.worded("outbox", admin_outbox.outbox_command, roles=ADMIN, words=NO_WORDS))


BUTTONS: dict[str, Callable[[Context, str], Awaitable[None]]] = {
    admin_outbox.OUTBOX_PREFIX: admin_outbox.outbox_button, broadcast.PREFIX: broadcast.confirm_button}
