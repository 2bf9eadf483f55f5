"""Multi-process training on one machine: 2 processes × 2 forced CPU devices,
joined by jax.distributed on a free localhost port, against 1 process × 4
devices. The commands are those of docs/distributed.md."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_processes import CLI, process_environment
from small_nets import BATCHNORM_SPEC as SMALL_BATCHNORM_SPEC

from netspec.train import checkpoint

ROOT = Path(__file__).resolve().parent.parent
# (spec, extra flags): LeNet-5 as shipped, and a small batchnorm net.
NETS = {
    "lenet": (str(ROOT / "specs" / "lenet.yaml"), ["--data", "synthetic:320", "--batch-size", "32", "--epochs", "2"]),
    "batchnorm": (None, ["--data", "synthetic:400"]),
}
TIMEOUT = 600  # seconds for one run on a busy 2-core machine; a hang fails instead of blocking CI


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def start(arguments: list[str], *, processes: int, devices: int, env: dict, logs: Path,
          process_ids: list[int] | range | None = None) -> list[subprocess.Popen]:
    """``netspec train ARGUMENTS`` as ``processes`` processes of ``devices`` CPU devices each."""
    env = dict(env, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    cluster = []
    if processes > 1:
        cluster = ["--coordinator", f"localhost:{free_port()}", "--num-processes", str(processes)]
    started = []
    for process in process_ids if process_ids is not None else range(processes):
        flags = cluster + (["--process-id", str(process)] if processes > 1 else [])
        with open(logs.with_name(f"{logs.name}-{process}.log"), "w") as log:  # the child keeps its copy
            started.append(subprocess.Popen([sys.executable, "-c", CLI, "train", *arguments, *flags],
                                            stdout=log, stderr=subprocess.STDOUT, text=True, env=env))
    return started


def finish(processes: list[subprocess.Popen], logs: Path, timeout: float = TIMEOUT) -> list[tuple[int, str]]:
    """(exit status, output) of each process, killing all of them if one overruns."""
    deadline = time.monotonic() + timeout
    try:
        for process in processes:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    ids = [process.args[process.args.index("--process-id") + 1] if "--process-id" in process.args else "0"
           for process in processes]
    outputs = [logs.with_name(f"{logs.name}-{i}.log").read_text() for i in ids]
    return [(process.returncode, output) for process, output in zip(processes, outputs)]


def train(arguments, *, processes, devices, env, logs, timeout=TIMEOUT):
    results = finish(start(arguments, processes=processes, devices=devices, env=env, logs=logs), logs, timeout)
    for status, output in results:
        assert status == 0, output
    return results


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    return process_environment(tmp_path_factory.getbasetemp() / "jax-cache-distributed")


@pytest.fixture(scope="module")
def spec_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("specs")
    (folder / "small.yaml").write_text(SMALL_BATCHNORM_SPEC)
    return {name: spec or str(folder / "small.yaml") for name, (spec, _) in NETS.items()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, environment, spec_files):
    """{net: (run folder of 1 process × 4 devices, run folder of 2 processes × 2 devices)}, all
    six processes started at once; trained once even when pytest-xdist runs the tests that use it
    in several workers (they share the parent of their temporary folders)."""
    session = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # a worker's folder: .../pytest-N/popen-gwI
        session = session.parent
    root = session / "distributed-trained"
    root.mkdir(exist_ok=True)
    with open(root / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "done").exists():
            _train_all(root, environment, spec_files)
            (root / "done").touch()
    return {name: (root / f"{name}-1x4", root / f"{name}-2x2") for name in NETS}


def _train_all(root: Path, environment, spec_files) -> None:
    launched = {}
    for name, (_, flags) in NETS.items():
        for processes, devices in ((1, 4), (2, 2)):
            out = root / f"{name}-{processes}x{devices}"
            logs = root / f"{name}-{processes}x{devices}"
            arguments = [spec_files[name], *flags, "--out", str(out), "--quiet"]
            launched[name, processes] = (out, logs, start(arguments, processes=processes, devices=devices,
                                                          env=environment, logs=logs))
    for _, logs, processes in launched.values():
        for status, output in finish(processes, logs):
            assert status == 0, output


def history(run: Path) -> list[dict]:
    return json.loads((run / "history.json").read_text())


def weights(run: Path) -> dict[str, np.ndarray]:
    arrays, _ = checkpoint.load(run / "checkpoints" / "last")
    return arrays


def assert_same_training(run: Path, reference: Path) -> None:
    """Per-epoch losses and metrics to 1e-5, and the same final weights and optimizer state."""
    rows, expected = history(run), history(reference)
    assert [row["epoch"] for row in rows] == [row["epoch"] for row in expected]
    for row, want in zip(rows, expected):
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert row[key] == pytest.approx(want[key], abs=1e-5), (row["epoch"], key)
    got, want = weights(run), weights(reference)
    assert sorted(got) == sorted(want)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("net", list(NETS))
def test_two_processes_train_like_one_process_with_four_devices(trained, net):
    single, double = trained[net]
    assert_same_training(double, single)
    run = json.loads((double / "run.json").read_text())
    assert run["processes"] == 2 and run["devices"] == 4
    assert (double / "curves.png").is_file() and (double / "checkpoints" / "best" / "meta.json").is_file()
    # only process 0 wrote: no stray temporary files from the others (the lock is process 0's claim)
    assert not [p.name for p in double.rglob(".*") if p.name != ".netspec.lock"]


def test_a_two_process_run_resumes_exactly_also_with_one_process(trained, tmp_path, environment, spec_files):
    """Stopped after 7 steps, resumed by 2 processes until step 30, finished by 1 process × 4
    devices: the same history and weights as the uninterrupted 2-process run."""
    out, logs = tmp_path / "run", tmp_path / "log"
    spec, flags = spec_files["batchnorm"], NETS["batchnorm"][1]
    train([spec, *flags, "--out", str(out), "--quiet", "--max-steps", "7"],
          processes=2, devices=2, env=environment, logs=logs)
    assert json.loads((out / "checkpoints" / "last" / "meta.json").read_text())["global_step"] == 7
    results = train(["--resume", str(out), "--max-steps", "30"], processes=2, devices=2, env=environment, logs=logs)
    assert "resuming at epoch 1, step 7 (global step 7)" in results[0][1]
    assert json.loads((out / "checkpoints" / "last" / "meta.json").read_text())["global_step"] == 30
    results = train(["--resume", str(out)], processes=1, devices=4, env=environment, logs=logs)
    assert "resuming at epoch 2, step 8 (global step 30)" in results[0][1]
    assert_same_training(out, trained["batchnorm"][1])


def _wait_for(path: Path, text: str, process: subprocess.Popen, seconds: float = TIMEOUT) -> None:
    deadline = time.monotonic() + seconds
    while text not in path.read_text():
        assert process.poll() is None, path.read_text()
        assert time.monotonic() < deadline, path.read_text()
        time.sleep(0.5)


@pytest.mark.parametrize("killed", [1, 0])
def test_a_killed_process_stops_the_other_within_the_timeout(tmp_path, environment, spec_files, killed):
    """Process 1 killed: process 0 names it in a diagnostic. Process 0 (the coordinator) killed: JAX's
    runtime ends process 1 at once, and process 1's supervisor (netspec.cli.supervise) replaces JAX's
    message with netspec's. Status 1 and no stack either way."""
    logs = tmp_path / "log"
    arguments = [spec_files["batchnorm"], "--data", "synthetic:400", "--epochs", "1000", "--out",
                 str(tmp_path / "run"), "--heartbeat-timeout", "10"]
    processes = start(arguments, processes=2, devices=2, env=environment, logs=logs)
    survivor = 1 - killed
    try:
        _wait_for(tmp_path / "log-0.log", "1/1000", processes[0])  # training is under way
        processes[killed].kill()
        killed_at = time.monotonic()
        status = processes[survivor].wait(timeout=120)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    output = (tmp_path / f"log-{survivor}.log").read_text()
    assert status != 0, output
    assert time.monotonic() - killed_at < 120
    assert status == 1, output
    if killed == 1:
        assert "process 1 stopped answering during training, so process 0 stops too" in output
    else:
        assert "process 1 lost the run's coordinator, process 0 at localhost:" in output
        assert f"netspec train --resume {tmp_path / 'run'}" in output
    assert "Traceback" not in output and "Check failure" not in output and "F1" not in output, output


