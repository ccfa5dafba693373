"""The event engine of the speech SNNs: Norse's recurrent LIF and LSNN layers (via_norse_lif.py,
via_norse_lsnn.py) as one compiled loop over time steps forward and one tight loop backward.

Norse runs a time step as a dozen torch calls, each recorded by autograd, 101 steps per clip: on a
CPU, the call overhead is most of the layer's time, and the recurrent product multiplies a spike
vector that is 93 % zeros. Here:

- forward (numba, the clips of a batch in parallel): per step the recurrent input is the sum of the
  rows of the neurons that spiked at the step before (additions only); the neuron update is Norse's
  float32 arithmetic in Norse's order, torch's fused ``lerp`` included (``_fma32``);
- backward (torch, no autograd graph): the hand-written adjoint of the same equations, Norse's
  triangle surrogate, the reset detached as Norse detaches it; the recurrent weights' gradient as
  one product over all steps.

The input projection, the readout, the loss and the optimiser stay torch's, so a set of weights
loads into this engine and Norse's alike (``input_weights``, ``recurrent_weights``). Proven equal to
Norse's by tests/test_speech_event_engine.py: the same spikes at every step when the recurrent sums
are exact in float32, gradients within 1e-5. With real weights the only difference is the order of
the recurrent sum (MKL's blocked dot products against rows in index order), which can move a
potential by the last bit and so, rarely, a spike. The complexity pass counts the layer on Norse's
code with the same weights (compiled loops are invisible to its hooks).

Equations (x: input projection, z: spikes, i: current, v: membrane, b: the LSNN's threshold):
  LIF:  j = x[t] + W z[t-1] + i;  v' = lerp(v, j, dt/tau_mem);  i = j (1 - dt/tau_syn);  z = H(v' - v_th)
  LSNN: v' = lerp(v, i, dt/tau_mem);  b' = b (1 - dt/tau_b) + (dt/tau_b) v_th;
        i = x[t] + W z[t-1] + (1 - dt/tau_syn) i;  z = H(v' - b');  b = b' + beta z
  both: v = v' (1 - z), z detached; surrogate gradient alpha * max(0, 1 - |v' - threshold|).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic
from torch import nn

from pytest_snnbench.complexity import probe
from pytest_snnbench.threads import numba_on_torch_threads

from .config import Config
from .network import input_weights, recurrent_weights

f32 = np.float32


@intrinsic
def _fma32(typingctx, a, b, c):
    """a * b + c rounded once, as torch's vectorised lerp and add-with-alpha compute it."""
    signature = types.float32(types.float32, types.float32, types.float32)

    def codegen(context, builder, sig, args):
        f = ir.FloatType()
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(f, [f, f, f]), "llvm.fma.f32")
        return builder.call(fma, args)

    return signature, codegen


