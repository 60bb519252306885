"""How ``neuronlab train`` behaves when SIGINT or SIGTERM reaches it mid-run.

The requirement (from the project's issues): SIGINT or SIGTERM sent to
``neuronlab train`` on a 300,000 × 20 CSV at ten moments between 0.2 s and 15 s
gives ten clean exits — no traceback, one line of message, each model file either
absent (interrupted before training began) or valid JSON whose ``training.status``
is ``interrupted`` — and ``--resume`` finishes from each model file.  A second
issue asks the same of 20 SIGINT and 10 SIGTERM at random moments.

Each trial starts ``neuronlab train DATA.csv --target y --out MODEL.json --steps
100000 --seed 0`` in a fresh folder (the ``neuronlab`` next to this Python, so the
virtualenv's CLI runs), sends the signal at its moment, waits for the exit (a run
still alive after --timeout seconds is a hang: it is killed and the trial fails),
then checks stderr and the model file.  When a model file exists it resumes it
with a step budget a few steps above the steps already done, so that it finishes
quickly, and checks that this exits 0.

A trial is clean when the run did not hang and printed no traceback; it either
exited by itself with a non-zero status (130 is the documented status of an
interruption; being killed by the signal is not a clean exit) or had finished
normally before its moment (exit status 0 after a signal means the signal was
ignored: not clean); its model file is absent — allowed only when no progress
line was printed, since train prints one at step 0 and a progress line shows
that training had begun — or valid JSON whose training.status is ``interrupted``
or a finished status; and when a model file exists, its resume exited 0.  The
trials that ended with exactly one line on stderr apart from the progress lines
(the issues' "one line") are counted on a line of their own.

The data (logistic: y = 1 when x·w + noise > 0) is generated once and cached in
--folder.  Run it with the project's virtualenv:

    .venv/bin/python bench/signals.py                      # ten moments, SIGINT then SIGTERM
    .venv/bin/python bench/signals.py --signal INT         # ten moments, SIGINT only
    .venv/bin/python bench/signals.py --signal INT --random 20 --seed 1
    .venv/bin/python bench/signals.py --signal TERM --random 10 --seed 2
    .venv/bin/python bench/signals.py --plan INT=20,TERM=10,HUP=5 --seed 3   # the issue's 30, and SIGHUP

It prints one row per trial and "N clean of M"; the exit status is 0 when every
trial is clean, else 1.  It takes minutes (each trial reads 300,000 rows and
trains for up to 15 s, then resumes), which is why it is not part of ``make test``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

CLI = Path(sys.executable).parent / "neuronlab"
FIRST_MOMENT, LAST_MOMENT = 0.2, 15.0  # seconds after the start
DEFAULT_MOMENTS = 10
STEPS = 100_000  # never reached: on the default data the run converges (--tol) 20-40 s in, after the last moment
RESUME_EXTRA_STEPS = 5
DATA_SEED = 0
SIGNALS = {"INT": signal.SIGINT, "TERM": signal.SIGTERM, "HUP": signal.SIGHUP}
PROGRESS_LINE = re.compile(r"^step \d+/\d+\s+loss ")  # what train prints while it learns
FINISHED_STATUSES = ("converged", "max_steps")
LAST_LINE_WIDTH = 100


# --- the data -----------------------------------------------------------------------------------
def data_file(folder: Path, rows: int, columns: int) -> Path:
    """The cached CSV of ``rows`` × ``columns`` features x1..xN and a 0/1 target y, made on first use."""
    path = folder / f"signals-{rows}x{columns}-seed{DATA_SEED}.csv"
    if not path.exists():
        partial = path.with_suffix(".partial")
        write_logistic_csv(partial, rows, columns)
        partial.replace(path)  # a run stopped while writing leaves no truncated cache behind
    return path


def write_logistic_csv(path: Path, rows: int, columns: int) -> None:
    """Logistic data: x ~ N(0, I), y = 1 when x·w_true + noise > 0."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(DATA_SEED)
    X = rng.standard_normal((rows, columns))
    w_true = rng.standard_normal(columns)
    y = (X @ w_true + rng.logistic(size=rows) > 0).astype(np.int64)
    table = {f"x{j + 1}": X[:, j] for j in range(columns)}
    table["y"] = y
    pcsv.write_csv(pa.table(table), path)


# --- one trial ------------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What a run of ``neuronlab train`` left behind."""

    exit_status: Optional[int]  # None: it hung and was killed
    stderr: str
    model: Optional[dict]  # the parsed model file
    model_state: str  # absent | invalid JSON | the file's training.status


