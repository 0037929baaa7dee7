"""The ledger's template: sheet names, column headers, the header variants accepted, and how a header row is
recognised as the projects table, the people table, the nodes table (项目节点计划) or the stage history (阶段记录)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Literal

from bot.domain.ledger_rows import ROLE_BY_LABEL, STAGES
from bot.domain.stage_events import FINISH, REOPEN, START
from bot.ledger.cells import cell_str

__all__ = ["NODE_COLUMNS", "NODE_SHEET", "PEOPLE_COLUMNS", "PEOPLE_SHEET", "PROJECT_COLUMNS", "PROJECT_SHEET",
           "ROLE_BY_LABEL", "STAGES"]

PROJECT_SHEET = "重点项目包抓责任分解表"
PEOPLE_SHEET = "人员名单"
NODE_SHEET = "项目节点计划"
STAGE_SHEET = "阶段记录"

C_CODE = "项目编号"
C_NAME = "项目名称"
C_CATEGORY = "项目类别"
C_LEVEL = "项目级别"
C_LOCATION = "建设地点"
C_OWNER = "项目业主"
C_TOTAL = "总投资(万元)"
C_PLAN = "年度计划投资(万元)"
C_DONE = "截至上月累计完成(万元)"
C_STAGE = "建设阶段"
C_START = "计划开工"
C_FINISH = "计划竣工"
C_LEAD = "包抓领导"
C_LEAD_UNIT = "牵头单位"
C_SUPPORTING = "配合单位"
C_LIAISON = "首办秘书(联络员)"
C_LIAISON_PHONE = "联络员手机"
# The days a project really started and finished: optional (an older ledger has neither); the import dates
# the 开工 or 竣工 it records by them (bot.domain.stage_events.ledger_day), the export writes them.
C_STARTED = "实际开工"
C_FINISHED = "竣工日期"

P_NAME = "姓名"
P_ROLE = "角色"
P_UNIT = "单位/职务"
P_PHONE = "手机"
P_PROJECTS = "负责项目"
# Optional: 停用 for a person deactivated (the export writes it), 在用 to bring one back; blank says nothing.
P_STATUS = "状态"
STATUS_STOPPED = "停用"
STATUS_ACTIVE = ("在用", "启用", "在岗", "正常")
# Optional: the export writes each person without a phone a number, the same on each of his rows (one per role),
# so that the rows join into one person on a fresh database too; rows of one name without a phone and without
# one number are one person only by the same 职务 or 单位 (PersonRow.identity).
P_KEY = "人员编号"

# 阶段记录: each 开工, 竣工 and 恢复在建 of a project, with its day (the export writes them; optional)
S_MOVE = "阶段变化"
S_DAY = "日期"
MOVE_BY_LABEL = {"开工": START, "竣工": FINISH, "恢复在建": REOPEN}

N_NAME = "节点名称"
N_PLANNED = "计划完成日期"
N_DONE = "实际完成日期"
N_NOTE = "备注"

PROJECT_COLUMNS = (
    C_CODE, C_NAME, C_CATEGORY, C_LEVEL, C_LOCATION, C_OWNER, C_TOTAL, C_PLAN, C_DONE, C_STAGE,
    C_START, C_FINISH, C_LEAD, C_LEAD_UNIT, C_SUPPORTING, C_LIAISON, C_LIAISON_PHONE,
)
PROJECT_OPTIONAL = (C_STARTED, C_FINISHED)
PEOPLE_COLUMNS = (P_NAME, P_ROLE, P_UNIT, P_PHONE, P_PROJECTS)
PEOPLE_OPTIONAL = (P_STATUS, P_KEY)
NODE_COLUMNS = (C_CODE, N_NAME, N_PLANNED)  # required; 实际完成日期 and 备注 may be left out
NODE_OPTIONAL = (N_DONE, N_NOTE)
STAGE_COLUMNS = (C_CODE, S_MOVE, S_DAY)

# Header variants seen in the wild, besides the template text itself.
_HEADER_ALIASES = {
    "总投资": C_TOTAL,
    "年度计划投资": C_PLAN,
    "截至上月累计完成": C_DONE,
    "截止上月累计完成": C_DONE,
    "截止上月累计完成(万元)": C_DONE,
    "首办秘书": C_LIAISON,
    "联络员": C_LIAISON,
    "联络员电话": C_LIAISON_PHONE,
    "联络员手机号": C_LIAISON_PHONE,
    "单位": P_UNIT,
    "单位职务": P_UNIT,
    "单位或职务": P_UNIT,
    "手机号": P_PHONE,
    "手机号码": P_PHONE,
    "人员状态": P_STATUS,
    "账号状态": P_STATUS,
    "节点": N_NAME,
    "计划完成时间": N_PLANNED,
    "计划完成": N_PLANNED,
    "实际完成时间": N_DONE,
    "实际完成": N_DONE,
    "实际开工日期": C_STARTED,
    "实际开工时间": C_STARTED,
    "实际竣工": C_FINISHED,
    "实际竣工日期": C_FINISHED,
    "竣工时间": C_FINISHED,
}

LEADER_ROLES = frozenset({"lead", "top"})  # 单位/职务 is a title
HEADER_SCAN_ROWS = 10
# A 截至…累计完成 header that names its day (「截至2026年11月30日累计完成(万元)」) is the baseline column too.
_DATED_DONE_RE = re.compile(r"截[至止].*累计完成")


def header_key(value: object) -> str:
    """A header cell as compared: NFKC-folded, without whitespace."""
    text = unicodedata.normalize("NFKC", cell_str(value))
    return re.sub(r"\s+", "", text)


CANONICAL = {header_key(c): c for c in (*PROJECT_COLUMNS, *PROJECT_OPTIONAL, *PEOPLE_COLUMNS, *PEOPLE_OPTIONAL,
                                       *NODE_COLUMNS, *NODE_OPTIONAL, *STAGE_COLUMNS)}
CANONICAL.update({header_key(k): v for k, v in _HEADER_ALIASES.items()})


def map_header(cells: Sequence[object]) -> dict[str, int]:
    """Template header → 0-based column index, for the headers of one row that are recognised."""
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        key = header_key(cell)
        canonical = CANONICAL.get(key) or (C_DONE if _DATED_DONE_RE.match(key) else None)
        if canonical and canonical not in columns:
            columns[canonical] = index
    return columns


def table_kind(columns: dict[str, int]) -> Literal["projects", "people", "nodes", "stages"] | None:
    """Which table a header row starts, if any."""
    if C_CODE in columns and S_MOVE in columns:
        return "stages"
    if C_CODE in columns and N_NAME in columns:
        return "nodes"
    if C_CODE in columns and len(columns.keys() & set(PROJECT_COLUMNS)) >= 2:
        return "projects"
    if P_NAME in columns and len(columns.keys() & set(PEOPLE_COLUMNS)) >= 2:
        return "people"
    return None
