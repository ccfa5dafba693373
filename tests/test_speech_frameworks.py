"""Every framework's speech network against the paper's (Norse's), before any ranking.

From the same weights and the same input batch, over a whole forward and backward pass of the full
network (recurrent layer, readout, loss): a framework marked equal (``EQUAL``) must give the same
spikes at every step, the same loss, and every trained parameter's gradient within 1e-5 of the
paper's, relative to that gradient's largest entry. A framework marked not equal must really differ
(or the mark is wrong) and is measured: how many spikes agree. docs/frameworks.md gives each mapping.
"""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from pytest_snnbench import frameworks as framework_axis
from pytest_snnbench.workloads.speech import frameworks, network
from pytest_snnbench.workloads.speech.config import CONFIGS

CONFIG = replace(CONFIGS["full"], hidden_size=32, features=replace(CONFIGS["full"].features, n_mels=10))
STEPS, BATCH, CLASSES = 40, 6, 5
GRADIENT_TOLERANCE = 1e-5
TRAINED = ("recurrent.input_weights", "recurrent.recurrent_weights", "readout.linear.weight")
PAIRS = [(neuron, name) for neuron, catalog in frameworks.CATALOGS.items() for name in sorted(catalog.modules)]


def build(neuron: str, name: str, state: dict | None = None) -> network.SpeechNet:
    module = frameworks.CATALOGS[neuron].load(name).module
    torch.manual_seed(3)
    model = network.build_model(module.make_recurrent, CONFIG, CLASSES)
    if state is not None:
        missing = model.load_state_dict(state, strict=False).missing_keys
        assert not set(TRAINED) & set(missing)  # the trained weights arrived; a neuron keeps its own constants
    return model


def features() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(11)
    inputs = torch.randn(BATCH, STEPS, CONFIG.features.n_mels, generator=generator) * 5.0 + 1.0
    return inputs, torch.randint(0, CLASSES, (BATCH,), generator=generator)


def forward_and_backward(model: network.SpeechNet) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    inputs, targets = features()
    spikes = model.recurrent(inputs.transpose(0, 1))
    if model.lstm:
        spikes = spikes[0]
    loss = F.cross_entropy(model.readout(spikes).mean(0), targets)
    model.zero_grad()
    loss.backward()
    grads = {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}
    return spikes.detach(), loss.detach(), grads


def trained_weights(model: network.SpeechNet) -> dict[str, torch.Tensor]:
    return {key: value for key, value in model.state_dict().items() if key in TRAINED}


@pytest.fixture(scope="module")
def papers() -> dict[str, tuple[dict, tuple]]:
    out = {}
    for neuron, catalog in frameworks.CATALOGS.items():
        model = build(neuron, catalog.paper)
        out[neuron] = trained_weights(model), forward_and_backward(model)
    return out


@pytest.mark.parametrize("neuron,name", PAIRS)
def test_each_framework_is_equal_to_the_paper_or_marked_and_measured(neuron: str, name: str, papers) -> None:
    state, (spikes, loss, grads) = papers[neuron]
    if neuron != "lstm":
        rate = float(spikes.mean())
        assert 0.02 < rate < 0.5, f"the comparison means something only if the layer spikes (rate {rate:.3f})"
    theirs_spikes, theirs_loss, theirs_grads = forward_and_backward(build(neuron, name, state))
    assert theirs_spikes.shape == spikes.shape
    if not frameworks.CATALOGS[neuron].load(name).module.EQUAL:
        agreement = float((theirs_spikes == spikes).float().mean())
        assert agreement < 1.0, f"{name} is marked not equal but gives the paper's spikes: mark it equal"
        # Until the first reset every mapping computes the same integration: the first step any
        # neuron fires agrees (up to a spike that rounding may flip).
        first = int(spikes.flatten(1).any(1).float().argmax())
        assert torch.equal(theirs_spikes[:first], spikes[:first])
        assert float((theirs_spikes[first] == spikes[first]).float().mean()) >= 0.99
        return
    steps_differing = [t for t in range(STEPS) if not torch.equal(spikes[t], theirs_spikes[t])]
    assert not steps_differing, f"{name}: spikes differ at steps {steps_differing}"
    torch.testing.assert_close(theirs_loss, loss, rtol=1e-6, atol=0)
    assert set(theirs_grads) == set(grads)
    for key, grad in grads.items():
        scale = grad.abs().max().clamp_min(torch.finfo(grad.dtype).tiny)
        worst = float((theirs_grads[key] - grad).abs().max() / scale)
        assert worst <= GRADIENT_TOLERANCE, f"{name}: gradient of {key} off by {worst:.2e} of its largest entry"


