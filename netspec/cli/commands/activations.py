"""``netspec activations SPEC --checkpoint DIR IMAGE --layer NAME``: the
feature maps a trained layer computes for one image, as a grid (PNG)."""

from __future__ import annotations

import argparse

from netspec.cli.output_files import add_force_flag, check_output, replaced_atomically

HELP = "draw the feature maps of a layer for one image (PNG)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="spec file (YAML) the run was trained from")
    parser.add_argument("image", metavar="IMAGE", help="image file (png, jpg, ...)")
    parser.add_argument("--checkpoint", required=True, metavar="DIR",
                        help="run folder (uses its best checkpoint) or one of its checkpoints/<name> folders")
    parser.add_argument("--layer", required=True, metavar="NAME",
                        help="layer name, as `netspec summary` lists them")
    parser.add_argument("-o", "--output", metavar="PNG", default=None,
                        help="where to write the PNG (default: IMAGE-LAYER.png here)")
    add_force_flag(parser)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from netspec.interpret.visualize import check_layer
    from netspec.pipeline import load

    check_layer(load(args.spec), args.layer)  # before reading the checkpoint: a typo fails fast

    from netspec.data import read_image
    from netspec.interpret.trained import default_output, open_trained
    from netspec.interpret.visualize import save_activations_png

    output = Path(args.output) if args.output else default_output(f"{Path(args.image).stem}-{args.layer}")
    check_output(output, force=args.force, inputs=(args.spec, args.image))
    trained = open_trained(args.spec, args.checkpoint)
    image = read_image(args.image, trained.graph.input_shape)
    with replaced_atomically(output) as temporary:
        save_activations_png(trained.model, trained.graph, image, args.layer, temporary,
                             normalize=trained.normalize)
    print(f"activations of '{args.layer}' written to {output}")
    return 0
