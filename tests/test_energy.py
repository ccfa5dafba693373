"""Measured energy: RAPL counters read from a (fake) powercap tree, NVML through a fake module, and
``available: false`` with the reason wherever no counter can be read."""
from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from pytest_snnbench.metrics import metric_value
from pytest_snnbench.metrics.energy import EnergyMeter, NvmlCounter, RaplCounters, counters_for
from tests.conftest import read_records

MAX_RANGE = 262_143_328_850  # µJ, a common max_energy_range_uj


def zone(root: Path, name: str, label: str, energy_uj: int, max_range: int = MAX_RANGE) -> Path:
    """One powercap zone folder as the kernel shows it."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "name").write_text(label + "\n")
    (folder / "energy_uj").write_text(f"{energy_uj}\n")
    (folder / "max_energy_range_uj").write_text(f"{max_range}\n")
    return folder


def fake_powercap(root: Path) -> Path:
    """Two packages, plus what must not be added to them: a sub-zone, the MMIO duplicate, psys."""
    zone(root, "intel-rapl:0", "package-0", 1_000_000)
    zone(root, "intel-rapl:1", "package-1", MAX_RANGE - 1_000_000)  # about to wrap
    zone(root, "intel-rapl:0:0", "core", 7_000_000)
    zone(root, "intel-rapl-mmio:0", "package-0", 9_000_000)
    zone(root, "intel-rapl:2", "psys", 5_000_000)
    return root


def set_energy(root: Path, name: str, energy_uj: int) -> None:
    (root / name / "energy_uj").write_text(f"{energy_uj}\n")


def rapl_meter(root: Path) -> EnergyMeter:
    return EnergyMeter("cpu", open_counters=lambda device: RaplCounters(root), interval=0)


def test_rapl_energy_of_all_packages_with_a_wrap(tmp_path: Path) -> None:
    root = fake_powercap(tmp_path / "powercap")
    meter = rapl_meter(root)
    with meter:
        set_energy(root, "intel-rapl:0", 3_500_000)  # +2.5 J
        set_energy(root, "intel-rapl:1", 500_000)  # wrapped: +1.0 J to the range's end, +0.5 J after it
        set_energy(root, "intel-rapl:0:0", 99_000_000)  # parts and duplicates are not added
        set_energy(root, "intel-rapl-mmio:0", 99_000_000)
    energy = meter.record(samples=8)
    assert energy["available"] is True and energy["method"] == "rapl-sysfs"
    assert energy["domains"] == ["package-0", "package-1"] and energy["device"] == "package-0, package-1"
    assert energy["joules"] == pytest.approx(4.0)
    assert energy["joules_by_domain"] == pytest.approx({"package-0": 2.5, "package-1": 1.5})
    assert energy["wraps"] == 1 and energy["joules_per_sample"] == pytest.approx(0.5)
    assert energy["seconds"] >= 0


def test_the_sampler_counts_each_wrap_of_a_long_run(tmp_path: Path) -> None:
    """A run longer than the wrap period: read between the wraps, every wrap counts once."""
    root = tmp_path / "powercap"
    zone(root, "intel-rapl:0", "package-0", 900, max_range=1000)
    meter = rapl_meter(root)
    with meter:
        for value in (400, 100, 50):  # three reads by the sampler: +500, +700, +950 (wraps at 1000)
            set_energy(root, "intel-rapl:0", value)
            meter._sample()
        set_energy(root, "intel-rapl:0", 60)  # the final read: +10
    energy = meter.record()
    assert energy["joules"] == pytest.approx(2160e-6) and energy["wraps"] == 3
    assert "joules_per_sample" not in energy


def test_the_background_sampler_runs_and_stops(tmp_path: Path) -> None:
    root = tmp_path / "powercap"
    zone(root, "intel-rapl:0", "package-0", 0)
    meter = EnergyMeter("cpu", open_counters=lambda device: RaplCounters(root), interval=0.01)
    with meter:
        thread = meter._thread
        assert thread is not None and thread.is_alive()
        set_energy(root, "intel-rapl:0", 2_000_000)
    assert not thread.is_alive()
    assert meter.record()["joules"] == pytest.approx(2.0)


@pytest.mark.parametrize("make, reason", [
    (lambda root: root / "absent", "no powercap folder"),
    (lambda root: root, "no CPU package zone"),
])
def test_no_counters_means_not_available(tmp_path: Path, make, reason: str) -> None:
    root = make(tmp_path)
    meter = rapl_meter(root)
    with meter:
        pass
    energy = meter.record(samples=10)
    assert energy == {"available": False, "reason": energy["reason"]} and reason in energy["reason"]


def test_root_only_counters_mean_not_available(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Since Linux 5.10 energy_uj is readable by root only (the test fakes the refusal: root could read)."""
    root = fake_powercap(tmp_path / "powercap")
    read_text = Path.read_text

    def refuse(self: Path, *args, **kwargs) -> str:
        if self.name == "energy_uj":
            raise PermissionError(13, "Permission denied", str(self))
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", refuse)
    meter = rapl_meter(root)
    with meter:
        pass
    energy = meter.record()
    assert energy["available"] is False
    assert "permission denied" in energy["reason"] and "root-only" in energy["reason"]


