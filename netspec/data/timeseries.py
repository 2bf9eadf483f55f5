"""``csv:PATH`` — a time series for causal / sequence networks (regression).

The file holds one or more numeric columns, one row per time step, with an
optional header row; :mod:`netspec.data.csv_columns` reads it and picks the
input (feature) and target columns. Columns that are not numeric anywhere
(e.g. a date column) and a leading row-index column are left out with a
note; a column that is numeric in some rows but not others is an error
pointing at the cell. Values are used as read (raw scale; standardise the
inputs with ``per_channel``; targets are never standardised, so
predictions are in the file's units).

Each example is a window of ``window`` consecutive rows (default: the spec's
``T``) of the input columns, shaped ``(T, C)`` (``(T,)`` for one column and a
``[T]`` input). Its target depends on the spec's output shape ``O`` — with
``h`` the horizon and the target columns the ``--target-columns`` (default:
the *last* ``k`` input columns):

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

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from netspec.data.csv_columns import ColumnChoice, read_table, select_columns
from netspec.data.dataset import Dataset, Split, conform, data_error


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


def cut_windows(series: np.ndarray, plan: Windowing, first_target: int, stop_target: int,
                targets: np.ndarray | None = None) -> Split:
    """Windows of ``series`` ``(L, C)`` whose target rows all lie in ``[first_target, stop_target)``;
    targets from ``targets`` ``(L, K)`` (default: ``series`` itself).

    Returns ``x`` ``(N, window, C)`` and ``y`` ``(N, *plan.target_shape)``, float32.
    """
    targets = series if targets is None else targets
    low, high = int(plan.offsets.min()), int(plan.offsets.max())
    starts = np.arange(max(0, first_target - low), stop_target - high)
    if len(starts) == 0:
        empty = np.zeros((0, plan.window, series.shape[1]), dtype=np.float32)
        return Split(empty, np.zeros((0, *plan.target_shape), dtype=np.float32))
    x = series[starts[:, None] + np.arange(plan.window)]
    y = targets[starts[:, None] + plan.offsets][:, :, plan.columns]
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
    targets: np.ndarray | None = None,
) -> tuple[Split, Split | None]:
    """Train and validation windows of ``series`` ``(L, C)``, split at the last ``val_split`` of the rows;
    targets from ``targets`` ``(L, K)`` when given, else from ``series``."""
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
    plan = plan_windows(window, horizon, (series if targets is None else targets).shape[1], output_shape)
    boundary = length - round(length * val_split) if val_split > 0 else length
    train = cut_windows(series, plan, 0, boundary, targets)
    val = cut_windows(series, plan, boundary, length, targets) if boundary < length else None
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


def load_csv(
    path: str,
    *,
    input_shape: tuple[int, ...],
    output_shape: tuple[int, ...] | None,
    window: int | None,
    horizon: int,
    val_split: float,
    columns: ColumnChoice | None = None,
) -> Dataset:
    """A regression dataset of windows of a csv time series (see the module docstring)."""
    file = Path(path).expanduser()
    chosen = select_columns(read_table(file), columns or ColumnChoice())
    train, val = chronological(
        chosen.inputs,
        input_shape=input_shape,
        output_shape=output_shape,
        window=window,
        horizon=horizon,
        val_split=val_split,
        name=f"csv:{path}",
        targets=chosen.targets,
    )
    notes = list(chosen.notes)
    targets = f"; targets {', '.join(chosen.target_names)}" if chosen.target_names else ""
    notes.append(f"Time series input columns: {', '.join(chosen.input_names)}{targets}; "
                 f"{len(chosen.inputs)} rows, split chronologically.")
    return Dataset(f"csv:{path}", train, val, None, None, "regression", notes)


@dataclass(frozen=True)
class ForecastInput:
    """The last window of a csv series, shaped for the network, and how to read its output."""

    x: np.ndarray  # (1, *input_shape)
    rows: int  # rows in the file: the forecast is of rows rows+1 ... (1-based)
    target_names: list[str]
    plan: Windowing


def forecast_input(path: str, *, input_shape: tuple[int, ...], output_shape: tuple[int, ...] | None,
                   window: int | None, horizon: int, columns: ColumnChoice | None = None) -> ForecastInput:
    """The window of the last rows of the csv at ``path``, cut as training cut it."""
    file = Path(path).expanduser()
    chosen = select_columns(read_table(file), columns or ColumnChoice())
    window = input_shape[0] if window is None else window
    if window > len(chosen.inputs):
        raise data_error("data-window", f"csv:{path}: a window of {window} steps needs {window} rows, "
                         f"but the file has {len(chosen.inputs)}", hint="give the file at least a window of rows")
    targets_of = chosen.inputs if chosen.targets is None else chosen.targets
    plan = plan_windows(window, horizon, targets_of.shape[1], output_shape)
    names = chosen.target_names if chosen.target_names is not None else chosen.input_names
    x = conform(chosen.inputs[None, -window:], input_shape)
    return ForecastInput(x, len(chosen.inputs), names[plan.columns], plan)


def forecast_rows(output: np.ndarray, plan: Windowing) -> np.ndarray:
    """The network's output for the last window as rows ``(horizon, K)``: the steps after the series.

    A sequence-to-sequence output (step ``t`` predicts row ``t + h``) gives its last ``h`` steps.

    >>> forecast_rows(np.arange(6.0).reshape(6, 1), plan_windows(6, 2, 1, (6, 1))).ravel().tolist()
    [4.0, 5.0]
    """
    horizon = int(plan.offsets.max()) - plan.window + 1
    rows = np.asarray(output).reshape(len(plan.offsets), -1)
    return rows[-horizon:]
