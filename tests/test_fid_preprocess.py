"""Preprocessing modes against independent per-pixel references, and input layouts."""
import numpy as np
import pytest
from PIL import Image

from harness.quality.fid.inputs import InputError, to_uint8_nhwc
from harness.quality.fid.preprocess import linear_resize_matrix, preprocess, resize_linear


def reference_resize_1d(row: np.ndarray, n_out: int, half_pixel: bool) -> np.ndarray:
    """Per-output-pixel linear interpolation written from the definitions (torch align_corners=False / TF1).

    Like torch's CPU kernel, source coordinates and weights are float32 (``scale = float(in) / out``).
    """
    n_in, out, f32 = len(row), np.empty(n_out), np.float32
    scale = f32(n_in) / f32(n_out)
    for j in range(n_out):
        src = scale * (f32(j) + f32(0.5)) - f32(0.5) if half_pixel else f32(j) * scale
        src = max(src, f32(0))
        i0 = int(np.floor(src))
        i1 = min(i0 + 1, n_in - 1)
        lam = f32(src - f32(i0))
        out[j] = row[i0] * (f32(1) - lam) + row[i1] * lam
    return out


def reference_resize_2d(img: np.ndarray, size: int, half_pixel: bool) -> np.ndarray:
    rows = np.stack([reference_resize_1d(r, size, half_pixel) for r in img])
    return np.stack([reference_resize_1d(c, size, half_pixel) for c in rows.T]).T


@pytest.mark.parametrize("n_in,n_out", [(64, 299), (7, 3), (600, 299), (299, 299), (1, 5)])
@pytest.mark.parametrize("half_pixel", [True, False])
def test_linear_resize_matches_definition(n_in, n_out, half_pixel):
    img = np.random.default_rng(n_in).uniform(size=(n_in, n_in))
    ours = resize_linear(img[None, None].astype(np.float32), n_out, half_pixel)[0, 0]
    np.testing.assert_allclose(ours, reference_resize_2d(img, n_out, half_pixel), atol=2e-6)


def test_torch_bilinear_has_no_antialias_when_downsampling():
    # 4 -> 2 with half-pixel centres samples at 0.5 and 2.5: each output mixes two inputs only
    m = linear_resize_matrix(4, 2)
    np.testing.assert_allclose(m, [[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]])
    np.testing.assert_allclose(linear_resize_matrix(4, 2, half_pixel=False), [[1, 0, 0, 0], [0, 0, 1, 0]])


def test_pytorch_fid_mode_is_identity_at_299():
    x = np.random.default_rng(0).integers(0, 256, size=(2, 299, 299, 3), dtype=np.uint8)
    np.testing.assert_allclose(preprocess(x), x.transpose(0, 3, 1, 2) / 127.5 - 1, atol=1e-6)


def test_clean_mode_is_pil_bicubic_per_channel():
    x = np.random.default_rng(1).integers(0, 256, size=(1, 40, 30, 3), dtype=np.uint8)
    out = preprocess(x, "clean")
    channel = Image.fromarray(x[0, :, :, 1].astype(np.float32), mode="F").resize((299, 299), Image.BICUBIC)
    np.testing.assert_allclose(out[0, 1], (np.asarray(channel).clip(0, 255) - 128) / 128, atol=1e-6)


def test_tf1_mode_scaling_and_shape():
    x = np.full((1, 10, 10, 3), 128, dtype=np.uint8)
    out = preprocess(x, "tf1")
    assert out.shape == (1, 3, 299, 299) and out.dtype == np.float32
    np.testing.assert_allclose(out, 0, atol=1e-6)


def test_unknown_mode_and_bad_batches_are_refused():
    x = np.zeros((1, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="unknown preprocessing mode"):
        preprocess(x, "bicubic")
    with pytest.raises(ValueError, match="uint8 NHWC"):
        preprocess(x.astype(np.float32))


def test_array_layouts_and_ranges():
    u8 = np.random.default_rng(2).integers(0, 256, size=(2, 5, 6, 3), dtype=np.uint8)
    np.testing.assert_array_equal(to_uint8_nhwc(u8.transpose(0, 3, 1, 2)), u8)
    np.testing.assert_array_equal(to_uint8_nhwc(u8 / 255.0), u8)
    np.testing.assert_array_equal(to_uint8_nhwc((u8 / 127.5 - 1).astype(np.float32)), u8)
    grey = to_uint8_nhwc(u8[..., 0])
    assert grey.shape == (2, 5, 6, 3) and np.all(grey[..., 2] == u8[..., 0])
    with pytest.raises(InputError, match="expected images of shape"):
        to_uint8_nhwc(np.zeros((2, 5, 6, 4)))
