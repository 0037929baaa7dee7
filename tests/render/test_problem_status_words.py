"""A problem's state is named alike everywhere people read it: the chat's cards and lists, the meeting agenda,
the Excel export and the web pages (which keep their own copy, their templates being a folder apart)."""

from __future__ import annotations

from bot.render import Renderer
from bot.web.rendering import WebRenderer

STATES = {"open", "accepted", "answered", "resolved", "closed"}


def test_the_web_pages_name_a_problems_state_as_the_chat_and_the_export_do() -> None:
    chat = Renderer().words("_problem_status", "status_names")
    assert set(chat) == STATES and chat["resolved"] == "待销号"
    assert Renderer().words("ledger_export", "statuses") == chat
    web = WebRenderer().env.get_template("_words.html.j2").module.statuses
    assert web == chat
