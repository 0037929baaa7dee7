"""The Chinese words for the code names kept in the audit trail, problem histories and settings.

Code stores stable English keys (``project.update``, ``annual_plan``, ``reassigned``); people read only
these labels. Templates get them through the renderer (``code_labels``). A key missing here is a bug caught
by tests/render/test_audit_labels.py, and is shown as 「其他」 rather than as the code name.
"""

from __future__ import annotations

UNKNOWN = "其他"

# The channels, as every text names them (the audit, fault notices, /outbox, /groups, the person card): the WeCom
# app people chat with is not the group robot that only posts bulletins (one may fail while the other works).
CHANNELS: dict[str, str] = {
    "telegram": "Telegram", "wecom": "企业微信应用", "wecom_robot": "企业微信群机器人", "console": "控制台",
    "cli": "命令行", "web": "网页", "system": "系统",
}

# Every action written to the audit trail.
ACTIONS: dict[str, str] = {
    "account.bind": "绑定账号", "invite.create": "生成邀请码", "invite.revoke": "作废邀请码",
    "report.create": "填报进度", "report.withdraw": "撤回填报", "report.correct": "更正填报",
    "report.replace": "替换当天填报", "leave.create": "登记请假", "leave.end": "销假",
    "calendar.set": "录入日历", "sla.set": "修改办理时限", "digests.set": "修改提醒和通报安排",
    "group.add": "添加通报群", "group.remove": "移除通报群", "group.move": "通报群升级为超级群",
    "broadcast.send": "群发通知",
    "outbox.retry": "重发未送达消息", "decision.create": "记录议定事项",
    "unit.create": "新增单位", "person.create": "新增人员", "person.update": "修改人员信息",
    "person.deactivate": "停用人员", "person.grant_role": "增加角色", "person.handover": "工作移交",
    "project.create": "新增项目", "project.update": "修改项目信息",
    "problem.assign": "问题改派", "problem.reassign_refuse": "驳回改派申请",
    "problem.raiser": "移交问题", "approval.set": "登记前期手续",
    "ledger.import": "导入台账", "problem.extend": "审批延期申请", "calendar.official": "确认官方日历",
    "project.start": "确认开工", "project.finish": "确认竣工",
    "node.add": "新增节点", "node.update": "修改节点", "node.remove": "节点移出计划", "node.done": "节点完成",
    "node.settings": "修改节点逾期上报时限",
}

# Fields of projects and people, under every key code writes them with (model columns, /project_set keys).
FIELDS: dict[str, str] = {
    "name": "项目名称", "category": "项目类别", "level": "项目级别", "location": "所在镇街", "owner": "业主单位",
    "total_investment": "总投资", "total": "总投资", "annual_plan": "年度计划投资", "plan": "年度计划投资",
    "done_before": "累计完成基数", "baseline_year": "基数年度", "baseline_date": "基数截至日期",
    "stage": "建设阶段",
    "planned_start": "计划开工", "start": "计划开工", "planned_finish": "计划竣工", "finish": "计划竣工",
    "lead_official": "包抓领导", "lead_official_id": "包抓领导", "lead": "包抓领导",
    "lead_unit": "牵头单位", "lead_unit_id": "牵头单位", "unit": "牵头单位",
    "supporting": "配合单位", "supporting_units": "配合单位",
    "liaison": "联络员", "liaison_id": "联络员",
    "node_name": "节点名称", "planned_on": "计划完成日期", "done_on": "实际完成日期", "note": "备注", "seq": "顺序",
    "restored": "恢复计划",
    "phone": "电话", "title": "职务", "unit_id": "所在单位", "unit_name": "所在单位", "role": "角色",
    "active": "在岗",
}
# Fields holding 万元.
MONEY_FIELDS = frozenset({"total_investment", "total", "annual_plan", "plan", "done_before"})
# Fields holding a person's or a unit's id.
PERSON_ID_FIELDS = frozenset({"lead_official_id", "liaison_id"})
UNIT_ID_FIELDS = frozenset({"lead_unit_id", "unit_id"})

ROLES: dict[str, str] = {"liaison": "联络员", "unit": "单位经办人", "lead": "包抓领导", "top": "区主要领导",
                         "admin": "管理员"}

# Problem events (the 办理记录).
EVENTS: dict[str, str] = {
    "raised": "提出", "accepted": "受理", "answered": "答复", "reassign_requested": "申请改派",
    "reassigned": "改派", "reassign_refused": "驳回改派",
    "resolved": "报告已解决", "closed": "确认销号", "reopened": "退回重办",
    "comment": "批示", "escalated": "上报", "extension_requested": "申请延期", "extension_approved": "同意延期",
    "extension_refused": "不同意延期",
    "node_done": "节点完成，自动销号", "node_replanned": "节点计划调整，自动销号",
    "node_removed": "节点移出计划，自动销号", "node_project_finished": "项目已竣工，节点逾期问题自动销号",
    "recounted": "工作日历调整，时限重算",
}

APPROVAL_STATUS: dict[str, str] = {"done": "已办结", "pending": "未办结"}
CALENDAR_KINDS: dict[str, str] = {"off": "放假", "work": "调休上班", "auto": "恢复默认"}

# Settings changed by /sla and /schedule, and the parts of the nested ones.
SETTINGS: dict[str, str] = {
    "response_days": "受理时限", "resolution_by_category": "办结时限（按类别）", "resolution_default": "默认办结时限",
    "resolution_days_above": "上报后办结时限", "end_of_day": "每日截止", "nudge_at": "临期提醒",
    "reminders_enabled": "填报提醒", "reminder_times": "提醒时间", "missed_days_alert": "未填报预警天数",
    "weekly_enabled": "周报", "weekly_time": "周报时间", "monthly_enabled": "月报", "monthly_time": "月报时间",
    "praise_n": "表扬个数", "bulletin_top_n": "群通报排名前后个数",
    "bulletin_red_max": "群通报预警个数上限", "thresholds": "红黄灯", "weights": "得分权重",
    "yellow_from_points": "黄灯（落后百分点）", "red_from_points": "红灯（落后百分点）",
    "late_year_cutoff": "年末考核起始日", "late_year_min_rate": "年末最低完成率",
    "investment": "投资完成", "punctuality": "按时填报", "problems": "问题办理",
}
SETTING_KEYS: dict[str, str] = {"sla": "办理时限", "digests": "提醒和通报安排"}


def label(table: dict[str, str], key: object) -> str:
    """The label of `key` in `table`; never the code name itself. A key that is already Chinese (a problem
    category, a holiday's name) is its own label."""
    text = str(key)
    if text in table:
        return table[text]
    return UNKNOWN if any("a" <= ch.lower() <= "z" for ch in text) else text


def changes(before: object, after: object, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object, object]]:
    """The settings that differ between two JSON snapshots, as (key path, old, new); nested objects are
    walked so that each changed leaf is one entry."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[tuple[tuple[str, ...], object, object]] = []
        for key in after:
            found += changes(before.get(key), after[key], (*path, str(key)))
        return found
    return [] if before == after else [(path, before, after)]
