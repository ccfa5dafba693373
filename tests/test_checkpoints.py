"""Checkpoints and resume: a run killed or interrupted mid-training and rerun ends exactly as an
uninterrupted one (same final weights, same accuracy curve); bad checkpoints are refused.

The pytest sessions here are real processes that get real signals (tests/interrupt_plugin.py sends
SIGKILL or SIGINT to the process itself at a chosen training step). A session killed between two
workloads keeping the first one's record is tests/test_results_file.py's test.
"""
from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np

import pytest
import torch

from pytest_snnbench.checkpoint import CheckpointRefused, Checkpoints, identity_differences
from pytest_snnbench.determinism import seed_everything
from pytest_snnbench.results import read_results
from pytest_snnbench.training import MISSED, REACHED, train_to_target
from pytest_snnbench.workload import Batch, WorkloadContext
from tests.conftest import REPO, read_records, smoke_context, snnbench_args
from tests.mnist_files import write_mnist
from tests.toy_workload import ToyWorkload
from tests.wav_files import write_speech_commands

EVERY_STEP = "--snnbench-checkpoint-every=1e-9"  # a checkpoint at every batch boundary
ONLY_ON_CTRL_C = "--snnbench-checkpoint-every=3600"


def curve_key(points) -> list[tuple]:
    """What must be identical between runs: everything but the seconds."""
    return [(p["epoch"], p["samples"], p["accuracy"], p["loss"]) if isinstance(p, dict)
            else (p.epoch, p.samples, p.accuracy, p.loss) for p in points]


def assert_same_state(first, second) -> None:
    if isinstance(first, torch.Tensor):
        assert torch.equal(first, second)
    elif isinstance(first, dict):
        assert first.keys() == second.keys()
        for key in first:
            assert_same_state(first[key], second[key])
    elif isinstance(first, (list, tuple)):
        assert len(first) == len(second)
        for a, b in zip(first, second):
            assert_same_state(a, b)
    else:
        assert first == second


# -- the loop, in process, with the toy workload ------------------------------------------------
class Crash(Exception):
    pass


@pytest.fixture
def context(tmp_path: Path) -> WorkloadContext:
    return smoke_context(tmp_path, tmp_path)


def toy(context: WorkloadContext, crash_at_step: int | None = None) -> ToyWorkload:
    """The toy over three epochs (target out of reach), with noise from the global generators of
    torch, NumPy and Python in every step (as dropout would draw), optionally crashing after a step."""
    seed_everything(context.seed)
    workload = ToyWorkload(context)
    workload.target_accuracy, workload.max_epochs, workload.eval_every_samples = 1.01, 3, 40
    step = workload.train_step

    def noisy(batch: Batch):
        noise = 0.1 * torch.randn_like(batch.inputs) + float(np.random.rand()) * random.random()
        loss = step(Batch(batch.inputs + noise, batch.targets))  # the model changes...
        if workload.steps == crash_at_step:
            raise Crash  # ... and the loop never learns of it
        return loss

    workload.train_step = noisy
    return workload


@pytest.mark.parametrize("crash_at_step", [3, 12, 13, 20])  # mid-epoch, an epoch's last step, the next, after a check
def test_the_loop_resumes_exactly_where_it_stood(context: WorkloadContext, tmp_path: Path, crash_at_step: int) -> None:
    reference = toy(context)
    uninterrupted = train_to_target(reference, "cpu")
    assert uninterrupted.status == MISSED and uninterrupted.steps == 36  # 3 epochs of 12 batches
    after = (torch.rand(1), np.random.rand(), random.random())

    checkpoints = Checkpoints(tmp_path / "c.pt", 1e-9, {"run": "toy"})
    with pytest.raises(Crash):
        train_to_target(toy(context, crash_at_step), "cpu", checkpoints=checkpoints)
    assert checkpoints.written == crash_at_step - 1

    again = Checkpoints(tmp_path / "c.pt", 1e-9, {"run": "toy"})
    saved = again.load()
    assert saved["loop"]["steps"] == crash_at_step - 1
    resumed_workload = toy(context)
    torch.manual_seed(1234), np.random.seed(5), random.seed(7)  # a new process: only the checkpoint can help
    resumed = train_to_target(resumed_workload, "cpu", checkpoints=again, resume=saved)
    assert curve_key(resumed.curve.points) == curve_key(uninterrupted.curve.points)
    assert_same_state(resumed_workload.training_state(), reference.training_state())
    assert (torch.rand(1), np.random.rand(), random.random()) == after
    assert (resumed.samples, resumed.steps, resumed.epochs) == (uninterrupted.samples, uninterrupted.steps, 3)
    assert resumed.resumptions == 1 and resumed.interrupted_seconds > 0
    assert resumed.checkpoints_written == 36  # one after every step, over both segments
    assert 0 < resumed.checkpoint_seconds and resumed.curve.points[-1].seconds <= resumed.seconds


