"""Speech-LIF in Rockpool: its recurrent ``LIFTorch``, mapped as closely as it allows: NOT Norse's LIF.

Rockpool integrates i = alpha_syn * (i + x + z[t-1] W_rec), v = alpha_mem * v + i, as Sinabs does:
with the decays set exactly (``leak_mode="decays"``, alpha 0.95, beta 0.8, ``Constant``) and the
input and recurrent weights scaled by (dt / tau_mem) / alpha_syn = 0.0625, its v is Norse's v up to
rounding. The spike function is Rockpool's interface (an autograd function of membrane, threshold,
window and maximum spikes); ours is Norse's triangle (Heaviside strictly above the threshold),
one spike per step at most. What Rockpool cannot express (docs/frameworks.md): its reset subtracts
the threshold (Norse resets to 0), and the subtraction stays in the graph (Norse detaches it).

The recurrence runs inside Rockpool's own loop (its ``w_rec``), so the layer's weights are this
module's ``input_weights`` and ``recurrent_weights`` (the ones every framework loads), handed to
Rockpool for each call with ``torch.func.functional_call``. Rockpool keeps its last state (of the
batch's first clip only) as the start of the next call, so it is reset before every call, and kept
outside the network's parameters, so that a saved network holds the weights only.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pytest_snnbench.complexity import probe

from .. import rockpool_import
from .config import Config
from .network import RecurrentCells, TriangleSpike

rockpool = rockpool_import.rockpool()  # at import: a missing Rockpool is a skip naming its extra

LIBRARY = "rockpool"
EQUAL = False
MAPPING = ("rockpool LIFTorch(has_rec, leak_mode='decays', alpha=0.95, beta=0.8, threshold=1, bias=0, all Constant, "
           "max_spikes_per_dt=1, spike_generation_fn=Norse's triangle(0.3)) on input and recurrent weights scaled by "
           "(dt/tau_mem)/alpha_syn: the reset subtracts the threshold, in the graph (Norse: to 0, detached).")


class RockpoolRecurrent(RecurrentCells):
    def __init__(self, input_size: int, hidden_size: int, config: Config) -> None:
        super().__init__(input_size, hidden_size)
        self.config = config
        self.input_scale = (config.dt / config.tau_mem) / config.current_decay
        self._layers: dict[torch.device, nn.Module] = {}  # not submodules: no part of the state_dict

    def _layer(self, device: torch.device) -> nn.Module:
        if device not in self._layers:
            LIFTorch, Constant = rockpool.nn.modules.LIFTorch, rockpool.parameters.Constant
            config, hidden = self.config, self.recurrent_weights.shape[0]
            alpha = config.surrogate_alpha
            layer = LIFTorch(shape=(hidden, hidden), leak_mode="decays", alpha=Constant(config.membrane_decay),
                             beta=Constant(config.current_decay), threshold=Constant(config.v_th),
                             bias=Constant(0.0), has_rec=True, w_rec=torch.zeros(hidden, hidden), dt=config.dt,
                             max_spikes_per_dt=torch.tensor(1.0))
            # Rockpool calls it as a plain function of four arguments.
            layer.spike_generation_fn = lambda v, threshold, window, most: TriangleSpike.apply(v - threshold, alpha)
            self._layers[device] = layer.to(device)
        return self._layers[device]

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        currents = F.linear(inputs, self.input_weights) * self.input_scale  # [T, B, H], all steps at once
        layer = self._layer(currents.device)
        layer.reset_state()  # from rest, whatever the last call left
        layer._record = probe.active  # Rockpool records its membranes only when asked (evolve's flag)
        # Rockpool adds z[t-1] @ w_rec: w_rec is W_rec transposed.
        weights = {"w_rec": (self.recurrent_weights * self.input_scale).t()}
        # Rockpool is [batch, time, neurons] and returns (output, state, record).
        spikes = torch.func.functional_call(layer, weights, (currents.transpose(0, 1),))[0].transpose(0, 1)
        if probe.active:
            probe.neuron_sequence(self, "norse-LIF", spikes=spikes,
                                  membranes=layer._record_dict["vmem"].transpose(0, 1))
        layer._record, layer._record_dict = False, {}
        return spikes


def make_recurrent(input_size: int, hidden_size: int, config: Config) -> nn.Module:
    return RockpoolRecurrent(input_size, hidden_size, config)
