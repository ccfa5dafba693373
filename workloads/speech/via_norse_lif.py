"""The paper's framework for Speech-LIF: Norse's recurrent LIF (``LIFRecurrent``, ``lif_step``).

Norse's equations and its own ``threshold`` (surrogate) function, with the input projection out of
the time loop (one large matrix product instead of one per step): the same computation as Norse's
module, checked against it by tests/test_speech_models.py.
"""
from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from pytest_snnbench.complexity import probe

from .config import Config
from .network import input_weights, recurrent_weights

with warnings.catch_warnings():  # norse decorates with torch.jit.script, deprecated in torch 2.14
    warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=FutureWarning)
    from norse.torch.functional.lif import LIFParameters
    from norse.torch.functional.threshold import threshold

LIBRARY = "norse"
EQUAL = True  # it is the reference
MAPPING = ("norse LIFRecurrent's lif_step (tau_syn 5 ms, tau_mem 20 ms, dt 1 ms, v_th 1, reset to 0 detached, "
           "method 'triangle', alpha 0.3, no autapses), the input projection out of the time loop.")


class RecurrentLIF(nn.Module):
    """Norse's LIFRecurrent (lif_step, Euler steps of dt) with the input projection out of the time loop."""

    def __init__(self, input_size: int, hidden_size: int, p: LIFParameters, dt: float) -> None:
        super().__init__()
        self.input_weights = input_weights(hidden_size, input_size)
        self.recurrent_weights = recurrent_weights(hidden_size)
        self.p, self.dt = p, dt

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Spikes [T, B, H] for inputs [T, B, I], from rest."""
        p, dt = self.p, self.dt
        currents = F.linear(inputs, self.input_weights)  # all steps at once
        membrane_rate, current_decay = dt * float(p.tau_mem_inv), 1.0 - dt * float(p.tau_syn_inv)
        v_leak, v_th, v_reset = float(p.v_leak), float(p.v_th), float(p.v_reset)
        z = currents.new_zeros(currents.shape[1:])
        v = torch.full_like(z, v_leak)
        i = torch.zeros_like(z)
        recurrent = self.recurrent_weights.t()
        spikes = []
        for current in currents:
            i_jump = torch.addmm(current, z, recurrent).add_(i)
            v_decayed = torch.lerp(v, i_jump + v_leak if v_leak else i_jump, membrane_rate)
            i = i_jump * current_decay
            z = threshold(v_decayed - v_th, p.method, p.alpha)
            fired = z.detach()
            v_before = v
            v = v_decayed * (1.0 - fired) + fired * v_reset if v_reset else v_decayed * (1.0 - fired)
            if probe.active:  # a complexity pass is counting (never during the timed passes)
                probe.neuron_step(self, "norse-LIF", spikes=z, before=v_before, after=v)
            spikes.append(z)
        return torch.stack(spikes)


def parameters(config: Config) -> LIFParameters:
    return LIFParameters(tau_syn_inv=torch.as_tensor(1 / config.tau_syn), tau_mem_inv=torch.as_tensor(1 / config.tau_mem),
                         v_th=torch.as_tensor(config.v_th), method=config.surrogate, alpha=config.surrogate_alpha)


def make_recurrent(input_size: int, hidden_size: int, config: Config) -> nn.Module:
    return RecurrentLIF(input_size, hidden_size, parameters(config), config.dt)
