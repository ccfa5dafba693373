"""The metric registry: one definition per metric, read by the gate, the report and the summary."""
from __future__ import annotations

import re

import pytest

from pytest_snnbench.metrics import REGISTRY, Metric, Registry, metric_value
from pytest_snnbench.runner import ResultRow
from pytest_snnbench.summary import summary_lines


def test_every_metric_has_a_unit_a_direction_and_gate_units() -> None:
    complexity = ["synops", "effective_macs", "effective_acs", "dense_synops", "activation_sparsity",
                  "connection_sparsity", "membrane_updates", "neuron_ops", "footprint", "parameters"]
    assert list(REGISTRY) == ["accuracy", "best_accuracy", "time_to_target", "throughput", "inference_time",
                              "samples_to_target", "seconds_per_sample", "energy_to_target", "energy_per_sample", "peak_memory",
                              *complexity]
    directions = {name: metric.better for name, metric in REGISTRY.items()}
    sparsities = {"activation_sparsity", "connection_sparsity"}
    assert directions == {"accuracy": "higher", "best_accuracy": "higher", "time_to_target": "lower",
                          "throughput": "higher", "inference_time": "lower", "samples_to_target": "lower",
                          "seconds_per_sample": "lower", "energy_to_target": "lower", "energy_per_sample": "lower",
                          "peak_memory": "lower", **{name: "higher" if name in sparsities else "lower" for name in complexity}}
    assert REGISTRY["accuracy"].gate_units == ("pp", "%") and REGISTRY["time_to_target"].gate_units == ("%", "s")
    assert REGISTRY["energy_to_target"].gate_units == ("%",)


def test_peak_memory_is_read_only_where_it_was_measured() -> None:
    measured = {"phase": "inference", "peak_memory": {"available": True, "bytes": 2048, "method": "VmHWM"}}
    unmeasured = {"phase": "inference", "peak_memory": {"available": False, "reason": "not Linux"}}
    assert metric_value(measured, "peak_memory") == 2048
    assert metric_value(unmeasured, "peak_memory") is None and metric_value({"phase": "training"}, "peak_memory") is None


def test_a_metric_reads_only_records_of_its_phases() -> None:
    training = {"phase": "training", "final_accuracy": 0.9, "train_throughput_samples_per_s": 10.0,
                "time_to_target_s": 3.0}
    inference = {"phase": "inference", "accuracy": 0.8, "final_accuracy": 0.8, "inference_seconds": 2.0,
                 "inference_throughput_samples_per_s": 50.0}
    assert metric_value(training, "throughput") == 10.0 and metric_value(inference, "throughput") == 50.0
    assert metric_value(training, "inference_time") is None and metric_value(inference, "time_to_target") is None
    assert metric_value(inference, "accuracy") == 0.8


@pytest.mark.parametrize("settings, message", [
    ({"better": "up"}, "better must be"), ({"unit": "furlongs"}, "unknown unit"),
    ({"fields": ()}, "either fields or read"),
])
def test_a_malformed_definition_is_refused(settings: dict, message: str) -> None:
    definition = {"name": "m", "unit": "s", "better": "lower", "phases": ("training",), "label": "m",
                  "fields": ("m_s",), **settings}
    with pytest.raises(ValueError, match=message):
        Metric(**definition)


def test_a_metric_is_defined_once() -> None:
    metric = REGISTRY["accuracy"]
    with pytest.raises(ValueError, match="defined twice"):
        Registry([metric, metric])


def _record(energy: dict | None = None) -> dict:
    record = {"workload": "toy-training", "phase": "training", "status": "reached", "final_accuracy": 0.95,
              "majority_class_accuracy": 0.25, "target_accuracy": 0.9, "time_to_target_s": 12.345,
              "target_reached": True, "train_throughput_samples_per_s": 1234.5}
    if energy is not None:
        record["energy"] = energy
    return record


def test_summary_without_energy_is_as_before() -> None:
    lines = summary_lines([ResultRow.from_record("t", _record({"available": False, "reason": "none"}))])
    assert re.split(r"\s{2,}", lines[0]) == [
        "workload", "status", "accuracy", "majority", "target", "time to target", "samples/s", "note"]
    assert re.split(r"\s{2,}", lines[2]) == [
        "toy-training", "reached", "95.00%", "25.00%", "90.00%", "12.3 s", "1,234.5"]


def test_summary_shows_measured_energy() -> None:
    energy = {"available": True, "joules": 4321.0, "whole_run": True}
    lines = summary_lines([ResultRow.from_record("t", _record(energy)), ResultRow.from_record("u", _record())])
    assert "energy" in lines[0] and "4,321.0 J" in lines[2]
    assert lines[3].split()[-1] == "-"  # the record without energy
