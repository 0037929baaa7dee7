"""The values an import plan is made of: what the database holds (`LedgerState`, as plain values), and
what importing would change (`ImportPlan`: rows to write, changes field by field, conflicts with the chat,
year-to-date before and after). Worked out by bot.domain.ledger_diff; read and written by storage."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from bot.domain.node_plan import NodePlan

ONE_YUAN = Decimal("0.0001")
MONEY_FIELDS = ("total_investment", "annual_plan", "done_before")
PROJECT_FIELDS = ("name", "category", "level", "location", "owner", "total_investment", "annual_plan",
                  "done_before", "stage", "planned_start", "planned_finish")
# What a project's dated version keeps (storage.project_versions): its name and town and who holds it.
HELD_FIELDS = ("name", "location", "lead_unit_id", "lead_official_id", "liaison_id")
KEEP, FILE = "keep", "file"


@dataclass
class KnownPerson:
    """A person as stored (or, during planning, as the import would leave them)."""

    id: int | None  # None: new in this import
    name: str
    phone: str | None
    title: str | None
    unit_id: int | str | None  # a unit id, or the name of a unit new in this import
    active: bool
    roles: set[str]
    ref: int = 0  # the position among the new people, for new ones
    key: str | None = None  # 人员编号 as typed in a roster (None: never typed)


@dataclass
class KnownProject:
    """A project as stored: its ledger fields, people and units by id."""

    id: int
    code: str
    values: dict[str, Any]  # PROJECT_FIELDS, baseline_year, baseline_date, lead_official_id, liaison_id, lead_unit_id
    supporting: tuple[int, ...]


@dataclass(frozen=True)
class ReportTotals:
    """A project's live reports of the year up to the import day: all of them, those on or before the new
    baseline's day, and those the stored baseline covers."""

    year_sum: Decimal = Decimal(0)
    year_count: int = 0
    new_covered_sum: Decimal = Decimal(0)
    new_covered_count: int = 0
    old_covered_sum: Decimal = Decimal(0)


@dataclass
class LedgerState:
    """What the database holds, as plain values."""

    units: dict[str, int] = field(default_factory=dict)
    people: list[KnownPerson] = field(default_factory=list)
    projects: dict[str, KnownProject] = field(default_factory=dict)
    changed_in_chat: set[tuple[str, str]] = field(default_factory=set)  # (code, liaison | lead_official)
    reports: dict[int, ReportTotals] = field(default_factory=dict)  # project id → its year's reports
    # project id → its annual plan for the year the ledger is for (absent: none that year)
    plans: dict[int, Decimal] = field(default_factory=dict)
    # project id → the day of its latest confirmed 竣工 (absent: none recorded)
    finish_days: dict[int, date] = field(default_factory=dict)
    # unit id → how many open problems it has to handle (a unit with none is absent)
    open_problems: dict[int, int] = field(default_factory=dict)
    # project id → its confirmed moves (kind: 开工, 竣工, reopening; day) by day, for the projects with any
    moves: dict[int, list[tuple[str, date]]] = field(default_factory=dict)
    # project id → the latest day of its moves confirmed in the chat (not by an import), for those with any
    moved_in_chat: dict[int, date] = field(default_factory=dict)


@dataclass(frozen=True)
class FieldChange:
    field: str  # a key of FIELD_LABELS
    before: Any
    after: Any


@dataclass(frozen=True)
class RowChange:
    """One row added or updated: a unit, person or project, and its fields from what to what."""

    kind: Literal["unit", "person", "project"]
    action: Literal["add", "update"]
    key: str  # unit name, person id (updates), project code
    name: str
    fields: tuple[FieldChange, ...] = ()
    person: KnownPerson | None = field(default=None, compare=False, repr=False)  # a person added: their id

    @property
    def only_dated(self) -> bool:
        """Only the baseline's day changed (the whole ledger dated anew): summed up, not listed."""
        return bool(self.fields) and all(f.field in ("baseline_date", "baseline_year") for f in self.fields)


@dataclass(frozen=True)
class Conflict:
    """Where the file disagrees with what was done in the chat. `choice` is None when there is nothing to
    choose (an absent row is always kept)."""

    key: str
    kind: Literal[
        "deactivated", "handover", "absent_project", "absent_person", "absent_unit", "stop_marked", "stage_kept",
        "stage_moved",
    ]
    subject: str  # who or which project, as people read it
    chat: str | None = None  # the value kept in the database
    file: str | None = None  # the value the file gives (an absent unit: how many open problems it still has)
    field: str | None = None  # liaison | lead_official for a handover
    choice: str | None = KEEP
    blocked: bool = False  # the file's person is deactivated and kept so: the chat's value stays anyway
    day: date | None = None  # stage_kept: the recorded 开工 keeping it started; stage_moved: the chat's move


@dataclass(frozen=True)
class YearToDate:
    """A project's year-to-date today, before and after the import, and the reports its new baseline covers."""

    code: str
    name: str
    before: Decimal
    after: Decimal
    covered_reports: int
    added: bool = False  # a project the import adds: it had no year-to-date before


@dataclass
class ImportPlan:
    as_of: date | None
    as_of_source: Literal["file", "title", "given", "default"] | None
    needs_as_of: bool = False
    # why the day is asked: "reports" (reports of the year the day decides on), "new_year" (上月 is last year's)
    as_of_reason: Literal["reports", "new_year"] | None = None
    new_units: list[str] = field(default_factory=list)
    new_people: list[KnownPerson] = field(default_factory=list)
    person_updates: list[KnownPerson] = field(default_factory=list)  # whole rows, as they will be
    new_roles: list[tuple[KnownPerson, str]] = field(default_factory=list)
    new_projects: list[dict[str, Any]] = field(default_factory=list)  # values, people as KnownPerson
    project_updates: list[dict[str, Any]] = field(default_factory=list)
    changes: list[RowChange] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    year_to_date: list[YearToDate] = field(default_factory=list)
    covered_reports: int = 0
    added: Counter[str] = field(default_factory=Counter)
    changed: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    # (project id, plan) of the known projects whose plan for the ledger's year (as_of's) is new or changed;
    # new projects get theirs from their values. Earlier years' plans are kept.
    plans: list[tuple[int, Decimal]] = field(default_factory=list)
    # The changes to the nodes (节点计划), when the files had the sheet 项目节点计划; None leaves them alone.
    nodes: NodePlan | None = None
    # project code → (实际开工, 竣工日期) the files give, for the projects they give either for: the days a 开工 or
    # 竣工 the import records counts from (bot.domain.stage_events.ledger_day)
    stage_days: dict[str, tuple[date | None, date | None]] = field(default_factory=dict)
    # project code → the moves (kind, day) of its 阶段记录 to record, in their order: for the projects the files
    # give a history for and that have none recorded (a fresh database); these record no other move
    histories: dict[str, list[tuple[str, date]]] = field(default_factory=dict)
    histories_kept: int = 0  # projects the files give another history for than the one recorded, kept
