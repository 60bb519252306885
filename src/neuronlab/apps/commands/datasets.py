"""``neuronlab datasets``: the built-in data sets, usable by name wherever a file is.

Without a name, lists them; with a name, prints its card (how it was made) and
its first rows.
"""

from __future__ import annotations


def register(subparsers):
    from . import _common

    p = _common.add_command(subparsers, "datasets", "list the built-in data sets (or describe one)", __doc__,
                            "examples:\n  neuronlab datasets\n  neuronlab datasets obesity\n"
                            "  neuronlab train obesity --out m.json\n")
    p.add_argument("name", metavar="NAME", nargs="?", help="a data set to describe")
    p.set_defaults(run=run)


def run(args) -> int:
    from ...io import datasets
    from . import _common

    if args.name is None:
        rows = [[d.name, d.target, d.task,
                 d.description + ("" if datasets.available(d.name) else f" (needs {d.needs[1]})")]
                for d in datasets.DATASETS.values()]
        _common.print_table("built-in data sets (neuronlab datasets NAME tells more)",
                            ["name", "target", "task", "description"], rows)
        return 0
    info = datasets.info(args.name)  # an unknown name fails here, with the names listed
    print(datasets.card(args.name).rstrip())
    print(f"source: {info.source}")
    table = datasets.load_table(args.name)
    print(f"\n{table.num_rows} rows; first rows:")
    head = table.slice(0, 5).to_pydict()
    _common.print_table("", list(head), list(zip(*head.values())))
    return 0
