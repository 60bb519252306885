"""Peak memory of a fit beyond its input X (issue 16, item 6).

Each case runs in a fresh process: it makes X (rows × columns, float32 by default) and y,
then measures the fit two ways:

- tracemalloc's peak during ``fit`` (NumPy reports its arrays to tracemalloc), i.e. the
  largest amount of memory allocated at once by the fit beyond what existed before it;
- the growth of the process's peak resident set (``ru_maxrss``) over the fit, which also
  sees what tracemalloc does not (the compiled kernel's own buffers, the code numba loads).

Both are shown in MiB and as a share of X.  Run it with the project's virtualenv:

    .venv/bin/python bench/bench_memory.py                       # 10,000,000 × 10 float32
    .venv/bin/python bench/bench_memory.py --rows 1000000 --dtype float64
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CASE = r"""
import json, resource, sys, tracemalloc, warnings
import numpy as np
from neuronlab import NeuronClassifier, NeuronRegressor
rows, columns, dtype, kind, steps = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
rng = np.random.default_rng(0)
X = np.empty((rows, columns), dtype=dtype)
for start in range(0, rows, 1_000_000):  # filled block by block: no float64 copy of X at any time
    X[start:start + 1_000_000] = rng.standard_normal((min(1_000_000, rows - start), columns), dtype=np.float32)
w = rng.standard_normal(columns).astype(dtype)
z = X @ w
y = (z > 0).astype(np.int64) if kind == "classifier" else z.astype(np.float64)
del z
small = (NeuronClassifier if kind == "classifier" else NeuronRegressor)(max_steps=1)
# compiles (or loads) the kernel at the size it runs at — 500,000 × 10 values take the threaded
# path, as the measured fit does —, so that its code is not measured
small.fit(X[:500_000], y[:500_000])
est = (NeuronClassifier if kind == "classifier" else NeuronRegressor)(max_steps=steps, random_state=0)
before_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    est.fit(X, y)
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
after_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"x_bytes": X.nbytes, "y_bytes": y.nbytes, "traced_peak": peak,
                  "rss_growth": (after_rss - before_rss) * 1024}))
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--columns", type=int, default=10)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--steps", type=int, default=3, help="gradient steps of the fit (default 3)")
    args = parser.parse_args(argv)
    mib = 2 ** 20
    print(f"fit on {args.rows} × {args.columns} {args.dtype}, {args.steps} steps; memory beyond X and y")
    for kind in ("classifier", "regressor"):
        out = subprocess.run([sys.executable, "-c", CASE, str(args.rows), str(args.columns), args.dtype, kind,
                              str(args.steps)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        x = r["x_bytes"]
        print(f"{kind:10}  X {x / mib:7.1f} MiB   tracemalloc peak {r['traced_peak'] / mib:7.1f} MiB "
              f"({100 * r['traced_peak'] / x:5.1f} % of X)   peak RSS growth {r['rss_growth'] / mib:7.1f} MiB "
              f"({100 * r['rss_growth'] / x:5.1f} % of X)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
