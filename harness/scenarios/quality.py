"""Scenario ``quality``: FID, KID, SWD, MS-SSIM and P/R/D/C of one AvG checkpoint or of every snapshot of a run.

Each snapshot gives one record per metric, labelled with its scale, iteration and images seen, the image counts
and the protocol manifest. Records are appended snapshot by snapshot, and a snapshot whose metrics are already in
the output's records (same checkpoint content, n, preprocessing and latent seed) is not recomputed, so an interrupted
evaluation resumes where it stopped.
"""
from __future__ import annotations

import glob
import re
import sys
from pathlib import Path

import numpy as np

from pgan_ref.data import list_images, load_rgb, preprocess as training_view
from pgan_ref.generator_io import build_generator, resolve_architecture, to_uint8
from pgan_ref.schedule import schedule_summary

from harness.errors import BadInput
from harness.scenarios.api import Option, ScenarioResult, scenario
from harness.scenarios.common import DATA_OPTIONS, data_folder, generated_images, resolve_config, sampling_protocol

OPTIONS = (Option("checkpoint", "one AvG checkpoint (or use checkpoints)"),
           Option("checkpoints", "glob of AvG snapshots, e.g. 'ckpt/*/AvG_*.ckpt': one record per snapshot and metric"),
           Option("metrics", "comma-separated subset of fid,kid,swd,ms_ssim,prdc", "fid,kid,swd,ms_ssim,prdc", str),
           Option("real", "real image folder (default: the training images, --set data or synthetic)"),
           Option("n", "generated images, and real images used (MS-SSIM: n/2 pairs of each)", 256, int, minimum=2),
           Option("preprocess", "FID preprocessing: pytorch-fid | clean | tf1", "pytorch-fid", str),
           Option("latent_seed", "seed of the latents, SWD and KID draws; fixed (not the run seed) so a resumed "
                  "evaluation keeps one protocol", 0, int, minimum=0),
           Option("train_devices", "devices the snapshots were trained on (images seen = it x batch x devices)", 1,
                  int, minimum=1),
           *DATA_OPTIONS)
METRIC_RECORDS = {"fid": ("fid",), "kid": ("kid",), "swd": ("swd",), "ms_ssim": ("ms_ssim_fake", "ms_ssim_real"),
                  "prdc": ("precision", "recall", "density", "coverage")}


def snapshots(opts: dict) -> list[Path]:
    """Return the checkpoints to evaluate: ``checkpoint`` and/or every match of ``checkpoints``."""
    found = [Path(opts["checkpoint"])] if opts["checkpoint"] else []
    if opts["checkpoints"]:
        matches = sorted(glob.glob(opts["checkpoints"]))
        if not matches:
            raise ValueError(f"checkpoints={opts['checkpoints']!r} matches no file")
        found += [Path(m) for m in matches]
    if not found:
        raise ValueError("the quality scenario needs --set checkpoint=PATH/AvG_i.ckpt or --set checkpoints='GLOB'")
    return found


def iteration_of(path: Path) -> int | None:
    """Return the iteration in an ``AvG_{i}.ckpt`` name (None for other names)."""
    m = re.fullmatch(r"(?:AvG|G)_(\d+)\.ckpt", path.name)
    return int(m.group(1)) if m else None


def images_seen(cfg, scale: int, iteration: int | None, devices: int) -> int | None:
    """Return the training images shown before this snapshot: earlier scales in full plus ``iteration`` batches."""
    if iteration is None:
        return None
    rows = schedule_summary(cfg, devices)
    return sum(r["images"] for r in rows if r["scale"] < scale) + iteration * cfg.batch_size * devices


def real_images(folder, scale: int, n: int, crop: bool) -> np.ndarray:
    """Return the first n training images as the trainer sees them at ``scale`` (crop, bilinear), uint8 NHWC."""
    files = list_images(folder)[:n]
    return to_uint8(np.stack([training_view(load_rgb(p), scale, crop=crop) for p in files]))


def done_keys(ctx) -> set[tuple]:
    """Return (checkpoint sha256, n, preprocess, seed, metric) of every quality record already in the output."""
    return {(r["labels"].get("checkpoint_sha256"), r["labels"].get("n"), r["labels"].get("preprocess"),
             r["labels"].get("latent_seed"), r["metric"]) for r in ctx.store.iter() if r.get("scenario") == "quality"}


