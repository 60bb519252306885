"""Plain JSON values from what neuronlab computes (numpy numbers and arrays, NaN).

JSON has no NaN or infinity: they become null, in model files, trace lines, the
CLI's --json documents and History.as_dict alike.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["jsonable"]


def jsonable(value):
    """Plain JSON values: numpy scalars/arrays to Python, NaN/inf to None, others to None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return None  # e.g. a numpy Generator as random_state: not reproducible from a file
