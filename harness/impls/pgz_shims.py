"""The run-time shims current torch needs to run pytorch_GAN_zoo (b75dee4) unmodified, applied and undone here.

Each is applied only where the failure it fixes happens (seen with torch 2.13 on CPU):
1. ``ProgressiveGAN.getOptimizerD/G`` build ``optim.Adam(..., betas=[0, 0.99])``; torch >= 2.x rejects the
   integer 0 ("betas must be either both floats or both Tensors"). Applied when this torch's Adam rejects
   integer betas: the checkout's ``models.progressive_gan`` module sees an ``optim`` whose ``Adam`` passes the
   betas on as floats (the same values; everything else is torch.optim's).
2. ``ProgressiveGAN.updateAlpha`` sets avgG's alpha through ``self.avgG.module``, which only exists when avgG is
   wrapped in ``nn.DataParallel`` (``useGPU`` with CUDA); without a GPU it raises AttributeError. Applied when
   the model runs without a GPU: ``updateAlpha`` reaches avgG through the checkout's own ``getOriginalAvgG()``
   (G and D as before, then ``config.alpha``).
The deprecated ``add_(Number, Tensor)`` of its EMA only warns on torch 2.13 and is left alone.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

BETAS_SHIM = "models.progressive_gan.optim.Adam: betas [0, 0.99] -> floats (0.0, 0.99) (torch rejects integer betas)"
INHERITED = object()  # a method the class inherits: undone by deleting the class's own
ALPHA_SHIM = ("ProgressiveGAN.updateAlpha: avgG.module -> getOriginalAvgG() (avgG is not DataParallel without a "
              "GPU)")


def adam_rejects_integer_betas() -> bool:
    """Return whether this torch's Adam refuses the checkout's integer betas ``[0, 0.99]``."""
    import torch

    try:
        torch.optim.Adam([torch.zeros(1, requires_grad=True)], betas=[0, 0.99])
    except (ValueError, TypeError):
        return True
    return False


class FloatBetasOptim:
    """``torch.optim`` as the checkout's module sees it: ``Adam`` gets its betas as floats, the rest is torch's."""

    def __getattr__(self, name):
        import torch.optim

        return getattr(torch.optim, name)

    @staticmethod
    def Adam(params, *args, betas=(0.9, 0.999), **kwargs):  # noqa: N802 (torch's name)
        import torch.optim

        return torch.optim.Adam(params, *args, betas=tuple(float(b) for b in betas), **kwargs)


def update_alpha(self, newAlpha):  # noqa: N803 (the checkout's argument name)
    """``ProgressiveGAN.updateAlpha`` with avgG reached through ``getOriginalAvgG()`` (it is no DataParallel here)."""
    self.getOriginalG().setNewAlpha(newAlpha)
    self.getOriginalD().setNewAlpha(newAlpha)
    if self.avgG:
        self.getOriginalAvgG().setNewAlpha(newAlpha)
    self.config.alpha = newAlpha


@contextlib.contextmanager
def torch_shims(progressive_gan, use_gpu: bool) -> Iterator[list[str]]:
    """Apply the shims this torch and device need to the checkout's ``models.progressive_gan`` module for the duration;
    yield their descriptions."""
    cls = progressive_gan.ProgressiveGAN
    saved, shims = [], []
    try:
        if adam_rejects_integer_betas():
            saved.append((progressive_gan, "optim", progressive_gan.optim))
            progressive_gan.optim = FloatBetasOptim()
            shims.append(BETAS_SHIM)
        if not use_gpu:
            saved.append((cls, "updateAlpha", cls.__dict__.get("updateAlpha", INHERITED)))
            cls.updateAlpha = update_alpha
            shims.append(ALPHA_SHIM)
        yield shims
    finally:
        for owner, attr, value in reversed(saved):
            if value is INHERITED:
                delattr(owner, attr)
            else:
                setattr(owner, attr, value)
