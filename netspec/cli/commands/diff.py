"""``netspec diff A.yaml B.yaml``: a semantic diff of two networks (like diff(1): 0 equal, 1 differ, 2 errors)."""

from __future__ import annotations

import argparse
import sys

from netspec.cli.colour import use_color
from netspec.diagnostics import render

HELP = "compare two networks layer by layer (exit 0 equal, 1 different, 2 errors in either spec)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec_a", metavar="A", help="spec file (YAML)")
    parser.add_argument("spec_b", metavar="B", help="spec file (YAML); may be A itself at another --scale-b")
    parser.add_argument("--scale-a", metavar="NAME", default=None, help="resolve A at this named scale")
    parser.add_argument("--scale-b", metavar="NAME", default=None, help="resolve B at this named scale")
    parser.add_argument("--format", choices=("table", "markdown", "json"), default="table")


def _label(path: str, scale: str | None) -> str:
    return f"{path} (scale {scale})" if scale else path


def run(args: argparse.Namespace) -> int:
    from netspec.pipeline import check_file
    from netspec.report.diff import diff

    results = [check_file(args.spec_a, args.scale_a), check_file(args.spec_b, args.scale_b)]
    problems = [d for result in results for d in result.diagnostics if d.is_error]
    analysis_a, analysis_b = results[0].analysis, results[1].analysis
    if problems or analysis_a is None or analysis_b is None:
        print(render(problems, color=use_color(sys.stderr)), file=sys.stderr)
        return 2
    found = diff(analysis_a, analysis_b, _label(args.spec_a, args.scale_a),
                 _label(args.spec_b, args.scale_b))
    print({"table": found.table, "markdown": found.markdown, "json": found.json}[args.format]())
    return 0 if found.equal else 1
