"""Profile a bounded window of steps with torch.profiler and group the time by category.

The window runs outside the timed run (on a throwaway copy of the workload for training), after a
warm-up, as in the paper (two warm-up batches); so profiling never inflates time to accuracy.
"""
from __future__ import annotations

import time
from collections import defaultdict
from typing import Callable, Iterable, Iterator, TypeVar

import torch
from torch.autograd.profiler import record_function
from torch.profiler import ProfilerActivity, profile

from ..device import synchronize
from .categories import ALL_BUCKETS, DATA_LOADING, DATA_LOADING_RANGE, UNMAPPED, categorize

T = TypeVar("T")
TOP_OPERATORS = 15


def annotated(items: Iterable[T]) -> Iterator[T]:
    """Yield items with each fetch inside the data-loading range, so its operators count as data loading."""
    iterator = iter(items)
    while True:
        with record_function(DATA_LOADING_RANGE):
            try:
                item = next(iterator)
            except StopIteration:
                return
        yield item


def _in_data_loading(event) -> bool:
    parent = event
    while parent is not None:
        if parent.name == DATA_LOADING_RANGE:
            return True
        parent = parent.cpu_parent
    return False


def summarize(events, device_time: bool = False) -> dict[str, object]:
    """Self time per category and per operator: every event counted once, in exactly one bucket."""
    # Keyed by (name, category): the same operator counts as data loading inside a batch fetch
    # and under its own category elsewhere.
    per_operator: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0])
    per_category: dict[str, float] = {bucket: 0.0 for bucket in ALL_BUCKETS}
    for event in events:
        micros = event.self_device_time_total if device_time else event.self_cpu_time_total
        category = DATA_LOADING if _in_data_loading(event) else categorize(event.name)
        per_category[category] += micros
        per_operator[event.name, category][0] += micros
        per_operator[event.name, category][1] += 1
    total = sum(per_category.values())

    def share(micros: float) -> float:
        return micros / total if total > 0 else 0.0

    ranked = sorted(per_operator.items(), key=lambda item: -item[1][0])
    return {
        "total_ms": total / 1000,
        "categories": {c: {"ms": per_category[c] / 1000, "share": share(per_category[c])} for c in ALL_BUCKETS},
        "top_operators": [
            {"name": name, "category": category, "ms": micros / 1000, "share": share(micros), "calls": calls}
            for (name, category), (micros, calls) in ranked[:TOP_OPERATORS]
        ],
        "unmapped_operators": sorted({name for name, category in per_operator if category == UNMAPPED}),
    }


def coverage(operator_ms: float, wall_ms: float) -> dict[str, float]:
    """How much of the window's wall time the operators account for. Work outside torch's
    operators (a compiled numba loop, Python between the calls) is in the wall time only, so the
    category shares are of the operators' part; ``wall_ms * coverage * share`` is a category's time."""
    return {"wall_ms": wall_ms, "coverage": min(operator_ms / wall_ms, 1.0) if wall_ms > 0 else 0.0}


def profile_steps(step: Callable[[T], object], items: Iterable[T], warmup: int, steps: int,
                  device: torch.device, phase: str) -> dict[str, object]:
    """Run ``warmup`` steps, then profile ``steps`` more; return the category summary."""
    iterator = annotated(items)
    for _, item in zip(range(warmup), iterator):
        step(item)
    activities = [ProfilerActivity.CPU]
    on_cuda = torch.device(device).type == "cuda"
    if on_cuda:
        activities.append(ProfilerActivity.CUDA)
    done = 0
    with profile(activities=activities) as profiler:
        started = time.perf_counter()
        for _, item in zip(range(steps), iterator):
            step(item)
            done += 1
        synchronize(device)  # queued kernels belong to the window
        wall_ms = (time.perf_counter() - started) * 1000
    events = profiler.events()
    result: dict[str, object] = {"phase": phase, "warmup_steps": warmup, "steps": done, "clock": "cpu self time"}
    result.update(summarize(events))
    result.update(coverage(float(result["total_ms"]), wall_ms))
    if on_cuda:
        result["device"] = summarize(events, device_time=True)
    return result
