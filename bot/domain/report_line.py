"""Parsing a one-shot report line ("ZD2026-001 1.2 亿 主体结构完成60%") and checking the amount.

The words after the code are an amount then the progress text, but phone keyboards put spaces inside
amounts ("1.2 亿", "5000 元", "3 000"), so the split is not simply at the first space. Every way of
reading the first words as an amount is tried with the one amount grammar (`parse_amount`):

- a reading that leaves a bare unit word ("亿", "万元", "元") at the head of the progress text is no
  reading: the unit belongs to the amount ("1.2 亿 主体" is 12,000 万元);
- when more than one reading remains ("3 000 主体": 3 万元 or 3,000 万元), the progress text opens with
  another number ("850 1200 桩基"), or with a unit glued to words ("5000 元旦前完成": 5000 万元, or 5000
  元 and "旦前完成"?), the line is ambiguous and the liaison is asked which one they meant; it is never
  guessed.

A 万 or 亿 between the number and the words gives the same amount either way (850 is 850 万元) but not the
same words: it belongs to the words when they open with a word led by it (万达广场, 万亩: bot.domain.
unit_led_words), else to the amount. When the spacing says otherwise ("850万达广场", glued to the digits;
"850 万桩基完成", glued to the words), the line is asked back: a progress text is never stored cut.

The progress text keeps the lines it was typed on (a report's paragraph of 下步计划, pasted lines), each line's
spaces and tabs made one space, as every way of reporting stores it (:func:`progress_as_stored`). A row pasted
from a spreadsheet may carry the project's name after its code ("ZD2026-001<tab>城北高速连接线<tab>850<tab>桩基完成"):
given the name, it is passed over.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from decimal import Decimal

from bot.domain.amounts import AmountError, parse_amount
from bot.domain.unit_led_words import opens_unit_led_word

CODE_PATTERN = re.compile(r"^[A-Za-z]{1,10}[0-9]{2,4}-[0-9]{1,5}$")
# The hyphens and dashes a code comes with from Word, WPS or a phone's smart punctuation, and the zero-width
# (non-)joiners kept in user text for emoji (bot.domain.messages.clean_text), which a code never holds.
_CODE_FOLD = str.maketrans({**dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63", "-"),
                            "\u200c": None, "\u200d": None})
# A word made only of unit characters ("亿", "万元", "億元", "元整"): never the start of a progress text.
_UNIT_WORD = re.compile(r"[十百千万亿萬億元圆整]+")
# The unit characters a progress text may open with when the unit was meant for the amount.
_UNIT_PREFIX = re.compile(r"(?:[万亿萬億]\s*)?[元圆]?整?")
# At most this many words are tried as one amount ("1 200 万 元").
_MAX_AMOUNT_WORDS = 4
# An amount glued to the words after it: digits (ASCII or full-width, with separators), then a unit.
_GLUED_HEAD = re.compile(r"[0-9０-９][0-9０-９.,，．]*\s*[万亿萬億]?[元圆]?")
_SCALES = "万亿萬億"
_DIGITS = frozenset("0123456789０１２３４５６７８９")
_SEPARATORS = "，,、；;：:。．."
# A code followed by a punctuation mark instead of a space ("ZD2026-001，850，桩基完成").
_CODE_COMMA = re.compile(r"^(\S+?)[，,、：:]")


@dataclass(frozen=True)
class Reading:
    """One way to read the words after the code: the amount as written, its value in 万元, the rest."""

    amount_text: str
    amount: Decimal
    progress: str


@dataclass(frozen=True)
class ReportLine:
    """The parts of a one-shot report; amount and progress may be missing.

    `readings` are the possible splits into amount and progress: one when the line is clear, several when
    it must be asked, none when no amount could be read (then `amount_text` is the first word, for the
    error message).
    """

    code: str
    amount_text: str | None
    progress: str
    readings: tuple[Reading, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return len(self.readings) > 1


def looks_like_code(token: str) -> bool:
    return bool(CODE_PATTERN.match(token))


def fold_code(token: str) -> str:
    """A typed project code as it is stored: upper case, full-width letters and digits folded (「ＺＤ２０２６－００１」,
    a Chinese keyboard's full-width mode), the dashes word processors put for a hyphen (non-breaking hyphen, en
    dash, minus sign) made one, the invisible joiners copy-paste leaves around it dropped."""
    return unicodedata.normalize("NFKC", token).translate(_CODE_FOLD).strip().upper()


def project_code(token: str) -> str | None:
    """The project code a typed word is (:func:`fold_code`); None when it is no code."""
    folded = fold_code(token)
    return folded if looks_like_code(folded) else None


def _amount_or_none(text: str) -> Decimal | None:
    try:
        return parse_amount(text)
    except AmountError:
        return None


def split_amount(words: list[str]) -> tuple[Reading, ...]:
    """The readings of `words` (the line after the code) as amount + progress; see the module docstring."""
    readings: list[Reading] = []
    for n in range(1, min(len(words), _MAX_AMOUNT_WORDS) + 1):
        text = " ".join(words[:n])
        amount = _amount_or_none(text)
        if amount is not None:
            readings.append(Reading(text, amount, " ".join(words[n:])))
    # A unit word right after a reading belongs to it: drop the shorter reading.
    readings = [r for r in readings if not (r.progress and _UNIT_WORD.fullmatch(r.progress.split()[0])
                                             and any(o.amount_text.startswith(r.amount_text + " ")
                                                     for o in readings))]
    # A progress text that opens with a unit glued to words ("1.2 亿元主体完工", "5000 元旦前完成"): the unit
    # may belong to the amount or to the words. Ask, unless both readings give the same amount and the words
    # open with a word led by the unit ("850 万达广场": 850 万元 either way, the words are kept whole).
    for reading in list(readings):
        head, _, tail = reading.progress.partition(" ")
        unit = _UNIT_PREFIX.match(head)
        if unit is None or unit.group() in ("", head):
            continue
        written = f"{reading.amount_text} {unit.group()}"
        amount = _amount_or_none(written)
        same_words = unit.group()[:1] not in _SCALES or opens_unit_led_word(head)  # "1200 整体完工" too
        if amount is not None and (amount != reading.amount or not same_words):
            readings.append(Reading(written, amount, f"{head[unit.end():]} {tail}".strip()))
    if len(readings) == 1:
        reading = readings[0]
        rest = reading.progress.split(maxsplit=1)
        second = _amount_or_none(rest[0]) if rest else None
        if second is not None and not _UNIT_WORD.fullmatch(rest[0]):
            # "850 1200 桩基": the progress text opens with another amount. Which one is it?
            others = " ".join([reading.amount_text, *rest[1:]])
            readings.append(Reading(rest[0], second, others))
    return tuple(readings)


def glued_readings(words: list[str]) -> tuple[Reading, ...]:
    """The readings of a first word that glues the amount to the words ("850万桩基完成60%", "850，桩基完成",
    typed without a space as Chinese is): each way to cut an amount off its head, where a scale (万/亿) glued
    to the digits belongs to the amount, a number is never cut inside, and a number without a unit is cut off
    only before a punctuation mark or 元 ("3号楼封顶" holds no amount). Cuts giving the same amount are one
    reading, the unit taken with the amount ("850万" and "桩基完成", not "850" and "万桩基完成"); cuts giving
    different amounts ("5000元旦前完成": 5000 万元 or 5000 元) are all offered, to be asked back, and so is the
    cut before a 万/亿 that opens a word ("850万达广场": 850 万元 and "万达广场", or "达广场"?)."""
    word, rest = words[0], words[1:]
    cuts: dict[Decimal, tuple[str, str]] = {}
    led: list[Reading] = []  # the cuts before a 万/亿 that leads the words
    for end in range(1, len(word)):
        head, tail = word[:end], word[end:]
        following = tail[1:2] if tail[0] in _SEPARATORS else ""
        if not _GLUED_HEAD.fullmatch(head) or tail[0] in _SCALES or tail[0] in _DIGITS or following in _DIGITS:
            continue
        if not _UNIT_WORD.search(head) and tail[0] not in _SEPARATORS + "元圆":
            continue  # "3号楼封顶", "30%", "2026年": a number that belongs to the words, no amount
        amount = _amount_or_none(head)
        if amount is None:
            continue
        progress = " ".join([tail.lstrip(_SEPARATORS + " "), *rest]).strip()
        cuts[amount] = (head, progress)  # a longer cut of the same amount takes the unit with it
        if head[-1] in _SCALES and opens_unit_led_word(head[-1] + tail):
            bare = _amount_or_none(head[:-1])
            if bare is not None:
                led.append(Reading(head[:-1], bare, f"{head[-1]}{progress}"))
    return (*led, *(Reading(head, amount, progress) for amount, (head, progress) in cuts.items()))


def _as_typed(progress: str, typed: str) -> str:
    """`progress` (a reading's words joined by one space) as it was typed at the end of `typed`: its line breaks
    kept, each line's runs of spaces and tabs one space. A progress text that is no end of the line (a reading
    that moved a number, "850 1200 桩基") is left as it is."""
    if not progress or not " ".join(typed.split()).endswith(progress):
        return progress
    left = sum(not c.isspace() for c in progress)
    start = len(typed)
    while left:
        start -= 1
        left -= not typed[start].isspace()
    return progress_as_stored(typed[start:])


def progress_as_stored(typed: str) -> str:
    """A progress text as it is stored, whichever way it was sent (the one-shot line, a photo's caption, the
    guided /report's step, /correct's): the lines it was typed on kept, each line's runs of spaces and tabs one
    space, no space at either end of a line, blank lines dropped. A tab (a cell pasted from a spreadsheet) is
    read later in the bulletins, the Word documents and the Excel ledger, where it shows as a jump or nothing."""
    lines = (" ".join(line.split()) for line in typed.splitlines())
    return "\n".join(line for line in lines if line)


def _after_name(rest: str, name: str | None) -> str:
    """`rest` without the project's `name` at its head, when the name stands there as a word of its own."""
    if not name:
        return rest
    head = rest.lstrip(_SEPARATORS + " \t\u3000")
    after = head[len(name):len(name) + 1]
    if head.startswith(name) and (after == "" or after.isspace() or after in _SEPARATORS):
        return head[len(name):].lstrip(_SEPARATORS)
    return rest