@dataclass
class Trial:
    signal_name: str
    moment: float
    signalled: bool  # False: the run had already ended at the moment
    run: Outcome
    resume: Optional[Outcome]  # None: no model file, or one without training.steps_done

    @property
    def hung(self) -> bool:
        return self.run.exit_status is None

    @property
    def traceback(self) -> bool:
        return "Traceback" in self.run.stderr

    @property
    def progress_lines(self) -> int:
        return sum(1 for line in self.run.stderr.splitlines() if PROGRESS_LINE.match(line))

    @property
    def message_lines(self) -> list[str]:
        return [line for line in self.run.stderr.splitlines() if line.strip() and not PROGRESS_LINE.match(line)]

    @property
    def clean(self) -> bool:
        status = self.run.exit_status
        finished_first = status == 0 and not self.signalled and self.run.model_state in FINISHED_STATUSES
        exit_ok = finished_first or status is not None and status > 0
        if self.run.model_state == "absent":
            model_ok = self.progress_lines == 0  # training had not begun
        else:
            model_ok = self.run.model_state == "interrupted" or self.run.model_state in FINISHED_STATUSES
        resume_ok = self.run.model_state == "absent" or self.resume is not None and self.resume.exit_status == 0
        return not self.hung and not self.traceback and exit_ok and model_ok and resume_ok


def run_trial(data: Path, folder: Path, signal_name: str, moment: float, timeout: float) -> Trial:
    """Train in a fresh folder, send the signal at ``moment`` seconds, then resume what was saved."""
    with tempfile.TemporaryDirectory(dir=folder, prefix="trial-") as work:
        model_path = Path(work) / "MODEL.json"
        command = ["train", str(data), "--target", "y", "--out", str(model_path), "--steps", str(STEPS), "--seed", "0"]
        run, signalled = run_cli(command, Path(work), model_path, timeout, SIGNALS[signal_name], moment)
        resume = resume_model(data, model_path, run.model, Path(work), timeout)
        return Trial(signal_name, moment, signalled, run, resume)


def resume_model(data: Path, model_path: Path, model: Optional[dict], work: Path, timeout: float) -> Optional[Outcome]:
    """``--resume`` the model file with a budget a few steps above the steps it has done;
    None when there is no model, or it does not say how many steps it has done."""
    training = model.get("training") if isinstance(model, dict) else None
    steps_done = training.get("steps_done") if isinstance(training, dict) else None
    if not isinstance(steps_done, int):
        return None
    command = ["train", str(data), "--target", "y", "--resume", str(model_path), "--out", str(model_path),
               "--steps", str(steps_done + RESUME_EXTRA_STEPS), "--quiet"]
    outcome, _ = run_cli(command, work, model_path, timeout)
    return outcome


def run_cli(command: list[str], work: Path, model_path: Path, timeout: float,
            signum: Optional[int] = None, moment: float = 0.0) -> tuple[Outcome, bool]:
    """Run ``neuronlab COMMAND`` with stdout and stderr in files of ``work`` (no pipe to fill up),
    send ``signum`` ``moment`` seconds after the start when given, and wait at most ``timeout``
    seconds after that; then read ``model_path``.  Returns the outcome and whether the signal
    was sent (False when the run had already ended)."""
    name = "resume" if "--resume" in command else "train"
    stdout_path, stderr_path = work / f"{name}.stdout", work / f"{name}.stderr"
    with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
        started = time.monotonic()
        process = subprocess.Popen([str(CLI), *command], stdout=stdout, stderr=stderr, cwd=work)
        signalled = False
        if signum is not None:
            time.sleep(max(0.0, started + moment - time.monotonic()))
            if process.poll() is None:
                os.kill(process.pid, signum)
                signalled = True
        try:
            exit_status = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            exit_status = None
    model, model_state = read_model(model_path)
    return Outcome(exit_status, stderr_path.read_text(errors="replace"), model, model_state), signalled


def read_model(path: Path) -> tuple[Optional[dict], str]:
    """The parsed model file and its state: absent, invalid JSON, or its training.status."""
    if not path.exists():
        return None, "absent"
    try:
        model = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, "invalid JSON"
    training = model.get("training") if isinstance(model, dict) else None
    status = training.get("status") if isinstance(training, dict) else None
    return model, status if isinstance(status, str) else "no training.status"


# --- moments and the table --------------------------------------------------------------------------
def spread_moments(count: int) -> list[float]:
    """``count`` moments from FIRST_MOMENT to LAST_MOMENT, geometrically spaced (dense early,
    where reading the data, starting up and the first steps happen)."""
    return np.geomspace(FIRST_MOMENT, LAST_MOMENT, count).tolist()


def random_moments(count: int, rng: np.random.Generator, low: float = FIRST_MOMENT,
                   high: float = LAST_MOMENT) -> list[float]:
    return sorted(rng.uniform(low, high, count).tolist())


