"""Counting a torch model's own forward pass, whatever code runs it.

Synaptic operations: a ``TorchDispatchMode`` (the mechanism of ``torch.utils.flop_counter``) sees
every matrix product and convolution with its real tensors. An operand is a weight when it is one
of the model's parameters, a view of one (same storage: ``W.t()``, ``W.view(...).permute(...)``) or
a tensor computed from weights alone (e.g. a permuted copy); the other operand is the layer's input,
counted with NeuroBench's definition (ops.py). Products between activations only (e.g. a leaky
integrator's impulse response applied to currents) are neuron dynamics, not synapses, and are not
counted. ``nn.LSTM`` runs as one fused operator: a forward hook counts it per step with NeuroBench's
LSTM-cell definition. Products inside a backward pass are left out (training counts the forward).

Neurons: forward hooks on snnTorch neurons (spikes and membrane before and after each call, as
NeuroBench's NeuronHook), on ``nn.ReLU`` and ``nn.Sigmoid`` (NeuroBench's activation modules), and
the ``probe`` calls of custom loops.
"""
from __future__ import annotations

from typing import Any, Iterable

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes

from . import ops, probe
from .tally import Tally

aten = torch.ops.aten
_PRODUCTS = {aten.mm.default, aten.addmm.default, aten.bmm.default, aten.baddbmm.default,
             aten.convolution.default}


def _storage(tensor: torch.Tensor) -> int | None:
    try:
        return tensor.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError):
        return None


def _tensors(values: Iterable[Any]) -> list[torch.Tensor]:
    found = []
    for value in values:
        if isinstance(value, torch.Tensor):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found.extend(_tensors(value))
    return found


def _in_backward() -> bool:
    return torch._C._current_graph_task_id() != -1


