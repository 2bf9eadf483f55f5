"""``netspec predict RUN IMAGE...`` (or ``SPEC --checkpoint RUN``): the top-k
classes of each image, with probabilities and class names, on stdout; with
``-o FILE`` also as JSON (never over an existing file without ``--force``,
and never into the run folder unless that is the path given).

Images are read with PIL, converted to the spec's channels, resized to its
input and standardised with the run's saved statistics — exactly as the
training data was.

``netspec predict RUN --data csv:FILE`` (or ``RUN FILE.csv``) forecasts a
time series instead: the horizon steps after the file's last window, in the
file's units (:mod:`netspec.interpret.forecast`), cut with the run's window,
horizon and columns unless the flags say otherwise.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from netspec.cli.commands.target import add_target_arguments, resolve_target
from netspec.cli.options import add_data_flags
from netspec.cli.output_files import add_force_flag, check_output, replaced_atomically
from netspec.diagnostics import NetspecError, error

if TYPE_CHECKING:  # numpy is imported when a command runs, not when the parser is built
    import numpy as np

HELP = ("classify images with a trained run (top-k classes with probabilities), "
        "or forecast the steps after a csv series (--data csv:FILE)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("images", metavar="IMAGE", nargs="*",
                        help="image files (png, jpg, ...), or one .csv series to forecast")
    parser.add_argument("--data", default=None, metavar="csv:FILE",
                        help="forecast the steps after this csv series (a regression run's)")
    parser.add_argument("--top-k", type=int, default=5, help="how many classes to list per image (default 5)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("-o", "--output", metavar="JSON", default=None,
                        help="also write the predictions as JSON to this file (an existing one only with --force)")
    add_force_flag(parser)
    add_data_flags(parser)


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
    series = _series(args)
    if series is None and not args.images:
        raise NetspecError([error("no-input", "predict needs image files, or a csv series (--data csv:FILE)",
                                  hint=f"e.g. netspec predict {args.checkpoint} digit.png")])
    output = None if args.output is None else Path(args.output)
    if output is not None:
        check_output(output, force=args.force, inputs=(args.spec, *args.images, *([series] if series else [])))
    graph = load(args.spec)
    session = restore(args.checkpoint, graph)
    if series is not None:
        return _forecast(args, graph, session, series, output)
    if session.loss_name == "mse":
        raise NetspecError([error("not-a-classifier", f"'{graph.name}' was trained for regression (mse); "
                                  "predict lists classes of images",
                                  hint="forecast a series with --data csv:FILE, or use netspec eval")])
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


def _series(args: argparse.Namespace) -> str | None:
    """The csv file to forecast (``--data csv:FILE``, or a lone ``FILE.csv`` argument), else None."""
    if args.data is not None:
        kind, _, path = args.data.partition(":")
        if kind != "csv" or not path:
            raise NetspecError([error("bad-data", f"predict --data takes a csv series (csv:FILE), not '{args.data}'",
                                      hint="images are given as arguments: netspec predict RUN IMAGE...")])
        if args.images:
            raise NetspecError([error("bad-data", "give either images or --data csv:FILE, not both")])
        return path
    if len(args.images) == 1 and args.images[0].lower().endswith(".csv"):
        return args.images[0]
    return None


def _forecast(args: argparse.Namespace, graph, session, series: str, output) -> int:
    from netspec.cli.options import data_options
    from netspec.interpret.forecast import forecast, render
    from netspec.train import rundir

    if session.loss_name != "mse":
        raise NetspecError([error("not-a-forecaster", f"'{graph.name}' is a classifier ({session.loss_name}); "
                                  "a csv forecast needs a run trained on a series (mse)",
                                  hint="give images to classify instead")])
    result = forecast(session, graph, series, data_options(args, session.run_info))
    result = {"spec": graph.name, "checkpoint": str(args.checkpoint), "data": f"csv:{series}", **result}
    print(json.dumps(result, indent=2) if args.format == "json" else render(result, series))
    if output is not None:  # after printing: a failed write must not cost the user the forecast
        with replaced_atomically(output) as temporary:
            rundir.write_json(temporary, result)
        if args.format != "json":
            print(f"saved to {output}")
    return 0
