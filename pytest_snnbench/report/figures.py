"""The report's figures, after the paper's: accuracy against time (3, 4), operator heat map (2),
thread scaling (5, 6)."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402

from ..metrics import REGISTRY  # noqa: E402
from ..profiling.categories import ALL_BUCKETS  # noqa: E402
from .load import Run  # noqa: E402


PANELS_PER_ROW = 3


def _label(run: Run, name: str, many_runs: bool) -> str:
    return f"{run.label}: {name}" if many_runs else name


def _split_of(curve: list[dict[str, Any]]) -> str:
    """The split a curve was measured on (each point says; "mixed" if they differ)."""
    splits = {point.get("split", "validation") for point in curve}
    return splits.pop() if len(splits) == 1 else "mixed"


def accuracy_against_time(runs: Sequence[Run], path: Path) -> Path | None:
    """Training curves, one panel per workload family; each curve labelled with its split (the
    checks run on validation: targets are decided there, never on test)."""
    families: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for run in runs:
        for name, record in run.records.items():
            if record.get("phase") == "training" and record.get("curve"):
                families[record["family"]].append((_label(run, name, len(runs) > 1), record))
    if not families:
        return None
    # a grid of at most three panels a row, each legend under its panel: many runs of one family
    # would hide the curves behind an inner legend
    columns = min(PANELS_PER_ROW, len(families))
    grid_rows = -(-len(families) // columns)
    legend_lines = max(len(lines) for lines in families.values()) + 1
    figure, axes = plt.subplots(grid_rows, columns, squeeze=False,
                                figsize=(6.0 * columns, (4.2 + 0.16 * legend_lines) * grid_rows))
    for axis in axes.flat[len(families):]:
        axis.set_visible(False)
    for axis, (family, lines) in zip(axes.flat, sorted(families.items())):
        splits = set()
        for label, record in lines:
            curve = record["curve"]
            split = _split_of(curve)
            splits.add(split)
            axis.plot([p["seconds"] for p in curve], [100 * p["accuracy"] for p in curve], marker="o",
                      markersize=3, label=f"{label} ({split})")
        target = 100 * lines[0][1]["target_accuracy"]
        axis.axhline(target, color="grey", linestyle="--", linewidth=1, label=f"target {target:g} %")
        axis.set_xscale("log")
        axis.set_xlabel("time since start of training (s, log scale)")
        axis.set_ylabel(f"{splits.pop() if len(splits) == 1 else 'check'} accuracy (%)")
        axis.set_title(family)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
    figure.tight_layout()
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path


def operator_heatmap(runs: Sequence[Run], path: Path) -> Path | None:
    rows = []
    for run in runs:
        for name, record in run.records.items():
            if record.get("profile"):
                variant = f"[{record['variant']}]" if record.get("variant") else ""
                label = f"{record['workload']}{variant}" + (f" ({run.label})" if len(runs) > 1 else "")
                rows.append((label, [100 * record["profile"]["categories"][c]["share"] for c in ALL_BUCKETS]))
    if not rows:
        return None
    figure, axis = plt.subplots(figsize=(1.0 * len(ALL_BUCKETS) + 3, 0.5 * len(rows) + 2))
    values = [values for _, values in rows]
    image = axis.imshow(values, cmap="Blues", vmin=0, vmax=max(max(v) for v in values) or 1, aspect="auto")
    axis.set_xticks(range(len(ALL_BUCKETS)), ALL_BUCKETS, rotation=40, ha="right")
    axis.set_yticks(range(len(rows)), [label for label, _ in rows])
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            axis.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=8,
                      color="white" if value > 0.6 * max(max(v) for v in values) else "black")
    axis.set_title("share of operator time per category (%)")
    figure.colorbar(image, ax=axis, fraction=0.03)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _throughput(record: dict[str, Any]) -> float | None:
    return REGISTRY["throughput"].value(record)


def _mean_by_count(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    by_count: dict[int, list[float]] = defaultdict(list)
    for count, value in points:
        by_count[count].append(value)
    return [(count, sum(values) / len(values)) for count, values in sorted(by_count.items())]


def thread_scaling(runs: Sequence[Run], path: Path) -> Path | None:
    panels = []
    for pool, other in (("intra_op_threads", "inter_op_threads"), ("inter_op_threads", "intra_op_threads")):
        series: dict[tuple, list[tuple[int, float]]] = defaultdict(list)
        for run in runs:
            for record in run.records.values():
                if _throughput(record) is not None:
                    key = (run.label if len(runs) > 1 else "", record["workload"], record.get("device"),
                           record.get(other))
                    series[key].append((record[pool], _throughput(record)))
        # Repeats and seeds at one thread count are averaged into one point.
        series = {key: _mean_by_count(points) for key, points in series.items() if len({t for t, _ in points}) > 1}
        if series:
            panels.append((pool, other, series))
    if not panels:
        return None
    figure, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.2), squeeze=False)
    for axis, (pool, other, series) in zip(axes[0], panels):
        for (label, workload, device, fixed), points in sorted(series.items(), key=lambda kv: str(kv[0])):
            axis.plot([t for t, _ in points], [v for _, v in points], marker="o",
                      label=f"{label + ': ' if label else ''}{workload} ({device}, {other.split('_')[0]} {fixed})")
        axis.set_xticks(sorted({t for points in series.values() for t, _ in points}))
        axis.set_xlabel(pool.replace("_", " "))
        axis.set_ylabel(f"{REGISTRY['throughput'].label} ({REGISTRY['throughput'].unit})")
        axis.set_title(f"scaling with {pool.split('_')[0]}-op threads")
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _task(record: dict[str, Any]) -> str:
    """The task a workload solves ("image", "speech"): accuracies are comparable only within one."""
    return str(record.get("family") or record.get("workload") or "").split("-")[0] or "other"


def accuracy_against_synops(runs: Sequence[Run], path: Path) -> Path | None:
    """Test accuracy against effective synaptic operations per sample, one point per inference
    workload, spiking and non-spiking together (the LSTM against LIF and LSNN: the paper's question),
    one panel per task: an image accuracy and a speech accuracy are not on one scale."""
    panels: dict[str, list[tuple[str, float, float, bool]]] = defaultdict(list)
    for run in runs:
        for record in run.records.values():
            synops = REGISTRY["synops"].value(record)
            accuracy = REGISTRY["accuracy"].value(record)
            if record.get("phase") == "inference" and synops and accuracy is not None:
                acs = record["complexity"]["synaptic_operations"].get("effective_acs") or 0
                panels[_task(record)].append((_label(run, record["workload"], len(runs) > 1), synops,
                                              100 * accuracy, acs > 0))
    if not panels:
        return None
    figure, axes = plt.subplots(1, len(panels), figsize=(6.0 * len(panels), 4.6), squeeze=False)
    for axis, (task, points) in zip(axes[0], sorted(panels.items())):
        for label, synops, accuracy, spiking in points:
            axis.scatter(synops, accuracy, marker="o" if spiking else "s", color="tab:blue" if spiking else "tab:red",
                         label="spiking" if spiking else "not spiking")
        axis.set_xscale("log")
        axis.margins(x=0.3, y=0.15)  # room for the labels inside the axes
        low, high = axis.get_xlim()
        middle = (low * high) ** 0.5
        for label, synops, accuracy, _ in points:
            right = synops > middle  # labels point inwards, so that none is cut at an edge
            axis.annotate(label, (synops, accuracy), fontsize=7, xytext=(-4 if right else 4, 3),
                          textcoords="offset points", ha="right" if right else "left")
        handles, names = axis.get_legend_handles_labels()
        unique = dict(zip(names, handles))
        axis.legend(unique.values(), unique.keys(), fontsize=7)
        axis.set_xlabel("effective synaptic operations per sample\n(MACs + ACs, log scale)")
        axis.set_ylabel("test accuracy (%)")
        axis.set_title(f"{task}: accuracy against operations")
        axis.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
