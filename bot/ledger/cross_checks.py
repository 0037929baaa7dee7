"""Checking the ledger across rows (duplicate codes, people and nodes; units, leads and projects that nobody
knows; a project's 阶段记录 in turn, in date order and ending as its 建设阶段 says), over the drafts of the rows
each checked on its own (bot.ledger.row_checks).

`Checks` collects the drafts and issues; `bot.ledger.reader` feeds it the tables it finds.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Mapping
from datetime import date
from typing import TypeVar

from bot.domain.ledger_rows import UNIT_ROLES, ImportIssue, Ledger
from bot.domain.ledger_stages import DAY_BEFORE, STAGE_DIFFERS, history_fault
from bot.ledger.cells import PARENS
from bot.ledger.checked_row import RowCheck
from bot.ledger.columns import (
    C_CODE,
    C_LEAD,
    C_LEAD_UNIT,
    C_LIAISON,
    C_STAGE,
    C_SUPPORTING,
    LEADER_ROLES,
    MOVE_BY_LABEL,
    N_NAME,
    P_NAME,
    P_PHONE,
    P_STATUS,
    P_UNIT,
    PEOPLE_SHEET,
    PROJECT_SHEET,
    S_DAY,
    S_MOVE,
    STATUS_ACTIVE,
    STATUS_STOPPED,
)
from bot.ledger.issue_words import issue_words
from bot.ledger.row_checks import (
    NodeDraft,
    PersonDraft,
    ProjectDraft,
    StageDraft,
    node_draft,
    person_draft,
    project_draft,
    stage_draft,
)
from bot.ledger.tables import Table

D = TypeVar("D", ProjectDraft, PersonDraft, NodeDraft, StageDraft)
Draft = ProjectDraft | PersonDraft | NodeDraft | StageDraft


class Checks:
    """The rows read so far, as drafts, and every issue found (kept in file order)."""

    def __init__(self) -> None:
        self._issues: list[tuple[tuple[int, int, int], ImportIssue]] = []
        self._projects: list[ProjectDraft] = []
        self._people: list[PersonDraft] = []
        self._nodes: list[NodeDraft] = []
        self._stages: list[StageDraft] = []
        self.nodes_read = False  # a 项目节点计划 table was read
        self._people_read = False  # a people table was read
        self._people_broken = False  # a people table was given but could not be read
        self.today: date | None = None  # the day of the import, when known: no day the ledger reports may be later

    def _issue(self, key: tuple[int, int], sheet: str, row: int, column: str, message: str) -> None:
        order = (key[0], key[1], len(self._issues))
        self._issues.append((order, ImportIssue(sheet, row, column, message)))

    # rows --------------------------------------------------------------------------------

    def check_row(self, seq: int, table: Table, number: int, cells: list[object]) -> None:
        """Check data row ``number`` of ``table`` (the ``seq``-th table read) on its own and keep its draft."""
        check = RowCheck(self._issue, (seq, number), table, cells, self.today)
        if table.kind == "projects":
            self._projects.append(project_draft(check))
        elif table.kind == "nodes":
            self._nodes.append(node_draft(check))
        elif table.kind == "stages":
            self._stages.append(stage_draft(check))
        else:
            self._people.append(person_draft(check))

    # cross-row checks --------------------------------------------------------------------
    def finish(self, known_units: Collection[str], as_of: date | None = None, year: int | None = None, *,
               known_projects: Collection[str] = (),
               known_people: Mapping[str, Collection[Collection[str]]] | None = None) -> Ledger:
        """The checked rows (only those without any issue) and every issue, in file order. ``known_people``:
        the people stored without a phone, by name, with the roles of each."""
        self._check_duplicate_projects()
        self._check_duplicate_people(known_people or {})
        self._check_namesake_liaisons(known_people or {})
        self._check_nodes({c.strip().upper() for c in known_projects})
        self._check_stages()
        known = {u.strip().translate(PARENS) for u in known_units if u and u.strip()}
        if self._projects and not self._people_read and not self._people_broken and not known:
            # Nothing in the database and no roster given: every unit would be unknown. Say so once.
            self._issue((0, 0), PEOPLE_SHEET, 0, "", issue_words("no_roster", sheet=PEOPLE_SHEET))
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
            stages=[d.row for d in self._stages if d.ok and d.row is not None],
            issues=[issue for _, issue in sorted(self._issues, key=lambda item: item[0])],
            as_of=as_of,
            year=year,
        )
        return ledger

    def _check_nodes(self, known_projects: set[str]) -> None:
        """Each node names a project of the files or of the database, and a project has each name once."""
        codes = known_projects | {d.code for d in self._projects if d.code}
        named = [d for d in self._nodes if d.code is not None and d.name is not None]
        for draft in named:
            if draft.code not in codes:
                self._reject(draft, C_CODE, "node_project_unknown", code=draft.code)
        for draft, seen in repeats((d for d in named if d.code in codes), lambda d: (d.code, d.name)):
            self._reject(draft, N_NAME, "node_repeated", code=draft.code, name=draft.name, **where(seen, draft))

    def _check_stages(self) -> None:
        """Each row of 阶段记录 names a project of the projects table it comes with."""
        codes = {d.code for d in self._projects if d.code}
        for draft in self._stages:
            if draft.code is not None and draft.code not in codes:
                self._reject(draft, C_CODE, "stage_project_unknown", code=draft.code, sheet=PROJECT_SHEET)
        self._check_histories()

    def _check_histories(self) -> None:
        """The rows of 阶段记录 of each project of the projects table (all read) make a history that can be
        (bot.domain.ledger_stages.history_fault): the first row that breaks it is refused, and with it the
        project's other rows."""
        projects: dict[str, ProjectDraft] = {}
        for project in self._projects:
            if project.code:
                projects.setdefault(project.code, project)
        histories: dict[str, list[StageDraft]] = {}
        for draft in self._stages:
            if draft.code in projects:
                histories.setdefault(draft.code, []).append(draft)
        labels = {kind: label for label, kind in MOVE_BY_LABEL.items()}
        for code, drafts in histories.items():
            if any(d.row is None for d in drafts):
                continue  # a row already refused on its own: the history is not whole
            project = projects[code]
            stage = project.row.stage if project.row is not None else None
            fault = history_fault([(d.row.kind, d.row.day) for d in drafts if d.row is not None], stage)
            if fault is None:
                continue
            draft = drafts[fault.index]
            assert draft.row is not None
            before = drafts[fault.index - 1] if fault.index else None
            context: dict[str, object] = {
                "code": code, "move": labels[draft.row.kind], "day": draft.row.day,
                "expected": labels.get(fault.expected or ""), "stage": stage,
                "before": labels[before.row.kind] if before is not None and before.row is not None else None,
                "before_day": before.row.day if before is not None and before.row is not None else None,
                "seen_row": before.key[1] if before is not None else project.key[1],
                "seen_sheet": PROJECT_SHEET if fault.reason == STAGE_DIFFERS else None,
                "stage_column": C_STAGE,
            }
            column = S_DAY if fault.reason == DAY_BEFORE else S_MOVE
            self._reject(draft, column, "stage_" + fault.reason, **context)
            for other in drafts:
                other.ok = False

    def _reject(self, draft: Draft, column: str, reason: str,
                **context: object) -> None:
        draft.ok = False
        self._issue(draft.key, draft.sheet, draft.key[1], column, issue_words(reason, **context))

    def _check_duplicate_projects(self) -> None:
        for draft, seen in repeats(self._projects, lambda d: d.code):
            self._reject(draft, C_CODE, "code_repeated", code=draft.code, **where(seen, draft))

    def _check_duplicate_people(self, known_people: Mapping[str, Collection[Collection[str]]]) -> None:
        """No one twice in one role (the same name and phone), one person (the same name and phone: one row per
        role) with one unit and one title, and no phone number for two people. Rows of one name without a phone
        are one person by their 人员编号 when each has one, else only when they are leaders' rows of one 职务
        (PersonRow.identity), or when the database has exactly one such person, holding all their roles: else
        two namesakes could become one (a liaison acting as the 包抓领导), so the later rows are refused, asking
        for the 手机."""
        read = [d for d in self._people if d.row is not None]
        twice: set[int] = set()
        for draft, seen in repeats(read, lambda d: (person(d), d.role)):
            assert draft.row is not None
            self._reject(draft, P_NAME, "person_repeated", name=draft.name, phone=bool(draft.row.phone),
                         key=None if draft.row.phone else draft.row.key, **where(seen, draft))
            twice.add(id(draft))
        once = [d for d in read if id(d) not in twice]
        no_phone: dict[str, list[PersonDraft]] = {}
        for draft in once:
            if draft.row and not draft.row.phone and draft.name:
                no_phone.setdefault(draft.name, []).append(draft)
        for name, drafts in no_phone.items():
            stored = list(known_people.get(name, ()))
            roles = {d.role for d in drafts}
            one = len({d.row.identity if d.row else None for d in drafts} - {None}) == 1 and all(
                d.row and d.row.identity for d in drafts)  # one 职务 on every row
            numbered = all(d.row and d.row.key for d in drafts)  # each 人员编号 one person, as the export says
            if len(drafts) < 2 or one or numbered or (len(stored) == 1 and roles <= set(stored[0])):
                continue
            for draft in drafts[1:]:
                twice.add(id(draft))
                self._reject(draft, P_PHONE, "namesake_no_phone", name=name, **where(drafts[0], draft))
        once = [d for d in once if id(d) not in twice]
        for attribute in ("unit", "title"):
            for draft, seen in repeats((d for d in once if d.row and getattr(d.row, attribute)), person):
                assert draft.row is not None and seen.row is not None
                if getattr(draft.row, attribute) != getattr(seen.row, attribute):
                    self._reject(draft, P_UNIT, "person_differs", name=draft.name, value=getattr(seen.row, attribute),
                                 phone=bool(draft.row.phone), **where(seen, draft))
        for draft, seen in repeats((d for d in once if d.row and d.row.active is not None), person):
            assert draft.row is not None and seen.row is not None
            if draft.row.active != seen.row.active:
                self._reject(draft, P_STATUS, "person_status_differs", name=draft.name, phone=bool(draft.row.phone),
                             value=STATUS_ACTIVE[0] if seen.row.active else STATUS_STOPPED, **where(seen, draft))
        for draft, owner in repeats(once, lambda d: d.row.phone if d.row else None):
            assert draft.row is not None and owner.row is not None
            if draft.row.name != owner.row.name:  # the same name and phone: the same person in another role
                self._reject(draft, P_PHONE, "phone_used", phone=draft.row.phone, name=owner.row.name,
                             **where(owner, draft))

    def _check_namesake_liaisons(self, known_people: Mapping[str, Collection[Collection[str]]]) -> None:
        """A project row naming its liaison without a 联络员手机 means one person: refused when the roster has
        several 联络员 of that name (told apart by phone or 人员编号) and none of them lists the project under
        负责项目, or when the roster has none of that name and the database several without a phone (it would
        otherwise be read as a new namesake)."""
        liaisons: dict[str, list[PersonDraft]] = {}
        for draft in self._people:
            if draft.ok and draft.row is not None and draft.role == "liaison":
                liaisons.setdefault(draft.row.name, []).append(draft)
        for project in self._projects:
            row = project.row
            if row is None or not row.liaison or row.liaison_phone:
                continue
            rows = liaisons.get(row.liaison, [])
            if any(row.code in d.row.projects for d in rows if d.row is not None):
                continue
            people = {person(d) for d in rows}
            stored = sum(1 for roles in known_people.get(row.liaison, ()) if "liaison" in roles)
            if len(people) > 1 or (not rows and stored > 1):
                self._reject(project, C_LIAISON, "liaison_ambiguous", name=row.liaison, code=row.code,
                             rows=[d.key[1] for d in rows], sheet=rows[0].sheet if rows else None,
                             count=len(people) if rows else stored)

    def _check_units(self, known: set[str]) -> None:
        for draft in self._projects:
            if draft.lead_unit and draft.lead_unit not in known:
                self._reject(draft, C_LEAD_UNIT, "unit_unknown", unit=draft.lead_unit)
            for unit in draft.supporting:
                if unit not in known:
                    self._reject(draft, C_SUPPORTING, "unit_unknown", unit=unit)

    def _check_leads(self, leaders: set[str]) -> None:
        for draft in self._projects:
            if draft.lead_name and draft.lead_name not in leaders:
                self._reject(draft, C_LEAD, "lead_unknown", name=draft.lead_name)


