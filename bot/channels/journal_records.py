"""The records of a channel's journal (``bot.channels.inbox``): a message answered ("answered", with its sender,
when and fields), how far its replies went ("sent") and that it is done, each one JSON line; what a journal's bytes
hold not done (``outstanding``), and what the journals of a folder hold, read without taking any over (``open_in``:
what a backup keeps). A message two journals hold is kept as the first answered, its replies gone furthest."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.channels.base import Progress

log = logging.getLogger(__name__)

SUFFIX = ".jsonl"
# the folders of DATA_DIR holding each channel's journals, by channel
FOLDERS = {"wecom": "wecom-inbox", "telegram": "telegram-inbox"}


@dataclass(frozen=True)
class Answered:
    """A message the callback answered: its key (``incoming.dedupe_key``), sender, when (epoch seconds) and
    fields, and how far its replies went out before (``sent``)."""

    key: str
    userid: str
    at: float
    fields: dict[str, str]
    sent: Progress = field(default_factory=Progress)
    # put back by ``diaodu restore``, not left by a process that died with it in hand: the replies kept with it, if
    # the restored database holds it handled, are not sent again (they went out, or not, when the backup was made)
    restored: bool = False


def record_line(record: dict[str, Any]) -> bytes:
    """One record, as the journal's line."""
    return (json.dumps(record, separators=(",", ":")) + "\n").encode()


def sent_line(key: str, sent: Progress) -> bytes:
    """The line saying how far the replies to message ``key`` went."""
    return record_line({"s": key, "r": sent.replies, "p": sent.parts})


def journal_lines(messages: Iterable[Answered], *, restored: bool = False) -> bytes:
    """The lines of a journal saying that ``messages`` were answered (and are not done), and how far their
    replies went; ``restored``: put back by ``diaodu restore`` (``Answered.restored``)."""
    mark = {"restored": 1} if restored else {}
    return b"".join(record_line({"k": a.key, "u": a.userid, "t": a.at, "f": a.fields, **mark})
                    + (sent_line(a.key, a.sent) if a.sent != Progress() else b"") for a in messages)


def furthest(first: Answered, other: Answered) -> Answered:
    """One message two journals hold (a process killed while it took a journal over leaves it in both): as the
    first one answered, with the replies gone furthest of the two; marked restored only when both are (one a process
    died with in hand may have had its replies cut off)."""
    sent = max(first.sent, other.sent, key=lambda p: (p.replies, p.parts))
    return replace(first, at=min(first.at, other.at), sent=sent, restored=first.restored and other.restored)


def gather(found: dict[str, Answered], answered: Answered) -> None:
    """Add a message read from a journal to those ``found`` in others (``furthest`` of the two when both hold it)."""
    found[answered.key] = furthest(found[answered.key], answered) if answered.key in found else answered


def outstanding(data: bytes) -> list[Answered]:
    """The messages a journal's bytes hold answered and not done, in the order they were written."""
    answered: dict[str, Answered] = {}
    for raw in data.splitlines():
        try:
            record = json.loads(raw)
            if "d" in record:
                answered.pop(str(record["d"]), None)
            elif "s" in record:
                key = str(record["s"])
                if key in answered:
                    answered[key] = replace(answered[key], sent=Progress(int(record["r"]), int(record["p"])))
            else:
                key = str(record["k"])
                answered.setdefault(key, Answered(key, str(record["u"]), float(record["t"]),
                                                  {str(k): str(v) for k, v in dict(record["f"]).items()},
                                                  restored=bool(record.get("restored"))))
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("inbox: a line that does not read skipped (%d bytes)", len(raw))
    return list(answered.values())


def open_in(folder: Path) -> list[Answered]:
    """What the journals of ``folder`` hold answered and not done, in the order answered, read without taking any
    over (those of running processes too): what a backup keeps."""
    found: dict[str, Answered] = {}
    for path in sorted(Path(folder).glob("*" + SUFFIX)):
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # handled and deleted meanwhile, or taken over
            continue
        for answered in outstanding(data):
            gather(found, answered)
    return sorted(found.values(), key=lambda a: a.at)
