"""eval / export as a user runs them: a bad count or an output path under a file is one line and exit 2."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pgan_ref.checkpoints import save_net
from pgan_ref.networks import Generator
from tests.test_train_cli_errors import REPO, assert_one_line


@pytest.fixture(scope="module")
def avg_ckpt(tmp_path_factory) -> Path:
    """Return a small 8x8 generator checkpoint."""
    path = tmp_path_factory.mktemp("ck") / "AvG_4.ckpt"
    save_net(Generator(16, [8, 8]), path)
    return path


def cli(module: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``python -m pgan_ref.MODULE ARGS`` from this checkout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", f"pgan_ref.{module}", *args], env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("module, option, value, accepted", [
    ("eval", "--nrow", "0", "an integer >= 1"), ("eval", "--batch_size", "-4", "an integer >= 1"),
    ("eval", "--n_images", "0", "an integer >= 1"), ("export", "--batch_size", "-1", "an integer >= 1"),
    ("eval", "--seed", "-1", "an integer >= 0"), ("eval", "--alpha", "1.5", "a number in [0, 1]"),
    ("eval", "--alpha", "nan", "a number in [0, 1]"), ("export", "--device_id", "-1", "an integer >= 0"),
])
def test_bad_number_is_one_line(avg_ckpt, tmp_path, module, option, value, accepted):
    out = ["--output_dir", str(tmp_path)] if module == "eval" else ["--file_name", str(tmp_path / "G")]
    proc = cli(module, "--checkpoint_g", str(avg_ckpt), option, value, *out)
    assert_one_line(proc, f"error: {option} {value} is not accepted: expected {accepted}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("module", ["eval", "export"])
def test_output_under_a_file_is_one_line(avg_ckpt, tmp_path, module):
    (tmp_path / "afile").write_text("not a folder")
    out = ["--output_dir", str(tmp_path / "afile" / "grids")] if module == "eval" else \
        ["--file_name", str(tmp_path / "afile" / "PGAN")]
    proc = cli(module, "--checkpoint_g", str(avg_ckpt), *out)
    assert_one_line(proc, "error: cannot write", f"{tmp_path / 'afile'} is a file, not a folder")
