"""The distributed flags and JAX_* variables, checked before JAX is started (no processes here;
tests/test_distributed.py runs real ones)."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from netspec.cli.options import add_cluster_flags, options_from
from netspec.diagnostics import NetspecError
from netspec.spec.cluster import ClusterOptions
from netspec.train.agreement import fingerprint


def parse(*flags: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_cluster_flags(parser)
    return parser.parse_args(list(flags))


def test_no_flag_means_a_single_process_run():
    assert options_from(parse(), environ={"JAX_NUM_PROCESSES": "2"}) is None


def test_the_three_flags_make_an_explicit_cluster():
    options = options_from(parse("--coordinator", "10.0.0.1:1234", "--num-processes", "2", "--process-id", "1"),
                           environ={})
    assert options == ClusterOptions("10.0.0.1:1234", 2, 1)
    assert options.explicit


def test_distributed_alone_leaves_the_rest_to_auto_detection_or_the_environment():
    assert options_from(parse("--distributed"), environ={}) == ClusterOptions()
    options = options_from(parse("--distributed"), environ={"JAX_NUM_PROCESSES": "4", "JAX_PROCESS_ID": "3",
                                                            "JAX_COORDINATOR_ADDRESS": "head:5000"})
    assert (options.coordinator, options.num_processes, options.process_id) == (None, 4, 3)


@pytest.mark.parametrize("flags, environ, message", [
    (("--coordinator", "10.0.0.1"), {}, "--coordinator must be HOST:PORT, but got '10.0.0.1'"),
    (("--distributed",), {"JAX_COORDINATOR_ADDRESS": "head"}, "--coordinator must be HOST:PORT, but got 'head'"),
    (("--num-processes", "0"), {}, "--num-processes must be at least 1, but got 0"),
    (("--num-processes", "2", "--process-id", "2"), {}, "--process-id must be in 0..1, but got 2"),
    (("--process-id", "-1"), {}, "--process-id must be in 0..0, but got -1"),
    (("--distributed",), {"JAX_PROCESS_ID": "one"}, "$JAX_PROCESS_ID must be an integer, but got 'one'"),
    (("--distributed", "--heartbeat-timeout", "0"), {}, "--heartbeat-timeout must be at least 1 second, but got 0"),
])
def test_bad_cluster_arguments_are_diagnostics(flags, environ, message):
    with pytest.raises(NetspecError) as caught:
        options_from(parse(*flags), environ=environ)
    assert message in str(caught.value.diagnostics[0].message)
    assert caught.value.diagnostics[0].code == "bad-cluster"


class _Split:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)


class _Data:
    def __init__(self, x, y):
        self.train, self.val, self.test = _Split(x, y), None, _Split(x[:2], y[:2])


def test_the_data_fingerprint_sees_one_changed_value_and_nothing_else():
    x, y = np.arange(24, dtype=np.float32).reshape(6, 2, 2), np.arange(6)
    same = fingerprint(_Data(x.copy(), y.copy()))
    assert fingerprint(_Data(x, y)) == same
    assert same["counts"] == {"train": 6, "val": 0, "test": 2}
    changed = x.copy()
    changed[3, 1, 0] += 1
    assert fingerprint(_Data(changed, y))["sha256"] != same["sha256"]
