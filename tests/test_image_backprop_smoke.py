"""Image-Backprop end to end at smoke scale on generated MNIST: records, determinism, model hand-over."""
from __future__ import annotations

from pathlib import Path

import pytest

from pytest_snnbench.profiling.categories import ALL_BUCKETS
from pytest_snnbench.record import SCHEMA
from tests.conftest import read_records, snnbench_args
from tests.test_complexity import check_complexity

TRAINING_KEYS = {
    "schema", "workload", "family", "phase", "seed", "device", "scale", "intra_op_threads", "inter_op_threads",
    "determinism", "time_steps", "batch_size", "target_accuracy", "hyperparameters", "data", "packages",
    "status", "target_reached", "time_to_target_s", "samples_to_target", "epochs_to_target", "best_accuracy",
    "final_accuracy", "curve", "train_throughput_samples_per_s", "check_split", "test_accuracy",
    "majority_class_accuracy", "learning_off_accuracy", "class_counts",
}
INFERENCE_KEYS = {"schema", "workload", "phase", "accuracy", "samples", "inference_seconds",
                  "inference_throughput_samples_per_s", "model_source", "target_accuracy", "data",
                  "check_split", "majority_class_accuracy", "class_counts"}


def run(pytester: pytest.Pytester, data: Path, cache: Path, json_name: str, *more: str,
        phase: str | None = None) -> pytest.RunResult:
    selection = "image and backprop" + (f" and {phase}" if phase else "")
    return pytester.runpytest_subprocess(
        *snnbench_args(data, cache, "-m", selection, f"--benchmark-json={json_name}", *more))


def test_training_and_inference_reach_their_targets_and_record_everything(
        pytester: pytest.Pytester, tiny_mnist: Path, tmp_path: Path) -> None:
    result = run(pytester, tiny_mnist, tmp_path / "cache", "run.json", "--snnbench-profile")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*SNNBench summary*", "*image-backprop-training*reached*",
                                 "*image-backprop-inference*reached*"])
    records = read_records(pytester.path / "run.json")
    training = records["test_image_backprop_training"]
    inference = records["test_image_backprop_inference"]
    assert TRAINING_KEYS <= set(training) and INFERENCE_KEYS <= set(inference)
    assert training["schema"] == inference["schema"] == SCHEMA
    assert training["status"] == "reached" and training["target_reached"] is True
    assert training["final_accuracy"] >= training["target_accuracy"] == 0.5
    assert training["curve"][-1]["seconds"] == pytest.approx(training["time_to_target_s"])
    assert training["samples_to_target"] == training["curve"][-1]["samples"]
    assert training["intra_op_threads"] == 1 and training["device"] == "cpu" and training["scale"] == "smoke"
    assert training["data"]["canonical"] is False and training["packages"]["snntorch"]
    assert inference["model_source"] == "same-run"
    assert inference["accuracy"] >= 0.5 and inference["samples"] == 200
    # three splits: 500 generated images train, 100 validate (decide), 200 test (report)
    assert [sum(training["class_counts"][split]) for split in ("train", "validation", "test")] == [500, 100, 200]
    assert training["check_split"] == "validation" and inference["check_split"] == "test"
    assert {p["split"] for p in training["curve"]} == {"validation"}
    assert training["test_accuracy"] == inference["accuracy"]  # the same model, the same test pass
    assert training["majority_class_accuracy"] == max(training["class_counts"]["validation"]) / 100
    assert inference["majority_class_accuracy"] == max(inference["class_counts"]["test"]) / 200
    assert training["learning_off_accuracy"] + 0.1 <= training["target_accuracy"]
    for record in (training, inference):
        categories = record["profile"]["categories"]
        assert set(categories) == set(ALL_BUCKETS)
        assert categories["Layer-computing"]["share"] > 0 and categories["Pooling"]["share"] > 0
    assert training["profile"]["categories"]["Backward"]["share"] > 0
    for record in (training, inference):
        check_complexity(record)
    assert inference["complexity"]["samples"] == 200 and inference["complexity"]["synaptic_operations"]["effective_macs"] > 0


def test_same_seed_same_curve_and_inference_alone_uses_the_cached_model(
        pytester: pytest.Pytester, tiny_mnist: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    run(pytester, tiny_mnist, cache, "first.json", phase="training").assert_outcomes(passed=1)
    run(pytester, tiny_mnist, cache, "second.json", phase="training").assert_outcomes(passed=1)
    first = read_records(pytester.path / "first.json")["test_image_backprop_training"]["curve"]
    second = read_records(pytester.path / "second.json")["test_image_backprop_training"]["curve"]
    assert [(p["samples"], p["accuracy"], p["loss"]) for p in first] == \
        [(p["samples"], p["accuracy"], p["loss"]) for p in second]

    other_seed = run(pytester, tiny_mnist, tmp_path / "cache2", "seed1.json", "--snnbench-seed=1",
                     phase="training")
    other = read_records(pytester.path / "seed1.json")["test_image_backprop_training"]["curve"]
    assert other_seed.ret in (0, 1) and [p["loss"] for p in other] != [p["loss"] for p in first]

    alone = run(pytester, tiny_mnist, cache, "infer.json", phase="inference")
    alone.assert_outcomes(passed=1)
    assert read_records(pytester.path / "infer.json")["test_image_backprop_inference"]["model_source"] \
        .startswith("cache:")


def test_inference_without_any_trained_model_trains_one_untimed_and_says_so(
        pytester: pytest.Pytester, tiny_mnist: Path, tmp_path: Path) -> None:
    result = run(pytester, tiny_mnist, tmp_path / "empty-cache", "infer.json", phase="inference")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*no trained model from this run or the cache; training one first (untimed*"])
    record = read_records(pytester.path / "infer.json")["test_image_backprop_inference"]
    assert record["model_source"] == "trained-untimed"


def test_two_frameworks_run_side_by_side_and_are_compared_to_the_papers(
        pytester: pytest.Pytester, tiny_mnist: Path, tmp_path: Path) -> None:
    result = run(pytester, tiny_mnist, tmp_path / "cache", "frameworks.json", "--snnbench-framework=paper,torch",
                 phase="training")
    result.assert_outcomes(passed=2)
    records = read_records(pytester.path / "frameworks.json")
    paper, ours = records["test_image_backprop_training[snntorch]"], records["test_image_backprop_training[torch]"]
    assert (paper["framework"], paper["framework_is_paper"], paper["compiled"]) == ("snntorch", True, False)
    assert (ours["framework"], ours["framework_equal"], ours["framework_is_paper"]) == ("torch", True, False)
    assert paper["framework_version"] == paper["packages"]["snntorch"]
    assert paper["identity"]["fields"]["framework"] == "snntorch" != ours["identity"]["fields"]["framework"]
    # The same network from the same seed: the equal framework follows the paper's curve.
    assert [p["accuracy"] for p in ours["curve"]] == [p["accuracy"] for p in paper["curve"]]
    for record in (paper, ours):
        assert record["peak_memory"]["available"] and record["peak_memory"]["bytes"] >= 0
    result.stdout.fnmatch_lines(["*frameworks, image-backprop-training*as ratios to snntorch*",
                                 "*framework*equal*accuracy*time to target (x paper)*",
                                 "*snntorch*yes*1.00*", "*torch*yes*"])
    unknown = run(pytester, tiny_mnist, tmp_path / "cache", "x.json", "--snnbench-framework=lava", phase="training")
    unknown.stderr.fnmatch_lines(["*--snnbench-framework*'lava' is unknown*"])
