"""Addresses edited by hand: ids of other people's things, negative, huge, text, odd characters. Each
answers a page in Chinese (403 for what exists out of scope, 404 for what does not), never a server error,
on SQLite and PostgreSQL alike (PostgreSQL refuses numbers beyond its integer columns)."""

from __future__ import annotations

import pytest

from tests.web.harness import ROLE_PEOPLE, WebHarness

HUGE = "9" * 30
ODD = ("0", "-1", HUGE, "99999999999", "abc", "1e5", "１２", "%00", "%27%20OR%201=1", "1.5", " 1")
ROUTES = ("/web/photo/{}", "/web/photo/{}/file", "/web/photo/{}/thumb", "/web/photo/{}/screen", "/web/problem-photo/{}",
          "/web/problem-photo/{}/file", "/web/problem-photo/{}/thumb", "/web/problem-photo/{}/screen",
          "/web/node-photo/{}", "/web/node-photo/{}/file", "/web/node-photo/{}/thumb", "/web/node-photo/{}/screen",
          "/web/problem/{}", "/web/problem/W{}",
          "/web/project/{}", "/web/chart/project/{}.svg", "/web/unit/{}", "/web/town/{}",
          "/web/download/bulletin/weekly/{}/x.xlsx")
QUERIES = ("/web/problems?level={}", "/web/problems?unit={}", "/web/problems?category={}",
           "/web/problems?overdue={}", "/web/project/ZD2026-001?skip={}", "/web/?screen={}")


@pytest.mark.parametrize("role", ["liaison", "admin"])
async def test_edited_addresses_never_fail(site: WebHarness, role: str) -> None:
    failures = []
    async with site.signed_in(ROLE_PEOPLE[role]) as client:
        for route in ROUTES + QUERIES:
            for value in ODD:
                path = route.format(value)
                async with client.get(path, allow_redirects=False) as response:
                    body = await response.read()
                    if response.status >= 500 or (route in ROUTES and response.status not in (403, 404)):
                        failures.append((path, response.status))
                    elif response.status in (403, 404) and "text/html" in response.content_type:
                        assert "无权查看" in body.decode() or "未找到" in body.decode(), path
    assert failures == [], "\n".join(f"{p} {s}" for p, s in failures)
