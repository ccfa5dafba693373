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


BOTH = ("report", "summary")

REGISTRY = Registry([
    Metric("accuracy", "fraction", "higher", ("training", "inference"), "accuracy",
           fields=("final_accuracy", "accuracy"), shown_in=BOTH,
           description="last accuracy on the check split (validation in training, test in inference)"),
    Metric("best_accuracy", "fraction", "higher", ("training",), "best accuracy", fields=("best_accuracy",),
           description="highest validation accuracy seen during training"),
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
           fields=("samples_to_target",), description="training samples seen when the target was reached"),
    Metric("energy_to_target", "J", "lower", ("training",), "energy to target", read=_energy_to_target,
           measured=_energy_measured, short="energy", shown_in=BOTH,
           description="measured joules (RAPL package or NVML GPU counter) of the timed train-to-target run"),
    Metric("energy_per_sample", "J/sample", "lower", ("inference",), "energy per sample",
           read=_energy_per_sample, measured=_energy_measured, short="J/sample", shown_in=BOTH,
           description="measured joules of the timed inference pass divided by the test samples"),
])
