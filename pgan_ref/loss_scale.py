"""Dynamic loss scaling as the ModelZoo's train cells run it (B4): one scale per optimizer, skip on overflow.

The update rule is MindSpore's own ``nn.DynamicLossScaleUpdateCell`` (the card's code): on overflow the
scale is divided by ``scale_factor`` (not below 1) and the update skipped; after ``window`` clean steps
it is multiplied by ``scale_factor``. The ModelZoo passes ``scale_factor`` as the window.
"""
from __future__ import annotations

import mindspore as ms
import numpy as np
from mindspore import Parameter, Tensor, nn


class DynamicLossScale(nn.Cell):
    """The loss scale of one optimizer (a Parameter updated in the graph) and its update cell."""

    def __init__(self, cfg, prefix: str):
        super().__init__(auto_prefix=False)
        initial = float(2.0 ** cfg.loss_scale_value)
        self.manager = nn.DynamicLossScaleUpdateCell(initial, cfg.scale_factor, cfg.loss_scale_window())
        self.scale = Parameter(Tensor(initial, ms.float32), name=f"{prefix}.loss_scale", requires_grad=False)
        for p in self.manager.get_parameters():  # two scalers share one graph: unique names
            p.name = f"{prefix}.{p.name}"

    def construct(self, overflow):
        """Update the scale after a step (``overflow`` a bool tensor); return ``overflow``."""
        return self.manager(self.scale, overflow)

    def value(self) -> float:
        """Return the current scale (host read; sees the graph's in-place updates)."""
        return float(self.scale.asnumpy())

    def get_state(self) -> dict:
        """Return the scale and the update cell's step counters (JSON-serialisable, for resume)."""
        return {"scale": self.value(), "cur_iter": int(self.manager.cur_iter.asnumpy()),
                "last_overflow_iter": int(self.manager.last_overflow_iter.asnumpy())}

    def set_state(self, state: dict) -> None:
        """Restore ``get_state``'s values; call before the first compiled step (set_data is not seen after)."""
        self.scale.set_data(Tensor(np.float32(state["scale"])))
        self.manager.cur_iter.set_data(Tensor(np.int32(state["cur_iter"])))
        self.manager.last_overflow_iter.set_data(Tensor(np.int32(state["last_overflow_iter"])))
