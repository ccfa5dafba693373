"""The fast engine: the Diehl & Cook network's mathematics as compiled loops that do only the work
the spikes ask for.

Per time step BindsNET multiplies the whole input spike vector by the whole weight matrix and the
whole inhibitory spike vector by an N x N matrix, then applies the STDP outer products to every
weight. Here a step adds the weight rows of the ~13 inputs that spiked, adds -inh once per
inhibitory spike, and touches only the weights that STDP changes: the rows of inputs that spiked
(in the columns of neurons with a non-zero trace) and the column of the excitatory neuron that
spiked. Everything is float32, in BindsNET's order of operations, so results agree with the
reference to the last bits (the one exception: the order in which MKL sums the input rows).

``simulate`` is a pure function of its arrays; ``FastEngine`` wraps it with the torch-side
bookkeeping (input encoding, weight normalisation with BindsNET's own torch expression, after
learning runs only: a run with learning off leaves weights and thresholds bit for bit).
"""
from __future__ import annotations

import numpy as np
import torch
from numba import njit, uint64

from . import Parameters, RunOutput
from .choice import ChoiceStream

f32 = np.float32


@njit(cache=True, inline="always")
def _mix64(value):
    value = value + uint64(0x9E3779B97F4A7C15)
    value = (value ^ (value >> uint64(30))) * uint64(0xBF58476D1CE4E5B9)
    value = (value ^ (value >> uint64(27))) * uint64(0x94D049BB133111EB)
    return value ^ (value >> uint64(31))


@njit(cache=True)
def _choice_index(key, run, sample, step, candidates):
    """``choice.choice_index`` in compiled code (same bits)."""
    value = _mix64(_mix64(_mix64(key ^ run) ^ sample) ^ step)
    return np.int64(value % uint64(candidates))


