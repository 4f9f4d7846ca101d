"""Tests of the training data path: folder checks, preprocessing, seeded sharded batches, synthetic images."""
import itertools
import logging
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from harness.cli import main
from pgan_ref import data
from pgan_ref.data import DataError
from pgan_ref.synthetic import write_synthetic


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """Sixteen synthetic CelebA-size JPEGs; returns their parent folder."""
    root = tmp_path_factory.mktemp("faces")
    write_synthetic(root, n=16, seed=3)
    return root


def known_image():
    """A fixed 178x218 RGB image with pixels 0 and 255 inside the crop box."""
    pixels = np.random.default_rng(0).integers(0, 256, (218, 178, 3), dtype=np.uint8)
    pixels[60:64, 30:34] = 0
    pixels[100:104, 100:104] = 255
    return pixels


def take(batches, count):
    """The first ``count`` batches of an iterator, which is then closed."""
    out = list(itertools.islice(batches, count))
    batches.close()
    return out


def test_crop_box_is_the_spec_box_and_stays_inside_other_sizes():
    assert data.crop_box(178, 218) == (25, 57, 153, 185)
    for width, height in [(128, 128), (100, 300), (400, 120), (356, 436)]:
        left, upper, right, lower = data.crop_box(width, height)
        assert 0 <= left < right <= width and 0 <= upper < lower <= height and right - left == lower - upper


def test_preprocess_matches_independent_numpy_crop_resize_normalise():
    pixels = known_image()
    crop = pixels[121 - 64:121 + 64, 89 - 64:89 + 64]
    resized = np.asarray(Image.fromarray(crop).resize((16, 16), Image.BILINEAR), dtype=np.float64)
    expected = (resized / 255 * 2 - 1).transpose(2, 0, 1)
    got = data.preprocess(Image.fromarray(pixels), 16)
    assert got.dtype == np.float32 and got.shape == (3, 16, 16)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_preprocess_range_is_minus_one_to_one():
    got = data.preprocess(Image.fromarray(known_image()), 128)
    assert got.min() == -1.0 and got.max() == 1.0


def test_mirror_flips_width_and_no_crop_squashes_the_whole_image():
    image = Image.fromarray(known_image())
    plain = data.preprocess(image, 16)
    np.testing.assert_array_equal(data.preprocess(image, 16, mirror=True), plain[:, :, ::-1])
    squashed = data.preprocess(image, 16, crop=False)
    whole = np.asarray(image.resize((16, 16), Image.BILINEAR), dtype=np.float64) / 255 * 2 - 1
    np.testing.assert_allclose(squashed, whole.transpose(2, 0, 1), atol=1e-6)
    assert np.abs(squashed - plain).max() > 0.1


def test_list_images_accepts_the_folder_or_its_parent_and_ignores_other_files(faces):
    (faces / "img_align_celeba" / "notes.txt").write_text("not an image")
    files = data.list_images(faces)
    assert files == data.list_images(faces / "img_align_celeba")
    assert [f.name for f in files] == [f"{i:06d}.jpg" for i in range(1, 17)]


@pytest.mark.parametrize("case, words", [("missing", "does not exist"), ("file", "not a folder"),
                                         ("empty", "no .jpg")])
def test_list_images_explains_what_is_wrong_and_what_to_do(tmp_path, case, words):
    target = tmp_path / case
    if case == "file":
        target.write_text("x")
    if case == "empty":
        (target / "img_align_celeba").mkdir(parents=True)
    with pytest.raises(DataError, match=words) as raised:
        data.list_images(target)
    assert "--train_data_path" in str(raised.value) and "data synthetic" in str(raised.value)


def test_folder_check_fails_without_importing_mindspore(tmp_path):
    code = ("import sys\nfrom pgan_ref import data\ntry:\n    data.list_images(sys.argv[1])\n"
            "except data.DataError:\n    sys.exit('mindspore' in sys.modules)\nsys.exit(2)\n")
    assert subprocess.run([sys.executable, "-c", code, str(tmp_path / "nope")]).returncode == 0


def test_epoch_plan_gives_disjoint_rank_shards_covering_the_set_and_reshuffles():
    shards = [data.epoch_plan(10, 0, rank=r, group_size=2, seed=5)[0] for r in range(2)]
    assert sorted(np.concatenate(shards).tolist()) == list(range(10))
    assert not np.array_equal(data.epoch_plan(10, 1, seed=5)[0], data.epoch_plan(10, 0, seed=5)[0])
    uneven = [data.epoch_plan(11, 0, rank=r, group_size=3)[0] for r in range(3)]
    assert [len(s) for s in uneven] == [3, 3, 3] and len(set(np.concatenate(uneven).tolist())) == 9


