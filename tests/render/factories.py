"""Small factories for the standings that charts and the Excel ledger render."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from bot.domain.progress import RateCount
from bot.domain.standings import GroupStanding, ProblemEventRow, ProblemRow, ProjectStanding, Standings

CUTOFF = date(2026, 11, 15)
SCHEDULE = 319 / 365  # 序时进度 on 2026-11-15: 87.4%


def make_standing(**overrides: Any) -> ProjectStanding:
    base = ProjectStanding(
        code="ZD2026-001",
        name="城北高速连接线",
        category="交通",
        stage="在建",
        town="城关镇",
        lead_unit="区交通运输局",
        lead_official="王副区长",
        lead_official_id=1,
        liaison="李联络",
        liaison_id=2,
        annual_plan=Decimal("12000.0000"),
        ytd_done=Decimal("10500.5000"),
        rate=10500.5 / 12000,
        schedule=SCHEDULE,
        gap=(10500.5 / 12000 - SCHEDULE) * 100,
        light="green",
        last_report_at=datetime(2026, 11, 14, 2, 30, tzinfo=UTC),
        reported_days=30,
        working_days=32,
        open_problems=1,
        rank=1,
    )
    if overrides.get("rate") is not None and "ytd_done" not in overrides:  # the amount the rate is made of
        plan = overrides.get("annual_plan", base.annual_plan)
        overrides["ytd_done"] = Decimal(str(overrides["rate"])) * plan
    return replace(base, **overrides)


def make_projects(n: int) -> list[ProjectStanding]:
    """``n`` ranked projects with falling rates and every light, the last few without a plan."""
    lights = ["green", "yellow", "red"]
    projects = []
    for i in range(n):
        no_plan = n >= 5 and i >= n - 2
        rate = None if no_plan else max(1.1 - i * (1.1 / max(n, 1)), 0.0)
        projects.append(make_standing(
            code=f"ZD2026-{i + 1:03d}",
            name=f"重点项目第{i + 1}号工程" + ("及配套设施建设" if i % 3 == 0 else ""),
            rate=rate,
            gap=None if rate is None else (rate - SCHEDULE) * 100,
            light="none" if no_plan else lights[i % 3],
            rank=None if no_plan else i + 1,
        ))
    return projects


def make_group(**overrides: Any) -> GroupStanding:
    base = GroupStanding(name="区交通运输局", projects=5, investment=0.8, punctuality=0.9, problems=1.0,
                         score=86.0, rank=1)
    return replace(base, **overrides)


def make_event(**overrides: Any) -> ProblemEventRow:
    base = ProblemEventRow(at=datetime(2026, 11, 10, 1, 0, tzinfo=UTC), kind="raised", actor="郝芳",
                           text="3户未签订征收协议，影响路基施工", detail={})
    return replace(base, **overrides)


def make_problem(**overrides: Any) -> ProblemRow:
    base = ProblemRow(
        number="WT2026-0001",
        project_code="ZD2026-001",
        project_name="城北高速连接线",
        category="征地拆迁",
        unit="城关镇人民政府",
        status="accepted",
        level=1,
        raised_at=datetime(2026, 11, 10, 1, 0, tzinfo=UTC),
        response_due_at=datetime(2026, 11, 11, 9, 30, tzinfo=UTC),
        resolution_due_at=datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
        closed_at=None,
        text="3户未签订征收协议，影响路基施工",
        events=(make_event(), make_event(at=datetime(2026, 11, 11, 2, 0, tzinfo=UTC), kind="accepted",
                                         actor="赵芳", text="正在入户做工作")),
    )
    return replace(base, **overrides)


def make_standings(projects: list[ProjectStanding] | None = None, **overrides: Any) -> Standings:
    projects = [make_standing()] if projects is None else projects
    base = Standings(
        period="2026-W46",
        cutoff=CUTOFF,
        schedule=SCHEDULE,
        projects=projects,
        units=[make_group(), make_group(name="区住建局", score=72.5, rank=2)],
        towns=[make_group(name="城关镇", score=90.0), make_group(name="北塬镇", score=None, rank=None)],
        praised=[],
        urged=[],
        warned=[],
        start_rate=RateCount(3, 4, 0.75),
        finish_rate=RateCount(1, 2, 0.5),
    )
    return replace(base, **overrides)
