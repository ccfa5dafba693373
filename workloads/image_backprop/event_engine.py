"""The event engine of Image-Backprop: the paper's network (snnTorch's ``Leaky``, network.py) with its
neurons as compiled loops and its spike-fed layers (the second convolution, the readout) driven by
the spikes that feed them.

snnTorch runs a neuron layer as half a dozen torch calls per time step, each recorded by autograd,
50 steps per batch and three layers: on a CPU, call overhead and memory traffic are a large part of
a step. The second convolution and the readout multiply binary spike maps that are 90 % zeros. Here:

- neurons (numba, the images of a batch in parallel): snnTorch's update in snnTorch's float32 order,
  ``m = (beta * m + x) - threshold * s_prev``, ``s = H(m - threshold)``, over all steps in one call;
  the backward pass is its adjoint in one call as well, snnTorch's fast-sigmoid surrogate, the reset
  detached as snnTorch detaches it. The first layer's current is the same at every step: it is
  passed once and its gradient summed over the steps in the same loop;
- the second convolution and its pooling, one map at a time (its 16 KB of outputs stay in the
  cache): each input spike adds its 64-wide weight rows to the outputs it reaches (additions only),
  then the 2 x 2 maximum, ties broken as torch's; backward, the pooled gradient goes back to each
  window's maximum and the weight gradient is, per spike, the sum of the output gradients it
  reached. The input gradient stays dense (torch's convolution backward), because the output
  gradient is real-valued and the surrogate passes gradient to every neuron;
- the readout: each spike adds its weight column; its weight gradient is, per spike, the output
  gradient; the input gradient is dense (10 columns).

The first convolution, the pooling, the loss and the optimiser stay torch's, and the parameters are
ConvSNN's (``conv1``, ``conv2``, ``fc``), so one set of weights loads into both engines. Proven equal
to snnTorch's by tests/test_image_backprop_event_engine.py: with weights in 1/64 every sum is exact
in float32 whatever its order, and the spikes are the same at every step and layer, the gradients
within 1e-5. With real weights the one difference is the order of the convolution's and readout's
sums (oneDNN's blocked order against spikes in index order), which can move a potential by the last
bit and so, rarely, a spike. A complexity pass counts snnTorch's code with the same weights (compiled
loops are invisible to its hooks).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from numba import njit, prange

from pytest_snnbench.complexity import probe
from pytest_snnbench.threads import numba_on_torch_threads

from . import via_snntorch
from .network import THRESHOLD, ConvSNN

f32 = np.float32
KERNEL, CHANNELS_IN, CHANNELS_OUT, SIZE_IN = 5, 12, 64, 12
SIZE_OUT = SIZE_IN - KERNEL + 1


# --- the neuron: snnTorch's Leaky over all steps --------------------------------------------------

@njit(cache=True, parallel=True)
def leaky_forward(currents, constant, beta, threshold, spikes, membranes, save):
    """Spikes [T, B, F] of a layer from rest. ``currents`` [T, B, F], or [1, B, F] with ``constant``
    (the same current at every step). With ``save``, ``membranes`` gets every step's membrane."""
    steps, batch, features = spikes.shape
    zero, one = f32(0.0), f32(1.0)
    for b in prange(batch):
        membrane = np.zeros(features, dtype=np.float32)
        fired = np.zeros(features, dtype=np.float32)  # the previous step's spikes: the reset
        for t in range(steps):
            current = currents[0 if constant else t, b]
            out = spikes[t, b]
            for k in range(features):  # branch-free: it vectorises
                m = (beta * membrane[k] + current[k]) - fired[k] * threshold
                s = one if m - threshold > zero else zero
                membrane[k] = m
                fired[k] = s
                out[k] = s
            if save:
                membranes[t, b] = membrane


@njit(cache=True, parallel=True)
def leaky_backward(grad_spikes, membranes, constant, beta, threshold, slope, grad_currents):
    """The adjoint of ``leaky_forward``: dL/dm[t] = dL/ds[t] / (slope |m[t] - threshold| + 1)^2
    + beta dL/dm[t+1] (the reset is detached), and dL/dx[t] = dL/dm[t]; with ``constant``,
    ``grad_currents`` [1, B, F] gets the sum over the steps."""
    steps, batch, features = grad_spikes.shape
    one = f32(1.0)
    for b in prange(batch):
        grad_membrane = np.zeros(features, dtype=np.float32)
        total = np.zeros(features, dtype=np.float32)
        for t in range(steps - 1, -1, -1):
            grad_s, m = grad_spikes[t, b], membranes[t, b]
            for k in range(features):
                d = slope * abs(m[k] - threshold) + one
                g = grad_s[k] / (d * d) + beta * grad_membrane[k]
                grad_membrane[k] = g
                total[k] += g
            if not constant:
                grad_currents[t, b] = grad_membrane
        if constant:
            grad_currents[0, b] = total