def snapshot_records(ctx, res: dict, labels: dict, params: dict) -> list[dict]:
    """Return one record per computed metric of one snapshot (values of ``evaluate``)."""
    n_real, n_fake = res["manifest"]["n_real"], res["manifest"]["n_fake"]
    labels = {**labels, "n_real": n_real, "n_fake": n_fake, "manifest": res["manifest"]}
    params = {**params, "provenance": res.get("provenance"), "manifest_sha256": res["manifest_sha256"]}
    recs = []
    if "fid" in res:
        recs.append(ctx.record("fid", "1", res["fid"], labels=labels, params=params))
    if "kid" in res:
        recs.append(ctx.record("kid", "1", res["kid"], labels=labels, params={**params, "kid_std": res["kid_std"]}))
    if "swd" in res:
        levels = {str(k): v for k, v in res["swd"].items() if k != "avg"}
        recs.append(ctx.record("swd", "x1e3", res["swd"]["avg"], labels=labels, params={**params, "levels": levels}))
    if "ms_ssim_fake" in res:
        recs.append(ctx.record("ms_ssim_fake", "1", res["ms_ssim_fake"],
                               labels={**labels, "pairs": res["ms_ssim_pairs"]}, params=params))
        recs.append(ctx.record("ms_ssim_real", "1", res["ms_ssim_real"],
                               labels={**labels, "pairs": res["ms_ssim_real_pairs"]}, params=params))
    for name, value in (res.get("prdc") or {}).items():
        recs.append(ctx.record(name, "1", value, labels={**labels, "k": 3}, params=params))
    return recs


def unmeasured(scales: dict[Path, int], metrics: tuple[str, ...]) -> dict[Path, tuple[str, ...]]:
    """Return, per snapshot (path -> its resolution), the asked ``metrics`` that do not apply at its resolution (SWD,
    MS-SSIM below 16 px); raise BadInput when no snapshot has any metric left to measure."""
    from harness.quality.evaluate import applicable

    left_out = {p: tuple(m for m in metrics if m not in applicable(metrics, s)) for p, s in scales.items()}
    if all(len(out) == len(metrics) for out in left_out.values()):
        raise BadInput(f"--set metrics={','.join(metrics)}: none applies to the snapshot(s) given "
                       f"({', '.join(sorted({f'{s} px' for s in scales.values()}))}); SWD and MS-SSIM need "
                       f"images of at least 16 px; add fid, kid or prdc")
    return {p: out for p, out in left_out.items() if out}


def evaluate_snapshot(ctx, cfg, path: Path, opts: dict, folder, finished: set | frozenset = frozenset(),
                      scale: int | None = None) -> list[dict]:
    """Return one snapshot's records: its metrics that apply at its scale (``scale``, else read from the checkpoint),
    unless all are already ``finished``."""
    from pgan_ref.fileio import sha256_file
    from harness.quality.evaluate import applicable, evaluate, parse_metrics

    n, mode, seed = opts["n"], opts["preprocess"], opts["latent_seed"]
    scale = scale if scale is not None else resolve_architecture(path, cfg=cfg).resolution
    chosen = applicable(parse_metrics(opts["metrics"]), scale)
    ckpt_sha = sha256_file(path)
    if not chosen or all((ckpt_sha, n, mode, seed, m) in finished for c in chosen for m in METRIC_RECORDS[c]):
        return []
    crop = not cfg.deviations.d8_no_crop
    sampling = sampling_protocol(seed, real_view=f"training pipeline at {scale} px (crop={crop}, bilinear)")
    real = real_images(folder, scale, n, crop)
    fake = generated_images(build_generator(path, cfg=cfg), n, cfg.latent, seed)
    res = evaluate(real, fake, chosen, seed=seed, preprocess=mode, sampling=sampling)
    iteration = iteration_of(path)
    labels = {"scale": scale, "iteration": iteration,
              "images_seen": images_seen(cfg, scale, iteration, opts["train_devices"]),
              "n": n, "preprocess": mode, "latent_seed": seed, "checkpoint_sha256": ckpt_sha}
    return snapshot_records(ctx, res, labels, {"checkpoint": str(path)})


@scenario("quality", help="FID/KID/SWD/MS-SSIM/P-R-D-C of AvG samples (one checkpoint or every snapshot), resumable",
          options=OPTIONS)
def run(ctx) -> ScenarioResult:
    """Evaluate each snapshot not yet in the output's records; append its records as soon as it is done."""
    from harness.quality.evaluate import parse_metrics

    ctx, cfg = resolve_config(ctx)
    opts = ctx.options()
    metrics = parse_metrics(opts["metrics"])  # a bad list fails before any snapshot is read
    paths = snapshots(opts)
    scales = {p: resolve_architecture(p, cfg=cfg).resolution for p in paths}  # each checkpoint read once here
    for path, left_out in unmeasured(scales, metrics).items():
        print(f"warning: {path}: {', '.join(left_out)} not measured (needs images of at least 16 px)",
              file=sys.stderr)
    folder = opts["real"] or data_folder(ctx)
    finished = done_keys(ctx)
    for path in paths:
        ctx.emit(evaluate_snapshot(ctx, cfg, path, opts, folder, finished, scales[path]))
    return ScenarioResult([])  # every snapshot's records were appended as it finished
