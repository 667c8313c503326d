"""Part 2 on every device: the same data, model, training, resume and evaluation on CPU, CUDA, MPS.

Tests taking ``device`` run for each device present (``make gpu-check`` runs them on a GPU); on a
CPU-only machine the CUDA and MPS cases are reported as skipped. The ``meta`` tests need no GPU:
they make every tensor created without an explicit device unusable, so code that would put a
tensor on the wrong device fails here, on the CPU, before it can fail on a reader's GPU.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from nnbook.mnist import architecture, checkpoint, data, evaluate as ev, models
from nnbook.mnist import train as T
from nnbook.mnist.config import TrainConfig
from nnbook.mnist.device import DeviceError, choose_precision, native_bf16, select_device
from nnbook.paths import project_root

# every test here belongs to what `make gpu-check` runs on a GPU, those without a `device` too
pytestmark = [pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning"), pytest.mark.devices]

SMALL = TrainConfig(epochs=2, limit_train=1024, batch_size=128, seed=5)
METRICS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "test_correct", "lr_end")


def _metrics(history: dict) -> list[dict]:
    return [{k: row[k] for k in METRICS} for row in history["epochs"]]


def _same_run(a: dict, b: dict, device: str) -> None:
    """Equal histories: exactly on the CPU; on a GPU within what kernel rounding allows."""
    if device == "cpu":
        assert _metrics(a) == _metrics(b)
        return
    for ra, rb in zip(a["epochs"], b["epochs"], strict=True):
        assert ra["train_loss"] == pytest.approx(rb["train_loss"], rel=1e-3)
        assert abs(ra["test_correct"] - rb["test_correct"]) <= 3


# -- no tensor on an implicit device ----------------------------------------------------------


def test_training_creates_no_tensor_on_the_default_device(meta_default_device, tmp_path: Path) -> None:
    # with label smoothing, so the smoothed loss's own tensors are checked too
    history = T.train(dataclasses.replace(SMALL, label_smoothing=0.1), tmp_path / "run", device="cpu", progress=True,
                      echo=False)
    assert len(history["epochs"]) == 2 and history["epochs"][-1]["test_correct"] > 1000
    model, _ = checkpoint.load_model(tmp_path / "run" / "model.pt")
    test = data.load_split(False, device="cpu")
    scores = ev.predict(model, test)
    assert scores.device.type == "cpu"
    assert int(ev.confusion_matrix(scores, test.labels).sum()) == 10_000
    assert ev.evaluate(model, test).correct == history["epochs"][-1]["test_correct"]


def test_data_code_creates_no_tensor_on_the_default_device(meta_default_device) -> None:
    split = data.load_split(True, device="cpu")
    assert split.images.device.type == "cpu"
    mean, std = data.pixel_stats(split.images)  # once crashed on a GPU: arange on the default device
    assert (round(mean, 4), round(std, 4)) == (0.1307, 0.3081)
    x, y = data.epoch_batches(split.subset(600), 100, torch.Generator(device="cpu").manual_seed(0), max_degrees=7)
    assert x.device.type == y.device.type == "cpu" and x.shape == (6, 100, 1, 28, 28)
    assert data.rotate_batch(x[0], 7.0, torch.Generator(device="cpu").manual_seed(0)).device.type == "cpu"


def test_the_chapters_figures_and_tables_create_no_tensor_on_the_default_device(meta_default_device,
                                                                                tmp_path: Path) -> None:
    """What the chapters call besides training, with every input explicitly on the CPU: on a reader's
    GPU these run beside CUDA tensors, where a tensor made on the default device would fail."""
    from nnbook.mnist import web
    from nnbook.mnist.results import run_dir

    model, _ = checkpoint.load_model(run_dir("book", "cpu", 1) / "model.pt")
    test = data.load_split(False, device="cpu").subset(600)
    scores = ev.predict(model, test)
    assert scores.device.type == "cpu" and ev.misclassified_grid(scores, test, limit=8).axes
    assert ev.plot_confusion(ev.confusion_matrix(scores, test.labels)).axes
    x = test.images[:4].float() / 255
    turned = data.rotate(x, 7.0)
    assert turned.device.type == "cpu" and turned.shape == x.shape and not torch.equal(turned, x)
    assert data.augmented_grid(test.images[:3], copies=2).axes and data.digit_grid(test.images[:4]).axes
    assert models.receptive_field_table(model)[-1].rf >= 28
    written = web.export_weights(model, tmp_path / "digits-weights.js")
    assert written.stat().st_size > models.count_parameters(model)


# -- the same numbers on every device ---------------------------------------------------------


def test_data_on_device(device: str) -> None:
    cpu = data.load_split(False)
    split = data.load_split(False, device=device)
    assert split.images.device.type == device and split.images.dtype == torch.uint8
    assert torch.equal(split.images.cpu(), cpu.images) and torch.equal(split.labels.cpu(), cpu.labels)
    assert data.pixel_stats(split.images) == pytest.approx(data.pixel_stats(cpu.images), abs=1e-12)


def test_epoch_batches_are_the_same_on_every_device(device: str) -> None:
    cpu = data.load_split(False).subset(2000)
    split = data.MnistSplit(cpu.images.to(device), cpu.labels.to(device))
    x0, y0 = data.epoch_batches(cpu, 128, torch.Generator(device="cpu").manual_seed(3), max_degrees=7)
    x1, y1 = data.epoch_batches(split, 128, torch.Generator(device="cpu").manual_seed(3), max_degrees=7)
    assert x1.device.type == device and torch.equal(y1.cpu(), y0)
    assert torch.allclose(x1.cpu(), x0, atol=1e-4)


def test_model_gives_the_same_scores_on_every_device(device: str) -> None:
    torch.manual_seed(0)
    model = models.build_model("main", 0.13, 0.31).eval()
    x = torch.rand(64, 1, 28, 28)
    with torch.inference_mode():
        want = model(x)
        moved = model.to(device).to(memory_format=torch.channels_last)
        got = moved(x.to(device).contiguous(memory_format=torch.channels_last))
    assert got.device.type == device
    assert torch.allclose(got.cpu(), want, atol=2e-3)  # TF32 convolutions on a GPU round a little


def test_export_summary_and_stages_leave_the_model_on_its_device(device: str, meta_default_device,
                                                                   tmp_path: Path) -> None:
    """ONNX export, the torchinfo table and the architecture's stages of a model on ``device``: the
    model stays there, unchanged, and what they report is what the CPU model gives (with ``meta``
    as the default device, any tensor they made without naming a device would fail here)."""
    ort = pytest.importorskip("onnxruntime")  # noqa: F841  (the `onnx` extra)
    from nnbook.mnist import onnx_export

    with torch.device("cpu"):
        torch.manual_seed(0)
        reference = models.build_model("main", 0.13, 0.31).eval()
        x = torch.rand(5, 1, 28, 28)
    model = copy.deepcopy(reference).to(device).train()  # in training mode: each must leave it so
    before = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}

    onnx = onnx_export.onnx_scores(onnx_export.export_onnx(model, tmp_path / "m.onnx"), x.numpy())
    with torch.inference_mode():
        want = reference(x)
    assert abs(onnx - want.numpy()).max() < 1e-4  # the file holds the model's weights, exported from a CPU copy
    # the table's layers, shapes and counts (the lines whose numbers cannot depend on the device)
    counted = [[line for line in models.summary(m).splitlines() if "params" in line or "Conv2d" in line]
               for m in (model, reference)]
    total = f"Total params: {models.count_parameters(reference):,}"  # torchinfo's count against the package's
    assert counted[0] == counted[1] and any(total in line for line in counted[0])
    assert architecture.stages(model) == architecture.stages(reference)

    assert all(t.device.type == device for t in [*model.parameters(), *model.buffers()])
    assert model.training and all(m.training for m in model.modules())
    assert all(torch.equal(before[k], v.detach().cpu()) for k, v in model.state_dict().items())


def test_training_resumes_to_the_same_history(device: str, tmp_path: Path) -> None:
    whole = T.train(SMALL, tmp_path / "whole", device=device, progress=False, echo=False)
    with pytest.raises(KeyboardInterrupt):
        T.train(SMALL, tmp_path / "part", device=device, progress=False, echo=False, on_epoch_end=_interrupt_after(1))
    resumed = T.train(SMALL, tmp_path / "part", device=device, resume=True, progress=False, echo=False)
    _same_run(resumed, whole, device)
    # what ran: the first part's precision and step mode at the top, the resumption's in its own entry
    (again,) = resumed["resumed_by"]
    assert (again["precision"], again["step_mode"]) == (whole["precision"], whole["step_mode"])
    assert (resumed["precision"], resumed["step_mode"]) == (whole["precision"], whole["step_mode"])
    assert whole["device"] == device and whole["device_name"]
    expected_mode = "cuda-graph" if device == "cuda" else "eager"
    assert whole["step_mode"] == expected_mode and whole["precision"] == choose_precision(torch.device(device)).name


def _interrupt_after(epoch: int):
    def hook(row: dict) -> None:
        if row["epoch"] == epoch:
            raise KeyboardInterrupt
    return hook


def test_momentum_saved_in_another_memory_layout_resumes_to_the_same_history(device: str, tmp_path: Path) -> None:
    """A resume file written where the weights have the other layout (channels_last on a CPU or a CUDA
    GPU, plain on Apple's MPS) resumes like one written here: the fused SGD step pairs each momentum
    buffer with its weight element by element in memory order, so a buffer loaded as saved would be
    paired with the wrong weights, silently."""
    whole = T.train(SMALL, tmp_path / "whole", device=device, progress=False, echo=False)
    part = tmp_path / "part"
    with pytest.raises(KeyboardInterrupt):
        T.train(SMALL, part, device=device, progress=False, echo=False, on_epoch_end=_interrupt_after(1))
    state = torch.load(part / "resume.pt", weights_only=True)
    flipped = 0
    for entry in state["optimizer"]["state"].values():
        buffer = entry["momentum_buffer"]
        if buffer.dim() == 4 and buffer.shape[1] > 1 and buffer.shape[2:] != (1, 1):  # the layouts differ in memory
            other = (torch.contiguous_format if buffer.is_contiguous(memory_format=torch.channels_last)
                     else torch.channels_last)
            entry["momentum_buffer"] = buffer.contiguous(memory_format=other)
            assert entry["momentum_buffer"].stride() != buffer.stride()
            flipped += 1
    assert flipped >= 3, "every 3x3 convolution's buffer, in the other layout"
    torch.save(state, part / "resume.pt")
    resumed = T.train(SMALL, part, device=device, resume=True, progress=False, echo=False)
    _same_run(resumed, whole, device)


@pytest.mark.devices
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="fewer than two CUDA GPUs here")
def test_a_run_on_the_second_gpu_trains_there_as_on_the_first() -> None:
    """``--device cuda:1``: the CUDA graph must be captured and replayed on cuda:1's streams, not on
    the current device's (cuda:0 unless told), where it would record nothing and train nothing."""
    first = T.train(SMALL, None, device="cuda:0", progress=False, echo=False)
    second = T.train(SMALL, None, device="cuda:1", progress=False, echo=False)
    assert second["step_mode"] == "cuda-graph" and second["epochs"][-1]["train_acc"] > 0.5
    _same_run(second, first, "cuda")
    assert torch.cuda.current_device() == 0, "the run leaves the current device as it found it"


def test_checkpoints_move_between_devices(device: str, tmp_path: Path) -> None:
    """A run trained on ``device`` evaluates, resumes and exports on the CPU, and the other way round."""
    other = "cpu" if device != "cpu" else ("cuda" if torch.cuda.is_available() else "mps" if
                                           torch.backends.mps.is_available() else None)
    if other is None:
        pytest.skip("no second device here to move the run to")
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        T.train(SMALL, out, device=device, progress=False, echo=False, on_epoch_end=_interrupt_after(1))
    history = T.train(SMALL, out, device=other, resume=True, progress=False, echo=False)
    assert len(history["epochs"]) == 2 and history["resumed_by"][0]["device_name"]
    # the history says what ran: its first part's precision, then the resumption's own
    mode = {"cuda": "cuda-graph"}.get(other, "eager")
    assert history["precision"] == choose_precision(torch.device(device)).name
    assert history["resumed_by"][0]["precision"] == choose_precision(torch.device(other)).name
    assert history["resumed_by"][0]["step_mode"] == mode
    model, name = checkpoint.load_model(out / "model.pt")
    test = data.load_split(False, device=device)
    result = ev.evaluate(model.to(device), test)
    assert abs(result.correct - history["epochs"][-1]["test_correct"]) <= 3
    scripted = torch.jit.load(str(out / "model.torchscript.pt"))
    x = torch.rand(8, 1, 28, 28)
    with torch.inference_mode():
        assert torch.allclose(scripted(x), model.cpu()(x), atol=1e-4)


def test_divergence_is_found_on_the_device_and_reported_at_the_epoch_end(device: str, tmp_path: Path) -> None:
    poison = torch.zeros((), device=device)  # read by the step on the device, so a CUDA graph sees it too

    def loss_fn(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        loss = F.cross_entropy(scores, labels)
        return loss / (1 - poison)  # infinite once poisoned (a where() would leak NaN into the gradient)

    out = tmp_path / "run"
    with pytest.raises(T.TrainingDiverged) as info:
        T.train(TrainConfig(epochs=2, limit_train=256), out, device=device, progress=False, echo=False,
                loss_fn=loss_fn, on_epoch_end=lambda row: poison.fill_(1))
    msg = str(info.value)
    assert "epoch 2, step 1/2" in msg and "learning rate" in msg and "(epoch 1) is kept" in msg
    assert len(json.loads((out / "history.json").read_text())["epochs"]) == 1
    model, _ = checkpoint.load_model(out / "model.pt")
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_command_line_on_device(device: str, tmp_path: Path) -> None:
    """train, --resume, evaluate and export through the command line, on ``device``."""
    def cli(*args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "nnbook.mnist", *args], capture_output=True, text=True,
                              cwd=project_root(), timeout=600)
        assert proc.returncode == 0, proc.stderr
        return proc

    out = tmp_path / "run"
    base = ["train", "--device", device, "--limit-train", "1024", "--seed", "2", "--no-progress", "--out", str(out)]
    first = json.loads(cli(*base, "--epochs", "1").stdout.strip().splitlines()[-1])
    assert first["epochs"] == 1
    # a longer run of the same settings would start from scratch; resume continues the folder
    done = json.loads(cli(*base, "--epochs", "1", "--resume").stdout.strip().splitlines()[-1])
    assert done["test_acc"] == first["test_acc"]
    evaluated = json.loads(cli("evaluate", str(out / "model.pt"), "--device", device).stdout)
    assert abs(evaluated["correct"] - round(first["test_acc"] * 10_000)) <= 3
    cli("export", str(out / "model.pt"), str(tmp_path / "m.ts"))
    assert torch.jit.load(str(tmp_path / "m.ts"))(torch.rand(2, 1, 28, 28)).shape == (2, 10)


# -- precision and device choice --------------------------------------------------------------


@pytest.mark.parametrize("gpu, capability, auto", [("Tesla V100", (7, 0), "fp16"), ("Tesla T4", (7, 5), "fp16"),
                                                   ("A100", (8, 0), "bf16"), ("RTX 3090", (8, 6), "bf16"),
                                                   ("H100", (9, 0), "bf16"), ("B200", (10, 0), "bf16")])
def test_precision_on_a_cuda_gpu_follows_its_compute_capability(monkeypatch, gpu, capability, auto) -> None:
    """The CUDA path of the precision choice, run without a GPU: torch's device queries answer as
    that GPU would (the same calls a GPU machine makes, with every torch this project admits).
    A T4 or V100 gets fp16 with a scaler, Ampere and newer bf16; asking a T4 for bf16 is refused."""
    asked = []
    monkeypatch.setattr(torch.version, "hip", None)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda d=None: asked.append(d) or capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda d=None: gpu)
    cuda1 = torch.device("cuda", 1)
    assert choose_precision(cuda1).name == auto
    assert asked and all(d == cuda1 for d in asked), "the capability of the GPU asked for, not the current one"
    assert choose_precision(cuda1, "fp16").name == "fp16" and choose_precision(cuda1, "fp32").name == "fp32"
    if auto == "fp16":
        with pytest.raises(DeviceError, match=f"{gpu} has no native bf16"):
            choose_precision(cuda1, "bf16")
    else:
        assert choose_precision(cuda1, "bf16").name == "bf16"
    monkeypatch.setattr(torch.version, "hip", "6.0")  # an AMD GPU under ROCm: bf16 whatever it reports
    assert native_bf16(cuda1)


