"""The user's pytorch_GAN_zoo checkout (facebookresearch/pytorch_GAN_zoo), imported as it is and timed (needs torch).

Its ``models.progressive_gan`` is imported from the folder the user names (nothing of it lives in this
repository) and its own model is built, grown and stepped:

    model = ProgressiveGAN(useGPU=False, depthScale0=depth[0], dimLatentVector=latent, lambdaGP=lambda_gp,
                           epsilonD=epsilon_drift, baseLearningRate=lr, lossMode="WGANGP", ...)
    model.addScale(depth[s])            # per scale after the first
    model.updateAlpha(alpha)            # per phase after the first scale: G, D and avgG's setNewAlpha, config.alpha
    model.optimizeParameters(real)      # one timed iteration: D step (WGAN-GP + epsilon drift), G step, avgG EMA

The network widths, scales and batch (per scale) are the harness config's, as are the leaky slope and the
minibatch-stddev layer (on unless D1), so every implementation is timed on the same network and batch; its
single learning rate is the config's ``lr`` (pytorch_GAN_zoo has no per-scale rates). The real batches come
from the harness's data pipeline as torch tensors. torch is imported only here (and in ``pgz_shims``), lazily:
the harness works without it; this implementation then says how to install it. torch runs
``PGAN_CPU_THREADS`` threads (its own default when unset); its thread count and RNG are restored afterwards.
"""
from __future__ import annotations

import contextlib
import importlib
import sys
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from pgan_ref.cpu_threads import cpu_threads

from harness.errors import BadInput
from harness.impls import user_checkout
from harness.impls.pgz_shims import torch_shims
from harness.impls.names import PGZ_OPTIMIZE as STRUCTURE, PYTORCH_GAN_ZOO as IMPL
from harness.impls.steps import ScaleStep, StepRequest

MODULE = "models.progressive_gan"
# What this adapter uses of the checkout (b75dee4's names): the module's class, its methods, the nets' method.
MODEL_NAMES = ("ProgressiveGAN", "ProgressiveGAN.addScale", "ProgressiveGAN.optimizeParameters",
               "ProgressiveGAN.updateAlpha", "ProgressiveGAN.getOriginalG", "ProgressiveGAN.getOriginalD",
               "ProgressiveGAN.getOriginalAvgG", "optim")
NET_NAMES = ("setNewAlpha",)  # on GNet and DNet
INSTALL = "pip install 'pgan-harness[pgz]'"
CHECKOUT = user_checkout.CheckoutKind(
    "pgz_dir", "pytorch_GAN_zoo checkout", "facebookresearch/pytorch_GAN_zoo (the repository's root)",
    ("models/progressive_gan.py", "models/base_GAN.py", "models/networks/progressive_conv_net.py"),
    ("models/**/*.py",), ("models",))
checkout_sha256 = CHECKOUT.sha256  # every .py under its models/ (the package imported)


def check_checkout(path: str):
    """Return the checkout folder at ``path``, else raise BadInput: torch missing, or the folder is not a checkout."""
    try:
        importlib.import_module("torch")  # installed and importable
    except ImportError:
        raise BadInput(f"--impl {IMPL} needs torch: {INSTALL}") from None
    return CHECKOUT.root(path)


def constructor_args(cfg, use_gpu: bool) -> dict:
    """Return ``ProgressiveGAN``'s keyword arguments for the harness config ``cfg`` (the same network and loss)."""
    return {"useGPU": use_gpu, "depthScale0": cfg.depth[0], "dimLatentVector": cfg.latent,
            "lambdaGP": cfg.lambda_gp, "epsilonD": cfg.epsilon_drift, "baseLearningRate": cfg.lr,
            "lossMode": "WGANGP", "leakyness": cfg.leaky,
            "miniBatchStdDev": not cfg.deviations.d1_no_minibatch_stddev}


@contextlib.contextmanager
def imported_checkout(root) -> Iterator[object]:
    """Import the checkout's ``models.progressive_gan``; yield it (sys.path and sys.modules restored afterwards)."""
    with CHECKOUT.imported(root, MODULE) as module:
        missing = user_checkout.missing_names(module, MODEL_NAMES)
        if missing:
            raise BadInput(f"--set pgz_dir={root}: its {MODULE} lacks {', '.join(missing)} (expected "
                           f"pytorch_GAN_zoo's {', '.join(MODEL_NAMES)})")
        yield module


@contextlib.contextmanager
def torch_settings(seed: int) -> Iterator[object]:
    """Seed torch and set its CPU threads to ``PGAN_CPU_THREADS`` for the duration; yield torch. Its RNG state and
    thread count are restored afterwards."""
    import torch

    previous = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            if cpu_threads():
                torch.set_num_threads(cpu_threads())
            yield torch
        finally:
            torch.set_num_threads(previous)


@dataclass
class PgzStep(ScaleStep):
    """One scale of the checkout's training: its grown ``ProgressiveGAN`` and real batches."""

    model: object = None
    batches: Iterator | None = None

    def fetch(self):
        """Return the next real batch as a float32 NCHW torch tensor (sharing the numpy batch's memory)."""
        import torch

        return torch.from_numpy(next(self.batches))

    def compute_at(self, alpha: float):
        """Set alpha with the checkout's ``updateAlpha`` (after the first scale); return ``compute(real)``: one
        ``optimizeParameters(real)``, its whole training iteration; returns lossD, lossG."""
        model = self.model
        if self.s_idx > 0:
            with contextlib.redirect_stdout(sys.stderr):  # it prints "Changing alpha to ..."
                model.updateAlpha(alpha)

        def compute(real):
            losses = model.optimizeParameters(real)
            if model.useGPU:  # the EMA's kernels are still queued
                import torch

                torch.cuda.synchronize()
            return [float(losses["lossD"]), float(losses["lossG"])]

        return compute

    def parameters(self) -> Iterator[np.ndarray]:
        """Return the parameters of G and D."""
        for net in (self.model.getOriginalG(), self.model.getOriginalD()):
            for p in net.parameters():
                yield p.detach().cpu().numpy()


def scale_steps(req: StepRequest) -> Iterator[PgzStep]:
    """Yield the checkout's step per scale of ``req.cfg`` (its ``ProgressiveGAN`` grown with ``addScale``), shims
    applied where this torch and device need them."""
    cfg = req.cfg
    root = check_checkout(req.options["pgz_dir"])
    sha = checkout_sha256(root)
    use_gpu = req.device == "GPU"
    with torch_settings(cfg.seed) as torch, imported_checkout(root) as pg, torch_shims(pg, use_gpu) as shims:
        args = constructor_args(cfg, use_gpu)
        model = None
        for s_idx, scale in enumerate(cfg.scales):
            if model is None:
                model = pg.ProgressiveGAN(**args)
            else:
                model.addScale(cfg.depth[s_idx])
            batches = req.real_batches(s_idx)
            labels = {**req.base_labels(s_idx, STRUCTURE, IMPL), "shims": shims, "checkout_sha256": sha,
                      "latent": int(model.config.noiseVectorDim), "lr_d": cfg.lr, "lr_g": cfg.lr,
                      "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                      "minibatch_stddev": args["miniBatchStdDev"]}
            try:
                yield PgzStep(scale, s_idx, STRUCTURE, labels, req.fade_iterations(s_idx),
                              req.flops(s_idx, labels["latent"]), model=model, batches=batches)
            finally:
                batches.close()
