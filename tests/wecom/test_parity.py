"""The same scenarios on Telegram and on WeCom, through a tiny driver per channel: a user types text,
sends a photo or presses a button, and reads the replies as plain text (what their client shows).

Telegram runs the real PTB application against the fake Bot API (tests/e2e/harness.py); WeCom runs the
real callback endpoint against the fake WeCom server. Both on a fresh copy of the sample ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import pytest

from bot.render import html_to_plain
from tests.e2e.harness import TelegramHarness
from tests.fakes.wecom_api import as_read
from tests.wecom.harness import WeComHarness

CODE = "ZD2026-001"
PROJECT = f"{CODE} 城北高速连接线"


@dataclass
class Said:
    """What the bot sent back for one action: each message's text as shown, and the buttons offered."""

    texts: list[str]
    buttons: list[str]

    @property
    def text(self) -> str:
        return "\n\n".join(self.texts)

    @property
    def lines(self) -> list[str]:
        return [line.strip() for text in self.texts for line in text.splitlines() if line.strip()]

    def __contains__(self, fragment: str) -> bool:
        return fragment in self.text


class Driver(Protocol):
    name: str

    async def invite(self, person: str, role: str = "liaison") -> str: ...
    async def send(self, who: str, text: str) -> Said: ...
    async def photo(self, who: str) -> Said: ...
    async def press(self, who: str, label: str) -> Said: ...
    async def reports(self) -> list[Any]: ...
    def advance(self, **delta: float) -> None: ...


class TelegramDriver:
    name = "telegram"
    USERS = {"hao": 1001, "stranger": 2002}

    def __init__(self, harness: TelegramHarness) -> None:
        self.harness = harness

    @staticmethod
    def _said(replies: Any) -> Said:
        return Said([html_to_plain(t) for t in replies.texts], replies.buttons)

    async def invite(self, person: str, role: str = "liaison") -> str:
        return await self.harness.invite(person, role)

    async def send(self, who: str, text: str) -> Said:
        return self._said(await self.harness.send(self.USERS[who], text))

    async def photo(self, who: str) -> Said:
        return self._said(await self.harness.photo(self.USERS[who]))

    async def press(self, who: str, label: str) -> Said:
        return self._said(await self.harness.press(self.USERS[who], label))

    async def reports(self) -> list[Any]:
        return await self.harness.reports()

    def advance(self, **delta: float) -> None:
        self.harness.clock.advance(**delta)


class WeComDriver:
    name = "wecom"
    USERS = {"hao": "HaoFang", "stranger": "Stranger01"}

    def __init__(self, harness: WeComHarness) -> None:
        self.harness = harness
        harness.fake.add_user(*self.USERS.values())

    @staticmethod
    def _said(replies: Any) -> Said:
        return Said(replies.texts, replies.buttons)

    async def invite(self, person: str, role: str = "liaison") -> str:
        return await self.harness.invite(person, role)

    async def send(self, who: str, text: str) -> Said:
        return self._said(await self.harness.send(self.USERS[who], text))

    async def photo(self, who: str) -> Said:
        return self._said(await self.harness.photo(self.USERS[who]))

    async def press(self, who: str, label: str) -> Said:
        return self._said(await self.harness.press(self.USERS[who], label))

    async def reports(self) -> list[Any]:
        return await self.harness.reports()

    def advance(self, **delta: float) -> None:
        self.harness.clock.advance(**delta)


@pytest.fixture(params=["telegram", "wecom"])
def driver(request: pytest.FixtureRequest) -> Driver:
    if request.param == "telegram":
        return TelegramDriver(request.getfixturevalue("telegram"))
    return WeComDriver(request.getfixturevalue("wecom"))


async def bind_hao(driver: Driver) -> Said:
    code = await driver.invite("郝芳", "liaison")
    return await driver.send("hao", f"/start {code}")


# --- scenarios ---------------------------------------------------------------------------------------


async def test_bind_by_invite(driver: Driver) -> None:
    code = await driver.invite("郝芳", "liaison")
    assert "/start" in await driver.send("hao", "/mine")  # unbound

    welcome = await driver.send("hao", f"/start {code}")

    assert "郝芳" in welcome and "已绑定为:联络员" in welcome and "/report" in welcome
    reused = await driver.send("stranger", f"/start {code}")
    assert "已被使用" in reused
    assert "/start" in await driver.send("stranger", "/mine")
    assert "我的项目" in await driver.send("hao", "/mine")


async def test_one_shot_report(driver: Driver) -> None:
    await bind_hao(driver)

    saved = await driver.send("hao", f"/report {CODE} 1.2亿 主体结构完成60%")

    assert "已记录" in saved and "12,000.0 万元" in saved and "主体结构完成60%" in saved
    [report] = await driver.reports()
    assert (report.amount, report.progress_text) == (12000, "主体结构完成60%")
    card = await driver.send("hao", f"/project {CODE}")
    assert "年度累计完成:38,051.0 万元" in card and "最近填报" in card


