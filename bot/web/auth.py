"""Signing in to the web pages and staying signed in.

- ``/web/login?t=…``: a one-time link from the chat (/web) starts a session and goes to its page.
- ``/web/tg``: the Telegram Mini App; its script posts Telegram's ``initData``, checked with the bot token
  (bot.web.initdata), and the Telegram account's person is signed in.
- ``/web/wecom``: WeCom's in-app browser signs in through WeCom OAuth (网页授权, ``snsapi_base``): the
  browser is sent to WeCom, comes back with a code, ``auth/getuserinfo`` turns it into the member's userid,
  and the person bound to that WeCom account is signed in.
- ``/web/logout`` (POST) ends the session.

The session is a cookie (HttpOnly, SameSite=Lax, Secure when WEB_PUBLIC_URL is https) holding a random id
whose hash is stored (storage.web_sessions); a page without a valid one goes to ``/web/signin``, which
says how to get a link (inside WeCom: straight to OAuth).
"""

from __future__ import annotations

import functools
import logging
import secrets
import time
from urllib.parse import quote, urlencode

from aiohttp import web

from bot.clock import to_local
from bot.services.web_links import HOME, is_https, public_base, safe_next
from bot.web.access import viewer_on
from bot.web.initdata import InitDataError, telegram_user_id
from bot.web.rendering import html_page, secure
from bot.web.state import STATE, View, ViewHandler, WebState
from storage import people, web_sessions

log = logging.getLogger(__name__)
COOKIE = "diaodu_session"
STATE_COOKIE = "diaodu_oauth_state"


def redirect(location: str) -> web.Response:
    """A 302 to ``location`` that may carry cookies."""
    response = web.Response(status=302, headers={"Location": location})
    secure(response)
    return response


def _secure_cookie(state: WebState) -> bool:
    return is_https(state.settings.web_public_url)


def set_session_cookie(response: web.StreamResponse, state: WebState, session_id: str) -> None:
    response.set_cookie(COOKIE, session_id, httponly=True, samesite="Lax", secure=_secure_cookie(state),
                        path="/web", max_age=int(state.idle.total_seconds()) + 86400)


async def _start_session(state: WebState, person_id: int, via: str, next_path: str) -> web.Response:
    session_id = secrets.token_urlsafe(32)
    async with state.db.session() as session:
        await web_sessions.add_session(session, session_id=session_id, person_id=person_id, via=via,
                                       now=state.clock.now())
    response = redirect(safe_next(next_path))
    set_session_cookie(response, state, session_id)
    return response


def _in_wecom(request: web.Request) -> bool:
    return "wxwork" in request.headers.get("User-Agent", "").lower()


def _has_nul(request: web.Request) -> bool:
    return "\x00" in request.path or any("\x00" in key or "\x00" in value for key, value in request.query.items())


