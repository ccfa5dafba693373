"""Speech models: the lean layers compute what Norse's modules compute, spike, learn; and a smoke run passes."""
from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import read_records, smoke_context, snnbench_args
from tests.test_complexity import check_complexity
from tests.wav_files import write_speech_commands
from pytest_snnbench.workloads.speech import frameworks, network
from pytest_snnbench.workloads.speech import test_speech as speech

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=FutureWarning)
    from norse.torch import LICell, LIFRecurrent, LSNNRecurrent

CONFIG = replace(speech.CONFIGS["full"], hidden_size=24, features=replace(speech.CONFIGS["full"].features, n_mels=8))


def build(neuron: str, framework: str = "paper") -> network.SpeechNet:
    """The speech network of ``neuron`` (lif, lsnn, lstm) in ``framework`` at the test's small size."""
    module = frameworks.CATALOGS[neuron].load(framework).module
    return network.build_model(module.make_recurrent, CONFIG, 5)


def inputs(batch: int = 4, steps: int = 30, seed: int = 0) -> torch.Tensor:
    """Normalised features [T, B, M], as the loader produces them (time first, as the layers take them)."""
    return torch.randn(steps, batch, CONFIG.features.n_mels, generator=torch.Generator().manual_seed(seed)) * 1.5


def layers(neuron: str) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Our layer and Norse's module with the same weights and parameters."""
    torch.manual_seed(0)
    ours = build(neuron).recurrent
    kind = LIFRecurrent if neuron == "lif" else LSNNRecurrent
    theirs = kind(CONFIG.features.n_mels, CONFIG.hidden_size, p=ours.p, dt=ours.dt,
                  input_weights=torch.nn.Parameter(ours.input_weights.detach().clone()),
                  recurrent_weights=torch.nn.Parameter(ours.recurrent_weights.detach().clone()))
    return ours, theirs


