"""The command line's parser: argparse, saying in Chinese what is wrong with the arguments and laying out its
help under Chinese headings (the commands and options keep their English names, the other arguments show
their Chinese display names, their ``metavar``).

Through argparse's public API only: ``add_argument``, ``add_mutually_exclusive_group`` and ``add_subparsers``
(whose ``Action`` objects the parser keeps, to judge the arguments by them), ``parse_known_args`` (the words
it did not take are said as not recognised), ``error`` (documented as the method to override: it prints the
usage and the message, and exits with status 2), ``format_usage`` and ``format_help`` (their text), and a
``-h/--help`` option of our own (``add_help=False``). argparse's English message is not read: when argparse
refuses the arguments, bot.cli.diagnosis finds what is wrong from the declared arguments, worded in
bot/templates/cli/usage_error.j2 (the help's headings: usage_words.j2); only something it cannot name is said
with argparse's own text after the Chinese. The templates are read only when the usage or the help is shown, not
at every start.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from bot.cli.diagnosis import Declared, Problem, diagnose
from bot.cli.help_layout import by_display_width

__all__ = ["Parser", "usage_error"]


def usage_error(problem: Problem) -> str:
    """What is wrong with the arguments, in Chinese (usage_error.j2)."""
    from bot.render import shared_renderer

    return shared_renderer().plain("cli/usage_error", kind=problem.kind, **problem.parts)


def _words() -> dict[str, str]:
    from bot.render import shared_renderer

    return dict(shared_renderer().words("cli/usage_words", "headings"))


class _Exclusive:
    """A group of options that exclude each other (argparse's ``add_mutually_exclusive_group``), whose options
    the parser knows."""

    def __init__(self, group: Any, members: list[argparse.Action], declared: Declared) -> None:
        self.group, self.members, self.declared = group, members, declared

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = self.group.add_argument(*args, **kwargs)
        self.members.append(action)
        self.declared.arguments.append(action)
        return action


class Parser(argparse.ArgumentParser):
    """An ArgumentParser (and, through ``add_subparsers``, each of its subcommands' parsers) that says what is
    wrong in Chinese, exiting with argparse's status 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self.declared = Declared(abbreviations=self.allow_abbrev)
        self.given: list[str] = []
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help="显示本帮助并退出")

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.declared.arguments.append(action)
        return action

    def add_mutually_exclusive_group(self, *, required: bool = False) -> _Exclusive:  # type: ignore[override]
        members: list[argparse.Action] = []
        self.declared.exclusive.append(members)
        return _Exclusive(super().add_mutually_exclusive_group(required=required), members, self.declared)

    def add_subparsers(self, **kwargs: Any) -> Any:
        commands = super().add_subparsers(**kwargs)
        self.declared.commands = commands
        self.declared.arguments.append(commands)
        return commands

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        self.given = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(self.given, namespace)

    def parse_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                   namespace: argparse.Namespace | None = None) -> argparse.Namespace:
        parsed, left_over = self.parse_known_args(args, namespace)
        if left_over:
            self.refuse(Problem("unrecognized", {"names": left_over}))
        return parsed

    def format_usage(self) -> str:
        return self._chinese(super().format_usage())

    def format_help(self) -> str:
        return self._chinese(super().format_help())

    @staticmethod
    def _chinese(text: str) -> str:
        words = _words()
        text = by_display_width(text, words["usage"])
        return text.replace("\npositional arguments:\n", f"\n{words['positionals']}\n").replace(
            "\noptions:\n", f"\n{words['options']}\n")

    def error(self, message: str) -> NoReturn:
        self.refuse(diagnose(self.declared, self.given) or Problem("other", {"text": message}))

    def refuse(self, problem: Problem) -> NoReturn:
        """Print the usage and what is wrong, and exit with status 2 (as argparse does)."""
        from bot.render import shared_renderer

        self.print_usage(sys.stderr)
        self.exit(2, shared_renderer().plain("cli/usage_refused", prog=self.prog, text=usage_error(problem)) + "\n")
