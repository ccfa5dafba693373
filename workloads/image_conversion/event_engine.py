"""The event engine: the converted SNN's inference as a compiled loop that does only the work the
spikes ask for.

BindsNET runs the converted network step by step in Python and, at every one of its 100 steps,
multiplies the whole input image by the first weight matrix and the whole (95 % silent) spike
vector of each hidden layer by the next one: 239 M dense operations per image. Here:

- the input is a constant current, so the first layer's input ``x @ W1 + b1`` is the same at every
  step after the first: it is computed once per batch, with BindsNET's own torch expression on
  BindsNET's own tensors (the same kernel on the same shapes, so the same bits);
- a hidden or output layer's input is the sum of the weight rows of the neurons that spiked in the
  layer below at the previous step (additions, no multiplications), plus the bias;
- images are independent, so they run in parallel on the intra-op threads.

The neuron is BindsNET's ``SubtractiveResetIFNodes`` as the conversion builds it (threshold 1,
reset 0, no refractory period), in BindsNET's synchronous order: every layer's input is computed
from the spikes of the step before, then every layer updates. ``simulate`` is a pure function of
its arrays; ``EventEngine`` reads the weights off the converted network.

Equality (tests/test_conversion_engines.py): with weights whose sums are exact in float32, both
engines give the same spikes at every step and layer and the same predictions. With real weights
the one difference is the order in which a layer's input is summed (MKL's blocked dot products
against the rows in index order), which can move a potential by the last bit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numba import njit, prange

from pytest_snnbench.threads import numba_on_torch_threads

f32 = np.float32


@njit(cache=True, parallel=True)
def simulate(first_input, first_bias, weights, weight_offsets, biases, sizes, threshold, steps, every,
             predictions, final, record):
    """Run ``steps`` steps of every image from rest.

    first_input [batch, n_1]: the first layer's input from the image (``x @ W1 + b1``), the same at
    every step after the first (at the first, the input layer has not spiked yet: ``first_bias``).
    weights: the other layers' weight matrices, flattened one after another, each [n_{k-1}, n_k]
    row-major from ``weight_offsets[k]``; biases and neuron state laid out the same way by ``sizes``.
    predictions [steps // every, batch] receives the class after every ``every`` steps, ``final``
    [batch] the class after the last step (most spikes, ties to the higher clamped potential, then
    the lower index); ``record`` [steps, batch, neurons] (or empty) the spikes of every layer.
    """
    batch = first_input.shape[0]
    layers = sizes.shape[0]
    starts = np.zeros(layers + 1, dtype=np.int64)
    for k in range(layers):
        starts[k + 1] = starts[k] + sizes[k]
    neurons = starts[layers]
    widest = sizes.max()
    out_start, n_out = starts[layers - 1], sizes[layers - 1]
    recording = record.shape[0] > 0
    cap = f32(0.999)
    for b in prange(batch):
        v = np.zeros(neurons, dtype=np.float32)
        spiked = np.zeros(neurons, dtype=np.int64)  # per layer, the indices that spiked last step
        n_spiked = np.zeros(layers, dtype=np.int64)
        counts = np.zeros(n_out, dtype=np.float32)
        acc = np.zeros(widest, dtype=np.float32)
        for t in range(steps):
            # From the top layer down, so that each layer still sees the previous step's spikes
            # of the layer below (BindsNET computes every input before any layer updates).
            for k in range(layers - 1, -1, -1):
                start, n = starts[k], sizes[k]
                if k == 0:
                    source = first_bias if t == 0 else first_input[b]
                    for j in range(n):
                        v[start + j] = v[start + j] + source[j]
                else:
                    below, w0 = starts[k - 1], weight_offsets[k]
                    for j in range(n):
                        acc[j] = f32(0.0)
                    for e in range(n_spiked[k - 1]):
                        row = w0 + spiked[below + e] * n
                        weight_row = weights[row:row + n]  # a view: the loop below vectorises
                        for j in range(n):
                            acc[j] += weight_row[j]
                    for j in range(n):
                        v[start + j] = v[start + j] + (acc[j] + biases[start + j])
                fired = 0
                for j in range(n):
                    if v[start + j] >= threshold:
                        v[start + j] = v[start + j] - threshold
                        spiked[start + fired] = j
                        fired += 1
                        if recording:
                            record[t, b, start + j] = 1
                n_spiked[k] = fired
            for e in range(n_spiked[layers - 1]):
                counts[spiked[out_start + e]] += f32(1.0)
            if (t + 1) % every == 0 or t == steps - 1:
                best, best_score = 0, f32(-1.0)
                for j in range(n_out):
                    potential = min(max(v[out_start + j], f32(0.0)), cap)
                    score = counts[j] + potential
                    if score > best_score:
                        best, best_score = j, score
                if (t + 1) % every == 0:
                    predictions[(t + 1) // every - 1, b] = best
                if t == steps - 1:
                    final[b] = best


@dataclass
class EventRun:
    """One batch: the class after every ``every`` steps ({steps: classes}), after the last step, and
    the spikes [steps, batch, neurons of every layer] when recorded."""

    predictions: dict[int, torch.Tensor]
    final: torch.Tensor
    spikes: torch.Tensor | None


class EventEngine:
    """The converted network's weights (BindsNET's tensors, read once) and ``run`` on a batch."""

    def __init__(self, snn) -> None:
        names, connections = layer_chain(snn)
        for name in names:
            layer = snn.layers[name]
            if type(layer).__name__ != "SubtractiveResetIFNodes" or int(layer.refrac) != 0 \
                    or float(layer.reset) != 0.0 or layer.lbound is not None:
                raise ValueError(f"event engine: layer {name} is {type(layer).__name__} (refractory "
                                 f"{int(getattr(layer, 'refrac', -1))}, reset {float(getattr(layer, 'reset', 'nan'))}); "
                                 "it simulates subtractive-reset IF layers with reset 0 and no refractory period "
                                 "only (what ann_to_snn builds for an MLP). Use --snnbench-conversion-engine=bindsnet.")
        thresholds = {float(snn.layers[name].thresh) for name in names}
        if len(thresholds) != 1 or any(type(c).__name__ != "Connection" for c in connections):
            raise ValueError("event engine: a chain of dense Connections between layers of one threshold is "
                             "needed; use --snnbench-conversion-engine=bindsnet.")
        self.first = connections[0]  # its own tensors: the first input is computed exactly as BindsNET does
        rest = connections[1:]
        self.sizes = np.array([snn.layers[name].n for name in names], dtype=np.int64)
        with torch.no_grad():
            mats = [c.w.detach().to("cpu", torch.float32).contiguous().numpy().ravel() for c in rest]
            self.weights = np.concatenate(mats) if mats else np.zeros(0, dtype=f32)
            # Layer k >= 1 reads its [n_{k-1}, n_k] matrix from weight_offsets[k] (layer 0: the first connection).
            self.weight_offsets = np.zeros(len(names), dtype=np.int64)
            self.weight_offsets[1:] = np.cumsum([0] + [m.size for m in mats])[:-1]
            self.biases = np.concatenate([_bias(c, int(n)) for c, n in zip(connections, self.sizes)])
        self.first_bias = self.biases[: self.sizes[0]].copy()
        self.threshold = f32(thresholds.pop())

    @property
    def neurons(self) -> int:
        return int(self.sizes.sum())

    def run(self, images: torch.Tensor, steps: int, every: int, record: bool = False) -> EventRun:
        """Classify ``images`` [batch, inputs] after ``steps`` steps of constant input current."""
        with torch.no_grad():
            flat = images.reshape(images.shape[0], -1).float()
            w, b = self.first.w, self.first.b
            first = flat @ w if b is None else flat @ w + b
        first = first.to("cpu", torch.float32).contiguous().numpy()
        batch = first.shape[0]
        predictions = np.zeros((steps // every, batch), dtype=np.int64)
        final = np.zeros(batch, dtype=np.int64)
        spikes = np.zeros((steps, batch, self.neurons) if record else (0, 0, 0), dtype=np.uint8)
        with numba_on_torch_threads():
            simulate(first, self.first_bias, self.weights, self.weight_offsets, self.biases, self.sizes,
                     self.threshold, steps, every, predictions, final, spikes)
        device = images.device
        by_steps = {(i + 1) * every: torch.from_numpy(predictions[i]).to(device) for i in range(predictions.shape[0])}
        return EventRun(by_steps, torch.from_numpy(final).to(device), torch.from_numpy(spikes) if record else None)


def layer_chain(snn) -> tuple[list[str], list]:
    """The converted network's spiking layers in order and the connection into each. (ann_to_snn
    names a connection by module indices, e.g. ('0', '1'), ('2', '3'): its source object is what
    links it to the layer below, as BindsNET's own simulation uses it.)"""
    names = sorted((name for name in snn.layers if name.isdigit()), key=int)
    into = {target: connection for (_, target), connection in snn.connections.items()}
    below = snn.layers["Input"]
    connections = []
    for name in names:
        connection = into.get(name)
        if connection is None or connection.source is not below or len([t for _, t in snn.connections if t == name]) != 1:
            raise ValueError(f"event engine: layer {name} is not fed by one connection from the layer below; "
                             "use --snnbench-conversion-engine=bindsnet.")
        connections.append(connection)
        below = snn.layers[name]
    return names, connections


def _bias(connection, n: int) -> np.ndarray:
    if connection.b is None:
        return np.zeros(n, dtype=f32)
    return connection.b.detach().to("cpu", torch.float32).reshape(-1).numpy().copy()
