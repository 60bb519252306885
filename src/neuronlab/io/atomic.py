"""Write an output file so that it is either complete or absent.

The data goes to a temporary file in the same folder, which is renamed over the
destination only when writing finished; on any error the temporary file is
removed and an existing destination is left as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_output", "check_output_folder", "check_output_path"]


def check_output_folder(path, what="output file") -> Path:
    """Fail before any work when the output's folder does not exist or the path is a folder."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"{what} {path}: the folder {folder} does not exist")
    if path.is_dir():
        raise ValueError(f"{what} {path}: is a folder; give a file name")
    return path


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


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part" + path.suffix,
                               dir=path.parent if str(path.parent) else ".")
    os.close(fd)
    # mkstemp makes the file private (0600); give it the mode a plain open() would
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
