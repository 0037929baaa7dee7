"""Every figure a month's bulletins, /rank and the web pages publish, checked against an oracle written from the
rules: a district office's month lived through the chat (``office_month``), the figures worked out by hand from
what was entered (``month_book``).

Compared, for the last weekly bulletin (2026-W49, Sunday 6 December) and the monthly (2026-11): the texts' district
figures, ranked lines with their change since the week before (a tie included), 表扬 and 预警, units' and towns'
scores and places, the 填报率 line and the problem table; every cell of the Excel ledgers' 项目台账, 单位排名 and
乡镇排名; the Word bulletin's ranking, unit and problem tables; a lead official's digest with its 4-week trend; and,
on the weekly's cut-off evening, /rank (the overview and a unit handler's), /rank 填报, and the web overview, units,
towns, a town's page, 填报情况 and every project's page. The differences are collected and shown together, each
naming the surface, the oracle's figure and the published one.

The oracle found three faults this way: a project finished in the week owed nothing that whole week (and nothing in
the four weeks of 填报率), its unit's 按时填报 leaving out the days before its 竣工; the re-import, its file still
saying 前期, took back the 开工 confirmed in the chat, every bulletin then listing the project under 应开工未开工 and
leaving it out of 开工率; and a completion change of exactly +0.25 points read +0.2.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from docx import Document

from bot.app import Core
from bot.domain.halfmonth import containing
from bot.render import Renderer, html_to_plain
from bot.services.halfmonth import compile_document
from jobs.bulletin_render import Rendered
from storage import people
from storage.db import Database
from storage.settings import load_calendar

from .month_book import Book, one, pct, schedule, signed, wan
from .office_month import (
    ADMIN,
    BASE_DAY,
    HANDLER,
    LAST,
    NOV,
    W49,
    Desk,
    at,
    bulletin,
    live_a_month,
    served,
)
from .test_figures_agree import sheet_rows, table_rows


def cells(html: str) -> list[list[str]]:
    """The rows of a page's tables, each cell's text (tags dropped, blanks squeezed)."""
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S):
        found = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        rows.append([" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in found])
    return rows


def ledger_differences(book: Book, workbook: bytes, start: date, end: date) -> list[str]:
    """Every figure of a bulletin's Excel ledger the oracle does not find, one line each."""
    found: list[str] = []
    codes, ranks = book.codes(end), book.ranks(end)
    projects = sheet_rows(workbook, "项目台账")
    if sorted(r["编号"] for r in projects) != codes:
        return [f"projects: oracle {codes}, ledger {sorted(r['编号'] for r in projects)}"]
    for r in projects:
        c = r["编号"]
        want = (wan(book.rows[c].plan), pct(schedule(end)), wan(book.ytd(c, end)), pct(book.rate(c, end)),
                signed(book.gap(c, end)), ranks[c], book.light(c, end))
        got = (wan(Decimal(str(r["年度计划(万元)"]))), pct(Decimal(str(r["序时进度"]))),
               wan(Decimal(str(r["累计完成(万元)"]))), pct(Decimal(str(r["完成率"]))),
               signed(Decimal(str(r["差距(百分点)"]))), r["排名"], r["预警"])
        if want != got:
            found.append(f"项目台账 {c}: oracle {want}, ledger {got}")
    for sheet, key, of in (("单位排名", "牵头单位", "unit"), ("乡镇排名", "乡镇", "town")):
        groups = book.groups(of, start, end)
        if sorted(r[key] for r in sheet_rows(workbook, sheet)) != sorted(groups):
            found.append(f"{sheet}: oracle {sorted(groups)}, ledger {[r[key] for r in sheet_rows(workbook, sheet)]}")
        for r in sheet_rows(workbook, sheet):
            g = groups[r[key]]
            want = (int(g["projects"]), pct(g["investment"]), pct(g["punctuality"]), pct(g["problems"]),
                    "—" if g["score"] is None else one(g["score"]), g["rank"])
            got = (r["项目数"], *(pct(None if r[k] is None else Decimal(str(r[k])))
                                 for k in ("投资完成指数", "填报及时率", "问题按期办结率")),
                   "—" if r["综合得分"] is None else one(Decimal(str(r["综合得分"]))), Decimal(r["排名"]))
            if want != got:
                found.append(f"{sheet} {r[key]}: oracle {want}, ledger {got}")
    return found


