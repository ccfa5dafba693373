"""Fixtures for workload tests: device, threads, seeded determinism, and the runner.

Registered at start-up, so this module imports nothing heavy: torch and the runner load when a
fixture is first used.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import torch

    from .runner import SessionState, WorkloadRunner
    from .threads import ThreadSettings
    from .variants import RunVariant


def _state(config: pytest.Config) -> "SessionState":
    from .plugin import session_state

    return session_state(config)


@pytest.fixture(scope="session")
def snnbench_device(pytestconfig: pytest.Config) -> "torch.device":
    """The device chosen with --device (validated at start-up)."""
    return _state(pytestconfig).context.device


@pytest.fixture(scope="session")
def snnbench_threads(pytestconfig: pytest.Config) -> "ThreadSettings":
    """torch's intra-op and inter-op thread counts in force (set at start-up from the options)."""
    return _state(pytestconfig).threads


@pytest.fixture
def snnbench_run(pytestconfig: pytest.Config) -> "RunVariant":
    """This run's seed, threads and device; parametrized by the plugin for sweeps, seeds and repeats."""
    from .variants import single_variant

    return single_variant(_state(pytestconfig).options)


@pytest.fixture
def snnbench_seeded(snnbench_run: "RunVariant") -> dict[str, Any]:
    """Seeds Python, NumPy and torch with this run's seed and turns on deterministic algorithms."""
    from .determinism import seed_everything

    return seed_everything(snnbench_run.seed)


@pytest.fixture
def snnbench(request: pytest.FixtureRequest, snnbench_run: "RunVariant", snnbench_seeded: dict[str, Any],
             snnbench_device: "torch.device", snnbench_threads: "ThreadSettings") -> "WorkloadRunner":
    """Runs a workload class as a benchmark: ``snnbench.train(W, benchmark)`` or ``snnbench.infer(W, benchmark)``."""
    from .runner import WorkloadRunner

    return WorkloadRunner(_state(request.config), request, snnbench_run, snnbench_seeded)