def describe_exit(status: Optional[int], signalled: bool = False) -> str:
    if status == 0 and signalled:
        return "0 (ignored it)"
    if status is None:
        return "hang"
    if status < 0:
        return f"killed ({signal.Signals(-status).name})"
    return str(status)


def describe_resume(trial: Trial) -> str:
    if trial.resume is None:
        return "-" if trial.run.model_state == "absent" else "not run"
    resume = trial.resume
    return f"exit {describe_exit(resume.exit_status)}, {resume.model_state}"


def describe_model(trial: Trial) -> str:
    state = trial.run.model_state
    if state == "absent" and trial.progress_lines:
        return "absent (had begun)"
    return state


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    line = lines[-1].strip() if lines else ""
    return line if len(line) <= LAST_LINE_WIDTH else line[:LAST_LINE_WIDTH - 1] + "…"


COLUMNS = [("signal", 7), ("moment", 7), ("exit", 16), ("traceback", 9), ("lines", 5),
           ("model", 20), ("resume", 24), ("clean", 5), ("stderr's last line", 0)]


def table_row(values: list[str]) -> str:
    return "  ".join(value.ljust(width) if width else value for value, (_, width) in zip(values, COLUMNS))


def trial_row(trial: Trial) -> str:
    moment = f"{trial.moment:.2f}" + ("" if trial.signalled else "*")
    return table_row([
        f"SIG{trial.signal_name}", moment, describe_exit(trial.run.exit_status, trial.signalled),
        "yes" if trial.traceback else "no", str(len(trial.message_lines)), describe_model(trial), describe_resume(trial),
        "yes" if trial.clean else "NO", last_line(trial.run.stderr),
    ])


# --- the command ---------------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signal", choices=("INT", "TERM", "HUP", "both"), default="both",
                        help="which signal to send (default both: every moment with SIGINT, then with SIGTERM)")
    parser.add_argument("--plan", metavar="SIG=N,…",
                        help="N random moments for each signal named, e.g. INT=20,TERM=10,HUP=5 "
                        "(instead of --signal and --random)")
    parser.add_argument("--random", type=int, metavar="N",
                        help=f"N moments drawn uniformly in [{FIRST_MOMENT}, {LAST_MOMENT}] s per signal, "
                        f"instead of {DEFAULT_MOMENTS} spread geometrically")
    parser.add_argument("--moments", metavar="LOW:HIGH", default=f"{FIRST_MOMENT}:{LAST_MOMENT}",
                        help="the interval (seconds after the start) random moments are drawn from "
                        f"(default {FIRST_MOMENT}:{LAST_MOMENT}; on a loaded machine start-up and reading take "
                        "longer, and a later interval reaches the training)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the --random moments (default 0)")
    parser.add_argument("--rows", type=int, default=300_000, help="rows of the data (default 300000)")
    parser.add_argument("--columns", type=int, default=20, help="feature columns of the data (default 20)")
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "neuronlab-bench-signals",
                        help="where the data is cached and the trials run (default: a folder in the temp dir)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds a run may take after its signal before it counts as a hang (default 120)")
    args = parser.parse_args(argv)

    args.folder.mkdir(parents=True, exist_ok=True)
    data = data_file(args.folder, args.rows, args.columns)
    rng = np.random.default_rng(args.seed)
    signal_names = ["INT", "TERM"] if args.signal == "both" else [args.signal]
    counts = {name: args.random for name in signal_names}
    if args.plan:
        counts = {}
        for item in args.plan.split(","):
            name, _, count = item.partition("=")
            if name.strip().upper() not in SIGNALS or not count.strip().isdigit():
                parser.error(f"--plan {args.plan!r}: write SIG=N,… with SIG one of {', '.join(SIGNALS)}")
            counts[name.strip().upper()] = int(count)
        signal_names = list(counts)
    print(f"{CLI} train {data} ({args.rows} rows × {args.columns} features), --steps {STEPS}")
    print(table_row([name for name, _ in COLUMNS]))
    trials = []
    for signal_name in signal_names:
        low, _, high = args.moments.partition(":")
        moments = (random_moments(counts[signal_name], rng, float(low), float(high)) if counts[signal_name]
                   else spread_moments(DEFAULT_MOMENTS))
        for moment in moments:
            trial = run_trial(data, args.folder, signal_name, moment, args.timeout)
            print(trial_row(trial), flush=True)
            trials.append(trial)
    if not all(trial.signalled for trial in trials):
        print("* the run had already ended at that moment: no signal was sent")
    one_line = sum(len(trial.message_lines) == 1 for trial in trials)
    print(f"{one_line} of {len(trials)} ended with one line on stderr apart from the progress lines")
    clean = sum(trial.clean for trial in trials)
    print(f"{clean} clean of {len(trials)}")
    return 0 if clean == len(trials) else 1


if __name__ == "__main__":
    sys.exit(main())
