"""Data-parallel runs under torchrun: real processes, two gloo ranks on the CPU.

Two ranks with the paper's global batch split between them follow one process's loss curve; the
inference counts over a split test set equal one process's; only rank 0 records; a killed rank ends
the other with a message within the timeout. The gradient combination itself is checked exactly
in float64 on slices of unequal size.
"""
from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from pytest_snnbench.distributed import World, failure_reason
from pytest_snnbench.launch import without_nproc
from pytest_snnbench.results import read_results
from pytest_snnbench.workload import Batch
from tests.conftest import read_records, snnbench_args
from tests.mnist_files import write_mnist


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _session(cwd: Path, *args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def _records(results: Path) -> dict[str, dict]:
    return {entry["test"].rsplit("::", 1)[-1]: entry["record"] for entry in read_results(results)}


# -- the pieces, in process -------------------------------------------------------------------------
def test_slices_cover_the_batch_and_weigh_by_size() -> None:
    batch = Batch(torch.arange(10.0).reshape(5, 2), torch.arange(5))
    slices = [World(rank=rank, size=2).training_shard(batch) for rank in range(2)]
    assert [s.targets.tolist() for s, _ in slices] == [[0, 1], [2, 3, 4]]
    assert [weight for _, weight in slices] == [0.4, 0.6]
    # A global batch smaller than the world: the empty rank trains on a sample with weight 0.
    small = Batch(torch.ones(1, 2), torch.zeros(1, dtype=torch.long))
    assert [World(rank=rank, size=2).training_shard(small)[1] for rank in range(2)] == [0.0, 1.0]
    assert World(rank=0, size=2).evaluation_shard(small) is None
    assert World().training_shard(batch) == (batch, 1.0)
    assert World().sum([1.0, 2.0]) == [1.0, 2.0] and World().global_loss(math.nan, 1.0) != 0


def test_failure_reasons_are_short_and_nproc_is_not_passed_on() -> None:
    error = RuntimeError("[/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:545] Read error [127.0.0.1]:1: "
                         "Connection reset by peer. This is typically caused by a remote worker hanging.")
    assert failure_reason(error) == "Read error [127.0.0.1]:1: Connection reset by peer"
    assert without_nproc(["-q", "--snnbench-nproc=2", "--snnbench-nproc", "3", "-x"]) == ["-q", "-x"]


def _gradient_on_rank(rank: int, port: int, sizes: list[int], out: str) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    from pytest_snnbench.distributed import World

    world = World(rank=rank, size=2, backend="gloo")
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2).double()
    inputs, targets = torch.randn(sum(sizes), 3, dtype=torch.float64), torch.randint(0, 2, (sum(sizes),))
    wrapped = world.data_parallel(model, torch.device("cpu"))
    begin = sum(sizes[:rank])
    world.gradient_weight = sizes[rank] / sum(sizes)
    mine = slice(begin, begin + sizes[rank])
    torch.nn.functional.cross_entropy(wrapped(inputs[mine]), targets[mine]).backward()
    if rank == 0:
        torch.save([p.grad for p in model.parameters()], out)
    dist.barrier()
    dist.destroy_process_group()


def test_ranks_with_unequal_slices_get_the_whole_batch_gradient(tmp_path: Path) -> None:
    """DDP would average the two slices' mean gradients; the weighted hook gives the batch mean's."""
    import torch.multiprocessing as mp

    out = str(tmp_path / "gradient.pt")
    mp.spawn(_gradient_on_rank, args=(_free_port(), [2, 5], out), nprocs=2, join=True)
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2).double()
    inputs, targets = torch.randn(7, 3, dtype=torch.float64), torch.randint(0, 2, (7,))
    torch.nn.functional.cross_entropy(model(inputs), targets).backward()
    for got, expected in zip(torch.load(out), [p.grad for p in model.parameters()]):
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-14)


# -- whole sessions ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dist-data")
    write_mnist(root, train=600, test=200)
    return root


