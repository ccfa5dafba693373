"""Measured energy: CPU package counters (RAPL, read from sysfs) and the GPU's counter (NVML).

A meter reads every counter once before and once after the measured region, so nothing runs inside
it but a sampler thread that wakes every ``SAMPLE_SECONDS`` (default 60 s) to read the counters
again: RAPL counters wrap at ``max_energy_range_uj`` (about 262 kJ on many CPUs, some 40 minutes at
100 W), and a wrap is only recognisable while less than one full range passes between two reads.
Each wrap seen (a reading below the previous one) adds the range once.

Where no counter can be read, the record says so (``{"available": false, "reason": ...}``); this
module never estimates energy from time and a nominal power.

Environment:
  ``SNNBENCH_POWERCAP_ROOT``  the powercap folder to read (default /sys/class/powercap); tests point
                              it at a fake tree.
  ``SNNBENCH_ENERGY_SAMPLE_S`` seconds between the sampler's reads (default 60; 0 turns the sampler off).
"""
from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

DEFAULT_POWERCAP_ROOT = Path("/sys/class/powercap")
SAMPLE_SECONDS = 60.0
# Top-level RAPL zones are the CPU packages (intel-rapl:0, intel-rapl:1, ...; AMD's kernel driver
# uses the same names). Sub-zones (intel-rapl:0:0, core, uncore, dram) are parts of a package and
# intel-rapl-mmio duplicates the package counter: neither is added again.
_PACKAGE_ZONE = re.compile(r"^intel-rapl:\d+$")


class EnergyUnavailable(Exception):
    """No counter can be read here; the message is the reason recorded."""


def powercap_root() -> Path:
    return Path(os.environ.get("SNNBENCH_POWERCAP_ROOT") or DEFAULT_POWERCAP_ROOT)


def sample_seconds() -> float:
    try:
        return float(os.environ.get("SNNBENCH_ENERGY_SAMPLE_S", SAMPLE_SECONDS))
    except ValueError:
        return SAMPLE_SECONDS


# -- counters ----------------------------------------------------------------------------------
@dataclass
class _Domain:
    name: str
    read: Callable[[], int]  # the raw counter, in the counter's unit
    wrap: int | None  # the counter's range (it wraps to 0 after it), None if it does not wrap
    scale: float  # joules per counter unit
    last: int = 0
    total: int = 0  # counter units accumulated since start, wraps included
    wraps: int = 0

    def start(self) -> None:
        self.last, self.total, self.wraps = self.read(), 0, 0

    def sample(self) -> None:
        now = self.read()
        delta = now - self.last
        if delta < 0:
            if self.wrap is None:  # a counter that does not wrap went back: a reset, not energy
                raise EnergyUnavailable(f"the {self.name} counter went back from {self.last} to {now}")
            delta += self.wrap
            self.wraps += 1
        self.total += delta
        self.last = now

    @property
    def joules(self) -> float:
        return self.total * self.scale


class RaplCounters:
    """All CPU packages' energy counters, from sysfs (``intel-rapl:N/energy_uj``)."""

    method = "rapl-sysfs"

    def __init__(self, root: Path | None = None) -> None:
        root = Path(root) if root is not None else powercap_root()
        if not root.is_dir():
            raise EnergyUnavailable(f"no powercap folder {root} (no RAPL driver, or a virtual machine or "
                                    "container that does not expose it)")
        zones = sorted((p for p in root.iterdir() if _PACKAGE_ZONE.match(p.name)),
                       key=lambda p: int(p.name.split(":")[1]))
        domains = []
        for zone in zones:
            name_file = zone / "name"
            name = name_file.read_text().strip() if name_file.is_file() else zone.name
            if name == "psys":  # the whole platform, overlapping the packages: not added to them
                continue
            counter = zone / "energy_uj"
            try:
                wrap = int((zone / "max_energy_range_uj").read_text())
                int(counter.read_text())  # readable now, so readable at the end
            except PermissionError:
                raise EnergyUnavailable(
                    f"permission denied reading {counter}: since Linux 5.10 the RAPL counters are root-only "
                    f"(CVE-2020-8694); e.g. `sudo chmod a+r {root}/intel-rapl:*/energy_uj` to measure") from None
            except (OSError, ValueError) as error:
                raise EnergyUnavailable(f"cannot read {counter}: {error}") from None
            domains.append(_Domain(name, lambda path=counter: int(path.read_text()), wrap, 1e-6))
        if not domains:
            raise EnergyUnavailable(f"no CPU package zone (intel-rapl:N) in {root}")
        self.domains = domains
        self.device = ", ".join(d.name for d in domains)


def _nvml_handle(pynvml: Any, device: Any) -> Any:
    """The NVML handle of the torch CUDA device: by UUID (CUDA_VISIBLE_DEVICES renumbers devices, NVML
    does not), by index where torch gives no UUID."""
    import torch

    index = device.index if device.index is not None else torch.cuda.current_device()
    uuid = getattr(torch.cuda.get_device_properties(index), "uuid", None)
    if uuid is not None:
        text = str(uuid)
        return pynvml.nvmlDeviceGetHandleByUUID(text if text.startswith("GPU-") else f"GPU-{text}")
    return pynvml.nvmlDeviceGetHandleByIndex(index)