def page_route(handler: ViewHandler) -> ViewHandler:
    """A page for signed-in people: runs ``handler`` in one unit of work with the viewer; without a valid
    session, sends the browser to sign in (and back here afterwards)."""

    @functools.wraps(handler)
    async def route(request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        state = request.app[STATE]
        session_id = request.cookies.get(COOKIE)
        now = state.clock.now()
        async with state.db.session() as session:
            person = None
            if session_id:
                person = await web_sessions.session_person(session, session_id=session_id, now=now,
                                                           idle=state.idle)
            if person is not None:
                viewer = await viewer_on(session, person, day=to_local(now).date())
                view = View(request=request, state=state, session=session, viewer=viewer, now=now)
                if _has_nul(request):  # no name, code or filter holds one (and PostgreSQL refuses it)
                    return view.not_found("page")
                return await handler(view)
        target = quote(request.path_qs, safe="")
        if _in_wecom(request) and state.settings.wecom_corp_id:
            return redirect(f"/web/wecom?next={target}")
        # A browser that was signed in is told its sign-in has lapsed, not merely how to sign in.
        return redirect(f"/web/signin?next={target}" + ("&why=ended" if session_id else ""))

    return route  # type: ignore[return-value]


async def signin(request: web.Request) -> web.Response:
    """Not signed in: how to get a link (``why=ended``: the browser's sign-in has lapsed, which it says)."""
    state = request.app[STATE]
    reason = "ended" if request.query.get("why") == "ended" else ""
    return html_page(state.renderer, "signin.html.j2", viewer=None, path=request.path, reason=reason,
                     next_path=safe_next(request.query.get("next")), idle_hours=state.settings.web_session_idle_hours)


async def login(request: web.Request) -> web.Response:
    """A one-time link: sign its person in, or say why it cannot be used."""
    state = request.app[STATE]
    token = request.query.get("t", "")
    now = state.clock.now()
    current = request.cookies.get(COOKIE)
    async with state.db.session() as session:
        redeemed = await web_sessions.redeem_link(session, token=token, now=now) if token else None
        if redeemed is None:
            reason = await web_sessions.link_state(session, token=token, now=now) if token else "unknown"
            # The link opened again (a second tap, the browser's history) where its person is still signed in:
            # on to its page, not an error.
            again = await web_sessions.link_target(session, token=token) if token and current else None
            signed_in = await web_sessions.session_person(session, session_id=current, now=now, idle=state.idle) \
                if again is not None and current else None
            if again is not None and signed_in is not None and signed_in.id == again.person_id:
                return redirect(safe_next(again.next_path))
        else:
            person = await people.get_person(session, person_id=redeemed.person_id)
            reason = "inactive" if person is None or not person.active else ""
            if current:  # the browser's previous session (maybe another person's) ends: one person per browser
                await web_sessions.end_session(session, session_id=current, now=now)
    if redeemed is None or reason:
        log.info("web sign-in link refused: %s", reason)
        return html_page(state.renderer, "signin.html.j2", status=403, viewer=None, path=request.path,
                         reason=reason, next_path=HOME)
    return await _start_session(state, redeemed.person_id, "link", redeemed.next_path)


async def logout(request: web.Request) -> web.Response:
    state = request.app[STATE]
    session_id = request.cookies.get(COOKIE)
    if session_id:
        async with state.db.session() as session:
            await web_sessions.end_session(session, session_id=session_id, now=state.clock.now())
    response = html_page(state.renderer, "signin.html.j2", viewer=None, path=request.path, reason="logout",
                         next_path=HOME)
    response.del_cookie(COOKIE, path="/web")
    return response


# --- Telegram Mini App ------------------------------------------------------------------------------

async def telegram_page(request: web.Request) -> web.Response:
    """The Mini App's first page: its script (static/miniapp.js) posts initData back here."""
    state = request.app[STATE]
    return html_page(state.renderer, "miniapp.html.j2", viewer=None, path=request.path,
                     next_path=safe_next(request.query.get("next")))


async def telegram_signin(request: web.Request) -> web.Response:
    """POST initData: a genuine, recent one of a bound Telegram account signs its person in."""
    state = request.app[STATE]
    form = await request.post()
    token = state.settings.telegram_bot_token
    if token is None:
        raise web.HTTPNotFound()
    try:
        user_id = telegram_user_id(str(form.get("init_data", "")), token.get_secret_value(), now=time.time())
    except InitDataError as error:
        log.info("Mini App sign-in refused: %s", error)
        return html_page(state.renderer, "signin.html.j2", status=403, viewer=None, path=request.path,
                         reason="telegram", next_path=HOME)
    return await _account_signin(state, request, "telegram", user_id, str(form.get("next", HOME)))


async def _account_signin(state: WebState, request: web.Request, channel: str, external_id: str,
                          next_path: str) -> web.Response:
    async with state.db.session() as session:
        account = await people.get_account(session, channel=channel, external_id=external_id)
        person = await people.get_person(session, person_id=account.person_id) if account else None
        ok = account is not None and account.blocked_at is None and person is not None and person.active
    if not ok or person is None:
        return html_page(state.renderer, "signin.html.j2", status=403, viewer=None, path=request.path,
                         reason="unbound", next_path=HOME)
    return await _start_session(state, person.id, channel, next_path)


# --- WeCom OAuth (网页授权) ----------------------------------------------------------------------------

async def wecom_signin(request: web.Request) -> web.Response:
    """Without a code: off to WeCom's authorize page (snsapi_base). With one: the member's userid from
    ``auth/getuserinfo``, then the person bound to it."""
    state = request.app[STATE]
    settings = state.settings
    base = public_base(settings.web_public_url)
    if not (settings.wecom_corp_id and settings.wecom_agent_id and settings.wecom_secret) or base is None:
        raise web.HTTPNotFound()
    next_path = safe_next(request.query.get("next"))
    code = request.query.get("code")
    if not code:
        nonce = secrets.token_urlsafe(16)
        back = f"{base}/web/wecom?{urlencode({'next': next_path})}"
        query = urlencode({"appid": settings.wecom_corp_id, "redirect_uri": back, "response_type": "code",
                           "scope": "snsapi_base", "state": nonce, "agentid": settings.wecom_agent_id})
        response = redirect(f"{settings.wecom_oauth_base.rstrip('/')}/connect/oauth2/authorize?{query}"
                            "#wechat_redirect")
        response.set_cookie(STATE_COOKIE, nonce, httponly=True, samesite="Lax", path="/web/wecom",
                            secure=_secure_cookie(state), max_age=600)
        return response
    expected = request.cookies.get(STATE_COOKIE)
    if not expected or not secrets.compare_digest(expected, request.query.get("state", "")):
        return html_page(state.renderer, "signin.html.j2", status=403, viewer=None, path=request.path,
                         reason="wecom", next_path=HOME)
    userid = await _wecom_userid(state, code)
    if userid is None:
        return html_page(state.renderer, "signin.html.j2", status=403, viewer=None, path=request.path,
                         reason="wecom", next_path=HOME)
    response = await _account_signin(state, request, "wecom", userid, next_path)
    response.del_cookie(STATE_COOKIE, path="/web/wecom")
    return response


async def _wecom_userid(state: WebState, code: str) -> str | None:
    """The member's userid for an OAuth code, or None (a refused or foreign code, a non-member)."""
    from bot.channels.wecom.api import WeComApi
    from bot.channels.wecom.wiring import make_api

    api: WeComApi = make_api(state.settings)
    try:
        async with api:
            answer = await api.call("auth/getuserinfo", params={"code": code}, method="GET")
    except Exception as error:  # WeCom refused the code, or could not be reached: not signed in
        log.info("WeCom OAuth code refused: %s", error)
        return None
    userid = answer.get("userid") or answer.get("UserId")
    return str(userid) if userid else None


def add_auth_routes(app: web.Application) -> None:
    app.router.add_get("/web/signin", signin)
    app.router.add_get("/web/login", login)
    app.router.add_post("/web/logout", logout)
    app.router.add_get("/web/tg", telegram_page)
    app.router.add_post("/web/tg", telegram_signin)
    app.router.add_get("/web/wecom", wecom_signin)
