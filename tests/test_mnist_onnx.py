"""The ONNX export: the committed book model, run by onnxruntime on all 10,000 test images, gives
PyTorch's classes and accuracy; and every way the export can be asked wrongly fails clearly.

The referees are PyTorch's own forward pass (``evaluate``) and onnxruntime called directly here,
not through the package's :func:`~nnbook.mnist.onnx_export.onnx_scores`.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nnbook.errors import UsageError
from nnbook.mnist import checkpoint, data, evaluate as ev, onnx_export as ox
from nnbook.mnist.__main__ import main
from nnbook.mnist.models import build_model
from nnbook.paths import project_root

BOOK_MODEL = project_root() / "results" / "book" / "cpu-seed1" / "model.pt"


@pytest.fixture(scope="module")
def ort():
    return pytest.importorskip("onnxruntime")  # the `onnx` extra (requirements.txt installs it)


@pytest.fixture(scope="module")
def book_model() -> torch.nn.Module:
    """The committed book checkpoint, loaded once for the module (tests that change it take a copy)."""
    return checkpoint.load_model(BOOK_MODEL)[0]


@pytest.fixture(scope="module")
def exported(ort, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The book model exported through the command line, as a reader does it."""
    out = tmp_path_factory.mktemp("onnx") / "model.onnx"
    assert main(["export", str(BOOK_MODEL), str(out)]) == 0
    return out


@pytest.mark.slow
def test_the_book_model_agrees_with_pytorch_on_every_test_image(ort, exported: Path, book_model) -> None:
    model = book_model
    test = data.load_split(False)
    reference = ev.evaluate(model, test)  # PyTorch: the checkpoint's own evaluation
    pixels = test.images.float().div(255).numpy()
    session = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    scores = session.run(None, {"pixels": pixels})[0]  # all 10,000 images in one call
    assert scores.shape == (10_000, 10) and scores.dtype == np.float32
    torch_scores = reference.scores.numpy()
    assert (scores.argmax(1) == torch_scores.argmax(1)).all(), "every image gets PyTorch's class"
    assert np.abs(scores - torch_scores).max() < 1e-3
    correct = int((scores.argmax(1) == test.labels.numpy()).sum())
    assert correct == reference.correct and reference.total == 10_000
    # the package's runner (in batches of 500) gives onnxruntime's scores, and compare() counts as above
    batched = ox.onnx_scores(exported, pixels)
    assert np.abs(batched - scores).max() < 1e-5
    agreement = ox.compare(batched, reference.scores, test.labels)
    assert (agreement.same_class, agreement.total) == (10_000, 10_000)
    assert agreement.onnx_correct == agreement.torch_correct == reference.correct
    assert agreement.max_difference == pytest.approx(float(np.abs(batched - torch_scores).max()))


def test_the_file_declares_its_input_output_and_any_batch_size(ort, exported: Path, book_model) -> None:
    onnx = pytest.importorskip("onnx")
    graph = onnx.load(str(exported)).graph
    dims = [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert (graph.input[0].name, dims) == ("pixels", ["N", 1, 28, 28])
    assert [o.name for o in graph.output] == ["scores"]
    assert onnx.load(str(exported)).opset_import[0].version == ox.OPSET
    model = book_model
    session = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    for n in (1, 7):
        x = torch.rand(n, 1, 28, 28)
        with torch.inference_mode():
            expected = model(x).numpy()
        got = session.run(None, {"pixels": x.numpy()})[0]
        assert got.shape == (n, 10) and np.abs(got - expected).max() < 1e-3


def test_export_leaves_the_model_alone_and_refuses_what_it_must_not_write(ort, tmp_path: Path, book_model) -> None:
    model = copy.deepcopy(book_model)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = ox.export_onnx(model, tmp_path / "m.onnx")
    assert model.training, "export must not switch the caller's model to eval mode"
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    x = torch.rand(7, 1, 28, 28)  # the file is the eval-mode network (BatchNorm's running statistics, no dropout)
    with torch.no_grad():
        expected = copy.deepcopy(model).eval()(x).numpy()
    assert np.abs(ort.InferenceSession(str(out)).run(None, {"pixels": x.numpy()})[0] - expected).max() < 1e-4
    written = out.read_bytes()
    with pytest.raises(checkpoint.CheckpointError, match="already exists; add --force"):
        ox.export_onnx(model, out)
    assert out.read_bytes() == written
    with pytest.raises(checkpoint.CheckpointError, match="is a folder"):
        ox.export_onnx(model, tmp_path)
    source = tmp_path / "model.pt"
    source.write_bytes(BOOK_MODEL.read_bytes())
    with pytest.raises(checkpoint.CheckpointError, match="being exported"):
        ox.export_onnx(model, source, overwrite=True, source=source)
    assert source.read_bytes() == BOOK_MODEL.read_bytes(), "the checkpoint survives"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "model.pt"], "no temporary left"


