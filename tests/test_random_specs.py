"""Property: for random specs in the spec language, static facts == the compiled module.

Hypothesis writes small YAML specs (tiny sizes, so each example builds in a
fraction of a second): convolutions with various F/S/P/D (same, valid,
explicit, causal), pooling, batchnorm, dropout, activations, residual blocks
with automatic shortcuts, inception blocks with zero-padded concatenation,
causal stacks, repeats, templates, depthwise/separable convolutions, forks
merged by add/multiply/concat, and flatten/global-pool heads. The generator tracks sizes with
``netspec.infer.shapes`` so every spec it writes is valid; each one must then load
without errors, and ``jax.eval_shape`` of every layer must equal the static
shape, and the Param / BatchStat sizes the static counts.
"""

from __future__ import annotations

import os
from math import prod

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_build import assert_static_equals_compiled

from netspec.infer.shapes import output_length
from netspec.pipeline import load

ACTIVATIONS = ["relu", "tanh", "sigmoid", "gelu", "swish", {"leaky_relu": {"alpha": 0.2}}, {"elu": {"alpha": 0.5}},
               "relu6", "hard_sigmoid", "hard_swish", "softplus", "softsign", "selu", "exponential", "mish",
               {"relu": {"max_value": 6, "negative_slope": 0.1, "threshold": 0.5}}]
TEMPLATE = {"unit": {"params": {"K": 4, "S": 1}, "layers": [
    {"conv": {"K": "${K}", "F": 3, "S": "${S}", "P": "same", "bias": False}}, "batchnorm", "relu"]}}


class Net:
    """The spec being drawn: its items and the current (spatial sizes, channels)."""

    def __init__(self, sizes: list[int], channels: int):
        self.input = [*sizes, channels]
        self.sizes, self.channels = list(sizes), channels
        self.items: list = []
        self.uses_template = False


@st.composite
def padding(draw, rank: int):
    """P as the language spells it: a mode, one int, ints per axis, or (low, high) pairs per axis."""
    form = draw(st.sampled_from(["valid", "same", "int", "per_axis", "pairs"] + (["causal"] if rank == 1 else [])))
    if form == "int":
        return draw(st.integers(0, 2))
    if form == "per_axis":
        return draw(st.lists(st.integers(0, 2), min_size=rank, max_size=rank))
    if form == "pairs":
        return draw(st.lists(st.lists(st.integers(0, 2), min_size=2, max_size=2), min_size=rank, max_size=rank))
    return form


def window_sizes(sizes, size, stride, dilation, pad) -> list[int] | None:
    """Output sizes of a window with padding ``pad`` (any form above), or None if it does not fit."""
    if isinstance(pad, int):
        modes = [(pad, pad)] * len(sizes)
    elif isinstance(pad, list):
        modes = [tuple(p) if isinstance(p, list) else (p, p) for p in pad]
    else:
        modes = [pad] * len(sizes)
    out = [output_length(n, size, stride, dilation, mode) for n, mode in zip(sizes, modes)]
    return out if min(out) >= 1 else None


@st.composite
def add_conv(draw, net: Net):
    one_d = len(net.sizes) == 1
    size, stride, dilation = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    pad = draw(padding(len(net.sizes)))
    if pad == "causal":
        stride = 1
    out = window_sizes(net.sizes, size, stride, dilation, pad)
    if out is None:
        return
    filters = draw(st.integers(1, 4))
    args = {"K": filters, "F": size, "S": stride, "D": dilation, "P": pad}
    if draw(st.booleans()):
        args["activation"] = draw(st.sampled_from(["relu", "hard_swish", {"relu": {"max_value": 6}}]))
    if draw(st.integers(0, 3)) == 0:
        args["init"] = {"kernel": "orthogonal", "bias": {"constant": -2}}
    kind = "conv"
    if not one_d and pad != "causal" and draw(st.integers(0, 3)) == 0:
        kind = draw(st.sampled_from(["depthwise_conv", "separable_conv"]))
        if kind == "depthwise_conv":
            del args["K"]
            filters = net.channels
    net.items.append({kind: args})
    net.sizes, net.channels = out, filters


