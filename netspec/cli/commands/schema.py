"""``netspec schema``: the JSON Schema of the spec language, for editors."""

from __future__ import annotations

import argparse
import json

HELP = "print the JSON Schema of the spec language (for editors), or with --summary of summary's JSON output"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--indent", type=int, default=2, help="JSON indentation (default 2)")
    parser.add_argument("--summary", action="store_true",
                        help="the schema of `netspec summary --format json` instead (docs/summary-json.md)")


def run(args: argparse.Namespace) -> int:
    if args.summary:
        from netspec.report.schema import summary_json_schema

        print(json.dumps(summary_json_schema(), indent=args.indent))
        return 0
    from netspec.spec.network import spec_json_schema

    print(json.dumps(spec_json_schema(), indent=args.indent))
    return 0
