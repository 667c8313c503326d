"""MNIST, verified: checksums and idx headers checked before any training, tensors on the device.

The four shipped ``.gz`` files in ``<root>/mnist/`` are checked against ``SHA256SUMS``,
decompressed atomically into ``<root>/cache/MNIST/raw/`` and the result checked against
``SHA256SUMS.raw``; the verified bytes become tensors directly (the cache is also the folder
torchvision's :class:`~torchvision.datasets.MNIST` reads, for the benchmark's conventional
pipeline). Downloaded files (``--download``, where nothing is shipped) pass the same checks:
bounded decompression, idx header, length, split size (60,000 and 10,000), and the SHA-256 of
the decompressed bytes. Every problem raises :class:`MnistDataError` naming the file and the fix.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

import torch
import torch.nn.functional as F

from nnbook.errors import EnvironmentProblem, NnbookWarning
from nnbook.io import write_bytes_atomic
from nnbook.paths import default_data_root

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the package
    from matplotlib.figure import Figure

__all__ = [
    "MnistDataError",
    "DataCacheWarning",
    "MnistSplit",
    "FILES",
    "SOURCE",
    "MIRRORS",
    "RAW_SHA256",
    "SPLIT_SIZES",
    "ROTATE_CHUNK",
    "data_root",
    "prepare",
    "load_split",
    "pixel_stats",
    "rotate_batch",
    "rotate",
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


#: The SHA-256 of each decompressed file: MNIST itself, whatever the source (the shipped
#: ``SHA256SUMS.raw`` says the same; a test checks it). Mirrors' ``.gz`` files differ byte for
#: byte from the shipped ones (another compressor), so a download is checked by these.
RAW_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

#: Where ``--download`` fetches ``<name>.gz`` from, in order (torchvision's mirrors).
MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")

#: The number of images (and labels) in each split; anything else is not MNIST's split.
SPLIT_SIZES = {"train": 60_000, "test": 10_000}

#: No MNIST file decompresses to more (the training images are 47,040,016 bytes): a bound that
#: keeps a damaged or hostile file from filling the memory before its header is even checked.
MAX_RAW_BYTES = 48_000_000

#: No MNIST ``.gz`` is larger (the training images: 9.9 MB from the mirrors, 9.7 MB shipped).
MAX_GZ_BYTES = 16_000_000

#: Images rotated per ``affine_grid`` + ``grid_sample`` call when an epoch is prepared: the call's
#: sampling grid (two floats per pixel) then stays near 50 MB, on any device.
ROTATE_CHUNK = 8192


class DataCacheWarning(NnbookWarning):
    """The decompressed cache could not be written; the verified data is used from memory."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_bounded(path: Path, limit: int, fix: str) -> bytes:
    """The bytes of ``path``, refusing a file larger than ``limit`` before reading it."""
    size = path.stat().st_size
    if size > limit:
        raise MnistDataError(f"{path}: {size:,} bytes, far more than any MNIST file ({limit:,} at most). {fix}")
    return path.read_bytes()


def _read_sums(path: Path) -> dict[str, str]:
    """Parse a ``sha256sum``-format file into {file name: hex digest}."""
    fix = f"Re-copy it from {SOURCE}."
    if not path.is_file():
        raise MnistDataError(f"{path} {'is not a file' if path.exists() else 'is missing'}. {fix}")
    try:
        text = _read_bounded(path, 100_000, fix).decode("utf-8")
    except UnicodeDecodeError:
        raise MnistDataError(f"{path}: not a text file (not UTF-8). {fix}") from None
    sums = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or len(parts[0]) != 64 or any(c not in "0123456789abcdefABCDEF" for c in parts[0]):
            raise MnistDataError(f"{path}, line {number}: not a '<sha256>  <file name>' line ({line[:60]!r}). {fix}")
        sums[parts[1].strip().lstrip("*")] = parts[0].lower()
    return sums


