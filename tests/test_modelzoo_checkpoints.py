"""Checkpoint layouts: ModelZoo-named files are read everywhere a checkpoint is accepted, and written by training.

Truth: the ModelZoo's own parameter lists (names and shapes its code gave its networks, the fixtures' ``meta``),
pytorch_GAN_zoo's golden state dicts, and training runs compared step by step.
"""
import json

import mindspore as ms
import numpy as np
import pytest
from mindspore import Tensor
from PIL import Image

from pgan_ref import eval as eval_cli
from pgan_ref.checkpoints import read_checkpoint, save_net
from pgan_ref.config import ConfigError, load_config
from pgan_ref.errors import CheckpointError
from pgan_ref.generator_io import build_generator, generate
from pgan_ref.interop import MODELZOO, PYTORCH_GAN_ZOO, load_pytorch_gan_zoo, recognise
from pgan_ref.networks import build_networks
from pgan_ref.synthetic import write_synthetic
from pgan_ref.trainer import Trainer
from tests.test_golden_modelzoo import modelzoo_cfg, write_modelzoo_ckpts

FIXTURE = "modelzoo_golden_s8_a0.5.npz"


@pytest.fixture(scope="module")
def gold(fixtures_dir, tmp_path_factory):
    with np.load(fixtures_dir / FIXTURE) as f:
        data = {k: f[k] for k in f.files}
    meta = json.loads(str(data["meta"]))
    return data, meta, write_modelzoo_ckpts(data, meta, tmp_path_factory.mktemp("mz"))


@pytest.mark.parametrize("role, key", [("G", "G"), ("AvG", "avgG"), ("D", "D")])
def test_written_modelzoo_names_and_shapes_equal_theirs(gold, tmp_path, role, key):
    """A modelzoo-variant net saved with names="modelzoo" holds exactly the ModelZoo's parameters, in its order."""
    _, meta, _ = gold
    g, d = build_networks(modelzoo_cfg(meta), len(meta["depths"]))
    path = tmp_path / f"{role}_1.ckpt"
    save_net(d if role == "D" else g, path, names="modelzoo", role=role)
    written = [(name, tuple(p.shape)) for name, p in read_checkpoint(path).items()]
    assert written == [(saved, tuple(shape)) for _, saved, shape in meta["param_names"][key]]


def test_modelzoo_checkpoint_round_trips_through_our_writer(gold, tmp_path):
    """Their G read by pgan_ref and written back under their names is the same tensors under the same names."""
    data, meta, paths = gold
    g = build_generator(paths["AvG"])
    save_net(g, tmp_path / "AvG_2.ckpt", names="modelzoo", role="AvG")
    back = {k: v.asnumpy() for k, v in read_checkpoint(tmp_path / "AvG_2.ckpt").items()}
    theirs = {saved: data[f"before.avgG.{attr}"] for attr, saved, _ in meta["param_names"]["avgG"]}
    assert back.keys() == theirs.keys()
    for name, value in theirs.items():
        np.testing.assert_array_equal(back[name], value, err_msg=name)


def test_unknown_layout_is_one_line_naming_what_was_found_and_what_is_accepted(tmp_path, usage_error):
    path = tmp_path / "AvG_1.ckpt"
    ms.save_checkpoint([{"name": "encoder.conv1.weight", "data": Tensor(np.zeros((2, 2), np.float32))}], str(path))
    with pytest.raises(CheckpointError) as e:
        recognise(["encoder.conv1.weight"], path)
    text = str(e.value)
    assert "\n" not in text and "encoder.conv1.weight" in text
    for layout in ("pgan_ref", "ModelZoo", "pytorch_GAN_zoo"):
        assert layout in text
    usage_error(eval_cli.main(["--checkpoint_g", str(path), "--output_dir", str(tmp_path / "out")]),
                "fit no accepted network layout")


def test_a_modelzoo_discriminator_is_not_taken_for_a_generator(gold):
    with pytest.raises(CheckpointError, match="not a PGAN generator"):
        build_generator(gold[2]["D"])


