"""Norse's boxed LIF neuron (``LIFBoxCell``), mapped as closely as Norse allows: NOT the paper's neuron.

Mapping: dt = 1 and tau_mem_inv = 1 - beta (so the leak is beta), input currents scaled by
1 / (dt * tau_mem_inv) (Norse integrates ``dt * tau_mem_inv * (x - v)``), threshold 1, ``reset_subtract``,
SuperSpike surrogate with alpha = slope. What Norse 1.1 cannot express (docs/frameworks.md):
- the reset: Norse subtracts the threshold in the step that fires, so the next step decays it
  (beta * (m - 1) + x instead of snnTorch's beta * m + x - 1), and keeps it in the graph;
- the surrogate: Norse 1.1's SuperSpike backward is 1 / (|x| + 1)^2 whatever alpha is (its alpha is
  accepted and ignored), so the slope is 1, not 25;
- rounding: v + 0.5 * (2x - v) is beta * v + x in exact arithmetic only.
"""
from __future__ import annotations

import torch
from norse.torch.functional.lif_box import LIFBoxParameters
from norse.torch.functional.reset import reset_subtract
from norse.torch.module.lif_box import LIFBoxCell
from torch import nn

LIBRARY = "norse"
EQUAL = False
MAPPING = ("norse LIFBoxCell(LIFBoxParameters(tau_mem_inv=1-beta, v_th=1, v_reset=0, method='super', "
           "alpha=slope, reset_method=reset_subtract), dt=1), input x / (1-beta): the reset is decayed "
           "and not detached, and Norse 1.1's SuperSpike ignores alpha (slope 1).")


class LIFBoxOverTime(nn.Module):
    def __init__(self, beta: float, slope: float) -> None:
        super().__init__()
        self.input_scale = 1.0 / (1.0 - beta)
        self.cell = LIFBoxCell(LIFBoxParameters(tau_mem_inv=torch.as_tensor(1.0 - beta), v_leak=torch.as_tensor(0.0),
                                                v_th=torch.as_tensor(1.0), v_reset=torch.as_tensor(0.0),
                                                method="super", alpha=torch.as_tensor(slope),
                                                reset_method=reset_subtract), dt=1.0)

    def forward(self, currents: torch.Tensor) -> torch.Tensor:
        state = None
        spikes = []
        for current in currents:
            spike, state = self.cell(current * self.input_scale, state)
            spikes.append(spike)
        return torch.stack(spikes)


def make_neuron(beta: float, slope: float) -> nn.Module:
    return LIFBoxOverTime(beta, slope)
