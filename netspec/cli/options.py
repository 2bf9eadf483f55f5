"""Command-line pieces shared by ``train``, ``eval``, ``predict`` and ``bench``,
and by the static commands (``check``, ``summary``: ``--budget KEY=VALUE``).

JAX-free: command modules import this when the parser is built.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

from netspec.diagnostics import NetspecError, error
from netspec.spec.budget import BUDGET_KEYS, BudgetError, Limit, parse_override
from netspec.spec.cluster import (
    COORDINATOR_ENV,
    HEARTBEAT_TIMEOUT_SECONDS,
    INIT_TIMEOUT_SECONDS,
    NUM_PROCESSES_ENV,
    PROCESS_ID_ENV,
    ClusterOptions,
    check,
)

# (flag, type, help): each flag overrides one key of train:, the one its name names
# (--batch-size: batch_size; a short name such as --lr: its path in netspec.spec.train.SHORT_NAMES).
TRAIN_FLAGS: tuple[tuple[str, type, str], ...] = (
    ("--epochs", int, "passes over the training split"),
    ("--batch-size", int, "examples per step"),
    ("--lr", float, "learning rate"),
    ("--optimizer", str, "sgd | adam | adamw | rmsprop | adagrad"),
    ("--momentum", float, "sgd/rmsprop momentum"),
    ("--weight-decay", float, "decoupled weight decay on kernels"),
    ("--schedule", str, "constant | step | exponential | cosine | inverse_time"),
    ("--seed", int, "seed for initialisation, data order, dropout and augmentation"),
    ("--loss", str, "cross_entropy | binary_cross_entropy | mse"),
    ("--standardize", str, "none | per_pixel | per_channel | scale"),
    ("--l1", float, "L1 penalty on kernels"),
    ("--l2", float, "L2 penalty on kernels"),
    ("--max-norm", float, "max-norm constraint on each unit's kernel"),
    ("--clip-norm", float, "clip gradients to this global norm"),
    ("--val-split", float, "fraction held out for validation when the data has none"),
    ("--data", str, "mnist | cifar10 | folder:PATH | npz:PATH | csv:PATH | synthetic[:N]"),
)


def _override_key(flag: str) -> str:
    """``--batch-size`` -> ``batch_size``: the argparse destination, and the override's key."""
    return flag.lstrip("-").replace("-", "_")


def add_train_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("train: overrides (each replaces that key of the spec's train: section)")
    for flag, kind, text in TRAIN_FLAGS:
        metavar = "SOURCE" if flag == "--data" else {int: "N", float: "X", str: "NAME"}[kind]
        group.add_argument(flag, type=kind, default=None, metavar=metavar, help=text)
    group.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override any other key, e.g. --set schedule.warmup_epochs=1 "
                            "--set 'augment={flip_horizontal: true}' (VALUE is YAML)")


def add_data_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument("--cache-dir", default=None, metavar="DIR", help="where downloaded datasets live (default ~/.cache/netspec)")
    group.add_argument("--no-download", action="store_true", help="never download; use cached files only")
    group.add_argument("--window", type=int, default=None, metavar="N", help="csv/sine: time steps per example (default: the spec's T)")
    group.add_argument("--horizon", type=int, default=None, metavar="N", help="csv/sine: how far ahead targets lie (default 1)")
    for flag, text in COLUMN_FLAGS.items():
        group.add_argument(f"--{flag.replace('_', '-')}", type=_column_list, default=None, metavar="COLS", help=text)


# csv: which columns are inputs and targets (netspec.data.csv_columns); recorded with the run.
COLUMN_FLAGS = {
    "feature_columns": "csv: input columns, by header name or number from 1, comma-separated "
                       "(default: every numeric column but a leading row index)",
    "target_columns": "csv: the column(s) to predict (default: the last input column(s))",
    "skip_columns": "csv: columns never used (text columns such as dates are skipped by themselves)",
}


def _column_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of column names or numbers")
    return names


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    """``{key: value}`` for every train flag and ``--set`` given on the command line: the
    overrides ``netspec.train.fit`` takes (short names such as ``lr`` resolve where they apply)."""
    found: dict[str, Any] = {}
    for flag, _, _ in TRAIN_FLAGS:
        value = getattr(args, _override_key(flag), None)
        if value is not None:
            found[_override_key(flag)] = value
    return found | set_overrides(args.set)


def set_overrides(items: list[str]) -> dict[str, Any]:
    """``{key: value}`` for ``--set KEY=VALUE`` flags, each VALUE read as YAML."""
    from netspec.spec.source import load_yaml

    found: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise NetspecError([error("bad-set", f"--set must be KEY=VALUE, but got '{item}'",
                                      hint="e.g. --set optimizer.nesterov=true")])
        # The spec loader, with its limits (size, depth, aliases) and YAML 1.2 scalars: a --set
        # value is as hostile as a spec file could be.
        doc, problems = load_yaml(text, f"--set {key.strip()}")
        if doc is None or problems:
            raise NetspecError([error("bad-set", f"--set {key.strip()}: {problem.message}", hint=problem.hint)
                                for problem in problems] or [error("bad-set", f"--set {key}: no value")])
        found[key.strip()] = doc.data
    return found


