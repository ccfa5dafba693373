"""Live progress lines: shown without -s through the terminal reporter, evaluation lines only under -q."""
from __future__ import annotations

from pytest_snnbench.progress import Progress, _duration


class FakeTerminal:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def ensure_newline(self) -> None:
        pass

    def write_line(self, line: str) -> None:
        self.lines.append(line)


def test_lines_say_where_the_run_is_and_how_long_is_left() -> None:
    terminal = FakeTerminal()
    progress = Progress(terminal, "demo-training", target=0.9, budget=1000, interval=30)
    progress.started -= 10  # ten seconds in
    progress.evaluation(1, 250, 0.5)
    progress.step(1, 500)
    first, second = terminal.lines
    assert first.startswith("[snnbench] demo-training: epoch 1, 250 samples, 10s, validation accuracy 50.00% "
                            "(target 90.00%), 25.0 samples/s, ETA 30s to the end of the budget (1,000 samples)")
    assert "500 samples" in second and "ETA 10s" in second
    progress.evaluation(1, 1000, 0.95, split="test")
    assert terminal.lines[-1].endswith("test accuracy 95.00% (target 90.00%) reached, 100.0 samples/s")


def test_quiet_progress_only_reports_evaluations() -> None:
    progress = Progress(FakeTerminal(), "demo", interval=30, quiet=True)
    assert progress.next_due == float("inf")  # the loop never asks for a line between evaluations
    assert Progress(None, "demo").terminal is None


def test_durations_read_as_time() -> None:
    assert [_duration(s) for s in (4.4, 75, 3725)] == ["4s", "1m15s", "1h02m"]


def test_a_session_shows_progress_without_dash_s(toy_session) -> None:
    result = toy_session("-m", "training", "--snnbench-progress-every=0.000001")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*[[]snnbench[]] toy-training: epoch 1, 16 samples, *samples/s, ETA *",
                                 "*[[]snnbench[]] toy-training: epoch 1, 64 samples, *validation accuracy *(target 90.00%)*"])


def test_quiet_session_shows_only_the_evaluations(toy_session) -> None:
    result = toy_session("-q", "--snnbench-progress-every=0.000001")
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    assert "toy-training: epoch 1, 64 samples" in out and "accuracy" in out
    assert "toy-training: epoch 1, 16 samples" not in out  # no line between evaluations
    assert "[snnbench] toy-inference: 64 samples" in out
