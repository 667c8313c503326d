"""MNIST, verified: checksums and idx headers checked before any training, tensors on the device.

The four shipped ``.gz`` files in ``<root>/mnist/`` are checked against ``SHA256SUMS``,
decompressed atomically into ``<root>/cache/MNIST/raw/`` and the result checked against
``SHA256SUMS.raw``; the verified bytes become tensors directly (the cache is also the folder
torchvision's :class:`~torchvision.datasets.MNIST` reads, for the benchmark's conventional
pipeline). Every problem raises :class:`MnistDataError` naming the file and the fix.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch
import torch.nn.functional as F

from nnbook.errors import EnvironmentProblem
from nnbook.io import write_bytes_atomic
from nnbook.paths import default_data_root

__all__ = [
    "MnistDataError",
    "MnistSplit",
    "FILES",
    "SOURCE",
    "data_root",
    "prepare",
    "load_split",
    "pixel_stats",
    "rotate_batch",
    "iterate_batches",
    "epoch_batches",
    "digit_grid",
    "augmented_grid",
]

#: Where a damaged file can be re-copied from (the files are committed to the repository).
SOURCE = "the repository (`git checkout -- data/mnist/`, or https://github.com/nnbook/nnbook/tree/main/data/mnist)"

#: split -> (images file, labels file), names without ``.gz`` as torchvision expects them.
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IMAGES_MAGIC, _LABELS_MAGIC = 0x00000803, 0x00000801  # idx: uint8 data, 3 resp. 1 dimensions
_SIDE = 28


class MnistDataError(EnvironmentProblem, ValueError):
    """A shipped MNIST file is missing, damaged or inconsistent; the message names file and fix."""


@dataclass(frozen=True)
class MnistSplit:
    """One split kept whole on the training device: no DataLoader, no per-sample Python work."""

    images: torch.Tensor  #: uint8, shape (N, 1, 28, 28)
    labels: torch.Tensor  #: int64, shape (N,)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, n: int | None) -> "MnistSplit":
        """The first ``n`` samples (all when ``n`` is None): quick runs stay deterministic."""
        if n is None or n >= len(self):
            return self
        return MnistSplit(self.images[:n], self.labels[:n])


def data_root(root: str | Path | None = None) -> Path:
    """The data folder: ``root`` when given (tests pass a copy), else :func:`~nnbook.paths.default_data_root`."""
    return Path(root) if root is not None else default_data_root()


def _sha256(data: bytes | Path) -> str:
    if isinstance(data, Path):
        data = data.read_bytes()
    return hashlib.sha256(data).hexdigest()


def _read_sums(path: Path) -> dict[str, str]:
    """Parse a ``sha256sum``-format file into {file name: hex digest}."""
    if not path.is_file():
        raise MnistDataError(f"{path} is missing. Re-copy it from {SOURCE}.")
    sums = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest.lower()
    return sums


def _check_idx(raw: bytes, name: str, where: Path) -> int:
    """Validate an idx header and length ourselves (torchvision would fail obscurely); return N."""
    is_images = "images" in name
    magic, ndim = (_IMAGES_MAGIC, 3) if is_images else (_LABELS_MAGIC, 1)
    fix = f"Re-copy it from {SOURCE}."
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise MnistDataError(f"{where}: truncated ({len(raw)} bytes, shorter than the idx header). {fix}")
    (found,) = struct.unpack(">I", raw[:4])
    if found != magic:
        raise MnistDataError(
            f"{where}: wrong magic number 0x{found:08x} (expected 0x{magic:08x} for an idx "
            f"{'image' if is_images else 'label'} file). {fix}"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:header_len])
    if is_images and dims[1:] != (_SIDE, _SIDE):
        raise MnistDataError(
            f"{where}: wrong dimensions {dims[1]}x{dims[2]} (expected {_SIDE}x{_SIDE}). {fix}"
        )
    expected = header_len + math.prod(dims)
    if len(raw) != expected:
        raise MnistDataError(
            f"{where}: truncated or padded ({len(raw):,} bytes, the header promises {expected:,}). {fix}"
        )
    return dims[0]


#: No MNIST file decompresses to more (the training images are 47,040,016 bytes): a bound that
#: keeps a damaged or hostile file from filling the memory before its header is even checked.
MAX_RAW_BYTES = 48_000_000


def _gunzip(gz: Path, sha_ok: bool) -> bytes:
    """Decompress ``gz`` (at most :data:`MAX_RAW_BYTES`), turning gzip failures into a clear error."""
    note = "" if sha_ok else "; its SHA-256 does not match SHA256SUMS either"
    try:
        with gzip.open(gz, "rb") as stream:
            raw = stream.read(MAX_RAW_BYTES + 1)
        if len(raw) <= MAX_RAW_BYTES:
            return raw
        detail = f"decompresses to more than {MAX_RAW_BYTES:,} bytes, far more than any MNIST file"
    except EOFError:
        detail = "truncated (the gzip stream ends early)"
    except (OSError, zlib.error) as exc:  # BadGzipFile is an OSError; bad deflate data is zlib.error
        detail = f"damaged, not a valid gzip file ({exc})"
    raise MnistDataError(f"{gz}: {detail}{note}. Re-copy it from {SOURCE}.")


def _prepare_file(
    name: str, shipped: Path, cache: Path, sums: dict[str, str], raw_sums: dict[str, str]
) -> tuple[int, bool, bytes]:
    """Make ``cache/name`` a verified copy of ``shipped/name.gz``; return (record count, sum ok, bytes).

    A file whose checksum fails but whose structure is sound is not cached; the caller reports
    it after the pairing check, whose message says more than a checksum would.
    """
    gz, out = shipped / f"{name}.gz", cache / name
    if not gz.is_file():
        raise MnistDataError(f"{gz} is missing. Re-copy it from {SOURCE}.")
    sha_ok = _sha256(gz) == sums.get(gz.name)
    # Fast path: the shipped file is intact and the cache still matches its recorded sum.
    if sha_ok and out.is_file():
        raw = out.read_bytes()
        if _sha256(raw) == raw_sums.get(name):
            return _check_idx(raw, name, out), True, raw
        # A damaged cache is never used: fall through and rebuild it from the .gz.
    raw = _gunzip(gz, sha_ok)
    count = _check_idx(raw, name, gz)
    if not sha_ok:
        return count, False, raw
    if _sha256(raw) != raw_sums.get(name):
        raise MnistDataError(
            f"{gz}: decompresses to bytes whose SHA-256 does not match SHA256SUMS.raw. "
            f"Re-copy it from {SOURCE}."
        )
    write_bytes_atomic(out, raw)
    return count, True, raw


def prepare(
    root: str | Path | None = None,
    *,
    allow_download: bool = False,
    splits: tuple[str, ...] = ("train", "test"),
) -> Path:
    """Verify the shipped files of ``splits``, fill the decompressed cache, return the torchvision root.

    With ``allow_download`` and no shipped files at all (Binder, Colab without the data), the
    returned root is empty and :func:`load_split` lets torchvision download instead.
    """
    root = data_root(root)
    if allow_download and not any((root / "mnist").glob("*.gz")):
        return root / "cache"
    _verified(root, splits)
    return root / "cache"


def _verified(root: Path, splits: tuple[str, ...]) -> dict[str, bytes]:
    """The decompressed, verified bytes of every file of ``splits``, by file name."""
    shipped, cache = root / "mnist", root / "cache" / "MNIST" / "raw"
    unknown = set(splits) - set(FILES)
    if unknown:
        raise ValueError(f"splits must be among {sorted(FILES)}, got {sorted(unknown)}")
    if not shipped.is_dir() or not any(shipped.iterdir()):
        raise MnistDataError(f"no MNIST data in {shipped}: expected the four .gz files with SHA256SUMS and "
                             f"SHA256SUMS.raw (check --data-root; the repository ships them in data/mnist/)")
    sums, raw_sums = _read_sums(shipped / "SHA256SUMS"), _read_sums(shipped / "SHA256SUMS.raw")
    cache.mkdir(parents=True, exist_ok=True)
    verified: dict[str, bytes] = {}
    for images, labels in (FILES[split] for split in splits):
        n_images, images_ok, verified[images] = _prepare_file(images, shipped, cache, sums, raw_sums)
        n_labels, labels_ok, verified[labels] = _prepare_file(labels, shipped, cache, sums, raw_sums)
        if n_images != n_labels:
            raise MnistDataError(
                f"{shipped / (labels + '.gz')} holds {n_labels:,} labels but "
                f"{shipped / (images + '.gz')} holds {n_images:,} images: a label file "
                f"paired with the wrong image file. Re-copy both from {SOURCE}."
            )
        for name, ok in ((images, images_ok), (labels, labels_ok)):
            if not ok:
                raise MnistDataError(
                    f"{shipped / (name + '.gz')}: checksum mismatch (SHA-256 differs from "
                    f"SHA256SUMS). Re-copy it from {SOURCE}."
                )
    return verified


def _tensor(raw: bytes, header_len: int) -> torch.Tensor:
    """The uint8 payload of an idx file as a CPU tensor (one copy, no Python loop)."""
    return torch.frombuffer(bytearray(raw[header_len:]), dtype=torch.uint8)


def load_split(
    train: bool,
    root: str | Path | None = None,
    device: torch.device | str = "cpu",
    *,
    allow_download: bool = False,
) -> MnistSplit:
    """Verify one split's two files, then move them whole onto ``device``.

    Only this split's files are verified (hashing all four for each split read the 47 MB of
    training images twice per run), and the verified bytes become the tensors: nothing is read
    twice, and torchvision is not even imported.
    """
    split = "train" if train else "test"
    root = data_root(root)
    if allow_download and not any((root / "mnist").glob("*.gz")):
        return _download_split(train, root / "cache", device)
    raw = _verified(root, (split,))
    images_name, labels_name = FILES[split]
    images = _tensor(raw[images_name], 16).view(-1, 1, _SIDE, _SIDE)
    labels = _tensor(raw[labels_name], 8).to(torch.int64)
    return MnistSplit(images.to(device), labels.to(device))


def _download_split(train: bool, tv_root: Path, device: torch.device | str) -> MnistSplit:
    """torchvision's download, for a machine without the shipped files (Binder, Colab)."""
    from torchvision.datasets import MNIST  # deferred: importing torchvision is slow

    ds = MNIST(root=str(tv_root), train=train, download=True)
    images = ds.data.unsqueeze(1).contiguous()  # (N, 28, 28) -> (N, 1, 28, 28), still uint8
    return MnistSplit(images.to(device), ds.targets.to(device=device, dtype=torch.int64))