@pytest.mark.parametrize("count, present, expected", [
    (3, [0, 1], "process {me} waited 3 s at localhost:{port} for 3 processes to join: process 2 never joined "
                "(joined: 0, 1)"),
    (2, [1], "process 1 waited 3 s for process 0, the coordinator at localhost:{port}, which never answered"),
])
def test_a_process_that_never_joins_is_named_within_the_timeout(tmp_path, environment, spec_files, count, present,
                                                                 expected):
    """Process 2 of 3 never started: 0 and 1 name it. Process 0 never started: 1 names it (the roll
    call, netspec.train.rollcall)."""
    logs = tmp_path / "log"
    arguments = [spec_files["batchnorm"], "--data", "synthetic:400", "--out", str(tmp_path / "run"),
                 "--init-timeout", "3"]
    started = time.monotonic()
    processes = start(arguments, processes=count, devices=1, env=environment, logs=logs, process_ids=present)
    port = processes[0].args[processes[0].args.index("--coordinator") + 1].split(":")[1]
    results = finish(processes, logs, timeout=120)
    for me, (status, output) in zip(present, results):
        assert status == 1, output
        assert expected.format(me=me, port=port) in output, output
        assert "Traceback" not in output and "Check failure" not in output
    assert time.monotonic() - started < 120
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("data_of_process_1, expected", [
    ("synthetic:401", "the processes loaded different data (process 1 differs from process 0)"),
    ("npz:{missing}", "process 1: "),
])
def test_every_process_fails_alike_when_one_has_other_or_no_data(tmp_path, environment, spec_files,
                                                                  data_of_process_1, expected):
    logs = tmp_path / "log"
    port = ["--coordinator", f"localhost:{free_port()}", "--num-processes", "2"]
    env = dict(environment, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    processes = []
    for process, data in enumerate(("synthetic:400", data_of_process_1.format(missing=tmp_path / "none.npz"))):
        with open(tmp_path / f"log-{process}.log", "w") as log:
            processes.append(subprocess.Popen(
                [sys.executable, "-c", CLI, "train", spec_files["batchnorm"], "--data", data, "--out",
                 str(tmp_path / "run"), *port, "--process-id", str(process)],
                stdout=log, stderr=subprocess.STDOUT, text=True, env=env))
    results = finish(processes, logs, timeout=300)
    messages = []
    for status, output in results:
        assert status == 1, output
        assert expected in output and "Traceback" not in output, output
        messages.append([line for line in output.splitlines() if "error" in line])
    assert messages[0] == messages[1]  # the same diagnostic on both
    assert not (tmp_path / "run").exists()


def test_an_existing_run_folder_stops_every_process_with_process_0s_diagnostic(tmp_path, environment, spec_files):
    out, logs = tmp_path / "run", tmp_path / "log"
    out.mkdir()
    (out / "keep.txt").write_text("a user's file")
    results = finish(start([spec_files["batchnorm"], "--data", "synthetic:400", "--out", str(out)],
                           processes=2, devices=2, env=environment, logs=logs), logs, timeout=300)
    for status, output in results:
        assert status == 1, output
        assert f"{out} already exists and is not empty" in output and "Traceback" not in output
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_distributed_outside_a_cluster_without_an_address_is_a_diagnostic(tmp_path, environment, spec_files):
    env = {key: value for key, value in environment.items()
           if not key.startswith(("SLURM_", "OMPI_", "PMI_", "JAX_COORDINATOR", "TPU_", "CLOUD_TPU"))}
    done = subprocess.run([sys.executable, "-c", CLI, "train", spec_files["batchnorm"], "--data", "synthetic:400",
                           "--out", str(tmp_path / "run"), "--distributed"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "cannot start a distributed run" in done.stderr and "--coordinator HOST:PORT" in done.stderr
    assert "Traceback" not in done.stderr


def test_ctrl_c_on_process_0_checkpoints_and_stops_both(tmp_path, environment, spec_files):
    logs, out = tmp_path / "log", tmp_path / "run"
    arguments = [spec_files["batchnorm"], "--data", "synthetic:400", "--epochs", "1000", "--out", str(out)]
    processes = start(arguments, processes=2, devices=2, env=environment, logs=logs)
    try:
        _wait_for(tmp_path / "log-0.log", "1/1000", processes[0])
        processes[0].send_signal(signal.SIGINT)
        statuses = [process.wait(timeout=120) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    output = (tmp_path / "log-0.log").read_text()
    assert statuses == [130, 130], output + (tmp_path / "log-1.log").read_text()
    assert f"netspec train --resume {out}" in output
    meta = json.loads((out / "checkpoints" / "last" / "meta.json").read_text())
    assert meta["reason"] == "interrupted" and meta["global_step"] % 10 == 0


LOST_PROCESSES_PROBE = """\
import os, sys, time, jax
process, port = int(sys.argv[1]), sys.argv[2]
jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.config.update("jax_enable_recoverability", True)  # JAX's fatal error would otherwise end process 0 first
jax.distributed.initialize(f"localhost:{port}", 2, process, initialization_timeout=60, heartbeat_timeout_seconds=3)
jax.devices()
from netspec.train.multihost import lost_processes
if process == 1:
    time.sleep(1)
    os._exit(0)
print("alive", lost_processes(0.5), flush=True)  # process 1 has not asked: no verdict in time
time.sleep(1.5)
print("lost", lost_processes(30), flush=True)
os._exit(0)
"""


def test_lost_processes_names_the_dead_one_with_jaxs_public_api(tmp_path, environment):
    """netspec.train.multihost.lost_processes (jax.experimental.multihost_utils.live_devices), with
    JAX's own ending of the survivor turned off so that it has the time to answer."""
    port = str(free_port())
    env = dict(environment, XLA_FLAGS="--xla_force_host_platform_device_count=1")
    processes = [subprocess.Popen([sys.executable, "-c", LOST_PROCESSES_PROBE, str(process), port],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
                 for process in (0, 1)]
    try:
        output = processes[0].communicate(timeout=120)[0]
    finally:
        for process in processes:
            process.kill()
            process.wait()
    assert "alive []" in output and "lost [1]" in output, output