class SynapseCounter(TorchDispatchMode):
    """Counts the synaptic operations of products with the model's weights into ``tally``."""

    def __init__(self, tally: Tally, parameters: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.tally = tally
        self.names: dict[int, str] = {}
        for name, parameter in parameters.items():
            pointer = _storage(parameter)
            if pointer is not None and pointer != 0:
                self.names.setdefault(pointer, name)
        self._derived: dict[int, torch.Tensor] = {}  # kept alive so that their storage is never reused

    def clear_derived(self) -> None:
        """Forget the copies of weights made in the last batch (their storage may be reused later)."""
        for pointer in self._derived:
            self.names.pop(pointer, None)
        self._derived.clear()

    def weight_name(self, tensor: Any) -> str | None:
        if not isinstance(tensor, torch.Tensor):
            return None
        return self.names.get(_storage(tensor))

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if _in_backward():
            return out
        if func in _PRODUCTS:
            self._count(func, args)
            return out
        inputs = _tensors(list(args) + list(kwargs.values()))
        names = [self.weight_name(t) for t in inputs]
        # A tensor made from weights alone (a permuted copy, a scaled weight) is that weight.
        if inputs and all(names) and len(set(names)) == 1:
            for result in _tensors([out]):
                pointer = _storage(result)
                if pointer and pointer not in self.names:
                    self.names[pointer] = names[0]
                    self._derived[pointer] = result
        return out

    def _count(self, func, args) -> None:
        if func is aten.convolution.default:
            inputs, weight = args[0], args[1]
            name = self.weight_name(weight)
            if name is None:
                return
            effective, dense = ops.conv_ops(inputs, weight, *args[3:9])
            self.tally.synapses(name, effective, dense, ops.is_spiking(inputs))
            return
        first, second = (args[1], args[2]) if func in (aten.addmm.default, aten.baddbmm.default) else args[:2]
        first_name, second_name = self.weight_name(first), self.weight_name(second)
        if (first_name is None) == (second_name is None):
            return  # activations times activations (or weights times weights): not a synapse
        batched = first.dim() == 3
        pairs = zip(first.unbind(0), second.unbind(0)) if batched else [(first, second)]
        for a, b in pairs:
            if second_name is not None:
                effective, dense = ops.matmul_ops(a, b)
                spiking = ops.is_spiking(a)
            else:
                effective, dense = ops.matmul_ops(b, a, weight_first=True)
                spiking = ops.is_spiking(b)
            self.tally.synapses(second_name or first_name, effective, dense, spiking)


class NeuronObserver:
    """Neuron layers' spikes and membranes (module hooks and ``probe`` calls) into ``tally``."""

    def __init__(self, tally: Tally, modules: dict[str, nn.Module]) -> None:
        self.tally = tally
        self.names: dict[int, str] = {}
        self.seen: set[int] = set()  # layers that had their first step in this batch
        self.handles: list[Any] = []
        for prefix, module in modules.items():
            for name, child in module.named_modules():
                self.names[id(child)] = f"{prefix}.{name}" if name else prefix
                self._hook(child)

    def _name(self, layer: Any) -> str:
        return self.names.get(id(layer), type(layer).__name__)

    def _hook(self, module: nn.Module) -> None:
        try:
            import snntorch
            spiking = isinstance(module, snntorch.SpikingNeuron)
        except ImportError:  # pragma: no cover - snntorch is a dependency
            spiking = False
        if spiking:
            self.handles.append(module.register_forward_pre_hook(self._before_snntorch))
            self.handles.append(module.register_forward_hook(self._after_snntorch))
        elif isinstance(module, (nn.ReLU, nn.Sigmoid)):
            self.handles.append(module.register_forward_hook(
                lambda layer, args, output: self.activations(layer, output)))
        elif isinstance(module, nn.LSTM):
            self.handles.append(module.register_forward_hook(self._lstm))

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()

    def new_batch(self) -> None:
        self.seen.clear()

    # -- snnTorch neurons (NeuroBench's NeuronHook) -------------------------------------------
    # snnTorch's neurons take and return their states with the membrane last: Leaky (input, mem) ->
    # (spk, mem), Synaptic (input, syn, mem) -> (spk, syn, mem).
    def _before_snntorch(self, layer: nn.Module, args: tuple) -> None:
        membrane = args[-1] if len(args) > 1 and isinstance(args[-1], torch.Tensor) else getattr(layer, "mem", None)
        layer._snnbench_before = membrane.detach().clone() if isinstance(membrane, torch.Tensor) else None

    def _after_snntorch(self, layer: nn.Module, args: tuple, output: Any) -> None:
        spikes = output[0] if isinstance(output, tuple) else output
        membrane = output[-1] if isinstance(output, tuple) and len(output) > 1 else getattr(layer, "mem", None)
        before = getattr(layer, "_snnbench_before", None)
        kind = type(layer).__name__
        if getattr(layer, "_reset_mechanism", "subtract") == "zero":
            kind += "/zero"  # NeuroBench's costs differ by reset mechanism
        self.neuron_step(layer, kind, spikes, before, membrane)

    # -- the probe's listener ------------------------------------------------------------------
    def neuron_step(self, layer: Any, kind: str, spikes: torch.Tensor | None, before: torch.Tensor | None,
                    after: torch.Tensor) -> None:
        name = self._name(layer)
        if spikes is not None:
            self.tally.activation(name, int(torch.count_nonzero(spikes)), spikes.numel())
        first = id(layer) not in self.seen
        self.seen.add(id(layer))
        if after is not None:
            updates = ops.membrane_changes(None if first or before is None else before, after.detach())
            self.tally.membrane(name, kind, updates, after.numel())

    def neuron_sequence(self, layer: Any, kind: str, spikes: torch.Tensor | None, membranes: torch.Tensor) -> None:
        name = self._name(layer)
        if spikes is not None:
            self.tally.activation(name, int(torch.count_nonzero(spikes)), spikes.numel())
        membranes = membranes.detach()
        first = id(layer) not in self.seen
        self.seen.add(id(layer))
        updates = int(torch.count_nonzero(membranes[1:] - membranes[:-1]))
        updates += ops.membrane_changes(None, membranes[0]) if first else 0
        self.tally.membrane(name, kind, updates, membranes.numel())

    def activations(self, layer: Any, values: torch.Tensor) -> None:
        self.tally.activation(self._name(layer), int(torch.count_nonzero(values)), values.numel())

    # -- nn.LSTM: one fused operator, counted per step as NeuroBench counts an LSTMCell -----------
    def _lstm(self, layer: nn.LSTM, args: tuple, output: Any) -> None:
        with _disable_current_modes():  # the counting's own products are not the model's
            self._count_lstm(layer, args, output)

    def _count_lstm(self, layer: nn.LSTM, args: tuple, output: Any) -> None:
        if layer.num_layers != 1 or layer.bidirectional or layer.proj_size:
            raise NotImplementedError("complexity: only single-layer, one-directional LSTMs are counted")
        inputs = args[0]
        hidden = output[0]
        if layer.batch_first:
            inputs, hidden = inputs.transpose(0, 1), hidden.transpose(0, 1)
        name = self._name(layer)
        w_ih, w_hh = layer.weight_ih_l0.detach(), layer.weight_hh_l0.detach()
        b_ih = layer.bias_ih_l0.detach() if layer.bias else None
        b_hh = layer.bias_hh_l0.detach() if layer.bias else None
        h = torch.zeros_like(hidden[0])
        c = torch.zeros_like(hidden[0])
        spiking = ops.is_spiking(inputs)
        for x in inputs:
            effective = ops.lstm_ops(x, w_ih, w_hh, b_ih, b_hh, h, c)
            dense = ops.lstm_ops(x, w_ih, w_hh, b_ih, b_hh, h, c, total=True)
            self.tally.synapses(name, effective, dense, spiking)
            gates = x @ w_ih.t() + h @ w_hh.t()
            if b_ih is not None:
                gates = gates + b_ih + b_hh
            i, f, g, o = gates.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        self.activations(layer, hidden)


def parameters_of(modules: dict[str, nn.Module]) -> dict[str, torch.Tensor]:
    found = {}
    for prefix, module in modules.items():
        for name, parameter in module.named_parameters():
            found[f"{prefix}.{name}"] = parameter
    return found


def static_metrics(modules: dict[str, nn.Module]) -> dict[str, Any]:
    """Footprint (bytes of parameters and buffers), parameter count and connection sparsity (zero
    weights of Linear, Conv and recurrent layers), NeuroBench's Footprint, ParameterCount and
    ConnectionSparsity. Buffers are the persistent ones, the model's state: non-persistent buffers
    hold run-time state shaped by the last batch (snnTorch's membrane potentials), which would make
    the footprint depend on the batch size of whatever ran before."""
    tensors, weights, count = [], [], 0
    for module in modules.values():
        state = module.state_dict(keep_vars=True).values()
        tensors += list(module.parameters()) + [value for value in state if not isinstance(value, nn.Parameter)]
        count += sum(p.numel() for p in module.parameters())
        for layer in module.modules():
            if isinstance(layer, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
                weights.append(layer.weight)
            elif isinstance(layer, (nn.RNNBase, nn.RNNCellBase)):
                weights += [p for name, p in layer.named_parameters() if name.startswith(("weight", "bias"))]
    return {"footprint_bytes": ops.footprint_bytes(tensors), "parameter_count": count,
            "connection_sparsity": ops.connection_sparsity([w.detach() for w in weights])}
