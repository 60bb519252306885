"""Decoded blocks kept on local disk, so that every pass after the first reads them back
instead of decoding the files again.

A full-batch strategy reads every row at every step, and turning CSV text or Parquet pages into
numbers is most of what a pass over a file costs. As Vowpal Wabbit's cache file does (its
``--cache``), the first pass over a piece of the data (a Parquet row group, a CSV file) writes
each block as pyarrow decoded it, in Arrow's IPC file format: the columns' bytes as they lie in
memory, uncompressed, one IPC record batch per block. Later passes read the blocks back with plain
reads. Here that was about 10 M rows/s for 50 float64 columns, against 4.5 M rows/s for
pyarrow's fastest Parquet read (BENCHMARKS.md, issue 15). The reads go into pyarrow's memory
pool, so memory still holds a few blocks whatever the size of the data. The cache is read, never
memory-mapped: its pages do not count in the process's resident memory, and a cache file cut
short cannot kill the process.

The blocks come back with the same rows, values and boundaries as decoded from the file, so a
pass gives the same J and ∇J, bit for bit, with or without the cache.

What keeps it safe:

- An entry is used only while its file is unchanged: the same size, modification and change
  times, and inode as when the entry was written. Otherwise the file is read again, and its
  errors are raised as they would be.
- Nothing is written once the disk holding the cache would have less than ``keep_free`` bytes
  free. A failure to write (a full disk, say) stops the caching and loses nothing: the pass goes
  on from the file.
- A failure to read an entry (its file removed, say) goes on from the data file, at the block
  where the entry failed.
- The folder is removed when the cache is garbage-collected, and when the program ends. On POSIX
  systems, one left by a process that was killed is removed by the next cache made in the same
  place on the same machine: its name holds the host's name and the process id.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import threading
import weakref
from typing import Callable, Iterable, NamedTuple, Optional

__all__ = ["BlockCache", "block_cache"]

#: a cache writes nothing that would leave its disk with less free space than the larger of these
KEEP_FREE_BYTES = 1 << 30
KEEP_FREE_SHARE = 0.05
#: file systems held in memory: a cache there would take the memory that streaming saves
_MEMORY_FILE_SYSTEMS = ("tmpfs", "ramfs")
#: the environment variable that names the folder caches are made in
FOLDER_VARIABLE = "NEURONLAB_CACHE_DIR"
#: a cache's own folder is named this, then the host's name, the process id and a random part
FOLDER_PREFIX = "neuronlab-cache-"


def _stamp(path) -> Optional[tuple]:
    """What says a file is unchanged: its size, modification and change times, and inode (the
    change time cannot be set back by a program restoring the modification time); None when it
    cannot be looked at: the reader then says what is wrong with it."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino


def _file_system_type(path) -> Optional[str]:
    """The type of the file system holding ``path`` (Linux: from /proc/self/mounts), or None."""
    try:
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as mounts:
            entries = [line.split()[1:3] for line in mounts if len(line.split()) >= 3]
    except OSError:
        return None
    path = os.path.realpath(path)
    best, kind = "", None
    for mount_point, fs_type in entries:
        mount_point = mount_point.replace("\\040", " ")
        inside = path == mount_point or path.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, kind = mount_point, fs_type
    return kind


def default_folder() -> str:
    """Where a cache's folder goes: $NEURONLAB_CACHE_DIR when set; else the system's temporary
    folder, unless that is held in memory (a tmpfs /tmp), then the user's cache folder
    ($XDG_CACHE_HOME or ~/.cache) /neuronlab."""
    if os.environ.get(FOLDER_VARIABLE):
        return os.environ[FOLDER_VARIABLE]
    temporary = tempfile.gettempdir()
    if _file_system_type(temporary) not in _MEMORY_FILE_SYSTEMS:
        return temporary
    home_cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(home_cache, "neuronlab")


class _Entry(NamedTuple):
    file: str
    settings: tuple
    stamp: tuple
    schema: object


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (POSIX only: on Windows os.kill(pid, 0) would be Ctrl-C)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def _host() -> str:
    """This machine's name as a folder name may hold it."""
    import socket  # only for the name: not loaded with every io.tables user

    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"


