"""``netspec bench SPEC``: how fast the compiled train step runs on this machine.

Synthetic inputs and targets shaped for the spec, on the default device(s):
the time of the first step (tracing + XLA compilation + one step), then the
median step time over several timed windows, and images (examples) per
second. ``--format json`` prints ``compile_s``, ``step_ms``, ``images_per_s``
(plus the settings measured).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from netspec.emit.lowering import LOWERINGS

HELP = "benchmark the compiled train step on synthetic data: compile time, step time, images/s"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="spec file (YAML)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the spec's train.batch_size")
    parser.add_argument("--steps", type=int, default=20, help="steps per timed window (default 20)")
    parser.add_argument("--windows", type=int, default=5, help="timed windows; the median is reported (default 5)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--lowering", choices=LOWERINGS, default=None,
                        help="how convs and pools are lowered (default: the spec's train.lowering, else auto)")
    parser.add_argument("--precision", choices=("float32", "mixed", "bfloat16"), default=None,
                        help="default: the spec's train.precision, else float32")


def synthetic_batch(batch_size: int, input_shape, output_shape, loss: str, seed: int = 0):
    """Random inputs in [0, 1) and targets that fit ``loss`` and the output shape."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.random((batch_size, *input_shape), dtype=np.float32)
    if loss == "mse":
        y = rng.standard_normal((batch_size, *output_shape)).astype(np.float32)
    else:
        classes = output_shape[-1] if output_shape[-1] > 1 else 2
        y = rng.integers(0, classes, (batch_size, *output_shape[:-1])).astype(np.int32)
    return x, y


def measure(session, x, y, *, steps: int, windows: int) -> dict[str, float]:
    """Time the session's train step on one device-resident batch."""
    import jax

    xb, yb = session.placement.shard_batch((x, y))
    started = time.perf_counter()
    session.train_step(xb, yb)
    jax.block_until_ready(session.totals)
    compile_s = time.perf_counter() - started
    times = []
    for _ in range(windows):
        started = time.perf_counter()
        for _ in range(steps):
            session.train_step(xb, yb)
        jax.block_until_ready(session.totals)
        times.append((time.perf_counter() - started) / steps)
    step_s = statistics.median(times)
    return {"compile_s": round(compile_s, 4), "step_ms": round(1000 * step_s, 4),
            "images_per_s": round(len(x) / step_s, 1)}


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from netspec.data.standardize import Standardizer
    from netspec.diagnostics import NetspecError, error
    from netspec.pipeline import load
    from netspec.train.loop import device_summary
    from netspec.train.session import Session, settings

    for flag, value in (("--steps", args.steps), ("--windows", args.windows), ("--batch-size", args.batch_size)):
        if value is not None and value < 1:
            raise NetspecError([error("bad-option", f"{flag} must be at least 1, but got {value}")])
    graph = load(args.spec)
    train = settings(graph, {"batch_size": args.batch_size, "lowering": args.lowering,
                                "precision": args.precision})
    session = Session(graph, train, task=None, standardizer=Standardizer.fit(np.zeros((1,)), "none"),
                      train_examples=train.batch_size, directory=None)
    x, y = synthetic_batch(train.batch_size, graph.input_shape, session.output_shape, session.loss_name)
    result = measure(session, x, y, steps=args.steps, windows=args.windows)
    report = {"spec": graph.name, "batch_size": train.batch_size, "devices": device_summary(),
              "optimizer": train.optimizer.name, **result}
    if args.format == "json":
        print(json.dumps(report, indent=2))
        return 0
    print(f"{graph.name}: batch {train.batch_size}, {train.optimizer.name}, on {report['devices']}")
    print(f"  compile + first step  {result['compile_s']:.2f} s")
    print(f"  step (median)         {result['step_ms']:.2f} ms")
    print(f"  throughput            {result['images_per_s']:,.0f} images/s")
    return 0
