"""Speech Commands loader: layout and splits, class mapping, padding, features, the feature cache, errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from hypothesis import given
from hypothesis import strategies as st

from pytest_snnbench.data import DataSetError
from pytest_snnbench.data import speech_commands as sc
from tests.wav_files import ARCHIVE, WORDS, speaker_id, split_of, write_speech_commands

REPO = Path(__file__).resolve().parent.parent
SMALL = sc.FeatureParameters(n_mels=16, n_fft=512, hop_length=400)  # fast, as at smoke scale


@pytest.fixture(scope="module")
def speech_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("speech")
    write_speech_commands(root)
    return root


@pytest.fixture
def fresh_root(tmp_path: Path) -> Path:
    """A data root of its own, for tests that change files."""
    write_speech_commands(tmp_path / "data", speakers=4, noise_files=1)
    return tmp_path / "data"


def load(root: Path, cache: Path, task: str = "35") -> sc.SpeechCommands:
    with pytest.warns(sc.PartialDataSetNotice, match="partial data set"):
        return sc.load_speech_commands(root, cache, task, params=SMALL)


# -- splits and classes --------------------------------------------------------------------------
def test_splits_follow_the_lists_and_are_speaker_disjoint(speech_root: Path) -> None:
    clips = sc.list_clips(speech_root)
    speakers = {split: {c.speaker for c in clips[split]} for split in sc.SPLITS}
    for index in range(8):
        assert speaker_id(index) in speakers[split_of(index)]
    assert not speakers["training"] & speakers["testing"] and not speakers["training"] & speakers["validation"]
    assert [len(clips[s]) for s in sc.SPLITS] == [5 * len(WORDS), len(WORDS), 2 * len(WORDS)]
    assert all(c.word == c.path.split("/")[0] for split in clips.values() for c in split)


def test_35_word_task_maps_sorted_words_and_drops_absent_ones(speech_root: Path, tmp_path: Path) -> None:
    data = load(speech_root, tmp_path)
    assert data.classes == tuple(sorted(WORDS))  # the generated set has six of the 35 words
    clips = sc.list_clips(speech_root)
    expected = [data.classes.index(c.word) for c in clips["testing"]]
    assert data.test.labels.tolist() == expected
    assert set(data.train.labels.tolist()) == set(range(len(WORDS)))  # no output unit without a target
    assert data.summary["missing_words"] == [w for w in sc.WORDS if w not in WORDS]
    assert data.summary["complete"] is False and "not comparable" in data.summary["note"]
    assert data.info()["task"] == "35" and data.info()["train_samples"] == 5 * len(WORDS)


def test_12_class_task_has_unknown_and_silence_from_held_apart_noise(speech_root: Path, tmp_path: Path) -> None:
    data = load(speech_root, tmp_path, "12")
    assert data.classes == ("_silence_", "_unknown_", "down", "go", "left", "yes")
    folder = speech_root / ARCHIVE
    classes, plans = sc.plan_splits(folder, sc.task_definition("12"), sc.list_clips(speech_root),
                                    sc.noise_files(folder))
    assert classes == data.classes
    for split, plan in plans.items():
        known = sum(1 for c in plan.clips if c.word in sc.COMMANDS)
        assert {c.word for c in plan.clips} - set(sc.COMMANDS) <= {"cat", "zero"}
        # each of unknown and silence is about a tenth of the split (rounded on these tiny splits)
        assert abs(len(plan.silence) - 0.125 * known) <= 1
        if not plan.silence:
            continue
        length = soundfile.info(str(folder / plan.silence[0].noise_file)).frames
        low, high = plan.noise_region
        for cut in plan.silence:
            assert low * length <= cut.start and cut.start + sc.CLIP_SAMPLES <= high * length
    labels = data.train.labels.tolist()
    assert labels.count(classes.index("_silence_")) == len(plans["training"].silence) > 0
    assert labels.count(classes.index("_unknown_")) > 0


def _add_clips(folder: Path, word: str, speakers: list[int], listed_in: str | None) -> None:
    """Clips of ``word`` for these speakers, named in ``listed_in``'s list (None: training, no list)."""
    rng = np.random.default_rng(len(word))
    (folder / word).mkdir(exist_ok=True)
    for speaker in speakers:
        name = f"{word}/{speaker_id(speaker)}_nohash_0.wav"
        soundfile.write(folder / name, rng.uniform(-0.1, 0.1, 16000).astype(np.float32), 16000, subtype="PCM_16")
        if listed_in:
            with open(folder / f"{listed_in}_list.txt", "a") as out:
                out.write(f"{name}\n")