@pytest.mark.parametrize("neuron,name", PAIRS)
def test_a_network_that_has_run_saves_and_loads_into_a_fresh_one(neuron: str, name: str) -> None:
    """The model cache saves the trained network and inference loads it into a new one (strictly)."""
    trained = build(neuron, name)
    forward_and_backward(trained)  # a framework keeping its state in buffers of the batch's shape
    fresh = build(neuron, name)
    fresh.load_state_dict(trained.state_dict())
    inputs = features()[0][:2]
    with torch.no_grad():
        assert torch.equal(fresh(inputs), trained(inputs))


def test_snntorchs_own_reset_to_zero_keeps_the_spike_in_the_graph() -> None:
    """Why via_snntorch_lif resets outside snnTorch: its reset in the firing step (reset_delay=False)
    passes gradient through the spike, where Norse's reset is detached."""
    import snntorch as snn

    neuron = snn.Synaptic(alpha=0.8, beta=0.95, spike_grad=network.Triangle(0.3), reset_mechanism="zero",
                          reset_delay=False)
    drive = torch.tensor([1.5], requires_grad=True)
    spikes, _, mem = neuron(drive, torch.zeros(1), torch.zeros(1))
    assert spikes.item() == 1.0 and mem.item() == 0.0
    mem.backward()
    # mem = m - spk * m: d mem / d drive = (1 - spk) - m * d spk / d m = -1.5 * 0.3 * (1 - 0.5) ≠ 0 (Norse: 0)
    assert drive.grad.item() == pytest.approx(-1.5 * 0.3 * 0.5)


def test_a_layer_a_framework_lacks_is_a_skip_that_says_why() -> None:
    with pytest.raises(pytest.skip.Exception, match="Speech-LSNN in snntorch: .*no adaptive-threshold"):
        frameworks.LSNN.load("snntorch")
    with pytest.raises(pytest.skip.Exception, match="torch.nn.LSTM in every framework"):
        frameworks.LSTM.load("norse")
    assert frameworks.LSTM.resolve("paper+compile") == "torch+compile"
    assert frameworks.LIF.load("paper").is_paper and not frameworks.LIF.load("norse+compile").is_paper


def test_a_framework_that_is_not_installed_is_a_skip_naming_its_extra(monkeypatch) -> None:
    real = framework_axis.importlib.import_module

    def missing(name: str, *args):
        if name.endswith("via_spikingjelly_lif"):
            raise ModuleNotFoundError("No module named 'spikingjelly'", name="spikingjelly")
        return real(name, *args)

    monkeypatch.setattr(framework_axis.importlib, "import_module", missing)
    with pytest.raises(pytest.skip.Exception, match=r"pip install 'pytest-snnbench\[spikingjelly\]'"):
        frameworks.LIF.load("spikingjelly")


def test_the_compiled_network_gives_the_same_spikes_and_gradients(papers) -> None:
    """``NAME+compile`` runs the same module under torch.compile (the workload's ``network``)."""
    state, (spikes, loss, grads) = papers["lif"]
    model = build("lif", "norse", state)
    compiled = torch.compile(model.recurrent)
    inputs, targets = features()
    output = compiled(inputs.transpose(0, 1))
    assert torch.equal(output, spikes)
    F.cross_entropy(model.readout(output).mean(0), targets).backward()
    for name, parameter in model.named_parameters():
        scale = grads[name].abs().max()
        assert float((parameter.grad - grads[name]).abs().max() / scale) <= GRADIENT_TOLERANCE, name
