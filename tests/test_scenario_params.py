"""Tests that training scenarios record the card's training parameters (dataset, optimizer, lr) with every row."""
from __future__ import annotations

from harness.registry import RunContext
from harness.scenarios.common import resolve_config
from pgan_ref.config import load_config


def _ctx(**kw) -> RunContext:
    return RunContext(run_id="t", scenario="step-time", out_dir=".", **kw)


def test_params_carry_dataset_optimizer_and_lr_of_the_resolved_config():
    ctx = _ctx(overrides={"lr": 0.002, "data": "/data/CelebA"})
    cfg = resolve_config(ctx)
    assert cfg.lr == 0.002
    assert ctx.config_hash == load_config(preset="cpu-smoke", overrides={"lr": 0.002}).hash()
    rec = ctx.record("step_time", "s", 1.0)
    assert rec["params"]["dataset"] == "CelebA" and rec["params"]["lr"] == 0.002
    assert rec["params"]["optimizer"] == "Adam(beta1=0, beta2=0.99)"


def test_modelzoo_variant_records_its_adam_beta1_and_the_synthetic_default():
    ctx = _ctx(variant="modelzoo")
    resolve_config(ctx)
    assert ctx.params["optimizer"] == "Adam(beta1=0.0001, beta2=0.99)"
    assert ctx.params["dataset"] == "synthetic (seeded, 256 images)"
