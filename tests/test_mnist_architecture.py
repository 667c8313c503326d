"""The architecture figure's facts: each stage's output shape and parameters, checked against
torchinfo's own layer table and the model's parameter count."""

from __future__ import annotations

import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from nnbook.errors import UsageError
from nnbook.mnist import architecture, models


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_stages_are_torchinfos_top_level_layers(name: str) -> None:
    from torchinfo import summary

    model = models.build_model(name)
    rows = architecture.stages(model)
    layers = [layer for layer in summary(model, input_size=(1, 1, 28, 28), verbose=0, depth=1).summary_list
              if layer.depth == 1]
    assert [s.shape for s in rows] == [tuple(layer.output_size[1:]) for layer in layers]
    assert [s.parameters for s in rows] == [layer.trainable_params for layer in layers]  # stage by stage
    assert sum(s.parameters for s in rows) == models.count_parameters(model)
    assert rows[-1].shape == (10,) and rows[0].shape == (1, 28, 28)
    # each stage's dropout, from its own nn.Dropout layers (0 where it has none)
    own = [max((m.p for m in block.modules() if isinstance(m, torch.nn.Dropout)), default=0.0) for block in model]
    assert [s.dropout for s in rows] == own


def test_the_model_is_left_as_it_was(meta_default_device) -> None:
    """A training model stays in training mode with the same weights; nothing is made on the
    default device (here ``meta``): the blank image goes to the model's own device."""
    with torch.device("cpu"):  # the model itself is placed explicitly, as a caller would
        model = models.build_model("main", mean=0.13, std=0.31)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    architecture.stages(model)
    assert model.training and all(m.training for m in model.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_the_figure_draws_one_block_per_stage_with_its_shape() -> None:
    model = models.build_model("main")
    fig = architecture.plot_architecture(model)
    assert isinstance(fig, Figure)
    ax, = fig.axes
    blocks = [p for p in ax.patches if isinstance(p, Rectangle)]
    rows = architecture.stages(model)
    assert len(blocks) == len(rows)
    texts = {t.get_text() for t in ax.texts}
    assert {"×".join(map(str, s.shape)) for s in rows[:-1]} <= texts and "10 scores" in texts
    # taller blocks for larger maps: the height follows the map's side
    assert [b.get_height() for b in blocks[:-1]] == [float(s.shape[1]) for s in rows[:-1]]


def test_not_a_model() -> None:
    with pytest.raises(UsageError, match="nn.Sequential"):
        architecture.stages(torch.nn.Linear(2, 2))
