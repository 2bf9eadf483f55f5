"""``netspec activations SPEC --checkpoint DIR IMAGE --layer NAME``: the
feature maps a trained layer computes for one image, as a grid (PNG)."""

from __future__ import annotations

import argparse

from netspec.cli.commands.target import add_target_arguments, resolve_target
from netspec.cli.output_files import add_force_flag, check_output, replaced_atomically

HELP = "draw the feature maps of a layer for one image (PNG)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("image", metavar="IMAGE", help="image file (png, jpg, ...)")
    parser.add_argument("--layer", required=True, metavar="NAME",
                        help="layer name, as `netspec summary` lists them")
    parser.add_argument("--colour-scale", choices=("shared", "each"), default="shared",
                        help="one colour scale for all channels, with a colour bar (default), or each its own")
    parser.add_argument("--first", type=int, default=0, metavar="C", help="first channel to draw (paging)")
    parser.add_argument("--limit", type=int, default=64, metavar="N", help="channels per picture (default 64)")
    parser.add_argument("-o", "--output", metavar="PNG", default=None,
                        help="where to write the PNG (default: IMAGE-LAYER.png here)")
    add_force_flag(parser)


def run(args: argparse.Namespace) -> int:
    resolve_target(args)
    from pathlib import Path

    from netspec.interpret.visualize import check_layer
    from netspec.pipeline import load

    check_layer(load(args.spec), args.layer)  # before reading the checkpoint: a typo fails fast
    if args.limit < 1 or args.first < 0:
        from netspec.diagnostics import NetspecError, error

        raise NetspecError([error("bad-page", f"--limit must be at least 1 and --first at least 0, "
                                              f"but got --limit {args.limit} --first {args.first}")])

    from netspec.data import read_image
    from netspec.interpret.activation_picture import save_activations_figure
    from netspec.interpret.trained import default_output, open_trained
    from netspec.interpret.visualize import layer_output

    output = Path(args.output) if args.output else default_output(f"{Path(args.image).stem}-{args.layer}")
    check_output(output, force=args.force, inputs=(args.spec, args.image))
    trained = open_trained(args.spec, args.checkpoint)
    image = read_image(args.image, trained.graph.input_shape)
    value = layer_output(trained.model, trained.graph, image, args.layer, normalize=trained.normalize)
    with replaced_atomically(output) as temporary:
        save_activations_figure(value, image, temporary, layer=args.layer, scale=args.colour_scale,
                                first=args.first, limit=args.limit)
    print(f"activations of '{args.layer}' written to {output}")
    return 0
