"""A trained run opened for looking inside: the spec, its weights, and what the
network saw (the run's standardisation).

Training builds the network without its final softmax/sigmoid and trains on
logits (:mod:`netspec.train.head`); both graphs hold exactly the same
parameters under the same names. :func:`with_weights` re-assembles either
graph around a trained state, so ``explain`` gets logits while ``activations``
and ``features`` see every layer of the spec as written. Checkpoints are read
with the training code's own :func:`netspec.train.resume.restore`.

Imports JAX: the commands import this module inside ``run`` only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from flax import nnx

from netspec.ir import Graph

if TYPE_CHECKING:  # the session module imports JAX and Optax; only its type is needed here
    from netspec.train.session import Session


def with_weights(graph: Graph, state) -> nnx.Module:
    """A module of ``graph`` (inference mode) holding ``state`` (``nnx.state`` of a
    module with the same layers, e.g. the same spec with or without its final
    softmax). Nothing is initialised: the structure comes from ``nnx.eval_shape``."""
    from netspec.builder import build

    abstract = nnx.eval_shape(lambda: build(graph))
    abstract.eval()
    graphdef, _ = nnx.split(abstract)
    return nnx.merge(graphdef, state)


def without_head(model: nnx.Module, graph: Graph) -> tuple[nnx.Module, str | None]:
    """``(logits model, head)``: ``model`` (built from ``graph``) minus its final
    softmax/sigmoid, sharing its weights; ``head`` names what was removed (None
    when the network has no such output activation and ``model`` is returned)."""
    from netspec.train.head import split_output_activation

    logits_graph, head = split_output_activation(graph)
    if head is None:
        return model, None
    return with_weights(logits_graph, nnx.state(model)), head


@dataclass
class Trained:
    """A trained run: ``graph`` is the spec as written, ``session`` the restored
    training session (:class:`netspec.train.session.Session`)."""

    graph: Graph
    session: Session

    @property
    def head(self) -> str | None:
        """The output activation training split off ("softmax", "sigmoid" or None)."""
        return self.session.head

    @property
    def class_names(self) -> list[str] | None:
        return self.session.class_names

    @property
    def normalize(self) -> Callable | None:
        """Raw inputs (as the data layer loads them) -> what the network was trained on."""
        standardizer = self.session.standardizer
        return standardizer.apply if standardizer.mode != "none" else None

    @cached_property
    def logits_model(self) -> nnx.Module:
        """The trained network without its final softmax/sigmoid (inference mode)."""
        return self.session.steps.model(self.session.model_state)

    @cached_property
    def model(self) -> nnx.Module:
        """The trained network exactly as the spec is written (inference mode)."""
        return with_weights(self.graph, nnx.state(self.logits_model))

    def prepare(self, x: np.ndarray) -> np.ndarray:
        """Standardise raw inputs ``(N, *input_shape)`` as the training data was."""
        x = np.asarray(x, np.float32)
        return np.asarray(self.normalize(x), np.float32) if self.normalize is not None else x


def open_trained(spec: str, checkpoint: str) -> Trained:
    """Load ``spec`` and the weights of the run at ``checkpoint`` (a run folder, whose
    best checkpoint is used, or one of its ``checkpoints/<name>`` folders)."""
    from netspec.pipeline import load
    from netspec.train.resume import restore

    graph = load(spec)
    return Trained(graph, restore(checkpoint, graph))


def class_index(text: str | None, class_names: list[str] | None, classes: int) -> int | None:
    """``--class``: a class id (``3``) or a class name (``cat``); None means "the predicted class".

    >>> class_index("dog", ["cat", "dog"], 2), class_index("0", None, 10), class_index(None, None, 10)
    (1, 0, None)
    """
    from netspec.diagnostics import NetspecError, did_you_mean, error

    if text is None:
        return None
    if text.strip().lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < classes:
            raise NetspecError([error("bad-class", f"--class must be a class id in 0..{classes - 1}, but got {index}")])
        return index
    names = list(class_names or [])
    if text in names:
        return names.index(text)
    hint = did_you_mean(text, names)
    raise NetspecError([error("bad-class", f"no class named '{text}'",
                              hint=hint or (f"classes: {', '.join(names)}" if names else "pass a class id"))])


def default_output(stem: str, suffix: str = ".png") -> Path:
    """``<stem><suffix>`` in the current folder, with layer paths made file-name safe."""
    return Path(stem.replace("/", "_") + suffix)
