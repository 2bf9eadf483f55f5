"""``netspec summary SPEC``: the static per-layer report."""

from __future__ import annotations

import argparse
import sys

from netspec.cli.colour import use_color
from netspec.cli.options import add_budget
from netspec.diagnostics import NetspecError, render

HELP = "per-layer output shapes, parameters, MACs/FLOPs, receptive-field geometry and training memory, with totals"
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")


def _batch_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, but got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="spec file (YAML)")
    parser.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    parser.add_argument("--batch-size", type=_batch_size, default=None, metavar="N",
                        help="add the training-memory estimate for N examples per step (docs/analysis.md)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=None,
                        help="optimizer of the memory estimate (default: the spec's train: optimizer, else adam)")
    add_budget(parser)


def run(args: argparse.Namespace) -> int:
    from netspec.pipeline import check_file
    from netspec.report.summary import summarize

    result = check_file(args.spec, budget=tuple(args.budget))
    # Over budget, the report still prints (it shows where the figures come from); the exit status is 1.
    over = [d for d in result.errors if d.code == "over-budget"]
    if len(over) != len(result.errors) or result.analysis is None:
        raise NetspecError(result.diagnostics)
    analysis = result.analysis
    if over:
        from dataclasses import replace

        analysis = replace(analysis, diagnostics=tuple(d for d in analysis.diagnostics if d not in over))
    warnings = [d for d in result.diagnostics if not d.is_error]
    if warnings and args.format != "json":  # JSON carries them inside
        print(render(warnings, color=use_color(sys.stderr)), file=sys.stderr)
    report = summarize(analysis, batch_size=args.batch_size, optimizer=args.optimizer)
    text = {"table": report.table, "markdown": report.markdown, "json": report.json}[args.format]()
    print(text)
    if over:
        print(render(over, color=use_color(sys.stderr)), file=sys.stderr)
        return 1
    return 0
