"""The ledger import records the day a project it makes finished (竣工/投产) is so from, or the day one it takes
back from finished is open again (storage, both databases): the day of the import, not the ledger's 截至 day,
and the project's audit entry says so."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select

from bot.clock import FrozenClock
from bot.services.ledger_import import import_ledger_files
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
