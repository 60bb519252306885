"""The compiled loop that writes a block's columns into its column-major array (imported only
when numba is installed; ``sources.files.fill_columns`` falls back to NumPy without it).

The columns are pyarrow's own buffers, read where they are: their addresses are passed in an
int64 array (a tuple of arrays would compile once per number of columns), and the caller keeps
the arrays alive during the call.
"""

from __future__ import annotations

import numba as nb
from numba import types
from numba.extending import intrinsic


@intrinsic
def _float64_pointer(typingctx, address):
    """The float64 pointer at an integer address."""
    if not isinstance(address, types.Integer):
        return None
    pointer = types.CPointer(types.float64)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(pointer))

    return pointer(address), codegen


@nb.njit(cache=True, nogil=True)
def fill_columns(addresses, n, start, mean, scale, standardise, out, bad):
    """out[start + i, j] = (column_j[i] − mean[j]) / scale[j] (or column_j[i]) for i < n, where
    column j is the n float64 values at ``addresses[j]`` and ``out`` is column-major: each column
    in one contiguous pass that reads it once and writes it once (NumPy's subtract, divide and
    sum are three), with the same subtraction and division, so the same bits, as NumPy's.
    ``bad[j]`` becomes True when column j has a NaN or ±∞ there (v − v is 0 for a finite v and
    NaN for any other)."""
    p = addresses.shape[0]
    for j in range(p):
        column = nb.carray(_float64_pointer(addresses[j]), (n,))
        target = out[start:start + n, j]
        check = 0.0
        if standardise:
            mj = mean[j]
            sj = scale[j]
            for i in range(n):
                v = (column[i] - mj) / sj
                target[i] = v
                check += v - v
        else:
            for i in range(n):
                v = column[i]
                target[i] = v
                check += v - v
        if check != check:
            bad[j] = True
