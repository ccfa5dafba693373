"""Pure counting functions with NeuroBench's definitions (neurobench 2.3.0, ``neurobench.metrics``).

Each function counts one thing on real tensors; ``tally.py`` adds the counts up per sample.

Synaptic operations (NeuroBench's ``SynapticOperations`` with ``single_layer_MACs``): a connection
layer's inputs and weights are binarised (non-zero -> 1) and pushed through the layer without its
bias; the sum of the outputs is the number of effective operations, i.e. every product of a non-zero
input with a non-zero weight. They are accumulations (ACs) when the inputs are spikes (every value
in {-1, 0, 1}), multiply-accumulates (MACs) otherwise. ``dense`` is the same with every input and
weight set to one: all products the layer's shape implies, zeros included.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def is_spiking(inputs: torch.Tensor) -> bool:
    """NeuroBench's rule: inputs are spikes when every value is -1, 0 or 1 (then synops are ACs)."""
    return not bool(((inputs != 0) & (inputs != 1) & (inputs != -1)).any())


def _nonzero(tensor: torch.Tensor) -> torch.Tensor:
    return (tensor != 0).to(torch.float64)


def matmul_ops(inputs: torch.Tensor, weight: torch.Tensor, weight_first: bool = False) -> tuple[int, int]:
    """Effective and dense operations of ``inputs @ weight`` (or ``weight @ inputs`` when
    ``weight_first``), 2-D operands as in ``aten.mm``: non-zero inputs times the non-zero weights
    they meet, and rows x inner x columns."""
    if weight_first:  # [out, inner] @ [inner, columns]
        effective = (_nonzero(weight).sum(0) * _nonzero(inputs).sum(1)).sum()
        dense = weight.shape[0] * weight.shape[1] * inputs.shape[1]
    else:  # [rows, inner] @ [inner, out]
        effective = (_nonzero(inputs).sum(0) * _nonzero(weight).sum(1)).sum()
        dense = inputs.shape[0] * inputs.shape[1] * weight.shape[1]
    return int(round(float(effective))), int(dense)


def linear_ops(inputs: torch.Tensor, weight: torch.Tensor) -> tuple[int, int]:
    """Effective and dense operations of ``torch.nn.functional.linear(inputs, weight)`` (any leading
    dimensions): the synaptic operations of a Linear layer."""
    return matmul_ops(inputs.reshape(-1, inputs.shape[-1]), weight.t())


def conv_ops(inputs: torch.Tensor, weight: torch.Tensor, stride, padding, dilation, transposed: bool,
             output_padding, groups: int) -> tuple[int, int]:
    """Effective and dense operations of a convolution (``aten.convolution``'s arguments): the layer
    applied to the binarised inputs with binarised weights and no bias, summed (NeuroBench's way);
    dense: the same with all-ones inputs and weights."""
    dims = weight.dim() - 2
    if transposed:
        run = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[dims]
        kwargs = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups,
                      dilation=dilation)
    else:
        run = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[dims]
        kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    binary_in = (inputs != 0).to(torch.float32)
    effective = run(binary_in, (weight != 0).to(torch.float32), **kwargs).to(torch.float64).sum()
    dense = run(torch.ones_like(binary_in), torch.ones_like(weight, dtype=torch.float32), **kwargs)
    return int(round(float(effective))), int(round(float(dense.to(torch.float64).sum())))


def lstm_ops(inputs: torch.Tensor, weight_ih: torch.Tensor, weight_hh: torch.Tensor,
             bias_ih: torch.Tensor | None, bias_hh: torch.Tensor | None,
             h_before: torch.Tensor, c_before: torch.Tensor, total: bool = False) -> int:
    """Operations of one LSTM cell step, NeuroBench's ``lstm_cell_macs`` (inputs [B, I], states [B, H]):
    the gate products (binarised W_ih x + W_hh h, biases left out), then f*c + i*g and o*tanh(c)
    where their factors are non-zero (a gate is non-zero where a product or a bias reaches it).
    ``total``: the dense count (inputs, weights and biases set to one)."""
    def binary(tensor: torch.Tensor | None) -> torch.Tensor | None:
        if tensor is None:
            return None
        return torch.ones_like(tensor, dtype=torch.float64) if total else _nonzero(tensor)

    w_ih, w_hh = binary(weight_ih), binary(weight_hh)
    # As NeuroBench 2.3.0 (``cylce_tuple_ones``): the dense count sets the input and the weights to
    # one but keeps the states binarised, so zero states (the first step) add nothing even then.
    x, h, c = binary(inputs), _nonzero(h_before), _nonzero(c_before)
    out = x @ w_ih.t() + h @ w_hh.t()  # [B, 4H]: products reaching each gate unit
    gate_products = out.sum()
    for bias in (bias_ih, bias_hh):
        if bias is not None:
            out = out + binary(bias)
    gates = (out != 0).to(torch.float64)
    i, f, g, o = gates.chunk(4, dim=1)
    cell = f * c + i * g
    hidden = o * (cell != 0).to(torch.float64)
    return int(round(float(gate_products + cell.sum() + hidden.sum())))


def zero_fraction(tensors: list[tuple[int, int]]) -> float | None:
    """Sparsity from (non-zero, total) pairs: zeros over all values; None when there are none."""
    nonzero = sum(n for n, _ in tensors)
    total = sum(t for _, t in tensors)
    return None if total == 0 else (total - nonzero) / total


def membrane_changes(before: torch.Tensor | None, after: torch.Tensor) -> int:
    """NeuroBench's ``MembraneUpdates`` for one step of one layer: the neurons whose membrane
    potential changed; on a layer's first step of a batch (``before`` None) every neuron."""
    if before is None:
        return after.numel()
    return int(torch.count_nonzero(after - before))


# -- static metrics (NeuroBench's Footprint, ParameterCount, ConnectionSparsity) ------------------
def footprint_bytes(tensors: list[torch.Tensor]) -> int:
    """Bytes of the given parameters and buffers (numel x element size)."""
    return sum(t.numel() * t.element_size() for t in tensors)


def connection_sparsity(weights: list[torch.Tensor]) -> float | None:
    """Zero weights over all weights of the connection layers (biases of recurrent layers included
    where NeuroBench includes them)."""
    zeros = sum(int((w == 0).sum()) for w in weights)
    total = sum(w.numel() for w in weights)
    return None if total == 0 else zeros / total
