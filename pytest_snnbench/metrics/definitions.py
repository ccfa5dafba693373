"""Every metric SNNBench records, one definition each. A new metric is one more entry here."""
from __future__ import annotations

from .base import Metric, Record, Registry


def _energy(record: Record) -> dict:
    energy = record.get("energy")
    return energy if isinstance(energy, dict) else {}


def _energy_measured(record: Record) -> bool:
    return bool(_energy(record).get("available"))


def _energy_to_target(record: Record) -> float | None:
    """The measured energy of the timed training run, which stops at the evaluation that reaches
    the target; None when the target was missed, nothing was measured, or the measurement does not
    cover the whole run (a run resumed from a checkpoint measured its last segment only)."""
    energy = _energy(record)
    if not energy.get("available") or not record.get("target_reached") or not energy.get("whole_run", True):
        return None
    return energy.get("joules")


def _energy_per_sample(record: Record) -> float | None:
    energy = _energy(record)
    return energy.get("joules_per_sample") if energy.get("available") else None


def _peak_memory(record: Record) -> float | None:
    peak = record.get("peak_memory")
    return peak.get("bytes") if isinstance(peak, dict) and peak.get("available") else None


def _peak_measured(record: Record) -> bool:
    peak = record.get("peak_memory")
    return isinstance(peak, dict) and bool(peak.get("available"))


def _complexity(record: Record) -> dict:
    complexity = record.get("complexity")
    return complexity if isinstance(complexity, dict) and complexity.get("available") else {}


def _counted(record: Record) -> bool:
    return bool(_complexity(record))


def _synops(record: Record) -> float | None:
    """Effective synaptic operations per sample, MACs and ACs together (NeuroBench's definitions)."""
    ops = _complexity(record).get("synaptic_operations") or {}
    if ops.get("effective_macs") is None or ops.get("effective_acs") is None:
        return None
    return ops["effective_macs"] + ops["effective_acs"]


def _complexity_field(*keys: str):
    def read(record: Record) -> float | None:
        value: object = _complexity(record)
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value if isinstance(value, (int, float)) else None
    return read


BOTH = ("report", "summary")

REGISTRY = Registry([
    Metric("accuracy", "fraction", "higher", ("training", "inference"), "accuracy",
           fields=("final_accuracy", "accuracy"), shown_in=BOTH,
           kind="speed-free", description="last accuracy on the check split (validation in training, test in inference)"),
    Metric("best_accuracy", "fraction", "higher", ("training",), "best accuracy", fields=("best_accuracy",),
           kind="speed-free", description="highest validation accuracy seen during training"),
    Metric("time_to_target", "s", "lower", ("training",), "time to target", fields=("time_to_target_s",),
           shown_in=BOTH,
           description="seconds from the start of training to the first evaluation at the target"),
    Metric("throughput", "samples/s", "higher", ("training", "inference"), "throughput",
           fields=("train_throughput_samples_per_s", "inference_throughput_samples_per_s"), short="samples/s",
           shown_in=BOTH, description="training samples per second (evaluations left out), or test samples per "
                                   "second in inference"),
    Metric("inference_time", "s", "lower", ("inference",), "inference time", fields=("inference_seconds",),
           shown_in=("report",), description="seconds of the timed pass over the test set"),
    Metric("samples_to_target", "samples", "lower", ("training",), "samples to target",
           fields=("samples_to_target",), kind="speed-free", description="training samples seen when the target was reached"),
    Metric("seconds_per_sample", "s/sample", "lower", ("training",), "seconds per sample",
           fields=("seconds_per_sample",),
           description="time to target divided by samples to target (the machine's factor of time to target)"),
    Metric("energy_to_target", "J", "lower", ("training",), "energy to target", read=_energy_to_target,
           measured=_energy_measured, short="energy", shown_in=BOTH,
           description="measured joules (RAPL package or NVML GPU counter) of the timed train-to-target run"),
    Metric("energy_per_sample", "J/sample", "lower", ("inference",), "energy per sample",
           read=_energy_per_sample, measured=_energy_measured, short="J/sample", shown_in=BOTH,
           description="measured joules of the timed inference pass divided by the test samples"),
    # Machine-dependent like a time (allocator, thread pools): compared on one runner (snnbench-ab).
    Metric("peak_memory", "bytes", "lower", ("training", "inference"), "peak memory", read=_peak_memory,
           measured=_peak_measured, short="peak mem", shown_in=("report",),
           description="memory held at the peak of the timed call above the level before it (resident set "
                       "on the CPU, allocated tensors on CUDA; metrics/memory.py)"),
    # Complexity (pytest_snnbench.complexity, NeuroBench's definitions; docs/complexity.md), per sample.
    Metric("synops", "ops/sample", "lower", ("training", "inference"), "synaptic operations", read=_synops,
           measured=_counted, short="synops/sample", shown_in=("report",),
           kind="speed-free", description="effective synaptic operations per sample (MACs + ACs; forward pass in training)"),
    Metric("effective_macs", "ops/sample", "lower", ("training", "inference"), "effective MACs",
           read=_complexity_field("synaptic_operations", "effective_macs"), measured=_counted,
           kind="speed-free", description="multiply-accumulates with a non-zero input and weight, per sample"),
    Metric("effective_acs", "ops/sample", "lower", ("training", "inference"), "effective ACs",
           read=_complexity_field("synaptic_operations", "effective_acs"), measured=_counted,
           kind="speed-free", description="accumulations of spikes into non-zero weights, per sample"),
    Metric("dense_synops", "ops/sample", "lower", ("training", "inference"), "dense synaptic operations",
           read=_complexity_field("synaptic_operations", "dense"), measured=_counted,
           kind="exact", description="every product the connection layers' shapes imply, per sample"),
    Metric("activation_sparsity", "fraction", "higher", ("training", "inference"), "activation sparsity",
           read=_complexity_field("activation_sparsity"), measured=_counted, short="act. sparsity",
           shown_in=("report",), kind="speed-free", description="zero activations over all neuron outputs and time steps"),
    Metric("connection_sparsity", "fraction", "higher", ("training", "inference"), "connection sparsity",
           read=_complexity_field("connection_sparsity"), measured=_counted,
           kind="speed-free", description="zero weights over all weights of the connection layers"),
    Metric("membrane_updates", "ops/sample", "lower", ("training", "inference"), "membrane updates",
           read=_complexity_field("membrane_updates"), measured=_counted,
           kind="speed-free", description="neuron membrane potentials that changed, per sample"),
    Metric("neuron_ops", "ops/sample", "lower", ("training", "inference"), "neuron operations",
           read=_complexity_field("neuron_operations", "effective"), measured=_counted,
           kind="speed-free", description="membrane updates times the operations of one update of the neuron type, per sample"),
    Metric("footprint", "bytes", "lower", ("training", "inference"), "footprint",
           read=_complexity_field("footprint_bytes"), measured=_counted,
           kind="exact", description="bytes of the model's parameters and persistent buffers"),
    Metric("parameters", "count", "lower", ("training", "inference"), "parameters",
           read=_complexity_field("parameter_count"), measured=_counted,
           kind="exact", description="number of the model's parameters (connection weights for BindsNET networks)"),
])
