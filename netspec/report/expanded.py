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

from netspec.ir import Graph, Node, UpsampleAttrs

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
    return {"kernel": _init_value(kernel), "bias": _init_value(bias)}


def _init_value(name: str):
    """An initialiser as the spec writes it: ``constant(-2.0)`` (the IR's name) is ``{constant: -2.0}``."""
    if name.startswith("constant(") and name.endswith(")"):
        return {"constant": float(name[len("constant("):-1])}
    return name


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
    if op == "conv_transpose":
        return op, {"K": a.filters, "F": _axes(a.kernel), "S": _axes(a.strides), "P": _padding(a.padding),
                    "bias": a.use_bias} | _optional(init=_init(a))
    if isinstance(a, UpsampleAttrs):
        return op, {"size": _axes(a.size), "interpolation": a.interpolation}
    if op == "global_pool":
        return op, {"mode": a.mode} | ({"keepdims": True} if a.keepdims else {})
    if op == "reshape":
        return op, {"shape": list(a.shape)}
    if op == "rescaling":
        return op, {"scale": a.scale, "offset": a.offset}
    if op == "normalization":  # None: adapted by netspec train, so left out
        return op, _optional(mean=_numbers(a.mean), variance=_numbers(a.variance))
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


def _numbers(values: tuple[float, ...] | None) -> list[float] | None:
    return None if values is None else list(values)


def _optional(**values) -> dict:
    return {key: value for key, value in values.items() if value is not None}


def expanded_spec(graph: Graph) -> dict:
    """The network of ``graph`` as the data of a flat spec."""
    layers = []
    previous = "input"
    preprocess = None
    for node in graph.nodes[1:]:
        if node.op == "preprocess":  # the spec's top-level preprocess:, not an item
            preprocess, previous = node.attrs.mode, node.name
            continue
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
    if preprocess is not None:
        spec["preprocess"] = preprocess
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
