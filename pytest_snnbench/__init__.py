"""pytest-snnbench: the SNNBench workloads as a pytest plugin.

Layout: ``plugin`` (hooks and options), ``fixtures``, ``runner`` (benchmark one workload),
``training`` (the train-to-target loop), ``workload`` (what a workload provides), ``data``,
``profiling``, ``record`` (the stored schema), ``models`` (trained-model hand-over).
"""
from .curve import AccuracyCurve, CurvePoint
from .workload import Batch, Workload, WorkloadContext

__version__ = "0.1.0"
__all__ = ["AccuracyCurve", "Batch", "CurvePoint", "Workload", "WorkloadContext", "__version__"]