async def test_guided_report_with_buttons(driver: Driver) -> None:
    await bind_hao(driver)

    picked = await driver.send("hao", "/report")
    assert "请选择要填报的项目" in picked and picked.buttons == [PROJECT, "取消"]
    assert "请输入本期完成投资" in await driver.press("hao", PROJECT)
    assert "请输入形象进度" in await driver.send("hao", "3000万元")
    photos_asked = await driver.send("hao", "路基完成40%")
    assert photos_asked.buttons == ["完成(不再上传照片)", "取消"]
    assert "已收到 1 张照片" in await driver.photo("hao")
    summary = await driver.press("hao", "完成(不再上传照片)")
    assert "本期完成投资：3000万元 = 3,000.0 万元" in summary and "形象进度:路基完成40%" in summary
    assert "现场照片:1 张" in summary and summary.buttons == ["确认", "修改", "取消"]
    assert await driver.reports() == []  # nothing until confirmed

    saved = await driver.press("hao", "确认")

    assert "已记录" in saved and "3,000.0 万元" in saved and "照片 1 张" in saved
    [report] = await driver.reports()
    assert (report.amount, report.progress_text, len(report.photos)) == (3000, "路基完成40%", 1)
    with pytest.raises(LookupError):  # the summary's buttons are gone: it cannot be confirmed twice
        await driver.press("hao", "确认")


async def test_an_amount_with_a_space_and_an_ambiguous_line(driver: Driver) -> None:
    """The one amount grammar on both channels: "1.2 亿" is 12,000 万元; "3 000" is asked back."""
    await bind_hao(driver)

    saved = await driver.send("hao", f"/report {CODE} 1.2 亿 主体完工")
    assert "1.2 亿 = 12,000.0 万元" in saved

    driver.advance(days=1)  # one report a project a day: the next one is tomorrow's
    asked = await driver.send("hao", f"/report {CODE} 3 000 主体")
    assert "尚未保存" in asked
    assert asked.buttons == ["3.0 万元，进度「000 主体」", "3,000.0 万元，进度「主体」", "都不对，取消"]
    picked = await driver.press("hao", "3,000.0 万元，进度「主体」")

    assert "已记录" in picked
    assert sorted((r.amount, r.progress_text) for r in await driver.reports()) == [(3000, "主体"), (12000, "主体完工")]


async def test_an_ambiguous_correction_is_asked_back(driver: Driver) -> None:
    """/correct reads its amount with the same grammar and asks back the same way, on both channels."""
    await bind_hao(driver)
    assert "已记录" in await driver.send("hao", f"/report {CODE} 300 主体")
    driver.advance(days=1)

    asked = await driver.send("hao", f"/correct {CODE} 11-20 3 000 主体完工 理由：漏写单位")
    assert "尚未更正" in asked
    assert asked.buttons == ["3.0 万元，进度「000 主体完工」", "3,000.0 万元，进度「主体完工」", "都不对，取消"]
    confirm = await driver.press("hao", "3,000.0 万元，进度「主体完工」")
    assert "3 000（未写单位，按万元计）= 3,000.0 万元" in confirm
    assert "已更正" in await driver.press("hao", "确认更正")
    assert [(r.amount, r.progress_text) for r in await driver.reports()] == [(3000, "主体完工")]


async def test_someone_elses_project_is_refused(driver: Driver) -> None:
    await bind_hao(driver)

    refused = await driver.send("hao", "/report ZD2026-002 100 前期手续办理中")

    assert "不是项目 ZD2026-002" in refused and "联络员" in refused
    assert await driver.reports() == []


async def test_mine_marks_the_projects_reported_today(driver: Driver) -> None:
    await bind_hao(driver)
    before = await driver.send("hao", "/mine")
    assert f"⬜ {PROJECT}" in before and "今日未填报" in before

    await driver.send("hao", f"/report {CODE} 850 桩基完成")
    after = await driver.send("hao", "/mine")
    assert f"✅ {PROJECT}" in after and "今日未填报" not in after

    driver.advance(days=3)  # the next working day (Monday): a new day's report is due again
    assert f"⬜ {CODE}" in await driver.send("hao", "/mine")


# --- the same words ----------------------------------------------------------------------------------


def _in_order(needles: list[str], haystack: list[str]) -> bool:
    remaining = iter(haystack)
    return all(any(line == needle for line in remaining) for needle in needles)


async def test_both_channels_show_the_same_words(telegram: TelegramHarness, wecom: WeComHarness) -> None:
    """Step by step through a guided report, every line Telegram shows is shown by WeCom, in order
    (WeCom may add lines, e.g. a numbered list's "回复序号选择")."""
    drivers = [TelegramDriver(telegram), WeComDriver(wecom)]
    steps = [("send", "/help"), ("bind", ""), ("send", "/report"), ("press", PROJECT), ("send", "850"),
             ("send", "桩基完成<80%>&承台"), ("press", "完成(不再上传照片)"), ("press", "确认"),
             ("send", "/mine"), ("send", "/issue"), ("press", PROJECT), ("send", "/cancel")]
    for action, value in steps:
        said: list[Said] = []
        for d in drivers:
            if action == "bind":
                said.append(await bind_hao(d))
            elif action == "send":
                said.append(await d.send("hao", value))
            else:
                said.append(await d.press("hao", value))
        tg, wc = said
        assert tg.lines, (action, value)
        # WeCom shows markdown syntax characters typed by users as their full-width twins.
        assert _in_order([as_read(line) for line in tg.lines], [as_read(line) for line in wc.lines]), (
            action, value, tg.lines, wc.lines)
        assert tg.buttons == wc.buttons, (action, value)