def _remove_orphans(parent) -> None:
    """Remove the cache folders in ``parent`` that this user's processes on this machine left
    when they were killed (their process is gone).  A folder of another machine (a shared home
    folder) or another user, or a name of any other form, is left alone; nothing here can fail
    a pass."""
    if os.name != "posix":
        return
    ours = re.compile(re.escape(FOLDER_PREFIX + _host()) + r"-(\d{1,9})-\w+", re.ASCII)
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        match = ours.fullmatch(name)
        if match is None:
            continue
        path = os.path.join(parent, name)
        try:
            info = os.lstat(path)
            if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not _alive(int(match.group(1))):
                shutil.rmtree(path, ignore_errors=True)
        except OSError:  # gone meanwhile
            pass


def _one_batch(batch):
    """``batch`` (a RecordBatch, or a Table of any number of chunks) as one RecordBatch: one IPC
    record batch per block keeps the block boundaries, and so the block numbers."""
    import pyarrow as pa

    if isinstance(batch, pa.RecordBatch):
        return batch
    table = batch.combine_chunks()  # a column already in one chunk is not copied (ChunkedArray's would copy it)
    return pa.RecordBatch.from_arrays([column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
                                       for column in table.columns], schema=table.schema)


class BlockCache:
    """The decoded blocks of a :class:`~neuronlab.sources.files.FileSource`'s pieces, on local
    disk (see the module docstring). ``folder``: the folder to make the cache's own folder in
    (default :func:`default_folder`); ``keep_free``: the bytes its disk keeps free (default the
    larger of 1 GiB and 5 % of the disk). One cache may serve several sources over the same files
    (``FileSource.configured`` shares it): an entry records the settings that decide its blocks.
    ``stopped`` says why caching stopped, or is None."""

    def __init__(self, folder=None, keep_free: Optional[int] = None):
        self.parent = os.path.abspath(os.fspath(folder)) if folder is not None else None
        self.keep_free = keep_free
        self.stopped: Optional[str] = None
        self.folder: Optional[str] = None
        self._entries: dict = {}
        self._lock = threading.Lock()
        self._removal = None

    def __getstate__(self):
        raise TypeError("a BlockCache stays in the process that made it (its files are local)")

    @property
    def bytes_held(self) -> int:
        """The bytes of the entries written so far."""
        return sum(os.path.getsize(entry.file) for entry in list(self._entries.values())
                   if os.path.exists(entry.file))

    def blocks(self, piece, settings: tuple, read: Callable[[], Iterable], adapt: Optional[Callable] = None):
        """The record batches of ``piece``, the same as ``read()`` gives: from the cache when it
        holds them for these ``settings`` (those that decide the blocks: columns, block size,
        types) and the file is unchanged, else from ``read()``, written to the cache on the way.
        ``adapt(settings_then, settings, schema)``, for an entry written with other settings: a
        function that turns its batches into those ``read()`` gives now, or None (the file is read
        again)."""
        key = (piece.path, piece.row_group)
        entry = self._entries.get(key)
        convert = None
        if entry is not None:
            if entry.stamp != _stamp(piece.path):
                usable = False
            elif entry.settings == settings:
                usable = True
            else:
                convert = None if adapt is None else adapt(entry.settings, settings, entry.schema)
                usable = convert is not None
            if not usable:
                self._drop(key, entry)
                entry = None
        if entry is None:
            yield from self._written(key, settings, piece.path, read())
            return
        import pyarrow as pa

        given = 0
        try:
            with pa.OSFile(entry.file) as file:
                reader = pa.ipc.open_file(file)
                for number in range(reader.num_record_batches):
                    batch = reader.get_batch(number)
                    yield batch if convert is None else convert(batch)
                    given += 1
            return
        except (OSError, pa.ArrowException):  # the entry is gone or damaged: the file instead
            self._drop(key, entry)
        for number, batch in enumerate(read()):
            if number >= given:
                yield batch

    def _written(self, key, settings, path, batches):
        """``batches``, each written to a new entry on the way (and given as the one RecordBatch
        written: the reader then has no chunks to join); the entry is kept when the piece was read
        to its end, the file unchanged meanwhile."""
        stamp = _stamp(path)
        sink = _Sink(self) if self.stopped is None and stamp is not None else None
        try:
            for batch in batches:
                if sink is not None:
                    batch = _one_batch(batch)
                    if not sink.add(batch):
                        sink = sink.discard()
                yield batch
            if sink is not None:
                if sink.finish() and _stamp(path) == stamp:
                    with self._lock:
                        old = self._entries.get(key)
                        self._entries[key] = _Entry(sink.file, settings, stamp, sink.schema)
                    if old is not None:
                        _remove(old.file)
                else:
                    sink.discard()
                sink = None
        finally:
            if sink is not None:  # the pass left this piece before its end
                sink.discard()

    def _drop(self, key, entry):
        with self._lock:
            if self._entries.get(key) is entry:
                del self._entries[key]
        _remove(entry.file)

    def _new_file(self) -> str:
        with self._lock:
            if self.folder is None:
                parent = os.path.abspath(self.parent or default_folder())
                os.makedirs(parent, exist_ok=True)
                _remove_orphans(parent)
                self.folder = tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{_host()}-{os.getpid()}-", dir=parent)
                self._removal = weakref.finalize(self, shutil.rmtree, self.folder, True)
            folder = self.folder
        os.makedirs(folder, exist_ok=True)  # a cleaner may have removed it
        handle, file = tempfile.mkstemp(suffix=".arrow", dir=folder)
        os.close(handle)
        return file

    def _room_for(self, folder, n_bytes: int) -> bool:
        """Whether ``n_bytes`` more leave the disk of ``folder`` with at least ``keep_free`` free."""
        usage = shutil.disk_usage(folder)
        keep = self.keep_free if self.keep_free is not None else max(KEEP_FREE_BYTES,
                                                                     int(KEEP_FREE_SHARE * usage.total))
        return usage.free - n_bytes >= keep

    def clear(self) -> None:
        """Remove every entry and the cache's folder (a later pass makes them again)."""
        with self._lock:
            self._entries.clear()
            self.folder = None
            removal, self._removal = self._removal, None
        if removal is not None:
            removal()  # the rmtree, once


