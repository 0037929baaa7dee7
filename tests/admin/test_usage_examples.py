"""Every example an admin's settings command shows (`/sla`, `/calendar`, `/schedule`, alone or after words it
refused) is accepted when typed exactly as shown: help that cannot be copied is no help."""

from __future__ import annotations

import html as html_module
import re

import pytest

from tests.admin.admin_support import ADMIN_NAME, Desk

EXAMPLE = re.compile(r"<code>(/[^<]+)</code>")
REFUSED = ("没有看懂", "用法", "没有「", "未办理", "请写", "格式")
# The words a form shows in place of a value (`/sla category 类别 天数`), and a value each that the form takes.
FILLED = {"类别": "审批手续", "层级": "1", "天数": "3"}


def examples(desk: Desk, command: str) -> set[str]:
    """The `<code>` examples of `command` in the admin's last replies, as they are typed."""
    html = "\n".join(reply.html for reply in desk.last[ADMIN_NAME].replies)
    found = {html_module.unescape(example) for example in EXAMPLE.findall(html) if example.split()[0] == command}
    return {" ".join(FILLED.get(word, word) for word in example.split()) for example in found}


@pytest.mark.parametrize("command", ["/sla", "/calendar", "/schedule"])
async def test_every_example_a_settings_command_shows_is_accepted(desk: Desk, command: str) -> None:
    shown: set[str] = set()
    for asked in (command, f"{command} 不存在的项"):
        await desk.send(ADMIN_NAME, asked)
        shown |= examples(desk, command)
    assert shown, command
    for example in sorted(shown):
        said = await desk.send(ADMIN_NAME, example)
        assert said.startswith("✅") and not any(word in said for word in REFUSED), (example, said)
