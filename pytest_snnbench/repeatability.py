"""Repeatability across runs: identical curves for one seed, spread and aggregate across seeds."""
from __future__ import annotations

import math
import statistics
from typing import Any, Sequence

Curve = Sequence[dict[str, Any]]


def first_difference(reference: Curve, other: Curve) -> str | None:
    """Where two accuracy curves first differ (accuracy or loss at the same point), or None."""
    for index, (a, b) in enumerate(zip(reference, other)):
        for field in ("samples", "accuracy", "loss"):
            if a.get(field) != b.get(field):
                return (f"point {index + 1} (epoch {a.get('epoch')}, {a.get('samples')} samples): "
                        f"{field} {a.get(field)!r} vs {b.get(field)!r}")
    if len(reference) != len(other):
        return f"lengths differ: {len(reference)} vs {len(other)} points"
    return None


def mlperf_time_to_target(times: Sequence[float | None]) -> float | None:
    """MLPerf's aggregate: drop the fastest and the slowest run, mean of the rest.

    A run that missed its target (None) counts as the slowest; if one is left after dropping, the
    aggregate is None (not reached). With fewer than three runs nothing is dropped.
    """
    ordered = sorted(math.inf if t is None else t for t in times)
    kept = ordered[1:-1] if len(ordered) >= 3 else ordered
    if not kept or any(math.isinf(t) for t in kept):
        return None
    return statistics.fmean(kept)


def spread(values: Sequence[float | None]) -> dict[str, float | int | None]:
    """n, missing (None: e.g. a missed target), min, max, mean, median, sd and MLPerf's olympic mean
    (a missing value counts as the slowest, pytest_snnbench.repeatability.mlperf_time_to_target)."""
    present = [v for v in values if v is not None]
    if not present:
        return {"n": 0, "missing": len(values), "min": None, "max": None, "mean": None, "median": None,
                "stdev": None, "olympic_mean": None}
    return {"n": len(present), "missing": len(values) - len(present), "min": min(present), "max": max(present),
            "mean": statistics.fmean(present), "median": statistics.median(present),
            "stdev": statistics.stdev(present) if len(present) > 1 else 0.0,
            "olympic_mean": mlperf_time_to_target(values)}
