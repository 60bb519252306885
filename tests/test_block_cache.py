"""The cache of decoded blocks (sources.cache): passes after the first read the blocks back from
local disk instead of decoding the files, with the same blocks and the same bits; a changed,
cut or removed file is read again; a full disk stops the caching and loses nothing."""

import gc
import os
import pickle
import subprocess
import sys
from collections import namedtuple

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from neuronlab import Neuron, NeuronObjective
from neuronlab.sources import cache as cache_module
from neuronlab.sources.cache import BlockCache, default_folder
from neuronlab.sources.files import FileSource

from stream_helpers import CountedReads, as_table


shutil_usage = namedtuple("usage", "total used free")  # shutil.disk_usage's result


def _rows(n=2500, p=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * [1.0, 4.0, 0.5] + [0.0, 3.0, -2.0]
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(X - X.mean(0)) @ [1.0, -0.5, 0.8]))).astype(np.int64)
    return X, y


def _write(folder, X, y, fmt, files=2):
    folder.mkdir(exist_ok=True)
    for k, rows in enumerate(np.array_split(np.arange(len(y)), files)):
        table = pa.table({**{f"x{j}": X[rows, j] for j in range(X.shape[1])}, "label": y[rows]})
        if fmt == "parquet":
            pq.write_table(table, folder / f"part-{k}.parquet", row_group_size=700)
        else:
            pcsv.write_csv(table, folder / f"part-{k}.csv")
    return folder


def _cache(tmp_path):
    """A cache that writes whatever the disk's free space (the tests' data are small)."""
    return BlockCache(tmp_path / "cache", keep_free=0)


def _source(data, cache, **kw):
    raw = FileSource(data, "label", cache=cache, block_rows=300, **kw)
    scan = raw.scan()
    return raw.configured(labels=[0, 1], target_is_text=False, mean=scan.mean, scale=scan.std)


def _expected(X, y, theta):
    """J and ∇J of the logistic neuron on the standardised rows, by the formulas (NumPy)."""
    Xs = (X - X.mean(0)) / X.std(0)
    z = Xs @ theta[:-1] + theta[-1]
    J = np.mean(np.logaddexp(0.0, z) - y * z)
    delta = 1.0 / (1.0 + np.exp(-z)) - y
    return J, np.append(Xs.T @ delta, delta.sum()) / len(y)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_later_passes_read_the_cache_and_give_the_same_bits(tmp_path, fmt, monkeypatch):
    X, y = _rows()
    data = _write(tmp_path / "data", X, y, fmt)
    theta = np.array([0.4, -0.3, 0.2, 0.1])
    reads = CountedReads(monkeypatch)
    cached = _source(data, _cache(tmp_path))  # the scan reads the target as inferred (int64 in a CSV)
    n_pieces = len(cached.pieces)
    assert reads.n == n_pieces  # the scan
    objective = NeuronObjective.from_source(Neuron(3, "sigmoid"), cached, "log_loss")
    first = objective.loss_and_grad(theta)  # the target as float64: the scan's blocks, cast
    later = [objective.loss_and_grad(theta) for _ in range(2)]
    assert reads.n == n_pieces, "a pass after the scan decoded a file again"
    assert cached.cache.stopped is None
    # the blocks themselves, schema included, are those the files give
    from_cache = [as_table(b) for _, _, b in cached._read(cached.pieces)]
    uncached = cached.configured(cache=False)
    from_files = [as_table(b) for _, _, b in uncached._read(uncached.pieces)]
    assert reads.n == 2 * n_pieces and len(from_cache) == len(from_files) > n_pieces
    assert all(a.equals(b) for a, b in zip(from_cache, from_files))
    assert from_cache[0].schema.field("label").type == (pa.float64() if fmt == "csv" else pa.int64())
    plain = NeuronObjective.from_source(Neuron(3, "sigmoid"), _source(data, False), "log_loss").loss_and_grad(theta)
    for value, grad in [first, *later]:
        assert value == plain[0] and np.array_equal(grad, plain[1])
    J, grad = _expected(X, y.astype(float), theta)
    assert plain[0] == pytest.approx(J, rel=1e-12)
    np.testing.assert_allclose(plain[1], grad, rtol=1e-10, atol=1e-13)
    assert cached.cache.bytes_held > 0


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_the_split_and_the_mini_batches_are_the_same_from_the_cache(tmp_path, fmt, monkeypatch):
    X, y = _rows(seed=1)
    data = _write(tmp_path / "data", X, y, fmt)

    def epochs(cache):
        train = _source(data, cache, part="train", val_split=0.3, seed=5)
        validation = train.configured(part="validation")
        rng = np.random.default_rng(7)
        batches = []
        for epoch in range(3):
            for batch, n in train.batches(64, rng):
                batches.append((n, batch.X[batch.rows].copy(), batch.y[batch.rows].copy(), epoch))
        held = [(X, y) for X, y, _ in validation._each()]
        return batches, held, train.n_samples, validation.n_samples, (train.reader.mean, train.reader.scale)

    reads = CountedReads(monkeypatch)
    with_cache = epochs(_cache(tmp_path))
    n_pieces = len(FileSource(data, "label", cache=False).pieces)
    assert reads.n == n_pieces  # the scan; every epoch and the validation part from the cache
    without = epochs(False)
    assert len(with_cache[0]) == len(without[0]) > 3 * 1750 // 64
    for (n, Xb, yb, e), (m, Xc, yc, f) in zip(with_cache[0], without[0]):
        assert n == m and e == f and np.array_equal(Xb, Xc) and np.array_equal(yb, yc)
    assert all(np.array_equal(a, b) and np.array_equal(c, d) for (a, c), (b, d) in zip(with_cache[1], without[1]))
    assert with_cache[2:4] == without[2:4] and sum(with_cache[2:4]) == len(y)
    # against the data themselves: one epoch's batches and the validation part hold every row
    # once, standardised with the training part's μ and σ
    mean, scale = with_cache[4]
    parts = [(Xb, yb) for _, Xb, yb, epoch in with_cache[0] if epoch == 0] + with_cache[1]
    rows = np.column_stack([np.concatenate([Xb for Xb, _ in parts]) * scale + mean,
                            np.concatenate([yb for _, yb in parts])])
    expected = np.column_stack([X, y])
    np.testing.assert_allclose(rows[np.lexsort(rows.T[::-1])], expected[np.lexsort(expected.T[::-1])],
                               rtol=1e-12, atol=1e-12)


