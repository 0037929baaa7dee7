"""What people read is worded in the templates (bot/templates), not in Python: checked over every module of bot/,
handlers/, jobs/ and storage/, by reading their source. A Chinese string there is allowed only as a docstring,
as the help of the command line's parser (argparse lays it out; it stays beside the option it explains), as
what reads people's words (a pattern, a string compared with or stripped from what they typed) or as data that
is no words of ours (DATA).
Every reason an error is raised with is worded in its template."""

from __future__ import annotations

import ast
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.domain.escalation import CATEGORIES, SlaPolicy
from bot.ledger.columns import C_CODE, N_DONE, N_NAME, N_NOTE, N_PLANNED, NODE_SHEET
from bot.render import Renderer
from bot.services.admin_ops import AdminInputError, changed_policy
from bot.services.ledger_export import ledger_workbook
from bot.services.outbox import SendStats
from tests.render.factories import make_problem, make_standings

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = REPO / "bot" / "templates"
MODULES = tuple(sorted(str(path.relative_to(REPO)) for top in ("bot", "handlers", "jobs", "storage")
                       for path in (REPO / top).rglob("*.py")))
CHINESE = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# argparse's own words (its parser, or ours: bot.cli.parser.Parser): the parser's description, an option's help,
# default and metavar (the subcommands' too)
PARSER_CALLS = {"ArgumentParser", "Parser", "add_parser", "add_argument", "add_mutually_exclusive_group",
                "add_subparsers"}
PARSER_WORDS = {"help", "description", "default", "metavar"}
# What reads people's words: a pattern, or a string looked for in, stripped from or split off what they wrote
READING_CALLS = {"compile", "sub", "subn", "match", "fullmatch", "search", "split", "rsplit", "findall", "finditer",
                 "maketrans", "strip", "lstrip", "rstrip", "startswith", "endswith", "removeprefix", "removesuffix",
                 "partition", "rpartition"}
