"""The real training loop vs. ``netspec bench``: what the loop costs outside the step.

For each network one training session is opened as ``netspec train`` opens it
(standardisation and augmentation as given below), then windows alternate in
one process between

* ``bench``: ``--steps`` train steps on one device-resident batch, as
  ``netspec bench`` times them;
* ``loop``: ``--steps`` steps of the real epoch loop (``netspec.train.loop``:
  shuffled batches, gathered on the device from the resident training split
  when it fits (:mod:`netspec.train.device_data`), else on the host and put
  on the device, by the prefetch thread; the progress refresh and its NaN
  check, the step counters), timed from the call to the last step's result;
* ``host``: the same loop with the training split kept on the host
  (``session.keep_on_device = False``): host gather + ``shard_batch`` per
  batch, as before the split was made device-resident.

All run the same compiled step (augmentation and standardisation are inside
it), so the ratio loop / bench is the loop's overhead. Networks:

* ``lenet``: LeNet-5 (``specs/lenet.yaml``, batch 64) on MNIST-shaped data
  (60,000 random 28x28 images; the loop's cost does not depend on pixel values),
  ``standardize: per_channel``;
* ``cats_vs_dogs``: the lectures' net (``examples/cats_vs_dogs.yaml``, batch 16)
  on a synthetic image folder (``cats/`` and ``dogs/``, 320 PNGs each of random sizes read
  by ``--data folder:``) with the lecture's ``ImageDataGenerator`` augmentation
  (rotation 40, shifts 0.2, shear 0.2, zoom 0.2, horizontal flips, nearest fill).

::

    .venv/bin/python benchmarks/loop_overhead.py [--quick] [--windows 5] [--steps N] [--nets lenet cats_vs_dogs]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from netspec.allocator import keep_freed_memory

keep_freed_memory()  # before JAX starts its threads, as the netspec command line does

import jax  # noqa: E402
import numpy as np  # noqa: E402

from netspec.data import Dataset, Split, load_data  # noqa: E402
from netspec.pipeline import load  # noqa: E402
from netspec.train import loop  # noqa: E402
from netspec.train.plan import plan_run  # noqa: E402
from netspec.train.progress import Display  # noqa: E402
from netspec.train.resume import open_session  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STEPS = {"lenet": 200, "cats_vs_dogs": 20}
LECTURE_AUGMENT = {"rotation": 40, "shift": 0.2, "shear": 0.2, "zoom": 0.2, "flip_horizontal": True,
                   "fill": "nearest"}


def mnist_shaped(count: int = 60_000) -> Dataset:
    rng = np.random.default_rng(0)
    x = rng.random((count, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, count).astype(np.int32)
    return Dataset("mnist-shaped random", Split(x, y), None, None, [str(i) for i in range(10)], "classification")


def image_folder(root: Path, per_class: int = 320) -> Path:
    """``root/cats`` and ``root/dogs`` with PNGs of random sizes around 150x150."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("cats", "dogs"):
        (root / name).mkdir(parents=True)
        for index in range(per_class):
            height, width = rng.integers(120, 260, 2)
            pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{index:04d}.png")
    return root


def session_for(name: str, workdir: Path):
    if name == "lenet":
        graph = load(ROOT / "specs/lenet.yaml")
        dataset, overrides = mnist_shaped(), {"standardize": "per_channel", "epochs": 10_000}
    else:
        graph = load(ROOT / "examples/cats_vs_dogs.yaml")
        folder = image_folder(workdir / "cats_vs_dogs")
        dataset = load_data(f"folder:{folder}", input_shape=graph.input_shape, val_split=0.0)
        overrides = {"augment": LECTURE_AUGMENT, "epochs": 10_000}
    display = Display(quiet=True)
    session = open_session(graph, dataset, plan_run(graph, overrides), save=False, display=display)
    return session, display


def measure(name: str, windows: int, steps: int, workdir: Path) -> dict[str, float]:
    session, display = session_for(name, workdir)
    train = session.dataset.train
    batch = session.train.batch_size
    fixed = session.placement.shard_batch((train.x[:batch], train.y[:batch]))
    interrupt = loop._Interrupt(display)  # never entered: no signal handlers, never requested

    def bench_window() -> float:
        started = time.perf_counter()
        for _ in range(steps):
            session.train_step(*fixed)
        jax.block_until_ready(session.totals)
        return time.perf_counter() - started

    def loop_window(on_device: bool = True) -> float:
        session.keep_on_device = on_device
        started = time.perf_counter()
        loop._loop(session, display, interrupt, max_steps=session.global_step + steps)
        jax.block_until_ready(session.totals)
        return time.perf_counter() - started

    def host_loop_window() -> float:
        return loop_window(on_device=False)

    bench_window(), loop_window(), host_loop_window()  # compile, start the caches
    seconds: dict[str, list[float]] = {"bench": [], "loop": [], "host": []}
    order = [("bench", bench_window), ("loop", loop_window), ("host", host_loop_window)]
    for window in range(windows):  # rotate the order, so load falls on every variant alike
        shift = window % len(order)
        for label, run in order[shift:] + order[:shift]:
            seconds[label].append(run())
    rates = {label: steps * batch / statistics.median(values) for label, values in seconds.items()}
    rates["resident"] = float(session.resident is not None)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--steps", type=int, default=None,
                        help="steps per window (default: 200 for LeNet, 20 for cats-vs-dogs: windows of a few "
                             "seconds, so the loop's start per window, which a real epoch pays once, stays small)")
    parser.add_argument("--nets", nargs="*", choices=("lenet", "cats_vs_dogs"), default=["lenet", "cats_vs_dogs"])
    parser.add_argument("--quick", action="store_true", help="3 windows of the default steps")
    args = parser.parse_args()
    if args.quick:
        args.windows = 3
    print(f"backend {jax.default_backend()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
          f"{args.windows} alternating windows")
    print(f"{'network':<14} {'steps':>5} {'loop img/s':>11} {'host loop':>10} {'bench img/s':>12} "
          f"{'loop / bench':>13} {'host / bench':>13}")
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.nets:
            steps = args.steps or DEFAULT_STEPS[name]
            rates = measure(name, args.windows, steps, Path(workdir))
            print(f"{name:<14} {steps:>5} {rates['loop']:>11.1f} {rates['host']:>10.1f} {rates['bench']:>12.1f} "
                  f"{rates['loop'] / rates['bench']:>12.1%} {rates['host'] / rates['bench']:>12.1%}"
                  + ("" if rates["resident"] else "  (split not resident: both loops took the host path)"),
                  flush=True)


if __name__ == "__main__":
    main()
