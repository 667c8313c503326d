"""MNIST data: every damaged-file case provoked for real on a copy of the shipped files."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
from pathlib import Path

import pytest
import torch

from nnbook.mnist import data
from nnbook.paths import project_root

SHIPPED = project_root() / "data" / "mnist"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A private copy of data/mnist (the shipped files are never touched)."""
    shutil.copytree(SHIPPED, tmp_path / "mnist")
    return tmp_path


def _regzip(path: Path, edit) -> None:
    """Rewrite ``path`` (a .gz) with its decompressed bytes passed through ``edit``."""
    raw = bytearray(gzip.decompress(path.read_bytes()))
    path.write_bytes(gzip.compress(bytes(edit(raw)), compresslevel=1, mtime=0))  # level 1: fast


def _error(root: Path) -> str:
    with pytest.raises(data.MnistDataError) as info:
        data.prepare(root)
    return str(info.value)


def test_intact_copy_prepares_and_loads(root: Path) -> None:
    tv_root = data.prepare(root)
    raw = tv_root / "MNIST" / "raw"
    sums = dict(line.split()[::-1] for line in (SHIPPED / "SHA256SUMS.raw").read_text().splitlines())
    for name, digest in sums.items():
        assert hashlib.sha256((raw / name).read_bytes()).hexdigest() == digest
    test = data.load_split(False, root)
    assert test.images.shape == (10_000, 1, 28, 28) and test.images.dtype == torch.uint8
    assert test.labels.dtype == torch.int64 and len(test) == 10_000
    assert not list(raw.glob(".*.tmp")), "no temporary file left behind"


