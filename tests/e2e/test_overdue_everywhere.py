"""One rule for ⚠️已超期, on every surface: a problem whose unit's promised day (承诺完成日期) has passed is overdue
even while its 办结 deadline is still ahead, in `/issues`, a lead official's digest, the top officials' summary
and the web overview alike, and each says which promise passed (bot.domain.overdue).

W0001 (审批手续) is raised Mon 16 Nov 08:30 to 区住建局 (as in tests/e2e/test_problems.py); 赵芳 answers at once
promising Wed 18 Nov. The promise is missed, the 办结 deadlines are missed too and W0001 goes up to 刘文华, then
to 区长 王立军, where its new 办结 deadline lies after Sunday 29 Nov, the end of week 2026-W48: on Monday 30 Nov
morning the promise has passed, the deadline has not.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
from aiohttp import web

from bot.config import Settings
from bot.domain.digest_settings import DigestSettings
from bot.domain.periods import parse_period
from bot.domain.workdays import WorkCalendar
from bot.render import Renderer, html_to_plain
from bot.services.web_links import make_link
from bot.web.server import add_web_routes
from jobs.bulletin_render import render_bulletin
from storage import people
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_problems import LIU, WANG, ZHAO, bind_everyone, nov
from tests.fakes.serving import serve_locally

WEEK = parse_period("weekly", "2026-W48")  # 23–29 November 2026


LATE = "承诺 2026-11-18 前完成，⚠️已超期"  # the passed promise named beside the mark


async def test_a_missed_promise_is_overdue_everywhere(telegram: TelegramHarness, tg_settings: Settings) -> None:
    desk = await bind_everyone(telegram)
    await desk.raise_w0001()
    desk.travel(nov(16, 8, 40))
    answered = await telegram.send(ZHAO, "/answer W0001 后天 已报审批局")
    assert "承诺完成日期：2026-11-18" in answered.text, answered
    for day in range(16, 31):  # the tick runs through the fortnight: W0001 goes up twice
        desk.travel(nov(day, 18, 0) if day < 30 else nov(30, 8, 0))
        await desk.tick()
    problem = await desk.problem()
    assert (problem.level, str(problem.promised_date)) == (2, "2026-11-18")
    assert problem.resolution_due_at is not None and problem.resolution_due_at > nov(30, 8, 0), problem

    # /issues (刘文华's and 区长's): the 办结 deadline ahead, the missed promise beside the mark
    for user in (LIU, WANG):
        listed = (await telegram.send(user, "/issues")).text
        assert "办结时限 2026-12-03 17:30，" + LATE in listed, listed

    # the W48 digest of 刘文华 and the top officials' summary, as of the end of Sunday 29 Nov
    async with telegram.session() as session:
        rendered = await render_bulletin(session, Renderer(), period=WEEK, calendar=WorkCalendar(),
                                         settings=DigestSettings(), out_dir=Path(str(tg_settings.data_dir)))
        [liu] = await people.find_people_by_name(session, name="刘文华")
    digest = html_to_plain("\n".join(rendered.leaders[liu.id]))
    assert "W0001 审批手续：施工许可迟迟未批（已上报区长，办结时限 2026-12-03 17:30，" + LATE + "）" in digest, digest
    summary = html_to_plain("\n".join(rendered.top_parts))
    assert "（区长，办结时限 2026-12-03 17:30，" + LATE + "）" in summary, summary

    # the web overview: W0001 marked overdue, with the promise that passed
    app = web.Application()
    state = add_web_routes(app, db=telegram.core.db, clock=telegram.core.clock, settings=tg_settings)
    runner, port = await serve_locally(app)
    try:
        await state.standings.ready()
        base = f"http://127.0.0.1:{port}"
        async with telegram.session() as session:
            [wang] = await people.find_people_by_name(session, name="王立军")
            link = await make_link(session, public_url=base, person_id=wang.id, now=telegram.clock.now(),
                                   next_path="/web/")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
            async with client.get(link) as response:
                page = await response.text()
    finally:
        await runner.cleanup()
    assert "/web/problem/W0001" in page, page
    row = page[page.index("/web/problem/W0001"):]
    row = row[:row.index("</tr>")]
    assert 'class="bad">已超期' in row and "承诺 2026-11-18 前完成" in row, row
