"""The progress bar on narrow terminals keeps the bar, the count and a whole ETA."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from netspec.train.progress import Display


def drawn_line(width: int) -> str:
    out = io.StringIO()
    display = Display(console=Console(file=out, width=width, force_terminal=True, color_system=None))
    display.start_epoch(1, 3, 100)
    display.update(40, {"loss": 0.5, "accuracy": 0.9, "images_per_s": 1000.0})
    display._progress.refresh()
    display.end_epoch()
    lines = [line for line in out.getvalue().replace("\r", "\n").split("\n") if "40/100" in line]
    return lines[-1].replace("\x1b[2K", "")


@pytest.mark.parametrize("width", [40, 60, 80])
def test_a_narrow_terminal_gets_a_compact_bar(width):
    line = drawn_line(width)
    assert len(line) <= width and "━" in line and "40/100" in line
    assert "…" not in line and "loss" not in line  # nothing cut off: the live metrics are left out


def test_a_wide_terminal_shows_the_live_metrics():
    line = drawn_line(140)
    assert "epoch 1/3" in line and "loss 0.5000" in line and "accuracy 90.00%" in line