def test_flipped_byte_in_gz(root: Path) -> None:
    gz = root / "mnist" / "train-images-idx3-ubyte.gz"
    blob = bytearray(gz.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    gz.write_bytes(bytes(blob))
    msg = _error(root)
    assert "train-images-idx3-ubyte.gz" in msg and "SHA256SUMS" in msg and "Re-copy it from" in msg


def test_changed_pixel_in_valid_gzip_is_a_checksum_mismatch(root: Path) -> None:
    gz = root / "mnist" / "t10k-images-idx3-ubyte.gz"

    def flip(raw: bytearray) -> bytearray:
        raw[5000] ^= 0x01
        return raw

    _regzip(gz, flip)
    msg = _error(root)
    assert "t10k-images-idx3-ubyte.gz: checksum mismatch" in msg and "Re-copy it from" in msg


def test_truncated_gz(root: Path) -> None:
    gz = root / "mnist" / "train-labels-idx1-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:-2000])
    msg = _error(root)
    assert "train-labels-idx1-ubyte.gz: truncated" in msg and "Re-copy" in msg


def test_truncated_idx_inside_valid_gzip(root: Path) -> None:
    _regzip(root / "mnist" / "t10k-images-idx3-ubyte.gz", lambda raw: raw[:-784])
    assert "truncated or padded" in _error(root)


def test_missing_file(root: Path) -> None:
    (root / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    msg = _error(root)
    assert "t10k-labels-idx1-ubyte.gz is missing" in msg and "Re-copy it from" in msg


def test_missing_sums_file(root: Path) -> None:
    (root / "mnist" / "SHA256SUMS.raw").unlink()
    assert "SHA256SUMS.raw is missing" in _error(root)


def test_label_file_paired_with_wrong_images(root: Path) -> None:
    shutil.copy(root / "mnist" / "t10k-labels-idx1-ubyte.gz", root / "mnist" / "train-labels-idx1-ubyte.gz")
    msg = _error(root)
    assert "holds 10,000 labels" in msg and "60,000 images" in msg and "wrong image file" in msg


def test_wrong_magic_number(root: Path) -> None:
    def magic(raw: bytearray) -> bytearray:
        raw[:4] = struct.pack(">I", 0x00000801)  # a label file's magic in an image file
        return raw

    _regzip(root / "mnist" / "t10k-images-idx3-ubyte.gz", magic)
    msg = _error(root)
    assert "wrong magic number 0x00000801" in msg and "t10k-images-idx3-ubyte.gz" in msg


def test_wrong_dimensions(root: Path) -> None:
    def dims(raw: bytearray) -> bytearray:
        raw[8:16] = struct.pack(">II", 14, 56)  # same byte count, wrong shape
        return raw

    _regzip(root / "mnist" / "t10k-images-idx3-ubyte.gz", dims)
    assert "wrong dimensions 14x56 (expected 28x28)" in _error(root)


def test_corrupted_cache_is_rebuilt_not_used(root: Path) -> None:
    tv_root = data.prepare(root)
    cached = tv_root / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    good = cached.read_bytes()
    bad = bytearray(good)
    bad[1000] ^= 0xFF
    cached.write_bytes(bytes(bad))
    split = data.load_split(False, root)
    assert cached.read_bytes() == good
    assert int(split.images.view(-1)[1000 - 16]) == good[1000]


def test_truncated_cache_is_rebuilt(root: Path) -> None:
    tv_root = data.prepare(root)
    cached = tv_root / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    good = cached.read_bytes()
    cached.write_bytes(good[:100])
    data.prepare(root)
    assert cached.read_bytes() == good


def test_errors_happen_before_training(root: Path, tmp_path: Path) -> None:
    from nnbook.mnist.train import TrainConfig, train

    (root / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip")
    out = tmp_path / "run"
    with pytest.raises(data.MnistDataError, match="train-images-idx3-ubyte.gz"):
        train(TrainConfig(epochs=1, limit_train=64), out, data_root=root, progress=False)
    assert not out.exists(), "a data error must leave no run folder behind"


def test_pixel_stats_are_computed() -> None:
    images = data.load_split(True).images
    mean, std = data.pixel_stats(images)
    assert round(mean, 4) == 0.1307 and round(std, 4) == 0.3081  # the values every write-up quotes
    x = images.to(torch.float64) / 255.0  # the direct computation, against the histogram's
    assert mean == pytest.approx(float(x.mean()), abs=1e-12) and std == pytest.approx(float(x.std()), abs=1e-10)
    assert isinstance(mean, float) and isinstance(std, float)


def test_rotation_is_batched_seeded_and_per_image() -> None:
    x = data.load_split(False).images[:64].float() / 255
    a = data.rotate_batch(x, 7.0, torch.Generator().manual_seed(0))
    b = data.rotate_batch(x, 7.0, torch.Generator().manual_seed(0))
    assert a.shape == x.shape and torch.equal(a, b)
    # the same digit repeated gets different angles, so different pixels
    same = x[:1].expand(8, -1, -1, -1)
    r = data.rotate_batch(same, 7.0, torch.Generator().manual_seed(1))
    assert len({tuple(img.flatten().tolist()) for img in r.round(decimals=4)}) == 8
    # the angles stay within ±max_degrees and use the range: the centroid of a bright blob 10 px
    # right of the centre, rotated about the centre, moves by the rotation angle
    blob = torch.zeros(400, 1, 28, 28)
    blob[:, :, 13:15, 23:25] = 1.0
    out = data.rotate_batch(blob, 7.0, torch.Generator().manual_seed(2))[:, 0]
    grid = torch.arange(28, dtype=torch.float32) - 13.5
    cy = (out.sum(2) * grid).sum(1) / out.sum((1, 2))
    cx = (out.sum(1) * grid).sum(1) / out.sum((1, 2))
    degrees = torch.rad2deg(torch.atan2(cy, cx)).abs()
    assert degrees.max() <= 7.2 and degrees.max() >= 6.0 and degrees.min() <= 1.0
    # zero degrees is the identity (up to float rounding of the sampling grid)
    assert torch.allclose(data.rotate_batch(x, 0.0), x, atol=1e-5)


def test_iterate_batches_covers_every_image_once_in_order() -> None:
    images = data.load_split(False).images[:1000]
    split = data.MnistSplit(images, torch.arange(1000))  # labels that name each image
    batches = list(data.iterate_batches(split, 300))
    assert [len(y) for _, y in batches] == [300, 300, 300, 100]  # the last, short batch included
    assert torch.equal(torch.cat([y for _, y in batches]), torch.arange(1000))
    for x, y in batches:  # each image travels with its own label
        assert torch.equal(x, images[y].float() / 255)


def test_digit_grid_shows_each_image_under_its_title() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    split = data.load_split(False).subset(5)
    titles = [f"label {int(v)}" for v in split.labels]
    fig = data.digit_grid(split.images, titles, cols=3)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 5 and len(fig.axes) - len(shown) < 3  # the empty panels: the last row's rest
    for ax, image, title in zip(shown, split.images, titles):  # in order, each with its own title
        assert torch.equal(torch.as_tensor(ax.images[0].get_array()), image[0].float() / 255)
        assert ax.get_title() == title
    plt.close("all")


def test_augmented_grid_rows_are_an_original_then_its_rotations() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = data.load_split(False).subset(2).images
    originals = images[:, 0].float() / 255

    def panels(fig) -> torch.Tensor:  # (rows, columns, 28, 28)
        arrays = [torch.as_tensor(ax.images[0].get_array()) for ax in fig.axes]
        return torch.stack(arrays).reshape(len(images), -1, 28, 28)

    still = panels(data.augmented_grid(images, max_degrees=0.0, copies=3))
    assert still.shape[1] == 4  # the original, then three copies
    assert torch.allclose(still, originals[:, None].expand_as(still), atol=1e-5)  # no rotation: copies equal it
    turned = panels(data.augmented_grid(images, max_degrees=30.0, copies=3))
    assert torch.equal(turned[:, 0], originals)
    for row, original in zip(turned, originals):  # rotated copies: other pixels, about the same ink
        assert max(float((copy - original).abs().max()) for copy in row[1:]) > 0.1
        for copy in row[1:]:
            assert float(copy.sum()) == pytest.approx(float(original.sum()), rel=0.1)
    plt.close("all")


def test_loading_one_split_verifies_only_its_own_files(tmp_path, monkeypatch) -> None:
    """With the cache filled, loading a split verifies its own two files and no others."""
    root = tmp_path / "data"
    shutil.copytree(project_root() / "data" / "mnist", root / "mnist")
    data.prepare(root)  # fills the cache
    hashed: list[str] = []
    real = data._prepare_file
    monkeypatch.setattr(data, "_prepare_file", lambda name, *a: hashed.append(name) or real(name, *a))
    data.load_split(False, root)
    assert sorted(hashed) == sorted(data.FILES["test"])
    hashed.clear()
    data.load_split(True, root)
    assert sorted(hashed) == sorted(data.FILES["train"])
    with pytest.raises(ValueError, match="splits"):
        data.prepare(root, splits=("validation",))


def test_test_split_loads_first_from_an_empty_cache(tmp_path) -> None:
    """torchvision needs all four files in the cache, even when only one split is read."""
    root = tmp_path / "data"
    shutil.copytree(project_root() / "data" / "mnist", root / "mnist")
    assert len(data.load_split(False, root)) == 10_000


def test_epoch_batches_shuffle_rotate_and_keep_labels_with_images() -> None:
    images = data.load_split(False).images[:1000]
    split = data.MnistSplit(images, torch.arange(1000))  # labels that name each image
    x, y = data.epoch_batches(split, 300, torch.Generator(device="cpu").manual_seed(0))
    assert x.shape == (3, 300, 1, 28, 28) and y.shape == (3, 300)  # 100 left over: skipped this epoch
    order = y.flatten()
    assert len(set(order.tolist())) == 900 and not torch.equal(order, torch.arange(900))
    assert torch.equal(x.flatten(0, 1), images[order].float() / 255)  # each image with its own label
    again, _ = data.epoch_batches(split, 300, torch.Generator(device="cpu").manual_seed(0))
    assert torch.equal(again, x)  # the seed fixes the epoch
    other, y2 = data.epoch_batches(split, 300, torch.Generator(device="cpu").manual_seed(1))
    assert not torch.equal(y2, y)
    rotated, yr = data.epoch_batches(split, 300, torch.Generator(device="cpu").manual_seed(0), max_degrees=7)
    assert torch.equal(yr, y) and not torch.equal(rotated, x)
    # every image is rotated by its own angle: the same pixels' mass stays, the layout moves
    assert torch.allclose(rotated.flatten(0, 1).sum((1, 2, 3)), x.flatten(0, 1).sum((1, 2, 3)), rtol=0.05)
    with pytest.raises(ValueError, match="larger than the 1000"):
        data.epoch_batches(split, 1001, torch.Generator(device="cpu"))


def test_empty_data_root_says_there_is_no_data(tmp_path: Path) -> None:
    (tmp_path / "mnist").mkdir()
    with pytest.raises(data.MnistDataError, match="no MNIST data in .*mnist: expected the four .gz files"):
        data.load_split(False, tmp_path)


def test_gzip_bomb_is_refused_within_bounded_memory(root: Path) -> None:
    """Under 1 MB of gzip that would decompress to 200 MB: refused after reading the bound, not all
    of it (measured in a fresh process, whose peak memory nothing else has raised)."""
    import subprocess
    import sys

    bomb = root / "mnist" / "t10k-images-idx3-ubyte.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as fh:
        block = bytes(1 << 20)
        for _ in range(200):
            fh.write(block)
    assert bomb.stat().st_size < 1_000_000
    script = (
        "import resource, sys\n"
        "from nnbook.mnist import data\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        "    data.prepare(sys.argv[1], splits=('test',))\n"
        "except data.MnistDataError as exc:\n"
        "    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
        "    print(exc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True, text=True, timeout=120)
    grown_kib, msg = proc.stdout.split("\n", 1)
    assert "decompresses to more than 48,000,000 bytes" in msg and "t10k-images" in msg, proc.stderr
    assert int(grown_kib) < 120_000, f"peak memory grew by {grown_kib} KiB (the whole bomb is 204,800)"