@njit(cache=True, parallel=True)
def simulate(currents, w_rows, adaptive, c, spikes, v_pre, b_pre, save):
    """Run the layer over ``currents`` [T, B, H] (the input projection) from rest.

    w_rows [H, H]: row j holds neuron j's outgoing recurrent weights (the recurrent matrix
    transposed). c: float32 constants (``Constants.array``). Writes ``spikes`` [T, B, H] (0 or 1)
    and, when ``save``, the membrane before the reset ``v_pre`` and (LSNN) the threshold ``b_pre``
    of every step, which the backward pass needs.
    """
    steps, batch, n = currents.shape
    rate, keep_current, v_th, keep_threshold, threshold_inflow, beta = c[0], c[1], c[2], c[3], c[4], c[5]
    zero, one = f32(0.0), f32(1.0)
    for b in prange(batch):
        v = np.zeros(n, dtype=np.float32)
        i = np.zeros(n, dtype=np.float32)
        threshold = np.full(n, v_th, dtype=np.float32)
        recurrent = np.zeros(n, dtype=np.float32)
        before = np.zeros(n, dtype=np.float32)  # this step's membrane before the reset
        b_now = np.full(n, v_th, dtype=np.float32)  # this step's threshold
        fired = np.zeros(n, dtype=np.float32)  # this step's spikes, 0 or 1
        fired_last = np.zeros(n, dtype=np.int64)
        n_fired = 0
        for t in range(steps):
            for k in range(n):
                recurrent[k] = zero
            for e in range(n_fired):
                weight_row = w_rows[fired_last[e]]  # a view: the loop below vectorises
                for k in range(n):
                    recurrent[k] += weight_row[k]
            current = currents[t, b]
            # Branch-free loops over the neurons (they vectorise); the same operations, in the same
            # order, as Norse's step.
            if adaptive:
                for k in range(n):
                    jump = recurrent[k] + current[k]  # addmm(current, z, W^T): the product, then + current
                    before[k] = _fma32(rate, i[k] - v[k], v[k])  # the old current drives the membrane
                    b_now[k] = threshold[k] * keep_threshold + threshold_inflow
                    i[k] = _fma32(i[k], keep_current, jump)  # .add_(i, alpha=keep)
                    fired[k] = one if before[k] - b_now[k] > zero else zero
                    v[k] = before[k] * (one - fired[k])
                    threshold[k] = b_now[k] + fired[k] * beta
            else:
                for k in range(n):
                    jump = (recurrent[k] + current[k]) + i[k]
                    before[k] = _fma32(rate, jump - v[k], v[k])
                    i[k] = jump * keep_current
                    fired[k] = one if before[k] - v_th > zero else zero
                    v[k] = before[k] * (one - fired[k])
            spikes[t, b] = fired
            if save:
                v_pre[t, b] = before
                if adaptive:
                    b_pre[t, b] = b_now
            n_new = 0
            for k in range(n):
                if fired[k] > zero:
                    fired_last[n_new] = k
                    n_new += 1
            n_fired = n_new


@dataclass(frozen=True)
class Constants:
    """The layer's per-step constants from the configuration, as Norse derives them (Python floats,
    rounded to float32 where torch rounds a scalar operand)."""

    rate: float  # dt / tau_mem
    keep_current: float  # 1 - dt / tau_syn
    v_th: float
    keep_threshold: float  # 1 - dt / tau_adapt
    threshold_inflow: float  # dt / tau_adapt * v_th
    beta: float
    alpha: float  # the triangle surrogate's height

    @classmethod
    def of(cls, config: Config) -> "Constants":
        dt = config.dt
        # As Norse: the inverse time constants are float32 tensors, read back with float().
        inv = lambda tau: float(torch.as_tensor(1 / tau))  # noqa: E731
        adapt_rate = dt * inv(config.tau_adapt)
        return cls(rate=dt * inv(config.tau_mem), keep_current=1.0 - dt * inv(config.tau_syn),
                   v_th=float(torch.as_tensor(config.v_th)), keep_threshold=1.0 - adapt_rate,
                   threshold_inflow=adapt_rate * float(torch.as_tensor(config.v_th)),
                   beta=float(torch.as_tensor(config.adapt_beta)), alpha=config.surrogate_alpha)

    def array(self) -> np.ndarray:
        return np.array([self.rate, self.keep_current, self.v_th, self.keep_threshold, self.threshold_inflow,
                         self.beta], dtype=np.float32)


