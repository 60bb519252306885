"""README.md, pasted as a newcomer pastes it: every code block that is meant to run is run, in the
order the README shows it, in one fresh folder, and what it prints is compared with what the README
says it prints.

The convention is the language of each block's fence (the README repeats it in a comment at its top):

- ``console`` — a transcript.  Each line ``$ COMMAND`` is run by bash in the fresh folder, with the
  virtual environment's ``bin`` folder first on PATH (what ``. .venv/bin/activate`` does), so
  ``neuronlab`` is the installed command.  The lines after it, up to the next ``$`` line, are its
  output (stdout and stderr together, as a terminal shows them) and must match.  Its exit status
  is 2 when that output is ``neuronlab: error: …``, else 0 or 1 (``solve``: no method reached its
  tolerance).
- ``bash`` — commands to paste whose output the README does not show, one per line (``#`` starts
  a comment).  Each is run the same way and must exit with status 0.
- ``python`` — run statement by statement in one namespace for the whole README (as one Python
  session: a block may use what an earlier block imported or made), in the same folder.  An
  expression followed by a comment (on its line, or on the comment lines right after it, read as
  one line joined by spaces) shows its value: the comment must begin with ``repr(value)``,
  followed by nothing or by ``:``/space and words about it (runs of white space count as one
  space, so a multi-line repr is written on one line).  An expression whose value is None
  (``print(…)``, ``save(…)``) has words, not a value, in its comment.  No warning may be raised.
- ``text`` — shown, never run: diagrams, and the commands that this test must not run
  (``make test`` runs this test; ``make demo`` installs).

A fence with any other language, or none, fails the test: every block says which it is.

Normalised before comparing, and nothing else: durations (``0.15s``, ``50.8 ms``, ``356 µs``, the
``time_seconds`` of a model) vary from run to run, and so do the widths of the table columns
that hold them, so runs of spaces count as one space and trailing spaces are dropped.  A command
shown twice (the tour's ``neuronlab demo`` and the demo's transcript) is run once.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import io
import os
import re
import shutil
import subprocess
import sys
import tokenize
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
RUN = {"console", "bash", "python"}
LANGUAGES = RUN | {"text"}
FENCE = re.compile(r"^```(.*)$")

#: a duration: 0.15s, 2.00s, 50.8 ms, 356 µs, 6.2 s — and a model's time_seconds
DURATION = re.compile(r"\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\s?(?:s|ms|µs|us|ns)\b")
TIME_SECONDS = re.compile(r"(time_seconds\W+)\d+(?:\.\d+)?(?:e[+-]?\d+)?")


@dataclass
class Block:
    language: str
    line: int  # README line of the first line inside the fence
    lines: list = field(default_factory=list)


def readme_blocks(text: str) -> list[Block]:
    blocks, current = [], None
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if current is None and match:
            current = Block(match.group(1).strip(), number + 1)
        elif current is not None and line.rstrip() == "```":
            blocks.append(current)
            current = None
        elif current is not None:
            current.lines.append(line)
    assert current is None, f"README.md: the block opened at line {current.line - 1} is never closed"
    return blocks


def normalise(text: str) -> list[str]:
    text = TIME_SECONDS.sub(r"\1<time>", DURATION.sub("<time>", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


# --- console blocks ---------------------------------------------------------------------------
@dataclass
class Command:
    text: str
    line: int
    output: list = field(default_factory=list)  # None: the README shows no output (a bash block)


def console_commands(block: Block) -> list[Command]:
    commands = []
    for offset, line in enumerate(block.lines):
        if line.startswith("$ "):
            commands.append(Command(line[2:], block.line + offset))
        elif commands:
            commands[-1].output.append(line)
        elif line.strip():
            raise AssertionError(f"README.md line {block.line + offset}: output before the first '$ ' "
                                 "command of a console block")
    return commands


def bash_commands(block: Block) -> list[Command]:
    return [Command(line, block.line + offset, None) for offset, line in enumerate(block.lines)
            if line.strip() and not line.lstrip().startswith("#")]


def _without_comment(command: str) -> str:
    return re.sub(r"\s{2,}#.*$", "", command).strip()


# --- python blocks ----------------------------------------------------------------------------
@dataclass
class Statement:
    node: ast.stmt
    shown: str | None  # the value the README shows for it, or None


def python_statements(block: Block) -> list[Statement]:
    source = "\n".join(block.lines) + "\n"
    tree = ast.parse(source, filename="README.md")
    lines = source.splitlines()
    trailing, whole_line = {}, {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            row, col = token.start
            text = token.string[1:].strip()
            (whole_line if not lines[row - 1][:col].strip() else trailing)[row] = text
    statements = []
    for node in tree.body:
        shown = None
        if isinstance(node, ast.Expr):
            parts = [trailing[node.end_lineno]] if node.end_lineno in trailing else []
            row = node.end_lineno + 1
            while row in whole_line:
                parts.append(whole_line[row])
                row += 1
            shown = " ".join(parts) or None
        ast.increment_lineno(node, block.line - 1)
        statements.append(Statement(node, shown))
    return statements


def shows(shown: str, value) -> bool:
    """Whether the README's comment ``shown`` begins with repr(value) (then words about it)."""
    text, shown = " ".join(repr(value).split()), " ".join(shown.split())  # a repr may span lines
    return shown == text or (shown.startswith(text) and shown[len(text)] in ": ")


