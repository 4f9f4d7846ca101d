"""Build a Generator that matches a checkpoint (shapes or config + scale) and turn its output into images."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import CheckpointError
from .fileio import replaced_atomically, sha256_file
from .interop import LRELU_TORGB, PGAN_REF


@dataclass(frozen=True)
class Architecture:
    """The shape of a generator: latent size and channels per scale (``len(depths)`` scales), and the layout read."""

    latent: int
    depths: tuple[int, ...]
    layout: str = field(default=PGAN_REF, compare=False)

    @property
    def resolution(self) -> int:
        """Return the output side length in pixels."""
        return 4 * 2 ** (len(self.depths) - 1)


def read_layout_shapes(path: str | Path) -> tuple[str, dict[str, tuple[int, ...]]]:
    """Return (layout, ``{pgan_ref parameter name: shape}``) of a network checkpoint in any accepted layout.

    Raises CheckpointError when it is missing, unreadable or of no accepted layout.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"generator checkpoint {path} does not exist: pass --checkpoint_g to an "
                              f"AvG_{{i}}.ckpt (e.g. {{ckpt_save_dir}}/{{scale}}/AvG_{{i}}.ckpt)")
    from .checkpoints import read_net

    layout, tensors = read_net(path)
    return layout, {k: tuple(int(d) for d in v.shape) for k, v in tensors.items()}


def read_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Return ``{pgan_ref parameter name: shape}`` of a network checkpoint (see ``read_layout_shapes``)."""
    return read_layout_shapes(path)[1]


def infer_architecture(shapes: dict[str, tuple[int, ...]], source: str = "checkpoint",
                       layout: str = PGAN_REF) -> Architecture:
    """Return the generator architecture implied by checkpoint tensor shapes (to_rgb count, format and blocks)."""
    n = sum(1 for k in shapes if k.startswith("to_rgb.") and k.endswith(".weight"))
    if n == 0 or "format.weight" not in shapes:
        sample = ", ".join(sorted(shapes)[:4])
        raise CheckpointError(f"{source} is not a PGAN generator checkpoint (no format.weight / to_rgb.* "
                              f"tensors; has {sample}...): pass a G_ or AvG_ checkpoint, not D_ or state_")
    latent = shapes["format.weight"][1]
    try:
        depths = [shapes["scale0.weight"][0]] + [shapes[f"blocks.{s - 1}.conv0.weight"][0] for s in range(1, n)]
    except KeyError as e:
        raise CheckpointError(f"{source} has {n} to_rgb layers but lacks {e.args[0]}: incomplete checkpoint?") from e
    return Architecture(int(latent), tuple(int(d) for d in depths), layout)


def scale_index(scale: int) -> int:
    """Return how many scales a ``scale`` x ``scale`` generator has, or raise CheckpointError for a bad size."""
    n = math.log2(scale / 4) + 1 if scale >= 4 else 0
    if scale < 4 or n != int(n):
        raise CheckpointError(f"--scale must be a resolution in pixels: 4, 8, 16, 32, 64 or 128 (got {scale})")
    return int(n)


def resolve_architecture(path: str | Path, *, cfg=None, scale: int | None = None) -> Architecture:
    """Return the architecture to build for ``path``: from its shapes, checked against ``cfg`` and ``scale``."""
    layout, shapes = read_layout_shapes(path)
    arch = infer_architecture(shapes, source=str(path), layout=layout)
    if scale is not None and arch.resolution != scale:
        scale_index(scale)
        raise CheckpointError(f"{path} holds a {arch.resolution}x{arch.resolution} generator "
                              f"({len(arch.depths)} scales, depths {list(arch.depths)}) but --scale {scale} was "
                              f"requested: pass --scale {arch.resolution} or the checkpoint of scale {scale}")
    if cfg is not None:
        n = len(arch.depths)
        if arch.resolution not in cfg.scales:
            raise CheckpointError(f"{path} is a {arch.resolution}x{arch.resolution} generator but the config's "
                                  f"scales are {cfg.scales}")
        want = Architecture(cfg.latent, tuple(cfg.depth[:n]))
        if want != arch:
            raise CheckpointError(f"{path} (latent {arch.latent}, depths {list(arch.depths)}) does not match the "
                                  f"config (latent {want.latent}, depths {list(want.depths)}): pass the config "
                                  f"it was trained with, or none to use the checkpoint's shapes")
    return arch


def build_generator(path: str | Path, *, cfg=None, scale: int | None = None, lrelu_torgb: bool | None = None):
    """Return a Generator in inference mode loaded from ``path`` (shapes checked against ``cfg``/``scale``).

    A foreign layout fixes the toRGB activation (a ModelZoo generator applies LeakyReLU to it, D4, whatever
    ``cfg`` says); for pgan_ref's own checkpoints ``lrelu_torgb`` or else the config's D4 decides.
    """
    from .checkpoints import load_net
    from .networks import Generator

    arch = resolve_architecture(path, cfg=cfg, scale=scale)
    if arch.layout in LRELU_TORGB:
        lrelu_torgb = LRELU_TORGB[arch.layout]
    elif lrelu_torgb is None:
        lrelu_torgb = bool(cfg.deviations.d4_lrelu_torgb) if cfg is not None else False
    leak = cfg.leaky if cfg is not None else 0.2
    g = Generator(arch.latent, list(arch.depths), leak=leak, lrelu_torgb=lrelu_torgb)
    load_net(g, path)
    g.set_train(False)
    return g


def sample_latents(n: int, latent: int, seed: int) -> np.ndarray:
    """Return ``n`` standard-normal latents of size ``latent`` (float32) drawn from numpy with ``seed``."""
    return np.random.default_rng(seed).standard_normal((n, latent)).astype(np.float32)


def generate(generator, latents: np.ndarray, alpha: float = 0.0, batch_size: int | None = None) -> np.ndarray:
    """Return the generator's raw (unclipped) NCHW float32 images for ``latents``, run in batches."""
    from mindspore import Tensor

    bs = batch_size or len(latents)
    a = Tensor(np.float32(alpha))
    outs = [generator(Tensor(latents[i:i + bs]), a).asnumpy() for i in range(0, len(latents), bs)]
    return np.concatenate(outs, axis=0)


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Return NHWC uint8 images from NCHW images in [-1, 1], clipping out-of-range values (save time only)."""
    x = (np.clip(images, -1.0, 1.0) + 1.0) * 127.5
    return np.rint(x).astype(np.uint8).transpose(0, 2, 3, 1)


def make_grid(images_u8: np.ndarray, nrow: int = 8) -> np.ndarray:
    """Return one HWC uint8 image tiling NHWC ``images_u8`` in rows of ``nrow`` (blank tiles pad the last row)."""
    n, h, w, c = images_u8.shape
    rows = -(-n // nrow)
    grid = np.zeros((rows * h, nrow * w, c), dtype=np.uint8)
    for i in range(n):
        r, k = divmod(i, nrow)
        grid[r * h:(r + 1) * h, k * w:(k + 1) * w] = images_u8[i]
    return grid


def save_grid(images: np.ndarray, path: str | Path, nrow: int = 8) -> Path:
    """Save NCHW images in [-1, 1] (clipped here) as one grid image with PIL; return the path."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(make_grid(to_uint8(images), nrow)).save(path, quality=95)
    return path


