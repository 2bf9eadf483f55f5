"""Checkpoints you can trust (issue 13, DL1-DL4 and the disk cases): any folder
name, no NaN checkpoints, signals like Ctrl-C, one process per run folder,
diagnostics for failed writes, valid history.json."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from cli_processes import CLI
from small_nets import BATCHNORM_SPEC as TINY

import netspec
from netspec.data import load_data
from netspec.diagnostics import NetspecError
from netspec.train import checkpoint, fit, rundir
from netspec.train.progress import Display
from netspec.train.run_lock import claim_new, lock_existing

QUIET = Display(quiet=True)
pytestmark = pytest.mark.usefixtures("compilation_cache")



@pytest.fixture(scope="module")
def graph():
    return netspec.load(TINY)


@pytest.fixture(scope="module")
def data():
    return load_data("synthetic:200", input_shape=(8, 8, 1), output_shape=(3,), seed=0)


def strict_json(path):
    """json.loads that refuses NaN/Infinity, as every non-Python parser does."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(path.read_text(), parse_constant=refuse)


def all_finite(arrays) -> bool:
    return all(np.isfinite(v).all() for v in arrays.values() if v.dtype.kind == "f")


class Hook(Display):
    """A quiet display that runs ``action`` when the row of epoch ``epoch`` is shown."""

    def __init__(self, epoch: int, action):
        super().__init__(quiet=True)
        self._epoch, self._action = epoch, action

    def row(self, row, epochs):
        super().row(row, epochs)
        if row["epoch"] == self._epoch:
            self._action()


# --- DL1: any folder name -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["exp[1]", "back\\slash", "gs:", "a]b[*?"])
def test_any_run_folder_name_saves_checkpoints_that_load_and_resume(graph, data, tmp_path, name):
    out = tmp_path / name
    fit(graph, data, out=out, display=QUIET, epochs=1, early_stopping={"restore_best": True, "patience": 1})
    arrays, meta = checkpoint.load(out / "checkpoints" / "last")
    assert meta["epoch"] == 1 and all_finite(arrays)
    resumed = fit(graph, data, resume=out, display=QUIET, epochs=2)
    assert [row["epoch"] for row in resumed.history] == [1, 2]


# --- DL2: no non-finite checkpoint, never a non-finite best --------------------------------------


def test_a_diverged_run_keeps_only_finite_checkpoints(graph, data, tmp_path):
    out = tmp_path / "run"
    fit(graph, data, out=out, display=QUIET, epochs=1)
    with pytest.raises(NetspecError) as caught:
        fit(graph, data, resume=out, display=QUIET, epochs=4, lr=1e4, allow_changes=True)
    assert caught.value.errors[0].code in ("non-finite-loss", "non-finite-weights")
    for which in ("last", "best"):
        arrays, meta = checkpoint.load(out / "checkpoints" / which)
        assert all_finite(arrays), which
        assert meta["best"]["value"] is None or np.isfinite(meta["best"]["value"])
    strict_json(out / "history.json")


def test_a_nan_monitored_value_never_becomes_best(graph, data, tmp_path):
    from netspec.train.plan import plan_run
    from netspec.train.resume import open_session

    session = open_session(graph, data, plan_run(graph, {}), out=tmp_path / "run", display=QUIET)
    row = {"epoch": 1, "loss": 1.0, "val_loss": float("nan"), "time": 0.0}
    session.history.append(row)
    session.end_of_epoch_bookkeeping(row)
    assert session.best["value"] is None
    assert not (tmp_path / "run" / "checkpoints" / "best").exists()
    session.lock.release()


def test_non_finite_weights_are_never_written(graph, data, tmp_path):
    from netspec.train.plan import plan_run
    from netspec.train.resume import open_session

    session = open_session(graph, data, plan_run(graph, {}), out=tmp_path / "run", display=QUIET)
    session.save_last(reason="epoch")
    good, _ = checkpoint.load(tmp_path / "run" / "checkpoints" / "last")
    session.model_state = __import__("jax").tree_util.tree_map(lambda v: v * np.nan, session.model_state)
    with pytest.raises(NetspecError) as caught:
        session.save_last(reason="epoch")
    assert caught.value.errors[0].code == "non-finite-weights"
    assert "last good checkpoint is kept" in caught.value.errors[0].message
    kept, _ = checkpoint.load(tmp_path / "run" / "checkpoints" / "last")
    for name in good:
        np.testing.assert_array_equal(kept[name], good[name])
    session.lock.release()


