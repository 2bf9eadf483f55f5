"""Flags shared by the static commands (check, summary): ``--budget KEY=VALUE``."""

from __future__ import annotations

import argparse

from netspec.spec_budget import BUDGET_KEYS


def _budget(text: str):
    from netspec.budget import BudgetError, parse_override

    try:
        return parse_override(text)
    except BudgetError as problem:
        raise argparse.ArgumentTypeError(str(problem)) from None


def add_budget(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--budget", metavar="KEY=VALUE", type=_budget, action="append", default=[],
                        help="add or override one limit of the spec's budget: (repeatable); keys: "
                             f"{', '.join(BUDGET_KEYS)}; e.g. max_params=5M, max_activation_memory=64MiB, "
                             "'max_train_memory={batch_size: 128, limit: 8GiB}'")