class _EventRecurrence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, currents: torch.Tensor, weights: torch.Tensor, adaptive: bool,  # type: ignore[override]
                constants: Constants, save: bool) -> torch.Tensor:
        """``save``: keep what the backward pass needs (only when there will be one)."""
        x = currents.detach().to(torch.float32).contiguous()
        steps, batch, n = x.shape
        spikes = torch.empty_like(x)
        v_pre = torch.empty_like(x) if save else x.new_empty(0, 0, 0)
        b_pre = torch.empty_like(x) if save and adaptive else x.new_empty(0, 0, 0)
        with numba_on_torch_threads():
            simulate(x.numpy(), weights.detach().t().contiguous().numpy(), adaptive, constants.array(),
                     spikes.numpy(), v_pre.numpy(), b_pre.numpy(), save)
        ctx.adaptive, ctx.constants = adaptive, constants
        ctx.save_for_backward(spikes, v_pre, b_pre, weights)
        return spikes

    @staticmethod
    def backward(ctx, grad_spikes: torch.Tensor):  # type: ignore[override]
        spikes, v_pre, b_pre, weights = ctx.saved_tensors
        c, adaptive = ctx.constants, ctx.adaptive
        weights = weights.detach()
        steps = spikes.shape[0]
        zeros = torch.zeros_like(spikes[0])
        grad_v, grad_i, grad_b, grad_z_next = zeros, zeros, zeros, zeros
        grad_currents = torch.empty_like(spikes)
        for t in range(steps - 1, -1, -1):
            grad_z = grad_spikes[t] + grad_z_next
            over = v_pre[t] - (b_pre[t] if adaptive else c.v_th)
            surrogate = grad_z * c.alpha * torch.relu(1 - over.abs())  # Norse's triangle
            grad_pre = surrogate + grad_v * (1.0 - spikes[t])  # the reset, detached
            if adaptive:
                grad_currents[t] = grad_i  # the current of step t acts from step t + 1 on
                grad_z_next = grad_i @ weights
                grad_b = (grad_b - surrogate) * c.keep_threshold
                grad_i = grad_pre * c.rate + grad_i * c.keep_current
            else:
                grad_jump = grad_pre * c.rate + grad_i * c.keep_current
                grad_currents[t] = grad_jump
                grad_z_next = grad_jump @ weights
                grad_i = grad_jump
            grad_v = grad_pre * (1.0 - c.rate)
        # dW[k, j] = sum over steps and clips of grad_currents[t, b, k] * z[t - 1, b, j]
        previous = torch.cat([zeros.unsqueeze(0), spikes[:-1]]).flatten(0, 1)
        grad_weights = grad_currents.flatten(0, 1).t() @ previous
        return grad_currents, grad_weights, None, None, None


class EventRecurrent(nn.Module):
    """Norse's recurrent LIF (or LSNN, ``adaptive``) with its input projection, on the event engine."""

    counted_by_hooks = False

    def __init__(self, input_size: int, hidden_size: int, config: Config, adaptive: bool) -> None:
        super().__init__()
        self.input_weights = input_weights(hidden_size, input_size)
        self.recurrent_weights = recurrent_weights(hidden_size)
        self.adaptive, self.config = adaptive, config
        self.constants = Constants.of(config)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Spikes [T, B, H] for inputs [T, B, I], from rest."""
        if probe.active:  # a complexity pass is counting: Norse's code with these weights
            return self._norse()(inputs)
        if inputs.device.type != "cpu":
            raise RuntimeError("the speech event engine runs on the CPU only; use --snnbench-speech-engine=framework "
                               "with --device=cuda")
        currents = torch.nn.functional.linear(inputs, self.input_weights)  # all steps at once, as Norse's
        # needs_input_grad inside the Function says whether a weight requires grad, even under
        # no_grad(): whether a backward pass can follow is decided here.
        backward = torch.is_grad_enabled() and (currents.requires_grad or self.recurrent_weights.requires_grad)
        return _EventRecurrence.apply(currents, self.recurrent_weights, self.adaptive, self.constants, backward)

    def _norse(self) -> nn.Module:
        from . import via_norse_lif, via_norse_lsnn

        module = (via_norse_lsnn if self.adaptive else via_norse_lif).make_recurrent(
            self.input_weights.shape[1], self.input_weights.shape[0], self.config)
        module.input_weights, module.recurrent_weights = self.input_weights, self.recurrent_weights
        return module


def make_recurrent(input_size: int, hidden_size: int, config: Config, neuron: str) -> nn.Module:
    if neuron not in ("lif", "lsnn"):
        raise ValueError(f"the speech event engine simulates the LIF and LSNN layers, not {neuron!r}")
    return EventRecurrent(input_size, hidden_size, config, adaptive=neuron == "lsnn")
