"""The fast Diehl & Cook engine against BindsNET's own network: same spikes, thresholds and weights.

Both engines get the same initial weights, the same Poisson trains and the same one-spike choice
stream; the images are the generated digits of the test suite at MNIST's rates.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from bindsnet.models import DiehlAndCook2015

from pytest_snnbench.workloads.image_stdp.diehl_cook import ChoiceStream, Parameters, initial_weights, make_engine
from pytest_snnbench.workloads.image_stdp.diehl_cook.choice import choice_index
from pytest_snnbench.workloads.image_stdp.diehl_cook.fast_engine import _choice_index
from pytest_snnbench.workloads.image_plugin import _cpu_engines_need_the_cpu, resolve_stdp_engine, stdp_engines
from pytest_snnbench.workloads.image_stdp.coding import poisson_spike_trains
from tests.mnist_files import learnable_digits

INTENSITY = 128.0


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def images(count: int, seed: int = 0) -> torch.Tensor:
    pixels, _ = learnable_digits(count, seed)
    return torch.from_numpy(pixels).float().div(255).view(count, 784)


def trains(batch: torch.Tensor, generator: torch.Generator, steps: int = 250) -> torch.Tensor:
    return poisson_spike_trains(batch * INTENSITY, steps, generator)  # [steps, batch, 784]


def engines(n_neurons: int) -> tuple:
    parameters = Parameters(n_neurons=n_neurons)
    weights = initial_weights(parameters, torch.Generator().manual_seed(0))
    return (make_engine("bindsnet", parameters, torch.device("cpu"), weights),
            make_engine("fast", parameters, torch.device("cpu"), weights))


def assert_same_state(reference, fast) -> None:
    torch.testing.assert_close(fast.theta, reference.theta, rtol=0, atol=1e-6)
    torch.testing.assert_close(fast.weights, reference.weights.cpu(), rtol=1e-5, atol=1e-6)


def train_side_by_side(reference, fast, data: torch.Tensor, batch_size: int, key: int = 5) -> int:
    """Train both engines on ``data``; every run must give the same spike trains. Returns the spikes."""
    generator = torch.Generator().manual_seed(1)
    reference_choices, fast_choices = ChoiceStream(key), ChoiceStream(key)
    total = 0
    for start in range(0, len(data), batch_size):
        spikes = trains(data[start:start + batch_size], generator)
        expected = reference.run(spikes, True, reference_choices, record=True)
        got = fast.run(spikes, True, fast_choices, record=True)
        mismatch = (expected.spikes.bool() != got.spikes).nonzero()
        assert mismatch.numel() == 0, f"samples {start}..: first differing spike (step, sample, neuron) {mismatch[0].tolist()}"
        assert torch.equal(expected.counts, got.counts)
        total += int(got.counts.sum())
    return total


def test_parameters_are_bindsnets() -> None:
    """The fast engine's constants are the ones DiehlAndCook2015 builds its layers with."""
    p = Parameters(n_neurons=10)
    network = DiehlAndCook2015(n_inpt=784, n_neurons=10, exc=p.exc, inh=p.inh, dt=p.dt, norm=p.norm,
                               theta_plus=p.theta_plus, inpt_shape=(1, 28, 28))
    exc, inh, inputs = network.layers["Ae"], network.layers["Ai"], network.layers["X"]
    assert (float(exc.rest), float(exc.reset), float(exc.thresh), int(exc.refrac)) == (
        p.exc_rest, p.exc_reset, p.exc_thresh, p.exc_refrac)
    assert (float(exc.tc_decay), float(exc.tc_trace), float(inputs.tc_trace)) == (p.exc_tc_decay, p.tc_trace, p.tc_trace)
    assert (float(exc.theta_plus), float(exc.tc_theta_decay)) == pytest.approx((p.theta_plus, p.tc_theta_decay))
    assert (float(inh.rest), float(inh.reset), float(inh.thresh), int(inh.refrac), float(inh.tc_decay)) == (
        p.inh_rest, p.inh_reset, p.inh_thresh, p.inh_refrac, p.inh_tc_decay)
    assert exc.one_spike and not exc.traces_additive and not inputs.traces_additive
    rule = network.connections[("X", "Ae")].pipeline[0].learning_rule
    assert (rule.min, rule.max) == (p.wmin, p.wmax) and rule.nu.tolist() == pytest.approx([p.nu_pre, p.nu_post])


def test_both_engines_make_the_same_choice() -> None:
    for key, run, sample, step, candidates in [(0, 0, 0, 0, 2), (5, 3, 7, 249, 3), (2**63 + 11, 2**40, 249, 17, 6400),
                                               (123456789, 1, 0, 5, 17)]:
        assert choice_index(key, run, sample, step, candidates) == _choice_index(
            np.uint64(key), np.uint64(run), np.uint64(sample), np.uint64(step), candidates)


