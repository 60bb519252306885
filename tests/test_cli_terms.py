"""What reaches the command line names command-line options, never Python parameters.

The library's messages speak Python (``drop_missing=True``, ``features=['a', 'b']``,
``val_split=0``, ``learning_rate ≈ 2.6``), which is what a Python user can type; the CLI rewrites
them in one place (``apps.commands._common.in_cli_terms``).  Each message is triggered here from
the command line, and a suggested command is pasted back to check that it works.
"""

import re
import shlex

import pytest
from cli_helpers import run_cli

from neuronlab.apps.commands._common import CLI_OPTIONS, in_cli_terms
from neuronlab.io.tables import load_dataset

#: a Python parameter, named alone or as name=value
PYTHON_NAME = re.compile(rf"\b({'|'.join(CLI_OPTIONS)})=|\b({'|'.join(n for n in CLI_OPTIONS if '_' in n)})\b")


def python_names(text: str) -> list[str]:
    """Python parameters named in ``text`` (a status such as 'status: max_steps after' is not one)."""
    found = [m.group(0) for m in PYTHON_NAME.finditer(text)]
    return [name for name in found if not re.search(rf"status: {re.escape(name)}\b", text)]


def one_error(capsys, *argv) -> str:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("neuronlab: error: "), err
    assert python_names(err) == [], err
    return err


def test_missing_values_suggest_the_option_on_the_command_line_and_the_keyword_in_python(tmp_path, capsys):
    path = tmp_path / "holes.csv"
    path.write_text("a,b,y\n1,2,0\n2,,1\n3,1,0\n4,5,1\n5,3,0\n6,1,1\n")
    err = one_error(capsys, "train", path, "--target", "y", "--quiet")
    assert "drop those rows with --drop-missing" in err
    with pytest.raises(ValueError, match=r"drop those rows with drop_missing=True$"):
        load_dataset(str(path), "y")


def test_a_suggested_column_list_with_spaces_is_quoted_and_pastes(tmp_path, capsys):
    path = tmp_path / "people.csv"
    path.write_text("body mass,height cm,name,y\n" + "".join(
        f"{60 + 7 * k},{150 + (k * 13) % 40},p{k},{k % 2}\n" for k in range(12)))
    err = one_error(capsys, "train", path, "--target", "y", "--quiet")
    suggestion = re.search(r"e\.g\. (--features .*)$", err.strip()).group(1)
    assert suggestion == "--features 'body mass,height cm'"
    # pasted into a shell, it is one argument again
    argv = shlex.split(f"neuronlab train {path} --target y {suggestion} --steps 5 --quiet")
    code, out, err = run_cli(capsys, *argv[1:])
    assert code == 0, err
    with pytest.raises(ValueError, match=r"e\.g\. features=\['body mass', 'height cm'\]$"):
        load_dataset(str(path), "y")


def test_text_target_regressed_names_the_task_option(tmp_path, capsys):
    err = one_error(capsys, "train", "obesity", "--task", "regress", "--quiet")
    assert "it can only be classified (--task classify)" in err


def test_a_column_named_twice_names_the_features_option(capsys):
    err = one_error(capsys, "train", "obesity", "--features", "height,height", "--quiet")
    assert "--features height,height lists a column twice" in err


def test_the_validation_split_errors_name_the_option(tmp_path, capsys):
    path = tmp_path / "few.csv"
    path.write_text("x,label\n" + "".join(f"{k},{c}\n" for k, c in enumerate(["no"] * 7 + ["yes"])))
    err = one_error(capsys, "train", path, "--target", "label", "--quiet")
    assert "give more rows of it or --val-split 0" in err
    path.write_text("x,y\n1,1.5\n2,2.5\n3,0.5\n")
    err = one_error(capsys, "train", path, "--target", "y", "--task", "regress", "--val-split", "0.5", "--quiet")
    assert "use more data or a smaller --val-split" in err


def test_lr_find_range_errors_name_its_options(capsys):
    err = one_error(capsys, "lr-find", "obesity", "--min-lr", "10", "--max-lr", "1")
    assert "--min-lr 10 must be below --max-lr 1" in err
    err = one_error(capsys, "lr-find", "obesity", "--steps", "2")
    assert "--steps 2 is too few to draw a curve; give --steps 5 or more" in err


def test_a_status_that_suggests_a_learning_rate_names_lr(capsys):
    code, out, err = run_cli(capsys, "train", "obesity", "--lr", "1e-6", "--quiet")
    status = next(line for line in out.splitlines() if line.startswith("status:"))
    assert code == 0 and status.startswith("status: stalled") and re.search(r"try --lr ≈ [\d.]+", status), status
    assert python_names(status) == [], status


def test_the_rewriting_leaves_everything_else_alone():
    assert in_cli_terms("status: max_steps after 3 steps — stopped after max_steps = 3 iterations") == (
        "status: max_steps after 3 steps — stopped after --steps 3 iterations")
    assert in_cli_terms("η=0.6; the loss = 3; tol 1e-06; standardize=False; schedule='step'") == (
        "η=0.6; the loss = 3; tol 1e-06; --no-standardize; --schedule step")