# Chinese that is data, not words of ours, by module: the names it is assigned to ("*": the whole module).
DATA: dict[str, set[str] | str] = {
    # the characters a font must have a glyph for to draw the charts
    "bot/chart.py": {"PROBE_TEXT"},
    # the vocabularies that read what people type: amounts' words where 万/亿 begin a name (万达), days (昨天,
    # 下周一), full-width digits, a report line's units and separators, the words typed in WeCom for a command
    "bot/domain/unit_led_words.py": "*",
    "bot/domain/dates.py": "*",
    "bot/domain/digits.py": "*",
    "bot/domain/report_line.py": "*",
    "bot/domain/sentence_end.py": {"_ENDS", "_CLOSERS"},  # the marks read at the end of what people typed
    "bot/domain/typed_choice.py": {"_END_MARKS", "_NOTE"},  # marks and brackets read around a button's words typed
    "bot/channels/wecom/incoming.py": {"KEYWORDS", "_ARG_LEAD"},
    "bot/config.py": {"sep"},  # the separators read between WECOM_ROBOT_KEYS' robots
    "bot/domain/amounts.py": {"DIGIT_CHARS", "_SCALES", "_UNIT_CHARS", "_CN_DIGIT_VALUE", "_CN_NONZERO"},
    # the words an admin or a leader may type for an option: 全部, 放假, 开启, 完成, 新增…
    "handlers/admin_projects.py": {"DONE_WORDS", "PENDING_WORDS"},
    "handlers/admin_settings.py": {"DAY_KINDS", "YEAR_WORDS", "SCHEDULE_ALIASES", "ON_WORDS"},
    "handlers/broadcast.py": {"ROLE_WORDS", "EVERYONE"},
    "handlers/digest.py": {"PARTICIPATION_WORDS"},
    "handlers/leave.py": {"EVERYONE"},
    "handlers/nodes.py": {"ACTIONS"},
    "handlers/problem_view.py": {"ALL_WORDS", "UP_WORDS"},
    "handlers/project_set.py": {"NONE_WORDS", "FIELD_WORDS"},  # and the words typed for a field: 年度计划, 开工…
    "handlers/start.py": {"_AROUND"},  # what a code pasted from a message comes wrapped in: 「」、《》…
    "bot/domain/messages.py": "*",  # the full-width space and slash read in a command
    # the district's ledger: its sheets' and columns' headers, its total rows, its roles and stages as written
    # there and stored as such (a project's stage is 在建, a problem's category 用地, an approval 环评)
    "bot/ledger/columns.py": "*",
    "bot/domain/ledger_rows.py": {"ROLE_BY_LABEL", "STAGES"},
    "bot/domain/progress.py": {"STAGES"},
    "bot/domain/duties.py": {"REPORTING_STAGES", "stage"},
    "bot/domain/stage_events.py": {"TARGET_STAGE", "FROM_STAGES"},
    "storage/digest_queries.py": {"stage"},
    "bot/domain/escalation.py": {"CATEGORIES", "DECISION_CATEGORY", "DEFAULT_RESOLUTION_BY_CATEGORY"},
    "storage/approvals.py": {"ITEMS"},
    "storage/nodes.py": {"NODE_CATEGORY"},
    "bot/ledger/cells.py": {"TOTAL_LABELS", "cell_str"},  # a yes/no cell read as the ledger writes it: 是, 否
    "storage/problems.py": {"LEVEL_TITLE_HINTS"},  # read in an official's title (区长, 书记)
    # names given by others: the Word documents' fonts, the holidays' names of the calendar package (and its name
    # for a swapped day off, read to be left out)
    "bot/documents/gongwen.py": {"TITLE_FONT", "BODY_FONT", "HEADING_FONTS", "_east_asian"},
    "bot/domain/workdays.py": {"_NAME_ALIASES", "_PACKAGE_DAY_OFF"},
    # characters put in place of others: full-width look-alikes of markup, a cell's separator
    "bot/channels/wecom/markdown.py": {"_FULL_WIDTH"},
    "bot/render.py": {"markup_cell"},
    # the words the photo keeper stored as a failure's reason before it stored codes, read into their codes
    "storage/migrations/versions/0020_photo_reason_codes.py": {"RULES"},
}
# exception → the template its reasons are worded in
ERRORS = {"CliError": "cli/refused.j2", "ConfigError": "cli/refused.j2", "BackupError": "cli/backup_refused.j2",
          "PhotoBackupError": "cli/backup_refused.j2", "ConfigurationError": "cli/startup_refused.j2",
          "SchemaOutOfDate": "cli/startup_refused.j2", "NoChannel": "cli/startup_refused.j2",
          "AdminInputError": "admin_input_refused.j2", "WeComRefused": "cli/wecom_refused.j2",
          "RobotKeysError": "cli/robot_keys_refused.j2", "ScheduleInputError": "schedule_refused.j2",
          "PhotoStoreAddressError": "cli/photo_store_refused.j2"}


