"""glibc's malloc as it comes vs. netspec's ``keep_freed_memory()``: page faults and step time.

Runs ``netspec bench``'s train step (the VGG-style net by default) in child
processes, alternating ``NETSPEC_MALLOC=system`` (glibc's defaults) with the
tuned allocator, and prints per step: wall milliseconds, minor page faults
and kernel (system) CPU seconds::

    .venv/bin/python benchmarks/allocator.py [--spec benchmarks/specs/vgg_cifar.yaml] [--rounds 2] [--steps 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, resource, sys, time
from netspec.allocator import keep_freed_memory
tuned = keep_freed_memory()
import jax, numpy as np
from netspec.cli.commands.bench import synthetic_batch
from netspec.data.standardize import Standardizer
from netspec.pipeline import load
from netspec.train.session import Session, settings
spec, batch, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
graph = load(spec)
session = Session(graph, settings(graph, {"batch_size": batch}), task=None,
                  standardizer=Standardizer.fit(np.zeros((1,)), "none"), train_examples=batch, directory=None)
x, y = synthetic_batch(batch, graph.input_shape, session.output_shape, session.loss_name)
x, y = session.placement.shard_batch((x, y))
for _ in range(3):
    session.train_step(x, y)
jax.block_until_ready(session.totals)
before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
for _ in range(steps):
    session.train_step(x, y)
jax.block_until_ready(session.totals)
after, elapsed = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - started
print(json.dumps({"tuned": tuned, "step_ms": elapsed / steps * 1000,
                  "faults": (after.ru_minflt - before.ru_minflt) / steps,
                  "system_s": (after.ru_stime - before.ru_stime) / steps,
                  "user_s": (after.ru_utime - before.ru_utime) / steps}))
"""


def run(spec: Path, batch: int, steps: int, system: bool) -> dict:
    env = {**os.environ, "NETSPEC_MALLOC": "system" if system else ""}
    done = subprocess.run([sys.executable, "-c", CHILD, str(spec), str(batch), str(steps)],
                          capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=ROOT / "benchmarks/specs/vgg_cifar.yaml")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2, help="child processes per setting, alternating")
    args = parser.parse_args()
    results: dict[str, list[dict]] = {"glibc defaults": [], "keep_freed_memory": []}
    for _ in range(args.rounds):
        results["glibc defaults"].append(run(args.spec, args.batch_size, args.steps, system=True))
        results["keep_freed_memory"].append(run(args.spec, args.batch_size, args.steps, system=False))
    print(f"{args.spec.stem}, batch {args.batch_size}, {args.steps} steps x {args.rounds} processes each; "
          f"load {os.getloadavg()[0]:.1f}; medians per step")
    print(f"{'malloc':<18} {'step ms':>9} {'page faults':>12} {'system s':>9} {'user s':>7}")
    for name, rows in results.items():
        print(f"{name:<18} {statistics.median(r['step_ms'] for r in rows):>9.1f} "
              f"{statistics.median(r['faults'] for r in rows):>12,.0f} "
              f"{statistics.median(r['system_s'] for r in rows):>9.3f} "
              f"{statistics.median(r['user_s'] for r in rows):>7.3f}")


if __name__ == "__main__":
    main()
