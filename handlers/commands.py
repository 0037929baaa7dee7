"""The command registry: names, who may use them, and their help text (used by /help and chat menus)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot.domain.messages import MenuCommand
from bot.render import shared_renderer

if TYPE_CHECKING:
    from handlers.context import Context

Handler = Callable[["Context", str], Awaitable[None]]
ANY_BOUND = frozenset({"liaison", "unit", "lead", "top", "admin"})
NO_WORDS: frozenset[str] = frozenset()  # `Command.words` of a command that reads nothing after its name


def command_words(key: str) -> str:
    """A command's words in /help and the menus, by its key in commands.j2: ``report``, ``report.usage``,
    ``issue.liaison``…"""
    return _all_words()[key]


def _all_words() -> dict[str, str]:
    return shared_renderer().words("commands", "words")


@dataclass(frozen=True)
class Use:
    """What a command offers to some roles when that is more than its main description says (e.g. /issue:
    everyone bound may look a problem up, liaisons also raise one)."""

    roles: frozenset[str]
    description: str
    usage: str = ""


@dataclass(frozen=True)
class Command:
    """A slash command. `roles` lists who may use it (the handler's own checks must agree: /help and the
    chat menus offer a command to exactly these roles); `public` ones work before binding too. A `light`
    handler needs no more of the caller than `Context.caller` (ids, name, roles): the router then does not
    load their stored `Person` (`Context.person` stays None).

    `in_group` says the command is meant for a group chat too (it shows nothing private there); every
    other command is answered in a group only with a pointer to the private chat. Private is the default,
    so a new command cannot leak into a group by omission.

    `words` are all the words a command reads after its name when it reads no free text: NO_WORDS for none
    (/mine), a set of which one may be written (/rank 填报). Anything else written after it is refused by
    the router, named, with the usage; None (the default) leaves the words to the handler."""

    name: str
    description: str
    handler: Handler
    roles: frozenset[str] = ANY_BOUND
    public: bool = False
    usage: str = ""
    light: bool = False
    in_group: bool = False
    more: tuple[Use, ...] = ()
    words: frozenset[str] | None = None

    @classmethod
    def worded(cls, name: str, handler: Handler, **options: object) -> Command:
        """The command `name`, described and its usage given by its words in commands.j2 (``name``,
        ``name.usage`` where it has one)."""
        return cls(name, command_words(name), handler, usage=_all_words().get(f"{name}.usage", ""),
                   **options)  # type: ignore[arg-type]

    def unread_words(self, args: str) -> str:
        """What of `args` this command would not read ("" if all is read, or it reads any words)."""
        if self.words is None:
            return ""
        given = args.split()
        if given and given[0] in self.words:
            given = given[1:]
        return " ".join(given)

    def allowed(self, roles: set[str], *, bound: bool) -> bool:
        if self.public:
            return True
        return bound and bool(self.roles & roles)

    def described_for(self, roles: set[str]) -> Command:
        """This command as /help shows it to these roles: the first `more` use they hold, else as is."""
        use = next((u for u in self.more if u.roles & roles), None)
        return self if use is None else replace(self, description=use.description, usage=use.usage or self.usage)


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

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands.values())

    def available(self, roles: set[str], *, bound: bool, in_group: bool = False) -> list[Command]:
        """The commands these roles may use (in a group chat: those meant for one), described for them."""
        return [c.described_for(roles) for c in self._commands.values()
                if c.allowed(roles, bound=bound) and (c.in_group or not in_group)]

    def menu(self, roles: set[str], *, bound: bool) -> list[MenuCommand]:
        return [MenuCommand(c.name, c.description) for c in self.available(roles, bound=bound)]

    def group_menu(self) -> list[MenuCommand]:
        """What a group chat's command menu shows: the commands meant for groups."""
        return [MenuCommand(c.name, c.description) for c in self._commands.values() if c.in_group]
