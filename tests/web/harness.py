"""The web pages served by a real aiohttp server on the sample ledger, and a browser-like client per person.

``WebHarness`` builds the core on a copy of the sample ledger (tests.e2e.harness), serves ``/web/`` the way
``diaodu run`` does (bot.web.server.add_web_routes) on a free local port, and signs people in through a
one-time link made as /web makes it (bot.services.web_links). The ledger is an in-memory SQLite copy, or any
database ``sample_database`` prepared (a SQLite file, the TEST_DATABASE_URL PostgreSQL database).
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import select

from bot.app import Core
from bot.clock import FrozenClock
from bot.config import Settings, load_settings
from bot.services.ledger_import import import_ledger_files
from bot.services.web_links import make_link
from bot.web.server import add_web_routes
from bot.web.state import WebState
from bot.workers import Workers
from storage import people as people_repo
from storage.audit import Actor
from storage.db import Database
from storage.models import Person, Project, Report
from storage.reports import add_report
from tests.databases import Rows, fresh_database
from tests.e2e.harness import SAMPLE_LEDGER, START, TEST_ACTOR, sample_core
from tests.fakes.serving import serve_locally

ROLE_PEOPLE = {"liaison": "郝芳", "unit": "赵芳", "lead": "刘文华", "top": "王立军", "admin": "管理员(区重大项目办)"}


@dataclass
class WebHarness:
    core: Core
    state: WebState
    base: str

    async def person(self, name: str) -> Person:
        async with self.core.db.session() as session:
            found = await people_repo.find_people_by_name(session, name=name)
            assert found, name
            return found[0]

    async def link(self, name: str, next_path: str = "/web/") -> str:
        """A one-time sign-in link for this person, as /web makes it (with the harness's address)."""
        person = await self.person(name)
        async with self.core.db.session() as session:
            url = await make_link(session, public_url="https://dd.example.gov.cn", person_id=person.id,
                                  now=self.core.clock.now(), next_path=next_path)
        return url.replace("https://dd.example.gov.cn", self.base)

    @asynccontextmanager
    async def browser(self, **headers: str) -> AsyncIterator[aiohttp.ClientSession]:
        jar = aiohttp.CookieJar(unsafe=True)  # 127.0.0.1 has no domain name
        async with aiohttp.ClientSession(base_url=self.base, cookie_jar=jar, headers=headers) as client:
            yield client

    @asynccontextmanager
    async def signed_in(self, name: str) -> AsyncIterator[aiohttp.ClientSession]:
        async with self.browser() as client:
            async with client.get(await self.link(name)) as response:
                assert response.status == 200, await response.text()
            yield client

    async def report(self, code: str, day: date, amount: str, text: str = "主体施工",
                     photos: list[str] | None = None) -> None:
        async with self.core.db.session() as session:
            project = await session.scalar(select(Project).where(Project.code == code))
            assert project is not None and project.liaison_id is not None
            await add_report(session, project_id=project.id, person_id=project.liaison_id, local_day=day,
                             amount=Decimal(amount), progress_text=text, photos=photos or [], channel="telegram",
                             now=self.core.clock.now(), actor=Actor(label="test", channel="cli"), project_code=code)

    async def reports(self) -> int:
        async with self.core.db.session() as session:
            return len((await session.scalars(select(Report.id))).all())


def week_days(end: date, n: int) -> list[date]:
    return [end - timedelta(days=i) for i in range(n)]


@asynccontextmanager
async def sample_database(backend: str, template: Path, folder: Path) -> AsyncIterator[str]:
    """The URL of a database of ``backend`` holding the sample ledger, that several engines (processes) may
    open: a copy of the template's file for SQLite; for PostgreSQL the TEST_DATABASE_URL database, emptied,
    with the ledger imported (once per process, then copied; the test is skipped without one)."""
    if backend == "sqlite":
        path = folder / f"ledger-{secrets.token_hex(4)}.sqlite3"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    async with fresh_database(backend, SAMPLE_ROWS) as db:
        yield db.url


async def _import_sample(db: Database) -> None:
    summary = await import_ledger_files(db, FrozenClock(START), [SAMPLE_LEDGER], actor=TEST_ACTOR)
    assert not summary.issues, summary.issues


SAMPLE_ROWS = Rows("sample_ledger", _import_sample)


@asynccontextmanager
async def core_on(url: str | None, settings: Settings, clock: FrozenClock, template: Path) -> AsyncIterator[Core]:
    """The core on an in-memory copy of the template (no ``url``), or on the database at ``url``."""
    if url is None:
        async with sample_core(settings, clock, template) as core:
            yield core
        return
    core = Core.build(settings, clock=clock, db=Database(url))
    try:
        yield core
    finally:
        await core.db.dispose()


@asynccontextmanager
async def web_harness(template: Path, tmp_path: Path, *, url: str | None = None, clock: FrozenClock | None = None,
                      workers: Workers | None = None, wait_for_standings: bool = True,
                      **overrides: object) -> AsyncIterator[WebHarness]:
    """The pages served on the sample ledger (an in-memory copy, or the database at ``url``); unless told
    otherwise, once their first standings are computed (as a page view some seconds after the start finds
    them)."""
    settings = load_settings(**{"DATABASE_URL": url or "sqlite+aiosqlite://", "_env_file": None,
                                "DATA_DIR": str(tmp_path), "TELEGRAM_BOT_TOKEN": "123456:TEST-token", **overrides})
    async with core_on(url, settings, clock or FrozenClock(START), template) as core:
        app = web.Application()
        state = add_web_routes(app, db=core.db, clock=core.clock, settings=settings, workers=workers)
        runner, port = await serve_locally(app)
        try:
            if wait_for_standings:
                await state.standings.ready()
            yield WebHarness(core=core, state=state, base=f"http://127.0.0.1:{port}")
        finally:
            await runner.cleanup()


async def raise_problem(harness: WebHarness, code: str, raiser: str, unit: str, text: str,
                        category: str = "用地", photos: list[tuple[str, str]] | None = None) -> str:
    """A problem raised as a liaison raises it (bot.services.problems), with photos (channel, file id); its
    number."""
    from bot.render import Renderer
    from bot.services.problems import ProblemDeps
    from bot.services.problems import raise_problem as raise_it
    from storage.models import Unit
    from storage.settings import load_calendar, load_policy

    raiser_person = await harness.person(raiser)
    async with harness.core.db.session() as session:
        project = await session.scalar(select(Project).where(Project.code == code))
        unit_row = await session.scalar(select(Unit).where(Unit.name == unit))
        person = await session.get(Person, raiser_person.id)
        assert project is not None and unit_row is not None and person is not None
        deps = ProblemDeps(calendar=await load_calendar(session), policy=await load_policy(session),
                           renderer=Renderer())
        problem = await raise_it(session, deps, project=project, raiser=person, category=category, text=text,
                                 unit=unit_row, photos=photos or [], now=harness.core.clock.now())
        return problem.number


async def bind(harness: WebHarness, name: str, channel: str, external_id: str) -> None:
    """Bind a chat account to a person, as /start with an invite code does."""
    found = await harness.person(name)
    async with harness.core.db.session() as session:
        person = await session.get(Person, found.id)
        assert person is not None
        await people_repo.bind_account(session, person=person, channel=channel, external_id=external_id,
                                       chat_id=external_id, display_name=name, now=harness.core.clock.now())


async def pages_as(harness: WebHarness, name: str, *paths: str) -> list[str]:
    """What the person `name`, signed in once, reads at each of `paths`."""
    texts = []
    async with harness.signed_in(name) as client:
        for path in paths:
            async with client.get(path) as response:
                texts.append(await response.text())
    return texts


async def page_as(harness: WebHarness, name: str, path: str) -> str:
    """What the person `name`, signed in, reads at `path`."""
    [text] = await pages_as(harness, name, path)
    return text


async def add_projects(harness: WebHarness, *, like: str, count: int, **values: object) -> list[str]:
    """``count`` projects copied from project ``like`` (its plans for the year too), coded ZD2026-9001…, named
    after it with 1期, 2期…, their year-to-date spread from none to all of the plan (so that they stand in every
    light), ``values`` set on each; their codes, in order."""
    from sqlalchemy import func, insert

    from storage.models import AnnualPlan

    async with harness.core.db.session() as session:
        source = (await session.execute(select(Project.__table__).where(Project.code == like))).mappings().one()
        plans = (await session.execute(select(AnnualPlan.__table__)
                                       .where(AnnualPlan.project_id == source["id"]))).mappings().all()
        top = await session.scalar(select(func.max(Project.id))) or 0
        rows = [{**source, "id": top + i, "code": f"ZD2026-9{i:03d}", "name": f"{source['name']}{i}期",
                 "done_before": source["annual_plan"] * (i % 11) / 10, **values} for i in range(1, count + 1)]
        await session.execute(insert(Project.__table__), rows)
        if plans:
            await session.execute(insert(AnnualPlan.__table__),
                                  [{**plan, "project_id": row["id"]} for row in rows for plan in plans])
    return [str(row["code"]) for row in rows]