def person(draft: PersonDraft) -> tuple[str | None, str, str | None] | None:
    """Who a roster row is, as far as the rows alone tell: its name with its phone, else with its 人员编号 (two
    numbers are two namesakes), else its name alone (rows of one name without either: checked as one person,
    unless refused as namesakes)."""
    if draft.row is None:
        return None
    if draft.row.phone:
        return (draft.name, "phone", draft.row.phone)
    return (draft.name, "key", draft.row.key) if draft.row.key else (draft.name, "", None)


def repeats(drafts: Iterable[D], key: Callable[[D], Hashable | None]) -> Iterator[tuple[D, D]]:
    """Each draft whose ``key`` an earlier draft has, with the first draft that has it, in order (a None or
    empty key is nobody's)."""
    first: dict[Hashable, D] = {}
    for draft in drafts:
        value = key(draft)
        if not value:
            continue
        seen = first.setdefault(value, draft)
        if seen is not draft:
            yield draft, seen


def where(seen: Draft, draft: Draft) -> dict[str, object]:
    """Where ``seen`` is, for ledger_issue.j2's ``where``: its row, and its sheet when it is not ``draft``'s."""
    return {"seen_sheet": None if seen.sheet == draft.sheet else seen.sheet, "seen_row": seen.key[1]}
