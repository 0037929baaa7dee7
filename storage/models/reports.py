"""Progress reports and the running sums kept of them (by triggers, on both backends)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, event, false
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base
from storage.models.photos import ReportPhoto
from storage.report_sums import create_triggers
from storage.types import UTCDateTime, Wan

# The partial covering index of live reports by project and day (see Report); SQLite's planner needs it named.
STANDINGS_INDEX = "ix_reports_standings"
# Reports by day (see Report): named as it was when it indexed the day alone, which it replaces.
DAY_INDEX = "ix_reports_local_day"


class Report(Base):
    """One progress report (进度填报) by a liaison on a project: at most one counts per project and local day.

    A report stops counting when it is withdrawn (/undo) or replaced by a later report of the same day
    (then `withdrawn_at` is set and the replacing report names it in `replaces_id`): both are kept.
    """

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_project_day", "project_id", "local_day"),
        # Reports by day, with the project, whether withdrawn and whether a 补报: covers the queries over a range
        # of days that read only those (填报情况's day masks, the window's reported days), read without the table.
        Index(DAY_INDEX, "local_day", "project_id", "withdrawn_at", "backfill"),
        # Covers the bulletins' aggregate (per project: year-to-date sum and latest report), read in
        # project order without touching the table. storage/report_figures.py names it on SQLite (INDEXED BY).
        Index(
            STANDINGS_INDEX,
            "project_id",
            "local_day",
            "amount",
            "created_at",
            "backfill",  # the 连续未填报 streaks' latest report of the liaison (storage.digest_queries)
            sqlite_where=sql_text("withdrawn_at IS NULL"),
            postgresql_where=sql_text("withdrawn_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    local_day: Mapped[date] = mapped_column(Date)  # indexed with the project and withdrawn_at (DAY_INDEX)
    amount: Mapped[Decimal] = mapped_column(Wan())
    progress_text: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # stopped counting (see above)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"))  # the same day's report it replaced
    # 补报: entered by the 项目办 after its day (storage.backfills), and every version correcting it. It counts in
    # the money like any report, not as the liaison's report (storage.reports.reported_by_liaison).
    backfill: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    photos: Mapped[list[ReportPhoto]] = relationship(lazy="selectin", cascade="all, delete-orphan")


class ReportSum(Base):
    """The sum of a project's live (not withdrawn) reports of one calendar year; kept by the database
    itself (storage.report_sums), never written by the program."""

    __tablename__ = "report_sums"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Wan())


def _create_report_sum_triggers(_metadata: Any, connection: Any, **_kw: Any) -> None:
    for statement in create_triggers(connection.dialect.name):
        connection.exec_driver_sql(statement)


event.listen(Base.metadata, "after_create", _create_report_sum_triggers)
