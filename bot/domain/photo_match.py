"""When two site photos count as the same picture (疑似重复照片), and how similar hashes are found fast.

A photo's perceptual hash is a 64-bit difference hash (dHash, made by ``bot.services.photo_images``): the
same picture re-encoded, rescaled or lightly recompressed keeps (nearly) the same bits, while two different
pictures differ in about half of them. Two photos are the same picture when their hashes differ in at most
``DUPLICATE_DISTANCE`` bits.

To find the earlier photos near a new one without comparing against every photo ever kept, the hash is cut
into ``BANDS`` bands of 12 or 13 bits, each stored in an indexed column: two hashes at most ``DUPLICATE_DISTANCE``
(< ``BANDS``) bits apart agree in at least one whole band (pigeonhole), so the candidates are the photos that
share a band, checked exactly afterwards.

A photo is a suspected duplicate (疑似重复) when the same picture was sent before for another project or on
another day, or sent before with it (twice in one report, one problem, one node's evidence: the cheapest way
to pad a report): sending the same photo again for the same project on the same day in another sending (a
replaced or corrected report, a problem raised with the photo of that day's report) is not. The rule is one
for every kind of photo (a report's, a problem's, a node's evidence): a sighting names its kind and what it
was sent with.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import date, datetime

HASH_BITS = 64
# Measured (tests/photos/test_photo_images.py): the same picture rescaled to half and saved again as a JPEG
# of quality 40 moves 0-3 bits; different pictures are 15 or more apart.
DUPLICATE_DISTANCE = 4
BANDS = DUPLICATE_DISTANCE + 1  # so the band search finds every pair this close
BAND_WIDTHS = tuple(HASH_BITS // BANDS + (1 if n < HASH_BITS % BANDS else 0) for n in range(BANDS))


def distance(a: int, b: int) -> int:
    """How many bits of two hashes differ (the Hamming distance)."""
    return (a ^ b).bit_count()


def bands(value: int) -> tuple[int, ...]:
    """The hash cut into ``BANDS`` numbers of ``BAND_WIDTHS`` bits, lowest bits first."""
    out, shift = [], 0
    for width in BAND_WIDTHS:
        out.append((value >> shift) & ((1 << width) - 1))
        shift += width
    return tuple(out)


def hash_to_text(value: int) -> str:
    """The hash as 16 hexadecimal digits (how it is stored and shown)."""
    return f"{value:016x}"


def hash_from_text(text: str) -> int:
    return int(text, 16)


@dataclass(frozen=True)
class Sighting:
    """One time a picture was sent: which photo (of which kind: report, problem, node), of which project
    (None: a problem of no project, e.g. a meeting decision) and day, when, and with what (``sent_with``: what
    names its sending, by its kind: its report's or problem's id; for a node's evidence, the node and the
    number of its sending, since a node done, reopened and done again has several, perhaps in one second; None:
    not known)."""

    photo_id: int
    project_id: int | None
    local_day: date
    reported_at: datetime
    phash: int
    kind: str = "report"
    sent_with: Hashable | None = None

    @property
    def key(self) -> tuple[str, int]:
        return self.kind, self.photo_id

    def sent_together(self, other: Sighting) -> bool:
        """Whether both came in the same sending (with one report, one problem, one node's evidence at once)."""
        return self.kind == other.kind and self.sent_with is not None and self.sent_with == other.sent_with

    def before(self, other: Sighting) -> bool:
        """Whether this one was sent first (the earlier, ties broken by the photo's kind and id)."""
        return (self.reported_at, self.kind, self.photo_id) < (other.reported_at, other.kind, other.photo_id)


def same_picture(a: Sighting, b: Sighting) -> bool:
    return distance(a.phash, b.phash) <= DUPLICATE_DISTANCE


def repeats(later: Sighting, earlier: Sighting) -> bool:
    """Whether `later` repeats `earlier`: the same picture, sent after it, for another project or day, or
    with it (the photos of one report are sent at once: the first of them is the earlier)."""
    return (earlier.key != later.key and earlier.before(later) and same_picture(later, earlier)
            and (earlier.project_id != later.project_id or earlier.local_day != later.local_day
                 or earlier.sent_together(later)))


def first_repeated(later: Sighting, candidates: list[Sighting]) -> Sighting | None:
    """The earliest of `candidates` that `later` repeats, if any."""
    earlier = [c for c in candidates if repeats(later, c)]
    return min(earlier, key=lambda s: (s.reported_at, s.kind, s.photo_id)) if earlier else None
