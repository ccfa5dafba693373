"""Image-STDP pieces on tiny generated data: Poisson input, STDP learning, assignment and voting."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from pytest_snnbench.determinism import seed_everything
from pytest_snnbench.workloads.image_stdp.coding import ABSTAIN, UNASSIGNED, SpikeWindow, assign_labels, class_scores, poisson_spike_trains, vote
from pytest_snnbench.training import train_to_target
from pytest_snnbench.workload import WorkloadContext
from tests.conftest import read_records, smoke_context
from tests.test_complexity import check_complexity
from tests.mnist_files import write_mnist
from pytest_snnbench.workloads.image_stdp.test_image_stdp import SMOKE, ImageSTDP


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> WorkloadContext:
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("mnist")
    write_mnist(root, train=400, test=200)
    return smoke_context(root, root / "cache")


# -- Poisson input ----------------------------------------------------------------------------
def test_poisson_trains_have_bindsnets_rates() -> None:
    """Mean count over 250 ms at 128 Hz, and at 50 Hz; zero rate never fires (BindsNET: 31.6 and 12.05)."""
    rates = torch.tensor([0.0, 50.0, 128.0]).repeat(4000)
    spikes = poisson_spike_trains(rates, 250, torch.Generator().manual_seed(0))
    assert spikes.shape == (250, 12000) and spikes.dtype == torch.bool
    counts = spikes.float().sum(0).view(4000, 3)
    assert counts[:, 0].sum() == 0
    assert counts[:, 1].mean() == pytest.approx(12.05, abs=0.15)
    assert counts[:, 2].mean() == pytest.approx(31.6, abs=0.2)


def test_poisson_trains_are_reproducible() -> None:
    rates = torch.rand(3, 1, 28, 28) * 128
    first = poisson_spike_trains(rates, 100, torch.Generator().manual_seed(5))
    again = poisson_spike_trains(rates, 100, torch.Generator().manual_seed(5))
    assert first.shape == (100, 3, 1, 28, 28) and torch.equal(first, again)


# -- learning ---------------------------------------------------------------------------------
def test_stdp_changes_weights_and_keeps_their_norm(context: WorkloadContext) -> None:
    seed_everything(0)
    workload = ImageSTDP(context, n_neurons=100)
    before = workload.engine.weights.clone()
    batch = next(iter(workload.train_batches(1)))
    assert workload.train_step(batch) is None
    after = workload.engine.weights
    assert not torch.equal(before, after)
    assert float(after.min()) >= 0.0 and float(after.max()) <= 1.0
    # BindsNET renormalises every neuron's input weights to sum to 78.4 after each sample.
    torch.testing.assert_close(after.sum(0), torch.full((100,), 78.4), rtol=1e-4, atol=1e-3)
    assert float(workload.engine.theta.sum()) > 0  # adaptive thresholds grew


def test_batched_training_is_a_separate_recorded_workload(context: WorkloadContext) -> None:
    seed_everything(0)
    workload = ImageSTDP(context, n_neurons=100, batch_size=8)
    assert workload.name == "image-stdp-100-batch8" and workload.hyperparameters()["batch_size"] == 8
    assert ImageSTDP(context).name == "image-stdp-100"  # batch 1, the paper's definition, keeps the plain name
    batch = next(iter(workload.train_batches(1)))
    assert batch.size == 8
    before = workload.engine.weights.clone()
    workload.train_step(batch)
    assert workload.samples_seen == 8 and workload.window.filled == 8
    assert not torch.equal(before, workload.engine.weights)


def test_inference_leaves_weights_and_thresholds_alone(context: WorkloadContext) -> None:
    seed_everything(0)
    workload = ImageSTDP(context, n_neurons=100)
    workload.train_step(next(iter(workload.train_batches(1))))
    weights, theta = workload.engine.weights.clone(), workload.engine.theta.clone()
    batch = next(iter(workload.test_batches()))
    workload.begin_test_pass()
    workload.predict(batch)
    assert torch.equal(theta, workload.engine.theta)
    # BindsNET renormalises the weights after every run, learning or not: only rounding may change.
    torch.testing.assert_close(workload.engine.weights, weights, rtol=1e-5, atol=1e-6)


def test_smoke_target_needs_learning(context: WorkloadContext) -> None:
    """The same network with learning off stays below the smoke target: the target measures learning."""
    seed_everything(0)
    workload = ImageSTDP(context, n_neurons=100)
    simulate = workload._simulate
    workload._simulate = lambda images, generator, learning, choices: simulate(images, generator, False, choices)
    outcome = train_to_target(workload, torch.device("cpu"))
    assert outcome.status == "missed"
    assert max(outcome.curve.accuracies()) < SMOKE.target_accuracy


def test_state_round_trip_predicts_the_same(context: WorkloadContext) -> None:
    seed_everything(0)
    trained = ImageSTDP(context, n_neurons=100)
    for batch in list(trained.train_batches(1))[:20]:
        trained.train_step(batch)
    trained.prepare_evaluation()
    copy = ImageSTDP(context, n_neurons=100)
    copy.load_state_dict(trained.state_dict())
    assert torch.equal(copy.assignments, trained.assignments)
    batch = next(iter(trained.test_batches()))
    trained.begin_test_pass()
    expected = trained.predict(batch)
    copy.begin_test_pass()  # same Poisson trains and one-spike choices
    assert torch.equal(copy.predict(batch), expected)


def test_every_test_pass_starts_from_the_same_poisson_trains(context: WorkloadContext) -> None:
    """begin_test_pass, not the iteration over test_batches, resets the test noise."""
    seed_everything(0)
    workload = ImageSTDP(context, n_neurons=100)
    batch = next(iter(workload.test_batches()))
    workload.begin_test_pass()
    first = workload.predict(batch)
    list(workload.test_batches())  # iterating has no side effect
    workload.begin_test_pass()
    assert torch.equal(workload.predict(batch), first)


# -- assignment and voting --------------------------------------------------------------------
def test_constructed_case_is_assigned_and_classified() -> None:
    # Neurons 0 and 1 fire for class 0, neuron 2 for class 1, neuron 3 for class 2, neuron 4 never.
    counts = torch.tensor([[5, 4, 0, 1, 0], [6, 3, 1, 0, 0], [0, 1, 7, 0, 0], [1, 0, 0, 9, 0]], dtype=torch.float)
    labels = torch.tensor([0, 0, 1, 2])
    assignments = assign_labels(counts, labels, 3)
    assert assignments.tolist() == [0, 0, 1, 2, UNASSIGNED]
    fresh = torch.tensor([[3, 5, 1, 0, 9], [0, 0, 4, 1, 0], [0, 1, 0, 6, 0], [0, 0, 0, 0, 7]], dtype=torch.float)
    assert vote(fresh, assignments, 3).tolist() == [0, 1, 2, ABSTAIN]


def test_assignment_averages_per_class_rather_than_summing() -> None:
    # Class 0 is seen three times at 2 spikes, class 1 once at 4: the mean (4 > 2) decides.
    counts = torch.tensor([[2.0], [2.0], [2.0], [4.0]])
    assert assign_labels(counts, torch.tensor([0, 0, 0, 1]), 2).tolist() == [1]


counts_and_assignments = st.integers(1, 12).flatmap(lambda neurons: st.tuples(
    st.lists(st.lists(st.integers(0, 6), min_size=neurons, max_size=neurons), min_size=1, max_size=6),
    st.lists(st.integers(-1, 4), min_size=neurons, max_size=neurons)))


@given(counts_and_assignments)
def test_vote_picks_the_class_with_most_spikes_lowest_on_ties(case) -> None:
    counts, assignments = torch.tensor(case[0], dtype=torch.float), torch.tensor(case[1])
    predicted = vote(counts, assignments, 5)
    for sample, prediction in zip(counts, predicted.tolist()):
        means = []
        for label in range(5):
            members = assignments == label
            means.append(float(sample[members].mean()) if members.any() else 0.0)
        if max(means) == 0:
            assert prediction == ABSTAIN
        else:
            assert prediction == means.index(max(means))  # index() finds the lowest maximal class


@given(st.lists(st.tuples(st.lists(st.integers(0, 5), min_size=4, max_size=4), st.integers(0, 2)),
                min_size=1, max_size=10))
def test_assignment_picks_the_class_with_the_highest_mean_lowest_on_ties(samples) -> None:
    counts = torch.tensor([c for c, _ in samples], dtype=torch.float)
    labels = torch.tensor([label for _, label in samples])
    assignments = assign_labels(counts, labels, 3).tolist()
    for neuron in range(4):
        means = [float(counts[labels == label, neuron].mean()) if (labels == label).any() else 0.0
                 for label in range(3)]
        expected = UNASSIGNED if max(means) == 0 else means.index(max(means))
        assert assignments[neuron] == expected


def test_class_scores_are_mean_counts_of_assigned_neurons() -> None:
    scores = class_scores(torch.tensor([[1.0, 3.0, 8.0]]), torch.tensor([0, 0, 1]), 3)
    assert scores.tolist() == [[2.0, 8.0, 0.0]]


def test_spike_window_keeps_the_most_recent_samples() -> None:
    window = SpikeWindow(3, 2, torch.device("cpu"))
    window.add(torch.tensor([[1.0, 0.0], [2.0, 0.0]]), torch.tensor([1, 2]))
    counts, labels = window.contents()
    assert labels.tolist() == [1, 2]
    window.add(torch.tensor([[3.0, 0.0], [4.0, 0.0]]), torch.tensor([3, 4]))
    counts, labels = window.contents()
    assert sorted(labels.tolist()) == [2, 3, 4] and sorted(counts[:, 0].tolist()) == [2.0, 3.0, 4.0]
    window.add(torch.arange(10.0).view(5, 2), torch.arange(5))  # larger than the window: its end stays
    assert sorted(window.contents()[1].tolist()) == [2, 3, 4]


# -- the workloads through pytest -------------------------------------------------------------
def test_smoke_run_of_the_stdp_workloads_passes(pytester: pytest.Pytester, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_mnist(data, train=600, test=200)
    result = pytester.runpytest_subprocess(
        "--snnbench", "--snnbench-scale=smoke", "-m", "stdp", f"--snnbench-data-dir={data}",
        f"--snnbench-cache-dir={tmp_path / 'cache'}", "--snnbench-no-download", "--intra-op-threads=1",
        "-p", "no:cacheprovider", "-p", "tests.tiny_configs", "--benchmark-disable-gc", "--benchmark-json=run.json")
    result.assert_outcomes(passed=2, skipped=6)
    records = read_records(pytester.path / "run.json")
    for record in records.values():
        check_complexity(record)
    result.stdout.fnmatch_lines(["*image-stdp-100-training*reached*", "*image-stdp-100-inference*reached*"])


def test_full_scale_leaves_out_the_big_size_and_says_how_to_run_it(pytester: pytest.Pytester) -> None:
    # Collection and skips only: -k picks the biggest size, which never starts at the default sizes.
    result = pytester.runpytest_subprocess("--snnbench", "-m", "stdp", "-k", "6400",
                                           "--snnbench-no-download", "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*sizes 6400 were left out*--snnbench-stdp-sizes=100,400,1600,6400*"])


def test_two_engines_run_side_by_side(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--snnbench", "-m", "stdp", "-k", "100", "--collect-only", "-q",
                                           "--snnbench-stdp-engine=bindsnet,fast", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*test_image_stdp_training[[]bindsnet-100[]]", "*test_image_stdp_training[[]fast-100[]]"])