@njit(cache=True)
def simulate(input_ptr, input_idx, steps, batch, w, theta, learning, c, choice_key, run, counts, record):
    """Run ``steps`` steps of ``batch`` samples from rest; ``w`` and ``theta`` are updated in place.

    input_ptr/input_idx: the input spikes in CSR form, row ``t * batch + b`` lists the inputs that
    spike at step t in sample b, in increasing order. ``c``: float32 constants (``_CONSTANTS``).
    ``counts`` [batch, n] accumulates excitatory spikes; ``record`` [steps, batch, n] (or empty)
    receives them.
    """
    n_in, n = w.shape
    dt, exc, inh, nu_pre, nu_post = c[0], c[1], c[2], c[3], c[4]
    theta_plus, theta_decay, wmin, wmax = c[5], c[6], c[7], c[8]
    e_rest, e_reset, e_thresh, e_refrac, e_decay, trace_decay = c[9], c[10], c[11], c[12], c[13], c[14]
    i_rest, i_reset, i_thresh, i_refrac, i_decay = c[15], c[16], c[17], c[18], c[19]
    zero, one = f32(0.0), f32(1.0)
    recording = record.shape[0] > 0

    v_e = np.full((batch, n), e_rest, dtype=np.float32)
    refrac_e = np.zeros((batch, n), dtype=np.float32)
    trace_e = np.zeros((batch, n), dtype=np.float32)
    v_i = np.full((batch, n), i_rest, dtype=np.float32)
    refrac_i = np.zeros((batch, n), dtype=np.float32)
    trace_in = np.zeros((batch, n_in), dtype=np.float32)
    current = np.zeros(n, dtype=np.float32)
    crossed = np.zeros(n, dtype=np.int64)
    crossings = np.zeros(n, dtype=np.float32)  # per neuron, over the batch (thresholds grow by it)
    spike_e = np.full(batch, -1, dtype=np.int64)  # the one excitatory spike of the step, or -1
    previous_e = np.full(batch, -1, dtype=np.int64)
    spike_i = np.zeros((batch, n), dtype=np.bool_)
    previous_i = np.zeros((batch, n), dtype=np.bool_)
    n_previous_i = np.zeros(batch, dtype=np.int64)
    # neurons whose trace is non-zero in some sample: the only columns a pre-synaptic update changes
    traced = np.zeros(n, dtype=np.bool_)
    traced_list = np.zeros(n, dtype=np.int64)
    n_traced = 0
    accumulator = np.zeros(n_in, dtype=np.float32)
    input_spike = np.zeros((batch, n_in), dtype=np.bool_)  # batched STDP only

    for t in range(steps):
        if learning:
            for j in range(n):
                theta[j] = theta[j] * theta_decay  # before the step's integration, as BindsNET
        for j in range(n):
            crossings[j] = zero
        for b in range(batch):
            # -- inputs of this step: the spikes of the previous step (synchronous update) --
            for j in range(n):
                current[j] = zero
            if t > 0:
                row = (t - 1) * batch + b
                for k in range(input_ptr[row], input_ptr[row + 1]):
                    i = input_idx[k]
                    for j in range(n):
                        current[j] += w[i, j]
            if n_previous_i[b] > 0:
                for j in range(n):
                    others = n_previous_i[b] - (1 if previous_i[b, j] else 0)
                    if others > 0:
                        current[j] = current[j] + f32(-inh * f32(others))
            # -- excitatory layer (DiehlAndCookNodes.forward) --
            m = 0
            for j in range(n):
                v = (v_e[b, j] - e_rest) * e_decay + e_rest
                if refrac_e[b, j] <= zero:
                    v = v + current[j]
                refrac_e[b, j] = refrac_e[b, j] - dt
                if v >= e_thresh + theta[j]:
                    refrac_e[b, j] = e_refrac
                    v = e_reset
                    crossed[m] = j
                    m += 1
                    crossings[j] += one
                v_e[b, j] = v
            if m == 0:
                spike_e[b] = -1
            elif m == 1:
                spike_e[b] = crossed[0]
            else:
                spike_e[b] = crossed[_choice_index(choice_key, run, uint64(b), uint64(t), m)]
        if learning:
            for j in range(n):
                if crossings[j] > zero:
                    theta[j] = theta[j] + theta_plus * crossings[j]
        for b in range(batch):
            # -- spike traces (input layer, then excitatory layer): only STDP reads them --
            if learning:
                for i in range(n_in):
                    trace_in[b, i] = trace_in[b, i] * trace_decay
                row = t * batch + b
                for k in range(input_ptr[row], input_ptr[row + 1]):
                    trace_in[b, input_idx[k]] = one
                for q in range(n_traced):
                    j = traced_list[q]
                    trace_e[b, j] = trace_e[b, j] * trace_decay
            j = spike_e[b]
            if j >= 0:
                counts[b, j] += one
                if recording:
                    record[t, b, j] = True
                if learning:
                    trace_e[b, j] = one
                    if not traced[j]:
                        traced[j] = True
                        traced_list[n_traced] = j
                        n_traced += 1
            # -- inhibitory layer (LIFNodes.forward); its input is the previous excitatory spike --
            n_spikes = 0
            for j in range(n):
                v = (v_i[b, j] - i_rest) * i_decay + i_rest
                drive = exc if previous_e[b] == j else zero
                if refrac_i[b, j] > zero:
                    drive = zero
                refrac_i[b, j] = refrac_i[b, j] - dt
                v = v + drive
                fired = v >= i_thresh
                if fired:
                    refrac_i[b, j] = i_refrac
                    v = i_reset
                    n_spikes += 1
                spike_i[b, j] = fired
                v_i[b, j] = v
            for j in range(n):
                previous_i[b, j] = spike_i[b, j]
            n_previous_i[b] = n_spikes
            previous_e[b] = spike_e[b]
        if not learning:
            continue
        # -- STDP (PostPre): pre-synaptic depression, post-synaptic potentiation, then bounds --
        if batch == 1:
            for k in range(input_ptr[t], input_ptr[t + 1]):
                i = input_idx[k]
                for q in range(n_traced):
                    j = traced_list[q]
                    w[i, j] = w[i, j] - trace_e[0, j] * nu_pre
        else:
            # BindsNET's matrix product sums the samples' updates first, in sample order
            for b in range(batch):
                row = t * batch + b
                for k in range(input_ptr[row], input_ptr[row + 1]):
                    input_spike[b, input_idx[k]] = True
            for i in range(n_in):
                first = -1
                for b in range(batch):
                    if input_spike[b, i]:
                        first = b
                        break
                if first < 0:
                    continue
                for q in range(n_traced):
                    j = traced_list[q]
                    total = zero
                    for b in range(first, batch):
                        if input_spike[b, i]:
                            total = total + trace_e[b, j] * nu_pre
                    w[i, j] = w[i, j] - total
            for b in range(batch):
                row = t * batch + b
                for k in range(input_ptr[row], input_ptr[row + 1]):
                    input_spike[b, input_idx[k]] = False
        if batch == 1:
            j = spike_e[0]
            if j >= 0:
                for i in range(n_in):  # one rounding: MKL fuses this rank-1 update
                    w[i, j] = f32(np.float64(w[i, j]) + np.float64(trace_in[0, i]) * np.float64(nu_post))
        for j in range(n if batch > 1 else 0):
            spiking = False
            for b in range(batch):
                if spike_e[b] == j:
                    spiking = True
            if not spiking:
                continue
            for i in range(n_in):
                total = zero
                for b in range(batch):
                    if spike_e[b] == j:
                        total = f32(np.float64(total) + np.float64(trace_in[b, i]) * np.float64(nu_post))
                accumulator[i] = total
            for i in range(n_in):
                w[i, j] = w[i, j] + accumulator[i]
        for b in range(batch):
            row = t * batch + b
            for k in range(input_ptr[row], input_ptr[row + 1]):
                i = input_idx[k]
                for q in range(n_traced):
                    j = traced_list[q]
                    w[i, j] = min(max(w[i, j], wmin), wmax)
            j = spike_e[b]
            if j >= 0:
                for i in range(n_in):
                    w[i, j] = min(max(w[i, j], wmin), wmax)


