"""``netspec.build``: compile the emitted source into a live Flax NNX module.

The source is exactly what ``netspec export`` writes (:mod:`netspec.emit.program`);
it is compiled under the file name ``<netspec:NAME>`` and registered with
:mod:`linecache`, so tracebacks show the generated lines. This is the one
module of the build path that imports JAX, and it does so at import time:
the static path (check, summary, export) never imports it.
"""

from __future__ import annotations

import functools
import linecache
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import jax
from flax import nnx

from netspec.diagnostics import NetspecError, did_you_mean, error
from netspec.emit.lowering import Lowering
from netspec.emit.program import Program, emit_program
from netspec.ir import Graph


@dataclass
class Compiled:
    """A compiled program: its namespace (the generated module's globals) and
    the network class; capture functions are compiled on first use."""

    program: Program
    filename: str
    namespace: dict

    @property
    def network_class(self) -> type:
        return self.namespace[self.program.class_name]

    @functools.cached_property
    def capture_function(self) -> Callable:
        run_source(self.program.capture_source, self.filename + ":capture", self.namespace)
        return self.namespace[self.program.capture_function]


_PROGRAMS: weakref.WeakKeyDictionary[type, Compiled] = weakref.WeakKeyDictionary()


def run_source(source: str, filename: str, namespace: dict) -> None:
    """Compile and run ``source`` in ``namespace``, registering its lines for tracebacks."""
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(compile(source, filename, "exec"), namespace)  # our own emitted source, never user text


def _free_filename(name: str, source: str) -> str:
    """``<netspec:NAME>``, numbered when another build of that name has other source."""
    filename, count = f"<netspec:{name}>", 2
    while filename in linecache.cache and _cached_source(filename) != source:
        filename, count = f"<netspec:{name}#{count}>", count + 1
    return filename


def _cached_source(filename: str) -> str | None:
    """The source linecache holds for ``filename`` (None for a lazy entry not read yet)."""
    entry = linecache.cache[filename]
    return "".join(entry[2]) if len(entry) == 4 else None


_RECENT: OrderedDict[str, Compiled] = OrderedDict()
_RECENT_LIMIT = 64


def compile_program(program: Program) -> Compiled:
    """Compile ``program.source`` (builds of one source share the compiled class,
    so ``nnx.jit`` caches carry over between them)."""
    compiled = _RECENT.get(program.source)
    if compiled is None:
        filename = _free_filename(program.class_name, program.source)
        namespace = {"__name__": f"netspec.generated.{program.class_name}"}
        run_source(program.source, filename, namespace)
        compiled = Compiled(program, filename, namespace)
        _PROGRAMS[compiled.network_class] = compiled
        _RECENT[program.source] = compiled
        if len(_RECENT) > _RECENT_LIMIT:
            _RECENT.popitem(last=False)
    _RECENT.move_to_end(program.source)
    return compiled


def _graph(spec: Graph | str | Path) -> Graph:
    from netspec.pipeline import load

    return spec if isinstance(spec, Graph) else load(spec)


def build(spec: Graph | str | Path, *, seed: int = 0, lowering: str = "auto") -> nnx.Module:
    """Compile a spec (a Graph from ``netspec.load``, a path, or YAML text) into
    a freshly initialised ``nnx.Module``.

    ``model(x)`` maps ``(batch, *input_shape)`` to ``(batch, *output_shape)``.
    The model starts in training mode (Flax's convention: dropout active,
    batchnorm normalising with batch statistics and updating its running
    averages); ``model.eval()`` switches both to inference, ``model.train()``
    back. Weights are ``nnx.Param`` and batchnorm running statistics
    ``nnx.BatchStat``, so their sizes equal the static trainable and
    non-trainable counts. ``seed`` seeds two independent streams: ``params``
    (initialisation) and ``dropout``. ``lowering`` (``auto``, ``lax`` or
    ``im2col``) chooses how convs and pools are lowered on this backend
    (:mod:`netspec.emit.lowering`); it never changes the parameters. Raises
    :class:`~netspec.diagnostics.NetspecError` when the spec has errors.

    >>> model = build("name: tiny\\ninput: [4, 4, 1]\\nlayers: [flatten, {dense: {units: 2}}]\\n")
    >>> model(jax.numpy.ones((3, 4, 4, 1))).shape
    (3, 2)
    """
    from netspec.infer.limits import model_problems
    from netspec.pipeline import analysis_of

    graph = _graph(spec)
    analysis = analysis_of(graph)
    too_large = model_problems(analysis)
    if too_large:  # refuse from the static count rather than fail inside JAX's allocator
        raise NetspecError(too_large)
    compiled = compile_program(emit_program(graph, analysis, Lowering(lowering, jax.default_backend())))
    params_key, dropout_key = jax.random.split(jax.random.key(seed))
    return compiled.network_class(rngs=nnx.Rngs(params=params_key, dropout=dropout_key))


