"""/rank: current standings for the caller's scope, each line's change since the last period; /rank 填报: the
last four weeks' 填报率 with a heat map; /export: the ledger (台账) as an Excel file for admins."""

from __future__ import annotations

import asyncio
import logging

from bot.clock import SHANGHAI
from bot.domain.bulletin_cut import head_and_tail
from bot.domain.messages import Attachment
from bot.domain.paging import page_of
from bot.domain.participation import Participation, Row
from bot.domain.standings import Standings
from bot.services.ledger_download import ledger_file, ledger_filename
from bot.services.participation import load_participation
from bot.services.standings import current_standings, standings_and_changes
from handlers.context import Context
from handlers.paging import page_buttons
from handlers.web import web_button

log = logging.getLogger(__name__)
PARTICIPATION_WORDS = frozenset({"填报", "填报率"})  # /rank 填报
UNITS_SHOWN = 10  # units listed at each end of /rank 填报 (the heat map has them all)
RANK_PAGE = 30  # the caller's projects to a page of /rank (a leader's or a unit's list may run to hundreds)


async def _current(ctx: Context) -> Standings:
    """Standings as of today; punctuality over this week so far."""
    return await current_standings(ctx.session, today=ctx.today)


async def rank_command(ctx: Context, args: str) -> None:
    """Where my projects (or my unit, or everything, for top officials and admins) stand today, a page at a
    time (``ctx.page``; the unit and the overview on the first page); in a group chat, the public standings
    the bulletins show, whoever asks."""
    assert ctx.person is not None
    if args.strip() in PARTICIPATION_WORDS:
        await _participation(ctx)
        return
    standings, changes = await standings_and_changes(ctx.session, today=ctx.today)
    if ctx.msg.in_group:
        ctx.reply("rank", s=standings, mine=[], page=None, unit=None, overview=True, changes=changes)
        return
    person, roles = ctx.person, ctx.roles
    overview = bool(roles & {"top", "admin"})
    mine = [p for p in standings.projects
            if p.liaison_id == person.id or p.lead_official_id == person.id
            or ("unit" in roles and person.unit is not None and p.lead_unit == person.unit.name)]
    unit = next((g for g in standings.units if person.unit is not None and g.name == person.unit.name), None)
    page = page_of(mine, ctx.page, RANK_PAGE)
    first = page.number == 1
    ctx.reply("rank", [web_button(ctx), *page_buttons("rank", page)], s=standings, mine=page.items, page=page,
              unit=unit if "unit" in roles and first else None, overview=overview and first, changes=changes)


async def _participation(ctx: Context) -> None:
    """填报率 over the last four weeks: the district's, and the caller's own (a liaison), his unit's and its
    liaisons' (a unit handler), every unit's (leaders, admins, and anyone in a group chat)."""
    assert ctx.person is not None
    person, roles, in_group = ctx.person, ctx.roles, ctx.msg.in_group
    part = await load_participation(ctx.session, cutoff=ctx.today, today=ctx.today)  # today counts once over
    overview = in_group or bool(roles & {"lead", "top", "admin"})
    own = part.liaison(person.id) if "liaison" in roles and not in_group else None
    unit = part.unit(person.unit.name) if "unit" in roles and person.unit is not None and not in_group else None
    unit_liaisons = part.liaisons_of(unit) if unit is not None else []
    charted, rows_named = (part.units, "units") if overview else (unit_liaisons, "liaisons")
    attachment = await _heatmap(ctx, part, charted, rows_named) if charted else None
    ctx.reply("rank_participation", [] if in_group else [web_button(ctx)], attachment=attachment, part=part,
              own=own, unit=unit, unit_liaisons=unit_liaisons,
              units=head_and_tail(part.units, UNITS_SHOWN) if overview else None, chart=attachment is not None)


async def _heatmap(ctx: Context, part: Participation, rows: list[Row], rows_named: str) -> Attachment | None:
    """The heat map of ``rows`` as a photo to send (None when it cannot be drawn: the text still goes);
    ``rows_named``: the chart template's macro naming them (units, liaisons)."""
    from bot.chart import chart_words  # matplotlib loads with the first chart, not at start-up
    from bot.heatmap import heatmap_chart, heatmap_title

    what = chart_words(rows_named)
    title = heatmap_title(what, ctx.today)
    try:
        data = await asyncio.to_thread(heatmap_chart, rows, part.weeks, title=title, what=what)
    except Exception:  # noqa: BLE001 - a missing font must not cost the caller the figures
        log.exception("could not draw the participation heat map")
        return None
    relative = f"charts/heatmap_{ctx.now.astimezone(SHANGHAI):%Y%m%d_%H%M%S}_{ctx.person.id if ctx.person else 0}.png"
    path = ctx.deps.settings.data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return Attachment(kind="photo", path=relative)


async def export_command(ctx: Context, _args: str) -> None:
    """The ledger as xlsx: projects with plan, done, rate, gap, light, last report; problems with history."""
    standings = await _current(ctx)
    data = await ledger_file(ctx.session, standings)
    name = ledger_filename(ctx.now)
    relative = f"exports/{name}"
    path = ctx.deps.settings.data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    ctx.reply("export_ready", attachment=Attachment(kind="document", path=relative, filename=name),
              projects=len(standings.projects), today=ctx.today)
