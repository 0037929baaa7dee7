"""Parse and format money amounts typed by liaisons.

Amounts are kept in 万元 (ten-thousand yuan). A bare number is read as 万元
("850" = 850 万元); a number carrying 万/亿 or ending in 元 is a count of yuan
("3000万元" = 3000, "1.2亿" = 12000, "12000000元" = 1200). Chinese numerals
("三千万", "一亿二千万", "壹仟万", "一点二亿") are converted with ``cn2an`` (the
whole part) and digit by digit (after 点); Arabic numbers are parsed with
``Decimal`` so no float rounding creeps in.

This is the one amount grammar of every entry path (one-shot line, photo
caption, guided step, WeCom text, the ledger's amount cells). It folds what
phone keyboards and habits produce: full-width digits and spaces, spaces
between number and unit ("1.2 亿", "5000 元"), traditional 億/萬, a closing
整 ("1200万元整"), thousands separators ("1,200", "3 000").

Pure functions: no I/O. Every rejection raises ``AmountError`` carrying a
Chinese, user-facing explanation.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal

from bot.domain.digits import ASCII_DIGITS, FULL_WIDTH_DIGITS

# Sanity cap: 1000 亿元. No single project's period investment comes near it.
MAX_REASONABLE_WAN = Decimal("10000000")

# The digits read in user text: ASCII, full-width, and 〇 (a Chinese zero). Anything else str.isdigit()
# accepts ("²", "①", "٣") is refused, never folded into a digit.
DIGIT_CHARS = ASCII_DIGITS | FULL_WIDTH_DIGITS | frozenset("〇")

_QUANTUM = Decimal("0.0001")
_WAN = Decimal(10000)

# Multiplier of the scale word after an Arabic number ("3千万", "1.2亿").
_SCALES: dict[str, Decimal] = {
    "": Decimal(1),
    "十": Decimal(10),
    "百": Decimal(100),
    "千": Decimal(1000),
    "万": Decimal(10**4),
    "十万": Decimal(10**5),
    "百万": Decimal(10**6),
    "千万": Decimal(10**7),
    "亿": Decimal(10**8),
}
_UNIT_CHARS = set("十百千万亿元")

_SPLIT = re.compile(r"(?P<num>[0-9][0-9., ]*)\s*(?P<unit>[^0-9]*)")
_ARABIC = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]{1,3}(?: [0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?")
# Traditional and formal forms folded before parsing; 整 ("exactly") closes a written amount.
_FOLD = str.maketrans({"億": "亿", "萬": "万", "圆": "元", "圓": "元", "\u3000": " "})
_WHOLE = re.compile(r"\s*整$")
# Spaces before a unit word in Chinese numerals ("一千二百 万元") carry no meaning.
_SPACE_BEFORE_UNIT = re.compile(r"\s+(?=(?:[万亿]\s*)?元?$)|(?<=[万亿])\s+(?=元$)")
# "一点二亿": a Chinese whole part, 点, Chinese digits, then an optional scale and 元.
_CN_POINT = re.compile(r"(?P<whole>[^点]*)点(?P<frac>[零〇一二三四五六七八九壹贰叁肆伍陆柒捌玖]+)"
                       r"(?P<scale>十万|百万|千万|万|亿)?(?P<yuan>元)?")
_CN_DIGIT_VALUE = {ch: i for i, chars in enumerate(("零〇", "一壹", "二贰两", "三叁", "四肆", "五伍", "六陆",
                                                    "七柒", "八捌", "九玖")) for ch in chars}
_CHINESE = re.compile(r"[0-9零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟]+")
_CN_DIGITS = re.compile(r"[0-9零〇一二两三四五六七八九壹贰叁肆伍陆柒捌玖]")
_STACKED = re.compile(r"亿亿|亿万|万万")
# Malformed unit sequences ("千千", "拾仟", a leading 千/万) and, once units are present,
# adjacent digits ("三七拾", "六8佰"); a bare digit run such as "一二零零" stays valid.
_MALFORMED = re.compile(r"^[百千万亿佰仟]|[十百千拾佰仟]{2}")
_CN_NONZERO = "一二两三四五六七八九壹贰叁肆伍陆柒捌玖"
_ADJACENT = re.compile(f"[{_CN_NONZERO}][0-9{_CN_NONZERO}]|[0-9][{_CN_NONZERO}]")
_UNITS = re.compile(r"[十百千万亿拾佰仟]")


class AmountError(ValueError):
    """An amount that cannot be read, by its ``reason`` and ``context`` (what was written, cut to 20 characters);
    the words are in _amount_error.j2."""

    def __init__(self, reason: str, **context: str) -> None:
        super().__init__(reason)
        self.reason, self.context = reason, context


def _shown(text: str) -> str:
    return text if len(text) <= 20 else text[:20] + "…"


def _unrecognized(text: str) -> AmountError:
    return AmountError("unrecognized", text=_shown(text))


def _parse_arabic(text: str, num: str, unit: str) -> Decimal:
    num = num.rstrip()
    if not _ARABIC.fullmatch(num):
        raise _unrecognized(text)
    unit = unit.strip()
    has_yuan = unit.endswith("元")
    scale = unit[:-1].rstrip() if has_yuan else unit
    if scale not in _SCALES:
        if "%" in unit:
            raise AmountError("percent")
        if set("".join(unit.split())) <= _UNIT_CHARS:  # e.g. "1亿亿", "1.2亿万"
            raise AmountError("unclear_unit", text=_shown(text))
        raise AmountError("unknown_unit", unit=_shown(unit))
    value = Decimal(num.replace(",", "").replace(" ", "")) * _SCALES[scale]
    in_yuan = has_yuan or "万" in scale or "亿" in scale
    return value / _WAN if in_yuan else value


def _parse_chinese_point(text: str) -> Decimal:
    """"一点二亿", "三点五万元", "零点五": digits after 点 are read one by one."""
    match = _CN_POINT.fullmatch(text)
    if match is None or (match["whole"] and not _CHINESE.fullmatch(match["whole"])):
        raise _unrecognized(text)
    whole = _parse_chinese(match["whole"]) if match["whole"] else Decimal(0)
    if "万" in match["whole"] or "亿" in match["whole"] or whole != whole.to_integral_value():
        raise _unrecognized(text)  # "一万点五" is not how anyone writes an amount
    digits = "".join(str(_CN_DIGIT_VALUE[ch]) for ch in match["frac"])
    value = (whole + Decimal(f"0.{digits}")) * _SCALES[match["scale"] or ""]
    in_yuan = bool(match["yuan"] or match["scale"] in ("万", "十万", "百万", "千万", "亿"))
    return value / _WAN if in_yuan else value


def _parse_chinese(text: str) -> Decimal:
    text = _SPACE_BEFORE_UNIT.sub("", text)
    if "点" in text:
        return _parse_chinese_point(text)
    has_yuan = text.endswith("元")
    core = text[:-1].rstrip() if has_yuan else text
    if core in ("零万", "零亿", "〇万", "〇亿"):  # cn2an refuses these; they are 0
        return Decimal(0)
    if not _CHINESE.fullmatch(core):
        raise _unrecognized(text)
    if not _CN_DIGITS.search(core) and not core.startswith(("十", "拾")):
        raise AmountError("no_digits", text=_shown(text))
    if _STACKED.search(core):
        raise AmountError("unclear_unit", text=_shown(text))
    # cn2an is lenient ("三千千七" -> 3700), so reject malformed sequences first.
    if _MALFORMED.search(core) or (_UNITS.search(core) and _ADJACENT.search(core)):
        raise _unrecognized(text)
    import cn2an  # a sixth of the bot's start-up time: loaded with the first amount written in Chinese numerals

    try:
        # "smart" also takes mixed forms such as "1亿2千万".
        value = cn2an.cn2an(core, "smart")
    except (ValueError, KeyError, IndexError):  # cn2an raises KeyError on some malformed input
        raise _unrecognized(text) from None
    if not isinstance(value, int):  # defensive: never trust a float conversion
        raise _unrecognized(text)
    in_yuan = has_yuan or "万" in core or "亿" in core
    return Decimal(value) / _WAN if in_yuan else Decimal(value)


def _foreign_digit(text: str) -> str | None:
    """The first character that is a digit of some script but not one we read (superscripts "²", circled
    "①", Arabic-Indic "٣"): NFKC would turn "1²" into "12", and str.isdigit() accepts all of them."""
    for ch in text:
        if unicodedata.category(ch) in ("Nd", "No", "Nl") and ch not in DIGIT_CHARS:
            return ch
    return None


def parse_amount(text: str) -> Decimal:
    """Parse a user-typed amount into 万元, rounded to at most 4 decimals (1 元)."""
    if _foreign_digit(text or ""):
        raise _unrecognized(text)
    # NFKC folds full-width digits, commas and points ("１２００" -> "1200").
    norm = unicodedata.normalize("NFKC", text or "").translate(_FOLD).strip()
    norm = _WHOLE.sub("", norm)
    if not norm:
        raise AmountError("empty")
    if norm[0] in "-−负":
        raise AmountError("negative")
    split = _SPLIT.fullmatch(norm)
    if split:
        wan = _parse_arabic(norm, split["num"], split["unit"])
    else:  # Chinese or mixed numerals; anything else ("1e5", "NaN") is rejected there
        wan = _parse_chinese(norm)
    if wan > MAX_REASONABLE_WAN:
        raise AmountError("too_large", text=_shown(norm), most=format_wan(MAX_REASONABLE_WAN))
    if wan.as_tuple().exponent < -4:
        wan = wan.quantize(_QUANTUM, rounding=ROUND_HALF_UP)
    return wan


def format_wan(amount: Decimal) -> str:
    """Format 万元 with thousands separators and one decimal: 12000 -> "12,000.0"."""
    return f"{amount.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):,.1f}"


def in_chinese_numerals(text: str) -> bool:
    """Whether a written amount uses Chinese numerals (「四万」, 「三千」, 「1亿2千万」), whose reading is worth saying
    back: 「四万」 is 4 万元, not 40,000 万元."""
    folded = unicodedata.normalize("NFKC", text or "").translate(_FOLD)
    return any(ch in _CN_DIGIT_VALUE or ch in "十百千拾佰仟点" for ch in folded)


def plain_wan(amount: Decimal) -> str:
    """万元 as a reading is said, without trailing zeros: 4 → "4", 12000 → "12,000", 0.35 → "0.35"."""
    value = Decimal(amount).normalize()
    return f"{value:,f}"


def has_unit(text: str) -> bool:
    """Whether a written amount names its unit (万, 亿, 元…); a bare number is read as 万元."""
    return any(ch in "万亿元萬億圆圓" for ch in unicodedata.normalize("NFKC", text or ""))

