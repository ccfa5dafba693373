"""Metrics: each one a small definition (what it reads from a record, its unit, which way is better).

The gate (``--snnbench-compare-fail``), the HTML report and the end-of-session summary all read
metrics through this registry, so a new metric is one entry in ``definitions.py``:

    Metric("energy_to_target", read=..., unit="J", better="lower", phases=("training",),
           label="energy to target")

After NeuroBench's design (one metric, one small definition); the definitions themselves are SNNBench's.
"""
from __future__ import annotations

from .base import UNITS, Metric, Registry
from .definitions import REGISTRY

__all__ = ["REGISTRY", "UNITS", "Metric", "Registry", "get", "metric_value"]


def get(name: str) -> Metric:
    return REGISTRY[name]


def metric_value(record: dict, name: str) -> float | None:
    """The value of metric ``name`` in ``record``, or None where the record has none."""
    return REGISTRY[name].value(record)