def moved(then: Decimal | int | None, now: Decimal | int | None) -> str:
    """A place's change since the previous period: ↑2 / ↓3 / 持平, or 新上榜 when it had none then."""
    if then is None:
        return "新上榜"
    return "持平" if then == now else f"↑{int(then - now)}" if then > now else f"↓{int(now - then)}"


def change(book: Book, code: str, end: date) -> str:
    """A project's change since a week before: its place, and its completion in points."""
    before = end - timedelta(days=7)
    then = book.ranks(before).get(code) if book.rows[code].entered <= before else None
    rate, earlier = book.rate(code, end), book.rate(code, before)
    points = one((rate - earlier) * 100) if rate is not None and earlier is not None else None
    written = "" if then is None or points is None else f" {points:+}".replace("-", "\u2212") if points else " 0.0"
    return moved(then, book.ranks(end)[code]) + written


def text_lines(book: Book, end: date, start: date, *, weekly: bool) -> list[str]:
    """The lines the oracle expects in a bulletin's text (plain)."""
    codes = book.codes(end)
    done = sum((book.ytd(c, end) for c in codes), Decimal(0))
    plan = sum((book.rows[c].plan for c in codes), Decimal(0))
    lights = [book.light(c, end) for c in codes]
    started, counted = book.share("开工", end)
    finished, finish_counted = book.share("竣工", end)
    if weekly:
        head = (f"{len(codes)} 个重点项目，序时进度 {pct(schedule(end))}；年度累计完成 {wan(done)} 万元，"
                f"占年度计划 {wan(plan)} 万元的 {pct(done / plan)}。")
    else:
        grew = done - sum((book.ytd(c, start - timedelta(days=1)) for c in codes), Decimal(0))
        head = (f"{len(codes)} 个重点项目，本期完成投资 {wan(grew)} 万元；年度累计完成 {wan(done)} 万元，"
                f"占年度计划 {wan(plan)} 万元的 {pct(done / plan)}（序时进度 {pct(schedule(end))}）。")
    lines = [head, f"🟢 {lights.count('绿灯')} 个 🟡 {lights.count('黄灯')} 个 🔴 {lights.count('红灯')} 个",
             f"开工率 {pct(Decimal(started) / counted)}（{started}/{counted}），"
             f"竣工率 {pct(Decimal(finished) / finish_counted)}（{finished}/{finish_counted}）"]
    ranks = book.ranks(end)
    icons = {"绿灯": "🟢", "黄灯": "🟡", "红灯": "🔴"}
    if weekly:
        lines += [f"{ranks[c]}. {icons[book.light(c, end)]} {c} {book.rows[c].name} {pct(book.rate(c, end))}"
                  f"（{signed(book.gap(c, end))}） {change(book, c, end)}" for c in codes]
        lines.append(f"全区 {pct(book.punctuality(codes, end - timedelta(days=27), end))}")
        # 表扬 the first three ranked above 0 %; 预警 every red one not finished, furthest behind first
        ranked = sorted(codes, key=lambda c: (ranks[c], c))
        praised = [c for c in ranked if book.rate(c, end)][:3]
        lines.append("👍 表扬：" + "、".join(f"{c} {book.rows[c].name}" for c in praised))
        red = sorted((c for c in codes if book.light(c, end) == "红灯" and book.stage(c, end) != "竣工"),
                     key=lambda c: (book.gap(c, end), c))
        lines.append(f"🚨 预警（红灯 {len(red)} 个）：" + "、".join(
            f"{c} {book.rows[c].name} 完成率 {pct(book.rate(c, end))}" for c in red))
    for of in ("unit", "town") if weekly else ("unit",):
        then = book.groups(of, start - timedelta(days=7), end - timedelta(days=7))
        lines += [f"{int(g['rank'])}. {name} {one(g['score'])} 分" + (f" {moved(then[name]['rank'], g['rank'])}"
                                                                      if weekly else "")
                  for name, g in book.groups(of, start, end).items()]
    if not weekly:
        lines.append("全区：{} / {} / {}".format(*book.problem_figures(None, start, end)[:3]))
        for unit in HANDLER:
            raised, solved, overdue, _ = book.problem_figures(unit, start, end)
            if raised or solved or overdue:
                lines.append(f"{unit}：{raised} / {solved} / {overdue}")
    return lines


