"""A unit's or a town's name is in the address of its page, and the ledger may name one with a slash
(区住建局/区人防办, 龙首新区/经开区): every link to such a page opens it, and so does its address after signing in
(the address kept as it was asked for, not read back with the slash undone)."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import update

from storage.models import Project, Unit
from tests.web.harness import ROLE_PEOPLE, WebHarness

UNIT = "区住建局/区人防办"
TOWN = "龙首新区/经开区"
GROUP_LINK = re.compile(r'href="(/web/(?:unit|town)/[^"]+)"')


async def _slashed_names(site: WebHarness) -> None:
    async with site.core.db.session() as session:
        await session.execute(update(Unit).where(Unit.name == "区住建局").values(name=UNIT))
        await session.execute(update(Project).where(Project.location == "龙首新区").values(location=TOWN))
    await site.state.standings.compute()


async def test_every_link_to_a_unit_or_town_named_with_a_slash_opens_its_page(site: WebHarness) -> None:
    await _slashed_names(site)
    async with site.signed_in(ROLE_PEOPLE["admin"]) as client:
        links: set[str] = set()
        for page in ("/web/", "/web/units", "/web/towns", "/web/project/ZD2026-001"):
            async with client.get(page) as response:
                links |= {html.unescape(link) for link in GROUP_LINK.findall(await response.text())}
        opened = {}
        for link in sorted(links):
            async with client.get(link) as response:
                opened[link] = (response.status, await response.text())
    assert all(status == 200 for status, _text in opened.values()), {k: s for k, (s, _t) in opened.items()}
    headings = {re.search(r"<h1>([^<]*)", text).group(1).strip() for _s, text in opened.values()}  # type: ignore[union-attr]
    assert {html.escape(UNIT, quote=False), html.escape(TOWN, quote=False)} <= headings


async def test_a_unit_page_named_with_a_slash_is_where_signing_in_leads(site: WebHarness) -> None:
    await _slashed_names(site)
    async with site.signed_in(ROLE_PEOPLE["admin"]) as client:
        async with client.get("/web/units") as response:
            [link] = [html.unescape(link) for link in GROUP_LINK.findall(await response.text()) if "%2F" in link]
    async with site.browser() as stranger:
        async with stranger.get(link + "?light=red", allow_redirects=False) as response:
            assert response.status == 302
            [next_path] = parse_qs(urlsplit(response.headers["Location"]).query)["next"]
    assert next_path == link + "?light=red"
    async with site.browser() as client:
        async with client.get(await site.link(ROLE_PEOPLE["admin"], next_path)) as response:
            assert response.status == 200 and UNIT in await response.text()