def test_cli_picks_the_format_by_suffix_and_refuses_an_unknown_one(ort, tmp_path: Path, capsys) -> None:
    assert main(["export", str(BOOK_MODEL), str(tmp_path / "m.ts")]) == 0  # TorchScript as before
    assert torch.jit.load(str(tmp_path / "m.ts"))(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    capsys.readouterr()
    # the suffix is checked first: a missing checkpoint is not even looked at
    with pytest.raises(SystemExit) as info:
        main(["export", str(tmp_path / "absent.pt"), str(tmp_path / "m.json")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "cannot tell the format from 'm.json': end OUTPUT in .onnx (ONNX) or .pt, .pth, .ts" in err
    assert not (tmp_path / "m.json").exists()
    out = tmp_path / "m.ONNX"  # the suffix in any case
    assert main(["export", str(BOOK_MODEL), str(out)]) == 0
    assert ort.InferenceSession(str(out)).get_inputs()[0].name == "pixels"
    written = out.read_bytes()
    out.write_bytes(b"not a model")
    assert main(["export", str(BOOK_MODEL), str(out)]) == 1
    assert capsys.readouterr().err.strip().endswith("already exists; add --force to replace it")
    assert out.read_bytes() == b"not a model"
    assert main(["export", str(BOOK_MODEL), str(out), "--force"]) == 0
    x = np.random.default_rng(0).random((5, 1, 28, 28), dtype=np.float32)
    first = tmp_path / "first.onnx"
    first.write_bytes(written)
    np.testing.assert_allclose(ox.onnx_scores(out, x), ox.onnx_scores(first, x), rtol=0, atol=1e-6)  # replaced


def _without(module: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run Python with ``module`` unimportable: a stand-in earlier on the path raises as a missing one does."""
    shim = tmp_path / "shim"
    shim.mkdir(exist_ok=True)
    (shim / f"{module}.py").write_text(f"raise ModuleNotFoundError({f'No module named {module!r}'!r}, "
                                      f"name={module!r})\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shim), str(project_root() / "src")])}
    return subprocess.run([sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)


def test_without_onnx_the_export_names_the_extra(tmp_path: Path) -> None:
    out = tmp_path / "m.onnx"
    result = _without("onnx", tmp_path, "-m", "nnbook.mnist", "export", str(BOOK_MODEL), str(out))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr == ("error: the ONNX export needs the onnx package, which this Python does not have: "
                             "pip install 'nnbook[onnx]'\n")
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "shim"]


def test_without_onnxruntime_running_a_model_names_the_extra(tmp_path: Path) -> None:
    code = ("import numpy as np\nfrom nnbook.mnist.onnx_export import onnx_scores, OnnxUnavailable\n"
            "try:\n    onnx_scores('m.onnx', np.zeros((1, 1, 28, 28), np.float32))\n"
            "except OnnxUnavailable as exc:\n    print(exc)\n")
    result = _without("onnxruntime", tmp_path, "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("running an ONNX model needs the onnxruntime package, which this Python "
                                     "does not have: pip install 'nnbook[onnx]'")


def test_onnx_scores_refuses_bad_files_and_pixels(ort, exported: Path, tmp_path: Path) -> None:
    with pytest.raises(ox.OnnxModelError, match="no such ONNX file"):
        ox.onnx_scores(tmp_path / "absent.onnx", np.zeros((1, 1, 28, 28), np.float32))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00 not a model")
    with pytest.raises(ox.OnnxModelError, match="not a readable ONNX model"):
        ox.onnx_scores(junk, np.zeros((1, 1, 28, 28), np.float32))
    with pytest.raises(UsageError, match="float32"):  # raw uint8 pixels would score 255 times too bright
        ox.onnx_scores(exported, np.zeros((1, 1, 28, 28), np.uint8))
    with pytest.raises(UsageError, match=r"shape \(N, 1, 28, 28\)"):
        ox.onnx_scores(exported, np.zeros((1, 28, 28), np.float32))
    assert ox.onnx_scores(exported, np.zeros((0, 1, 28, 28), np.float32)).shape == (0, 10)


def test_export_creates_nothing_on_the_default_device(ort, meta_default_device, tmp_path: Path) -> None:
    """A reader who made CUDA the default device still exports: the example input is made on the
    CPU beside the model's CPU copy (here the default is ``meta``, where any stray tensor fails)."""
    with torch.device("cpu"):
        model = build_model("main")
    out = ox.export_onnx(model, tmp_path / "m.onnx")
    assert ox.onnx_scores(out, np.zeros((2, 1, 28, 28), np.float32)).shape == (2, 10)


def test_compare_counts_disagreements() -> None:
    reference = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0]])
    onnx = reference.numpy().copy()
    onnx[1] = [1.5, 1.0]  # now predicts class 0 for the second image, 1.5 away from PyTorch
    agreement = ox.compare(onnx, reference, torch.tensor([0, 1, 1]))
    assert (agreement.same_class, agreement.total, agreement.max_difference) == (2, 3, 1.5)
    assert (agreement.torch_correct, agreement.onnx_correct) == (2, 1)
    onnx[1] = [0.0, 1.0 + 2**-17]  # a rounding-sized difference reads as a power of ten, never "e-06"
    shown = ox.compare(onnx, reference, torch.tensor([0, 1, 1]))._repr_markdown_()
    assert shown == "same class for 3 of 3 images; largest score difference 7.6 × 10⁻⁶; correct: ONNX 2, PyTorch 2"
    with pytest.raises(UsageError, match="do not match"):
        ox.compare(onnx[:2], reference, torch.tensor([0, 1, 1]))
