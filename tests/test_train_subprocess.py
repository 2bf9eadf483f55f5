"""Training behaviour that needs its own process: Ctrl-C (a real SIGINT) and
data parallelism over several (forced host) devices."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from cli_processes import CLI, process_environment
from small_nets import BATCHNORM_SPEC as SPEC

import netspec
from netspec.data import load_data
from netspec.train import fit
from netspec.train.progress import Display


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    """Subprocess environment sharing one XLA compilation cache across the runs of this module."""
    return process_environment(tmp_path_factory.getbasetemp() / "jax-cache-cli")


def test_ctrl_c_saves_a_checkpoint_exits_cleanly_and_the_run_resumes(tmp_path, environment):
    spec = tmp_path / "small.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "run"
    command = [sys.executable, "-c", CLI, "train", str(spec), "--data", "synthetic:3000", "--epochs", "100",
               "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment)
    lines = []
    deadline = time.monotonic() + 240
    for line in process.stdout:  # wait for the first epoch row: the loop (and its handler) is running
        lines.append(line)
        if line.startswith("1/100") or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=120)
    output = "".join(lines) + rest
    assert process.returncode == 130, output
    assert "interrupt" in output and f"netspec train --resume {out}" in output
    assert "Traceback" not in output
    meta = json.loads((out / "checkpoints" / "last" / "meta.json").read_text())
    assert meta["reason"] == "interrupted" and meta["epoch"] >= 1
    # continue it to the end of the next epoch
    epochs = meta["epoch"] + 1
    resumed = subprocess.run([sys.executable, "-c", CLI, "train", "--resume", str(out), "--epochs", str(epochs)],
                             capture_output=True, text=True, env=environment, timeout=240)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"resuming at epoch {meta['epoch'] + 1}, step {meta['step_in_epoch']}" in resumed.stdout
    history = json.loads((out / "history.json").read_text())
    assert [row["epoch"] for row in history] == list(range(1, epochs + 1))


PARALLEL_SCRIPT = textwrap.dedent("""
    import json, sys
    import jax, netspec
    from netspec.data import load_data
    from netspec.train import fit
    from netspec.train.progress import Display
    graph = netspec.load(sys.argv[1])
    data = load_data("synthetic:400", input_shape=(8, 8, 1), output_shape=(3,), seed=0)
    run = fit(graph, data, save=False, display=Display(quiet=True))
    print(json.dumps({"devices": jax.device_count(), "history": run.history}))
""")


def test_four_devices_give_the_losses_of_one(tmp_path, environment):
    spec = tmp_path / "small.yaml"
    spec.write_text(SPEC)
    env = dict(environment, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    done = subprocess.run([sys.executable, "-c", PARALLEL_SCRIPT, str(spec)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    parallel = json.loads(done.stdout.strip().splitlines()[-1])
    assert parallel["devices"] == 4

    data = load_data("synthetic:400", input_shape=(8, 8, 1), output_shape=(3,), seed=0)
    single = fit(netspec.load(SPEC), data, save=False, display=Display(quiet=True))
    assert len(parallel["history"]) == len(single.history) == 2
    for four, one in zip(parallel["history"], single.history):
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert four[key] == pytest.approx(one[key], rel=1e-4, abs=1e-5), key
