"""A node marked done from WeCom: `/node` lists the liaison's open nodes as card buttons, the day is today,
a WeCom image is kept as evidence, and the lead unit's handler is told through the WeCom app."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.clock import SHANGHAI
from bot.domain.stage_events import FINISH
from storage import stage_events
from storage.models import NodePhoto, Project, ProjectNode
from tests.fakes.wecom_api import FakeWeCom
from tests.wecom.harness import HAO, ZHAO, WeComHarness

CODE = "ZD2026-001"


async def test_a_liaison_marks_a_node_done_in_wecom(wecom: WeComHarness, fake_wecom: FakeWeCom) -> None:
    await wecom.bind(HAO, "郝芳", "liaison")
    await wecom.bind(ZHAO, "赵芳", "unit")
    today = wecom.clock.now().astimezone(SHANGHAI).date()
    listed = await wecom.send(HAO, "/node")
    assert "路基完成" in listed.text and f"{CODE} 路基完成" in listed.buttons, listed
    await wecom.press(HAO, f"{CODE} 路基完成")
    asked = await wecom.press(HAO, f"今天完成（{today.isoformat()}）")
    assert "现场照片" in asked.text
    image = fake_wecom.add_sent_image(b"\x89PNG fake")
    assert "照片 1 张" in (await wecom.photo(HAO, image)).text
    done = await wecom.press(HAO, "完成")
    assert "按期完成" in done.text and "已告知牵头单位区住建局" in done.text, done.text
    mark = len(fake_wecom.calls)
    await wecom.deliver_outbox()
    assert any("路基完成" in text and "（按期）" in text for text in fake_wecom.shown(ZHAO, since=mark))
    async with wecom.session() as session:
        node = (await session.scalars(select(ProjectNode).join(Project, Project.id == ProjectNode.project_id)
                                      .where(Project.code == CODE, ProjectNode.name == "路基完成"))).one()
        photos = (await session.scalars(select(NodePhoto).where(NodePhoto.node_id == node.id))).all()
    assert node.done_on == today and [(p.channel, p.file_id) for p in photos] == [("wecom", image)]


async def test_a_finished_projects_node_is_given_its_real_day_in_wecom(wecom: WeComHarness) -> None:
    """ZD2026-001 confirmed 竣工 three days ago with 路基完成 not marked: its liaison records the day it was really
    done, on or before the 竣工 day, through the same /node flow as in Telegram."""
    await wecom.bind(HAO, "郝芳", "liaison")
    today = wecom.clock.now().astimezone(SHANGHAI).date()
    finished = today - timedelta(days=3)
    async with wecom.session() as session:
        project = (await session.scalars(select(Project).where(Project.code == CODE))).one()
        await stage_events.report(session, project=project, kind=FINISH, day=finished, person_id=None,
                                  now=wecom.clock.now(), confirmed=True)
    listed = await wecom.send(HAO, f"/node {CODE}")
    assert "其节点不再跟踪" in listed.text and "补记完成：路基完成" in listed.buttons, listed
    asked = await wecom.press(HAO, "补记完成：路基完成")
    assert f"不晚于竣工日期 {finished.isoformat()}" in asked.text, asked.text
    refused = await wecom.send(HAO, today.isoformat())
    assert f"晚于项目竣工日期 {finished.isoformat()}" in refused.text, refused.text
    day = finished - timedelta(days=2)
    assert f"完成日期：{day.isoformat()}" in (await wecom.send(HAO, day.isoformat())).text
    done = await wecom.press(HAO, "完成")
    assert "项目竣工后补记" in done.text, done.text
    async with wecom.session() as session:
        node = (await session.scalars(select(ProjectNode).join(Project, Project.id == ProjectNode.project_id)
                                      .where(Project.code == CODE, ProjectNode.name == "路基完成"))).one()
    assert node.done_on == day
