"""The hook a custom forward pass calls to show its neurons to a complexity pass.

snnTorch neurons and BindsNET layers are seen without help (module hooks, a monitor); a forward pass
that runs its neuron equations in its own loop (the speech workloads) reports each layer with one
call, which costs one attribute test while no pass is counting (the timed passes):

    from pytest_snnbench.complexity import probe
    ...
    if probe.active:
        probe.neuron_step(self, "norse-LIF", spikes=z, before=v_old, after=v)
"""
from __future__ import annotations

from typing import Any, Protocol

import torch


class Listener(Protocol):
    def neuron_step(self, layer: Any, kind: str, spikes: torch.Tensor | None, before: torch.Tensor | None,
                    after: torch.Tensor) -> None: ...

    def neuron_sequence(self, layer: Any, kind: str, spikes: torch.Tensor | None,
                        membranes: torch.Tensor) -> None: ...

    def activations(self, layer: Any, values: torch.Tensor) -> None: ...


active = False  # True only while a complexity pass counts
_listener: Listener | None = None


def listen(listener: Listener | None) -> None:
    global active, _listener
    _listener, active = listener, listener is not None


def neuron_step(layer: Any, kind: str, spikes: torch.Tensor | None, before: torch.Tensor | None,
                after: torch.Tensor) -> None:
    """One time step of a neuron layer: its spikes (None for a non-spiking layer) and its membrane
    potential before and after the step (``before`` is not needed on the layer's first step)."""
    if _listener is not None:
        _listener.neuron_step(layer, kind, spikes, before, after)


def neuron_sequence(layer: Any, kind: str, spikes: torch.Tensor | None, membranes: torch.Tensor) -> None:
    """All time steps of a neuron layer at once ([time, ...] tensors), for layer-by-layer passes."""
    if _listener is not None:
        _listener.neuron_sequence(layer, kind, spikes, membranes)


def activations(layer: Any, values: torch.Tensor) -> None:
    """The outputs of a non-spiking activation layer (e.g. an LSTM's hidden states), for activation sparsity."""
    if _listener is not None:
        _listener.activations(layer, values)