def test_pipeline_yields_the_planned_images_for_each_rank(faces):
    files = data.list_images(faces)
    for rank in range(2):
        batches = take(data.iterate_batches(files, 8, 4, rank=rank, group_size=2, seed=1, mirror=True), 4)
        indices, flips = zip(*(data.epoch_plan(16, epoch, rank=rank, group_size=2, seed=1, mirror=True)
                               for epoch in range(2)))
        expected = [data.preprocess(data.load_rgb(files[i]), 8, mirror=f)
                    for i, f in zip(np.concatenate(indices), np.concatenate(flips))]
        assert all(b.shape == (4, 3, 8, 8) and b.dtype == np.float32 for b in batches)
        np.testing.assert_array_equal(np.concatenate(batches), np.stack(expected))


def test_same_seed_same_batches_other_seed_other_batches(faces):
    files = data.list_images(faces)
    first, again, other = (take(data.iterate_batches(files, 8, 4, seed=s), 3) for s in (7, 7, 8))
    np.testing.assert_array_equal(np.stack(first), np.stack(again))
    assert not np.array_equal(np.stack(first), np.stack(other))


def test_unreadable_images_are_warned_once_skipped_and_counted(faces, tmp_path, caplog):
    folder = tmp_path / "img_align_celeba"
    folder.mkdir()
    good = data.list_images(faces)[:6]
    for path in good:
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "000007.jpg").write_bytes(good[0].read_bytes()[:600])
    (folder / "000008.jpg").write_text("this is text, not a JPEG")
    files = data.list_images(tmp_path)
    skips = data.SkipCounter()
    with caplog.at_level(logging.WARNING, logger="pgan_ref.data"):
        take(data.iterate_batches(files, 8, 2, skips=skips), 12)
    bad = {folder / "000007.jpg", folder / "000008.jpg"}
    assert skips.bad_files == bad and skips.skipped >= 6
    assert sorted(r.args[0] for r in caplog.records if r.name == "pgan_ref.data") == sorted(bad)


def test_all_unreadable_images_raise_data_error(tmp_path):
    for i in range(4):
        (tmp_path / f"{i}.jpg").write_text("text")
    with pytest.raises(DataError, match="none of the 4 images"):
        next(data.iterate_batches(data.list_images(tmp_path), 8, 2))


def test_too_few_images_for_one_batch_per_rank_is_a_data_error(faces):
    with pytest.raises(DataError, match="cannot fill one batch"):
        data.make_dataset(data.list_images(faces), 8, 16, group_size=2)


def test_synthetic_images_are_deterministic_idempotent_and_protect_foreign_folders(tmp_path):
    first = write_synthetic(tmp_path / "a", n=4, seed=1)
    same = write_synthetic(tmp_path / "b", n=4, seed=1)
    other = write_synthetic(tmp_path / "c", n=4, seed=2)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in same]
    assert first[0].read_bytes() != other[0].read_bytes()
    stamps = [p.stat().st_mtime_ns for p in first]
    assert write_synthetic(tmp_path / "a", n=4, seed=1) == first
    assert [p.stat().st_mtime_ns for p in first] == stamps
    assert len(data.list_images(write_synthetic(tmp_path / "a", n=2, seed=1)[0].parent)) == 2
    (tmp_path / "real" / "img_align_celeba").mkdir(parents=True)
    (tmp_path / "real" / "img_align_celeba" / "000001.jpg").write_bytes(first[0].read_bytes())
    with pytest.raises(DataError, match="not written by"):
        write_synthetic(tmp_path / "real", n=4)


def test_cli_writes_a_synthetic_folder_that_loads(tmp_path, capsys):
    assert main(["data", "synthetic", str(tmp_path), "--n", "3", "--seed", "2", "--size", "64x80"]) == 0
    files = data.list_images(tmp_path)
    assert len(files) == 3 and Image.open(files[0]).size == (64, 80)
    with pytest.raises(SystemExit) as refused:  # argparse refuses the count before anything runs
        main(["data", "synthetic", str(tmp_path), "--n", "0"])
    assert refused.value.code == 2 and "argument --n: expected an integer >= 1, got '0'" in capsys.readouterr().err


def test_synthetic_folder_written_by_two_processes_at_once_is_one_complete_set(tmp_path):
    """Two A/B workers make the default synthetic folder at the same moment: both get the set, nothing is refused."""
    code = ("import sys; from pgan_ref.synthetic import write_synthetic; "
            "print(len(write_synthetic(sys.argv[1], n=150, seed=5)))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "shared")], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    alone = write_synthetic(tmp_path / "alone", n=150, seed=5)
    shared = sorted((tmp_path / "shared" / "img_align_celeba").glob("*.jpg"))
    assert [p.read_bytes() for p in shared] == [p.read_bytes() for p in alone]


def test_a_killed_writers_temporary_file_does_not_block_the_folder(tmp_path):
    first = write_synthetic(tmp_path, n=3, seed=1)
    (first[0].parent / ".tmp-999-000002.jpg").write_bytes(b"")  # what a writer killed mid-image leaves
    assert write_synthetic(tmp_path, n=3, seed=1) == first
