"""``netspec features SPEC --checkpoint DIR --layer NAME --data SOURCE -o feats.npz``:
the activations of a trained layer for every example of a dataset (bottleneck
features), per split with their labels, in the ``npz:`` layout — so a small
spec with ``input:`` the layer's shape trains on them directly."""

from __future__ import annotations

import argparse

from netspec.cli.commands.target import add_target_arguments, resolve_target
from netspec.cli.options import add_data_flags

HELP = "write a trained layer's activations for a dataset (bottleneck features, npz)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("--layer", required=True, metavar="NAME", help="layer whose outputs are the features")
    parser.add_argument("--data", default=None, help="data source (default: the run's)")
    parser.add_argument("-o", "--output", required=True, metavar="NPZ", help="where to write the features (.npz)")
    parser.add_argument("--force", action="store_true", help="replace NPZ if it already exists")
    parser.add_argument("--batch-size", type=int, default=256, help="examples per forward pass (default 256)")
    add_data_flags(parser)


def run(args: argparse.Namespace) -> int:
    resolve_target(args)
    from pathlib import Path

    from netspec.diagnostics import NetspecError, error
    from netspec.interpret.visualize import check_layer
    from netspec.pipeline import analysis_of, load

    graph = load(args.spec)
    check_layer(graph, args.layer)
    output = Path(args.output)
    if output.exists() and not args.force:  # before any work: refusing late would waste the run
        raise NetspecError([error("output-exists", f"{output} already exists; netspec does not overwrite it",
                                  hint="pass --force to replace it, or choose another -o")])
    if args.batch_size < 1:
        raise NetspecError([error("bad-batch-size", f"--batch-size must be at least 1, but got {args.batch_size}")])

    from netspec.cli.options import load_dataset
    from netspec.data.provenance import enforce_same_data
    from netspec.interpret.features import extract_features, write_features
    from netspec.interpret.trained import open_trained

    trained = open_trained(args.spec, args.checkpoint)
    session = trained.session
    source = args.data or session.run_info.get("data")
    dataset = load_dataset(source, graph, val_split=session.train.val_split, seed=session.train.seed, args=args,
                           run_info=session.run_info)
    enforce_same_data(session.run_info, dataset, source, explicit=args.data is not None)
    splits = {}
    for name in ("train", "val", "test"):
        split = getattr(dataset, name)
        if split is not None and len(split):
            features = extract_features(trained.model, split.x, args.layer, normalize=trained.normalize,
                                        batch_size=args.batch_size)
            splits[name] = (features, split.y)
    write_features(output, splits, class_names=dataset.class_names, layer=args.layer, overwrite=args.force)
    shape = analysis_of(graph).layers[args.layer].output_shape
    counts = ", ".join(f"{len(y):,} {name}" for name, (_, y) in splits.items())
    print(f"features of '{args.layer}' {shape} for {dataset.name} ({counts}) written to {output}")
    return 0
