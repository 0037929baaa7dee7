"""When two photos are the same picture, and the band search that finds them (bot.domain.photo_match)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.photo_match import (
    BAND_WIDTHS,
    BANDS,
    DUPLICATE_DISTANCE,
    HASH_BITS,
    Sighting,
    bands,
    distance,
    first_repeated,
    hash_from_text,
    hash_to_text,
    repeats,
)

hashes = st.integers(min_value=0, max_value=2**HASH_BITS - 1)
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
DAY = date(2026, 11, 20)


def sighting(photo_id: int, project_id: int = 1, day: date = DAY, *, minutes: int = 0, phash: int = 0,
             kind: str = "report", sent_with: int | None = None) -> Sighting:
    return Sighting(photo_id=photo_id, project_id=project_id, local_day=day,
                    reported_at=T0 + timedelta(minutes=minutes), phash=phash, kind=kind, sent_with=sent_with)


@given(hashes, st.sets(st.integers(min_value=0, max_value=HASH_BITS - 1), max_size=DUPLICATE_DISTANCE))
def test_hashes_this_close_always_share_a_band(value: int, flipped: set[int]) -> None:
    other = value
    for bit in flipped:
        other ^= 1 << bit
    assert distance(value, other) == len(flipped) <= DUPLICATE_DISTANCE
    assert any(a == b for a, b in zip(bands(value), bands(other), strict=True))


@given(hashes)
def test_bands_cover_the_hash_exactly_and_hex_round_trips(value: int) -> None:
    assert len(bands(value)) == BANDS and sum(BAND_WIDTHS) == HASH_BITS
    rebuilt, shift = 0, 0
    for part, width in zip(bands(value), BAND_WIDTHS, strict=True):
        assert part < 2**width
        rebuilt |= part << shift
        shift += width
    assert rebuilt == value
    assert len(hash_to_text(value)) == 16 and hash_from_text(hash_to_text(value)) == value


def test_a_repeat_is_the_same_picture_sent_later_for_another_project_or_day() -> None:
    first = sighting(1, phash=0b1011)
    near = 0b1011 ^ 0b1111  # 4 bits off: still the same picture
    assert repeats(sighting(2, project_id=2, minutes=5, phash=near), first)
    assert repeats(sighting(2, day=DAY + timedelta(days=1), minutes=5, phash=0b1011), first)
    assert not repeats(sighting(2, minutes=5, phash=0b1011), first)  # same project, same day: a replacement
    assert not repeats(sighting(2, project_id=2, minutes=5, phash=near ^ 1 << 40), first)  # 5 bits: another one
    assert not repeats(first, sighting(2, project_id=2, minutes=5, phash=0b1011))  # the earlier is no repeat
    assert not repeats(first, first)


def test_the_same_picture_twice_in_one_sending_is_a_repeat_of_its_first() -> None:
    """Three identical photos in one report: the second and third repeat the first (padding a report), while
    the same picture in another report of that project and day (a correction) does not, nor a problem's photo
    of the same id (another kind)."""
    one, two, three = (sighting(n, sent_with=7, phash=5) for n in (10, 11, 12))
    assert repeats(two, one) and repeats(three, one) and repeats(three, two)
    assert not repeats(one, two) and not repeats(one, one)
    assert first_repeated(three, [three, two, one]) == one
    assert first_repeated(one, [one, two, three]) is None
    assert not repeats(sighting(20, minutes=5, sent_with=8, phash=5), one)  # another report: a correction
    assert not repeats(sighting(11, minutes=5, sent_with=7, phash=5, kind="problem"), one)
    assert not repeats(sighting(11, phash=5), sighting(10, phash=5))  # what each was sent with is not known
    assert repeats(sighting(31, kind="node", sent_with=3, phash=5), sighting(30, kind="node", sent_with=3, phash=5))


def test_the_earliest_repeated_photo_is_named() -> None:
    later = sighting(9, project_id=3, minutes=60, phash=7)
    candidates = [sighting(4, project_id=2, minutes=30, phash=7), sighting(2, project_id=1, minutes=10, phash=6),
                  sighting(3, project_id=3, minutes=60, phash=7),
                  sighting(1, project_id=1, minutes=10, phash=2**64 - 1)]
    found = first_repeated(later, candidates)
    assert found is not None and found.photo_id == 2
    assert first_repeated(later, candidates[2:]) is None
