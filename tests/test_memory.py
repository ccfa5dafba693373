"""Peak memory of a timed call (metrics/memory.py): what the call held above its level before it."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from pytest_snnbench.metrics import memory
from pytest_snnbench.metrics.memory import PeakMemory

MIB = 1 << 20


def hold(mib: int, seconds: float = 0.0) -> None:
    block = np.ones(mib * MIB, dtype=np.uint8)  # ones: the pages are touched, so they are resident
    time.sleep(seconds)
    del block


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_the_high_water_mark_sees_a_peak_released_before_the_call_ends() -> None:
    with PeakMemory("cpu") as peak:
        hold(200)
    record = peak.record()
    assert record["available"] and record["method"].startswith("VmHWM")
    assert 150 * MIB < record["bytes"] < 400 * MIB


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_where_the_reset_is_refused_the_resident_size_is_sampled(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(memory, "CLEAR_REFS", tmp_path / "missing" / "clear_refs")
    with PeakMemory("cpu") as peak:
        hold(200, seconds=0.2)  # held for 20 sampling periods
    record = peak.record()
    assert record["available"] and record["method"].startswith("VmRSS sampled")
    assert 150 * MIB < record["bytes"] < 400 * MIB


def test_without_proc_the_record_says_why(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(memory, "STATUS", tmp_path / "status")
    with PeakMemory("cpu") as peak:
        pass
    assert peak.record() == {"available": False, "reason": f"{tmp_path / 'status'} cannot be read (not Linux?)"}
