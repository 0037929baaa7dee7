"""Signing in without a link: the Telegram Mini App (initData signed with the bot token, as Telegram does)
and WeCom's in-app browser (OAuth 网页授权 against the fake WeCom server)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.web.initdata import InitDataError, sign, telegram_user_id
from tests.fakes.wecom_api import FakeWeCom
from tests.web.harness import WebHarness, bind, web_harness

TOKEN = "123456:TEST-token"  # the harness's TELEGRAM_BOT_TOKEN


def init_data(user_id: int, *, token: str = TOKEN, age: float = 5) -> str:
    return sign({"query_id": "AAE1", "user": json.dumps({"id": user_id, "first_name": "芳"}),
                 "auth_date": str(int(time.time() - age))}, token)


def test_initdata_check_follows_telegram() -> None:
    now = time.time()
    assert telegram_user_id(init_data(777), TOKEN, now=now) == "777"
    for bad in (init_data(777, token="999:other"), init_data(777, age=7200), "user=1&hash=00", "%%%", ""):
        with pytest.raises(InitDataError):
            telegram_user_id(bad, TOKEN, now=now)
    tampered = init_data(777).replace("777", "778")
    with pytest.raises(InitDataError):
        telegram_user_id(tampered, TOKEN, now=now)


async def test_the_mini_app_signs_a_bound_telegram_user_in(site: WebHarness) -> None:
    await bind(site, "郝芳", "telegram", "777")
    async with site.browser() as client:
        async with client.get("/web/tg?next=/web/project/ZD2026-001") as response:
            page = await response.text()
            assert '<script src="/web/static/miniapp.js" nonce="' in page
        form = {"init_data": init_data(777), "next": "/web/project/ZD2026-001"}
        async with client.post("/web/tg", data=form, allow_redirects=False) as response:
            assert response.status == 302 and response.headers["Location"] == "/web/project/ZD2026-001"
        async with client.get("/web/project/ZD2026-001") as response:
            assert response.status == 200 and "郝芳" in await response.text()


@pytest.mark.parametrize("data", ["forged", "old", "unbound"])
async def test_the_mini_app_refuses(site: WebHarness, data: str) -> None:
    await bind(site, "郝芳", "telegram", "777")
    init = {"forged": init_data(777, token="1:other"), "old": init_data(777, age=4000),
            "unbound": init_data(888)}[data]
    async with site.browser() as client:
        async with client.post("/web/tg", data={"init_data": init, "next": "/web/"}, allow_redirects=False) as r:
            assert r.status == 403
            assert "diaodu_session" not in r.cookies
        async with client.get("/web/", allow_redirects=False) as response:
            assert response.status == 302


async def test_wecom_oauth_signs_the_bound_member_in(ledger_template: Path, tmp_path: Path) -> None:
    async with FakeWeCom() as fake:  # http: with https the cookies are Secure, and this client sends none back
        fake.add_user("HaoFang", "Stranger")
        settings = {"WECOM_CORP_ID": fake.corp_id, "WECOM_AGENT_ID": fake.agent_id, "WECOM_SECRET": fake.secret,
                    "WECOM_API_BASE": fake.base_url, "WEB_PUBLIC_URL": "http://dd.example.gov.cn",
                    "WECOM_OAUTH_BASE": "https://open.weixin.qq.com"}
        async with web_harness(ledger_template, tmp_path, **settings) as site:
            await bind(site, "郝芳", "wecom", "HaoFang")
            async with site.browser(**{"User-Agent": "Mozilla/5.0 wxwork/4.1.0 MicroMessenger"}) as client:
                # A page opened in WeCom's browser without a session goes through OAuth.
                async with client.get("/web/project/ZD2026-001", allow_redirects=False) as response:
                    assert response.headers["Location"] == "/web/wecom?next=%2Fweb%2Fproject%2FZD2026-001"
                async with client.get(response.headers["Location"], allow_redirects=False) as response:
                    authorize = urlsplit(response.headers["Location"])
                query = parse_qs(authorize.query)
                assert authorize.netloc == "open.weixin.qq.com" and authorize.path == "/connect/oauth2/authorize"
                assert query["scope"] == ["snsapi_base"] and query["appid"] == [fake.corp_id]
                assert query["agentid"] == [str(fake.agent_id)]
                back = urlsplit(query["redirect_uri"][0])
                assert back.netloc == "dd.example.gov.cn" and back.path == "/web/wecom"
                # WeCom sends the browser back with a code and the state.
                code = fake.oauth_code("HaoFang")
                url = f"/web/wecom?{back.query}&code={code}&state={query['state'][0]}"
                async with client.get(url, allow_redirects=False) as response:
                    assert response.status == 302 and response.headers["Location"] == "/web/project/ZD2026-001"
                assert fake.calls_of("auth/getuserinfo", ok=True)
                async with client.get("/web/project/ZD2026-001") as response:
                    assert response.status == 200
                # The code was used up; a stranger's code and a wrong state are refused.
                async with client.get(url, allow_redirects=False) as response:
                    assert response.status == 403
            async with site.browser() as client:
                async with client.get("/web/wecom?next=/web/", allow_redirects=False) as response:
                    state = parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]
                code = fake.oauth_code("Stranger")
                async with client.get(f"/web/wecom?code={code}&state={state}", allow_redirects=False) as response:
                    assert response.status == 403  # a member bound to nobody
                code = fake.oauth_code("HaoFang")
                async with client.get(f"/web/wecom?code={code}&state=forged", allow_redirects=False) as response:
                    assert response.status == 403  # not the state this browser was given


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_any_initdata_is_either_genuine_or_refused(text: str) -> None:
    try:
        telegram_user_id(text, TOKEN, now=time.time())
    except InitDataError:
        return
    raise AssertionError(f"accepted unsigned initData {text!r}")


@settings(max_examples=100, deadline=None)
@given(user_id=st.integers(min_value=1, max_value=2**52), name=st.text(max_size=40))
def test_signed_initdata_gives_its_user(user_id: int, name: str) -> None:
    data = sign({"user": json.dumps({"id": user_id, "first_name": name}), "auth_date": str(int(time.time()))},
                TOKEN)
    assert telegram_user_id(data, TOKEN, now=time.time()) == str(user_id)