@pytest.mark.parametrize("task", sc.TASKS)
def test_classes_are_decided_by_the_training_split_alone(task: str, tmp_path: Path) -> None:
    # four words in every split; "stop" (a command) and "bird" only in the test list, "right" (a command)
    # and "marvin" only in training: the test split must neither add nor remove a class
    folder = write_speech_commands(tmp_path / "data", words=("cat", "down", "go", "yes"), speakers=8)
    before = sc.plan_splits(folder, sc.task_definition(task), sc.list_clips(tmp_path / "data"),
                            sc.noise_files(folder))[0]
    test_speakers = [s for s in range(8) if split_of(s) == "testing"]
    _add_clips(folder, "stop", test_speakers, "testing")
    _add_clips(folder, "bird", test_speakers, "testing")
    training_only = sc.plan_splits(folder, sc.task_definition(task), sc.list_clips(tmp_path / "data"),
                                   sc.noise_files(folder))[0]
    assert training_only == before and "stop" not in training_only and "bird" not in training_only
    _add_clips(folder, "right", [s for s in range(8) if split_of(s) == "training"], None)
    _add_clips(folder, "marvin", [s for s in range(8) if split_of(s) == "training"], None)
    clips = sc.list_clips(tmp_path / "data")
    assert "right" not in {c.word for c in clips["testing"]}
    classes, plans = sc.plan_splits(folder, sc.task_definition(task), clips, sc.noise_files(folder))
    assert "right" in classes and "stop" not in classes and "bird" not in classes
    if task == "35":
        assert classes == ("cat", "down", "go", "marvin", "right", "yes")
    else:  # the task maps every other word to unknown, in training and test alike
        names = {c.word: classes[label] for c, label in zip(plans["testing"].clips, plans["testing"].clip_labels)}
        assert names.get("bird", sc.UNKNOWN) == sc.UNKNOWN  # the 12-class task may subsample it away
        if task == "snnbench":  # which keeps every unknown clip
            assert names["bird"] == sc.UNKNOWN
    for plan in plans.values():  # every label is a class: a test clip of a word with no class is left out
        assert all(0 <= label < len(classes) for label in plan.clip_labels)
        assert "stop" not in {c.word for c in plan.clips}
        if task == "35":
            assert "bird" not in {c.word for c in plan.clips}


@given(st.permutations(sc.WORDS).flatmap(lambda words: st.tuples(st.just(words), st.integers(1, len(words)))))
def test_class_mapping_depends_only_on_which_words_are_present(case: tuple[list[str], int]) -> None:
    words, count = case
    present = words[:count]
    for name in sc.TASKS:
        task = sc.task_definition(name)
        assert sc.task_classes(task, present) == sc.task_classes(task, sorted(present, reverse=True))
        classes = list(sc.task_classes(task, present))
        fixed_order = list(sc.SNNBENCH_CLASSES) if name == "snnbench" else sorted(classes)
        assert classes == [name for name in fixed_order if name in classes]
    assert set(sc.task_classes(sc.task_definition("35"), present)) == set(present)


