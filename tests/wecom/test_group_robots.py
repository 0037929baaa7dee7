"""/groups add for a WeCom group robot, in a WeCom private chat with the fake WeCom: a robot whose configured name
(WECOM_ROBOT_KEYS) is longer than a bulletin group's record holds is refused, saying so, and nothing is written."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.domain.text_widths import ROBOT_NAME_WIDTH
from storage.models import AuditEntry, BulletinGroup
from tests.fakes.wecom_api import FakeWeCom
from tests.wecom.harness import WeComHarness

ADMIN = "office"
LONG = "城" * (ROBOT_NAME_WIDTH + 1)


@pytest.fixture
async def fake_wecom() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom(robots={"项目办": "robot-key-office-0002", LONG: "robot-key-long-0003"}) as fake:
        yield fake


async def test_a_robot_name_too_long_to_keep_is_refused_and_a_short_one_added(wecom: WeComHarness) -> None:
    await wecom.bind(ADMIN, "管理员(区重大项目办)", "admin")

    refused = await wecom.send(ADMIN, f"/groups add {LONG}")
    assert f"群机器人名称最多 {ROBOT_NAME_WIDTH} 个字，这里有 {ROBOT_NAME_WIDTH + 1} 个字" in refused.text, refused
    async with wecom.core.db.session() as session:
        assert (await session.scalars(select(BulletinGroup))).all() == []
        assert (await session.scalars(select(AuditEntry).where(AuditEntry.action == "group.add"))).all() == []

    assert "已添加企业微信群机器人「项目办」" in (await wecom.send(ADMIN, "/groups add 项目办")).text
    async with wecom.core.db.session() as session:
        assert [(g.channel, g.chat_id) for g in (await session.scalars(select(BulletinGroup))).all()] == [
            ("wecom_robot", "项目办")]