def _allowed(tree: ast.AST, data: set[str] | str) -> set[int]:
    """ids of the string constants that may hold Chinese: docstrings, the parser's help, what reads people's words
    and ``data`` (names, or "*")."""
    if data == "*":
        return {id(node) for node in ast.walk(tree)}
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None and any(
                isinstance(t, ast.Name) and t.id in data for t in _targets(node)):
            allowed |= {id(n) for n in ast.walk(node.value)}
        if isinstance(node, ast.FunctionDef) and node.name in data:
            allowed |= {id(n) for n in ast.walk(node)}
        if isinstance(node, ast.keyword) and node.arg in data:
            allowed |= {id(n) for n in ast.walk(node.value)}
        if isinstance(node, ast.Call) and _name(node.func) in data:  # a value handed to a function of data
            allowed |= {id(n) for arg in node.args for n in ast.walk(arg)}
        if isinstance(node, ast.arguments):  # a parameter's default
            for arg, default in zip(node.kwonlyargs, node.kw_defaults, strict=True):
                if arg.arg in data and default is not None:
                    allowed |= {id(n) for n in ast.walk(default)}
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name) and node.target.id in data:
            allowed |= {id(n) for n in ast.walk(node.iter)}
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = node.body[0] if node.body else None
            if isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant):
                allowed.add(id(doc.value))
        if isinstance(node, ast.Call) and _name(node.func) in PARSER_CALLS:
            for keyword in node.keywords:
                if keyword.arg in PARSER_WORDS:
                    allowed |= {id(n) for n in ast.walk(keyword.value)}
        if isinstance(node, ast.Call) and _name(node.func) in READING_CALLS:
            allowed |= {id(n) for arg in node.args for n in ast.walk(arg)}
        if isinstance(node, ast.Compare):
            allowed |= {id(n) for part in (node.left, *node.comparators) for n in ast.walk(part)}
    return allowed


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return node.targets if isinstance(node, ast.Assign) else [node.target]


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def chinese_literals(path: Path, data: set[str] | str = frozenset()) -> list[str]:
    """Where ``path`` has Chinese in a string that is no docstring, no parser's help, reads no one's words and is
    no ``data``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    allowed = _allowed(tree, data)
    return [f"{path.name}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CHINESE.search(node.value)
            and id(node) not in allowed]


def raised_reasons(path: Path) -> list[tuple[str, str, int]]:
    """(exception, reason, line) of every ``SomeError("reason", …)`` of ERRORS in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and _name(node.func) in ERRORS and node.args:
            first = node.args[0]
            assert isinstance(first, ast.Constant), f"{path}:{node.lineno}: a reason must be a literal"
            found.append((_name(node.func), first.value, node.lineno))
    return found


@pytest.mark.parametrize("module", MODULES)
def test_no_chinese_is_written_in_python(module: str) -> None:
    found = chinese_literals(REPO / module, DATA.get(module, frozenset()))
    assert not found, f"words in Python, to be worded in a template: {found}"


def test_the_allowances_name_modules_that_are_there() -> None:
    assert set(DATA) <= set(MODULES)