def test_writing_a_checkpoint_stops_the_clock(context: WorkloadContext, tmp_path: Path, monkeypatch) -> None:
    """On a clock that only the test moves (no wall-clock assertion): each write takes 100 clock
    seconds, none of which is in the timed run; each clock read takes 1 ms."""
    import pytest_snnbench.training as training

    now = [0.0]

    def fake_clock(device: object = None) -> float:
        now[0] += 0.001
        return now[0]

    def slow_save(*args: object) -> None:
        now[0] += 100.0
        save(*args)

    monkeypatch.setattr(training, "clock", fake_clock)
    checkpoints = Checkpoints(tmp_path / "c.pt", 1e-9, {"run": "toy"})
    save = checkpoints.save
    monkeypatch.setattr(checkpoints, "save", slow_save)
    outcome = train_to_target(toy(context), "cpu", checkpoints=checkpoints)
    assert outcome.checkpoints_written == 36 and outcome.checkpoint_seconds >= 36 * 100
    assert outcome.seconds < 1.0  # the clock reads alone: 3,600 s of writing are not in the timed run


def test_a_finished_or_fresh_run_leaves_no_checkpoint_and_unreadable_ones_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    checkpoints = Checkpoints(path, 1.0, {"hyperparameters": {"lr": 0.05}, "packages": {"torch": "2.14.1"}})
    checkpoints.save({"epoch": 1}, {"model": torch.ones(3)})
    assert checkpoints.load()["workload"]["model"].tolist() == [1.0, 1.0, 1.0]

    other = Checkpoints(path, 1.0, {"hyperparameters": {"lr": 0.1}, "packages": {"torch": "2.15.0"}})
    with pytest.raises(CheckpointRefused, match=r"(?s)different run.*hyperparameters.lr: 0.05 -> 0.1.*"
                                                r"packages.torch: '2.14.1' -> '2.15.0'.*--snnbench-fresh"):
        other.load()
    assert identity_differences({"a": {"b": 1}}, {"a": {"c": 1}}) == ["a.b: 1 -> (absent)", "a.c: (absent) -> 1"]

    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # truncated, e.g. a disk that filled up outside our rename
    with pytest.raises(CheckpointRefused, match=r"cannot be read .*truncated, corrupt.*--snnbench-fresh"):
        checkpoints.load()
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointRefused, match="cannot be read"):
        checkpoints.load()
    torch.save({"format": "snnbench-checkpoint/1", "identity": "{}"}, path)
    with pytest.raises(CheckpointRefused, match="incomplete"):
        checkpoints.load()

    (tmp_path / ".c.pt.abc.tmp").write_bytes(b"torn")  # a temporary file from a kill while writing
    assert checkpoints.load(fresh=True) is None
    assert not path.exists() and not list(tmp_path.iterdir())


# -- real sessions, real signals ----------------------------------------------------------------
@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    write_mnist(root, train=600, test=200)
    write_speech_commands(root)
    return root


WORKLOADS = {  # test -> (workload name, the step after which it is killed), in the order pytest runs them
    "test_image_backprop_training": ("image-backprop", 20),  # epoch 2, after the first check
    "test_image_stdp_training[100]": ("image-stdp-100", 50),
    "test_speech_lif_training": ("speech-lif", 2),
}


def session(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, data: Path, cache: Path, tests: str,
            *more: str, signal: str | None = None) -> pytest.RunResult:
    if signal:
        monkeypatch.setenv("SNNBENCH_TEST_SIGNAL", signal)
    else:
        monkeypatch.delenv("SNNBENCH_TEST_SIGNAL", raising=False)
    return pytester.runpytest_subprocess(*snnbench_args(data, cache, "-k", tests, "-p", "tests.interrupt_plugin",
                                                        *more))


