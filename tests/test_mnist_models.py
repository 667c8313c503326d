"""The CNNs: size budget, self-contained normalisation, receptive fields by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nnbook.mnist import models


# Worked by hand from the layer list: 3x3 conv 9*c_in*c_out, 1x1 conv c_in*c_out, BatchNorm 2*c,
# head 10*c + 10. main: 72+16 + 1152+32 + 128+16 + 1152+32 + 2304+32 + 3456+48 + 6912+64 + 330;
# tiny: 72+16 + 864+24 + 96+16 + 720+20 + 900+20 + 900+20 + 1080+24 + 130.
HAND_COUNTS = {"main": 15_746, "tiny": 4_902}


@pytest.mark.parametrize("name,budget", [("main", 19_999), ("tiny", 5_000)])
def test_parameter_budget(name: str, budget: int) -> None:
    model = models.build_model(name)
    n = models.count_parameters(model)
    assert n == sum(p.numel() for p in model.parameters()) == HAND_COUNTS[name] <= budget


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_forward_shape_and_layers(name: str) -> None:
    model = models.build_model(name, 0.1307, 0.3081).eval()
    assert model(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    kinds = {type(m) for m in model.modules()}
    assert {nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d, nn.AdaptiveAvgPool2d} <= kinds
    assert not any(isinstance(m, nn.Linear) for m in model.modules()), "no fully-connected layer"
    assert any(isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) for m in model.modules())


def test_normalisation_lives_in_the_model_and_its_checkpoint() -> None:
    model = models.build_model("main", 0.1307, 0.3081)
    state = model.state_dict()
    assert float(state["0.mean"]) == pytest.approx(0.1307) and float(state["0.std"]) == pytest.approx(0.3081)
    x = torch.tensor([0.1307, 0.1307 + 0.3081, 0.1307 - 2 * 0.3081])
    assert torch.allclose(model[0](x), torch.tensor([0.0, 1.0, -2.0]), atol=1e-6)
    # a checkpoint carries them: a model built with the defaults (0, 1) gets them back on loading
    fresh = models.build_model("main")
    fresh.load_state_dict(state)
    assert float(fresh[0].mean) == pytest.approx(0.1307) and float(fresh[0].std) == pytest.approx(0.3081)


def test_unknown_model_name() -> None:
    with pytest.raises(ValueError, match="unknown model 'huge'"):
        models.build_model("huge")


def test_receptive_field_hand_computed_case() -> None:
    # conv3 -> conv3 -> pool2 -> conv3 (padding 1, stride 2) -> global pool, worked by hand:
    # rf 1 -> 3 -> 5 -> 6 (jump 2) -> 6 + 2*2 = 10 (jump 4); sizes 28 -> 26 -> 24 -> 12 -> 6;
    # global pool over 6 positions: rf 10 + 5*4 = 30, jump 24.
    net = nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3), nn.MaxPool2d(2), nn.Conv2d(2, 2, 3, stride=2, padding=1),
        nn.AdaptiveAvgPool2d(1),
    )
    rows = models.receptive_field_table(net)
    assert [(r.size, r.rf, r.jump) for r in rows] == [
        (28, 1, 1), (26, 3, 1), (24, 5, 1), (12, 6, 2), (6, 10, 4), (1, 30, 24),
    ]


def test_receptive_field_of_main_model_matches_its_output_sizes() -> None:
    model = models.build_model("main").eval()
    rows = models.receptive_field_table(model)
    # by hand: 3x3 convs add 2*jump, the 2x2 pool adds 1 and doubles the jump, 1x1 convs add nothing
    assert [(r.size, r.rf, r.jump) for r in rows] == [
        (28, 1, 1), (26, 3, 1), (24, 5, 1), (12, 6, 2), (12, 6, 2), (10, 10, 2), (8, 14, 2),
        (6, 18, 2), (4, 22, 2), (1, 28, 8), (1, 28, 8),
    ]
    # the computed sizes agree with what the layers really produce
    x, sizes = torch.rand(1, 1, 28, 28), []
    for layer in model.modules():
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AdaptiveAvgPool2d)):
            layer.register_forward_hook(lambda m, i, o: sizes.append(o.shape[-1]))
    model(x)
    assert sizes == [r.size for r in rows[1:]]


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_after_pooling_and_transition_are_found_by_what_they_are(name: str) -> None:
    model = models.build_model(name).eval()
    rest = models.after_pooling(model)
    assert isinstance(rest[0][0], torch.nn.MaxPool2d) and len(rest) < len(model)
    # the stages before the pooling keep the full resolution: only the pooling halves it
    x = torch.zeros(1, 1, 28, 28)
    before = model[: len(model) - len(rest)](x)
    assert before.shape[-1] == 24 and rest[0](before).shape[-1] == 12
    conv = models.transition_conv(model)
    assert conv.kernel_size == (1, 1) and conv.out_channels < conv.in_channels
    with pytest.raises(ValueError, match="no pooling"):
        models.after_pooling(torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3)))


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_summary_fits_a_page_and_lists_every_layer(name: str) -> None:
    """The table the model chapter prints: narrow enough for a page's code column (about 75
    characters at 1280 px; the browser test measures the page), its columns lined up, and
    every leaf layer's parameters as the layer itself counts them."""
    model = models.build_model(name, 0.1307, 0.3081)
    lines = models.summary(model).splitlines()
    assert max(len(line) for line in lines) <= 75
    header = next(line for line in lines if line.startswith("Layer (type"))
    starts = [header.index(title) for title in ("Output Shape", "Param #", "Kernel Shape")]
    layers = list(model.modules())[1:]  # the blocks and their layers, in order, under the model itself
    rows = [line for line in lines if line.startswith(("├─", "│"))]
    assert len(rows) == len(layers)
    for row, layer in zip(rows, layers):
        assert row[starts[0] - 1] == " " and row[starts[1] - 1] == " ", row  # no column runs into the next
        assert f"{type(layer).__name__}: " in row[:starts[0]]
        own = sum(p.numel() for p in layer.parameters()) if not list(layer.children()) else 0
        assert row[starts[1]:starts[2]].strip() == (f"{own:,}" if own else "--"), row


