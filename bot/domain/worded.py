"""The domain's tables of words (the labels of code names, the levels' names, the bulletins' kinds) are worded in
the templates like every text people read, and read from there once per process: a template's top-level
``{% set name = … %}`` values and its macros, through Jinja's public ``Template.module``. The modules exporting
the tables keep them as the plain dicts, tuples and strings they were, for the code that names things outside a
template. The words are plain text, not HTML: a template printing them escapes them as it does any value."""

from __future__ import annotations

import functools
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template


@functools.cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("bot", "templates"), undefined=StrictUndefined, auto_reload=False,
                       autoescape=False)  # plain text: a macro gives a str, as typed


@functools.cache
def _template(name: str) -> Template:
    return _environment().get_template(name)


def worded(template: str, name: str) -> Any:
    """The value ``{% set name = … %}`` gives at the top of ``template`` (a file of bot/templates), or its macro
    ``name`` (called, it returns a plain str)."""
    return getattr(_template(template).module, name)