def test_history_json_is_strict_json_even_with_nan():
    assert rundir.json_safe({"a": [float("nan"), float("-inf"), 1.0]}) == {"a": [None, None, 1.0]}


def test_a_lagging_history_json_is_rewritten_from_the_checkpoint_on_resume(graph, data, tmp_path):
    out = tmp_path / "run"
    fit(graph, data, out=out, display=QUIET, epochs=1)
    (out / "history.json").write_text("[]\n")  # killed between the checkpoint and the history
    fit(graph, data, resume=out, display=QUIET, epochs=1)
    assert [row["epoch"] for row in strict_json(out / "history.json")] == [1]


# --- DL4: SIGTERM and SIGHUP behave like Ctrl-C -----------------------------------------------


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_stop_signals_save_a_checkpoint_and_stop(graph, data, tmp_path, number):
    if threading.current_thread() is not threading.main_thread():  # handlers exist only there
        pytest.skip("signal handlers can only be installed in the main thread")
    out = tmp_path / "run"
    before = signal.getsignal(number)
    display = Hook(1, lambda: os.kill(os.getpid(), number))
    run = fit(graph, data, out=out, display=display, epochs=5)
    assert run.stopped == "interrupted" and run.signal == number
    meta = json.loads((out / "checkpoints" / "last" / "meta.json").read_text())
    assert meta["reason"] == "interrupted" and meta["epoch"] == 1
    assert signal.getsignal(number) == before  # the handlers are put back
    fit(graph, data, resume=out, display=QUIET, epochs=2)




