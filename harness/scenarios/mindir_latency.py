"""Scenario ``mindir-latency``: export the generator to MindIR per batch size and time it against eager PyNative, or
time the user's own MindIR files as they are (``mindir=``: no export, inputs as each file declares them)."""
from __future__ import annotations

import logging
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from harness.errors import BadInput
from harness.scenarios.api import Option, RunContext, ScenarioResult, boolean, int_list, scenario
from harness.scenarios.inference import RUNTIMES
from harness.scenarios.mindir_files import batch_of, describe, mindir_files

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
    Option("mindir", "the user's MindIR file(s), comma-separated paths or globs ('a.mindir,runs/*.mindir'): each "
           "timed as it is, no export and no eager comparison; inputs at the shapes and dtypes the file declares "
           "(floating N(0,1) from the run seed, integer/bool zeros); records labelled impl='user MindIR NAME' with "
           "its sha256; excludes checkpoint, scale and batch_sizes"),
    Option("mindir_batch", "size(s) of a dynamic (-1) first input dimension of a mindir= file, comma-separated "
           "(one timing per size); required when a file has one, unused by fixed-shape files", None, int_list,
           minimum=1),
)
EXPORT_ONLY = ("checkpoint", "scale", "batch_sizes")  # options of the export path, refused beside mindir=


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
          help="export G to MindIR per batch size, or take the user's MindIR files (mindir=); time first call and "
               "steady state; exported files are compared with eager",
          options=OPTIONS)
def run(ctx: RunContext) -> ScenarioResult:
    """Return latency, first-call, throughput, memory, size, eager ratio and output-difference records (the user's
    files: their records are appended file by file and none are returned)."""
    from pgan_ref.config import load_config
    from pgan_ref.device import apply_precision
    from pgan_ref.generator_io import ensure_device

    opts = ctx.options()
    _check_exclusive(ctx, opts)
    cfg = load_config(preset=ctx.preset, variant=ctx.variant, overrides=ctx.config_overrides())
    if opts["mindir"]:
        files = [describe(p, opts["mindir_batch"]) for p in mindir_files(opts["mindir"])]  # all checked up front
        ensure_device(ctx.device)
        ctx.meta["precision"] = apply_precision(cfg, ctx.device)
        for info in files:
            ctx.emit(_time_user_file(ctx, opts, info))
        return ScenarioResult([])
    ensure_device(ctx.device)
    ctx.meta["precision"] = apply_precision(cfg, ctx.device)
    return _time_exported(ctx.replace(config_hash=ctx.config_hash or cfg.hash()), cfg, opts)


def _check_exclusive(ctx: RunContext, opts: dict) -> None:
    """Raise BadInput when export-path options are set beside ``mindir=``, or ``mindir_batch`` without it."""
    given = [k for k in EXPORT_ONLY if ctx.overrides.get(k) is not None]
    if opts["mindir"] and given:
        raise BadInput(f"--set mindir times the given files as they are: drop --set {', '.join(given)} (a dynamic "
                       f"batch dimension is set with --set mindir_batch=N)")
    if opts["mindir_batch"] and not opts["mindir"]:
        raise BadInput("--set mindir_batch sets a dynamic dimension of --set mindir=FILE files; without mindir= use "
                       "--set batch_sizes")


def _timing_kw(opts: dict) -> dict:
    return dict(warmup=opts["warmup"], min_count=opts["min_count"], min_time_s=opts["min_time_s"])


def _latency_records(ctx: RunContext, timing, bs: int | None, labels: dict, size: dict, warmup: int,
                     **common) -> list[dict]:
    """Return the records both paths share: steady latency, first call, file size (``size["bytes"]``, the rest of
    ``size`` as labels), peak memory, and throughput when there is a batch size."""
    ms_samples = [s * 1e3 for s in timing.samples]
    med = float(np.median(timing.samples))
    recs = [ctx.record("latency", "ms", np.median(ms_samples), samples=ms_samples,
                       labels={**labels, "phase": "steady", "warmup": warmup}, **common),
            ctx.record("first_call_latency", "ms", timing.first_s * 1e3, labels={**labels, "phase": "first"}, **common),
            ctx.record("mindir_size", "B", size["bytes"],
                       labels={**labels, **{k: v for k, v in size.items() if k != "bytes"}}, **common),
            ctx.record("peak_memory", "MiB", peak_rss_mib(),
                       labels={**labels, "source": "ru_maxrss", "scope": "process high-water mark"}, **common)]
    if bs:
        recs.append(ctx.record("throughput", "images/s", bs / med,
                               labels={**labels, "phase": "steady", "from": "median latency"}, **common))
    return recs


