"""``snnbench-ab BASE_REF [HEAD_REF] [options] -- PYTEST_ARGS``: two commits' times, on one runner.

Times are comparable only on one machine, in one job: a baseline recorded on another runner, or on
the same runner an hour earlier, differs by more than most regressions. So both refs run here, in
alternating order (A B B A A B ...: a drift of the machine's speed falls on both sides alike), after
one untimed warm-up run each (caches, compiled kernels, trained models for inference). Each time
metric of each test (pytest_snnbench.metrics, kind ``time``) is decided by pytest_snnbench.ab.stats.

Exit status: 1 when a time metric regressed significantly, 2 when the comparison could not be made
(a ref that does not exist, a run that failed on both sides), else 0. The benchmark JSON of every
run, and ``ab.json`` with the table, are kept in ``--out``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from ..metrics import REGISTRY
from ..text_table import aligned
from .stats import INTERVAL, Decision, decide
from .trees import ABSetupError, Side, prepare, repository_root

# From docs/benchmarks.md ("The A/B gate, measured"), a 2-core VM whose runs vary by 10-12 % (CV),
# each run's inference the best of 4 passes: a 20 % slowdown was flagged in 15 of 20 trials at 4
# rounds (4 against 4 runs cannot give p below 0.014, so two slow runs hide it) and in 10 of 10 at 8;
# the same code twice in 0 of 20 at 4 rounds and 1 of 10 at 8. On a noisier runner use more (--rounds).
DEFAULT_ROUNDS = 8
DEFAULT_MIN_EFFECT = 0.10
DEFAULT_ALPHA = 0.05
DEFAULT_PASSES = 4  # timed inference passes per run, the fastest kept (--snnbench-inference-passes)
PASSES_OPTION = "--snnbench-inference-passes"
SLOWDOWN_VARIABLE = "SNNBENCH_TEST_SLOWDOWN"  # test-only: pytest_snnbench.slowdown


def parse_arguments(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    argv = list(argv)
    pytest_args: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, pytest_args = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(prog="snnbench-ab", description=(__doc__ or "").splitlines()[0],
                                     epilog="Example: snnbench-ab origin/main HEAD -- -m \"image and backprop\" "
                                            "--snnbench-scale=smoke")
    parser.add_argument("base", metavar="BASE_REF", help="the commit to compare with (A)")
    parser.add_argument("head", metavar="HEAD_REF", nargs="?", default="HEAD", help="the commit to judge (B; default HEAD)")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS,
                        help=f"timed runs of each side (default {DEFAULT_ROUNDS})")
    parser.add_argument("--passes", type=int, default=DEFAULT_PASSES,
                        help=f"timed inference passes in each run, the fastest counted (default {DEFAULT_PASSES}; "
                             f"adds {PASSES_OPTION}=N unless PYTEST_ARGS has it)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs of each side first (default 1)")
    parser.add_argument("--min-effect", type=float, default=DEFAULT_MIN_EFFECT,
                        help=f"smallest change that counts, as a fraction (default {DEFAULT_MIN_EFFECT:g}: 10 %%)")
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA,
                        help=f"level of the one-sided Mann-Whitney U test (default {DEFAULT_ALPHA:g})")
    parser.add_argument("--out", type=Path, default=Path("snnbench-ab"), help="where the runs' JSON and ab.json go")
    parser.add_argument("--work", type=Path, default=None,
                        help="where worktrees, installs and environments are kept (default .snnbench-ab in the repository)")
    parser.add_argument("--head-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for HEAD's runs only (e.g. the test-only "
                             f"{SLOWDOWN_VARIABLE}=0.2 that measures the gate)")
    args = parser.parse_args(argv)
    if args.rounds < 2:
        parser.error("--rounds must be at least 2: one run per side says nothing about noise")
    if args.passes < 1:
        parser.error("--passes must be at least 1")
    if not 0 < args.alpha < 1 or args.min_effect < 0:
        parser.error("--alpha must lie between 0 and 1 and --min-effect must not be negative")
    for item in args.head_env:
        if "=" not in item:
            parser.error(f"--head-env {item!r}: give NAME=VALUE")
    if any(arg.startswith("--benchmark-json") for arg in pytest_args):
        parser.error("leave --benchmark-json out of PYTEST_ARGS: snnbench-ab writes one per run into --out")
    return args, pytest_args


def with_passes(sides: dict[str, Side], pytest_args: Sequence[str], passes: int) -> tuple[list[str], str]:
    """PYTEST_ARGS with ``--snnbench-inference-passes`` added when both refs know it and the user did
    not give it (both sides are always timed alike); and a line that says what was done."""
    pytest_args = list(pytest_args)
    if any(arg.startswith(PASSES_OPTION) for arg in pytest_args):
        return pytest_args, "inference passes as given in PYTEST_ARGS"
    lacking = [side.ref for side in sides.values()
               if PASSES_OPTION not in _read(side.tree / "pytest_snnbench" / "options.py")]
    if lacking:
        return pytest_args, (f"one inference pass per run: {', '.join(lacking)} has no {PASSES_OPTION} "
                             "(an older commit), and both sides must be timed alike")
    return [*pytest_args, f"{PASSES_OPTION}={passes}"], f"inference time: the fastest of {passes} passes per run"


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def order(rounds: int) -> list[str]:
    """A B B A A B ...: alternating pairs, so that a linear drift favours neither side."""
    sides = []
    for index in range(rounds):
        sides.extend(("base", "head") if index % 2 == 0 else ("head", "base"))
    return sides


def run_once(side: Side, pytest_args: Sequence[str], output: Path, extra_env: dict[str, str]) -> int:
    env = {**os.environ, **extra_env}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(side.code), env.get("PYTHONPATH")]))
    command = [str(side.python), "-m", "pytest", "--snnbench", "-p", "no:cacheprovider", "-q",
               f"--benchmark-json={output}", *pytest_args]
    log = output.with_suffix(".log")
    with log.open("w") as stream:
        return subprocess.run(command, cwd=side.tree, env=env, stdout=stream, stderr=subprocess.STDOUT).returncode


def time_values(path: Path) -> dict[tuple[str, str], float]:
    """(test, metric) -> value of every time metric in one run's benchmark JSON."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    values = {}
    for bench in data.get("benchmarks", []):
        record = bench.get("extra_info", {})
        for metric in REGISTRY.of_kind("time"):
            value = metric.value(record)
            if value is not None:
                values[(bench["name"], metric.name)] = value
    return values


