"""/web: a one-time sign-in link to the web pages (驾驶舱), and the buttons under /rank and /project that ask
for one leading to the page in question."""

from __future__ import annotations

from bot.domain.messages import Button
from bot.render import label
from bot.services.web_links import HOME, LINK_TTL, is_https, make_link, public_base, safe_next
from handlers.context import Context

PREFIX = "web"


def web_button(ctx: Context, path: str = HOME) -> list[Button]:
    """A button asking for a sign-in link to ``path`` (none when the web pages are not configured). The
    link itself is made when pressed: a link in every /rank would be a stored token per look."""
    if public_base(ctx.deps.settings.web_public_url) is None:
        return []
    data = f"{PREFIX}:{safe_next(path)}"
    return [Button(label("web_view"), data)] if len(data.encode()) <= 64 else []  # Telegram's limit for button data


async def web_command(ctx: Context, args: str) -> None:
    """Answer with a one-time sign-in link (and, in Telegram over https, a Mini App button)."""
    await send_link(ctx, HOME)


async def web_pressed(ctx: Context, data: str) -> None:
    await send_link(ctx, data)


async def send_link(ctx: Context, path: str) -> None:
    settings = ctx.deps.settings
    base = public_base(settings.web_public_url)
    if base is None:
        ctx.reply("web_not_configured", admin="admin" in ctx.roles)
        return
    person_id = ctx.person_id
    assert person_id is not None
    url = await make_link(ctx.session, public_url=base, person_id=person_id, now=ctx.now, next_path=path)
    telegram = ctx.msg.channel == "telegram"
    buttons = [[Button(label("web_link"), "", url=url)]]
    if telegram and is_https(base):
        buttons.append([Button(label("web_in_telegram"), "", url=f"{base}/web/tg?next={safe_next(path)}",
                               web_app=True)])
    # Telegram fetches a link written in a message to preview it, which would use the one-time link up: there
    # it is only behind the button. Other channels show it in the text too.
    ctx.reply("web_link", buttons=buttons if telegram else None, url=url, in_text=not telegram,
              minutes=int(LINK_TTL.total_seconds() // 60))
