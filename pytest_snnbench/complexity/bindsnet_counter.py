"""Counting a BindsNET network (Image-Conversion's SNN, Diehl & Cook's network).

BindsNET's hooks are not torch module hooks: its ``Network.run`` asks every connection for
``compute(source.s)`` at the start of each step (the source layer's spikes of the previous step) and
lets monitors ``record()`` after each step. So each connection's ``compute`` is wrapped to count the
inputs it is given against its weight matrix (NeuroBench's synaptic operations: a connection is a
weight matrix applied to a spike vector per time step), and a monitor reads every non-input layer's
spikes and membrane potential ``v`` after each step (activation sparsity, membrane updates).
"""
from __future__ import annotations

from typing import Any

import torch

from . import ops
from .tally import NEURON_OPERATIONS, Tally

MONITOR = "snnbench-complexity"
_STATE = {"s", "v", "x", "refrac_count", "summed", "i", "_clamp", "_unclamp"}  # per-run state, not the model


def connection_weight(connection: Any) -> torch.Tensor:
    """The [source, target] weight matrix a connection multiplies its input spikes by."""
    weight = getattr(connection, "w", None)
    if isinstance(weight, torch.Tensor):
        return weight.detach()
    pipeline = getattr(connection, "pipeline", None)
    if pipeline is not None and len(pipeline) == 1 and isinstance(getattr(pipeline[0], "value", None), torch.Tensor):
        return pipeline[0].value.detach()
    raise NotImplementedError(f"complexity: cannot read the weights of a {type(connection).__name__}")


def neuron_kind(layer: Any) -> str:
    """The layer's type in the cost table (NEURON_OPERATIONS), found along its classes."""
    for kind in type(layer).__mro__:
        if kind.__name__ in NEURON_OPERATIONS:
            return kind.__name__
    return type(layer).__name__


def _is_input(layer: Any) -> bool:
    from bindsnet.network.nodes import AbstractInput
    return isinstance(layer, AbstractInput)


def static_metrics(network: Any) -> dict[str, Any]:
    """Connection weights and biases (parameter count, connection sparsity) and the bytes of the
    model: weights, biases and each layer's constants and learned per-neuron values (e.g. adaptive
    thresholds); the per-run neuron state (voltages, spikes, traces) is not part of the model."""
    weights, tensors = [], []
    for connection in network.connections.values():
        weight = connection_weight(connection)
        weights.append(weight)
        tensors.append(weight)
        bias = getattr(connection, "b", None)
        if isinstance(bias, torch.Tensor):
            tensors.append(bias.detach())
    for layer in network.layers.values():
        tensors += [buffer for name, buffer in layer.named_buffers(recurse=False) if name not in _STATE]
    biases = [connection.b for connection in network.connections.values()
              if isinstance(getattr(connection, "b", None), torch.Tensor)]
    return {"footprint_bytes": ops.footprint_bytes(tensors),
            "parameter_count": sum(w.numel() for w in weights) + sum(b.numel() for b in biases),
            "connection_sparsity": ops.connection_sparsity(weights)}


class BindsNETCounter:
    def __init__(self, tally: Tally, network: Any) -> None:
        from bindsnet.network.monitors import AbstractMonitor

        self.tally = tally
        self.network = network
        self._nonzero_rows: dict[tuple[int, int], torch.Tensor] = {}
        self.wrapped = []
        for (source, target), connection in network.connections.items():
            self._wrap(connection, f"{source}->{target}")
        counter = self

        class Monitor(AbstractMonitor):
            def record(self) -> None:
                counter._record()

            def reset_state_variables(self) -> None:
                counter._previous = {}

        self._previous: dict[str, torch.Tensor] = {}
        network.add_monitor(Monitor(), name=MONITOR)

    def _rows(self, weight: torch.Tensor) -> torch.Tensor:
        """Non-zero weights per input (row), cached while the weights are unchanged."""
        key = (weight.data_ptr(), weight._version)
        if key not in self._nonzero_rows:
            if len(self._nonzero_rows) > 16:  # learning changes the weights at every step
                self._nonzero_rows.clear()
            self._nonzero_rows[key] = (weight != 0).sum(1).to(torch.float64)
        return self._nonzero_rows[key]

    def _wrap(self, connection: Any, name: str) -> None:
        original = connection.compute

        def compute(spikes: torch.Tensor) -> torch.Tensor:
            weight = connection_weight(connection)
            inputs = spikes.reshape(spikes.shape[0], -1)
            weight = weight.reshape(inputs.shape[1], -1)
            effective = float(((inputs != 0).sum(0).to(torch.float64) * self._rows(weight)).sum())
            dense = inputs.shape[0] * inputs.shape[1] * weight.shape[1]
            self.tally.synapses(name, int(round(effective)), dense, ops.is_spiking(inputs.float()))
            return original(spikes)

        connection.compute = compute
        self.wrapped.append(connection)

    def _record(self) -> None:
        for name, layer in self.network.layers.items():
            if _is_input(layer):
                continue
            spikes = layer.s
            self.tally.activation(name, int(torch.count_nonzero(spikes)), spikes.numel())
            voltage = getattr(layer, "v", None)
            if isinstance(voltage, torch.Tensor):
                updates = ops.membrane_changes(self._previous.get(name), voltage)
                self.tally.membrane(name, neuron_kind(layer), updates, voltage.numel())
                self._previous[name] = voltage.detach().clone()

    def new_batch(self) -> None:
        self._previous = {}

    def close(self) -> None:
        for connection in self.wrapped:
            del connection.compute  # back to the class's method
        self.wrapped.clear()
        self.network.monitors.pop(MONITOR, None)
