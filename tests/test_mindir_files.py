"""mindir-latency on the user's own MindIR files (``--set mindir=``): inputs as each file declares them, its sha256 in
the records, dynamic dimensions, one-line errors for bad files, and the report's label for these rows."""
import hashlib

import mindspore as ms
import numpy as np
import pytest
from mindspore import Tensor, nn

from harness.errors import BadInput
from harness.records.store import RecordStore
from harness.report.tables import latency_table, records_frame
from harness.scenarios.inference import example_inputs, load_runtime, read_mindir
from harness.scenarios.mindir_files import mindir_files
from harness.scenarios.registry import context, get
from pgan_ref.generator_io import export_mindir
from pgan_ref.networks import Generator

from .test_cli_contract import harness, one_line_error

LATENT, G_BATCH, SEED = 16, 2, 11
TIMING = {"min_count": "3", "min_time_s": "0", "warmup": "1"}


class Affine(nn.Cell):
    """A user's own two-output cell: ``(dense(x) * s, sum(x))``, exported with a dynamic batch dimension."""

    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(8, 4)

    def construct(self, x, s):
        return self.dense(x) * s, x.sum()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Return the eager cells and the files: G (8 px) at a fixed batch of 2, Affine with a dynamic batch."""
    d = tmp_path_factory.mktemp("user")
    g = Generator(LATENT, [16, 8], seed=3)
    g.set_train(False)
    export_mindir(g, G_BATCH, d / "G8.mindir")
    affine = Affine()
    affine.set_train(False)
    ms.export(affine, Tensor(shape=[None, 8], dtype=ms.float32), Tensor(np.float32(2)), file_name=str(d / "affine"),
              file_format="MINDIR")
    return {"g": g, "affine": affine, "G8": d / "G8.mindir", "affine_file": d / "affine.mindir", "dir": d}


def run_user(files, out, **sets):
    """Run mindir-latency on user files with short timing; return the records it appended."""
    ctx = context("mindir-latency", run_id="u-run", out_dir=out, overrides={**TIMING, **sets}, seed=SEED, meta={})
    assert get("mindir-latency").run(ctx).records == []  # appended file by file instead
    return list(RecordStore(out).iter())


@pytest.fixture(scope="module")
def records(files, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    return run_user(files, out, mindir=f"{files['G8']},{files['dir']}/aff*.mindir", mindir_batch="3,5"), out


def by(records, metric, name, batch):
    (rec,) = [r for r in records if r["metric"] == metric and r["labels"]["mindir"] == name
              and r["labels"]["batch_size"] == batch]
    return rec


def test_two_input_generator_gets_both_inputs_at_declared_shapes(files, records):
    recs, out = records
    lat = by(recs, "latency", "G8.mindir", G_BATCH)
    assert lat["labels"]["inputs"] == [{"name": "z", "shape": [G_BATCH, LATENT], "dtype": "float32"},
                                       {"name": "alpha", "shape": [], "dtype": "float32"}]
    assert lat["labels"]["outputs"] == [{"shape": [G_BATCH, 3, 8, 8], "dtype": "float32"}]
    assert lat["labels"]["declared_outputs"][0]["shape"] == [G_BATCH, 3, 8, 8]
    assert lat["labels"]["impl"] == "user MindIR G8.mindir" and lat["labels"]["phase"] == "steady"
    assert len(lat["samples"]) >= 3 and lat["value"] == pytest.approx(np.median(lat["samples"]))
    assert by(recs, "throughput", "G8.mindir", G_BATCH)["value"] == pytest.approx(G_BATCH / (lat["value"] / 1e3))
    assert by(recs, "first_call_latency", "G8.mindir", G_BATCH)["value"] > 0
    assert not (out / "mindir").exists()  # nothing exported
    assert {r["scenario"] for r in recs} == {"mindir-latency"} and not any(r["flags"] for r in recs)


def test_recorded_sha256_size_and_path_are_the_files(files, records):
    recs, _ = records
    for name, path in (("G8.mindir", files["G8"]), ("affine.mindir", files["affine_file"])):
        data = path.read_bytes()
        size = [r for r in recs if r["metric"] == "mindir_size" and r["labels"]["mindir"] == name][0]
        assert size["value"] == len(data)
        assert {r["labels"]["mindir_sha256"] for r in recs if r["labels"]["mindir"] == name} == \
            {hashlib.sha256(data).hexdigest()}
        assert size["params"]["mindir_path"] == str(path.resolve())


def test_timed_file_computes_what_the_eager_cell_computes(files):
    """The arrays the scenario feeds (declared shapes, run seed) give the eager cell's outputs."""
    rt = load_runtime(files["G8"])
    shapes = [[G_BATCH, LATENT], []]
    z, alpha = example_inputs(rt.inputs, shapes, np.random.default_rng(SEED))
    assert z.shape == (G_BATCH, LATENT) and alpha.shape == () and z.dtype == alpha.dtype == np.float32
    (img,) = rt.run(z, alpha)
    assert np.abs(img - files["g"](Tensor(z), Tensor(alpha)).asnumpy()).max() < 1e-6
    dyn = load_runtime(files["affine_file"])
    x, s = example_inputs(dyn.inputs, [[3, 8], []], np.random.default_rng(SEED))
    y, total = dyn.run(x, s)
    want_y, want_total = files["affine"](Tensor(x), Tensor(s))
    assert np.abs(y - want_y.asnumpy()).max() < 1e-6 and total == pytest.approx(float(x.sum()), rel=1e-6)


