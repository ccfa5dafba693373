"""The benchmark record: what each workload stores in pytest-benchmark's ``extra_info``.

The schema is documented in docs/record-schema.md; bump SCHEMA when a field changes meaning.
"""
from __future__ import annotations

import platform
from importlib import metadata
from typing import Any

from .baselines import Baselines, class_counts, majority_class_accuracy
from .training import InferenceOutcome, TrainingOutcome
from .verdict import CONFIDENCE, Interval, inference_passes

# 2: curve points carry their split; training records add test_accuracy; every record adds
# class_counts and majority_class_accuracy (and training records learning_off_accuracy).
# Later, compatibly (optional fields, same version): energy.
# 3: ``identity`` (pytest_snnbench.identity), ``target_source``, the verdict's intervals
# (``validation_interval``, ``test_interval``, ``verdict``), ``seconds_per_sample``, ``warmup``,
# ``reference_convergence``; inference ``status`` is reached | within-interval | missed.
SCHEMA = "snnbench-record/3"
PACKAGES = ("torch", "torchvision", "torchaudio", "snntorch", "bindsnet", "norse", "numba", "numpy",
            "pytest", "pytest-benchmark")


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def framework_fields(workload) -> dict[str, Any]:
    """``framework``, its version, ``compiled``, whether it is proven equal to the paper's and how
    it expresses the paper's neuron: from a workload that offers several frameworks, else None."""
    framework = getattr(workload, "framework", None)
    record = getattr(framework, "record", None)
    if record is None:
        return {"framework": None, "framework_version": None, "compiled": None}
    return record()


def machine_facts() -> dict[str, Any]:
    """Facts that make two runs incomparable when they differ; also sent to machine_info."""
    import torch

    facts: dict[str, Any] = {"packages": package_versions(), "python": platform.python_version(),
                             "cpu": platform.processor() or platform.machine(),
                             "torch_num_threads": torch.get_num_threads(),
                             "torch_num_interop_threads": torch.get_num_interop_threads(),
                             "cuda_available": torch.cuda.is_available()}
    if torch.cuda.is_available():
        facts["cuda_devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        facts["cuda"] = torch.version.cuda
    return facts


def common_record(workload, phase: str, run_settings: dict[str, Any]) -> dict[str, Any]:
    hyper = workload.hyperparameters()
    return {
        "target_source": getattr(workload, "target_source", "unstated"),
        "schema": SCHEMA,
        "workload": f"{workload.name}-{phase}",
        "family": workload.name,
        "phase": phase,
        **run_settings,  # seed, device, scale, thread counts, determinism
        "time_steps": hyper.get("time_steps"),
        "batch_size": hyper.get("batch_size"),
        "engine": hyper.get("engine"),  # the simulation engine, where a workload offers several
        # the framework that implements the neuron, where a workload offers several (--snnbench-framework)
        **framework_fields(workload),
        "target_accuracy": workload.target_accuracy,
        "hyperparameters": hyper,
        "data": workload.data_info(),
        "class_counts": class_counts(workload.split_labels()),  # per split, samples per class index
        "packages": package_versions(),
    }


def training_record(workload, outcome: TrainingOutcome, run_settings: dict[str, Any],
                    baselines: Baselines | None = None, test_accuracy: float | None = None,
                    energy: dict[str, Any] | None = None) -> dict[str, Any]:
    """``final_accuracy``, ``best_accuracy`` and the curve are on the check split (validation), where
    the target is decided; ``test_accuracy`` is the one test measurement after the stop."""
    curve = outcome.curve
    hit = curve.first_reaching
    stop = hit or (curve.points[-1] if curve.points else None)
    interval = Interval.of_score(stop.accuracy, stop.evaluated) if stop is not None else None
    record = common_record(workload, "training", run_settings)
    record.update({
        "check_split": workload.check_split,
        "test_accuracy": test_accuracy,
        **(baselines.as_record() if baselines else {"majority_class_accuracy": None, "learning_off_accuracy": None}),
        "status": outcome.status,
        "target_reached": hit is not None,
        "time_to_target_s": hit.seconds if hit else None,
        "samples_to_target": hit.samples if hit else None,
        # time to target = samples to target (the recipe, the seed, the rounding) x seconds per
        # sample (the machine); without a target reached, the whole run's seconds per sample.
        "seconds_per_sample": (hit.seconds / hit.samples if hit and hit.samples else
                               outcome.seconds / outcome.samples if outcome.samples else None),
        # the validation accuracy where the run stopped (the target's check, or the last one)
        "validation_interval": interval.as_record() if interval else None,
        "epochs_to_target": hit.epoch if hit else None,
        "best_accuracy": curve.best_accuracy,
        "final_accuracy": curve.final_accuracy,
        "curve": curve.as_records(),
        "total_seconds": outcome.seconds,
        "evaluation_seconds": outcome.evaluation_seconds,
        "samples_seen": outcome.samples,
        "steps": outcome.steps,
        "epochs_started": outcome.epochs,
        "train_throughput_samples_per_s": outcome.train_throughput,
        "divergence": outcome.divergence,
        "resumptions": outcome.resumptions,
        "interrupted_seconds": outcome.interrupted_seconds,
        "checkpoint_seconds": outcome.checkpoint_seconds,
        "checkpoints_written": outcome.checkpoints_written,
        "energy": energy or {"available": False, "reason": "not measured"},  # metrics/energy.py
    })
    return record


def inference_record(workload, outcome: InferenceOutcome, run_settings: dict[str, Any],
                     model_source: str, energy: dict[str, Any] | None = None) -> dict[str, Any]:
    record = common_record(workload, "inference", run_settings)
    counts = record["class_counts"].get("test")
    interval = Interval.of(outcome.correct, outcome.samples)
    passed = inference_passes(interval, workload.target_accuracy)
    record.update({
        "check_split": "test",
        "majority_class_accuracy": majority_class_accuracy(counts) if counts else None,
        "status": ("reached" if outcome.accuracy >= workload.target_accuracy else
                   "within-interval" if passed else "missed"),
        "test_interval": interval.as_record(),
        "verdict": {"passed": passed, "rule": f"fails only when the upper one-sided {CONFIDENCE:.0%} Wilson bound "
                                              "of the test accuracy is below the target"},
        "accuracy": outcome.accuracy,
        "final_accuracy": outcome.accuracy,
        "samples": outcome.samples,
        "inference_seconds": outcome.seconds,
        "inference_throughput_samples_per_s": outcome.throughput,
        "model_source": model_source,
        "energy": energy or {"available": False, "reason": "not measured"},  # metrics/energy.py
    })
    return record
