"""The lean Image-Backprop network computes what the reference step-by-step network computes."""
from __future__ import annotations

import snntorch as snn
import torch
from snntorch import surrogate
from torch import nn

from pytest_snnbench.workloads.image_backprop import via_snntorch
from pytest_snnbench.workloads.image_backprop.network import ConvSNN


def reference_network(model: ConvSNN) -> nn.Sequential:
    """The SNNBench/snnTorch formulation: every layer once per time step, hidden state in the neurons."""
    grad = surrogate.fast_sigmoid(slope=25)
    net = nn.Sequential(
        nn.Conv2d(1, 12, 5), nn.MaxPool2d(2), snn.Leaky(beta=0.5, spike_grad=grad, init_hidden=True),
        nn.Conv2d(12, 64, 5), nn.MaxPool2d(2), snn.Leaky(beta=0.5, spike_grad=grad, init_hidden=True),
        nn.Flatten(), nn.Linear(64 * 4 * 4, 10), snn.Leaky(beta=0.5, spike_grad=grad, init_hidden=True, output=True),
    )
    net[0].load_state_dict(model.conv1.state_dict())
    net[3].load_state_dict(model.conv2.state_dict())
    net[7].load_state_dict(model.fc.state_dict())
    return net


def reference_forward(net: nn.Sequential, images: torch.Tensor, steps: int) -> torch.Tensor:
    from snntorch import utils

    utils.reset(net)
    return torch.stack([net(images)[0] for _ in range(steps)])


def test_lean_forward_and_gradients_match_the_step_by_step_reference() -> None:
    torch.manual_seed(3)
    model = ConvSNN(via_snntorch.make_neuron, beta=0.5, slope=25).to(memory_format=torch.channels_last)
    with torch.no_grad():  # larger weights than the default init, so that every layer spikes
        for layer in (model.conv1, model.conv2, model.fc):
            layer.weight.mul_(4)
    reference = reference_network(model)
    images = torch.rand(6, 1, 28, 28)
    steps = 8

    lean = model(images, steps)
    expected = reference_forward(reference, images, steps)
    assert lean.shape == expected.shape == (steps, 6, 10)
    assert expected.sum() > 0, "the check is only meaningful if the output layer spikes"
    assert torch.equal(lean, expected)

    lean.sum().backward()
    expected.sum().backward()
    for mine, theirs in ((model.conv1, reference[0]), (model.conv2, reference[3]), (model.fc, reference[7])):
        torch.testing.assert_close(mine.weight.grad, theirs.weight.grad, rtol=1e-4, atol=1e-5)