def _check_idx(raw: bytes, name: str, where: str | Path, fix: str) -> None:
    """Validate an idx header, its length and the split's size ourselves; torchvision would fail obscurely."""
    is_images = "images" in name
    magic, ndim = (_IMAGES_MAGIC, 3) if is_images else (_LABELS_MAGIC, 1)
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
        raise MnistDataError(f"{where}: wrong dimensions {dims[1]}x{dims[2]} (expected {_SIDE}x{_SIDE}). {fix}")
    split = "train" if name.startswith("train") else "test"
    expected, other = SPLIT_SIZES[split], "test" if split == "train" else "training"
    if dims[0] != expected:  # both files of a split checked against its size: they pair, too
        raise MnistDataError(
            f"{where}: holds {dims[0]:,} {'images' if is_images else 'labels'}, but MNIST's "
            f"{'training' if split == 'train' else 'test'} split has {expected:,} images: the {other} split's "
            f"file in its place (train and test swapped, or a label file paired with the wrong image file). {fix}"
        )
    promised = header_len + math.prod(dims)
    if len(raw) != promised:
        raise MnistDataError(
            f"{where}: truncated or padded ({len(raw):,} bytes, the header promises {promised:,}). {fix}"
        )


def _gunzip(blob: bytes, where: str | Path, sha_ok: bool, fix: str) -> bytes:
    """Decompress ``blob`` (at most :data:`MAX_RAW_BYTES`), turning gzip failures into a clear error."""
    note = "" if sha_ok else "; its SHA-256 does not match SHA256SUMS either"
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(blob), mode="rb") as stream:
            raw = stream.read(MAX_RAW_BYTES + 1)
        if len(raw) <= MAX_RAW_BYTES:
            return raw
        detail = f"decompresses to more than {MAX_RAW_BYTES:,} bytes, far more than any MNIST file"
    except EOFError:
        detail = "truncated (the gzip stream ends early)"
    except (OSError, zlib.error) as exc:  # BadGzipFile is an OSError; bad deflate data is zlib.error
        detail = f"damaged, not a valid gzip file ({exc})"
    raise MnistDataError(f"{where}: {detail}{note}. {fix}")


def _verify(blob: bytes, name: str, where: str | Path, gz_sum: str | None, raw_sum: str | None, fix: str) -> bytes:
    """The decompressed bytes of ``blob`` (``name``'s .gz) once they pass every check, in this order:
    gzip (bounded), idx header and length, split size, then the checksums (``gz_sum`` None: none
    is known for the compressed file, as for a download); the first failure is the error."""
    sha_ok = gz_sum is None or _sha256(blob) == gz_sum
    raw = _gunzip(blob, where, sha_ok, fix)
    _check_idx(raw, name, where, fix)
    if not sha_ok:
        raise MnistDataError(f"{where}: checksum mismatch (SHA-256 differs from SHA256SUMS). {fix}")
    if _sha256(raw) != raw_sum:
        raise MnistDataError(f"{where}: decompresses to bytes whose SHA-256 does not match "
                             f"{'SHA256SUMS.raw' if gz_sum else 'MNIST'}. {fix}")
    return raw


def _store(files: dict[Path, bytes], strict: bool) -> None:
    """Write the cache atomically; a disk that refuses (full, read-only) stops only ``strict`` callers."""
    try:
        for path, blob in files.items():
            write_bytes_atomic(path, blob)
    except OSError as exc:
        if strict:
            raise
        warnings.warn(DataCacheWarning(
            f"{exc.filename}: {exc.strerror or exc}; the data was verified and is used from memory, but not "
            "cached (check the free space and permissions there)"), stacklevel=4)


@dataclass(frozen=True)
class _Source:
    """Where the .gz files come from and what they must match: the shipped folder, or a download."""

    folder: Path  #: the shipped files, or the cache a download is kept in
    gz_sums: dict[str, str] | None  #: None for a download: mirrors compress differently
    raw_sums: dict[str, str]
    mirrors: tuple[str, ...] | None  #: None: never download


def _source(root: Path, allow_download: bool, mirrors: Sequence[str] | None) -> _Source:
    shipped, cache = root / "mnist", root / "cache" / "MNIST" / "raw"
    if allow_download and not (shipped.is_dir() and any(shipped.glob("*.gz"))):
        return _Source(cache, None, RAW_SHA256, tuple(MIRRORS if mirrors is None else mirrors))
    if not shipped.is_dir() or not any(shipped.iterdir()):
        raise MnistDataError(f"no MNIST data in {shipped}: expected the four .gz files with SHA256SUMS and "
                             f"SHA256SUMS.raw (check --data-root; the repository ships them in data/mnist/, "
                             "or add --download)")
    return _Source(shipped, _read_sums(shipped / "SHA256SUMS"), _read_sums(shipped / "SHA256SUMS.raw"), None)