def parse_report_line(text: str, *, name: str | None = None) -> ReportLine | None:
    """Split "CODE AMOUNT PROGRESS…"; None when the first word is not a project code. `name`: the project's
    name, passed over when it follows the code (a pasted spreadsheet row)."""
    text = _CODE_COMMA.sub(r"\1 ", text.strip(), count=1)  # "ZD2026-001，850，桩基"
    parts = text.split(maxsplit=1)
    code = project_code(parts[0]) if parts else None
    if code is None:
        return None
    if len(parts) > 1:
        parts[1] = _after_name(parts[1], name)
    words = parts[1].split() if len(parts) > 1 else []
    if not words:
        return ReportLine(code=code, amount_text=None, progress="")
    readings = tuple(replace(r, progress=_as_typed(r.progress, parts[1]))
                     for r in split_amount(words) or glued_readings(words))
    if not readings:
        return ReportLine(code=code, amount_text=words[0], progress=" ".join(words[1:]))
    first = readings[0]
    return ReportLine(code=code, amount_text=first.amount_text, progress=first.progress, readings=readings)


# "1. 完成二层楼板", "2、推进招标": a numbered line of a list, not an amount.
_NUMBERED = re.compile(r"[0-9０-９]{1,2}[.．、)）](?![0-9０-９])")


def reads_as_report(text: str) -> bool:
    """Whether a text with no project code would be a report line once one is put before it: an amount with its
    unit ("850万") or an amount and words ("850 桩基完成", "1.2亿主体封顶"); a number alone ("2") is not."""
    words = text.split()
    if not words or _NUMBERED.match(words[0]):
        return False
    readings = split_amount(words) or glued_readings(words)
    return any(r.progress or _UNIT_WORD.search(r.amount_text) for r in readings)


def exceeds_remaining(amount: Decimal, remaining: Decimal) -> bool:
    """A period's amount larger than what is left of the project's total investment is absurd."""
    return amount > max(remaining, Decimal(0))
