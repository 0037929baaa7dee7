"""The district office's real typing of tests/e2e/test_office_week.py, through the WeCom app (the channel served on a
local port, the fake WeCom posting to it and refusing what WeCom would: content over 2,048 bytes, bad markdown).

郝芳 reports on Friday 2026-11-20 with her paragraph of 下步计划 and on Monday 11-23 pastes a row of her sheet;
she raises a problem in paragraphs, 赵芳 (区住建局) answers it 「11月27日前 …」, the admin reads the project. Asserted:
what each member's client shows (WeCom shows markdown characters typed by users as their full-width twins, which
a reader takes for the same characters: ``as_read``) and what is stored.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.models import Problem
from tests.e2e.test_office_week import ANSWER, CODE, MONDAY, NAME, PROBLEM
from tests.fakes.wecom_api import as_read, shown_text
from tests.wecom.harness import WeComHarness

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def the_problem(wecom: WeComHarness) -> Problem:
    async with wecom.session() as session:
        [problem] = (await session.scalars(select(Problem))).unique().all()
    return problem


async def test_paragraphs_pasted_rows_and_a_promise_by_a_day_in_the_wecom_app(wecom: WeComHarness) -> None:
    await wecom.bind("hao", "郝芳")
    await wecom.bind("zhao", "赵芳", "unit")
    await wecom.bind("office", "管理员(区重大项目办)", "admin")

    saved = await wecom.send("hao", f"{CODE} 850万 {MONDAY}")
    assert "已记录填报" in saved, saved
    assert f"{as_read(MONDAY)}\n{CODE} {NAME}\n" in as_read(saved.text)  # on its lines, then the card on its own
    [friday] = await wecom.reports()
    assert friday.progress_text == MONDAY
    card = await wecom.send("office", f"/project {CODE}")
    assert as_read(MONDAY) in as_read(card.text)

    wecom.clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI))
    pasted = await wecom.send("hao", f"{CODE}\t{NAME}\t1,200\t二层楼板浇筑完成")
    assert "1,200（未写单位，按万元计）= 1,200.0 万元，二层楼板浇筑完成。" in pasted.text, pasted
    assert [(r.amount, r.progress_text) for r in await wecom.reports()] == [
        (Decimal(850), MONDAY), (Decimal(1200), "二层楼板浇筑完成")]

    # A site photo sent on its own: WeCom images carry no words, so she is not told to write a caption she cannot
    # write, but to start /report first; nothing is kept until then.
    alone = await wecom.photo("hao")
    assert "照片未保存" in alone and "请先发送 /report" in alone and "照片说明" not in alone.text, alone
    assert "请输入本期完成投资" in await wecom.send("hao", f"/report {CODE}")
    kept = await wecom.photo("hao")
    assert "已收到照片，现有 1 张，将随这条填报一并保存" in kept, kept  # the way the answer points to works
    await wecom.send("hao", "/cancel")

    raised = await wecom.send("hao", f"/issue {CODE} 征地拆迁 {PROBLEM}")
    assert "编号 W0001" in raised, raised
    mark = len(wecom.fake.calls)
    await wecom.deliver_outbox()
    notice = as_read("\n".join(shown_text(m) for m in wecom.fake.sent_to("zhao", since=mark)))
    assert as_read(PROBLEM.splitlines()[0]) in notice and "/issue W0001" in notice, notice

    answered = await wecom.send("zhao", f"/answer W0001 11月27日前 {ANSWER}")
    assert "W0001 已答复" in answered and "承诺完成日期：2026-11-27" in answered, answered
    problem = await the_problem(wecom)
    assert (problem.answer_text, problem.promised_date) == (ANSWER, date(2026, 11, 27))
    mark = len(wecom.fake.calls)
    await wecom.deliver_outbox()
    told = as_read("\n".join(shown_text(m) for m in wecom.fake.sent_to("hao", since=mark)))
    assert as_read(f"内容：{ANSWER}\n") in told, told  # no stray 前 before the answer
