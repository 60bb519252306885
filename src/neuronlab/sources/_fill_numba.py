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
def fill_columns(addresses, lengths, mean, scale, standardise, out, bad):
    """out[:, j] = (column j − mean[j]) / scale[j] (or column j) for a column-major ``out``,
    where column j is pyarrow's chunks of it, one after the other: ``lengths[c]`` float64 values
    at ``addresses[c, j]`` for chunk c.  Each column in one contiguous pass that reads it once and
    writes it once (NumPy's subtract, divide and sum are three), with the same subtraction and
    division, so the same bits, as NumPy's.  ``bad[j]`` becomes True when column j has a NaN or
    ±∞ (v − v is 0 for a finite v and NaN for any other)."""
    chunks, p = addresses.shape
    for j in range(p):
        check = 0.0
        row = 0
        mj = mean[j]
        sj = scale[j]
        for c in range(chunks):
            n = lengths[c]
            column = nb.carray(_float64_pointer(addresses[c, j]), (n,))
            target = out[row:row + n, j]
            if standardise:
                for i in range(n):
                    v = (column[i] - mj) / sj
                    target[i] = v
                    check += v - v
            else:
                for i in range(n):
                    v = column[i]
                    target[i] = v
                    check += v - v
            row += n
        if check != check:
            bad[j] = True
