"""``netspec filters SPEC --checkpoint DIR [--layer NAME]``: a trained conv
layer's filters (default: the first conv layer) as an image grid (PNG)."""

from __future__ import annotations

import argparse

from netspec.cli.output_files import add_force_flag, check_output, replaced_atomically

HELP = "draw a trained conv layer's filters as an image grid (PNG)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="spec file (YAML) the run was trained from")
    parser.add_argument("--checkpoint", required=True, metavar="DIR",
                        help="run folder (uses its best checkpoint) or one of its checkpoints/<name> folders")
    parser.add_argument("--layer", metavar="NAME", default=None, help="conv layer (default: the first one)")
    parser.add_argument("-o", "--output", metavar="PNG", default=None,
                        help="where to write the PNG (default: filters-LAYER.png here)")
    add_force_flag(parser)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from netspec.interpret.visualize import check_layer, first_conv
    from netspec.pipeline import load

    graph = load(args.spec)
    layer = args.layer or first_conv(graph)
    check_layer(graph, layer, ("conv",))  # before reading the checkpoint: a typo fails fast

    from netspec.interpret.trained import default_output, open_trained
    from netspec.interpret.visualize import save_filters_png

    output = Path(args.output) if args.output else default_output(f"filters-{layer}")
    check_output(output, force=args.force, inputs=(args.spec,))
    trained = open_trained(args.spec, args.checkpoint)
    with replaced_atomically(output) as temporary:
        save_filters_png(trained.model, trained.graph, temporary, layer)
    print(f"filters of '{layer}' written to {output}")
    return 0
