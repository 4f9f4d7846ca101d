"""``compute_fid``: real and fake images in, FID (plus optional KID, bootstrap CI, FID-infinity) and manifest out."""
from __future__ import annotations

import time

from harness.quality.prdc import precision_recall_density_coverage
from harness.quality.fid.distance import (bootstrap_fid, fid_inf_sizes, fid_infinity, frechet_distance_to_features, kid,
    statistics)
from harness.quality.fid.features import get_extractor
from harness.quality.fid.inputs import InputError, open_source
from harness.quality.fid.preprocess import DEFAULT_MODE, MODES
from harness.quality.fid.protocol import make_manifest, manifest_sha256, real_features
from harness.quality.fid.stats_file import is_stats_file, load_stats, not_images, save_stats, stats_path


def compute_fid(real, fake, preprocess: str = DEFAULT_MODE, n: int | None = None, n_real: int | None = None,
                n_fake: int | None = None, seed: int = 0, batch_size: int = 32, kid_subsets: int = 0,
                kid_subset_size: int = 1000, bootstrap: int = 0, fid_inf: bool = False, prdc: bool = False,
                sampling: dict | None = None, weights=None, cache_real: bool = True, progress: bool = True) -> dict:
    """Return ``{"fid", "manifest", "manifest_sha256", "provenance", ...}`` for two image sets.

    ``real`` / ``fake`` are paths, arrays, iterables or callables of batches; ``real`` may also be a statistics
    .npz (``mu``, ``sigma``: pytorch-fid's layout or ``save_real_stats``'), whose sha256 joins the manifest.

    ``n`` keeps the first n images of each set (``n_real`` / ``n_fake`` override per set). ``kid_subsets`` > 0
    adds ``kid`` / ``kid_std``; ``bootstrap`` > 0 adds ``fid_bootstrap`` (CI from resampled fake features);
    ``fid_inf`` adds ``fid_inf`` (refused unless there are more than 2048 fake images); ``prdc`` adds ``prdc``
    (precision, recall, density, coverage with k = 3 on the same features). ``seed`` drives
    every random choice and is recorded; ``sampling`` (how generated images were drawn: generator, alpha,
    latent seed) joins the manifest. Paths and the generated images' hash go to ``provenance``. Real features
    are cached per (real set, weights, preprocessing).
    """
    if preprocess not in MODES:
        raise ValueError(f"unknown preprocessing mode {preprocess!r}; known: {', '.join(MODES)}")
    t0 = time.perf_counter()
    saved = load_stats(real) if is_stats_file(real) else None
    if saved is not None and (kid_subsets or prdc):
        raise InputError(f"--real {real} holds saved statistics (mu, sigma): KID and P/R/D/C need the real images")
    real_src = None if saved is not None else open_source(real, n if n_real is None else n_real)
    not_images(fake, "--fake")
    fake_src = open_source(fake, n if n_fake is None else n_fake)
    if fid_inf and fake_src.count is not None:
        fid_inf_sizes(fake_src.count)  # refuse before spending time on features
    extractor = get_extractor(weights)
    if saved is not None:
        saved.check(extractor.weights_sha256, preprocess)
        real_feats, (mu_r, sigma_r) = None, (saved.mu, saved.sigma)
    else:
        real_feats = real_features(real_src, extractor, preprocess, batch_size, cache_real, progress)
        mu_r, sigma_r = statistics(real_feats)
    fake_feats = extractor.extract(fake_src, preprocess, batch_size, progress)
    result = {"fid": frechet_distance_to_features(mu_r, sigma_r, fake_feats)}
    extra = {"real_source": f"statistics {saved.path}" if saved else real_src.description,
             "fake_source": fake_src.description,
             "fake_fingerprint": fake_src.fingerprint()}
    if kid_subsets:
        result["kid"], result["kid_std"] = kid(real_feats, fake_feats, kid_subsets, kid_subset_size, seed)
        extra.update(kid_subsets=kid_subsets, kid_subset_size=min(kid_subset_size, len(real_feats), len(fake_feats)))
    if bootstrap:
        result["fid_bootstrap"] = bootstrap_fid(mu_r, sigma_r, fake_feats, bootstrap, seed)
        extra["bootstrap_rounds"] = bootstrap
    if prdc:
        result["prdc"] = precision_recall_density_coverage(real_feats, fake_feats)
    if fid_inf:
        result["fid_inf"] = fid_infinity(mu_r, sigma_r, fake_feats, seed=seed)
        extra["fid_inf_ns"] = result["fid_inf"]["ns"]
    result["manifest"] = make_manifest(weights_sha256=extractor.weights_sha256, preprocess=preprocess,
                                       n_real=saved.n if saved else len(real_feats), n_fake=len(fake_feats),
                                       real_fingerprint=saved.real_fingerprint if saved else real_src.fingerprint(),
                                       real_stats_sha256=saved and saved.sha256, seed=seed, sampling=sampling)
    result["manifest_sha256"] = manifest_sha256(result["manifest"])
    result["provenance"] = extra
    result["seconds"] = time.perf_counter() - t0
    return result


def save_real_stats(real, out, preprocess: str = DEFAULT_MODE, n: int | None = None, batch_size: int = 32,
                    weights=None, cache_real: bool = True, progress: bool = True) -> dict:
    """Compute a real set's feature mean and covariance, save them to ``out`` (.npz); return path, sha256 and fields."""
    if preprocess not in MODES:
        raise ValueError(f"unknown preprocessing mode {preprocess!r}; known: {', '.join(MODES)}")
    if is_stats_file(real):
        raise InputError(f"--real {real} already holds statistics: --save-stats needs real images")
    stats_path(out)  # refuse a bad name before spending time on features
    src = open_source(real, n)
    extractor = get_extractor(weights)
    mu, sigma = statistics(real_features(src, extractor, preprocess, batch_size, cache_real, progress))
    fields = {"n": src.count, "preprocess": preprocess, "weights_sha256": extractor.weights_sha256,
              "real_fingerprint": src.fingerprint()}
    return {"stats": str(out), "stats_sha256": save_stats(out, mu, sigma, **fields), **fields}
