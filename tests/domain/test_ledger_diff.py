"""Planning an import in memory (bot.domain.ledger_diff): what changes, the baseline's day, the conflicts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from bot.domain.ledger_diff import plan_import
from bot.domain.ledger_plan import KnownPerson, KnownProject, LedgerState, ReportTotals
from bot.domain.ledger_rows import Ledger, PersonRow, ProjectRow

TODAY = date(2026, 12, 3)
ROW = ProjectRow(
    row=3, code="ZD2026-001", name="城北高速连接线", category="交通", level="市级", location="城北街道",
    owner="区城投公司", total_investment=Decimal(68000), annual_plan=Decimal(40800), done_before=Decimal(26051),
    stage="在建", planned_start=None, planned_finish=None, lead_official=None, lead_official_title=None,
    lead_unit="区住建局", supporting_units=(), liaison="郝芳", liaison_phone="13900007919",
)
HAO = KnownPerson(1, "郝芳", "13900007919", None, 10, True, {"liaison"})
YAN = KnownPerson(2, "严超", "13900000002", None, 10, True, {"liaison"})


def _state(*, liaison: int = 1, reports: int = 0, hao_active: bool = True,
           handed_over: bool = False, plans: dict[int, Decimal] | None = None) -> LedgerState:
    values = {"name": ROW.name, "category": ROW.category, "level": ROW.level, "location": ROW.location,
              "owner": ROW.owner, "total_investment": Decimal("68000.0000"), "annual_plan": Decimal("40800.0000"),
              "done_before": Decimal("26051.0000"), "stage": "在建", "planned_start": None, "planned_finish": None,
              "baseline_year": 2026, "baseline_date": date(2026, 10, 31), "lead_official_id": None,
              "liaison_id": liaison, "lead_unit_id": 10}
    totals = {100: ReportTotals(Decimal(1000), reports, Decimal(1000), reports, Decimal(0))} if reports else {}
    return LedgerState(
        units={"区住建局": 10}, people=[replace(HAO, active=hao_active), YAN],
        projects={ROW.code: KnownProject(100, ROW.code, values, ())},
        changed_in_chat={(ROW.code, "liaison")} if handed_over else set(), reports=totals,
        plans={100: Decimal("40800.0000")} if plans is None else plans)


def test_an_unchanged_ledger_plans_nothing() -> None:
    plan = plan_import(Ledger(projects=[ROW]), _state(), today=TODAY, as_of=None, as_of_source=None)
    assert (plan.changes, plan.conflicts, dict(plan.unchanged)) == ([], [], {"project": 1})
    assert plan.project_updates == [] and plan.new_people == []


def test_a_ledger_of_a_new_year_sets_that_years_plan_from_none() -> None:
    """The 2027 ledger meets no 2027 plan (the state holds the plans of the ledger's year): its plan is a
    change from none, written for 2027 alone; the same figure as 2026's is still written."""
    ledger = Ledger(projects=[replace(ROW, done_before=Decimal(500))])
    plan = plan_import(ledger, _state(plans={}), today=date(2027, 1, 8), as_of=date(2027, 1, 7),
                       as_of_source="given")
    assert plan.plans == [(100, Decimal("40800.0000"))]
    [change] = plan.changes
    assert ("annual_plan", None, Decimal("40800.0000")) in [(f.field, f.before, f.after) for f in change.fields]
    same_year = plan_import(Ledger(projects=[ROW]), _state(), today=TODAY, as_of=None, as_of_source=None)
    assert same_year.plans == []


def test_a_changed_baseline_needs_its_day_only_when_reports_could_be_counted_twice() -> None:
    ledger = Ledger(projects=[replace(ROW, done_before=Decimal(27051))])
    assert plan_import(ledger, _state(reports=1), today=TODAY, as_of=None, as_of_source=None).needs_as_of
    quiet = plan_import(ledger, _state(), today=TODAY, as_of=None, as_of_source=None)
    # undated, as the header says (截至上月累计完成): the end of last month
    assert (quiet.needs_as_of, quiet.as_of, quiet.as_of_source) == (False, date(2026, 11, 30), "default")
    asked = plan_import(ledger, _state(reports=1), today=TODAY, as_of=None, as_of_source=None)
    assert asked.as_of_reason == "reports"
    dated = plan_import(ledger, _state(reports=1), today=TODAY, as_of=date(2026, 11, 30), as_of_source="given")
    [change] = dated.changes
    assert [(f.field, f.before, f.after) for f in change.fields] == [
        ("done_before", Decimal("26051.0000"), Decimal("27051.0000")),
        ("baseline_date", date(2026, 10, 31), date(2026, 11, 30))]
    [ytd] = dated.year_to_date
    assert (ytd.before, ytd.after, ytd.covered_reports) == (Decimal(27051), Decimal(27051), 1)


def test_a_handover_done_in_the_chat_is_a_conflict_kept_by_default() -> None:
    state = _state(liaison=2, handed_over=True)
    kept = plan_import(Ledger(projects=[ROW]), state, today=TODAY, as_of=None, as_of_source=None)
    [conflict] = kept.conflicts
    assert (conflict.kind, conflict.chat, conflict.file, conflict.choice) == ("handover", "严超", "郝芳", "keep")
    assert kept.project_updates == []
    taken = plan_import(Ledger(projects=[ROW]), state, today=TODAY, as_of=None, as_of_source=None,
                        choices={conflict.key: "file"})
    [update] = taken.project_updates
    assert update["values"]["liaison_id"] == 1
    # Without a chat handover, a different liaison in the file is a plain change.
    plain = plan_import(Ledger(projects=[ROW]), _state(liaison=2), today=TODAY, as_of=None, as_of_source=None)
    assert plain.conflicts == [] and [f.field for f in plain.changes[0].fields] == ["liaison"]


def test_a_deactivated_person_stays_so_and_absent_rows_are_listed() -> None:
    roster = [PersonRow(2, "严超", "liaison", "区住建局", None, "13900000002", ())]
    ledger = Ledger(projects=[replace(ROW, code="ZD2026-002")], people=roster)
    plan = plan_import(ledger, _state(hao_active=False), today=TODAY, as_of=None, as_of_source=None)
    assert [(c.kind, c.choice) for c in plan.conflicts] == [  # no 在用 in the file: nothing to choose
        ("deactivated", None), ("absent_project", None)]
    [new] = plan.new_projects
    assert new["liaison"] is None  # 郝芳 stays deactivated: not made liaison of the new project
    assert plan.person_updates == []


def test_a_roster_s_status_keeps_the_deactivated_so_adds_them_so_and_alone_may_bring_them_back() -> None:
    """停用 for 郝芳 (deactivated, the project's liaison): no conflict, she stays its liaison and deactivated; 停用
    for someone new: added deactivated; 停用 for 严超 (active): listed, kept active; 在用 for 郝芳: she may be
    brought back, as chosen."""
    roster = [PersonRow(2, "郝芳", "liaison", "区住建局", None, "13900007919", (), False),
              PersonRow(3, "严超", "liaison", "区住建局", None, "13900000002", (), False),
              PersonRow(4, "张三", "unit", "区住建局", None, "13900000003", (), False)]
    plan = plan_import(Ledger(projects=[ROW], people=roster), _state(hao_active=False), today=TODAY, as_of=None,
                       as_of_source=None)
    assert [(c.kind, c.subject, c.choice) for c in plan.conflicts] == [("stop_marked", "严超", None)]
    assert [(p.name, p.active) for p in plan.new_people] == [("张三", False)]
    assert plan.person_updates == [] and plan.project_updates == []
    said = [replace(roster[0], active=True)]
    for choice, active in (("keep", False), ("file", True)):
        plan = plan_import(Ledger(projects=[ROW], people=said), _state(hao_active=False), today=TODAY, as_of=None,
                           as_of_source=None, choices={"deactivated:1": choice})
        assert [(c.kind, c.choice) for c in plan.conflicts if c.kind == "deactivated"] == [("deactivated", choice)]
        assert [p.active for p in plan.person_updates] == ([active] if active else [])


def test_a_finished_projects_finish_day_is_a_change_only_when_the_ledger_dates_it_earlier_or_at_all() -> None:
    """A project 竣工 in the database and in the ledger: its 竣工日期 is a change (and a 竣工 the import records)
    when none is recorded or the ledger's is earlier; a later or equal one, or a project not finished, is not."""
    finished = replace(ROW, stage="竣工", finished_on=date(2026, 11, 20))

    def dated(recorded: date | None, row: ProjectRow = finished, stage: str = "竣工") -> list[tuple]:
        state = _state()
        state.projects[ROW.code].values["stage"] = stage
        if recorded is not None:
            state.finish_days = {100: recorded}
        plan = plan_import(Ledger(projects=[row]), state, today=TODAY, as_of=None, as_of_source=None)
        assert plan.stage_days == {ROW.code: (None, row.finished_on)}
        return [(f.field, f.before, f.after, u["finish_dated"]) for c, u in zip(plan.changes, plan.project_updates,
                                                                             strict=True) for f in c.fields]

    assert dated(None) == [("finish_day", None, date(2026, 11, 20), True)]
    assert dated(date(2026, 12, 1)) == [("finish_day", date(2026, 12, 1), date(2026, 11, 20), True)]
    assert dated(date(2026, 11, 20)) == dated(date(2026, 11, 1)) == []
    assert dated(None, replace(finished, stage="在建"), stage="在建") == []


def test_a_move_made_in_the_chat_after_the_ledger_s_day_is_a_conflict_kept_by_default() -> None:
    """ZD2026-001 confirmed 竣工 in the chat on 12-15; a ledger 截至 12-14 still says 在建:
    the file was drawn up before the finish, so the stage is a conflict, 竣工 kept unless the office takes the
    file's. A move on or before the ledger's day, or a stage the file does not move (竣工 → 投产), is no conflict."""

    def planned(moved: date | None, stage: str = "在建", choice: str | None = None) -> tuple[list[tuple], list]:
        state = _state()
        state.projects[ROW.code].values.update(stage="竣工", baseline_date=date(2026, 12, 14))
        state.moved_in_chat = {100: moved} if moved else {}
        plan = plan_import(Ledger(projects=[replace(ROW, stage=stage)]), state, today=date(2026, 12, 15),
                           as_of=date(2026, 12, 14), as_of_source="file",
                           choices={"stage_moved:ZD2026-001": choice} if choice else None)
        conflicts = [(c.kind, c.chat, c.file, c.day, c.choice) for c in plan.conflicts]
        return conflicts, [(f.field, f.before, f.after) for c in plan.changes for f in c.fields]

    kept = ("stage_moved", "竣工", "在建", date(2026, 12, 15), "keep")
    assert planned(date(2026, 12, 15)) == ([kept], [])
    assert planned(date(2026, 12, 15), choice="file") == ([(*kept[:4], "file")], [("stage", "竣工", "在建")])
    assert planned(date(2026, 12, 14)) == planned(None) == ([], [("stage", "竣工", "在建")])
    assert planned(date(2026, 12, 15), stage="投产") == ([], [("stage", "竣工", "投产")])


def test_an_undated_ledger_in_january_asks_which_year_it_is_for() -> None:
    """In January 「截至上月」 is last December: the plans would go to last year unless the day is said."""
    plan = plan_import(Ledger(projects=[ROW]), _state(), today=date(2027, 1, 8), as_of=None, as_of_source=None)
    assert (plan.needs_as_of, plan.as_of_reason) == (True, "new_year")
    dated = plan_import(Ledger(projects=[ROW]), _state(plans={}), today=date(2027, 1, 8), as_of=date(2027, 1, 7),
                        as_of_source="given")
    assert not dated.needs_as_of and dated.plans == [(100, Decimal("40800.0000"))]
    assert not plan_import(Ledger(people=[]), _state(), today=date(2027, 1, 8), as_of=None,
                           as_of_source=None).needs_as_of  # a node sheet or a roster alone has no baseline


def test_namesakes_without_a_phone_in_two_roles_stay_two_people() -> None:
    """A 包抓领导 王伟 with only a 职务 and a 联络员 王伟 with only a 单位, no phone on either row: two people,
    so that the liaison's account never acts as the leader."""
    people = [PersonRow(2, "王伟", "lead", None, "副区长", None, ()),
              PersonRow(3, "王伟", "liaison", "区住建局", None, None, ())]
    plan = plan_import(Ledger(people=people), _state(), today=TODAY, as_of=None, as_of_source=None)
    assert sorted((p.name, tuple(sorted(p.roles)), p.title) for p in plan.new_people) == [
        ("王伟", ("lead",), "副区长"), ("王伟", ("liaison",), None)]


def test_rows_of_one_person_without_a_phone_join_by_the_same_title_or_through_the_stored_person() -> None:
    """One 职务 on both leader rows is one person; a stored 王伟 without a phone who is both 包抓领导 and 联络员
    (as the export writes him: a row per role) is found again by each row, and nobody is added."""
    leader = [PersonRow(2, "刘文华", "lead", None, "副区长", None, ()),
              PersonRow(3, "刘文华", "top", None, "副区长", None, ())]
    plan = plan_import(Ledger(people=leader), _state(), today=TODAY, as_of=None, as_of_source=None)
    assert [(p.name, sorted(p.roles)) for p in plan.new_people] == [("刘文华", ["lead", "top"])]
    wang = KnownPerson(3, "王伟", None, "副区长", 10, True, {"lead", "liaison"})
    state = replace(_state(), people=[HAO, YAN, wang])
    rows = [PersonRow(2, "王伟", "lead", None, "副区长", None, ()),
            PersonRow(3, "王伟", "liaison", "区住建局", None, None, ())]
    again = plan_import(Ledger(people=rows), state, today=TODAY, as_of=None, as_of_source=None)
    assert (again.new_people, again.person_updates, again.new_roles) == ([], [], [])
    assert again.unchanged["person"] == 1


def test_namesakes_numbered_apart_are_two_people_and_one_number_is_one() -> None:
    apart = [PersonRow(2, "王伟", "lead", None, "副区长", None, (), key="12"),
             PersonRow(3, "王伟", "liaison", "区住建局", None, None, (), key="13")]
    plan = plan_import(Ledger(people=apart), _state(), today=TODAY, as_of=None, as_of_source=None)
    assert sorted(tuple(sorted(p.roles)) for p in plan.new_people) == [("lead",), ("liaison",)]
    joined = [replace(row, key="12") for row in apart]
    plan = plan_import(Ledger(people=joined), _state(), today=TODAY, as_of=None, as_of_source=None)
    assert [sorted(p.roles) for p in plan.new_people] == [["lead", "liaison"]]


def test_the_number_the_export_writes_finds_its_own_namesake_of_one_unit_and_role() -> None:
    """Two 联络员 王伟 of 区住建局 without a phone, the second deactivated: the export's rows (人员编号 = the stored
    person's own, the deactivated one first, 停用) find each his own, and nothing changes; new namesakes numbered
    apart in one role are two people."""
    active = KnownPerson(7, "王伟", None, None, 10, True, {"liaison"})
    stopped = KnownPerson(8, "王伟", None, None, 10, False, {"liaison"})
    state = replace(_state(), people=[HAO, YAN, active, stopped])
    rows = [PersonRow(2, "王伟", "liaison", "区住建局", None, None, (), active=False, key="8"),
            PersonRow(3, "王伟", "liaison", "区住建局", None, None, (), key="7")]
    plan = plan_import(Ledger(people=rows), state, today=TODAY, as_of=None, as_of_source=None)
    assert (plan.new_people, plan.person_updates) == ([], [])
    assert [c.kind for c in plan.conflicts] == ["absent_person", "absent_person"]  # 郝芳 and 严超 are not in it
    assert plan.unchanged["person"] == 2
    fresh = plan_import(Ledger(people=rows), _state(), today=TODAY, as_of=None, as_of_source=None)
    assert [(p.name, p.active) for p in fresh.new_people] == [("王伟", False), ("王伟", True)]
