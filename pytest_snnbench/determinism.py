"""Seeding and deterministic kernels, as SNNBench prescribes (paper, section 3.2.6)."""
from __future__ import annotations

import os
import random

import numpy as np
import torch

# cuBLAS needs this before the CUDA context exists to pick deterministic workspaces.
CUBLAS_WORKSPACE = ":4096:8"


def prepare_environment() -> None:
    """Call before any CUDA work (the plugin does it at configure time)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)


def seed_everything(seed: int) -> dict[str, object]:
    """Seed Python, NumPy and torch and ask torch for deterministic algorithms.

    warn_only: a few CUDA kernels (max-pool backward, index_add) have no deterministic
    version; torch then warns instead of stopping the benchmark.
    """
    prepare_environment()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds every CUDA device too
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    return {
        "seed": seed,
        "deterministic_algorithms": "warn_only",
        "cudnn_benchmark": False,
        "cublas_workspace_config": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
    }
