"""``netspec expand SPEC [--scale NAME]``: the fully expanded spec as YAML."""

from __future__ import annotations

import argparse

HELP = "print the fully expanded spec (templates, repeats, blocks and the scale resolved) as YAML"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="spec file (YAML)")


def run(args: argparse.Namespace) -> int:
    from netspec.pipeline import load
    from netspec.report.expanded import expanded_yaml
    from netspec.resolve.scaling import active_scale

    graph = load(args.spec)
    scale = active_scale()
    header = (f"# netspec expand {args.spec}{f' --scale {scale}' if scale else ''}: "
              f"{len(graph.nodes) - 1} layers, every block and template expanded\n")
    print(expanded_yaml(graph, header), end="")
    return 0
