"""Image quality metrics beyond FID: the PGAN paper's MS-SSIM and multi-scale SWD, and precision/recall/density/coverage.

Public API (numpy/scipy only, except P/R/D/C which uses the ``prdc`` package)::

    from harness.quality import ms_ssim, laplacian_pyramid, sliced_wasserstein, multiscale_swd

    ms_ssim(img1, img2)                          # uint8 NHWC batches -> mean MS-SSIM over the pairs
    laplacian_pyramid(images_nchw, levels)       # -> list of float32 NCHW arrays, finest first
    sliced_wasserstein(desc_a, desc_b, dirs)     # mean |sort(a @ dirs) - sort(b @ dirs)|
    multiscale_swd(real_nchw_uint8, fake_nchw_uint8, seed=0)   # {res: SWD x 1e3, ..., "avg": mean}
    precision_recall_density_coverage(real_features, fake_features, k=3)

The constants follow NVIDIA's ``metrics/ms_ssim.py`` and ``metrics/sliced_wasserstein.py``; ``constants()`` returns
them for the protocol manifest. FID and KID (Inception features, statistics files, the protocol manifest) are the
``harness.quality.fid`` subpackage; ``evaluate`` scores any subset of all of them on one image set.

May import ``harness.records``, ``harness.judge`` and the root modules (``harness.cache``).
"""
from harness.quality import ms_ssim as _ms_ssim_module
from harness.quality import swd as _swd_module
from harness.quality.ms_ssim import ms_ssim, ms_ssim_per_image
from harness.quality.prdc import NEAREST_K, precision_recall_density_coverage
from harness.quality.swd import laplacian_pyramid, multiscale_swd, sliced_wasserstein

__all__ = ["ms_ssim", "ms_ssim_per_image", "laplacian_pyramid", "sliced_wasserstein", "multiscale_swd",
           "precision_recall_density_coverage", "constants"]


def constants() -> dict:
    """Return every metric constant that a quality number depends on (for the protocol manifest)."""
    m, s = _ms_ssim_module, _swd_module
    return {"ms_ssim": {"max_val": m.MAX_VAL, "filter_size": m.FILTER_SIZE, "filter_sigma": m.FILTER_SIGMA,
                        "k1": m.K1, "k2": m.K2, "weights": list(m.WEIGHTS), "downsample": "box2x2"},
            "swd": {"nhood_size": s.NHOOD_SIZE, "nhoods_per_image": s.NHOODS_PER_IMAGE,
                    "dir_repeats": s.DIR_REPEATS, "dirs_per_repeat": s.DIRS_PER_REPEAT,
                    "min_resolution": s.MIN_RESOLUTION, "filter": "binomial5x5 mirror", "scale": 1e3},
            "prdc": {"nearest_k": NEAREST_K}}
