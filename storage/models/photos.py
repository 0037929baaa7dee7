"""Photos: those sent with reports, problems and milestone nodes, and their bytes in the photo store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UTCDateTime

REASON_LENGTH = 20  # a code of bot.services.photo_reasons


class KeptPhoto:
    """What every kind of photo holds to be kept (``storage.photos``), a mixin of the three photo tables: the
    channel and its file id, and once downloaded the sha256 of its bytes in the photo store (a row of
    ``photo_blobs``) and when. Until then ``fetch_after`` says when to try (again); a photo given up on has
    neither, and ``fetch_reason`` says why: a code (``bot.services.photo_reasons``), worded by the pages."""

    channel: Mapped[str] = mapped_column(String(20))
    file_id: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str | None] = mapped_column(ForeignKey("photo_blobs.sha256"), index=True)
    kept_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fetch_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    fetch_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    fetch_reason: Mapped[str | None] = mapped_column(String(REASON_LENGTH))


class ReportPhoto(KeptPhoto, Base):
    """A site photo attached to a report, kept as every photo is (:class:`KeptPhoto`). The earlier photo (of
    another project or day) this one repeats (疑似重复照片, ``bot.domain.photo_match``), if any, is a photo of
    one kind: a report's (``duplicate_of_id``), a problem's or a node's evidence; at most one of the three is
    set, with ``duplicate_distance``."""

    __tablename__ = "report_photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("report_photos.id", ondelete="SET NULL"))
    duplicate_of_problem_photo_id: Mapped[int | None] = mapped_column(
        ForeignKey("problem_photos.id", ondelete="SET NULL")
    )
    duplicate_of_node_photo_id: Mapped[int | None] = mapped_column(ForeignKey("node_photos.id", ondelete="SET NULL"))
    duplicate_distance: Mapped[int | None] = mapped_column(Integer)


class ProblemPhoto(KeptPhoto, Base):
    """A photo attached to a problem when it was raised, kept as every photo is (:class:`KeptPhoto`)."""

    __tablename__ = "problem_photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"), index=True)


class NodePhoto(KeptPhoto, Base):
    """A photo sent as evidence that a node was done (when: ``created_at``; with which of the node's sendings:
    ``sending``, the node's ``sendings`` when it was marked done, so that two sendings of one instant stay two),
    kept as every photo is (:class:`KeptPhoto`)."""

    __tablename__ = "node_photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("project_nodes.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sending: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class PhotoBlob(Base):
    """A photo's bytes in the photo store (``bot.services.photo_store``), once per sha256: their type and
    size, the picture's size, its perceptual hash (hex) cut into indexed bands for the near-duplicate search
    (``bot.domain.photo_match``), and whether a thumbnail was made. Pictures Pillow cannot read have no
    hash and no thumbnail."""

    __tablename__ = "photo_blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(50))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    phash: Mapped[str | None] = mapped_column(String(16))
    band0: Mapped[int | None] = mapped_column(Integer, index=True)
    band1: Mapped[int | None] = mapped_column(Integer, index=True)
    band2: Mapped[int | None] = mapped_column(Integer, index=True)
    band3: Mapped[int | None] = mapped_column(Integer, index=True)
    band4: Mapped[int | None] = mapped_column(Integer, index=True)
    has_thumbnail: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlbumWait(Base):
    """An album whose parts came without its caption (``bot.domain.albums``), as long as the bot remembers it:
    its photos are held for the caption, and the sender is told once that they were not saved if it does not
    come. ``state``: ``waiting`` (the notice is in the outbox, due at ``notice_due``), ``told`` (it went out:
    never again) or ``joined`` (the caption came). Kept in the database so that a restart neither sends the
    notice before a caption still queued behind the backlog nor sends it twice (``bot.services.album_waits``)."""

    __tablename__ = "album_waits"
    __table_args__ = (UniqueConstraint("channel", "chat_id", "user_id", "album"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[str] = mapped_column(String(100))
    album: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(10), index=True)
    parts: Mapped[int] = mapped_column(Integer)  # the photos held for the caption
    busy: Mapped[bool] = mapped_column(Boolean, default=False)  # sent during a flow that takes no photos
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when the bot handled the last part
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when the user sent it, if known
    notice_due: Mapped[datetime] = mapped_column(UTCDateTime())
