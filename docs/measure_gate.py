"""Measure the A/B gate (snnbench-ab) itself: how often it flags a known slowdown, how often the same code.

Runs TRIALS trials on this machine, of this checkout's commit (HEAD, installed on its own in OUT). Each trial is what ``snnbench-ab`` does with
``--rounds ROUNDS --warmup 0 --passes PASSES``: ROUNDS runs of the plain code (A) and ROUNDS runs
with the test-only step slowdown ``SNNBENCH_TEST_SLOWDOWN=FRACTION`` (B), alternating A B B A ...,
one pytest process per run, each decided by ``pytest_snnbench.ab.stats.decide`` with the tool's minimum effect and level.

- Detection: trial t's A runs against its B runs (a real slowdown of FRACTION).
- False alarm, interleaved (what snnbench-ab meets: the sides alternate): within each trial and
  side, the odd rounds against the even rounds and the reverse, ROUNDS / 2 runs a side;
  4 x TRIALS comparisons.
- False alarm, not interleaved (the same code twice, minutes apart): trial 2k's A runs against trial
  2k+1's A runs, and likewise for the B runs; TRIALS comparisons, none sharing a run. A drift of the
  machine between minutes counts against the gate here.

One untimed warm-up run first (it trains and caches the inference model). Nothing else may run on the
machine meanwhile. Usage (from the repository, with the data)::

    SNNBENCH_DATA=../shared/data .venv/bin/python docs/measure_gate.py --out /tmp/gate \\
        -- workloads/image_backprop/test_image_backprop.py -k inference --snnbench-scale=smoke
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_snnbench.ab.cli import (DEFAULT_ALPHA, DEFAULT_MIN_EFFECT, DEFAULT_PASSES, SLOWDOWN_VARIABLE,  # noqa: E402
                                    Samples, decide_all, run_once, run_rounds, with_passes)
from pytest_snnbench.ab.stats import coefficient_of_variation  # noqa: E402
from pytest_snnbench.ab.trees import Side, install_code  # noqa: E402


def main() -> int:
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--fraction", type=float, default=0.2)
    parser.add_argument("--passes", type=int, default=DEFAULT_PASSES, help="timed inference passes per run, as snnbench-ab")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv[:cut])
    pytest_args = argv[cut + 1:]
    repo = Path(__file__).resolve().parents[1]
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    args.out.mkdir(parents=True, exist_ok=True)
    # The commit installed on its own, as snnbench-ab installs each ref: the checkout may change meanwhile.
    tree = args.out / "tree"
    if not (tree / ".git").exists():
        subprocess.run(["git", "-C", str(repo), "worktree", "add", "--force", "--detach", str(tree), commit], check=True)
    python = Path(sys.executable)
    side = Side("HEAD", commit, tree, install_code(args.out, commit, tree, python), python)
    pytest_args, passes_note = with_passes({"base": side, "head": side}, pytest_args, args.passes)
    print(f"measure_gate: {passes_note}", flush=True)
    envs = {"base": {}, "head": {SLOWDOWN_VARIABLE: str(args.fraction)}}
    run_once(side, pytest_args, args.out / "warmup.json", {})
    samples: list[Samples] = []
    started = time.perf_counter()
    for trial in range(args.trials):
        got, failed = run_rounds({"base": side, "head": side}, envs, pytest_args, args.rounds, args.out,
                                 prefix=f"trial-{trial:02d}-", say=False)
        if any(failed.values()):
            print(f"trial {trial}: runs that exited non-zero {failed}; see the logs in {args.out}", file=sys.stderr)
        samples.append(got)
        print(f"trial {trial + 1}/{args.trials} done, {time.perf_counter() - started:.0f} s", flush=True)

    def verdicts(pairs):
        out = {}
        for a, b in pairs:
            for key, decision in decide_all(a, b, DEFAULT_MIN_EFFECT, DEFAULT_ALPHA).items():
                out.setdefault(key, []).append(decision.verdict)
        return out

    detection = verdicts([(s["base"], s["head"]) for s in samples])
    same = verdicts([(samples[t][side_], samples[t + 1][side_]) for t in range(0, args.trials - 1, 2)
                     for side_ in ("base", "head")])

    def halves(side_samples, first: int) -> dict:
        return {key: values[first::2] for key, values in side_samples.items()}

    interleaved = verdicts([(halves(s[side_], first), halves(s[side_], 1 - first)) for s in samples
                            for side_ in ("base", "head") for first in (0, 1)])
    noise = {}
    for key in detection:
        noise[key] = {name: statistics.median([coefficient_of_variation(s[name][key]) or 0 for s in samples
                                               if len(s[name].get(key, [])) >= 2]) for name in ("base", "head")}
    summary = {"trials": args.trials, "rounds": args.rounds, "passes": passes_note, "fraction": args.fraction, "min_effect": DEFAULT_MIN_EFFECT,
               "alpha": DEFAULT_ALPHA, "pytest_args": pytest_args, "commit": commit,
               "seconds": time.perf_counter() - started,
               "metrics": {f"{test} {metric}": {
                   "flagged_slowdown": detection[(test, metric)].count("regression"),
                   "slowdown_trials": len(detection[(test, metric)]),
                   "flagged_same_code": same.get((test, metric), []).count("regression"),
                   "flagged_same_code_interleaved": interleaved.get((test, metric), []).count("regression"),
                   "same_code_interleaved_trials": len(interleaved.get((test, metric), [])),
                   "same_code_trials": len(same.get((test, metric), [])),
                   "verdicts_slowdown": detection[(test, metric)], "verdicts_same_code": same.get((test, metric), []),
                   "median_cv": noise[(test, metric)]} for test, metric in detection},
               "samples": [{name: {f"{t} {m}": v for (t, m), v in s[name].items()} for name in s} for s in samples]}
    (args.out / "gate.json").write_text(json.dumps(summary, indent=1) + "\n")
    for name, row in summary["metrics"].items():
        print(f"{name}: slowdown of {args.fraction:.0%} flagged {row['flagged_slowdown']}/{row['slowdown_trials']}, "
              f"same code flagged {row['flagged_same_code']}/{row['same_code_trials']} (interleaved halves "
              f"{row['flagged_same_code_interleaved']}/{row['same_code_interleaved_trials']}), median CV "
              f"{row['median_cv']['base']:.1%} / {row['median_cv']['head']:.1%}")
    runs = args.trials * 2 * args.rounds
    print(f"{summary['seconds']:.0f} s in all, {summary['seconds'] / runs:.1f} s per run (mean over {runs})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