@st.composite
def add_upsampling(draw, net: Net):
    """upsample (nearest or bilinear, per-axis factors) or conv_transpose (valid, same or crops)."""
    rank = len(net.sizes)
    if max(net.sizes) > 24:
        return
    if draw(st.booleans()):
        factors = draw(st.lists(st.integers(1, 2), min_size=rank, max_size=rank))
        net.items.append({"upsample": {"size": factors, "interpolation": draw(st.sampled_from(["nearest", "bilinear"]))}})
        net.sizes = [n * f for n, f in zip(net.sizes, factors)]
        return
    size, stride = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    pad = draw(st.sampled_from(["valid", "same", [[0, size - 1]] * rank]))
    filters = draw(st.integers(1, 3))
    net.items.append({"conv_transpose": {"K": filters, "F": size, "S": stride, "P": pad}})
    if pad == "valid":
        net.sizes = [n * stride + max(size - stride, 0) for n in net.sizes]
    elif pad == "same":
        net.sizes = [n * stride for n in net.sizes]
    else:
        net.sizes = [(n - 1) * stride + 1 for n in net.sizes]
    net.channels = filters


@st.composite
def add_pool(draw, net: Net):
    size = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 3))
    pad = draw(st.sampled_from(["valid", "same"]))
    out = window_sizes(net.sizes, size, stride, 1, pad)
    if out is None:
        return
    net.items.append({"pool": {"F": size, "S": stride, "P": pad, "mode": draw(st.sampled_from(["max", "avg"]))}})
    net.sizes = out


@st.composite
def add_simple(draw, net: Net):
    item = draw(st.sampled_from(["batchnorm", "layernorm", "dropout", "activation", "zero_pad", "lrn", "rescaling",
                                 "normalization"]))
    if item == "dropout":
        net.items.append({"dropout": draw(st.sampled_from([0.1, 0.5]))})
    elif item == "activation":
        net.items.append(draw(st.sampled_from(ACTIVATIONS)))
    elif item == "zero_pad":
        net.items.append({"zero_pad": {"P": 1}})
        net.sizes = [n + 2 for n in net.sizes]
    elif item == "lrn":
        net.items.append({"lrn": {"size": 3}})
    elif item == "rescaling":
        net.items.append({"rescaling": {"scale": 0.5, "offset": draw(st.sampled_from([0, 1]))}})
    elif item == "normalization":
        fixed = {"mean": [0.5] * net.channels, "variance": 2.0}
        net.items.append({"normalization": draw(st.sampled_from([fixed, {}]))})
    else:
        net.items.append(item)


