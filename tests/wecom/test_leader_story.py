"""Two weeks as the leaders, on Telegram and on WeCom at once (the week's script of test_parity_script): a
区长's 批示 on a problem still at the unit, two problems escalated to the 包抓领导 in one list, his 批示, the
problem moved to another unit, an extension asked of him and of the 区长, the 包抓领导 replaced (/handover)
while problems wait for him (and no longer told of them), the unit solving and the raiser closing.

What it holds: a 批示 reaches the unit with the buttons to act on it; whoever wrote a 批示 on a problem (while
he still sees it), or held a level it reached, is told how it ends, also after it was moved to another unit
(which starts it again at the unit); the project's 包抓领导 is told of a 区长's 批示 on his project; the new unit
is told the leaders' 批示 so far; a later promised date reaches the leader who decides it once (the extension
request), not twice; the one taking over a 包抓领导's projects is told what waits for him, with its acts (批示,
同意延期 / 不同意) as buttons on the notice itself; `/issues 上报` lists what went up to a leader's level; and
everyone is told the same on both channels.

Calendar (November 2026, no holidays): Mon 16 … Fri 20, Mon 23 … Fri 27, Mon 30.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

from jobs import escalation
from tests.e2e.harness import TelegramHarness
from tests.wecom.harness import WeComHarness
from tests.wecom.parity import Run, TelegramSide, Told, WeComSide

SHANGHAI = ZoneInfo("Asia/Shanghai")

# name, role, Telegram user id, WeCom userid
PEOPLE = {
    "hao": ("郝芳", "liaison", 1001, "HaoFang"),  # liaison of ZD2026-001 (区住建局, 刘文华)
    "zhao": ("赵芳", "unit", 3003, "ZhaoFang"),  # handler of 区住建局
    "hu": ("胡杰", "unit", 3004, "HuJie"),  # handler of 区工信局
    "liu": ("刘文华", "lead", 4001, "LiuWenhua"),  # 副区长, lead official of ZD2026-001 and eight more
    "chen": ("陈建国", "lead", 4005, "ChenJianguo"),  # 常务副区长, who takes 刘文华's projects over
    "wang": ("王立军", "top", 5001, "WangLijun"),  # 区长
    "li": ("李明德", "top", 5002, "LiMingde"),  # 区委书记
    "admin": ("管理员(区重大项目办)", "admin", 9001, "XiangMuBan"),
}


def nov(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def says(told: Told, *fragments: str) -> bool:
    """Whether what the person was shown has every fragment (read as the comparison reads both: NFKC)."""
    text = "\n".join(told.lines)
    return all(unicodedata.normalize("NFKC", fragment) in text for fragment in fragments)


async def test_leaders_see_what_they_asked_for_happen_on_both_channels(
        telegram: TelegramHarness, wecom: WeComHarness) -> None:
    run = Run([TelegramSide(telegram, PEOPLE), WeComSide(wecom, PEOPLE)])
    clock = telegram.clock
    clock.set(nov(16, 8, 0))

    async def bind_all(side: object) -> None:
        for who in PEOPLE:
            await side.bind(who)  # type: ignore[attr-defined]

    async def tick(side: object) -> None:
        core = side.tg.core if side.name == "telegram" else side.wc.core  # type: ignore[attr-defined]
        await escalation.run(core.db, clock, core.deps.renderer)

    await run.step("binding everyone", job=bind_all)
    clock.set(nov(16, 8, 30))
    await run.step("W0001 raised", "hao", "send", "/issue ZD2026-001 审批手续 施工许可迟迟未批")
    await run.step("W0002 raised", "hao", "send", "/issue ZD2026-001 资金 配套资金未到位")

    # The 区长 writes a 批示 on a problem still at the unit: its 包抓领导 hears of it too.
    told = await run.step("the 区长's 批示", "wang", "send", "/comment W0001 请住建局尽快受理")
    assert set(told) == {"wang", "hao", "zhao", "liu"}, told
    assert says(told["liu"], "W0001 批示：王立军", "批示：请住建局尽快受理"), told["liu"]
    assert told["zhao"].buttons == ["受理", "答复", "申请改派", "已解决"], told["zhao"]  # the unit acts on it
    assert told["hao"].buttons == [], told["hao"]

    # Tuesday's end of day: neither was taken up; both go up to 刘文华 in one list, each with its 批示 button.
    clock.set(nov(17, 17, 30))
    told = await run.step("escalation to the lead", job=tick)
    assert told["liu"].buttons == ["W0001 批示", "W0001 详情", "W0002 批示", "W0002 详情"], told["liu"]
    assert "wang" in told  # he wrote a 批示 on W0001: told it went up
    await run.step("lead /issues", "liu", "send", "/issues")
    await run.step("lead asks to comment", "liu", "press", "W0001 批示")
    told = await run.step("lead's 批示", "liu", "send", "请住建局三日内办结")
    assert set(told) == {"liu", "hao", "zhao", "wang"}, told

    # 区住建局 says it is not theirs; the office moves it to 区工信局, which is told what the leaders said.
    await run.step("unit asks to reassign", "zhao", "send", "/reassign W0001 属工信局职责")
    await run.step("admin approves", "admin", "press", "同意改派")
    told = await run.step("admin picks the unit", "admin", "press", "区工信局")
    assert says(told["hu"], "领导批示：\n· 王立军（2026-11-16 08:31）：请住建局尽快受理\n"
                            "· 刘文华（2026-11-17 17:31）：请住建局三日内办结\n提出人：郝芳"), told["hu"]
    assert {"wang", "liu", "hao", "zhao"} <= set(told), told  # everyone it had reached, told where it went

    # 区工信局 promises a day past its deadline: 刘文华 decides, and gets the request alone, not the answer too.
    clock.set(nov(18, 10, 0))
    told = await run.step("new unit answers late", "hu", "send", "/answer W0001 12月4日 正在协调审批部门")
    assert says(told["liu"], "延期申请", "理由：正在协调审批部门"), told["liu"]
    assert not says(told["liu"], "W0001 已答复"), told["liu"]
    assert told["liu"].buttons == ["同意延期", "不同意"], told["liu"]
    assert says(told["wang"], "W0001 已答复：胡杰"), told  # the 区长 follows what he asked for
    await run.step("lead approves", "liu", "press", "同意延期")

    # W0002, at 刘文华's level: the unit's later date is the 区长's to decide.
    told = await run.step("unit answers W0002 late", "zhao", "send", "/answer W0002 12月4日 资金下周到位")
    assert told["wang"].buttons == ["同意延期", "不同意"], told.get("wang")
    await run.step("the 区长 approves", "wang", "press", "同意延期")

    # A third problem, whose extension waits for 刘文华 when his projects are handed over.
    await run.step("W0003 raised", "hao", "send", "/issue ZD2026-001 用地 还有12户未签约")
    await run.step("unit answers W0003 late", "zhao", "send", "/answer W0003 12月31日 年底前完成签约")
    clock.set(nov(19, 10, 0))
    told = await run.step("handover", "admin", "send", "/handover 刘文华 陈建国")
    assert says(told["admin"], "其中已上报至包抓领导的问题（1）今后由 陈建国 批示、协调：W0002",
                "待审批的延期申请（1）今后由 陈建国 审批：W0003"), told["admin"]
    assert says(told["chen"], "已上报至包抓领导、待您批示或协调的问题（1）：W0002",
                "待您审批的延期申请（1）：W0003"), told["chen"]
    # The acts the problems' other notices carry, on the notice itself (a card in WeCom, as in Telegram).
    assert told["chen"].buttons == ["W0002 批示", "W0002 详情", "W0003 同意延期", "W0003 不同意", "W0003 详情"], told
    told = await run.step("new lead approves from the notice", "chen", "press", "W0003 同意延期")
    assert "zhao" in told and "hao" in told, told

    # 区工信局 solves W0001, 郝芳 closes it: every leader who asked or holds it hears the end; 刘文华, who wrote a
    # 批示 on it but handed the project over, is no longer told (陈建国 is, in his place).
    clock.set(nov(20, 10, 0))
    told = await run.step("new unit resolves", "hu", "send", "/resolved W0001 施工许可已核发")
    assert {"hao", "wang", "chen"} <= set(told) and "liu" not in told, told
    told = await run.step("raiser closes", "hao", "send", "/confirm W0001")
    for leader in ("wang", "chen"):
        assert says(told[leader], "W0001 已确认销号：郝芳"), (leader, told)
    assert "liu" not in told, told
    assert "li" not in told  # the 区委书记 neither wrote on it nor held it
    await run.step("top /issues", "li", "send", "/issues")
    await run.step("new lead /issues", "chen", "send", "/issues")
    told = await run.step("new lead /issues 上报", "chen", "send", "/issues 上报")
    assert says(told["chen"], "已上报包抓领导及以上、尚未解决的问题（1 个）：",
                "W0002 ZD2026-001 资金，已答复，已上报包抓领导", "配套资金未到位"), told["chen"]
    told = await run.step("top /issues 上报", "wang", "send", "/issues 上报")
    assert told["wang"].lines == [unicodedata.normalize("NFKC", "没有已上报区长及以上、尚未解决的问题。")], told

    assert not run.mismatches, "\n\n".join(run.mismatches)
