"""The command line's parser: argparse, saying in Chinese what is wrong with the arguments and laying out its
help under Chinese headings (the commands and options keep their English names).

Through argparse's public API only: ``error`` (documented as the method to override: it prints the usage and
the message, and exits with status 2), ``format_usage`` and ``format_help`` (their text), and a ``-h/--help``
option of our own (``add_help=False``). The templates are read only when the usage or the help is shown, not
at every start. argparse words its errors in English; ``usage_error`` reads them by
their documented shapes (a required argument missing, an invalid choice, a value of the wrong type, an
unrecognized argument…) and words each in bot/templates/cli/usage_error.j2 (the help's headings:
usage_words.j2). An error it does not recognise is
still said in Chinese, with argparse's own text after it.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, NoReturn

__all__ = ["Parser", "usage_error"]

# argparse's messages (Lib/argparse.py), each a kind of usage_error.j2 with its parts by name
_MESSAGES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((kind, re.compile(pattern, re.S)) for kind, pattern in (
    ("required", r"the following arguments are required: (?P<names>.+)"),
    ("choice", r"argument (?P<name>[^:]+): invalid choice: (?P<value>.+?) \(choose from (?P<choices>.+)\)"),
    ("type", r"argument (?P<name>[^:]+): invalid (?P<type>\w+) value: (?P<value>.+)"),
    ("unrecognized", r"unrecognized arguments: (?P<names>.+)"),
    ("one_value", r"argument (?P<name>[^:]+): expected one argument"),
    ("values", r"argument (?P<name>[^:]+): expected (?:at least one argument|\d+ arguments?)"),
    ("together", r"argument (?P<name>[^:]+): not allowed with argument (?P<other>.+)"),
    ("ambiguous", r"ambiguous option: (?P<name>\S+) could match (?P<choices>.+)"),
    ("argument", r"argument (?P<name>[^:]+): (?P<text>.+)"),  # ours (ArgumentTypeError), already in Chinese
))
_QUOTED = re.compile(r"'([^']*)'")


def _names(text: str) -> list[str]:
    """``'a', 'b'`` or ``a, b`` as the names themselves."""
    return [_QUOTED.sub(r"\1", part.strip()) for part in text.split(",") if part.strip()]


def usage_error(message: str) -> str:
    """argparse's English message of what is wrong, in Chinese (usage_error.j2)."""
    from bot.render import shared_renderer

    for kind, pattern in _MESSAGES:
        found = pattern.fullmatch(message.strip())
        if found is None:
            continue
        parts: dict[str, Any] = found.groupdict()
        for key in ("names", "choices"):
            if key in parts:
                parts[key] = _names(parts[key])
        if "value" in parts:
            parts["value"] = _QUOTED.sub(r"\1", parts["value"])
        return shared_renderer().plain("cli/usage_error", kind=kind, **parts)
    return shared_renderer().plain("cli/usage_error", kind="other", text=message)


def _words() -> dict[str, str]:
    from bot.render import shared_renderer

    return dict(shared_renderer().words("cli/usage_words", "headings"))


class Parser(argparse.ArgumentParser):
    """An ArgumentParser (and, through ``add_subparsers``, each of its subcommands' parsers) that says what is
    wrong in Chinese, exiting with argparse's status 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help="显示本帮助并退出")

    def format_usage(self) -> str:
        return self._chinese(super().format_usage())

    def format_help(self) -> str:
        return self._chinese(super().format_help())

    @staticmethod
    def _chinese(text: str) -> str:
        words = _words()
        text = words["usage"] + text.removeprefix("usage: ")
        return text.replace("\npositional arguments:\n", f"\n{words['positionals']}\n").replace(
            "\noptions:\n", f"\n{words['options']}\n")

    def error(self, message: str) -> NoReturn:
        from bot.render import shared_renderer

        self.print_usage(sys.stderr)
        self.exit(2, shared_renderer().plain("cli/usage_refused", prog=self.prog, text=usage_error(message)) + "\n")
