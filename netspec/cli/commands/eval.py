"""``netspec eval SPEC --checkpoint DIR --data SOURCE``: loss, accuracy and a
confusion matrix of a trained run on one split of the data."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from netspec.cli.options import add_data_flags, enable_compilation_cache, load_dataset
from netspec.diagnostics import NetspecError, error

if TYPE_CHECKING:  # numpy is imported when a command runs, not when the parser is built
    import numpy as np

HELP = "evaluate a trained run: loss, accuracy, confusion matrix (--format json)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="spec file (YAML) the run was trained from")
    parser.add_argument("--checkpoint", required=True, metavar="DIR",
                        help="run folder (uses its best checkpoint) or one of its checkpoints/<name> folders")
    parser.add_argument("--data", default=None, help="data source (default: the run's)")
    parser.add_argument("--split", choices=("test", "val", "train"), default=None,
                        help="which split (default: test when the data has one, else val)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
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
    import numpy as np

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
    check_data(graph, dataset, session, None)  # as train does: a wrong shape is a diagnostic, not an XLA error
    name = args.split or ("test" if dataset.test is not None and len(dataset.test) else "val")
    split = getattr(dataset, name)
    if split is None or len(split) == 0:
        raise NetspecError([error("no-split", f"data '{dataset.name}' has no {name} split",
                                  hint="choose another with --split")])
    metrics = session.evaluate(split.x, split.y)
    report: dict = {"spec": graph.name, "checkpoint": str(args.checkpoint), "data": dataset.name, "split": name,
                    "examples": len(split), **metrics}
    classes = dataset.class_names or session.class_names
    if session.loss_name != "mse" and classes is not None:
        predicted = predicted_classes(session.class_probabilities(split.x))
        matrix = confusion_matrix(split.y.astype(np.int64), predicted, max(len(classes), 2))
        report["class_names"] = list(classes)
        report["confusion_matrix"] = matrix.tolist()
    if args.format == "json":
        print(json.dumps(report, indent=2))
        return 0
    print(f"{graph.name} on {dataset.name} ({name} split, {len(split):,} examples)")
    for key, value in metrics.items():
        print(f"  {key:<16}{format_value(key, value)}")
    if "confusion_matrix" in report:
        print(_render_matrix(report["confusion_matrix"], report["class_names"]))
    return 0


def _render_matrix(matrix: list[list[int]], names: list[str]) -> str:
    """Rows are true classes, columns predicted ones."""
    labels = [str(name)[:10] for name in names]
    width = max(6, *(len(label) for label in labels), *(len(str(v)) for row in matrix for v in row)) + 1
    lines = ["confusion matrix (rows: true class, columns: predicted)",
             " " * width + "".join(f"{label:>{width}}" for label in labels)]
    for label, row in zip(labels, matrix):
        lines.append(f"{label:>{width}}" + "".join(f"{value:>{width}}" for value in row))
    return "\n".join(lines)
