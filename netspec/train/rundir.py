"""The run folder: everything a training run leaves behind.

::

    runs/lenet5-20250101-120000/
      spec.yaml            the spec as given (the source text, unchanged)
      spec.resolved.yaml   the same network with every train: setting the run used (overrides applied)
      run.json             resolved training settings, data source, the data's paths and fingerprint
                           (data_record), what "best" means (best_checkpoint), devices, netspec version
      history.json         [{"epoch": 1, "loss": ..., "accuracy": ..., "val_loss": ..., "val_accuracy": ...,
                             "time": seconds, "lr": ..., ...}, ...]
      history.csv          the same, one row per epoch
      curves.png           loss and accuracy, train vs. validation
      standardize.json     mean/std the inputs were standardised with (when used)
      classes.json         class names, in output order (when known)
      checkpoints/last/    the latest state (written atomically)
      checkpoints/best/    the state with the best monitored metric

An existing non-empty folder is never overwritten: starting a new run there
is refused (use ``--resume`` to continue it); the default name gets a
``-2``, ``-3``... suffix if the timestamped one is taken.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from pathlib import Path
from typing import Any

from netspec.diagnostics import NetspecError, error
from netspec.spec.train import TrainSpec

HISTORY_JSON = "history.json"
HISTORY_CSV = "history.csv"
CURVES = "curves.png"
SPEC = "spec.yaml"
RESOLVED_SPEC = "spec.resolved.yaml"
RUN = "run.json"
STANDARDIZE = "standardize.json"
CLASSES = "classes.json"
CHECKPOINTS = "checkpoints"
HISTORY_FIRST = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "time")


def default_directory(spec_name: str, root: str | Path = "runs") -> Path:
    """``runs/<spec>-<YYYYmmdd-HHMMSS>``, suffixed ``-2``, ``-3``... when taken."""
    base = Path(root) / f"{spec_name}-{time.strftime('%Y%m%d-%H%M%S')}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def create(directory: str | Path) -> Path:
    """Make a fresh run folder; refuse one that already holds files."""
    path = Path(directory)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise NetspecError([error(
            "run-folder-exists",
            f"{path} already exists and is not empty; netspec never overwrites a run",
            hint=f"continue it with --resume {path}, or pick a new folder with --out")])
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # read-only parent, /proc, a dangling symlink, a file in the way
        raise NetspecError([error("run-folder-unwritable", f"cannot create the run folder {path}: "
                                  f"{exc.strerror or exc}", hint="pick a writable place with --out")]) from None
    return path


def json_safe(value: Any) -> Any:
    """``value`` with NaN and ±Inf as null: JSON has no such numbers, and ``NaN`` in a
    file makes it unreadable to every strict parser (history.json after a diverged run).

    >>> json_safe({"loss": float("nan"), "rows": [1.5, float("inf")]})
    {'loss': None, 'rows': [1.5, None]}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def write_json(path: Path, value: Any) -> None:
    """Write JSON atomically (temp file + rename), so readers never see half a file."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text(json.dumps(json_safe(value), indent=2, allow_nan=False) + "\n")
    temporary.replace(path)


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


def write_history(directory: Path, history: list[dict[str, Any]], *, plot: bool = True,
                  marks: dict[str, Any] | None = None) -> None:
    """``history.json``, ``history.csv`` and (with ``plot``) ``curves.png`` from the per-epoch rows;
    ``marks`` are what :func:`plot_curves` draws besides the curves (title, best epoch, test point)."""
    write_json(directory / HISTORY_JSON, history)
    columns = list(HISTORY_FIRST)
    for row in history:
        columns.extend(key for key in row if key not in columns)
    temporary = directory / f".{HISTORY_CSV}.tmp-{os.getpid()}"
    with open(temporary, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        for row in history:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    temporary.replace(directory / HISTORY_CSV)
    if plot and history:
        plot_curves(history, directory / CURVES, **(marks or {}))


def wants_log_scale(values: list[float | None]) -> bool:
    """A log axis when the positive values span more than a decade (MSE curves, long runs).

    >>> wants_log_scale([2.3, 0.5, 0.1]), wants_log_scale([0.9, 0.5])
    (True, False)
    """
    found = [v for v in values if v is not None and v > 0]
    return len(found) > 1 and max(found) / min(found) > 10


def plot_curves(history: list[dict[str, Any]], path: Path, *, title: str | None = None,
                best: dict[str, Any] | None = None, test: dict[str, float] | None = None) -> None:
    """Loss (left) and accuracy (right, when measured), train vs. validation, per epoch.

    A widening gap between the train and validation curves is over-fitting. ``title``
    heads the figure; ``best`` (``{"monitor", "epoch", "value"}``) draws a dashed line at
    the best checkpoint's epoch; ``test`` (that checkpoint's test figures) a star at that
    epoch. The loss axis is logarithmic when the loss spans more than a decade.
    """
    import matplotlib

    matplotlib.use("Agg")  # no display needed; safe in threads and on servers
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = [row["epoch"] for row in history]
    panels = [("loss", "loss")]
    if any(row.get("accuracy") is not None for row in history):
        panels.append(("accuracy", "accuracy"))
    figure, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.3), squeeze=False)
    best_epoch = (best or {}).get("epoch")
    for axis, (key, label) in zip(axes[0], panels):
        drawn: list[float | None] = []
        for prefix, style in (("", "-o"), ("val_", "-s")):
            values = [row.get(prefix + key) for row in history]
            if any(v is not None for v in values):
                drawn += values
                axis.plot(epochs, [float("nan") if v is None else v for v in values], style,
                          markersize=3, label="validation" if prefix else "train")
        if best is not None and best_epoch is not None:
            axis.axvline(best_epoch, color="#2ca02c", linestyle="--", linewidth=1.5,
                         label=f"best {best['monitor']} (epoch {best_epoch})")
        if test is not None and test.get(key) is not None:
            axis.plot([best_epoch or epochs[-1]], [test[key]], "*", color="#d62728", markersize=12,
                      label=f"test {test[key]:.4g}" if key == "loss" else f"test {100 * test[key]:.2f}%")
        if key == "loss" and wants_log_scale(drawn):
            axis.set_yscale("log")
            label += " (log scale)"
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    temporary = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    figure.savefig(temporary, dpi=100)
    plt.close(figure)
    temporary.replace(path)


def read_run(directory: Path) -> dict[str, Any]:
    """``run.json`` of a run folder, or a diagnostic saying the folder is not one."""
    path = Path(directory) / RUN
    if not path.is_file():
        raise NetspecError([error(
            "not-a-run", f"{directory} is not a netspec run folder (no {RUN})",
            hint="pass the folder `netspec train` printed as 'run folder: ...'")])
    run = read_run_file(path, "run.json")
    if not isinstance(run, dict) or not isinstance(run.get("train"), dict):
        raise NetspecError([error("bad-run-file", f"{path} is not a run.json written by netspec (no train settings)",
                                  hint="restore the file, or start a new run with --out")])
    return run


def read_run_file(path: Path, what: str) -> Any:
    """A JSON file of a run folder, or a diagnostic when it is unreadable or not JSON."""
    try:
        return read_json(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise NetspecError([error("bad-run-file", f"cannot read {path}: {exc}",
                                  hint=f"the run folder's {what} was damaged; restore it, or start a new run")]) \
            from None


def recorded_settings(run: dict[str, Any], directory: Path, **extra: Any) -> TrainSpec:
    """The run's recorded ``train`` settings, validated (a damaged run.json is a diagnostic)."""
    from pydantic import ValidationError

    try:
        return TrainSpec.model_validate({**run["train"], **extra})
    except ValidationError as exc:
        raise NetspecError([error("bad-run-file", f"{Path(directory) / RUN} holds invalid train settings: "
                                  f"{exc.errors()[0]['msg']}", hint="restore the file, or start a new run")]) from None


def run_folder_of(path: str | Path) -> Path:
    """The run folder for ``path``: the folder itself, or the run holding a checkpoint folder."""
    path = Path(path)
    for candidate in (path, path.parent.parent):
        if (candidate / RUN).is_file():
            return candidate
    read_run(path)  # raises the diagnostic
    return path
