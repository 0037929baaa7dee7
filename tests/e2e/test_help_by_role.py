"""/help and the Telegram command menu offer each role exactly what the handlers' own checks let it do.

For every role, a person holding only that role binds with an invite (which publishes their menu), reads
/help, then tries every registered command (the registry is walked, so a new command is covered) with
arguments that fit what the role does: W0001 is a problem on the caller's ground (raised by the project's
liaison, held by the caller's unit, raised to the 区委书记 so every leader is on it). A reply that refuses
for who the caller is (rather than for a missing argument or the problem's state) must come exactly for
the commands /help leaves out.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.config import Settings
from storage import people
from storage.models import Problem
from tests.e2e.harness import TelegramHarness, e2e_settings
from tests.fakes.bot_api import FakeBotAPI

HAO = 1001  # 郝芳, liaison of ZD2026-001 (lead unit 区住建局, lead official 刘文华)
CALLERS = {
    "liaison": (HAO, "郝芳"),
    "unit": (3003, "赵芳"),  # 区住建局
    "lead": (4001, "刘文华"),
    "top": (5001, "王立军"),
    "admin": (9001, "管理员(区重大项目办)"),
}
# Arguments a holder of the command's role would give (a command not listed is tried without any).
ARGS = {
    "report": "ZD2026-001 1.2亿 主体结构完成60%",
    "project": "ZD2026-001",
    "issue": "W0001",
    "accept": "W0001",
    "answer": "W0001 已协调住建部门加快审批",
    "reassign": "W0001 不属于本单位职责",
    "resolved": "W0001 已取得施工许可",
    "confirm": "W0001",
    "reopen": "W0001 仍未解决",
    "comment": "W0001 请加快办理",
    "invite": "liaison 武杰",
    "person": "武杰",
    "deactivate": "武杰",
    "handover": "李海涛 吴静",
    "project_set": "ZD2026-002 年度计划 21500",
    "approval": "ZD2026-002 环评 done 2026-11-20",
    "assign": "W0001 区发改局",
    "broadcast": "区住建局 明天上午九点开调度会",
    "decide": "征地拆迁 区住建局 2026-12-20",
}
# What differs for a role: an admin reopens the meeting decisions they recorded (W0002, recorded first).
ROLE_ARGS = {"admin": {"reopen": "W0002 仍未解决"}}
RAISE = "ZD2026-001 审批手续 路灯还没有通电"  # what /issue offers liaisons beyond looking a problem up
# What the handlers and the router say when the caller's role does not allow the command.
ROLE_REFUSALS = ("您没有权限", "只有项目联络员可以反映问题", "只有责任单位", "只有问题提出人",
                 "只有该项目的包抓领导", "只有管理员")


@pytest.fixture
def tg_settings(fake_api: FakeBotAPI, tmp_path: Path) -> Settings:
    """Exports land in a temporary directory."""
    return e2e_settings(fake_api, DATA_DIR=str(tmp_path / "data"))


def refused_for_role(text: str) -> bool:
    return any(phrase in text for phrase in ROLE_REFUSALS)


def help_lines(text: str) -> dict[str, str]:
    """Command name → its line in /help."""
    return {m.group(1): m.group(0) for m in re.finditer(r"^/(\w+) — .*$", text, re.M)}


@pytest.mark.parametrize("role", sorted(CALLERS))
async def test_help_and_menu_list_exactly_what_the_roles_checks_allow(telegram: TelegramHarness,
                                                                      role: str) -> None:
    tg = telegram
    user, name = CALLERS[role]
    async with tg.session() as session:
        [person] = await people.find_people_by_name(session, name=name)
        assert set(person.role_names) == {role}, person.role_names  # the roster gives one role each
    if role != "liaison":
        await tg.bind(HAO, "郝芳", "liaison")
    await tg.bind(user, name, role)
    assert "W0001" in await tg.send(HAO, "/issue ZD2026-001 审批手续 施工许可迟迟未批")
    async with tg.session() as session:
        await session.execute(update(Problem).where(Problem.id == 1).values(level=3))
    if role == "admin":
        assert "W0002" in await tg.send(user, "/decide 协调临时用电 区住建局 2026-12-20")

    listed = help_lines((await tg.send(user, "/help")).text)
    assert tg.fake.menu({"type": "chat", "chat_id": user}) == list(listed)

    usable, refusals = set(), {}
    for command in tg.core.router.commands:
        args = ROLE_ARGS.get(role, {}).get(command.name, ARGS.get(command.name, ""))
        replies = await tg.send(user, f"/{command.name} {args}".strip())
        sent = [c for c in replies.calls if c.method.startswith("send") and c.ok]  # /export sends a file
        assert sent, command.name
        text = "\n".join(str(c.get("text") or c.get("caption") or "") for c in sent)
        if refused_for_role(text):
            refusals[command.name] = text
        else:
            usable.add(command.name)
    assert set(listed) == usable, {"listed, refused": {n: refusals[n] for n in set(listed) & set(refusals)},
                                   "usable, not listed": usable - set(listed)}
    # /issue raises a problem only for liaisons, and says so only to them.
    raising = await tg.send(user, f"/issue {RAISE}")
    assert ("反映问题" in listed["issue"]) == (not refused_for_role(raising.text)) == (role == "liaison"), (
        listed["issue"], raising)
