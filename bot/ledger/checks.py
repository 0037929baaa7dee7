"""Checking the ledger's rows: each data row on its own (every cell parsed, every problem named by row and
column), then across rows (duplicate codes, people and nodes; units, leads and projects that nobody knows).

`Checks` collects the drafts and issues; `bot.ledger.reader` feeds it the tables it finds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bot.domain.ledger_rows import ROLE_BY_LABEL, STAGES, ImportIssue, Ledger, NodeRow, PersonRow, ProjectRow
from bot.domain.nodes import NAME_MAX
from bot.ledger.cells import (
    PARENS,
    fmt,
    norm_code,
    paren_text,
    parse_date,
    parse_number,
    parse_phone,
    person_name,
    split_lead,
    split_list,
    text_value,
    valid_code,
)
from bot.ledger.columns import (
    C_CATEGORY,
    C_CODE,
    C_DONE,
    C_FINISH,
    C_LEAD,
    C_LEAD_UNIT,
    C_LEVEL,
    C_LIAISON,
    C_LIAISON_PHONE,
    C_LOCATION,
    C_NAME,
    C_OWNER,
    C_PLAN,
    C_STAGE,
    C_START,
    C_SUPPORTING,
    C_TOTAL,
    LEADER_ROLES,
    N_DONE,
    N_NAME,
    N_NOTE,
    N_PLANNED,
    P_NAME,
    P_PHONE,
    P_PROJECTS,
    P_ROLE,
    P_UNIT,
    PEOPLE_SHEET,
    UNIT_ROLES,
)
from bot.ledger.tables import Table


@dataclass
class ProjectDraft:
    """A project row as read, with what the cross-row checks need even when the row failed."""

    key: tuple[int, int]
    sheet: str
    row: ProjectRow | None  # None when a field could not be parsed
    code: str | None
    lead_name: str | None
    lead_unit: str | None
    supporting: tuple[str, ...]
    ok: bool


@dataclass
class PersonDraft:
    """A person row as read (see ProjectDraft)."""

    key: tuple[int, int]
    sheet: str
    row: PersonRow | None
    name: str | None
    role: str | None
    unit: str | None
    ok: bool


@dataclass
class NodeDraft:
    """A node row as read (see ProjectDraft)."""

    key: tuple[int, int]
    sheet: str
    row: NodeRow | None
    code: str | None
    name: str | None
    ok: bool


class RowCheck:
    """One data row being checked: its cells by template column, and whether any issue was found in it."""

    def __init__(self, issue: Callable[[tuple[int, int], str, int, str, str], None], key: tuple[int, int],
                 table: Table, cells: list[object]) -> None:
        self._issue, self.key, self._table, self._cells = issue, key, table, cells
        self.ok = True

    def get(self, column: str) -> object:
        index = self._table.columns.get(column)
        if index is None:  # an optional column the table does not have
            return None
        return self._cells[index] if index < len(self._cells) else None

    def err(self, column: str, message: str) -> None:
        """Report a problem in ``column`` of this row (which is then left out)."""
        self.ok = False
        self._issue(self.key, self._table.sheet, self.key[1], column, message)


def _project_code(check: RowCheck) -> str | None:
    """The row's 项目编号, normalised; None (and the row's issue told) when it is missing or not valid."""
    raw_code = text_value(check.get(C_CODE))
    if raw_code is None:
        check.err(C_CODE, "项目编号不能为空")
        return None
    code = norm_code(raw_code)
    if not valid_code(code):
        check.err(C_CODE, f"「{raw_code}」不是有效的项目编号（应类似 ZD2026-001，中间不能有空格）")
        return None
    return code


class Checks:
    """The rows read so far, as drafts, and every issue found (kept in file order)."""

    def __init__(self) -> None:
        self._issues: list[tuple[tuple[int, int, int], ImportIssue]] = []
        self._projects: list[ProjectDraft] = []
        self._people: list[PersonDraft] = []
        self._nodes: list[NodeDraft] = []
        self.nodes_read = False  # a 项目节点计划 table was read
        self._people_read = False  # a people table was read
        self._people_broken = False  # a people table was given but could not be read

    def _issue(self, key: tuple[int, int], sheet: str, row: int, column: str, message: str) -> None:
        order = (key[0], key[1], len(self._issues))
        self._issues.append((order, ImportIssue(sheet, row, column, message)))

    # rows --------------------------------------------------------------------------------

    def project_row(self, seq: int, table: Table, number: int, cells: list[object]) -> ProjectDraft:
        check = RowCheck(self._issue, (seq, number), table, cells)
        get, err = check.get, check.err

        code = _project_code(check)

        name = text_value(get(C_NAME))
        if name is None:
            err(C_NAME, "项目名称不能为空")
        category = text_value(get(C_CATEGORY))
        if category is None:
            err(C_CATEGORY, "项目类别不能为空")

        amounts: dict[str, Decimal | None] = {}
        for column in (C_TOTAL, C_PLAN, C_DONE):
            amount, problem = parse_number(get(column))
            if problem:
                err(column, problem)
            elif amount is None and column == C_DONE:
                amount = Decimal(0)
            elif amount is None:
                err(column, "不能为空")
            elif amount < 0:
                err(column, f"「{fmt(amount)}」不能为负数")
                amount = None
            amounts[column] = amount
        total, plan, done = amounts[C_TOTAL], amounts[C_PLAN], amounts[C_DONE]
        if total is not None and plan is not None and plan > total:
            err(C_PLAN, f"年度计划投资（{fmt(plan)}）大于总投资（{fmt(total)}）")
        if total is not None and done is not None and done > total:
            err(C_DONE, f"截至上月累计完成（{fmt(done)}）大于总投资（{fmt(total)}）")

        stage = text_value(get(C_STAGE))
        if stage is not None:
            stage = re.sub(r"\s+", "", stage)
        if stage is None:
            err(C_STAGE, "建设阶段不能为空")
        elif stage not in STAGES:
            err(C_STAGE, f"未知的建设阶段「{stage}」（可选：{'、'.join(STAGES)}）")

        dates: dict[str, date | None] = {}
        for column in (C_START, C_FINISH):
            day, problem = parse_date(get(column))
            if problem:
                err(column, problem)
            dates[column] = day
        start, finish = dates[C_START], dates[C_FINISH]
        if start and finish and finish < start:
            err(C_FINISH, f"计划竣工（{finish.isoformat()}）早于计划开工（{start.isoformat()}）")

        lead_name: str | None = None
        lead_title: str | None = None
        raw_lead = text_value(get(C_LEAD))
        if raw_lead is not None:
            parsed = split_lead(raw_lead)
            if parsed is None:
                err(C_LEAD, f"「{raw_lead}」格式不对，应为「姓名(职务)」，如「刘文华(副区长(城建))」")
            else:
                lead_name, lead_title = parsed

        lead_unit = paren_text(get(C_LEAD_UNIT))
        if lead_unit is None:
            err(C_LEAD_UNIT, "牵头单位不能为空")
        supporting = tuple(split_list(get(C_SUPPORTING)))

        liaison = person_name(get(C_LIAISON))
        liaison_phone, problem = parse_phone(get(C_LIAISON_PHONE))
        if problem:
            err(C_LIAISON_PHONE, problem)

        row: ProjectRow | None = None
        if check.ok:
            assert code and name and category and stage and lead_unit
            assert total is not None and plan is not None and done is not None
            row = ProjectRow(
                row=number,
                code=code,
                name=name,
                category=category,
                level=text_value(get(C_LEVEL)),
                location=text_value(get(C_LOCATION)),
                owner=text_value(get(C_OWNER)),
                total_investment=total,
                annual_plan=plan,
                done_before=done,
                stage=stage,
                planned_start=start,
                planned_finish=finish,
                lead_official=lead_name,
                lead_official_title=lead_title,
                lead_unit=lead_unit,
                supporting_units=supporting,
                liaison=liaison,
                liaison_phone=liaison_phone,
            )
        return ProjectDraft(check.key, table.sheet, row, code, lead_name, lead_unit, supporting, check.ok)

    def person_row(self, seq: int, table: Table, number: int, cells: list[object]) -> PersonDraft:
        check = RowCheck(self._issue, (seq, number), table, cells)
        get, err = check.get, check.err

        name = person_name(get(P_NAME))
        if name is None:
            err(P_NAME, "姓名不能为空")

        role: str | None = None
        label = text_value(get(P_ROLE))
        if label is None:
            err(P_ROLE, "角色不能为空")
        else:
            label = re.sub(r"\s+", "", label)
            role = ROLE_BY_LABEL.get(label)
            if role is None:
                err(P_ROLE, f"未知的角色「{label}」（可选：{'、'.join(ROLE_BY_LABEL)}）")

        unit_or_title = paren_text(get(P_UNIT))
        unit = unit_or_title if role in UNIT_ROLES else None
        title = unit_or_title if role in LEADER_ROLES else None
        if role in ("liaison", "unit") and unit is None:
            err(P_UNIT, f"{label}需要填写所在单位")

        phone, problem = parse_phone(get(P_PHONE))
        if problem:
            err(P_PHONE, problem)

        codes: list[str] = []
        for part in split_list(get(P_PROJECTS)):
            code = norm_code(part)
            if valid_code(code):
                codes.append(code)
            else:
                err(P_PROJECTS, f"「{part}」不是有效的项目编号（应类似 ZD2026-001）")

        row: PersonRow | None = None
        if check.ok:
            assert name and role
            row = PersonRow(number, name, role, unit, title, phone, tuple(dict.fromkeys(codes)))
        return PersonDraft(check.key, table.sheet, row, name, role, unit, check.ok)

    def node_row(self, seq: int, table: Table, number: int, cells: list[object]) -> NodeDraft:
        check = RowCheck(self._issue, (seq, number), table, cells)
        get, err = check.get, check.err

        code = _project_code(check)

        name = text_value(get(N_NAME))
        if name is not None:
            name = " ".join(name.split())
        if not name:
            err(N_NAME, "节点名称不能为空")
            name = None
        elif len(name) > NAME_MAX:
            err(N_NAME, f"节点名称过长（{len(name)} 字，最多 {NAME_MAX} 字）")

        planned, problem = parse_date(get(N_PLANNED))
        if problem:
            err(N_PLANNED, problem)
        elif planned is None:
            err(N_PLANNED, "计划完成日期不能为空")
        done, problem = parse_date(get(N_DONE))
        if problem:
            err(N_DONE, problem)
        note = text_value(get(N_NOTE))

        row: NodeRow | None = None
        if check.ok:
            assert code and name and planned
            row = NodeRow(row=number, code=code, name=name, planned_on=planned, done_on=done, note=note)
        return NodeDraft(check.key, table.sheet, row, code, name, check.ok)

    # cross-row checks --------------------------------------------------------------------
    def finish(self, known_units: Collection[str], as_of: date | None = None, year: int | None = None, *,
               known_projects: Collection[str] = ()) -> Ledger:
        """The checked rows (only those without any issue) and every issue, in file order."""
        self._check_duplicate_projects()
        self._check_duplicate_people()
        self._check_nodes({c.strip().upper() for c in known_projects})
        known = {u.strip().translate(PARENS) for u in known_units if u and u.strip()}
        if self._projects and not self._people_read and not self._people_broken and not known:
            # Nothing in the database and no roster given: every unit would be unknown. Say so once.
            self._issue((0, 0), PEOPLE_SHEET, 0, "",
                        "未提供。系统中还没有任何单位和人员，首次导入须同时提供人员名单"
                        f"（同一工作簿中的「{PEOPLE_SHEET}」表，或另一个人员名单 CSV 文件），项目表才能核对单位")
            for draft in self._projects:
                draft.ok = False
        elif self._people_broken:
            # The roster given could not be read, so units and leads cannot be checked. Its issue
            # already explains why; leave every project out rather than bury it in unit errors.
            for draft in self._projects:
                draft.ok = False
        else:
            known |= {p.unit for p in self._people if p.role in UNIT_ROLES and p.unit}
            self._check_units(known)
            if self._people_read:
                leaders = {p.name for p in self._people if p.role in LEADER_ROLES and p.name}
                self._check_leads(leaders)
        ledger = Ledger(
            projects=[d.row for d in self._projects if d.ok and d.row is not None],
            people=[d.row for d in self._people if d.ok and d.row is not None],
            nodes=[d.row for d in self._nodes if d.ok and d.row is not None],
            nodes_read=self.nodes_read,
            issues=[issue for _, issue in sorted(self._issues, key=lambda item: item[0])],
            as_of=as_of,
            year=year,
        )
        return ledger

    def _check_nodes(self, known_projects: set[str]) -> None:
        """Each node names a project of the files or of the database, and a project has each name once."""
        codes = known_projects | {d.code for d in self._projects if d.code}
        first: dict[tuple[str, str], NodeDraft] = {}
        for draft in self._nodes:
            if draft.code is None or draft.name is None:
                continue
            if draft.code not in codes:
                self._reject(draft, C_CODE, f"项目编号「{draft.code}」不在项目表中，系统中也没有这个项目")
                continue
            seen = first.setdefault((draft.code, draft.name), draft)
            if seen is not draft:
                self._reject(draft, N_NAME,
                             f"项目 {draft.code} 的节点「{draft.name}」重复（{where(seen, draft)}已有）")

    def _reject(self, draft: ProjectDraft | PersonDraft | NodeDraft, column: str, message: str) -> None:
        draft.ok = False
        self._issue(draft.key, draft.sheet, draft.key[1], column, message)

    def _check_duplicate_projects(self) -> None:
        first: dict[str, ProjectDraft] = {}
        for draft in self._projects:
            if draft.code is None:
                continue
            seen = first.setdefault(draft.code, draft)
            if seen is not draft:
                self._reject(draft, C_CODE, f"项目编号「{draft.code}」重复（{where(seen, draft)}已有）")

    def _check_duplicate_people(self) -> None:
        by_name_phone: dict[tuple[str, str | None], PersonDraft] = {}
        by_phone: dict[str, PersonDraft] = {}
        for draft in self._people:
            if draft.row is None:
                continue
            person = draft.row
            seen = by_name_phone.setdefault((person.name, person.phone), draft)
            if seen is not draft:
                self._reject(draft, P_NAME, f"「{person.name}」重复（{where(seen, draft)}已有同名同手机号的人员）")
                continue
            if person.phone:
                owner = by_phone.setdefault(person.phone, draft)
                if owner is not draft and owner.row is not None:
                    self._reject(
                        draft, P_PHONE, f"手机号「{person.phone}」已用于{where(owner, draft)}的「{owner.row.name}」"
                    )

    def _check_units(self, known: set[str]) -> None:
        for draft in self._projects:
            if draft.lead_unit and draft.lead_unit not in known:
                self._reject(draft, C_LEAD_UNIT, unknown_unit(draft.lead_unit))
            for unit in draft.supporting:
                if unit not in known:
                    self._reject(draft, C_SUPPORTING, unknown_unit(unit))

    def _check_leads(self, leaders: set[str]) -> None:
        for draft in self._projects:
            if draft.lead_name and draft.lead_name not in leaders:
                self._reject(
                    draft,
                    C_LEAD,
                    f"包抓领导「{draft.lead_name}」不在人员名单中（角色应为包抓领导或区主要领导）",
                )


def unknown_unit(unit: str) -> str:
    return f"未知单位「{unit}」：不在系统单位中，也不是人员名单中联络员/单位经办人的单位"


def where(seen: ProjectDraft | PersonDraft | NodeDraft, draft: ProjectDraft | PersonDraft | NodeDraft) -> str:
    if seen.sheet == draft.sheet:
        return f"第{seen.key[1]}行"
    return f"「{seen.sheet}」第{seen.key[1]}行"
