"""Input standardisation, fitted on the training split only and saved with the model.

Modes (``x`` is ``(N, *input_shape)``):

- ``none``: identity.
- ``per_pixel``: subtract the training mean of every input position and
  divide by its standard deviation (the lectures' MNIST recipe: statistics
  of shape ``input_shape``).
- ``per_channel``: one mean and standard deviation per channel (the last
  axis), over all examples and positions: shape ``(C,)``.
- ``scale``: min-max per channel to [0, 1] using the training minimum and
  maximum (for raw-scale data such as a csv series).

A position or channel whose spread is below ``epsilon`` (e.g. MNIST's
always-black border) is only centred, never divided by a near-zero number
(scikit-learn's rule for constant features). NumPy only; :meth:`apply` uses
nothing but arithmetic, so it also works on JAX arrays inside a jitted step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Mode = Literal["none", "per_pixel", "per_channel", "scale"]
MODES: tuple[Mode, ...] = ("none", "per_pixel", "per_channel", "scale")
DEFAULT_EPSILON = 1e-4


@dataclass(frozen=True, eq=False)
class Standardizer:
    """``apply(x) = (x - shift) / divisor``; ``shift``/``divisor`` broadcast
    against one example (shape ``input_shape`` or ``(C,)``), None for ``none``.

    >>> x = np.array([[0.0, 2.0], [2.0, 2.0]], dtype=np.float32)
    >>> s = Standardizer.fit(x, "per_pixel")
    >>> s.apply(x).tolist()
    [[-1.0, 0.0], [1.0, 0.0]]
    >>> Standardizer.from_dict(s.to_dict()).apply(x).tolist()
    [[-1.0, 0.0], [1.0, 0.0]]
    """

    mode: Mode
    shift: np.ndarray | None = None
    divisor: np.ndarray | None = None
    epsilon: float = DEFAULT_EPSILON

    @classmethod
    def fit(cls, x: np.ndarray, mode: Mode, *, epsilon: float = DEFAULT_EPSILON) -> Standardizer:
        """Statistics of the training inputs ``x`` ``(N, *input_shape)``."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, but got {mode!r}")
        if mode == "none":
            return cls("none", epsilon=epsilon)
        if len(x) == 0:
            raise ValueError("cannot fit a standardizer on an empty training split")
        x = np.asarray(x, dtype=np.float64)
        axes = 0 if mode == "per_pixel" else tuple(range(x.ndim - 1))
        if mode == "scale":
            low, high = x.min(axis=axes), x.max(axis=axes)
            shift, spread = low, high - low
        else:
            shift, spread = x.mean(axis=axes), x.std(axis=axes)
        divisor = np.where(spread < epsilon, 1.0, spread)
        return cls(mode, shift.astype(np.float32), divisor.astype(np.float32), epsilon)

    def apply(self, x):
        """Standardised ``x`` (any leading batch axes; NumPy or JAX array)."""
        if self.shift is None or self.divisor is None:
            return x
        return (x - self.shift) / self.divisor

    def to_dict(self) -> dict:
        """JSON-serialisable form (nested lists of floats), saved in the run folder."""
        return {
            "mode": self.mode,
            "epsilon": self.epsilon,
            "shift": None if self.shift is None else self.shift.tolist(),
            "divisor": None if self.divisor is None else self.divisor.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Standardizer:
        """Inverse of :meth:`to_dict`."""
        mode = data["mode"]
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, but got {mode!r}")

        def array(key: str) -> np.ndarray | None:
            return None if data.get(key) is None else np.asarray(data[key], dtype=np.float32)

        return cls(mode, array("shift"), array("divisor"), float(data.get("epsilon", DEFAULT_EPSILON)))
