"""Folding BatchNorm and the input normalisation into the convolutions changes no score."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

from nnbook.errors import UsageError
from nnbook.mnist import fold, models
from nnbook.mnist.models import Normalize


def _trained_looking(name: str, seed: int = 0) -> nn.Module:
    """A model whose BatchNorm layers hold non-trivial statistics and affine parameters, in eval mode."""
    torch.manual_seed(seed)
    model = models.build_model(name, 0.1307, 0.3081)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.5)
                m.running_var.uniform_(0.2, 3.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.3)
    return model.eval()


def test_fold_batchnorm_matches_pytorchs_own_fusion() -> None:
    torch.manual_seed(1)
    conv, bn = nn.Conv2d(3, 5, 3, bias=True), nn.BatchNorm2d(5, eps=1e-3)
    with torch.no_grad():
        bn.running_mean.normal_(), bn.running_var.uniform_(0.1, 2), bn.weight.normal_(), bn.bias.normal_()
    w, b = fold.fold_batchnorm(conv.weight.detach(), conv.bias.detach(), bn)
    w_ref, b_ref = fuse_conv_bn_weights(conv.weight.double(), conv.bias.double(), bn.running_mean.double(),
                                        bn.running_var.double(), bn.eps, bn.weight.double(), bn.bias.double())
    assert torch.allclose(w, w_ref, rtol=1e-12, atol=1e-14) and torch.allclose(b, b_ref, rtol=1e-12, atol=1e-14)


def test_fold_input_affine_is_the_normalised_convolution() -> None:
    torch.manual_seed(2)
    conv, x = nn.Conv2d(1, 4, 3).double(), torch.rand(2, 1, 9, 9, dtype=torch.float64)
    w, b = fold.fold_input_affine(conv.weight.detach(), conv.bias.detach(), 0.13, 0.31)
    assert torch.allclose(nn.functional.conv2d(x, w, b), conv((x - 0.13) / 0.31), atol=1e-12)


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_folded_model_gives_the_eval_models_scores(name: str) -> None:
    model = _trained_looking(name)
    before = copy.deepcopy(model.state_dict())
    folded = fold.fold_model(model)
    kinds = {type(m) for m in folded.modules()}
    assert not kinds & {nn.BatchNorm2d, nn.Dropout, Normalize}, "only convolutions, ReLUs and poolings remain"
    x = torch.rand(16, 1, 28, 28)
    with torch.no_grad():
        want, got = model(x), folded(x)
    assert want.abs().max() > 0.1, "a test on scores that are all about zero would prove nothing"
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-4)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items()), "the caller's model changed"


def test_a_model_on_any_device_folds_on_the_cpu(device: str, meta_default_device) -> None:
    """A GPU model folds as a CPU one does; nothing is made on the default device (``meta`` here)."""
    with torch.device("cpu"):
        model = _trained_looking("main")
        x = torch.rand(8, 1, 28, 28)
    with torch.no_grad():
        want = model.eval()(x)
    on_device = copy.deepcopy(model).to(device)
    folded = fold.fold_model(on_device)
    assert {p.device.type for p in folded.parameters()} == {"cpu"}
    assert next(on_device.parameters()).device.type == device, "the caller's model stays where it was"
    with torch.no_grad():
        assert torch.allclose(folded(x), want, rtol=1e-4, atol=1e-4)


def test_folded_checkpoint_classifies_test_images_as_the_checkpoint(root) -> None:
    from nnbook.mnist import checkpoint, data

    model, _ = checkpoint.load_model(root / "results" / "book" / "cpu-seed1" / "model.pt")
    x = data.load_split(train=False).images[:1000].float() / 255
    with torch.no_grad():
        want, got = model(x), fold.fold_model(model)(x)
    assert torch.equal(want.argmax(1), got.argmax(1))
    assert float((want - got).abs().max()) < 1e-4


@pytest.mark.parametrize("layers,message", [
    ([Normalize(0.1, 0.3), nn.Conv2d(1, 2, 3, padding=1)], "padded"),
    ([nn.Conv2d(1, 2, 3), nn.ReLU(), nn.BatchNorm2d(2)], "does not follow a convolution"),
    ([nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2, 2)], "Linear"),
    ([Normalize(0.1, 0.3), nn.ReLU(), nn.Conv2d(1, 2, 3)], "before any convolution"),
    ([nn.Conv2d(1, 2, 3), Normalize(0.1, 0.3)], "no convolution follows"),
])
def test_unfoldable_models_are_refused_with_the_reason(layers: list[nn.Module], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        fold.fold_model(nn.Sequential(*layers))


def test_only_sequential_models_are_folded() -> None:
    with pytest.raises(UsageError, match="nn.Sequential"):
        fold.fold_model(nn.Conv2d(1, 2, 3))
