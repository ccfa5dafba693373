"""Reference convergence: a stored distribution of samples to target, against which a run is judged.

Time to target is samples to target (the recipe, the seed, float rounding) times seconds per sample
(the machine). Like MLPerf Training's reference convergence points, each workload may keep, beside
its module, ``reference_convergence.json``: for each recipe (its configuration and data, never the
machine, the seed or the thread count) the samples to target of five or more seeded runs. A run's
samples to target is then ``inside`` that distribution (between its fastest and its slowest run),
``faster`` than it allows (a changed recipe, or an optimisation that is not the same computation),
or ``slower``; and two machines are compared at the reference median: ``time_at_reference_median_s``
= the median samples to target times this run's seconds per sample, free of the luck of one curve.

The same runs give every speed-free metric (pytest_snnbench.metrics: accuracy, samples to target,
synaptic operations, sparsity, ...) its measured spread, the range over seeds and thread counts.
The gate allows a speed-free metric to move by that much between two runs of one identity on two
machines (``--snnbench-compare-fail=accuracy:spread``, the default), because another CPU's rounding
moves a curve as much as another thread count does.

The file (written by ``snnbench-reference``, which reads stored runs)::

    {"format": "snnbench-reference/2", "references": [
        {"workload": "image-backprop", "scale": "smoke", "task": "training", "recipe": "<hash>",
         "samples_to_target": [4096, 6144, ...],  # null: that run missed its target (training only)
         "spread": {"accuracy": {"min": 0.86, "max": 0.92, "n": 10}, ...},
         "runs": [{"seed": 0, "intra_op_threads": 1, "samples_to_target": 4096}, ...],
         "measured": "where and how"}]}
"""
from __future__ import annotations

import inspect
import json
import statistics
from pathlib import Path
from typing import Any, Iterable, Mapping

from .identity import RunIdentity, digest

FORMAT = "snnbench-reference/2"
READABLE = ("snnbench-reference/1", FORMAT)  # /1: training entries, no spreads
FILE_NAME = "reference_convergence.json"
# What may differ between the runs of one reference distribution: the machine never enters an identity,
# and seeds, thread counts and the device are what the distribution is taken over (rounding).
# The number of timed inference passes is how the time was taken, not what was computed; a
# framework's version is a package version.
NOT_RECIPE = ("code", "seed", "intra_op_threads", "inter_op_threads", "device", "packages", "python",
              "inference_passes", "framework_version")


def recipe_key(identity: RunIdentity) -> str:
    """The hash of what samples to target depends on besides the seed and the rounding."""
    return digest(identity.without(NOT_RECIPE).fields)


def reference_file(workload: Any) -> Path:
    return Path(inspect.getfile(type(workload))).with_name(FILE_NAME)