def test_the_checker_finds_a_chinese_message(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('"""模块说明。"""\nimport argparse\n\n'
                      'def f(p: argparse.ArgumentParser, n: int) -> None:\n'
                      '    """说明。"""\n'
                      '    p.add_argument("--x", help="帮助")\n'
                      '    print(f"已写入 {n} 个")\n'
                      '    raise ValueError("错误")\n'
                      'def g(text: str) -> str:\n'
                      '    if text == "全部" or text.startswith("查看"):\n'
                      '        return re.sub("[，、]", ",", text)\n'
                      '    WORDS = {"开": True}\n'
                      '    return "、".join(WORDS)\n', encoding="utf-8")
    assert sorted({line.split(":")[1] for line in chinese_literals(sample)}) == ["12", "13", "7", "8"]
    assert sorted({line.split(":")[1] for line in chinese_literals(sample, {"WORDS"})}) == ["13", "7", "8"]
    assert chinese_literals(sample, "*") == []


@pytest.mark.parametrize("module", MODULES)
def test_every_reason_raised_is_worded(module: str) -> None:
    for error, reason, line in raised_reasons(REPO / module):
        template = (TEMPLATES / ERRORS[error]).read_text(encoding="utf-8")
        assert f'reason == "{reason}"' in template, f"{module}:{line}: {error}({reason!r}) is not in {ERRORS[error]}"


@pytest.mark.parametrize(("stats", "said"), [
    (None, "未配置任何渠道，通知留在发件箱待发送。"),
    (SendStats(claimed=3, sent=3), "发送结果：已发送 3 条。"),
    (SendStats(claimed=6, sent=2, retried=1, failed=1, undeliverable=1, released=1),
     "发送结果：已发送 2 条，稍后重试 1 条，发送失败 1 条，无法送达 1 条，暂未发送 1 条（留在发件箱）。"),
    # a channel down (its setup refused): its notices are held, not failed, and go out once it works again
    (SendStats(claimed=4, sent=1, held=3), "发送结果：已发送 1 条，渠道暂停发送、暂存 3 条（恢复后自动补发）。"),
])
def test_what_sending_did_is_said_in_chinese(stats: SendStats | None, said: str) -> None:
    assert Renderer().plain("cli/sent", stats=stats) == said


def test_the_node_plan_written_is_headed_as_the_import_reads_it() -> None:
    """One definition of the ledger's columns: the sheet /export writes for the import to read again takes its
    name and headers from bot.ledger.columns, the other sheets from the template."""
    book = load_workbook(io.BytesIO(ledger_workbook(make_standings(), [make_problem()], plan=[])))
    assert book.sheetnames[-1] == NODE_SHEET
    assert [c.value for c in book[NODE_SHEET][1]] == [C_CODE, N_NAME, N_PLANNED, N_DONE, N_NOTE]
    sheets = Renderer().words("ledger_export", "sheets")
    assert book.sheetnames[:-1] == [sheets[key] for key in ("projects", "units", "towns", "problems")]


@pytest.mark.parametrize(("what", "args", "said"), [
    ("resolution", ["9", "3"], "层级「9」无效：0 责任单位，1 包抓领导，2 区长，3 区委书记/领导小组。"),
    ("response", ["1", "3"], "只有责任单位（第 0 层）有受理时限；各层领导按办结时限办理：sla set resolution 层级 天数"),
    ("category", ["拆迁", "3"], "没有「拆迁」这个类别。类别：" + "、".join(CATEGORIES)),
    ("category", ["用地", "300"], "「300」不是 1 到 250 之间的工作日数。"),
    ("nudge-at", ["25:00"], "「25:00」不是时间，请写成 17:30 这样的形式。"),
    ("bedtime", [], "用法：sla set response 0 天数 | resolution 层级 天数 | category 类别 天数 | end-of-day 17:30 | "
                    "nudge-at 09:00 | node 天数"),
])
def test_an_admins_bad_input_is_worded_by_its_reason(what: str, args: list[str], said: str) -> None:
    with pytest.raises(AdminInputError) as refused:
        changed_policy(SlaPolicy(), what, args)
    assert str(refused.value) == said


def test_what_is_typed_is_marked_in_the_templates_and_printed_as_is() -> None:
    """The command line's templates mark commands and settings as <code> (for the style check); the terminal
    gets them as typed."""
    renderer = Renderer()
    assert renderer.plain("cli/startup_refused", reason="no_channel") == (
        "未配置任何渠道：请设置 TELEGRAM_BOT_TOKEN，或 WECOM_CORP_ID 等企业微信参数。")
    assert renderer.plain("cli/backup", step="restored_photos", photos=None, upgrade=True, inboxes=[]) == (
        "这份备份旁没有照片目录（.photos），照片未恢复。\n备份的数据库结构较旧，请运行：diaodu db upgrade")


def test_a_downloaded_ledger_is_named_as_a_bulletins() -> None:
    from bot.services.ledger_download import ledger_filename

    at = datetime(2026, 12, 3, 10, 15, 30, tzinfo=UTC)  # 18:15:30 in Shanghai
    assert ledger_filename(at) == "重点项目台账_20261203_181530.xlsx"


def test_a_backup_is_reported_with_full_width_punctuation(tmp_path: Path) -> None:
    from bot.ops.backup import BackupInfo
    from bot.ops.photo_backup import PhotoCopy

    info = BackupInfo(path=tmp_path / "b.sqlite3", size=10240, revision="0016",
                      tables={"alembic_version": 1, "projects": 2, "reports": 3, "units": 4})
    photos = PhotoCopy(where=tmp_path / "b.photos", originals=2, thumbnails=1, missing=["ab" * 32])
    renderer = Renderer()
    assert renderer.plain("cli/backup", step="copied", info=info) == (
        f"已备份：{info.path}（10 KB，结构版本 0016；共 10 行：projects 2、reports 3）")
    assert renderer.plain("cli/backup", step="photos", photos=photos, store=None, local=True) == (
        f"已备份照片 2 张、缩略图 1 张（{photos.where}）；备份中缺少 1 张照片：abababababab")
