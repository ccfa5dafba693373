"""The paper's framework for Speech-LSNN: Norse's recurrent LSNN (``LSNNRecurrent``, ``lsnn_step``),
the LIF with an adaptive threshold b, with the input projection out of the time loop; checked
against Norse's module by tests/test_speech_models.py."""
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
    from norse.torch.functional.lsnn import LSNNParameters
    from norse.torch.functional.threshold import threshold

LIBRARY = "norse"
EQUAL = True  # it is the reference
MAPPING = ("norse LSNNRecurrent's lsnn_step (the LIF's constants, tau_adapt 200 ms, beta 0.1), the input "
           "projection out of the time loop.")


class RecurrentLSNN(nn.Module):
    """Norse's LSNNRecurrent (lsnn_step: adaptive threshold b) with the input projection out of the loop."""

    def __init__(self, input_size: int, hidden_size: int, p: LSNNParameters, dt: float) -> None:
        super().__init__()
        self.input_weights = input_weights(hidden_size, input_size)
        self.recurrent_weights = recurrent_weights(hidden_size)
        self.p, self.dt = p, dt

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        p, dt = self.p, self.dt
        currents = F.linear(inputs, self.input_weights)
        membrane_rate, current_decay = dt * float(p.tau_mem_inv), 1.0 - dt * float(p.tau_syn_inv)
        adapt_rate = dt * float(p.tau_adapt_inv)
        v_leak, v_th, v_reset, beta = float(p.v_leak), float(p.v_th), float(p.v_reset), float(p.beta)
        z = currents.new_zeros(currents.shape[1:])
        v = torch.full_like(z, v_leak)
        i = torch.zeros_like(z)
        b = torch.full_like(z, v_th)
        recurrent = self.recurrent_weights.t()
        spikes = []
        for current in currents:
            # Norse's order: decay with the old current, spike, then the current jumps for the next step
            v_decayed = torch.lerp(v, i + v_leak if v_leak else i, membrane_rate)
            b_decayed = b * (1.0 - adapt_rate) + adapt_rate * v_th  # b + dt/tau_b (v_th - b)
            i = torch.addmm(current, z, recurrent).add_(i, alpha=current_decay)
            z = threshold(v_decayed - b_decayed, p.method, p.alpha)
            fired = z.detach()
            v_before = v
            v = v_decayed * (1.0 - fired) + fired * v_reset if v_reset else v_decayed * (1.0 - fired)
            b = b_decayed + fired * beta
            if probe.active:
                probe.neuron_step(self, "norse-LSNN", spikes=z, before=v_before, after=v)
            spikes.append(z)
        return torch.stack(spikes)


def parameters(config: Config) -> LSNNParameters:
    return LSNNParameters(tau_syn_inv=torch.as_tensor(1 / config.tau_syn), tau_mem_inv=torch.as_tensor(1 / config.tau_mem),
                          tau_adapt_inv=torch.as_tensor(1 / config.tau_adapt), v_th=torch.as_tensor(config.v_th),
                          beta=torch.as_tensor(config.adapt_beta), method=config.surrogate, alpha=config.surrogate_alpha)


def make_recurrent(input_size: int, hidden_size: int, config: Config) -> nn.Module:
    return RecurrentLSNN(input_size, hidden_size, parameters(config), config.dt)
