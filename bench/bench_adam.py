"""Adam's update on a θ of Fashion-MNIST's network (50,890 float64 weights), three ways, in
one process, rounds in turns, medians (issue 13):

- fresh arrays: the textbook formulas, a new θ-sized array for each operation (as
  ``optim/transforms.py`` computed it before commit cd44bc4);
- in place: ``scale_by_adam`` on its NumPy path (state arrays updated in place);
- compiled: ``scale_by_adam`` as shipped, one numba loop for θ of ≥ COMPILED_ADAM_FROM weights.

    .venv/bin/python bench/bench_adam.py [--rounds 7]
"""

import argparse
import os
import statistics
import timeit

import numpy as np

from neuronlab.optim import transforms

N = 50_890
B1, B2, EPS = 0.9, 0.999, 1e-8


def fresh_arrays(g, state):
    count, m, v = state
    count += 1
    m = B1 * m + (1.0 - B1) * g
    v = B2 * v + (1.0 - B2) * g * g
    state[:] = count, m, v
    return (m / (1.0 - B1**count)) / (np.sqrt(v / (1.0 - B2**count)) + EPS)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    theta = np.zeros(N)
    g = np.random.default_rng(0).normal(size=N)
    adam = transforms.scale_by_adam(B1, B2, EPS)
    compiled_state, numpy_state, old_state = adam.init(theta), adam.init(theta), [0, np.zeros(N), np.zeros(N)]
    shipped = transforms.COMPILED_ADAM_FROM

    def numpy_path():
        transforms.COMPILED_ADAM_FROM = 1 << 62
        try:
            adam.update(g, numpy_state, theta)
        finally:
            transforms.COMPILED_ADAM_FROM = shipped

    routes = {"fresh arrays (before cd44bc4)": lambda: fresh_arrays(g, old_state),
              "in place, NumPy": numpy_path,
              "compiled loop (shipped)": lambda: adam.update(g, compiled_state, theta)}
    for route in routes.values():
        route()  # compile, warm the caches
    times = {name: [] for name in routes}
    for _ in range(args.rounds):
        for name, route in routes.items():
            times[name].append(timeit.timeit(route, number=500) / 500)
    print(f"Adam's update on {N:,} float64 weights, {args.rounds} rounds of 500, medians; "
          f"load average {os.getloadavg()[0]:.1f}")
    for name, t in times.items():
        print(f"  {name:32s} {statistics.median(t) * 1e6:8.1f} µs")


if __name__ == "__main__":
    main()
