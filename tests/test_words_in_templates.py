"""What people read is worded in the templates (bot/templates), not in Python: checked over the modules that
print to the admin or draw, by reading their source. A Chinese string there is allowed only as a docstring,
as the help of the command line's parser (argparse lays it out; it stays beside the option it explains) or as
data that is no words (DATA_NAMES).
Every reason a command-line error is raised with is worded in its template."""

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
# The modules whose words were moved into templates; a new Chinese literal in one of them fails here.
MODULES = (
    "bot/__main__.py",
    *sorted(str(path.relative_to(REPO)) for path in (REPO / "bot" / "cli").glob("*.py")),
    "bot/ops/backup.py",
    "bot/ops/photo_backup.py",
    "bot/chart.py",
    "bot/heatmap.py",
    "bot/services/ledger_export.py",
    "jobs/escalation.py",
    "bot/app.py",
    "bot/channels/wecom/binding.py",
    *sorted(str(path.relative_to(REPO)) for path in (REPO / "bot" / "web").rglob("*.py")),  # the web pages
)
CHINESE = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# argparse's own words: the parser's description, an option's help, default and metavar
PARSER_CALLS = {"ArgumentParser", "add_parser", "add_argument", "add_mutually_exclusive_group"}
PARSER_WORDS = {"help", "description", "default", "metavar"}
# Chinese that is data, not words: the characters a font must have a glyph for to draw the charts
DATA_NAMES = {"PROBE_TEXT"}
# exception → the template its reasons are worded in
ERRORS = {"CliError": "cli/refused.j2", "ConfigError": "cli/refused.j2", "BackupError": "cli/backup_refused.j2",
          "PhotoBackupError": "cli/backup_refused.j2", "ConfigurationError": "cli/startup_refused.j2",
          "SchemaOutOfDate": "cli/startup_refused.j2", "NoChannel": "cli/startup_refused.j2"}


def _allowed(tree: ast.AST) -> set[int]:
    """ids of the string constants that may hold Chinese: docstrings, the parser's help and DATA_NAMES."""
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in DATA_NAMES for t in node.targets):
            allowed.add(id(node.value))
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = node.body[0] if node.body else None
            if isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant):
                allowed.add(id(doc.value))
        if isinstance(node, ast.Call) and _name(node.func) in PARSER_CALLS:
            for keyword in node.keywords:
                if keyword.arg in PARSER_WORDS:
                    allowed |= {id(n) for n in ast.walk(keyword.value)}
    return allowed


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def chinese_literals(path: Path) -> list[str]:
    """Where ``path`` has Chinese in a string that is neither a docstring nor the parser's help."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    allowed = _allowed(tree)
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
    assert chinese_literals(REPO / module) == []


def test_the_checker_finds_a_chinese_message(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('"""模块说明。"""\nimport argparse\n\n'
                      'def f(p: argparse.ArgumentParser, n: int) -> None:\n'
                      '    """说明。"""\n'
                      '    p.add_argument("--x", help="帮助")\n'
                      '    print(f"已写入 {n} 个")\n'
                      '    raise ValueError("错误")\n', encoding="utf-8")
    assert sorted({line.split(":")[1] for line in chinese_literals(sample)}) == ["7", "8"]


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
    ("bedtime", [], "用法：sla set response 层级 天数 | resolution 层级 天数 | category 类别 天数 | end-of-day 17:30 | "
                    "nudge-at 09:00"),
])
def test_an_admins_bad_input_is_worded_by_its_reason(what: str, args: list[str], said: str) -> None:
    with pytest.raises(AdminInputError) as refused:
        changed_policy(SlaPolicy(), what, args)
    assert str(refused.value) == said


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
