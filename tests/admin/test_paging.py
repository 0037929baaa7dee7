"""Long lists page: /people and /issues show a page at a time with 上一页/下一页, and the buttons keep the
caller's filter and the command's role check."""

from __future__ import annotations

from tests.admin.admin_support import ADMIN_NAME, Desk


async def test_people_pages_forward_and_back(desk: Desk) -> None:
    first = await desk.send(ADMIN_NAME, "/people")
    assert "第 1/" in first
    assert desk.labels(ADMIN_NAME) == ["下一页"]
    second = await desk.press(ADMIN_NAME, "下一页")
    assert "第 2/" in second
    assert "上一页" in desk.labels(ADMIN_NAME)
    names_first = {line.split()[1] for line in first.splitlines()[1:] if line[:1] in "✅⬜🚫"}
    names_second = {line.split()[1] for line in second.splitlines()[1:] if line[:1] in "✅⬜🚫"}
    assert names_first and names_second and not names_first & names_second
    assert await desk.press(ADMIN_NAME, "上一页") == first


async def test_a_filtered_list_keeps_its_filter_across_pages(desk: Desk) -> None:
    first = await desk.send(ADMIN_NAME, "/people 联络员")
    assert "角色：联络员" in first and "下一页" in desk.labels(ADMIN_NAME)
    second = await desk.press(ADMIN_NAME, "下一页")
    assert "角色：联络员" in second and "第 2/" in second


async def test_a_page_button_checks_the_commands_roles(desk: Desk) -> None:
    answer = await desk.tap("郝芳", "pg:people:2:")
    assert "没有权限使用 /people" in answer
    assert "第 2/" not in answer


async def test_odd_page_buttons_are_expired_or_clamped(desk: Desk) -> None:
    assert "已失效" in await desk.tap(ADMIN_NAME, "pg:people:99999999999999999999:")
    assert "已失效" in await desk.tap(ADMIN_NAME, "pg:export:2:")
    last = await desk.tap(ADMIN_NAME, "pg:people:999:")
    assert "下一页" not in desk.labels(ADMIN_NAME) and "上一页" in desk.labels(ADMIN_NAME) and "页" in last


async def test_issues_page_at_twenty(desk: Desk) -> None:
    for n in range(23):
        assert "W" in await desk.send("郝芳", f"/issue ZD2026-001 审批手续 第{n}个问题")
    first = await desk.send("郝芳", "/issues")
    assert "23 个，第 1/2 页" in first and first.count("ZD2026-001 审批手续") == 20
    second = await desk.press("郝芳", "下一页")
    assert "第 2/2 页" in second and second.count("ZD2026-001 审批手续") == 3


async def test_audit_pages_through_the_latest_changes(desk: Desk) -> None:
    first = await desk.send(ADMIN_NAME, "/audit")
    assert "第 1/" in first and desk.labels(ADMIN_NAME) == ["下一页"]
    second = await desk.press(ADMIN_NAME, "下一页")
    assert "第 2/" in second and second != first


async def test_outbox_pages_through_hundreds_of_undelivered_notices(desk: Desk) -> None:
    from bot.domain.messages import Reply
    from storage import outbox, outbox_sending

    count = 350
    async with desk.session() as session:
        for n in range(count):
            [row] = await outbox.enqueue_for_chat(session, channel="telegram", chat_id="-100", key=f"lost:{n}",
                                                  reply=Reply(html=f"第{n}条通知"), now=desk.core.clock.now())
            await outbox_sending.mark_failed(session, message_id=row.id, error="PermanentError: refused")

    first = await desk.send(ADMIN_NAME, "/outbox")
    pages = [first]
    while "下一页" in desk.labels(ADMIN_NAME):
        pages.append(await desk.press(ADMIN_NAME, "下一页"))
        assert len(pages) <= 20

    assert len(pages) == 18  # 20 a page
    assert all(f"共 {count} 条，最近的在前，第 {n}/18 页" in page for n, page in enumerate(pages, start=1))
    assert all(len(page) < 4096 for page in pages)
    ids = [line.split()[0] for page in pages for line in page.splitlines() if line.startswith("#")]
    assert len(ids) == count and len(set(ids)) == count  # every notice once, none skipped
    assert "全部重试" in desk.labels(ADMIN_NAME) and "上一页" in desk.labels(ADMIN_NAME)
    assert await desk.press(ADMIN_NAME, "上一页") == pages[-2]
