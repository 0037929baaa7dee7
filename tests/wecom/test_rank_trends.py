"""/rank on WeCom: the scenarios of tests/e2e/test_rank_trends.py (changes since last Sunday; 填报率 with its
heat map) through the real callback endpoint and the fake WeCom server, and the keyword 填报率."""

from __future__ import annotations

from tests.e2e.test_rank_trends import Say, changes_since_sunday, participation_scenario
from tests.wecom.harness import WeComHarness

WC_PEOPLE = {"hao": ("haofang", "郝芳", "liaison"), "wu": ("wujie", "武杰", "liaison"),
             "ye": ("yezhigang", "叶志刚", "unit"), "zhao": ("zhaofang", "赵芳", "unit"),
             "admin": ("office", "管理员(区重大项目办)", "admin")}


async def _wecom(wecom: WeComHarness, images: list[str]) -> Say:
    for userid, name, role in WC_PEOPLE.values():
        await wecom.bind(userid, name, role)

    async def say(who: str, text: str) -> str:
        replies = await wecom.send(WC_PEOPLE[who][0], text)
        images.extend(t for t in replies.msgtypes if t == "image")
        return replies.text

    return say


async def test_rank_changes_on_wecom(wecom: WeComHarness) -> None:
    await changes_since_sunday(wecom, await _wecom(wecom, []))


async def test_rank_participation_on_wecom(wecom: WeComHarness) -> None:
    images: list[str] = []
    say = await _wecom(wecom, images)
    await participation_scenario(wecom, say)
    assert len(images) == 3  # 赵芳's twice (Friday and Saturday) and the admin's
    typed = await say("zhao", "填报率")  # the keyword is /rank 填报; Saturday: Friday counts
    assert "区住建局" in typed and "5.4%（2/37）" in typed
