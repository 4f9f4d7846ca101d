"""Scenario ``fid``: FID/KID of the AvG generator's samples (alpha 0, seeded latents) against a real folder."""
from __future__ import annotations

from pgan_ref.data import list_images
from pgan_ref.generator_io import build_generator

from harness.quality.fid.preprocess import MODES
from harness.scenarios.api import Option, ScenarioResult, scenario
from harness.scenarios.common import DATA_OPTIONS, data_folder, generated_images, resolve_config, sampling_protocol


@scenario("fid", help="FID/KID of AvG samples (alpha 0, seeded latents) vs a real folder, with the protocol manifest",
          options=(Option("checkpoint", "AvG checkpoint (required: a trained generator)"),
                   Option("real", "real image folder (default: the training images, --set data or synthetic)"),
                   Option("n", "generated images (and real images used)", 256, int, minimum=2),
                   Option("preprocess", " | ".join(MODES), "pytorch-fid", str, choices=MODES), *DATA_OPTIONS))
def run(ctx) -> ScenarioResult:
    """Return fid and kid records whose labels carry the protocol manifest."""
    from harness.quality.fid import compute_fid
    from pgan_ref.fileio import sha256_file

    ctx, cfg = resolve_config(ctx)
    opts = ctx.options()
    ckpt = opts["checkpoint"]
    if ckpt is None:
        raise ValueError("the fid scenario needs --set checkpoint=PATH/TO/AvG_i.ckpt (a trained generator)")
    g = build_generator(ckpt, cfg=cfg)
    n, mode = opts["n"], opts["preprocess"]
    real = opts["real"] or list_images(data_folder(ctx))[0].parent  # the training images (CelebA layout)

    r = compute_fid(real, generated_images(g, n, cfg.latent, ctx.seed), preprocess=mode, n=n, seed=ctx.seed,
                    kid_subsets=20, kid_subset_size=min(100, n), bootstrap=50, sampling=sampling_protocol(ctx.seed))
    # Labels identify the measurement across machines: the checkpoint's content, not its path (a param).
    labels = {"n": n, "preprocess": mode, "checkpoint_sha256": sha256_file(ckpt), "manifest": r["manifest"]}
    params = {"checkpoint": str(ckpt), "provenance": r.get("provenance")}
    recs = [ctx.record("fid", "1", r["fid"], labels=labels, ci=(r.get("fid_bootstrap") or {}).get("ci"),
                       params={**params, "fid_bootstrap": r.get("fid_bootstrap")})]
    if "kid" in r:
        recs.append(ctx.record("kid", "1", r["kid"], labels=labels, params={**params, "kid_std": r.get("kid_std")}))
    return ScenarioResult(recs)
