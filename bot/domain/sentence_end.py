"""Whether a text someone typed already ends its sentence, so that the 「。」 the bot writes after it
(「已记录填报：本期完成投资 850.0 万元，主体封顶！」) is not doubled into 「主体封顶！。」 or 「完成了吗?。」."""

from __future__ import annotations

import unicodedata

# Marks that end a sentence, full-width and half-width: 。．！？ and their ASCII twins, the ellipsis (…, ⋯, or
# "..." typed as dots), a tilde as chats write it (~, ～), the double marks (‼ ⁇ ⁈ ⁉).
_ENDS = frozenset("。．.！!？?…⋯~～‼⁇⁈⁉")
# What may close a quotation or a bracket after its end mark: 「他说：已完成。」, （主体已封顶！）, "OK!"
_CLOSERS = frozenset("」』”’\"'）)】］]》〉｝}〗〕")
# Variation selectors (an emoji's presentation), invisible on their own.
_SELECTORS = frozenset(chr(c) for c in range(0xFE00, 0xFE10))


def _invisible(char: str) -> bool:
    """Spaces, format characters (a zero-width joiner, a direction mark) and variation selectors."""
    return char.isspace() or char in _SELECTORS or unicodedata.category(char) == "Cf"


def ends_sentence(text: str | None) -> bool:
    """Whether ``text`` ends with a mark that ends a sentence, before any closing quotes or brackets and
    invisible characters after it: 「主体封顶!」, 「完成了吗？」, 「下步……」, 「（已验收。）」 do; 「桩基完成」,
    「（60%）」, an emoji, an empty text do not."""
    typed = text or ""
    end = len(typed)
    while end and _invisible(typed[end - 1]):
        end -= 1
    while end and typed[end - 1] in _CLOSERS:
        end -= 1
    return bool(end) and typed[end - 1] in _ENDS