def test_choice_is_uniform() -> None:
    picks = np.bincount([choice_index(9, 0, 0, step, 4) for step in range(8000)], minlength=4)
    assert picks.min() > 1800 and picks.max() < 2200  # 2000 each expected; 4.5 sigma bounds


def test_training_gives_the_same_spikes_thresholds_and_weights_at_100_neurons() -> None:
    reference, fast = engines(100)
    spikes = train_side_by_side(reference, fast, images(24), batch_size=1)
    assert spikes > 24 * 5  # the network was active, not silent
    assert reference.excitatory.choices_made > 0  # the one-spike rule had to choose
    assert float(fast.theta.sum()) > 0
    assert_same_state(reference, fast)


def test_training_gives_the_same_spikes_at_400_neurons() -> None:
    reference, fast = engines(400)
    train_side_by_side(reference, fast, images(4, seed=3), batch_size=1)
    assert_same_state(reference, fast)


def test_batched_training_gives_the_same_spikes() -> None:
    reference, fast = engines(100)
    train_side_by_side(reference, fast, images(16, seed=4), batch_size=4)
    assert_same_state(reference, fast)


def test_learning_off_gives_the_same_predictions_and_leaves_thresholds_alone() -> None:
    reference, fast = engines(100)
    train_side_by_side(reference, fast, images(10), batch_size=1)
    theta = fast.theta.clone()
    spikes = trains(images(60, seed=7), torch.Generator().manual_seed(2))
    expected = reference.run(spikes, False, ChoiceStream(3), record=True)
    got = fast.run(spikes, False, ChoiceStream(3), record=True)
    assert torch.equal(expected.spikes.bool(), got.spikes) and torch.equal(expected.counts, got.counts)
    assert torch.equal(fast.theta, theta)
    assert_same_state(reference, fast)


def _train(engine, data: torch.Tensor, generator: torch.Generator, choices: ChoiceStream) -> None:
    for sample in range(len(data)):
        engine.run(trains(data[sample:sample + 1], generator), True, choices)


def _check(engine, seed: int = 7) -> None:
    """A validation check: learning off, its own Poisson trains and choices (as the workload's)."""
    engine.run(trains(images(20, seed=seed), torch.Generator().manual_seed(seed)), False, ChoiceStream(seed))


@pytest.mark.parametrize("name", ["bindsnet", "fast"])
def test_a_learning_off_run_leaves_weights_and_thresholds_bit_for_bit(name: str) -> None:
    parameters = Parameters(n_neurons=100)
    start = initial_weights(parameters, torch.Generator().manual_seed(0))
    engine = make_engine(name, parameters, torch.device("cpu"), start)
    _train(engine, images(6), torch.Generator().manual_seed(1), ChoiceStream(5))
    weights, theta = engine.weights.clone(), engine.theta.clone()
    _check(engine)
    assert torch.equal(engine.weights, weights) and torch.equal(engine.theta, theta)


@pytest.mark.parametrize("name", ["bindsnet", "fast"])
def test_checks_between_training_runs_do_not_change_the_training_trajectory(name: str) -> None:
    parameters = Parameters(n_neurons=100)
    start = initial_weights(parameters, torch.Generator().manual_seed(0))
    data = images(12)
    straight = make_engine(name, parameters, torch.device("cpu"), start)
    _train(straight, data, torch.Generator().manual_seed(1), ChoiceStream(5))
    checked = make_engine(name, parameters, torch.device("cpu"), start)
    generator, choices = torch.Generator().manual_seed(1), ChoiceStream(5)
    for part in range(0, 12, 4):  # a check after every fourth sample
        _train(checked, data[part:part + 4], generator, choices)
        _check(checked, seed=part)
    assert torch.equal(checked.weights, straight.weights) and torch.equal(checked.theta, straight.theta)


def test_engine_option_values() -> None:
    assert stdp_engines("auto") == ("auto",) and stdp_engines("BindsNET, fast,bindsnet") == ("bindsnet", "fast")
    assert resolve_stdp_engine("auto", "cpu") == "fast" and resolve_stdp_engine("auto", "cuda:0") == "bindsnet"
    with pytest.raises(ValueError, match="'numba' is unknown"):
        stdp_engines("fast,numba")

    class Core:
        device, device_sweep = "cuda", ()
    with pytest.raises(ValueError, match="CPU only"):
        _cpu_engines_need_the_cpu({"snnbench_stdp_engine": ("fast",)}, Core())
    _cpu_engines_need_the_cpu({"snnbench_stdp_engine": ("auto", "bindsnet")}, Core())
    with pytest.raises(ValueError, match="CPU only"):
        make_engine("fast", Parameters(n_neurons=4), torch.device("meta"), torch.zeros(784, 4))
