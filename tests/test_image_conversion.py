"""Image-Conversion on tiny networks and generated data: conversion fidelity, no test data in the normalisation."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch
from bindsnet.conversion import ann_to_snn, data_based_normalization
from bindsnet.conversion.nodes import SubtractiveResetIFNodes
from bindsnet.network.monitors import Monitor

import pytest_snnbench.workloads.image_conversion.test_image_conversion as conversion
from pytest_snnbench.determinism import seed_everything
from pytest_snnbench.workload import WorkloadContext
from tests.conftest import smoke_context
from tests.test_complexity import check_complexity
from tests.mnist_files import write_mnist


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> WorkloadContext:
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("mnist")
    write_mnist(root, train=300, test=100)
    return smoke_context(root, root / "cache")


def test_converted_rates_follow_the_normalised_activations() -> None:
    """A tiny known net: each SNN layer's firing rate matches the normalised ReLU activation it replaces."""
    seed_everything(0)
    net = conversion.Perceptron(hidden=6)
    with torch.no_grad():  # activations far above 1: without the normalisation every neuron would saturate
        for module in net.layers:
            if isinstance(module, torch.nn.Linear):
                module.weight.mul_(20.0)
    inputs = torch.rand(20, 784) * (torch.rand(20, 784) > 0.7)
    steps = 400
    snn = ann_to_snn(net, input_shape=[784], data=inputs, node_type=SubtractiveResetIFNodes)
    monitors = {name: Monitor(layer, ["s"], time=steps) for name, layer in snn.layers.items() if name != "Input"}
    for name, monitor in monitors.items():
        snn.add_monitor(monitor, name)
    snn.run(inputs={"Input": inputs.clone().unsqueeze(0).expand(steps, -1, -1)}, time=steps)
    rates = [monitors[name].get("s").float().mean(0) for name in sorted(monitors, key=int)]

    normalised = data_based_normalization(copy.deepcopy(net), inputs.clone())
    activations, x = [], inputs
    for module in normalised.layers:
        x = module(x)
        if isinstance(module, torch.nn.ReLU):
            activations.append(x)
    # An IF neuron with subtractive reset fires at its input rate (at most one spike per step);
    # the error of each layer is about 1/steps plus what the layer below passes on.
    assert max(float(a.max()) for a in activations) <= 1.5  # it did rescale (to the 99.9th percentile)
    for rate, activation in zip(rates[:2], activations):
        torch.testing.assert_close(rate, activation.clamp(max=1.0), atol=0.03, rtol=0.0)
    # The output layer too: its rate is the normalised logit, cut at 0 and at one spike per step.
    torch.testing.assert_close(rates[2], normalised(inputs).clamp(0.0, 1.0), atol=0.05, rtol=0.0)


def test_biases_stay_zero_through_training(context: WorkloadContext) -> None:
    seed_everything(0)
    workload = conversion.ImageConversion(context)
    for batch in list(workload.train_batches(1))[:3]:
        workload.train_step(batch)
    biases = [m.bias for m in workload.dnn.layers if isinstance(m, torch.nn.Linear)]
    assert all(torch.count_nonzero(bias) == 0 for bias in biases)


def test_normalisation_uses_training_images_only(context: WorkloadContext, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}

    def spy(ann, input_shape, data, **kwargs):
        seen["data"] = data.clone()
        return ann_to_snn(ann, input_shape=input_shape, data=data, **kwargs)

    monkeypatch.setattr(conversion, "ann_to_snn", spy)
    seed_everything(0)
    workload = conversion.ImageConversion(context)
    workload.prepare_inference()
    expected = workload.train_inputs[: workload.config.norm_samples]
    assert torch.equal(seen["data"], expected)
    assert workload.target_accuracy == workload.config.snn_target_accuracy  # the SNN's target once converted


def test_repeated_passes_give_the_same_accuracy(context: WorkloadContext) -> None:
    """The input is copied per batch: BindsNET's reset must not erase the test images between passes."""
    seed_everything(0)
    workload = conversion.ImageConversion(context)
    for batch in workload.train_batches(1):
        workload.train_step(batch)
    list(workload.test_batches())  # no side effect: the conversion is its own lifecycle step
    assert workload.snn is None
    workload.prepare_inference()
    passes = []
    for _ in range(2):
        workload.begin_test_pass()
        passes.append([workload.predict(batch) for batch in workload.test_batches()])
        assert workload.counted == len(workload.test_labels)  # the tallies are per pass
    assert all(torch.equal(a, b) for a, b in zip(*passes))
    assert workload.test_inputs.abs().sum() > 0


def test_smoke_run_of_the_conversion_workload_passes(pytester: pytest.Pytester, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_mnist(data, train=600, test=200)
    report = tmp_path / "bench.json"
    result = pytester.runpytest_subprocess(
        "--snnbench", "--snnbench-scale=smoke", "-m", "conversion", f"--snnbench-data-dir={data}",
        f"--snnbench-cache-dir={tmp_path / 'cache'}", "--snnbench-no-download", "--intra-op-threads=1",
        "-p", "no:cacheprovider", "-p", "tests.tiny_configs", f"--benchmark-json={report}")
    result.assert_outcomes(passed=2)
    records = {b["name"]: b["extra_info"] for b in json.loads(report.read_text())["benchmarks"]}
    facts = records["test_image_conversion_inference"]["data"]["conversion"]
    assert facts["snn_test_accuracy"] == pytest.approx(records["test_image_conversion_inference"]["accuracy"])
    assert facts["accuracy_drop"] == pytest.approx(facts["dnn_test_accuracy"] - facts["snn_test_accuracy"])
    assert set(facts["snn_accuracy_by_time_steps"]) == {"10", "20", "30", "40", "50"}
    check_complexity(records["test_image_conversion_inference"])  # the SNN, counted on BindsNET's network
    check_complexity(records["test_image_conversion_dnn_preparation"], spiking=False)  # the DNN (ReLU)
