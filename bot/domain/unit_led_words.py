"""Words that open with a money unit (万达广场, 万亩, 亿纬锂能): after an amount they make a report line unclear.

In "850万达广场主体封顶" the 万 may close the amount (850 万元 and "达广场…") or open the words (850 万元 and
"万达广场…"); only knowing that 万达 is a name tells. These are the names and measure words a construction
project's progress text may open with; a line whose amount is followed by one of them is asked back, never
cut silently (bot.domain.report_line). Words a progress text commonly opens with are kept out even when a
name shares them (万安 and 安装, 万国 and 国道, 万方 and 方案): "850万安装完成" is 850 万元 and "安装完成".
Pure data and one function: no I/O.
"""

from __future__ import annotations

# Companies and places (万达广场, 万州区…), then the units of quantities (万亩, 万平方米, 亿千瓦时…).
UNIT_LED_WORDS: tuple[str, ...] = (
    "万达", "万科", "万象", "万豪", "万向", "万华", "万邦", "万润", "万洲", "万隆", "万泰", "万丰", "万盛", "万福",
    "万寿", "万宁", "万州", "万载", "万荣", "万秀", "万柏林", "万泉", "万松",
    "亿纬", "亿利", "亿联", "亿达", "亿晶", "亿航", "亿嘉",
    "万亩", "万吨", "万株", "万套", "万辆", "万平方", "万平米", "万立方", "万千瓦", "万千伏", "万伏",
    "亿吨", "亿度", "亿千瓦", "亿立方", "亿平方",
)
_FOLD = str.maketrans({"萬": "万", "億": "亿"})


def opens_unit_led_word(text: str) -> bool:
    """Whether `text` opens with a word whose first character is a money unit (万达…, 萬科…, 亿纬…)."""
    return text.translate(_FOLD).startswith(UNIT_LED_WORDS)
