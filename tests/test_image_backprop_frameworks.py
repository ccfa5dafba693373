"""Every framework's Image-Backprop network against the paper's (snnTorch), before any ranking.

From the same weights and the same input batch: a framework marked equal (``EQUAL``) must give the
same spikes at every step of every layer, the same loss, and every parameter's gradient within
1e-5 of the paper's, relative to that gradient's largest entry (an entry-wise relative bound would
be undefined where the gradient is 0). A framework marked not equal must really differ (or the mark
is wrong) and is measured: how many spikes agree. docs/frameworks.md gives each mapping.
"""
from __future__ import annotations

import pytest
import snntorch.functional as SF
import torch

from pytest_snnbench import frameworks as framework_axis
from pytest_snnbench.workloads.image_backprop import frameworks
from pytest_snnbench.workloads.image_backprop.network import ConvSNN

STEPS, BATCH = 8, 6
GRADIENT_TOLERANCE = 1e-5


def build(name: str, state: dict | None = None) -> ConvSNN:
    module = frameworks.load(name).module
    torch.manual_seed(3)
    model = ConvSNN(module.make_neuron, beta=0.5, slope=25.0).to(memory_format=torch.channels_last)
    if state is None:
        with torch.no_grad():  # larger weights than the default init, so that every layer spikes
            for layer in (model.conv1, model.conv2, model.fc):
                layer.weight.mul_(4)
    else:
        model.load_state_dict(state, strict=False)  # the layers' weights; neurons keep their own constants
    return model


def weights(model: ConvSNN) -> dict[str, torch.Tensor]:
    return {key: value for key, value in model.state_dict().items() if key.split(".")[0] in ("conv1", "conv2", "fc")}


def forward_and_backward(model: ConvSNN) -> tuple[tuple[torch.Tensor, ...], torch.Tensor, dict[str, torch.Tensor]]:
    torch.manual_seed(11)
    images, targets = torch.rand(BATCH, 1, 28, 28), torch.randint(0, 10, (BATCH,))
    spikes = model.layer_spikes(images, STEPS)
    loss = SF.ce_rate_loss()(spikes[-1], targets)
    model.zero_grad()
    loss.backward()
    grads = {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}
    return tuple(s.detach() for s in spikes), loss.detach(), grads


@pytest.fixture(scope="module")
def paper() -> tuple[dict, tuple]:
    model = build(frameworks.PAPER)
    return weights(model), forward_and_backward(model)


@pytest.mark.parametrize("name", sorted(frameworks.MODULES))
def test_each_framework_is_equal_to_the_paper_or_marked_and_measured(name: str, paper) -> None:
    state, (spikes, loss, grads) = paper
    assert all(s.sum() > 0 for s in spikes), "the comparison means something only if every layer spikes"
    theirs_spikes, theirs_loss, theirs_grads = forward_and_backward(build(name, state))
    assert [s.shape for s in theirs_spikes] == [s.shape for s in spikes]
    equal = frameworks.load(name).module.EQUAL
    if equal:
        for layer, (mine, theirs) in enumerate(zip(spikes, theirs_spikes), start=1):
            steps_differing = [t for t in range(STEPS) if not torch.equal(mine[t], theirs[t])]
            assert not steps_differing, f"{name}: layer {layer} spikes differ at steps {steps_differing}"
        torch.testing.assert_close(theirs_loss, loss, rtol=1e-6, atol=0)
        assert set(theirs_grads) == set(grads)
        for key, grad in grads.items():
            scale = grad.abs().max().clamp_min(torch.finfo(grad.dtype).tiny)
            worst = float((theirs_grads[key] - grad).abs().max() / scale)
            assert worst <= GRADIENT_TOLERANCE, f"{name}: gradient of {key} off by {worst:.2e} of its largest entry"
    else:
        agreement = [float((mine == theirs).float().mean()) for mine, theirs in zip(spikes, theirs_spikes)]
        assert min(agreement) < 1.0, f"{name} is marked not equal but gives the paper's spikes: mark it equal"
        # Until a neuron first fires, every mapping computes the same leaky integration: the first
        # layer's first spikes agree (its input current is the same at every step).
        def first_spike(s: torch.Tensor) -> torch.Tensor:
            return torch.where(s.any(0), s.float().argmax(0), torch.full(s.shape[1:], -1))
        assert float((first_spike(spikes[0]) == first_spike(theirs_spikes[0])).float().mean()) >= 0.999


def test_a_framework_that_is_not_installed_is_a_skip_naming_its_extra(monkeypatch) -> None:
    real = framework_axis.importlib.import_module

    def missing(name: str, *args):
        if name.endswith("via_sinabs"):
            raise ModuleNotFoundError("No module named 'sinabs'", name="sinabs")
        return real(name, *args)

    monkeypatch.setattr(framework_axis.importlib, "import_module", missing)
    with pytest.raises(pytest.skip.Exception, match=r"pip install 'pytest-snnbench\[sinabs\]'"):
        frameworks.load("sinabs")
    with pytest.raises(pytest.skip.Exception, match="Image-Backprop in lava: not implemented"):
        frameworks.load("lava")


def test_norse_superspike_ignores_its_alpha() -> None:
    """Why Norse is marked not equal besides its reset: its surrogate's slope is 1 whatever alpha is."""
    from norse.torch.functional.threshold import threshold

    x = torch.tensor([0.1], requires_grad=True)
    threshold(x, "super", 25.0).backward()
    assert x.grad.item() == pytest.approx(1 / (abs(0.1) + 1) ** 2)  # with alpha 25 it would be 1 / 3.5 ** 2


def test_the_compiled_network_gives_the_same_spikes_and_gradients(paper) -> None:
    """``NAME+compile`` runs the same module under torch.compile (the workload's ``network``); shown
    for our plain-torch neuron, the one whose graph compiles without breaks."""
    state, (spikes, loss, grads) = paper
    model = build("torch", state)
    compiled = torch.compile(model)
    torch.manual_seed(11)
    images, targets = torch.rand(BATCH, 1, 28, 28), torch.randint(0, 10, (BATCH,))
    output = compiled(images, STEPS)
    assert torch.equal(output, spikes[-1])
    SF.ce_rate_loss()(output, targets).backward()
    for name, parameter in model.named_parameters():
        scale = grads[name].abs().max()
        assert float((parameter.grad - grads[name]).abs().max() / scale) <= GRADIENT_TOLERANCE, name


@pytest.mark.parametrize("name", sorted(frameworks.MODULES))
def test_a_network_that_has_run_saves_and_loads_into_a_fresh_one(name: str) -> None:
    """The model cache saves the trained network and inference loads it into a new one (strictly)."""
    trained = build(name)
    forward_and_backward(trained)  # a framework keeping its state in buffers of the batch's shape
    fresh = build(name)
    fresh.load_state_dict(trained.state_dict())
    images = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        assert torch.equal(fresh(images, STEPS), trained(images, STEPS))
