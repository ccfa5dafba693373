"""snnbench-report: figures and an HTML page from stored runs, and clear errors for other files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_snnbench.report.cli import main


@pytest.fixture
def stored_run(toy_session, pytester: pytest.Pytester) -> Path:
    toy_session("--snnbench-profile", "--intra-op-threads=1,2", "--benchmark-json=run.json").assert_outcomes(passed=4)
    return pytester.path / "run.json"


def test_report_writes_figures_and_a_self_contained_page(stored_run: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    other = tmp_path / "other.json"
    data = json.loads(stored_run.read_text())
    for bench in data["benchmarks"]:
        if bench["extra_info"]["phase"] == "training":
            bench["extra_info"]["train_throughput_samples_per_s"] *= 2  # a run that trained twice as fast
    other.write_text(json.dumps(data))
    out = tmp_path / "report"
    assert main([str(stored_run), str(other), "-o", str(out)]) == 0
    for name in ("report.html", "accuracy_vs_time.png", "operator_heatmap.png", "thread_scaling.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 1000, name
        assert (out / name).read_bytes()[:4] in (b"\x89PNG", b"<!do")
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3  # figures embedded: one file to share
    assert "test_toy_training[intra1]" in page and "&#9650; better" in page  # the comparison marks the change
    assert str(out / "report.html") in capsys.readouterr().out


@pytest.mark.parametrize("content, message", [
    (b"\x00\x01 binary", "not JSON"), (b"[1, 2]", "not a pytest-benchmark JSON"),
    (b'{"benchmarks": [{"name": "x", "extra_info": {}}]}', "without SNNBench records"),
])
def test_report_rejects_files_that_are_not_benchmark_json(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                          content: bytes, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    assert main([str(bad), "-o", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out" / "report.html").exists()


def test_report_option_writes_at_the_end_of_a_session(toy_session, pytester: pytest.Pytester) -> None:
    result = toy_session(f"--snnbench-report={pytester.path / 'rep'}", "-m", "training")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*report written: *report.html"])
    assert (pytester.path / "rep" / "accuracy_vs_time.png").is_file()


def _run(label: str, energy: dict | None) -> "Run":
    from pytest_snnbench.report import Run

    record = {"schema": "snnbench-record/2", "phase": "training", "family": "toy", "workload": "toy-training",
              "status": "reached", "target_reached": True, "target_accuracy": 0.9, "final_accuracy": 0.95,
              "time_to_target_s": 10.0, "train_throughput_samples_per_s": 100.0, "device": "cpu",
              "intra_op_threads": 1, "inter_op_threads": 1}
    if energy is not None:
        record["energy"] = energy
    return Run(label, [{"name": "test_toy_training", "extra_info": record}])


MEASURED = {"available": True, "joules": 1234.5, "method": "rapl-sysfs", "whole_run": True}
UNMEASURED = {"available": False, "reason": "no powercap folder /sys/class/powercap"}


def test_report_shows_energy_to_target_where_measured(tmp_path: Path) -> None:
    from pytest_snnbench.report import write_report

    page = write_report([_run("a", MEASURED)], tmp_path / "a")["html"].read_text()
    assert "<th>energy to target</th>" in page and "1,234.5 J" in page and "not measured" not in page

    page = write_report([_run("b", UNMEASURED)], tmp_path / "b")["html"].read_text()
    assert "energy to target" not in page  # no column of dashes
    assert "energy not measured: no powercap folder /sys/class/powercap" in page

    page = write_report([_run("c", None)], tmp_path / "c")["html"].read_text()  # a record from before energy
    assert "energy" not in page and "<th>time to target</th>" in page


def test_report_compares_energy(tmp_path: Path) -> None:
    from pytest_snnbench.report.build import comparison_rows

    before, after = _run("before", MEASURED), _run("after", {**MEASURED, "joules": 2000.0})
    rows = {row["metric"]: row for row in comparison_rows(before, after)}
    assert rows["energy_to_target"]["verdict"] == "worse" and rows["accuracy"]["verdict"] == "same"
    rows = {row["metric"]: row for row in comparison_rows(before, _run("after", UNMEASURED))}
    assert rows["energy_to_target"]["verdict"] == "only in one run"


def test_the_report_shows_the_spread_over_seeds_of_both_factors() -> None:
    from pytest_snnbench.report.build import seed_spread_table
    from pytest_snnbench.report.load import Run

    def record(seed: int, samples: int | None, per_sample: float) -> dict:
        return {"phase": "training", "family": "image-backprop", "device": "cpu", "intra_op_threads": 2,
                "inter_op_threads": 2, "world_size": 1, "seed": seed, "samples_to_target": samples,
                "seconds_per_sample": per_sample, "time_to_target_s": samples * per_sample if samples else None}

    run = Run("seeds", [{"name": f"test_t[seed{i}]", "extra_info": {"schema": "snnbench-record/3", **r}}
                        for i, r in enumerate([record(0, 12800, 0.01), record(1, 25600, 0.01),
                                               record(2, None, 0.02)])])
    table = seed_spread_table(run)
    assert "image-backprop (cpu, intra 2, inter 2)" in table and "0, 1, 2" in table
    assert "19,200 (12,800 to 25,600, 1 missed; olympic 25,600)" in table


def _kept_figures(monkeypatch: pytest.MonkeyPatch) -> list:
    """The figures the report draws, kept open for inspection."""
    from pytest_snnbench.report import figures

    kept: list = []
    monkeypatch.setattr(figures.plt, "close", kept.append)
    return kept


def _inference(workload: str, accuracy: float, synops: float, acs: float) -> dict:
    return {"schema": "snnbench-record/2", "phase": "inference", "family": workload.rsplit("-", 1)[0],
            "workload": workload, "accuracy": accuracy, "test_accuracy": accuracy,
            "complexity": {"available": True, "synaptic_operations": {"effective_macs": synops - acs,
                                                                      "effective_acs": acs}}}


def test_accuracy_against_operations_has_one_panel_per_task_and_keeps_its_labels_inside(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from pytest_snnbench.metrics import REGISTRY
    from pytest_snnbench.report import figures
    from pytest_snnbench.report.load import Run

    records = [_inference("image-backprop-inference", 0.97, 5e6, 4e6), _inference("speech-lif-inference", 0.6, 1.5e6, 1e6),
               _inference("speech-lstm-inference", 0.9, 3e7, 0)]
    assert all(REGISTRY["synops"].value(r) for r in records)
    kept = _kept_figures(monkeypatch)
    figures.accuracy_against_synops([Run("r", [{"name": r["workload"], "extra_info": r} for r in records])],
                                    tmp_path / "ops.png")
    axes = kept[0].axes
    assert sorted(axis.get_title() for axis in axes) == ["image: accuracy against operations",
                                                         "speech: accuracy against operations"]
    kept[0].canvas.draw()
    renderer = kept[0].canvas.get_renderer()
    for axis in axes:
        box = axis.get_window_extent(renderer)
        for text in axis.texts:
            inside = text.get_window_extent(renderer)
            assert box.x0 <= inside.x0 and inside.x1 <= box.x1, f"label {text.get_text()!r} leaves its panel"


def test_accuracy_against_time_names_the_split_of_each_curve(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from pytest_snnbench.report import figures
    from pytest_snnbench.report.load import Run

    curve = [{"epoch": 1, "samples": n, "seconds": n / 10, "accuracy": 0.5 + n / 1000, "loss": None, "split": "validation"}
             for n in (100, 200)]
    record = {"schema": "snnbench-record/2", "phase": "training", "family": "toy", "workload": "toy-training",
              "curve": curve, "target_accuracy": 0.6}
    kept = _kept_figures(monkeypatch)
    figures.accuracy_against_time([Run("r", [{"name": "test_toy_training", "extra_info": record}])], tmp_path / "t.png")
    axis = kept[0].axes[0]
    assert axis.get_ylabel() == "validation accuracy (%)"
    assert "test_toy_training (validation)" in [text.get_text() for text in axis.get_legend().get_texts()]
