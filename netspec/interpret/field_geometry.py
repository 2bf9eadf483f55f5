"""Where a unit's receptive field lies in the input: the static geometry behind
``netspec top-patches``.

Static inference gives each layer its receptive field ``rf`` and ``jump`` (the
input distance between neighbouring units) per spatial axis. One more number
places the field: ``offset``, the input coordinate where the field of the
layer's unit 0 starts (negative when it reaches into padding). Unit ``p`` of
an axis then sees input cells ``offset + p·jump`` to ``offset + p·jump + rf − 1``.

``offset`` starts at 0 at the input and moves by ``−pad_low · jump_in`` at
every padded window (conv, pool) and ``zero_pad``; a merge takes the lowest
of its inputs. Pure Python, no JAX: the same facts ``netspec summary`` shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from netspec.ir import Graph


@dataclass(frozen=True)
class FieldGeometry:
    """Per spatial axis of the input: a layer's field size, jump and offset."""

    size: tuple[int, ...]
    jump: tuple[int, ...]
    offset: tuple[int, ...]

    def window(self, position: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
        """``(start, stop)`` per axis of the input cells unit ``position`` sees (stop exclusive;
        may reach past the input's edges, into padding).

        >>> FieldGeometry(size=(4, 4), jump=(2, 2), offset=(-1, -1)).window((3, 0))
        ((5, 9), (-1, 3))
        """
        return tuple((o + p * j, o + p * j + s)
                     for s, j, o, p in zip(self.size, self.jump, self.offset, position))


def field_offsets(graph: Graph) -> dict[str, tuple[int, ...]]:
    """``offset`` (see the module docstring) of every layer with spatial axes."""
    from netspec.pipeline import analysis_of

    facts = analysis_of(graph).layers
    offsets: dict[str, tuple[int, ...]] = {}
    for node in graph.nodes:
        rank = len(facts[node.name].jump)
        if not node.inputs:
            offsets[node.name] = (0,) * rank
            continue
        before = [offsets[name] for name in node.inputs if len(offsets.get(name, ())) == rank]
        if not before:
            offsets[node.name] = (0,) * rank
            continue
        start = tuple(map(min, zip(*before)))
        pads = facts[node.name].pads
        if pads is not None and len(pads) == rank:
            jump_in = facts[node.inputs[0]].jump
            start = tuple(s - low * j for s, (low, _), j in zip(start, pads, jump_in))
        offsets[node.name] = start
    return offsets


def field_geometry(graph: Graph, layer: str) -> FieldGeometry:
    """The receptive-field geometry of ``layer``'s units (a layer with spatial output axes).

    >>> from netspec import load
    >>> graph = load("name: g\\ninput: [8, 8, 1]\\nlayers: [{conv: {K: 1, F: 3, P: same, name: c}}, "
    ...              "{pool: {F: 2, name: p}}]\\n")
    >>> field_geometry(graph, "p")
    FieldGeometry(size=(4, 4), jump=(2, 2), offset=(-1, -1))
    """
    from netspec.pipeline import analysis_of

    facts = analysis_of(graph).layers[layer]
    return FieldGeometry(facts.receptive_field, facts.jump, field_offsets(graph)[layer])
