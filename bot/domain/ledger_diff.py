"""What importing a checked ledger would change, worked out in memory against what the database holds.

`plan_import` is pure: it takes the ledger's rows and a snapshot of the units, people and projects already
stored (`LedgerState`, read by storage.ledger_state in a few set-based queries), and returns an `ImportPlan`:
the rows to insert and update (storage.ledger_import writes them in bulk), every change field by field
(shown in the preview and kept in the audit trail), and the conflicts with work done in the chat.

Rules, as a careful 区项目办 expects them:

- People are matched (bot.domain.ledger_people) by phone; else by name with the same role and the same title or
  unit; else the only person of that name and role. Roster rows of one name and phone are one person, a row for
  each of their roles; rows of one name without a phone are one person by their 人员编号 or a leader's one 职务
  (PersonRow.identity; the number is the one typed for the person, kept and exported, else the stored person's
  id, which the export writes for one without a phone; rows of two numbers are never one person, even in one
  role), else only through a stored person (each row matched on its own, by name and role):
  two namesakes without a phone, a 包抓领导 with a 职务 and a 联络员 with a 单位, stay two people
  (bot.ledger.cross_checks refuses such rows unless the database has exactly one such person holding their
  roles). A project row's liaison or lead without a phone is the person of the roster row whose 负责项目 names
  the project, when one does. Units by name. Projects by 项目编号.
- A roster row's 状态 停用 keeps a deactivated person so (no conflict: the file agrees; he takes no post he
  does not hold) and adds a new person deactivated, so that an exported ledger imported elsewhere still names
  the people of its history; it does not deactivate an active person (that is /deactivate's, which lists what
  to hand over): listed as a conflict, kept active.
- Nothing is deleted by omission: projects and people in the database but absent from the file are listed
  and kept (people only when the file has a roster), and so are the units with open problems that neither its
  projects nor its roster name (a unit renamed in the file is a new unit: the old one keeps its problems).
- Conflicts with the chat, decided per conflict by `choices` (key → "keep" | "file"; default "keep"):
  a deactivated person the file names (keep: stays deactivated and is not made liaison or lead of a
  project; file: active again; offered only when his roster row says 在用: a file that does not say so never
  brings him back), and a liaison or lead changed in the chat (/handover,
  /project_set) since the last import that the file would revert (keep: the chat's choice stays). A project
  with a 开工 recorded (in the chat, or by an earlier ledger) that the file lists as 谋划/前期 stays in its stage:
  no move takes a stage history back before a 开工 (listed, nothing to choose). A project whose stage moved in
  the chat (a 开工, 竣工 or reopening confirmed there) on a day after the ledger's baseline day, the file drawn
  up before it, is a conflict when the file's stage would move it again (keep: the chat's
  stage stays; file: the file's stage, and the move it makes, as any change of stage).
- Each year has its own annual plan: the file's plan is the plan of the year it is for (the year of its
  baseline's day), compared with the plan stored for that year (none yet: a change from none), and
  written for that year only; earlier years' plans are kept.
- The baseline (截至某日累计完成) is dated: a changed baseline takes the import's `as_of` day. Without a day,
  a baseline is dated as the template's header says, 截至上月: the last day of the month before the import
  (`default_day`), when no report of the year could be covered by it. Otherwise (a report of the year, or an
  import in January, whose 上月 is last year's December: is the file last year's ledger or this year's?) the
  plan says `needs_as_of`, with the reason, and nothing may be written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bot.domain.labels import LIST_SEPARATOR
from bot.domain.ledger_people import PeopleMatcher
from bot.domain.ledger_plan import (
    FILE,
    HELD_FIELDS,
    KEEP,
    MONEY_FIELDS,
    ONE_YUAN,
    PROJECT_FIELDS,
    Conflict,
    FieldChange,
    ImportPlan,
    KnownPerson,
    KnownProject,
    LedgerState,
    ReportTotals,
    RowChange,
    YearToDate,
)
from bot.domain.ledger_rows import Ledger, ProjectRow
from bot.domain.ledger_stages import FINISH_DAY, START_DAY, moved_since, stage_changes, stage_histories, start_kept
from bot.domain.year_to_date import baseline_on


def money(amount: Decimal) -> Decimal:
    """An amount as stored (whole 元)."""
    return Decimal(amount).quantize(ONE_YUAN, rounding=ROUND_HALF_UP)


def needs_day(ledger: Ledger, state: LedgerState) -> bool:
    """Whether the baseline's day matters: some project whose baseline the file sets or changes already has
    reports this year (up to the import day), so the day decides which of them the baseline covers."""
    for row in ledger.projects:
        known = state.projects.get(row.code)
        if known is not None and money(row.done_before) == known.values["done_before"]:
            continue
        if known is not None and state.reports.get(known.id, ReportTotals()).year_count:
            return True
    return False


def default_day(today: date) -> date | None:
    """The baseline's day of a ledger that does not name one, as its header says (截至上月累计完成): the last
    day of the month before `today`; None in January (上月 is last year's: the day must be asked)."""
    day = today.replace(day=1) - timedelta(days=1)
    return day if day.year == today.year else None


def plan_import(ledger: Ledger, state: LedgerState, *, today: date, as_of: date | None,
                as_of_source: str | None, choices: Mapping[str, str] | None = None,
                default_choice: str = KEEP) -> ImportPlan:
    """The plan for importing `ledger` on `today` (see the module's rules). `as_of` is the baseline's day,
    from the file or the person importing; None lets the plan date it the last day of the month before `today`
    (`default_day`) when that covers no report (else `needs_as_of`). A conflict not in `choices` gets
    `default_choice`."""
    default = default_day(today)
    reports = as_of is None and needs_day(ledger, state)
    if as_of is None and (reports or (default is None and ledger.projects)):
        reason = "reports" if reports else "new_year"
        return ImportPlan(as_of=None, as_of_source=None, needs_as_of=True, as_of_reason=reason)
    source: Any = as_of_source if as_of is not None else "default"
    return _Planner(state, today=today, as_of=as_of or default or today - timedelta(days=1), source=source,
                    given=as_of is not None, choices=choices or {}, default_choice=default_choice).plan(ledger)


class _Planner:
    def __init__(self, state: LedgerState, *, today: date, as_of: date, source: Any, given: bool,
                 choices: Mapping[str, str], default_choice: str) -> None:
        self.state, self.today, self.as_of, self.given, self.choices = state, today, as_of, given, choices
        self.default_choice = default_choice
        self.result = ImportPlan(as_of=as_of, as_of_source=source)
        self.conflict_keys: set[str] = set()
        self.people = PeopleMatcher(state, self.result, self._conflict)

    def plan(self, ledger: Ledger) -> ImportPlan:
        self.people.read_roster(ledger)
        self.result.histories, self.result.histories_kept = stage_histories(ledger.stages, self.state)
        codes = set()
        for row in ledger.projects:
            codes.add(row.code)
            self._project_row(row)
        result = self.result
        result.person_updates = list(self.people.touched.values())
        for known in self.state.projects.values() if ledger.projects else ():  # (a roster or nodes alone)
            if known.code not in codes:
                self._conflict(Conflict(f"absent_project:{known.code}", "absent_project",
                                        f"{known.code} {known.values['name']}", choice=None))
        if ledger.people:
            self.people.list_absent()
        if ledger.people and ledger.projects:
            self._absent_units(ledger)
        return result

    def _absent_units(self, ledger: Ledger) -> None:
        """A unit of the database that neither the projects nor the roster name, and that still has open problems
        to handle: listed with how many (a unit renamed in the ledger is a new unit; the old one keeps them)."""
        named = {row.unit for row in ledger.people if row.unit}
        for row in ledger.projects:
            named |= {row.lead_unit, *row.supporting_units}
        for name, unit_id in self.state.units.items():
            if name not in named and self.state.open_problems.get(unit_id):
                self._conflict(Conflict(f"absent_unit:{unit_id}", "absent_unit", name,
                                        file=str(self.state.open_problems[unit_id]), choice=None))

    # conflicts ---------------------------------------------------------------------------------

    def _conflict(self, conflict: Conflict) -> str | None:
        """Record a conflict once; the admin's choice for it (None when there is nothing to choose)."""
        if conflict.choice is not None:
            choice = FILE if self.choices.get(conflict.key, self.default_choice) == FILE else KEEP
            conflict = replace(conflict, choice=choice)
        if conflict.key not in self.conflict_keys:
            self.conflict_keys.add(conflict.key)
            self.result.conflicts.append(conflict)
        return conflict.choice

    # projects ----------------------------------------------------------------------------------

    def _project_row(self, row: ProjectRow) -> None:
        if row.started_on is not None or row.finished_on is not None:
            self.result.stage_days[row.code] = (row.started_on, row.finished_on)
        lead_unit = self.people.unit(row.lead_unit)
        supporting = tuple(self.people.unit(name) for name in row.supporting_units)
        lead = liaison = None
        if row.lead_official:
            lead = self.people.person(name=row.lead_official, role="lead", phone=None,
                                      title=row.lead_official_title, unit_name=None, post=row.code)
        if row.liaison:
            liaison = self.people.person(name=row.liaison, role="liaison", phone=row.liaison_phone, title=None,
                                         unit_name=None, post=row.code)
        wanted: dict[str, Any] = {k: getattr(row, k) for k in PROJECT_FIELDS}
        for key in MONEY_FIELDS:
            wanted[key] = money(wanted[key])
        wanted["lead_unit_id"] = lead_unit
        known = self.state.projects.get(row.code)
        if known is None:
            wanted.update(code=row.code, baseline_year=self.as_of.year, baseline_date=self.as_of,
                          lead_official=lead, liaison=liaison, supporting=supporting)
            self.result.new_projects.append(wanted)
            self.result.added["project"] += 1
            self.result.changes.append(RowChange("project", "add", row.code, row.name,
                                                 (FieldChange("annual_plan", None, wanted["annual_plan"]),)))
            self._year_to_date(row, None, wanted)
            return
        # The plan compared is the one of the ledger's year (none yet when the ledger opens a new year).
        before = {**known.values, "annual_plan": self.state.plans.get(known.id)}
        if before["annual_plan"] != wanted["annual_plan"]:
            self.result.plans.append((known.id, wanted["annual_plan"]))
        names = self.people.names
        fields: list[FieldChange] = []
        people = {"lead_official": (lead, row.lead_official), "liaison": (liaison, row.liaison)}
        for name, (person, named) in people.items():
            current = before[f"{name}_id"]
            target: int | KnownPerson | None = person.id if person and person.id is not None else person
            blocked = bool(named) and person is None  # a deactivated person, kept so: cannot take the post
            same = target == current or (blocked and named == names.get(current))
            if not same and (row.code, name) in self.state.changed_in_chat and current is not None:
                choice = self._conflict(Conflict(f"handover:{row.code}:{name}", "handover",
                                                 f"{row.code} {row.name}", chat=names.get(current, ""),
                                                 file=named or None, field=name, blocked=blocked))
                if choice == KEEP:
                    target = current
            if blocked:
                target = current
                if not same:  # a person the roster marks 停用 named for a post he does not hold
                    for stopped in self.people.stopped_named(named or ""):
                        self._conflict(Conflict(f"deactivated:{stopped.id}", "deactivated", stopped.name, choice=None))
            wanted[f"{name}_id"] = target
            if target != current:
                fields.append(FieldChange(name, names.get(current) if current else None,
                                          person.name if person else None))
        started_on = start_kept(known, self.state, before["stage"], wanted["stage"])
        if started_on is not None:
            self._conflict(Conflict(f"stage_kept:{row.code}", "stage_kept", f"{row.code} {row.name}",
                                    chat=before["stage"], file=wanted["stage"], choice=None, day=started_on))
            wanted["stage"] = before["stage"]
        moved_on = moved_since(known, self.state, before["stage"], wanted["stage"], self.as_of)
        if moved_on is not None:
            choice = self._conflict(Conflict(f"stage_moved:{row.code}", "stage_moved", f"{row.code} {row.name}",
                                             chat=before["stage"], file=wanted["stage"], day=moved_on))
            if choice == KEEP:
                wanted["stage"] = before["stage"]
        if self.given or money(row.done_before) != before["done_before"]:
            if before["baseline_date"] != self.as_of or before["baseline_year"] != self.as_of.year:
                wanted.update(baseline_year=self.as_of.year, baseline_date=self.as_of)
        people_keys = ("lead_official_id", "liaison_id")
        unit_names = {v: k for k, v in self.people.units.items()}
        fields = [FieldChange(k, before[k], v) for k, v in wanted.items()
                  if k not in (*people_keys, "lead_unit_id") and before[k] != v] + fields
        if wanted["lead_unit_id"] != before["lead_unit_id"]:
            fields.append(FieldChange("lead_unit", unit_names.get(before["lead_unit_id"]), row.lead_unit))
        fields += stage_changes(row, known, self.state, self.result.histories, before["stage"], wanted["stage"])
        new_supporting = supporting if supporting != known.supporting else None
        if new_supporting is not None:
            fields.append(FieldChange("supporting_units",
                                      LIST_SEPARATOR.join(unit_names.get(u, "") for u in known.supporting),
                                      LIST_SEPARATOR.join(row.supporting_units)))
        if not fields:
            self.result.unchanged["project"] += 1
            self._year_to_date(row, known, {**before, **wanted})
            return
        values = {**before, **wanted}
        self.result.project_updates.append({"id": known.id, "code": row.code, "values": values,
                                            "supporting": new_supporting, "stage_before": before["stage"],
                                            "finish_dated": any(f.field == FINISH_DAY for f in fields),
                                            "start_dated": any(f.field == START_DAY for f in fields),
                                            "held": any(values[k] != before[k] for k in HELD_FIELDS)})
        self.result.changed["project"] += 1
        self.result.changes.append(RowChange("project", "update", row.code, row.name, tuple(fields)))
        self._year_to_date(row, known, values)

    def _year_to_date(self, row: ProjectRow, known: KnownProject | None, after: Mapping[str, Any]) -> None:
        """Year-to-date today before and after (bot.domain.year_to_date), when the import changes it."""
        totals = self.state.reports.get(known.id, ReportTotals()) if known else ReportTotals()
        before = Decimal(0)
        if known is not None:
            values = known.values
            before = (baseline_on(values["done_before"], values["baseline_year"], self.today)
                      + totals.year_sum - totals.old_covered_sum)
        covered = after.get("baseline_date") == self.as_of and after.get("baseline_year") == self.today.year
        new_after = (baseline_on(after["done_before"], after["baseline_year"], self.today) + totals.year_sum
                     - (totals.new_covered_sum if covered else totals.old_covered_sum))
        count = totals.new_covered_count if covered else 0
        self.result.covered_reports += count
        rebased = known is not None and after["done_before"] != known.values["done_before"]
        if known is None or new_after != before or rebased:
            self.result.year_to_date.append(YearToDate(row.code, row.name, before, new_after, count, known is None))
