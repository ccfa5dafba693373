"""Counts accumulated over a complexity pass and turned into the record's ``complexity`` fields."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

# Operations per membrane update, by neuron type. snnTorch's from NeuroBench's NeuronOperations
# table (neurobench.metrics.workload.neuron_operations); the others counted the same way from their
# update equations (multiplications, additions and subtractions of one neuron's state update; the
# threshold comparison left out, as in NeuroBench's Leaky): docs/complexity.md lists them.
NEURON_OPERATIONS: dict[str, int] = {
    "Leaky": 4, "Synaptic": 6, "Lapicque": 11, "Alpha": 18,  # NeuroBench, subtract reset
    "Leaky/zero": 4, "Synaptic/zero": 8, "Lapicque/zero": 11, "Alpha/zero": 24,  # NeuroBench, zero reset
    "norse-LIF": 8, "norse-LSNN": 12, "norse-LI": 7,  # the speech workloads' recurrent and readout layers
    "SubtractiveResetIFNodes": 3, "DiehlAndCookNodes": 8, "LIFNodes": 7, "IFNodes": 3,  # BindsNET
}

# An estimate from operation counts, never a measurement: Horowitz, "Computing's energy problem (and
# what we can do about it)", ISSCC 2014, 45 nm: 32-bit float add 0.9 pJ, multiply 3.7 pJ.
PJ_PER_AC = 0.9
PJ_PER_MAC = 3.7 + 0.9


@dataclass
class Tally:
    """Synaptic operations, activations and membrane updates of a pass, summed over its samples."""

    samples: int = 0
    macs: int = 0
    acs: int = 0
    dense: int = 0
    activations: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))  # nonzero, total
    membrane_updates: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    neuron_ops: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    neuron_ops_dense: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_layer_synops: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def synapses(self, layer: str, effective: int, dense: int, spiking: bool) -> None:
        if spiking:
            self.acs += effective
        else:
            self.macs += effective
        self.dense += dense
        self.by_layer_synops[layer] += effective

    def activation(self, layer: str, nonzero: int, total: int) -> None:
        counts = self.activations[layer]
        counts[0] += nonzero
        counts[1] += total

    def membrane(self, layer: str, kind: str, updates: int, neurons: int) -> None:
        """``updates`` membrane changes of ``neurons`` neuron-steps of a layer of type ``kind``."""
        cost = NEURON_OPERATIONS.get(kind)
        self.membrane_updates[layer] += updates
        if cost is not None:
            self.neuron_ops[layer] += updates * cost
            self.neuron_ops_dense[layer] += neurons * cost

    # -- the record -----------------------------------------------------------------------------
    def per_sample(self, value: float) -> float | None:
        return value / self.samples if self.samples else None

    def activation_sparsity(self) -> float | None:
        nonzero = sum(n for n, _ in self.activations.values())
        total = sum(t for _, t in self.activations.values())
        return (total - nonzero) / total if total else None

    def as_record(self) -> dict[str, Any]:
        per = self.per_sample
        macs, acs = per(self.macs), per(self.acs)
        return {
            "activation_sparsity": self.activation_sparsity(),
            "activation_sparsity_by_layer": {name: (t - n) / t for name, (n, t) in self.activations.items() if t},
            "synaptic_operations": {"effective_macs": macs, "effective_acs": acs, "dense": per(self.dense),
                                    "effective_by_layer": {k: per(v) for k, v in self.by_layer_synops.items()}},
            "membrane_updates": per(sum(self.membrane_updates.values())) if self.membrane_updates else None,
            "neuron_operations": ({"effective": per(sum(self.neuron_ops.values())),
                                   "dense": per(sum(self.neuron_ops_dense.values()))}
                                  if self.neuron_ops else None),
            "operation_energy_estimate": operation_energy(macs, acs),
        }


def operation_energy(macs: float | None, acs: float | None) -> dict[str, Any] | None:
    """Joules per sample estimated from the effective synaptic operations (NOT measured energy)."""
    if macs is None or acs is None:
        return None
    return {"joules_per_sample": (macs * PJ_PER_MAC + acs * PJ_PER_AC) * 1e-12, "pj_per_mac": PJ_PER_MAC,
            "pj_per_ac": PJ_PER_AC, "kind": "estimate from operation counts, not a measurement",
            "source": "Horowitz, ISSCC 2014, 45 nm, 32-bit float: add 0.9 pJ, multiply 3.7 pJ; "
                      "synaptic operations only (neuron updates and memory traffic left out)"}
