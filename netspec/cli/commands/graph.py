"""``netspec graph SPEC -o net.svg|net.dot``: the network as a diagram, each
edge labelled with its tensor shape, blocks drawn as clusters (the layers of
a ``base:`` network as one more, ``base``); ``--collapse BLOCK`` draws one as a box.

SVG comes from Graphviz' ``dot`` when it is installed, else from netspec's
own layout; DOT is written as text (or printed when there is no ``-o``).
Static: never imports JAX.
"""

from __future__ import annotations

import argparse
import sys

from netspec.diagnostics import NetspecError, error

HELP = "draw the network (SVG or Graphviz DOT), edges labelled with tensor shapes"
FORMATS = (".svg", ".dot", ".gv")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="spec file (YAML)")
    parser.add_argument("-o", "--output", metavar="FILE", default=None,
                        help="net.svg or net.dot (default: print DOT)")
    parser.add_argument("--renderer", choices=("auto", "graphviz", "builtin"), default="auto",
                        help="SVG: Graphviz when installed (auto), or netspec's built-in layout")
    parser.add_argument("--force", action="store_true", help="replace FILE if it already exists")
    parser.add_argument("--collapse", action="append", default=[], metavar="BLOCK",
                        help="draw a block as one box: base (a spec's base: network) or a block's path "
                             "or pattern, e.g. conv2 or 'layer*' (repeatable)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from netspec.cli.output_files import replaced_atomically
    from netspec.pipeline import analysis_of, load
    from netspec.report.diagram import to_dot
    from netspec.report.render import to_svg

    target = Path(args.output) if args.output else None
    if target is not None and target.suffix.lower() not in FORMATS:
        raise NetspecError([error("bad-output", f"cannot tell the format of '{target}' from its extension",
                                  hint="use -o NAME.svg (a picture) or -o NAME.dot (Graphviz source)")])
    if target is not None and target.exists() and not args.force:
        raise NetspecError([error("output-exists", f"{target} already exists; netspec does not overwrite it",
                                  hint="pass --force to replace it")])
    graph = load(args.spec)
    analysis = analysis_of(graph)
    if args.collapse:
        from netspec.report.collapse import collapse

        graph, analysis = collapse(graph, analysis, args.collapse)
    if target is None:
        sys.stdout.write(to_dot(graph, analysis))
        return 0
    text = to_svg(graph, analysis, renderer=args.renderer) if target.suffix.lower() == ".svg" \
        else to_dot(graph, analysis)
    target.parent.mkdir(parents=True, exist_ok=True)
    with replaced_atomically(target) as temporary:  # a full disk leaves an older file as it was
        temporary.write_text(text, encoding="utf-8")
    print(f"wrote {target} ({len(graph.nodes)} layers)", file=sys.stderr)
    return 0
