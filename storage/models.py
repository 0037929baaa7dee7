"""SQLAlchemy models: the project ledger, people and their chat accounts, reports and the audit trail."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event, func
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.domain.problem_numbers import problem_number
from storage.report_sums import create_triggers
from storage.types import UTCDateTime, Wan


class Base(DeclarativeBase):
    """Declarative base of every table."""


class Unit(Base):
    """A department or town government that can lead or support projects and answer problems."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Person(Base):
    """Someone on the roster; may hold several roles and several chat accounts."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    title: Mapped[str | None] = mapped_column(String(100))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    unit: Mapped[Unit | None] = relationship(lazy="joined")
    roles: Mapped[list[PersonRole]] = relationship(lazy="selectin", cascade="all, delete-orphan")

    @property
    def role_names(self) -> set[str]:
        return {r.role for r in self.roles}


class PersonRole(Base):
    """One role a person holds: liaison, unit, lead, top or admin."""

    __tablename__ = "person_roles"
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class Project(Base):
    """A key project (重点项目) as kept in the ledger."""

    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(50))
    level: Mapped[str | None] = mapped_column(String(20))
    location: Mapped[str | None] = mapped_column(String(100), index=True)
    owner: Mapped[str | None] = mapped_column(String(200))
    total_investment: Mapped[Decimal] = mapped_column(Wan())
    # The plan last written (by the ledger import or /project_set); each year's own plan is in
    # `annual_plans`, and the figures read the plan of their year (storage.annual_plans.plan_of_year).
    annual_plan: Mapped[Decimal] = mapped_column(Wan())
    done_before: Mapped[Decimal] = mapped_column(Wan())
    baseline_year: Mapped[int] = mapped_column(Integer)
    # The day up to which `done_before` counts (截至某日): reports dated after it add to it. None for a baseline
    # imported before baselines were dated (it then covers no report of its year).
    baseline_date: Mapped[date | None] = mapped_column(Date)
    stage: Mapped[str] = mapped_column(String(10))
    planned_start: Mapped[date | None] = mapped_column(Date)
    planned_finish: Mapped[date | None] = mapped_column(Date)
    lead_official_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    lead_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    liaison_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    lead_official: Mapped[Person | None] = relationship(foreign_keys=[lead_official_id], lazy="joined")
    liaison: Mapped[Person | None] = relationship(foreign_keys=[liaison_id], lazy="joined")
    lead_unit: Mapped[Unit] = relationship(lazy="joined")
    supporting: Mapped[list[ProjectSupportingUnit]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="ProjectSupportingUnit.position"
    )


class ProjectSupportingUnit(Base):
    """A supporting unit (配合单位) of a project, in ledger order."""

    __tablename__ = "project_supporting_units"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    unit: Mapped[Unit] = relationship(lazy="joined")


class ChatAccount(Base):
    """A chat identity (Telegram user, WeCom userid) bound to a person."""

    __tablename__ = "chat_accounts"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(100))
    chat_id: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# WeCom userids match whatever their case (storage.people.same_id compares lower(external_id)): this index serves
# those lookups on both backends. Not unique: the rule stays one account per id as spelled (the constraint above).
FOLDED_ID_INDEX = Index("ix_chat_accounts_channel_folded_id", ChatAccount.channel, func.lower(ChatAccount.external_id))


class Invite(Base):
    """A single-use invite code (only its hash is kept) that binds a chat account to a person."""

    __tablename__ = "invites"
    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("chat_accounts.id"))
    created_by: Mapped[str] = mapped_column(String(100))


# The partial covering index of live reports by project and day (see Report); SQLite's planner needs it named.
STANDINGS_INDEX = "ix_reports_standings"


class Report(Base):
    """One progress report (进度填报) by a liaison on a project: at most one counts per project and local day.

    A report stops counting when it is withdrawn (/undo) or replaced by a later report of the same day
    (then `withdrawn_at` is set and the replacing report names it in `replaces_id`): both are kept.
    """

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_project_day", "project_id", "local_day"),
        # Covers the bulletins' aggregate (per project: year-to-date sum and latest report), read in
        # project order without touching the table. storage/report_figures.py names it on SQLite (INDEXED BY).
        Index(STANDINGS_INDEX, "project_id", "local_day", "amount", "created_at",
              sqlite_where=sql_text("withdrawn_at IS NULL"),
              postgresql_where=sql_text("withdrawn_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    local_day: Mapped[date] = mapped_column(Date, index=True)
    amount: Mapped[Decimal] = mapped_column(Wan())
    progress_text: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # stopped counting (see above)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"))  # the same day's report it replaced
    photos: Mapped[list[ReportPhoto]] = relationship(lazy="selectin", cascade="all, delete-orphan")


class AnnualPlan(Base):
    """A project's annual planned investment (年度计划投资) for one calendar year: every year keeps its own
    plan, set by the ledger import of that year or by /project_set (storage.annual_plans)."""

    __tablename__ = "annual_plans"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Wan())
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerBase(Base):
    """A project's ledger base (截至某日累计完成) for one calendar year: the year's completed investment up to
    ``baseline_date`` as that year's ledger gave it. Every year keeps its own, set by the ledger import of
    that year (storage.ledger_bases)."""

    __tablename__ = "ledger_bases"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    done_before: Mapped[Decimal] = mapped_column(Wan())
    baseline_date: Mapped[date | None] = mapped_column(Date)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProcessedMessage(Base):
    """A chat message (Telegram message or button press, WeCom MsgId) whose changes are stored: written in
    the same transaction as them, so that the same message delivered again is never handled twice."""

    __tablename__ = "processed_messages"
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


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


class ReportPhoto(Base):
    """A site photo attached to a report: the channel's file id, and once downloaded (``storage.photos``) the
    sha256 of its bytes in the photo store. Until then ``fetch_after`` says when to try (again); a photo
    given up on has neither, and ``fetch_error`` says why. The earlier photo (of another project or day) this
    one repeats (疑似重复照片, ``bot.domain.photo_match``), if any, is a photo of one kind: a report's
    (``duplicate_of_id``), a problem's or a node's evidence; at most one of the three is set, with
    ``duplicate_distance``."""

    __tablename__ = "report_photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    file_id: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str | None] = mapped_column(ForeignKey("photo_blobs.sha256"), index=True)
    kept_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fetch_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    fetch_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    fetch_error: Mapped[str | None] = mapped_column(String(300))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("report_photos.id", ondelete="SET NULL"))
    duplicate_of_problem_photo_id: Mapped[int | None] = mapped_column(
        ForeignKey("problem_photos.id", ondelete="SET NULL"))
    duplicate_of_node_photo_id: Mapped[int | None] = mapped_column(ForeignKey("node_photos.id", ondelete="SET NULL"))
    duplicate_distance: Mapped[int | None] = mapped_column(Integer)


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


class AuditEntry(Base):
    """Who changed what, when and from which channel."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    actor: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(50))
    object_type: Mapped[str] = mapped_column(String(30))
    object_key: Mapped[str] = mapped_column(String(100), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Conversation(Base):
    """The state of a guided flow (e.g. /report step by step) for one user in one chat."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "chat_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[str] = mapped_column(String(100))
    flow: Mapped[str] = mapped_column(String(30))
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SharedMark(Base):
    """A short-lived fact every process of a deployment shares, until ``expires_at``: a WeCom message seen
    (de-duplication), the numbered choices last shown to a WeCom user, a slot of a rate window.

    See ``storage.shared``.
    """

    __tablename__ = "shared_marks"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Problem(Base):
    """A problem (问题) raised on a project, assigned to a unit, with deadlines and an escalation level.

    `kind` "decision" is a decision of a dispatch meeting (议定事项): followed like a problem, but it has
    no project (`project_id` None) and skips level 1 (see bot.domain.escalation).
    """

    __tablename__ = "problems"
    __table_args__ = (Index("ix_problems_next_check", "next_check_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="problem")
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    category: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    level: Mapped[int] = mapped_column(Integer, default=0)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    level_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    nudged: Mapped[list[str]] = mapped_column(JSON, default=list)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answer_text: Mapped[str | None] = mapped_column(Text)
    promised_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    project: Mapped[Project | None] = relationship(lazy="joined")
    unit: Mapped[Unit] = relationship(lazy="joined")
    raised_by: Mapped[Person] = relationship(lazy="joined", foreign_keys=[raised_by_id])
    photos: Mapped[list[ProblemPhoto]] = relationship(lazy="selectin", cascade="all, delete-orphan")

    @property
    def number(self) -> str:
        return problem_number(self.id)


class ProblemPhoto(Base):
    """A photo attached to a problem when it was raised: the channel's file id, and once downloaded (kept for
    good like a report photo, ``storage.photos``) the sha256 of its bytes in the photo store; until then
    ``fetch_after`` says when to try (again), and a photo given up on keeps the reason in ``fetch_error``."""

    __tablename__ = "problem_photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    file_id: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str | None] = mapped_column(ForeignKey("photo_blobs.sha256"), index=True)
    kept_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fetch_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    fetch_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    fetch_error: Mapped[str | None] = mapped_column(String(300))


class ProblemEvent(Base):
    """One step in a problem's history: raised, accepted, answered, escalated, 批示, resolved, closed…"""

    __tablename__ = "problem_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(30))
    level: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[Person | None] = relationship(lazy="joined")


