"""Speech-LIF in SpikingJelly: its LIF neuron step (``functional.lif_step``, the function behind
``LIFNode``), mapped onto Norse's LIF.

SpikingJelly's charge with ``decay_input=True`` and ``v_reset=0`` is v + (x - v) / tau: Norse's
Euler step v + dt/tau_mem * (i - v) with tau = tau_mem / dt (20), up to rounding (a division by 20
where Norse multiplies by 0.05). Its hard reset to ``v_reset`` with ``detach_reset=True`` is Norse's
detached reset to 0. SpikingJelly has no current-based LIF, so the synaptic current
i[t] = 0.8 i[t-1] + x[t] is this module's, in torch, as are the recurrence (as in every framework
here) and the surrogate: Norse's triangle (``network.Triangle``) passed as SpikingJelly's
surrogate callable, since SpikingJelly's built-in surrogates fire at >= 0 (Norse: > 0) and none is
Norse's triangle of height 0.3.
"""
from __future__ import annotations

import torch
from spikingjelly.activation_based import functional
from torch import nn

from .config import Config
from .network import RecurrentCells, Triangle

LIBRARY = "spikingjelly"
EQUAL = True  # spikes equal and gradients within 1e-5 (tests/test_speech_frameworks.py)
MAPPING = ("spikingjelly functional.lif_step (LIFNode's step; tau=tau_mem/dt, decay_input=True, v_threshold=1, "
           "v_reset=0, detach_reset=True, surrogate=Norse's triangle(0.3)) driven by a synaptic current "
           "i = 0.8 i + x computed in torch (SpikingJelly has no current-based LIF).")


class LIFStepRecurrent(RecurrentCells):
    def __init__(self, input_size: int, hidden_size: int, config: Config) -> None:
        super().__init__(input_size, hidden_size)
        self.tau, self.v_th, self.current_decay = config.tau_mem / config.dt, config.v_th, config.current_decay
        self.surrogate = Triangle(config.surrogate_alpha)

    def step(self, drive: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        current, v = state
        current = drive + current
        spikes, v = functional.lif_step(current, v, self.tau, True, self.v_th, 0.0, self.surrogate, True)
        return spikes, (current * self.current_decay, v), v


def make_recurrent(input_size: int, hidden_size: int, config: Config) -> nn.Module:
    return LIFStepRecurrent(input_size, hidden_size, config)