def table(decisions: dict[tuple[str, str], Decision]) -> list[str]:
    rows = [("test", "metric", "A median", "B median", "B/A", f"{INTERVAL:.0%} interval", "p (B worse)",
             "CV A", "CV B", "verdict")]
    for (test, metric), d in sorted(decisions.items()):
        unit = REGISTRY[metric]
        rows.append((test, metric, unit.format(d.base_median), unit.format(d.head_median), f"{d.ratio:.3f}",
                     f"{d.interval[0]:.3f}-{d.interval[1]:.3f}", f"{d.p_worse:.3g}",
                     "-" if d.cv_base is None else f"{d.cv_base:.1%}", "-" if d.cv_head is None else f"{d.cv_head:.1%}",
                     d.verdict.upper() if d.regressed else d.verdict))
    return aligned(rows)


Samples = dict[str, dict[tuple[str, str], list[float]]]  # side -> (test, metric) -> one value per round


def run_rounds(sides: dict[str, Side], envs: dict[str, dict[str, str]], pytest_args: Sequence[str], rounds: int,
               out: Path, prefix: str = "", say: bool = True) -> tuple[Samples, dict[str, int]]:
    """The alternating rounds: each run's JSON in ``out``, every time metric's values per side, and
    how many runs of each side exited non-zero."""
    samples: Samples = {"base": {}, "head": {}}
    failed = {"base": 0, "head": 0}
    for index, name in enumerate(order(rounds)):
        path = out / f"{prefix}round-{index // 2:02d}-{name}.json"
        status = run_once(sides[name], pytest_args, path, envs[name])
        failed[name] += status != 0
        for key, value in time_values(path).items():
            samples[name].setdefault(key, []).append(value)
        if say:
            print(f"snnbench-ab: round {index // 2 + 1}/{rounds} {name} ({sides[name].commit[:10]}) "
                  f"exit {status}", flush=True)
    return samples, failed


