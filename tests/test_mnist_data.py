"""MNIST data: every damaged-file case provoked for real on a copy of the shipped files."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
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


def test_rotate_turns_by_the_given_angle_about_the_centre() -> None:
    x = data.load_split(False).images[:8].float() / 255
    # a quarter turn maps pixel centres onto pixel centres: it must equal torch's exact rot90
    assert torch.allclose(data.rotate(x, 90.0), torch.rot90(x, 1, (2, 3)), atol=1e-5)
    assert torch.allclose(data.rotate(x, -90.0), torch.rot90(x, -1, (2, 3)), atol=1e-5)
    # a small blob moves as the rotation matrix moves its centre (y axis pointing down on screen)
    blob = torch.zeros(1, 1, 28, 28)
    blob[0, 0, 5:7, 21:23] = 1.0  # centre (row 6, col 22) in pixel-centre coordinates 5.5..6.5
    out = data.rotate(blob, 7.0)[0, 0]
    grid = torch.arange(28, dtype=torch.float64) - 13.5
    cy, cx = float((out.sum(1) * grid).sum() / out.sum()), float((out.sum(0) * grid).sum() / out.sum())
    a = math.radians(7.0)
    ex, ey = 8.0, -8.0  # the blob's centre relative to the image centre: right and up
    # counter-clockwise on screen is clockwise in (x right, y down) coordinates
    assert cx == pytest.approx(ex * math.cos(a) + ey * math.sin(a), abs=0.02)
    assert cy == pytest.approx(-ex * math.sin(a) + ey * math.cos(a), abs=0.02)
    with pytest.raises(ValueError, match="float batch"):
        data.rotate(x[0], 7.0)
    with pytest.raises(ValueError, match="finite"):
        data.rotate(x, float("nan"))


def test_iterate_batches_covers_every_image_once_in_order() -> None:
    images = data.load_split(False).images[:1000]
    split = data.MnistSplit(images, torch.arange(1000))  # labels that name each image
    batches = list(data.iterate_batches(split, 300))
    assert [len(y) for _, y in batches] == [300, 300, 300, 100]  # the last, short batch included
    assert torch.equal(torch.cat([y for _, y in batches]), torch.arange(1000))
    for x, y in batches:  # each image travels with its own label
        assert torch.equal(x, images[y].float() / 255)


def test_part2_figures_are_plain_figures_as_in_part1() -> None:
    """Every Part 2 plot returns a matplotlib Figure and leaves pyplot's global list of figures
    alone (as Part 1's do), so a notebook shows each once and nothing accumulates."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from nnbook.mnist import evaluate as ev, history as H
    from nnbook.mnist.config import TrainConfig
    from nnbook.mnist.schedule import one_cycle_rates

    split = data.load_split(False).subset(40)
    scores = torch.nn.functional.one_hot((split.labels + 1) % 10, 10).float()  # every image wrong
    history = {"epochs": [{"epoch": e, "train_loss": 1 / e, "test_loss": 1 / e, "train_acc": 0.99,
                           "test_acc": 0.995} for e in (1, 2)]}
    before = plt.get_fignums()
    figures = [data.digit_grid(split.images), data.augmented_grid(split.images[:2], copies=2),
               ev.plot_confusion(ev.confusion_matrix(scores, split.labels)), ev.misclassified_grid(scores, split),
               H.plot_history(history), H.plot_rates(one_cycle_rates(TrainConfig(epochs=1), 10), TrainConfig())]
    assert all(isinstance(fig, Figure) and fig.axes for fig in figures)
    assert plt.get_fignums() == before


def test_digit_grid_shows_each_image_under_its_title() -> None:
    split = data.load_split(False).subset(5)
    titles = [f"label {int(v)}" for v in split.labels]
    fig = data.digit_grid(split.images, titles, cols=3)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 5 and len(fig.axes) - len(shown) < 3  # the empty panels: the last row's rest
    for ax, image, title in zip(shown, split.images, titles):  # in order, each with its own title
        assert torch.equal(torch.as_tensor(ax.images[0].get_array()), image[0].float() / 255)
        assert ax.get_title() == title


def test_augmented_grid_rows_are_an_original_then_its_rotations() -> None:
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


def test_loading_one_split_verifies_only_its_own_files(tmp_path) -> None:
    """With the cache filled, a damaged .gz of the other split goes unread, and a damaged .gz of
    the split being loaded is caught by its checksum (the cache does not hide it)."""
    root = tmp_path / "data"
    shutil.copytree(project_root() / "data" / "mnist", root / "mnist")
    data.prepare(root)  # fills the cache
    for split, other in (("test", "train"), ("train", "test")):
        damaged = root / "mnist" / f"{data.FILES[other][0]}.gz"
        original = damaged.read_bytes()
        blob = bytearray(original)
        blob[len(blob) // 2] ^= 0xFF
        damaged.write_bytes(bytes(blob))
        assert len(data.load_split(split == "train", root)) == data.SPLIT_SIZES[split]
        with pytest.raises(data.MnistDataError, match=f"{damaged.name}: .*SHA256SUMS"):
            data.load_split(other == "train", root)
        damaged.write_bytes(original)
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


def test_epoch_batches_rotate_in_chunks_the_same_as_in_one_call() -> None:
    """The chunks only bound the memory: each image gets its own angle whatever chunk it is in, so
    chunks of 7 images (not dividing a batch) give the epoch one call for all 900 gives."""
    images = data.load_split(False).images[:1000]
    split = data.MnistSplit(images, torch.arange(1000))
    default, y = data.epoch_batches(split, 300, torch.Generator(device="cpu").manual_seed(3), max_degrees=7)
    assert data.ROTATE_CHUNK >= 900  # so the default prepared these 900 images in one call
    small, y7 = data.epoch_batches(split, 300, torch.Generator(device="cpu").manual_seed(3), max_degrees=7, chunk=7)
    assert torch.equal(y7, y) and torch.allclose(small, default, rtol=0, atol=1e-6)


def test_epoch_batches_rotate_at_most_rotate_chunk_images_per_call() -> None:
    """What the data chapter says: by default an epoch is rotated ROTATE_CHUNK images per
    grid_sample call, the profiler counting the calls and their batch sizes."""
    from torch.profiler import ProfilerActivity, profile

    split = data.load_split(False)
    assert len(split) > data.ROTATE_CHUNK  # so the epoch needs more than one call
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        data.epoch_batches(split, 100, torch.Generator(device="cpu").manual_seed(0), max_degrees=7)
    calls = [e.input_shapes[0][0] for e in prof.events() if e.name == "aten::grid_sampler_2d"]
    used = len(split) // 100 * 100
    assert calls == [data.ROTATE_CHUNK] * (used // data.ROTATE_CHUNK) + [used % data.ROTATE_CHUNK] * (
        used % data.ROTATE_CHUNK > 0)


def test_empty_data_root_says_there_is_no_data(tmp_path: Path) -> None:
    (tmp_path / "mnist").mkdir()
    with pytest.raises(data.MnistDataError, match="no MNIST data in .*mnist: expected the four .gz files"):
        data.load_split(False, tmp_path)


def test_gzip_bomb_is_refused_within_bounded_memory(root: Path) -> None:
    """4 MB of gzip (4,000 members of a megabyte of zeros each) that would inflate to 4 GB: refused
    after reading the bound, not all of it. Measured in a fresh process, whose peak memory nothing
    else has raised: Python's own allocations (tracemalloc) and the resident peak (getrusage)."""
    import subprocess
    import sys

    bomb = root / "mnist" / "t10k-images-idx3-ubyte.gz"
    member = gzip.compress(bytes(1 << 20), compresslevel=9)
    bomb.write_bytes(member * 4000)  # a gzip file may hold many members; gunzip reads them all
    assert 3_000_000 < bomb.stat().st_size < 5_000_000
    script = (
        "import resource, sys, tracemalloc\n"
        "from nnbook.mnist import data\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "tracemalloc.start()\n"
        "try:\n"
        "    data.prepare(sys.argv[1], splits=('test',))\n"
        "except data.MnistDataError as exc:\n"
        "    print(tracemalloc.get_traced_memory()[1], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
        "    print(exc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True, text=True, timeout=120)
    numbers, msg = proc.stdout.split("\n", 1)
    peak_bytes, grown_kib = map(int, numbers.split())
    assert "decompresses to more than 48,000,000 bytes" in msg and "t10k-images" in msg, proc.stderr
    inflated = 4000 << 20
    assert peak_bytes < 3 * data.MAX_RAW_BYTES < inflated / 25, f"Python allocated {peak_bytes:,} bytes at the peak"
    assert grown_kib * 1024 < 3 * data.MAX_RAW_BYTES, f"peak memory grew by {grown_kib} KiB"


def test_the_sums_in_the_code_are_the_shipped_ones() -> None:
    """Downloads are checked against data.RAW_SHA256: it must say what SHA256SUMS.raw says."""
    listed = dict(line.split()[::-1] for line in (SHIPPED / "SHA256SUMS.raw").read_text().splitlines() if line.strip())
    assert listed == data.RAW_SHA256


def _regenerate_sums(folder: Path) -> None:
    """Write SHA256SUMS and SHA256SUMS.raw that match whatever the .gz files now hold."""
    gz = sorted(folder.glob("*.gz"))
    (folder / "SHA256SUMS").write_text("".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n"
                                               for p in gz))
    (folder / "SHA256SUMS.raw").write_text("".join(
        f"{hashlib.sha256(gzip.decompress(p.read_bytes())).hexdigest()}  {p.stem}\n" for p in gz))


def _swap(folder: Path, suffix: str = ".gz") -> None:
    for train_name, test_name in zip(data.FILES["train"], data.FILES["test"]):
        a, b = folder / (train_name + suffix), folder / (test_name + suffix)
        a.rename(folder / "swap")
        b.rename(a)
        (folder / "swap").rename(b)


def test_swapped_train_and_test_with_regenerated_sums_are_refused(root: Path) -> None:
    _swap(root / "mnist")
    _regenerate_sums(root / "mnist")  # every checksum now agrees: only the split sizes can tell
    with pytest.raises(data.MnistDataError, match="t10k-images-idx3-ubyte.gz: holds 60,000 images, but "
                       "MNIST's test split has 10,000 images: the training split's file in its place"):
        data.load_split(False, root)
    with pytest.raises(data.MnistDataError, match="holds 10,000 images, but MNIST's training split has 60,000"):
        data.load_split(True, root)


@pytest.mark.parametrize("content,message", [
    (b"garbage\n", "SHA256SUMS, line 1: not a '<sha256>  <file name>' line"),
    (b"\xff\xfe\x00 not text", "SHA256SUMS: not a text file"),
], ids=["malformed", "not-utf8"])
def test_a_broken_sums_file(content: bytes, message: str, root: Path, capsys) -> None:
    from nnbook.mnist.__main__ import main

    (root / "mnist" / "SHA256SUMS").write_bytes(content)
    assert message in _error(root)
    model = root / "m.pt"
    from nnbook.mnist.models import build_model

    torch.save(build_model("tiny").state_dict(), model)
    capsys.readouterr()
    assert main(["evaluate", str(model), "--data-root", str(root)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


# --- --download: the same checks, from a local mirror (there is no network in the tests) ---------

@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    """A folder of MNIST .gz files served as a file:// mirror: the shipped ones, for a test to damage."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    for split in data.FILES.values():
        for name in split:
            shutil.copy(SHIPPED / f"{name}.gz", folder)
    return folder


def _fresh(tmp_path: Path) -> Path:
    """A data root with nothing shipped: what a Colab or Binder session without the files has."""
    root = tmp_path / "fresh"
    (root / "mnist").mkdir(parents=True)
    return root


def test_download_from_a_mirror_is_verified_and_cached(mirror: Path, tmp_path: Path) -> None:
    root = _fresh(tmp_path)
    got = data.load_split(False, root, allow_download=True, mirrors=[mirror.as_uri()])
    shipped = data.load_split(False)
    assert torch.equal(got.images, shipped.images) and torch.equal(got.labels, shipped.labels)
    shutil.rmtree(mirror)  # now only the cache can serve it
    again = data.load_split(False, root, allow_download=True, mirrors=[mirror.as_uri()])
    assert torch.equal(again.labels, shipped.labels)


def _damage_gz(path: Path, how: str) -> None:
    if how == "all-zero":
        path.write_bytes(bytes(path.stat().st_size))
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[:-2000])
    elif how == "one-pixel":
        raw = bytearray(gzip.decompress(path.read_bytes()))
        raw[5000] ^= 1
        path.write_bytes(gzip.compress(bytes(raw), compresslevel=1, mtime=0))


@pytest.mark.parametrize("how,message", [
    ("swapped", "holds 60,000 images, but MNIST's test split has 10,000"),
    ("all-zero", "damaged, not a valid gzip file"),
    ("truncated", "truncated (the gzip stream ends early)"),
    ("one-pixel", "decompresses to bytes whose SHA-256 does not match MNIST"),
])
def test_a_bad_download_is_refused_and_not_kept(how: str, message: str, mirror: Path, tmp_path: Path) -> None:
    if how == "swapped":
        _swap(mirror)
    else:
        _damage_gz(mirror / "t10k-images-idx3-ubyte.gz", how)
    root = _fresh(tmp_path)
    with pytest.raises(data.MnistDataError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        data.load_split(False, root, allow_download=True, mirrors=[mirror.as_uri()])
    assert "t10k-images-idx3-ubyte.gz" in str(info.value) and "nothing was kept" in str(info.value)
    assert not (root / "cache" / "MNIST" / "raw" / "t10k-images-idx3-ubyte").exists()


def test_a_crafted_cache_is_not_used_for_a_download(mirror: Path, tmp_path: Path) -> None:
    """Swapped, zeroed or cut decompressed files in the cache fail their checksums: fetched again."""
    root = _fresh(tmp_path)
    raw = root / "cache" / "MNIST" / "raw"
    shutil.copytree(data.prepare() / "MNIST" / "raw", raw, ignore=shutil.ignore_patterns("*.gz", ".*"))
    _swap(raw, suffix="")
    cut = raw / "t10k-labels-idx1-ubyte"
    cut.write_bytes(bytes(cut.stat().st_size))
    with pytest.raises(data.MnistDataError, match="could not download t10k-images-idx3-ubyte.gz"):
        data.load_split(False, root, allow_download=True, mirrors=[(tmp_path / "no-mirror").as_uri()])
    got = data.load_split(False, root, allow_download=True, mirrors=[mirror.as_uri()])
    assert torch.equal(got.labels, data.load_split(False).labels)


def test_download_without_a_network_is_one_line(tmp_path: Path, monkeypatch, capsys) -> None:
    from nnbook.mnist.__main__ import main

    root = _fresh(tmp_path)
    monkeypatch.setattr(data, "MIRRORS", ("http://127.0.0.1:9/mnist/",))  # the discard port: refused
    status = main(["train", "--epochs", "1", "--download", "--data-root", str(root), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert status == 1 and err.startswith("error: could not download train-images-idx3-ubyte.gz")
    assert "Check the network" in err and "Traceback" not in err and not (tmp_path / "run").exists()


def test_evaluate_reads_what_train_download_fetched(mirror: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    """A data root filled by ``train --download`` holds only the cache: ``evaluate`` takes ``--download``
    too (its error message says to add it), and then reads the cache without fetching anything."""
    from nnbook.mnist.__main__ import main

    root = _fresh(tmp_path)
    data.load_split(False, root, allow_download=True, mirrors=[mirror.as_uri()])  # what train --download leaves
    shutil.rmtree(mirror)
    monkeypatch.setattr(data, "MIRRORS", ("http://127.0.0.1:9/mnist/",))  # no network: the cache must serve
    checkpoint = project_root() / "results" / "book" / "cpu-seed1" / "model.pt"
    assert main(["evaluate", str(checkpoint), "--device", "cpu", "--data-root", str(root)]) == 1
    assert "or add --download" in capsys.readouterr().err
    assert main(["evaluate", str(checkpoint), "--device", "cpu", "--data-root", str(root), "--download"]) == 0
    shown = json.loads(capsys.readouterr().out)
    committed = json.loads((checkpoint.parent / "history.json").read_text())["epochs"][-1]
    assert shown["total"] == 10_000 and abs(shown["correct"] - committed["test_correct"]) <= 3
