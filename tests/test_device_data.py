"""The resident training split gives the host path's batches, in its order; evaluation batches
sized by memory give the same figures as training-sized ones."""

from __future__ import annotations

import numpy as np
import pytest
from small_nets import PARTIAL_BATCH_SPEC as SPEC
from small_nets import partial_batch_data

import netspec
from netspec.train import device_data, fit
from netspec.train.batches import epoch_order, train_batches
from netspec.train.plan import plan_run
from netspec.train.progress import Display
from netspec.train.resume import open_session

QUIET = Display(quiet=True)


@pytest.fixture(scope="module")
def graph():
    return netspec.load(SPEC)


@pytest.fixture(scope="module")
def data():
    return partial_batch_data()


def host_path(monkeypatch):
    """Make the resident split's budget zero, so training takes the host path."""
    monkeypatch.setattr(device_data, "resident_budget", lambda devices: 0)


def without_timing(history):
    return [{k: v for k, v in row.items() if k not in ("time", "images_per_s")} for row in history]


def test_device_batches_are_the_host_batches_in_the_same_order(graph, data):
    session = open_session(graph, data, plan_run(graph, {"seed": 3}), save=False, display=QUIET)
    x, y = data.train.x, data.train.y
    for epoch, start in ((0, 0), (1, 5)):
        order = epoch_order(3, epoch, len(x))
        batches, put = session.train_feed(order, start_step=start)
        assert session.resident is not None  # the tiny split fits: the device path is taken
        expected = list(train_batches(x, y, order, 16, start_step=start, drop_last=False))
        got = [put(index) for index in batches]
        assert len(got) == len(expected) == 12 - start and len(got[-1][0]) == 4  # the partial last batch too
        for (xb, yb), (want_x, want_y) in zip(got, expected):
            np.testing.assert_array_equal(np.asarray(xb), want_x)
            np.testing.assert_array_equal(np.asarray(yb), want_y)
            assert xb.sharding == session.placement.split


def test_training_from_the_resident_split_equals_training_from_the_host(graph, data, monkeypatch):
    device = fit(graph, data, save=False, display=QUIET, augment={"flip_horizontal": True})
    assert device.session.resident is not None
    host_path(monkeypatch)
    host = fit(graph, data, save=False, display=QUIET, augment={"flip_horizontal": True})
    assert host.session.resident is None
    assert without_timing(device.history) == without_timing(host.history)
    np.testing.assert_array_equal(device.predict(data.val.x), host.predict(data.val.x))


def test_a_split_over_the_budget_stays_on_the_host(graph, data):
    session = open_session(graph, data, plan_run(graph, {}), save=False, display=QUIET)
    budget = device_data.resident_budget(session.placement.devices)
    assert budget > data.train.x.nbytes + data.train.y.nbytes
    big = np.zeros((budget // (8 * 8 * 4) + 1, 8, 8, 1), np.float32)
    assert not device_data.ResidentSplit.fits(session.placement, big, np.zeros(len(big), np.int32))


def test_large_evaluation_batches_give_the_same_figures(graph, data):
    run = fit(graph, data, save=False, display=QUIET, epochs=1)
    session = run.session
    assert session.eval_batch_limit == device_data.EVAL_BATCH_CAP  # a tiny network: capped, not by memory
    large = session.evaluate(data.val.x, data.val.y)
    large_predictions = session.predict(data.train.x)
    session.eval_batch_limit = 16  # the training batch, as evaluation used before
    small = session.evaluate(data.val.x, data.val.y)
    assert large.keys() == small.keys()
    for key in large:
        assert large[key] == pytest.approx(small[key], rel=1e-5, abs=1e-6), key
    np.testing.assert_allclose(large_predictions, session.predict(data.train.x), rtol=1e-5, atol=1e-6)


def test_the_evaluation_batch_follows_the_memory_budget(graph, monkeypatch):
    analysis = graph.meta["analysis"]
    per_example = 4 * (sum(f.activation_size for f in analysis.layers.values()) + 8 * 8)
    devices = [object()]
    monkeypatch.setattr(device_data, "eval_budget", lambda devices: 100 * per_example)
    assert device_data.eval_batch_limit(analysis, 16, devices) == 96  # 100 fit: 6 training batches
    monkeypatch.setattr(device_data, "eval_budget", lambda devices: 3 * per_example)
    assert device_data.eval_batch_limit(analysis, 16, devices) == 16  # never below one training batch