def enable_compilation_cache() -> None:
    """Keep XLA's compiled programs in ``$NETSPEC_JAX_CACHE`` (default
    ``~/.cache/netspec/jax``; ``off`` disables it), so running the same spec
    again starts training at once instead of compiling for seconds."""
    import os
    from pathlib import Path

    import jax

    where = os.environ.get("NETSPEC_JAX_CACHE", str(Path.home() / ".cache" / "netspec" / "jax"))
    if where.lower() in ("", "0", "off", "none"):
        return
    jax.config.update("jax_compilation_cache_dir", where)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def data_options(args: argparse.Namespace, run_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """How to cut the data (time-series window, horizon and csv columns): the flags, else what
    the run recorded (column choices only when given)."""
    recorded = (run_info or {}).get("data_options") or {}
    options = {
        "window": args.window if args.window is not None else recorded.get("window"),
        "horizon": args.horizon if args.horizon is not None else recorded.get("horizon", 1),
    }
    for key in COLUMN_FLAGS:
        value = getattr(args, key, None)
        value = value if value is not None else recorded.get(key)
        if value is not None:
            options[key] = list(value)
    return options


def load_dataset(source: str | None, graph, *, val_split: float, seed: int, args: argparse.Namespace,
                 run_info: dict[str, Any] | None = None):
    """The dataset named by ``source`` shaped for ``graph`` (a diagnostic when none is named).

    ``run_info`` (a run's ``run.json``) supplies the window/horizon it was trained with.
    """
    from netspec.data import SOURCES, load_data
    from netspec.data.csv_columns import ColumnChoice
    from netspec.pipeline import analysis_of

    options = data_options(args, run_info)

    if not source:
        raise NetspecError([error(
            "no-data", f"no data to train '{graph.name}' on",
            hint=f"pass --data ({', '.join(SOURCES)}) or set 'data:' in the spec's train: section")])
    return load_data(
        source,
        input_shape=graph.input_shape,
        output_shape=analysis_of(graph).output.output_shape,
        val_split=val_split,
        seed=seed,
        cache_dir=args.cache_dir,
        window=options["window"],
        horizon=options["horizon"],
        download=not args.no_download,
        columns=ColumnChoice.from_options(options),
    )


# --- the static commands (check, summary) ------------------------------------------------------------------


def _budget(text: str) -> Limit:
    try:
        return parse_override(text)
    except BudgetError as problem:
        raise argparse.ArgumentTypeError(str(problem)) from None


def add_budget(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--budget", metavar="KEY=VALUE", type=_budget, action="append", default=[],
                        help="add or override one limit of the spec's budget: (repeatable); keys: "
                             f"{', '.join(BUDGET_KEYS)}; e.g. max_params=5M, max_activation_memory=64MiB, "
                             "'max_train_memory={batch_size: 128, limit: 8GiB}'")


# --- distributed training (train --distributed) -----------------------------------------------------


def add_cluster_flags(parser: argparse.ArgumentParser) -> None:
    """``--distributed`` and how to join the run (read by :func:`options_from`)."""
    group = parser.add_argument_group(
        "distributed (several processes, e.g. one per host; see docs/distributed.md)")
    group.add_argument("--distributed", action="store_true",
                       help="join a multi-process run with jax.distributed (SLURM, Open MPI and Cloud TPU "
                            "are detected; elsewhere give the three flags below or JAX_* variables)")
    group.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                       help=f"address of process 0's coordinator (or ${COORDINATOR_ENV}); implies --distributed")
    group.add_argument("--num-processes", type=int, default=None, metavar="N",
                       help=f"how many processes take part (or ${NUM_PROCESSES_ENV})")
    group.add_argument("--process-id", type=int, default=None, metavar="I",
                       help=f"this process's number, 0..N-1 (or ${PROCESS_ID_ENV})")
    group.add_argument("--init-timeout", type=int, default=INIT_TIMEOUT_SECONDS, metavar="S",
                       help=f"give up when not every process has joined after S seconds (default {INIT_TIMEOUT_SECONDS})")
    group.add_argument("--heartbeat-timeout", type=int, default=HEARTBEAT_TIMEOUT_SECONDS, metavar="S",
                       help="stop every process when one has not answered for S seconds "
                            f"(default {HEARTBEAT_TIMEOUT_SECONDS})")


def options_from(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> ClusterOptions | None:
    """The cluster options the command line asks for, or ``None`` for a single-process run."""
    given = (args.coordinator, args.num_processes, args.process_id)
    if not args.distributed and all(value is None for value in given):
        return None
    options = ClusterOptions(
        coordinator=args.coordinator,
        num_processes=args.num_processes if args.num_processes is not None
        else _int_from_env(NUM_PROCESSES_ENV, environ),
        process_id=args.process_id if args.process_id is not None else _int_from_env(PROCESS_ID_ENV, environ),
        init_timeout=args.init_timeout,
        heartbeat_timeout=args.heartbeat_timeout,
    )
    check(options, environ)
    return options


def _int_from_env(name: str, environ: Mapping[str, str]) -> int | None:
    text = environ.get(name)
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise NetspecError([error("bad-cluster", f"${name} must be an integer, but got '{text}'")]) from None
