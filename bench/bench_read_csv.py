"""Reading a 1,000,000-row × 20-column CSV: neuronlab's reader vs pyarrow.csv.read_csv.

neuronlab's reader is the whole route ``neuronlab train`` takes from a file to the
numbers a neuron learns from: ``read_table`` (pyarrow) then ``prepare`` (pick the
target and features, check for missing values and text, build the float64 X and y).
The baseline is ``pyarrow.csv.read_csv`` alone on the same file, in the same process.
Each is run REPEATS times, alternating; the medians and their ratio are printed.

    python bench/bench_read_csv.py [--rows 1000000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def make_csv(path: Path, rows: int, columns: int = 20, seed: int = 0) -> None:
    """19 float features and a 0/1 target, written by pyarrow (fast, deterministic)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(seed)
    data = {f"x{j + 1}": rng.normal(size=rows) for j in range(columns - 1)}
    data["y"] = rng.integers(0, 2, rows)
    pcsv.write_csv(pa.table(data), path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    import pyarrow
    import pyarrow.csv as pcsv

    from neuronlab.io.tables import prepare, read_table

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.csv"
        make_csv(path, args.rows)
        size_mb = path.stat().st_size / 1e6

        def ours():
            dataset = prepare(read_table(str(path)), "y", source=str(path))
            assert dataset.X.shape == (args.rows, 19)

        def baseline():
            table = pcsv.read_csv(path)
            assert table.num_rows == args.rows

        ours(), baseline()  # warm up: file cache, imports, thread pool
        times = {"neuronlab": [], "pyarrow": []}
        for _ in range(args.repeats):
            for name, fn in (("neuronlab", ours), ("pyarrow", baseline)):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    ours_s, base_s = statistics.median(times["neuronlab"]), statistics.median(times["pyarrow"])
    print(f"file: {args.rows} rows × 20 columns, {size_mb:.0f} MB; pyarrow {pyarrow.__version__}; "
          f"{args.repeats} repeats, medians")
    print(f"pyarrow.csv.read_csv            {base_s:.3f} s")
    print(f"neuronlab read_table + prepare  {ours_s:.3f} s")
    print(f"ratio neuronlab / pyarrow       {ours_s / base_s:.2f}× (target ≤ 1.5×)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