def word_differences(book: Book, document: Path, start: date, end: date) -> list[str]:
    found: list[str] = []
    ranks = book.ranks(end)
    for r in (r for r in table_rows(document, "名次") if r[1].startswith("ZD")):
        c = r[1]
        want = [str(ranks[c]), wan(book.rows[c].plan), wan(book.ytd(c, end)), pct(book.rate(c, end)),
                signed(book.gap(c, end))]
        if [r[0], *r[4:8]] != want:
            found.append(f"Word ranking {c}: oracle {want}, Word {[r[0], *r[4:8]]}")
    units = book.groups("unit", start, end)
    for r in (r for r in table_rows(document, "名次") if r[1] in units):
        g = units[r[1]]
        want = [str(int(g["rank"])), str(int(g["projects"])), str(one(g["score"])), pct(g["investment"]),
                pct(g["punctuality"]), pct(g["problems"])]
        if [r[0], *r[2:7]] != want:
            found.append(f"Word units {r[1]}: oracle {want}, Word {[r[0], *r[2:7]]}")
    for r in table_rows(document, "责任单位")[1:]:
        want = [str(n) for n in book.problem_figures(None if r[0] == "全区" else r[0], start, end)[:3]]
        if r[1:] != want:
            found.append(f"Word problems {r[0]}: oracle {want}, Word {r[1:]}")
    return found