def test_two_ranks_train_like_one_process_and_count_the_same(mnist_root: Path, tmp_path: Path) -> None:
    every_step = ("-p", "tests.every_step_configs")
    one = _session(tmp_path, *snnbench_args(mnist_root, tmp_path / "one"), *every_step, "-m", "image",
                   "--snnbench-stdp-engine=fast")
    assert one.returncode == 0, one.stdout[-3000:]
    two = _session(tmp_path, *snnbench_args(mnist_root, tmp_path / "two"), *every_step, "-m",
                   "image and backprop and training", "--snnbench-nproc=2", f"--benchmark-json={tmp_path / 'two.json'}")
    assert two.returncode == 0, two.stdout[-3000:] + two.stderr[-3000:]
    single, split = _records(tmp_path / "one" / "results.jsonl"), _records(tmp_path / "two" / "results.jsonl")
    # Rank 0 alone recorded: one line per test in the results file, the benchmark JSON is rank 0's.
    assert list(split) == ["test_image_backprop_training"]
    assert read_records(tmp_path / "two.json")["test_image_backprop_training"]["world_size"] == 2
    assert (tmp_path / "two" / "ranks" / "rank-1.log").is_file()
    distributed = split["test_image_backprop_training"]["distributed"]
    assert (distributed["world_size"], distributed["global_batch"], distributed["per_rank_batch"]) == (2, 32, 16)
    # The same curve, step by step: one evaluation per step of the global batch of 32. A spiking
    # threshold turns rounding differences (16 images per convolution instead of 32) into a spike
    # more or less after some 20 steps here, so 20 steps are compared to float tolerance.
    curves = [records["test_image_backprop_training"]["curve"] for records in (single, split)]
    assert len(curves[0]) >= 20 and len(curves[1]) >= 20
    for a, b in zip(curves[0][:20], curves[1][:20]):
        assert (a["samples"], a["accuracy"]) == (b["samples"], b["accuracy"])
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-5)
    # Inference with the one-process models, the test set split over two ranks: the same counts.
    # Image-STDP is not data-parallel: rank 0 runs it alone and the other rank skips it.
    infer = _session(tmp_path, *snnbench_args(mnist_root, tmp_path / "one"), *every_step, "-m", "image and inference",
                     "--snnbench-stdp-engine=fast", "--snnbench-nproc=2", f"--snnbench-results={tmp_path / 'i.jsonl'}")
    assert infer.returncode == 0, infer.stdout[-3000:] + infer.stderr[-3000:]
    inferred = _records(tmp_path / "i.jsonl")
    for test in ("test_image_backprop_inference", "test_image_conversion_inference"):
        assert (inferred[test]["accuracy"], inferred[test]["samples"]) == (single[test]["accuracy"],
                                                                           single[test]["samples"])
        assert inferred[test]["distributed"]["ranks_used"] == 2
    conversion = "test_image_conversion_inference"
    assert (inferred[conversion]["data"]["conversion"]["snn_accuracy_by_time_steps"]
            == single[conversion]["data"]["conversion"]["snn_accuracy_by_time_steps"])
    stdp = next(test for test in inferred if test.startswith("test_image_stdp_inference"))
    assert inferred[stdp]["distributed"]["ranks_used"] == 1 and inferred[stdp]["accuracy"] == single[stdp]["accuracy"]
    rank_1 = (tmp_path / "one" / "ranks" / "rank-1.log").read_text()  # its terminal output, kept apart
    assert "image-backprop-inference" in rank_1 and "image-stdp-100-inference" not in rank_1


def test_a_killed_rank_ends_the_other_with_a_message(mnist_root: Path, tmp_path: Path) -> None:
    """Started as torchrun starts them (its environment), without torchrun, which would stop the
    survivor itself: the survivor must notice on its own, within the timeout."""
    args = [*snnbench_args(mnist_root, tmp_path / "cache"), "-p", "tests.interrupt_plugin", "-m",
            "image and backprop and training", "--snnbench-dist-timeout=60"]
    base = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "WORLD_SIZE": "2",
            "LOCAL_WORLD_SIZE": "2"}
    ranks = [subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=tmp_path, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              env={**os.environ, **base, "RANK": str(rank), "LOCAL_RANK": str(rank),
                                   **({"SNNBENCH_TEST_SIGNAL": "KILL@3"} if rank == 1 else {})})
             for rank in range(2)]
    begin = time.monotonic()
    output, _ = ranks[0].communicate(timeout=120)
    ranks[1].wait(timeout=60)
    assert ranks[1].returncode == -9
    assert ranks[0].returncode != 0 and time.monotonic() - begin < 60
    assert "rank 0 of 2 lost the other ranks during image-backprop" in output
    assert "Traceback" not in output


