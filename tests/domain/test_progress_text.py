"""A progress text is stored one way whichever way it was sent: the one-shot line (or a caption) and the guided
/report's step (and /correct's) give the same text, its lines kept and each line's spaces and tabs one space."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from bot.domain.amounts import AmountError, parse_amount
from bot.domain.report_line import parse_report_line, progress_as_stored

# Words, and what may stand between them: the spaces and tabs of a pasted row, line breaks, a full-width space.
WORD = st.text(st.sampled_from("主体结构完成桩基下步计划二层楼板60%，。abc()（）"), min_size=1, max_size=6)
GAP = st.sampled_from([" ", "\t", "\t\t", "  ", "\u3000", "\n", "\n\n", " \t\n", "\r\n"])


@st.composite
def typed_progress(draw: st.DrawFn) -> str:
    words = draw(st.lists(WORD, min_size=1, max_size=8))
    gaps = draw(st.lists(GAP, min_size=len(words) + 1, max_size=len(words) + 1))
    return gaps[0] + "".join(word + gap for word, gap in zip(words, gaps[1:], strict=True))


def _reads_as_amount(typed: str) -> bool:
    try:
        parse_amount(typed.strip())
    except AmountError:
        return False
    return True


@given(typed=typed_progress())
def test_the_one_shot_line_stores_what_the_guided_step_stores(typed: str) -> None:
    assume(not typed.lstrip()[0].isdigit())  # a number opening the words would be asked back as an amount
    assume(not _reads_as_amount(typed.split()[0]))  # so would a number in words opening it (「二 0」: 2, or 850?)
    line = parse_report_line(f"ZD2026-001 850 {typed}".replace("\r\n", "\n"))
    assert line is not None and not line.ambiguous
    assert line.progress == progress_as_stored(typed.replace("\r\n", "\n"))


@given(typed=typed_progress())
def test_a_stored_progress_text_has_no_tab_nor_run_of_spaces_and_keeps_every_word(typed: str) -> None:
    stored = progress_as_stored(typed)
    assert "\t" not in stored and "  " not in stored and "\u3000" not in stored and "\n\n" not in stored
    assert all(line == line.strip() and line for line in stored.split("\n"))
    assert stored.split() == typed.split()  # the words, in order, none cut
    assert progress_as_stored(stored) == stored
