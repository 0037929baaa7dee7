"""What /help says a command does is what it does for that role (handlers.commands, commands.j2), and the days
its usages show are ones the command takes on any day."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.commands import Command, command_words
from handlers.meeting import parse_due
from handlers.routes import build_commands


def described(name: str, roles: set[str]) -> Command:
    [command] = [c for c in build_commands().available(roles, bound=True) if c.name == name]
    return command


def test_an_admins_halfmonth_shows_who_has_sent_and_takes_no_project() -> None:
    admin = described("halfmonth", {"admin"})
    assert "报送情况" in admin.description and admin.usage == "/halfmonth"
    assert described("halfmonth", {"liaison", "admin"}) == described("halfmonth", {"liaison"})
    assert "项目编号" in described("halfmonth", {"liaison"}).usage


def test_an_admins_started_and_finished_need_no_units_confirmation() -> None:
    for name in ("started", "finished"):
        assert "确认后" in described(name, {"liaison"}).description
        assert "确认后" not in described(name, {"admin"}).description
        assert "即时生效" in described(name, {"admin"}).description


@pytest.mark.parametrize("today", [date(2026, 11, 20), date(2026, 12, 31), date(2031, 7, 1)])
def test_the_days_usages_show_for_a_promise_or_a_decision_are_still_ahead_whenever_typed(today: date) -> None:
    for name in ("answer", "decide"):
        [shown] = [word.strip("[]") for word in command_words(f"{name}.usage").split() if "周" in word]
        assert parse_due(shown, today=today) > today, (name, shown)
