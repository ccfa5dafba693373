"""Peak memory of a timed call: how much more memory the workload held at its peak than before.

- CPU: the process's resident set. Linux keeps its high-water mark (``VmHWM`` in /proc/self/status)
  and lets a process reset it to the current size (writing 5 to /proc/self/clear_refs), so the
  peak is exact and costs nothing inside the call. Where the reset is refused, a sampler thread
  reads the resident size every ``SAMPLE_SECONDS`` instead (``method: sampled``: a peak shorter than
  that may be missed). The record is the peak minus the resident size just before the call.
- CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``, minus what was
  allocated before (tensors only; the caching allocator's reserve and the CUDA context are not
  the workload's).

Recorded as ``peak_memory`` (``bytes``, ``method``, or ``available: false`` and why).
"""
from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")
SAMPLE_SECONDS = 0.01


def _status_kib(field: str) -> int | None:
    try:
        match = re.search(rf"^{field}:\s+(\d+) kB", STATUS.read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _reset_high_water_mark() -> bool:
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


class PeakMemory:
    """``with PeakMemory(device) as meter: ...`` then ``meter.record()``."""

    def __init__(self, device: Any) -> None:
        self.device = str(device)
        self._before: int | None = None
        self._peak: int | None = None
        self._method = ""
        self._reason = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "PeakMemory":
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._before, self._method = torch.cuda.memory_allocated(self.device), "torch.cuda.max_memory_allocated"
            return self
        resident = _status_kib("VmRSS")
        if resident is None:
            self._reason = f"{STATUS} cannot be read (not Linux?)"
            return self
        self._before = resident * 1024
        if _reset_high_water_mark():
            self._method = "VmHWM after a reset (exact)"
        else:
            self._method = f"VmRSS sampled every {SAMPLE_SECONDS * 1000:.0f} ms"
            self._peak = self._before
            self._thread = threading.Thread(target=self._sample, daemon=True, name="snnbench-memory")
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            resident = _status_kib("VmRSS")
            if resident is not None and self._peak is not None:
                self._peak = max(self._peak, resident * 1024)

    def __exit__(self, *exc_info: object) -> None:
        if self._before is None:
            return
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize(self.device)
            self._peak = torch.cuda.max_memory_allocated(self.device)
        elif self._thread is not None:
            self._stop.set()
            self._thread.join()
            resident = _status_kib("VmRSS")
            self._peak = max(self._peak or 0, (resident or 0) * 1024)
        else:
            high_water = _status_kib("VmHWM")
            self._peak = None if high_water is None else high_water * 1024

    def record(self) -> dict[str, Any]:
        if self._before is None or self._peak is None:
            return {"available": False, "reason": self._reason or "not measured"}
        return {"available": True, "bytes": max(0, self._peak - self._before), "method": self._method,
                "before_bytes": self._before}
