"""What the user sees while training: a live progress bar and one row per epoch.

The bar (rich) shows the epoch, steps, live loss/accuracy and images/s; it is
drawn only on a terminal. Rows are printed everywhere (terminals, logs, CI),
aligned like a table, so a finished run reads as its learning curve in text.
"""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

COMPACT_BELOW = 100  # terminal columns under which the bar drops the live metrics
_COLUMNS = (  # (history key, header, width including the gap after it)
    ("epoch", "epoch", 0),  # sized to the epoch count
    ("loss", "loss", 9),
    ("accuracy", "accuracy", 10),
    ("val_loss", "val_loss", 10),
    ("val_accuracy", "val_accuracy", 14),
    ("lr", "lr", 9),
    ("time", "time", 8),
    ("images_per_s", "images/s", 10),
)


def format_value(key: str, value: Any, epochs: int | None = None) -> str:
    """One table cell. Accuracies as percentages, losses with 4 decimals.

    >>> format_value("accuracy", 0.98765), format_value("loss", 0.123456), format_value("epoch", 3, 10)
    ('98.77%', '0.1235', '3/10')
    """
    if value is None:
        return "-"
    if key == "epoch":
        return f"{value}/{epochs}" if epochs else str(value)
    if "accuracy" in key:
        return f"{100 * value:.2f}%"
    if key == "lr":
        return f"{value:.1e}"
    if key == "time":
        return f"{value:.1f}s"
    if key == "images_per_s":
        return f"{value:,.0f}"
    return f"{value:.4f}"


class Display:
    """Progress bar plus epoch rows; ``quiet`` prints neither (only messages)."""

    def __init__(self, *, quiet: bool = False, console: Console | None = None):
        self.console = console or Console(file=sys.stdout, highlight=False)
        self.quiet = quiet
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._header_done = False
        self._columns: tuple[tuple[str, str, int], ...] = _COLUMNS
        self.rate_name = "images/s"  # "samples/s" for sequences and vectors (set by the loop)

    def message(self, text: str) -> None:
        """A line for the user, shown even when quiet."""
        self.console.print(text, highlight=False, soft_wrap=True)

    def start_epoch(self, epoch: int, epochs: int, steps: int, done: int = 0) -> None:
        if self.quiet or not self.console.is_terminal:
            return
        columns: tuple[ProgressColumn, ...]
        if self.console.width < COMPACT_BELOW:  # narrow terminal: the live metrics would crowd out the bar
            columns = (TextColumn(f"{epoch}/{epochs}"), BarColumn(bar_width=max(8, self.console.width - 32)),
                       MofNCompleteColumn(), TimeRemainingColumn(compact=True))
        else:
            columns = (TextColumn(f"epoch {epoch}/{epochs}"), BarColumn(), MofNCompleteColumn(),
                       TextColumn("{task.fields[live]}"), TimeRemainingColumn())
        self._progress = Progress(*columns, console=self.console, transient=True)
        self._progress.start()
        self._task = self._progress.add_task("train", total=steps, completed=done, live="")

    def update(self, completed: int, live: dict[str, float | None]) -> None:
        if self._progress is None or self._task is None:
            return
        text = "  ".join(f"{self.rate_name if k == 'images_per_s' else k} {format_value(k, v)}"
                         for k, v in live.items() if v is not None)
        self._progress.update(self._task, completed=completed, live=text)

    def end_epoch(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def row(self, row: dict[str, Any], epochs: int) -> None:
        """Print one epoch's metrics (a header first time), skipping unmeasured columns."""
        if self.quiet:
            return
        if not self._header_done:
            epoch_width = max(len("epoch"), 2 * len(str(epochs)) + 1) + 2
            self._columns = tuple((key, self.rate_name if key == "images_per_s" else header, width or epoch_width)
                                  for key, header, width in _COLUMNS if row.get(key) is not None)
            self.console.print("".join(f"{header:<{width}}" for _, header, width in self._columns),
                               style="bold", highlight=False)
            self._header_done = True
        cells = (f"{format_value(key, row.get(key), epochs):<{width}}" for key, _, width in self._columns)
        self.console.print("".join(cells), highlight=False)
