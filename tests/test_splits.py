"""The split rules: train on training data, decide on validation data, touch test data only to report.

Pinned here: no validation or test sample is in any training split; no test sample reaches any
choice a run makes (its checks and stop, its learning-off baseline, STDP's neuron labels,
the conversion's normalisation, the speech features' statistics).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

from pytest_snnbench.data import mnist_splits
from pytest_snnbench.data import speech_commands as sc
from pytest_snnbench.data.splits import balanced_subset, stratified_validation_split
from pytest_snnbench.training import train_to_target
from pytest_snnbench.workloads.image_backprop import test_image_backprop as backprop
from pytest_snnbench.workloads.image_conversion import test_image_conversion as conversion
from pytest_snnbench.workloads.image_stdp import test_image_stdp as stdp
from pytest_snnbench.workloads.speech import test_speech as speech
from tests.conftest import smoke_context
from tests.wav_files import write_speech_commands


# -- MNIST ------------------------------------------------------------------------------------
def test_mnist_validation_is_held_out_of_training_and_fixed_by_the_data(tiny_mnist: Path, tmp_path: Path) -> None:
    labels = torch.arange(600) % 10
    split = stratified_validation_split(labels, 100)
    assert set(split.train.tolist()).isdisjoint(split.validation.tolist())
    assert sorted(split.train.tolist() + split.validation.tolist()) == list(range(600))
    assert torch.bincount(labels[split.validation]).tolist() == [10] * 10  # stratified
    first = mnist_splits(_context(tiny_mnist, tmp_path, 0), 100)
    other = mnist_splits(_context(tiny_mnist, tmp_path, 7), 100)
    assert torch.equal(first.validation.images, other.validation.images)  # the seed never moves it
    assert first.summary["validation_fingerprint"] == other.summary["validation_fingerprint"]
    train_rows = {tuple(row.flatten().tolist()) for row in first.train.images[:, :, ::4, ::4]}
    assert not any(tuple(row.flatten().tolist()) in train_rows for row in first.validation.images[:, :, ::4, ::4])
    assert len(first.train) + len(first.validation) == 600 and len(first.test) == 200


def _context(data: Path, cache: Path, seed: int):
    import dataclasses

    return dataclasses.replace(smoke_context(data, cache), seed=seed)


def test_a_capped_split_is_fixed_balanced_and_keeps_every_class() -> None:
    labels = torch.cat([torch.zeros(700), torch.ones(200), torch.full((100,), 2)]).long()  # sorted, skewed
    chosen = balanced_subset(labels, 300)
    assert len(chosen) == 300 and chosen.tolist() == sorted(set(chosen.tolist()))
    assert torch.bincount(labels[chosen]).tolist() == [100, 100, 100]
    assert int(chosen[chosen < 700].max()) > 300  # a spread over the class, not its first samples
    assert torch.equal(chosen, balanced_subset(labels, 300))  # fixed: the same at every call and seed
    few = balanced_subset(labels, 200)  # 67 + 67 + 66
    assert torch.bincount(labels[few]).tolist() == [67, 67, 66]
    assert balanced_subset(labels, None) == slice(None) and balanced_subset(labels, 1000) == slice(None)


# -- Speech Commands --------------------------------------------------------------------------
@pytest.mark.parametrize("task", sc.TASKS)
def test_speech_splits_share_no_clip_and_no_noise(task: str, tmp_path: Path) -> None:
    folder = write_speech_commands(tmp_path / "data", speakers=16)
    classes, plans = sc.plan_splits(folder, sc.task_definition(task), sc.list_clips(tmp_path / "data"),
                                    sc.noise_files(folder))
    clips = {split: {c.path for c in plan.clips} for split, plan in plans.items()}
    speakers = {split: {c.speaker for c in plan.clips} for split, plan in plans.items()}
    for one, other in (("training", "validation"), ("training", "testing"), ("validation", "testing")):
        assert clips[one].isdisjoint(clips[other]) and speakers[one].isdisjoint(speakers[other])
        for a in plans[one].silence:  # noise pieces never overlap in time across splits
            for b in plans[other].silence:
                assert a.noise_file != b.noise_file or abs(a.start - b.start) >= sc.CLIP_SAMPLES
    assert all(len(plan) for plan in plans.values())


def test_the_papers_task_keeps_every_other_word_as_unknown_and_cuts_whole_background_pieces(
        tmp_path: Path) -> None:
    folder = write_speech_commands(tmp_path / "data", speakers=16, noise_files=2, noise_seconds=30.0)
    clips = sc.list_clips(tmp_path / "data")
    classes, plans = sc.plan_splits(folder, sc.task_definition("snnbench"), clips, sc.noise_files(folder))
    assert classes == ("yes", "down", "left", "go", "_background_", "_unknown_")  # SNNBENCH_CLASSES' order
    for split, plan in plans.items():
        others = [c for c in clips[split] if c.word not in sc.COMMANDS]
        assert plan.clip_labels.count(classes.index("_unknown_")) == len(others) > 0  # not subsampled
        low, high = plan.noise_region
        frames = 30 * sc.SAMPLE_RATE
        assert len(plan.silence) == 2 * ((int(frames * high) - int(frames * low)) // sc.CLIP_SAMPLES)
        assert all(cut.volume == 1.0 for cut in plan.silence) and plan.silence_label == classes.index("_background_")


def test_background_is_as_common_in_validation_as_in_test_when_the_lists_differ_in_size(tmp_path: Path) -> None:
    # A quarter of the speakers test and an eighth validate: the test list is twice the validation
    # list, as in the shared subset. A fixed share of the noise per split would give validation
    # twice test's share of (easy) background pieces, and validation accuracy would overstate test's.
    folder = write_speech_commands(tmp_path / "data", speakers=32, noise_files=2, noise_seconds=120.0)
    clips = sc.list_clips(tmp_path / "data")
    _, plans = sc.plan_splits(folder, sc.task_definition("snnbench"), clips, sc.noise_files(folder))
    assert len(plans["testing"].clips) == 2 * len(plans["validation"].clips)
    shares = {split: len(plan.silence) / len(plan) for split, plan in plans.items()}
    assert max(shares.values()) - min(shares.values()) < 0.02, shares
    regions = [plans[split].noise_region for split in sc.SPLITS]
    assert regions[0][0] == 0.0 and regions[-1][1] == 1.0
    assert all(a[1] == b[0] for a, b in zip(regions, regions[1:]))  # disjoint and covering


def test_noise_regions_follow_the_word_clips_of_each_split() -> None:
    regions = sc.noise_regions({"training": 80, "validation": 5, "testing": 15})
    assert regions == {"training": (0.0, 0.8), "validation": (0.8, 0.85), "testing": (0.85, 1.0)}
    assert sc.noise_regions({"training": 10})["testing"] == (1.0, 1.0)  # no test clips: no test noise


def test_speech_features_are_normalised_with_training_statistics_only() -> None:
    train = torch.randn(20, 5, 3) * 2 + 1
    test = torch.randn(4, 5, 3)
    _, before = sc.normalise(train, test)
    _, after = sc.normalise(train, test * 100 + 50)  # other test data: the same transform of it
    mean, std = train.mean(dim=(0, 1), keepdim=True), train.std(dim=(0, 1), keepdim=True)
    assert torch.allclose(after, ((test * 100 + 50) - mean) / std, atol=1e-5)
    assert torch.allclose(before, (test - mean) / std, atol=1e-5)


# -- no test sample in any choice -------------------------------------------------------------
def _without_test_data(workload) -> None:
    """Poison the test split: any use of it before the report raises (or turns results into NaN)."""
    workload.test_inputs = torch.full_like(workload.test_inputs, float("nan"))

    def refuse(*args, **kwargs):
        raise AssertionError("the test split was used before training ended")

    workload.test_batches = refuse


def _workloads(tiny_mnist: Path, speech_data: Path, cache: Path):
    image = smoke_context(tiny_mnist, cache)
    sound = smoke_context(speech_data, cache)
    return [lambda: backprop.ImageBackprop(image), lambda: conversion.ImageConversion(image),
            lambda: stdp.ImageSTDP(image, n_neurons=100), lambda: speech.SpeechLIF(sound)]


@pytest.mark.parametrize("which", ["backprop", "conversion", "stdp", "speech"])
def test_no_test_sample_reaches_training_its_checks_or_its_baseline(which: str, tiny_mnist: Path,
                                                                    tmp_path: Path) -> None:
    write_speech_commands(tmp_path / "speech", speakers=16)
    build = dict(zip(["backprop", "conversion", "stdp", "speech"],
                     _workloads(tiny_mnist, tmp_path / "speech", tmp_path / "cache")))[which]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(0)
        baseline = build()
        _without_test_data(baseline)
        assert 0.0 <= baseline.learning_off_accuracy() <= 1.0
        torch.manual_seed(0)
        workload = build()
        _without_test_data(workload)
        outcome = train_to_target(workload, torch.device("cpu"))
    assert outcome.curve.points and all(p.split == "validation" for p in outcome.curve.points)
    assert all(p.accuracy == p.accuracy for p in outcome.curve.points)  # no NaN crept in


def test_conversion_normalises_on_training_images_only(tiny_mnist: Path, tmp_path: Path) -> None:
    context = smoke_context(tiny_mnist, tmp_path)
    torch.manual_seed(0)
    one = conversion.ImageConversion(context)
    torch.manual_seed(0)
    two = conversion.ImageConversion(context)
    two.test_inputs = torch.rand_like(two.test_inputs)  # other test images, same training images
    one.convert(), two.convert()
    for (name, a), (_, b) in zip(one.snn.connections.items(), two.snn.connections.items()):
        assert torch.equal(a.w, b.w), name
