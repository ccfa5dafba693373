"""Opt-in: the fast Diehl & Cook engine against BindsNET over a long run, at 1,600 neurons, 2 threads.

tests/test_diehl_cook_engines.py proves the engines equal on 24 samples at 100 neurons and 4 at 400,
on one thread. This check trains both from the same initial weights on the same Poisson trains and
one-spike choices for 1,000 samples (batch 1, learning on) with ``torch.set_num_threads(2)``, and
compares every sample's excitatory spike trains exactly, and the thresholds and weights after every
sample (to the tolerance of the short tests: rtol 1e-5, atol 1e-6 on weights, atol 1e-6 on thresholds).
At the end both label their neurons from the last 300 training samples and classify 200 held-out
samples with learning off: the accuracy-relevant statistics are reported whether or not the spikes
stayed equal.

It is far too slow for CI: BindsNET takes about 2.6 s per sample at this size on one core of the
2-core development machine, so 1,000 samples need about 45 minutes. It is skipped unless
``SNNBENCH_LONG_EQUIVALENCE=1``:

    SNNBENCH_LONG_EQUIVALENCE=1 .venv/bin/pytest tests/test_diehl_cook_long_equivalence.py -s

``SNNBENCH_LONG_EQUIVALENCE_SAMPLES`` / ``_NEURONS`` change the size (default 1,000 / 1,600);
``SNNBENCH_LONG_EQUIVALENCE_REPORT=path.json`` also writes the figures there (every 25 samples, so a
run stopped by a time limit leaves them).

Why weights are compared to a tolerance, not exactly: the engines' weights differ in the last bit
on this machine whatever the thread count, because torch 2.14.1's ``addmm_`` (BindsNET's post-
synaptic rank-1 update) rounds product and sum separately while the fast engine rounds once, as a
fused MKL update does; which one torch does depends on its build and the CPU. Measured once
(docs/benchmarks.md): stopped by ``timeout 1500`` after about 575 of the 1,000 samples (2.6 s per
sample); at samples 100 to 500 no spike differed, thresholds were equal and the largest weight
difference was 1.2e-7 to 1.5e-7. The verdict at 1,000 samples is still to be run.
"""
from __future__ import annotations

import json
import os
import time

import pytest
import torch

from pytest_snnbench.workloads.image_stdp.diehl_cook import ChoiceStream, Parameters, initial_weights, make_engine
from pytest_snnbench.workloads.image_stdp.coding import assign_labels, poisson_spike_trains, vote
from tests.mnist_files import learnable_digits

INTENSITY = 128.0
STEPS = 250
ENABLED = os.environ.get("SNNBENCH_LONG_EQUIVALENCE") == "1"
SAMPLES = int(os.environ.get("SNNBENCH_LONG_EQUIVALENCE_SAMPLES", "1000"))
NEURONS = int(os.environ.get("SNNBENCH_LONG_EQUIVALENCE_NEURONS", "1600"))
WINDOW, HELD_OUT = 300, 200


