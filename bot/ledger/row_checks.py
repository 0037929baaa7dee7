"""Checking one data row of the ledger on its own, table by table: every cell parsed, every problem named by row
and column (the row being checked: bot.ledger.checked_row).

Each ``*_draft`` function reads a row into a draft: the checked row when it has no issue, and what the
cross-row checks (bot.ledger.cross_checks) need even when it has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bot.domain.ledger_rows import ROLE_BY_LABEL, STAGES, UNIT_ROLES, NodeRow, PersonRow, ProjectRow, StageRow
from bot.ledger.cells import (
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
from bot.ledger.checked_row import RowCheck, project_code, spaceless
from bot.ledger.columns import (
    C_CATEGORY,
    C_DONE,
    C_FINISH,
    C_FINISHED,
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
    C_STARTED,
    C_SUPPORTING,
    C_TOTAL,
    LEADER_ROLES,
    MOVE_BY_LABEL,
    N_DONE,
    N_NAME,
    N_NOTE,
    N_PLANNED,
    P_KEY,
    P_NAME,
    P_PHONE,
    P_PROJECTS,
    P_ROLE,
    P_STATUS,
    P_UNIT,
    S_DAY,
    S_MOVE,
    STATUS_ACTIVE,
    STATUS_STOPPED,
)

__all__ = ["NodeDraft", "PersonDraft", "ProjectDraft", "StageDraft", "node_draft", "person_draft", "project_draft",
           "stage_draft"]


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


@dataclass
class StageDraft:
    """A row of 阶段记录 as read (see ProjectDraft)."""

    key: tuple[int, int]
    sheet: str
    row: StageRow | None
    code: str | None
    ok: bool


def project_draft(check: RowCheck) -> ProjectDraft:
    """A row of the projects table (重点项目包抓责任分解表)."""
    get, err = check.get, check.err

    code = project_code(check)

    name = text_value(get(C_NAME))
    if name is None:
        err(C_NAME, "empty", what=C_NAME)
    check.fits(C_NAME, "project_name", name)
    category = text_value(get(C_CATEGORY))
    if category is None:
        err(C_CATEGORY, "empty", what=C_CATEGORY)
    check.fits(C_CATEGORY, "category", category)
    for column, field in ((C_LEVEL, "project_level"), (C_LOCATION, "location"), (C_OWNER, "owner")):
        check.fits(column, field, text_value(get(column)))

    amounts: dict[str, Decimal | None] = {}
    for column in (C_TOTAL, C_PLAN, C_DONE):
        amount, problem = parse_number(get(column))
        if problem:
            check.bad_cell(column, problem)
        elif amount is None and column == C_DONE:
            amount = Decimal(0)
        elif amount is None:
            err(column, "empty", what="")
        elif amount < 0:
            err(column, "negative", amount=fmt(amount))
            amount = None
        amounts[column] = amount
    total, plan, done = amounts[C_TOTAL], amounts[C_PLAN], amounts[C_DONE]
    if total is not None and plan is not None and plan > total:
        err(C_PLAN, "plan_over_total", amount=fmt(plan), total=fmt(total))
    if total is not None and done is not None and done > total:
        err(C_DONE, "done_over_total", amount=fmt(done), total=fmt(total))

    stage = spaceless(get(C_STAGE))
    if stage is None:
        err(C_STAGE, "empty", what=C_STAGE)
    elif stage not in STAGES:
        err(C_STAGE, "stage_unknown", stage=stage, stages=STAGES)

    start: date | None = check.parsed(C_START, parse_date)
    finish: date | None = check.parsed(C_FINISH, parse_date)
    if start and finish and finish < start:
        err(C_FINISH, "finish_before_start", start=start, finish=finish)
    started, finished = _actual_days(check)

    lead_name: str | None = None
    lead_title: str | None = None
    raw_lead = text_value(get(C_LEAD))
    if raw_lead is not None:
        parsed = split_lead(raw_lead)
        if parsed is None:
            err(C_LEAD, "lead_format", raw=raw_lead)
        else:
            lead_name, lead_title = parsed
            check.fits(C_LEAD, "person_name", lead_name)
            check.fits(C_LEAD, "title", lead_title)

    lead_unit = paren_text(get(C_LEAD_UNIT))
    if lead_unit is None:
        err(C_LEAD_UNIT, "empty", what=C_LEAD_UNIT)
    check.fits(C_LEAD_UNIT, "unit", lead_unit)
    supporting = tuple(split_list(get(C_SUPPORTING)))
    check.fits(C_SUPPORTING, "unit", *supporting)

    liaison = person_name(get(C_LIAISON))
    check.fits(C_LIAISON, "person_name", liaison)
    liaison_phone = check.parsed(C_LIAISON_PHONE, parse_phone)

    row: ProjectRow | None = None
    if check.ok:
        assert code and name and category and stage and lead_unit
        assert total is not None and plan is not None and done is not None
        row = ProjectRow(
            row=check.number,
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
            started_on=started,
            finished_on=finished,
        )
    return ProjectDraft(check.key, check.sheet, row, code, lead_name, lead_unit, supporting, check.ok)


def _actual_days(check: RowCheck) -> tuple[date | None, date | None]:
    """The row's 实际开工 and 竣工日期 (optional columns): neither later than the day of the import, nor the
    finish before the start."""
    started: date | None = check.parsed(C_STARTED, parse_date)
    finished: date | None = check.parsed(C_FINISHED, parse_date)
    for column, day in ((C_STARTED, started), (C_FINISHED, finished)):
        if day is not None and check.today is not None and day > check.today:
            check.err(column, "day_to_come", day=day, today=check.today)
    if started and finished and finished < started:
        check.err(C_FINISHED, "finished_before_started", started=started, finished=finished)
    return started, finished


def person_draft(check: RowCheck) -> PersonDraft:
    """A row of the people table (人员名单)."""
    get, err = check.get, check.err

    name = person_name(get(P_NAME))
    if name is None:
        err(P_NAME, "empty", what=P_NAME)
    check.fits(P_NAME, "person_name", name)

    role: str | None = None
    label = spaceless(get(P_ROLE))
    if label is None:
        err(P_ROLE, "empty", what=P_ROLE)
    else:
        role = ROLE_BY_LABEL.get(label)
        if role is None:
            err(P_ROLE, "role_unknown", label=label, roles=list(ROLE_BY_LABEL))

    unit_or_title = paren_text(get(P_UNIT))
    unit = unit_or_title if role in UNIT_ROLES else None
    title = unit_or_title if role in LEADER_ROLES else None
    if role in ("liaison", "unit") and unit is None:
        err(P_UNIT, "unit_needed", label=label)
    check.fits(P_UNIT, "unit", unit)
    check.fits(P_UNIT, "title", title)

    phone = check.parsed(P_PHONE, parse_phone)

    codes: list[str] = []
    for part in split_list(get(P_PROJECTS)):
        code = norm_code(part)
        if valid_code(code):
            codes.append(code)
        else:
            err(P_PROJECTS, "project_code_invalid", raw=part)

    active: bool | None = None
    status = spaceless(get(P_STATUS))
    if status == STATUS_STOPPED:
        active = False
    elif status in STATUS_ACTIVE:
        active = True
    elif status is not None:
        err(P_STATUS, "status_unknown", raw=status, values=[STATUS_STOPPED, STATUS_ACTIVE[0]])

    number = get(P_KEY)
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    key = spaceless(number)
    check.fits(P_KEY, "person_key", key)

    row: PersonRow | None = None
    if check.ok:
        assert name and role
        row = PersonRow(check.number, name, role, unit, title, phone, tuple(dict.fromkeys(codes)), active, key)
    return PersonDraft(check.key, check.sheet, row, name, role, unit, check.ok)


def node_draft(check: RowCheck) -> NodeDraft:
    """A row of the node plan (项目节点计划)."""
    get, err = check.get, check.err

    code = project_code(check)

    name = text_value(get(N_NAME))
    if name is not None:
        name = " ".join(name.split())
    if not name:
        err(N_NAME, "empty", what=N_NAME)
        name = None
    else:
        check.fits(N_NAME, "node_name", name)

    planned, problem = parse_date(get(N_PLANNED))
    if problem:
        check.bad_cell(N_PLANNED, problem)
    elif planned is None:
        err(N_PLANNED, "empty", what=N_PLANNED)
    done = check.parsed(N_DONE, parse_date)
    note = text_value(get(N_NOTE))

    row: NodeRow | None = None
    if check.ok:
        assert code and name and planned
        row = NodeRow(row=check.number, code=code, name=name, planned_on=planned, done_on=done, note=note)
    return NodeDraft(check.key, check.sheet, row, code, name, check.ok)


def stage_draft(check: RowCheck) -> StageDraft:
    """A row of the stage history (阶段记录): a project's 开工, 竣工 or 恢复在建, and its day (not to come)."""
    code = project_code(check)
    label = spaceless(check.get(S_MOVE))
    kind = MOVE_BY_LABEL.get(label) if label else None
    if label is None:
        check.err(S_MOVE, "empty", what=S_MOVE)
    elif kind is None:
        check.err(S_MOVE, "stage_move_unknown", raw=label, values=list(MOVE_BY_LABEL))
    day, problem = parse_date(check.get(S_DAY))
    if problem:
        check.bad_cell(S_DAY, problem)
    elif day is None:
        check.err(S_DAY, "empty", what=S_DAY)
    elif check.today is not None and day > check.today:
        check.err(S_DAY, "day_to_come", day=day, today=check.today)
    row: StageRow | None = None
    if check.ok:
        assert code and kind and day
        row = StageRow(row=check.number, code=code, kind=kind, day=day)
    return StageDraft(check.key, check.sheet, row, code, check.ok)