async def bulletin_differences(book: Book, weekly: Rendered, monthly: Rendered, db: Database,
                               folder: Path) -> list[str]:
    """The bulletins' texts, Excel ledgers and Word document, the top officials' summary, the half-monthly
    report and a lead official's digest, against the oracle."""
    found: list[str] = []
    for name, rendered, period in (("W49", weekly, W49), ("2026-11", monthly, NOV)):
        found += [f"{name} {d}" for d in ledger_differences(book, rendered.files["ledger"].read_bytes(),
                                                             period.start, period.end)]
        text = html_to_plain(rendered.text)
        found += [f"{name} text lacks: {line}" for line in text_lines(book, period.end, period.start,
                                                                      weekly=period.kind == "weekly")
                  if line not in text]
    found += [f"2026-11 {d}" for d in word_differences(book, monthly.files["document"], NOV.start, NOV.end)]
    in_nov = book.codes(NOV.end)
    done = sum((book.ytd(c, NOV.end) for c in in_nov), Decimal(0))
    plan = sum((book.rows[c].plan for c in in_nov), Decimal(0))
    grew = done - sum((book.ytd(c, BASE_DAY) for c in in_nov), Decimal(0))
    started, counted = book.share("开工", NOV.end)
    finished, finish_counted = book.share("竣工", NOV.end)
    paragraph = (f"本期（11月1日至11月30日）完成投资{wan(grew)}万元；年度累计完成投资{wan(done)}万元，占年度计划"
                 f"{wan(plan)}万元的{pct(done / plan)}，序时进度{pct(schedule(NOV.end))}。全区重点项目{len(in_nov)}个，"
                 f"开工率{pct(Decimal(started) / counted)}（{started}/{counted}），"
                 f"竣工率{pct(Decimal(finished) / finish_counted)}（{finished}/{finish_counted}）。")
    if paragraph not in [p.text for p in Document(str(monthly.files["document"])).paragraphs]:
        found.append(f"2026-11 Word lacks: {paragraph}")
    summary = (f"{len(in_nov)} 个重点项目，年度累计完成 {wan(done)} 万元，占年度计划 {wan(plan)} 万元的"
               f" {pct(done / plan)}，序时进度 {pct(schedule(NOV.end))}。")
    if summary not in html_to_plain("\n".join(monthly.top_parts)):
        found.append(f"2026-11 top officials' summary lacks: {summary}")

    # The half-monthly report of 16-30 November: each project's year-to-date, completion and days reported.
    async with db.session() as session:
        half = await compile_document(session, Renderer(), half=containing(NOV.end),
                                      calendar=await load_calendar(session), out_dir=folder / "half",
                                      issued=date(2026, 12, 2))
    for r in table_rows(half.path, "序号")[1:]:
        c = r[1]
        due = book.due(c, date(2026, 11, 16), NOV.end)
        came = sum(1 for d in due if d in book.reports.get(c, {}))
        want = [wan(book.ytd(c, NOV.end)), pct(book.rate(c, NOV.end)), f"{came}/{len(due)}" if due else "—"]
        if r[5:8] != want:
            found.append(f"半月报 {c}: oracle {want}, document {r[5:8]}")

    # A lead official's digests, weekly and monthly: his projects' lines and their 4-week trend, pooled.
    lead = "刘文华"
    async with db.session() as session:
        [person] = await people.find_people_by_name(session, name=lead)
    for name, rendered, cutoff in (("W49", weekly, LAST), ("2026-11", monthly, NOV.end)):
        digest = html_to_plain("\n".join(rendered.leaders[person.id]))
        held = [c for c in book.codes(cutoff) if book.rows[c].lead == lead]
        ranks = book.ranks(cutoff)
        for c in held:
            line = (f"{c} {book.rows[c].name}：第 {ranks[c]} 名，完成率 {pct(book.rate(c, cutoff))}"
                    f"（{signed(book.gap(c, cutoff))} 个百分点）")
            if line not in digest:
                found.append(f"{name} digest lacks: {line}")
        # the trend's points: the cut-off days (Sundays) of the three weekly bulletins before, then the cut-off
        sunday = cutoff - timedelta(days=(cutoff.weekday() + 1) % 7 or 7)
        for end in [sunday - timedelta(days=7 * n) for n in (2, 1, 0)] + [cutoff]:
            mine = [c for c in held if book.rows[c].entered <= end]
            pooled = (sum((book.ytd(c, end) for c in mine), Decimal(0))
                      / sum((book.rows[c].plan for c in mine), Decimal(0)))
            line = f"{end.month}月{end.day}日 {pct(pooled)}（{pct(schedule(end))}）"
            if line not in digest:
                found.append(f"{name} digest trend lacks: {line}")

    return found


