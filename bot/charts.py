"""Pictures for the chat: the daily chart that comes with /stats (sent with ``sendPhoto``).

matplotlib is imported inside :func:`daily_chart`, never when this module is imported: a bot
that is never asked for a chart never pays for it (~45 MB with the first chart). The figure is
drawn with the Agg canvas directly (no ``pyplot``), so no figure is registered anywhere and
nothing outlives the call.
Rendering is CPU work of a few hundred milliseconds: call it from a worker thread
(``asyncio.to_thread``); a lock keeps two renders from sharing matplotlib's caches at once.
"""

from __future__ import annotations

import gc
import io
import threading
from collections.abc import Sequence
from datetime import date

__all__ = ["CHART_DPI", "CHART_INCHES", "REPLIES_COLOUR", "SENT_COLOUR", "daily_chart"]

#: Sized for a phone: 960 x 540 pixels, which Telegram shows without scaling text away.
CHART_INCHES = (8.0, 4.5)
CHART_DPI = 120

# Blue and orange: told apart with any common colour blindness.
SENT_COLOUR = "#3b75af"
REPLIES_COLOUR = "#ef8636"

_RENDER = threading.Lock()

# English whatever the process's locale (strftime's %b follows it).
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def daily_chart(
    days: Sequence[date], sent: Sequence[int], replies: Sequence[int], title: str
) -> bytes:
    """A PNG bar chart of emails sent and replies per day, one pair of bars per day."""
    if not len(days) == len(sent) == len(replies):
        raise ValueError(
            f"one count per day: {len(days)} days, {len(sent)} sent, {len(replies)} replies"
        )
    with _RENDER:
        try:
            return _render(list(days), list(sent), list(replies), title)
        finally:
            # A figure is thousands of objects in reference cycles (~0.5 MB). Left to the
            # collector's own pace they fragment the heap: 50 charts grew RSS by 17 MB, with
            # this young-generation pass (microseconds; a full one takes ~100 ms in the bot) 3 MB.
            gc.collect(1)


def _render(days: list[date], sent: list[int], replies: list[int], title: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=CHART_INCHES, dpi=CHART_DPI)
    canvas = FigureCanvasAgg(fig)
    try:
        ax = fig.add_subplot()
        width = 0.4
        xs = range(len(days))
        bars_sent = ax.bar(
            [x - width / 2 for x in xs], sent, width, label="Emails sent", color=SENT_COLOUR
        )
        bars_replies = ax.bar(
            [x + width / 2 for x in xs], replies, width, label="Replies", color=REPLIES_COLOUR
        )
        for bars, counts in ((bars_sent, sent), (bars_replies, replies)):
            # The counts on the bars, zeros left out.
            ax.bar_label(bars, labels=[str(n) if n else "" for n in counts], fontsize=8)

        ax.set_title(title, fontsize=13, pad=28)
        ax.set_xlabel("Day", fontsize=10)
        ax.set_ylabel("Emails per day", fontsize=10)
        ax.set_xticks(list(xs), [f"{d.day} {_MONTHS[d.month - 1]}" for d in days], fontsize=9)
        if len(days) > 16:
            ax.tick_params(axis="x", labelrotation=45)
        ax.set_xlim(-0.6, max(len(days), 1) - 0.4)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        top = max([*sent, *replies, 0])
        ax.set_ylim(0, max(top * 1.08, 1))  # headroom for the counts on the bars
        if not top:
            ax.text(
                0.5, 0.5, "No emails sent and no replies on these days", transform=ax.transAxes,
                ha="center", va="center", fontsize=11, color="#666666",
            )  # fmt: skip
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
        ax.spines[["top", "right"]].set_visible(False)
        # Between the title and the plot, where no bar can hide it.
        ax.legend(
            loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, frameon=False, fontsize=10
        )
        # Fixed margins instead of tight_layout: it would lay the figure out by drawing it once
        # more (and leave savefig a third draw); the texts' sizes here are fixed, so are these.
        fig.subplots_adjust(left=0.095, right=0.985, bottom=0.125, top=0.84)

        out = io.BytesIO()
        fig.savefig(out, format="png")
        return out.getvalue()
    finally:
        fig.clear()
        canvas.renderer = None  # its 2 MB pixel buffer, freed now rather than by a later gc
