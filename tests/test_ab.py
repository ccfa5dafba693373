"""snnbench-ab: the statistics that decide a time metric, the round order, and its arguments."""
from __future__ import annotations

import math

import pytest

from pytest_snnbench.ab import cli
from pytest_snnbench.ab.stats import bootstrap_ratio, decide, mann_whitney_greater


def test_mann_whitney_exact_p_values() -> None:
    # all of the first sample above all of the second: p = 1 / C(n + m, n)
    assert mann_whitney_greater([5, 6, 7, 8], [1, 2, 3, 4]) == pytest.approx(1 / 70)
    assert mann_whitney_greater([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]) == pytest.approx(1 / 252)
    assert mann_whitney_greater([1, 2, 3, 4], [5, 6, 7, 8]) == pytest.approx(1.0)
    # one swapped pair: U = n*m - 1, two orderings as extreme or more
    assert mann_whitney_greater([4.5, 6, 7, 8], [1, 2, 3, 5]) == pytest.approx(2 / 70)
    # ties fall back to the normal approximation, which stays in [0, 1] and orders the same way
    tied = mann_whitney_greater([2, 2, 3, 3], [1, 1, 2, 2])
    assert 0 < tied < 0.5


def test_a_clear_slowdown_is_a_regression_and_the_same_code_is_not() -> None:
    base = [1.00, 1.02, 0.99, 1.01, 1.00]
    slower = decide(base, [1.21, 1.19, 1.22, 1.20, 1.23], higher_is_better=False, min_effect=0.1, alpha=0.05)
    assert slower.verdict == "regression" and slower.regressed and slower.ratio == pytest.approx(1.21)
    low, high = slower.interval
    assert low <= slower.ratio <= high
    same = decide(base, [1.01, 0.99, 1.00, 1.02, 1.00], higher_is_better=False, min_effect=0.1, alpha=0.05)
    assert same.verdict == "no change"
    # throughput: higher is better, so a fall is the regression
    fell = decide([100, 101, 99, 100, 102], [80, 81, 79, 80, 82], higher_is_better=True, min_effect=0.1, alpha=0.05)
    assert fell.verdict == "regression"
    rose = decide([100, 101, 99, 100, 102], [130, 131, 129, 130, 132], higher_is_better=True, min_effect=0.1,
                  alpha=0.05)
    assert rose.verdict == "improvement"


def test_a_change_below_the_minimum_effect_or_without_significance_is_not_a_regression() -> None:
    small = decide([1.0, 1.01, 0.99, 1.0], [1.05, 1.06, 1.04, 1.05], higher_is_better=False, min_effect=0.1,
                   alpha=0.05)
    assert small.verdict == "no change"  # significant, but 5 % is below the 10 % that counts
    noisy = decide([1.0, 2.0, 0.5, 1.5], [1.3, 2.6, 0.6, 1.9], higher_is_better=False, min_effect=0.1, alpha=0.05)
    assert noisy.verdict == "too noisy"  # 30 % slower by the medians, but the spread hides it


def test_the_bootstrap_interval_is_reproducible() -> None:
    assert bootstrap_ratio([1, 2, 3], [2, 4, 6]) == bootstrap_ratio([1, 2, 3], [2, 4, 6])
    assert all(math.isnan(v) for v in bootstrap_ratio([0, 0], [1, 1]))


def test_rounds_alternate_in_pairs() -> None:
    assert cli.order(3) == ["base", "head", "head", "base", "base", "head"]
    assert cli.order(4).count("base") == cli.order(4).count("head") == 4


@pytest.mark.parametrize("argv, message", [
    (["main", "--rounds=1"], "at least 2"),
    (["main", "--alpha=1.5"], "--alpha must lie between 0 and 1"),
    (["main", "--head-env", "NOVALUE"], "give NAME=VALUE"),
    (["main", "--", "--benchmark-json=x.json"], "leave --benchmark-json out"),
])
def test_bad_arguments_are_explained(argv: list[str], message: str, capsys) -> None:
    with pytest.raises(SystemExit):
        cli.parse_arguments(argv)
    assert message in capsys.readouterr().err


