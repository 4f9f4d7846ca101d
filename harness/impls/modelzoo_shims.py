"""The two run-time shims MindSpore 2.10 on CPU needs to run the ModelZoo PGAN unmodified, applied and undone here.

1. ``nn.TrainOneStepWithLossScaleCell.get_overflow_status`` takes the Ascend float-status path on every
   target but GPU (``NPUGetFloatStatusV2`` has no CPU kernel): on CPU it is routed to MindSpore's own
   IsFinite-based inf/nan check (``_ascend_grad_overflow``), overflow = any non-finite gradient, as on GPU.
2. The ModelZoo D downsamples with ``ops.MaxPool`` except on GPU, where it swaps in its own
   ``CustomMaxPool2x2`` because ``MaxPoolGradGrad`` (the gradient penalty's second-order gradient) is
   missing; CPU lacks it too, so on CPU every ``DNetNext_Train`` / ``DNetNext_Last`` built takes that GPU branch.
On Ascend and GPU nothing is changed. Both are undone when the context ends (the process's MindSpore and the
checkout's classes are as before).
"""
from __future__ import annotations

import contextlib
from typing import Iterator

from mindspore import nn
from mindspore.nn.wrap import loss_scale

OVERFLOW_SHIM = "TrainOneStepWithLossScaleCell.get_overflow_status -> IsFinite inf/nan path (CPU)"
POOL_SHIM = "network_D.DNetNext_{Train,Last}.avgPool2d -> the ModelZoo's CustomMaxPool2x2 (its GPU branch) on CPU"
POOLED_CLASSES = ("DNetNext_Train", "DNetNext_Last")


def _infnan_overflow_status(self, status, compute_output):
    """Return the overflow flag from MindSpore's IsFinite-based reducer (compiled into the cell: no imports here)."""
    return self._get_distributed_overflow_status_on_infnan_mode(loss_scale._ascend_grad_overflow, compute_output)


def _pool_after_init(original, pool_class):
    """Return an ``__init__`` that runs ``original`` and then gives the D the pooling cell ``pool_class()``."""

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.avgPool2d = pool_class()

    return __init__


@contextlib.contextmanager
def cpu_shims(device: str, network_d) -> Iterator[list[str]]:
    """Apply the shims on CPU for the duration (``network_d``: the checkout's ``src.network_D`` module); yield their
    descriptions (empty on other devices)."""
    if device != "CPU":
        yield []
        return
    saved = [(nn.TrainOneStepWithLossScaleCell, "get_overflow_status",
              nn.TrainOneStepWithLossScaleCell.get_overflow_status)]
    saved += [(getattr(network_d, name), "__init__", getattr(network_d, name).__init__) for name in POOLED_CLASSES]
    try:
        nn.TrainOneStepWithLossScaleCell.get_overflow_status = _infnan_overflow_status
        for name in POOLED_CLASSES:
            cls = getattr(network_d, name)
            cls.__init__ = _pool_after_init(cls.__init__, network_d.CustomMaxPool2x2)
        yield [OVERFLOW_SHIM, POOL_SHIM]
    finally:
        for owner, attr, value in saved:
            setattr(owner, attr, value)
