"""The domain's tables of words are worded in a template (bot/templates/code_labels.j2) and read from there as the
plain tables they were: a dict of strings, never Jinja's Markup (which would not be escaped where it is printed).
What people type for a role is read in Python: every role's name as shown is still read as that role."""

from __future__ import annotations

import pytest

from bot.domain import labels
from bot.domain.worded import worded
from handlers.broadcast import ROLE_WORDS

TABLES = ("CHANNELS", "ACTIONS", "FIELDS", "ROLES", "EVENTS", "APPROVAL_STATUS", "CALENDAR_KINDS", "SETTINGS",
          "SETTING_KEYS")


@pytest.mark.parametrize("name", TABLES)
def test_a_table_is_a_dict_of_plain_strings(name: str) -> None:
    table = getattr(labels, name)
    assert type(table) is dict and table
    assert all(type(k) is str and type(v) is str for k, v in table.items()), name


def test_the_word_for_an_unknown_code_is_worded_too() -> None:
    assert type(labels.UNKNOWN) is str and labels.label(labels.ACTIONS, "no.such") == labels.UNKNOWN


def test_a_template_is_read_once() -> None:
    assert worded("code_labels.j2", "roles") is worded("code_labels.j2", "roles") is labels.ROLES


def test_every_roles_name_shown_is_read_as_that_role() -> None:
    """/broadcast's refusal lists the roles by their names: each of those names is a target it reads."""
    assert {name: ROLE_WORDS.get(name) for name in labels.ROLES.values()} == {
        name: role for role, name in labels.ROLES.items()}
