"""Reference convergence: a stored distribution of samples to target, against which a run is judged.

Time to target is samples to target (the recipe, the seed, float rounding) times seconds per sample
(the machine). Like MLPerf Training's reference convergence points, each workload may keep, beside
its module, ``reference_convergence.json``: for each recipe (its configuration and data, never the
machine, the seed or the thread count) the samples to target of five or more seeded runs. A run's
samples to target is then ``inside`` that distribution (between its fastest and its slowest run),
``faster`` than it allows (a changed recipe, or an optimisation that is not the same computation),
or ``slower``; and two machines are compared at the reference median: ``time_at_reference_median_s``
= the median samples to target times this run's seconds per sample, free of the luck of one curve.

The file (written by ``snnbench-reference``, which reads stored runs)::

    {"format": "snnbench-reference/1", "references": [
        {"workload": "image-backprop", "scale": "smoke", "recipe": "<hash>",
         "samples_to_target": [4096, 6144, ...],  # null: that run missed its target
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

FORMAT = "snnbench-reference/1"
FILE_NAME = "reference_convergence.json"
# What may differ between the runs of one reference distribution: the machine never enters an identity,
# and seeds, thread counts and the device are what the distribution is taken over (rounding).
NOT_RECIPE = ("code", "seed", "intra_op_threads", "inter_op_threads", "device", "packages", "python")


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
    return list(data.get("references", [])) if data.get("format") == FORMAT else []


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
    key = recipe_key(RunIdentity.of_record(record))
    entry = next((ref for ref in load_references(reference_file(workload)) if ref.get("recipe") == key), None)
    if entry is None:
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
    """Reference entries from training records (stored runs over seeds and thread counts), one per recipe."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        if record.get("phase") == "training":
            groups.setdefault(recipe_key(RunIdentity.of_record(record)), []).append(record)
    entries = []
    for key, members in groups.items():
        members.sort(key=lambda r: (r.get("seed"), r.get("intra_op_threads")))
        entries.append({"workload": members[0].get("family"), "scale": members[0].get("scale"), "recipe": key,
                        "samples_to_target": [r.get("samples_to_target") for r in members],
                        "runs": [{"seed": r.get("seed"), "intra_op_threads": r.get("intra_op_threads"),
                                  "samples_to_target": r.get("samples_to_target")} for r in members],
                        "measured": measured})
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
    args = parser.parse_args(argv)
    records = []
    try:
        for path in args.runs:
            records.extend(load_run(path).records.values())
    except ReportInputError as error:
        parser.error(str(error))
    entries = build_reference(records, args.measured)
    kept = [ref for ref in load_references(args.output) if ref.get("recipe") not in {e["recipe"] for e in entries}]
    args.output.write_text(json.dumps({"format": FORMAT, "references": kept + entries}, indent=1) + "\n")
    for entry in entries:
        print(f"{entry['workload']} ({entry['scale']}, recipe {entry['recipe']}): samples to target "
              f"{entry['samples_to_target']}")
    return 0
