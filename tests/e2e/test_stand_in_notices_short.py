"""A stand-in's (代理人) notices of projects changing hands stay short for a 包抓领导 of many projects: three
projects named by code and name, the others counted (「…等17个项目」), and 「发送 /mine 查看全部」 where the stand-in
holds them (his /mine lists the projects he stands in for), as the other leave notices do
(bot/templates/_project_names.j2). Through the real PTB Application and the fake Bot API; people and calendar of
tests/e2e/test_problems.py: 刘文华 leads nine projects, 孙立新 eight."""

from __future__ import annotations

import re
from datetime import datetime

from bot.render import Renderer
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_lead_stand_in import CHEN, _away
from tests.e2e.test_problems import ADMIN, bind_directly, nov

SUN = 4003  # 孙立新, 副区长(社会事业), another 包抓领导
CODE = re.compile(r"ZD2026-\d{3}")


async def test_the_stand_ins_notices_name_three_projects_and_count_the_rest(telegram: TelegramHarness) -> None:
    desk = await _away(telegram)  # 刘文华 away 16 to 20 November, 陈建国 standing in
    await bind_directly(telegram, SUN, "孙立新")

    desk.travel(nov(17, 10, 0))
    assert "刘文华 正在请假" in (await telegram.send(ADMIN, "/handover 孙立新 刘文华")).text
    [given] = (await desk.deliver()).texts(CHEN)
    assert ("📋 <b>代理事项</b>：管理员已将 ZD2026-003 名城二期、ZD2026-008 实验学校、"
            "ZD2026-013 酒业技改扩能等8个项目 交由 刘文华 包抓（原包抓领导：孙立新）") in given, given
    assert "批示由您代为处理（发送 /mine 查看全部）。" in given, given
    assert len(CODE.findall(given)) == 3, given

    desk.travel(nov(17, 11, 0))  # 刘文华 now leads 17: one goes to 孙立新
    assert "孙立新" in (await telegram.send(ADMIN, "/project_set ZD2026-001 包抓领导 孙立新")).text
    [taken] = (await desk.deliver()).texts(CHEN)
    assert "管理员已将 刘文华 包抓的 ZD2026-001 城北高速连接线 交由 孙立新 包抓" in taken, taken
    assert re.search(r"刘文华 其余包抓项目 (ZD2026-\d{3} [^、]+、){2}ZD2026-\d{3} [^、]+等16个项目 仍由您代为处理至 "
                     r"2026-11-20，发送 /mine 查看全部。", taken), taken
    assert len(CODE.findall(taken)) == 4, taken  # the one taken, and three of the sixteen

    desk.travel(nov(17, 12, 0))  # the other sixteen go to 孙立新 too
    assert "刘文华 正在请假" in (await telegram.send(ADMIN, "/handover 刘文华 孙立新")).text
    [all_taken] = (await desk.deliver()).texts(CHEN)
    assert "等16个项目 交由 孙立新 包抓，您不再代 刘文华 处理这些项目的问题。" in all_taken, all_taken
    assert "/mine" not in all_taken.split("\n")[0], all_taken  # no longer his: nothing to see in his /mine
    assert len(CODE.findall(all_taken)) == 3 and len(all_taken) < 300, all_taken


def test_what_the_stand_in_decided_lists_three_and_counts_the_rest() -> None:
    """Seventeen acts of the stand-in: the first three listed, the other fourteen counted."""

    class Event:
        def __init__(self, n: int) -> None:
            self.kind, self.detail, self.text = "comment", {}, f"请抓紧协调{n}"
            self.at = datetime.fromisoformat(f"2026-11-{16 + n % 4}T09:{n:02d}:00+08:00")

    class Decided:
        def __init__(self, n: int) -> None:
            self.number, self.event, self.handed_to = f"W{n:04d}", Event(n), None

    class Person:
        name = "陈建国"

    text = Renderer().render("_leave_decided", substitute=Person(), decided=[Decided(n) for n in range(1, 18)])
    lines = text.split("\n")
    assert lines[0] == "代理期间 陈建国 代为处理 17 项：", text
    assert [line.split(" ")[1] for line in lines[1:4]] == ["W0001", "W0002", "W0003"], text
    assert lines[1] == "- W0001 批示：请抓紧协调1（2026-11-17 09:01）", text
    assert lines[4:] == ["- 另有 14 项未列出，详见各问题的办理记录"], text
    few = Renderer().render("_leave_decided", substitute=Person(), decided=[Decided(n) for n in range(1, 4)])
    assert few.split("\n")[0] == "代理期间 陈建国 代为处理：" and "另有" not in few and few.count("\n") == 3, few
