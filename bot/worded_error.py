"""An error told to the operator by its reason: the words are in a template (``template``), rendered with the
reason and the error's context when the error is raised (the context may hold rows of a session about to close)."""

from __future__ import annotations

from typing import ClassVar


class WordedError(Exception):
    """An error by its reason and context; ``str()`` is ``template`` (under bot/templates) rendered with both."""

    template: ClassVar[str]

    def __init__(self, reason: str, **context: object) -> None:
        from bot.render import shared_renderer

        super().__init__(reason)
        self.reason = reason
        self.context = context
        self.words = shared_renderer().plain(self.template, reason=reason, **context)

    def __str__(self) -> str:
        return self.words
