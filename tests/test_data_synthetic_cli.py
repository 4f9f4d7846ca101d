"""``pgan-harness data synthetic`` as a user runs it: never deletes files it did not write; bad DIRs are one line."""
import os
import subprocess
import sys

from pgan_ref.synthetic import write_synthetic
from tests.test_train_cli_errors import REPO, assert_one_line


def synthetic_cli(*args: str) -> subprocess.CompletedProcess:
    """Run ``python -m harness data synthetic ARGS`` from this checkout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "harness", "data", "synthetic", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def test_rerun_with_other_options_keeps_foreign_files(tmp_path):
    written = write_synthetic(tmp_path, n=3, size=(32, 40))
    mine = written[0].parent / "holiday.png"
    mine.write_bytes(b"the user's own picture")
    before = {p.name: p.read_bytes() for p in written[0].parent.iterdir()}
    proc = synthetic_cli(str(tmp_path), "--n", "5", "--size", "32x40")
    assert_one_line(proc, "already holds 1 image(s) not written by", "holiday.png")
    assert {p.name: p.read_bytes() for p in written[0].parent.iterdir()} == before  # nothing deleted or added


def test_dir_that_is_a_file_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    proc = synthetic_cli(str(tmp_path / "afile"), "--n", "2")
    assert_one_line(proc, f"cannot create the folder {tmp_path / 'afile' / 'img_align_celeba'}",
                    f"{tmp_path / 'afile'} is a file, not a folder")


def test_corrupt_manifest_is_one_line(tmp_path):
    written = write_synthetic(tmp_path, n=2, size=(32, 40))
    manifest = written[0].parent / "synthetic.json"
    manifest.write_text('{"n": 2, "fmt"')
    proc = synthetic_cli(str(tmp_path), "--n", "2", "--size", "32x40")
    assert_one_line(proc, f"{manifest} is corrupt")
    assert all(p.is_file() for p in written)


def test_bad_count_or_seed_is_one_line_before_anything_is_written(tmp_path):
    for option, value, accepted in (("--n", "0", "an integer >= 1"), ("--seed", "-1", "an integer >= 0")):
        proc = synthetic_cli(str(tmp_path / "out"), option, value)
        assert_one_line(proc, f"argument {option}: expected {accepted}, got '{value}'")
    assert list(tmp_path.iterdir()) == []
