"""pytest-snnbench: the SNNBench workloads as a pytest plugin.

Layout: ``plugin`` (hooks and options), ``fixtures``, ``runner`` (benchmark one workload),
``training`` (the train-to-target loop), ``workload`` (what a workload provides), ``data``,
``profiling``, ``record`` (the stored schema), ``models`` (trained-model hand-over),
``hooks`` (the hook through which workloads declare their options), ``workloads`` (the bundled ones).

The names below are imported on first use: loading the plugin (every pytest run in an environment
where it is installed) must not import torch.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "AccuracyCurve": "curve", "CurvePoint": "curve",
    "Batch": "workload", "Workload": "workload", "WorkloadContext": "workload",
    "TensorDataWorkload": "workload",
    "WorkloadOptions": "hooks",
}
__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
