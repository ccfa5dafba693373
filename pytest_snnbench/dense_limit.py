"""The dense limit: how fast the network's dense kernels alone run on the same shapes, on the same
machine, in the same run, so that a record says how far past (or short of) it its engine ran.

A workload offers ``dense_kernel(phase)`` (phase ``"inference"`` or ``"training"``) returning a
``DenseKernel``: one call computes, with dense torch kernels and no framework around them, what the
network computes for ``samples`` samples (possibly a fraction of a batch's time steps, scaled). An
engine that computes every zero can at best reach this throughput; an event-driven one may pass it.
Measured after the timed run and outside it: a warm-up call, then the fastest of ``repeats`` calls.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class DenseKernel:
    run: Callable[[], Any]
    samples: float  # samples one call stands for
    what: str  # the kernels and shapes, in words


def measure(kernel: DenseKernel, repeats: int = 3) -> dict[str, Any]:
    kernel.run()  # warm-up: first-call allocations and kernel selection
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        kernel.run()
        best = min(best, time.perf_counter() - began)
    return {"kernel": kernel.what, "seconds_per_sample": best / kernel.samples,
            "samples_per_s": kernel.samples / best, "repeats": repeats}


def dense_limit_record(workload: Any, phase: str, throughput: float | None) -> dict[str, Any] | None:
    """The record's ``dense_limit``, or None where the workload defines no dense kernel for ``phase``.
    ``engine_over_dense``: the run's throughput over the dense kernels' (above 1: past the limit)."""
    make = getattr(workload, "dense_kernel", None)
    kernel = make(phase) if make is not None else None
    if kernel is None:
        return None
    result = measure(kernel)
    result["engine_over_dense"] = throughput / result["samples_per_s"] if throughput else None
    return result
