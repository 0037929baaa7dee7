"""/rank: current standings for the caller's scope; /export: the ledger (台账) as an Excel file for admins."""

from __future__ import annotations

import asyncio

from bot.clock import SHANGHAI
from bot.domain.messages import Attachment
from bot.domain.standings import Standings
from bot.services.standings import current_standings, standings_and_changes
from handlers.context import Context
from handlers.web import web_button
from storage.standings import problem_rows


async def _current(ctx: Context) -> Standings:
    """Standings as of today; punctuality over this week so far."""
    return await current_standings(ctx.session, today=ctx.today)


async def rank_command(ctx: Context, _args: str) -> None:
    """Where my projects (or my unit, or everything, for top officials and admins) stand today; in a group
    chat, the public standings the bulletins show, whoever asks."""
    assert ctx.person is not None
    standings, changes = await standings_and_changes(ctx.session, today=ctx.today)
    ranked = sum(1 for p in standings.projects if p.rank is not None)
    if ctx.msg.in_group:
        ctx.reply("rank", s=standings, mine=[], unit=None, overview=True, ranked=ranked, changes=changes)
        return
    person, roles = ctx.person, ctx.roles
    overview = bool(roles & {"top", "admin"})
    mine = [p for p in standings.projects
            if p.liaison_id == person.id or p.lead_official_id == person.id
            or ("unit" in roles and person.unit is not None and p.lead_unit == person.unit.name)]
    unit = next((g for g in standings.units if person.unit is not None and g.name == person.unit.name), None)
    ctx.reply("rank", [web_button(ctx)], s=standings, mine=mine, unit=unit if "unit" in roles else None,
              overview=overview, ranked=ranked, changes=changes)


async def export_command(ctx: Context, _args: str) -> None:
    """The ledger as xlsx: projects with plan, done, rate, gap, light, last report; problems with history."""
    standings = await _current(ctx)
    from bot.services.ledger_export import ledger_workbook  # openpyxl loads with the first export, not at start-up

    data = await asyncio.to_thread(ledger_workbook, standings, await problem_rows(ctx.session))
    name = f"重点项目台账_{ctx.now.astimezone(SHANGHAI).strftime('%Y%m%d_%H%M%S')}.xlsx"
    relative = f"exports/{name}"
    path = ctx.deps.settings.data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    ctx.reply("export_ready", attachment=Attachment(kind="document", path=relative, filename=name),
              projects=len(standings.projects), today=ctx.today)
