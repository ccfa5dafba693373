"""Write the report: PNG figures and one self-contained HTML page (figures embedded)."""
from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any, Sequence

from ..metrics import REGISTRY, Metric
from .figures import accuracy_against_synops, accuracy_against_time, operator_heatmap, thread_scaling
from .load import Run

# The run table's and comparison's metrics: those defined with shown_in "report" (pytest_snnbench.metrics).
SUMMARY_METRICS = tuple(m.name for m in REGISTRY.in_table("report"))


def _cell(value: float | None, metric: str) -> str:
    return REGISTRY[metric].format(value)


def _metrics(records: list[dict[str, Any]]) -> list[Metric]:
    """The report's metrics, leaving out one a machine may be unable to measure (energy) where no
    record has a value."""
    return [m for m in REGISTRY.in_table("report")
            if not m.optional or any(m.value(record) is not None for record in records)]


def _unmeasured(records: list[dict[str, Any]]) -> str:
    """Why energy is missing, where it is: the reasons the records give."""
    reasons = sorted({str(record["energy"].get("reason")) for record in records
                      if isinstance(record.get("energy"), dict) and not record["energy"].get("available")})
    if not reasons:
        return ""
    return f"<p class='note'>energy not measured: {html.escape('; '.join(reasons))}</p>"


def summary_table(run: Run) -> str:
    rows = []
    metrics = _metrics(list(run.records.values()))
    for name, record in sorted(run.records.items()):
        cells = "".join(f"<td>{m.format(m.value(record))}</td>" for m in metrics)
        rows.append(f"<tr><td>{html.escape(name)}</td><td>{html.escape(str(record.get('status')))}</td>"
                    f"<td>{_cell(record.get('target_accuracy'), 'accuracy')}</td>{cells}</tr>")
    header = "".join(f"<th>{html.escape(m.label)}</th>" for m in metrics)
    return (f"<table><tr><th>test</th><th>status</th><th>target</th>{header}</tr>{''.join(rows)}</table>"
            f"{_unmeasured(list(run.records.values()))}")


def comparison_rows(before: Run, after: Run) -> list[dict[str, Any]]:
    rows = []
    stored, current = before.records, after.records
    for name in sorted(set(stored) | set(current)):
        for metric in REGISTRY.in_table("report"):
            old = metric.value(stored[name]) if name in stored else None
            new = metric.value(current[name]) if name in current else None
            if old is None and new is None:
                continue
            if old is None or new is None:
                verdict = "only in one run"
            else:
                worse = (new - old) * metric.direction
                scale = abs(old) or 1.0
                verdict = "same" if abs(worse) / scale < 0.005 else ("worse" if worse > 0 else "better")
            rows.append({"test": name, "metric": metric.name, "before": old, "after": new, "verdict": verdict})
    return rows


def comparison_table(before: Run, after: Run) -> str:
    marks = {"worse": "&#9660; worse", "better": "&#9650; better", "same": "=", "only in one run": "only in one run"}
    body = "".join(
        f"<tr class='{row['verdict'].split()[0]}'><td>{html.escape(row['test'])}</td>"
        f"<td>{html.escape(REGISTRY[row['metric']].label)}</td>"
        f"<td>{_cell(row['before'], row['metric'])}</td><td>{_cell(row['after'], row['metric'])}</td>"
        f"<td>{marks[row['verdict']]}</td></tr>" for row in comparison_rows(before, after))
    return (f"<h2>{html.escape(before.label)} &rarr; {html.escape(after.label)}</h2><table><tr><th>test</th>"
            f"<th>metric</th><th>{html.escape(before.label)}</th><th>{html.escape(after.label)}</th>"
            f"<th>change</th></tr>{body}</table>")


def seed_spread_table(run: Run) -> str:
    """Over the seeds of a run (--snnbench-seeds), per training workload and set-up: time to target
    and its two factors, samples to target and seconds per sample (median, range, olympic mean)."""
    from ..repeatability import spread

    groups: dict[tuple, list[dict[str, Any]]] = {}
    for record in run.records.values():
        if record.get("phase") == "training":
            key = (record.get("family"), record.get("device"), record.get("intra_op_threads"),
                   record.get("inter_op_threads"), record.get("world_size"))
            groups.setdefault(key, []).append(record)
    rows = []
    for (family, device, intra, inter, _), records in sorted(groups.items(), key=lambda item: str(item[0])):
        if len({r.get("seed") for r in records}) < 2:
            continue
        cells = []
        for field, pattern in (("samples_to_target", "{:,.0f}"), ("seconds_per_sample", "{:.3g} s"),
                               ("time_to_target_s", "{:.1f} s")):
            stats = spread([r.get(field) for r in records])
            if not stats["n"]:
                cells.append("<td>none reached</td>")
                continue
            olympic = "-" if stats["olympic_mean"] is None else pattern.format(stats["olympic_mean"])
            missed = f", {stats['missing']} missed" if stats["missing"] else ""
            cells.append(f"<td>{pattern.format(stats['median'])} ({pattern.format(stats['min'])} to "
                         f"{pattern.format(stats['max'])}{missed}; olympic {olympic})</td>")
        seeds = ", ".join(str(s) for s in sorted(r.get("seed") for r in records))
        rows.append(f"<tr><td>{html.escape(str(family))} ({html.escape(str(device))}, intra {intra}, inter {inter})"
                    f"</td><td>{seeds}</td>{''.join(cells)}</tr>")
    if not rows:
        return ""
    return ("<h3>Spread over seeds: time to target = samples to target x seconds per sample</h3><table><tr>"
            "<th>workload</th><th>seeds</th><th>samples to target</th><th>seconds per sample</th>"
            f"<th>time to target</th></tr>{''.join(rows)}</table>")


STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}tr.worse td{background:#fde2e1}tr.better td{background:#e1f5e4}
img{max-width:100%;border:1px solid #eee;margin:0.5em 0}"""


def write_report(runs: Sequence[Run], out_dir: Path) -> dict[str, Path]:
    """Figures as PNG files and report.html with everything embedded; returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for key, draw in (("accuracy_vs_time", accuracy_against_time), ("operator_heatmap", operator_heatmap),
                      ("thread_scaling", thread_scaling), ("accuracy_vs_synops", accuracy_against_synops)):
        path = draw(runs, out_dir / f"{key}.png")
        if path is not None:
            written[key] = path
    sections = [f"<h1>SNNBench report</h1><p>{len(runs)} run(s): "
                f"{', '.join(html.escape(r.label) for r in runs)}</p>"]
    for run in runs:
        when = f" ({html.escape(run.datetime)})" if run.datetime else ""
        sections.append(f"<h2>{html.escape(run.label)}{when}</h2>{summary_table(run)}{seed_spread_table(run)}")
    if len(runs) >= 2:
        sections.append(comparison_table(runs[0], runs[-1]))
    titles = {"accuracy_vs_time": "Accuracy against time (paper, figures 3 and 4)",
              "operator_heatmap": "Operator categories (paper, figure 2)",
              "thread_scaling": "Thread scaling (paper, figures 5 and 6)",
              "accuracy_vs_synops": "Accuracy against synaptic operations per sample (NeuroBench's definitions)"}
    for key, path in written.items():
        data = base64.b64encode(path.read_bytes()).decode()
        sections.append(f"<h2>{titles[key]}</h2><img alt='{key}' src='data:image/png;base64,{data}'>")
    page = out_dir / "report.html"
    page.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>SNNBench report</title>"
                    f"<style>{STYLE}</style></head><body>{''.join(sections)}</body></html>")
    written["html"] = page
    return written
