"""Receptive-field geometry: Google's published table, the derivation of padding
differences, alignment warnings at merges, causal look-back, and a brute-force
check that every output cell's field is exactly the input cells it depends on."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from netspec.infer.geometry import AxisField, geometry, last_feature_map
from netspec.pipeline import check_file, check_text

ROOT = Path(__file__).resolve().parent.parent

# Google's receptive_field library, RECEPTIVE_FIELD_TABLE.md (224x224 input, last
# convolutional feature map): size, effective stride, effective padding.
GOOGLE_TABLE = {
    "vgg16": (212, 32, 90),
    "resnet50": (483, 32, 239),
    "resnet101": (1027, 32, 511),
    "resnet152": (1507, 32, 751),
    "inception_v3": (1311, 32, 618),
    "mobilenet": (315, 32, 126),  # MobileNet v1, alpha 1.0
}
# netspec's ResNets follow Keras: the stem pads (1, 1) before its 3x3/2 max pool
# (pool1_pad), where TF-slim pools with SAME, which at 112x112 pads (0, 1). One
# more cell of low padding at effective stride 2 moves the field 2 input cells:
# netspec's effective padding is Google's + 2 (see test_resnet_padding_difference_is_the_stem_pool).
KERAS_STEM_SHIFT = 2
PADDING_OF_THIS_SPEC = {"resnet50": 239 + KERAS_STEM_SHIFT, "resnet101": 511 + KERAS_STEM_SHIFT,
                        "resnet152": 751 + KERAS_STEM_SHIFT}


def _feature_map_field(path: Path) -> tuple[str, tuple[AxisField, ...]]:
    checked = check_file(path)
    assert checked.ok, checked.diagnostics
    name = last_feature_map(checked.analysis)
    return name, geometry(checked.analysis)[name]


@pytest.mark.parametrize("spec", sorted(GOOGLE_TABLE))
def test_googles_table_is_reproduced(spec):
    path = ROOT / "specs" / f"{spec}.yaml"
    size, stride, padding = GOOGLE_TABLE[spec]
    name, field = _feature_map_field(path)
    for axis in field:  # both axes
        assert (axis.size, axis.stride) == (size, stride), name
        assert axis.padding == PADDING_OF_THIS_SPEC.get(spec, padding), name


@pytest.mark.parametrize("spec", ["resnet50", "resnet101", "resnet152"])
def test_resnet_padding_difference_is_the_stem_pool(spec):
    """With TF-slim's stem pool (SAME, no explicit pad) netspec gives Google's padding exactly."""
    text = (ROOT / "specs" / f"{spec}.yaml").read_text()
    keras_stem = "  - zero_pad: {P: 1, name: pool1_pad}\n  - pool: {F: 3, S: 2, name: pool1_pool}\n"
    assert keras_stem in text
    slim = text.replace(keras_stem, "  - pool: {F: 3, S: 2, P: same, name: pool1_pool}\n")
    checked = check_text(slim, f"{spec}-slim.yaml")
    assert checked.ok, checked.diagnostics
    name = last_feature_map(checked.analysis)
    axis = geometry(checked.analysis)[name][0]
    assert (axis.size, axis.stride, axis.padding) == GOOGLE_TABLE[spec]


def test_vgg16_block_outputs_by_hand():
    checked = check_file(ROOT / "specs" / "vgg16.yaml")
    found = geometry(checked.analysis)
    first_conv = next(n.name for n in checked.graph.nodes if n.op == "conv")
    assert found[first_conv][0] == AxisField(3, 1, 1)
    # a 3x3 conv with P=1 at stride j adds 2j to the size and j to the padding; a 2x2/2 pool adds j and 0
    assert found["block1_pool"][0] == AxisField(6, 2, 2)


def test_causal_stack_sees_only_the_past():
    checked = check_file(ROOT / "specs" / "tcn.yaml")
    field = geometry(checked.analysis)["forecast"]
    (axis,) = field
    assert (axis.size, axis.lookback, axis.lookahead) == (64, 63, 0)
    assert axis.window(10) == (10 - 63, 10)  # output step 10 sees steps -53 .. 10 (negatives are padding)


def _spec(layers: str, input_shape: str = "[32, 32, 3]") -> str:
    return f"name: t\ninput: {input_shape}\nlayers:\n{layers}"


def test_aligned_branches_do_not_warn():
    text = _spec("  - inception:\n      branches:\n        - [conv: {K: 4, F: 1}]\n"
                 "        - [conv: {K: 4, F: 3, P: same}]\n        - [conv: {K: 4, F: 5, P: same}]\n")
    checked = check_text(text, "t.yaml")
    assert checked.ok and not checked.diagnostics


def test_causal_residual_adds_are_aligned_at_the_present_step():
    """WaveNet adds a dilated causal conv's output to its input: both end at the output's own
    time step (no look-ahead), which is the intended alignment, not a misaligned merge."""
    text = _spec("  - conv: {K: 4, F: 2, P: causal, name: stem}\n  - conv: {K: 4, F: 2, D: 4, P: causal, name: a}\n"
                 "  - add: {from: [stem, a], name: merged}\n", "[64, 1]")
    checked = check_text(text, "t.yaml")
    assert checked.ok and not checked.diagnostics
    assert not check_file(ROOT / "examples" / "wavenet_gated.yaml").diagnostics
    # a centred (non-causal) branch beside a causal one still warns
    centred = _spec("  - conv: {K: 4, F: 3, P: same, name: a}\n  - conv: {K: 4, F: 3, P: causal, from: input, "
                    "name: b}\n  - add: {from: [a, b], name: merged}\n", "[64, 1]")
    assert [d.code for d in check_text(centred, "t.yaml").diagnostics] == ["misaligned-merge"]


def test_even_kernel_with_same_padding_is_misaligned():
    text = _spec("  - conv: {K: 4, F: 3, P: same, name: a}\n  - conv: {K: 4, F: 2, P: same, from: input, name: b}\n"
                 "  - add: {from: [a, b], name: merged}\n")
    checked = check_text(text, "t.yaml")
    (warned,) = checked.diagnostics
    assert warned.code == "misaligned-merge" and not warned.is_error
    assert warned.span.line == 6 and "'merged'" in warned.message and "centres" in warned.message


def test_different_strides_at_a_zero_padded_concat_are_misaligned():
    text = _spec("  - conv: {K: 4, F: 3, S: 2, P: same, name: a}\n  - conv: {K: 4, F: 3, P: same, from: input, "
                 "name: b}\n  - concat: {from: [a, b], pad: zero}\n")
    checked = check_text(text, "t.yaml")
    assert [d.code for d in checked.diagnostics] == ["misaligned-merge"]
    assert "effective strides 2 and 1" in checked.diagnostics[0].message


def test_misaligned_merge_can_be_allowed():
    text = _spec("  - conv: {K: 4, F: 3, P: same, name: a}\n  - conv: {K: 4, F: 2, P: same, from: input, name: b}\n"
                 "  - add: {from: [a, b], allow: misaligned-merge}\n")
    assert check_text(text, "t.yaml").diagnostics == ()


# --- brute force: the cells each output really depends on --------------------------------------------------


def _dependence(layers: list[tuple[int, int, int, int, int]], length: int, index: int) -> tuple[int, int]:
    """First and last input position (padding included, negative before 0) that output ``index``
    of a chain of 1-D windows (size, stride, dilation, pad_low, pad_high) reads."""
    cells = {index}
    for size, stride, dilation, low, _high in reversed(layers):
        cells = {i * stride - low + tap * dilation for i in cells for tap in range(size)}
    return min(cells), max(cells)


@pytest.mark.parametrize("seed", range(25))
def test_fields_equal_the_brute_force_dependence(seed):
    rng = random.Random(seed)
    length, items, windows = 64, [], []
    current = length
    for _ in range(rng.randint(1, 5)):
        size, stride, dilation = rng.randint(1, 4), rng.randint(1, 3), rng.randint(1, 2)
        low, high = rng.randint(0, 2), rng.randint(0, 2)
        extent = (size - 1) * dilation + 1
        out = (current + low + high - extent) // stride + 1
        if out < 2:
            break
        items.append(f"  - conv: {{K: 2, F: {size}, S: {stride}, D: {dilation}, P: [[{low}, {high}]], "
                     "allow: unseen-input}\n")
        windows.append((size, stride, dilation, low, high))
        current = out
    if not items:
        pytest.skip("no window fitted")
    checked = check_text(_spec("".join(items), "[64, 1]"), "t.yaml")
    assert checked.ok, checked.diagnostics
    last = checked.graph.nodes[-1].name
    (axis,) = geometry(checked.analysis)[last]
    for index in range(current):
        assert axis.window(index) == _dependence(windows, length, index)
