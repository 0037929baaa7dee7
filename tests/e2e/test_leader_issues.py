"""A leader's /issues on a phone, through the real PTB Application and the fake Bot API: each problem says what
it is about (the start of its text under its line), and `/issues 上报` lists only what has gone up to the
caller's level or above (the 区长's for the top officials, what their bulletin summary counts; the 包抓领导's for
a lead official), 20 a page, when 30 and more wait among the units' many."""

from __future__ import annotations

from sqlalchemy import update

from storage.models import Problem
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_problems import HAO, LIU, WANG, ZHAO, bind_everyone, nov

AT_THE_TOP = 32
AT_THE_UNIT = 4


async def test_the_top_officials_list_what_went_up_to_them(telegram: TelegramHarness) -> None:
    desk = await bind_everyone(telegram)
    desk.travel(nov(16, 8, 30))
    for n in range(1, AT_THE_TOP + AT_THE_UNIT + 1):
        assert f"W{n:04d}" in await telegram.send(HAO, f"/issue ZD2026-001 资金 第{n}笔配套资金未到位")
    async with telegram.session() as session:
        await session.execute(update(Problem).where(Problem.id <= AT_THE_TOP).values(level=2))
        await session.execute(update(Problem).where(Problem.id == 1).values(level=1))

    listed = await telegram.send(WANG, "/issues 上报")
    assert f"已上报区长及以上、尚未解决的问题</b>（{AT_THE_TOP - 1} 个，第 1/2 页）" in listed.text, listed
    lines = listed.text.splitlines()
    numbers = [line.split()[0] for line in lines if line.startswith("W0")]
    assert len(numbers) == 20 and "W0001" not in numbers, numbers
    assert all(int(n[1:]) <= AT_THE_TOP for n in numbers), numbers  # none of those still at the unit
    first = lines.index(next(line for line in lines if line.startswith("W0002")))
    assert lines[first + 1].strip() == "第2笔配套资金未到位", lines  # what it is about, under its line
    second = await telegram.press(WANG, "下一页")
    assert "第 2/2 页" in second.text and sum(line.startswith("W0") for line in second.text.splitlines()) == 11

    everything = await telegram.send(WANG, "/issues")
    assert f"与您相关的未销号问题</b>（{AT_THE_TOP + AT_THE_UNIT} 个" in everything.text, everything

    mine = await telegram.send(LIU, "/issues 上报")  # the 包抓领导's level and above, on his projects
    assert f"已上报包抓领导及以上、尚未解决的问题</b>（{AT_THE_TOP} 个，第 1/2 页）" in mine.text, mine
    unit = await telegram.send(ZHAO, "/issues 上报")
    assert f"已上报包抓领导及以上、尚未解决的问题</b>（{AT_THE_TOP} 个" in unit.text, unit  # the unit's, gone up
