"""SQLAlchemy models, one module per group of tables: people, the ledger, reports, problems, photos, what goes
out, what admins set, and the running bot's state. Every table is imported here, so that ``Base.metadata``
holds them all and ``from storage.models import X`` works for each."""

from storage.models.admin import AuditEntry, CalendarOverride, PassedDay, Setting
from storage.models.base import Base
from storage.models.delivery import Bulletin, BulletinGroup, HalfMonthReport, OutboxMessage, SentMessage
from storage.models.ledger import (
    AnnualPlan,
    LedgerBase,
    LedgerMark,
    Project,
    ProjectApproval,
    ProjectNode,
    ProjectSupportingUnit,
    ProjectVersion,
    StageEvent,
)
from storage.models.people import FOLDED_ID_INDEX, ChatAccount, Invite, Leave, Person, PersonName, PersonRole, Unit
from storage.models.photos import REASON_LENGTH, AlbumWait, KeptPhoto, NodePhoto, PhotoBlob, ProblemPhoto, ReportPhoto
from storage.models.problems import Problem, ProblemEvent
from storage.models.reports import DAY_INDEX, STANDINGS_INDEX, Report, ReportSum
from storage.models.runtime import Conversation, ProcessedMessage, SharedMark, WebLink, WebSession

__all__ = [
    "AlbumWait",
    "AnnualPlan",
    "AuditEntry",
    "Base",
    "Bulletin",
    "BulletinGroup",
    "CalendarOverride",
    "ChatAccount",
    "Conversation",
    "DAY_INDEX",
    "FOLDED_ID_INDEX",
    "HalfMonthReport",
    "Invite",
    "KeptPhoto",
    "Leave",
    "LedgerBase",
    "LedgerMark",
    "NodePhoto",
    "OutboxMessage",
    "PassedDay",
    "Person",
    "PersonName",
    "PersonRole",
    "PhotoBlob",
    "Problem",
    "ProblemEvent",
    "ProblemPhoto",
    "ProcessedMessage",
    "Project",
    "ProjectApproval",
    "ProjectNode",
    "ProjectSupportingUnit",
    "ProjectVersion",
    "REASON_LENGTH",
    "Report",
    "ReportPhoto",
    "ReportSum",
    "STANDINGS_INDEX",
    "SentMessage",
    "Setting",
    "SharedMark",
    "StageEvent",
    "Unit",
    "WebLink",
    "WebSession",
]
