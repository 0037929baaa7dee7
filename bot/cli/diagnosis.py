"""What is wrong with a command's arguments, found from the arguments it declares, not from argparse's words.

argparse says what is wrong in English, and its wording changes between Python versions. When it refuses the
arguments, :func:`diagnose` walks them again over the parser's declared arguments (argparse's ``Action``
objects and their documented attributes: ``option_strings``, ``dest``, ``nargs``, ``type``, ``choices``,
``required``, ``metavar``) and names the first thing wrong as a :class:`Problem` of a kind that
bot/templates/cli/usage_error.j2 words in Chinese: an argument missing, an option not known or ambiguous, a
value missing, not of its type or not one of the choices, a value given to an option that takes none, two
options that exclude each other given together, and words left over. An argument is named as a user reads it:
an option as typed, any other argument by its display name (``metavar``).

It follows argparse's reading for what the command line uses (options before, between and after the other
arguments; ``--opt=value``; ``--`` ending the options; a negative number as a value; unique abbreviations of
long options; one subcommand), which is all a refusal needs: anything else yields None, and the caller still
says argparse's own message, in Chinese words around it.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Declared", "Problem", "diagnose", "shown_name"]

_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the arguments: a ``kind`` of usage_error.j2 and what it names."""

    kind: str
    parts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Declared:
    """A parser's arguments in the order they were declared; the groups of options that exclude each other;
    its subcommands' argument (``add_subparsers``), if any."""

    arguments: list[argparse.Action] = field(default_factory=list)
    exclusive: list[list[argparse.Action]] = field(default_factory=list)
    commands: argparse.Action | None = None
    abbreviations: bool = True


def shown_name(action: argparse.Action) -> str:
    """An argument as users read it: an option as typed (``--role``), another by its display name."""
    if action.option_strings:
        return "/".join(action.option_strings)
    return action.metavar if isinstance(action.metavar, str) else action.dest


def _option_like(arg: str) -> bool:
    return arg.startswith("-") and arg != "-" and not _NUMBER.match(arg) and " " not in arg


def _check(action: argparse.Action, text: str) -> Problem | None:
    """What is wrong with ``text`` as a value of ``action``: not of its type, or not one of its choices."""
    name = shown_name(action)
    try:
        value = action.type(text) if callable(action.type) else text
    except argparse.ArgumentTypeError as error:  # ours, worded in Chinese already
        return Problem("argument", {"name": name, "text": str(error)})
    except (TypeError, ValueError):
        return Problem("type", {"name": name, "value": text, "type": getattr(action.type, "__name__", "")})
    if action.choices is not None and value not in action.choices:
        return Problem("choice", {"name": name, "value": text, "choices": [str(c) for c in action.choices]})
    return None


def _takes_more(action: argparse.Action, taken: int) -> bool:
    """Whether a positional argument that has ``taken`` values takes the next word too."""
    if action.nargs is None or action.nargs == argparse.OPTIONAL:
        return taken < 1
    if isinstance(action.nargs, int):
        return taken < action.nargs
    return action.nargs in (argparse.ONE_OR_MORE, argparse.ZERO_OR_MORE)


def _lacks(action: argparse.Action, taken: int) -> bool:
    """Whether a positional argument that has ``taken`` values still lacks some."""
    if action.nargs is None or action.nargs == argparse.ONE_OR_MORE:
        return taken < 1
    if isinstance(action.nargs, int):
        return taken < action.nargs
    return False


class _Walk:
    """The arguments read left to right as argparse reads them, stopping at the first thing wrong."""

    def __init__(self, declared: Declared, args: Sequence[str]) -> None:
        self.declared = declared
        self.args = list(args)
        self.options = {s: a for a in declared.arguments for s in a.option_strings}
        self.positionals = [a for a in declared.arguments if not a.option_strings]
        self.at = 0  # the positional argument the next word goes to
        self.taken = 0  # the words it has
        self.seen: list[argparse.Action] = []
        self.left_over: list[str] = []

    def run(self) -> Problem | None:
        index = 0
        while index < len(self.args):
            arg = self.args[index]
            index += 1
            if arg == "--":
                for word in self.args[index:]:
                    if (problem := self.word(word)) is not None:
                        return problem
                break
            if not _option_like(arg):
                if (problem := self.word(arg)) is not None:
                    return problem
                if self.command_given():
                    return None  # the rest is the subcommand's, which says what is wrong with it
                continue
            problem, index = self.option(arg, index)
            if problem is not None:
                return problem
        return self.missing() or self.unrecognized()

    def command_given(self) -> bool:
        return self.declared.commands is not None and self.declared.commands in self.seen

    def takes_more(self, action: argparse.Action) -> bool:
        return self.taken < 1 if action is self.declared.commands else _takes_more(action, self.taken)

    def word(self, word: str) -> Problem | None:
        while self.at < len(self.positionals) and not self.takes_more(self.positionals[self.at]):
            self.at, self.taken = self.at + 1, 0
        if self.at >= len(self.positionals):
            self.left_over.append(word)
            return None
        action = self.positionals[self.at]
        self.taken += 1
        if action is self.declared.commands:
            if word not in (action.choices or {}):
                return Problem("choice", {"name": shown_name(action), "value": word,
                                          "choices": list(action.choices or {})})
            self.seen.append(action)
            return None
        self.seen.append(action)
        return _check(action, word)

    def option(self, arg: str, index: int) -> tuple[Problem | None, int]:
        typed, equals, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        action = self.options.get(typed)
        if action is None:
            known = sorted({s for s in self.options if s.startswith(typed)}) if typed.startswith("--") and \
                self.declared.abbreviations else []
            if len(known) > 1:
                return Problem("ambiguous", {"name": typed, "choices": known}), index
            if not known:
                self.left_over.append(arg)
                return None, index
            action = self.options[known[0]]
        name = shown_name(action)
        if action.nargs == 0:
            if equals:
                return Problem("no_value", {"name": name}), index
        else:
            values = [value] if equals else []
            while not equals and index < len(self.args) and not _option_like(self.args[index]) and \
                    (action.nargs in (argparse.ONE_OR_MORE, argparse.ZERO_OR_MORE) or not values):
                values.append(self.args[index])
                index += 1
            if not values and action.nargs != argparse.OPTIONAL:
                kind = "values" if action.nargs == argparse.ONE_OR_MORE else "one_value"
                return Problem(kind, {"name": name}), index
            for text in values:
                if (problem := _check(action, text)) is not None:
                    return problem, index
        for group in self.declared.exclusive:
            other = next((a for a in self.seen if a in group and a is not action), None) if action in group else None
            if other is not None:
                return Problem("together", {"name": name, "other": shown_name(other)}), index
        self.seen.append(action)
        return None, index

    def missing(self) -> Problem | None:
        lacking = {id(a) for a in self.declared.arguments if a.option_strings and a.required and a not in self.seen}
        for number, action in enumerate(self.positionals):
            taken = self.taken if number == self.at else 0
            if number >= self.at and (_lacks(action, taken) if action is not self.declared.commands else
                                      action.required and action not in self.seen):
                lacking.add(id(action))
        names = [shown_name(a) for a in self.declared.arguments if id(a) in lacking]
        return Problem("required", {"names": names}) if names else None

    def unrecognized(self) -> Problem | None:
        return Problem("unrecognized", {"names": self.left_over}) if self.left_over else None


def diagnose(declared: Declared, args: Sequence[str]) -> Problem | None:
    """The first thing wrong with ``args`` for a parser that declares ``declared``; None when none is found
    (the words after a valid subcommand are the subcommand's to judge)."""
    return _Walk(declared, args).run()
