"""The quality scenario: one record per snapshot and metric, images seen from the schedule, resumable."""
from __future__ import annotations

import pytest

from harness.errors import BadInput
from harness.quality import ms_ssim
from harness.quality.evaluate import applicable, parse_metrics
from harness.scenarios import registry
from harness.scenarios.common import generated_images
from pgan_ref.config import load_config


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """Snapshots of a cpu-smoke run: 8 px iteration 16, 16 px iterations 8 and 16 (random weights), and data."""
    from pgan_ref.checkpoints import save_net
    from pgan_ref.networks import Generator
    from pgan_ref.synthetic import write_synthetic

    root = tmp_path_factory.mktemp("run")
    cfg = load_config(preset="cpu-smoke")
    for scale, depths, its in ((8, cfg.depth[:2], (16,)), (16, cfg.depth[:3], (8, 16))):
        (root / "ckpt" / str(scale)).mkdir(parents=True)
        for i in its:
            save_net(Generator(cfg.latent, depths, leak=cfg.leaky, seed=i), root / "ckpt" / str(scale) / f"AvG_{i}.ckpt")
    write_synthetic(root / "data", n=8, seed=0)
    return root


def run(root, **sets):
    overrides = {"checkpoints": str(root / "ckpt" / "*" / "AvG_*.ckpt"), "metrics": "swd,ms_ssim", "n": "8",
                 "data": str(root / "data"), "latent_seed": "3", **sets}
    ctx = registry.context("quality", run_id="q", out_dir=root / "out", seed=99, overrides=overrides)
    assert registry.get("quality").run(ctx).records == []  # records are appended per snapshot
    return ctx


def test_every_snapshot_recorded_once_and_resumed(run_dir, capsys):
    ctx = run(run_dir)
    recs = ctx.store.read()
    # The 8 px snapshot has no applicable metric (SWD and MS-SSIM need 16 px), which is said; each 16 px snapshot
    # gives 3 records.
    warned = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert warned == [f"warning: {run_dir / 'ckpt' / '8' / 'AvG_16.ckpt'}: swd, ms_ssim not measured "
                      "(needs images of at least 16 px)"]
    assert sorted((r["labels"]["iteration"], r["metric"]) for r in recs) == [
        (i, m) for i in (8, 16) for m in ("ms_ssim_fake", "ms_ssim_real", "swd")]
    seen = {r["labels"]["iteration"]: r["labels"]["images_seen"] for r in recs}
    assert seen == {8: 24 * 16 + 32 * 16 + 8 * 16, 16: 24 * 16 + 32 * 16 + 16 * 16}  # cpu-smoke: batch 16
    swd = next(r for r in recs if r["metric"] == "swd")
    assert swd["unit"] == "x1e3" and list(swd["params"]["levels"]) == ["16"]
    assert swd["value"] == pytest.approx(swd["params"]["levels"]["16"])
    fake = next(r for r in recs if r["metric"] == "ms_ssim_fake" and r["labels"]["iteration"] == 8)
    assert fake["labels"]["pairs"] == 4 and fake["labels"]["n_fake"] == 8
    m = fake["labels"]["manifest"]
    assert m["protocol_version"] == 2 and m["sampling"]["latent_seed"] == 3 and str(run_dir) not in str(m)
    # the recorded MS-SSIM is that of the generated pairs (recomputed independently from the same latents)
    from pgan_ref.generator_io import build_generator

    latent = load_config(preset="cpu-smoke").latent
    imgs = generated_images(build_generator(run_dir / "ckpt" / "16" / "AvG_8.ckpt"), 8, latent, 3)
    assert fake["value"] == pytest.approx(ms_ssim(imgs[0::2], imgs[1::2]), rel=1e-12)
    run(run_dir)  # everything is already recorded: nothing is recomputed or appended (the run seed is not used)
    assert len(ctx.store.read()) == len(recs)
    run(run_dir, n="6")  # another n is another evaluation
    assert len(ctx.store.read()) == 2 * len(recs)


def test_metric_list_and_applicability():
    assert parse_metrics("FID, ms-ssim,swd") == ("fid", "ms_ssim", "swd")
    with pytest.raises(ValueError, match="subset of fid,kid,swd,ms_ssim,prdc"):
        parse_metrics("fid,is")
    assert applicable(("fid", "swd", "ms_ssim", "prdc"), 8) == ("fid", "prdc")


def test_metrics_that_apply_to_no_snapshot_are_a_usage_error(run_dir):
    given = r"^--set metrics=swd,ms_ssim: none applies to the snapshot\(s\) given \(8 px\);"
    with pytest.raises(BadInput, match=given):
        run(run_dir, checkpoints=str(run_dir / "ckpt" / "8" / "AvG_*.ckpt"))


@pytest.mark.parametrize("key, value, accepted", [("n", "0", "an integer >= 2"), ("n", "1", "an integer >= 2"),
                                                  ("latent_seed", "-1", "an integer >= 0"),
                                                  ("train_devices", "0", "an integer >= 1")])
def test_numeric_options_are_range_checked(run_dir, key, value, accepted):
    with pytest.raises(BadInput, match=f"^--set {key}='{value}': expected {accepted}$"):
        run(run_dir, **{key: value})


def test_no_snapshot_is_a_usage_error(tmp_path):
    ctx = registry.context("quality", run_id="q", out_dir=tmp_path, overrides={"checkpoints": str(tmp_path / "*.ckpt")})
    with pytest.raises(ValueError, match="matches no file"):
        registry.get("quality").run(ctx)