def _prepare_file(name: str, src: _Source, cache: Path, strict: bool) -> bytes:
    """The verified decompressed bytes of ``name``: from the cache when it still matches its sum,
    else from the source's .gz (downloaded first where there is none), then cached."""
    out = cache / name
    gz = src.folder / f"{name}.gz"
    fix = f"Re-copy it from {SOURCE}."
    gz_sum = None if src.gz_sums is None else src.gz_sums.get(gz.name, "")
    if src.mirrors is not None:
        fix = f"Delete it and run again with --download, or copy data/mnist/ from {SOURCE} into {cache.parents[2]}/."
    elif not gz.is_file():
        raise MnistDataError(f"{gz} {'is not a file' if gz.exists() else 'is missing'}. {fix}")
    # Fast path: the cache matches its recorded sum (and a shipped .gz still matches its own).
    if out.is_file() and out.stat().st_size <= MAX_RAW_BYTES:
        raw = out.read_bytes()
        if _sha256(raw) == src.raw_sums.get(name) and (gz_sum is None or _hashes_to(gz, gz_sum)):
            _check_idx(raw, name, out, fix)
            return raw
        # A damaged cache is never used: fall through and rebuild it from the .gz.
    if gz.is_file():
        raw = _verify(_read_bounded(gz, MAX_GZ_BYTES, fix), name, gz, gz_sum, src.raw_sums.get(name), fix)
        _store({out: raw}, strict)
        return raw
    assert src.mirrors is not None
    blob, url = _download(name, src.mirrors, cache.parents[2])
    raw = _verify(blob, name, url, None, src.raw_sums.get(name),
                  "The download is not MNIST's file; nothing was kept. Try again later, or copy data/mnist/ "
                  f"from {SOURCE} into {cache.parents[2]}/.")
    _store({gz: blob, out: raw}, strict)
    return raw


