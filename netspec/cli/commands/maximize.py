"""``netspec maximize RUN --layer NAME``: activation maximisation — for each filter
of a trained layer, the input pattern it responds to most, found by gradient
ascent with jitter, blur and L2 regularisation, as a numbered grid (PNG)."""

from __future__ import annotations

import argparse

from netspec.cli.commands.target import add_target_arguments, resolve_target
from netspec.cli.output_files import add_force_flag, check_output, replaced_atomically

HELP = "activation maximisation: the input pattern each filter of a layer responds to (PNG grid)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("--layer", required=True, metavar="NAME", help="layer name, as `netspec summary` lists them")
    parser.add_argument("--units", default=None, metavar="LIST",
                        help="filters to draw: '0,3,5' or '0-15' (default: the first 16)")
    parser.add_argument("--steps", type=int, default=160, help="gradient-ascent steps (default 160)")
    parser.add_argument("--rate", type=float, default=0.02, help="step size in pixels per step (default 0.02)")
    parser.add_argument("--jitter", type=int, default=1, help="random shift of up to this many pixels per step")
    parser.add_argument("--blur-every", type=int, default=4, help="blur every N steps (0: never; default 4)")
    parser.add_argument("--l2", type=float, default=0.01, help="pull toward grey per step (default 0.01)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", metavar="PNG", default=None,
                        help="where to write the PNG (default: maximize-LAYER.png here)")
    add_force_flag(parser)


def parse_units(text: str | None, channels: int) -> list[int]:
    """``'0,3,5'`` / ``'0-15'`` / None (the first 16) -> unit ids.

    >>> parse_units("0-2,7", 8), parse_units(None, 4)
    ([0, 1, 2, 7], [0, 1, 2, 3])
    """
    from netspec.diagnostics import NetspecError, error

    if text is None:
        return list(range(min(channels, 16)))
    units: list[int] = []
    for part in text.split(","):
        low, dash, high = part.strip().partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise NetspecError([error("bad-units", f"--units must be ids or ranges such as 0,3,5 or 0-15, "
                                                   f"but got '{text}'")])
        units.extend(range(int(low), int(high) + 1) if dash else [int(low)])
    return units


def run(args: argparse.Namespace) -> int:
    resolve_target(args)
    from pathlib import Path

    from netspec.interpret.visualize import check_layer
    from netspec.pipeline import analysis_of, load

    graph = load(args.spec)
    check_layer(graph, args.layer)  # before reading the checkpoint: a typo fails fast
    units = parse_units(args.units, analysis_of(graph).layers[args.layer].output_shape[-1])

    from netspec.interpret.maximize import maximize, save_maximize_png
    from netspec.interpret.trained import default_output, open_trained

    output = Path(args.output) if args.output else default_output(f"maximize-{args.layer}")
    check_output(output, force=args.force, inputs=(args.spec,))  # before any work
    trained = open_trained(args.spec, args.checkpoint)
    images = maximize(trained.model, trained.graph, args.layer, units, steps=args.steps, rate=args.rate,
                      jitter=args.jitter, blur_every=args.blur_every, l2=args.l2, seed=args.seed,
                      normalize=trained.normalize)
    title = (f"{trained.graph.name}: inputs maximising '{args.layer}' units ({args.steps} steps, "
             f"jitter {args.jitter}, blur every {args.blur_every}, L2 {args.l2:g}); each scaled to its range")
    with replaced_atomically(output) as temporary:
        save_maximize_png(images, units, temporary, title=title)
    print(f"activation maximisation of {len(units)} units of '{args.layer}' written to {output}")
    return 0