def test_unreadable_counter_at_the_end_means_not_available(tmp_path: Path) -> None:
    root = fake_powercap(tmp_path / "powercap")
    meter = rapl_meter(root)
    with meter:
        (root / "intel-rapl:1" / "energy_uj").unlink()
    energy = meter.record()
    assert energy["available"] is False and "at the end of the run" in energy["reason"]


def test_environment_variable_points_at_the_powercap_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNNBENCH_POWERCAP_ROOT", str(fake_powercap(tmp_path)))
    assert [d.name for d in counters_for("cpu").domains] == ["package-0", "package-1"]


def test_gpu_energy_needs_nvidia_ml_py(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails
    import torch

    meter = EnergyMeter(torch.device("cuda:0"))
    with meter:
        pass
    energy = meter.record()
    assert energy["available"] is False and "nvidia-ml-py is not installed" in energy["reason"]


def _fake_pynvml(readings: list[int], supported: bool = True) -> types.ModuleType:
    module = types.ModuleType("pynvml")

    class NVMLError(Exception):
        pass

    def energy(handle):
        if not supported:
            raise NVMLError("Not Supported")
        return readings.pop(0)

    module.NVMLError = NVMLError
    module.nvmlInit = lambda: None
    module.nvmlDeviceGetName = lambda handle: b"NVIDIA H200"
    module.nvmlDeviceGetTotalEnergyConsumption = energy
    return module


def test_gpu_energy_from_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from pytest_snnbench.metrics import energy as energy_module

    monkeypatch.setitem(sys.modules, "pynvml", _fake_pynvml([1_000, 1_000, 13_000]))  # mJ: probe, start, end
    monkeypatch.setattr(energy_module, "_nvml_handle", lambda pynvml, device: "handle")
    meter = EnergyMeter(torch.device("cuda:0"), open_counters=lambda device: NvmlCounter(device), interval=0)
    with meter:
        pass
    energy = meter.record(samples=4)
    assert energy["available"] is True and energy["method"] == "nvml" and energy["domains"] == ["gpu"]
    assert energy["device"] == "cuda:0 (NVIDIA H200)"
    assert energy["joules"] == pytest.approx(12.0) and energy["joules_per_sample"] == pytest.approx(3.0)


def test_gpu_without_an_energy_counter(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from pytest_snnbench.metrics import energy as energy_module

    monkeypatch.setitem(sys.modules, "pynvml", _fake_pynvml([], supported=False))
    monkeypatch.setattr(energy_module, "_nvml_handle", lambda pynvml, device: "handle")
    meter = EnergyMeter(torch.device("cuda:0"))
    with meter:
        pass
    energy = meter.record()
    assert energy["available"] is False and "Not Supported" in energy["reason"]


def test_a_toy_session_records_energy(toy_session, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                      tmp_path: Path) -> None:
    """End to end: SNNBENCH_POWERCAP_ROOT points the child session at a fake tree (its counters stand
    still, so the energy is 0 J, but measured); an empty tree gives records that say why not."""
    monkeypatch.setenv("SNNBENCH_POWERCAP_ROOT", str(fake_powercap(tmp_path / "powercap")))
    result = toy_session("--benchmark-json=run.json")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*workload*status*accuracy*energy*J/sample*", "*toy-training*0.0 J*"])
    records = read_records(pytester.path / "run.json")
    training, inference = records["test_toy_training"], records["test_toy_inference"]
    for record in (training, inference):
        energy = record["energy"]
        assert energy["available"] is True and energy["method"] == "rapl-sysfs"
        assert energy["domains"] == ["package-0", "package-1"] and energy["joules"] == 0.0
    assert training["energy"]["whole_run"] is True and metric_value(training, "energy_to_target") == 0.0
    assert inference["energy"]["joules_per_sample"] == 0.0 and metric_value(inference, "energy_per_sample") == 0.0

    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("SNNBENCH_POWERCAP_ROOT", str(empty))
    result = toy_session("-m", "training", "--benchmark-json=none.json")
    result.assert_outcomes(passed=1)
    assert "energy" not in result.stdout.str().split("SNNBench summary")[-1]  # no column with nothing measured
    record = read_records(pytester.path / "none.json")["test_toy_training"]
    assert record["energy"]["available"] is False and "no CPU package zone" in record["energy"]["reason"]
    assert metric_value(record, "energy_to_target") is None


def test_the_meter_pauses_with_the_clock(tmp_path: Path) -> None:
    """A checkpoint write pauses the training clock; its energy is left out of the record too."""
    root = fake_powercap(tmp_path / "powercap")
    meter = rapl_meter(root)
    with meter:
        set_energy(root, "intel-rapl:0", 2_000_000)  # +1 J while training
        meter.pause()
        set_energy(root, "intel-rapl:0", 7_000_000)  # +5 J while a checkpoint is written
        meter.resume()
        set_energy(root, "intel-rapl:0", 8_000_000)  # +1 J while training again
    energy = meter.record()
    assert energy["joules_by_domain"]["package-0"] == pytest.approx(2.0)
    assert energy["paused_seconds"] >= 0
