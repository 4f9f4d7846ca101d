"""Batched Inception feature extraction with progress, sharing one network per weights file."""
from __future__ import annotations

import functools
from typing import Iterable

import mindspore as ms
import numpy as np
from tqdm.auto import tqdm

from harness.quality.fid.inception import FIDInception
from harness.quality.fid.inputs import ImageSource, open_source
from harness.quality.fid.preprocess import DEFAULT_MODE, preprocess
from harness.quality.fid.protocol import FEATURE_DIM
from harness.quality.fid.weights import load_weights


class FeatureExtractor:
    """The FID Inception with its weights' sha256: uint8 NHWC batches -> (N, 2048) float32 pool3 features.

    Full batches run compiled (``ms.jit``, ~1.5x faster than PyNative here); each new batch shape costs a compile
    (~5 s), so a shorter last batch, or a set smaller than one batch, runs in PyNative instead.
    """

    def __init__(self, weights=None, download: bool = True):
        params, self.weights_sha256 = load_weights(weights, download)
        self.net = FIDInception(params)
        self.net.set_train(False)
        self._compiled = ms.jit(self.net)

    def network_features(self, x: np.ndarray, compiled: bool = False) -> np.ndarray:
        """Return the features of a preprocessed float32 NCHW 299x299 batch in [-1, 1] (``compiled``: under jit)."""
        net = self._compiled if compiled else self.net
        return net(ms.Tensor(np.ascontiguousarray(x, dtype=np.float32))).asnumpy()

    def extract(self, source: ImageSource, preprocess_mode: str = DEFAULT_MODE, batch_size: int = 32,
                progress: bool = True) -> np.ndarray:
        """Return the features of every image of ``source``, preprocessed with ``preprocess_mode``."""
        out = []
        with tqdm(total=source.count, unit="img", desc=f"FID features ({source.description})",
                  disable=not progress, leave=False) as bar:
            for batch in source.batches(batch_size):
                x = preprocess(batch, preprocess_mode)
                out.append(self.network_features(x, compiled=len(batch) == batch_size))
                bar.update(len(batch))
        return np.concatenate(out) if out else np.empty((0, FEATURE_DIM), np.float32)


@functools.lru_cache(maxsize=2)
def get_extractor(weights=None, download: bool = True) -> FeatureExtractor:
    """Return a shared ``FeatureExtractor`` for ``weights`` (None: the cached or downloaded default)."""
    return FeatureExtractor(weights, download)


def features_from_batches(batches: Iterable[np.ndarray], preprocess_mode: str = DEFAULT_MODE, batch_size: int = 32,
                          weights=None, progress: bool = False) -> np.ndarray:
    """Return (N, 2048) float32 features of an iterable of uint8 NHWC batches (or any source ``open_source`` takes)."""
    return get_extractor(weights).extract(open_source(batches), preprocess_mode, batch_size, progress)
