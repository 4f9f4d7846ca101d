"""Scenario ``mindir-latency``: export the generator to MindIR per batch size and time it against eager PyNative."""
from __future__ import annotations

import logging
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from harness.scenarios.api import Option, RunContext, ScenarioResult, boolean, int_list, scenario
from harness.scenarios.inference import RUNTIMES

log = logging.getLogger(__name__)

OPTIONS = (
    Option("checkpoint", "AvG checkpoint to export (unset: freshly initialised weights, flagged untrained-weights)"),
    Option("batch_sizes", "comma-separated fixed batch sizes to export and time", "1,64", int_list, minimum=1),
    Option("min_count", "minimum number of timed calls per batch size and runtime", 20, int, minimum=1),
    Option("min_time_s", "minimum total seconds of timed calls per batch size and runtime", 2.0, float, minimum=0),
    Option("warmup", "untimed calls after the first call", 3, int, minimum=0),
    Option("scale", "generator resolution in pixels (unset: the preset's top scale)", None, int, minimum=4),
    Option("runtime", " | ".join(RUNTIMES), "auto", choices=RUNTIMES),
    Option("tolerance", "max |MindIR - eager| allowed before the run is flagged mindir-mismatch", 1e-5, float,
           minimum=0),
    Option("strict", "raise instead of only flagging when MindIR and eager outputs differ", False, boolean),
    Option("keep_mindir", "keep the exported files under {out}/mindir/ (else deleted after timing)", False, boolean),
)


def peak_rss_mib() -> float:
    """Return this process's peak resident set size in MiB (``ru_maxrss``: KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10


def _generator(cfg, opts: dict, seed: int):
    """Return (generator, scale, flags): loaded from the checkpoint option, or freshly initialised."""
    from pgan_ref.generator_io import build_generator
    from pgan_ref.networks import Generator

    scale = opts["scale"] or cfg.scales[-1]
    if scale not in cfg.scales:
        raise ValueError(f"scale {scale} is not one of the config's scales {cfg.scales}")
    if opts["checkpoint"]:
        return build_generator(opts["checkpoint"], cfg=cfg, scale=scale), scale, []
    n = cfg.scales.index(scale) + 1
    g = Generator(cfg.latent, cfg.depth[:n], leak=cfg.leaky, seed=seed, lrelu_torgb=cfg.deviations.d4_lrelu_torgb)
    g.set_train(False)
    return g, scale, ["untrained-weights"]


@scenario("mindir-latency",
          help="export G to MindIR per batch size; time first call and steady state, compare with eager",
          options=OPTIONS)
def run(ctx: RunContext) -> ScenarioResult:
    """Return latency, first-call, throughput, memory, size, eager ratio and output-difference records."""
    from pgan_ref.config import load_config
    from pgan_ref.device import apply_precision
    from pgan_ref.generator_io import ensure_device

    from harness.scenarios.inference import export_mindir, load_runtime
    from harness.scenarios.timing import time_calls

    opts = ctx.options()
    cfg = load_config(preset=ctx.preset, variant=ctx.variant, overrides=ctx.config_overrides())
    ensure_device(ctx.device)
    ctx.meta["precision"] = apply_precision(cfg, ctx.device)
    from mindspore import Tensor

    g, scale, flags = _generator(cfg, opts, ctx.seed)
    ctx = ctx.replace(config_hash=ctx.config_hash or cfg.hash())
    folder = Path(ctx.out_dir) / "mindir"
    rng = np.random.default_rng(ctx.seed)
    alpha = np.float32(0.0)
    timing_kw = dict(warmup=opts["warmup"], min_count=opts["min_count"], min_time_s=opts["min_time_s"])
    records: list[dict] = []
    try:
        for bs in opts["batch_sizes"]:
            t_start = _now()
            path = folder / f"{ctx.run_id}-G{scale}-b{bs}.mindir"
            t0 = time.perf_counter()
            info = export_mindir(g, bs, path)
            export_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            rt = load_runtime(path, opts["runtime"], device=ctx.device)
            load_s = time.perf_counter() - t0
            labels = {"batch_size": bs, "scale": scale, "runtime": rt.name, "runtime_version": rt.version,
                      "latent": g.latent, "depths": list(g.depths)}
            z = rng.standard_normal((bs, g.latent)).astype(np.float32)
            mindir = time_calls(lambda: rt(z, alpha), **timing_kw)
            zt, at = Tensor(z), Tensor(alpha)
            eager = time_calls(lambda: g(Tensor(z), at).asnumpy(), **timing_kw)
            diff = float(np.abs(rt(z, alpha) - g(zt, at).asnumpy()).max())
            mismatch = not diff <= opts["tolerance"]
            fl = flags + (["mindir-mismatch"] if mismatch else [])
            ms_samples = [s * 1e3 for s in mindir.samples]
            med = float(np.median(mindir.samples))
            eager_med = float(np.median(eager.samples))
            common = dict(flags=fl, time_start=t_start, time_end=_now())
            records += [
                ctx.record("latency", "ms", np.median(ms_samples), samples=ms_samples,
                           labels={**labels, "phase": "steady", "warmup": opts["warmup"]}, **common),
                ctx.record("first_call_latency", "ms", mindir.first_s * 1e3, labels={**labels, "phase": "first"},
                           **common),
                ctx.record("throughput", "images/s", bs / med, labels={**labels, "phase": "steady",
                                                                      "from": "median latency"}, **common),
                ctx.record("eager_latency", "ms", eager_med * 1e3, samples=[s * 1e3 for s in eager.samples],
                           labels={**labels, "runtime": "mindspore-pynative", "phase": "steady"}, **common),
                ctx.record("eager_vs_mindir_ratio", "1", eager_med / med, labels={**labels, "phase": "steady"},
                           **common),
                ctx.record("mindir_max_abs_diff", "1", diff, labels={**labels, "tolerance": opts["tolerance"]},
                           **common),
                ctx.record("mindir_size", "B", info["bytes"],
                           labels={**labels, "sha256": info["sha256"], "inputs": info["inputs"],
                                   "export_s": export_s, "load_s": load_s}, **common),
                ctx.record("peak_memory", "MiB", peak_rss_mib(),
                           labels={**labels, "source": "ru_maxrss", "scope": "process high-water mark"}, **common),
            ]
            log.info("mindir-latency G%d batch %d (%s): median %.3f ms, eager %.3f ms, max|diff| %.2e",
                     scale, bs, rt.name, med * 1e3, eager_med * 1e3, diff)
            if mismatch:
                msg = (f"MindIR output differs from eager by {diff:.3g} > {opts['tolerance']:g} at batch {bs} "
                       f"({rt.name})")
                if opts["strict"]:
                    raise AssertionError(msg)
                log.warning("%s; records flagged mindir-mismatch", msg)
            if not opts["keep_mindir"]:
                path.unlink(missing_ok=True)
    finally:
        if not opts["keep_mindir"] and folder.is_dir() and not any(folder.iterdir()):
            shutil.rmtree(folder, ignore_errors=True)
    return ScenarioResult(records)


def _now() -> str:
    from harness.records.store import utc_now

    return utc_now()