def test_scaling_efficiency_against_the_stored_single_process_run(monkeypatch) -> None:
    from types import SimpleNamespace

    import pytest_snnbench.analysis as analysis

    now = {"phase": "training", "world_size": 2, "time_to_target_s": 60.0, "train_throughput_samples_per_s": 300.0,
           "distributed": {"world_size": 2, "ranks_used": 2}}
    single = {"phase": "training", "world_size": 1, "time_to_target_s": 100.0, "train_throughput_samples_per_s": 160.0}
    monkeypatch.setattr(analysis, "stored_records", lambda config, baseline: {"test_x": single})
    state = SimpleNamespace(records={"test_x": now}, options=SimpleNamespace(baseline=None), extra_summary=[],
                            analysis={})
    analysis._scaling(state, SimpleNamespace(getoption=lambda name, default=None: "1"))
    scaling = now["distributed"]["scaling"]
    assert scaling["time_to_target"]["speedup"] == pytest.approx(100 / 60)
    assert scaling["time_to_target"]["efficiency"] == pytest.approx(100 / 60 / 2)
    assert scaling["throughput"]["efficiency"] == pytest.approx(300 / 160 / 2)
    assert state.analysis["scaling"][0]["test"] == "test_x" and "x1.67 (efficiency 83%)" in state.extra_summary[0]


def test_the_scale_rule_gives_every_rank_the_batch_and_adam_sqrt_ranks(monkeypatch, tmp_path: Path) -> None:
    from pytest_snnbench.workload import TensorDataWorkload
    from tests.conftest import smoke_context

    class Tiny(TensorDataWorkload):
        name, target_accuracy, max_epochs = "tiny", 0.5, 1
        hyperparameters = data_info = train_step = predict = lambda self, *args: None

        def __init__(self, context) -> None:
            super().__init__(context)
            self.model, self.batch_size = torch.nn.Linear(2, 2), 128
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-2)

    monkeypatch.setattr(World, "data_parallel", lambda self, module, device: module)  # no process group here
    for rule, batch, rate in (("fixed", 128, 1e-2), ("scale", 512, 2e-2)):
        tiny = Tiny(smoke_context(tmp_path, tmp_path, world=World(rank=0, size=4, batch_rule=rule)))
        tiny.distribute()
        assert tiny.batch_size == batch and tiny.optimizer.param_groups[0]["lr"] == pytest.approx(rate)


@pytest.mark.parametrize("rule", ["fixed", "scale"])
def test_the_speech_cosine_schedule_spans_the_distributed_budget(rule: str, monkeypatch, tmp_path: Path) -> None:
    """The schedule must be built for the batch and the rate that distribute() leaves: with 2 ranks under
    'scale' it starts at the sqrt(2)-scaled peak and reaches 0 at the last step of the budget."""
    from pytest_snnbench.workloads.speech import test_speech as speech
    from tests.conftest import smoke_context
    from tests.wav_files import write_speech_commands

    write_speech_commands(tmp_path / "data", speakers=8, noise_files=1)
    monkeypatch.setattr(World, "data_parallel", lambda self, module, device: module)  # no process group here
    context = smoke_context(tmp_path / "data", tmp_path / "cache", world=World(rank=0, size=2, batch_rule=rule))
    with pytest.warns(UserWarning):  # the generated archive is a partial data set
        workload = speech.SpeechLIF(context, epochs=3)
    peak = workload.config.learning_rate * (2 ** 0.5 if rule == "scale" else 1.0)
    workload.distribute()
    assert workload.batch_size == workload.config.batch_size * (2 if rule == "scale" else 1)
    group = workload.optimizer.param_groups[0]
    assert group["lr"] == pytest.approx(peak) and group["initial_lr"] == pytest.approx(peak)
    assert workload.schedule.base_lrs == [pytest.approx(peak)]
    rates = []
    for epoch in range(workload.max_epochs):
        for _ in workload.train_batches(epoch):
            rates.append(group["lr"])
            workload.optimizer.step()  # no gradients: the parameters stay, the schedule advances
            workload.schedule.step()
    assert rates[0] == pytest.approx(peak)
    assert rates[-1] > 0 and group["lr"] == pytest.approx(0.0, abs=1e-12)  # 0 exactly when the budget ends
    assert workload.schedule.T_max == len(rates)
