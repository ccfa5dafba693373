"""The one-spike rule's random choice, from a stream that both engines share explicitly.

``DiehlAndCookNodes`` lets at most one excitatory neuron of a sample spike per step: when several
cross their thresholds together, one of them is kept, uniformly at random (BindsNET draws it with
``torch.multinomial`` from the global generator). To give both engines the same choices, the draw
is a pure function of the stream's key, the run, the sample in the batch and the step
(SplitMix64 hashing): no hidden generator state, the same in Python and in compiled code, and
independent of the order in which samples are simulated.
"""
from __future__ import annotations

from dataclasses import dataclass

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def mix64(value: int) -> int:
    """SplitMix64's finaliser: a bijective hash of a 64-bit integer."""
    value = (value + _GOLDEN) & _MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


def choice_index(key: int, run: int, sample: int, step: int, candidates: int) -> int:
    """Which of ``candidates`` simultaneous crossings (in neuron order) keeps its spike."""
    value = mix64((mix64((mix64((key ^ run) & _MASK) ^ sample) & _MASK) ^ step) & _MASK)
    return value % candidates


@dataclass
class ChoiceStream:
    """A keyed stream of one-spike choices; each ``run`` of an engine takes the next run number."""

    key: int
    runs: int = 0

    def next_run(self) -> int:
        run = self.runs
        self.runs += 1
        return run
