"""What a target must beat: the majority class and the same network with learning off.

A target accuracy says something about learning only when it clearly beats both: a classifier that
always answers the most frequent class, and the freshly built network that never learned. Both are
measured on the split the target is decided on (validation), before training, untimed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

MARGIN = 0.10  # a target must beat the better baseline by at least this much


def class_counts(labels: dict[str, torch.Tensor]) -> dict[str, list[int]]:
    """Samples per class of each split, all over the same classes (those any split has)."""
    present = {name: values for name, values in labels.items() if values.numel()}
    classes = max((int(values.max()) + 1 for values in present.values()), default=0)
    return {name: torch.bincount(values.cpu().long(), minlength=classes).tolist() for name, values in present.items()}


def majority_class_accuracy(counts: list[int]) -> float | None:
    """The accuracy of always answering the most frequent class of this split."""
    total = sum(counts)
    return max(counts) / total if total else None


@dataclass(frozen=True)
class Baselines:
    majority_class_accuracy: float | None  # on the split the target is decided on
    learning_off_accuracy: float | None
    seconds: float  # measuring them (untimed, outside time to target)

    @property
    def best(self) -> float:
        return max(value for value in (self.majority_class_accuracy, self.learning_off_accuracy, 0.0)
                   if value is not None)

    def margin_problem(self, target: float, workload: str, split: str) -> str | None:
        """Why ``target`` does not measure learning, or None when it clears both baselines by MARGIN."""
        if target >= self.best + MARGIN - 1e-9:
            return None
        return (f"{workload}: its target of {target:.2%} does not measure learning. On the {split} split the "
                f"majority class scores {_percent(self.majority_class_accuracy)} and the same network with "
                f"learning off {_percent(self.learning_off_accuracy)}; a target must beat both by at least "
                f"{MARGIN:.0%} points. Raise the target or use data on which the baselines are lower.")

    def as_record(self) -> dict[str, Any]:
        return {"majority_class_accuracy": self.majority_class_accuracy,
                "learning_off_accuracy": self.learning_off_accuracy, "baseline_seconds": self.seconds}


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"
