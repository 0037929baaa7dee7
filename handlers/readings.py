"""Asking back when an amount reads more than one way (`3 000 主体`: 3 or 3,000 万元): the readings kept in
the conversation and one button per reading, shared by the report and correction flows."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from bot.domain.amounts import format_wan
from bot.domain.messages import Button
from bot.domain.report_line import Reading
from bot.render import label

_LABEL_PROGRESS_CHARS = 16


def saved_readings(readings: Sequence[Reading]) -> list[list[str]]:
    """The readings as a conversation keeps them: [amount as written, 万元, progress] each."""
    return [[r.amount_text, str(r.amount), r.progress] for r in readings]


def reading_buttons(readings: Sequence[Reading], prefix: str) -> list[list[Button]]:
    """One button per reading saying amount and progress as they would be stored (`prefix:r:i`), and
    「都不对，取消」 (`prefix:cancel`)."""
    rows = []
    for i, reading in enumerate(readings):
        progress = reading.progress
        if len(progress) > _LABEL_PROGRESS_CHARS:
            progress = progress[:_LABEL_PROGRESS_CHARS] + "…"
        rows.append([Button(label("reading", format_wan(Decimal(reading.amount)), progress), f"{prefix}:r:{i}")])
    rows.append([Button(label("readings_none"), f"{prefix}:cancel")])
    return rows
