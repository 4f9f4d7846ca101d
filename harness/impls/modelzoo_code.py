"""The user's own ModelZoo PGAN checkout (mindspore-ai/models ``research/cv/PGAN``), imported as it is and timed.

Its ``train.py`` is imported from the folder the user names (nothing of it lives in this repository); the
networks are grown with its ``construct_network``, the train cells made with its ``get_optimize_d`` /
``get_optimizer_g`` (Adam + ``TrainOneStepWithLossScaleCell`` + dynamic loss scale, its own config's lr and
loss-scale values), and one timed iteration is its ``train.py`` loop body:

    fake_image = gnet(build_noise_data(n), alpha)
    loss_d, overflow, _ = optimizer_d(inputs_real, fake_image.copy(), alpha)
    loss_g, overflow, _ = optimizer_g(build_noise_data(n), alpha)
    cell_deepcopy_update(gnet=gnet, avg_gnet=avg_gnet)

in GRAPH_MODE, as its ``run_train`` sets. Scales, depths and batch size are the harness config's, so every
implementation is timed on the same network and batch (``batch_size_list`` gives a scale its own batch, as in
the ModelZoo). The host EMA is bracketed by device waits and recorded apart, as pgan_ref's three-graph
structure is. The real batches come from the harness's data pipeline (the ModelZoo's dataset pipeline is
outside the loop body and not timed). On CPU ``modelzoo_shims`` are applied.
"""
from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from pgan_ref.config import THREE_GRAPH as STRUCTURE  # G forward, D cell, G cell, then the host EMA

from harness.errors import BadInput
from harness.impls import user_checkout
from harness.impls.modelzoo_shims import cpu_shims
from harness.impls.names import MODELZOO_CODE as IMPL
from harness.impls.steps import ScaleStep, StepRequest, ms_parameters

REQUIRED = ("train.py", "910_config.yaml", "src/network_D.py", "src/network_G.py", "src/optimizer.py")
IN_MODELS_REPO = "research/cv/PGAN"  # where the checkout sits inside a mindspore-ai/models clone
TRAIN_FUNCTIONS = ("construct_network", "get_optimize_d", "get_optimizer_g", "build_noise_data",
                   "cell_deepcopy_update")


CHECKOUT = user_checkout.CheckoutKind(
    "modelzoo_dir", "ModelZoo PGAN checkout", f"mindspore-ai/models {IN_MODELS_REPO} (or the repository's root)",
    REQUIRED, ("910_config.yaml", "train.py", "src/*.py", "model_utils/*.py"), ("train", "src", "model_utils"),
    nested=IN_MODELS_REPO)
checkout_root = CHECKOUT.root  # the ModelZoo PGAN folder at a path (itself, or research/cv/PGAN under a models clone)
checkout_sha256 = CHECKOUT.sha256  # its config, train.py, src/ and model_utils/


@dataclass(frozen=True)
class Checkout:
    """The imported checkout: its ``train`` module, its ``src.network_D`` module, its config and where it is."""

    root: Path
    train: object
    network_d: object
    config: object


@contextlib.contextmanager
def imported_checkout(root: Path) -> Iterator[Checkout]:
    """Import the checkout's ``train.py`` as its ``run_train`` sees it (``--config_path 910_config.yaml``); yield it.

    Its prints go to stderr. Afterwards ``sys.argv``, ``sys.path`` and ``sys.modules`` are as before (its
    ``train``, ``src`` and ``model_utils`` modules are forgotten), so another checkout can be imported later.
    """
    argv = [str(root / "train.py"), "--config_path", str(root / "910_config.yaml")]
    with CHECKOUT.imported(root, "train", argv) as train:
        missing = user_checkout.missing_names(train, TRAIN_FUNCTIONS)
        if missing or "src.network_D" not in sys.modules:
            raise BadInput(f"--set modelzoo_dir={root}: its train.py lacks {', '.join(missing) or 'src.network_D'}"
                           f" (expected the ModelZoo PGAN's {', '.join(TRAIN_FUNCTIONS)})")
        yield Checkout(root, train, sys.modules["src.network_D"], train.config)


