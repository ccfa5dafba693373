"""Thread and device sweeps, seeds and repeats: one record per value, each with its own settings."""
from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_snnbench.repeatability import first_difference, mlperf_time_to_target, spread
from tests.conftest import REPO, read_records, snnbench_args


def test_intra_op_sweep_runs_each_value_in_this_process(toy_session, pytester: pytest.Pytester) -> None:
    result = toy_session("--intra-op-threads=1,2", "--benchmark-json=out.json")
    result.assert_outcomes(passed=4)
    records = read_records(pytester.path / "out.json")
    assert sorted(records) == ["test_toy_inference[intra1]", "test_toy_inference[intra2]",
                               "test_toy_training[intra1]", "test_toy_training[intra2]"]
    assert records["test_toy_training[intra2]"]["intra_op_threads"] == 2
    assert records["test_toy_training[intra1]"]["intra_op_threads"] == 1


def test_inter_op_sweep_runs_each_value_in_a_fresh_process(toy_session, pytester: pytest.Pytester) -> None:
    result = toy_session("--inter-op-threads=1,3", "-m", "training", "--benchmark-json=out.json")
    result.assert_outcomes(passed=2)
    records = read_records(pytester.path / "out.json")
    assert {name: r["inter_op_threads"] for name, r in records.items()} == \
        {"test_toy_training[inter1]": 1, "test_toy_training[inter3]": 3}
    assert all(r["process"] == "own process" and r["inter_op_threads_applied"] for r in records.values())
    result.stdout.fnmatch_lines(["*toy-training[[]inter3[]]*reached*own process*"])
    # pytest-benchmark stores the child's own measurement (the training run, a fraction of a second),
    # not the life of the child process (seconds of start-up and imports).
    for bench in json.loads((pytester.path / "out.json").read_text())["benchmarks"]:
        assert bench["stats"]["rounds"] == 1
        assert bench["stats"]["mean"] == pytest.approx(bench["extra_info"]["total_seconds"], abs=0.05)
    assert "Benchmark fixture was not used" not in result.stdout.str()


def test_one_seed_repeated_gives_identical_curves(toy_session) -> None:
    result = toy_session("--snnbench-repeat=3")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*repeatability, test_toy_training (cpu*), seed 0: identical in all 3 runs*",
                                 "*repeatability, test_toy_inference (cpu*), seed 0: identical in all 3 runs*"])


def test_repeats_compare_each_parametrized_workload_with_itself(pytester: pytest.Pytester, monkeypatch, tmp_path) -> None:
    """Two workloads behind one test function (as Image-STDP's sizes) are two repeatability groups."""
    pytester.makepyfile(test_toy_sizes="""
import pytest
from tests.toy_workload import ToyWorkload

class Slow(ToyWorkload):
    name = "toy-slow"
    eval_every_samples = 32

@pytest.mark.training
@pytest.mark.parametrize("kind", [ToyWorkload, Slow], ids=["fast", "slow"])
def test_toy_sizes(snnbench, benchmark, kind):
    snnbench.train(kind, benchmark)
""")
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    result = pytester.runpytest_subprocess(*snnbench_args(tmp_path, tmp_path / "cache", "test_toy_sizes.py",
                                                          "--snnbench-repeat=2"))
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*repeatability, test_toy_sizes[[]fast[]] (cpu*), seed 0: identical in all 2 runs*",
                                 "*repeatability, test_toy_sizes[[]slow[]] (cpu*), seed 0: identical in all 2 runs*"])
    assert "DIFFER" not in result.stdout.str()


def test_several_seeds_report_spread_and_mlperf_aggregate(toy_session, pytester: pytest.Pytester) -> None:
    result = toy_session("--snnbench-seeds=0,1,2", "-m", "training", "--benchmark-json=out.json")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*across seeds [[]0, 1, 2[]], test_toy_training*time to target median * s, * to * "
                                 "(mean *), MLPerf aggregate * s; = samples to target median * x seconds per sample "
                                 "median *; final accuracy*"])
    records = read_records(pytester.path / "out.json").values()
    assert {r["seed"] for r in records} == {0, 1, 2}
    # time to target is exactly its two factors
    assert all(r["time_to_target_s"] == pytest.approx(r["samples_to_target"] * r["seconds_per_sample"]) for r in records)


def test_usage_errors_of_the_sweep_options(pytester: pytest.Pytester) -> None:
    for args, message in ((["--intra-op-threads=1,1"], "*repeats a value*"),
                          (["--snnbench-seeds=0,1", "--snnbench-seed=4"], "*exclude each other*"),
                          (["--snnbench-repeat=0"], "*--snnbench-repeat=0 must be at least 1*")):
        result = pytester.runpytest("--snnbench", *args)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([message])


def test_first_difference_names_the_point() -> None:
    a = [{"epoch": 1, "samples": 10, "accuracy": 0.5, "loss": 1.0}, {"epoch": 1, "samples": 20, "accuracy": 0.6, "loss": 0.9}]
    b = [dict(a[0]), dict(a[1], accuracy=0.61)]
    assert first_difference(a, a) is None
    assert first_difference(a, b) == "point 2 (epoch 1, 20 samples): accuracy 0.6 vs 0.61"
    assert first_difference(a, a[:1]) == "lengths differ: 2 vs 1 points"


times = st.lists(st.one_of(st.none(), st.floats(min_value=0.1, max_value=1e5)), min_size=1, max_size=12)


@given(times)
def test_mlperf_aggregate_drops_fastest_and_slowest(values: list[float | None]) -> None:
    aggregate = mlperf_time_to_target(values)
    ordered = sorted(math.inf if v is None else v for v in values)
    kept = ordered[1:-1] if len(ordered) >= 3 else ordered
    if any(math.isinf(v) for v in kept):
        assert aggregate is None  # a missed run counts as the slowest; more than one miss cannot be hidden
    else:
        assert min(kept) - 1e-9 <= aggregate <= max(kept) + 1e-9


def test_mlperf_examples_and_spread() -> None:
    assert mlperf_time_to_target([10.0, 1.0, 5.0, 7.0, 100.0]) == pytest.approx(22 / 3)
    assert mlperf_time_to_target([10.0, None, 5.0, 7.0]) == pytest.approx(8.5)  # the miss is dropped as slowest
    assert mlperf_time_to_target([None, None, 5.0]) is None
    assert spread([1.0, 3.0, None]) == {"n": 2, "missing": 1, "min": 1.0, "max": 3.0, "mean": 2.0, "median": 2.0,
                                        "stdev": pytest.approx(math.sqrt(2)), "olympic_mean": 3.0}


def test_thread_search_picks_a_count_and_records_it(toy_session, pytester: pytest.Pytester) -> None:
    result = toy_session("--snnbench-thread-search=1,2", "-m", "training", "--benchmark-json=out.json")
    result.assert_outcomes(passed=1)
    record = read_records(pytester.path / "out.json")["test_toy_training"]
    search = record["thread_search"]
    assert set(search["seconds_per_step"]) == {"1", "2"} and search["chosen"] in (1, 2)
    assert search["seconds_per_step"][str(search["chosen"])] == min(search["seconds_per_step"].values())
    assert record["intra_op_threads"] == search["chosen"]
