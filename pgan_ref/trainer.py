"""The progressive training loop: scales, fade-in, D/G/EMA steps, logs, checkpoints and exact resume."""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import checkpoints as ckpt
from .data import DataError, first_readable, list_images, samples_per_rank
from .errors import CheckpointError
from .interrupt import raise_if_interrupted
from .scale_step import build_scale, grow, grow_drawn, noise_source
from .schedule import iterations
from .train_log import TrainLog, monitor_line, step_line

log = logging.getLogger(__name__)


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite."""


class ConfigMismatch(CheckpointError):
    """The checkpoint directory holds a run of another configuration."""


@dataclass
class StepResult:
    """What one iteration produced (handed to ``on_step`` callbacks)."""

    scale: int
    scale_index: int
    i: int
    alpha: float
    loss_d: float
    loss_g: float
    gp: float
    drift: float
    step_s: float
    data_s: float
    overflow_d: bool = False
    overflow_g: bool = False
    loss_scale_d: float | None = None
    loss_scale_g: float | None = None


class Trainer:
    """Trains a PGAN config on an image folder, one rank of ``group_size``; resumable."""

    def __init__(self, cfg, data_path: str | Path, ckpt_dir: str | Path, *, rank: int = 0, group_size: int = 1,
                 on_step: Callable[[StepResult], None] | None = None, log: Callable[[str], None] | None = print,
                 progress: bool = True, stop_after: int | None = None):
        self.cfg, self.rank, self.group_size = cfg, rank, group_size
        self.ckpt_dir = Path(ckpt_dir)
        self.files = list_images(data_path)  # fails fast (before any compile) on a missing/empty folder
        largest = max(cfg.batch_size_at(s) for s in range(cfg.n_scales))
        if samples_per_rank(len(self.files), group_size) < largest:
            raise DataError(f"{len(self.files)} images in {data_path} split over {group_size} rank(s) cannot fill "
                            f"one batch of batch_size={largest}: lower batch_size (batch_size_list) or add images")
        first_readable(self.files)
        self.on_step, self.stop_after, self.progress = on_step, stop_after, progress and rank == 0
        steps = self.ckpt_dir / f"steps_rank{rank}.jsonl"
        self.log = TrainLog(steps, log if (log and rank == 0) else (lambda _: None))
        self.noise = noise_source(cfg, rank)
        self.done_steps = 0

    def _resume_point(self):
        """Return (state, tensors) of the newest intact checkpoint set, falling back past damaged ones; or None.

        A set whose marker or files are unusable is skipped with a warning; a readable marker of another
        configuration, or sets none of which is intact, raise CheckpointError.
        """
        damaged = []
        for folder, marker, s_idx in ckpt.checkpoint_sets(self.ckpt_dir, self.cfg.scales, self.rank):
            try:
                state = ckpt.read_marker(marker, s_idx)
                if state["config_hash"] != self.cfg.hash():
                    raise ConfigMismatch(f"{folder} holds checkpoints of a different configuration: use another "
                                         f"checkpoint directory or remove it to start afresh")
                tensors = ckpt.read_set(folder, state["i"])
            except ConfigMismatch:
                raise
            except CheckpointError as e:
                damaged.append(str(e))
                continue
            for problem in damaged:
                log.warning("%s: resuming from the older intact set %s", problem, marker)
            return state, tensors
        if damaged:
            raise CheckpointError(f"no intact checkpoint set under {self.ckpt_dir} ({damaged[0]}): remove the "
                                  f"damaged files or use another checkpoint directory")
        return None

    def run(self) -> dict:
        """Train every scale (resuming from the newest intact checkpoint); return a summary."""
        cfg = self.cfg
        prev, start_idx, loaded = None, 0, None
        resume = self._resume_point()
        self.log.keep_steps_before((cfg.scales[resume[0]["scale_index"]], resume[0]["i"]) if resume else None)
        if resume:
            state, tensors = resume
            start_idx = state["scale_index"]
            g, d, avg = grow(cfg, start_idx, None, cfg.seed)
            for name, net in (("G", g), ("D", d), ("AvG", avg)):
                ckpt.apply_params(net, tensors[name], f"{name}_{state['i']}.ckpt of {self.ckpt_dir}")
            if state["i"] < iterations(cfg.num_batch[start_idx], self.group_size):
                loaded = (g, d, avg, state["i"], state, tensors["state"])
            else:  # that scale had finished: grow from it, continuing the noise stream from its end
                self.noise.set_state(state["rng"])
                prev, start_idx = (g, d), start_idx + 1
        for s_idx in range(start_idx, cfg.n_scales):
            if loaded is not None:
                (g, d, avg, start_i, state, opt_tensors), loaded = loaded, None
            else:
                (g, d, avg), start_i, state, opt_tensors = grow_drawn(cfg, s_idx, prev, self.noise), 0, None, None
            if not self._train_scale(s_idx, g, d, avg, start_i, state, opt_tensors):
                return {"stopped_after": self.done_steps, "completed": False}
            prev = (g, d)
        return {"completed": True, "steps": self.done_steps}

    def _train_scale(self, s_idx, g, d, avg, start_i, state, opt_tensors) -> bool:
        st = build_scale(self.cfg, s_idx, self.files, self.noise, nets=(g, d, avg), rank=self.rank,
                         group_size=self.group_size)
        if state is not None:  # before the first compiled call, which would not see set_data
            ckpt.load_optimizer_state([st.nets.opt_d, st.nets.opt_g], opt_tensors)
            for name, scaler in st.scalers().items():
                scaler.set_state(state["loss_scale"][name])
            self.noise.set_state(state["rng"])
        n = len(st.alphas)
        self.log.line(f"Scale {st.scale}")
        self.log.line(f"Dataset size {samples_per_rank(len(self.files), self.group_size)}")
        for _ in range(start_i):  # replay the data order up to the resume point
            next(st.batches)
        bar = _progress(self.progress, n, start_i, st.scale)
        window = []
        try:
            for i in range(start_i, n):
                raise_if_interrupted()
                t0 = time.perf_counter()
                real = next(st.batches)
                t1 = time.perf_counter()
                out = st.run(real, st.alphas[i])
                t2 = time.perf_counter()
                res = StepResult(st.scale, s_idx, i, float(st.alphas[i]), out.loss_d, out.loss_g, out.gp, out.drift,
                                 t2 - t1, t1 - t0, out.overflow_d, out.overflow_g, out.loss_scale_d, out.loss_scale_g)
                self._after_step(res, st, n, window)
                bar.update(1)
                bar.set_postfix(lossD=f"{out.loss_d:.3g}", lossG=f"{out.loss_g:.3g}", alpha=f"{st.alphas[i]:.3f}")
                self.done_steps += 1
                if self.stop_after is not None and self.done_steps >= self.stop_after:
                    return False
        finally:
            bar.close()
            st.close()
        return True

    def _after_step(self, r: StepResult, st, n: int, window: list) -> None:
        cfg = self.cfg
        if not all(math.isfinite(v) for v in (r.loss_d, r.loss_g)):
            raise TrainingDiverged(f"non-finite loss at scale {r.scale} iteration {r.i} (loss D {r.loss_d}, "
                                   f"loss G {r.loss_g}): lower lr, check the data, or resume from the last "
                                   f"checkpoint under {self.ckpt_dir}")
        done = r.i + 1  # i_batch in the ModelZoo loop: iterations completed
        self.log.step({"scale": r.scale, "i": r.i, "alpha": r.alpha, "loss_d": r.loss_d, "loss_g": r.loss_g,
                       "gp": r.gp, "drift": r.drift, "step_s": r.step_s, "data_s": r.data_s, "rank": self.rank,
                       "overflow_d": r.overflow_d, "overflow_g": r.overflow_g, "loss_scale_d": r.loss_scale_d,
                       "loss_scale_g": r.loss_scale_g})
        if done % cfg.log_every == 0:  # the ModelZoo prints G's train-cell flag (its last assignment)
            self.log.line(step_line(done, r.alpha, r.loss_g, r.loss_d, r.overflow_g))
        window.append((r.step_s, r.data_s))
        if done % cfg.monitor_every == 0:
            step_ms, data_ms = (1e3 * float(np.mean(c)) for c in zip(*window))
            self.log.line(monitor_line(1, done, step_ms, data_ms))
            window.clear()
        if (done + 1) % cfg.model_save_step == 0 or done == n:
            state = {"scale": r.scale, "scale_index": r.scale_index, "i": done, "rng": self.noise.get_state(),
                     "config_hash": cfg.hash(), "seed": cfg.seed, "rank": self.rank,
                     "loss_scale": {name: scaler.get_state() for name, scaler in st.scalers().items()}}
            nets = st.nets
            ckpt.save_set(ckpt.scale_dir(self.ckpt_dir, r.scale, self.rank), done,
                          {"G": nets.g, "AvG": nets.avg_g, "D": nets.d}, [nets.opt_d, nets.opt_g], state,
                          names=cfg.checkpoint_names)
        if self.on_step is not None:
            self.on_step(r)


def _progress(enabled: bool, total: int, initial: int, scale: int):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=f"scale {scale}x{scale}", unit="it", disable=not enabled,
                dynamic_ncols=True, leave=False)