def test_dynamic_batch_is_timed_at_each_given_size(records):
    recs, _ = records
    for b in (3, 5):
        lat = by(recs, "latency", "affine.mindir", b)
        assert lat["labels"]["declared_inputs"][0]["shape"] == [-1, 8]
        assert [i["shape"] for i in lat["labels"]["inputs"]] == [[b, 8], []]
        assert lat["labels"]["outputs"] == [{"shape": [b, 4], "dtype": "float32"}, {"shape": [], "dtype": "float32"}]


def test_dynamic_dimension_without_a_size_names_file_input_and_option(files, tmp_path):
    with pytest.raises(BadInput, match=rf"{files['affine_file']}: input 'x' has a dynamic first dimension "
                                       rf"\(declared shape \[-1, 8\]\); give its size with --set mindir_batch=N"):
        run_user(files, tmp_path, mindir=str(files["affine_file"]))
    assert not (tmp_path / "records.jsonl").exists()


def test_bad_files_are_one_error_line_naming_them(files, tmp_path):
    text = tmp_path / "notes.mindir"
    text.write_text("this is not a model\n" * 20)
    ckpt = tmp_path / "G.ckpt"  # a protobuf, but a checkpoint: no graph
    ms.save_checkpoint(files["g"], str(ckpt))
    truncated = tmp_path / "half.mindir"
    truncated.write_bytes(files["G8"].read_bytes()[:5000])
    cases = {tmp_path / "none.mindir": "does not exist", text: "not a MindIR model", ckpt: "not a MindIR model",
             truncated: "corrupt or truncated", tmp_path: "is not a file"}
    for path, why in cases.items():
        with pytest.raises(BadInput) as e:
            run_user(files, tmp_path / "o", mindir=f"{files['G8']},{path}")
        assert str(e.value).startswith(f"--set mindir: MindIR file {path} ") and why in str(e.value)
        assert "\n" not in str(e.value)
    assert not (tmp_path / "o" / "records.jsonl").exists()  # all files are checked before the first is timed
    r = harness("run", "mindir-latency", "--set", f"mindir={text}", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and one_line_error(r.stderr).startswith(f"error: --set mindir: MindIR file {text} is not")


def test_a_file_mindspore_cannot_run_is_one_line_and_earlier_files_are_kept(files, tmp_path):
    """A pgan_ref G exported with a dynamic batch loads but does not run on MindSpore 2.10 CPU (measured)."""
    dyn_g = tmp_path / "G_dyn.mindir"
    ms.export(files["g"], Tensor(shape=[None, LATENT], dtype=ms.float32), Tensor(np.float32(0)),
              file_name=str(dyn_g), file_format="MINDIR")
    with pytest.raises(BadInput, match=rf"^{dyn_g}: mindspore-graphcell could not run it with inputs z \(2, 16\) "
                                       rf"float32, alpha \(\) float32 \(.*\); it cannot be timed on this device$"):
        run_user(files, tmp_path / "o", mindir=f"{files['G8']},{dyn_g}", mindir_batch="2")
    assert {r["labels"]["mindir"] for r in RecordStore(tmp_path / "o").iter()} == {"G8.mindir"}


def test_export_options_are_refused_beside_mindir(files, tmp_path):
    with pytest.raises(BadInput, match="drop --set checkpoint, batch_sizes"):
        run_user(files, tmp_path, mindir=str(files["G8"]), checkpoint="AvG_1.ckpt", batch_sizes="1")
    with pytest.raises(BadInput, match="mindir_batch .* without mindir="):
        run_user(files, tmp_path, mindir_batch="4")


def test_mindir_value_lists_paths_and_globs_in_order(tmp_path):
    for n in ("b", "a", "c"):
        (tmp_path / f"{n}.mindir").touch()
    listed = mindir_files(f"{tmp_path}/c.mindir, {tmp_path}/*.mindir")
    assert [p.name for p in listed] == ["c.mindir", "a.mindir", "b.mindir"]
    with pytest.raises(BadInput, match=r"glob matches no file"):
        mindir_files(f"{tmp_path}/*.onnx")


def test_declared_dtypes_read_as_numpy_names(files):
    declared = read_mindir(files["affine_file"])
    assert declared["inputs"] == [{"name": "x", "shape": [-1, 8], "dtype": "float32"},
                                  {"name": "s", "shape": [], "dtype": "float32"}]


def test_report_labels_user_files_apart_from_exports(records):
    recs, _ = records
    user = by(recs, "latency", "G8.mindir", G_BATCH)
    exported = {**user, "labels": {"batch_size": G_BATCH, "scale": 8, "runtime": "mindspore-graphcell"}}
    table = latency_table(records_frame(recs + [exported])).set_index(["model", "batch"])
    sha = {name: by(recs, "latency", name, b)["labels"]["mindir_sha256"][:12]
           for name, b in (("G8.mindir", G_BATCH), ("affine.mindir", 3))}
    assert sorted(table.index) == sorted([(f"user MindIR G8.mindir ({sha['G8.mindir']})", G_BATCH),
                                          ("harness-exported G8", G_BATCH),
                                          *((f"user MindIR affine.mindir ({sha['affine.mindir']})", b) for b in (3, 5))])
    assert table.loc[("harness-exported G8", G_BATCH), "n"] == len(user["samples"])  # not pooled with the user's
