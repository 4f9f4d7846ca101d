"""Checkpoint CRC: a flipped byte in a saved generator is refused by name (eval exits 2); CRC-less files load."""
import os
import subprocess
import sys
from pathlib import Path

import mindspore as ms
import numpy as np
import pytest

from pgan_ref.checkpoints import read_checkpoint, save_net
from pgan_ref.errors import CheckpointError
from pgan_ref.networks import Generator
from tests.test_train_cli_errors import REPO, assert_one_line, flip_tensor_bytes


@pytest.fixture(scope="module")
def avg_ckpt(tmp_path_factory) -> Path:
    """Return a small 8x8 generator checkpoint saved by ``save_net``."""
    path = tmp_path_factory.mktemp("ck") / "AvG_4.ckpt"
    save_net(Generator(16, [8, 8]), path)
    return path


def test_crc_checked_file_round_trips(avg_ckpt):
    saved = {k: v.asnumpy() for k, v in ms.load_checkpoint(str(avg_ckpt)).items()}
    assert avg_ckpt.read_bytes()[-17:-10] == b"crc_num"  # MindSpore's CRC trailer
    loaded = read_checkpoint(avg_ckpt)
    assert all(np.array_equal(loaded[k].asnumpy(), v) for k, v in saved.items())


def test_old_file_without_crc_still_loads(avg_ckpt, tmp_path):
    data = ms.load_checkpoint(str(avg_ckpt))
    old = tmp_path / "old.ckpt"
    ms.save_checkpoint([{"name": k, "data": v} for k, v in data.items()], str(old))
    assert old.read_bytes()[-17:-10] != b"crc_num"
    loaded = read_checkpoint(old)
    assert all(np.array_equal(loaded[k].asnumpy(), v.asnumpy()) for k, v in data.items())


def test_flipped_bytes_are_refused_in_process(avg_ckpt, tmp_path):
    bad = tmp_path / "AvG_4.ckpt"
    bad.write_bytes(avg_ckpt.read_bytes())
    flip_tensor_bytes(bad)
    with pytest.raises(CheckpointError, match="damaged or truncated"):
        read_checkpoint(bad)


def test_eval_refuses_flipped_avg_checkpoint(avg_ckpt, tmp_path):
    bad = tmp_path / "AvG_4.ckpt"
    bad.write_bytes(avg_ckpt.read_bytes())
    flip_tensor_bytes(bad)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-m", "pgan_ref.eval", "--checkpoint_g", str(bad), "--output_dir",
                           str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=300)
    assert_one_line(proc, f"error: checkpoint {bad} is damaged or truncated")
    assert not (tmp_path / "out").exists()
