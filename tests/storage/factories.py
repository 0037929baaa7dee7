"""Shared helpers of the storage tests: sample files, a hand-made data set, row counting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from bot.clock import SHANGHAI
from storage.db import Database
from storage.models import Base, Person, PersonRole, Project, ProjectSupportingUnit, Unit

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "bot" / "demo"
SAMPLE_XLSX = DEMO / "projects_sample.xlsx"
SAMPLE_PROJECTS_CSV = DEMO / "projects_sample.csv"
SAMPLE_PEOPLE_CSV = DEMO / "people_sample.csv"

# A Monday morning in the sample ledger's year, in the users' time zone.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


async def count(db: Database, model: type[Base]) -> int:
    """How many rows the model's table holds."""
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@dataclass(frozen=True)
class World:
    """Ids of a small hand-made district: three units, six people, three projects."""

    housing: int  # 区住建局
    reform: int  # 区发改局
    industry: int  # 区工信局
    liaison: int  # 郝芳, liaison of ZD2026-001, works at 区住建局
    lead: int  # 刘文华, lead official of ZD2026-001
    handler: int  # 赵芳, unit handler at 区住建局
    other_handler: int  # 胡杰, unit handler at 区工信局 (so follows ZD2026-003 only)
    top: int  # 王立军
    admin: int  # 管理员
    p1: int  # ZD2026-001: lead unit 区住建局
    p2: int  # ZD2026-002: lead unit 区发改局, supported by 区住建局
    p3: int  # ZD2026-003: lead unit 区工信局, nobody above is involved


def _person(name: str, role: str, now: datetime, *, unit: Unit | None = None, phone: str | None = None,
            title: str | None = None) -> Person:
    return Person(name=name, phone=phone, title=title, unit=unit, active=True, created_at=now,
                  roles=[PersonRole(role=role)])


def _project(code: str, lead_unit: Unit, now: datetime, **fields: object) -> Project:
    values: dict[str, object] = {
        "name": f"项目{code}", "category": "城建", "total_investment": Decimal(10000),
        "annual_plan": Decimal(5000), "done_before": Decimal(100), "baseline_year": now.year, "stage": "在建",
    }
    values.update(fields)
    return Project(code=code, lead_unit=lead_unit, created_at=now, updated_at=now, **values)


async def build_world(db: Database, now: datetime) -> World:
    async with db.session() as session:
        housing, reform, industry = (Unit(name=name, created_at=now)
                                     for name in ("区住建局", "区发改局", "区工信局"))
        liaison = _person("郝芳", "liaison", now, unit=housing, phone="13900007919")
        lead = _person("刘文华", "lead", now, title="副区长(城建)")
        handler = _person("赵芳", "unit", now, unit=housing, phone="13800104729")
        other_handler = _person("胡杰", "unit", now, unit=industry, phone="13800209458")
        top = _person("王立军", "top", now, title="区长")
        admin = _person("管理员", "admin", now)
        session.add_all([housing, reform, industry, liaison, lead, handler, other_handler, top, admin])
        await session.flush()
        p1 = _project("ZD2026-001", housing, now, liaison_id=liaison.id, lead_official_id=lead.id)
        p2 = _project("ZD2026-002", reform, now,
                      supporting=[ProjectSupportingUnit(unit_id=housing.id, position=0)])
        p3 = _project("ZD2026-003", industry, now)
        session.add_all([p1, p2, p3])
        await session.flush()
        return World(
            housing=housing.id, reform=reform.id, industry=industry.id, liaison=liaison.id, lead=lead.id,
            handler=handler.id, other_handler=other_handler.id, top=top.id, admin=admin.id,
            p1=p1.id, p2=p2.id, p3=p3.id,
        )
