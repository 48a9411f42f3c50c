"""bot.charts: the PNG chart that comes with /stats."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import date, timedelta

import pytest
from PIL import Image

from bot.charts import REPLIES_COLOUR, SENT_COLOUR, daily_chart

DAYS = [date(2026, 11, 21) + timedelta(days=i) for i in range(14)]


def _image(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.load()
    return image.convert("RGB")


def _pixels(image: Image.Image, hex_colour: str) -> int:
    """How many pixels are exactly this colour."""
    rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return sum(count for count, colour in image.getcolors(maxcolors=1 << 20) or [] if colour == rgb)


def _dark(image: Image.Image) -> int:
    """How many pixels are nearly black: text, ticks and axes."""
    colours = image.getcolors(maxcolors=1 << 20) or []
    return sum(count for count, colour in colours if sum(colour) < 200)


def test_it_draws_fourteen_days_of_sent_and_replies_sized_for_a_phone() -> None:
    sent = [0, 12, 30, 0, 45, 50, 8, 0, 0, 33, 41, 29, 17, 5]
    replies = [0, 0, 2, 0, 3, 1, 0, 0, 0, 4, 0, 2, 1, 0]
    image = _image(daily_chart(DAYS, sent, replies, "Last 14 days"))
    assert image.size == (960, 540)
    assert _pixels(image, SENT_COLOUR) > 20_000  # the bars, not only the legend's patch
    assert _pixels(image, REPLIES_COLOUR) > 1_000
    assert _dark(image) > 1_000


def test_a_series_of_zeros_is_a_chart_too() -> None:
    image = _image(daily_chart(DAYS, [0] * 14, [0] * 14, "Last 14 days"))
    assert image.size == (960, 540)
    assert _dark(image) > 1_000  # not blank: the axes, labels and legend are drawn
    assert 0 < _pixels(image, SENT_COLOUR) < 1_000  # the legend's patch, no bar


def test_it_takes_a_single_day_and_no_day() -> None:
    assert _image(daily_chart(DAYS[:1], [3], [1], "Today")).size == (960, 540)
    assert _image(daily_chart([], [], [], "Nothing")).size == (960, 540)


def test_it_refuses_series_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="one count per day"):
        daily_chart(DAYS, [1] * 13, [0] * 14, "Last 14 days")


def test_importing_the_module_does_not_import_matplotlib() -> None:
    code = (
        "import sys, bot.charts; "
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'numpy', 'PIL')]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_drawing_leaves_no_figure_behind() -> None:
    daily_chart(DAYS, [1] * 14, [1] * 14, "Last 14 days")
    code = (
        "import sys, gc\n"
        "from datetime import date\n"
        "from bot.charts import daily_chart\n"
        "daily_chart([date(2026, 1, 1)], [1], [0], 't')\n"
        "gc.collect()\n"
        "from matplotlib.figure import Figure\n"
        "alive = [o for o in gc.get_objects() if isinstance(o, Figure)]\n"
        "assert not alive, alive\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