def compile_forward(model: nnx.Module) -> Callable[[jax.Array], jax.Array]:
    """A jitted ``forward(x) == model(x)``.

    The model's state goes through ``nnx.jit``, so updates made by the call
    (batchnorm running statistics in training mode, dropout keys) are
    written back to ``model``; switching ``model.train()`` / ``model.eval()``
    retraces once per mode.

    >>> model = build("name: tiny\\ninput: [4, 4, 1]\\nlayers: [flatten, {dense: {units: 2}}]\\n")
    >>> forward = compile_forward(model)
    >>> forward(jax.numpy.ones((3, 4, 4, 1))).shape
    (3, 2)
    """

    @nnx.jit
    def forward(module: nnx.Module, x: jax.Array) -> jax.Array:
        return module(x)

    return functools.partial(forward, model)


def _compiled_of(model: nnx.Module) -> Compiled:
    compiled = _PROGRAMS.get(type(model))
    if compiled is None:
        raise TypeError(f"{type(model).__name__} was not built by netspec.build")
    return compiled


def program_of(model: nnx.Module) -> Program:
    """The emitted program a model built by :func:`build` runs."""
    return _compiled_of(model).program


def layer_module(model: nnx.Module, name: str) -> nnx.Module:
    """The sub-module holding the weights or state of layer ``name`` (a node
    name), e.g. the ``nnx.Conv`` of a conv layer inside a residual block.

    >>> model = build("name: tiny\\ninput: [4, 4, 1]\\nlayers: [flatten, {dense: {units: 2, name: out}}]\\n")
    >>> layer_module(model, "out").kernel[...].shape
    (16, 2)
    """
    modules = program_of(model).modules
    if name not in modules:
        captures = program_of(model).captures
        problem = ("has no weights or state" if name in captures else "is not a layer of the network")
        raise NetspecError([error("unknown-layer", f"'{name}' {problem}", hint=did_you_mean(name, modules))])
    module = model
    for attribute in modules[name]:
        module = getattr(module, attribute)
    return module


def layer_outputs(model: nnx.Module, x: jax.Array, names: Sequence[str] | None = None) -> dict[str, jax.Array]:
    """The values of the named layers (node names, as ``netspec summary`` lists
    them; all layers when ``names`` is None) for input ``x`` of shape
    ``(batch, *input_shape)``: each ``(batch, *that layer's output shape)``.

    Runs the same statements as ``model(x)`` (the emitted capture functions
    ``sow`` each value as ``nnx.Intermediate``), in the model's current
    mode. Works under ``jax.jit`` / ``nnx.eval_shape``.

    >>> model = build("name: tiny\\ninput: [4, 4, 1]\\nlayers: [flatten, {dense: {units: 2, name: out}}]\\n")
    >>> {k: v.shape for k, v in layer_outputs(model, jax.numpy.ones((3, 4, 4, 1)), ["out"]).items()}
    {'out': (3, 2)}
    """
    compiled = _compiled_of(model)
    captures = compiled.program.captures
    wanted = list(captures) if names is None else list(names)
    for name in wanted:
        if name not in captures:
            raise NetspecError([error("unknown-layer", f"the network has no layer named '{name}'",
                                      hint=did_you_mean(name, captures))])
    _, intermediates = nnx.capture(compiled.capture_function, nnx.Intermediate)(model, x)
    values = nnx.to_pure_dict(intermediates)
    found: dict[str, jax.Array] = {}
    for name in wanted:
        path, key = captures[name]
        if not key:  # the input node
            found[name] = x
            continue
        scope = values
        for part in path:
            scope = scope[part]
        found[name] = scope[key][0]
    return found
