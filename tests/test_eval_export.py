"""Eval and export entry points: checkpoint shape inference, --scale checks, the 8x8 grid, the MindIR file."""
import numpy as np
import pytest
from PIL import Image

from pgan_ref import eval as eval_cli
from pgan_ref import export as export_cli
from pgan_ref.checkpoints import save_net
from pgan_ref.config import load_config
from pgan_ref.errors import CheckpointError
from pgan_ref.generator_io import build_generator, infer_architecture, read_shapes, resolve_architecture, to_uint8
from pgan_ref.networks import Generator

LATENT, DEPTHS = 16, [16, 8]  # an 8x8 generator


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp("ck") / "AvG_3.ckpt"
    save_net(Generator(LATENT, DEPTHS, seed=3), path)
    return path


def test_architecture_inferred_from_checkpoint_shapes(ckpt):
    arch = infer_architecture(read_shapes(ckpt))
    assert (arch.latent, list(arch.depths), arch.resolution) == (LATENT, DEPTHS, 8)


def test_scale_mismatch_is_a_clear_error(ckpt):
    with pytest.raises(CheckpointError, match=r"8x8 generator.*--scale 16"):
        resolve_architecture(ckpt, scale=16)
    with pytest.raises(CheckpointError, match="--scale must be a resolution"):
        resolve_architecture(ckpt, scale=12)


def test_config_mismatch_is_a_clear_error(ckpt):
    cfg = load_config(preset="cpu-smoke")  # latent 64, depths 32...
    with pytest.raises(CheckpointError, match="does not match the config"):
        build_generator(ckpt, cfg=cfg)


def test_missing_and_non_generator_checkpoints(tmp_path, ckpt):
    with pytest.raises(CheckpointError, match="does not exist"):
        read_shapes(tmp_path / "nope.ckpt")
    with pytest.raises(CheckpointError, match="not a PGAN generator"):
        infer_architecture({"decision.weight": (1, 16)})


def test_to_uint8_clips_only_out_of_range():
    x = np.array([-3.0, -1.0, 0.0, 1.0, 2.5], np.float32).reshape(1, 1, 1, 5).repeat(3, axis=1)
    assert to_uint8(x)[0, 0, :, 0].tolist() == [0, 0, 128, 255, 255]


def test_eval_writes_8x8_grid(ckpt, tmp_path, capsys):
    out = tmp_path / "img_eval"
    assert eval_cli.main(["--checkpoint_g", str(ckpt), "--output_dir", str(out), "--seed", "1"]) == 0
    img = Image.open(out / "result.jpg")
    assert img.size == (64, 64) and img.mode == "RGB"  # 8 x 8 tiles of 8 px
    assert "64 images of 8x8" in capsys.readouterr().out


def test_eval_scale_mismatch_and_missing_checkpoint(ckpt, tmp_path, capsys):
    assert eval_cli.main(["--checkpoint_g", str(ckpt), "--scale", "32", "--output_dir", str(tmp_path)]) == 2
    assert "--scale 32" in capsys.readouterr().err
    assert eval_cli.main(["--checkpoint_g", str(tmp_path / "x.ckpt"), "--output_dir", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "result.jpg").exists()


def test_export_cli_writes_fixed_shape_mindir(ckpt, tmp_path):
    from harness.scenarios.inference import read_mindir_inputs

    name = tmp_path / "PGAN"
    assert export_cli.main(["--checkpoint_g", str(ckpt), "--batch_size", "4", "--file_name", str(name)]) == 0
    inputs = read_mindir_inputs(tmp_path / "PGAN.mindir")
    assert [(i["shape"], i["dtype"]) for i in inputs] == [([4, LATENT], "float32"), ([], "float32")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["PGAN.mindir"]  # no temporary left behind
