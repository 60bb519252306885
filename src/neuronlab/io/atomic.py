"""Write an output file so that it is either complete or absent, and never where it must not go.

The data goes to a temporary file in the same folder, which is renamed over the
destination only when writing finished; on any error (a full disk, Ctrl-C) the
temporary file is removed and an existing destination is left as it was.

Before any work, each output is checked (``check_output_folder``): its folder must
exist and take a new file (a temporary file is created there and removed again, which
catches read-only folders and file systems whatever the user's rights), and an
existing destination must be a regular file — a device such as /dev/full, a FIFO or a
socket is refused, since renaming over it would replace it.  A destination that is a
symbolic link is written through: the file it points to is replaced, the link stays.
``check_distinct_files`` refuses, before any work, an output that is one of the
command's inputs or another of its outputs, however spelt (``./x``, links, hard links).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import Iterable, Optional

__all__ = ["atomic_output", "check_output_folder", "check_output_path", "check_distinct_files",
           "same_file", "file_kind"]


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, in words (from its ``st_mode``)."""
    for test, name in ((stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
                       (stat.S_ISFIFO, "pipe (FIFO)"), (stat.S_ISSOCK, "socket"), (stat.S_ISDIR, "folder")):
        if test(mode):
            return name
    return "special file"


def check_output_folder(path, what="output file") -> Path:
    """Fail before any work when the output's folder does not exist or takes no new file, or
    when the path is a folder or another file that is not a regular one (a device, a FIFO)."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"{what} {path}: the folder {folder} does not exist")
    if path.is_dir():
        raise ValueError(f"{what} {path}: is a folder; give a file name")
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None  # absent (or a dangling link: its target is created)
    if mode is not None and not stat.S_ISREG(mode):
        raise ValueError(f"{what} {path}: is a {file_kind(mode)}, not a regular file; it is never "
                         "replaced — give the path of a file (or leave the option out)")
    _probe(Path(os.path.realpath(path)).parent, path, what)
    return path


def _probe(folder: Path, path: Path, what: str) -> None:
    """Create and remove a temporary file in ``folder``: the one sure test that a file can be
    written there (rights, a read-only file system, …), made before any work."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
    except OSError as e:
        raise ValueError(f"{what} {path}: cannot write in the folder {folder} "
                         f"({e.strerror or e}); choose another folder") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def check_output_path(path, suffixes, what="output file") -> Path:
    """Return ``path`` as a Path after checking its extension and that its folder exists."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{what} must be a file path, got {type(path).__name__}")
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise ValueError(
            f"{what} {str(path)!r} must end in {' or '.join(suffixes)}; the extension picks the format"
        )
    return check_output_folder(path, what)


def _identity(path) -> tuple[str, Optional[tuple[int, int]]]:
    """(resolved path, (device, inode) when the file exists) of ``path``."""
    resolved = os.path.realpath(path)
    try:
        st = os.stat(path)
        return resolved, (st.st_dev, st.st_ino)
    except OSError:
        return resolved, None


def same_file(a, b) -> bool:
    """Whether paths ``a`` and ``b`` name the same file: the same resolved path (``./x`` and
    ``x``, a symbolic link and its target), or the same device and inode (a hard link)."""
    (ra, ia), (rb, ib) = _identity(a), _identity(b)
    return ra == rb or (ia is not None and ia == ib)


def check_distinct_files(outputs: Iterable[tuple[str, object]], inputs: Iterable[tuple[str, object]] = (),
                         may_replace: Iterable[tuple[str, str]] = ()) -> None:
    """Refuse, before any work, an output that is an input or another output.

    ``outputs`` and ``inputs`` are (option, path) pairs (a path None is not given);
    ``may_replace`` lists (output option, input option) pairs that are meant to be the same
    file (``train --resume m.json`` saves back to m.json)."""
    outputs = [(flag, p) for flag, p in outputs if p is not None]
    inputs = [(flag, p) for flag, p in inputs if p is not None and os.path.exists(p)]
    allowed = set(may_replace)
    for i, (flag, path) in enumerate(outputs):
        for other_flag, other in outputs[:i]:
            if same_file(path, other):
                raise ValueError(f"{other_flag} {other} and {flag} {path} are the same file: one would "
                                 "replace the other; give each output its own path")
        for in_flag, in_path in inputs:
            if (flag, in_flag) not in allowed and same_file(path, in_path):
                raise ValueError(f"{flag} {path} is the input {in_flag} {in_path}: writing it would replace "
                                 f"what the command reads; give {flag} another path")


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    A symbolic link is written through (its target is replaced).  An OSError on the way (a
    full disk) names ``path``; the temporary file is removed on every way out."""
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    folder = target.parent if str(target.parent) else Path(".")
    try:
        mode = os.stat(target).st_mode
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise ValueError(f"{path}: is a {file_kind(mode)}, not a regular file; it is never replaced")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part" + target.suffix, dir=folder)
    os.close(fd)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        yield Path(tmp)
        os.replace(tmp, target)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if e.filename in (None, tmp, str(tmp)):
            # e.g. ENOSPC while writing the temporary file: the user knows the destination
            raise OSError(e.errno or errno.EIO, e.strerror or str(e), str(path)) from None
        raise
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
