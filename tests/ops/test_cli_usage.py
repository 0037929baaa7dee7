"""`diaodu …` with wrong arguments says in Chinese what is wrong, with the command's usage and where its help is,
whatever words argparse has for it (English, and not the same in every Python); the arguments other than options
and commands are named by their Chinese display names; the help's headings are in Chinese too."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
from collections.abc import Iterator
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.__main__ import _parser, main
from bot.cli.diagnosis import Problem
from bot.cli.parser import usage_error
from bot.domain.text_width import display_width


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" not in err and "error:" not in err and "argument" not in err, err
    return err


ARGUMENT_NAMES = re.compile(r"(?<![-\w])(files|command|\w+_command|day|kind|year|what|values|name|chat_id|file)\b")
# A wrong line for every command: what is said of it, after "diaodu <command>：".
WRONG = [
    ([], "diaodu：缺少必填参数：命令"),
    (["serve"], "diaodu：参数 命令 不能是「serve」，可选：run、db、import"),
    (["run", "--now"], "diaodu：无法识别的参数：--now"),
    (["db"], "diaodu db：缺少必填参数：命令"),
    (["db", "downgrade"], "diaodu db：参数 命令 不能是「downgrade」，可选：upgrade、current"),
    (["db", "current", "extra"], "diaodu：无法识别的参数：extra"),
    (["import"], "diaodu import：缺少必填参数：文件"),
    (["import", "--as-of", "2026-13-01", "a.xlsx"], "参数 --as-of：「2026-13-01」不是日期，请写成 2027-02-06"),
    (["import", "--as-of=2026-13-01", "a.xlsx"], "参数 --as-of：「2026-13-01」不是日期，请写成 2027-02-06"),
    (["import", "a.xlsx", "--as-of"], "diaodu import：参数 --as-of 后面需要写一个值"),
    (["import", "--dry-run=yes", "a.xlsx"], "diaodu import：参数 --dry-run 后面不能写值"),
    (["import", "a.xlsx", "--bogus"], "diaodu：无法识别的参数：--bogus"),
    (["export", "--out"], "diaodu export：参数 --out 后面需要写一个值"),
    (["invite", "--role", "x", "--person", "郝芳"], "diaodu invite：参数 --role 不能是「x」，可选：liaison、unit"),
    (["invite", "--role", "top"], "diaodu invite：缺少必填参数：--person"),
    (["invite"], "diaodu invite：缺少必填参数：--role、--person"),
    (["console"], "diaodu console：缺少必填参数：--as"),
    (["calendar"], "diaodu calendar：缺少必填参数：命令"),
    (["calendar", "list", "2027"], "diaodu：无法识别的参数：2027"),
    (["calendar", "set", "2027-02-05"], "diaodu calendar set：缺少必填参数：安排"),
    (["calendar", "set", "二月五日", "off"], "diaodu calendar set：参数 日期：「二月五日」不是日期"),
    (["calendar", "set", "2027-02-05", "maybe"], "diaodu calendar set：参数 安排 不能是「maybe」，可选：off、work"),
    (["calendar", "set", "2027-02-05", "off", "--to", "x"], "diaodu calendar set：参数 --to：「x」不是日期"),
    (["calendar", "official", "abc"], "diaodu calendar official：参数 年份 的值「abc」不是整数"),
    (["calendar", "official"], "diaodu calendar official：缺少必填参数：年份"),
    (["sla", "set"], "diaodu sla set：缺少必填参数：时限、值"),
    (["sla", "set", "category"], "diaodu sla set：缺少必填参数：值"),
    (["sla", "set", "deadline", "3"], "diaodu sla set：参数 时限 不能是「deadline」，可选：response、resolution"),
    (["sla", "show", "all"], "diaodu：无法识别的参数：all"),
    (["job"], "diaodu job：缺少必填参数：任务"),
    (["job", "report"], "diaodu job：参数 任务 不能是「report」，可选：escalate、remind"),
    (["job", "remind", "--at", "6pm"], "diaodu job：参数 --at：「6pm」不是时间"),
    (["digest", "weekly", "--send", "--dry-run"], "diaodu digest：参数 --dry-run 和 --send 不能同时使用"),
    (["digest", "daily"], "diaodu digest：参数 通报 不能是「daily」，可选：weekly、monthly"),
    (["digest", "weekly", "--period"], "diaodu digest：参数 --period 后面需要写一个值"),
    (["groups", "add", "-100123"], "diaodu groups add：缺少必填参数：--name"),
    (["groups", "add", "--name", "领导小组"], "diaodu groups add：缺少必填参数：群"),
    (["groups", "add", "-100123", "--name", "甲", "--channel", "wechat"], "参数 --channel 不能是「wechat」"),
    (["groups", "remove"], "diaodu groups remove：缺少必填参数：群"),
    (["people", "bind", "--wecom", "zhangsan"], "diaodu people bind：缺少必填参数：--person"),
    (["people", "unbind"], "diaodu people：参数 命令 不能是「unbind」，可选：bind"),
    (["wecom", "menu", "--publish"], "diaodu：无法识别的参数：--publish"),
    (["demo", "--d"], "diaodu demo：参数 --db 后面需要写一个值"),  # --d: the one option it can stand for
    (["demo", "--no-console=yes"], "diaodu demo：参数 --no-console 后面不能写值"),
    (["backup", "--out"], "diaodu backup：参数 --out 后面需要写一个值"),
    (["restore"], "diaodu restore：缺少必填参数：备份文件"),
]


@pytest.mark.parametrize(("argv", "said"), WRONG, ids=[" ".join(argv) or "(nothing)" for argv, _ in WRONG])
def test_a_wrong_argument_is_said_in_chinese(capsys: pytest.CaptureFixture[str], argv: list[str], said: str) -> None:
    err = _refused(capsys, argv)
    assert err.startswith("用法：diaodu") and said in err, err
    assert err.rstrip().endswith("--help")
    assert not ARGUMENT_NAMES.search(err), err  # the arguments' names in the code


def test_every_command_has_a_wrong_line_above() -> None:
    parser = _parser()
    commands = {name for name in parser.declared.commands.choices}  # type: ignore[union-attr]
    assert commands <= {argv[0] for argv, _ in WRONG if argv}


MARK = "（另一种说法）"


@contextlib.contextmanager
def argparse_worded_otherwise() -> Iterator[None]:
    """argparse's messages as another Python words them, or as its gettext catalogue translates them (the
    usage's heading excepted: the help's layout is another matter)."""
    kept = {"usage: ", "positional arguments", "options"}
    with patch.object(argparse, "_", lambda text: text if text in kept else f"{MARK}{text}"), \
            patch.object(argparse, "ngettext", lambda one, many, n: f"{MARK}{one if n == 1 else many}"):
        yield


@pytest.mark.parametrize(("argv", "said"), WRONG[:12], ids=[" ".join(argv) or "(nothing)" for argv, _ in WRONG[:12]])
def test_what_is_said_does_not_hang_on_argparse_s_words(
        capsys: pytest.CaptureFixture[str], argv: list[str], said: str) -> None:
    with argparse_worded_otherwise():
        err = _refused(capsys, argv)
    assert said in err and MARK not in err and "参数有误" not in err, err


def test_the_help_is_laid_out_under_chinese_headings(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["import", "--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("用法：diaodu import") and "\n参数：\n" in out and "\n选项：\n" in out
    assert "-h, --help" in out and "显示本帮助并退出" in out and "--dry-run" in out
    assert "usage:" not in out and "show this help" not in out and "options:" not in out


@pytest.mark.parametrize("argv", [["calendar", "set"], ["digest"], ["import"], ["groups", "add"], []],
                         ids=["calendar-set", "digest", "import", "groups-add", "diaodu"])
def test_the_help_s_columns_line_up_in_a_terminal(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    """A Chinese character takes two columns of a terminal: every argument's help starts in one column whatever
    its name (日期, --name 节日, --as-of YYYY-MM-DD), and the usage's continued lines start under its first
    argument."""
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    out = capsys.readouterr().out
    usage, _, rest = out.partition("\n\n")
    rows = [re.match(r"^ {2,4}\S(?:.*?\S)? {2,}(?=\S)", line) for line in rest.splitlines()]
    columns = {display_width(row[0]) for row in rows if row}
    wrapped = {len(line) - len(line.lstrip()) for line in rest.splitlines() if line.startswith(" " * 8)}
    assert len(columns) == 1 and wrapped <= columns, out
    first, *continued = usage.splitlines()
    under = display_width(first[:first.index("[")])
    assert all(len(line) - len(line.lstrip()) == under for line in continued), out


def test_what_cannot_be_named_is_still_said_in_chinese_with_argparse_s_words() -> None:
    assert usage_error(Problem("other", {"text": "something new"})) == "参数有误：something new"


# Words a command line is made of: commands, options (whole, abbreviated, with "="), good and bad values.
VOCABULARY = ["run", "db", "upgrade", "import", "export", "invite", "calendar", "set", "official", "sla", "job",
              "remind", "digest", "weekly", "groups", "add", "remove", "people", "bind", "wecom", "menu", "demo",
              "restore", "off", "maybe", "category", "a.xlsx", "2027-02-05", "2026-13-01", "2027", "abc", "-100123",
              "--", "-x", "--dry-run", "--dry-run=yes", "--send", "--as-of", "--as-of=2027-02-05", "--take-file",
              "--out", "--role", "top", "--person", "郝芳", "--name", "--to", "--at", "--period", "--channel",
              "--wecom", "--d", "--as", "--undo", "--force", "--bogus"]


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(st.lists(st.sampled_from(VOCABULARY), max_size=7))
def test_whatever_argparse_refuses_is_named_in_chinese(argv: list[str]) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), argparse_worded_otherwise():
        try:
            _parser().parse_args(argv)
        except SystemExit as stopped:
            assert stopped.code == 2
        else:
            return
    said = err.getvalue()
    assert MARK not in said and "参数有误" not in said, (argv, said)
