"""The words of a problem the ledger checks find, by its reason: worded in ledger_issue.j2."""

from __future__ import annotations

from bot.render import shared_renderer


def issue_words(reason: str, **context: object) -> str:
    """What ``reason`` (a branch of ledger_issue.j2) says, with ``context``, as plain text."""
    return shared_renderer().plain("ledger_issue", reason=reason, **context)
