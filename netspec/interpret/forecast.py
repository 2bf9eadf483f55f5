"""Forecasts of a trained time-series run: the network's prediction for the steps after
the last window of a csv series, in the file's units.

The window is cut as training cut it (:func:`netspec.data.timeseries.forecast_input`:
the run's window, horizon and csv columns unless given anew), the run's saved input
statistics standardise it inside the network's step, and the targets were never
standardised, so the output needs no undoing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netspec.data.csv_columns import ColumnChoice
from netspec.data.timeseries import forecast_input, forecast_rows
from netspec.diagnostics import NetspecError, error


def forecast(session, graph, path: str, options: dict[str, Any]) -> dict[str, Any]:
    """``{"rows", "window", "horizon", "targets", "forecast": [{"step", "row", "values"}]}``
    for the csv at ``path``; ``options`` holds ``window``, ``horizon`` and the column choices."""
    cut = forecast_input(path, input_shape=graph.input_shape, output_shape=session.output_shape,
                         window=options.get("window"), horizon=int(options.get("horizon") or 1),
                         columns=ColumnChoice.from_options(options))
    if tuple(cut.x.shape[1:]) != tuple(graph.input_shape):
        raise NetspecError([error(
            "data-shape", f"csv:{path}: its last window has shape {list(cut.x.shape[1:])}, "
            f"but '{graph.name}' takes {list(graph.input_shape)}",
            hint="choose the columns the run was trained on with --feature-columns")])
    output = session.predict(cut.x)[0]
    if output.size != len(cut.plan.offsets) * len(cut.target_names):
        raise NetspecError([error(
            "data-shape", f"'{graph.name}' outputs {list(output.shape)}, which is no forecast of "
            f"{len(cut.target_names)} column(s) over {len(cut.plan.offsets)} step(s)",
            hint="forecast with the horizon and target columns the run was trained with")])
    rows = forecast_rows(output, cut.plan)
    steps = [{"step": step, "row": cut.rows + step,
              "values": {name: round(float(value), 6) for name, value in zip(cut.target_names, row)}}
             for step, row in enumerate(np.asarray(rows), start=1)]
    return {"rows": cut.rows, "window": cut.plan.window, "horizon": len(rows), "targets": cut.target_names,
            "forecast": steps}


def render(result: dict[str, Any], source: str) -> str:
    """The forecast as a small table: one line per step after the series."""
    lines = [f"forecast after row {result['rows']} of {source} (last window: {result['window']} rows, "
             f"horizon {result['horizon']}):"]
    names = result["targets"]
    lines.append("  " + f"{'step':>5} {'row':>7}  " + "  ".join(f"{name:>12}" for name in names))
    for entry in result["forecast"]:
        values = "  ".join(f"{entry['values'][name]:>12.6g}" for name in names)
        lines.append("  " + f"{'+' + str(entry['step']):>5} {entry['row']:>7}  " + values)
    return "\n".join(lines)
