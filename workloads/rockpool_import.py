"""Rockpool's modules, imported without its hardware probe's side effect.

At import Rockpool checks whether samna (SynSense's hardware interface) works by importing it. The
samna on the package index (a dependency of Sinabs) is a placeholder that, when imported, runs
``pip install --force-reinstall samna`` from GitLab: a network access, and on a machine without
one, a minute of retries, in the middle of a benchmark. Neither workload uses the hardware, so samna
is hidden while Rockpool imports, unless it was imported already (then Rockpool finds it as it is).
"""
from __future__ import annotations

import sys
from types import ModuleType


def rockpool() -> ModuleType:
    """``rockpool``, imported (its ``nn.modules`` and ``parameters`` with it)."""
    hide = "samna" not in sys.modules
    if hide:
        sys.modules["samna"] = None  # type: ignore[assignment]  # ``import samna`` raises ImportError
    try:
        import rockpool
        import rockpool.nn.modules  # noqa: F401
        import rockpool.parameters  # noqa: F401
    finally:
        if hide and sys.modules.get("samna") is None:
            del sys.modules["samna"]
    return rockpool
