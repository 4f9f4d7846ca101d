"""The train CLI as a user runs it: every bad config value, file or option is one line on stderr and exit 2."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pgan_ref.synthetic import write_synthetic

REPO = Path(__file__).resolve().parents[1]


def train_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m pgan_ref.train ARGS`` from this checkout; return the completed process (text output)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "pgan_ref.train", "--no_progress", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    """Return a folder of 8 small synthetic images."""
    folder = tmp_path_factory.mktemp("images")
    write_synthetic(folder, n=8, size=(32, 40))
    return folder


def assert_one_line(proc: subprocess.CompletedProcess, *fragments: str, code: int = 2) -> None:
    """Assert exit ``code`` and a single stderr line holding every fragment (no traceback)."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code, proc.stderr
    assert len(lines) == 1 and all(f in lines[0] for f in fragments), proc.stderr


@pytest.mark.parametrize("override, fragments", [
    ("batch_size=abc", ("'batch_size' = 'abc'", "an integer >= 1")),
    ("lr=abc", ("'lr' = 'abc'", "a number > 0")),
    ("lr=-1", ("'lr' = -1", "a number > 0")),
    ("deviations=foo", ("'deviations' = 'foo'", "mapping of switch names")),
    ("deviations.d2_maxpool_downsample=maybe", ("'deviations.d2_maxpool_downsample' = 'maybe'", "true or false")),
    ("scales=5", ("'scales' = 5", "list of integers >= 4, one per scale")),
    ("model_save_step=0", ("'model_save_step' = 0", "an integer >= 1")),
    ("num_workers=0", ("'num_workers' = 0", "an integer >= 1")),
    ("num_workers=-2", ("'num_workers' = -2", "an integer >= 1")),
    ("num_batch=[24,-1,32,32]", ("'num_batch' = [24, -1, 32, 32]", "list of integers >= 1")),
    ("depth=[32,32]", ("'depth' has 2 entries but 'scales' has 4",)),
])
def test_bad_config_value_is_one_line_and_exit_2(images, override, fragments):
    assert_one_line(train_cli("--train_data_path", str(images), "--set", override), "error: config key", *fragments)


def test_empty_yaml_is_refused(images, tmp_path):
    (tmp_path / "empty.yaml").write_text("")
    proc = train_cli("--train_data_path", str(images), "--config_path", str(tmp_path / "empty.yaml"))
    assert_one_line(proc, "empty.yaml is empty")


def test_non_utf8_yaml_is_refused(images, tmp_path):
    (tmp_path / "latin1.yaml").write_bytes("lr: 0.001\nfile_name: Gér\n".encode("latin-1"))
    proc = train_cli("--train_data_path", str(images), "--config_path", str(tmp_path / "latin1.yaml"))
    assert_one_line(proc, "latin1.yaml is not UTF-8", "byte 0xe9 at offset 22")


@pytest.mark.parametrize("option, fragments", [
    (("--stop_after", "0"), ("--stop_after 0", "integer >= 1")),
    (("--seed", "-3"), ("'seed' = -3", "integer >= 0")),
])
def test_bad_option_is_one_line_and_exit_2(images, option, fragments):
    assert_one_line(train_cli("--train_data_path", str(images), *option), *fragments)