# --- running ----------------------------------------------------------------------------------
class Session:
    """One newcomer's folder, shell and Python session."""

    def __init__(self, folder: Path, bin_dir: Path):
        self.folder = folder
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")}
        self.env["PATH"] = f"{bin_dir}{os.pathsep}{self.env.get('PATH', '')}"
        self.namespace = {"__name__": "__readme__"}
        self.ran: dict[str, subprocess.CompletedProcess] = {}
        self.failures: list[str] = []

    def fail(self, line: int, what: str) -> None:
        self.failures.append(f"README.md line {line}: {what}")

    def shell(self, command: Command) -> None:
        key = _without_comment(command.text)
        run = self.ran.get(key)
        if run is None:
            run = subprocess.run(["bash", "-c", command.text], cwd=self.folder, env=self.env,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, timeout=300)
            self.ran[key] = run
        if command.output is None:
            if run.returncode != 0:
                self.fail(command.line, f"`{command.text}` exited with status {run.returncode}:\n"
                                        f"{run.stdout[-2000:]}")
            return
        expected, actual = normalise("\n".join(command.output)), normalise(run.stdout)
        if expected != actual:
            diff = "\n".join(difflib.unified_diff(expected, actual, "README", "run", lineterm="", n=1))
            self.fail(command.line, f"`{command.text}` prints something else (normalised):\n{diff}")
        error = bool(expected) and expected[0].startswith("neuronlab: error:")
        if (run.returncode == 2) != error or run.returncode not in (0, 1, 2):
            self.fail(command.line, f"`{command.text}` exited with status {run.returncode}")

    def python(self, statement: Statement) -> None:
        node, line = statement.node, statement.node.lineno
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("always")
            if isinstance(node, ast.Expr):
                value = eval(compile(ast.Expression(node.value), "README.md", "eval"), self.namespace)
            else:
                exec(compile(ast.Module([node], type_ignores=[]), "README.md", "exec"), self.namespace)
                value = None
        for w in caught:
            self.fail(line, f"a warning the README does not show: {w.category.__name__}: {w.message}")
        if statement.shown is not None and value is not None and not shows(statement.shown, value):
            self.fail(line, f"{ast.unparse(node)}\n  README shows: {statement.shown}\n"
                            f"  it gives:     {value!r}")


def test_every_block_says_whether_it_runs():
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    unmarked = [f"line {b.line - 1}: ```{b.language}" for b in blocks if b.language not in LANGUAGES]
    assert unmarked == [], f"README.md blocks without one of {sorted(LANGUAGES)}: {unmarked}"
    assert sum(b.language in RUN for b in blocks) >= 10  # the README is mostly things to paste


def test_the_conventions_are_read_as_documented():
    block = Block("python", 10, ["x = [1, 2]", "x   # [1, 2]: a list", "len(x)", "# 2", "print(x)  # words"])
    shown = [s.shown for s in python_statements(block)]
    assert shown == [None, "[1, 2]: a list", "2", "words"]
    assert python_statements(block)[1].node.lineno == 11  # README line numbers in tracebacks
    assert shows("[1, 2]: a list", [1, 2]) and not shows("[1, 2]", [1, 2, 3]) and not shows("0.55", 0.5)
    transcript = Block("console", 1, ["$ neuronlab x  # note", "out 1", "", "$ true"])
    first, second = console_commands(transcript)
    assert (first.text, first.output, second.output) == ("neuronlab x  # note", ["out 1", ""], [])
    assert _without_comment(first.text) == "neuronlab x"
    assert normalise("a  b   \nstep 1 elapsed 0.15s\n t 50.8 ms 356 µs\n time_seconds   2.005\n\n") == [
        "a b", "step 1 elapsed <time>", "t <time> <time>", "time_seconds <time>"]


def test_readme_runs_as_pasted(tmp_path, monkeypatch):
    bin_dir = Path(sys.executable).parent
    missing = [name for name in ("neuronlab",) if not (bin_dir / name).exists()]
    if shutil.which("bash") is None:
        missing.append("bash")
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"needs {', '.join(missing)} (in {bin_dir} / on PATH)")
        pytest.skip(f"needs {', '.join(missing)}")
    text = README.read_text(encoding="utf-8")
    # the note that makes `neuronlab` reachable: what this test does to PATH
    assert ".venv/bin/activate" in text and ".venv/bin/neuronlab" in text
    folder = tmp_path / "newcomer"
    folder.mkdir()
    monkeypatch.chdir(folder)
    session = Session(folder, bin_dir)
    counts = {"console": 0, "bash": 0, "python": 0}
    for block in readme_blocks(text):
        if block.language == "console":
            for command in console_commands(block):
                session.shell(command)
                counts["console"] += 1
        elif block.language == "bash":
            for command in bash_commands(block):
                session.shell(command)
                counts["bash"] += 1
        elif block.language == "python":
            for statement in python_statements(block):
                try:
                    session.python(statement)
                except Exception as e:  # noqa: BLE001 - report it with its README line, go on
                    session.fail(statement.node.lineno, f"{ast.unparse(statement.node)}\n  raised "
                                                        f"{type(e).__name__}: {e}")
                counts["python"] += 1
    assert not session.failures, "\n\n".join(session.failures)
    assert all(counts.values()), counts
