"""The trained network in the book's web page: its folded weights as a script the page loads.

The "Draw a digit" chapter runs the network in the reader's browser with ``digits.js``, a forward
pass in plain JavaScript. :func:`export_weights` writes what that script needs: the folded
network's layer list (:func:`nnbook.mnist.fold.fold_model`) and its float32 weights, base64
encoded, as a JavaScript file rather than JSON, because a page opened from disk (``file://``)
may load scripts but not fetch data files.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path

import numpy as np
from torch import nn

from nnbook.errors import UsageError
from nnbook.io import write_text_atomic
from nnbook.mnist.fold import fold_model
from nnbook.paths import project_root

__all__ = ["page_folder", "export_weights", "read_weights", "page_weight", "WEIGHTS_NAME", "SCRIPT_NAME",
           "CHECKED_IMAGES", "CHECKED_TOLERANCE"]

#: what the browser tests require of the page's network (and the chapter says): the same class as
#: PyTorch and every score within CHECKED_TOLERANCE, on the first CHECKED_IMAGES test images
CHECKED_IMAGES, CHECKED_TOLERANCE = 1000, 1e-3
SCRIPT_NAME = "digits.js"  #: the forward pass, preprocessing and drawing pad (committed)
WEIGHTS_NAME = "digits-weights.js"  #: written by :func:`export_weights` at build time (not committed)
_PREFIX = "(window.nnbook = window.nnbook || {}).digitsNetwork = "
_HEADER = ("// The book's MNIST network with BatchNorm folded into its convolutions, written by\n"
           "// nnbook.mnist.web.export_weights when the book is built: do not edit.\n")


def page_folder() -> Path:
    """The folder of the page's scripts in the book's sources (copied to ``_static/digits/`` of the site)."""
    return project_root() / "book" / "_static" / "web" / "digits"


def _layer_specs(folded: nn.Sequential) -> tuple[list[dict[str, object]], list[np.ndarray]]:
    """The folded network as a list of plain layer descriptions and the arrays they use, in order."""
    specs: list[dict[str, object]] = []
    arrays: list[np.ndarray] = []
    for layer in folded:
        if isinstance(layer, nn.Conv2d):
            k = layer.kernel_size[0]
            if layer.kernel_size != (k, k) or layer.stride != (1, 1) or layer.padding != (0, 0):
                raise UsageError(f"the page's forward pass runs square, stride-1, unpadded convolutions, not {layer}")
            specs.append({"type": "conv", "in": layer.in_channels, "out": layer.out_channels, "size": k,
                          "stride": 1, "padding": 0})
            arrays += [layer.weight.detach().numpy(), layer.bias.detach().numpy()]
        elif isinstance(layer, nn.ReLU):
            specs.append({"type": "relu"})
        elif isinstance(layer, nn.MaxPool2d):
            if (layer.kernel_size, layer.stride, layer.padding) not in ((2, 2, 0), ((2, 2), (2, 2), (0, 0))):
                raise UsageError(f"the page's forward pass runs 2x2 max pooling with stride 2, not {layer}")
            specs.append({"type": "maxpool", "size": 2, "stride": 2, "padding": 0})
        elif isinstance(layer, nn.AdaptiveAvgPool2d):
            if layer.output_size not in (1, (1, 1)):
                raise UsageError(f"the page's forward pass runs global average pooling only, not {layer}")
            specs.append({"type": "avgpool"})
        elif not isinstance(layer, nn.Flatten):  # the scores come out flat anyway
            raise UsageError(f"the page's forward pass has no {type(layer).__name__} layer")
    return specs, arrays


def export_weights(model: nn.Module, path: str | Path) -> Path:
    """Fold ``model`` and write its layers and float32 weights as a script for ``digits.js``.

    The file sets ``window.nnbook.digitsNetwork = {layers, float32}``: ``layers`` lists the
    operations in order (``conv`` with ``in``, ``out``, ``size``, ``stride``, ``padding``; ``relu``;
    ``maxpool`` with ``size``, ``stride``, ``padding``; ``avgpool``, global), ``float32`` is the
    base64 of every convolution's weights (out, in, size, size) then bias, little-endian, in layer
    order. The page computes each cell's receptive field from the kernel sizes and strides (it refuses
    any padding, which the book's network does not use).
    """
    path = Path(path)
    if path.suffix != ".js":
        raise UsageError(f"{path}: the weights are written as a script; give a path ending in .js")
    specs, arrays = _layer_specs(fold_model(model))
    blob = np.concatenate([a.astype("<f4").ravel() for a in arrays]).tobytes()
    payload = {"layers": specs, "float32": base64.b64encode(blob).decode("ascii")}
    write_text_atomic(path, _HEADER + _PREFIX + json.dumps(payload, separators=(",", ":")) + ";\n")
    return path


def read_weights(path: str | Path) -> tuple[list[dict[str, object]], list[np.ndarray]]:
    """Read a file written by :func:`export_weights`: the layer list and the arrays, shaped."""
    text = Path(path).read_text(encoding="utf-8")
    match = re.search(re.escape(_PREFIX) + r"(\{.*\});\s*$", text, re.S)
    if not match:
        raise UsageError(f"{path} was not written by export_weights")
    payload = json.loads(match.group(1))
    flat = np.frombuffer(base64.b64decode(payload["float32"]), dtype="<f4")
    arrays, at = [], 0
    for spec in payload["layers"]:
        if spec["type"] == "conv":
            for shape in ((spec["out"], spec["in"], spec["size"], spec["size"]), (spec["out"],)):
                n = int(np.prod(shape))
                arrays.append(flat[at:at + n].reshape(shape))
                at += n
    if at != flat.size:
        raise UsageError(f"{path}: {flat.size} numbers stored, the layers use {at}")
    return payload["layers"], arrays


def page_weight(folder: str | Path | None = None) -> dict[str, dict[str, int]]:
    """Bytes the page's two scripts add, as stored and gzip-compressed (as most web servers send them)."""
    folder = page_folder() if folder is None else Path(folder)
    out = {}
    for name in (SCRIPT_NAME, WEIGHTS_NAME):
        data = (folder / name).read_bytes()
        out[name] = {"bytes": len(data), "gzip": len(gzip.compress(data, mtime=0))}
    return out

