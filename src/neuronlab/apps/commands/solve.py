"""``neuronlab solve``: solve an equation by guessing, by correcting from the error, and by gradient descent.

Each method minimises J = ½·(LHS − RHS)² until |LHS − RHS| ≤ tol or the budget of
evaluations is spent, and a table compares them.  Several equations form a system.
Exit status 0 when at least one method reached the tolerance, 1 when none did,
2 for a mistake in the command or the equation.
"""

from __future__ import annotations

import json
import re
import sys

from ._common import non_negative_float, positive_float, positive_int, seed_type
from ._visuals import add_visual_options, check_visual_paths, solve_visuals

EXIT_NOT_SOLVED = 1

#: argparse takes "-100:100" for an option unless told that such values are numbers
_NEGATIVE_VALUE = re.compile(r"^-\d+$|^-\d*\.\d+$|^-[\d.eE+-]*:")


def register(subparsers):
    from ...train.solving import METHODS, STEP_RULES

    p = subparsers.add_parser(
        "solve",
        help="solve an equation three ways: guessing, error-driven, gradient descent",
        description=__doc__.split("\n\n")[1],
    )
    p._negative_number_matcher = _NEGATIVE_VALUE
    p.add_argument("equations", nargs="+", metavar="EQUATION",
                   help="for example '256x + 212y = 1492' (quote it); several make a system")
    p.add_argument("--method", choices=("all", *METHODS), default="all",
                   help="which method to run (default: all, side by side)")
    p.add_argument("--lr", default="auto", metavar="η",
                   help="learning rate η of gradient descent, or 'auto' for the automatic "
                        "(Gauss–Newton) step (default auto)")
    p.add_argument("--tol", type=non_negative_float, default=1e-6,
                   help="stop when |LHS − RHS| ≤ tol (default 1e-6)")
    p.add_argument("--budget", type=positive_int, default=10_000,
                   help="evaluations each method may spend (default 10000)")
    p.add_argument("--seed", type=seed_type, default=0,
                   help="random seed of the guesses, 0 … 2**32−1 (default 0)")
    p.add_argument("--range", action="append", default=[], metavar="[NAME=]LOW:HIGH",
                   help="search box: LOW:HIGH for every unknown (default -100:100), "
                        "NAME=LOW:HIGH for one; repeat as needed")
    p.add_argument("--start", action="append", default=[], metavar="NAME=VALUE",
                   help="start value of an unknown (default: the point of the box nearest 0)")
    p.add_argument("--step-rule", choices=STEP_RULES, default="proportional",
                   help="error-driven step: fixed h, or proportional to the error h = step·|r| "
                        "(default proportional)")
    p.add_argument("--step", type=positive_float, default=1.0,
                   help="error-driven step h (fixed) or gain (proportional) (default 1)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document on stdout instead of the table")
    add_visual_options(p, "|error| against evaluations and the paths over the loss contour")
    p.set_defaults(run=run)


def _float(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{what}: {text!r} is not a number") from None


def parse_ranges(specs) -> tuple[tuple[float, float], dict[str, tuple[float, float]]]:
    """``["-100:100", "x=-5:5"]`` → ((-100, 100), {"x": (-5, 5)})."""
    box, ranges = (-100.0, 100.0), {}
    for spec in specs:
        name, _, interval = spec.rpartition("=")
        low, colon, high = interval.partition(":")
        if not colon:
            raise ValueError(f"--range {spec!r}: write LOW:HIGH or NAME=LOW:HIGH, e.g. -5:5 or x=0:10")
        pair = (_float(low, f"--range {spec!r}"), _float(high, f"--range {spec!r}"))
        if name:
            ranges[name.strip()] = pair
        else:
            box = pair
    return box, ranges


def parse_start(specs) -> dict[str, float]:
    """``["x=1", "y=0"]`` (or ``["x=1,y=0"]``) → {"x": 1.0, "y": 0.0}."""
    start = {}
    for spec in specs:
        for item in spec.split(","):
            name, equals, value = item.partition("=")
            if not equals or not name.strip():
                raise ValueError(f"--start {spec!r}: write NAME=VALUE, e.g. x=1")
            start[name.strip()] = _float(value, f"--start {spec!r}")
    return start


def run(args) -> int:
    from ...train.solving import solve

    check_visual_paths(args)
    learning_rate = args.lr if args.lr == "auto" else _float(args.lr, "--lr (a number or 'auto')")
    box, ranges = parse_ranges(args.range)
    report = solve(
        args.equations, method=args.method, learning_rate=learning_rate, tol=args.tol,
        budget=args.budget, random_state=args.seed, box=box, ranges=ranges,
        step_rule=args.step_rule, step=args.step, start=parse_start(args.start),
    )
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(report.text())
    solve_visuals(args, report)
    return 0 if any(run.solved for run in report.runs) else EXIT_NOT_SOLVED
