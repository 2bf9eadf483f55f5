"""``netspec weights inspect FILE`` and ``netspec weights import SPEC FILE --out RUN``:
look inside a pretrained weights file (Keras, PyTorch, safetensors, a netspec
run), and turn one into a run folder for a spec, with a per-layer report."""

from __future__ import annotations

import argparse
import json

HELP = "pretrained weights: inspect a Keras/PyTorch/safetensors file, import it into a spec as a run"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="weights_command", metavar="ACTION", required=True)
    inspect = sub.add_parser("inspect", help="list a weights file's layers, arrays, shapes and dtypes")
    inspect.add_argument("file", metavar="FILE", help="weights file (.h5, .weights.h5, .keras, .pth, "
                                                      ".safetensors) or netspec run folder")
    inspect.add_argument("--format", choices=("table", "json"), default="table")
    inspect.set_defaults(_action=run_inspect)
    load = sub.add_parser("import", help="load FILE into SPEC's network and write a run folder")
    load.add_argument("spec", metavar="SPEC", help="spec file (YAML)")
    load.add_argument("file", metavar="FILE", nargs="?", default=None,
                      help="weights file, netspec run folder, or imagenet (the zoo spec's published file, "
                           "from the caches); default: the weights its base: names")
    load.add_argument("--out", required=True, metavar="RUN", help="run folder to write (must not exist)")
    add_match_flags(load)
    load.add_argument("--format", choices=("table", "json"), default="table", help="how to print the report")
    load.set_defaults(_action=run_import)


def add_match_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--map", action="append", default=[], metavar="FILE_LAYER=SPEC_LAYER",
                        help="pair a file layer with a spec layer of another name (repeatable)")
    parser.add_argument("--partial", action="store_true",
                        help="accept a partial load: missing/unexpected/mismatched layers are listed, not errors")


def parse_map(items: list[str]) -> dict[str, str]:
    """``["a=b", ...]`` -> ``{"a": "b"}`` (a diagnostic for an item without ``=``).

    >>> parse_map(["features.0=conv1"])
    {'features.0': 'conv1'}
    """
    from netspec.diagnostics import NetspecError, error

    mapping = {}
    for item in items:
        source, sep, target = item.partition("=")
        if not sep or not source or not target:
            raise NetspecError([error("bad-map", f"--map takes FILE_LAYER=SPEC_LAYER, but got '{item}'")])
        mapping[source] = target
    return mapping


def run(args: argparse.Namespace) -> int:
    return args._action(args)


def run_inspect(args: argparse.Namespace) -> int:
    import numpy as np

    from netspec.train.pretrained import read_source

    weights = read_source(args.file)
    if args.format == "json":
        print(json.dumps({"file": weights.path, "format": weights.format, "layout": weights.layout,
                          "ordered": weights.ordered, "notes": weights.notes, "parameters": weights.size,
                          "layers": [{"name": layer.name, "arrays": {k: {"shape": list(v.shape), "dtype": str(v.dtype)}
                                                                    for k, v in layer.arrays.items()}}
                                     for layer in weights.layers]}, indent=1))
        return 0
    print(f"{weights.path}: {weights.format} ({weights.layout} layout), {len(weights.layers)} layers with "
          f"weights, {weights.size:,} values" + ("" if weights.ordered else "; layer order not recorded"))
    for note in weights.notes:
        print(f"note: {note}")
    width = max([len(layer.name) for layer in weights.layers] + [5])
    for layer in weights.layers:
        arrays = ", ".join(f"{key} {tuple(value.shape)} {value.dtype}" for key, value in layer.arrays.items())
        print(f"  {layer.name:<{width}}  {int(sum(np.prod(v.shape) for v in layer.arrays.values())):>12,}  {arrays}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from netspec.diagnostics import NetspecError, error
    from netspec.pipeline import load
    from netspec.train.imported_run import write_imported_run

    graph = load(args.spec)
    mapping = parse_map(args.map)
    base = graph.meta.get("base") or {}
    if args.file is None and not base.get("weights"):
        raise NetspecError([error("no-weights-file", f"{args.spec} names no weights (no base: {{weights: ...}})",
                                  hint="pass the weights FILE")])
    weights = args.file
    from netspec.weights.published import published_weights

    if weights == "imagenet" and not Path(weights).exists():  # the published file, from the caches
        weights = str(published_weights(graph.name, top=True))
    if weights is None and base["weights"] == "imagenet":  # looked up before the (slow) model build
        base = {**base, "weights": str(published_weights(base["network"], top=base["top"]))}
    directory, report = write_imported_run(graph, weights, args.out, mapping=mapping, partial=args.partial,
                                           base=base if args.file is None else None)
    if args.format == "json":
        print(json.dumps({**report.to_dict(), "run": str(directory)}, indent=1))
    else:
        print(report)
        print(f"run folder: {directory}")
    return 0
