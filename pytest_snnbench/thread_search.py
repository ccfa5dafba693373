"""Pick the intra-op thread count before a long run, as the paper recommends (section 4.6).

A few training steps at each candidate count on a throwaway copy of the workload; the fastest count
is kept for the timed run and recorded with the result.
"""
from __future__ import annotations

from typing import Callable, Iterator, Sequence, TypeVar

import torch

from .device import clock

T = TypeVar("T")


def search_intra_op_threads(step: Callable[[T], object], items: Iterator[T], counts: Sequence[int],
                            device: torch.device, warmup: int = 1, steps: int = 3) -> dict[str, object]:
    seconds: dict[str, float] = {}
    for count in counts:
        torch.set_num_threads(count)
        for _ in range(warmup):
            step(next(items))
        begin = clock(device)
        for _ in range(steps):
            step(next(items))
        seconds[str(count)] = (clock(device) - begin) / steps
    chosen = int(min(seconds, key=seconds.__getitem__))
    torch.set_num_threads(chosen)
    return {"seconds_per_step": seconds, "chosen": chosen, "warmup_steps": warmup, "steps": steps}
