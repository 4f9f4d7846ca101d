"""What training scenarios share: the resolved config, the data folder, scenario options from ``--set``."""
from __future__ import annotations

import os
from pathlib import Path

from pgan_ref.config import PGANConfig, load_config

# --set keys that parameterise scenarios rather than the training config.
SCENARIO_KEYS = {"data", "iters", "warmup", "checkpoint", "batch_sizes", "min_count", "min_time_s", "scale",
                 "n", "real", "preprocess", "synthetic_n"}


def split_overrides(overrides: dict) -> tuple[dict, dict]:
    """Return (training-config overrides, scenario options) from ``--set`` pairs."""
    cfg = {k: v for k, v in overrides.items() if k not in SCENARIO_KEYS}
    opts = {k: v for k, v in overrides.items() if k in SCENARIO_KEYS}
    return cfg, opts


def resolve_config(ctx) -> PGANConfig:
    """Return the config of a run context (preset + variant + overrides, seed from the run)."""
    cfg_over, _ = split_overrides(ctx.overrides)
    cfg = load_config(preset=ctx.preset, variant=ctx.variant, overrides=cfg_over)
    cfg.seed = ctx.seed
    return cfg


def cache_dir() -> Path:
    """Return the harness cache folder (``$PGAN_HARNESS_CACHE`` or ``~/.cache/pgan-harness``)."""
    return Path(os.environ.get("PGAN_HARNESS_CACHE", Path.home() / ".cache" / "pgan-harness"))


def data_folder(ctx, n: int = 256) -> Path:
    """Return the training folder: ``--set data=DIR`` or a seeded synthetic folder in the cache (made once)."""
    _, opts = split_overrides(ctx.overrides)
    if "data" in opts:
        return Path(opts["data"])
    from pgan_ref.synthetic import write_synthetic

    n = int(opts.get("synthetic_n", n))
    folder = cache_dir() / f"synthetic-n{n}-seed0"
    write_synthetic(folder, n=n, seed=0)
    return folder


def option(ctx, key: str, default, type_=int):
    """Return scenario option ``key`` from ``--set`` converted with ``type_``, or ``default``."""
    _, opts = split_overrides(ctx.overrides)
    return type_(opts[key]) if key in opts else default