async def chat_differences(book: Book, core: Core) -> list[str]:
    """/rank (the overview and a unit handler's), /rank 填报 and every /project card on the weekly's cut-off
    evening, against the oracle."""
    found: list[str] = []
    ranks = book.ranks(LAST)
    # /rank on the weekly's cut-off day: the overview (an admin) and a unit handler's.
    desk = Desk(core)
    desk.travel(at(LAST, 20))
    overview, handler = await desk.say(ADMIN, "/rank"), await desk.say("胡杰", "/rank")
    codes = book.codes(LAST)
    units = book.groups("unit", W49.start, LAST)
    for c in sorted(codes, key=lambda c: ranks[c])[:5]:
        line = f"{ranks[c]}. {c} {book.rows[c].name} {pct(book.rate(c, LAST))} {change(book, c, LAST)}"
        if line not in overview:
            found.append(f"/rank lacks: {line}")
    top = "、".join(f"{n}（{one(g['score'])}）" for n, g in sorted(units.items(), key=lambda u: u[1]["rank"]))
    if f"牵头单位前三：{top}" not in overview:
        found.append(f"/rank lacks: 牵头单位前三：{top}")
    for c in (c for c in codes if book.rows[c].unit == "区工信局"):
        line = (f"{c} {book.rows[c].name}：第 {ranks[c]}/{len(codes)} 名，完成率 {pct(book.rate(c, LAST))}"
                f"（{signed(book.gap(c, LAST))} 个百分点）")
        if line not in handler:
            found.append(f"/rank (胡杰) lacks: {line}")
    g = units["区工信局"]
    if f"区工信局：牵头单位第 {int(g['rank'])}/{len(units)} 名，综合得分 {one(g['score'])}" not in handler:
        found.append("/rank (胡杰) lacks the unit's line")

    # /rank 填报: the four weeks up to the cut-off day, the district's and each unit's, pooled and week by week.
    participation = await desk.say(ADMIN, "/rank 填报")
    mondays = [LAST - timedelta(days=6 + 7 * n) for n in range(3, -1, -1)]
    for name, members in (("全区", codes), *((u, [c for c in codes if book.rows[c].unit == u]) for u in units)):
        due = [(c, d) for c in members for d in book.due(c, mondays[0], LAST)]
        came = sum(1 for c, d in due if d in book.reports.get(c, {}))
        by_week = " → ".join(pct(book.punctuality(members, m, m + timedelta(days=6))) for m in mondays)
        line = f"{name} {pct(Decimal(came) / len(due))}（{came}/{len(due)}）：{by_week}"
        if line.replace("全区 ", "全区：") not in participation:
            found.append(f"/rank 填报 lacks: {line}")

    # /project: every project's card.
    for c in codes:
        card = await desk.say(ADMIN, f"/project {c}")
        gap = book.gap(c, LAST)
        behind = f"{'超序时' if gap >= 0 else '落后'} {one(abs(gap))} 个百分点"
        for words in (f"年度累计完成：{wan(book.ytd(c, LAST))} 万元", f"完成率：{pct(book.rate(c, LAST))}",
                      f"序时进度：{pct(schedule(LAST))}，{behind}"):
            if words not in card:
                found.append(f"/project {c} lacks: {words}")

    return found


