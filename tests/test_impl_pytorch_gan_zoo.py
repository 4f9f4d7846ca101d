"""``step-time --impl pytorch-gan-zoo``: a pytorch_GAN_zoo checkout imported as it is (a stand-in here), timed with the
same records; the torch shims applied where needed, recorded and undone; bad input is one line and exit 2."""
import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.impls import pytorch_gan_zoo as pgz
from harness.impls.pgz_shims import ALPHA_SHIM, BETAS_SHIM, torch_shims
from harness.impls.steps import StepRequest
from harness.scenarios.registry import context, get

torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[1]
STANDIN = Path(__file__).parent / "pgz_standin"  # tests' own stand-in: pytorch_GAN_zoo's names, tiny networks
B75DEE4_NAMES = REPO / "tests" / "fixtures" / "pytorch_gan_zoo_b75dee4_names.json"
NAMED_FILES = ("models/progressive_gan.py", "models/base_GAN.py", "models/networks/progressive_conv_net.py")
TINY = {"scales": "[4,8]", "depth": "[4,4]", "latent": "8", "num_batch": "[8,8]", "alpha_jumps": "[0,2]",
        "alpha_size_jumps": "[1,1]", "batch_size": "4", "batch_size_list": "[4,2]", "iters": "2", "warmup": "1",
        "synthetic_n": "8"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Records of one step-time run of the stand-in checkout, and torch's thread count around it."""
    threads = torch.get_num_threads()
    ctx = context("step-time", run_id="pgz", out_dir=tmp_path_factory.mktemp("out"), seed=3, meta={},
                  overrides={**TINY, "impl": "pytorch-gan-zoo", "pgz_dir": str(STANDIN)})
    result = get("step-time").run(ctx)
    return result, threads


def test_records_carry_the_implementation_shims_and_checkout(run, impl_step_records):
    result, _ = run
    steps = impl_step_records(result.records, {
        "impl": "pytorch-gan-zoo", "structure": "pgz-optimize", "shims": [BETAS_SHIM, ALPHA_SHIM],
        "checkout_sha256": pgz.checkout_sha256(STANDIN.resolve()), "latent": 8, "torch": torch.__version__})
    assert all(r["labels"]["torch_threads"] >= 1 for r in steps.values())
    assert steps[8, "fade"]["labels"]["alpha"] == 0.5 and steps[8, "stable"]["labels"]["alpha"] == 0.0
    assert np.isfinite(result.checksum) and result.checksum != 0


def test_the_process_is_left_as_it_was(run):
    _, threads = run
    assert not {n for n in sys.modules if n == "models" or n.startswith("models.")}
    assert str(STANDIN.resolve()) not in sys.path
    assert torch.get_num_threads() == threads
    with pgz.imported_checkout(STANDIN.resolve()) as pg:  # the shims were undone on the checkout's module too
        assert pg.optim is torch.optim and "updateAlpha" in pg.ProgressiveGAN.__dict__


def test_a_same_named_package_imported_before_is_back_afterwards(monkeypatch):
    sentinel = type(sys)("models")
    monkeypatch.setitem(sys.modules, "models", sentinel)
    with pgz.imported_checkout(STANDIN.resolve()) as pg:
        assert sys.modules["models"] is not sentinel and pg.__name__ == "models.progressive_gan"
    assert sys.modules["models"] is sentinel and "models.progressive_gan" not in sys.modules


def request(tmp_path):
    """A step request of the stand-in at 4 and 8 px (batch 4, then 2) on a few synthetic faces."""
    from pgan_ref.config import load_config
    from pgan_ref.synthetic import write_synthetic

    cfg = load_config(preset="cpu-smoke", overrides={
        "scales": [4, 8], "depth": [4, 4], "latent": 8, "num_batch": [8, 8], "alpha_jumps": [0, 2],
        "alpha_size_jumps": [1, 1], "batch_size": 4, "batch_size_list": [4, 2]})
    write_synthetic(tmp_path / "faces", n=8, seed=0)
    return StepRequest(cfg, tmp_path / "faces", options={"pgz_dir": str(STANDIN)})


def test_one_iteration_changes_g_d_and_avgg_and_alpha_reaches_every_net(tmp_path):
    steps = pgz.scale_steps(request(tmp_path))
    try:
        first = next(steps)
        model = first.model
        g0 = [p.copy() for p in first.parameters()]
        avg0 = [p.detach().clone() for p in model.getOriginalAvgG().parameters()]
        losses = first.compute_at(0.0)(first.fetch())
        assert len(losses) == 2 and all(np.isfinite(losses))
        assert all(not np.array_equal(a, b) for a, b in zip(g0, first.parameters()))  # Adam moved every tensor
        assert any(not torch.equal(a, b) for a, b in zip(avg0, model.getOriginalAvgG().parameters()))  # the EMA
        second = next(steps)
        assert second.model is model and second.fetch().shape == (2, 3, 8, 8)
        second.compute_at(0.5)
        nets = (model.getOriginalG(), model.getOriginalD(), model.getOriginalAvgG())
        assert [n.alpha for n in nets] == [0.5, 0.5, 0.5] and model.config.alpha == 0.5
        second.compute_at(0.0)(second.fetch())
        assert [n.alpha for n in nets] == [0.0, 0.0, 0.0] and model.config.alpha == 0.0
    finally:
        steps.close()


def test_each_shim_is_what_makes_the_checkout_run():
    """Without the betas shim its Adam is refused; without the alpha shim updateAlpha fails on CPU."""
    args = {"useGPU": False, "depthScale0": 4, "dimLatentVector": 8, "lambdaGP": 10.0, "epsilonD": 0.001,
            "baseLearningRate": 0.001, "lossMode": "WGANGP"}
    with pgz.imported_checkout(STANDIN.resolve()) as pg:
        with pytest.raises(ValueError, match="betas"):
            pg.ProgressiveGAN(**args)
        with torch_shims(pg, use_gpu=True) as shims:  # as with a GPU: the betas shim only
            assert shims == [BETAS_SHIM]
            model = pg.ProgressiveGAN(**args)
            assert model.optimizerD.param_groups[0]["betas"] == (0.0, 0.99)
            model.addScale(4)
            with pytest.raises(AttributeError, match="module"):
                model.updateAlpha(0.5)
        with torch_shims(pg, use_gpu=False) as shims:
            assert shims == [BETAS_SHIM, ALPHA_SHIM]
            model = pg.ProgressiveGAN(**args)
            model.addScale(4)
            model.updateAlpha(0.5)
            assert model.getOriginalAvgG().alpha == 0.5
        assert pg.optim is torch.optim and pg.ProgressiveGAN.updateAlpha.__module__ == "models.progressive_gan"


@pytest.mark.parametrize("sets, message", [
    (["--impl", "pytorch-gan-zoo"], "--impl pytorch-gan-zoo needs --set pgz_dir=PATH"),
    (["--impl", "pytorch-gan-zoo", "--set", "pgz_dir=/no/such/dir"], "pgz_dir=/no/such/dir: no such folder"),
    (["--impl", "pytorch-gan-zoo", "--set", f"pgz_dir={STANDIN / 'models'}"],
     "not a pytorch_GAN_zoo checkout (missing models/progressive_gan.py"),
    (["--set", f"pgz_dir={STANDIN}"], "--set pgz_dir applies to --impl pytorch-gan-zoo, not --impl pgan_ref"),
    (["--impl", "modelzoo-code", "--set", f"pgz_dir={STANDIN}"],
     "--set pgz_dir applies to --impl pytorch-gan-zoo, not --impl modelzoo-code"),
    (["--impl", "pytorch-gan-zoo", "--set", f"pgz_dir={STANDIN}", "--devices", "2"],
     "--impl pytorch-gan-zoo runs on one device; drop --devices 2"),
])
def test_bad_input_is_one_line_and_exit_2(sets, message, tmp_path, usage_error):
    usage_error(main(["run", "step-time", "--out", str(tmp_path), *sets]), message)
    assert not (tmp_path / "records.jsonl").exists()


def test_without_torch_the_impl_says_how_to_install_it(tmp_path, monkeypatch, usage_error):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch fails, find_spec finds nothing
    usage_error(main(["run", "step-time", "--out", str(tmp_path), "--impl", "pytorch-gan-zoo",
                      "--set", f"pgz_dir={STANDIN}"]), "needs torch: pip install 'pgan-harness[pgz]'")


def test_the_harness_works_without_torch(tmp_path):
    """torch is imported lazily inside the pytorch_GAN_zoo implementation only; without it that one says so."""
    code = ("import sys\n"
            "class NoTorch:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'torch' or name.startswith('torch.'):\n"
            "            raise ModuleNotFoundError(\"No module named 'torch'\")\n"
            "sys.meta_path.insert(0, NoTorch())\n"
            "from harness.cli import main\n"
            "from harness.scenarios.registry import get; get('step-time')\n"
            "assert 'torch' not in sys.modules\n"
            f"sys.exit(main(['run', 'step-time', '--out', {str(tmp_path)!r}, '--impl', 'pytorch-gan-zoo', "
            f"'--set', 'pgz_dir={STANDIN}']))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, timeout=300, capture_output=True, text=True)
    err = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(err) == 1, done.stderr
    assert err[0] == "error: --impl pytorch-gan-zoo needs torch: pip install 'pgan-harness[pgz]'"


def checkout_names(root: Path) -> dict:
    """Return per file of ``NAMED_FILES`` its module-level names and per class its bases, methods and constructor
    keywords, read with ``ast`` (names only, no code)."""
    out = {}
    for rel in NAMED_FILES:
        tree = ast.parse((root / rel).read_text())
        names, classes = set(), {}
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update(a.asname or a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ClassDef):
                names.add(node.name)
                methods = {f.name: f for f in node.body if isinstance(f, ast.FunctionDef)}
                init = methods.get("__init__")
                classes[node.name] = {"bases": [ast.unparse(b) for b in node.bases], "methods": sorted(methods),
                                      "init": [a.arg for a in (init.args.args + init.args.kwonlyargs)[1:]]
                                      if init else []}
            elif isinstance(node, ast.FunctionDef):
                names.add(node.name)
        out[rel] = {"names": sorted(names), "classes": classes}
    return out


def class_info(names: dict, cls: str) -> tuple[set, set]:
    """Return the methods and constructor keywords of ``cls`` with those of its bases (found by name in ``names``)."""
    found = next(f["classes"][cls] for f in names.values() if cls in f["classes"])
    methods, init = set(found["methods"]), set(found["init"])
    for base in found["bases"]:
        if any(base in f["classes"] for f in names.values()):
            more_methods, more_init = class_info(names, base)
            methods, init = methods | more_methods, init | more_init
    return methods, init


def missing_adapter_names(names: dict) -> list[str]:
    """Return what the adapter uses that ``names`` (a checkout's, from ``checkout_names``) lacks."""
    module = names["models/progressive_gan.py"]["names"]
    methods, init = class_info(names, "ProgressiveGAN")
    missing = [n for n in pgz.MODEL_NAMES if n.split(".")[0] not in module
               or ("." in n and n.split(".")[1] not in methods)]
    missing += [f"ProgressiveGAN({k}=)" for k in pgz.constructor_args(request_cfg(), False) if k not in init]
    for net in ("GNet", "DNet"):
        net_methods, _ = class_info(names, net)
        missing += [f"{net}.{m}" for m in pgz.NET_NAMES if m not in net_methods]
    return missing


def request_cfg():
    from pgan_ref.config import load_config

    return load_config(preset="cpu-smoke")


def test_the_adapter_uses_b75dee4s_names_and_the_stand_in_has_them():
    """The names the adapter calls are pytorch_GAN_zoo b75dee4's (tests/fixtures/pytorch_gan_zoo_b75dee4_names.json,
    read from the checkout with ``checkout_names``) and the stand-in's, so the stand-in tests the real mapping."""
    real = json.loads(B75DEE4_NAMES.read_text())
    assert missing_adapter_names(real) == []
    assert missing_adapter_names(checkout_names(STANDIN)) == []
    assert pgz.CHECKOUT.required == NAMED_FILES and all((STANDIN / f).is_file() for f in NAMED_FILES)
