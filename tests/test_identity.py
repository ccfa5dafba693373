"""One run identity: the model cache, checkpoints, the gate and the reference distributions read it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from pytest_snnbench.checkpoint import CheckpointRefused, Checkpoints, checkpoint_name, saved_identity
from pytest_snnbench.identity import RunIdentity
from pytest_snnbench.reference import build_reference, judge, judge_convergence, recipe_key


def identity(**changes) -> RunIdentity:
    settings = {"workload": "image-backprop", "hyperparameters": {"batch_size": 128, "learning_rate": 0.01},
                "data_info": {"name": "MNIST", "fingerprint": "f", "validation_fingerprint": "v",
                              "stdp": {"assignments": [1, 2]}},
                "seed": 0, "scale": "full", "device": "cpu", "intra_op_threads": 2, "inter_op_threads": 2,
                "packages": {"torch": "2.14.1"}, "code": "c0de"}
    settings.update(changes)
    return RunIdentity.build(**settings)


def test_the_identity_holds_every_field_of_the_run_and_only_the_data_fingerprints() -> None:
    fields = identity().fields
    assert {"code", "workload", "hyperparameters", "data", "engine", "task", "seed", "scale", "device",
            "intra_op_threads", "inter_op_threads", "world_size", "batch_rule", "packages", "python"} <= set(fields)
    assert fields["data"] == {"name": "MNIST", "fingerprint": "f", "validation_fingerprint": "v"}
    assert identity().hash == identity().hash
    for change in ({"code": "edited"}, {"intra_op_threads": 1}, {"seed": 1}, {"device": "cuda:0"},
                   {"hyperparameters": {"batch_size": 64, "learning_rate": 0.01}}, {"world_size": 2}):
        assert identity(**change).hash != identity().hash, change
    # what training produced (STDP's assignments) is not what the run is
    assert identity(data_info={"name": "MNIST", "fingerprint": "f", "validation_fingerprint": "v"}).hash == \
        identity().hash


def test_a_record_round_trips_its_identity() -> None:
    record = {"identity": identity().as_record()}
    assert RunIdentity.of_record(record) == identity()
    assert RunIdentity.of_record(json.loads(json.dumps(record))).hash == identity().hash


def test_a_checkpoint_of_edited_code_is_refused_and_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / checkpoint_name("test_x", "full", 0, "cpu")
    assert "intra" not in path.name  # thread search may change them: checked in the identity instead
    Checkpoints(path, 60, identity().fields).save({"epoch": 1}, {"model": torch.zeros(1)})
    assert saved_identity(path)["intra_op_threads"] == 2
    with pytest.raises(CheckpointRefused, match="code: 'c0de' -> 'edited'"):
        Checkpoints(path, 60, identity(code="edited").fields).load()
    assert Checkpoints(path, 60, identity().fields).load() is not None


def test_reference_verdicts() -> None:
    assert judge(5000, [4000, 6000, 8000]) == "inside"
    assert judge(3000, [4000, 6000]) == "faster"
    assert judge(9000, [4000, 6000]) == "slower"
    assert judge(None, [4000, 6000]) == "slower"  # a miss against a reference that always reached
    assert judge(None, [4000, None]) == "inside"
    assert judge(4000, [4000, None]) == "inside"


def test_reference_distribution_from_records_and_a_run_judged_against_it(tmp_path: Path, monkeypatch) -> None:
    import pytest_snnbench.reference as reference

    def record(seed: int, threads: int, samples: int | None) -> dict:
        return {"phase": "training", "family": "image-backprop", "scale": "full", "seed": seed,
                "intra_op_threads": threads, "samples_to_target": samples, "seconds_per_sample": 0.01,
                "identity": identity(seed=seed, intra_op_threads=threads, code=f"commit{seed}").as_record()}

    runs = [record(0, 1, 12800), record(1, 1, 25600), record(2, 2, 12800), record(3, 2, 38400), record(4, 1, 25600)]
    [entry] = build_reference(runs, measured="here")
    assert entry["samples_to_target"] == [12800, 25600, 12800, 38400, 25600]
    assert entry["recipe"] == recipe_key(identity(seed=7, intra_op_threads=4, device="cuda:0"))
    other = identity(hyperparameters={"batch_size": 64, "learning_rate": 0.01})
    assert recipe_key(other) != entry["recipe"]  # another recipe has another distribution
    folder = tmp_path / "workloads"
    folder.mkdir()
    (folder / "reference_convergence.json").write_text(json.dumps({"format": reference.FORMAT,
                                                                   "references": [entry]}))
    monkeypatch.setattr(reference, "reference_file", lambda workload: folder / "reference_convergence.json")
    judged = judge_convergence(object(), record(9, 2, 51200))
    assert judged["verdict"] == "slower" and judged["reference_median"] == 25600
    assert judged["time_at_reference_median_s"] == pytest.approx(256.0)
    assert judge_convergence(object(), {**record(9, 2, 1), "identity": other.as_record()}) is None


def test_a_cached_model_without_metadata_has_not_reached_its_target(toy_session, pytester, tmp_path: Path) -> None:
    """The model cache, keyed by the identity: a model whose metadata does not say it reached its
    target is handed on, but inference does not take it to have."""
    from tests.conftest import read_records

    toy_session("-m", "training").assert_outcomes(passed=1)
    [cached] = (tmp_path / "cache" / "models").glob("toy-smoke-*.pt")  # toy_session's cache folder
    saved = torch.load(cached, weights_only=True)
    assert json.loads(saved["metadata"])["reached_target"] is True
    saved["metadata"] = json.dumps({})
    torch.save(saved, cached)
    toy_session("-m", "inference", "--benchmark-json=out.json").assert_outcomes(passed=1)
    record = read_records(pytester.path / "out.json")["test_toy_inference"]
    assert record["model_source"].startswith("cache:") and record["model_reached_target"] is False
    assert record["identity"]["fields"]["intra_op_threads"] is not None and cached.name.startswith("toy-smoke-")


def test_reference_runs_give_each_speed_free_metric_its_spread_and_records_carry_it(tmp_path: Path,
                                                                                   monkeypatch) -> None:
    import pytest_snnbench.reference as reference

    def run(phase: str, seed: int, threads: int, accuracy: float) -> dict:
        accuracy_field = "final_accuracy" if phase == "training" else "accuracy"
        return {"phase": phase, "family": "image-backprop", "scale": "smoke", "seed": seed,
                "intra_op_threads": threads, accuracy_field: accuracy, "samples_to_target": 4096,
                "identity": identity(seed=seed, intra_op_threads=threads).as_record()}

    runs = [run(phase, seed, threads, 0.80 + seed / 100 + threads / 1000)
            for phase in ("training", "inference") for seed in (0, 1, 2) for threads in (1, 2)]
    entries = {entry["task"]: entry for entry in build_reference(runs, measured="here")}
    assert set(entries) == {"training", "inference"}  # one recipe, a distribution per task
    assert entries["inference"]["spread"]["accuracy"] == {"min": pytest.approx(0.801), "max": pytest.approx(0.822),
                                                          "n": 6}
    assert "samples_to_target" not in entries["inference"] and entries["training"]["samples_to_target"] == [4096] * 6
    assert [run_["accuracy"] for run_ in entries["inference"]["runs"]][:2] == [pytest.approx(0.801), pytest.approx(0.802)]
    path = tmp_path / "reference_convergence.json"
    path.write_text(json.dumps({"format": reference.FORMAT, "references": list(entries.values())}))
    monkeypatch.setattr(reference, "reference_file", lambda workload: path)
    carried = reference.reference_spread(object(), run("inference", 7, 4, 0.5))
    assert carried["metrics"]["accuracy"]["max"] == pytest.approx(0.822) and carried["runs"] == 6
    assert reference.reference_spread(object(), {**run("inference", 7, 4, 0.5),
                                                 "identity": identity(hyperparameters={"batch_size": 64}).as_record()}) is None
