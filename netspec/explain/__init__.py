"""The documented deep path ``netspec.explain``; the code lives in :mod:`netspec.interpret.explain`."""

from netspec.interpret.explain import Scorer, occlusion, overlay_png, saliency

__all__ = ["Scorer", "occlusion", "overlay_png", "saliency"]
