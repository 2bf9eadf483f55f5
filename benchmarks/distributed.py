"""Throughput of `netspec train` in 1 process and in 2 processes on this machine.

    .venv/bin/python benchmarks/distributed.py [--examples 4096] [--batch-size 128] [--epochs 3]

Trains LeNet-5 (specs/lenet.yaml) on synthetic 28×28 data, the same global
batches in every layout: 1 process × 1 CPU device, 1 process × 2 devices,
2 processes × 1 device (jax.distributed on localhost, gloo collectives).
Reports the images/s of the last epoch (compilation excluded) from each
run's history.json, and the wall time of the whole command.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = "import sys; from netspec import cli; sys.exit(cli.main(sys.argv[1:]))"
LAYOUTS = ((1, 1), (1, 2), (2, 1))  # (processes, devices per process)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def run(processes: int, devices: int, arguments: list[str], out: Path) -> tuple[float, dict]:
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    cluster = ["--coordinator", f"localhost:{free_port()}", "--num-processes", str(processes)] if processes > 1 else []
    started = time.monotonic()
    children = [subprocess.Popen([sys.executable, "-c", CLI, "train", *arguments, "--out", str(out), "--quiet",
                                  *cluster, *(["--process-id", str(i)] if processes > 1 else [])],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
                for i in range(processes)]
    for child in children:
        _, errors = child.communicate()
        if child.returncode != 0:
            raise SystemExit(f"a process failed:\n{errors}")
    return time.monotonic() - started, json.loads((out / "history.json").read_text())[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=4096)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    options = parser.parse_args()
    arguments = [str(ROOT / "specs" / "lenet.yaml"), "--data", f"synthetic:{options.examples}",
                 "--batch-size", str(options.batch_size), "--epochs", str(options.epochs)]
    print("| processes × devices | images/s (last epoch) | epoch s | wall s (whole command) | last loss |")
    print("| --- | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as folder:
        for processes, devices in LAYOUTS:
            wall, last = run(processes, devices, arguments, Path(folder) / f"{processes}x{devices}")
            print(f"| {processes} × {devices} | {last['images_per_s']:,.0f} | {last['time']:.1f} | {wall:.1f} "
                  f"| {last['loss']:.6f} |", flush=True)


if __name__ == "__main__":
    main()