def pixel_stats(images: torch.Tensor) -> tuple[float, float]:
    """Mean and (sample) standard deviation of the pixels, scaled to [0, 1], of a uint8 tensor.

    From the histogram of the 256 possible values: one pass, no float copy of the 47 million
    pixels, and the sums in float64 stay exact.
    """
    counts = torch.bincount(images.flatten(), minlength=256).to(torch.float64)
    values = torch.arange(256, dtype=torch.float64, device=counts.device) / 255.0
    n = counts.sum()
    mean = (counts * values).sum() / n
    var = (counts * (values - mean) ** 2).sum() / (n - 1)
    return float(mean), float(var.sqrt())


def rotate_batch(
    x: torch.Tensor, max_degrees: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Rotate every image of a float batch (N, C, H, W) by its own random angle in ±max_degrees.

    One ``affine_grid`` + ``grid_sample`` call for the whole batch, on the batch's device; the
    angles come from ``generator`` (on the CPU, so a seed gives the same angles on any device).
    """
    n = x.shape[0]
    angles = (torch.rand(n, generator=generator, dtype=torch.float32, device="cpu") * 2 - 1) * math.radians(max_degrees)
    return _rotate(x, angles.to(x.device))


def iterate_batches(split: MnistSplit, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (float pixels in [0, 1] of shape (B, 1, 28, 28), labels) batches, in order, all images.

    For evaluation; training prepares each shuffled, rotated epoch with :func:`epoch_batches`.
    """
    for start in range(0, len(split), batch_size):
        x = split.images[start : start + batch_size].float().div_(255.0)
        yield x, split.labels[start : start + batch_size]


def epoch_batches(
    split: MnistSplit,
    batch_size: int,
    generator: torch.Generator,
    *,
    max_degrees: float = 0.0,
    chunk: int = 8192,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One training epoch, prepared at once: ``(x, y)`` of shapes (S, B, 1, 28, 28) and (S, B).

    The images are shuffled and each rotated by its own angle in ±``max_degrees``; batch ``s``
    is ``x[s]``. The permutation and the angles come from ``generator`` (on the CPU), so a seed
    gives the same epoch on every device, and they reach the device in one copy per epoch:
    drawing them batch by batch would make a GPU wait for the host at every step. The last
    ``len(split) % batch_size`` images of the shuffled order are left out (a new random set each
    epoch), so every step sees a full batch and a CUDA graph can replay it.
    """
    n = len(split)
    steps = n // batch_size
    if steps == 0:
        raise ValueError(f"batch size {batch_size} is larger than the {n} training images")
    used = steps * batch_size
    order = torch.randperm(n, generator=generator, device="cpu")[:used]
    uniform = torch.rand(used, generator=generator, dtype=torch.float32, device="cpu")
    angles = (uniform * 2 - 1) * math.radians(max_degrees)
    dev = split.images.device
    order, angles = order.to(dev), angles.to(dev)
    x = torch.empty((used, 1, _SIDE, _SIDE), dtype=torch.float32, device=dev)
    for start in range(0, used, chunk):  # chunks bound the memory of grid_sample's sampling grid
        stop = min(start + chunk, used)
        block = split.images[order[start:stop]].float().div_(255.0)
        x[start:stop] = _rotate(block, angles[start:stop]) if max_degrees else block
    return x.view(steps, batch_size, 1, _SIDE, _SIDE), split.labels[order].view(steps, batch_size)


def _rotate(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate each image of ``x`` (N, C, H, W) about its centre by its angle (radians)."""
    cos, sin = angles.cos(), angles.sin()
    zero = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta.to(dtype=x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _unit_float(images: torch.Tensor) -> torch.Tensor:
    """Images as float in [0, 1] on the CPU, for plotting (uint8 0-255 or float input)."""
    x = images.detach().float().cpu()
    return x / 255.0 if x.max() > 1.0 else x


def digit_grid(images: torch.Tensor, titles: list[str] | None = None, cols: int = 10):
    """A matplotlib Figure showing images (N, 1, 28, 28) in a grid, with optional titles."""
    import matplotlib.pyplot as plt

    images = _unit_float(images)
    n = images.shape[0]
    rows = max(1, math.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * (1.05 if titles else 0.9)))
    for i, ax in enumerate(getattr(axes, "flat", [axes])):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i, 0].numpy(), cmap="gray_r", vmin=0, vmax=1)
            if titles:
                ax.set_title(titles[i], fontsize=8)
    fig.tight_layout(pad=0.2)
    return fig


def augmented_grid(
    images: torch.Tensor, max_degrees: float = 7.0, copies: int = 6, seed: int = 0
):
    """A Figure: each row one digit, first the original then ``copies`` random rotations of it."""
    g = torch.Generator().manual_seed(seed)
    x = _unit_float(images)
    rows = [torch.cat([img[None], rotate_batch(img[None].expand(copies, -1, -1, -1), max_degrees, g)])
            for img in x]
    titles = ["original"] + [f"rotated #{k + 1}" for k in range(copies)]
    titles += [""] * (len(rows) - 1) * (copies + 1)  # column titles on the first row only
    return digit_grid(torch.cat(rows), titles=titles, cols=copies + 1)
