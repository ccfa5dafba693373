"""Complexity metrics with NeuroBench's definitions (Yik et al., NeuroBench, Nature Communications
2025; neurobench 2.3.0): footprint, parameter count, connection sparsity, activation sparsity
(overall and per layer), synaptic operations (effective MACs, effective ACs, dense), membrane
updates and neuron operations, per sample, for every workload's trained model.

- ops.py: the pure counting functions (one per definition);
- tally.py: counts summed over a pass, per sample in the record; the neuron-operation costs and the
  operation-count energy estimate (labelled as an estimate);
- torch_counter.py: any torch forward pass (a dispatch mode for the synapses, hooks and ``probe``
  calls for the neurons);
- bindsnet_counter.py: BindsNET networks (wrapped connections, a monitor);
- probe.py: what a custom forward loop calls to show its neurons;
- measure.py: the untimed passes the runner calls (``measure_inference``, ``measure_training``).

tests/test_complexity.py checks the counts on a network counted by hand and against ``neurobench``
on an snnTorch model. docs/complexity.md has the definitions and the decisions.
"""
from __future__ import annotations

from . import probe
from .measure import measure_inference, measure_training

__all__ = ["measure_inference", "measure_training", "probe"]
