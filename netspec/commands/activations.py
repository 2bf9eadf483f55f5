"""``netspec activations SPEC --checkpoint DIR IMAGE --layer NAME``: the
feature maps a trained layer computes for one image, as a grid (PNG)."""

from __future__ import annotations

import argparse

from netspec.commands.target import add_target_arguments, resolve_target

HELP = "draw the feature maps of a layer for one image (PNG)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("image", metavar="IMAGE", help="image file (png, jpg, ...)")
    parser.add_argument("--layer", required=True, metavar="NAME",
                        help="layer name, as `netspec summary` lists them")
    parser.add_argument("-o", "--output", metavar="PNG", default=None,
                        help="where to write the PNG (default: IMAGE-LAYER.png here)")


def run(args: argparse.Namespace) -> int:
    resolve_target(args)
    from pathlib import Path

    from netspec.pipeline import load
    from netspec.visualize import check_layer

    check_layer(load(args.spec), args.layer)  # before reading the checkpoint: a typo fails fast

    from netspec.data import read_image
    from netspec.trained import default_output, open_trained
    from netspec.visualize import save_activations_png

    trained = open_trained(args.spec, args.checkpoint)
    image = read_image(args.image, trained.graph.input_shape)
    output = Path(args.output) if args.output else default_output(f"{Path(args.image).stem}-{args.layer}")
    save_activations_png(trained.model, trained.graph, image, args.layer, output, normalize=trained.normalize)
    print(f"activations of '{args.layer}' written to {output}")
    return 0
