"""`diaodu …` with wrong arguments says in Chinese what is wrong (argparse words it in English), with the
command's usage and where its help is; the help's headings are in Chinese too."""

from __future__ import annotations

import pytest

from bot.__main__ import main
from bot.cli.parser import usage_error


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" not in err and "error:" not in err and "argument" not in err, err
    return err


@pytest.mark.parametrize(("argv", "said"), [
    (["import"], "diaodu import：缺少必填参数：files"),
    (["invite", "--role", "x", "--person", "郝芳"], "diaodu invite：参数 --role 不能是「x」，可选：liaison、unit"),
    (["calendar", "official", "abc"], "diaodu calendar official：参数 year 的值「abc」不是整数"),
    (["import", "--as-of", "2026-13-01", "a.xlsx"], "参数 --as-of：「2026-13-01」不是日期，请写成 2027-02-06"),
    (["import", "a.xlsx", "--as-of"], "diaodu import：参数 --as-of 后面需要写一个值"),
    (["digest", "weekly", "--send", "--dry-run"], "diaodu digest：参数 --dry-run 和 --send 不能同时使用"),
    (["import", "a.xlsx", "--bogus"], "diaodu：无法识别的参数：--bogus"),
    (["sla", "set"], "diaodu sla set：缺少必填参数：what、values"),
    ([], "diaodu：缺少必填参数：command"),
])
def test_a_wrong_argument_is_said_in_chinese(capsys: pytest.CaptureFixture[str], argv: list[str], said: str) -> None:
    err = _refused(capsys, argv)
    assert err.startswith("用法：diaodu") and said in err, err
    assert err.rstrip().endswith("--help")


def test_the_help_is_laid_out_under_chinese_headings(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["import", "--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("用法：diaodu import") and "\n参数：\n" in out and "\n选项：\n" in out
    assert "-h, --help" in out and "显示本帮助并退出" in out and "--dry-run" in out
    assert "usage:" not in out and "show this help" not in out and "options:" not in out


def test_a_message_argparse_words_otherwise_is_still_said_in_chinese() -> None:
    assert usage_error("argument --x: expected 2 arguments") == "参数 --x 后面至少要写一个值"
    ambiguous = usage_error("ambiguous option: --d could match --dry-run, --db")
    assert ambiguous == "参数 --d 不明确，可能是：--dry-run、--db"
    assert usage_error("something new") == "参数有误：something new"
