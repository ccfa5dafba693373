"""The verdict rule, decided in advance and the same for every workload (docs/benchmarks.md, "Verdicts").

An accuracy measured on n samples is a binomial estimate, and another CPU's float rounding moves it
by more than its last digit. So a verdict never hangs on whether an estimate lands a hair above or
below the target:

- **training** passes when the target is reached on the validation split, the stop confirmed on
  the whole validation split where the checks screen a part of it; the record carries the interval
  of the validation accuracy at the stop;
- **inference** passes unless its test accuracy is *significantly* below the target: it fails
  only when the one-sided upper Wilson score bound, at ``CONFIDENCE``, is below the target; the
  record carries the interval.

``CONFIDENCE`` is 99 %: a model whose true test accuracy equals its target fails one inference run
in a hundred, while a model 2 points short on 5,000 test images (MNIST's full test split at 95 %:
standard error 0.3 points) fails every time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

CONFIDENCE = 0.99  # one-sided
_Z = NormalDist().inv_cdf(CONFIDENCE)


class Score(float):
    """An accuracy that remembers what it was counted from (``correct`` of ``total``).

    A float, so workloads and loops that compare or store accuracies need not know; the loop reads
    ``total`` to put an interval on it."""

    correct: int
    total: int

    def __new__(cls, correct: int, total: int) -> "Score":
        if total <= 0:
            raise ValueError("an accuracy needs at least one sample")
        score = super().__new__(cls, correct / total)
        score.correct, score.total = int(correct), int(total)
        return score

    def __reduce__(self) -> tuple[Any, ...]:
        return (Score, (self.correct, self.total))


def wilson_bounds(correct: int, total: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """One-sided Wilson score bounds (lower, upper), each at ``confidence``, of a binomial proportion."""
    if total <= 0:
        raise ValueError("an interval needs at least one sample")
    z = _Z if confidence == CONFIDENCE else NormalDist().inv_cdf(confidence)
    p = correct / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Interval:
    """An accuracy with its one-sided Wilson bounds: what a record stores as ``..._interval``."""

    accuracy: float
    correct: int
    samples: int
    lower: float
    upper: float
    confidence: float = CONFIDENCE

    @classmethod
    def of(cls, correct: int, total: int) -> "Interval":
        lower, upper = wilson_bounds(correct, total)
        return cls(correct / total, int(correct), int(total), lower, upper)

    @classmethod
    def of_score(cls, accuracy: float, samples: int | None = None) -> "Interval | None":
        """From a ``Score`` (or an accuracy and the number of samples it was counted on)."""
        total = getattr(accuracy, "total", samples)
        if not total:
            return None
        correct = getattr(accuracy, "correct", round(float(accuracy) * total))
        return cls.of(correct, total)

    def significantly_below(self, target: float) -> bool:
        return self.upper < target

    def as_record(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "correct": self.correct, "samples": self.samples,
                "lower": self.lower, "upper": self.upper, "confidence": self.confidence,
                "method": "Wilson score, one-sided bounds"}


def inference_passes(interval: Interval, target: float) -> bool:
    """The inference rule: pass unless the test accuracy is significantly below the target."""
    return not interval.significantly_below(target)


def describe_inference_failure(name: str, interval: Interval, target: float) -> str:
    return (f"{name} inference reached {interval.accuracy:.2%} ({interval.correct} of {interval.samples}), "
            f"significantly below its target of {target:.2%}: even the upper {interval.confidence:.0%} bound "
            f"is {interval.upper:.2%}.")


# Where the smoke scale's targets come from: every bundled workload's smoke target is decided by the
# same procedure, on training and validation data only (never the test split).
SMOKE_TARGET_SOURCE = ("validation procedure: docs/tuning/smoke_targets.py (whole smoke budget, seeds 0-4 x "
                       "1 and 2 intra-op threads, validation curves only)")
