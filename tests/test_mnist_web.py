"""The weights script for the page: what it stores is the folded network, in an order a forward pass can follow."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nnbook.errors import UsageError
from nnbook.mnist import checkpoint, data, fold, web


@pytest.fixture(scope="module")
def model(root):
    return checkpoint.load_model(root / "results" / "book" / "cpu-seed1" / "model.pt")[0]


def _run_file(layers: list[dict], arrays: list[np.ndarray], x: torch.Tensor) -> torch.Tensor:
    """A forward pass driven only by the exported layer list and arrays (as digits.js is)."""
    weights = iter(torch.from_numpy(a.copy()).double() for a in arrays)
    x = x.double()
    for layer in layers:
        if layer["type"] == "conv":
            x = F.conv2d(x, next(weights), next(weights))
        elif layer["type"] == "relu":
            x = F.relu(x)
        elif layer["type"] == "maxpool":
            x = F.max_pool2d(x, layer["size"])
        elif layer["type"] == "avgpool":
            x = x.mean(dim=(2, 3), keepdim=True)
        else:
            raise AssertionError(f"unknown layer {layer}")
    return x.flatten(1)


def test_export_round_trips_the_folded_weights(model, tmp_path) -> None:
    path = web.export_weights(model, tmp_path / "w.js")
    assert path.read_text().startswith("//")
    layers, arrays = web.read_weights(path)
    stored = [p.detach().numpy() for p in fold.fold_model(model).parameters()]
    assert len(arrays) == len(stored) and all(np.array_equal(a, s) for a, s in zip(arrays, stored))
    assert [spec["type"] for spec in layers].count("conv") == len(stored) // 2


def test_the_exported_file_alone_gives_the_checkpoints_scores(model, tmp_path) -> None:
    layers, arrays = web.read_weights(web.export_weights(model, tmp_path / "w.js"))
    x = data.load_split(train=False).images[:200].float() / 255
    with torch.no_grad():
        want = model(x).double()
    got = _run_file(layers, arrays, x)
    assert torch.equal(got.argmax(1), want.argmax(1)) and float((got - want).abs().max()) < 1e-4


def test_page_weight_counts_the_files_as_stored_and_compressed(tmp_path) -> None:
    for name, text in ((web.SCRIPT_NAME, "let a = 1;\n" * 50), (web.WEIGHTS_NAME, "b")):
        (tmp_path / name).write_text(text)
    sizes = web.page_weight(tmp_path)
    assert sizes[web.SCRIPT_NAME] == {"bytes": 550, "gzip": len(gzip.compress(b"let a = 1;\n" * 50, mtime=0))}
    assert sizes[web.WEIGHTS_NAME]["bytes"] == 1


def test_bad_paths_and_foreign_files_are_refused(model, tmp_path) -> None:
    with pytest.raises(UsageError, match="ending in .js"):
        web.export_weights(model, tmp_path / "w.json")
    (tmp_path / "other.js").write_text("console.log(1);\n")
    with pytest.raises(UsageError, match="not written by export_weights"):
        web.read_weights(tmp_path / "other.js")


def test_the_exported_geometry_gives_the_models_receptive_fields(model, tmp_path) -> None:
    """Kernel sizes, strides and paddings in the file (what the page walks to find a cell's receptive
    field) give, layer by layer, the receptive field and jump of ``models.receptive_field_table``."""
    from nnbook.mnist.models import receptive_field_table

    layers, _ = web.read_weights(web.export_weights(model, tmp_path / "w.js"))
    size, rf, jump, walked = 28, 1, 1, []
    for layer in layers:
        if layer["type"] in ("conv", "maxpool"):
            k, s, p = layer["size"], layer["stride"], layer["padding"]
        elif layer["type"] == "avgpool":  # global: one window the size of the map
            k, s, p = size, size, 0
        else:
            continue
        size, rf, jump = (size + 2 * p - k) // s + 1, rf + (k - 1) * jump, jump * s
        walked.append((size, rf, jump))
    table = [(row.size, row.rf, row.jump) for row in receptive_field_table(model)[1:]]
    assert walked == table and walked[-1][1] == 28  # the scores see the whole image
