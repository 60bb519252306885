#!/usr/bin/env bash
# Do the command line's outputs stay the same across a change?  Runs the same commands
# (solve, train with nine strategy settings, lr-find, demo) with the code of a base revision and
# with the working tree (or a second revision), then diffs each output with timings removed.
#
#   bash scripts/compare_outputs.sh [BASE_REV [HEAD_REV]]   (default 5d57a43, the commit before
#                                                              engine v2, against the working tree)
#
# Uses .venv/bin/python; the base revision is checked out in a temporary git worktree, removed at
# the end.  Prints "same: NAME" or the diff of each output; exit status 0.
set -u
BASE=${1:-5d57a43}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY="$ROOT/.venv/bin/python"
WORK=$(mktemp -d)
trap 'git -C "$ROOT" worktree remove --force "$WORK/base" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
git -C "$ROOT" worktree add -q --detach "$WORK/base" "$BASE"
# the module that runs the CLI: neuronlab.cli before the move into layers, neuronlab after
module_of() { if [ -f "$1/neuronlab/cli.py" ]; then echo neuronlab.cli; else echo neuronlab; fi; }
HEAD_SRC="$ROOT/src"
if [ $# -ge 2 ]; then
    git -C "$ROOT" worktree add -q --detach "$WORK/head" "$2"
    HEAD_SRC="$WORK/head/src"
    trap 'git -C "$ROOT" worktree remove --force "$WORK/base" >/dev/null 2>&1;
          git -C "$ROOT" worktree remove --force "$WORK/head" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
fi

run() {  # run SRC OUT MODULE: every command, each output to its own file in OUT
    local src=$1 out=$2 mod=$3
    mkdir -p "$out" && cd "$out" || exit 1
    export PYTHONPATH=$src
    "$PY" -m "$mod" solve "256x + 212y = 1492" > solve.txt 2>&1
    "$PY" -m "$mod" solve "256x + 212y = 1492" --json > solve.json 2>&1
    "$PY" -m "$mod" train obesity --out m.json > train.txt 2>&1
    for s in adam:"--batch-size 32 --steps 50" lbfgs: line_search: monte_carlo: error_driven: \
             perceptron:"--activation step --loss squared_error"; do
        "$PY" -m "$mod" train obesity --strategy "${s%%:*}" ${s#*:} --json --out "m_${s%%:*}.json" \
            > "train_${s%%:*}.json" 2>&1
    done
    "$PY" -m "$mod" train obesity --lr 50 --json --out m_div.json > train_div.json 2>&1
    "$PY" -m "$mod" train obesity --lr 50 --recover --json --out m_rec.json > train_rec.json 2>&1
    "$PY" -m "$mod" lr-find obesity > lrfind.txt 2>&1
    "$PY" -m "$mod" solve "x^2 + y^2 = 25" "x - y = 1" > solve2.txt 2>&1
    "$PY" -m "$mod" demo --out demo_out > demo.txt 2>&1
    unset PYTHONPATH
}

run "$WORK/base/src" "$WORK/before" "$(module_of "$WORK/base/src")"
run "$HEAD_SRC" "$WORK/after" "$(module_of "$HEAD_SRC")"
untimed() {  # timings and elapsed columns differ from run to run
    sed -E 's/[0-9]+(\.[0-9]+)? ?(s|ms|µs)\b|"(time_seconds|elapsed)": (\[[^]]*\]|[0-9.e+-]+)//g; s/ +/ /g' "$1"
}
for f in "$WORK"/before/*.txt "$WORK"/before/*.json; do
    name=$(basename "$f")
    if diff <(untimed "$f") <(untimed "$WORK/after/$name") > "$WORK/diff"; then
        echo "same: $name"
    else
        echo "differs: $name"; head -20 "$WORK/diff"
    fi
done