def test_class_mapping_and_labels_are_the_same_under_other_hash_seeds(speech_root: Path) -> None:
    script = ("import json, sys, warnings; warnings.simplefilter('ignore');"
              "from pathlib import Path;"
              "from pytest_snnbench.data import speech_commands as sc;"
              "root = Path(sys.argv[1]); folder = root / 'SpeechCommands/speech_commands_v0.02';"
              "print(json.dumps({task: [list(classes), {s: [[c.path for c in p.clips], list(p.clip_labels),"
              " len(p.silence)] for s, p in plans.items()}] for task in sc.TASKS"
              " for classes, plans in [sc.plan_splits(folder, sc.task_definition(task), sc.list_clips(root),"
              " sc.noise_files(folder))]}))")
    # string hashing, and so set order, differs between the two seeds
    seed = "4242" if os.environ.get("PYTHONHASHSEED") != "4242" else "1"
    here = subprocess.run([sys.executable, "-c", script, str(speech_root)], cwd=REPO, capture_output=True,
                          text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "1"})
    there = subprocess.run([sys.executable, "-c", script, str(speech_root)], cwd=REPO, capture_output=True,
                           text=True, check=True, env={**os.environ, "PYTHONHASHSEED": seed})
    assert json.loads(here.stdout) == json.loads(there.stdout)
    assert json.loads(here.stdout)["12"][0][:2] == ["_silence_", "_unknown_"]


# -- audio and features ------------------------------------------------------------------------
@given(st.integers(1, 2 * sc.CLIP_SAMPLES))
def test_padding_gives_one_second_and_keeps_the_clip(length: int) -> None:
    wave = torch.linspace(0.1, 1.0, length)
    padded = sc.pad_clip(wave)
    assert padded.shape == (sc.CLIP_SAMPLES,)
    kept = min(length, sc.CLIP_SAMPLES)
    assert torch.equal(padded[:kept], wave[:kept])
    assert not padded[kept:].any()


def test_short_clips_are_padded_with_silence_at_the_end(speech_root: Path) -> None:
    folder = speech_root / ARCHIVE
    short = folder / "go" / f"{speaker_id(0)}_nohash_0.wav"  # speaker 0 speaks 0.7 s clips
    wave = sc.read_wave(short)
    assert wave.shape[0] == int(0.7 * sc.SAMPLE_RATE)
    plan = sc.SplitPlan((sc.Clip("go/" + short.name, "go", speaker_id(0)),), (0,))
    padded = next(sc._waves(folder, plan))
    assert padded.shape == (sc.CLIP_SAMPLES,) and not padded[wave.shape[0]:].any()


def test_features_are_log_mel_frames_normalised_with_training_statistics(speech_root: Path,
                                                                         tmp_path: Path) -> None:
    data = load(speech_root, tmp_path)
    assert data.train.features.shape == (30, SMALL.frames, SMALL.n_mels) and SMALL.frames == 41
    assert data.test.features.shape == (12, SMALL.frames, SMALL.n_mels)
    assert data.train.features.dtype == torch.float32 and torch.isfinite(data.train.features).all()
    band_means = data.train.features.mean(dim=(0, 1))
    assert band_means.abs().max() < 1e-2  # fp16 storage rounds a little
    assert data.test.features.mean(dim=(0, 1)).abs().max() > 1e-2  # test statistics never used
    # log of mel power: one clip, scaled up tenfold, moves every frame by log(100) before normalising
    wave = sc.pad_clip(sc.read_wave(speech_root / ARCHIVE / "yes" / f"{speaker_id(1)}_nohash_0.wav"))
    quiet, loud = sc.log_mel(torch.stack([wave, 10 * wave]), SMALL)
    assert torch.allclose(loud - quiet, torch.full_like(quiet, float(np.log(100))), atol=1e-2)


def test_wrong_sample_rate_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "clip.wav"
    soundfile.write(path, np.zeros(8000, dtype=np.float32), 8000)
    with pytest.raises(DataSetError, match="8000 Hz.*16000 Hz mono"):
        sc.read_wave(path)


