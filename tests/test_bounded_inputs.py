"""Bounded everything (issue 13): devices and FIFOs never hang a read, impossible
sizes are refused before allocation, and each former internal error (exit 3)
is a diagnostic with exit 1 (2 for usage)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from netspec import cli
from netspec.data import load_data
from netspec.diagnostics import NetspecError
from netspec.pipeline import read_spec_file

TINY = """\
name: tiny
input: [8, 8, 1]
layers:
  - conv: {K: 2, F: 3, P: same, activation: relu}
  - flatten
  - dense: {units: 3}
  - softmax
train:
  batch_size: 16
  epochs: 1
"""


def run(*argv, capsys) -> tuple[int, str]:
    status = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def netspec(*argv, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netspec", *map(str, argv)], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def spec(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


# --- hangs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_an_endless_device_as_spec_is_refused_at_once(device):
    text, problems = read_spec_file(device)
    assert text is None and problems[0].code == "not-a-file" and "character device" in problems[0].message


def test_a_fifo_with_no_writer_does_not_block(tmp_path):
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    result = netspec("check", fifo, timeout=60)  # blocked forever in open() before
    assert result.returncode == 1 and "FIFO" in result.stderr and "Traceback" not in result.stderr


def test_an_endless_fifo_is_refused(tmp_path):
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    stop = threading.Event()

    def write_forever():
        try:
            with open(fifo, "wb") as stream:
                while not stop.is_set():
                    stream.write(b"#" * 65536)
        except (BrokenPipeError, OSError):
            pass

    writer = threading.Thread(target=write_forever, daemon=True)
    writer.start()
    try:
        text, problems = read_spec_file(fifo)
        assert text is None and problems[0].code == "not-a-file"
    finally:
        stop.set()
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # frees a writer still blocked in open()
        writer.join(timeout=30)


def test_the_spec_limit_counts_bytes_read(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * ((1 << 20) + 1))
    assert read_spec_file(big)[1][0].code == "file-too-large"


# --- data files -----------------------------------------------------------------------------


def npz_with_header(path: Path, shape: tuple[int, ...]) -> None:
    """An npz whose 'x' header claims ``shape`` floats but holds none."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": shape})
    labels = io.BytesIO()
    np.save(labels, np.zeros(4, np.int64))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", header.getvalue())  # write_array_header_1_0 writes the magic too
        archive.writestr("y.npy", labels.getvalue())


def load_npz(path: Path):
    return load_data(f"npz:{path}", input_shape=(8, 8, 1), output_shape=(3,))


def test_an_npz_header_claiming_a_trillion_floats_is_refused(tmp_path):
    path = tmp_path / "lying.npz"
    npz_with_header(path, (10**12,))
    with pytest.raises(NetspecError) as caught:
        load_npz(path)
    assert caught.value.errors[0].code == "data-corrupt" and "claims" in caught.value.errors[0].message


@pytest.mark.parametrize("arrays, code", [
    ({"x": np.zeros((4, 8, 8, 1), np.complex64), "y": np.zeros(4, int)}, "data-type"),
    ({"x": np.zeros((4, 8, 8, 1)), "y": np.array(["a", "b", "a", "c"])}, "data-type"),
    ({"x": np.float32(1.0), "y": np.zeros(4, int)}, "data-shape"),
    ({"x": np.zeros((0, 8, 8, 1)), "y": np.zeros(0, int)}, "data-empty"),
])
def test_npz_arrays_netspec_cannot_use_are_diagnostics(tmp_path, arrays, code):
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    with pytest.raises(NetspecError) as caught:
        load_npz(path)
    assert caught.value.errors[0].code == code


def test_random_bytes_are_not_an_npz_file(tmp_path):
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(0).bytes(1000))
    with pytest.raises(NetspecError) as caught:
        load_npz(path)
    assert "not a zip archive" in caught.value.errors[0].message and "pickle" not in str(caught.value)


