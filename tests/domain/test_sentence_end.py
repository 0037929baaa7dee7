"""The bot's 「。」 after a text someone typed (a report's progress) is not written when the text ends its sentence
already, with a full-width or half-width mark, an ellipsis or a tilde, also inside closing quotes or brackets."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.sentence_end import ends_sentence
from bot.render import Renderer

ENDS = "。．.！!？?…⋯~～"
CLOSERS = "」』”’\"'）)】》"
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30)
WORD_END = st.sampled_from("桩基完成封顶主体abcXYZ0123456789%").filter(bool)
RENDERER = Renderer()


def full_stop(text: str) -> str:
    """What the report's replies write after the progress text (the macro of ``_full_stop.j2``)."""
    return RENDERER.phrase("_full_stop", "full_stop", text)


@given(text=TEXT, end=st.text(st.sampled_from(ENDS), min_size=1, max_size=3),
       closers=st.text(st.sampled_from(CLOSERS), max_size=2), after=st.sampled_from(["", " ", "\u200d", "\ufe0f"]))
def test_a_text_ending_its_sentence_gets_no_second_mark(text: str, end: str, closers: str, after: str) -> None:
    typed = text + end + closers + after
    assert ends_sentence(typed)
    assert full_stop(typed) == ""


@given(text=TEXT, last=WORD_END, closers=st.text(st.sampled_from(CLOSERS), max_size=2))
def test_a_text_ending_in_words_gets_the_full_stop(text: str, last: str, closers: str) -> None:
    typed = text + last + closers  # 「桩基完成」, 「（60%）」: no mark before the brackets
    assert not ends_sentence(typed)
    assert full_stop(typed) == "。"


def test_the_marks_people_type_at_the_end() -> None:
    for typed in ("主体封顶!", "完成了吗?", "主体封顶！", "完成了吗？", "下步……", "正在施工~", "加油～",
                  "他说：「已完成。」", "（已验收！）", "\"OK!\"", "主体完成。 "):
        assert full_stop(typed) == "", typed
    for typed in ("桩基完成", "（60%）", "已完成👍", "", "「", "!」x"):
        assert full_stop(typed) == "。", typed