def _time_user_file(ctx: RunContext, opts: dict, info: dict) -> list[dict]:
    """Return the records of one user's MindIR file, timed at each of its concrete input shapes."""
    from harness.scenarios.inference import InferenceError, example_inputs, load_runtime
    from harness.scenarios.timing import time_calls

    path, records = info["path"], []
    try:
        t0 = time.perf_counter()
        rt = load_runtime(path, opts["runtime"], device=ctx.device)
        load_s = time.perf_counter() - t0
    except InferenceError as e:
        raise BadInput(f"--set mindir: {e}") from None
    for shapes in info["shapes"]:
        t_start = _now()
        arrays = example_inputs(info["inputs"], shapes, np.random.default_rng(ctx.seed))
        try:
            timing = time_calls(lambda: rt.run(*arrays), **_timing_kw(opts))
            outs = rt.run(*arrays)
        except RuntimeError as e:  # MindSpore's compile or kernel errors, InferenceError
            given = ", ".join(f"{i['name']} {tuple(s)} {i['dtype']}" for i, s in zip(info["inputs"], shapes))
            raise BadInput(f"{path}: {rt.name} could not run it with inputs {given} "
                           f"({str(e).strip().splitlines()[0]}); it cannot be timed on this device") from None
        bs, batch_input = batch_of(info["inputs"], shapes)
        labels = {"batch_size": bs, "runtime": rt.name, "runtime_version": rt.version,
                  "impl": f"user MindIR {info['name']}", "mindir": info["name"], "mindir_sha256": info["sha256"],
                  "batch_input": batch_input,
                  "inputs": [{**i, "shape": s} for i, s in zip(info["inputs"], shapes)],
                  "declared_inputs": info["inputs"], "declared_outputs": info["outputs"],
                  "outputs": [{"shape": list(o.shape), "dtype": str(o.dtype)} for o in outs]}
        finite = all(np.isfinite(o).all() for o in outs if o.dtype.kind in "fc")
        common = dict(flags=[] if finite else ["nonfinite-output"], time_start=t_start, time_end=_now(),
                      params={"mindir_path": str(path.resolve()), "input_fill": "floating N(0,1) "
                              "numpy default_rng(run seed) in input order; integer and bool zeros"})
        records += _latency_records(ctx, timing, bs, labels, {"bytes": info["bytes"], "load_s": load_s},
                                    opts["warmup"], **common)
        log.info("mindir-latency %s %s (%s): median %.3f ms", info["name"],
                 [tuple(s) for s in shapes], rt.name, np.median(timing.samples) * 1e3)
    return records


def _time_exported(ctx: RunContext, cfg, opts: dict) -> ScenarioResult:
    """Export the generator per batch size, time the MindIR and eager; return their records."""
    from mindspore import Tensor

    from harness.scenarios.inference import export_mindir, load_runtime
    from harness.scenarios.timing import time_calls

    g, scale, flags = _generator(cfg, opts, ctx.seed)
    folder = Path(ctx.out_dir) / "mindir"
    rng = np.random.default_rng(ctx.seed)
    alpha = np.float32(0.0)
    timing_kw = _timing_kw(opts)
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
            med = float(np.median(mindir.samples))
            eager_med = float(np.median(eager.samples))
            common = dict(flags=fl, time_start=t_start, time_end=_now())
            size = {"bytes": info["bytes"], "sha256": info["sha256"], "inputs": info["inputs"], "export_s": export_s,
                    "load_s": load_s}
            records += _latency_records(ctx, mindir, bs, labels, size, opts["warmup"], **common) + [
                ctx.record("eager_latency", "ms", eager_med * 1e3, samples=[s * 1e3 for s in eager.samples],
                           labels={**labels, "runtime": "mindspore-pynative", "phase": "steady"}, **common),
                ctx.record("eager_vs_mindir_ratio", "1", eager_med / med, labels={**labels, "phase": "steady"},
                           **common),
                ctx.record("mindir_max_abs_diff", "1", diff, labels={**labels, "tolerance": opts["tolerance"]},
                           **common),
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