@st.composite
def add_residual(draw, net: Net):
    filters, stride = draw(st.integers(1, 4)), draw(st.integers(1, 2))
    body = [{"conv": {"K": filters, "F": 3, "S": stride, "P": "same"}}]
    if draw(st.booleans()):
        body.append("batchnorm")
    body += ["relu", {"conv": {"K": filters, "F": 3, "P": "same"}}]
    net.items.append({"residual": {"body": body, "shortcut": "auto", "activation": "relu"}})
    net.sizes, net.channels = [-(-n // stride) for n in net.sizes], filters


@st.composite
def add_inception(draw, net: Net):
    branches, sizes, channels = [], [], 0
    for _ in range(draw(st.integers(2, 3))):
        filters = draw(st.integers(1, 3))
        if draw(st.booleans()):
            size = draw(st.sampled_from([1, 3]))
            pad = draw(st.sampled_from(["valid", "same"]))
            out = window_sizes(net.sizes, size, 1, 1, pad)
            if out is None:
                continue
            branches.append([{"conv": {"K": filters, "F": size, "P": pad}}])
        else:
            out = list(net.sizes)
            branches.append([{"pool": {"F": 3, "S": 1, "P": "same"}}, {"conv": {"K": filters, "F": 1}}])
        sizes.append(out)
        channels += filters
    if len(branches) < 2:
        return
    net.items.append({"inception": {"branches": branches, "pad": "zero"}})
    net.sizes = [max(axis) for axis in zip(*sizes)]
    net.channels = channels


@st.composite
def add_fork(draw, net: Net):
    """Two branches from one named layer, merged by add, multiply or concat (``from:`` lists)."""
    index = len(net.items)
    filters = draw(st.integers(1, 3))
    merge = draw(st.sampled_from(["add", "multiply", "subtract", "maximum", "minimum", "average", "concat"]))
    net.items += [
        {"conv": {"K": filters, "F": 1, "name": f"fork_{index}"}},
        {"conv": {"K": filters, "F": 3, "P": "same", "name": f"left_{index}"}},
        {"conv": {"K": filters, "F": 1, "from": f"fork_{index}", "name": f"right_{index}"}},
        {merge: {"from": [f"left_{index}", f"right_{index}"]}},
    ]
    net.channels = 2 * filters if merge == "concat" else filters


@st.composite
def add_gate(draw, net: Net):
    """Squeeze-and-excitation: a (1, ..., 1, C) or (C,) gate broadcast over every position by a
    random elementwise merge; then, sometimes, a reshape of the whole map (one size -1)."""
    index = len(net.items)
    keepdims = draw(st.booleans())
    merge = draw(st.sampled_from(["multiply", "add", "subtract", "maximum", "minimum", "average"]))
    gate = [{"global_pool": {"keepdims": keepdims, "name": f"squeeze_{index}"}},
            {"dense": {"units": net.channels, "activation": "sigmoid", "name": f"excite_{index}"}}]
    if not keepdims and draw(st.booleans()):
        gate.append({"reshape": {"shape": [1] * len(net.sizes) + [-1], "name": f"unsqueeze_{index}"}})
    last = next(iter(gate[-1].values()))["name"]
    net.items += [{"relu": {"name": f"features_{index}"}}, *gate,
                  {merge: {"from": [f"features_{index}", last]}}]
    if draw(st.booleans()):
        net.items.append({"reshape": [-1, net.channels]})
        net.sizes = [prod(net.sizes)]


@st.composite
def add_causal(draw, net: Net):
    filters = draw(st.integers(1, 3))
    dilations = draw(st.lists(st.sampled_from([1, 2, 4]), min_size=1, max_size=3))
    net.items.append({"causal": {"K": filters, "F": 2, "dilations": dilations, "activation": "relu"}})
    net.channels = filters


@st.composite
def add_repeat(draw, net: Net):
    filters = draw(st.integers(1, 3))
    net.items.append({"repeat": {"times": draw(st.integers(1, 3)),
                                 "layers": [{"conv": {"K": filters, "F": 3, "P": "same"}}, "relu"]}})
    net.channels = filters


@st.composite
def add_template(draw, net: Net):
    filters, stride = draw(st.integers(1, 4)), draw(st.integers(1, 2))
    net.items.append({"unit": {"K": filters, "S": stride}})
    net.uses_template = True
    net.sizes, net.channels = [-(-n // stride) for n in net.sizes], filters


@st.composite
def spec_texts(draw) -> str:
    one_d = draw(st.booleans())
    sizes = [draw(st.integers(6, 16))] if one_d else [draw(st.integers(5, 12)) for _ in range(2)]
    net = Net(sizes, draw(st.integers(1, 3)))
    adders = [add_conv, add_conv, add_pool, add_simple, add_residual, add_inception, add_repeat, add_template,
              add_fork, add_gate, add_upsampling]
    if one_d:
        adders.append(add_causal)
    for _ in range(draw(st.integers(1, 6))):
        draw(draw(st.sampled_from(adders))(net))
    head = draw(st.sampled_from(["none", "flatten", "global_pool"]))
    if head != "none":
        net.items += [head, {"dense": {"units": draw(st.integers(1, 5))}}]
        if draw(st.booleans()):
            net.items.append("softmax")
    if not net.items:
        net.items.append("relu")
    document = {"name": "random_net", "input": net.input, "layers": net.items}
    if net.uses_template:
        document["blocks"] = TEMPLATE
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=None)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec_texts())
def test_random_specs_static_equals_compiled(text):
    assert_static_equals_compiled(load(text))


# --- check == build: whatever `netspec check` accepts must build (issue 13) ----------------------------

# Values that once passed the checker and broke the build, or might: non-finite and huge numbers,
# names that are Python keywords or emitted names, initialisers only a kernel can take.
HOSTILE_VALUES = [float("inf"), float("-inf"), float("nan"), 1e308, -1e-308, 0, -1, 10**12, 1.5, True, None,
                  "None", "true", "false", "True", "SeparableConv", "glorot_uniform", "he_normal", "orthogonal",
                  "ones", "uniform", "nnx", "self", "rngs", "x", "capture_Net", 'q"""', "a\\b", "\x00", "é", ""]
HOSTILE_KEYS = ["name", "epsilon", "alpha", "momentum", "init", "bias", "rate", "units", "K", "F", "S", "P",
                "activation", "description", "reference", "from"]
# A few hundred examples run in well under a minute; NETSPEC_FUZZ_EXAMPLES=20000 is the long run
# (docs/reliability.md).
CHECK_BUILD_EXAMPLES = int(os.environ.get("NETSPEC_FUZZ_EXAMPLES", "300"))


HOSTILE_NAMES = ["None", "true", "false", "True", "SeparableConv", "glorot_uniform", "ones", "uniform", "nnx",
                 "jnp", "self", "rngs", "x", "y", "capture_Net", "INPUT_SHAPE", "float", "class", "_", "a.b-c"]
HOSTILE_TEXTS = ['x""";open("PWNED","w");"""y', "a\\b", "\x00", "\u2028", "é ✓", "'" * 3, '"']


def layer_arguments(document) -> list[tuple[str, dict]]:
    """(kind, arguments) of every item with an argument mapping, however deeply nested."""
    found = []

    def visit(value):
        if isinstance(value, dict):
            if len(value) == 1:
                ((kind, arguments),) = value.items()
                if isinstance(arguments, dict):
                    found.append((kind, arguments))
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    visit(document.get("layers"))
    return found


def value_paths(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield path + (key,)
            yield from value_paths(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield path + (index,)
            yield from value_paths(item, path + (index,))


@st.composite
def mutated_spec_texts(draw) -> str:
    """A valid random spec with some names, texts or values replaced by hostile ones: most
    mutations keep it valid (so the build runs), some break it (so the checker must say where)."""
    document = yaml.safe_load(draw(spec_texts()))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["network", "layer-name", "text", "number", "init", "template", "value"]))
        layers = [(name, arguments) for name, arguments in layer_arguments(document)
                  if name not in ("residual", "inception", "repeat", "causal", "unit")]
        if kind == "network":
            document["name"] = draw(st.sampled_from(HOSTILE_NAMES))
        elif kind == "text":
            document[draw(st.sampled_from(["description", "reference"]))] = draw(st.sampled_from(HOSTILE_TEXTS))
        elif kind == "layer-name" and layers:
            draw(st.sampled_from(layers))[1]["name"] = draw(st.sampled_from(HOSTILE_NAMES))
        elif kind == "number" and isinstance(document.get("layers"), list):
            layer, key = draw(st.sampled_from([("batchnorm", "epsilon"), ("leaky_relu", "alpha"), ("elu", "alpha"),
                                               ("dropout", "rate"), ("batchnorm", "momentum")]))
            value = draw(st.sampled_from([float("inf"), float("nan"), 1e308, 1e-308, 0.5, 1e-12, 0]))
            document["layers"].insert(draw(st.integers(0, len(document["layers"]))), {layer: {key: value}})
        elif kind == "init":
            weighted = [arguments for name, arguments in layers if name in ("conv", "dense")]
            if weighted:
                draw(st.sampled_from(weighted))["init"] = {
                    "kernel": draw(st.sampled_from(["he_normal", "orthogonal", "ones", "lecun_uniform"])),
                    "bias": draw(st.sampled_from(["zeros", "ones", "uniform", "he_normal", "orthogonal"]))}
        elif kind == "template" and "blocks" in document:
            name, parameter = draw(st.sampled_from(HOSTILE_NAMES)), draw(st.sampled_from(HOSTILE_NAMES))
            text = yaml.safe_dump(document, sort_keys=False, default_flow_style=None)
            text = text.replace("unit:", f"'{name}':").replace("${K}", "${" + parameter + "}")
            document = yaml.safe_load(text.replace("K: ", f"'{parameter}': "))
        elif kind == "value":
            path = draw(st.sampled_from(list(value_paths(document))))
            parent = document
            for part in path[:-1]:
                parent = parent[part]
            parent[path[-1]] = draw(st.sampled_from(HOSTILE_VALUES))
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=None, allow_unicode=True)


@settings(max_examples=CHECK_BUILD_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(mutated_spec_texts())
def test_every_spec_that_checks_clean_builds(text):
    assert_check_clean_builds(text)


def assert_check_clean_builds(text: str) -> None:
    """A rejected spec says where; an accepted one compiles, constructs and runs (abstractly:
    ``jax.eval_shape`` traces the emitted code, initialisers included, without computing)."""
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from netspec.builder import compile_program
    from netspec.emit.program import emit_program
    from netspec.pipeline import analysis_of, check_text

    checked = check_text(text)
    for problem in checked.errors:
        assert problem.span is not None, problem
    if not checked.ok:
        return
    graph = checked.graph
    network = compile_program(emit_program(graph, analysis_of(graph))).network_class

    def construct_and_run():
        return network(rngs=nnx.Rngs(0))(jnp.zeros((1, *graph.input_shape)))

    output = jax.eval_shape(construct_and_run)
    assert output.shape == (1, *analysis_of(graph).output.output_shape)
