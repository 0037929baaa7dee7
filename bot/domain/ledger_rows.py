"""The rows of the project ledger (重点项目台账) as plain values: what the reader hands to the import.

Both the reader (bot.ledger) and the storage that writes a ledger (storage.ledger_import) use these types,
so neither depends on the other. Amounts are in 万元.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from bot.domain.worded import worded

__all__ = ["ROLE_BY_LABEL", "STAGES", "ImportIssue", "Ledger", "NodeRow", "PersonRow", "ProjectRow", "StageRow"]

UNIT_ROLES = frozenset({"liaison", "unit", "admin"})  # a roster row's 单位/职务 is a unit name
ROLE_BY_LABEL = {
    "联络员": "liaison",
    "首办秘书": "liaison",
    "单位经办人": "unit",
    "包抓领导": "lead",
    "区主要领导": "top",
    "管理员": "admin",
}
STAGES = ("谋划", "前期", "在建", "竣工", "投产")


@dataclass(frozen=True)
class PersonRow:
    """One row of 人员名单."""

    row: int
    name: str
    role: str  # a value of ROLE_BY_LABEL
    unit: str | None  # liaison / unit / admin: the unit (单位)
    title: str | None  # lead / top: the title (职务)
    phone: str | None  # 11 digits
    projects: tuple[str, ...]  # 负责项目, normalised project codes
    active: bool | None = None  # 状态: False 停用, True 在用 (said so), None the row does not say
    key: str | None = None  # 人员编号: the same on each row of one person without a phone (the export writes it)

    @property
    def identity(self) -> tuple[str, str, str] | None:
        """What joins this row to the other rows of its person (one row per role): the name with the phone;
        without a phone, the name with the 人员编号 the export writes, else with a leader's 职务 (包抓领导 and
        区主要领导 of one title). A 单位 joins nobody (two namesakes of one unit, a 联络员 and a 管理员, are not
        one account), and a 包抓领导 and a 联络员 of one name, no phone and no number are never one person.
        None: nothing to join by."""
        if self.phone:
            return (self.name, "phone", self.phone)
        if self.key:
            return (self.name, "key", self.key)
        if self.title:
            return (self.name, "title", self.title)
        return None


@dataclass(frozen=True)
class ProjectRow:
    """One row of 重点项目包抓责任分解表. Amounts are in 万元."""

    row: int
    code: str
    name: str
    category: str
    level: str | None
    location: str | None
    owner: str | None
    total_investment: Decimal
    annual_plan: Decimal
    done_before: Decimal  # the year's completed investment up to the ledger's baseline day
    stage: str  # one of STAGES
    planned_start: date | None
    planned_finish: date | None
    lead_official: str | None  # 包抓领导 name
    lead_official_title: str | None  # the title in parentheses after the name
    lead_unit: str
    supporting_units: tuple[str, ...]
    liaison: str | None
    liaison_phone: str | None
    started_on: date | None = None  # 实际开工, when the ledger has the column and the day
    finished_on: date | None = None  # 竣工日期, likewise


@dataclass(frozen=True)
class NodeRow:
    """One row of 项目节点计划: a milestone (节点) of a project, planned to be done by a day."""

    row: int
    code: str  # the project's 项目编号, normalised
    name: str
    planned_on: date
    done_on: date | None
    note: str | None


@dataclass(frozen=True)
class StageRow:
    """One row of 阶段记录: a 开工, 竣工 or 恢复在建 of a project on a day (bot.domain.stage_events' kinds), so that
    a project's history (a reopened one's too) comes whole into a database that has none for it."""

    row: int
    code: str  # the project's 项目编号, normalised
    kind: str  # START, FINISH or REOPEN
    day: date


@dataclass(frozen=True)
class ImportIssue:
    """One problem found in the input, worded in Chinese for the person who uploaded it."""

    sheet: str  # sheet title, or the file name for a CSV / an unreadable file
    row: int  # the spreadsheet's 1-based row number; 0 = the whole sheet or file
    column: str  # the template header; "" = not about one column
    message: str

    def __str__(self) -> str:
        """Where, then what: worded in _import_issue.j2."""
        return str(worded("_import_issue.j2", "issue")(self.sheet, self.row, self.column, self.message))


@dataclass
class Ledger:
    """What the reader found: clean rows plus every issue, and the baseline's day when the file says it."""

    projects: list[ProjectRow] = field(default_factory=list)
    people: list[PersonRow] = field(default_factory=list)
    nodes: list[NodeRow] = field(default_factory=list)
    nodes_read: bool = False  # the files had a 项目节点计划 table (without one, the stored nodes are left alone)
    stages: list[StageRow] = field(default_factory=list)  # 阶段记录, in file order
    issues: list[ImportIssue] = field(default_factory=list)
    as_of: date | None = None  # 截至某日: the day up to which 截至…累计完成 counts, if the file names it
    as_of_at: tuple[str, int] = ("", 0)  # the sheet and row where the file names it
    year: int | None = None  # the year its title names (「2026年…」), if it does
    skipped_sheets: list[str] = field(default_factory=list)  # sheets with content but no ledger table, not read
    hidden_sheets: list[str] = field(default_factory=list)  # hidden sheets, never read
