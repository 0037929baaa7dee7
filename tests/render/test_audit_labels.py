"""Code names never reach people: every audit action the code can write renders in Chinese, saying which
field changed from what to what; the problem histories (办理记录) likewise."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.domain import labels
from bot.domain.paging import page_of
from bot.domain.standings import ProblemEventRow
from bot.render import Renderer, html_to_plain
from bot.services.ledger_export import history_cell
from handlers.admin_audit import _entry_row
from storage.models import AuditEntry

ROOT = Path(__file__).resolve().parents[2]
# How the code names an audit action when it writes one (or a table of them, AUDIT_ACTIONS = {…}).
_WRITES = re.compile(r"""(?:action=|record\(|_audit\()\s*f?["']([a-z_]+\.[a-z_]+)["']""")
_TABLE = re.compile(r"AUDIT_ACTIONS = \{(.*?)\}", re.S)
_TABLE_ACTION = re.compile(r""":\s*["']([a-z_]+\.[a-z_]+)["']""")

# One detail per action, shaped as the code writes it.
SAMPLES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "account.bind": ("person", "7", {"channel": "wecom", "external_id": "hao", "role": "liaison", "new_role": True}),
    "invite.create": ("person", "7", {"role": "liaison", "expires_at": "2026-11-23T10:00:00+08:00"}),
    "invite.revoke": ("person", "7", {"role": "liaison", "reason": "shown_in_group", "chat": "-1001234567890"}),
    "report.create": ("project", "ZD2026-001", {"report_id": 3, "amount": "12000.0000"}),
    "report.withdraw": ("project", "ZD2026-001", {"report_id": 3, "amount": "850"}),
    "leave.create": ("person", "7", {"leave_id": 1, "start": "2026-09-30", "end": "2026-10-09", "substitute": "武杰"}),
    "leave.end": ("person", "7", {"leave_id": 1, "cancelled": False, "end": "2026-10-01"}),
    "report.replace": ("project", "ZD2026-001", {"report_id": 4, "amount": "900", "progress": "桩基完成",
                                                 "photos": 0, "replaces": 3, "replaced_amount": "850"}),
    "report.correct": ("project", "ZD2026-001",
                       {"report_id": 5, "replaces": 3, "day": "2026-12-03", "before": "850", "after": "8.5",
                        "before_progress": "桩基", "after_progress": "桩基完成", "reason": "单位写错",
                        "reported_by": "郝芳"}),
    "calendar.set": ("calendar", "2027-03-10", {"kind": "off", "name": "区运会"}),
    "sla.set": ("setting", "sla", {"before": {"resolution_default": 5, "end_of_day": "17:30"},
                                   "after": {"resolution_default": 7, "end_of_day": "17:30"}}),
    "digests.set": ("setting", "digests", {"what": "weights",
                                           "before": {"praise_n": 3, "reminders_enabled": True,
                                                      "weights": {"investment": 0.6, "punctuality": 0.2}},
                                           "after": {"praise_n": 5, "reminders_enabled": False,
                                                     "weights": {"investment": 0.5, "punctuality": 0.3}}}),
    "group.add": ("group", "telegram:-100123", {"name": "重点项目领导小组", "renamed": False}),
    "group.left": ("group", "telegram:-100123", {"name": "重点项目领导小组"}),
    "group.back": ("group", "telegram:-100123", {"name": "重点项目领导小组"}),
    "group.muted": ("group", "telegram:-100123", {"name": "重点项目领导小组"}),
    "group.unmuted": ("group", "telegram:-100123", {"name": "重点项目领导小组"}),
    "group.no_files": ("group", "telegram:-100123", {"name": "重点项目领导小组", "kinds": ["photos"]}),
    "group.files_back": ("group", "telegram:-100123", {"name": "重点项目领导小组"}),
    "group.move": ("group", "telegram:-1009876543210",
                   {"name": "重点项目领导小组", "from": "-4001", "to": "-1009876543210"}),
    "group.remove": ("group", "telegram:-100123", {"name": "重点项目领导小组"}),
    "broadcast.send": ("broadcast", "all", {"target": "全体人员", "people": 40, "text": "系统将于今晚升级"}),
    "outbox.retry": ("outbox", "all", {"ids": [1, 2, 3]}),
    "decision.create": ("problem", "W0009", {"unit": "区住建局", "due": "2026-12-10", "text": "协调征迁"}),
    "unit.create": ("unit", "区住建局", {}),
    "person.create": ("person", "7", {"role": "liaison", "name": "郝芳", "phone": "13800000000", "title": None}),
    "person.update": ("person", "7", {"changed": {"phone": "13900000000", "unit_id": 2},
                                      "before": {"phone": "13800000000", "unit_id": 1}, "role_added": "lead"}),
    "person.deactivate": ("person", "7", {"name": "郝芳"}),
    "person.grant_role": ("person", "7", {"role": "lead"}),
    "person.handover": ("person", "7", {"to": 8, "name": "严超"}),
    "project.create": ("project", "ZD2026-001", {"name": "城北高速连接线", "annual_plan": "40800.0000"}),
    "project.update": ("project", "ZD2026-001", {"field": "plan", "before": "40,800.0 万元", "after": "51,000.0 万元"}),
    "problem.assign": ("problem", "W0001", {"from": "区住建局", "to": "区发改局", "reason": "职责调整"}),
    "problem.reassign_refuse": ("problem", "W0001", {"unit": "区住建局", "reason": "属本单位职责"}),
    "problem.extend": ("problem", "W0001", {"approved": True, "day": "2026-12-20", "unit": "区住建局"}),
    "calendar.official": ("calendar", "2027", {"year": 2027, "official": True}),
    "problem.raiser": ("problem", "W0001", {"from": 7, "to": 8, "before": "郝芳", "after": "严超"}),
    "approval.set": ("project", "ZD2026-001", {"item": "环评", "status": "done", "done_on": "2026-11-18",
                                              "before": {"status": "pending", "done_on": None}}),
    "ledger.import": ("ledger", "台账.xlsx", {"file": "台账.xlsx", "sha256": "ab", "bytes": 10,
                                             "added": {"project": 2, "person": 0}, "changed": {"project": 1},
                                             "unchanged": {"project": 38}}),
    "node.add": ("project", "ZD2026-001", {"name": "主体封顶", "planned_on": "2027-03-31", "done_on": None}),
    "node.update": ("project", "ZD2026-001", {"name": "主体封顶", "changed": {"planned_on": "2027-04-30"},
                                             "before": {"planned_on": "2027-03-31"}, "restored": False}),
    "node.remove": ("project", "ZD2026-001", {"name": "主体封顶", "via": "ledger"}),
    "node.done": ("project", "ZD2026-001", {"name": "主体封顶", "planned_on": "2026-12-04",
                                           "done_on": "2026-12-08", "photos": 2, "late_days": 4}),
    "node.settings": ("setting", "nodes.escalate_after_days", {"before": 3, "after": 5}),
}
# The import's project.update: new values and the old ones, ids for people and units.
IMPORT_UPDATE = {"changed": {"annual_plan": "51000.0000", "liaison_id": 8, "lead_unit_id": 2,
                             "supporting_units": ["区发改局", "河西镇"], "stage": "竣工"},
                 "before": {"annual_plan": "40800.0000", "liaison_id": 7, "lead_unit_id": 1,
                            "supporting_units": ["区发改局"], "stage": "在建"}}
# The same as the ledger import writes it: people and units by name, the baseline with its day.
LEDGER_UPDATE = {"source": "ledger", "name": "城北高速连接线",
                 "changed": {"done_before": "27051.0000", "baseline_date": "2026-11-30", "liaison": "严超",
                             "lead_unit": "区水务局", "supporting_units": "区发改局、河西镇"},
                 "before": {"done_before": "26051.0000", "baseline_date": "2026-10-31", "liaison": "郝芳",
                            "lead_unit": "区住建局", "supporting_units": "区发改局"}}
LEDGER_PERSON = {"source": "ledger", "name": "郝芳", "changed": {"unit_name": "区水务局", "active": True},
                 "before": {"unit_name": "区住建局", "active": False}, "role_added": "lead"}
NAMES = {"people": {7: "郝芳", 8: "严超"}, "units": {1: "区住建局", 2: "区水务局"}}
# ASCII words a reader may see: the channel's own name, project codes and problem numbers.
ALLOWED_ASCII = {"Telegram", "ZD", "W"}


def written_actions() -> set[str]:
    found: set[str] = set()
    for folder in ("bot", "handlers", "jobs", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            found |= set(_WRITES.findall(text))
            for table in _TABLE.findall(text):
                found |= set(_TABLE_ACTION.findall(table))
    return found


def render_entry(action: str, object_type: str, key: str, detail: dict[str, Any], channel: str = "telegram") -> str:
    entry = AuditEntry(id=1, at=datetime(2026, 11, 20, 2, 0, tzinfo=UTC), actor="管理员", channel=channel,
                       action=action, object_type=object_type, object_key=key, detail=detail)
    rows = [_entry_row(entry)]
    html = Renderer().render("admin_ops_audit", rows=rows, token="x", subject="对象", names=NAMES,
                             page=page_of(rows, 1, 20))
    return html_to_plain(html).splitlines()[-1]


def test_every_action_the_code_writes_has_a_label_and_a_sample() -> None:
    written = written_actions()

    assert len(written) >= 20  # the grep still finds the writers
    assert written <= set(labels.ACTIONS), written - set(labels.ACTIONS)
    assert written <= set(SAMPLES), written - set(SAMPLES)


@pytest.mark.parametrize("action", sorted(SAMPLES))
def test_no_code_name_leaks_from_an_audit_line(action: str) -> None:
    object_type, key, detail = SAMPLES[action]

    line = render_entry(action, object_type, key, detail)

    assert labels.ACTIONS[action] in line
    assert set(re.findall(r"[A-Za-z_]+", line)) <= ALLOWED_ASCII, line
    assert labels.UNKNOWN not in line, line
    assert line.startswith("2026-11-20 10:00 管理员（Telegram） ")


def test_a_node_change_says_which_node_and_from_what_to_what() -> None:
    line = render_entry("node.update", *SAMPLES["node.update"][:2], SAMPLES["node.update"][2])
    assert line.endswith("修改节点：「主体封顶」：计划完成日期 2027-03-31 → 2027-04-30"), line
    done = render_entry("node.done", *SAMPLES["node.done"][:2], SAMPLES["node.done"][2])
    assert done.endswith("节点完成：「主体封顶」2026-12-08 完成（计划 2026-12-04，逾期 4 天），照片 2 张"), done


def test_a_changed_field_says_from_what_to_what() -> None:
    assert render_entry("project.update", *SAMPLES["project.update"][:2], SAMPLES["project.update"][2]).endswith(
        "修改项目信息：年度计划投资 40,800.0 万元 → 51,000.0 万元")
    imported = render_entry("project.update", "project", "ZD2026-001", IMPORT_UPDATE, channel="cli")
    assert "（命令行）" in imported
    assert "年度计划投资 40,800.0 万元 → 51,000.0 万元" in imported
    assert "联络员 郝芳 → 严超" in imported and "牵头单位 区住建局 → 区水务局" in imported
    assert "配合单位 区发改局 → 区发改局、河西镇" in imported and "建设阶段 在建 → 竣工" in imported
    assert set(re.findall(r"[A-Za-z_]+", imported)) <= ALLOWED_ASCII, imported
    ledger = render_entry("project.update", "project", "ZD2026-001", LEDGER_UPDATE, channel="cli")
    assert "累计完成基数 26,051.0 万元 → 27,051.0 万元" in ledger, ledger
    assert "基数截至日期 2026-10-31 → 2026-11-30" in ledger and "联络员 郝芳 → 严超" in ledger
    assert "配合单位 区发改局 → 区发改局、河西镇" in ledger
    person = render_entry("person.update", "person", "7", LEDGER_PERSON, channel="cli")
    assert "所在单位 区住建局 → 区水务局" in person and "增加角色 包抓领导" in person, person
    for line in (ledger, person):
        assert set(re.findall(r"[A-Za-z_]+", line)) <= ALLOWED_ASCII, line


def test_settings_name_each_part_that_changed() -> None:
    line = render_entry("digests.set", *SAMPLES["digests.set"][:2], SAMPLES["digests.set"][2])

    assert "表扬个数 3 → 5" in line and "填报提醒 开 → 关" in line
    assert "得分权重 投资完成 0.6 → 0.5" in line and "得分权重 按时填报 0.2 → 0.3" in line


def test_unknown_codes_show_as_other_not_as_code() -> None:
    line = render_entry("something.new", "thing", "k", {}, channel="pigeon")
    assert "something" not in line and "pigeon" not in line and labels.UNKNOWN in line


def _card_and_cell(events: list[ProblemEventRow]) -> tuple[list[str], list[str]]:
    """A problem's 办理记录 as the problem card shows it (one line per event) and as the ledger's cell holds it."""
    card_events = [SimpleNamespace(at=e.at, kind=e.kind, actor=SimpleNamespace(name=e.actor) if e.actor else None,
                                   text=e.text, detail=e.detail) for e in events]
    card = html_to_plain(Renderer().render("_problem_history", history=card_events)).splitlines()
    return [line for line in card[1:] if line], history_cell(events).split("；")


def test_problem_history_is_worded_once_for_the_card_and_the_ledger() -> None:
    """The problem card's 办理记录 and the xlsx 办理记录 word each event the same way (one template), in Chinese,
    改派, 上报 and 承诺 included; only the ledger cuts long texts."""
    at = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    events = [ProblemEventRow(at=at, kind=kind, actor="郝芳", text="说明",
                              detail={"from": "区住建局", "to": "区发改局", "to_level": 1}) for kind in labels.EVENTS]
    events += [
        ProblemEventRow(at=at, kind="reassigned", actor="管理员", text="职责调整",
                        detail={"from": "区住建局", "to": "区发改局"}),
        ProblemEventRow(at=at, kind="escalated", actor=None, text=None,
                        detail={"from": 0, "to": 1, "clock": "response"}),
        ProblemEventRow(at=at, kind="answered", actor="赵芳", text="入户\t 做工作 " + "协调" * 30,
                        detail={"promised": "2026-12-10"}),
    ]
    card, cell = _card_and_cell(events)
    assert len(card) == len(cell) == len(events)
    for event, line in zip(events, card, strict=True):
        assert labels.EVENTS[event.kind] in line and not re.search(r"[A-Za-z]", line), line
    assert card[:-1] == cell[:-1]
    assert card[-3] == "2026-11-20 10:00 管理员 改派（区住建局→区发改局）：职责调整"
    assert card[-2] == "2026-11-20 10:00 系统 上报至包抓领导（未按时受理）"
    assert card[-1].startswith("2026-11-20 10:00 赵芳 答复：入户\t 做工作 " + "协调" * 30)  # in full
    assert card[-1].endswith("（承诺 2026-12-10 前完成）")
    assert cell[-1] == "2026-11-20 10:00 赵芳 答复：入户 做工作 " + "协调" * 11 + "…（承诺 2026-12-10 前完成）"


def test_a_node_problems_closing_is_worded_from_its_codes_and_an_old_worded_one_is_shown_as_it_is() -> None:
    """What closed a node's problem is kept as values (the day done, days late, the days moved, the ledger) and
    worded by the template, on the card and in the ledger's cell alike; an event stored worded before is shown
    as it was stored."""
    at = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
    events = [
        ProblemEventRow(at=at, kind="node_done", actor="武杰", text="",
                        detail={"node": "围挡施工", "done_on": "2026-12-08", "late_days": 4}),
        ProblemEventRow(at=at, kind="node_done", actor=None, text="",
                        detail={"node": "开工", "done_on": "2026-09-10", "late_days": 0, "via": "ledger"}),
        ProblemEventRow(at=at, kind="node_replanned", actor=None, text="",
                        detail={"node": "临时用电", "planned_from": "2026-12-04", "planned_to": "2026-12-18"}),
        ProblemEventRow(at=at, kind="node_removed", actor=None, text="", detail={"node": "临时用电", "via": "ledger"}),
        ProblemEventRow(at=at, kind="node_done", actor="武杰", text="2026-12-08 完成（逾期 4 天）",
                        detail={"node": "围挡施工"}),
    ]
    card, cell = _card_and_cell(events)
    assert card == cell == [
        "2026-12-10 10:00 武杰 节点完成，自动销号：2026-12-08 完成（逾期 4 天）",
        "2026-12-10 10:00 系统 节点完成，自动销号：2026-09-10 完成（导入台账）",
        "2026-12-10 10:00 系统 节点计划调整，自动销号：计划完成日期 2026-12-04 → 2026-12-18",
        "2026-12-10 10:00 系统 节点移出计划，自动销号（导入台账）",
        "2026-12-10 10:00 武杰 节点完成，自动销号：2026-12-08 完成（逾期 4 天）",
    ]


def test_a_substitutes_report_names_whom_it_was_for() -> None:
    line = render_entry("report.create", "project", "ZD2026-001",
                        {"report_id": 3, "amount": "300", "for": "郝芳", "for_person_id": 1})
    assert "填报进度" in line and line.endswith("（代 郝芳 填报）"), line


@pytest.mark.parametrize(("channel", "name"), [("wecom", "企业微信应用"), ("wecom_robot", "企业微信群机器人"),
                                               ("telegram", "Telegram")])
def test_a_channel_is_named_the_same_in_the_audit_a_fault_notice_and_the_person_card(channel: str,
                                                                                     name: str) -> None:
    """One name per channel (labels.CHANNELS); the WeCom app, which may be down while the group robots post, is
    not called by the robots' name nor they by its."""
    renderer = Renderer()
    audit = render_entry("group.add", "group", f"{channel}:项目办", {"name": "项目办", "renamed": False},
                         channel=channel)
    fault = html_to_plain(renderer.render("channel_fault", kind="down", channel=channel, reason="bad_secret",
                                          since=datetime(2026, 11, 20, 2, 0, tzinfo=UTC), ip=None))
    account = SimpleNamespace(channel=channel, display_name="hao", created_at=datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
                              blocked_at=None)
    person = SimpleNamespace(name="郝芳", active=True, unit=None, title=None)
    card = html_to_plain(renderer.render("admin_people_card", cards=[{
        "person": person, "phone": "139****7919", "accounts": [account], "liaison_of": [], "lead_of": []}],
        labels=lambda p: "联络员", more=0))
    assert f"（{name}）" in audit, audit
    assert fault.startswith(f"⚠️ {name}暂停发送"), fault
    assert f"- {name} hao（绑定于" in card, card


def test_a_file_mark_says_which_kinds_of_file_the_group_refuses() -> None:
    line = render_entry("group.no_files", *SAMPLES["group.no_files"][:2], SAMPLES["group.no_files"][2])
    assert line.endswith("机器人在通报群不能发送文件：重点项目领导小组：图片"), line


def test_a_group_back_names_the_waiting_bulletins_it_did_not_send() -> None:
    line = render_entry("group.unmuted", "group", "telegram:-100123",
                        {"name": "重点项目领导小组", "superseded": ["weekly:2026-W41", "monthly:2026-09"]})
    assert line.endswith("重点项目领导小组；已过时、未补发的通报：2026-W41 周通报、2026-09 月通报"), line
