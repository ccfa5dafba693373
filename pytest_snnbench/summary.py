"""The table printed at the end of a session."""
from __future__ import annotations

from typing import Sequence

from .metrics import REGISTRY
from .runner import ResultRow
from .text_table import aligned


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
    return aligned(table, rule=True)
