"""The table printed at the end of a session."""
from __future__ import annotations

from typing import Sequence

from .metrics import REGISTRY
from .runner import ResultRow


def summary_lines(rows: Sequence[ResultRow]) -> list[str]:
    # accuracy: validation at the stop for training (test in the note), test for inference; majority:
    # the most frequent class's share of the same split, the floor any accuracy must be read against.
    # Then the metrics shown in "summary" (pytest_snnbench.metrics); one a machine may be unable to
    # measure (energy) only where some row has a value.
    accuracy = REGISTRY["accuracy"]
    metrics = [m for m in REGISTRY.in_table("summary") if m.name != "accuracy"
               and (not m.optional or any(r.values.get(m.name) is not None for r in rows))]
    header = ("workload", "status", accuracy.header, "majority", "target", *(m.header for m in metrics), "note")
    table = [header] + [
        (r.workload, r.status, accuracy.format(r.accuracy), accuracy.format(r.majority), accuracy.format(r.target),
         *(m.format(r.values.get(m.name), digits=1 if m.unit == "s" else None) for m in metrics), r.note)
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines
