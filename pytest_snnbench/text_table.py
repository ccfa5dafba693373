"""Plain-text tables for the terminal: the session summary, the gate's movements, snnbench-ab."""
from __future__ import annotations

from typing import Sequence


def aligned(rows: Sequence[Sequence[str]], rule: bool = False) -> list[str]:
    """Each row as one line, its columns padded to the widest cell; ``rule``: a line of dashes under
    the first row (the header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    if rule:
        lines.insert(1, "  ".join("-" * width for width in widths))
    return lines
