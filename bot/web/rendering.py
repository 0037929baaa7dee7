"""Rendering the web pages: Jinja2 templates under bot/templates/web, HTML-escaped, strict, with the same
number filters as the chat (bot.render), and the security headers every answer carries. The chat's templates
are read too, under "chat/", for what is worded once for both (a problem's history: chat/_problem_event.j2)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web
from jinja2 import ChoiceLoader, Environment, PackageLoader, PrefixLoader, StrictUndefined, select_autoescape

from bot.clock import to_local
from bot.domain import labels
from bot.domain.escalation import LEVEL_NAMES
from bot.domain.limits import PHOTO_FILE_MAX, preview
from bot.domain.rounding import tenths
from bot.render import format_date, format_delta, format_pct, format_points, format_time, wan_or_dash


def moment(value: datetime, now: datetime) -> str:
    """A moment of today as HH:MM, of another day with its date too (数据截至 …)."""
    local = to_local(value)
    return local.strftime("%H:%M") if local.date() == to_local(now).date() else local.strftime("%Y-%m-%d %H:%M")


def segment(value: object) -> str:
    """A name as one segment of an address (a unit's or town's page): every character that is not a letter,
    digit or ``-._~`` escaped, a slash too (Jinja's ``urlencode`` keeps it, and 区住建局/区人防办 became two
    segments, an address no page answers)."""
    return quote(str(value), safe="")


def content_security_policy(nonce: str) -> str:
    """Nothing from elsewhere: scripts, styles, images and forms of our own only; a script inline only with
    this answer's nonce. Telegram's web client may frame the pages (the Mini App)."""
    return ("default-src 'none'; "
            f"script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "form-action 'self'; base-uri 'none'; "
            "frame-ancestors 'self' https://web.telegram.org https://*.telegram.org")


class WebRenderer:
    """The web templates' environment."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=ChoiceLoader([PackageLoader("bot", "templates/web"),
                                 PrefixLoader({"chat": PackageLoader("bot", "templates")})]),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, auto_reload=False,
        )
        words = self.env.get_template("_words.html.j2").module  # the words for codes: web/_words.html.j2
        lights: dict[str, str] = words.lights
        statuses: dict[str, str] = words.statuses
        self.env.filters.update(
            wan=wan_or_dash, pct=format_pct, points=format_points, delta=format_delta, time=format_time,
            day=format_date,
            role=lambda r: labels.ROLES.get(r, r), light_name=lambda s: lights.get(s, ""),
            status=lambda s: statuses.get(s, s),
            level=lambda n: LEVEL_NAMES[n] if 0 <= n < len(LEVEL_NAMES) else "—",
            moment=moment, tenths=tenths, preview=preview, segment=segment,
        )
        self.env.globals["code_labels"] = labels  # what the chat's shared macros use: chat/_problem_event.j2
        self.env.globals["level_names"] = LEVEL_NAMES
        self.env.globals["photo_max_mb"] = PHOTO_FILE_MAX // 2**20  # the largest photo a bot may download

    def render(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(**context)


def html_page(renderer: WebRenderer, template: str, *, status: int = 200, **context: Any) -> web.Response:
    """A page with its own nonce and the security headers."""
    nonce = secrets.token_urlsafe(16)
    response = web.Response(text=renderer.render(template, nonce=nonce, **context), status=status,
                            content_type="text/html", charset="utf-8")
    secure(response, nonce)
    return response


# A photo opened on its own: the browser shows it in a document of its own making, styled inline (Chrome's
# image viewer); nothing else may load. The bytes are served as the picture type Pillow found (nosniff).
MEDIA_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def secure(response: web.StreamResponse, nonce: str | None = None, *, media: bool = False) -> None:
    """The headers every answer of ours carries (``media``: a photo's bytes, opened on their own)."""
    response.headers["Content-Security-Policy"] = (
        MEDIA_POLICY if media else content_security_policy(nonce or secrets.token_urlsafe(16)))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"  # a sign-in link never leaks through a Referer
    response.headers.setdefault("Cache-Control", "no-store")
