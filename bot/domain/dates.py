"""Calendar days as people type them.

Always read: 2026-12-20, 2026/12/20, 2026.12.20 and 2026年12月20日 (full-width digits too:
２０２６－１２－２０). Read when the caller says what today is (`today=`): 12-20, 12/20, 12月20日 (or
12月20号), the next such day on or after today; 今天, 明天, 后天; 周五 / 本周五 / 这周五 (this week's,
Monday first) and 下周五 / 下星期五 (next week's).

A day meant to be past (`past=True`: the day of a report to correct, of a project's 开工 or 竣工, of a node
done) reads the other way: 12-20 (also 12.20) is the latest such day on or before today, unless this year's
is less than a month ahead (12-20 written on 2 December is that day, for the caller to refuse as not yet
come, not the one eleven months back); 今天, 昨天, 前天;
周五 the latest Friday on or before today, 上周五 last week's. A day ahead is never read from 昨天 or 上周五,
nor a past one from 明天.

A form is read only when it stands alone: "3-5天内" is not 5 March, and "12月底" is no day. Nothing here
reads a clock.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

# What may follow a day at the start of a text: a space, the end, or punctuation before the rest.
_END = r"(?=$|[\s,，。;；:：、])"
_FULL = re.compile(r"(?P<y>[0-9]{4})[-/.年](?P<m>[0-9]{1,2})[-/.月](?P<d>[0-9]{1,2})[日号]?")


def _month_day_form(marks: str) -> re.Pattern[str]:
    return re.compile(rf"(?:(?P<m>[0-9]{{1,2}})[{marks}](?P<d>[0-9]{{1,2}}){_END}"
                      rf"|(?P<cm>[0-9]{{1,2}})月(?P<cd>[0-9]{{1,2}})(?:[日号]|{_END}))")


_MONTH_DAY = _month_day_form("-/")
# 12.20 is a day only where a past day is meant: ahead, "2.5 公里已通车" would read as 5 February.
_PAST_MONTH_DAY = _month_day_form("-/.")
_WEEKDAYS = "一二三四五六日天"
_WEEKDAY = re.compile(rf"(?P<shift>[上下])?(?:本|这)?(?:周|星期|礼拜)(?P<w>[{_WEEKDAYS}]){_END}")
_AHEAD = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2}
_BEHIND = {"今天": 0, "今日": 0, "昨天": -1, "昨日": -1, "前天": -2}
_AHEAD_RE = re.compile(rf"(?P<word>{'|'.join(_AHEAD)}){_END}")
_BEHIND_RE = re.compile(rf"(?P<word>{'|'.join(_BEHIND)}){_END}")
_SEPARATORS = " \t\n,，。;；:：、"
# Full-width digits and the marks between them, as a Chinese keyboard's full-width mode types them
# ("１２－２０"): read as their ASCII twins. One character for one, so positions in the text stay the same.
FULL_WIDTH_DATE = str.maketrans("０１２３４５６７８９－／．", "0123456789-/.")


def day_of(match: re.Match[str]) -> date | None:
    """The day a match of (year, month, day) groups names; None if there is no such day (2026-02-30)."""
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _month_day(month: int, day: int, today: date) -> date | None:
    """The next `month`-`day` on or after today (this year's, else next year's; 29 February the next leap
    year's); None if there is no such day."""
    for year in range(today.year, today.year + 5):  # 29 February waits for a leap year
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue  # 2-29 in a common year: try the next
        if candidate >= today:
            return candidate
    return None


# days: a past day written without its year this near ahead is that day, a slip to refuse, not last year's
NEAR_AHEAD = 31


def _latest_month_day(month: int, day: int, today: date) -> date | None:
    """The latest `month`-`day` on or before today; None if there is no such day."""
    for year in range(today.year, today.year - 5, -1):  # 29 February: the last leap year's
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= today:
            return candidate
    return None


def _weekday(index: int, shift: str | None, today: date, past: bool) -> date:
    monday = today - timedelta(days=today.weekday())
    day = monday + timedelta(days=index + {"下": 7, "上": -7}.get(shift or "", 0))
    return day - timedelta(days=7) if past and shift is None and day > today else day


def _read(text: str, today: date | None, past: bool = False) -> tuple[date | None, int]:
    """The day at the start of `text` and where its form ends; (None, 0) if it does not start with one."""
    text = text.translate(FULL_WIDTH_DATE)
    match = _FULL.match(text)
    if match:
        try:
            return date(int(match["y"]), int(match["m"]), int(match["d"])), match.end()
        except ValueError:
            return None, 0
    if today is None:
        return None, 0
    match = (_PAST_MONTH_DAY if past else _MONTH_DAY).match(text)
    if match:
        month, day = (match["m"], match["d"]) if match["m"] else (match["cm"], match["cd"])
        if not past:
            return _month_day(int(month), int(day), today), match.end()
        ahead = _month_day(int(month), int(day), today)
        if ahead is not None and 0 < (ahead - today).days <= NEAR_AHEAD:
            return ahead, match.end()
        return _latest_month_day(int(month), int(day), today), match.end()
    match = _WEEKDAY.match(text)
    if match and (past or match["shift"] != "上"):  # ahead, "上周五已协调" is an answer's words
        index = min(_WEEKDAYS.index(match["w"]), 6)  # 日 and 天 are both Sunday
        return _weekday(index, match["shift"], today, past), match.end()
    relative, words = (_BEHIND_RE, _BEHIND) if past else (_AHEAD_RE, _AHEAD)
    match = relative.match(text)
    if match:
        return today + timedelta(days=words[match["word"]]), match.end()
    return None, 0


# "12月20日前完成", "周五之前": the day a promise or deadline is kept by; the word belongs to the day, not to the
# words after it ("前后", about the day, and "前期", the preliminary stage, are words).
_BY_DAY = re.compile(r"(?:之前|以前|前)(?![后期])")


def _read_by(text: str, today: date) -> tuple[date | None, int, int]:
    """The day at the start of `text`, also when a 前 follows it ("12-20前完成"): the day, where its form ends and
    where the rest begins; (None, 0, 0) if it does not start with one."""
    for by in _BY_DAY.finditer(text):
        day, end = _read(text[:by.start()], today)
        if day is not None and end == by.start():
            return day, end, by.end()
    day, end = _read(text, today)
    return day, end, end


HALF_YEAR = 183  # days: a day written without its year further ahead than this is taken as the one just past


def split_near_day(text: str, *, today: date) -> tuple[date | None, str, str | None]:
    """`split_leading_day` for a day meant to be near today (a promised date, a meeting's deadline): a day
    written without its year more than half a year ahead is read as the one before today (11月19日 written on
    20 November 2026 is the day before, not 19 November 2027), so that a day just past is refused as past
    rather than pushed a year ahead. A 前/之前/以前 right after the day ("12月20日前完成", "周五前") says by when
    and is not left in the rest. The third value is the form as written when the
    text starts with one that names no day (12月32日, 2026-02-30), else None."""
    stripped = text.strip()
    day, end, rest = _read_by(stripped, today)
    if day is None:
        form = _FULL.match(stripped) or _MONTH_DAY.match(stripped)
        return None, stripped, form.group(0) if form else None
    written = stripped[:end]
    if not _FULL.match(written) and _MONTH_DAY.match(written) and (day - today).days > HALF_YEAR:
        try:
            day = day.replace(year=day.year - 1)
        except ValueError:  # 29 February: there is no earlier one that year
            pass
    return day, stripped[rest:].strip(_SEPARATORS), None


def parse_day(text: str, *, today: date | None = None, past: bool = False) -> date | None:
    """The day `text` is (surrounding spaces aside); None if it is not one. Without `today`, only the forms
    with a year are read; with `past`, a day meant to be on or before today (see the module docstring)."""
    stripped = text.strip()
    day, end = _read(stripped, today, past)
    return day if day is not None and end == len(stripped) else None


def split_leading_day(text: str, *, today: date | None = None, past: bool = False) -> tuple[date | None, str]:
    """A day at the start of `text` and the rest: ("2026-12-10 先行施工" → (2026-12-10, "先行施工"));
    (None, the whole text) when it does not start with a real day. `past` as for `parse_day`."""
    stripped = text.strip()
    day, end = _read(stripped, today, past)
    if day is None:
        return None, stripped
    return day, stripped[end:].strip(_SEPARATORS)