def test_precision_choice_and_refusals() -> None:
    cpu = torch.device("cpu")
    assert choose_precision(cpu).name == "fp32"
    with pytest.raises(DeviceError, match="CUDA GPUs"):
        choose_precision(cpu, "bf16")
    with pytest.raises(DeviceError, match="unknown precision"):
        choose_precision(cpu, "fp8")
    for bad in ("tpu", "garbage"):
        with pytest.raises(DeviceError):
            select_device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA GPU"):
            select_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
@pytest.mark.parametrize("precision", ["fp16", "bf16", "fp32"])
def test_every_precision_trains_on_cuda(precision: str, tmp_path: Path) -> None:
    if precision == "bf16" and not native_bf16(torch.device("cuda")):
        pytest.skip("this GPU has no native bf16")
    # with label smoothing: its loss, too, in every precision and in the captured graph
    h = T.train(TrainConfig(epochs=1, limit_train=4096, label_smoothing=0.1), None, device="cuda",
                precision=precision, progress=False, echo=False)
    # it learns: far above chance (10 %) after 32 steps; on an H100 all three reach 77-79 %
    assert h["precision"] == precision and h["epochs"][-1]["test_acc"] > 0.6
    assert h["step_mode"] == ("eager" if precision == "fp16" else "cuda-graph")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
def test_cuda_graph_and_eager_steps_agree() -> None:
    """The replayed graph computes what the eager step computes: without dropout and rotation
    (no random numbers inside the step) and with cuDNN's deterministic kernels, up to rounding."""
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    cfg = TrainConfig(epochs=1, limit_train=4096, seed=4, dropout=0.0, max_degrees=0.0)
    runs = {g: T.train(cfg, None, device="cuda", precision="fp32", graph=g, progress=False, echo=False)
            for g in ("auto", "off")}
    assert runs["auto"]["step_mode"] == "cuda-graph" and runs["off"]["step_mode"] == "eager"
    _same_run(runs["auto"], runs["off"], "cuda")
