"""The table printed at the end of a session."""
from __future__ import annotations

from typing import Sequence

from .runner import ResultRow


def _fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def summary_lines(rows: Sequence[ResultRow]) -> list[str]:
    # accuracy: validation at the stop for training (test in the note), test for inference; majority:
    # the most frequent class's share of the same split, the floor any accuracy must be read against.
    header = ("workload", "status", "accuracy", "majority", "target", "time to target", "samples/s", "note")
    table = [header] + [
        (r.workload, r.status, _fmt(r.accuracy, "{:.2%}"), _fmt(r.majority, "{:.2%}"), _fmt(r.target, "{:.2%}"),
         _fmt(r.time_to_target_s, "{:.1f} s"), _fmt(r.throughput, "{:,.1f}"), r.note)
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines
