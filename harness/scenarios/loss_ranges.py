"""Scenario ``loss-ranges``: train the preset's schedule and record every step's G/D loss, GP, drift and alpha.

Per scale it also records each network's skipped updates (B4 loss-scale overflows; 0 with B4 off).
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from pgan_ref.trainer import Trainer

from harness.judge.modelcard import CARD_LOG_EVERY
from harness.scenarios.api import ScenarioResult, scenario
from harness.scenarios.common import DATA_OPTIONS, data_folder, prepare_data, resolve_config

DIVERGED = 1e6  # |loss| beyond this counts as diverged


@scenario("loss-ranges", help="train the preset and record per-step G/D losses, GP, drift, alpha per scale",
          options=DATA_OPTIONS, multi_device=True, prepare=prepare_data)
def run(ctx) -> ScenarioResult:
    """Return per-scale loss records (every step as samples) with NaN/inf and divergence counts, and skipped updates."""
    ctx, cfg = resolve_config(ctx)
    steps: dict[int, list] = defaultdict(list)
    trainer = Trainer(cfg, data_folder(ctx), ctx.out_dir / f"train-{ctx.run_id}", rank=ctx.rank,
                      group_size=ctx.devices, on_step=lambda r: steps[r.scale].append(r), log=None)
    trainer.run()
    records = []
    for scale, rows in steps.items():
        base = {"scale": scale, "batch_size": cfg.batch_size, "devices": ctx.devices, "rank": ctx.rank,
                "sample_every": 1, "card_sampling": CARD_LOG_EVERY}
        for metric in ("loss_g", "loss_d", "gp", "drift", "alpha"):
            vals = [getattr(r, metric) for r in rows]
            finite = [v for v in vals if math.isfinite(v)]
            card = vals[CARD_LOG_EVERY - 1::CARD_LOG_EVERY]
            labels = {**base, "nonfinite": len(vals) - len(finite),
                      "diverged": sum(abs(v) > DIVERGED for v in finite),
                      "card_min": min(card) if card else None, "card_max": max(card) if card else None}
            value = float(np.median(finite)) if finite else float("nan")
            records.append(ctx.record(metric, "1", value, samples=vals, labels=labels,
                                      flags=["sums-over-batch"]))
        for net in ("D", "G"):
            flags = [int(getattr(r, f"overflow_{net.lower()}")) for r in rows]
            records.append(ctx.record("skipped_updates", "steps", sum(flags), samples=flags,
                                      labels={**base, "network": net, "steps": len(rows),
                                              "loss_scale_last": getattr(rows[-1], f"loss_scale_{net.lower()}")}))
    return ScenarioResult(records)