class _Leaky(torch.autograd.Function):
    @staticmethod
    def forward(ctx, currents: torch.Tensor, steps: int, constant: bool, beta: float, slope: float,  # type: ignore[override]
                save: bool) -> torch.Tensor:
        """Spikes [T, B, ...] for ``currents`` [T, B, ...], or [B, ...] with ``constant`` (the same
        current at every one of ``steps``)."""
        shape = currents.shape
        x = currents.detach().contiguous().reshape(1 if constant else steps, shape[int(not constant)], -1)
        spikes = x.new_empty(steps, *x.shape[1:])
        membranes = torch.empty_like(spikes) if save else x.new_empty(0, 0, 0)
        with numba_on_torch_threads():
            leaky_forward(x.numpy(), constant, f32(beta), f32(THRESHOLD), spikes.numpy(), membranes.numpy(), save)
        ctx.constant, ctx.beta, ctx.slope, ctx.shape = constant, beta, slope, shape
        ctx.save_for_backward(membranes)
        return spikes.view(steps, *(shape if constant else shape[1:]))

    @staticmethod
    def backward(ctx, grad_spikes: torch.Tensor):  # type: ignore[override]
        (membranes,) = ctx.saved_tensors
        grad = grad_spikes.contiguous().view(membranes.shape)
        grad_currents = grad.new_empty(1 if ctx.constant else grad.shape[0], *grad.shape[1:])
        with numba_on_torch_threads():
            leaky_backward(grad.numpy(), membranes.numpy(), ctx.constant, f32(ctx.beta), f32(THRESHOLD),
                           f32(ctx.slope), grad_currents.numpy())
        return grad_currents.view(ctx.shape), None, None, None, None, None


# --- spikes as events --------------------------------------------------------------------------

@njit(cache=True, parallel=True)
def spike_events(spikes):
    """The spikes of each map (row of ``spikes`` [N, F], 0 or 1) as a list: map n's features that
    spiked are ``index[start[n]:start[n + 1]]``, in increasing order."""
    maps, features = spikes.shape
    counts = np.zeros(maps + 1, dtype=np.int64)
    for n in prange(maps):
        count = 0
        for k in range(features):  # branch-free loops: they vectorise
            count += spikes[n, k] != 0
        counts[n + 1] = count
    start = np.cumsum(counts)
    index = np.empty(start[maps], dtype=np.int32)
    for n in prange(maps):
        found = np.empty(features, dtype=np.int32)
        count = 0
        for k in range(features):
            found[count] = k
            count += spikes[n, k] != 0
        index[start[n]:start[n + 1]] = found[:count]
    return start, index


@njit(inline="always")
def _row_column_channel(flat):
    """A spike's row, column and channel from its index (y * 12 + x) * 12 + c (channels last)."""
    position = flat // CHANNELS_IN
    return position // SIZE_IN, position % SIZE_IN, flat % CHANNELS_IN


@njit(inline="always")
def _offsets_inside(position):
    """The kernel offsets (a range) for which the output position - offset lies on the 8 x 8 map."""
    return max(0, position - SIZE_OUT + 1), min(KERNEL, position + 1)