def _hashes_to(path: Path, digest: str) -> bool:
    """Whether ``path`` has SHA-256 ``digest``, read in chunks (a huge file never fills the memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest() == digest


def _download(name: str, mirrors: Sequence[str], root: Path) -> tuple[bytes, str]:
    """``name``.gz from the first mirror that answers (at most :data:`MAX_GZ_BYTES`); ``(bytes, url)``."""
    import urllib.request  # deferred: only a download needs it

    tried = []
    for base in mirrors:
        url = base.rstrip("/") + f"/{name}.gz"
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                blob = response.read(MAX_GZ_BYTES + 1)
        except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections; a malformed URL
            tried.append(f"{url}: {getattr(exc, 'reason', None) or exc}")
            continue
        if len(blob) > MAX_GZ_BYTES:
            tried.append(f"{url}: more than {MAX_GZ_BYTES:,} bytes, not MNIST's file")
            continue
        return blob, url
    raise MnistDataError(f"could not download {name}.gz ({'; '.join(tried)}). Check the network, or copy "
                         f"data/mnist/ from {SOURCE} into {root}/ and run without --download.")


def prepare(
    root: str | Path | None = None,
    *,
    allow_download: bool = False,
    splits: tuple[str, ...] = ("train", "test"),
    mirrors: Sequence[str] | None = None,
) -> Path:
    """Verify the files of ``splits``, fill the decompressed cache, return the torchvision root.

    With ``allow_download`` and no shipped files (Binder, Colab without the data), the files are
    downloaded from ``mirrors`` (default :data:`MIRRORS`) and verified just as shipped ones are.
    The cache is what this function is for, so a disk that refuses it is an error here.
    """
    root = data_root(root)
    _verified(root, splits, allow_download=allow_download, mirrors=mirrors, strict=True)
    return root / "cache"


def _verified(root: Path, splits: tuple[str, ...], *, allow_download: bool = False,
              mirrors: Sequence[str] | None = None, strict: bool = False) -> dict[str, bytes]:
    """The decompressed, verified bytes of every file of ``splits``, by file name."""
    unknown = set(splits) - set(FILES)
    if unknown:
        raise ValueError(f"splits must be among {sorted(FILES)}, got {sorted(unknown)}")
    src = _source(root, allow_download, mirrors)
    cache = root / "cache" / "MNIST" / "raw"
    return {name: _prepare_file(name, src, cache, strict) for split in splits for name in FILES[split]}


def _tensor(raw: bytes, header_len: int) -> torch.Tensor:
    """The uint8 payload of an idx file as a CPU tensor (one copy, no Python loop)."""
    return torch.frombuffer(bytearray(raw[header_len:]), dtype=torch.uint8)


def load_split(
    train: bool,
    root: str | Path | None = None,
    device: torch.device | str = "cpu",
    *,
    allow_download: bool = False,
    mirrors: Sequence[str] | None = None,
) -> MnistSplit:
    """Verify one split's two files, then move them whole onto ``device``.

    Only this split's files are verified (hashing all four for each split read the 47 MB of
    training images twice per run), and the verified bytes become the tensors: nothing is read
    twice, and torchvision is not even imported. A cache that cannot be written (a full or
    read-only disk) is a :class:`DataCacheWarning`, not an error: the data is verified in memory.
    """
    split = "train" if train else "test"
    raw = _verified(data_root(root), (split,), allow_download=allow_download, mirrors=mirrors)
    images_name, labels_name = FILES[split]
    images = _tensor(raw[images_name], 16).view(-1, 1, _SIDE, _SIDE)
    labels = _tensor(raw[labels_name], 8).to(torch.int64)
    return MnistSplit(images.to(device), labels.to(device))


def pixel_stats(images: torch.Tensor) -> tuple[float, float]:
    """Mean and (sample) standard deviation of the pixels, scaled to [0, 1], of a uint8 tensor.

    From the histogram of the 256 possible values: one pass, no float copy of the 47 million
    pixels, and the sums in float64 stay exact. The histogram is counted where the images are
    and its 256 counts summed on the CPU (Apple's MPS has no float64).
    """
    counts = torch.bincount(images.flatten(), minlength=256).cpu().to(torch.float64)
    values = torch.arange(256, dtype=torch.float64, device="cpu") / 255.0
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


def rotate(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Rotate every image of a float batch (N, C, H, W) about its centre by ``degrees``, the same angle
    for all; a positive angle turns counter-clockwise on screen. The resampling the training's random
    rotations use (bilinear, blank paper outside the image), at an angle the caller chooses."""
    if x.dim() != 4 or not x.is_floating_point():
        raise ValueError(f"rotate expects a float batch (N, C, H, W), got {tuple(x.shape)} {x.dtype}")
    if not math.isfinite(degrees):
        raise ValueError(f"degrees must be a finite number, got {degrees!r}")
    angles = torch.full((x.shape[0],), math.radians(degrees), dtype=torch.float32, device=x.device)
    return _rotate(x, angles)


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
    chunk: int = ROTATE_CHUNK,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One training epoch, prepared at once: ``(x, y)`` of shapes (S, B, 1, 28, 28) and (S, B).

    The images are shuffled and each rotated by its own angle in ±``max_degrees``, ``chunk``
    images per ``affine_grid`` + ``grid_sample`` call; batch ``s`` is ``x[s]``. The permutation
    and the angles come from ``generator`` (on the CPU), so a seed gives the same epoch on every
    device, and they reach the device in one copy per epoch:
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


def digit_grid(images: torch.Tensor, titles: list[str] | None = None, cols: int = 10) -> Figure:
    """A matplotlib Figure showing images (N, 1, 28, 28) in a grid, with optional titles."""
    from matplotlib.figure import Figure  # not pyplot: no global figure state, as in Part 1

    images = _unit_float(images)
    n = images.shape[0]
    rows = max(1, math.ceil(n / cols))
    fig = Figure(figsize=(cols * 0.9, rows * (1.05 if titles else 0.9)))
    axes = fig.subplots(rows, cols)
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
) -> Figure:
    """A Figure: each row one digit, first the original then ``copies`` random rotations of it."""
    g = torch.Generator().manual_seed(seed)
    x = _unit_float(images)
    rows = [torch.cat([img[None], rotate_batch(img[None].expand(copies, -1, -1, -1), max_degrees, g)])
            for img in x]
    titles = ["original"] + [f"rotated #{k + 1}" for k in range(copies)]
    titles += [""] * (len(rows) - 1) * (copies + 1)  # column titles on the first row only
    return digit_grid(torch.cat(rows), titles=titles, cols=copies + 1)
