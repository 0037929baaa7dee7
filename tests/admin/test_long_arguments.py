"""Every admin command refuses a 3,000-character argument with a reply that fits one Telegram message and quotes
what was typed only in part, as the liaisons' refusals do (the ``preview`` filter: at most ``NOTICE_PREVIEW_MAX``
characters). The commands are those of the registry meant for admins (alone or with some other role), so a new
one is covered by itself; each is given the argument in the places its usage has words."""

from __future__ import annotations

from bot.domain.limits import NOTICE_PREVIEW_MAX
from bot.domain.messages import Incoming
from handlers.commands import ANY_BOUND
from tests.admin.admin_support import ADMIN_NAME, Desk

TELEGRAM_MAX = 4096
GARBAGE = ("乱码x" * 1000)[:3000]
# Where a command's usage has words: the argument alone, or after the words that reach each refusal.
SHAPES = [
    "{g}", "{g} {g}", "add {g}", "remove {g}", "add {g} liaison", "liaison {g}", "郝芳 {g}", "13900001234 {g}",
    "ZD2026-001 {g}", "ZD2026-001 项目名称 {g}", "ZD2026-001 计划开工 {g}", "ZD2026-001 建设阶段 {g}",
    "ZD2026-001 建设阶段 竣工 {g}", "ZD2026-001 牵头单位 {g}", "ZD2026-001 总投资 {g}", "ZD2026-001 用地预审 {g}",
    "ZD2026-001 区住建局 {g}", "category {g}", "category 审批手续 {g}", "response 1 {g}", "end-of-day {g}",
    "reminders {g}", "weights {g}", "2027-02-05 {g}", "2027-02-05 work {g}", "2027 {g}", "W0001 {g}",
]


def longest_quote(text: str) -> int:
    """The longest run of ``text`` that is a piece of the argument."""
    longest = run = 0
    for char in text:
        run = run + 1 if char in "乱码x" else 0
        longest = max(longest, run)
    return longest


async def test_every_admin_command_quotes_a_3000_character_argument_shortened(desk: Desk) -> None:
    commands = sorted(c.name for c in desk.router.commands.available({"admin"}, bound=True)
                      if "admin" in c.roles and c.roles != ANY_BOUND)
    assert {"project_set", "people", "groups", "sla", "calendar", "import", "schedule", "broadcast"} <= set(commands)
    admin = await desk.account(ADMIN_NAME)
    for command in commands:
        for shape in SHAPES:
            text = f"/{command} " + shape.format(g=GARBAGE)
            outcome = await desk.router.handle(Incoming(channel="console", user_id=admin, chat_id=admin, text=text,
                                                        display_name=ADMIN_NAME))
            assert outcome.replies, text[:60]
            for reply in outcome.replies:
                assert len(reply.html) <= TELEGRAM_MAX, (text[:60], len(reply.html))
                if command == "broadcast" and any(b.label.startswith("确认发送") for row in reply.buttons for b in row):
                    continue  # the notice asked to be confirmed is shown whole: that is what is confirmed
                assert longest_quote(reply.html) <= NOTICE_PREVIEW_MAX, (text[:60], reply.html[:200])
