"""Drop-in eval entry point: ``python -m pgan_ref.eval --checkpoint_g AvG.ckpt`` writes an 8x8 grid of samples."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cli_common import add_generator_args, load_generator


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the eval CLI."""
    p = argparse.ArgumentParser(prog="python -m pgan_ref.eval", description=__doc__)
    add_generator_args(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the numpy latents, >= 0 (default 0)")
    p.add_argument("--n_images", type=int, default=64, help="number of images (default 64)")
    p.add_argument("--nrow", type=int, default=8, help="images per grid row (default 8)")
    p.add_argument("--batch_size", type=int, default=64, help="generator batch size (default 64)")
    p.add_argument("--alpha", type=float, default=0.0,
                   help="fade alpha in [0, 1] (default 0 = new layers only; 1 = the previous scale's output)")
    p.add_argument("--output_dir", default="img_eval", help="output folder (default img_eval)")
    p.add_argument("--file_name", default="result.jpg", help="grid file name (default result.jpg)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Generate and save the grid; return 0 on success, 2 on a configuration or checkpoint error."""
    args = build_parser().parse_args(argv)
    grid = Path(args.output_dir) / args.file_name
    g = load_generator(args, {"n_images": (1, None), "nrow": (1, None), "batch_size": (1, None), "seed": (0, None),
                              "alpha": (0, 1)}, output=grid)
    if g is None:
        return 2
    from .generator_io import generate, sample_latents, save_grid

    z = sample_latents(args.n_images, g.latent, args.seed)
    images = generate(g, z, alpha=args.alpha, batch_size=args.batch_size)
    out = save_grid(images, grid, nrow=args.nrow)
    print(f"wrote {out}: {args.n_images} images of {g.resolution}x{g.resolution} "
          f"(raw range [{images.min():.3f}, {images.max():.3f}], clipped to [-1, 1] when saved)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
