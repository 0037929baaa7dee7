"""The README's commands are real: every `diaodu …` line of its command-line table parses as written (the
parser's own errors would exit), and every slash command it names is one the bot registers."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from bot.__main__ import _parser
from handlers.routes import build_commands

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
# The HTTP server's own paths, written like commands in the README.
PATHS = {"healthz", "readyz", "metrics"}
# What a usage's placeholders stand for when typed.
TYPED = {"FILE…": "ledger.xlsx", "FILE": "backup.sqlite3", "YYYY-MM-DD": "2026-11-30"}


def command_line_table() -> list[str]:
    """The code spans of the first column of the table under "The command line", as typed."""
    section = README.split("## The command line", 1)[1].split("\n## ", 1)[0]
    spans = []
    for row in section.splitlines():
        if row.startswith("| `"):
            first = row.split(" | ", 1)[0]
            spans += [span.replace("\\|", "|") for span in re.findall(r"`([^`]+)`", first)]
    return spans


def typed(span: str) -> list[str]:
    """A usage span as somebody types it: optional parts written, the first of the alternatives taken."""
    words = []
    for word in shlex.split(span.replace("[", "").replace("]", "")):
        word = TYPED.get(word, word.split("|")[0])
        words.append(word)
    return words[1:] if words[0] == "diaodu" else words


SPANS = [span for span in command_line_table() if not span.startswith("…")]


def test_the_table_is_read() -> None:
    assert len(SPANS) >= 20, SPANS


@pytest.mark.parametrize("span", SPANS)
def test_every_command_line_of_the_readme_parses(span: str) -> None:
    args = _parser().parse_args(typed(span))
    assert args.command == typed(span)[0], span


def test_the_readme_names_exactly_the_registered_slash_commands() -> None:
    named = set(re.findall(r"`[/／]([a-z_]+)(?=[\s`@])", README)) - PATHS
    registered = {command.name for command in build_commands()}
    assert len(named) > 30, named
    assert named == registered, {"not registered": named - registered, "not in the README": registered - named}
