"""`freeze: {up_to: BLOCK}`: a block's name freezes every layer up to the block's last one."""

from __future__ import annotations

import pytest

from netspec import load
from netspec.diagnostics import NetspecError
from netspec.train.transfer import FreezeSpec, frozen_layers

SPEC = """\
name: blocks
input: [8, 8, 1]
layers:
  - conv: {K: 2, F: 3, P: same, name: stem}
  - residual: {name: block1, body: [conv: {K: 2, F: 3, P: same}, conv: {K: 2, F: 3, P: same}]}
  - residual: {name: block2, body: [conv: {K: 2, F: 3, P: same}]}
  - flatten
  - dense: {units: 2}
"""


def test_up_to_a_block_freezes_through_its_last_layer():
    graph = load(SPEC)
    assert frozen_layers(graph, FreezeSpec(up_to="block1")) == [
        "stem", "block1/conv2d_1", "block1/conv2d_2", "block1/add_1"]
    assert frozen_layers(graph, FreezeSpec(up_to="block1/conv2d_1")) == ["stem", "block1/conv2d_1"]


def test_an_unknown_block_suggests_the_blocks():
    with pytest.raises(NetspecError) as caught:
        frozen_layers(load(SPEC), FreezeSpec(up_to="blok1"))
    problem = caught.value.diagnostics[0]
    assert "no layer or block 'blok1'" in problem.message and problem.hint == "did you mean 'block1'?"
    with pytest.raises(NetspecError) as caught:
        frozen_layers(load(SPEC), FreezeSpec(up_to="zzzz"))
    assert caught.value.diagnostics[0].hint == "up_to takes a layer or a block; blocks: block1, block2"


def test_a_spec_freezing_up_to_a_block_loads():
    graph = load(SPEC + "train:\n  freeze: {up_to: block2}\n")
    assert graph.train.freeze.up_to == "block2"
