"""What training scenarios share: the resolved config, the data folder and the options that choose it."""
from __future__ import annotations

from pathlib import Path

from pgan_ref.config import PGANConfig, load_config

from harness.cache import cache_dir
from harness.scenarios.api import Option, RunContext

# Options of every scenario that reads training images.
DATA_OPTIONS = (Option("data", "training image folder (default: a seeded synthetic folder in the cache)"),
                Option("synthetic_n", "images in the default synthetic folder", 256, int, minimum=1))


def resolve_config(ctx: RunContext) -> tuple[RunContext, PGANConfig]:
    """Return (the context that records it, the config of a run: preset + variant + overrides, seed from the run).

    The returned context carries the config's hash (taken before the run seed is set: runs differing only in
    seed share it) and the dataset, optimizer and learning rate, so every record's params carry them, and
    the device precision settings (``--set precision_mode=...``, applied on Ascend) in every record's meta.
    """
    from pgan_ref.device import apply_precision

    cfg = load_config(preset=ctx.preset, variant=ctx.variant, overrides=ctx.config_overrides())
    training = {"dataset": dataset_name(ctx), "lr": cfg.lr,
                "optimizer": f"Adam(beta1={cfg.effective_beta1():g}, beta2={cfg.beta2:g})"}
    ctx = ctx.replace(config_hash=cfg.hash(), training=training,
                      meta={**ctx.meta, "precision": apply_precision(cfg, ctx.device)})
    cfg.seed = ctx.seed
    return ctx, cfg


def dataset_name(ctx) -> str:
    """Return the name a report shows for the training data: the folder's name (``synthetic-n256-seed0`` default)."""
    opts = ctx.options()
    if "synthetic_n" not in opts:
        return "none"
    return Path(opts["data"]).name if opts["data"] else _synthetic_folder(opts["synthetic_n"]).name


def _synthetic_folder(n: int) -> Path:
    return cache_dir() / f"synthetic-n{n}-seed0"


def prepare_data(ctx: RunContext) -> dict:
    """Return the option overrides that give every rank the same training folder (made once, before ranks start)."""
    return {} if ctx.options()["data"] else {"data": str(data_folder(ctx))}


def data_folder(ctx) -> Path:
    """Return the training folder: ``--set data=DIR`` or a seeded synthetic folder in the cache (made once)."""
    opts = ctx.options()
    if opts["data"]:
        return Path(opts["data"])
    from pgan_ref.synthetic import write_synthetic

    folder = _synthetic_folder(opts["synthetic_n"])
    write_synthetic(folder, n=opts["synthetic_n"], seed=0)
    return folder


def generated_images(generator, n: int, latent: int, seed: int, batch: int = 32):
    """Return ``n`` uint8 NHWC samples of ``generator`` at alpha 0; each batch's latents seeded ``seed + first index``."""
    import numpy as np

    from pgan_ref.generator_io import generate, sample_latents, to_uint8

    return np.concatenate([to_uint8(generate(generator, sample_latents(min(batch, n - start), latent, seed + start),
                                             alpha=0.0)) for start in range(0, n, batch)])


def sampling_protocol(seed: int, **extra) -> dict:
    """Return how ``generated_images`` draws samples (generator, alpha, latents, seed) for the protocol manifest."""
    return {"generator": "AvG", "alpha": 0.0, "latents": "N(0,1) numpy default_rng(seed + first index), 32 per batch",
            "latent_seed": seed, **extra}