@contextlib.contextmanager
def graph_mode() -> Iterator[None]:
    """Run the body in MindSpore's GRAPH_MODE (``run_train``'s mode); restore the previous mode afterwards."""
    import mindspore as ms

    previous = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        yield
    finally:
        ms.set_context(mode=previous)


@dataclass
class ModelZooCodeStep(ScaleStep):
    """One scale of the checkout's training: its nets, its two train cells and its loop body."""

    checkout: Checkout | None = None
    nets: tuple = ()  # (gnet, dnet, avg_gnet)
    train_cells: tuple = ()  # (optimizer_d, optimizer_g)
    batches: Iterator | None = None
    sync: Callable[[], None] = lambda: None

    def fetch(self):
        """Return the next real batch as a float32 NCHW MindSpore tensor, as their dataset iterator yields it."""
        from mindspore import Tensor

        return Tensor(next(self.batches))

    def compute_at(self, alpha: float) -> Callable:
        """Return ``compute(inputs_real)``: one iteration of their ``train.py`` loop body; returns loss_d, loss_g."""
        from mindspore import Tensor
        from mindspore import dtype as mstype

        t = self.checkout.train
        gnet, _, avg_gnet = self.nets
        optimizer_d, optimizer_g = self.train_cells

        def compute(inputs_real):
            a = Tensor(alpha, mstype.float32)
            n = inputs_real.shape[0]
            fake_image = gnet(t.build_noise_data(n), a)
            loss_d, _, _ = optimizer_d(inputs_real, fake_image.copy(), a)
            loss_g, _, _ = optimizer_g(t.build_noise_data(n), a)
            self.sync()
            t0 = time.perf_counter()
            t.cell_deepcopy_update(gnet=gnet, avg_gnet=avg_gnet)
            self.sync()
            self.ema_s.append(time.perf_counter() - t0)
            return [float(loss_d.asnumpy()), float(loss_g.asnumpy())]

        return compute

    def parameters(self) -> Iterator[np.ndarray]:
        """Return the parameters of gnet and dnet."""
        return ms_parameters(self.nets[:2])


def scale_steps(req: StepRequest) -> Iterator[ModelZooCodeStep]:
    """Yield the checkout's step per scale of ``req.cfg`` (grown with its ``construct_network``), shims on CPU."""
    cfg = req.cfg
    root = checkout_root(req.options["modelzoo_dir"])
    sha = checkout_sha256(root)
    with imported_checkout(root) as co, graph_mode(), cpu_shims(req.device, co.network_d) as shims:
        t, their = co.train, co.config
        their.device_num = 1  # run_train: get_device_num() with RANK_SIZE unset
        latent = int(t.build_noise_data(1).shape[1])
        gnet = dnet = avg_gnet = None
        for s_idx, scale in enumerate(cfg.scales):
            gnet, dnet, avg_gnet = t.construct_network(gnet, dnet, avg_gnet, cfg.depth[s_idx], scale)
            lr_d = their.lr_list[s_idx] if their.lr_list and s_idx < len(their.lr_list) else their.lr
            cells = (t.get_optimize_d(dnet, lr_d, their), t.get_optimizer_g(gnet, dnet, their))
            batches = req.real_batches(s_idx)
            labels = {**req.base_labels(s_idx, STRUCTURE, IMPL), "shims": shims, "checkout_sha256": sha,
                      "latent": latent, "lr_d": lr_d, "lr_g": their.lr}
            try:
                yield ModelZooCodeStep(scale, s_idx, STRUCTURE, labels, req.fade_iterations(s_idx),
                                       req.flops(s_idx, latent), checkout=co, nets=(gnet, dnet, avg_gnet),
                                       train_cells=cells, batches=batches, sync=req.sync)
            finally:
                batches.close()
