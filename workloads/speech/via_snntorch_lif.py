"""Speech-LIF in snnTorch: its current-based ``Synaptic`` neuron, mapped onto Norse's LIF.

Norse integrates the membrane by an Euler step, v + dt/tau_mem * (i - v), with the current
i[t] = 0.8 i[t-1] + x[t] undamped by dt; snnTorch's Synaptic is syn = alpha * syn + x,
mem = beta * mem + syn. With alpha = 1 - dt/tau_syn (0.8), beta = 1 - dt/tau_mem (0.95) and the
input scaled by dt/tau_mem (0.05), syn is 0.05 times Norse's current and mem is Norse's v (up to
rounding: snnTorch rounds 0.95 v + 0.05 i where Norse rounds v + 0.05 (i - v)). Two parts of the
paper's neuron snnTorch cannot say itself, so they are given to it: the surrogate (Norse's
triangle, ``network.Triangle``, as ``spike_grad``; snnTorch's ``triangular`` is a constant
+-1 gradient) and the reset. snnTorch's reset to zero in the firing step (``reset_delay=False``)
keeps the spike in the graph (mem - spk * mem), where Norse detaches it; its delayed reset zeroes
the next step's membrane, new input included. So the neuron runs with ``reset_mechanism="none"``
and this module resets to zero, detached, after each step, as Norse does.
"""
from __future__ import annotations

import snntorch as snn
import torch
from torch import nn

from .config import Config
from .network import RecurrentCells, Triangle

LIBRARY = "snntorch"
EQUAL = True  # spikes equal and gradients within 1e-5 (tests/test_speech_frameworks.py)
MAPPING = ("snntorch.Synaptic(alpha=1-dt/tau_syn, beta=1-dt/tau_mem, threshold=1, reset_mechanism='none', "
           "spike_grad=Norse's triangle(0.3)) on the input scaled by dt/tau_mem; reset to 0 after each step, "
           "detached, by the loop (snnTorch's own keeps the spike in the graph).")


class SynapticRecurrent(RecurrentCells):
    counted_by_hooks = True  # snnTorch's neuron: the complexity pass counts it as NeuroBench does

    def __init__(self, input_size: int, hidden_size: int, config: Config) -> None:
        super().__init__(input_size, hidden_size)
        self.input_scale = config.dt / config.tau_mem
        self.neuron = snn.Synaptic(alpha=config.current_decay, beta=config.membrane_decay, threshold=config.v_th,
                                   spike_grad=Triangle(config.surrogate_alpha), reset_mechanism="none")

    def step(self, drive: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        syn, mem = state
        spikes, syn, mem = self.neuron(drive * self.input_scale, syn, mem)
        mem = mem * (1.0 - spikes.detach())
        return spikes, (syn, mem), mem

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        spikes = super().forward(inputs)
        self.neuron.syn, self.neuron.mem = torch.zeros(0), torch.zeros(0)  # keep no batch alive between calls
        return spikes


def make_recurrent(input_size: int, hidden_size: int, config: Config) -> nn.Module:
    return SynapticRecurrent(input_size, hidden_size, config)
