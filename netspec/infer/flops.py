"""FLOPs and MACs: the one counting convention of netspec.

* A **MAC** is one multiply-accumulate ``a += w · x``. Only the layers that
  multiply inputs by weights count: conv (``out positions · K · F_h·F_w ·
  C_in/groups``), depthwise and separable conv (their depthwise and pointwise
  products) and dense (``positions · in · units``).
* **1 MAC = 2 FLOPs** (one multiply, one add), so ``flops = 2 · macs`` for
  every layer and in total.
* Everything else counts **0** in both: bias additions, batchnorm and
  layernorm (folded into the preceding weights at inference), activations,
  pooling (max or average), dropout, LRN, zero padding, flatten and the
  merges (add, multiply, concat). They are memory-bound and cost a small
  fraction of the convolutions; counting them would make figures depend on
  how a framework fuses them.

This is the convention of the papers' "FLOPs" tables once their
multiply-adds are doubled: the ResNet paper's "3.8 × 10⁹ FLOPs" for
ResNet-50 are multiply-adds (netspec: 3.9 G MACs = 7.7 GFLOPs at 224×224).

>>> flops(3_857_973_248)   # ResNet-50 at 224×224
7715946496
"""

from __future__ import annotations

FLOPS_PER_MAC = 2


def flops(macs: int) -> int:
    """FLOPs of ``macs`` multiply-accumulates (2 each)."""
    return FLOPS_PER_MAC * macs
