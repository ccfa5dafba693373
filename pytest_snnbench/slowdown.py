"""Test-only: stretch every training step and prediction batch by a fraction of its own duration.

Set ``SNNBENCH_TEST_SLOWDOWN=0.2`` and each step takes 20 % longer (the extra time is spent
spinning on the host clock, so the machine is busy as it would be with slower code). It exists to
measure the A/B gate (``snnbench-ab --head-env SNNBENCH_TEST_SLOWDOWN=0.2``, docs/benchmarks.md):
a known slowdown that the gate must flag. On CUDA a step's duration is its host time (kernels are
queued asynchronously), so the slowdown is only calibrated on the CPU. Unset, it costs one lookup.
"""
from __future__ import annotations

import contextlib
import os
import time
from typing import Iterator

VARIABLE = "SNNBENCH_TEST_SLOWDOWN"


def fraction() -> float:
    """The slowdown asked for (0 when unset); a value that is not a number is an error."""
    text = os.environ.get(VARIABLE, "")
    if not text:
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{VARIABLE}={text!r}: give a fraction such as 0.2 (20 % slower)") from None
    if value < 0:
        raise ValueError(f"{VARIABLE}={text!r}: a slowdown cannot be negative")
    return value


@contextlib.contextmanager
def stretched() -> Iterator[None]:
    extra = fraction()
    if not extra:
        yield
        return
    began = time.perf_counter()
    yield
    until = began + (time.perf_counter() - began) * (1 + extra)
    while time.perf_counter() < until:
        pass
