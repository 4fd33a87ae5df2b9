"""A campaign's pictures as server-rendered SVG: the share of each status
(one stacked bar with a legend) and deliveries over time (a bar per time
slice). Inline ``<svg>`` markup, no script and no external file, so the
cabinet's strict Content-Security-Policy stays as it is.

Pure: counts in, ``Html`` out; every text passes through ``esc``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from .html import Html, esc

#: a colour per report status (unknown ones grey)
COLOURS = {
    "PENDING": "#bbb", "SKIPPED": "#777", "REFUSED": "#c60", "ENROUTE": "#48c", "DELIVRD": "#2a2",
    "UNDELIV": "#d33", "REJECTD": "#a0a", "EXPIRED": "#e90", "DELETED": "#555", "UNKNOWN": "#9ac",
}
#: most bars in the time chart: slices are widened to fit
MAX_BARS = 40


def status_share(counts: Mapping[str, int], label: Callable[[str], str], width: int = 600) -> Html:
    """One bar split in proportion to each status's count, with a legend."""
    total = sum(counts.values())
    parts: list[str] = []
    x = 0.0
    shown = [(s, n) for s, n in counts.items() if n]
    for status, n in shown:
        w = width * n / total
        parts.append(f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="24" fill="{COLOURS.get(status, "#999")}">'
                     f"<title>{esc(status)} {n}</title></rect>")
        x += w
    for i, (status, n) in enumerate(shown):
        y = 40 + 18 * i
        pct = 100 * n / total
        parts.append(f'<rect x="0" y="{y - 11}" width="12" height="12" fill="{COLOURS.get(status, "#999")}"/>'
                     f'<text x="18" y="{y}" font-size="12">{esc(status)} {esc(label(status))}: {n} '
                     f"({pct:.1f}%)</text>")
    height = 40 + 18 * len(shown)
    return Html(f'<svg id="share" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                f'viewBox="0 0 {width} {height}" role="img">{"".join(parts)}</svg>')


def rebucket(per_second: Sequence[tuple[int, int]], max_bars: int = MAX_BARS) -> tuple[int, list[tuple[int, int]]]:
    """(second, count) pairs -> (slice seconds, [(slice start, count)]) with at most ``max_bars`` slices."""
    if not per_second:
        return 1, []
    first, last = per_second[0][0], per_second[-1][0]
    step = max(1, -(-(last - first + 1) // max_bars))
    out: dict[int, int] = {}
    for second, n in per_second:
        start = first + (second - first) // step * step
        out[start] = out.get(start, 0) + n
    return step, sorted(out.items())


def deliveries(per_second: Sequence[tuple[int, int]], width: int = 600, height: int = 160) -> Html:
    """Final messages per time slice (simulation seconds), as bars."""
    step, bars = rebucket(per_second)
    parts: list[str] = []
    if bars:
        first = bars[0][0]
        slots = (bars[-1][0] - first) // step + 1
        top = max(n for _, n in bars)
        bw = width / slots
        for start, n in bars:
            h = (height - 20) * n / top
            x = (start - first) // step * bw
            parts.append(f'<rect x="{x:.2f}" y="{height - 16 - h:.2f}" width="{max(bw - 1, 1):.2f}" '
                         f'height="{h:.2f}" fill="#2a2"><title>+{start - first}s: {n}</title></rect>')
        parts.append(f'<text x="0" y="{height - 2}" font-size="11">0 s</text>'
                     f'<text x="{width - 60}" y="{height - 2}" font-size="11">{slots * step} s</text>'
                     f'<text x="{width - 60}" y="12" font-size="11">max {top}</text>')
    return Html(f'<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                f'viewBox="0 0 {width} {height}" role="img">{"".join(parts)}</svg>')