class _Sink:
    """One entry being written: an IPC file of one record batch per block."""

    def __init__(self, cache: BlockCache):
        self.cache, self.file, self.schema, self._out, self._writer = cache, None, None, None, None

    def add(self, batch) -> bool:
        """Write ``batch`` (a RecordBatch); False when it cannot be (no room, a failed write:
        caching stops; a block of another schema: this entry only)."""
        import pyarrow as pa

        try:
            if self.file is None:
                self.file = self.cache._new_file()
            folder = self.cache.folder
            if folder is None or os.path.dirname(self.file) != folder:  # the cache was cleared: this entry only
                return False
            if not self.cache._room_for(folder, batch.nbytes):
                return self._stop("its disk would keep less free space than the cache leaves")
            if self._writer is None:
                self._out = pa.OSFile(self.file, "wb")
                self._writer = pa.ipc.new_file(self._out, batch.schema)
                self.schema = batch.schema
            self._writer.write_batch(batch)
            return True
        except OSError as e:  # a full disk, a folder that went away
            return self._stop(str(e))
        except (ValueError, pa.ArrowException):  # blocks of two schemas in one piece: not cached
            return False

    def _stop(self, why) -> bool:
        self.cache.stopped = f"{self.cache.folder}: {why}; the files are read at every pass"
        return False

    def finish(self) -> bool:
        """Close the entry; True when it was written whole."""
        import pyarrow as pa

        if self._writer is None:  # a piece of no blocks
            return False
        try:
            self._writer.close()
            self._out.close()
            return True
        except (OSError, pa.ArrowException):
            return False

    def discard(self) -> None:
        for close in (getattr(self._writer, "close", None), getattr(self._out, "close", None)):
            try:
                if close is not None:
                    close()
            except Exception:  # the file is removed below whatever state it is in
                pass
        if self.file is not None:
            _remove(self.file)
        return None


def _remove(file) -> None:
    try:
        os.remove(file)
    except OSError:
        pass


def block_cache(cache) -> Optional[BlockCache]:
    """A FileSource's ``cache`` argument as a :class:`BlockCache` or None: True a new cache in
    :func:`default_folder`, False or None none, a folder a new cache in it, a BlockCache itself."""
    if isinstance(cache, BlockCache) or cache is None:
        return cache
    if cache is True:
        return BlockCache()
    if cache is False:
        return None
    if isinstance(cache, (str, os.PathLike)):
        return BlockCache(cache)
    raise TypeError(f"cache must be True, False, a folder or a BlockCache, got {type(cache).__name__}")