def test_sigterm_on_the_command_line_exits_143_with_a_checkpoint(tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    out = tmp_path / "run"
    env = dict(os.environ, NETSPEC_JAX_CACHE=str(tmp_path / "jax-cache"))
    command = [sys.executable, "-c", CLI, "train", str(spec), "--data", "synthetic:3000", "--epochs", "100",
               "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines, deadline = [], time.monotonic() + 240
    for line in process.stdout:  # the first epoch row: the loop and its handlers are running
        lines.append(line)
        if line.startswith("1/100") or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=120)
    output = "".join(lines) + rest
    assert process.returncode == 143, output
    assert "SIGTERM" in output and "Traceback" not in output
    assert json.loads((out / "checkpoints" / "last" / "meta.json").read_text())["reason"] == "interrupted"


# --- DL3: one process per run folder -----------------------------------------------------------


def test_only_one_of_many_simultaneous_claims_gets_a_new_run_folder(tmp_path):
    out = tmp_path / "run"
    won, lost, start = [], [], threading.Barrier(16)

    def attempt():
        start.wait()
        try:
            won.append(claim_new(rundir.create(out)))
        except NetspecError as exc:
            lost.append(exc.errors[0].code)

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and len(lost) == 15
    assert set(lost) <= {"run-folder-exists"}
    won[0].release()


def test_a_run_that_is_training_cannot_be_resumed_or_reused(graph, data, tmp_path):
    out = tmp_path / "run"
    fit(graph, data, out=out, display=QUIET, epochs=1)
    held = lock_existing(out)  # as if another process were training it
    try:
        with pytest.raises(NetspecError) as caught:
            fit(graph, data, resume=out, display=QUIET, epochs=2)
        assert caught.value.errors[0].code == "run-folder-in-use"
        with pytest.raises(NetspecError) as caught:
            fit(graph, data, out=out, display=QUIET, epochs=1)
        assert caught.value.errors[0].code == "run-folder-exists"
    finally:
        held.release()
    fit(graph, data, resume=out, display=QUIET, epochs=2)  # free again once released


# --- full disk, unwritable or vanished folders --------------------------------------------------


def test_a_full_disk_ends_in_a_diagnostic_with_the_last_checkpoint_intact(graph, data, tmp_path, monkeypatch):
    out = tmp_path / "run"
    real_save, calls = checkpoint.save, []

    def full_after_the_first(*args, **kwargs):
        calls.append(args[0])
        if len(calls) > 2:  # epoch 1's last and best go through
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_save(*args, **kwargs)

    monkeypatch.setattr(checkpoint, "save", full_after_the_first)
    with pytest.raises(NetspecError) as caught:
        fit(graph, data, out=out, display=QUIET, epochs=3)
    problem = caught.value.errors[0]
    assert problem.code == "checkpoint-write-failed"
    assert "No space left on device" in problem.message and "--resume" in problem.hint
    monkeypatch.undo()
    _, meta = checkpoint.load(out / "checkpoints" / "last")
    assert meta["epoch"] == 1


def test_a_run_folder_deleted_during_training_is_not_recreated(graph, data, tmp_path):
    import shutil

    out = tmp_path / "run"
    with pytest.raises(NetspecError) as caught:
        fit(graph, data, out=out, display=Hook(1, lambda: shutil.rmtree(out)), epochs=3)
    assert caught.value.errors[0].code == "run-folder-gone"
    assert not out.exists()


@pytest.mark.parametrize("where", ["/proc/netspec-run", "dangling"])
def test_an_impossible_out_folder_is_a_diagnostic(graph, data, tmp_path, where):
    out = tmp_path / "dangling" if where == "dangling" else where
    if where == "dangling":
        os.symlink(tmp_path / "nowhere" / "deeper", out)
    with pytest.raises(NetspecError) as caught:
        fit(graph, data, out=out, display=QUIET, epochs=1)
    assert caught.value.errors[0].code in ("run-folder-unwritable", "run-folder-exists")


# --- resume is strict ------------------------------------------------------------------------------


@pytest.fixture
def trained_run(tmp_path):
    """(spec file, run folder) of one epoch trained through the command line."""
    from netspec import cli

    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    out = tmp_path / "run"
    assert cli.main(["train", str(spec), "--data", "synthetic:64", "--out", str(out), "--quiet", "--epochs", "1"]) == 0
    return spec, out


def resume(*argv, capsys) -> tuple[int, str]:
    from netspec import cli

    status = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_an_edited_run_spec_is_refused_with_a_diff(trained_run, capsys):
    _, out = trained_run
    (out / "spec.yaml").write_text(TINY.replace("K: 4", "K: 5"))
    status, output = resume("train", "--resume", out, "--epochs", "2", "--quiet", capsys=capsys)
    assert status == 1 and "is not the one this run was trained with" in output
    assert "filters=4" in output and "filters=5" in output  # the diff: - old layer, + new layer


def test_another_spec_with_resume_is_refused(trained_run, tmp_path, capsys):
    _, out = trained_run
    other = tmp_path / "other.yaml"
    other.write_text(TINY.replace("units: 3", "units: 3, name: head"))
    status, output = resume("train", other, "--resume", out, "--epochs", "2", "--quiet", capsys=capsys)
    assert status == 1 and "head" in output


def test_an_edited_train_section_is_refused(trained_run, capsys):
    _, out = trained_run
    (out / "spec.yaml").write_text(TINY.replace("lr: 0.05", "lr: 0.5"))
    status, output = resume("train", "--resume", out, "--epochs", "2", "--quiet", capsys=capsys)
    assert status == 1 and "optimizer.lr" in output and "0.5" in output


def test_changed_settings_need_allow_changes_and_are_recorded(trained_run, capsys):
    _, out = trained_run
    status, output = resume("train", "--resume", out, "--epochs", "2", "--l2", "0.01", "--quiet", capsys=capsys)
    assert status == 1 and "l2: 0.0 -> 0.01" in output and "--allow-changes" in output
    status, output = resume("train", "--resume", out, "--epochs", "2", "--l2", "0.01", "--allow-changes", "--quiet",
                            capsys=capsys)
    assert status == 0, output
    run = strict_json(out / "run.json")
    assert run["train"]["l2"] == 0.01 and run["train"]["epochs"] == 2
    (change,) = run["setting_changes"]
    assert change["from_epoch"] == 2 and change["changes"]["l2"] == [0.0, 0.01]
    assert change["changes"]["epochs"] == [1, 2]


@pytest.mark.parametrize("flags", [["--set", "metrics=[accuracy, top_k: 2]"], ["--batch-size", "8"],
                                   ["--standardize", "per_channel"], ["--val-split", "0.2"]])
def test_settings_the_checkpoint_depends_on_never_change(trained_run, capsys, flags):
    _, out = trained_run
    status, output = resume("train", "--resume", out, "--epochs", "2", "--allow-changes", "--quiet", *flags,
                            capsys=capsys)
    assert status == 1 and "internal error" not in output, output
    assert "keeps the settings" in output
