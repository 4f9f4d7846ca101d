"""16-bit PNGs reach training and FID as their high byte (PIL alone clips 16-bit grey to white)."""
import numpy as np
import pytest
from PIL import Image

from harness.quality.fid.inputs import InputError, open_source
from pgan_ref.data import iterate_batches, list_images

# A 16-bit grey ramp over the whole range: the expected 8-bit value of v is v >> 8 (v // 256).
RAMP = (np.arange(32 * 32, dtype=np.int64).reshape(32, 32) * 64).astype(np.uint16)


@pytest.fixture
def grey16(tmp_path):
    """Return a folder holding two 16-bit grey PNGs of RAMP."""
    for name in ("a.png", "b.png"):
        Image.fromarray(RAMP).save(tmp_path / name)
    assert Image.open(tmp_path / "a.png").mode == "I;16"  # really 16 bits per pixel on disk
    return tmp_path


def test_fid_folder_source_scales_16_bit_grey(grey16):
    (batch,) = list(open_source(grey16).batches(8))
    expected = np.repeat((RAMP >> 8).astype(np.uint8)[..., None], 3, axis=2)
    assert batch.shape == (2, 32, 32, 3) and np.array_equal(batch[0], expected)
    assert batch.mean() < 200  # not saturated (a clipped ramp would average ~254)


def test_training_batches_scale_16_bit_grey(grey16):
    files = list_images(grey16)
    batch = next(iterate_batches(files, 32, 2, crop=False, mirror=False, shuffle=False, num_workers=1))
    expected = (RAMP >> 8).astype(np.float32) / 255 * 2 - 1  # same size: the bilinear resize is the identity
    assert batch.shape == (2, 3, 32, 32)
    np.testing.assert_allclose(batch[0, 0], expected, atol=1e-6)


def test_32_bit_integer_image_is_refused_in_one_line(tmp_path):
    Image.fromarray(RAMP.astype(np.int32) * 1000, "I").save(tmp_path / "deep.tif")
    with pytest.raises(InputError, match=r"cannot read image .*deep.tif: 32-bit integer pixels \(PIL mode I\)"):
        list(open_source(tmp_path).batches(8))
