"""``netspec predict RUN IMAGE...`` (or ``SPEC --checkpoint RUN``): the top-k
classes of each image, with probabilities and class names, on stdout; with
``-o FILE`` also as JSON (never over an existing file without ``--force``,
and never into the run folder unless that is the path given).

Images are read with PIL, converted to the spec's channels, resized to its
input and standardised with the run's saved statistics — exactly as the
training data was.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from netspec.cli.commands.target import add_target_arguments, resolve_target
from netspec.cli.output_files import add_force_flag, check_output, replaced_atomically
from netspec.diagnostics import NetspecError, error

if TYPE_CHECKING:  # numpy is imported when a command runs, not when the parser is built
    import numpy as np

HELP = "classify images with a trained run: top-k classes with probabilities"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("images", metavar="IMAGE", nargs="+", help="image files (png, jpg, ...)")
    parser.add_argument("--top-k", type=int, default=5, help="how many classes to list per image (default 5)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("-o", "--output", metavar="JSON", default=None,
                        help="also write the predictions as JSON to this file (an existing one only with --force)")
    add_force_flag(parser)


def top_k(probabilities: np.ndarray, names: list[str], k: int) -> list[dict]:
    """The ``k`` most probable classes of one example, most probable first.

    A single output (a sigmoid unit) is the probability of class 1.

    >>> import numpy as np
    >>> top_k(np.array([0.1, 0.7, 0.2]), ["a", "b", "c"], 2)
    [{'class': 'b', 'index': 1, 'probability': 0.7}, {'class': 'c', 'index': 2, 'probability': 0.2}]
    """
    import numpy as np

    probabilities = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    if probabilities.size == 1:
        probabilities = np.array([1.0 - probabilities[0], probabilities[0]])
    order = np.argsort(-probabilities, kind="stable")[:k]
    return [{"class": names[i] if i < len(names) else f"class {i}", "index": int(i),
             "probability": round(float(probabilities[i]), 6)} for i in order]


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    resolve_target(args)
    import numpy as np

    from netspec.cli.options import enable_compilation_cache
    from netspec.data import read_image
    from netspec.pipeline import load
    from netspec.train import rundir
    from netspec.train.resume import restore

    enable_compilation_cache()
    if args.top_k < 1:
        raise NetspecError([error("bad-top-k", f"--top-k must be at least 1, but got {args.top_k}")])
    output = None if args.output is None else Path(args.output)
    if output is not None:
        check_output(output, force=args.force, inputs=(args.spec, *args.images))
    graph = load(args.spec)
    session = restore(args.checkpoint, graph)
    if session.loss_name == "mse":
        raise NetspecError([error("not-a-classifier", f"'{graph.name}' was trained for regression (mse); "
                                  "predict lists classes", hint="use netspec eval for regression runs")])
    images = np.stack([read_image(path, graph.input_shape) for path in args.images])
    probabilities = session.class_probabilities(images)
    count = probabilities.shape[-1] if probabilities.shape[-1] > 1 else 2
    names = session.class_names or [f"class {i}" for i in range(count)]
    results = [{"image": path, "top": top_k(p, names, args.top_k)} for path, p in zip(args.images, probabilities)]
    if args.format == "json":
        print(json.dumps(results, indent=2))
    else:
        for result in results:
            print(result["image"])
            for rank, entry in enumerate(result["top"], 1):
                print(f"  {rank}. {entry['class']:<20} {100 * entry['probability']:6.2f}%")
    if output is not None:  # after printing: a failed write must not cost the user the predictions
        with replaced_atomically(output) as temporary:
            rundir.write_json(temporary, {"spec": graph.name, "checkpoint": str(args.checkpoint),
                                          "predictions": results})
        if args.format != "json":
            print(f"saved to {output}")
    return 0
