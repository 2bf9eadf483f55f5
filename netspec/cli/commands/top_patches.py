"""``netspec top-patches RUN --layer NAME --unit U``: the k dataset patches that
excite one unit of a trained layer most (Zeiler & Fergus), each cut to the unit's
receptive field, as a grid (PNG)."""

from __future__ import annotations

import argparse

from netspec.cli.commands.target import add_target_arguments, resolve_target
from netspec.cli.options import add_data_flags
from netspec.cli.output_files import add_force_flag, check_output, replaced_atomically

HELP = "the k dataset patches (receptive fields) that activate a unit most, as a grid (PNG)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("--layer", required=True, metavar="NAME", help="layer name, as `netspec summary` lists them")
    parser.add_argument("--unit", type=int, required=True, metavar="U", help="channel (filter) of the layer")
    parser.add_argument("-k", "--top", type=int, default=9, metavar="K", help="how many patches (default 9)")
    parser.add_argument("--data", default=None, help="data source to search (default: the run's)")
    parser.add_argument("--split", choices=("train", "val", "test"), default="val",
                        help="which split to search (default val)")
    parser.add_argument("-o", "--output", metavar="PNG", default=None,
                        help="where to write the PNG (default: top-LAYER-UNIT.png here)")
    add_force_flag(parser)
    add_data_flags(parser)


def run(args: argparse.Namespace) -> int:
    resolve_target(args)
    from pathlib import Path

    from netspec.diagnostics import NetspecError, error
    from netspec.interpret.visualize import check_layer
    from netspec.pipeline import load

    check_layer(load(args.spec), args.layer)  # before reading the checkpoint: a typo fails fast

    from netspec.cli.options import load_dataset
    from netspec.data.provenance import enforce_same_data
    from netspec.interpret.top_patches import save_top_patches_png, top_patches
    from netspec.interpret.trained import default_output, open_trained

    output = Path(args.output) if args.output else default_output(f"top-{args.layer}-{args.unit}")
    check_output(output, force=args.force, inputs=(args.spec,))  # before any work
    trained = open_trained(args.spec, args.checkpoint)
    session = trained.session
    source = args.data or session.run_info.get("data")
    dataset = load_dataset(source, trained.graph, val_split=session.train.val_split, seed=session.train.seed,
                           args=args, run_info=session.run_info)
    enforce_same_data(session.run_info, dataset, source, explicit=args.data is not None)
    split = getattr(dataset, args.split)
    if split is None or len(split) == 0:
        raise NetspecError([error("no-split", f"data '{dataset.name}' has no {args.split} split",
                                  hint="choose another with --split")])
    found = top_patches(trained.model, trained.graph, split.x, args.layer, args.unit, k=args.top,
                        normalize=trained.normalize)
    names = dataset.class_names
    labels = [names[int(split.y[i])] for i in found.indices] if names is not None else None
    size = "×".join(str(int(stop - start)) for start, stop in found.windows[0])
    title = (f"{trained.graph.name}: {args.layer} unit {args.unit}, top {len(found.indices)} of "
             f"{len(split):,} {args.split} examples (receptive field {size}; blue = padding)")
    with replaced_atomically(output) as temporary:
        save_top_patches_png(found, temporary, title=title, labels=labels)
    print(f"top {len(found.indices)} patches of '{args.layer}' unit {args.unit} "
          f"(activations {found.values[0]:.3g} .. {found.values[-1]:.3g}) written to {output}")
    return 0
