"""How long ``make demo`` takes: ``neuronlab demo`` run as a fresh process, end to end.

Each repeat starts a new Python process (imports, three acts, nine figures, two GIFs,
the HTML report), as ``make demo`` does once ``.venv`` exists; the median wall time is
printed against the 30 s the issue allows.

    python bench/bench_demo.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIMIT_SECONDS = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    neuronlab = Path(sys.executable).with_name("neuronlab")
    times = []
    with tempfile.TemporaryDirectory() as folder:
        for k in range(args.repeats):
            started = time.perf_counter()
            subprocess.run([str(neuronlab), "demo", "--out", str(Path(folder) / f"run{k}")], check=True,
                           stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(f"neuronlab demo, {args.repeats} fresh processes: " + ", ".join(f"{t:.1f} s" for t in times))
    print(f"median {median:.1f} s = {median / LIMIT_SECONDS:.2f} × the {LIMIT_SECONDS:.0f} s limit")


if __name__ == "__main__":
    main()
