"""Calibrate the lowering rule table: netspec's train step under each lowering.

For each network, one ``netspec bench``-style session per lowering is built in
this process on the same synthetic batch; windows of ``--steps`` steps
alternate between the lowerings (so a shared, noisy machine slows both alike)
and the median window is reported as images per second per lowering (``lax``,
``im2col``, ``im2col-grad``, ``shifts``, ``auto``, and ``auto-shifts``: auto with the
CPU rule's ``shift_rows`` set to 0, i.e. auto before ``conv_by_shifts``), each with its
ratio to lax. The figures behind ``netspec.emit.lowering.RULES`` are in
docs/lowering.md::

    .venv/bin/python benchmarks/lowering.py [--windows 7] [--steps 5] [--batch-size 128] [--quick] [SPEC ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time
from pathlib import Path

from netspec.allocator import keep_freed_memory

keep_freed_memory()  # before JAX starts its threads, as the netspec command line does

import jax  # noqa: E402
import numpy as np  # noqa: E402

from netspec.cli.commands.bench import synthetic_batch  # noqa: E402
from netspec.data.standardize import Standardizer  # noqa: E402
from netspec.emit import lowering as lowering_rules  # noqa: E402
from netspec.pipeline import load  # noqa: E402
from netspec.train.session import Session, settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPECS = [ROOT / "specs/lenet.yaml", ROOT / "benchmarks/specs/vgg_cifar.yaml",
                 ROOT / "examples/cats_vs_dogs.yaml"]
# Batch sizes when --batch-size is not given: 128, but 32 for the 150x150 cats-vs-dogs
# net (as in vs_torch.py), so one step stays well under a second on 2 cores.
DEFAULT_BATCH, BATCH_BY_NAME = 128, {"cats_vs_dogs": 32}
LOWERINGS = ("lax", "im2col", "im2col-grad", "shifts", "auto", "auto-shifts")


def session_for(graph, lowering: str, batch_size: int) -> Session:
    """A training session under ``lowering``; ``auto-shifts`` is ``auto`` built with the CPU
    rule's ``shift_rows`` at 0 (the model's code is emitted here, so the rule is restored after)."""
    rule = lowering_rules.RULES["cpu"]
    if lowering == "auto-shifts":
        lowering_rules.RULES["cpu"] = dataclasses.replace(rule, shift_rows=0)
    try:
        train = settings(graph, {"batch_size": batch_size, "lowering": lowering.removesuffix("-shifts")})
        return Session(graph, train, task=None, standardizer=Standardizer.fit(np.zeros((1,)), "none"),
                       train_examples=batch_size, directory=None)
    finally:
        lowering_rules.RULES["cpu"] = rule


def compare(spec: Path, *, batch_size: int, steps: int, windows: int) -> dict[str, float]:
    """Median img/s per lowering, windows alternating."""
    graph = load(spec)
    sessions = {name: session_for(graph, name, batch_size) for name in LOWERINGS}
    first = sessions["lax"]
    x, y = synthetic_batch(batch_size, graph.input_shape, first.output_shape, first.loss_name)
    batches = {name: session.placement.shard_batch((x, y)) for name, session in sessions.items()}
    for name, session in sessions.items():  # compile and warm up
        session.train_step(*batches[name])
        jax.block_until_ready(session.totals)
    times: dict[str, list[float]] = {name: [] for name in LOWERINGS}
    for window in range(windows):
        for name in LOWERINGS[window % len(LOWERINGS):] + LOWERINGS[:window % len(LOWERINGS)]:
            session = sessions[name]
            started = time.perf_counter()
            for _ in range(steps):
                session.train_step(*batches[name])
            jax.block_until_ready(session.totals)
            times[name].append((time.perf_counter() - started) / steps)
    return {name: batch_size / statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*", type=Path, default=DEFAULT_SPECS)
    parser.add_argument("--batch-size", type=int, default=None, help="default: 128 (cats-vs-dogs: 32)")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--windows", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 windows of 3 steps (a few minutes on 2 cores)")
    args = parser.parse_args()
    if args.quick:
        args.windows, args.steps = 3, 3
    print(f"backend {jax.default_backend()}, load {os.getloadavg()[0]:.1f}, {args.windows} alternating windows "
          f"of {args.steps} steps")
    print(f"{'network':<16} {'batch':>5} " + " ".join(f"{name:>19}" for name in LOWERINGS) + "  (img/s, x lax)")
    for spec in args.specs:
        batch = args.batch_size or BATCH_BY_NAME.get(spec.stem, DEFAULT_BATCH)
        rates = compare(spec, batch_size=batch, steps=args.steps, windows=args.windows)
        print(f"{spec.stem:<16} {batch:>5} " + " ".join(
            f"{rates[name]:>10.1f} ({rates[name] / rates['lax']:>5.2f}x)" for name in LOWERINGS), flush=True)


if __name__ == "__main__":
    main()