def load_references(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return []
    return list(data.get("references", [])) if data.get("format") in READABLE else []


def reference_entry(workload: Any, record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The workload's reference entry for this record's recipe, or None."""
    key, phase = recipe_key(RunIdentity.of_record(record)), record.get("phase", "training")
    return next((ref for ref in load_references(reference_file(workload))
                 if ref.get("recipe") == key and ref.get("task", "training") == phase), None)


def measured_spread(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """For each speed-free metric the records measured: its min, max and number of runs."""
    from .metrics import REGISTRY

    spreads = {}
    members = list(records)
    for metric in REGISTRY.of_kind("speed-free"):
        values = [v for v in (metric.value(record) for record in members) if v is not None]
        if len(values) >= 2:
            spreads[metric.name] = {"min": min(values), "max": max(values), "n": len(values)}
    return spreads


def reference_spread(workload: Any, record: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the record carries for the gate: the spread of each speed-free metric over the reference
    runs of its recipe, and where they were measured; None when the workload keeps none."""
    entry = reference_entry(workload, record)
    if entry is None or not entry.get("spread"):
        return None
    return {"metrics": entry["spread"], "runs": len(entry.get("runs", [])), "measured": entry.get("measured")}


def judge(samples: int | None, reference: Iterable[int | None]) -> str:
    """``inside``, ``faster`` or ``slower`` than the reference distribution (a miss is the slowest)."""
    values = [float("inf") if value is None else value for value in reference]
    mine = float("inf") if samples is None else samples
    if mine < min(values):
        return "faster"
    if mine > max(values):
        return "slower"
    return "inside"


def judge_convergence(workload: Any, record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The record's samples to target against its workload's reference distribution, or None when
    the workload keeps none for this recipe."""
    entry = reference_entry(workload, record)
    if entry is None or not entry.get("samples_to_target"):
        return None
    reference = entry["samples_to_target"]
    reached = sorted(value for value in reference if value is not None)
    median = statistics.median(reached) if len(reached) * 2 > len(reference) else None
    per_sample = record.get("seconds_per_sample")
    return {
        "verdict": judge(record.get("samples_to_target"), reference),
        "reference_samples_to_target": reference,
        "reference_median": median,
        "reference_runs": len(reference),
        "time_at_reference_median_s": median * per_sample if median is not None and per_sample else None,
        "measured": entry.get("measured"),
    }


def build_reference(records: Iterable[Mapping[str, Any]], measured: str) -> list[dict[str, Any]]:
    """Reference entries from stored runs over seeds and thread counts, one per recipe (training and
    inference are separate recipes): samples to target (training) and every speed-free metric's spread."""
    from .metrics import REGISTRY

    accuracy = REGISTRY["accuracy"]
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for record in records:
        if record.get("phase") in ("training", "inference"):
            groups.setdefault((recipe_key(RunIdentity.of_record(record)), record["phase"]), []).append(record)
    entries = []
    for (key, _), members in groups.items():
        members.sort(key=lambda r: (r.get("seed"), r.get("intra_op_threads")))
        training = members[0].get("phase") == "training"
        entry = {"workload": members[0].get("family"), "scale": members[0].get("scale"),
                 "task": members[0].get("phase"), "recipe": key}
        if training:
            entry["samples_to_target"] = [r.get("samples_to_target") for r in members]
        entry["spread"] = measured_spread(members)
        entry["runs"] = [{"seed": r.get("seed"), "intra_op_threads": r.get("intra_op_threads"),
                          **({"samples_to_target": r.get("samples_to_target")} if training
                             else {"accuracy": accuracy.value(r)})} for r in members]
        entry["measured"] = measured
        entries.append(entry)
    return entries


def main(argv: list[str] | None = None) -> int:
    """``snnbench-reference RUN [RUN ...] -o FILE --measured TEXT``: write (or update) a workload
    folder's reference_convergence.json from stored runs (benchmark JSON or results files)."""
    import argparse

    from .report.load import ReportInputError, load_run

    parser = argparse.ArgumentParser(prog="snnbench-reference", description=main.__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="benchmark JSON files or results files (.jsonl)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the reference_convergence.json to write")
    parser.add_argument("--measured", required=True, help="where and how the runs were measured (kept in the file)")
    parser.add_argument("--workload", default="", metavar="PREFIX",
                        help="only the workloads whose name starts with PREFIX (e.g. speech, image-stdp): each "
                             "workload's folder keeps its own file")
    args = parser.parse_args(argv)
    records = []
    try:
        for path in args.runs:
            records.extend(load_run(path).records.values())
    except ReportInputError as error:
        parser.error(str(error))
    records = [record for record in records if str(record.get("family", "")).startswith(args.workload)]
    entries = build_reference(records, args.measured)
    written = {(e["recipe"], e["task"]) for e in entries}
    kept = [ref for ref in load_references(args.output) if (ref.get("recipe"), ref.get("task", "training")) not in written]
    args.output.write_text(json.dumps({"format": FORMAT, "references": kept + entries}, indent=1) + "\n")
    for entry in entries:
        shown = (f"samples to target {entry['samples_to_target']}" if "samples_to_target" in entry else
                 f"accuracy {entry['spread'].get('accuracy', {})}")
        print(f"{entry['workload']} {entry['task']} ({entry['scale']}, recipe {entry['recipe']}): {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