# -- the feature cache --------------------------------------------------------------------------
def test_cache_hit_returns_the_same_features_without_extracting(fresh_root: Path, tmp_path: Path) -> None:
    first = load(fresh_root, tmp_path / "cache")
    second = load(fresh_root, tmp_path / "cache")
    assert first.summary["feature_cache"] == "built" and first.summary["feature_extraction_in_this_run"]
    assert second.summary["feature_cache"] == "hit" and not second.summary["feature_extraction_in_this_run"]
    assert second.summary["feature_extraction_s"] == first.summary["feature_extraction_s"] > 0
    assert torch.equal(first.train.features, second.train.features)
    assert first.info()["fingerprint"] == second.info()["fingerprint"]
    assert Path(first.summary["feature_cache_file"]).is_relative_to(tmp_path / "cache")


def test_changed_clip_makes_the_cache_stale_and_it_is_rebuilt(fresh_root: Path, tmp_path: Path) -> None:
    first = load(fresh_root, tmp_path / "cache")
    clip = fresh_root / ARCHIVE / "yes" / f"{speaker_id(2)}_nohash_0.wav"  # a training clip
    soundfile.write(clip, np.zeros(sc.CLIP_SAMPLES, dtype=np.float32), sc.SAMPLE_RATE, subtype="PCM_16")
    os.utime(clip, ns=(1, 1))  # a new modification time even on coarse clocks
    notices: list[str] = []
    with pytest.warns(sc.PartialDataSetNotice):
        second = sc.load_speech_commands(fresh_root, tmp_path / "cache", "35", params=SMALL, notify=notices.append)
    assert len(notices) == 1 and "stale" in notices[0] and "rebuilding" in notices[0]
    assert second.summary["feature_cache"].startswith("rebuilt (stale")
    assert not torch.equal(first.train.features, second.train.features)
    assert len(list((tmp_path / "cache" / "speech-commands").iterdir())) == 1  # overwritten, not piled up


@pytest.mark.parametrize("damage", ["truncate", "garbage", "tamper"])
def test_corrupt_cache_is_detected_and_rebuilt(fresh_root: Path, tmp_path: Path, damage: str) -> None:
    first = load(fresh_root, tmp_path / "cache")
    path = Path(first.summary["feature_cache_file"])
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a torch file")
    else:  # valid file, changed values, old checksum
        payload = torch.load(path, weights_only=True)
        payload["train_features"][0] += 1
        torch.save(payload, path)
    rebuilt = load(fresh_root, tmp_path / "cache")
    assert rebuilt.summary["feature_cache"].startswith("rebuilt (corrupt")
    assert torch.equal(rebuilt.train.features, first.train.features)
    assert load(fresh_root, tmp_path / "cache").summary["feature_cache"] == "hit"


# -- missing data and downloads ------------------------------------------------------------------
def test_missing_data_without_download_names_the_folder_and_files(tmp_path: Path) -> None:
    with pytest.raises(DataSetError) as error:
        sc.load_speech_commands(tmp_path / "nowhere", tmp_path / "cache", download=False)
    message = str(error.value)
    assert str(tmp_path / "nowhere" / "SpeechCommands" / "speech_commands_v0.02") in message
    assert "validation_list.txt" in message and "--snnbench-no-download" in message
    assert "--snnbench-data-dir" in message


def test_missing_list_is_named(fresh_root: Path, tmp_path: Path) -> None:
    (fresh_root / ARCHIVE / "testing_list.txt").unlink()
    with pytest.raises(DataSetError, match="missing: +testing_list.txt"):
        sc.load_speech_commands(fresh_root, tmp_path / "cache", download=False)


def test_failed_download_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchaudio.datasets

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(torchaudio.datasets, "SPEECHCOMMANDS", offline)
    with pytest.raises(DataSetError, match=r"the download failed \(network is unreachable\)"):
        sc.load_speech_commands(tmp_path / "data", tmp_path / "cache", download=True)