def test_a_file_changed_after_it_was_cached_is_read_again(tmp_path):
    X, y = _rows()
    data = _write(tmp_path / "data", X, y, "parquet", files=1)
    source = _source(data, _cache(tmp_path))
    theta = np.array([0.4, -0.3, 0.2, 0.1])
    objective = NeuronObjective.from_source(Neuron(3, "sigmoid"), source, "log_loss")
    objective.loss_and_grad(theta)
    assert source.cache.bytes_held > 0
    # the same shape, other values: the pass must see them (the scaling stays the first file's)
    X2 = X * 1.5 + 0.25
    table = pa.table({**{f"x{j}": X2[:, j] for j in range(3)}, "label": y})
    before = os.stat(data / "part-0.parquet")
    pq.write_table(table, data / "part-0.parquet", row_group_size=700)
    after = os.stat(data / "part-0.parquet")
    assert (after.st_size, after.st_ino) == (before.st_size, before.st_ino)  # only the times tell
    later = os.stat(data / "part-0.parquet").st_mtime_ns + 2 * 10**9  # a file system's clock may tick in seconds
    os.utime(data / "part-0.parquet", ns=(later, later))
    value, _ = objective.loss_and_grad(theta)
    Xs = (X2 - X.mean(0)) / X.std(0)
    z = Xs @ theta[:-1] + theta[-1]
    assert value == pytest.approx(np.mean(np.logaddexp(0.0, z) - y * z), rel=1e-12)
    # cut short: the error names the file, as without a cache
    with open(data / "part-0.parquet", "r+b") as f:
        f.truncate(os.path.getsize(data / "part-0.parquet") // 2)
    with pytest.raises(ValueError, match="part-0.parquet"):
        objective.loss_and_grad(theta)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_data_file_removed_after_it_was_cached_is_the_readers_error(tmp_path, fmt):
    X, y = _rows()
    data = _write(tmp_path / "data", X, y, fmt)
    source = _source(data, _cache(tmp_path))
    objective = NeuronObjective.from_source(Neuron(3, "sigmoid"), source, "log_loss")
    objective.loss_and_grad(np.zeros(4))
    assert source.cache.bytes_held > 0
    os.remove(data / f"part-1.{fmt}")
    with pytest.raises(ValueError, match=f"part-1.{fmt}"):
        objective.loss_and_grad(np.zeros(4))


def test_a_removed_entry_is_read_from_the_file(tmp_path, monkeypatch):
    X, y = _rows()
    data = _write(tmp_path / "data", X, y, "csv")
    cache = _cache(tmp_path)
    source = _source(data, cache)
    theta = np.array([0.1, 0.2, -0.3, 0.0])
    objective = NeuronObjective.from_source(Neuron(3, "sigmoid"), source, "log_loss")
    before = objective.loss_and_grad(theta)
    entries = sorted(os.listdir(cache.folder))
    assert len(entries) == len(source.pieces)
    os.remove(os.path.join(cache.folder, entries[0]))
    reads = CountedReads(monkeypatch)
    after = objective.loss_and_grad(theta)
    assert reads.n == 1  # the one piece whose entry went away
    assert after[0] == before[0] and np.array_equal(after[1], before[1])


def test_no_room_on_the_disk_writes_nothing_and_says_so(tmp_path):
    X, y = _rows()
    data = _write(tmp_path / "data", X, y, "parquet")
    folder = tmp_path / "cache"
    folder.mkdir()
    full = BlockCache(folder, keep_free=1 << 62)  # more than any disk has
    source = _source(data, full)
    theta = np.array([0.4, -0.3, 0.2, 0.1])
    value, grad = NeuronObjective.from_source(Neuron(3, "sigmoid"), source, "log_loss").loss_and_grad(theta)
    plain = NeuronObjective.from_source(Neuron(3, "sigmoid"), _source(data, False), "log_loss").loss_and_grad(theta)
    assert value == plain[0] and np.array_equal(grad, plain[1])
    assert full.stopped is not None and "read at every pass" in full.stopped
    assert full.folder is not None  # a write was tried (os.listdir(None) would list the working folder)
    assert full.bytes_held == 0 and os.listdir(full.folder) == []


def test_a_pass_left_early_keeps_no_part_of_a_piece(tmp_path):
    X, y = _rows()
    data = tmp_path / "data.parquet"  # one piece of 9 blocks: the read-ahead cannot reach its end
    pq.write_table(pa.table({**{f"x{j}": X[:, j] for j in range(3)}, "label": y}), data, row_group_size=len(y))
    cache = _cache(tmp_path)
    source = FileSource(data, "label", cache=cache, block_rows=300)
    assert len(source.pieces) == 1
    head, _ = source.head(5)
    np.testing.assert_array_equal(head, X[:5])
    gc.collect()  # the abandoned pass's generators are closed
    assert cache.folder is not None  # the pass did start writing
    assert cache.bytes_held == 0 and os.listdir(cache.folder) == []


def test_the_folder_goes_with_the_cache_and_never_travels(tmp_path):
    X, y = _rows()
    data = _write(tmp_path / "data", X, y, "parquet", files=1)
    source = _source(data, _cache(tmp_path))
    NeuronObjective.from_source(Neuron(3, "sigmoid"), source, "log_loss").loss_and_grad(np.zeros(4))
    folder = source.cache.folder
    assert os.listdir(folder)
    assert pickle.loads(pickle.dumps(source)).cache is None  # a Dask worker reads its pieces once
    with pytest.raises(TypeError, match="stays in the process"):
        pickle.dumps(source.cache)
    del source
    gc.collect()
    assert not os.path.exists(folder)


def test_the_default_folder_is_never_held_in_memory(monkeypatch, tmp_path):
    monkeypatch.delenv(cache_module.FOLDER_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(cache_module, "_file_system_type", lambda path: "tmpfs")
    assert default_folder() == str(tmp_path / "xdg" / "neuronlab")
    monkeypatch.setattr(cache_module, "_file_system_type", lambda path: "ext4")
    assert default_folder() == cache_module.tempfile.gettempdir()
    monkeypatch.setenv(cache_module.FOLDER_VARIABLE, str(tmp_path / "chosen"))
    assert default_folder() == str(tmp_path / "chosen")


def test_a_write_that_fails_stops_the_caching_and_loses_nothing(tmp_path, monkeypatch):
    X, y = _rows()
    data = _write(tmp_path / "data", X, y, "parquet")
    real_new_file = pa.ipc.new_file
    written = []

    class FullDisk:
        def __init__(self, *args):
            self.inner = real_new_file(*args)

        def write_batch(self, batch):
            if len(written) == 2:
                raise OSError(28, "No space left on device")
            written.append(batch.num_rows)
            self.inner.write_batch(batch)

        def close(self):
            self.inner.close()

    monkeypatch.setattr(pa.ipc, "new_file", FullDisk)
    cache = _cache(tmp_path)
    source = _source(data, cache)
    theta = np.array([0.4, -0.3, 0.2, 0.1])
    value, grad = NeuronObjective.from_source(Neuron(3, "sigmoid"), source, "log_loss").loss_and_grad(theta)
    monkeypatch.undo()
    plain = NeuronObjective.from_source(Neuron(3, "sigmoid"), _source(data, False), "log_loss").loss_and_grad(theta)
    assert value == plain[0] and np.array_equal(grad, plain[1])
    assert written == [300, 300] and "No space left on device" in cache.stopped
    assert cache.bytes_held == 0 and os.listdir(cache.folder) == []


def test_an_entry_that_fails_midway_goes_on_from_the_file_at_that_block(tmp_path, monkeypatch):
    X, y = _rows()
    data = _write(tmp_path / "data", X, y, "csv", files=1)  # one piece of 9 blocks
    cache = _cache(tmp_path)
    source = _source(data, cache)
    assert len(source.pieces) == 1
    theta = np.array([0.1, 0.2, -0.3, 0.0])
    objective = NeuronObjective.from_source(Neuron(3, "sigmoid"), source, "log_loss")
    before = objective.loss_and_grad(theta)
    real_open_file = pa.ipc.open_file

    class Damaged:
        def __init__(self, file):
            self.inner = real_open_file(file)
            self.num_record_batches = self.inner.num_record_batches

        def get_batch(self, number):
            if number == 3:
                raise pa.ArrowInvalid("damaged")
            return self.inner.get_batch(number)

    monkeypatch.setattr(pa.ipc, "open_file", Damaged)
    reads = CountedReads(monkeypatch)
    after = objective.loss_and_grad(theta)
    assert reads.n == 1
    assert after[0] == before[0] and np.array_equal(after[1], before[1])
    assert cache.bytes_held == 0  # the damaged entry is gone


@pytest.mark.skipif(os.name != "posix", reason="process ids are looked up on POSIX only")
def test_a_folder_left_by_a_killed_process_on_this_machine_is_removed(tmp_path):
    parent = tmp_path / "caches"
    parent.mkdir()
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout)
    host = cache_module._host()
    orphan = parent / f"neuronlab-cache-{host}-{dead}-abc"
    orphan.mkdir()
    (orphan / "x.arrow").write_bytes(b"left")
    kept = [parent / f"neuronlab-cache-{host}-{os.getpid()}-def",  # alive
            parent / f"neuronlab-cache-{host}x-{dead}-abc",  # another machine (a shared home folder)
            parent / f"neuronlab-cache-{host}-99999999999-abc",  # not a process id
            parent / f"neuronlab-cache-{host}-²-abc",
            parent / "neuronlab-cache-notapid"]
    for folder in kept:
        folder.mkdir()
    (parent / f"neuronlab-cache-{host}-{dead}-file").write_bytes(b"not a folder")
    cache = BlockCache(parent, keep_free=0)
    X, y = _rows()
    data = _write(tmp_path / "data", X, y, "parquet", files=1)
    _source(data, cache)
    assert not orphan.exists() and all(folder.exists() for folder in kept)
    assert (parent / f"neuronlab-cache-{host}-{dead}-file").exists()
    assert os.path.basename(cache.folder).startswith(f"neuronlab-cache-{host}-{os.getpid()}-")


def test_integer_targets_cached_by_the_scan_are_the_floats_the_reader_parses(tmp_path, monkeypatch):
    values = ["9007199254740993", "-4611686018427387915", "", "-3", "0", "123456789012345678"]
    lines = ["x0,label"] + [f"{k * 0.5},{v}" for k, v in enumerate(values * 50)]
    (tmp_path / "big.csv").write_text("\n".join(lines) + "\n")
    raw = FileSource(tmp_path / "big.csv", "label", cache=_cache(tmp_path), block_rows=64, drop_missing=True)
    scan = raw.scan()  # the target as pyarrow infers it: int64, with nulls
    assert not scan.target_is_text and scan.n_dropped == 50 and raw.cache.bytes_held > 0
    typed = raw.configured(target_is_text=False)
    plain = typed.configured(cache=False)
    reads = CountedReads(monkeypatch)
    ours = [b for _, _, b in typed._read(typed.pieces)]
    assert reads.n == 0  # the scan's blocks, their target cast
    theirs = [b for _, _, b in plain._read(plain.pieces)]
    assert len(ours) == len(theirs) == 5
    for a, b in zip(ours, theirs):
        a, b = as_table(a), as_table(b)
        assert a.schema.field("label").type == b.schema.field("label").type == pa.float64()
        assert a.equals(b)
    parsed = np.array([float(v) if v else np.nan for v in values * 50])
    got = np.concatenate([as_table(b).column("label").to_numpy(zero_copy_only=False) for b in ours])
    np.testing.assert_array_equal(got, parsed)


def test_a_cache_cleared_during_a_pass_loses_nothing_and_goes_on_caching(tmp_path):
    X, y = _rows()
    data = _write(tmp_path / "data", X, y, "parquet")
    cache = _cache(tmp_path)
    source = FileSource(data, "label", cache=cache, block_rows=300)
    blocks = source._read(source.pieces)
    first = [next(blocks)[2]]
    cache.clear()
    rest = [b for _, _, b in blocks]
    plain = FileSource(data, "label", cache=False, block_rows=300)
    expected = [b for _, _, b in plain._read(plain.pieces)]
    assert len(first + rest) == len(expected) and all(a.equals(b) for a, b in zip(first + rest, expected))
    assert cache.stopped is None and cache.bytes_held > 0  # the pieces after the clear are cached
    cached = {(piece.path, piece.row_group) for piece in source.pieces[1:]}
    assert set(cache._entries) == cached  # the piece being written when it was cleared is not


def test_the_file_system_of_a_path_is_that_of_its_longest_mount_point(monkeypatch, tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/vda / ext4 rw 0 0\ntmpfs /tmp tmpfs rw 0 0\ntmpfs /tmpx tmpfs rw 0 0\n")
    real_open = open
    monkeypatch.setattr("builtins.open", lambda path, *a, **k: real_open(mounts if path == "/proc/self/mounts"
                                                                          else path, *a, **k))
    monkeypatch.setattr(cache_module.os.path, "realpath", lambda path: path)
    assert cache_module._file_system_type("/tmp/a/b") == "tmpfs"
    assert cache_module._file_system_type("/tmp") == "tmpfs"
    assert cache_module._file_system_type("/tmpdir/a") == "ext4"
    assert cache_module._file_system_type("/home/u") == "ext4"


def test_cache_argument_is_checked(tmp_path):
    with pytest.raises(TypeError, match="cache must be"):
        cache_module.block_cache(3)
    assert cache_module.block_cache(False) is None and cache_module.block_cache(None) is None
    shared = BlockCache()
    assert cache_module.block_cache(shared) is shared
    made = cache_module.block_cache(True)
    assert isinstance(made, BlockCache) and made is not shared and made.parent is None  # the default folder
    assert cache_module.block_cache(tmp_path).parent == str(tmp_path)


def test_the_default_room_kept_free_is_1_gib_or_5_percent_of_the_disk(monkeypatch, tmp_path):
    """Without ``keep_free`` a write must leave the larger of 1 GiB and 5 % of the disk free
    (the tests' conftest sets both to 0, so that caching does not depend on this machine)."""
    monkeypatch.setattr(cache_module, "KEEP_FREE_BYTES", 1 << 30)
    monkeypatch.setattr(cache_module, "KEEP_FREE_SHARE", 0.05)
    gib = 1 << 30
    cache = BlockCache(tmp_path)
    for total, free, fits, does_not in ((100 * gib, 6 * gib, 0.9 * gib, 1.1 * gib),  # 5 GiB kept
                                        (10 * gib, 1.2 * gib, 0.1 * gib, 0.3 * gib)):  # 1 GiB kept
        monkeypatch.setattr(cache_module.shutil, "disk_usage",
                            lambda folder, total=total, free=free: shutil_usage(total, total - free, free))
        assert cache._room_for(str(tmp_path), int(fits))
        assert not cache._room_for(str(tmp_path), int(does_not))
