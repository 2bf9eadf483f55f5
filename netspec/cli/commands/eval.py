"""``netspec eval SPEC --checkpoint DIR --data SOURCE``: loss, accuracy and a
confusion matrix of a trained run on one split of the data."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from netspec.cli.commands.target import add_target_arguments, resolve_target
from netspec.cli.options import add_data_flags, enable_compilation_cache, load_dataset
from netspec.diagnostics import NetspecError, error

if TYPE_CHECKING:  # numpy is imported when a command runs, not when the parser is built
    import numpy as np

HELP = ("evaluate a trained run: loss, accuracy, confusion matrix (also as a PNG), per-class precision/recall/F1; "
        "MAE/RMSE/MAPE for regression (--format json)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("--data", default=None, help="data source (default: the run's)")
    parser.add_argument("--split", choices=("test", "val", "train"), default=None,
                        help="which split (default: test when the data has one, else val)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--confusion-png", metavar="PNG", default=None,
                        help="where to draw the confusion matrix (default: confusion-SPLIT.png in the run folder; "
                             "an existing file is never replaced: -2, -3... are added); 'none' to skip")
    add_data_flags(parser)


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """``matrix[true, predicted]`` counts, shape ``(classes, classes)``.

    >>> import numpy as np
    >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), 2).tolist()
    [[1, 0], [1, 1]]
    """
    import numpy as np

    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (labels.reshape(-1), predicted.reshape(-1)), 1)
    return matrix


def predicted_classes(outputs: np.ndarray) -> np.ndarray:
    """Class ids from outputs ``(N, ..., C)``; one unit means binary (> 0.5 is class 1)."""
    import numpy as np

    if outputs.shape[-1] == 1:
        return (outputs[..., 0] > 0.5).astype(np.int64)
    return outputs.argmax(axis=-1)


def run(args: argparse.Namespace) -> int:
    resolve_target(args)
    import numpy as np

    from netspec.data.provenance import enforce_same_data
    from netspec.interpret.class_report import per_class, render_per_class, save_confusion_png
    from netspec.pipeline import load
    from netspec.train.progress import format_value
    from netspec.train.resume import check_data, restore

    enable_compilation_cache()
    graph = load(args.spec)
    session = restore(args.checkpoint, graph)
    run_info = session.run_info
    source = args.data or run_info.get("data")
    dataset = load_dataset(source, graph, val_split=session.train.val_split, seed=session.train.seed, args=args,
                           run_info=run_info)
    differs = enforce_same_data(run_info, dataset, source, explicit=args.data is not None)
    check_data(graph, dataset, session, None)  # as train does: a wrong shape is a diagnostic, not an XLA error
    name = args.split or ("test" if dataset.test is not None and len(dataset.test) else "val")
    split = getattr(dataset, name)
    if split is None or len(split) == 0:
        raise NetspecError([error("no-split", f"data '{dataset.name}' has no {name} split",
                                  hint="choose another with --split")])
    metrics = session.evaluate(split.x, split.y)
    report: dict = {"spec": graph.name, "checkpoint": str(args.checkpoint), "data": dataset.name, "split": name,
                    "examples": len(split), "same_data_as_training": not differs, **metrics}
    classes = dataset.class_names or session.class_names
    if session.loss_name != "mse" and classes is not None:
        predicted = predicted_classes(session.class_probabilities(split.x))
        matrix = confusion_matrix(split.y.astype(np.int64), predicted, max(len(classes), 2))
        report["class_names"] = list(classes)
        report["confusion_matrix"] = matrix.tolist()
        report["per_class"] = per_class(matrix, [str(c) for c in classes][:len(matrix)])
        if args.confusion_png != "none":
            picture = _new_path(Path(args.confusion_png) if args.confusion_png else
                                Path(session.directory or ".") / f"confusion-{name}.png")
            save_confusion_png(matrix, report["class_names"], picture,
                               title=f"{graph.name} on {dataset.name}, {name} split ({len(split):,} examples): "
                                     f"accuracy {100 * float(np.trace(matrix)) / max(int(matrix.sum()), 1):.2f}%")
            report["confusion_png"] = str(picture)
    elif session.loss_name == "mse":
        report.update(regression_metrics(session.predict(split.x), split.y))
    if args.format == "json":
        print(json.dumps(report, indent=2))
        return 0
    print(f"{graph.name} on {dataset.name} ({name} split, {len(split):,} examples)")
    for key, value in metrics.items():
        print(f"  {key:<16}{format_value(key, value)}")
    for key in ("mae", "rmse", "mape"):
        if key in report:
            print(f"  {key:<16}{report[key]:.4f}{'%' if key == 'mape' else ''}")
    if "confusion_matrix" in report:
        print(_render_matrix(report["confusion_matrix"], report["class_names"]))
        print(render_per_class(report["per_class"]))
    if "confusion_png" in report:
        print(f"confusion matrix drawn in {report['confusion_png']}")
    return 0


def regression_metrics(predicted: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """MAE, RMSE and MAPE (in %, over targets that are not 0) of a regression.

    >>> import numpy as np
    >>> regression_metrics(np.array([1.0, 2.0, 4.0]), np.array([1.0, 2.0, 2.0]))
    {'mae': 0.6667, 'rmse': 1.1547, 'mape': 33.3333}
    """
    import numpy as np

    error = np.asarray(predicted, np.float64).reshape(len(target), -1) - np.asarray(target, np.float64).reshape(
        len(target), -1)
    scale = np.abs(np.asarray(target, np.float64).reshape(len(target), -1))
    nonzero = scale > 0
    mape = float(np.mean(np.abs(error[nonzero]) / scale[nonzero]) * 100) if nonzero.any() else float("nan")
    return {"mae": round(float(np.mean(np.abs(error))), 4), "rmse": round(float(np.sqrt(np.mean(error ** 2))), 4),
            "mape": round(mape, 4)}


def _new_path(path: Path) -> Path:
    """``path``, or ``stem-2.png``, ``stem-3.png``... when taken: a picture never replaces a file."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def _render_matrix(matrix: list[list[int]], names: list[str]) -> str:
    """Rows are true classes, columns predicted ones."""
    labels = [str(name)[:10] for name in names]
    width = max(6, *(len(label) for label in labels), *(len(str(v)) for row in matrix for v in row)) + 1
    lines = ["confusion matrix (rows: true class, columns: predicted)",
             " " * width + "".join(f"{label:>{width}}" for label in labels)]
    for label, row in zip(labels, matrix):
        lines.append(f"{label:>{width}}" + "".join(f"{value:>{width}}" for value in row))
    return "\n".join(lines)