def test_pytest_arguments_follow_the_double_dash() -> None:
    args, pytest_args = cli.parse_arguments(["origin/main", "HEAD", "--rounds=3", "--", "-m", "image", "-k", "x"])
    assert (args.base, args.head, args.rounds) == ("origin/main", "HEAD", 3)
    assert pytest_args == ["-m", "image", "-k", "x"]
    assert cli.parse_arguments(["HEAD~1"])[0].head == "HEAD"


def test_a_ref_that_does_not_exist_is_a_clear_error(tmp_path, capsys, monkeypatch) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["no-such-branch", "--work", str(tmp_path / "work")]) == 2
    assert "'no-such-branch' is not a commit" in capsys.readouterr().err


def test_the_test_only_slowdown_stretches_a_step_on_the_clock(monkeypatch) -> None:
    """SNNBENCH_TEST_SLOWDOWN=0.5: a step of 2 clock units is stretched to 3 (a fake clock, no timing)."""
    from pytest_snnbench import slowdown

    now = [0.0]

    def clock() -> float:
        now[0] += 0.25 if now[0] >= 2.0 else 0.0  # the spin loop's reads advance the fake clock
        return now[0]

    monkeypatch.setattr(slowdown.time, "perf_counter", clock)
    monkeypatch.setenv(slowdown.VARIABLE, "0.5")
    with slowdown.stretched():
        now[0] = 2.0  # the step took 2 units
    assert now[0] >= 3.0
    monkeypatch.setenv(slowdown.VARIABLE, "fast")
    with pytest.raises(ValueError, match="give a fraction such as 0.2"):
        slowdown.fraction()
    monkeypatch.delenv(slowdown.VARIABLE)
    assert slowdown.fraction() == 0.0


def test_rounds_collect_each_sides_time_metrics_in_order(tmp_path, monkeypatch) -> None:
    import json
    from pathlib import Path

    ran = []

    def fake_run(side, pytest_args, output: Path, extra_env) -> int:
        ran.append((side.ref, output.name))
        value = 2.0 if extra_env else 1.0
        output.write_text(json.dumps({"benchmarks": [{"name": "test_x", "extra_info": {"inference_seconds": value + len(ran) / 100}}]}))
        return 0

    monkeypatch.setattr(cli, "run_once", fake_run)
    sides = {name: cli.Side(name, name * 5, tmp_path, tmp_path, tmp_path) for name in ("base", "head")}
    samples, failed = cli.run_rounds(sides, {"base": {}, "head": {"SLOW": "1"}}, [], 2, tmp_path, prefix="t-", say=False)
    assert [name for name, _ in ran] == ["base", "head", "head", "base"] and ran[0][1] == "t-round-00-base.json"
    assert samples["base"][("test_x", "inference_time")] == [1.01, 1.04]
    assert samples["head"][("test_x", "inference_time")] == [2.02, 2.03] and failed == {"base": 0, "head": 0}
    [(key, decision)] = cli.decide_all(samples["base"], samples["head"], 0.1, 0.05).items()
    assert key == ("test_x", "inference_time") and decision.ratio > 1.9


def test_inference_passes_are_added_only_when_both_refs_know_the_option(tmp_path) -> None:
    from pathlib import Path

    def side(name: str, knows: bool) -> cli.Side:
        tree = tmp_path / name
        (tree / "pytest_snnbench").mkdir(parents=True)
        (tree / "pytest_snnbench" / "options.py").write_text(cli.PASSES_OPTION if knows else "old options")
        return cli.Side(name, name, tree, tree, Path("python"))

    new, old = side("new", True), side("old", False)
    args, note = cli.with_passes({"base": new, "head": new}, ["-k", "x"], 4)
    assert args == ["-k", "x", f"{cli.PASSES_OPTION}=4"] and "fastest of 4" in note
    args, note = cli.with_passes({"base": old, "head": new}, ["-k", "x"], 4)
    assert args == ["-k", "x"] and "old has no" in note  # both sides timed alike
    given = [f"{cli.PASSES_OPTION}=2"]
    assert cli.with_passes({"base": new, "head": new}, given, 4)[0] == given