async def web_differences(book: Book, core: Core, folder: Path) -> list[str]:
    """The web pages on the weekly's cut-off evening, against the oracle."""
    found: list[str] = []
    codes, ranks = book.codes(LAST), book.ranks(LAST)
    liaisons = {book.rows[c].liaison: c for c in codes}
    mondays = [LAST - timedelta(days=6 + 7 * n) for n in range(3, -1, -1)]
    async with served(core, folder) as site, site.signed_in(ADMIN) as client:
        pages = {}
        for path in ("/web/", "/web/units", "/web/towns", "/web/reporting", "/web/town/河西镇", "/web/town/金川镇",
                     *(f"/web/project/{c}" for c in codes)):
            async with client.get(path) as response:
                assert response.status == 200, path
                pages[path] = await response.text()
    overview_page = html_to_plain(pages["/web/"])
    done = sum((book.ytd(c, LAST) for c in codes), Decimal(0))
    plan = sum((book.rows[c].plan for c in codes), Decimal(0))
    started, counted = book.share("开工", LAST)
    lights = [book.light(c, LAST) for c in codes]
    for words in (f"项目数{len(codes)}", f"年度计划投资（万元）{wan(plan)}", f"年度累计完成（万元）{wan(done)}",
                  f"完成率 / 序时进度{pct(done / plan)} / {pct(schedule(LAST))}",
                  f"开工率{pct(Decimal(started) / counted)}{started}/{counted}",
                  f"红灯 {lights.count('红灯')} 黄灯 {lights.count('黄灯')} 绿灯 {lights.count('绿灯')}"):
        if words not in " ".join(overview_page.split()):
            found.append(f"web overview lacks: {words}")
    shown_ranking = [r for r in cells(pages["/web/"]) if len(r) >= 5 and r[1] in ("红灯", "黄灯", "绿灯")]
    for r in shown_ranking:
        c = r[2][:10]
        want = [str(ranks[c]), book.light(c, LAST), pct(book.rate(c, LAST)), signed(book.gap(c, LAST))]
        if [r[0], r[1], r[3], r[4]] != want:
            found.append(f"web ranking {c}: oracle {want}, page {[r[0], r[1], r[3], r[4]]}")
    if len(shown_ranking) != len(codes):
        found.append(f"web ranking shows {len(shown_ranking)} of {len(codes)} projects")
    for path, of in (("/web/units", "unit"), ("/web/towns", "town")):
        groups = book.groups(of, W49.start, LAST)
        rows = [r for r in cells(pages[path]) if len(r) >= 8 and r[1] in groups]
        if sorted(r[1] for r in rows) != sorted(groups):
            found.append(f"web {path}: oracle {sorted(groups)}, page {[r[1] for r in rows]}")
        for r in rows:
            g = groups[r[1]]
            want = [str(int(g["rank"])), str(int(g["projects"])), pct(g["investment"]), pct(g["punctuality"]),
                    pct(g["problems"]), str(one(g["score"]))]
            if [r[0], *r[2:6], r[7]] != want:
                found.append(f"web {path} {r[1]}: oracle {want}, page {[r[0], *r[2:6], r[7]]}")
    # 填报情况: each liaison's four weeks (one project each here), as /rank 填报 counts them.
    heat = [r for r in cells(pages["/web/reporting"]) if r and r[0] in liaisons]
    if sorted(r[0] for r in heat) != sorted(liaisons):
        found.append(f"web 填报情况 lists {[r[0] for r in heat]}")
    for r in heat:
        code = liaisons[r[0]]
        if r[-1] != pct(book.punctuality([code], mondays[0], LAST)):
            found.append(f"web 填报情况 {r[0]}: oracle {pct(book.punctuality([code], mondays[0], LAST))}, page {r[-1]}")
    # A town's page: each of its projects' place, completion, gap and this week's reports.
    for town in ("河西镇", "金川镇"):
        rows = [r for r in cells(pages[f"/web/town/{town}"]) if len(r) >= 6 and r[1] in ("红灯", "黄灯", "绿灯")]
        if sorted(r[2][:10] for r in rows) != [c for c in codes if book.rows[c].town == town]:
            found.append(f"web town {town} lists {[r[2][:10] for r in rows]}")
        for r in rows:
            c = r[2][:10]
            due = book.due(c, W49.start, LAST)
            came = sum(1 for d in due if d in book.reports.get(c, {}))
            want = [str(ranks[c]), book.light(c, LAST), pct(book.rate(c, LAST)), signed(book.gap(c, LAST)),
                    f"{came}/{len(due)}" if due else "—"]
            if [r[0], r[1], *r[3:6]] != want:
                found.append(f"web town {town} {c}: oracle {want}, page {[r[0], r[1], *r[3:6]]}")
    for c in codes:
        page = " ".join(html_to_plain(pages[f"/web/project/{c}"]).split())
        for words in (f"年度计划（万元）{wan(book.rows[c].plan)}", f"年度累计完成（万元）{wan(book.ytd(c, LAST))}",
                      f"完成率 / 序时进度{pct(book.rate(c, LAST))} / {pct(schedule(LAST))}"):
            if words.replace(" ", "") not in page.replace(" ", ""):
                found.append(f"web project {c} lacks: {words}")
    return found


async def test_a_month_of_the_office_against_the_oracle(db: Database, tmp_path: Path) -> None:
    book, core = await live_a_month(db, tmp_path)
    weekly = await bulletin(db, W49, tmp_path / "w49")
    monthly = await bulletin(db, NOV, tmp_path / "nov")
    found = await bulletin_differences(book, weekly, monthly, db, tmp_path)
    found += await chat_differences(book, core)
    found += await web_differences(book, core, tmp_path)
    assert found == [], "\n".join(found)
