"""``netspec filters SPEC --checkpoint DIR [--layer NAME]``: a trained conv
layer's filters (default: the first conv layer) as an image grid (PNG)."""

from __future__ import annotations

import argparse

from netspec.cli.commands.target import add_target_arguments, resolve_target
from netspec.cli.output_files import add_force_flag, check_output, replaced_atomically

HELP = "draw a trained conv layer's filters as an image grid (PNG)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("--layer", metavar="NAME", default=None, help="conv layer (default: the first one)")
    parser.add_argument("--first", type=int, default=0, metavar="F", help="first filter to draw (paging)")
    parser.add_argument("--limit", type=int, default=64, metavar="N", help="filters per picture (default 64)")
    parser.add_argument("-o", "--output", metavar="PNG", default=None,
                        help="where to write the PNG (default: filters-LAYER.png here)")
    add_force_flag(parser)


def run(args: argparse.Namespace) -> int:
    resolve_target(args)
    from pathlib import Path

    from netspec.interpret.visualize import check_layer, first_conv
    from netspec.pipeline import load

    graph = load(args.spec)
    layer = args.layer or first_conv(graph)
    check_layer(graph, layer, ("conv",))  # before reading the checkpoint: a typo fails fast

    from netspec.interpret.trained import default_output, open_trained
    from netspec.interpret.visualize import save_filters_png

    output = Path(args.output) if args.output else default_output(f"filters-{layer}")
    if args.limit < 1 or args.first < 0:
        from netspec.diagnostics import NetspecError, error

        raise NetspecError([error("bad-page", f"--limit must be at least 1 and --first at least 0, "
                                              f"but got --limit {args.limit} --first {args.first}")])
    check_output(output, force=args.force, inputs=(args.spec,))
    trained = open_trained(args.spec, args.checkpoint)
    with replaced_atomically(output) as temporary:
        save_filters_png(trained.model, trained.graph, temporary, layer, first=args.first, limit=args.limit)
    print(f"filters of '{layer}' written to {output}")
    return 0