@njit(cache=True)
def _sparse_rows(dense):
    """CSR form of a bool matrix: row pointers and the column of each True, in row-major order."""
    rows, width = dense.shape
    pointer = np.zeros(rows + 1, dtype=np.int64)
    total = 0
    for r in range(rows):
        for i in range(width):
            if dense[r, i]:
                total += 1
        pointer[r + 1] = total
    columns = np.empty(total, dtype=np.int64)
    k = 0
    for r in range(rows):
        for i in range(width):
            if dense[r, i]:
                columns[k] = i
                k += 1
    return pointer, columns


def _decay(tc: float, dt: float) -> np.float32:
    """BindsNET's per-step decay, computed by the same float32 torch expression."""
    return f32(torch.exp(-torch.tensor(dt) / torch.tensor(tc)).item())


def constants(p: Parameters) -> np.ndarray:
    """The float32 constants ``simulate`` reads, in its order."""
    return np.array([p.dt, p.exc, p.inh, p.nu_pre, p.nu_post, p.theta_plus,
                     _decay(p.tc_theta_decay, p.dt), p.wmin, p.wmax,
                     p.exc_rest, p.exc_reset, p.exc_thresh, p.exc_refrac, _decay(p.exc_tc_decay, p.dt),
                     _decay(p.tc_trace, p.dt),
                     p.inh_rest, p.inh_reset, p.inh_thresh, p.inh_refrac, _decay(p.inh_tc_decay, p.dt)],
                    dtype=np.float32)


class FastEngine:
    name = "fast"

    def __init__(self, parameters: Parameters, weights: torch.Tensor) -> None:
        self.parameters = parameters
        self._weights = torch.empty(parameters.n_inputs, parameters.n_neurons, dtype=torch.float32)
        self._theta = torch.zeros(parameters.n_neurons, dtype=torch.float32)
        self._constants = constants(parameters)
        self.load(weights, self._theta.clone())

    @property
    def weights(self) -> torch.Tensor:
        return self._weights

    @property
    def theta(self) -> torch.Tensor:
        return self._theta

    def load(self, weights: torch.Tensor, theta: torch.Tensor) -> None:
        self._weights.copy_(weights.detach().cpu())
        self._theta.copy_(theta.detach().cpu())

    def run(self, spikes: torch.Tensor, learning: bool, choices: ChoiceStream,
            record: bool = False) -> RunOutput:
        time, batch = spikes.shape[:2]
        pointer, columns = _sparse_rows(spikes.reshape(time * batch, -1).cpu().numpy())
        n = self.parameters.n_neurons
        if learning:
            # BindsNET bounds every weight after each learning step; the normalisation at the end of
            # the previous run may have left some above wmax, and no weight is read before step 1.
            self._weights.clamp_(self.parameters.wmin, self.parameters.wmax)
        counts = np.zeros((batch, n), dtype=np.float32)
        trains = np.zeros((time, batch, n) if record else (0, 0, 0), dtype=np.bool_)
        simulate(pointer, columns, time, batch, self._weights.numpy(), self._theta.numpy(),
                 learning, self._constants, np.uint64(choices.key), np.uint64(choices.next_run()),
                 counts, trains)
        if learning:
            # only learning changes the weights; renormalising after a learning-off run would move
            # them in the last bits, so that every check would perturb the training trajectory
            self._normalize()
        return RunOutput(torch.from_numpy(counts), torch.from_numpy(trains) if record else None)

    def _normalize(self) -> None:
        # BindsNET's AbstractFeature.normalize, the same torch expression (same summation order).
        column_sums = self._weights.sum(0).unsqueeze(0)
        column_sums[column_sums == 0] = 1.0
        self._weights *= self.parameters.norm / column_sums
