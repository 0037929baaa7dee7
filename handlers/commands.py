"""The command registry: names, who may use them, and their help text (used by /help and chat menus)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.domain.messages import MenuCommand

if TYPE_CHECKING:
    from handlers.context import Context

Handler = Callable[["Context", str], Awaitable[None]]
ANY_BOUND = frozenset({"liaison", "unit", "lead", "top", "admin"})


@dataclass(frozen=True)
class Command:
    """A slash command. `roles` lists who may use it; `public` ones work before binding too. A `light`
    handler needs no more of the caller than `Context.caller` (ids, name, roles): the router then does not
    load their stored `Person` (`Context.person` stays None)."""

    name: str
    description: str
    handler: Handler
    roles: frozenset[str] = ANY_BOUND
    public: bool = False
    usage: str = ""
    light: bool = False

    def allowed(self, roles: set[str], *, bound: bool) -> bool:
        if self.public:
            return True
        return bound and bool(self.roles & roles)


class CommandRegistry:
    """Commands in the order they appear in help and menus."""

    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}

    def add(self, command: Command) -> None:
        if command.name in self._commands:
            raise ValueError(f"command /{command.name} registered twice")
        self._commands[command.name] = command

    def get(self, name: str) -> Command | None:
        return self._commands.get(name)

    def available(self, roles: set[str], *, bound: bool) -> list[Command]:
        return [c for c in self._commands.values() if c.allowed(roles, bound=bound)]

    def menu(self, roles: set[str], *, bound: bool) -> list[MenuCommand]:
        return [MenuCommand(c.name, c.description) for c in self.available(roles, bound=bound)]
