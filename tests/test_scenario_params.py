"""Tests that training scenarios record the card's training parameters (dataset, optimizer, lr) with every row."""
from __future__ import annotations

from harness.scenarios import registry
from harness.scenarios.common import resolve_config
from pgan_ref.config import load_config


def _ctx(scenario="step-time", **kw):
    return registry.context(scenario, run_id="t", out_dir=".", **kw)


def test_params_carry_dataset_optimizer_and_lr_of_the_resolved_config():
    ctx = _ctx(overrides={"lr": 0.002, "data": "/data/CelebA"})
    ctx, cfg = resolve_config(ctx)
    assert cfg.lr == 0.002
    assert ctx.config_hash == load_config(preset="cpu-smoke", overrides={"lr": 0.002}).hash()
    rec = ctx.record("step_time", "s", 1.0)
    assert rec["params"]["dataset"] == "CelebA" and rec["params"]["lr"] == 0.002
    assert rec["params"]["optimizer"] == "Adam(beta1=0, beta2=0.99)"


def test_modelzoo_variant_records_its_adam_beta1_and_the_synthetic_default():
    ctx, _ = resolve_config(_ctx(variant="modelzoo"))
    assert ctx.params["optimizer"] == "Adam(beta1=0.0001, beta2=0.99)"
    assert ctx.params["dataset"] == "synthetic-n256-seed0"


def test_fid_scenario_scores_the_checkpoint_against_the_training_images(tmp_path, monkeypatch):
    # The FID computation itself is tested against golden features elsewhere; here: what the scenario feeds it
    # and how it records the result (default real set = the training images of the CelebA layout).
    from pgan_ref.checkpoints import save_net
    from pgan_ref.networks import Generator
    from pgan_ref.synthetic import write_synthetic

    cfg = load_config(preset="cpu-smoke")
    ckpt = tmp_path / "32" / "AvG_1.ckpt"
    ckpt.parent.mkdir()
    save_net(Generator(cfg.latent, cfg.depth, leak=cfg.leaky, seed=0), ckpt)
    paths = write_synthetic(tmp_path / "data", n=4, seed=0)
    seen = {}

    def fake_compute_fid(real, fake, **kw):
        seen["real"], seen["fake"], seen["sampling"] = real, fake, kw["sampling"]
        return {"fid": 12.5, "manifest": {"n": kw["n"]}, "fid_bootstrap": {"ci": [11.0, 14.0]}, "kid": 0.01}

    monkeypatch.setattr("harness.quality.fid.compute_fid", fake_compute_fid)
    ctx = _ctx("fid", overrides={"checkpoint": str(ckpt), "n": "3", "data": str(tmp_path / "data")})
    fid, kid = registry.get("fid").run(ctx).records
    assert seen["real"] == paths[0].parent
    assert seen["fake"].shape == (3, 32, 32, 3) and seen["fake"].dtype.name == "uint8"
    assert seen["sampling"]["latent_seed"] == ctx.seed and seen["sampling"]["alpha"] == 0.0
    assert fid["value"] == 12.5 and fid["labels"]["manifest"] == {"n": 3}
    assert fid["params"]["fid_bootstrap"] == {"ci": [11.0, 14.0]} and fid["params"]["preset"] == "cpu-smoke"
    assert fid["ci"] == [11.0, 14.0] and fid["schema"] == 2  # the CI's one place (schema 2)
    assert kid["metric"] == "kid" and kid["value"] == 0.01
