"""Fixtures of the digest tests: a database on each backend and a small district builder.

Every test that takes ``db`` runs on a fresh in-memory SQLite database, and on PostgreSQL when the
environment variable TEST_DATABASE_URL names one (skipped otherwise); that database is emptied and
re-created from the models before every test, so it must be reserved for tests.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import SHANGHAI
from bot.render import html_to_plain
from jobs.bulletin_render import Rendered
from storage import person_names, project_versions
from storage.db import Database
from storage.models import Person, Problem, ProblemEvent, Project, ProjectNode, Report, Unit
from tests.databases import BACKENDS, fresh_database

# The weekly bulletin of ISO week 2026-W47: Monday 16 to Sunday 22 November 2026 (five working days).
CUTOFF = date(2026, 11, 22)
MONDAY = date(2026, 11, 16)
CREATED = datetime(2026, 1, 5, 9, 0, tzinfo=SHANGHAI)


def local(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """An aware instant on ``day`` in the users' time zone."""
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    """A database with every table created from the models and no rows."""
    async with fresh_database(request.param) as database:
        yield database


@dataclass
class District:
    """Builds units, people, projects, reports and problems by name, and remembers their ids."""

    db: Database
    units: dict[str, int] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)
    projects: dict[str, int] = field(default_factory=dict)

    # How long a builder waits for its own unit of work before it fails (it would wait forever for one the test
    # holds open on in-memory SQLite, whose one connection a second session waits for).
    wait: float = 10.0

    @asynccontextmanager
    async def work(self, session: AsyncSession | None = None) -> AsyncIterator[AsyncSession]:
        """`session` (the caller's, still open), or a unit of work of the builder's own, committed at the end,
        which fails loudly when it cannot begin within `wait` seconds rather than hanging."""
        if session is not None:
            yield session
            return
        try:
            async with asyncio.timeout(self.wait) as beginning, self.db.session() as own:
                beginning.reschedule(None)  # begun: the work itself is not timed
                yield own
        except TimeoutError:
            raise AssertionError(
                f"the district builder waited {self.wait:g} s for its session: called inside a session the test "
                "holds open? Pass that one (session=...), or call the builder before opening it") from None

    async def unit(self, name: str, *, session: AsyncSession | None = None) -> int:
        """The unit's id, the unit made first if need be (in `session` when given: the test's open one)."""
        if name not in self.units:
            async with self.work(session) as work:
                unit = Unit(name=name, created_at=CREATED)
                work.add(unit)
                await work.flush()
                self.units[name] = unit.id
        return self.units[name]

    async def person(self, name: str, *, session: AsyncSession | None = None) -> int:
        """The person's id, made first if need be (in `session` when given: the test's open one)."""
        if name not in self.people:
            async with self.work(session) as work:
                person = Person(name=name, active=True, created_at=CREATED)
                work.add(person)
                await work.flush()
                self.people[name] = person.id
        return self.people[name]

    async def project(self, code: str, *, unit: str = "区住建局", town: str | None = "河西镇",
                      plan: str = "1000", done_before: str = "0", baseline_year: int = 2026,
                      stage: str = "在建", lead: str | None = None, liaison: str | None = None,
                      entered: datetime = CREATED, **fields: Any) -> int:
        unit_id = await self.unit(unit)
        lead_id = await self.person(lead) if lead else None
        liaison_id = await self.person(liaison) if liaison else None
        async with self.work() as session:
            project = Project(
                code=code, name=f"项目{code}", category="城建", location=town,
                total_investment=Decimal(100000),
                annual_plan=Decimal(plan), done_before=Decimal(done_before), baseline_year=baseline_year,
                stage=stage, lead_unit_id=unit_id, lead_official_id=lead_id, liaison_id=liaison_id,
                created_at=entered, updated_at=entered, **fields,
            )
            session.add(project)
            await session.flush()
            await project_versions.record(session, [project], at=entered)  # as the ledger import does
            self.projects[code] = project.id
        return self.projects[code]

    async def hand_over(self, code: str, at: datetime, *, unit: str | None = None, lead: str | None = None,
                        liaison: str | None = None, **fields: Any) -> None:
        """Change what the ledger says of a project at ``at`` (its unit, 包抓领导, liaison, name, town), keeping
        its new version as /project_set and /handover do."""
        values = {**fields, **({"lead_unit_id": await self.unit(unit)} if unit else {}),
                  **({"lead_official_id": await self.person(lead)} if lead else {}),
                  **({"liaison_id": await self.person(liaison)} if liaison else {})}
        async with self.work() as session:
            project = await session.get(Project, self.projects[code])
            assert project is not None
            for key, value in values.items():
                setattr(project, key, value)
            await session.flush()
            await project_versions.record(session, [project], at=at)

    async def rename(self, name: str, new_name: str, at: datetime) -> None:
        """Rename the person called ``name`` at ``at``, keeping his names as the ledger import does."""
        async with self.db.session() as session:
            await person_names.record_renames(session, [(self.people[name], new_name)], at=at)
            person = await session.get(Person, self.people[name])
            assert person is not None
            person.name = new_name

    async def reports(self, code: str, *entries: tuple[date, str], withdrawn: bool = False,
                      hour: int = 10) -> None:
        """Reports of a project: (local day, amount in 万元), each made at ``hour`` on its day."""
        person_id = await self.person("联络员")
        async with self.work() as session:
            for day, amount in entries:
                at = local(day, hour)
                session.add(Report(
                    project_id=self.projects[code], person_id=person_id, local_day=day,
                    amount=Decimal(amount),
                    progress_text="", channel="telegram", created_at=at,
                    withdrawn_at=at + timedelta(minutes=5) if withdrawn else None,
                ))

    async def problem(self, code: str, *, unit: str, raised: datetime, due: datetime | None,
                      status: str = "open", events: tuple[tuple[str, datetime], ...] = (),
                      text: str = "征地未完成", actor: str | None = None, kind: str = "problem",
                      level: int = 0) -> int:
        """A problem with its "raised" event and the given (kind, at) events, in that order."""
        unit_id = await self.unit(unit)
        raiser = await self.person("联络员")
        actor_id = await self.person(actor) if actor else None
        async with self.work() as session:
            problem = Problem(
                kind=kind, project_id=self.projects[code], raised_by_id=raiser, unit_id=unit_id, category="用地",
                text=text,
                status=status, level=level, policy={}, level_started_at=raised, response_due_at=None,
                resolution_due_at=due, nudged=[], created_at=raised, updated_at=raised,
                closed_at=next((at for kind, at in events if kind == "closed"), None),
            )
            session.add(problem)
            await session.flush()
            session.add(ProblemEvent(problem_id=problem.id, at=raised, kind="raised", actor_person_id=raiser,
                                     level=0, text=text, detail={}))
            for kind, at in events:
                detail = {"from": 0, "to": 1, "clock": "resolution"} if kind == "escalated" else {}
                session.add(ProblemEvent(problem_id=problem.id, at=at, kind=kind, actor_person_id=actor_id,
                                         level=0, text="", detail=detail))
            return problem.id


    async def node(self, code: str, name: str, planned_on: date, done_on: date | None = None, *,
                   removed: bool = False, seq: int = 0) -> int:
        """A milestone (节点) of a project, as the ledger's sheet 项目节点计划 gives it."""
        async with self.work() as session:
            node = ProjectNode(project_id=self.projects[code], seq=seq, name=name, planned_on=planned_on,
                               done_on=done_on, note="", source="ledger", created_at=CREATED, updated_at=CREATED,
                               done_at=local(done_on) if done_on else None,
                               removed_at=CREATED if removed else None)
            session.add(node)
            await session.flush()
            return node.id


@pytest.fixture
def district(db: Database) -> District:
    return District(db)


def bulletin_notes(rendered: Rendered) -> tuple[list[str], list[str], list[str]]:
    """The notes (注：…) of a bulletin: in its text, the Word document's paragraphs and the Excel ledger's 说明
    sheet."""
    text = [line for line in html_to_plain(rendered.text).splitlines() if line.startswith("注：")]
    words = [p.text for p in Document(str(rendered.files["document"])).paragraphs if p.text.startswith("注：")] \
        if "document" in rendered.files else []
    book = load_workbook(io.BytesIO(rendered.files["ledger"].read_bytes()))
    sheet = [row[0] for row in book["说明"].iter_rows(min_row=2, values_only=True)] if "说明" in book.sheetnames else []
    return text, words, sheet
