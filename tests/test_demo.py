"""`neuronlab demo`: three acts printed, a self-contained report whose every image decodes.

The one end-to-end test of the README's main command (a few seconds); its time is
measured in bench/bench_demo.py, not asserted here.
"""


import numpy as np
from test_report import check_images

from neuronlab.apps.cli import main
from neuronlab.apps.commands.demo import verdict_of as _verdict
from neuronlab.train.history import History


def test_demo_tells_three_acts_and_writes_the_report(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["demo", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for act in ("Act 1", "Act 2", "Act 3", "Act 4"):
        assert act in text
    for method in ("monte-carlo", "error-driven", "gradient (auto)"):
        assert method in text
    for verdict in ("crawls", "converges", "oscillates", "diverges"):
        assert verdict in text
    # gradient descent ends on the solution nearest the start (0, 0), the projection
    # (x, y) = 1492·(256, 212)/(256² + 212²) = (381952, 316304)/110480 = (3.45720, 2.86300)
    assert "3.4572     2.863" in text or "3.4572 2.863" in " ".join(text.split())
    html = (out / "index.html").read_text(encoding="utf-8")
    parser, sizes = check_images(html)
    assert len(sizes) == 11
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".png") == [
        "act1-race.png", "act2-boundaries.png", "act2-race.png", "act2-surface.png",
        "act3-learning-rates.png", "act3-lr-find.png", "act3-paths.png", "act4-boundaries.png", "act4-units.png"]


def test_demo_refuses_a_file_as_out(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("keep me")
    assert main(["demo", "--out", str(target)]) == 2
    assert "is a file" in capsys.readouterr().err
    assert target.read_text() == "keep me"


def history_of(losses):
    h = History()
    for t, v in enumerate(losses):
        h.append([0.0], v, 0.0, 0.0, 0.1, t + 1, 0.0)
    return h


def test_verdicts_read_off_the_loss_curve():
    assert _verdict(history_of([1.0, 0.9, 0.8, 0.7]), best_loss=0.1) == "crawls"
    assert _verdict(history_of([1.0, 0.2, 0.1, 0.1]), best_loss=0.1) == "converges"
    assert _verdict(history_of([1.0, 0.5, 0.7, 0.4, 0.6, 0.5]), best_loss=0.1) == "oscillates"
    assert _verdict(history_of([1.0, 30.0, 20.0, 40.0]), best_loss=0.1) == "diverges"
    assert _verdict(history_of([1.0, np.inf]), best_loss=0.1) == "diverges"


def test_the_demo_starts_where_train_starts_for_the_same_seed(tmp_path, capsys):
    """The demo's random weights are those `neuronlab train obesity --seed N` starts from (its
    trace's step 0), drawn by the same function."""
    import json

    from cli_helpers import run_cli

    from neuronlab.apps.commands.demo import obesity_problem

    for seed in (0, 7):
        trace = tmp_path / f"t{seed}.jsonl"
        code, _, err = run_cli(capsys, "train", "obesity", "--seed", seed, "--steps", 1, "--trace", trace, "--quiet")
        assert code == 0, err
        start = json.loads(trace.read_text().splitlines()[0])
        assert start["step"] == 0
        assert list(start["params"].values()) == obesity_problem(seed).theta0.tolist()
    assert obesity_problem(0).theta0.tolist() != obesity_problem(7).theta0.tolist()
