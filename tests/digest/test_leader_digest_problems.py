"""A lead official's digest says where each problem on his projects stands: with the unit or gone up to which
level, overdue or not, and, once the unit reported it solved, that it waits for the raiser's 销号 (its old
deadline no longer applies)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bot.domain.digest_settings import DigestSettings
from bot.domain.periods import parse_period
from bot.domain.workdays import WorkCalendar
from bot.render import Renderer, html_to_plain
from jobs.bulletin_render import render_bulletin
from storage.db import Database

from .conftest import District, local

WEEK = parse_period("weekly", "2026-W48")  # 23–29 November 2026


async def test_the_digest_says_where_each_problem_stands(db: Database, district: District, tmp_path: Path) -> None:
    await district.project("ZD2026-001", unit="区住建局", lead="刘文华")
    raised = local(date(2026, 11, 2))
    waiting = await district.problem("ZD2026-001", unit="区住建局", raised=raised, due=local(date(2026, 12, 10)),
                                     text="施工用电未接入")
    up = await district.problem("ZD2026-001", unit="区住建局", raised=raised, due=local(date(2026, 11, 20)),
                                text="征地未完成", level=2)
    solved = await district.problem("ZD2026-001", unit="区住建局", raised=raised, due=local(date(2026, 11, 20)),
                                    status="resolved", text="规划许可待批")

    async with db.session() as session:
        rendered = await render_bulletin(session, Renderer(), period=WEEK, calendar=WorkCalendar(),
                                         settings=DigestSettings(), out_dir=tmp_path)
    digest = html_to_plain("\n".join(rendered.leaders[district.people["刘文华"]]))

    assert f"W{waiting:04d} 用地：施工用电未接入（办结时限 2026-12-10 10:00）" in digest
    assert f"W{up:04d} 用地：征地未完成（已上报区长，办结时限 2026-11-20 10:00，⚠️已超期）" in digest
    assert f"W{solved:04d} 用地：规划许可待批（责任单位已报告解决，待销号）" in digest


async def test_a_leader_with_many_problems_gets_the_most_urgent_and_a_count(db: Database, district: District,
                                                                           tmp_path: Path) -> None:
    """35 open problems on two projects: the digest names ten, the overdue and highest first, says how many each
    project leaves out and where to see them all, instead of 35 lines."""
    await district.project("ZD2026-001", unit="区住建局", lead="刘文华")
    await district.project("ZD2026-002", unit="区住建局", lead="刘文华")
    raised = local(date(2026, 11, 2))
    later = local(date(2026, 12, 20))
    calm = [await district.problem("ZD2026-001", unit="区住建局", raised=raised, due=later, text=f"一般问题{n}")
            for n in range(30)]
    late = await district.problem("ZD2026-002", unit="区住建局", raised=raised, due=local(date(2026, 11, 20)),
                                  text="已超期的问题")
    top = await district.problem("ZD2026-002", unit="区住建局", raised=raised, due=later, text="已报区委书记",
                                 level=3)
    mayor = await district.problem("ZD2026-001", unit="区住建局", raised=raised, due=later, text="已报区长", level=2)
    solved = [await district.problem("ZD2026-002", unit="区住建局", raised=raised, due=local(date(2026, 11, 20)),
                                     status="resolved", text=f"待销号{n}") for n in range(2)]

    async with db.session() as session:
        rendered = await render_bulletin(session, Renderer(), period=WEEK, calendar=WorkCalendar(),
                                         settings=DigestSettings(), out_dir=tmp_path)
    digest = html_to_plain("\n".join(rendered.leaders[district.people["刘文华"]]))

    listed = [line for line in digest.splitlines() if line.strip().startswith("· W")]
    assert len(listed) == 10, digest
    for number in (late, top, mayor, *calm[:7]):
        assert f"W{number:04d} " in digest, (number, digest)
    for number in (*calm[7:], *solved):
        assert f"W{number:04d} " not in digest, (number, digest)
    assert "· 另有 23 个问题未列出" in digest and "· 另有 2 个问题未列出" in digest, digest
    assert "另有 25 个未列出：发送 /issues 查看全部，/issues 上报 只看已上报的。" in digest, digest
    # under each project, most urgent first
    assert digest.index(f"W{mayor:04d} ") < digest.index(f"W{calm[0]:04d} "), digest
    assert digest.index(f"W{late:04d} ") < digest.index(f"W{top:04d} "), digest
