"""The results file: each finished workload's record is there at once, also after a killed session."""
from __future__ import annotations

from pathlib import Path

import pytest

from pytest_snnbench.report.load import load_run
from pytest_snnbench.results import append_record, read_results
from tests.conftest import REPO, snnbench_args


def test_records_are_appended_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    append_record(path, "s1", "a.py::test_one", {"workload": "one"})
    append_record(path, "s1", "a.py::test_two", {"workload": "two"})
    with path.open("a") as handle:
        handle.write('{"schema": "snnbench-results/1", "sess')  # a torn line from a crashed writer
    append_record(path, "s2", "a.py::test_one", {"workload": "again"})
    entries = read_results(path)
    assert [(e["session"], e["record"]["workload"]) for e in entries] == [("s1", "one"), ("s1", "two"), ("s2", "again")]
    assert not list(tmp_path.glob(".results.jsonl.*"))  # no temporary file left behind


def test_a_session_writes_each_record_and_the_report_reads_them(toy_session, pytester: pytest.Pytester) -> None:
    result = toy_session("--snnbench-results=out/results.jsonl")
    result.assert_outcomes(passed=2)
    path = pytester.path / "out" / "results.jsonl"
    entries = read_results(path)
    assert [e["record"]["workload"] for e in entries] == ["toy-training", "toy-inference"]
    assert len({e["session"] for e in entries}) == 1 and entries[0]["test"].endswith("::test_toy_training")
    run = load_run(path)
    assert set(run.records) == {"test_toy_training", "test_toy_inference"}


def test_a_killed_session_keeps_the_records_before_the_kill(pytester: pytest.Pytester, monkeypatch, tmp_path) -> None:
    pytester.makepyfile(test_killed="""
import os, signal
import pytest
from tests.toy_workload import ToyWorkload

@pytest.mark.training
def test_toy_training(snnbench, benchmark):
    snnbench.train(ToyWorkload, benchmark)

def test_machine_goes_down():
    os.kill(os.getpid(), signal.SIGKILL)
""")
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    path = tmp_path / "results.jsonl"
    result = pytester.runpytest_subprocess(*snnbench_args(tmp_path, tmp_path / "cache", "test_killed.py",
                                                          f"--snnbench-results={path}", "--benchmark-json=b.json"))
    assert result.ret == -9  # killed: pytest-benchmark's JSON was never written
    assert not (pytester.path / "b.json").exists()
    assert [e["record"]["status"] for e in read_results(path)] == ["reached"]


def test_an_unwritable_results_file_stops_the_session_before_it_starts(pytester: pytest.Pytester, tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = pytester.runpytest_subprocess("--snnbench", "--collect-only", f"--snnbench-results={blocker}/results.jsonl",
                                           "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*the results file {blocker}/results.jsonl cannot be written*--snnbench-results=PATH*"])
