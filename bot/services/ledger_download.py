"""The ledger as people download it (/export in the chat, 下载台账 on the web): one workbook, the same sheets.

Projects with their figures, the unit and town rankings, the problems with their history, and the import's
sheets (重点项目包抓责任分解表, 人员名单, 项目节点计划) as the import reads them, so that the file can be edited
and imported again: imported as it is, it changes nothing.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import SHANGHAI
from bot.domain.standings import Standings
from bot.render import shared_renderer
from storage.ledger_export import ledger_template
from storage.nodes import ledger_nodes
from storage.problem_ledger import problem_rows


async def ledger_file(session: AsyncSession, standings: Standings) -> bytes:
    """The .xlsx of the ledger for these standings (built in a worker thread: openpyxl is slow)."""
    from bot.services.ledger_export import ledger_workbook  # openpyxl loads with the first download

    problems = await problem_rows(session)
    plan = await ledger_nodes(session)
    template = await ledger_template(session)
    return await asyncio.to_thread(lambda: ledger_workbook(standings, problems, plan=plan, template=template))


def ledger_filename(at: datetime) -> str:
    """The downloaded workbook's name: what a bulletin's ledger is called (重点项目台账) and the moment of its
    figures, 重点项目台账_20261203_181500.xlsx."""
    called = shared_renderer().words("ledger_export", "files")["ledger"]
    return f"{called}_{at.astimezone(SHANGHAI):%Y%m%d_%H%M%S}.xlsx"
