"""The idx format of MNIST and Fashion-MNIST: a small header, then the numbers, big-endian.

    bytes 0–1   0, 0
    byte  2     the type of the numbers: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte  3     the number of dimensions d
    then        d sizes, each a big-endian uint32
    then        the numbers, row-major, big-endian

Files may be gzip-compressed (``.gz``).  ``read_idx`` returns the numbers as they are;
``read_idx_images`` returns images as float32 rows scaled to [0, 1], converted piece by
piece from the (decompressed) stream, so the bytes are never held whole beside the
floats.  A malformed file is a ValueError that names it.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

__all__ = ["read_idx", "read_idx_images", "IDX_TYPES"]

IDX_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
             0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_PIECE = 1 << 20  # bytes converted at a time by read_idx_images


def _open(path: Path):
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def _header(stream, path):
    head = stream.read(4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0:
        raise ValueError(f"{path}: not an idx file (it must start with two zero bytes, a type "
                         f"and a number of dimensions)")
    if head[2] not in IDX_TYPES:
        raise ValueError(f"{path}: unknown idx type 0x{head[2]:02X}; known: "
                         + ", ".join(f"0x{t:02X}" for t in IDX_TYPES))
    ndim = head[3]
    if ndim == 0:
        raise ValueError(f"{path}: an idx file needs at least one dimension")
    raw = stream.read(4 * ndim)
    if len(raw) < 4 * ndim:
        raise ValueError(f"{path}: the idx header ends before its {ndim} sizes")
    return IDX_TYPES[head[2]], struct.unpack(f">{ndim}I", raw)


def _short(path, shape, got, dtype):
    need = int(np.prod(shape)) * dtype.itemsize
    return ValueError(f"{path}: the idx header promises {' × '.join(map(str, shape))} numbers "
                      f"({need} bytes) but the file holds {got} bytes of data")


def _check_end(stream, path, shape, dtype, read):
    extra = len(stream.read(1 << 16))
    if extra:
        raise ValueError(f"{path}: more data than the idx header's "
                         f"{' × '.join(map(str, shape))} numbers ({read} bytes expected, more found)")


def read_idx(path) -> np.ndarray:
    """The numbers of an idx file (gzip or not), shaped as its header says, native byte order."""
    path = Path(path)
    try:
        with _open(path) as stream:
            dtype, shape = _header(stream, path)
            need = int(np.prod(shape)) * dtype.itemsize
            data = stream.read(need)
            if len(data) != need:
                raise _short(path, shape, len(data), dtype)
            _check_end(stream, path, shape, dtype, need)
    except (OSError, EOFError) as e:
        raise ValueError(f"{path}: cannot be read as idx: {e}") from None
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    return array if dtype.isnative or dtype.itemsize == 1 else array.astype(dtype.newbyteorder("="))


def read_idx_images(path) -> np.ndarray:
    """The images of an idx file of uint8 pixels (n × rows × cols) as float32 rows of
    rows·cols pixels scaled to [0, 1] (pixel / 255), shape (n, rows·cols)."""
    path = Path(path)
    try:
        with _open(path) as stream:
            dtype, shape = _header(stream, path)
            if dtype != np.dtype("u1") or len(shape) < 2:
                raise ValueError(f"{path}: expected images of uint8 pixels (n × rows × cols), got "
                                 f"{dtype.name} numbers of shape {shape}")
            n, width = shape[0], int(np.prod(shape[1:]))
            out = np.empty((n, width), dtype=np.float32)
            flat = out.reshape(-1)
            done = 0
            while done < flat.size:
                piece = stream.read(min(_PIECE, flat.size - done))
                if not piece:
                    raise _short(path, shape, done, dtype)
                np.divide(np.frombuffer(piece, dtype=np.uint8), np.float32(255.0),
                          out=flat[done:done + len(piece)], dtype=np.float32)
                done += len(piece)
            _check_end(stream, path, shape, dtype, done)
    except (OSError, EOFError) as e:
        raise ValueError(f"{path}: cannot be read as idx: {e}") from None
    return out
