"""A problem's history is worded once (bot/templates/_problem_event.j2): the chat's problem card, the Excel
办理记录 cell, the web pages (the problem's page and the project page) and /audit W… say each event alike, 改派 from→to,
上报 with its level and reason, 承诺, 延至 and the calendar recount's from→to included, and the web escapes
what people wrote."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from bot.channels.console import CHANNEL, bind_console
from bot.domain.messages import Incoming
from bot.render import Renderer, html_to_plain
from bot.services.ledger_export import history_cell
from storage import problems as problem_repo
from storage.models import Problem
from storage.problem_ledger import problem_rows
from tests.web.harness import ROLE_PEOPLE, WebHarness, raise_problem

ADMIN = ROLE_PEOPLE["admin"]
SCRIPT = "<script>alert(3)</script>抓紧&落实"
MOVES = [
    {"clock": "response", "from": "2026-11-23 17:30", "to": "2026-11-24 17:30"},
    {"clock": "resolution", "from": "2026-12-04 17:30", "to": "2026-12-07 17:30"},
]


async def _events(site: WebHarness, number: str) -> int:
    """The problem's history grown by one event of each kind worth wording; the problem's id."""
    unit, lead = await site.person("赵芳"), await site.person("刘文华")
    admin = await site.person(ADMIN)
    async with site.core.db.session() as session:
        problem = await session.scalar(select(Problem).where(Problem.id == int(number.lstrip("W"))))
        assert problem is not None
        at = site.core.clock.now()
        for kind, actor, text, detail in [
            ("escalated", None, "", {"from": 0, "to": 1, "clock": "response"}),
            ("reassigned", admin.id, "职责调整", {"from": "区住建局", "to": "区发改局"}),
            ("answered", unit.id, "入户做工作", {"promised": "2026-12-10"}),
            ("extension_approved", lead.id, "", {"day": "2026-12-20"}),
            ("recounted", None, "", {"moves": MOVES}),
            ("comment", lead.id, SCRIPT, {}),
        ]:
            await problem_repo.add_event(
                session, problem=problem, at=at, kind=kind, actor_id=actor, text=text, detail=detail
            )
        return problem.id


async def test_each_event_is_worded_alike_on_the_card_in_the_ledger_and_on_the_web(site: WebHarness) -> None:
    number = await raise_problem(site, "ZD2026-001", "郝芳", "区住建局", "还有12户未签约")
    problem_id = await _events(site, number)
    async with site.core.db.session() as session:
        history = await problem_repo.history(session, problem_id=problem_id)
        card = html_to_plain(Renderer().render("_problem_history", history=history)).splitlines()
        (row,) = [r for r in await problem_rows(session) if r.number == number]
    card = [line for line in card[1:] if line]
    async with site.signed_in(ADMIN) as client:
        async with client.get(f"/web/problem/{number}") as response:
            problem_page = await response.text()
        async with client.get("/web/project/ZD2026-001") as response:
            project_page = await response.text()
    timeline = [
        html.unescape(f"{when} {who} {what}")
        for when, who, what in re.findall(
            r'<li(?: class="comment")?><div class="when">(.*?) <span class="muted">(.*?)</span></div><div>(.*?)</div>'
            r"</li>",
            problem_page,
        )
    ]
    article = re.search(rf'<a href="/web/problem/{number}">.*?<ul class="history">(.*?)</ul>', project_page, re.S)
    assert article is not None
    listed = [html.unescape(item) for item in re.findall(r"<li(?: class=\"comment\")?>(.*?)</li>", article.group(1))]

    assert len(card) == 7 and timeline == card and listed == card
    assert history_cell(row.events) == "；".join(card)
    worded = card[1:]
    assert worded[0].endswith("系统 上报至包抓领导（未按时受理）")
    assert worded[1].endswith("管理员(区重大项目办) 改派（区住建局→区发改局）：职责调整")
    assert worded[2].endswith("赵芳 答复：入户做工作（承诺 2026-12-10 前完成）")
    assert worded[3].endswith("刘文华 同意延期（延至 2026-12-20）")
    assert worded[4].endswith(
        "系统 工作日历调整，时限重算（受理时限 2026-11-23 17:30 → 2026-11-24 17:30，"
        "办结时限 2026-12-04 17:30 → 2026-12-07 17:30）"
    )
    assert worded[5].endswith(f"刘文华 批示：{SCRIPT}")
    for page in (problem_page, project_page):  # what people wrote, escaped on the web
        assert "&lt;script&gt;alert(3)&lt;/script&gt;抓紧&amp;落实" in page and "<script>alert" not in page
    admin_chat = await bind_console(site.core.db, await site.person(ADMIN), now=site.core.clock.now())
    trail = await site.core.router.handle(
        Incoming(channel=CHANNEL, user_id=admin_chat, chat_id=admin_chat, text=f"/audit {number}", display_name=ADMIN)
    )
    audited = [line for line in html_to_plain(trail.replies[0].html).splitlines()[1:] if line]
    assert sorted(audited) == sorted(card)  # the latest first there
