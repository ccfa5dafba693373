"""The speech event engine against Norse's layers (the paper's): from the same weights and input batch,
over a forward and backward pass of the whole network, the same spikes at every step and every
trained parameter's gradient within 1e-5 of Norse's (relative to its largest entry)."""
from __future__ import annotations

import functools

import pytest
import torch

from pytest_snnbench.complexity import probe
from pytest_snnbench.workloads.speech import event_engine, network
from pytest_snnbench.workloads.speech_plugin import _event_engine_needs_the_cpu, speech_engines
from tests.test_speech_frameworks import (BATCH, CLASSES, CONFIG, GRADIENT_TOLERANCE, STEPS, build,
                                          forward_and_backward, trained_weights)


def build_event(neuron: str, state: dict) -> network.SpeechNet:
    torch.manual_seed(3)
    model = network.build_model(functools.partial(event_engine.make_recurrent, neuron=neuron), CONFIG, CLASSES)
    model.load_state_dict(state)  # strictly: the same parameters as Norse's layers
    return model


def _exact_recurrent_weights(state: dict) -> dict:
    """Recurrent weights in 1/64 (no autapses): every recurrent sum is exact in float32, whatever its order."""
    weights = state["recurrent.recurrent_weights"]
    exact = (weights * 64).round() / 64
    exact.fill_diagonal_(0.0)
    return {**state, "recurrent.recurrent_weights": exact}


def _compare(neuron: str, state: dict, exact_spikes: bool) -> float:
    norse = build(neuron, "norse", state)
    spikes, loss, grads = forward_and_backward(norse)
    rate = float(spikes.mean())
    assert 0.02 < rate < 0.5, f"the comparison means something only if the layer spikes (rate {rate:.3f})"
    event_spikes, event_loss, event_grads = forward_and_backward(build_event(neuron, state))
    agreement = float((event_spikes == spikes).float().mean())
    if exact_spikes:
        steps_differing = [t for t in range(STEPS) if not torch.equal(spikes[t], event_spikes[t])]
        assert not steps_differing, f"spikes differ at steps {steps_differing}"
        torch.testing.assert_close(event_loss, loss, rtol=1e-6, atol=0)
        assert set(event_grads) == set(grads)
        for key, grad in grads.items():
            scale = grad.abs().max().clamp_min(torch.finfo(grad.dtype).tiny)
            worst = float((event_grads[key] - grad).abs().max() / scale)
            assert worst <= GRADIENT_TOLERANCE, f"gradient of {key} off by {worst:.2e} of its largest entry"
    return agreement


@pytest.mark.parametrize("neuron", ["lif", "lsnn"])
def test_same_spikes_and_gradients_as_norse(neuron: str) -> None:
    state = _exact_recurrent_weights(trained_weights(build(neuron, "norse")))
    _compare(neuron, state, exact_spikes=True)


@pytest.mark.parametrize("neuron", ["lif", "lsnn"])
def test_norses_own_initial_weights_give_its_spikes(neuron: str) -> None:
    """Real weights: the recurrent sums may round differently (summed in another order), so a spike may
    flip; on this small layer none does, and the gradients agree as above."""
    assert _compare(neuron, trained_weights(build(neuron, "norse")), exact_spikes=True) == 1.0


def test_inference_saves_nothing_for_a_backward_pass_and_gives_the_same_spikes() -> None:
    torch.set_num_threads(1)
    model = build_event("lif", trained_weights(build("lif", "norse")))
    inputs = torch.randn(STEPS, BATCH, CONFIG.features.n_mels) * 5.0 + 1.0
    with torch.no_grad():
        spikes = model.recurrent(inputs)
    assert spikes.grad_fn is None
    assert torch.equal(spikes, model.recurrent(inputs).detach())
    assert torch.get_num_threads() == 1  # numba's parallel loop left torch's thread count alone


def test_the_complexity_pass_counts_the_layer_on_norses_code() -> None:
    state = trained_weights(build("lif", "norse"))
    inputs = torch.randn(STEPS, BATCH, CONFIG.features.n_mels) * 5.0 + 1.0
    model = build_event("lif", state)
    calls = []
    original = probe.neuron_step
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(probe, "active", True)
        patch.setattr(probe, "neuron_step", lambda *args, **kwargs: calls.append(kwargs["spikes"]))
        spikes = model.recurrent(inputs)
    assert probe.neuron_step is original and len(calls) == STEPS
    assert torch.equal(torch.stack(calls), spikes)


def test_engine_option_values() -> None:
    assert speech_engines("Event, framework,event") == ("event", "framework")
    with pytest.raises(ValueError, match="'numba' is unknown; use framework"):
        speech_engines("numba")

    class Core:
        device, device_sweep = "cuda", ()
    with pytest.raises(ValueError, match="speech-engine=event runs on the CPU only"):
        _event_engine_needs_the_cpu({"snnbench_speech_engine": ("event",)}, Core())
    _event_engine_needs_the_cpu({"snnbench_speech_engine": ("framework",)}, Core())
    with pytest.raises(ValueError, match="LIF and LSNN"):
        event_engine.make_recurrent(4, 8, CONFIG, neuron="lstm")


def test_a_smoke_session_trains_and_infers_with_both_engines(pytester: pytest.Pytester, tmp_path) -> None:
    """Speech-LIF side by side on generated clips: both reach the smoke target, the records say which
    engine ran, and the two runs are not the same run (the engine is part of the identity)."""
    from tests.conftest import read_records, snnbench_args
    from tests.wav_files import write_speech_commands

    write_speech_commands(tmp_path / "data", speakers=16)
    result = pytester.runpytest_subprocess(*snnbench_args(
        tmp_path / "data", tmp_path / "cache", "-m", "speech and lif", "--snnbench-speech-engine=framework,event",
        "--benchmark-json=run.json"))
    result.assert_outcomes(passed=4)
    records = read_records(pytester.path / "run.json")
    event = records["test_speech_lif_training[event]"]
    framework = records["test_speech_lif_training[framework]"]
    assert event["engine"] == "event" and framework["engine"] is None
    assert event["identity"]["hash"] != framework["identity"]["hash"]
    assert records["test_speech_lif_inference[event]"]["model_source"] == "same-run"
    assert event["complexity"]["synaptic_operations"]["effective_acs"] > 0  # counted on Norse's code
