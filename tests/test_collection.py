"""Which tests a session collects: the bundled workloads with --snnbench, the plugin's tests without."""
from __future__ import annotations

import pytest

from pytest_snnbench.plugin import bundled_workloads_dir


def collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.stdout.lines if "::test_" in line]


def test_snnbench_collects_the_bundled_workloads_from_any_folder(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--snnbench", "--collect-only", "-q", "-p", "no:cacheprovider")
    names = collected(result)
    assert any("test_image_backprop_training" in n for n in names)
    assert any("test_image_backprop_inference" in n for n in names)


@pytest.mark.parametrize("selection, present, absent", [
    (["-m", "training"], "test_image_backprop_training", "test_image_backprop_inference"),
    (["-m", "inference"], "test_image_backprop_inference", "test_image_backprop_training"),
    (["-m", "image and backprop and training"], "test_image_backprop_training", "test_image_backprop_inference"),
    (["-k", "backprop_inference"], "test_image_backprop_inference", "test_image_backprop_training"),
])
def test_markers_and_names_select_workloads(pytester: pytest.Pytester, selection: list[str], present: str,
                                            absent: str) -> None:
    result = pytester.runpytest("--snnbench", "--collect-only", "-q", "--strict-markers",
                                "-p", "no:cacheprovider", *selection)
    names = collected(result)
    assert any(present in n for n in names)
    assert not any(absent in n for n in names)


def test_without_snnbench_workloads_are_skipped_not_trained(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(str(bundled_workloads_dir()), "-p", "no:cacheprovider", "-rs")
    outcomes = result.parseoutcomes()
    assert outcomes.get("skipped", 0) >= 2 and "passed" not in outcomes and "failed" not in outcomes
    result.stdout.fnmatch_lines(["*SNNBench workloads run only with --snnbench*"])