class NvmlCounter:
    """The GPU's total energy counter (millijoules since the driver loaded; Volta and newer)."""

    method = "nvml"

    def __init__(self, device: Any) -> None:
        try:
            import pynvml  # nvidia-ml-py: pip install pytest-snnbench[energy]
        except ImportError:
            raise EnergyUnavailable("nvidia-ml-py is not installed (pip install 'pytest-snnbench[energy]'), "
                                    "so the GPU's energy counter cannot be read") from None
        try:
            pynvml.nvmlInit()
            handle = _nvml_handle(pynvml, device)
            name = pynvml.nvmlDeviceGetName(handle)
            pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
        except pynvml.NVMLError as error:
            raise EnergyUnavailable(f"NVML cannot read the energy of {device}: {error} (the counter needs a "
                                    "Volta or newer GPU)") from None
        name = name.decode() if isinstance(name, bytes) else str(name)
        self.device = f"{device} ({name})"
        self.domains = [_Domain("gpu", lambda: int(pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)), None, 1e-3)]


def counters_for(device: Any) -> RaplCounters | NvmlCounter:
    """The counters for a torch device: the GPU's own for CUDA, the CPU packages' otherwise."""
    if getattr(device, "type", str(device)) == "cuda":
        return NvmlCounter(device)
    return RaplCounters()


# -- the meter ---------------------------------------------------------------------------------
@dataclass
class EnergyMeter:
    """``with meter:`` around the measured region; then ``meter.record(samples=...)``."""

    device: Any = "cpu"
    open_counters: Callable[[Any], Any] = counters_for
    interval: float | None = None  # seconds between the sampler's reads; sample_seconds() if None
    _counters: Any = None
    _reason: str | None = None
    _seconds: float = 0.0
    _began: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Paused stretches (checkpoint writes: the training clock stands still then, so does the meter).
    _paused_joules: dict[str, float] = field(default_factory=dict)
    _paused_seconds: float = 0.0
    _pause_began: tuple[float, dict[str, float]] | None = None

    def __enter__(self) -> "EnergyMeter":
        self._counters, self._reason = None, None
        self._paused_joules, self._paused_seconds, self._pause_began = {}, 0.0, None
        try:
            counters = self.open_counters(self.device)
            for domain in counters.domains:
                domain.start()
            self._counters = counters
        except EnergyUnavailable as error:
            self._reason = str(error)
            return self
        except Exception as error:  # noqa: BLE001 - measuring energy must never break a benchmark
            self._reason = f"the energy counters could not be opened: {error!r}"
            return self
        interval = sample_seconds() if self.interval is None else self.interval
        self._stop.clear()
        if interval > 0:
            self._thread = threading.Thread(target=self._sample_every, args=(interval,), daemon=True,
                                            name="snnbench-energy")
            self._thread.start()
        self._began = time.perf_counter()
        return self

    def pause(self) -> None:
        """Stop counting (e.g. while a checkpoint is written outside the timed region)."""
        if self._counters is None or self._reason is not None or self._pause_began is not None:
            return
        try:
            self._sample()
        except Exception as error:  # noqa: BLE001 - recorded as the reason
            self._reason = f"a counter could not be read when the run paused: {error}"
            return
        self._pause_began = (time.perf_counter(), {d.name: d.joules for d in self._counters.domains})

    def resume(self) -> None:
        """Count again; the energy and seconds of the pause are left out of the record."""
        if self._pause_began is None:
            return
        began, joules = self._pause_began
        self._pause_began = None
        try:
            self._sample()
        except Exception as error:  # noqa: BLE001 - recorded as the reason
            self._reason = f"a counter could not be read when the run resumed: {error}"
            return
        self._paused_seconds += time.perf_counter() - began
        for domain in self._counters.domains:
            self._paused_joules[domain.name] = self._paused_joules.get(domain.name, 0.0) + domain.joules - joules[domain.name]

    def _sample(self) -> None:
        with self._lock:
            for domain in self._counters.domains:
                domain.sample()

    def _sample_every(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self._sample()
            except Exception as error:  # noqa: BLE001 - recorded as the reason, the run goes on
                self._reason = f"a counter could not be read during the run: {error}"
                return

    def __exit__(self, *exc: Any) -> None:
        if self._counters is None:
            return
        self.resume()
        self._seconds = time.perf_counter() - self._began - self._paused_seconds
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._reason is None:
            try:
                self._sample()
            except Exception as error:  # noqa: BLE001 - recorded as the reason
                self._reason = f"a counter could not be read at the end of the run: {error}"

    def record(self, samples: int | None = None, **extra: Any) -> dict[str, Any]:
        """What the benchmark record stores under ``energy``."""
        if self._counters is None or self._reason is not None:
            return {"available": False, "reason": self._reason or "not measured"}
        domains = self._counters.domains
        by_domain = {d.name: d.joules - self._paused_joules.get(d.name, 0.0) for d in domains}
        joules = sum(by_domain.values())
        result: dict[str, Any] = {
            "available": True, "joules": joules, "seconds": self._seconds, "method": self._counters.method,
            "device": self._counters.device, "domains": [d.name for d in domains],
            "joules_by_domain": by_domain, "wraps": sum(d.wraps for d in domains),
            "paused_seconds": self._paused_seconds,
        }
        if samples:
            result["joules_per_sample"] = joules / samples
        result.update(extra)
        return result
