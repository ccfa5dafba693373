"""snnbench-report --paper: the paper's claims beside ours, from small stored runs."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_snnbench.report import Run
from pytest_snnbench.report.cli import main
from pytest_snnbench.report.paper import AGREES, CLAIMS, DIFFERS, NOT_MEASURED, rows

CPU = "AMD EPYC (2 threads)"


def record(family: str, phase: str, **fields) -> dict:
    return {"schema": "snnbench-record/3", "family": family, "phase": phase, "workload": f"{family}-{phase}",
            "device_info": CPU, "intra_op_threads": 2, "seed": 0, **fields}


def convergence(epoch: int, std: float) -> dict:
    return {"available": True, "converged_epoch": epoch, "accuracy_std_after": std, "converged_at_end": False,
            "rule": "first epoch ...", "budget_epochs": 10}


def run(*records: dict, label: str = "run", cpu: str = "AMD EPYC") -> Run:
    return Run(label, [{"name": f"test_{i}", "extra_info": r} for i, r in enumerate(records)],
               machine_info={"cpu": {"brand_raw": cpu}, "node": "vm"})


def verdicts(*runs: Run) -> dict[str, tuple[str, str]]:
    return {row["claim"]: (row["verdict"], row["ours"]) for row in rows(runs)}


def test_each_claim_is_agreed_differs_or_not_measured_with_the_run_that_would_measure_it() -> None:
    found = verdicts(run(
        record("image-conversion", "inference",
               data={"conversion": {"dnn_test_accuracy": 0.9770, "snn_test_accuracy": 0.9660}}),
        record("image-backprop", "training", test_accuracy=0.9805, best_accuracy=0.981,
               convergence=convergence(1, 0.0012)),
        record("image-conversion", "training", convergence=convergence(2, 0.0010)),
        record("image-stdp-100", "training", test_accuracy=0.80, best_accuracy=0.83, convergence=convergence(1, 0.031)),
    ))
    assert found["Image-Conversion: DNN to SNN accuracy drop"][0] == AGREES
    assert found["Image-Backprop: accuracy after one epoch (converged at about 98 %)"] == (AGREES, "98.05 %")
    assert found["Image-Backprop: epochs to convergence"][0] == AGREES
    assert found["Backprop's and conversion's: below 0.3 points"][0] == AGREES
    assert found["STDP's accuracy after convergence: standard deviation above 2.4 points"][0] == AGREES
    assert found["Image-STDP, 100 neurons, converged test accuracy"] == (DIFFERS, "80.00 %")  # 5 points off
    assert found["Image-STDP, 6,400 neurons, converged test accuracy"][0] == NOT_MEASURED
    why = {row["claim"]: row["why"] for row in rows([run(record("image-backprop", "training"))])}
    assert "--snnbench-budget=epochs:10" in why["Image-STDP, 6,400 neurons: epochs to convergence"]
    assert len(rows([run()])) == len(CLAIMS)


def test_a_stability_claim_fails_on_a_spread_the_paper_says_is_not_there() -> None:
    found = verdicts(run(record("image-backprop", "training", convergence=convergence(1, 0.008))))
    assert found["Backprop's and conversion's: below 0.3 points"] == (DIFFERS, "image-backprop 0.80 pt")


def test_a_time_ratio_is_sound_only_from_one_machine() -> None:
    lif = record("speech-lif", "training", samples_seen=1000, total_seconds=100.0)
    lstm = record("speech-lstm", "training", samples_seen=1000, total_seconds=25.0)
    claim = "Speech-LIF's training epoch over the LSTM's"
    assert verdicts(run(lif, lstm))[claim] == (AGREES, "4x")
    row = next(r for r in rows([run(lif), run(lstm, cpu="Intel Xeon")]) if r["claim"] == claim)
    assert row["verdict"] == DIFFERS and "NOT measured on the same machine" in row["why"]


def test_a_later_run_overrides_an_earlier_ones_record_and_compiled_or_other_frameworks_do_not_count() -> None:
    early = record("speech-lstm", "training", test_accuracy=0.70)
    late = record("speech-lstm", "training", test_accuracy=0.89)
    other = record("speech-lstm", "training", test_accuracy=0.10, framework="torch+compile", compiled=True)
    found = verdicts(run(early, label="a"), run(late, other, label="b"))
    assert found["Speech-LSTM accuracy"] == (AGREES, "89.00 %")


def test_the_command_writes_markdown_and_html(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    stored = tmp_path / "run.json"
    records = [record("image-backprop", "training", test_accuracy=0.97, curve=[], status="reached"),
               record("image-conversion", "inference",
                      data={"conversion": {"dnn_test_accuracy": 0.98, "snn_test_accuracy": 0.90}})]
    stored.write_text(json.dumps({"benchmarks": [{"name": f"t{i}", "extra_info": r} for i, r in enumerate(records)]}))
    out = tmp_path / "out"
    assert main([str(stored), "-o", str(out), "--paper"]) == 0
    text = (out / "paper.md").read_text()
    assert text.count("\n| ") == len(CLAIMS) + 2  # the header, its rule and one row per claim
    assert "| Section 4.3 | Image-Conversion: DNN to SNN accuracy drop | 97.76 -> 96.72 % (1.03 points) | " \
           "98.00 % -> 90.00 % (8.00 points) | differs |" in text
    assert "<table>" in (out / "paper.html").read_text()
    assert str(out / "paper.md") in capsys.readouterr().out


def test_an_engine_of_ours_in_place_of_the_papers_framework_does_not_stand_for_it() -> None:
    """The speech ratios are the paper's frameworks' (Norse against torch's LSTM): a Speech-LIF record
    of our event engine, given later, does not replace Norse's."""
    norse = record("speech-lif", "test", framework="norse", framework_is_paper=True, engine=None,
                   test_accuracy=0.61)
    event = record("speech-lif", "test", framework="norse", framework_is_paper=True, engine="event",
                   test_accuracy=0.40)
    found = verdicts(run(norse, {**norse, "phase": "training"}, event, {**event, "phase": "training"}))
    assert found["Speech-LIF accuracy"][1] == "61.00 %"


def test_a_time_ratio_takes_the_latest_pair_from_one_runner_over_a_later_unsound_one() -> None:
    """A later run on another CPU, or at other threads, does not break a sound pair of earlier runs."""
    lif = record("speech-lif", "training", samples_seen=1000, total_seconds=100.0)
    lstm = record("speech-lstm", "training", samples_seen=1000, total_seconds=25.0)
    later_elsewhere = record("speech-lif", "training", samples_seen=1000, total_seconds=10.0)
    one_thread = record("speech-lstm", "training", samples_seen=1000, total_seconds=50.0, intra_op_threads=1)
    runs = [run(lif, lstm, label="amd"), run(later_elsewhere, label="intel", cpu="Intel Xeon"),
            run(one_thread, label="amd-1-thread")]
    row = next(r for r in rows(runs) if r["claim"] == "Speech-LIF's training epoch over the LSTM's")
    assert (row["verdict"], row["ours"]) == (AGREES, "4x")
    assert "(run amd)" in row["why"] and "NOT" not in row["why"]


def test_a_thread_sweep_is_read_from_one_machine_only() -> None:
    def throughput(family: str, threads: int, value: float) -> dict:
        return record(family, "training", intra_op_threads=threads, train_throughput_samples_per_s=value)
    claim = "More intra-op threads speed up Image-Backprop training only"
    split = verdicts(run(throughput("image-backprop", 1, 100.0)),
                     run(throughput("image-backprop", 2, 400.0), cpu="Intel Xeon"))
    assert split[claim][0] == NOT_MEASURED  # 1 thread on one CPU, 2 on another: no sweep
    swept = verdicts(run(throughput("image-backprop", 1, 100.0), throughput("image-backprop", 2, 180.0),
                         throughput("speech-lif", 1, 100.0), throughput("speech-lif", 2, 105.0)))
    assert swept[claim] == (AGREES, "image-backprop 1.80x, speech-lif 1.05x")
    scales = verdicts(run(throughput("image-backprop", 1, 100.0), throughput("image-backprop", 2, 180.0),
                          throughput("speech-lif", 1, 100.0), throughput("speech-lif", 2, 150.0)))
    assert scales[claim][0] == DIFFERS


def test_the_fast_engines_time_to_target_is_one_figure_per_network_size() -> None:
    def stdp(size: int, seconds: float) -> dict:
        return record(f"image-stdp-{size}", "training", engine="fast", time_to_target_s=seconds)
    found = verdicts(run(stdp(100, 10.0), stdp(400, 30.0)), run(stdp(100, 8.0)))
    assert found["Image-STDP time to target, fast engine (ours)"] == (AGREES, "image-stdp-400 30 s, image-stdp-100 8 s")


def test_the_stability_row_states_the_sampling_noise_of_the_papers_fresh_250_sample_checks() -> None:
    """At 80 % a check on 250 fresh samples has a binomial noise of 2.53 points."""
    stdp = record("image-stdp-100", "training",
                  convergence={**convergence(1, 0.0118), "accuracy_mean_after": 0.80},
                  curve=[{"samples": 2500 * i, "accuracy": 0.8, "evaluated": 5000} for i in range(1, 4)])
    row = next(r for r in rows([run(stdp)]) if r["claim"].startswith("STDP's accuracy after convergence"))
    assert row["ours"] == "image-stdp-100 1.18 pt"
    assert row["verdict"] == DIFFERS and "image-stdp-100 2.53 pt" in row["why"]


def test_a_best_accuracy_that_differs_says_how_noisy_the_papers_checks_were() -> None:
    stdp = record("image-stdp-400", "training", best_accuracy=0.9076,
                  convergence={**convergence(2, 0.006), "accuracy_mean_after": 0.89})
    row = next(r for r in rows([run(stdp)]) if r["claim"] == "Image-STDP, 400 neurons, best accuracy during training")
    assert (row["verdict"], row["ours"]) == (DIFFERS, "90.76 %")
    assert "1.98 pt at our mean accuracy (89.00 %)" in row["why"]


def test_repeated_runs_compare_curves_within_one_identity_and_one_machine() -> None:
    def trained(family: str, identity: str, accuracies: list[float]) -> dict:
        return record(family, "training", identity={"hash": identity}, device="cpu",
                      curve=[{"samples": i, "accuracy": a} for i, a in enumerate(accuracies)])
    claim = "Repeated runs: identical image curves, slight speech deviations"
    same = verdicts(run(trained("image-backprop", "a", [0.9, 0.95])), run(trained("image-backprop", "a", [0.9, 0.95])),
                    run(trained("speech-lif", "s", [0.5, 0.6])), run(trained("speech-lif", "s", [0.5, 0.6])))
    assert same[claim] == (AGREES, "image-backprop: identical (2 runs), speech-lif: identical (2 runs)")
    apart = verdicts(run(trained("image-backprop", "a", [0.9, 0.95])), run(trained("image-backprop", "a", [0.9, 0.96])))
    assert apart[claim][0] == DIFFERS
    elsewhere = verdicts(run(trained("image-backprop", "a", [0.9, 0.95])),
                         run(trained("image-backprop", "a", [0.9, 0.96]), cpu="Intel Xeon"),
                         run(trained("image-backprop", "b", [0.9, 0.97])))
    assert elsewhere[claim][0] == NOT_MEASURED  # another CPU or another identity is no repeat


def test_more_than_one_epoch_to_convergence_above_400_neurons() -> None:
    claim = "Image-STDP above 400 neurons (1,600): more than one epoch to convergence"
    assert verdicts(run(record("image-stdp-1600", "training", convergence=convergence(3, 0.01))))[claim] == (AGREES, "3")
    assert verdicts(run(record("image-stdp-1600", "training", convergence=convergence(1, 0.01))))[claim] == (DIFFERS, "1")


def test_speech_convergence_is_counted_in_samples_against_the_papers_epoch() -> None:
    def speech(family: str, epoch: int) -> dict:
        return record(family, "training", convergence=convergence(epoch, 0.01),
                      curve=[{"epoch": e, "samples": 1738 * e, "accuracy": 0.6} for e in range(1, 61)])
    claim = "Speech-LIF and -LSNN: at the first epoch's level from then on"
    found = verdicts(run(speech("speech-lif", 19), speech("speech-lsnn", 19)))
    assert found[claim][0] == AGREES and "speech-lif 33,022 samples (epoch 19), 0.39 of the paper's epoch" in found[claim][1]
    assert verdicts(run(speech("speech-lif", 49)))[claim][0] == DIFFERS  # 85,162 samples: past one epoch


def test_time_to_accuracy_names_each_workloads_run_and_its_misses() -> None:
    found = verdicts(run(record("image-backprop", "training", time_to_target_s=111.6, target_accuracy=0.95), label="a"),
                     run(record("speech-lif", "training", time_to_target_s=None, target_accuracy=0.90), label="b"))
    assert found["Time to accuracy, every workload (ours)"] == (
        AGREES, "image-backprop 112 s to 95.00 % [a], speech-lif missed 90.00 % [b]")


def profile(shares: dict[str, float], operators: list[tuple[str, str, float]], steps: int = 10,
            coverage: float | None = None) -> dict:
    """A stored profile: category shares and the largest operators as (name, category, ms)."""
    total = sum(ms for _, _, ms in operators) or 1.0
    found = {"steps": steps, "total_ms": total,
             "categories": {c: {"ms": share * total, "share": share} for c, share in shares.items()},
             "top_operators": [{"name": n, "category": c, "ms": ms, "share": ms / total, "calls": 1}
                               for n, c, ms in operators]}
    return found if coverage is None else {**found, "coverage": coverage, "wall_ms": total / coverage}


def test_figure_2s_operator_claims_are_read_from_the_profiles() -> None:
    backprop = profile({"Backward": 0.4, "Layer-computing": 0.3, "Pooling": 0.1, "BLAS": 0.01},
                       [("aten::convolution_backward", "Backward", 40.0), ("aten::mkldnn_convolution",
                                                                           "Layer-computing", 30.0),
                        ("aten::max_pool2d_with_indices", "Pooling", 10.0), ("aten::mm", "BLAS", 1.0)])
    lif = profile({"BLAS": 0.5, "Backward": 0.3}, [("aten::mm", "BLAS", 50.0), ("MulBackward0", "Backward", 30.0)])
    found = verdicts(run(record("image-backprop", "training", profile=backprop),
                         record("speech-lif", "training", profile=lif)))
    assert found["Image-Backprop: much time in convolution and pooling, little in BLAS"] == (
        AGREES, "convolution 86.4 % (forward and backward), pooling 10.0 %, BLAS 1.0 %")
    # 1 of 2 largest categories among the paper's four: not "most workloads"
    assert found["Most workloads spend most time in Pointwise, BLAS, Tensor-related and Data-loading operators"] == (
        DIFFERS, "image-backprop Backward, speech-lif BLAS")
    assert found["Speech-LIF and -LSNN: spectral (FFT) operators, much time in backward"][0] == DIFFERS  # no FFT
    with_fft = profile({"BLAS": 0.5, "Backward": 0.3, "Math": 0.1},
                       [("aten::mm", "BLAS", 50.0), ("aten::_fft_r2c", "Math", 10.0)])
    assert verdicts(run(record("speech-lif", "training", profile=with_fft)))[
        "Speech-LIF and -LSNN: spectral (FFT) operators, much time in backward"][0] == AGREES
    assert found["Image-Conversion inference: much time in the nonzero operator (dense spikes)"][0] == NOT_MEASURED


def test_stdps_data_loading_is_read_as_a_share_of_the_wall_time_once_the_operators_coverage_is_known() -> None:
    """The fast engine's compiled loop is outside torch's operators: 30 % of the operators' time
    is 3 % of the wall time when they cover a tenth of it."""
    shares = {"Data-loading": 0.3, "Sampling": 0.05, "Pointwise": 0.65}
    operators = [("aten::mul_", "Pointwise", 65.0), ("aten::bernoulli_", "Sampling", 5.0)]
    claim = "Image-STDP: little data loading; sampling operators build its inputs"
    unknown = verdicts(run(record("image-stdp-100", "training", engine="fast", profile=profile(shares, operators))))
    assert unknown[claim][0] == DIFFERS
    known = verdicts(run(record("image-stdp-100", "training", engine="fast",
                                profile=profile(shares, operators, coverage=0.1))))
    assert known[claim] == (AGREES, "image-stdp-100: data loading 30.0 %, sampling 5.0 % "
                                    "(data loading 3.0 % of the wall time)")


def test_figure_6_compares_the_same_largest_operators_per_step_across_threads_on_one_machine() -> None:
    def at(threads: int, conv_ms: float, steps: int = 10, family: str = "image-backprop") -> dict:
        return record(family, "training", intra_op_threads=threads,
                      profile=profile({"Layer-computing": 1.0},
                                      [("snnbench::data_loading", "Data-loading", 500.0),  # our range: skipped
                                       ("aten::mkldnn_convolution", "Layer-computing", conv_ms)], steps=steps))
    claim = "The largest operators speed up with threads in Image-Backprop and Image-STDP only"
    # 2 threads: 100 ms over 20 steps against 100 ms over 10 at 1 thread: 2x per step
    assert verdicts(run(at(1, 100.0), at(2, 100.0, steps=20)))[claim] == (AGREES, "image-backprop 2.00x")
    assert verdicts(run(at(1, 100.0), at(2, 90.0)))[claim] == (DIFFERS, "image-backprop 1.11x")
    lstm_scales = verdicts(run(at(1, 100.0), at(2, 50.0), at(1, 100.0, family="speech-lstm"),
                               at(2, 50.0, family="speech-lstm")))
    assert lstm_scales[claim] == (DIFFERS, "image-backprop 2.00x, speech-lstm 2.00x")
    assert verdicts(run(at(1, 100.0)), run(at(2, 50.0), cpu="Intel Xeon"))[claim][0] == NOT_MEASURED


def test_the_nonzero_claim_is_read_from_bindsnets_engine_not_ours() -> None:
    def inference(engine: str, nonzero_ms: float) -> dict:
        return record("image-conversion", "inference", engine=engine,
                      profile=profile({"Math": 1.0}, [("aten::nonzero", "Math", nonzero_ms), ("aten::mm", "BLAS", 80.0)]))
    claim = "Image-Conversion inference: much time in the nonzero operator (dense spikes)"
    assert verdicts(run(inference("event", 20.0)))[claim][0] == NOT_MEASURED
    assert verdicts(run(inference("bindsnet", 20.0), inference("event", 0.0)))[claim] == (AGREES, "nonzero 20.0 %")
    assert verdicts(run(inference("bindsnet", 2.0)))[claim] == (DIFFERS, "nonzero 2.4 %")
