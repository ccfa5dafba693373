"""torch's two thread pools: intra-op (inside one operator) and inter-op (between operators)."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator

import torch


@dataclass(frozen=True)
class ThreadSettings:
    intra_op: int
    inter_op: int
    inter_op_applied: bool  # False when the pool had already started and kept its size


def apply_thread_settings(intra_op: int | None, inter_op: int | None) -> tuple[ThreadSettings, str | None]:
    """Set the pools as early as possible; the inter-op pool can only be sized before it starts.

    Returns the settings in force and, if the inter-op size could not be applied, why.
    """
    if intra_op is not None:
        torch.set_num_threads(intra_op)
    problem = None
    if inter_op is not None and inter_op != torch.get_num_interop_threads():
        try:
            torch.set_num_interop_threads(inter_op)
        except RuntimeError as error:
            problem = (f"--inter-op-threads={inter_op} could not be applied: torch's inter-op pool already runs "
                       f"with {torch.get_num_interop_threads()} threads ({error}). torch fixes it when parallel "
                       "work first starts; run this value in a fresh process (a list such as "
                       "--inter-op-threads=1,2 does that for each value).")
    return current_thread_settings(problem is None), problem


def current_thread_settings(inter_op_applied: bool = True) -> ThreadSettings:
    return ThreadSettings(torch.get_num_threads(), torch.get_num_interop_threads(), inter_op_applied)


@contextlib.contextmanager
def numba_on_torch_threads() -> Iterator[None]:
    """Run numba's parallel loops (the event engines) on torch's intra-op thread count, and leave
    torch's count as it was: numba's OpenMP layer resets the process's OpenMP thread count when it
    launches, which would silently change the threads every later torch operator (and the record) uses."""
    import numba

    threads = torch.get_num_threads()
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
