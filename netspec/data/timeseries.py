"""``csv:PATH`` — a time series for causal / sequence networks (regression).

The file holds one or more numeric columns, one row per time step, with an
optional header row. Columns that are not numeric anywhere (e.g. a date
column) are ignored and named in a note; a column that is numeric in some
rows but not others is an error pointing at the cell. Values are used as
read (raw scale; standardise them with ``per_channel``).

Each example is a window of ``window`` consecutive rows (default: the spec's
``T``), all columns, shaped ``(T, C)`` (``(T,)`` for a one-column file and a
``[T]`` input). Its target depends on the spec's output shape ``O`` — with
``h`` the horizon and the target columns the *last* ``k`` columns:

======================  ===================================================
``O = (T, k)``          sequence to sequence: step ``t`` predicts the row
                        ``t + h`` (a causal TCN with a per-step output)
``O = (h, k)``, ``(h,)``  forecast: the ``h`` rows after the window
                        (``(h,)``: the last column only)
``O = (C,)``, ``h = 1``   the next row, all columns
======================  ===================================================

When ``T == h`` the first reading wins. Without an output shape (or with
one none of these fits) the target is the forecast ``(h,)`` for one column,
``(h, C)`` for several, and ``check_compatible`` names the mismatch.

The split is chronological: with ``b`` the first row of the last
``val_split`` of the series, training windows have every target row before
``b`` and validation windows every target row at or after ``b`` (their
inputs may reach back before ``b``: that history is known when forecasting).
Nothing is shuffled across the boundary.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from netspec.data.dataset import Dataset, Split, conform, data_error
from netspec.diagnostics import NetspecError, Span, error


@dataclass(frozen=True)
class Windowing:
    """How windows and targets are cut: targets of window ``s`` are
    ``series[s + offsets][:, columns]`` (then reshaped to ``target_shape``)."""

    window: int
    offsets: np.ndarray
    columns: slice
    target_shape: tuple[int, ...]


def plan_windows(window: int, horizon: int, columns: int, output_shape: tuple[int, ...] | None) -> Windowing:
    """Choose the targets for ``output_shape`` (see the module docstring).

    >>> plan_windows(16, 1, 1, (16, 1)).offsets[:3].tolist()
    [1, 2, 3]
    >>> plan_windows(16, 3, 1, (3,)).offsets.tolist()
    [16, 17, 18]
    """
    shape = tuple(output_shape) if output_shape is not None else None
    forecast = np.arange(window, window + horizon)
    if shape is not None and len(shape) == 2 and shape[1] <= columns:
        last = slice(columns - shape[1], columns)
        if shape[0] == window:
            return Windowing(window, np.arange(horizon, window + horizon), last, shape)
        if shape[0] == horizon:
            return Windowing(window, forecast, last, shape)
    if shape is not None and len(shape) == 1:
        if shape[0] == horizon:
            return Windowing(window, forecast, slice(columns - 1, columns), shape)
        if horizon == 1 and shape[0] == columns:
            return Windowing(window, forecast, slice(0, columns), shape)
    default = (horizon,) if columns == 1 else (horizon, columns)
    return Windowing(window, forecast, slice(0, columns), default)


def cut_windows(series: np.ndarray, plan: Windowing, first_target: int, stop_target: int) -> Split:
    """Windows of ``series`` ``(L, C)`` whose target rows all lie in ``[first_target, stop_target)``.

    Returns ``x`` ``(N, window, C)`` and ``y`` ``(N, *plan.target_shape)``, float32.
    """
    low, high = int(plan.offsets.min()), int(plan.offsets.max())
    starts = np.arange(max(0, first_target - low), stop_target - high)
    if len(starts) == 0:
        empty = np.zeros((0, plan.window, series.shape[1]), dtype=np.float32)
        return Split(empty, np.zeros((0, *plan.target_shape), dtype=np.float32))
    x = series[starts[:, None] + np.arange(plan.window)]
    y = series[starts[:, None] + plan.offsets][:, :, plan.columns]
    return Split(x.astype(np.float32), y.reshape((len(starts), *plan.target_shape)).astype(np.float32))


def chronological(
    series: np.ndarray,
    *,
    input_shape: tuple[int, ...],
    output_shape: tuple[int, ...] | None,
    window: int | None,
    horizon: int,
    val_split: float,
    name: str,
) -> tuple[Split, Split | None]:
    """Train and validation windows of ``series`` ``(L, C)``, split at the last ``val_split`` of the rows."""
    if len(input_shape) not in (1, 2):
        raise data_error(
            "data-shape",
            f"{name}: a time series needs a spec input of [T, C] or [T], but the input is {list(input_shape)}",
        )
    window = input_shape[0] if window is None else window
    if window < 1 or horizon < 1:
        raise data_error(
            "data-window", f"{name}: window and horizon must be at least 1, but got {window} and {horizon}"
        )
    length = len(series)
    if window + horizon > length:  # before plan_windows allocates offsets for a horizon of 10**12
        raise data_error(
            "data-window", f"{name}: a window of {window} steps with horizon {horizon} needs "
            f"{window + horizon} rows, but the series has {length}",
            hint="use a smaller --window or --horizon, or a longer series")
    plan = plan_windows(window, horizon, series.shape[1], output_shape)
    boundary = length - round(length * val_split) if val_split > 0 else length
    train = cut_windows(series, plan, 0, boundary)
    val = cut_windows(series, plan, boundary, length) if boundary < length else None
    low, high = int(plan.offsets.min()), int(plan.offsets.max())
    needed = {"training": high + 1, "validation": high - low + 1}
    for label, split in (("training", train), ("validation", val)):
        if split is not None and len(split) == 0:
            raise data_error(
                "data-window",
                f"{name}: {length} rows leave no {label} window of {window} steps with horizon {horizon}",
                hint=f"the {label} part needs at least {needed[label]} rows: use a longer series, "
                "a smaller window or a different --val-split",
            )

    def shape_inputs(split: Split) -> Split:
        return Split(conform(split.x, input_shape), split.y)

    return shape_inputs(train), None if val is None else shape_inputs(val)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def read_columns(path: Path) -> tuple[list[str], np.ndarray, list[str]]:
    """(numeric column names, values ``(L, C)`` float32, ignored column names) of a csv file."""
    rows = _nonblank_rows(path)
    width = len(rows[0][1])
    has_header = _has_header(rows)
    names = [cell.strip() for cell in rows[0][1]] if has_header else [f"column {i + 1}" for i in range(width)]
    body = rows[1:] if has_header else rows
    keep = _numeric_columns(path, body, names, width)
    values = _values(path, body, keep)
    ignored = [names[c] for c in range(width) if c not in keep]
    return [names[c] for c in keep], values, ignored


Row = tuple[int, list[str]]  # (line number, cells)


def _nonblank_rows(path: Path) -> list[Row]:
    """The csv file's rows that hold anything, with their line numbers; a diagnostic when it
    cannot be read or holds none."""
    from netspec.spec.file_limits import check_regular

    try:
        check_regular(path)  # an endless device or a FIFO with no writer would hang the reader
        with open(path, newline="", encoding="utf-8-sig") as stream:
            rows = [
                (number, row)
                for number, row in enumerate(csv.reader(stream), start=1)
                if any(c.strip() for c in row)
            ]
    except FileNotFoundError:
        raise data_error("data-not-found", f"csv:{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise data_error("data-corrupt", f"cannot read {path}: {exc}") from None
    if not rows:
        raise data_error("data-empty", f"{path} holds no rows")
    return rows


def _has_header(rows: list[Row]) -> bool:
    """A header names numeric columns: text above a number (a date column alone is not a header)."""
    first, second = rows[0][1], rows[1][1] if len(rows) > 1 else rows[0][1]
    return any(
        _number(cell) is None and c < len(second) and _number(second[c]) is not None
        for c, cell in enumerate(first)
    )


def _numeric_columns(path: Path, body: list[Row], names: list[str], width: int) -> list[int]:
    """The columns holding a number anywhere; a diagnostic at the first ragged row or at a
    cell of such a column that is not a number."""
    for number, row in body:
        if len(row) != width:
            raise _cell_error(
                path, number, row, None, f"row has {len(row)} fields but the first row has {width}"
            )
    keep = [c for c in range(width) if any(_number(row[c]) is not None for _, row in body)]
    for number, row in body:
        for c in keep:
            if _number(row[c]) is None:
                raise _cell_error(path, number, row, c, f"'{row[c]}' in column '{names[c]}' is not a number")
    return keep


def _values(path: Path, body: list[Row], keep: list[int]) -> np.ndarray:
    """The kept columns as float32 ``(L, C)``; a diagnostic when there are none or one is not finite."""
    values = np.array([[_number(row[c]) for c in keep] for _, row in body], dtype=np.float32).reshape(
        len(body), len(keep)
    )
    if not keep or not len(values):
        raise data_error(
            "data-empty", f"{path} holds no numeric columns", hint="one row per time step, numbers in columns"
        )
    if not np.isfinite(values).all():
        where = int(np.argwhere(~np.isfinite(values))[0][0])
        number, row = body[where]
        raise _cell_error(path, number, row, None, "the row holds a non-finite value (nan or inf)")
    return values


def _cell_error(path: Path, line: int, row: list[str], column: int | None, message: str) -> NetspecError:
    """A diagnostic pointing at the csv row (and cell, when known)."""
    snippet = ",".join(row)
    col = 1 + sum(len(cell) + 1 for cell in row[:column]) if column is not None else 1
    length = len(row[column]) if column is not None else len(snippet)
    span = Span(str(path), line, col, max(1, length), snippet)
    return NetspecError(
        [error("data-csv", message, span, hint="fix or drop the row (one numeric value per column)")]
    )


def load_csv(
    path: str,
    *,
    input_shape: tuple[int, ...],
    output_shape: tuple[int, ...] | None,
    window: int | None,
    horizon: int,
    val_split: float,
) -> Dataset:
    """A regression dataset of windows of a csv time series (see the module docstring)."""
    file = Path(path).expanduser()
    names, values, ignored = read_columns(file)
    train, val = chronological(
        values,
        input_shape=input_shape,
        output_shape=output_shape,
        window=window,
        horizon=horizon,
        val_split=val_split,
        name=f"csv:{path}",
    )
    notes = [f"Ignored non-numeric columns of {file.name}: {', '.join(ignored)}."] if ignored else []
    notes.append(f"Time series columns: {', '.join(names)}; {len(values)} rows, split chronologically.")
    return Dataset(f"csv:{path}", train, val, None, None, "regression", notes)
