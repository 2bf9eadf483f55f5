"""Every op is whole: the op table (netspec.ops) against each pass's rule table.

netspec.ops' docstring lists the one place per pass a new op touches; each
test here fails when one of those places is missing.
"""

from __future__ import annotations

import dataclasses
import re
from functools import cache

import pytest
from conftest import ROOT, SPECS

from netspec.emit.layers import EMIT_RULES
from netspec.infer.rules import RULES
from netspec.ir import Attrs
from netspec.ops import OPS
from netspec.pipeline import load
from netspec.resolve.lower import LOWERING, Values, primitive
from netspec.spec.layers import LAYER_ARGS


def test_every_op_has_an_attrs_class_of_the_ir():
    assert {op.attrs for op in OPS.values()} == set(Attrs.__args__)
    assert all(dataclasses.is_dataclass(op.attrs) for op in OPS.values())


def test_every_spec_layer_kind_lowers():
    assert set(LOWERING) == set(LAYER_ARGS)


@pytest.mark.parametrize("kind", sorted(LAYER_ARGS))
def test_each_kind_lowers_to_an_op_of_the_table(kind):
    args = LAYER_ARGS[kind].model_validate(_minimal_arguments(kind))
    problems: list = []
    op, attrs = primitive(kind, args, 2, Values(None, {}, problems.append), ("layers", 0, kind))
    assert not problems
    assert op in OPS and isinstance(attrs, OPS[op].attrs)


def test_an_unknown_kind_is_an_internal_error_not_an_activation():
    args = LAYER_ARGS["relu"].model_validate({})
    with pytest.raises(LookupError, match="'cropping' has no lowering"):
        primitive("cropping", args, 2, Values(None, {}, print), ("layers", 0, "cropping"))


def test_every_op_has_an_inference_rule():
    assert set(RULES) == set(OPS)
    for name, rule in RULES.items():
        assert callable(rule.shape) and callable(rule.params) and callable(rule.macs) and callable(rule.field), name


def test_every_op_has_an_emit_rule():
    assert set(EMIT_RULES) == set(OPS)


@cache
def ops_in_the_zoo() -> set[str]:
    return {node.op for path in SPECS for node in load(path).nodes}


def test_every_op_is_built_and_compared_with_its_static_shapes():
    """tests/test_build.py checks static == compiled on every spec in SPECS, so each op
    needs a spec under specs/ or examples/ that uses it."""
    assert set(OPS) - ops_in_the_zoo() == set()


def test_every_op_has_a_type_label():
    """The label column: every op in the zoo labels its nodes, and a label shows the op, not a
    placeholder (an op's attrs missing from its label would raise or print None)."""
    from netspec.report.summary import type_label

    labelled: set[str] = set()
    for path in SPECS:
        for node in load(path).nodes:
            label = type_label(node)
            assert label and "None" not in label, (node.name, label)
            labelled.add(node.op)
    assert labelled == set(OPS)
    assert all(callable(op.label) for op in OPS.values())


def test_every_layer_kind_has_a_line_in_the_language_reference():
    text = (ROOT / "docs" / "language.md").read_text()
    missing = [kind for kind in LAYER_ARGS if not re.search(rf"`{kind}\b", text)]
    assert not missing, f"docs/language.md does not mention {missing}"


def test_traits_are_consistent_with_the_attrs():
    for name, op in OPS.items():
        fields = {f.name for f in dataclasses.fields(op.attrs)}
        assert op.strided == ("strides" in fields), name
        assert op.fuses_activation == ("activation" in fields and name != "activation"), name
        assert not op.windowed or {"strides", "padding"} <= fields, name


def _minimal_arguments(kind: str) -> dict:
    required = {"conv": {"K": 4, "F": 3}, "separable_conv": {"K": 4, "F": 3}, "depthwise_conv": {"F": 3},
                "pool": {"F": 2}, "dense": {"units": 3}, "zero_pad": {"P": 1}, "dropout": {"rate": 0.5},
                "activation": {"function": "relu"}, "reshape": {"shape": [-1]}, "rescaling": {"scale": 2},
                "conv_transpose": {"K": 4, "F": 3}, "upsample": {"size": 2}}
    return required.get(kind, {})
