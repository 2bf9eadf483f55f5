"""Runs side by side: a table of each run's final and best figures, the settings
that differ between them, and their learning curves overlaid.

Reads only the run folders' ``run.json`` and ``history.json`` (no JAX, no
checkpoints), so comparing finished runs is instant.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netspec.diagnostics import NetspecError, error

SHOWN = ("loss", "accuracy", "val_loss", "val_accuracy")


@dataclass(frozen=True)
class RunSummary:
    """One run as the comparison sees it."""

    name: str
    folder: Path
    info: dict[str, Any]
    history: list[dict[str, Any]]

    @property
    def final(self) -> dict[str, Any]:
        return self.history[-1] if self.history else {}

    @property
    def best(self) -> dict[str, Any]:
        """``{"monitor", "mode", "epoch", "value"}`` of the run's best epoch, by its own meaning of best."""
        chosen = self.info.get("best_checkpoint") or {}
        monitor = chosen.get("monitor") or ("val_loss" if any(r.get("val_loss") is not None for r in self.history)
                                            else "loss")
        mode = chosen.get("mode") or ("max" if "accuracy" in monitor else "min")
        rows = [row for row in self.history if row.get(monitor) is not None]
        if not rows:
            return {"monitor": monitor, "mode": mode, "epoch": None, "value": None}
        pick = max if mode == "max" else min
        row = pick(rows, key=lambda r: r[monitor])
        return {"monitor": monitor, "mode": mode, "epoch": row["epoch"], "value": row[monitor]}


def read_run_summary(folder: str | Path) -> RunSummary:
    """A run folder's record, or a diagnostic saying why it cannot be compared."""
    folder = Path(folder)
    try:
        info = json.loads((folder / "run.json").read_text())
        history = json.loads((folder / "history.json").read_text()) if (folder / "history.json").is_file() else []
    except FileNotFoundError:
        raise NetspecError([error("not-a-run", f"{folder} is not a netspec run folder (no run.json)",
                                  hint="pass the folders `netspec train` printed as 'run folder: ...'")]) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise NetspecError([error("bad-run", f"cannot read the record of {folder}: {exc}")]) from None
    return RunSummary(folder.name, folder, info, history)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"optimizer": {"lr": 0.1}}`` -> ``{"optimizer.lr": 0.1}``.

    >>> _flatten({"a": {"b": 1}, "c": [1, 2]})
    {'a.b': 1, 'c': '[1, 2]'}
    """
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, inner in value.items():
            flat.update(_flatten(inner, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): json.dumps(value) if isinstance(value, list) else value}


def settings_of(run: RunSummary) -> dict[str, Any]:
    """The settings a comparison looks at: the spec, the data and every ``train:`` key."""
    data = (run.info.get("data_record") or {}).get("name") or run.info.get("data")
    return {"spec": run.info.get("spec"), "data": data, "loss": run.info.get("loss"),
            **{f"train.{k}": v for k, v in _flatten(run.info.get("train") or {}).items()}}


def differing_settings(runs: list[RunSummary]) -> dict[str, list[Any]]:
    """``{setting: [value per run]}`` for the settings that are not the same in every run."""
    every = [settings_of(run) for run in runs]
    keys = list(dict.fromkeys(key for settings in every for key in settings))
    return {key: [s.get(key) for s in every] for key in keys
            if len({json.dumps(s.get(key), sort_keys=True, default=str) for s in every}) > 1}


def comparison(runs: list[RunSummary]) -> dict[str, Any]:
    """Everything the table shows, as data (``--format json``)."""
    rows = []
    for run in runs:
        best = run.best
        test = run.info.get("test") or {}
        rows.append({"run": run.name, "epochs": len(run.history),
                     "final": {key: run.final.get(key) for key in SHOWN},
                     "best": best, "test": {key: test.get(key) for key in ("loss", "accuracy") if key in test}})
    return {"runs": rows, "differing_settings": differing_settings(runs)}


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{100 * value:.2f}%" if "accuracy" in key else f"{value:.4g}"
    return str(value)


def render(result: dict[str, Any]) -> str:
    """The comparison as text: one row per run, then the differing settings."""
    header = ["run", "epochs", *SHOWN, "best", "test loss", "test acc"]
    table = [header]
    for row in result["runs"]:
        best = row["best"]
        best_text = (f"{best['monitor']} {_cell(best['monitor'], best['value'])} @{best['epoch']}"
                     if best["epoch"] is not None else "-")
        table.append([row["run"], str(row["epochs"]), *(_cell(k, row["final"][k]) for k in SHOWN), best_text,
                      _cell("loss", row["test"].get("loss")), _cell("accuracy", row["test"].get("accuracy"))])
    widths = [max(len(line[i]) for line in table) + 2 for i in range(len(header))]
    lines = ["".join(f"{cell:<{w}}" for cell, w in zip(line, widths)).rstrip() for line in table]
    lines.insert(1, "final values are the last epoch's; best is each run's own monitored metric")
    differing = result["differing_settings"]
    if differing:
        lines.append("")
        lines.append("settings that differ:")
        names = [row["run"] for row in result["runs"]]
        width = max(len(key) for key in differing) + 2
        for key, values in differing.items():
            lines.append(f"  {key:<{width}}" + "   ".join(f"{name}: {value}" for name, value in zip(names, values)))
    else:
        lines.append("")
        lines.append("every recorded setting is the same")
    return "\n".join(lines)


def save_overlay_png(runs: list[RunSummary], path: str | Path) -> Path:
    """Validation (else training) loss and accuracy of every run per epoch, one colour per run."""
    from matplotlib.ticker import MaxNLocator

    from netspec.interpret.visualize import _pyplot, _save
    from netspec.train.rundir import wants_log_scale

    plt = _pyplot()
    has_accuracy = any(row.get("accuracy") is not None for run in runs for row in run.history)
    figure, axes = plt.subplots(1, 2 if has_accuracy else 1, figsize=(12 if has_accuracy else 6.5, 4.5),
                                squeeze=False)
    for axis, key in zip(axes[0], ("loss", "accuracy")):
        values: list[float | None] = []
        for index, run in enumerate(runs):
            colour = f"C{index % 10}"
            epochs = [row["epoch"] for row in run.history]
            for prefix, style in (("val_", "-"), ("", ":")):
                series = [row.get(prefix + key) for row in run.history]
                if any(v is not None for v in series):
                    values += series
                    axis.plot(epochs, [float("nan") if v is None else v for v in series], style, color=colour,
                              label=f"{run.name} ({'validation' if prefix else 'train'})")
            best = run.best
            if best["epoch"] is not None and best["monitor"].endswith(key):
                axis.plot([best["epoch"]], [best["value"]], "o", color=colour, markersize=7, markerfacecolor="none")
        if key == "loss" and wants_log_scale(values):
            axis.set_yscale("log")
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_ylabel(f"{key}{' (log scale)' if axis.get_yscale() == 'log' else ''}")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    figure.suptitle(f"{len(runs)} runs: solid validation, dotted train, circles the best epochs", fontsize=10)
    figure.tight_layout()
    return _save(figure, path)
