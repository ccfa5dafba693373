"""``snnbench-report --paper``: the paper's claims, one row each, beside ours from stored runs.

Each claim is one small definition: where the paper makes it, its figure, and how ours is read
from the records (``Claim.read``). A row says agrees, differs (with the reason) or not measured
(with the run that would measure it). Accuracy claims agree within ``ACCURACY_TOLERANCE`` of the
paper's figure; ratios within a factor ``RATIO_TOLERANCE``; the thresholds of the stability claim
are the paper's own. The paper's figures are the text's (SNNBench, BenchCouncil Transactions 2023,
sections 4.2 to 4.4); Table 5's cells did not survive in the text we have, so its rows use the
figures the text repeats.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .load import Run

ACCURACY_TOLERANCE = 0.02  # 2 points: the test split's 95 % interval is about +-0.3 points on MNIST, +-4 on the speech subset
SPEED_UP = 1.2  # more threads' gain counts as a speed-up above this (Fig. 5 and 6)
RATIO_TOLERANCE = 2.0  # a speed ratio agrees within a factor of 2 (another machine, another framework version)
AGREES, DIFFERS, NOT_MEASURED = "agrees", "differs", "not measured"
# SNNBench's STDP script (its eth_mnist.py, update_interval=250) reports the accuracy of the last 250
# training samples, labelled by the assignments of the 250 before: the points of the paper's curves
PAPER_STDP_CHECK_SAMPLES = 250
SPEECH_COMMANDS_TRAINING_CLIPS = 84_843  # v0.02's training list: one epoch of the paper's speech workloads

Records = Sequence[dict[str, Any]]
MACHINE = "_machine"  # added to each record from its run's machine_info: the CPU and the host
RUN = "_run"  # added to each record: the label of the run (file) it came from


@dataclass(frozen=True)
class Finding:
    ours: str | None  # our figure, formatted; None: not measured
    verdict: str
    why: str  # how ours was measured, and why it differs or what would measure it


@dataclass(frozen=True)
class Claim:
    where: str  # "Fig. 3", "Section 4.3", ...
    statement: str
    paper: str  # the paper's figure, as text
    read: Callable[[Records], Finding]
    ours_only: bool = False  # a row beyond the paper (marked as ours)


# -- reading records -----------------------------------------------------------------------
def _is_paper_framework(record: dict[str, Any]) -> bool:
    """Run with the paper's framework's own code: not compiled, and not an engine of ours in its place
    (a workload with a framework axis records ``engine`` only where one replaced the framework's)."""
    replaced = record.get("framework") is not None and record.get("engine") is not None
    return record.get("framework_is_paper") is not False and not record.get("compiled") and not replaced


def candidates(records: Records, family: str, phase: str, *, convergence: bool | None = None,
               engine: str | None = None) -> list[dict[str, Any]]:
    """Every record of ``family`` and ``phase`` run with the paper's framework, in the order given;
    ``convergence``: only convergence runs (True) or only time-to-target runs (False)."""
    found = []
    for record in records:
        if record.get("family") != family or record.get("phase") != phase or not _is_paper_framework(record):
            continue
        if engine is not None and record.get("engine") != engine:
            continue
        is_convergence = bool((record.get("convergence") or {}).get("available"))
        if convergence is not None and is_convergence != convergence:
            continue
        found.append(record)
    return found


def pick(records: Records, family: str, phase: str, *, convergence: bool | None = None,
         engine: str | None = None) -> dict[str, Any] | None:
    """The last of ``candidates`` (a later run given overrides an earlier)."""
    found = candidates(records, family, phase, convergence=convergence, engine=engine)
    return found[-1] if found else None


def same_runner(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two records whose times compare: one machine, one device, the same intra-op threads."""
    return all(a.get(key) == b.get(key) for key in (MACHINE, "device", "intra_op_threads"))


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f} %"


def _missing(run: str) -> Finding:
    return Finding(None, NOT_MEASURED, f"no such record in the runs given; measured by {run}")


def _accuracy_verdict(ours: float, paper: float) -> str:
    return AGREES if abs(ours - paper) <= ACCURACY_TOLERANCE else DIFFERS


# -- the claims ------------------------------------------------------------------------------
def converged_test_accuracy(family: str, paper: float, why_differs: str = "") -> Callable[[Records], Finding]:
    """Test accuracy of the converged model: from a convergence run (its model after the budget)
    if there is one, else from a time-to-target run's model (stopped at the target)."""
    def read(records: Records) -> Finding:
        record = pick(records, family, "training", convergence=True)
        how = "test accuracy after the whole budget (convergence run)"
        if record is None:
            record = pick(records, family, "training")
            how = "test accuracy of a time-to-target run, stopped at its target (a convergence run measures the plateau)"
        if record is None or record.get("test_accuracy") is None:
            return _missing(f"`-m \"training\" -k {family}` with --snnbench-budget=epochs:10")
        ours = float(record["test_accuracy"])
        verdict = _accuracy_verdict(ours, paper)
        return Finding(percent(ours), verdict, how + (f"; {why_differs}" if verdict == DIFFERS and why_differs else ""))
    return read


def sampling_noise(accuracy: float, samples: int) -> float:
    """The standard deviation a check of ``samples`` draws would show with nothing changing but the
    draw (binomial): the floor under any spread of checks."""
    return math.sqrt(accuracy * (1 - accuracy) / samples)


def best_validation_accuracy(family: str, paper: float) -> Callable[[Records], Finding]:
    def read(records: Records) -> Finding:
        record = pick(records, family, "training", convergence=True)
        if record is None or record.get("best_accuracy") is None:
            return _missing(f"a convergence run of {family} (--snnbench-budget=epochs:10)")
        ours = float(record["best_accuracy"])
        verdict = _accuracy_verdict(ours, paper)
        why = "best validation check of the convergence run (one fixed split)"
        mean = (record.get("convergence") or {}).get("accuracy_mean_after")
        if verdict == DIFFERS and mean:
            noise = sampling_noise(float(mean), PAPER_STDP_CHECK_SAMPLES)
            why += (f"; the paper's best is the highest of its checks on {PAPER_STDP_CHECK_SAMPLES} fresh training "
                    f"samples each, whose sampling noise alone is {noise * 100:.2f} pt at our mean accuracy "
                    f"({float(mean) * 100:.2f} %): the highest of many such draws lies several of those above the mean")
        return Finding(percent(ours), verdict, why)
    return read


def epochs_to_convergence(family: str, paper: int, *, more_than: bool = False) -> Callable[[Records], Finding]:
    """Epochs to convergence: equal to ``paper``'s, or with ``more_than``, above it."""
    def read(records: Records) -> Finding:
        record = pick(records, family, "training", convergence=True)
        if record is None:
            return _missing(f"a convergence run of {family} (--snnbench-budget=epochs:10)")
        convergence = record["convergence"]
        ours = int(convergence["converged_epoch"])
        note = "; still improving at the budget's end" if convergence.get("converged_at_end") else ""
        holds = ours > paper if more_than else ours == paper
        return Finding(str(ours), AGREES if holds else DIFFERS,
                       f"pytest_snnbench.convergence's rule ({convergence.get('rule')}){note}")
    return read


def converged_within_a_paper_epoch(families: Sequence[str], paper_epoch_samples: int) -> Callable[[Records], Finding]:
    """Converged within the paper's first epoch, counted in samples: our speech subset's epochs are
    far shorter than the full archive's, so its epochs do not compare with the paper's."""
    def read(records: Records) -> Finding:
        found, holds = [], True
        for family in families:
            record = pick(records, family, "training", convergence=True)
            epoch = ((record or {}).get("convergence") or {}).get("converged_epoch")
            samples = [p["samples"] for p in (record or {}).get("curve") or [] if p.get("epoch") == epoch]
            if not samples:
                continue
            holds = holds and max(samples) <= paper_epoch_samples
            found.append(f"{family} {max(samples):,} samples (epoch {epoch}), {max(samples) / paper_epoch_samples:.2f} "
                         "of the paper's epoch")
        if not found:
            return _missing("convergence runs (--snnbench-budget=epochs:40) of " + ", ".join(families))
        return Finding(", ".join(found), AGREES if holds else DIFFERS,
                       f"samples trained to the end of the convergence epoch (our rule), against one epoch of the "
                       f"full archive's {paper_epoch_samples:,} training clips (our subset's epochs are far shorter)")
    return read


def time_to_target_every_workload(records: Records) -> Finding:
    """Table 5's time to accuracy: the last training record of each workload, with the run it came from."""
    found = []
    for r in latest_per_family(records, "training"):
        run = f" [{r[RUN]}]" if r.get(RUN) else ""
        target = percent(r.get("target_accuracy"))
        if r.get("time_to_target_s"):
            found.append(f"{r['family']} {r['time_to_target_s']:.0f} s to {target}{run}")
        else:
            found.append(f"{r['family']} missed {target}{run}")
    if not found:
        return _missing("any training run")
    return Finding(", ".join(found), AGREES, "time to the target accuracy on validation, confirmed, in each workload's "
                   "last run given (its machine and threads in the run; Table 5's cells are not in our copy of the paper)")


def stability(families: Sequence[str], above: float | None = None, below: float | None = None,
              paper_check_samples: int | None = None) -> Callable[[Records], Finding]:
    """The spread of accuracy after convergence. Our checks evaluate one fixed validation split, so
    their spread is the model's change alone; ``paper_check_samples``: the paper's checks were on
    fresh samples each, and the sampling noise that adds to their spread is stated."""
    def read(records: Records) -> Finding:
        values, notes = [], []
        for family in families:
            record = pick(records, family, "training", convergence=True)
            found = (record or {}).get("convergence") or {}
            if found.get("accuracy_std_after") is None:
                continue
            values.append((family, float(found["accuracy_std_after"])))
            if paper_check_samples and found.get("accuracy_mean_after"):
                noise = sampling_noise(float(found["accuracy_mean_after"]), paper_check_samples)
                notes.append(f"{family} {noise * 100:.2f} pt")
        if not values:
            return _missing("convergence runs (--snnbench-budget=epochs:10) of " + ", ".join(families))
        holds = all((above is None or std > above) and (below is None or std < below) for _, std in values)
        ours = ", ".join(f"{family} {std * 100:.2f} pt" for family, std in values)
        why = "standard deviation of the validation checks from the convergence epoch on (one fixed split: the model's change alone)"
        if notes:
            why += (f"; the paper's checks are accuracies on the last {paper_check_samples} training samples, "
                    "fresh ones each time (SNNBench's script), whose sampling noise alone, at our mean accuracies, "
                    "is " + ", ".join(notes))
        return Finding(ours, AGREES if holds else DIFFERS, why)
    return read


def conversion_drop(records: Records) -> Finding:
    record = pick(records, "image-conversion", "inference")
    data = (record or {}).get("data", {}).get("conversion") or {}
    dnn, snn = data.get("dnn_test_accuracy"), data.get("snn_test_accuracy")
    if dnn is None or snn is None:
        return _missing("`-m conversion`")
    drop = dnn - snn
    return Finding(f"{percent(dnn)} -> {percent(snn)} ({drop * 100:.2f} points)",
                   AGREES if abs(drop - 0.0103) <= ACCURACY_TOLERANCE / 2 else DIFFERS,
                   "the same DNN's test accuracy, then its converted SNN's at the configured time steps")


def _time_ratio(numerator: tuple[str, str], denominator: tuple[str, str], paper: float, *,
                per: str) -> Callable[[Records], Finding]:
    """The ratio of two workloads' times measured on one machine: seconds per training sample or per
    test sample, so that workloads trained on different sample counts compare."""
    def seconds(record: dict[str, Any]) -> float | None:
        if per == "training sample":
            samples, total = record.get("samples_seen"), record.get("total_seconds")
        else:
            samples, total = record.get("samples"), record.get("inference_seconds")
        return total / samples if samples and total else None

    def read(records: Records) -> Finding:
        tops = candidates(records, *numerator)
        # the paper's STDP ran BindsNET's engine: its records first, our fast engine's after
        bottoms = (candidates(records, *denominator, engine="bindsnet")[::-1]
                   + [r for r in reversed(candidates(records, *denominator)) if r.get("engine") != "bindsnet"])
        if not tops or not bottoms:
            return _missing(f"{numerator[0]} and {denominator[0]} ({numerator[1]}) in one session")
        # the latest pair measured by one runner (BindsNET's STDP first); only without one, the latest
        # of each, flagged
        top, bottom = next(((t, b) for b in bottoms for t in reversed(tops) if same_runner(t, b)),
                           (tops[-1], bottoms[0]))
        a, b = seconds(top), seconds(bottom)
        if a is None or b is None:
            return _missing(f"{numerator[0]} and {denominator[0]} with their sample counts")
        ratio = a / b
        sound = same_runner(top, bottom)
        within = 1 / RATIO_TOLERANCE <= ratio / paper <= RATIO_TOLERANCE
        engine = "".join(f"; {r['family']} engine {r['engine']}" for r in (top, bottom) if r.get("engine"))
        runs = " and ".join(dict.fromkeys(str(r.get(RUN)) for r in (top, bottom) if r.get(RUN)))
        why = (f"seconds per {per}, {numerator[0]} over {denominator[0]}" + engine +
               (f", {top.get('intra_op_threads')} intra-op threads" if sound else "") +
               (f" (run {runs})" if runs else "") +
               ("" if sound else "; NOT measured on the same machine and threads: not a sound ratio"))
        return Finding(f"{ratio:.3g}x", AGREES if within and sound else DIFFERS, why)
    return read


def thread_sweeps(records: Records, value: Callable[[dict[str, Any]], Any]) -> dict[str, dict[Any, Any]]:
    """Per family (in order of first appearance), one runner's ``value`` of each training record by
    intra-op thread count: the latest machine and device that ran the family (paper's framework) at two
    thread counts or more. A record whose ``value`` is None is left out."""
    by_runner: dict[str, dict[Any, dict[Any, Any]]] = {}
    for r in records:
        if r.get("phase") != "training" or not _is_paper_framework(r) or (found := value(r)) is None:
            continue
        runners = by_runner.setdefault(str(r.get("family")), {})
        key = (r.get(MACHINE), r.get("device"))
        runners[key] = {**runners.pop(key, {}), r.get("intra_op_threads"): found}  # latest runner last
    sweeps = {}
    for family, runners in by_runner.items():
        swept = [by_threads for by_threads in runners.values() if len(by_threads) >= 2]
        if swept:
            sweeps[family] = swept[-1]
    return sweeps


def thread_scaling(records: Records) -> Finding:
    """Fig. 5: more intra-op threads speed up Image-Backprop training only. A family's gain is read
    from one machine's records (the latest machine that ran it at two thread counts or more)."""
    sweeps = thread_sweeps(records, lambda r: r.get("train_throughput_samples_per_s") or None)
    gains = {family: by_threads[max(by_threads)] / by_threads[min(by_threads)]
             for family, by_threads in sorted(sweeps.items())}
    if not gains:
        return _missing("a thread sweep, e.g. `-m training --intra-op-threads=1,2`")
    ours = ", ".join(f"{family} {gain:.2f}x" for family, gain in gains.items())
    backprop = gains.get("image-backprop")
    others = [gain for family, gain in gains.items() if family != "image-backprop"]
    holds = (backprop is None or backprop > SPEED_UP) and all(gain <= SPEED_UP for gain in others)
    return Finding(ours, AGREES if holds else DIFFERS, "training throughput at the most threads over the fewest, "
                   f"one machine (a speed-up is > {SPEED_UP}x)")


def repeatability(records: Records) -> Finding:
    """Table 4: identical image curves over runs of one seed; slight speech deviations."""
    groups: dict[tuple, list[list]] = {}
    for r in records:
        if r.get("phase") == "training" and r.get("curve"):
            key = (r.get("family"), (r.get("identity") or {}).get("hash"), r.get(MACHINE), r.get("device"))
            groups.setdefault(key, []).append([(p["samples"], p["accuracy"]) for p in r["curve"]])
    repeated = {key: curves for key, curves in groups.items() if len(curves) >= 2}
    if not repeated:
        return _missing("`--snnbench-repeat=2`")
    identical = {key: all(c == curves[0] for c in curves) for key, curves in repeated.items()}
    images = [same for key, same in identical.items() if str(key[0]).startswith("image")]
    speech = [same for key, same in identical.items() if str(key[0]).startswith("speech")]
    ours = ", ".join(f"{key[0]}: {'identical' if same else 'differ'} ({len(repeated[key])} runs)"
                     for key, same in identical.items())
    why = "the curves of repeated runs of one run identity (same code, recipe, seed, threads, budget) on one machine"
    if speech and all(speech):
        why += ("; the speech curves are identical too, where the paper saw slight deviations (it trained on GPUs; "
                "these runs' device: " + ", ".join(sorted({str(k[3]) for k in identical})) + ")")
    return Finding(ours, AGREES if all(images) else DIFFERS, why)


# -- operator profiles (Fig. 2 and 6) -------------------------------------------------------
# The paper's Fig. 2 groups (its Pointwise, BLAS, Tensor-related and Data-loading: "consume a lot of
# time" in most workloads)
PAPER_HEAVY_CATEGORIES = ("Pointwise", "BLAS", "Tensor-related", "Data-loading")
TOP_OPERATORS_SCALED = 3  # Fig. 6 follows each workload's most time-consuming operators
PLUGIN_RANGE_PREFIX = "snnbench::"  # our profiler ranges (the batch fetch): not operators


def profiled(records: Records, family: str, phase: str = "training", engine: str | None = None) -> dict[str, Any] | None:
    """The last record of ``family`` and ``phase`` (paper's framework; ``engine``: only that engine's)
    that carries a profile."""
    found = [r for r in candidates(records, family, phase, engine=engine) if r.get("profile")]
    return found[-1] if found else None


def _profiled_families(records: Records, phase: str = "training") -> list[str]:
    return list(dict.fromkeys(str(r["family"]) for r in records if r.get("phase") == phase and r.get("profile")))


def category_share(profile: dict[str, Any], category: str) -> float:
    return float(((profile.get("categories") or {}).get(category) or {}).get("share", 0.0))


def operator_share(profile: dict[str, Any], *fragments: str) -> float:
    """The share of the operators (among the profile's largest) whose name holds one of ``fragments``."""
    return sum(float(op["share"]) for op in profile.get("top_operators") or []
               if any(fragment in op["name"].lower() for fragment in fragments))


def _coverage_note(profile: dict[str, Any]) -> str:
    coverage = profile.get("coverage")
    if coverage is None:
        return "shares of the time inside torch's operators (this run did not record their share of the wall time)"
    return f"shares of the time inside torch's operators, which are {coverage * 100:.0f} % of the window's wall time"


def heavy_categories(records: Records) -> Finding:
    """Fig. 2: most workloads spend most of their time in Pointwise, BLAS, Tensor-related and
    Data-loading operators. Ours: each profiled workload's largest category."""
    largest = {}
    for family in _profiled_families(records):
        categories = profiled(records, family)["profile"]["categories"]
        largest[family] = max(categories, key=lambda c: categories[c]["share"])
    if not largest:
        return _missing("`-m training --snnbench-profile`")
    heavy = [family for family, category in largest.items() if category in PAPER_HEAVY_CATEGORIES]
    ours = ", ".join(f"{family} {category}" for family, category in largest.items())
    return Finding(ours, AGREES if len(heavy) > len(largest) / 2 else DIFFERS,
                   f"each training workload's largest operator category; {len(heavy)} of {len(largest)} among the "
                   "paper's four (Pointwise, BLAS, Tensor-related, Data-loading)")


def backprop_convolution(records: Records) -> Finding:
    """Fig. 2: Image-Backprop spends much time in convolution and pooling, little in BLAS."""
    record = profiled(records, "image-backprop")
    if record is None:
        return _missing("`-m \"image and backprop and training\" --snnbench-profile`")
    profile = record["profile"]
    convolution = operator_share(profile, "convolution")
    pooling, blas = category_share(profile, "Pooling"), category_share(profile, "BLAS")
    holds = blas < 0.05 and convolution + pooling > 0.2
    return Finding(f"convolution {convolution * 100:.1f} % (forward and backward), pooling {pooling * 100:.1f} %, "
                   f"BLAS {blas * 100:.1f} %", AGREES if holds else DIFFERS,
                   f"training profile; {_coverage_note(profile)} (it holds when BLAS is under 5 % and convolution "
                   "with pooling over 20 %)")


def stdp_inputs(records: Records) -> Finding:
    """Fig. 2: Image-STDP spends little time loading data and uses sampling operators to build its
    (Poisson) inputs. With the operators' share of the wall time recorded, data loading is read as a
    share of the wall time (the fast engine's compiled loop is outside torch's operators)."""
    families = [f for f in _profiled_families(records) if f.startswith("image-stdp")]
    if not families:
        return _missing("`-m \"stdp and training\" --snnbench-profile`")
    record = profiled(records, families[0])
    profile = record["profile"]
    loading, sampling = category_share(profile, "Data-loading"), category_share(profile, "Sampling")
    coverage = profile.get("coverage")
    of_wall = loading * coverage if coverage is not None else None
    holds = sampling > 0 and (of_wall if of_wall is not None else loading) < 0.1
    ours = f"{record['family']}: data loading {loading * 100:.1f} %, sampling {sampling * 100:.1f} %"
    if of_wall is not None:
        ours += f" (data loading {of_wall * 100:.1f} % of the wall time)"
    why = (f"training profile, engine {record.get('engine') or 'bindsnet'}; {_coverage_note(profile)} (it holds when "
           "sampling operators run and data loading is under 10 %)")
    if not holds and loading >= 0.1:
        why += ("; each sample is fetched alone (batch 1, as the paper's STDP), and the fetch's Python counts as "
                "data loading")
    return Finding(ours, AGREES if holds else DIFFERS, why)


def speech_spectral_and_backward(records: Records) -> Finding:
    """Fig. 2: the speech workloads run spectral operators (the FFT) and spend much time in backward."""
    records_of = {f: record for f in ("speech-lif", "speech-lsnn") if (record := profiled(records, f)) is not None}
    if not records_of:
        return _missing("`-m \"speech and training\" --snnbench-profile`")
    found, holds = [], True
    for family, record in records_of.items():
        profile = record["profile"]
        fft, backward = operator_share(profile, "fft", "stft"), category_share(profile, "Backward")
        holds = holds and fft > 0 and backward > 0.1
        found.append(f"{family} FFT {fft * 100:.1f} %, backward {backward * 100:.1f} %")
    why = "training profile (FFT: operators named fft or stft among the largest)"
    if not holds:
        why += ("; our spectrograms are computed once per clip and cached before training "
                "(pytest_snnbench/data/speech_commands.py), so no training step runs an FFT")
    return Finding(", ".join(found), AGREES if holds else DIFFERS, why)


def conversion_nonzero(records: Records) -> Finding:
    """Fig. 2: the converted SNN's inference spends much time in the nonzero operator (its spikes are
    dense). Read from BindsNET's engine, the paper's: our event engine's loop is not torch's operators."""
    record = profiled(records, "image-conversion", "inference", engine="bindsnet")
    if record is None:
        return _missing("`-m \"conversion and inference\" --snnbench-conversion-engine=bindsnet --snnbench-profile`")
    profile = record["profile"]
    nonzero = operator_share(profile, "nonzero")
    return Finding(f"nonzero {nonzero * 100:.1f} %", AGREES if nonzero >= 0.05 else DIFFERS,
                   f"inference profile; {_coverage_note(profile)} (it holds at 5 % or more)")


def top_operator_scaling(records: Records) -> Finding:
    """Fig. 6: the most time-consuming operators of Image-Backprop (and Image-STDP's top three)
    speed up with more intra-op threads; the other workloads' do not. Ours: the time per profiled
    step of each workload's largest operators at its fewest threads, over the same operators' at
    its most, from one machine."""
    def per_step(profile: dict[str, Any], names: set[tuple[str, str]]) -> float:
        return sum(float(op["ms"]) for op in profile["top_operators"]
                   if (op["name"], op["category"]) in names) / profile["steps"]

    gains: dict[str, float] = {}
    sweeps = thread_sweeps(records, lambda r: r["profile"] if (r.get("profile") or {}).get("steps") else None)
    for family, by_threads in sweeps.items():
        fewest, most = by_threads[min(by_threads)], by_threads[max(by_threads)]
        operators = [op for op in fewest["top_operators"] if not op["name"].startswith(PLUGIN_RANGE_PREFIX)]
        names = {(op["name"], op["category"]) for op in operators[:TOP_OPERATORS_SCALED]}
        after = per_step(most, names)
        if after > 0:
            gains[family] = per_step(fewest, names) / after
    if not gains:
        return _missing("a profiled thread sweep, e.g. `-m training --intra-op-threads=1,2 --snnbench-profile`")
    scaling = {"image-backprop"} | {f for f in gains if f.startswith("image-stdp")}
    holds = all((gain > SPEED_UP) == (family in scaling) for family, gain in gains.items())
    return Finding(", ".join(f"{family} {gain:.2f}x" for family, gain in gains.items()), AGREES if holds else DIFFERS,
                   f"time per step of each workload's {TOP_OPERATORS_SCALED} largest operators at the fewest threads "
                   f"over the same operators' at the most, one machine (a speed-up is > {SPEED_UP}x)")


def fast_engine_time_to_target(records: Records) -> Finding:
    latest: dict[str, dict[str, Any]] = {}
    for r in records:  # a later run overrides an earlier, one figure per network size
        if (str(r.get("family", "")).startswith("image-stdp") and r.get("phase") == "training"
                and r.get("engine") == "fast" and r.get("time_to_target_s")):
            latest.pop(r["family"], None)
            latest[r["family"]] = r
    if not latest:
        return _missing("`-m \"stdp and training\"` (the fast engine, our default)")
    return Finding(", ".join(f"{family} {r['time_to_target_s']:.0f} s" for family, r in latest.items()), AGREES,
                   "time to target with our fast engine, proven equal to BindsNET's (tests/test_diehl_cook_engines.py)")


def latest_per_family(records: Records, phase: str) -> list[dict[str, Any]]:
    """The last record of each family in ``phase`` (paper's framework), in order of first appearance."""
    families = dict.fromkeys(str(r.get("family")) for r in records if r.get("phase") == phase)
    return [found for family in families if (found := pick(records, family, phase)) is not None]


def cost_per_sample(records: Records) -> Finding:
    rows = []
    for r in latest_per_family(records, "inference"):
        ops = ((r.get("complexity") or {}).get("synaptic_operations") or {})
        if ops.get("effective_macs") is not None and ops.get("effective_acs") is not None:
            rows.append(f"{r['family']} {(ops['effective_macs'] + ops['effective_acs']) / 1e6:.3g} M")
    if not rows:
        return _missing("an inference run (complexity is counted after every timed pass)")
    return Finding(", ".join(rows), AGREES, "effective synaptic operations per test sample (NeuroBench's definitions)")


def validation_decided(records: Records) -> Finding:
    rows = [f"{r['family']} {percent(r.get('final_accuracy'))} / {percent(r.get('test_accuracy'))}"
            for r in latest_per_family(records, "training") if r.get("test_accuracy") is not None]
    if not rows:
        return _missing("any training run")
    return Finding(", ".join(rows), AGREES, "validation accuracy where the run stopped / test accuracy, reported only")


CLAIMS: tuple[Claim, ...] = (
    Claim("Fig. 3, Section 4.3", "Image-STDP, 100 neurons, converged test accuracy", "75 %",
          converged_test_accuracy("image-stdp-100", 0.75)),
    Claim("Fig. 3, Section 4.3", "Image-STDP, 400 neurons, converged test accuracy", "83 %",
          converged_test_accuracy("image-stdp-400", 0.83)),
    Claim("Fig. 3, Section 4.3", "Image-STDP, 1,600 neurons, converged test accuracy", "88 %",
          converged_test_accuracy("image-stdp-1600", 0.88)),
    Claim("Fig. 3, Section 4.3", "Image-STDP, 6,400 neurons, converged test accuracy", "84 %",
          converged_test_accuracy("image-stdp-6400", 0.84)),
    Claim("Section 4.3", "Image-STDP, 100 neurons, best accuracy during training", "84.8 %",
          best_validation_accuracy("image-stdp-100", 0.848)),
    Claim("Section 4.3", "Image-STDP, 400 neurons, best accuracy during training", "93.2 %",
          best_validation_accuracy("image-stdp-400", 0.932)),
    Claim("Section 4.3", "Image-STDP, 1,600 neurons, best accuracy during training", "96.0 %",
          best_validation_accuracy("image-stdp-1600", 0.960)),
    Claim("Section 4.3", "Image-STDP, 6,400 neurons, best accuracy during training", "94.8 %",
          best_validation_accuracy("image-stdp-6400", 0.948)),
    Claim("Section 4.3", "Image-STDP below 400 neurons: stable after one epoch", "1 epoch",
          epochs_to_convergence("image-stdp-100", 1)),
    Claim("Section 4.3", "Image-STDP above 400 neurons (1,600): more than one epoch to convergence", "> 1 epoch",
          epochs_to_convergence("image-stdp-1600", 1, more_than=True)),
    Claim("Section 4.3", "Image-STDP, 6,400 neurons: epochs to convergence", "6 epochs",
          epochs_to_convergence("image-stdp-6400", 6)),
    Claim("Section 4.3", "Image-Backprop: accuracy after one epoch (converged at about 98 %)", "97.73 %",
          converged_test_accuracy("image-backprop", 0.9773)),
    Claim("Table 5", "Image-Backprop: epochs to convergence", "1 epoch", epochs_to_convergence("image-backprop", 1)),
    Claim("Section 4.3", "Image-Conversion: DNN to SNN accuracy drop", "97.76 -> 96.72 % (1.03 points)", conversion_drop),
    Claim("Section 1, 4.3", "STDP's accuracy after convergence: standard deviation above 2.4 points", "> 2.4 points",
          stability(("image-stdp-100", "image-stdp-400", "image-stdp-1600", "image-stdp-6400"), above=0.024,
                    paper_check_samples=PAPER_STDP_CHECK_SAMPLES)),
    Claim("Section 1, 4.3", "Backprop's and conversion's: below 0.3 points", "< 0.3 points",
          stability(("image-backprop", "image-conversion"), below=0.003)),
    Claim("Section 4.3", "Image-Backprop training time over Image-STDP's", "1/73 (0.0137x)",
          _time_ratio(("image-backprop", "training"), ("image-stdp-100", "training"), 1 / 73, per="training sample")),
    Claim("Section 4.3", "Image-Backprop inference time over Image-STDP's", "1/84 (0.0119x)",
          _time_ratio(("image-backprop", "inference"), ("image-stdp-100", "inference"), 1 / 84, per="test sample")),
    Claim("Section 4.4", "Speech-LIF and -LSNN: at the first epoch's level from then on", "1 epoch",
          converged_within_a_paper_epoch(("speech-lif", "speech-lsnn"), SPEECH_COMMANDS_TRAINING_CLIPS)),
    Claim("Fig. 4, Section 4.4", "Speech-LIF accuracy", "62-67 %", converged_test_accuracy("speech-lif", 0.645)),
    Claim("Fig. 4, Section 4.4", "Speech-LSNN accuracy", "62-67 %", converged_test_accuracy("speech-lsnn", 0.645)),
    Claim("Fig. 4, Section 4.4", "Speech-LSTM accuracy", "90 %", converged_test_accuracy("speech-lstm", 0.90)),
    Claim("Section 4.4", "Speech-LIF's training epoch over the LSTM's", "4.09x",
          _time_ratio(("speech-lif", "training"), ("speech-lstm", "training"), 4.09, per="training sample")),
    Claim("Section 4.4", "Speech-LIF's inference over the LSTM's", "3.17x",
          _time_ratio(("speech-lif", "inference"), ("speech-lstm", "inference"), 3.17, per="test sample")),
    Claim("Fig. 5", "More intra-op threads speed up Image-Backprop training only", "Image-Backprop only",
          thread_scaling),
    Claim("Fig. 2", "Most workloads spend most time in Pointwise, BLAS, Tensor-related and Data-loading operators",
          "most workloads", heavy_categories),
    Claim("Fig. 2", "Image-Backprop: much time in convolution and pooling, little in BLAS", "little BLAS",
          backprop_convolution),
    Claim("Fig. 2", "Image-STDP: little data loading; sampling operators build its inputs", "little data loading",
          stdp_inputs),
    Claim("Fig. 2", "Speech-LIF and -LSNN: spectral (FFT) operators, much time in backward", "FFT, backward",
          speech_spectral_and_backward),
    Claim("Fig. 2", "Image-Conversion inference: much time in the nonzero operator (dense spikes)", "nonzero high",
          conversion_nonzero),
    Claim("Fig. 6", "The largest operators speed up with threads in Image-Backprop and Image-STDP only",
          "Image-Backprop, Image-STDP", top_operator_scaling),
    Claim("Table 4", "Repeated runs: identical image curves, slight speech deviations", "identical (image)",
          repeatability),
    Claim("ours", "Image-STDP time to target, fast engine", "(6.86 days for 10 epochs at 6,400 neurons, a 2080 Ti)",
          fast_engine_time_to_target, ours_only=True),
    Claim("Table 5", "Time to accuracy, every workload", "(6.86 days: STDP's 10 epochs at 6,400 neurons)",
          time_to_target_every_workload, ours_only=True),
    Claim("ours", "Cost per test sample", "(not in the paper)", cost_per_sample, ours_only=True),
    Claim("ours", "Validation-decided stop, test reported", "(the paper stops on test accuracy)", validation_decided,
          ours_only=True),
)


# -- output -----------------------------------------------------------------------------------
def rows(runs: Sequence[Run], claims: Iterable[Claim] = CLAIMS) -> list[dict[str, str]]:
    records = [{**record, MACHINE: _machine_of(run), RUN: run.label} for run in runs for record in run.records.values()]
    out = []
    for claim in claims:
        finding = claim.read(records)
        out.append({"where": claim.where, "claim": claim.statement + (" (ours)" if claim.ours_only else ""),
                    "paper": claim.paper, "ours": finding.ours or "-", "verdict": finding.verdict, "why": finding.why})
    return out


def _machine_of(run: Run) -> str | None:
    """The CPU and host a run's machine_info names (pytest-benchmark's), if it names them."""
    cpu = (run.machine_info.get("cpu") or {}).get("brand_raw")
    node = run.machine_info.get("node")
    return f"{cpu} ({node})" if cpu or node else None


def _machines(runs: Sequence[Run]) -> str:
    return "; ".join(sorted({m for run in runs if (m := _machine_of(run))})) or "not recorded"


def _headline(runs: Sequence[Run], found: Sequence[dict[str, str]]) -> str:
    tally = {verdict: sum(r["verdict"] == verdict for r in found) for verdict in (AGREES, DIFFERS, NOT_MEASURED)}
    return (f"Runs: {', '.join(run.label for run in runs)}. Machine: {_machines(runs)}. "
            f"{tally[AGREES]} agree, {tally[DIFFERS]} differ, {tally[NOT_MEASURED]} not measured; accuracy claims agree "
            f"within {ACCURACY_TOLERANCE * 100:.0f} points, speed ratios within a factor of {RATIO_TOLERANCE:g}.")


COLUMNS = ("where", "claim", "paper", "ours", "verdict", "why")


def markdown(runs: Sequence[Run], found: Sequence[dict[str, str]]) -> str:
    table = ["| where | claim | paper | ours | verdict | how ours was measured, why it differs |",
             "| --- | --- | --- | --- | --- | --- |"]
    for row in found:
        table.append("| " + " | ".join(row[key].replace("|", "\\|") for key in COLUMNS) + " |")
    return _headline(runs, found) + "\n\n" + "\n".join(table) + "\n"


def write_paper_report(runs: Sequence[Run], out_dir: Path) -> dict[str, Path]:
    """paper.md and paper.html in ``out_dir``: one row per claim."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    found = rows(runs)
    md = out_dir / "paper.md"
    md.write_text("# SNNBench's claims, reproduced\n\n" + markdown(runs, found))
    body = "".join(f"<tr class='{row['verdict'].split()[0]}'>"
                   + "".join(f"<td>{html.escape(row[key])}</td>" for key in COLUMNS) + "</tr>" for row in found)
    page = out_dir / "paper.html"
    page.write_text("<!doctype html><html><head><meta charset='utf-8'><title>SNNBench's claims</title>"
                    "<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
                    "td,th{border:1px solid #ccc;padding:4px 8px}tr.differs td{background:#fde2e1}"
                    "tr.agrees td{background:#e1f5e4}</style></head><body><h1>SNNBench's claims, reproduced</h1>"
                    f"<p>{html.escape(_headline(runs, found))}</p><table><tr><th>where</th><th>claim</th>"
                    "<th>paper</th><th>ours</th><th>verdict</th><th>how ours was measured</th></tr>"
                    f"{body}</table></body></html>")
    return {"markdown": md, "html": page}
