"""``netspec schema``: the JSON Schema of the spec language, for editors."""

from __future__ import annotations

import argparse
import json

HELP = "print the JSON Schema of the spec language (for editor completion and validation)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--indent", type=int, default=2, help="JSON indentation (default 2)")


def run(args: argparse.Namespace) -> int:
    from netspec.spec.network import spec_json_schema

    print(json.dumps(spec_json_schema(), indent=args.indent))
    return 0
