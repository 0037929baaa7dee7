"""The album rules (bot.domain.albums): what becomes of a part without the caption, when the bot stops waiting for
the caption, how long an album is remembered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.albums import (
    ALBUM_MEMORY,
    ALBUM_WAIT,
    ANSWER_WAIT,
    BEHIND_MAX,
    RUN_WAIT,
    Album,
    PartFate,
    answer_due,
    answered_already,
    fate_of_part,
    in_a_run,
    recent,
    resumed_due,
    unexplained_due,
)

AT = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
WAITING = Album(seen_at=AT, held=("p1",))
CAPTIONED = Album(seen_at=AT, captioned=True)
REPORTED = Album(seen_at=AT, captioned=True, report_id=7, code="ZD2026-001")
NODE_DONE = Album(seen_at=AT, captioned=True, node_id=3)
IN_FLOW = Album(seen_at=AT, in_flow=True, sent_at=AT - timedelta(seconds=1), answer=("album-answer:k:0",))


@pytest.mark.parametrize(("album", "in_flow", "fate"), [
    (None, False, PartFate.HOLD),  # the first part seen: wait for the caption
    (None, True, PartFate.TO_FLOW),  # an album sent within a guided flow: the flow takes its photos
    (WAITING, False, PartFate.HOLD),
    (WAITING, True, PartFate.HOLD),  # its caption has not come yet, whatever the user does meanwhile
    (CAPTIONED, True, PartFate.TO_FLOW),  # the caption started a flow (or asked which reading…)
    (CAPTIONED, False, PartFate.ANSWERED),  # the caption was answered and left nothing waiting
    (REPORTED, False, PartFate.JOIN_REPORT),
    (REPORTED, True, PartFate.JOIN_REPORT),  # even while another flow is under way
    (IN_FLOW, True, PartFate.TO_FLOW),  # its first parts went to the flow: so do the others
    (IN_FLOW, False, PartFate.HOLD),  # the flow ended between two parts: this one waits for a caption
    (NODE_DONE, False, PartFate.JOIN_NODE),  # 完成 was pressed between two parts: the node takes the rest
    (NODE_DONE, True, PartFate.JOIN_NODE),
])
def test_the_fate_of_a_part_without_the_caption(album: Album | None, in_flow: bool, fate: PartFate) -> None:
    assert fate_of_part(album, in_flow=in_flow) is fate


def test_the_wait_for_the_caption_counts_from_the_last_part() -> None:
    assert unexplained_due(WAITING) == AT + ALBUM_WAIT
    later = Album(seen_at=AT + timedelta(seconds=4), held=("p1", "p2"))
    assert unexplained_due(later) == AT + timedelta(seconds=4) + ALBUM_WAIT


def test_a_bot_behind_waits_as_long_again_for_the_caption() -> None:
    """The part was sent 20 s before the bot handled it: its captioned part, sent with it, may be queued as far
    back, so the notice waits 20 s more. A part's own time after the bot's clock, or absurdly old, changes
    little."""
    behind = Album(seen_at=AT, held=("p1",), sent_at=AT - timedelta(seconds=20))
    assert unexplained_due(behind) == AT + ALBUM_WAIT + timedelta(seconds=20)
    assert unexplained_due(Album(seen_at=AT, held=("p1",), sent_at=AT + timedelta(seconds=3))) == AT + ALBUM_WAIT
    ancient = Album(seen_at=AT, held=("p1",), sent_at=AT - timedelta(days=3))
    assert unexplained_due(ancient) == AT + ALBUM_WAIT + BEHIND_MAX
    assert answer_due(behind) == AT + ANSWER_WAIT  # the parts come one after the other, however late


def test_someone_not_bound_is_answered_once_per_album_or_run_of_photos() -> None:
    assert not answered_already(None, AT, loose=False)  # the first part of an album
    assert answered_already(CAPTIONED, AT + timedelta(hours=1), loose=False)  # any later part
    assert not answered_already(None, AT, loose=True)  # a photo sent alone
    assert answered_already(CAPTIONED, AT + ALBUM_WAIT, loose=True)  # the next one soon after
    assert not answered_already(CAPTIONED, AT + ALBUM_WAIT + timedelta(seconds=1), loose=True)  # a while later


def test_albums_are_forgotten_a_while_after_their_last_part() -> None:
    old = Album(seen_at=AT - ALBUM_MEMORY - timedelta(seconds=1))
    kept = recent({"1": old, "2": REPORTED}, AT)
    assert kept == {"2": REPORTED}
    assert recent({"1": Album(seen_at=AT - ALBUM_MEMORY)}, AT) != {}


@pytest.mark.parametrize("album", [WAITING, CAPTIONED, REPORTED, IN_FLOW, NODE_DONE])
def test_an_album_reads_back_as_it_was_kept(album: Album) -> None:
    assert Album.from_state(album.as_state()) == album


def test_after_a_restart_the_notice_waits_as_long_again_as_the_bot_is_behind_the_album() -> None:
    """The bot handled the last part at AT and stopped; it handles messages again 5 minutes later: the caption,
    sent with that part, may be queued since then. Never sooner than due, never more than BEHIND_MAX more."""
    due = AT + ALBUM_WAIT
    back = AT + timedelta(minutes=5)
    sent = AT - timedelta(seconds=1)
    assert resumed_due(due, seen_at=AT, sent_at=sent, now=back) == back + ALBUM_WAIT + (back - sent)
    assert resumed_due(due, seen_at=AT, sent_at=None, now=back) == back + ALBUM_WAIT + timedelta(minutes=5)
    assert resumed_due(due, seen_at=AT, sent_at=sent, now=AT + timedelta(days=2)) == (
        AT + timedelta(days=2) + ALBUM_WAIT + BEHIND_MAX)
    later = AT + timedelta(hours=1)  # put off already, further than the restart asks
    assert resumed_due(later, seen_at=AT, sent_at=sent, now=AT + timedelta(seconds=2)) == later


def test_a_run_is_of_pictures_without_words_from_a_channel_without_albums() -> None:
    assert in_a_run("wecom", album="", photos=1, text="")
    assert not in_a_run("wecom", album="", photos=1, text="ZD2026-001 850 桩基")
    assert not in_a_run("wecom", album="", photos=0, text="850")
    assert not in_a_run("telegram", album="", photos=1, text="")  # Telegram groups pictures in albums
    assert not in_a_run("telegram", album="12", photos=1, text="")
    assert answer_due(IN_FLOW, run=True) == AT + RUN_WAIT > answer_due(IN_FLOW)
