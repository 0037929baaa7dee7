"""Chinese keywords typed in the WeCom app chat map to the same commands as Telegram's."""

import pytest

from bot.channels.wecom.incoming import keyword_to_command
from bot.domain.messages import Incoming


@pytest.mark.parametrize(("typed", "command"), [
    ("填报 ZD2026-001 1.2亿 主体结构完成60%", "/report ZD2026-001 1.2亿 主体结构完成60%"),
    ("填报ZD2026-001 850 桩基完成", "/report ZD2026-001 850 桩基完成"),
    ("  填报  ", "/report"),
    ("问题 ZD2026-001 用地 还有12户未签约", "/issue ZD2026-001 用地 还有12户未签约"),
    ("问题:ZD2026-001 用地 还有12户未签约", "/issue ZD2026-001 用地 还有12户未签约"),
    ("问题\uff1aW0007", "/issue W0007"),
    ("问题清单", "/issues"),
    ("我的问题 全部", "/issues 全部"),
    ("我的", "/mine"),
    ("我的项目", "/mine"),
    ("排名", "/rank"),
    ("帮助", "/help"),
    ("帮助?", "/help ?"),
    ("绑定 Abc-123_x", "/start Abc-123_x"),
    ("绑定\u3000Abc-123_x", "/start Abc-123_x"),
    ("取消", "/cancel"),
    ("\uff0freport ZD2026-001 100 桩基", "/report ZD2026-001 100 桩基"),
    ("/mine", "/mine"),
])
def test_a_keyword_at_the_start_is_the_command(typed: str, command: str) -> None:
    assert keyword_to_command(typed) == command


@pytest.mark.parametrize("typed", [
    "问题是征地拆迁还没完成",  # a problem's description typed inside a flow
    "我的天",
    "填报了吗",
    "请帮助我",  # not at the start
    "850",
    "ZD2026-001 850 桩基完成",
    "",
])
def test_other_text_is_left_alone(typed: str) -> None:
    assert keyword_to_command(typed) == typed


def test_the_mapped_text_parses_as_the_command() -> None:
    text = keyword_to_command("填报 ZD2026-001 1.2亿 x")
    incoming = Incoming(channel="wecom", user_id="u", chat_id="u", text=text)
    assert incoming.command == ("report", "ZD2026-001 1.2亿 x")
