"""The A/B decision: is B's time metric worse than A's, by more than noise and by enough to matter?

A change is a regression when both hold (as asv's ``continuous`` decides):
- its size: the ratio of B's median to A's, in the metric's bad direction, exceeds ``1 + min_effect``;
- its significance: a one-sided Mann-Whitney U test, B worse than A, gives p < ``alpha``.
The interval shown is a percentile bootstrap of the ratio of medians (seeded, so a table is
reproducible). A side whose coefficient of variation exceeds the minimum effect is too noisy for
the rounds given: the verdict then says so instead of "no change".
"""
from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

INTERVAL = 0.95  # of the bootstrap interval shown beside each ratio
BOOTSTRAP_DRAWS = 2000


@lru_cache(maxsize=None)
def _u_counts(n: int, m: int) -> tuple[int, ...]:
    """How many of the C(n+m, n) orderings of two tie-free samples give each value of U (0..n*m)."""
    if n == 0 or m == 0:
        return (1,)
    # U(n, m) = U(n-1, m) + m (the largest value is from the first sample) or U(n, m-1)
    with_first, with_second = _u_counts(n - 1, m), _u_counts(n, m - 1)
    counts = [0] * (n * m + 1)
    for u, count in enumerate(with_first):
        counts[u + m] += count
    for u, count in enumerate(with_second):
        counts[u] += count
    return tuple(counts)


def mann_whitney_greater(first: Sequence[float], second: Sequence[float]) -> float:
    """One-sided p of the Mann-Whitney U test that ``first`` tends to be larger than ``second``.

    Exact (the permutation distribution of U) when there are no ties and both samples have at most
    25 values; otherwise the normal approximation with the tie correction and a continuity correction.
    """
    n, m = len(first), len(second)
    if not n or not m:
        return 1.0
    u = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in first for b in second)
    tied = len(set(first) | set(second)) < n + m
    if not tied and n <= 25 and m <= 25:
        counts = _u_counts(n, m)
        at_least = sum(counts[math.ceil(u):])
        return at_least / math.comb(n + m, n)
    values = sorted(list(first) + list(second))
    ties = sum(values.count(v) ** 3 - values.count(v) for v in set(values))
    total = n + m
    variance = n * m / 12 * ((total + 1) - ties / (total * (total - 1)))
    if variance <= 0:
        return 1.0
    z = (u - n * m / 2 - 0.5) / math.sqrt(variance)
    return 0.5 * math.erfc(z / math.sqrt(2))


def coefficient_of_variation(values: Sequence[float]) -> float | None:
    if len(values) < 2 or not statistics.fmean(values):
        return None
    return statistics.stdev(values) / abs(statistics.fmean(values))


def bootstrap_ratio(base: Sequence[float], head: Sequence[float], seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval (``INTERVAL``) of median(head) / median(base)."""
    rng = random.Random(seed)
    ratios = []
    for _ in range(BOOTSTRAP_DRAWS):
        a = statistics.median(rng.choices(base, k=len(base)))
        b = statistics.median(rng.choices(head, k=len(head)))
        if a:
            ratios.append(b / a)
    if not ratios:
        return (math.nan, math.nan)
    ratios.sort()
    tail = (1 - INTERVAL) / 2
    return ratios[int(tail * (len(ratios) - 1))], ratios[int(math.ceil((1 - tail) * (len(ratios) - 1)))]


@dataclass(frozen=True)
class Decision:
    base_median: float
    head_median: float
    ratio: float  # head / base
    interval: tuple[float, float]
    p_worse: float  # one-sided: head worse than base
    p_better: float
    cv_base: float | None
    cv_head: float | None
    verdict: str  # "regression", "improvement", "no change" or "too noisy"

    @property
    def regressed(self) -> bool:
        return self.verdict == "regression"


def decide(base: Sequence[float], head: Sequence[float], higher_is_better: bool, min_effect: float,
           alpha: float) -> Decision:
    """The verdict on one metric from its rounds on each side (see the module docstring)."""
    base_median, head_median = statistics.median(base), statistics.median(head)
    ratio = head_median / base_median if base_median else math.inf
    p_head_larger, p_head_smaller = mann_whitney_greater(head, base), mann_whitney_greater(base, head)
    p_worse, p_better = (p_head_smaller, p_head_larger) if higher_is_better else (p_head_larger, p_head_smaller)
    worse_by = (1 / ratio if ratio else math.inf) if higher_is_better else ratio  # > 1: worse
    cvs = coefficient_of_variation(base), coefficient_of_variation(head)
    if worse_by > 1 + min_effect and p_worse < alpha:
        verdict = "regression"
    elif 1 / worse_by > 1 + min_effect and p_better < alpha:
        verdict = "improvement"
    elif any(cv is not None and cv > min_effect for cv in cvs):
        verdict = "too noisy"
    else:
        verdict = "no change"
    return Decision(base_median, head_median, ratio, bootstrap_ratio(base, head), p_worse, p_better, *cvs,
                    verdict=verdict)
