"""An error told to the operator by its reason: the words are in a template (``template``), rendered with the
reason and the error's context when the error is printed."""

from __future__ import annotations

from typing import ClassVar


class WordedError(Exception):
    """An error by its reason and context; ``str()`` renders ``template`` (under bot/templates) with both."""

    template: ClassVar[str]

    def __init__(self, reason: str, **context: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.context = context

    def __str__(self) -> str:
        from bot.render import shared_renderer

        return shared_renderer().plain(self.template, reason=self.reason, **self.context)
