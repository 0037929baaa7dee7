"""`.env.example` is the settings' documentation: it names every variable `bot/config.py` reads, nothing
else, and every value it writes is the default (copied as it is, it changes nothing)."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import Settings, load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_the_example_names_exactly_the_settings_read() -> None:
    written = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", EXAMPLE.read_text(encoding="utf-8"), re.M))
    read = {field.alias for field in Settings.model_fields.values()}
    assert written == read, {"not in .env.example": read - written, "not read": written - read}


def test_the_example_copied_as_it_is_keeps_every_default() -> None:
    assert load_settings(_env_file=EXAMPLE).model_dump() == load_settings(_env_file=None).model_dump()
