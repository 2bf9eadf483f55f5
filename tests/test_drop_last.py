"""``train: {drop_last: false}``: the last partial batch of each epoch is trained on, in the
same per-(seed, epoch) order, resumes exactly, and splits over devices or is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from cli_processes import CLI
from small_nets import PARTIAL_BATCH_SPEC as SPEC
from small_nets import partial_batch_data

import netspec
from netspec.diagnostics import NetspecError
from netspec.train import checkpoint, fit
from netspec.train.batches import epoch_order, partial_batch_problem, steps_per_epoch, train_batches
from netspec.train.progress import Display

QUIET = Display(quiet=True)
pytestmark = pytest.mark.usefixtures("compilation_cache")


@pytest.fixture(scope="module")
def graph():
    return netspec.load(SPEC)


@pytest.fixture(scope="module")
def data():
    return partial_batch_data()


def test_the_partial_batch_ends_the_same_epoch_order():
    x = np.arange(100)
    order = epoch_order(3, 1, 100)
    kept = [xb for xb, _ in train_batches(x, x, order, 32, drop_last=False)]
    dropped = [xb for xb, _ in train_batches(x, x, order, 32)]
    assert [len(b) for b in kept] == [32, 32, 32, 4] and [len(b) for b in dropped] == [32, 32, 32]
    for a, b in zip(kept, dropped):  # the full batches are unchanged
        np.testing.assert_array_equal(a, b)
    assert sorted(np.concatenate(kept).tolist()) == list(range(100))  # every example, once
    resumed = [xb for xb, _ in train_batches(x, x, order, 32, start_step=3, drop_last=False)]
    np.testing.assert_array_equal(resumed[0], kept[3])
    assert steps_per_epoch(100, 32, drop_last=False) == 4 and steps_per_epoch(100, 32) == 3


def test_an_undividable_partial_batch_is_named():
    assert partial_batch_problem(96, 32, 4) is None  # no partial batch
    assert partial_batch_problem(100, 32, 4) is None  # 4 examples over 4 devices
    assert "6 examples" in partial_batch_problem(102, 32, 4)


def test_training_counts_the_partial_batch_and_resumes_exactly(graph, data, tmp_path):
    assert len(data.train) == 180
    whole = fit(graph, data, out=tmp_path / "whole", display=QUIET)
    meta = json.loads((tmp_path / "whole" / "checkpoints" / "last" / "meta.json").read_text())
    assert meta["global_step"] == 2 * 12  # 11 full batches + the partial one, per epoch
    dropped = fit(graph, data, save=False, display=QUIET, drop_last=True)
    assert dropped.session.global_step == 2 * 11
    assert whole.history[0]["loss"] != dropped.history[0]["loss"]
    # cut just before the second epoch's partial batch, resume, and land on the same weights
    cut = fit(graph, data, out=tmp_path / "cut", display=QUIET, max_steps=12 + 11)
    assert cut.stopped == "max_steps"
    resumed = fit(graph, data, resume=tmp_path / "cut", display=QUIET)
    strip = [{k: v for k, v in row.items() if k not in ("time", "images_per_s")} for row in resumed.history]
    assert strip == [{k: v for k, v in row.items() if k not in ("time", "images_per_s")} for row in whole.history]
    a, _ = checkpoint.load(tmp_path / "whole" / "checkpoints" / "last")
    b, _ = checkpoint.load(tmp_path / "cut" / "checkpoints" / "last")
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_resume_refuses_to_change_drop_last(graph, data, tmp_path):
    fit(graph, data, out=tmp_path / "run", display=QUIET, max_steps=2)
    with pytest.raises(NetspecError) as caught:
        fit(graph, data, resume=tmp_path / "run", display=QUIET, drop_last=True)
    assert caught.value.errors[0].code == "resume-changed"


def test_a_split_smaller_than_a_batch_trains_as_one_partial_batch(graph, data):
    run = fit(graph, data, save=False, display=QUIET, batch_size=256, epochs=1)
    assert run.session.global_step == 1
    with pytest.raises(NetspecError) as caught:
        fit(graph, data, save=False, display=QUIET, batch_size=256, epochs=1, drop_last=True)
    assert caught.value.errors[0].code == "data-too-small"


def _train_on_devices(devices: int, spec, out, *flags) -> subprocess.CompletedProcess:
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    return subprocess.run([sys.executable, "-c", CLI, "train", str(spec), "--epochs", "1", "--quiet",
                           "--out", str(out), *flags], capture_output=True, text=True, env=env, timeout=600)


def test_on_four_devices_the_partial_batch_splits_like_one_device_or_is_refused(tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC.replace("  - dropout: 0.25\n", ""))  # dropout draws per device shape
    # synthetic:40 -> 36 training examples: 2 batches of 16 and one of 4, one per device
    one, four = (_train_on_devices(n, spec, tmp_path / f"d{n}", "--data", "synthetic:40") for n in (1, 4))
    assert one.returncode == 0 and four.returncode == 0, one.stderr + four.stderr
    rows = [json.loads((tmp_path / f"d{n}" / "history.json").read_text())[0] for n in (1, 4)]
    assert rows[1]["loss"] == pytest.approx(rows[0]["loss"], abs=1e-5)
    # 42 examples -> 38 training: a last batch of 6 cannot be split over 4 devices
    refused = _train_on_devices(4, spec, tmp_path / "refused", "--data", "synthetic:42")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "drop_last: false" in refused.stderr and "holds 6 examples" in refused.stderr
    assert not (tmp_path / "refused").exists()
