from tests.web.harness import ROLE_PEOPLE


async def test_smoke(site):
    for role, name in ROLE_PEOPLE.items():
        async with site.signed_in(name) as client:
            for path in ["/web/", "/web/project/ZD2026-001", "/web/problems", "/web/units", "/web/unit/区住建局",
                         "/web/towns", "/web/reporting", "/web/downloads", "/web/chart/trend.svg",
                         "/web/chart/project/ZD2026-001.svg"]:
                async with client.get(path) as r:
                    text = await r.text()
                    print(role, path, r.status, len(text))
                    assert r.status in (200, 403), text[:3000]
