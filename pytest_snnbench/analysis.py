"""End-of-session analyses over all records: the metric gate, repeatability, scaling, frameworks."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from .identity import RunIdentity
from .gate import DEFAULT_BOUNDS_TEXT, METRICS, compare, identity_differences, movement_table, other_machine
from .repeatability import first_difference, mlperf_time_to_target, spread
from .text_table import aligned


def stored_records(config: pytest.Config, baseline: Path | None = None) -> dict[str, dict[str, Any]]:
    """The records of the run to compare with, by test name: ``--snnbench-baseline`` (a results file,
    its latest session, or a benchmark JSON), else the run that --benchmark-compare loaded.

    pytest-benchmark hands each loaded run to the pytest_benchmark_compare_machine_info hook
    (plugin.py keeps them), so this reads exactly what --benchmark-compare and --benchmark-storage chose.
    """
    from .plugin import compared_runs

    if baseline is not None:
        from .report.load import load_run

        return load_run(baseline).records

    records: dict[str, dict[str, Any]] = {}
    for run in compared_runs(config):
        for bench in run.get("benchmarks", []):
            if str(bench.get("extra_info", {}).get("schema", "")).startswith("snnbench-record/"):
                records[bench["name"]] = bench["extra_info"]
    return records


def _gate(state, config: pytest.Config) -> bool:
    bounds = state.options.compare_fail
    if not bounds:
        return True
    lines = state.extra_summary
    lines.append("")
    against = (f"the baseline {state.options.baseline}" if state.options.baseline
               else "the run --benchmark-compare loaded")
    shown = (f"default: {DEFAULT_BOUNDS_TEXT}; --snnbench-compare-fail sets others" if state.options.default_gate
             else ", ".join(map(str, bounds)))
    lines.append(f"metric gate ({shown}) against {against}:")
    from .report.load import ReportInputError

    try:
        stored = stored_records(config, state.options.baseline)
    except ReportInputError as error:
        lines.append(f"  FAILED: the baseline cannot be read: {error}")
        state.analysis["gate"] = {"bounds": [str(b) for b in bounds], "compared": 0, "error": str(error)}
        return False
    if not stored:
        lines.append("  the stored run has no SNNBench records: nothing to compare")
        state.analysis["gate"] = {"bounds": [str(b) for b in bounds], "compared": 0, "regressions": []}
        return True
    differing = identity_differences(state.records, stored)
    refused = {} if state.options.compare_any_identity else differing
    if differing:
        lines.append("  refused, the run identities differ (add --snnbench-compare-any-identity to compare anyway):"
                     if refused else "  warning: compared although the run identities differ:")
        for test, fields in differing.items():
            lines.append(f"    {test}: {'; '.join(fields[:6])}{' ...' if len(fields) > 6 else ''}")
    comparable = {test: record for test, record in state.records.items() if test not in refused}
    from .plugin import compared_runs, this_machine

    here = this_machine(config)
    elsewhere = None if state.options.baseline else next(
        (why for why in (other_machine(run.get("machine_info"), here) for run in compared_runs(config)) if why), None)
    movements = compare(comparable, stored, bounds, other_machine=elsewhere)
    skipped = [m for m in movements if m.skipped]
    if skipped:
        lines.append(f"  {len(skipped)} comparison(s) skipped, not judged: "
                     + "; ".join(sorted({m.note.removeprefix('skipped: ') for m in skipped if m.note})))
    if movements:
        lines.extend(f"  {line}" for line in movement_table(movements))
    elif set(comparable) & set(stored):
        lines.append("  no bounded metric was measured in either run (e.g. energy on machines without counters)")
    elif not refused:
        lines.append("  no test of this session is in the stored run")
    nothing_gated = bool(refused) and not set(comparable) & set(stored)
    if nothing_gated:
        lines.append("  FAILED: every test in both runs was refused, so nothing was gated")
    regressed = [m for m in movements if m.regressed]
    state.analysis["gate"] = {
        "bounds": [str(b) for b in bounds], "compared": len(movements), "identity_differences": differing,
        "refused": sorted(refused), "default_bounds": state.options.default_gate,
        "skipped": [{"test": m.test, "metric": m.bound.metric, "why": m.note} for m in skipped],
        "regressions": [{"test": m.test, "metric": m.bound.metric, "stored": m.before, "now": m.now,
                         "bound": str(m.bound)} for m in regressed],
    }
    if regressed:
        lines.append(f"  FAILED: {len(regressed)} metric(s) moved beyond their bound")
    return not regressed and not nothing_gated


def _repeatability(state) -> bool:
    groups: dict[tuple, list[tuple[Any, dict[str, Any]]]] = defaultdict(list)
    for test, variant, record in state.runs:
        groups[(test, variant.device, variant.intra_op, variant.inter_op)].append((variant, record))
    ok = True
    results = []
    for (test, device, intra, inter), runs in groups.items():
        by_seed: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for variant, record in runs:
            by_seed[variant.seed].append(record)
        where = f"{test} ({device}, intra {intra or 'default'}, inter {inter or 'default'})"
        for seed, records in by_seed.items():
            if len(records) < 2:
                continue
            if records[0]["phase"] == "training":
                differences = [first_difference(records[0]["curve"], r["curve"]) for r in records[1:]]
            else:
                differences = [None if r["accuracy"] == records[0]["accuracy"]
                               else f"accuracy {records[0]['accuracy']} vs {r['accuracy']}" for r in records[1:]]
            first = next((d for d in differences if d), None)
            results.append({"test": test, "seed": seed, "runs": len(records), "identical": first is None,
                            "first_difference": first})
            verdict = f"identical in all {len(records)} runs" if first is None else f"DIFFER: {first}"
            state.extra_summary.append(f"repeatability, {where}, seed {seed}: {verdict}")
            ok &= first is None
        if len(by_seed) > 1:
            last = [records[-1] for records in by_seed.values()]
            times = [r.get("time_to_target_s") for r in last]
            accuracy = spread([r.get("final_accuracy") for r in last])
            aggregate = mlperf_time_to_target(times)
            samples = spread([r.get("samples_to_target") for r in last])
            per_sample = spread([r.get("seconds_per_sample") for r in last])
            results.append({"test": test, "seeds": sorted(by_seed), "time_to_target_s": spread(times),
                            "final_accuracy": accuracy, "mlperf_time_to_target_s": aggregate,
                            "samples_to_target": samples, "seconds_per_sample": per_sample})
            if last[0]["phase"] == "training":
                # Time to target = samples to target (recipe, seed, rounding) x seconds per sample (machine).
                state.extra_summary.append(
                    f"across seeds {sorted(by_seed)}, {where}: time to target "
                    f"{_range(spread(times), '{:.1f} s')}, MLPerf aggregate "
                    f"{'not reached' if aggregate is None else f'{aggregate:.1f} s'}; = samples to target "
                    f"{_range(samples, '{:,.0f}')} x seconds per sample {_range(per_sample, '{:.3g}')}; "
                    f"final accuracy {_range(accuracy, '{:.2%}')}")
            else:
                state.extra_summary.append(f"across seeds {sorted(by_seed)}, {where}: accuracy "
                                           f"{_range(accuracy, '{:.2%}')}")
    if results:
        state.analysis["repeatability"] = results
    return ok


def _range(stats: dict[str, Any], pattern: str) -> str:
    if not stats["n"]:
        return "none measured"
    missing = f", {stats['missing']} missed" if stats["missing"] else ""
    return (f"median {pattern.format(stats['median'])}, {pattern.format(stats['min'])} to "
            f"{pattern.format(stats['max'])} (mean {pattern.format(stats['mean'])}, sd "
            f"{pattern.format(stats['stdev'])}{missing})")


def _scaling(state, config: pytest.Config) -> None:
    """Data-parallel records against the same tests of the stored single-process run (what
    --benchmark-compare or --snnbench-baseline loaded): speedup and scaling efficiency (speedup
    divided by the ranks) of time to target and of throughput, added to each record's
    ``distributed`` and to the summary."""
    spread_out = {test: record for test, record in state.records.items()
                  if isinstance(record.get("distributed"), dict) and record["distributed"].get("ranks_used", 1) > 1}
    if not spread_out or not (state.options.baseline or config.getoption("benchmark_compare", None)):
        return
    from .report.load import ReportInputError

    try:
        stored = stored_records(config, state.options.baseline)
    except ReportInputError:
        return  # the gate reports it
    results = []
    for test, record in spread_out.items():
        single = stored.get(test)
        if single is None or single.get("world_size", 1) != 1:
            continue
        ranks = record["distributed"]["ranks_used"]
        # Like for like but for the ranks: same identity apart from the world, its batch rule and the code.
        differences = RunIdentity.of_record(single).differences(RunIdentity.of_record(record),
                                                                ignore=("code", "world_size", "batch_rule"))
        if differences:
            state.extra_summary.append(f"scaling on {ranks} ranks, {test}: not compared, the stored single-process "
                                       f"run differs in {'; '.join(differences[:4])}")
            continue
        scaling: dict[str, Any] = {"ranks": ranks, "against": "the stored single-process run"}
        compared = ("time_to_target", "throughput")
        if record["distributed"].get("batch_rule") == "scale":
            # A global batch of ranks x the paper's is another optimisation: only throughput compares.
            compared = ("throughput",)
            scaling["time_to_target"] = "not compared: --snnbench-global-batch=scale trains another recipe"
        for name in compared:
            one, many = METRICS[name].value(single), METRICS[name].value(record)
            if one and many:
                speedup = one / many if METRICS[name].better == "lower" else many / one
                scaling[name] = {"single_process": one, "now": many, "speedup": speedup,
                                 "efficiency": speedup / ranks}
        record["distributed"]["scaling"] = scaling  # the same dict as in the benchmark JSON's extra_info
        results.append({"test": test, **scaling})
        parts = [f"{name.replace('_', ' ')} x{value['speedup']:.2f} (efficiency {value['efficiency']:.0%})"
                 for name, value in scaling.items() if isinstance(value, dict)]
        state.extra_summary.append(f"scaling on {ranks} ranks, {test}: {', '.join(parts) or 'nothing to compare'}")
    if results:
        state.analysis["scaling"] = results


FRAMEWORK_METRICS = ("time_to_target", "throughput", "peak_memory")


def _frameworks(state) -> None:
    """Frameworks side by side (--snnbench-framework=a,b): for each workload and phase, every
    framework's time to target, throughput and peak memory as a ratio to the paper's framework's,
    measured in this session (ratios > 1: more time or memory, or more samples per second)."""
    groups: dict[tuple, dict[str, tuple[str, dict[str, Any]]]] = defaultdict(dict)
    for test, record in state.records.items():
        if record.get("framework"):
            key = (record.get("workload"), record.get("seed"), record.get("intra_op_threads"), record.get("device"))
            groups[key][record["framework"]] = (test, record)
    results = []
    for (workload, seed, threads, device), by_framework in sorted(groups.items(), key=lambda item: str(item[0])):
        paper = next((record for _, record in by_framework.values() if record.get("framework_is_paper")), None)
        if len(by_framework) < 2 or paper is None:
            continue
        rows = [("framework", "equal", "accuracy", *(f"{name.replace('_', ' ')} (x paper)" for name in FRAMEWORK_METRICS))]
        for name, (test, record) in sorted(by_framework.items(), key=lambda item: not item[1][1].get("framework_is_paper")):
            ratios = {}
            for metric_name in FRAMEWORK_METRICS:
                theirs, reference = METRICS[metric_name].value(record), METRICS[metric_name].value(paper)
                ratios[metric_name] = theirs / reference if theirs is not None and reference else None
            accuracy = METRICS["accuracy"].value(record)
            rows.append((name, "yes" if record.get("framework_equal") else "NOT EQUAL",
                         "-" if accuracy is None else f"{accuracy:.2%}",
                         *("-" if ratios[m] is None else f"{ratios[m]:.2f}" for m in FRAMEWORK_METRICS)))
            results.append({"workload": workload, "framework": name, "test": test, "ratios": ratios,
                            "equal": bool(record.get("framework_equal"))})
        state.extra_summary.append("")
        state.extra_summary.append(f"frameworks, {workload} (seed {seed}, {threads} threads, {device}), as ratios to "
                                   f"{paper['framework']} measured in this session:")
        state.extra_summary.extend("  " + line for line in aligned(rows))
    if results:
        state.analysis["frameworks"] = results


def analyse(state, config: pytest.Config) -> bool:
    """Run the analyses; False if the gate found a regression or repeated curves differ."""
    _scaling(state, config)
    _frameworks(state)
    repeat_ok = _repeatability(state)
    gate_ok = _gate(state, config)
    return repeat_ok and gate_ok