class CalendarOverride(Base):
    """An admin-entered official day: a holiday (off) or a 调休 working day, winning over the library."""

    __tablename__ = "calendar_overrides"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(50), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))


class Setting(Base):
    """An admin-changeable setting (deadlines, schedules…) stored as JSON under a dotted key."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(100))


class OutboxMessage(Base):
    """A notice to deliver, written in the same transaction as the change that caused it.

    States: pending → sending → sent | failed (gave up after N tries) | undeliverable (no usable chat
    account) | in_doubt (a send interrupted by a crash: it may have arrived, so only a person sends it
    again); see ``storage.outbox``. ``send_started_at``: when the last claim began the send (None while pending).
    ``parts_sent``: how many of the messages the notice becomes (a long text is several) reached the chat
    in tries that failed part-way; the next try sends only the rest.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[str | None] = mapped_column(String(20))
    chat_id: Mapped[str | None] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    send_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    parts_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class BulletinGroup(Base):
    """A chat that receives bulletins (a leadership group chat, a WeCom group robot)."""

    __tablename__ = "bulletin_groups"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))


class Bulletin(Base):
    """A produced bulletin, keyed by (kind, period): the key makes it happen at most once, anywhere."""

    __tablename__ = "bulletins"
    __table_args__ = (UniqueConstraint("kind", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(20))
    produced_at: Mapped[datetime] = mapped_column(UTCDateTime())
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class HalfMonthReport(Base):
    """A liaison's half-monthly written report (半月报) on a project: 进展情况, 存在问题, 下一步措施. One per
    project and half-month (named by its first day); sending it again replaces the texts, and who sent it
    and when are kept."""

    __tablename__ = "halfmonth_reports"
    __table_args__ = (UniqueConstraint("project_id", "period_start"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    period_start: Mapped[date] = mapped_column(Date, index=True)
    progress: Mapped[str] = mapped_column(Text)
    problems: Mapped[str] = mapped_column(Text)
    next_steps: Mapped[str] = mapped_column(Text)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    channel: Mapped[str] = mapped_column(String(20))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StageEvent(Base):
    """开工 or 竣工 of a project on a day (bot.domain.stage_events): reported by its liaison and confirmed or
    refused by its lead unit, or entered by an admin (confirmed at once). Kept when refused."""

    __tablename__ = "stage_events"
    __table_args__ = (Index("ix_stage_events_project_kind", "project_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    day: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10))
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProjectApproval(Base):
    """One item of a project's 前期手续 checklist (立项, 环评…): pending or done, and on which day."""

    __tablename__ = "project_approvals"
    __table_args__ = (UniqueConstraint("project_id", "item"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))  # pending | done
    done_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(100))


class WebLink(Base):
    """A one-time sign-in link to the web pages (only its token's hash is kept), bound to one person: valid
    until ``expires_at``, used once (``used_at``). See ``storage.web_sessions``."""

    __tablename__ = "web_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    next_path: Mapped[str] = mapped_column(String(300), default="/web/")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A signed-in browser (only the session id's hash is kept): ends on logout (``ended_at``), when idle
    too long, or when its person is deactivated. See ``storage.web_sessions``."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    via: Mapped[str] = mapped_column(String(20))  # link | telegram | wecom
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Leave(Base):
    """A person's approved leave (请假): local days ``start``..``end`` (both included), with an optional
    substitute (代理人) who is reminded and may report for the person's projects during it.

    Recorded at once when entered (by the person or an admin; the admins are told). 销假 before the end
    shortens it to the day before (``end``), or cancels it (``cancelled_at``) when it had not begun.
    See ``bot.domain.leave`` and ``storage.leaves``.
    """

    __tablename__ = "leaves"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    substitute_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProjectNode(Base):
    """A milestone (节点) of a project's schedule (节点计划, 倒排工期): a name, the day it is planned to be done
    by, and once done the day it was done, who said so and the evidence (a note, ``NodePhoto``).

    Nodes come from the ledger's sheet 项目节点计划 (``source`` "ledger") or are kept by admins in the chat
    ("chat"); a project has each name once. A node taken off the plan keeps its history (``removed_at``).
    A node not done by its planned day is overdue: ``overdue_told_on`` is the day the liaison and the lead
    unit were told, and ``problem_id`` the problem raised for it, which the escalation machinery carries to
    the 包抓领导 and above like any problem (``Problem.kind`` "node").
    """

    __tablename__ = "project_nodes"
    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        Index("ix_project_nodes_planned_on", "planned_on"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)  # the order of the plan, as in the ledger
    name: Mapped[str] = mapped_column(String(50))
    planned_on: Mapped[date] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(10), default="ledger")  # ledger | chat
    overdue_told_on: Mapped[date | None] = mapped_column(Date)
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("problems.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    photos: Mapped[list[NodePhoto]] = relationship(lazy="selectin", cascade="all, delete-orphan")


class NodePhoto(Base):
    """A photo sent as evidence that a node was done: the channel's file id, and the sha256 of its bytes in
    the photo store once kept (kept for good like a report photo, ``storage.photos``; the download state as
    in ``ProblemPhoto``)."""

    __tablename__ = "node_photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("project_nodes.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    file_id: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str | None] = mapped_column(ForeignKey("photo_blobs.sha256"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    kept_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fetch_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    fetch_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    fetch_error: Mapped[str | None] = mapped_column(String(300))
