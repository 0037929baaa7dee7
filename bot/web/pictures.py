"""What a page shows of a group of photos (a report's, a problem's, a node's evidence), one way for all three
(``_photos.html.j2``): thumbnails that open the photo, repeats of an earlier photo flagged (疑似重复照片),
kept photos without a thumbnail as a link, how many still wait for their download, and how many could not be
kept with the reason in Chinese (``bot.services.photo_reasons``; the channel's own words stay in the log). A
big album shows its first ALBUM_SHOWN thumbnails and a link to the next photo's page, where 上一张/下一张 go
through the rest."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from bot.services.photo_reasons import shown_reason

ALBUM_SHOWN = 12  # thumbnails shown of one report's, problem's or node's photos; the rest a link away


class Earlier(Protocol):
    """The earlier photo one repeats, as the page names it (``bot.services.photos.Duplicate``,
    ``storage.photo_repeats.Repeat``)."""

    @property
    def project_code(self) -> str | None: ...
    @property
    def local_day(self) -> date | None: ...
    @property
    def identical(self) -> bool: ...
    @property
    def together(self) -> bool: ...


@dataclass(frozen=True)
class Photo:
    """One photo of the group: its id, where it stands (kept / waiting / lost), whether it has a thumbnail,
    and the keeper's reason when it was given up."""

    id: int
    state: str
    has_thumbnail: bool = False
    fetch_reason: str | None = None


@dataclass(frozen=True)
class Pictures:
    """The photos as a page shows them."""

    base: str  # the routes' prefix: /web/photo, /web/problem-photo, /web/node-photo
    shown: tuple[int, ...] = ()  # kept, with a thumbnail
    plain: tuple[int, ...] = ()  # kept, but without a thumbnail (Pillow could not read them): a link
    waiting: int = 0  # not downloaded yet
    lost: tuple[tuple[str, int], ...] = ()  # given up: (the reason in Chinese, how many photos)
    repeats: tuple[tuple[int, Earlier], ...] = ()  # (photo id, the earlier photo it repeats), of those kept

    @property
    def thumbnails(self) -> tuple[int, ...]:
        """The photos shown as thumbnails: the first ALBUM_SHOWN (a big album would make the page huge)."""
        return self.shown[:ALBUM_SHOWN]

    @property
    def more(self) -> int:
        """How many kept photos are beyond the thumbnails (opened one by one from the first of them)."""
        return len(self.shown) - len(self.thumbnails)

    @property
    def count(self) -> int:
        return len(self.shown) + len(self.plain) + self.waiting + sum(n for _reason, n in self.lost)

    def repeat_of(self, photo_id: int) -> Earlier | None:
        return next((earlier for shown, earlier in self.repeats if shown == photo_id), None)


def pictures(base: str, photos: Iterable[Photo], repeats: Mapping[int, Earlier] | None = None) -> Pictures:
    """The photos (in the order they were sent) as a page shows them."""
    photos = list(photos)
    lost: dict[str, int] = {}
    for photo in photos:
        if photo.state == "lost":
            reason = shown_reason(photo.fetch_reason)
            lost[reason] = lost.get(reason, 0) + 1
    kept = [p for p in photos if p.state == "kept"]
    return Pictures(
        base=base, shown=tuple(p.id for p in kept if p.has_thumbnail),
        plain=tuple(p.id for p in kept if not p.has_thumbnail),
        waiting=sum(p.state == "waiting" for p in photos), lost=tuple(lost.items()),
        repeats=tuple((p.id, repeats[p.id]) for p in kept if repeats and p.id in repeats))
