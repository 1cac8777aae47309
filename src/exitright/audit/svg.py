"""Horizontal bar charts as inline SVG: no library, no script, no CDN — a report stays one file."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

ROW = 22
LABEL_WIDTH = 230
BAR_WIDTH = 360
VALUE_WIDTH = 90
FONT = "system-ui, 'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', sans-serif"
COLOURS = {"fail": "#c0392b", "partial": "#e67e22", "pass": "#27ae60", "info": "#2c6fbb"}


def bar_chart(
    title: str,
    rows: Sequence[tuple[str, float, str]],
    *,
    maximum: float | None = None,
    colour: str = "info",
) -> str:
    """One bar per ``(label, value, value_text)``; bars scale to ``maximum`` (default: largest)."""
    top = maximum if maximum is not None else max((v for _, v, _ in rows), default=0.0)
    height = ROW * (len(rows) + 1) + 8
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    fill = COLOURS.get(colour, colour)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="14" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, value, text) in enumerate(rows):
        y = ROW * (i + 1) + 4
        length = 0.0 if top <= 0 else BAR_WIDTH * max(0.0, min(value, top)) / top
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 13}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{ROW - 6}" '
            f'fill="{fill}"><title>{escape(label)}: {escape(text)}</title></rect>'
            f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + 13}">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