def export_mindir(generator, batch_size: int, path: str | Path, alpha: float = 0.0) -> dict:
    """Export ``generator`` with fixed inputs latents (batch_size, latent) + scalar alpha (f32) to ``path``, atomically.

    Returns ``{"path", "bytes", "sha256", "batch_size", "inputs", "output"}``.
    """
    import mindspore as ms
    from mindspore import Tensor

    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    path = Path(path)
    if path.suffix.lower() != ".mindir":
        path = path.with_name(path.name + ".mindir")
    path.parent.mkdir(parents=True, exist_ok=True)
    generator.set_train(False)
    latent, res = generator.latent, generator.resolution
    z = Tensor(np.zeros((batch_size, latent), np.float32))
    a = Tensor(np.float32(alpha))
    with replaced_atomically(path) as tmp:  # tmp ends in .mindir, so MindSpore adds no suffix
        ms.export(generator, z, a, file_name=str(tmp), file_format="MINDIR")
    return {"path": path, "bytes": path.stat().st_size, "sha256": sha256_file(path), "batch_size": batch_size,
            "inputs": [{"name": "latents", "shape": [batch_size, latent], "dtype": "float32"},
                       {"name": "alpha", "shape": [], "dtype": "float32"}],
            "output": {"shape": [batch_size, 3, res, res], "dtype": "float32"}}


def ensure_device(device_target: str = "CPU", device_id: int | None = None) -> None:
    """Select the device via ``device.setup``, tolerating a process whose runtime already runs on that device."""
    import mindspore as ms

    from .device import setup

    try:
        setup(device_target, device_id)
    except RuntimeError:
        if ms.get_context("device_target") != device_target:
            raise