def test_eval_cli_writes_the_grid_of_a_modelzoo_avg_checkpoint(gold, tmp_path, capsys):
    _, _, paths = gold
    assert eval_cli.main(["--checkpoint_g", str(paths["AvG"]), "--output_dir", str(tmp_path), "--n_images", "4",
                          "--nrow", "2"]) == 0
    assert Image.open(tmp_path / "result.jpg").size == (16, 16)
    assert "4 images of 8x8" in capsys.readouterr().out


def test_pytorch_gan_zoo_names_in_a_ckpt_are_recognised(fixtures_dir, tmp_path):
    """pytorch_GAN_zoo's layout keeps working, now also as a .ckpt handed to build_generator."""
    path = fixtures_dir / "pytorch_gan_zoo_s16_a05.npz"
    with np.load(path) as f:
        state = {k[2:]: f[k] for k in f.files if k.startswith("G.")}
        z = f["z"]
    assert recognise(state)[0] == PYTORCH_GAN_ZOO
    ckpt = tmp_path / "AvG_1.ckpt"
    ms.save_checkpoint([{"name": k, "data": Tensor(v)} for k, v in state.items()], str(ckpt))
    g = build_generator(ckpt)
    assert not g.lrelu_torgb
    expected = load_pytorch_gan_zoo(path)[0](Tensor(z), Tensor(np.float32(0.5))).asnumpy()
    np.testing.assert_array_equal(generate(g, z, alpha=0.5), expected)


def test_modelzoo_names_need_the_modelzoo_network():
    with pytest.raises(ConfigError, match="checkpoint_names=modelzoo needs"):
        load_config(preset="cpu-smoke", overrides={"checkpoint_names": "modelzoo"})
    with pytest.raises(ConfigError, match="checkpoint_names"):
        load_config(preset="cpu-smoke", variant="modelzoo", overrides={"checkpoint_names": "theirs"})
    a = load_config(preset="cpu-smoke", variant="modelzoo")
    b = load_config(preset="cpu-smoke", variant="modelzoo", overrides={"checkpoint_names": "modelzoo"})
    assert a.hash() == b.hash()  # naming on disk does not change results


def test_training_writes_modelzoo_names_and_resumes_from_them(tmp_path):
    """--variant modelzoo with checkpoint_names=modelzoo: every file in their names; resume reproduces the run."""
    data = tmp_path / "data"
    write_synthetic(data, n=8)
    cfg = load_config(preset="cpu-smoke", variant="modelzoo", overrides={
        "scales": [4], "depth": [8], "num_batch": [6], "alpha_jumps": [0], "alpha_size_jumps": [1], "batch_size": 4,
        "latent": 8, "num_workers": 1, "model_save_step": 3, "checkpoint_names": "modelzoo"})

    def train(ckpt, stop_after=None):
        Trainer(cfg, data, ckpt, log=None, progress=False, stop_after=stop_after).run()
        return [json.loads(x) for x in (ckpt / "steps_rank0.jsonl").read_text().splitlines()]

    full = train(tmp_path / "full")
    names = {role: list(read_checkpoint(tmp_path / "full" / "4" / f"{role}_6.ckpt")) for role in ("G", "AvG", "D")}
    assert names["G"][0] == "netG.formatLayer.module.weight" and names["AvG"][0] == "formatLayer.module.weight"
    assert names["D"][-1] == "netD.decisionLayer.module.bias"
    assert {recognise(v)[0] for v in names.values()} == {MODELZOO}
    train(tmp_path / "resumed", stop_after=4)  # a set after 2 steps ((2 + 1) % 3 == 0)
    rows = train(tmp_path / "resumed")
    assert [r["i"] for r in rows][-4:] == [2, 3, 4, 5]
    for r in rows:
        assert (r["loss_d"], r["loss_g"]) == (full[r["i"]]["loss_d"], full[r["i"]]["loss_g"]), r["i"]