def test_a_decompression_bomb_image_is_a_diagnostic(tmp_path, monkeypatch):
    from PIL import Image

    from netspec.data import read_image

    path = tmp_path / "bomb.png"
    Image.new("L", (64, 64)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # a 30000x30000 PNG, scaled down
    with pytest.raises(NetspecError) as caught:
        read_image(path, (8, 8, 1))
    assert caught.value.errors[0].code == "data-too-large"


@pytest.mark.parametrize("source", ["synthetic:1000000000000", "synthetic:sine:1000000000000"])
def test_impossible_synthetic_counts_are_refused_before_allocation(source):
    with pytest.raises(NetspecError) as caught:
        load_data(source, input_shape=(8, 8, 1), output_shape=(3,))
    assert caught.value.errors[0].code == "too-large"


def test_an_impossible_horizon_is_refused_before_allocation():
    with pytest.raises(NetspecError) as caught:
        load_data("synthetic:sine:500", input_shape=(16, 1), output_shape=(1,), horizon=10**12)
    assert caught.value.errors[0].code == "data-window"


# --- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [
    ["--seed", str(2**63)],
    ["--set", "schedule.warmup_epochs=.inf"],
    ["--set", "schedule.warmup_epochs=1e308"],
    ["--set", "schedule.decay_epochs=1e999", "--schedule", "step"],
    ["--set", "schedule.warmup_steps=" + "9" * 25],
    ["--set", "metrics=[accuracy, top_k: 99999999999999999]"],
    ["--set", "metrics=[accuracy, top_k: 3]"],  # 3 classes: top-3 is always right
    ["--set", "x=" + "[" * 5000],
    ["--lr", "inf"],
    ["--set", "optimizer.lr=.nan"],
])
def test_impossible_settings_are_diagnostics(spec, tmp_path, capsys, flags):
    status, output = run("train", spec, "--data", "synthetic:64", "--out", tmp_path / "run", "--quiet", *flags,
                         capsys=capsys)
    assert status == 1, output
    assert "internal error" not in output and "Traceback" not in output
    assert "--lr inf" not in output  # the hint once suggested the value that failed


def test_a_network_beyond_memory_is_refused_before_building(monkeypatch):
    from netspec import build

    monkeypatch.setenv("NETSPEC_MEMORY_LIMIT", str(2**30))
    with pytest.raises(NetspecError) as caught:
        build("name: huge\ninput: [100000]\nlayers: [{dense: {units: 100000}}]\n")
    assert caught.value.errors[0].code == "too-large" and "GiB" in caught.value.errors[0].message


@pytest.mark.parametrize("damage", ["run.json", "standardize.json"])
def test_a_damaged_run_folder_is_a_diagnostic(spec, tmp_path, capsys, damage):
    out = tmp_path / "run"
    status, output = run("train", spec, "--data", "synthetic:64", "--out", out, "--quiet", capsys=capsys)
    assert status == 0, output
    (out / damage).write_text("{not json")
    for argv in (["train", "--resume", out, "--quiet"], ["eval", spec, "--checkpoint", out, "--data", "synthetic:64"]):
        status, output = run(*argv, capsys=capsys)
        assert status == 1, output
        assert "internal error" not in output and damage in output


def test_output_to_a_full_device_exits_1():
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "netspec", "schema"], stdout=full, stderr=subprocess.PIPE,
                                text=True, timeout=60)
    assert result.returncode == 1 and "No space left on device" in result.stderr


def test_eval_data_of_the_wrong_shape_is_a_diagnostic(spec, tmp_path, capsys):
    out = tmp_path / "run"
    assert run("train", spec, "--data", "synthetic:64", "--out", out, "--quiet", capsys=capsys)[0] == 0
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, x=np.zeros((10, 5, 5, 2), np.float32), y=np.zeros(10, int))
    status, output = run("eval", spec, "--checkpoint", out, "--data", f"npz:{wrong}", capsys=capsys)
    assert status == 1 and "internal error" not in output, output


# --- the "unclear" items -----------------------------------------------------------------


def test_a_bad_expression_reached_through_an_alias_is_reported_once_with_its_line():
    from netspec.pipeline import check_text

    text = """name: x
input: [8, 8, 1]
blocks:
  unit:
    params: {K: 2}
    layers:
      - conv: &c {K: "${K +}", F: 3}
      - conv: *c
layers: [{unit: {K: 2}}, flatten, {dense: {units: 2}}]
"""
    errors = check_text(text).errors
    assert [(d.code, d.span.line) for d in errors] == [("expression", 7)]


def test_an_unreadable_checkpoint_is_one_line(tmp_path):
    from netspec.train import checkpoint

    folder = tmp_path / "last"
    checkpoint.save(folder, {"w": np.ones(2, np.float32)}, {"epoch": 1})
    for item in (folder / "arrays").rglob("*"):
        if item.is_file() and item.name != "_METADATA":
            item.write_bytes(b"garbage")
    with pytest.raises(NetspecError) as caught:
        checkpoint.load(folder)
    assert "\n" not in caught.value.errors[0].message and len(caught.value.errors[0].message) < 400
