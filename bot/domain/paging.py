"""Long lists shown a page at a time: which items a page holds and how many pages there are."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, its number (from 1), how many pages and items there are in all."""

    items: list[T]
    number: int
    pages: int
    total: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def page_of(items: Sequence[T], number: int, size: int) -> Page[T]:
    """Page `number` of `items`, `size` to a page; a number past either end gives the first or last page."""
    number, pages = page_number(len(items), number, size)
    start = (number - 1) * size
    return Page(items=list(items[start:start + size]), number=number, pages=pages, total=len(items))


def page_number(total: int, number: int, size: int) -> tuple[int, int]:
    """The page a list of `total` items shows when page `number` is asked for (the first or last one past
    either end), and how many pages there are: for a list read from the database a page at a time, whose
    page starts at item ``(number - 1) * size``."""
    pages = max(1, -(-total // size))
    return min(max(1, number), pages), pages
