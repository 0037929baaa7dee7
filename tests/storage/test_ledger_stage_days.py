"""The ledger import records the day a project it makes finished (竣工/投产) is so from, or the day one it takes
back from finished is open again (storage, both databases): the day of the import, not the ledger's 截至 day,
and the project's audit entry says so."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select, update

from bot.clock import SHANGHAI, FrozenClock
from bot.domain.digest_settings import DigestSettings
from bot.domain.periods import parse_period
from bot.domain.workdays import WorkCalendar
from bot.render import Renderer, html_to_plain
from bot.services.ledger_import import import_ledger_files
from bot.services.standings import compute_standings
from jobs.bulletin_render import render_bulletin
from storage import stage_events
from storage.audit import Actor
from storage.db import Database
from storage.models import AuditEntry, Project, StageEvent

from .factories import SAMPLE_PEOPLE_CSV, SAMPLE_PROJECTS_CSV
from .test_ledger_import import _set, edited_projects_csv

CODE = "ZD2026-001"


async def _events(db: Database) -> list[tuple[str, str, date, str]]:
    async with db.session() as session:
        rows = await session.execute(select(Project.code, StageEvent.kind, StageEvent.day, StageEvent.state)
                                     .join(Project, Project.id == StageEvent.project_id).order_by(StageEvent.id))
        return [tuple(row) for row in rows.all()]


async def _audit(db: Database, code: str) -> list[dict]:
    async with db.session() as session:
        found = await session.scalars(select(AuditEntry).where(AuditEntry.object_key == code,
                                                               AuditEntry.object_type == "project")
                                      .order_by(AuditEntry.id))
        return [entry.detail for entry in found.all()]


async def test_the_import_records_the_day_a_project_it_finishes_is_finished_from(
        db: Database, clock: FrozenClock, actor: Actor, tmp_path: Path) -> None:
    first = await import_ledger_files(db, clock, [SAMPLE_PROJECTS_CSV, SAMPLE_PEOPLE_CSV], actor=actor)
    assert first.written
    added = date(2026, 11, 23)  # the sample's three projects added already 竣工: finished from the import's day
    assert await _events(db) == [(code, "finish", added, "confirmed")
                                 for code in ("ZD2026-021", "ZD2026-022", "ZD2026-023")]
    [created] = await _audit(db, "ZD2026-021")
    assert created["stage_day"] == "2026-11-23" and created["stage_day_from"] == "change"

    # on 1 December, a ledger dated the end of November says ZD2026-001 is 竣工: finished from the import's day
    # (bulletins already sent stay as they were), not from the 30th
    clock.advance(days=8)
    files = [edited_projects_csv(tmp_path, _set(CODE, "建设阶段", "竣工")), SAMPLE_PEOPLE_CSV]
    dry = await import_ledger_files(db, clock, files, actor=actor, as_of=date(2026, 11, 30), dry_run=True)
    assert not dry.written and len(await _events(db)) == 3  # a dry run records nothing
    assert (await import_ledger_files(db, clock, files, actor=actor, as_of=date(2026, 11, 30))).written
    assert (await _events(db))[3:] == [(CODE, "finish", date(2026, 12, 1), "confirmed")]
    async with db.session() as session:
        project = await session.scalar(select(Project).where(Project.code == CODE))
        assert project is not None and project.stage == "竣工"
        assert await stage_events.finish_day(session, project_id=project.id) == date(2026, 12, 1)
    updated = (await _audit(db, CODE))[-1]
    assert updated["changed"]["stage"] == "竣工" and updated["before"]["stage"] == "在建"
    assert (updated["stage_move"], updated["stage_day_from"]) == ("finish", "change")

    # the next ledger says 在建 again (it was a mistake): open again from that import's day; importing the same
    # file again records nothing more
    clock.advance(days=2)
    back = [SAMPLE_PROJECTS_CSV, SAMPLE_PEOPLE_CSV]
    assert (await import_ledger_files(db, clock, back, actor=actor, as_of=date(2026, 11, 30))).written
    assert (await _events(db))[4:] == [(CODE, "reopen", date(2026, 12, 3), "confirmed")]
    assert (await _audit(db, CODE))[-1]["stage_move"] == "reopen"
    await import_ledger_files(db, clock, back, actor=actor, as_of=date(2026, 11, 30))
    assert len(await _events(db)) == 5


DAYS = ("实际开工", "竣工日期")


def _days(*edits: tuple[str, str, str, str]) -> Callable[[dict[str, str]], None]:
    """Set (code, 建设阶段, 实际开工, 竣工日期) of these rows."""
    def edit(row: dict[str, str]) -> None:
        for code, stage, started, finished in edits:
            if row["项目编号"] == code:
                row.update({"建设阶段": stage, "实际开工": started, "竣工日期": finished})
    return edit


async def test_a_ledger_with_the_start_and_finish_days_dates_the_moves_by_them(
        db: Database, clock: FrozenClock, actor: Actor, tmp_path: Path) -> None:
    """On 1 December a ledger with the columns 实际开工 and 竣工日期: ZD2026-002 (前期) started on 10 November,
    ZD2026-001 (在建, with no 开工 recorded) started on 1 March 2025 and finished on 25 November, ZD2026-003 (前期)
    started with no day given: each from its day, the last from the import's; the audit says the ledger gave
    the day."""
    assert (await import_ledger_files(db, clock, [SAMPLE_PROJECTS_CSV, SAMPLE_PEOPLE_CSV], actor=actor)).written
    clock.advance(days=8)
    edit = _days(("ZD2026-002", "在建", "2026-11-10", ""), (CODE, "竣工", "2025-03-01", "2026-11-25"),
                 ("ZD2026-003", "在建", "", ""))
    files = [edited_projects_csv(tmp_path, edit, columns=DAYS), SAMPLE_PEOPLE_CSV]
    assert (await import_ledger_files(db, clock, files, actor=actor, as_of=date(2026, 11, 30))).written
    # ZD2026-001 had no 开工 recorded: the ledger's 实际开工 gives it one, before its 竣工
    assert sorted((await _events(db))[3:]) == [(CODE, "finish", date(2026, 11, 25), "confirmed"),
                                               (CODE, "start", date(2025, 3, 1), "confirmed"),
                                               ("ZD2026-002", "start", date(2026, 11, 10), "confirmed"),
                                               ("ZD2026-003", "start", date(2026, 12, 1), "confirmed")]
    started = (await _audit(db, "ZD2026-002"))[-1]
    assert (started["stage_move"], started["stage_day"], started["stage_day_from"]) == (
        "start", "2026-11-10", "ledger")
    assert (await _audit(db, "ZD2026-003"))[-1]["stage_day_from"] == "change"


async def test_a_start_or_finish_day_to_come_or_a_finish_before_the_start_is_refused(
        db: Database, clock: FrozenClock, actor: Actor, tmp_path: Path) -> None:
    """Nothing is written, and each issue names the row and the column."""
    assert (await import_ledger_files(db, clock, [SAMPLE_PROJECTS_CSV, SAMPLE_PEOPLE_CSV], actor=actor)).written
    edit = _days((CODE, "竣工", "2026-03-01", "2026-11-24"), ("ZD2026-002", "在建", "2026-12-01", ""),
                 ("ZD2026-003", "竣工", "2026-10-01", "2026-09-30"))
    files = [edited_projects_csv(tmp_path, edit, columns=DAYS), SAMPLE_PEOPLE_CSV]
    result = await import_ledger_files(db, clock, files, actor=actor, as_of=date(2026, 11, 20))
    assert not result.written and len(await _events(db)) == 3
    issues = {(issue.row, issue.column): str(issue) for issue in result.issues}
    assert issues.keys() == {(2, "竣工日期"), (3, "实际开工"), (4, "竣工日期")}
    assert "2026-11-24晚于今天（2026-11-23）" in issues[2, "竣工日期"], issues
    assert "第3行" in issues[3, "实际开工"] and "实际开工" in issues[3, "实际开工"]
    assert "竣工日期（2026-09-30）早于实际开工（2026-10-01）" in issues[4, "竣工日期"]


async def test_a_ledger_dates_the_finish_of_a_project_already_finished_earlier_than_recorded(
        db: Database, clock: FrozenClock, actor: Actor, tmp_path: Path) -> None:
    """The sample adds ZD2026-021/022/023 finished on the import's day (23 November); a week later a ledger
    gives their 竣工日期: 1 October dates ZD2026-021's finish (the preview and the audit say so), a day after
    the recorded one (ZD2026-022) changes nothing; imported again, nothing more is recorded."""
    assert (await import_ledger_files(db, clock, [SAMPLE_PROJECTS_CSV, SAMPLE_PEOPLE_CSV], actor=actor)).written
    clock.advance(days=8)  # 1 December: the base's day, 30 November, is over
    edit = _days(("ZD2026-021", "竣工", "", "2026-10-01"), ("ZD2026-022", "竣工", "", "2026-11-25"))
    files = [edited_projects_csv(tmp_path, edit, columns=DAYS), SAMPLE_PEOPLE_CSV]
    result = await import_ledger_files(db, clock, files, actor=actor, as_of=date(2026, 11, 30))
    assert result.written
    assert (await _events(db))[3:] == [("ZD2026-021", "finish", date(2026, 10, 1), "confirmed")]
    dated = (await _audit(db, "ZD2026-021"))[-1]
    assert (dated["changed"]["finish_day"], dated["before"]["finish_day"]) == ("2026-10-01", "2026-11-23")
    assert (dated["stage_move"], dated["stage_day_from"]) == ("finish", "ledger")
    async with db.session() as session:
        project = await session.scalar(select(Project).where(Project.code == "ZD2026-021"))
        assert project is not None
        assert await stage_events.finish_day(session, project_id=project.id) == date(2026, 10, 1)
    again = await import_ledger_files(db, clock, files, actor=actor, as_of=date(2026, 11, 30))
    assert not again.issues and len(await _events(db)) == 4


def _start_counts(text: str) -> tuple[int, int]:
    """开工率's (started, counted) as a bulletin's text gives them."""
    found = re.search(r"开工率 ?[0-9.]+%（(\d+)/(\d+)）", text)
    assert found, text
    return int(found[1]), int(found[2])


async def _month(db: Database, name: str, tmp_path: Path) -> tuple[tuple[int, int], list[str]]:
    """The monthly bulletin of ``name`` made now: its 开工率 counts and its 应开工未开工 (all of them, the text
    naming ten at most)."""
    period = parse_period("monthly", name)
    async with db.session() as session:
        rendered = await render_bulletin(session, Renderer(), period=period, calendar=WorkCalendar(),
                                         settings=DigestSettings(), out_dir=tmp_path / name)
        standings = await compute_standings(session, period=name, cutoff=period.end, window_start=period.start,
                                            calendar=WorkCalendar())
    return _start_counts(html_to_plain(rendered.text)), [p.code for p in standings.not_started]


async def test_a_project_added_already_started_is_started_from_its_actual_start(
        db: Database, clock: FrozenClock, actor: Actor, tmp_path: Path) -> None:
    """The first import (23 November) adds ZD2026-002 在建 with 实际开工 1 September, ZD2026-021 竣工 with 实际开工
    1 March and 竣工日期 1 October, ZD2026-001 在建 without a day: the first two are started from their 实际开工
    (the audit says so), the last has no 开工, as before. August's bulletin, made now, has ZD2026-002 not
    started yet (应开工未开工, not in 开工率's started); September's counts it started."""
    edit = _days(("ZD2026-002", "在建", "2026-09-01", ""), ("ZD2026-021", "竣工", "2026-03-01", "2026-10-01"))
    files = [edited_projects_csv(tmp_path, edit, columns=DAYS), SAMPLE_PEOPLE_CSV]
    assert (await import_ledger_files(db, clock, files, actor=actor)).written
    events = await _events(db)
    assert [e for e in events if e[0] in ("ZD2026-002", "ZD2026-021")] == [
        ("ZD2026-002", "start", date(2026, 9, 1), "confirmed"),
        ("ZD2026-021", "start", date(2026, 3, 1), "confirmed"),
        ("ZD2026-021", "finish", date(2026, 10, 1), "confirmed")]
    assert not [e for e in events if e[0] == CODE]
    [started] = await _audit(db, "ZD2026-002")
    assert (started["stage_move"], started["stage_day"], started["stage_day_from"]) == (
        "start", "2026-09-01", "ledger")
    [finished] = await _audit(db, "ZD2026-021")
    assert (finished["start_day"], finished["stage_move"], finished["stage_day"]) == ("2026-03-01", "finish",
                                                                                     "2026-10-01")
    said = Renderer().env.from_string('{% from "_audit_detail.j2" import summary %}{{ summary(action, d) }}')
    assert "；开工日期 2026-03-01（台账填写）；竣工日期 2026-10-01（台账填写）" in said.render(action="project.create",
                                                                                   d=finished)

    # A month's bulletin lists the projects in the ledger by its end: the months are read as if the projects had
    # been entered in January, with the days this ledger gives them.
    async with db.session() as session:
        await session.execute(update(Project).values(created_at=datetime(2026, 1, 5, 9, tzinfo=SHANGHAI)))
    (august_started, august_counted), august_late = await _month(db, "2026-08", tmp_path)
    (september_started, september_counted), september_late = await _month(db, "2026-09", tmp_path)
    assert "ZD2026-002" in august_late and "ZD2026-002" not in september_late
    assert (september_started, september_counted) == (august_started + 1, august_counted)


async def test_a_later_ledger_s_actual_start_starts_a_project_already_started_without_one(
        db: Database, clock: FrozenClock, actor: Actor, tmp_path: Path) -> None:
    """The sample adds ZD2026-001 在建 with no 开工 recorded; a week later a ledger gives its 实际开工 (3 August,
    a month after it was planned to): the import records that 开工 (the preview and the audit say so), so that
    July's bulletin, made again, has it not started yet. ZD2026-021 (竣工, no 开工 either) gets its 实际开工
    before its recorded 竣工. Imported again, or with another 实际开工 for a project whose 开工 is recorded,
    nothing more is recorded."""
    assert (await import_ledger_files(db, clock, [SAMPLE_PROJECTS_CSV, SAMPLE_PEOPLE_CSV], actor=actor)).written
    # July's bulletin lists the projects in the ledger by its end: read as if they had been entered in January.
    async with db.session() as session:
        await session.execute(update(Project).values(created_at=datetime(2026, 1, 5, 9, tzinfo=SHANGHAI)))
    (_, _), july_late = await _month(db, "2026-07", tmp_path)
    clock.advance(days=8)  # 1 December: the base's day, 30 November, is over
    edit = _days((CODE, "在建", "2026-08-03", ""), ("ZD2026-021", "竣工", "2025-05-01", ""))
    files = [edited_projects_csv(tmp_path, edit, columns=DAYS), SAMPLE_PEOPLE_CSV]
    result = await import_ledger_files(db, clock, files, actor=actor, as_of=date(2026, 11, 30))
    assert result.written
    preview = Renderer().plain("import_summary", result=result, dry_run=False, take_file=False, limit=60)
    assert f"更新项目 {CODE} 城北高速连接线：基数截至日期 2026-10-31 → 2026-11-30；实际开工 （空） → 2026-08-03" in (
        preview)
    assert (await _events(db))[3:] == [(CODE, "start", date(2026, 8, 3), "confirmed"),
                                       ("ZD2026-021", "start", date(2025, 5, 1), "confirmed")]
    started = (await _audit(db, CODE))[-1]
    assert (started["changed"]["start_day"], started["before"]["start_day"]) == ("2026-08-03", None)
    assert (started["stage_move"], started["stage_day"], started["stage_day_from"]) == ("start", "2026-08-03",
                                                                                        "ledger")
    said = Renderer().env.from_string('{% from "_audit_detail.j2" import summary %}{{ summary(action, d) }}')
    assert said.render(action="project.update", d=started).endswith(
        "；实际开工 — → 2026-08-03；开工日期 2026-08-03（台账填写）")
    (_, _), july_again = await _month(db, "2026-07", tmp_path)
    assert CODE not in july_late and CODE in july_again
    again = await import_ledger_files(db, clock, files, actor=actor, as_of=date(2026, 11, 30))
    assert again.written and len(await _events(db)) == 5 and not again.changed["project"]
    other = [edited_projects_csv(tmp_path, _days((CODE, "在建", "2026-04-01", "")), columns=DAYS), SAMPLE_PEOPLE_CSV]
    assert not (await import_ledger_files(db, clock, other, actor=actor, as_of=date(2026, 11, 30))).changed["project"]
    assert len(await _events(db)) == 5


async def test_a_ledger_still_listing_a_started_project_as_preliminary_does_not_take_its_start_back(
        db: Database, clock: FrozenClock, actor: Actor, tmp_path: Path) -> None:
    """ZD2026-002 (前期 in the sample) is confirmed started on 25 November; the office's next ledger, made before it
    heard, still says 前期. The import keeps it 在建 with its 开工 (a stage history has no way back before a 开工:
    taken back, the project would read 前期 while its 开工 says otherwise, and every bulletin would list it as
    应开工未开工 and leave it out of 开工率), and says so in its summary; the file's other changes are written."""
    files = [SAMPLE_PROJECTS_CSV, SAMPLE_PEOPLE_CSV]
    assert (await import_ledger_files(db, clock, files, actor=actor)).written
    async with db.session() as session:
        project = await session.scalar(select(Project).where(Project.code == "ZD2026-002"))
        assert project is not None and project.stage == "前期"
        await stage_events.report(session, project=project, kind="start", day=date(2026, 11, 25), person_id=None,
                                  now=datetime(2026, 11, 25, 10, tzinfo=SHANGHAI), confirmed=True)
    clock.advance(days=8)

    again = await import_ledger_files(db, clock, files, actor=actor, as_of=date(2026, 11, 30))
    assert again.written and not again.issues
    [kept] = [c for c in again.conflicts if c.kind == "stage_kept"]
    assert (kept.subject, kept.chat, kept.file, kept.day) == ("ZD2026-002 滨江四期沿江路", "在建", "前期",
                                                              date(2026, 11, 25))
    summary = Renderer().plain("import_summary", result=again, dry_run=False, take_file=False, limit=30)
    assert "ZD2026-002 滨江四期沿江路 已于 2026-11-25 开工，台账仍为「前期」：保留「在建」" in summary
    async with db.session() as session:
        project = await session.scalar(select(Project).where(Project.code == "ZD2026-002"))
        assert project is not None and project.stage == "在建"
    assert [e for e in await _events(db) if e[0] == "ZD2026-002"] == [
        ("ZD2026-002", "start", date(2026, 11, 25), "confirmed")]
    _, not_started = await _month(db, "2026-11", tmp_path)
    assert "ZD2026-002" not in not_started


async def test_a_finish_confirmed_in_the_chat_after_the_ledger_s_day_is_kept_unless_the_file_is_taken(
        db: Database, clock: FrozenClock, actor: Actor) -> None:
    """ZD2026-001 (在建) is confirmed finished on 25 November in the chat; a ledger 截至 24 November, drawn up before,
    still says 在建. The CLI's import lists it as a conflict and keeps it 竣工, again when the file is imported once
    more; with --take-file it is 在建 again (a reopening of the import's day). (An import's own moves are no chat's:
    see the reopening of the first test.)"""
    files = [SAMPLE_PROJECTS_CSV, SAMPLE_PEOPLE_CSV]
    assert (await import_ledger_files(db, clock, files, actor=actor)).written
    clock.advance(days=2)
    async with db.session() as session:
        project = await session.scalar(select(Project).where(Project.code == CODE))
        assert project is not None and project.stage == "在建"
        await stage_events.report(session, project=project, kind="finish", day=date(2026, 11, 25), person_id=None,
                                  now=clock.now(), confirmed=True)
    clock.advance(days=1)

    kept = await import_ledger_files(db, clock, files, actor=actor, as_of=date(2026, 11, 24))
    [conflict] = [c for c in kept.conflicts if c.kind == "stage_moved"]
    assert (conflict.chat, conflict.file, conflict.day, conflict.choice) == ("竣工", "在建", date(2026, 11, 25), "keep")
    summary = Renderer().plain("import_summary", result=kept, dry_run=False, take_file=False, limit=30)
    assert ("ZD2026-001 城北高速连接线 已于 2026-11-25 在系统中登记为「竣工」，晚于台账的截至日期，"
            "台账仍为「在建」：保留「竣工」") in summary, summary
    async with db.session() as session:
        assert await session.scalar(select(Project.stage).where(Project.code == CODE)) == "竣工"
    again = await import_ledger_files(db, clock, files, actor=actor, as_of=date(2026, 11, 24))
    assert [c.choice for c in again.conflicts if c.kind == "stage_moved"] == ["keep"]
    async with db.session() as session:
        assert await session.scalar(select(Project.stage).where(Project.code == CODE)) == "竣工"

    taken = await import_ledger_files(db, clock, files, actor=actor, as_of=date(2026, 11, 24), take_file=True)
    assert [c.choice for c in taken.conflicts if c.kind == "stage_moved"] == ["file"]
    async with db.session() as session:
        assert await session.scalar(select(Project.stage).where(Project.code == CODE)) == "在建"
    assert [e for e in await _events(db) if e[0] == CODE][-1] == (CODE, "reopen", date(2026, 11, 26), "confirmed")