def trained_model(cache: Path, name: str) -> dict:
    (path,) = (cache / "models").glob(f"{name}-smoke-*.pt")
    return torch.load(path, weights_only=True)["state"]


def selecting(*tests: str) -> str:
    return " or ".join(test.split("[")[0] for test in tests)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory, data: Path) -> tuple[dict, Path]:
    """One session trains the three workloads without checkpoints (the smoke-scale default)."""
    folder = tmp_path_factory.mktemp("uninterrupted")
    env = {key: value for key, value in os.environ.items() if key != "SNNBENCH_TEST_SIGNAL"}
    env["PYTHONPATH"] = str(REPO)
    completed = subprocess.run([sys.executable, "-m", "pytest", *snnbench_args(
        data, folder / "cache", "-k", selecting(*WORKLOADS), "--benchmark-json=run.json", "-q")],
        cwd=folder, env=env, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return read_records(folder / "run.json"), folder / "cache"


def test_killed_runs_resume_to_the_same_weights_and_curves(pytester: pytest.Pytester, monkeypatch, data: Path,
                                                           uninterrupted) -> None:
    """Image-Backprop, Image-STDP and Speech-LIF, each killed (SIGKILL) mid-run with a checkpoint at
    every step; each rerun resumes the killed workload, finishes it, and is killed in the next one."""
    reference, reference_cache = uninterrupted
    cache = pytester.path / "cache"
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    tests = list(WORKLOADS)
    for index, test in enumerate([*tests, None]):
        previous = tests[index - 1] if index else None
        selection = selecting(*[name for name in (previous, test) if name])
        signal = f"KILL@{WORKLOADS[test][1]}@{WORKLOADS[test][0]}" if test else None
        result = session(pytester, monkeypatch, data, cache, selection, EVERY_STEP, f"--snnbench-results={index}.jsonl",
                         signal=signal)
        if test:
            assert result.ret == -9, f"{test} was not killed"
            (checkpoint,) = (cache / "checkpoints").glob("*.pt")
            assert test in checkpoint.name
            assert torch.load(checkpoint, weights_only=True)["loop"]["steps"] == WORKLOADS[test][1] - 1
        if previous is None:
            continue
        name = WORKLOADS[previous][0]
        result.stdout.fnmatch_lines([f"*{name}-training*: resuming from the checkpoint*resumption 1*"])
        # A killed session writes no benchmark JSON: its finished records are in the results file.
        record = next(entry["record"] for entry in read_results(pytester.path / f"{index}.jsonl")
                      if entry["test"].endswith(f"::{previous}"))
        expected = reference[previous]
        assert curve_key(record["curve"]) == curve_key(expected["curve"]), previous
        assert (record["samples_seen"], record["steps"]) == (expected["samples_seen"], expected["steps"])
        assert_same_state(trained_model(cache, name), trained_model(reference_cache, name))
        assert record["status"] == "reached" and record["resumptions"] == 1 and record["interrupted_seconds"] > 0
        # One per step; none after a step whose check reached the target (the run ends there).
        assert expected["steps"] - 1 <= record["checkpoints_written"] <= expected["steps"]
        assert record["checkpoint_seconds"] > 0
        assert expected["resumptions"] == 0 and expected["checkpoints_written"] == 0
        assert record["time_to_target_s"] == record["curve"][-1]["seconds"] <= record["total_seconds"]
    assert not list((cache / "checkpoints").iterdir())  # a finished run deletes its checkpoint


TOY_TESTS = '''
import os
import pytest
from tests.toy_workload import ToyWorkload


class Toy(ToyWorkload):
    """The toy with its learning rate from the environment: another value is another configuration."""

    def __init__(self, context):
        super().__init__(context)
        self.lr = float(os.environ.get("TOY_LR", "0.05"))
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr

    def hyperparameters(self):
        return {**super().hyperparameters(), "lr": self.lr}


@pytest.mark.training
def test_toy_training(snnbench, benchmark):
    snnbench.train(Toy, benchmark)
'''


@pytest.fixture
def toy_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    pytester.makepyfile(test_toy=TOY_TESTS)
    monkeypatch.setenv("PYTHONPATH", str(REPO))

    def run(*args: str, signal: str | None = None, lr: str = "0.05") -> pytest.RunResult:
        monkeypatch.setenv("TOY_LR", lr)
        return session(pytester, monkeypatch, tmp_path, tmp_path / "cache", "test_toy_training", "test_toy.py",
                       *args, signal=signal)

    return run


def test_ctrl_c_checkpoints_and_stops_bad_checkpoints_are_refused_and_the_rerun_finishes_the_same(
        toy_run, pytester: pytest.Pytester, tmp_path: Path) -> None:
    seed_everything(0)  # what the session computes, uninterrupted (the toy's whole run takes milliseconds)
    expected = train_to_target(ToyWorkload(smoke_context(tmp_path, tmp_path)), "cpu")

    interrupted = toy_run(ONLY_ON_CTRL_C, signal="INT@6")
    assert interrupted.ret == pytest.ExitCode.INTERRUPTED
    interrupted.stdout.fnmatch_lines(["*toy-training: interrupted at epoch 1, 96 samples: writing a checkpoint*",
                                      "*toy-training interrupted: checkpoint written at epoch 1, 96 samples*"
                                      "Rerun the same command to resume*--snnbench-fresh*"])
    assert "Traceback" not in interrupted.stdout.str() + interrupted.stderr.str()
    (checkpoint,) = (tmp_path / "cache" / "checkpoints").glob("*.pt")
    intact = checkpoint.read_bytes()

    foreign = toy_run(ONLY_ON_CTRL_C, lr="0.1")  # the same test with another learning rate
    foreign.assert_outcomes(failed=1)
    foreign.stdout.fnmatch_lines(["*toy: the checkpoint * was made by a different run, so it is not loaded:*",
                                  "*hyperparameters.lr: 0.05 -> 0.1*", "*--snnbench-fresh*"])
    assert checkpoint.read_bytes() == intact  # refused: neither loaded nor replaced

    resumed = toy_run(ONLY_ON_CTRL_C, "--benchmark-json=resumed.json")
    resumed.assert_outcomes(passed=1)
    record = read_records(pytester.path / "resumed.json")["test_toy_training"]
    assert curve_key(record["curve"]) == curve_key(expected.curve.points) and record["status"] == REACHED
    assert record["resumptions"] == 1 and record["checkpoints_written"] == 1  # the one Ctrl-C wrote
    # pytest-benchmark's own timing of a resumed run is the sum of its timed segments, too.
    stats = json.loads((pytester.path / "resumed.json").read_text())["benchmarks"][0]["stats"]
    assert math.isclose(stats["mean"], record["total_seconds"], rel_tol=0.05, abs_tol=0.01)
    assert not checkpoint.exists()

    checkpoint.write_bytes(intact[: len(intact) // 3])  # truncated
    truncated = toy_run(ONLY_ON_CTRL_C)
    truncated.assert_outcomes(failed=1)
    truncated.stdout.fnmatch_lines(["*toy: the checkpoint * cannot be read (*truncated, corrupt or not a "
                                    "checkpoint, and is not loaded. Pass --snnbench-fresh*"])
    fresh = toy_run(ONLY_ON_CTRL_C, "--snnbench-fresh", "--benchmark-json=fresh.json")
    fresh.assert_outcomes(passed=1)
    assert read_records(pytester.path / "fresh.json")["test_toy_training"]["resumptions"] == 0
    assert not list((tmp_path / "cache" / "checkpoints").iterdir())


def test_sigterm_checkpoints_and_stops_like_ctrl_c(toy_run, tmp_path: Path) -> None:
    """SLURM sends SIGTERM before its kill at the end of a job's time, torchrun to the ranks left."""
    terminated = toy_run(ONLY_ON_CTRL_C, signal="TERM@6")
    assert terminated.ret == pytest.ExitCode.INTERRUPTED
    terminated.stdout.fnmatch_lines(["*toy-training interrupted: checkpoint written at epoch 1, 96 samples*"])
    assert len(list((tmp_path / "cache" / "checkpoints").glob("*.pt"))) == 1


def test_a_checkpoint_that_cannot_be_written_does_not_stop_the_benchmark(context: WorkloadContext,
                                                                        tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    checkpoints = Checkpoints(blocker / "checkpoints" / "c.pt", 1e-9, {"run": "toy"})
    outcome = train_to_target(toy(context), "cpu", checkpoints=checkpoints)
    assert outcome.status == MISSED and outcome.steps == 36 and outcome.checkpoints_written == 0
    assert checkpoints.error and str(blocker) in checkpoints.error and checkpoints.due == math.inf
