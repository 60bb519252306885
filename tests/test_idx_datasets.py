"""The idx reader on files the tests write themselves, and the digits and Fashion-MNIST data
sets (Fashion-MNIST from a folder of small idx files written here: never a download)."""

import gzip
import struct

import numpy as np
import pytest

from neuronlab.io import datasets
from neuronlab.io.idx import read_idx, read_idx_images


def idx_bytes(array, code=0x08, dtype=">u1"):
    head = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return head + np.asarray(array, dtype=dtype).tobytes()


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_gives_back_the_numbers_written(tmp_path, gz):
    rng = np.random.default_rng(0)
    cases = [(rng.integers(0, 256, (3, 4, 5)), 0x08, ">u1"), (rng.integers(-9, 9, (7,)), 0x0C, ">i4"),
             (rng.normal(size=(2, 3)), 0x0E, ">f8"), (rng.normal(size=(4,)).astype(np.float32), 0x0D, ">f4")]
    for i, (array, code, dtype) in enumerate(cases):
        path = tmp_path / f"a{i}.idx"
        data = idx_bytes(array, code, dtype)
        path.write_bytes(gzip.compress(data) if gz else data)
        got = read_idx(path)
        assert got.shape == array.shape and got.dtype.isnative
        np.testing.assert_array_equal(got, np.asarray(array, dtype=dtype))


def test_read_idx_images_scales_to_float32_in_0_1(tmp_path, monkeypatch):
    import neuronlab.io.idx as idx

    monkeypatch.setattr(idx, "_PIECE", 7)  # several pieces, cut inside rows
    pixels = np.random.default_rng(1).integers(0, 256, (5, 3, 4)).astype(np.uint8)
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(idx_bytes(pixels)))
    X = read_idx_images(path)
    assert X.dtype == np.float32 and X.shape == (5, 12)
    np.testing.assert_array_equal(X, (pixels.reshape(5, 12) / np.float32(255)).astype(np.float32))
    assert X.min() >= 0 and X.max() <= 1


@pytest.mark.parametrize("data,message", [
    (b"", "not an idx file"), (b"\x01\x00\x08\x01", "not an idx file"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "unknown idx type 0x07"),
    (b"\x00\x00\x08\x02\x00\x00\x00\x02", "header ends"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02", "promises 3 numbers"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "more data"),
])
def test_malformed_idx_files_are_refused_naming_the_file(tmp_path, data, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message) as e:
        read_idx(path)
    assert "bad.idx" in str(e.value)


def test_images_must_be_bytes(tmp_path):
    path = tmp_path / "floats.idx"
    path.write_bytes(idx_bytes(np.zeros((2, 2, 2)), 0x0E, ">f8"))
    with pytest.raises(ValueError, match="uint8 pixels"):
        read_idx_images(path)


def fake_fashion(folder, n_train=6, n_test=4):
    rng = np.random.default_rng(2)
    for split, n in (("train", n_train), ("test", n_test)):
        images, labels = datasets.FASHION_MNIST_FILES[split]
        pixels = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
        (folder / images).write_bytes(gzip.compress(idx_bytes(pixels)))
        (folder / labels).write_bytes(gzip.compress(idx_bytes(np.arange(n) % 10)))


def test_fashion_mnist_reads_both_splits_from_its_folder(tmp_path, monkeypatch):
    fake_fashion(tmp_path)
    X, y = datasets.fashion_mnist("test", folder=tmp_path)
    assert X.shape == (4, 784) and X.dtype == np.float32 and list(y) == [0, 1, 2, 3]
    monkeypatch.setattr(datasets, "FASHION_MNIST_DIR", str(tmp_path))
    table = datasets.load_table("fashion_mnist")
    assert table.num_rows == 6 and table.num_columns == 785
    assert table.column("item").to_pylist()[:2] == ["T-shirt/top", "Trouser"]
    with pytest.raises(ValueError, match="split must be"):
        datasets.fashion_mnist("validation", folder=tmp_path)


def test_fashion_mnist_missing_says_what_to_install(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere"
    monkeypatch.setattr(datasets, "DATASETS", dict(datasets.DATASETS))
    monkeypatch.setitem(datasets.DATASETS, "fashion_mnist", datasets.DATASETS["fashion_mnist"].__class__(
        **{**vars(datasets.DATASETS["fashion_mnist"]),
           "needs": datasets.Needs(None, datasets.FASHION_MNIST_NEEDS.package, str(missing))}))
    assert not datasets.available("fashion_mnist")
    with pytest.raises(ValueError, match="apt-get install dataset-fashion-mnist"):
        datasets.fashion_mnist("train", folder=missing)


def test_fashion_mnist_labels_must_match_the_images(tmp_path):
    fake_fashion(tmp_path)
    _, labels = datasets.FASHION_MNIST_FILES["test"]
    (tmp_path / labels).write_bytes(gzip.compress(idx_bytes(np.arange(3))))
    with pytest.raises(ValueError, match="labels for the 4 images"):
        datasets.fashion_mnist("test", folder=tmp_path)


def test_digits_is_scikit_learns():
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits

    table = datasets.load_table("digits")
    bunch = load_digits()
    assert table.num_rows == 1797 and table.num_columns == 65
    np.testing.assert_array_equal(table.column("digit").to_numpy(zero_copy_only=False).astype(int), bunch.target)
    assert datasets.available("digits")