def decide_all(base: dict[tuple[str, str], list[float]], head: dict[tuple[str, str], list[float]],
               min_effect: float, alpha: float) -> dict[tuple[str, str], Decision]:
    """The decision on every (test, time metric) with two or more values on each side."""
    return {key: decide(base[key], head[key], REGISTRY[key[1]].better == "higher", min_effect, alpha)
            for key in sorted(set(base) & set(head)) if len(base[key]) >= 2 and len(head[key]) >= 2}


def compare(sides: dict[str, Side], pytest_args: Sequence[str], args: argparse.Namespace,
            head_env: dict[str, str]) -> dict[str, Any]:
    """Warm-up, then the alternating rounds; the decisions and everything needed to redo them."""
    args.out.mkdir(parents=True, exist_ok=True)
    envs = {"base": {}, "head": head_env}
    for name in ("base", "head"):
        for index in range(args.warmup):
            run_once(sides[name], pytest_args, args.out / f"warmup-{name}-{index}.json", envs[name])
    started = time.perf_counter()
    samples, failed = run_rounds(sides, envs, pytest_args, args.rounds, args.out)
    return {"decisions": decide_all(samples["base"], samples["head"], args.min_effect, args.alpha),
            "samples": samples, "failed_runs": failed, "seconds": time.perf_counter() - started}


def main(argv: Sequence[str] | None = None) -> int:
    args, pytest_args = parse_arguments(sys.argv[1:] if argv is None else argv)
    head_env = dict(item.split("=", 1) for item in args.head_env)
    try:
        repo = repository_root(Path.cwd())
        work = (args.work or repo / ".snnbench-ab").resolve()
        sides = {"base": prepare(repo, work, args.base), "head": prepare(repo, work, args.head)}
    except ABSetupError as error:
        print(f"snnbench-ab: {error}", file=sys.stderr)
        return 2
    args.out = args.out.resolve()
    pytest_args, passes_note = with_passes(sides, pytest_args, args.passes)
    print(f"snnbench-ab: A = {args.base} ({sides['base'].commit[:10]}), B = {args.head} "
          f"({sides['head'].commit[:10]}), {args.rounds} rounds each after {args.warmup} warm-up; "
          f"pytest --snnbench {' '.join(pytest_args)}\nsnnbench-ab: {passes_note}", flush=True)
    result = compare(sides, pytest_args, args, head_env)
    decisions: dict[tuple[str, str], Decision] = result["decisions"]
    lines = table(decisions) if decisions else ["no time metric was measured on both sides"]
    rule = (f"regression: B worse than A by more than {args.min_effect:.0%} (ratio of medians) and one-sided "
            f"Mann-Whitney U p < {args.alpha:g}; {args.rounds} rounds per side, alternating, on this machine")
    print("\n".join(["", *lines, "", rule]))
    regressions = [key for key, d in decisions.items() if d.regressed]
    summary = {
        "format": "snnbench-ab/1", "base": {"ref": args.base, "commit": sides["base"].commit},
        "head": {"ref": args.head, "commit": sides["head"].commit, "env": head_env},
        "pytest_args": list(pytest_args), "rounds": args.rounds, "warmup": args.warmup, "passes": passes_note,
        "min_effect": args.min_effect, "alpha": args.alpha, "seconds": result["seconds"],
        "failed_runs": result["failed_runs"],
        "decisions": [{"test": test, "metric": metric, **{k: v for k, v in vars(d).items()},
                       "base": result["samples"]["base"][(test, metric)],
                       "head": result["samples"]["head"][(test, metric)]} for (test, metric), d in decisions.items()],
        "regressions": [f"{test} {metric}" for test, metric in regressions],
    }
    (args.out / "ab.json").write_text(json.dumps(summary, indent=1) + "\n")
    (args.out / "ab.txt").write_text("\n".join([*lines, "", rule]) + "\n")
    if not decisions:
        print(f"snnbench-ab: nothing to compare; the runs' logs are in {args.out}", file=sys.stderr)
        return 2
    if regressions:
        print(f"snnbench-ab: REGRESSION in {len(regressions)} time metric(s): "
              + ", ".join(f"{t} {m}" for t, m in regressions))
        return 1
    print(f"snnbench-ab: no significant regression ({len(decisions)} time metric(s) compared)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
