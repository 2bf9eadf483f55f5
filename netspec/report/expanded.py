"""The fully expanded spec: a resolved network written back as a flat spec (YAML).

Templates, repeats, residual/inception/causal blocks and the chosen scale
are gone: one item per primitive layer, every hyper-parameter explicit
(kernel, stride, padding as ``lax`` applies it, dilation, bias, activation,
initialisers), ``from:`` wherever a layer does not take the previous one.
Block paths become names with ``.`` for ``/`` (``conv2.repeat_1.residual_1.conv2d_1``),
since ``/`` is reserved for paths. Checking the output gives the same
network: same shapes, the same parameter counts (``tests/test_expand.py``).
The ``train:``, ``budget:`` and ``scales:`` sections are not part of the
network and are left out.
"""

from __future__ import annotations

from netspec.ir import Graph, Node

_DEFAULT_INIT = ("glorot_uniform", "zeros")


def flat_name(name: str) -> str:
    """A node name as a spec ``name:`` (``/`` is only for paths)."""
    return name.replace("/", ".")


def _axes(values: tuple[int, ...]) -> int | list[int]:
    return values[0] if len(set(values)) == 1 else list(values)


def _padding(padding) -> str | list:
    if isinstance(padding, str):
        return padding
    return [[low, high] for low, high in padding]


def _activation(activation):
    if activation is None or activation.name == "linear":
        return None
    if activation.alpha is None:
        return activation.name
    return {activation.name: {"alpha": activation.alpha}}


def _init(attrs) -> dict | None:
    kernel, bias = attrs.kernel_init, attrs.bias_init
    if (kernel, bias) == _DEFAULT_INIT:
        return None
    return {"kernel": kernel, "bias": bias}


def _window(attrs, kernel_key: str = "F") -> dict:
    kernel = attrs.window if hasattr(attrs, "window") else attrs.kernel
    args = {kernel_key: _axes(kernel), "S": _axes(attrs.strides), "P": _padding(attrs.padding)}
    dilation = getattr(attrs, "dilation", None)
    if dilation is not None and any(d != 1 for d in dilation):
        args["D"] = _axes(dilation)
    return args


def _item(node: Node) -> tuple[str, dict]:
    a, op = node.attrs, node.op
    if op in ("conv", "separable_conv", "depthwise_conv"):
        args = ({"K": a.filters} if op != "depthwise_conv" else {}) | _window(a)
        if op == "conv" and a.groups != 1:
            args["groups"] = a.groups
        if op != "conv" and a.depth_multiplier != 1:
            args["depth_multiplier"] = a.depth_multiplier
        args["bias"] = a.use_bias
        return op, args | _optional(activation=_activation(a.activation), init=_init(a))
    if op == "pool":
        return op, {"mode": a.mode} | _window(a)
    if op == "global_pool":
        return op, {"mode": a.mode}
    if op == "dense":
        return op, {"units": a.units, "bias": a.use_bias} | _optional(activation=_activation(a.activation),
                                                                      init=_init(a))
    if op == "dropout":
        return op, {"rate": a.rate}
    if op in ("batchnorm", "layernorm"):
        extra = {"momentum": a.momentum} if op == "batchnorm" else {}
        return op, extra | {"epsilon": a.epsilon, "center": a.center, "scale": a.scale}
    if op == "lrn":
        return op, {"size": a.size, "alpha": a.alpha, "beta": a.beta, "bias": a.bias}
    if op == "zero_pad":
        return op, {"P": _padding(a.padding)}
    if op == "activation":
        activation = a.activation
        if activation.alpha is None:
            return activation.name, {}
        return activation.name, {"alpha": activation.alpha}
    if op == "concat":
        return op, {"pad": a.pad} if a.pad != "error" else {}
    return op, {}  # add, multiply, flatten


def _optional(**values) -> dict:
    return {key: value for key, value in values.items() if value is not None}


def expanded_spec(graph: Graph) -> dict:
    """The network of ``graph`` as the data of a flat spec."""
    layers = []
    previous = "input"
    for node in graph.nodes[1:]:
        kind, args = _item(node)
        args = {"name": flat_name(node.name), **args}
        if node.allow:
            args["allow"] = sorted(node.allow)
        if node.inputs != (previous,):
            sources = [flat_name(name) for name in node.inputs]
            args["from"] = sources[0] if len(sources) == 1 else sources
        layers.append({kind: args})
        previous = node.name
    spec: dict = {"name": graph.name}
    if graph.description:
        spec["description"] = graph.description
    if graph.reference:
        spec["reference"] = graph.reference
    spec["input"] = list(graph.input_shape)
    spec["layers"] = layers
    if graph.output != graph.nodes[-1].name:
        spec["output"] = flat_name(graph.output)
    return spec


def expanded_yaml(graph: Graph, header: str | None = None) -> str:
    """:func:`expanded_spec` as YAML text, one layer per line."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def mapping(dumper, data):  # the layer arguments on one line, the spec's own keys in blocks
        values = list(data.values())
        is_item = len(values) == 1 and isinstance(values[0], dict) and "name" in values[0]
        flow = not is_item and "layers" not in data
        return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)

    _Dumper.add_representer(dict, mapping)
    text = yaml.dump(expanded_spec(graph), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=200,
                     default_flow_style=None)
    return (header or "") + text