def digits(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    pixels, labels = learnable_digits(count, seed)
    return torch.from_numpy(pixels).float().div(255).view(count, 784), torch.from_numpy(labels).long()


def _write(report: dict) -> str:
    text = json.dumps(report, indent=1)
    if os.environ.get("SNNBENCH_LONG_EQUIVALENCE_REPORT"):
        with open(os.environ["SNNBENCH_LONG_EQUIVALENCE_REPORT"], "w") as out:
            out.write(text)
    return text


@pytest.fixture
def two_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


@pytest.mark.skipif(not ENABLED, reason="opt-in, about 45 minutes: run it with SNNBENCH_LONG_EQUIVALENCE=1 "
                                        "pytest tests/test_diehl_cook_long_equivalence.py -s")
def test_engines_stay_equal_over_a_long_run_at_1600_neurons_on_two_threads(two_threads: None) -> None:
    parameters = Parameters(n_neurons=NEURONS)
    weights = initial_weights(parameters, torch.Generator().manual_seed(0))
    engines = {name: make_engine(name, parameters, torch.device("cpu"), weights) for name in ("bindsnet", "fast")}
    reference, fast = engines["bindsnet"], engines["fast"]
    choices = {name: ChoiceStream(5) for name in engines}
    images, labels = digits(SAMPLES, seed=0)
    generator = torch.Generator().manual_seed(1)
    report: dict = {"samples": SAMPLES, "neurons": NEURONS, "threads": torch.get_num_threads(),
                    "first_spike_divergence": None, "first_weight_difference": None,
                    "first_weight_tolerance_exceeded": None, "samples_with_different_spikes": 0}
    counts = {name: [] for name in engines}
    began = time.perf_counter()
    for sample in range(SAMPLES):
        spikes = poisson_spike_trains(images[sample:sample + 1] * INTENSITY, STEPS, generator)
        expected = reference.run(spikes, True, choices["bindsnet"], record=True)
        got = fast.run(spikes, True, choices["fast"], record=True)
        counts["bindsnet"].append(expected.counts.cpu())
        counts["fast"].append(got.counts)
        differing = int((expected.spikes.bool() != got.spikes).sum())
        weight_gap = float((fast.weights - reference.weights.cpu()).abs().max())
        theta_gap = float((fast.theta - reference.theta.cpu()).abs().max())
        state = {"sample": sample, "differing_spikes": differing,
                 "spikes": [int(expected.counts.sum()), int(got.counts.sum())],
                 "max_weight_difference": weight_gap, "max_theta_difference": theta_gap}
        if differing:
            report["samples_with_different_spikes"] += 1
            if report["first_spike_divergence"] is None:
                where = (expected.spikes.bool() != got.spikes).nonzero()[0].tolist()
                report["first_spike_divergence"] = {**state, "first_difference_step_sample_neuron": where}
                print(f"first spike divergence: {report['first_spike_divergence']}", flush=True)
        if weight_gap > 0 and report["first_weight_difference"] is None:
            report["first_weight_difference"] = state
        close = torch.allclose(fast.weights, reference.weights.cpu(), rtol=1e-5, atol=1e-6) and theta_gap <= 1e-6
        if not close and report["first_weight_tolerance_exceeded"] is None:
            report["first_weight_tolerance_exceeded"] = state
        report["samples_compared"] = sample + 1
        if sample % 100 == 99:
            print(f"{sample + 1} samples, {time.perf_counter() - began:.0f} s: {state}", flush=True)
        if sample % 25 == 24:
            _write(report)  # a run stopped by a time limit still leaves its figures
    report["training_seconds"] = round(time.perf_counter() - began, 1)
    report["final"] = {"max_weight_difference": float((fast.weights - reference.weights.cpu()).abs().max()),
                       "max_theta_difference": float((fast.theta - reference.theta.cpu()).abs().max())}

    # What accuracy depends on: neuron labels from the last training samples, votes on held-out samples.
    held_out, held_out_labels = digits(HELD_OUT, seed=99)
    trains = poisson_spike_trains(held_out * INTENSITY, STEPS, torch.Generator().manual_seed(2))
    outcome = {}
    for name, engine in engines.items():
        window = torch.cat(counts[name][-WINDOW:])
        assignments = assign_labels(window, labels[SAMPLES - len(window):], 10)
        predicted = vote(engine.run(trains, False, ChoiceStream(22)).counts.cpu(), assignments, 10)
        outcome[name] = {"assignments": assignments, "predicted": predicted,
                         "accuracy": float((predicted == held_out_labels).float().mean())}
    report["held_out"] = {
        "accuracy": {name: outcome[name]["accuracy"] for name in engines},
        "same_assignments": int((outcome["bindsnet"]["assignments"] == outcome["fast"]["assignments"]).sum()),
        "same_predictions": int((outcome["bindsnet"]["predicted"] == outcome["fast"]["predicted"]).sum()),
        "samples": HELD_OUT}
    text = _write(report)
    print(text)
    assert report["first_spike_divergence"] is None, f"the engines' spikes diverged:\n{text}"
    assert report["first_weight_tolerance_exceeded"] is None, f"the engines' weights drifted apart:\n{text}"