@pytest.mark.parametrize("neuron", ["lif", "lsnn"])
def test_lean_layer_equals_norses_module(neuron: str) -> None:
    ours, theirs = layers(neuron)
    x = inputs()
    spikes = ours(x)
    reference, _ = theirs(x)
    assert torch.equal(spikes, reference)
    (spikes * torch.arange(spikes.shape[-1])).sum().backward()
    (reference * torch.arange(reference.shape[-1])).sum().backward()
    for mine, norse in ((ours.input_weights, theirs.input_weights),
                        (ours.recurrent_weights, theirs.recurrent_weights)):
        assert torch.allclose(mine.grad, norse.grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("neuron", ["lif", "lsnn"])
def test_layers_spike_and_gradients_reach_every_weight(neuron: str) -> None:
    model = build(neuron)
    x = inputs(batch=8, steps=40)
    spikes = model.recurrent(x)
    assert 0.0 < spikes.mean() < 0.5  # it fires, and not all the time
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    loss = torch.nn.functional.cross_entropy(model(x.transpose(0, 1)), torch.arange(8) % 5)
    loss.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name
    assert not model.recurrent.recurrent_weights.grad.diagonal().any()  # no self-connections, as in Norse


def test_adaptive_threshold_lowers_the_rate_of_a_strongly_driven_lsnn() -> None:
    lif, _ = layers("lif")
    lsnn, _ = layers("lsnn")
    strong = torch.full((60, 1, CONFIG.features.n_mels), 2.0)
    with torch.no_grad():
        lsnn.input_weights.copy_(lif.input_weights.abs())
        lif.input_weights.copy_(lif.input_weights.abs())
        lsnn.recurrent_weights.copy_(lif.recurrent_weights)
        rate_lif, rate_lsnn = lif(strong).mean(), lsnn(strong).mean()
    assert rate_lsnn < rate_lif


def test_readout_equals_norses_leaky_integrator_step_by_step() -> None:
    readout = build("lif").readout
    spikes = (torch.rand(30, 4, CONFIG.hidden_size, generator=torch.Generator().manual_seed(1)) < 0.2).float()
    cell = LICell(p=readout.p, dt=readout.dt)
    state, reference = None, []
    for current in readout.linear(spikes):
        voltage, state = cell(current, state)
        reference.append(voltage)
    assert torch.allclose(readout(spikes), torch.stack(reference), atol=1e-5)


@settings(max_examples=10)
@given(st.integers(1, 6), st.integers(1, 50), st.floats(-4, 4), st.integers(0, 1000))
def test_spiking_layers_emit_only_binary_spikes_of_the_right_shape(batch: int, steps: int, scale: float,
                                                                   seed: int) -> None:
    x = torch.randn(steps, batch, CONFIG.features.n_mels, generator=torch.Generator().manual_seed(seed)) * scale
    for neuron in ("lif", "lsnn"):
        with torch.no_grad():
            spikes = build(neuron).recurrent(x)
        assert spikes.shape == (steps, batch, CONFIG.hidden_size)
        assert ((spikes == 0) | (spikes == 1)).all()


def test_lstm_baseline_has_the_same_shape_and_learns() -> None:
    torch.manual_seed(0)
    models = {neuron: build(neuron) for neuron in ("lif", "lstm")}
    x = inputs(batch=8).transpose(0, 1)
    assert models["lstm"](x).shape == models["lif"](x).shape == (8, 5)
    assert models["lstm"].recurrent.hidden_size == CONFIG.hidden_size
    model = models["lstm"]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    targets = torch.arange(8) % 5
    losses = []
    for _ in range(20):
        loss = torch.nn.functional.cross_entropy(model(x), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0]


def test_speech_workloads_pass_at_smoke_scale_on_generated_clips(pytester: pytest.Pytester,
                                                                 tmp_path: Path) -> None:
    write_speech_commands(tmp_path / "data", speakers=16)  # two validation speakers, four test speakers
    result = pytester.runpytest_subprocess(
        *snnbench_args(tmp_path / "data", tmp_path / "cache", "-m", "speech", "--benchmark-json=run.json"))
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*SNNBench summary*", "*speech-lif-training*reached*",
                                 "*speech-lsnn-training*reached*", "*speech-lstm-inference*reached*"])
    records = read_records(pytester.path / "run.json")
    training = records["test_speech_lif_training"]
    assert training["data"]["task"] == "snnbench" and training["data"]["complete"] is False  # the paper's task
    assert training["data"]["classes"] == ["yes", "down", "left", "go", "_background_", "_unknown_"]
    assert [p["split"] for p in training["curve"]] == ["validation"] * len(training["curve"])
    assert 0 < training["test_accuracy"] <= 1 and training["learning_off_accuracy"] < training["target_accuracy"]
    assert training["data"]["feature_cache"] == "built"
    assert training["hyperparameters"]["neuron"] == "lif" and training["hyperparameters"]["hidden_size"] == 64
    assert records["test_speech_lsnn_training"]["data"]["feature_cache"] == "built"  # one session: loaded once
    assert records["test_speech_lif_inference"]["model_source"] == "same-run"
    for neuron in ("lif", "lsnn", "lstm"):  # complexity (tests/test_complexity.py): the LSTM is the one without ACs
        for phase in ("training", "inference"):
            check_complexity(records[f"test_speech_{neuron}_{phase}"], spiking=neuron != "lstm")
    assert records["test_speech_lstm_training"]["complexity"]["backward"]["dense_macs"] > 0


@pytest.mark.parametrize("workload", [speech.SpeechLIF, speech.SpeechLSNN, speech.SpeechLSTM])
def test_smoke_target_is_out_of_reach_of_an_untrained_network(workload: type, tmp_path: Path) -> None:
    from pytest_snnbench.data.speech_commands import PartialDataSetNotice

    write_speech_commands(tmp_path / "data")
    context = smoke_context(tmp_path / "data", tmp_path / "cache")
    torch.manual_seed(0)
    with pytest.warns(PartialDataSetNotice):
        untrained = workload(context)
    assert len(untrained.classes) == 6
    assert untrained.evaluate() < untrained.target_accuracy == 0.6
