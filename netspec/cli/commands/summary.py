"""``netspec summary SPEC``: the static per-layer report."""

from __future__ import annotations

import argparse
import sys

from netspec.cli.colour import use_color
from netspec.diagnostics import NetspecError, render

HELP = "per-layer output shapes, parameters, MACs and receptive fields, with totals"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="spec file (YAML)")
    parser.add_argument("--format", choices=("table", "markdown", "json"), default="table")


def run(args: argparse.Namespace) -> int:
    from netspec.pipeline import check_file
    from netspec.report.summary import summarize

    result = check_file(args.spec)
    if not result.ok or result.analysis is None:
        raise NetspecError(result.diagnostics)
    warnings = [d for d in result.diagnostics if not d.is_error]
    if warnings and args.format != "json":  # JSON carries them inside
        print(render(warnings, color=use_color(sys.stderr)), file=sys.stderr)
    report = summarize(result.analysis)
    text = {"table": report.table, "markdown": report.markdown, "json": report.json}[args.format]()
    print(text)
    return 0