def _mult_adds_by_hand(model: nn.Module) -> int:
    """Multiply-adds of one 28x28 image through the convolutions, from each layer's output shape:
    k*k*c_in per output value (the BatchNorms and the poolings, which torchinfo does not count
    as mult-adds here, aside)."""
    total = 0

    def count(layer: nn.Conv2d, _inputs: object, out: torch.Tensor) -> None:
        nonlocal total
        k = layer.kernel_size[0]
        total += out.numel() * k * k * layer.in_channels // layer.groups

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 1, 28, 28))
    for hook in hooks:
        hook.remove()
    return total


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_summary_writes_its_units_as_letters_and_counts_the_mult_adds(name: str) -> None:
    """torchinfo's units read "(M)", not the enum's repr, and the count is the convolutions' own."""
    model = models.build_model(name)
    text = models.summary(model)
    assert "Units." not in text
    line = next(line for line in text.splitlines() if line.startswith("Total mult-adds"))
    label, value = line.split(": ")
    assert label == "Total mult-adds (M)"
    assert abs(float(value) - _mult_adds_by_hand(model) / 1e6) < 0.006  # torchinfo prints two decimals


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_default_dropout_is_the_rate_the_model_is_built_with(name: str) -> None:
    rates = {m.p for m in models.build_model(name).modules() if isinstance(m, nn.Dropout)}
    assert rates == ({models.default_dropout(name)} if models.default_dropout(name) else set())
    assert {m.p for m in models.build_model(name, dropout=0.0).modules() if isinstance(m, nn.Dropout)} <= {0.0}
    with pytest.raises(ValueError, match="unknown model"):
        models.default_dropout("nope")


def test_model_device_reads_parameters_then_buffers() -> None:
    assert models.model_device(models.build_model("tiny").to("meta")) == torch.device("meta")
    only_buffer = torch.nn.Module()
    only_buffer.register_buffer("b", torch.zeros(1, device="meta"))
    assert models.model_device(only_buffer) == torch.device("meta")
    assert models.model_device(torch.nn.Sequential()) == torch.device("cpu")
