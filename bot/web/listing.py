"""Long lists on the web pages, a page at a time (the rule of ``bot.domain.paging``, as the chat's lists), with
the addresses of a list's other pages: each keeps what the reader chose in the address (filters, order, the
page another list of the same page is on), so that 下一页 pages the list the reader is looking at."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import urlencode

from bot.domain.digits import as_int
from bot.domain.paging import Page, page_of

T = TypeVar("T")


@dataclass(frozen=True)
class Paged(Generic[T]):
    """One page of a list and the addresses (query strings, with the anchor of the list's section) of the pages
    before and after it; None where there is none."""

    page: Page[T]
    previous: str | None
    next: str | None

    @property
    def items(self) -> list[T]:
        return self.page.items


def asked_page(query: Mapping[str, str], key: str = "page") -> int:
    """The page number the address asks for (1 when it asks for none or for something that is no number)."""
    return as_int(query.get(key, "")) or 1


def page_address(query: Mapping[str, str], key: str, number: int, anchor: str = "") -> str:
    """The address of page ``number`` of the list ``key`` names, the rest of ``query`` kept (the first page
    without its number, as the list's own address is)."""
    kept = {name: value for name, value in query.items() if name != key and value != ""}
    if number > 1:
        kept[key] = str(number)
    return "?" + urlencode(kept) + (f"#{anchor}" if anchor else "")


def paged(items: Sequence[T], query: Mapping[str, str], *, size: int, key: str = "page",
          anchor: str = "") -> Paged[T]:
    """The page of ``items`` the address asks for (``key``: the name of its page number in the address)."""
    page = page_of(items, asked_page(query, key), size)
    return Paged(page=page,
                 previous=page_address(query, key, page.number - 1, anchor) if page.has_previous else None,
                 next=page_address(query, key, page.number + 1, anchor) if page.has_next else None)