@njit(cache=True, parallel=True)
def conv_pool_forward(start, index, weights, bias, pooled, argmax):
    """pooled [N, 4, 4, 64]: the 2 x 2 maximum of bias + the convolution of each map's spikes with
    weights [12, 5, 5, 64]; argmax: where in its window (dy * 2 + dx) each maximum lies, the first of
    equal values in row-major order (as torch's max_pool2d, NaN counting as the largest)."""
    for n in prange(pooled.shape[0]):
        out = np.empty((SIZE_OUT, SIZE_OUT, CHANNELS_OUT), dtype=np.float32)  # one map: stays in L1
        for oy in range(SIZE_OUT):
            for ox in range(SIZE_OUT):
                out[oy, ox] = bias
        for e in range(start[n], start[n + 1]):
            y, x, c = _row_column_channel(index[e])
            for ky in range(*_offsets_inside(y)):
                for kx in range(*_offsets_inside(x)):
                    row, w = out[y - ky, x - kx], weights[c, ky, kx]
                    for o in range(CHANNELS_OUT):
                        row[o] += w[o]
        for py in range(SIZE_OUT // 2):
            for px in range(SIZE_OUT // 2):
                best, where = pooled[n, py, px], argmax[n, py, px]
                best[:] = out[2 * py, 2 * px]
                where[:] = 0
                for position in range(1, 4):
                    candidate = out[2 * py + position // 2, 2 * px + position % 2]
                    for o in range(CHANNELS_OUT):
                        if candidate[o] > best[o] or candidate[o] != candidate[o]:
                            best[o] = candidate[o]
                            where[o] = position


@njit(cache=True, parallel=True)
def conv_pool_backward(start, index, grad_pooled, argmax, grad_out, partial, bias_partial):
    """From the pooled output's gradient [N, 4, 4, 64]: ``grad_out`` [N, 8, 8, 64], the gradient of
    the convolution's output (each value at its window's maximum, zeros elsewhere), and per part of
    the maps, ``partial`` [parts, 12, 5, 5, 64] (the weight gradient: for each spike the sum of the
    output gradients it reached) and ``bias_partial`` [parts, 64] (the caller sums the parts)."""
    maps, parts = grad_pooled.shape[0], partial.shape[0]
    chunk = (maps + parts - 1) // parts
    for part in prange(parts):
        for n in range(part * chunk, min(maps, (part + 1) * chunk)):
            g = grad_out[n]
            g[:] = 0.0
            for py in range(SIZE_OUT // 2):
                for px in range(SIZE_OUT // 2):
                    value, where = grad_pooled[n, py, px], argmax[n, py, px]
                    for o in range(CHANNELS_OUT):
                        g[2 * py + where[o] // 2, 2 * px + where[o] % 2, o] = value[o]
                        bias_partial[part, o] += value[o]
            for e in range(start[n], start[n + 1]):
                y, x, c = _row_column_channel(index[e])
                for ky in range(*_offsets_inside(y)):
                    for kx in range(*_offsets_inside(x)):
                        row, reached = partial[part, c, ky, kx], g[y - ky, x - kx]
                        for o in range(CHANNELS_OUT):
                            row[o] += reached[o]


@njit(cache=True, parallel=True)
def linear_forward(start, index, weights_t, bias, out):
    """out [N, O] = bias + the sum of the rows of ``weights_t`` [F, O] of each map's spikes."""
    for n in prange(out.shape[0]):
        row = out[n]
        row[:] = bias
        for e in range(start[n], start[n + 1]):
            w = weights_t[index[e]]
            for o in range(row.shape[0]):
                row[o] += w[o]


@njit(cache=True, parallel=True)
def linear_weight_gradient(start, index, grad_out, partial):
    """partial [parts, F, O]: per part of the maps, each spike's output gradient added to its row."""
    maps, parts = grad_out.shape[0], partial.shape[0]
    chunk = (maps + parts - 1) // parts
    for part in prange(parts):
        for n in range(part * chunk, min(maps, (part + 1) * chunk)):
            g = grad_out[n]
            for e in range(start[n], start[n + 1]):
                row = partial[part, index[e]]
                for o in range(g.shape[0]):
                    row[o] += g[o]


def _parts() -> int:
    return max(1, torch.get_num_threads())


_scratch_buffers: dict[tuple[int, ...], torch.Tensor] = {}


def _scratch(shape: tuple[int, ...]) -> torch.Tensor:
    """A float32 buffer of ``shape`` kept from one call to the next (uninitialised): a fresh 100 MB tensor
    costs its page faults again at every step, about a fifth of the time it takes to fill it."""
    buffer = _scratch_buffers.get(shape)
    if buffer is None:
        _scratch_buffers.clear()  # one shape at a time (training batches; the last batch may be smaller)
        buffer = _scratch_buffers[shape] = torch.empty(shape)
    return buffer


class _EventConvPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx, spikes: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,  # type: ignore[override]
                save: bool) -> torch.Tensor:
        """max_pool2d(conv2d(spikes), 2) for ``spikes`` [N, 12, 12, 12] in (row, column, channel)
        order; returns [N, 4, 4, 64] in the same order."""
        maps = spikes.shape[0]
        flat = spikes.detach().reshape(maps, -1).contiguous()
        pooled = flat.new_empty(maps, SIZE_OUT // 2, SIZE_OUT // 2, CHANNELS_OUT)
        argmax = torch.empty(pooled.shape, dtype=torch.int8)
        with numba_on_torch_threads():
            start, index = spike_events(flat.numpy())
            conv_pool_forward(start, index, weight.detach().permute(1, 2, 3, 0).contiguous().numpy(),
                              bias.detach().numpy(), pooled.numpy(), argmax.numpy())
        if save:
            ctx.events = start, index
            ctx.save_for_backward(flat, weight, argmax)
        return pooled

    @staticmethod
    def backward(ctx, grad_pooled: torch.Tensor):  # type: ignore[override]
        spikes, weight, argmax = ctx.saved_tensors
        maps = grad_pooled.shape[0]
        grad_last = _scratch((maps, SIZE_OUT, SIZE_OUT, CHANNELS_OUT))  # written whole below
        partial = grad_pooled.new_zeros(_parts(), CHANNELS_IN, KERNEL, KERNEL, CHANNELS_OUT)
        bias_partial = grad_pooled.new_zeros(_parts(), CHANNELS_OUT)
        with numba_on_torch_threads():
            conv_pool_backward(*ctx.events, grad_pooled.contiguous().numpy(), argmax.numpy(), grad_last.numpy(),
                               partial.numpy(), bias_partial.numpy())
        grad_spikes = None
        if ctx.needs_input_grad[0]:  # dense: torch's own convolution backward, for the input only
            nchw = spikes.view(maps, SIZE_IN, SIZE_IN, CHANNELS_IN).permute(0, 3, 1, 2)  # channels last, as conv2 sees it
            grad_input = torch.ops.aten.convolution_backward(
                grad_last.permute(0, 3, 1, 2), nchw, weight.detach(), None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1,
                [True, False, False])[0]
            grad_spikes = grad_input.permute(0, 2, 3, 1)
        return grad_spikes, partial.sum(0).permute(3, 0, 1, 2), bias_partial.sum(0), None


class _EventLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, spikes: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,  # type: ignore[override]
                save: bool) -> torch.Tensor:
        """``spikes`` [N, F] (0 or 1), ``weight`` [O, F]; returns [N, O]."""
        flat = spikes.detach().contiguous()
        out = flat.new_empty(flat.shape[0], weight.shape[0])
        with numba_on_torch_threads():
            start, index = spike_events(flat.numpy())
            linear_forward(start, index, weight.detach().t().contiguous().numpy(), bias.detach().numpy(), out.numpy())
        if save:
            ctx.events = start, index
            ctx.save_for_backward(weight)
        return out

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):  # type: ignore[override]
        (weight,) = ctx.saved_tensors
        grad = grad_out.contiguous()
        grad_spikes = grad @ weight.detach() if ctx.needs_input_grad[0] else None
        partial = grad.new_zeros(_parts(), weight.shape[1], weight.shape[0])
        with numba_on_torch_threads():
            linear_weight_gradient(*ctx.events, grad.numpy(), partial.numpy())
        return grad_spikes, partial.sum(0).t(), grad.sum(0), None


class EventConvSNN(ConvSNN):
    """ConvSNN with snnTorch's neurons, run by the event engine (the neurons stay snnTorch modules for
    the complexity pass, which counts snnTorch's code with these weights)."""

    counted_by_hooks = False

    def __init__(self, beta: float, slope: float) -> None:
        super().__init__(via_snntorch.make_neuron, beta, slope)
        self.beta, self.slope = beta, slope

    def layer_spikes(self, images: torch.Tensor, time_steps: int) -> tuple[torch.Tensor, ...]:
        """As ConvSNN.layer_spikes: [time, batch, 12, 12, 12], [time, batch, 1024], [time, batch, 10]."""
        if probe.active:
            return super().layer_spikes(images, time_steps)
        if images.device.type != "cpu":
            raise RuntimeError("the Image-Backprop event engine runs on the CPU only; use "
                               "--snnbench-backprop-engine=framework with --device=cuda")
        # Whether a backward pass can follow is decided here (inside a Function, grad mode is off).
        save = torch.is_grad_enabled() and (images.requires_grad or any(p.requires_grad for p in self.parameters()))
        batch = images.shape[0]
        current1 = F.max_pool2d(self.conv1(images), 2).permute(0, 2, 3, 1)  # [B, 12, 12, 12] (y, x, c)
        spikes1 = _Leaky.apply(current1, time_steps, True, self.beta, self.slope, save)  # [T, B, 12, 12, 12]
        current2 = _EventConvPool.apply(spikes1.flatten(0, 1), self.conv2.weight, self.conv2.bias, save)
        # (row, column, channel) features, the readout weight permuted to match, as ConvSNN.
        features = current2.view(time_steps, batch, -1)
        spikes2 = _Leaky.apply(features, time_steps, False, self.beta, self.slope, save)
        weight = self.fc.weight.view(10, 64, 4, 4).permute(0, 2, 3, 1).reshape(10, -1)
        current3 = _EventLinear.apply(spikes2.flatten(0, 1), weight, self.fc.bias, save)
        spikes3 = _Leaky.apply(current3.view(time_steps, batch, -1), time_steps, False, self.beta, self.slope, save)
        return spikes1.permute(0, 1, 4, 2, 3), spikes2, spikes3
