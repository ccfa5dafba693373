"""Google Speech Commands v0.02 as log-mel features on the device, for the Speech workloads.

The archive layout and its splits come from torchaudio's ``SPEECHCOMMANDS`` (which also downloads
it when allowed); only its file lists are used, so no audio is decoded by torchaudio (its decoder
needs FFmpeg). The WAV files are read with soundfile, padded to one second, and turned into log-mel
spectrograms with torchaudio's transforms. The features are cached under the cache folder, keyed by
the data and every parameter, because decoding ~100,000 clips takes minutes.

Three tasks:
- ``snnbench`` (the default): the task of the SNNBench speech script, as the paper ran it: the ten
  command words, ``_background_`` (every whole one-second piece of the background-noise recordings)
  and ``_unknown_`` (all clips of the 25 other words, not subsampled), in the fixed class order of
  ``SNNBENCH_CLASSES``. In the full v0.02 archive about 63 % of the test clips are unknown, so the
  majority class alone scores that much; every record states the majority-class accuracy.
- ``35``: all 35 words of v0.02 (comparable with NeuroBench's keyword-spotting results).
- ``12``: the classic task of Warden (2018): ten command words, ``_unknown_`` (the other words) and
  ``_silence_`` (one-second cuts of the background-noise recordings), each of the last two about 10 %
  of a split.

Three splits: the archive's ``validation_list.txt`` and ``testing_list.txt`` name the validation and
test clips (speaker-disjoint from training); the noise recordings are cut into disjoint parts per
split, so that no validation or test background was heard in training. Each split's part is in
proportion to its number of word clips (``noise_regions``), so background (or silence) is about
as common in every split and validation accuracy estimates test accuracy. On the full archive
this is about 80 / 9 / 10 %; on a subset whose lists name more test than validation clips, a fixed
share would give the small validation split a larger share of easy background pieces than test.
"""
from __future__ import annotations

import hashlib
import math
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch

from ..atomic import write_atomically
from .errors import DataSetError
from .fingerprint import tensor_fingerprint

ARCHIVE_ROOT = Path("SpeechCommands")
ARCHIVE_FOLDER = ARCHIVE_ROOT / "speech_commands_v0.02"
LIST_FILES = ("validation_list.txt", "testing_list.txt")
NOISE_FOLDER = "_background_noise_"
SAMPLE_RATE = 16000
CLIP_SAMPLES = SAMPLE_RATE  # one second
FULL_CLIPS = 105_829  # clips of words in the whole v0.02 archive
WORDS = ("backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward", "four", "go",
         "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on", "one", "right", "seven",
         "sheila", "six", "stop", "three", "tree", "two", "up", "visual", "wow", "yes", "zero")
COMMANDS = ("down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes")
SILENCE, UNKNOWN, BACKGROUND = "_silence_", "_unknown_", "_background_"
# The SNNBench script's classes, in a fixed order (its own order came from iterating a Python set).
SNNBENCH_CLASSES = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", BACKGROUND, UNKNOWN)
SPLITS = ("training", "validation", "testing")
TASKS = ("snnbench", "35", "12")
CACHE_FORMAT = 2  # 2: the validation split is cached too


@dataclass(frozen=True)
class FeatureParameters:
    """Log-mel spectrogram; each frame is one time step of the network."""

    n_mels: int = 40
    n_fft: int = 480  # 30 ms window
    hop_length: int = 160  # 10 ms: 101 frames per second
    f_min: float = 20.0
    f_max: float = 8000.0
    log_floor: float = 1e-6  # log(mel + floor): finite for digital silence
    storage: str = "float16"  # cached and used as float16-rounded values, hit or miss alike

    @property
    def frames(self) -> int:
        return CLIP_SAMPLES // self.hop_length + 1


@dataclass(frozen=True)
class TaskDefinition:
    name: str  # "snnbench", "35" or "12"
    silence_fraction: float = 0.0  # of each split, after the words are chosen
    unknown_fraction: float = 0.0

    @property
    def description(self) -> str:
        return {"snnbench": "SNNBench's 12 classes (10 commands, background, unknown: all other words)",
                "35": "35 words", "12": "12 classes (10 commands, unknown, silence)"}[self.name]


def task_definition(name: str) -> TaskDefinition:
    if name in ("snnbench", "35"):
        return TaskDefinition(name)
    if name == "12":
        return TaskDefinition("12", silence_fraction=0.1, unknown_fraction=0.1)
    raise ValueError(f"unknown Speech Commands task {name!r}; use one of {', '.join(TASKS)}")


@dataclass(frozen=True)
class Clip:
    path: str  # relative to the archive folder, e.g. "yes/0a7c2a8d_nohash_0.wav"
    word: str
    speaker: str


@dataclass(frozen=True)
class SilenceCut:
    noise_file: str  # relative to the archive folder
    start: int  # first sample
    volume: float


@dataclass(frozen=True)
class SplitPlan:
    """What one split consists of, before any audio is read: clips, silence cuts and their labels."""

    clips: tuple[Clip, ...]
    clip_labels: tuple[int, ...]
    silence: tuple[SilenceCut, ...] = ()
    silence_label: int | None = None
    noise_region: tuple[float, float] = (0.0, 0.0)  # the part of each noise recording its cuts come from

    def __len__(self) -> int:
        return len(self.clips) + len(self.silence)

    def labels(self) -> torch.Tensor:
        return torch.tensor(list(self.clip_labels) + [self.silence_label] * len(self.silence), dtype=torch.long)


@dataclass(frozen=True)
class SpeechSplit:
    features: torch.Tensor  # float32 [N, frames, n_mels], normalised with training statistics
    labels: torch.Tensor  # int64 [N]

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class SpeechCommands:
    task: str
    classes: tuple[str, ...]  # class index -> word (or _silence_ / _background_ / _unknown_)
    train: SpeechSplit
    validation: SpeechSplit
    test: SpeechSplit
    summary: dict[str, Any] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        return {"name": "Google Speech Commands v0.02", "task": self.task, "classes": list(self.classes),
                "train_samples": len(self.train), "validation_samples": len(self.validation),
                "test_samples": len(self.test),
                "fingerprint": tensor_fingerprint(self.train.labels, self.test.labels,
                                                  self.train.features[:, ::10], self.test.features[:, ::10]),
                "validation_fingerprint": tensor_fingerprint(self.validation.labels,
                                                             self.validation.features[:, ::10]),
                **self.summary}

    def to(self, device: torch.device) -> "SpeechCommands":
        def moved(split: SpeechSplit) -> SpeechSplit:
            return SpeechSplit(split.features.to(device), split.labels.to(device))

        return SpeechCommands(self.task, self.classes, moved(self.train), moved(self.validation),
                              moved(self.test), self.summary)


class PartialDataSetNotice(UserWarning):
    """The data set is not the whole archive: accuracies are not comparable with published ones."""


# -- finding the files --------------------------------------------------------------------------
def _missing_message(folder: Path, missing: Sequence[str], reason: str) -> str:
    return (
        f"Google Speech Commands v0.02 is not available: {reason}\n"
        f"  expected folder: {folder}\n"
        f"  missing:         {', '.join(missing)}\n"
        "The folder must hold the extracted archive speech_commands_v0.02.tar.gz: one folder of WAV files "
        f"per word (e.g. yes/, no/), {NOISE_FOLDER}/, validation_list.txt and testing_list.txt. Extract it "
        "there, point --snnbench-data-dir (or SNNBENCH_DATA) at the folder that holds "
        f"{ARCHIVE_FOLDER}/, or allow the download (2.3 GB; drop --snnbench-no-download)."
    )


def _missing_parts(folder: Path) -> list[str]:
    if not folder.is_dir():
        return [f"{folder.name}/ (the whole folder)"]
    missing = [name for name in LIST_FILES if not (folder / name).is_file()]
    if not any(child.is_dir() and child.name in WORDS for child in folder.iterdir()):
        missing.append("word folders (e.g. yes/)")
    return missing


def ensure_archive(root: Path, download: bool) -> Path:
    """The archive folder below ``root``, downloaded and extracted first if missing and allowed."""
    folder = Path(root) / ARCHIVE_FOLDER
    missing = _missing_parts(folder)
    if not missing:
        return folder
    if not download:
        raise DataSetError(_missing_message(folder, missing, "downloads are off (--snnbench-no-download)"))
    if folder.exists():  # torchaudio would skip the download and keep the broken folder
        raise DataSetError(_missing_message(folder, missing, "the folder exists but is incomplete"))
    from torchaudio.datasets import SPEECHCOMMANDS

    try:
        print(f"\nDownloading Google Speech Commands v0.02 (2.3 GB) to {folder.parent}; "
              "extracting takes a few minutes more ...", flush=True)
        Path(root).mkdir(parents=True, exist_ok=True)
        SPEECHCOMMANDS(str(root), download=True)  # torch.hub's progress bar
    except Exception as error:  # offline, proxy, checksum: all end the same way for the user
        raise DataSetError(_missing_message(folder, missing, f"the download failed ({error})")) from None
    missing = _missing_parts(folder)
    if missing:
        raise DataSetError(_missing_message(folder, missing, "the downloaded archive lacks them"))
    return folder


def list_clips(root: Path) -> dict[str, list[Clip]]:
    """The clips of each split, from torchaudio's walker (file lists only, no audio is decoded)."""
    from torchaudio.datasets import SPEECHCOMMANDS

    splits: dict[str, list[Clip]] = {}
    for split in SPLITS:
        dataset = SPEECHCOMMANDS(str(root), download=False, subset=split)
        clips = []
        for index in range(len(dataset)):
            relpath, _, word, speaker, _ = dataset.get_metadata(index)
            # relpath starts with the archive's folder name; keep it relative to that folder
            path = Path(relpath).relative_to(ARCHIVE_FOLDER.name).as_posix()
            clips.append(Clip(path, word, speaker))
        # A list may name files that are absent in a partial copy: they are not part of this data set.
        splits[split] = sorted((c for c in clips if (Path(root) / ARCHIVE_FOLDER / c.path).is_file()),
                               key=lambda c: c.path)
    return splits


def noise_files(folder: Path) -> list[str]:
    noise = folder / NOISE_FOLDER
    return sorted(f"{NOISE_FOLDER}/{p.name}" for p in noise.glob("*.wav")) if noise.is_dir() else []


# -- the two tasks ------------------------------------------------------------------------------
def task_classes(task: TaskDefinition, words_present: Sequence[str], has_noise: bool = True) -> tuple[str, ...]:
    """Class index -> name in a fixed order (sorted; the paper's task in SNNBENCH_CLASSES' order), never
    dependent on file order or hash seeds.

    Classes without any sample in the data are left out (no output unit without a target); the
    data set is then partial, which the result records.
    """
    present = set(words_present)
    if task.name == "35":
        return tuple(word for word in sorted(WORDS) if word in present)
    # snnbench and 12: the commands, one class for every other word, one for the noise recordings
    names = {word for word in COMMANDS if word in present}
    if present - set(COMMANDS):
        names.add(UNKNOWN)
    if has_noise:
        names.add(BACKGROUND if task.name == "snnbench" else SILENCE)
    if task.name == "snnbench":
        return tuple(name for name in SNNBENCH_CLASSES if name in names)
    return tuple(sorted(names))  # "_silence_" < "_unknown_" < the words


def _stable_order(clip: Clip) -> str:
    """A fixed pseudo-random order for choosing unknown clips: a digest of the path, no RNG."""
    return hashlib.sha1(clip.path.encode()).hexdigest()


def noise_regions(clip_counts: dict[str, int]) -> dict[str, tuple[float, float]]:
    """Which part of each background-noise recording a split's cuts come from: disjoint (no test noise
    was heard in training) and in proportion to the split's word clips, in the order of ``SPLITS``.

    Decided by the list files' sizes alone, before any audio is read or any model scored.
    """
    total = sum(clip_counts.get(split, 0) for split in SPLITS)
    regions, before = {}, 0
    for split in SPLITS:
        upto = before + clip_counts.get(split, 0)
        regions[split] = (before / total if total else 0.0, 1.0 if split == SPLITS[-1] or not total else upto / total)
        before = upto
    return regions


def _silence_cuts(folder: Path, files: Sequence[str], split: str, count: int,
                  region: tuple[float, float]) -> list[SilenceCut]:
    """``count`` one-second cuts, spread evenly over this split's region of every noise recording."""
    import soundfile

    if count == 0:
        return []
    regions = []
    for name in files:
        frames = soundfile.info(str(folder / name)).frames
        low, high = region
        start, stop = int(frames * low), int(frames * high) - CLIP_SAMPLES
        if stop >= start:
            regions.append((name, start, stop))
    if not regions:
        raise DataSetError(f"The background-noise recordings in {folder / NOISE_FOLDER} are too short to cut "
                           f"one-second silence clips for the {split} split of the 12-class task.")
    cuts = []
    volumes = (1.0, 0.5, 0.25, 0.1)  # quiet and loud silence alike, as in Warden's set-up
    for index in range(count):
        name, start, stop = regions[index % len(regions)]
        within = index // len(regions)
        per_region = math.ceil(count / len(regions))
        offset = start + (stop - start) * within // max(per_region - 1, 1)
        cuts.append(SilenceCut(name, int(offset), volumes[(index + within) % len(volumes)]))
    return cuts


def _background_pieces(folder: Path, files: Sequence[str], region: tuple[float, float]) -> list[SilenceCut]:
    """Every whole one-second piece of this split's region of each noise recording, at full volume
    (the SNNBench script cuts the recordings the same way, and keeps every piece)."""
    import soundfile

    pieces = []
    low, high = region
    for name in files:
        frames = soundfile.info(str(folder / name)).frames
        start, stop = int(frames * low), int(frames * high)
        pieces.extend(SilenceCut(name, offset, 1.0) for offset in range(start, stop - CLIP_SAMPLES + 1, CLIP_SAMPLES))
    return pieces


def plan_splits(folder: Path, task: TaskDefinition, clips: dict[str, list[Clip]],
                noise: Sequence[str]) -> tuple[tuple[str, ...], dict[str, SplitPlan]]:
    """Classes and, per split, the clips and silence cuts with their labels.

    The class list is decided by the task definition and the training split alone: a word only in the
    validation or test lists never becomes a class (that would leak the held-out splits into the model's
    shape), and one absent from the test split is still a class if training has it. Held-out clips whose
    word has no class (a command word that training lacks; in the 35-word task, any such word) cannot be
    predicted and are left out of their split.
    """
    words_present = sorted({c.word for c in clips["training"] if c.word in WORDS})
    classes = task_classes(task, words_present, bool(noise))
    index = {name: i for i, name in enumerate(classes)}

    def has_class(clip: Clip) -> bool:
        if clip.word not in WORDS:
            return False
        if task.name == "35" or clip.word in COMMANDS:
            return clip.word in index
        return UNKNOWN in index

    plans = {}
    chosen_by_split = {split: [c for c in clips[split] if has_class(c)] for split in SPLITS}
    regions = noise_regions({split: len(chosen) for split, chosen in chosen_by_split.items()})
    for split in SPLITS:
        chosen, region = chosen_by_split[split], regions[split]
        if task.name == "35":
            plans[split] = SplitPlan(tuple(chosen), tuple(index[c.word] for c in chosen))
            continue
        if task.name == "snnbench":
            labels = tuple(index[c.word] if c.word in COMMANDS else index[UNKNOWN] for c in chosen)
            background = _background_pieces(folder, noise, region) if noise else []
            plans[split] = SplitPlan(tuple(chosen), labels, tuple(background), index.get(BACKGROUND), region)
            continue
        known = [c for c in chosen if c.word in COMMANDS]
        others = sorted((c for c in chosen if c.word not in COMMANDS), key=_stable_order)
        # unknown and silence each make up the given fraction of the whole split
        share = 1.0 - task.unknown_fraction - task.silence_fraction
        unknown_count = min(len(others), round(len(known) * task.unknown_fraction / share))
        silence_count = round(len(known) * task.silence_fraction / share) if noise else 0
        unknown = sorted(others[:unknown_count], key=lambda c: c.path)
        silence = _silence_cuts(folder, noise, split, silence_count, region)
        members = known + unknown
        plans[split] = SplitPlan(tuple(members),
                                 tuple(index[c.word] if c.word in COMMANDS else index[UNKNOWN] for c in members),
                                 tuple(silence), index.get(SILENCE), region)
    return classes, plans


# -- audio and features -------------------------------------------------------------------------
def pad_clip(wave: torch.Tensor, length: int = CLIP_SAMPLES) -> torch.Tensor:
    """Zero-pad at the end (or cut) to exactly ``length`` samples: short clips end in silence."""
    if wave.shape[-1] >= length:
        return wave[..., :length]
    return torch.nn.functional.pad(wave, (0, length - wave.shape[-1]))


def read_wave(path: Path, start: int = 0, frames: int = -1) -> torch.Tensor:
    """A mono 16 kHz WAV file (or a part of it) as float32 samples in [-1, 1]."""
    import soundfile

    try:
        samples, rate = soundfile.read(str(path), start=start, frames=frames, dtype="float32", always_2d=True)
    except Exception as error:
        raise DataSetError(f"Cannot read {path} ({type(error).__name__}: {error}). Replace it with the file "
                           "from the archive, or delete the data set folder to download it again.") from None
    if rate != SAMPLE_RATE or samples.shape[1] != 1:
        raise DataSetError(f"{path} is {rate} Hz with {samples.shape[1]} channel(s); Speech Commands clips are "
                           f"{SAMPLE_RATE} Hz mono. Replace it with the file from the archive.")
    return torch.from_numpy(samples[:, 0].copy())


def _waves(folder: Path, plan: SplitPlan) -> Iterator[torch.Tensor]:
    """The split's one-second waves, in order: clips (padded), then the silence cuts."""
    for clip in plan.clips:
        yield pad_clip(read_wave(folder / clip.path))
    for cut in plan.silence:
        yield read_wave(folder / cut.noise_file, cut.start, CLIP_SAMPLES) * cut.volume


def _split_features(folder: Path, plan: SplitPlan, params: FeatureParameters, chunk: int = 512) -> torch.Tensor:
    """Log-mel features of a split, a chunk of clips at a time (all waves of the full set need 6 GB)."""
    parts, waves = [], []
    for wave in _waves(folder, plan):
        waves.append(wave)
        if len(waves) == chunk:
            parts.append(log_mel(torch.stack(waves), params))
            waves = []
    if waves:
        parts.append(log_mel(torch.stack(waves), params))
    return torch.cat(parts) if parts else torch.zeros(0, params.frames, params.n_mels)


def log_mel(waves: torch.Tensor, params: FeatureParameters, chunk: int = 512) -> torch.Tensor:
    """[N, samples] -> [N, frames, n_mels] of log(mel power + floor)."""
    from torchaudio.transforms import MelSpectrogram

    transform = MelSpectrogram(sample_rate=SAMPLE_RATE, n_fft=params.n_fft, hop_length=params.hop_length,
                               f_min=params.f_min, f_max=params.f_max, n_mels=params.n_mels, power=2.0)
    out = [transform(waves[i:i + chunk]).add_(params.log_floor).log_().transpose(1, 2)
           for i in range(0, waves.shape[0], chunk)]
    return torch.cat(out) if out else torch.zeros(0, params.frames, params.n_mels)


def normalise(train: torch.Tensor, *others: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Per mel band mean 0 and variance 1, with statistics of the training split only."""
    mean = train.mean(dim=(0, 1), keepdim=True)
    std = train.std(dim=(0, 1), keepdim=True).clamp_min(1e-5)
    return tuple((x - mean) / std for x in (train, *others))


# -- the feature cache --------------------------------------------------------------------------
def data_key(folder: Path, plans: dict[str, SplitPlan], classes: Sequence[str], task: TaskDefinition,
             params: FeatureParameters) -> str:
    """Changes when any file used (by size or modification time), the choice of clips or a parameter does."""
    digest = hashlib.sha256()
    digest.update(repr((CACHE_FORMAT, asdict(task), asdict(params), tuple(classes))).encode())
    used = set(LIST_FILES)
    for split in SPLITS:
        plan = plans[split]
        digest.update(repr((split, plan.clip_labels, plan.silence, plan.silence_label)).encode())
        used.update(c.path for c in plan.clips)
        used.update(cut.noise_file for cut in plan.silence)
    for path in sorted(used):
        stat = (folder / path).stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def cache_path(cache_dir: Path, folder: Path, task: TaskDefinition, params: FeatureParameters) -> Path:
    """One file per data folder, task and parameters; a changed data set overwrites its stale file."""
    name = hashlib.sha256(repr((str(folder.resolve()), asdict(task), asdict(params))).encode()).hexdigest()[:16]
    return Path(cache_dir) / "speech-commands" / f"features-{task.name}-{name}.pt"


CACHED_SPLITS = ("train", "validation", "test")  # payload keys of SPLITS, in the same order


def _checksum(payload: dict[str, Any]) -> str:
    return tensor_fingerprint(*(payload[f"{split}_{part}"] for split in CACHED_SPLITS
                                for part in ("features", "labels")))


def read_cache(path: Path, key: str) -> tuple[dict[str, Any] | None, str]:
    """The cached payload if valid, else None with the reason ("missing", "stale: ...", "corrupt: ...")."""
    if not path.is_file():
        return None, "missing"
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(payload, dict) or payload.get("format") != CACHE_FORMAT:
            return None, "stale: written by another version"
        if payload.get("key") != key:
            return None, "stale: the data or the parameters changed"
        if payload.get("checksum") != _checksum(payload):
            return None, "corrupt: checksum mismatch"
    except Exception as error:
        return None, f"corrupt: {type(error).__name__}"
    return payload, "hit"


def write_cache(path: Path, payload: dict[str, Any]) -> None:
    """Atomically: a run killed while writing leaves no half-written cache behind."""
    write_atomically(path, lambda out: torch.save({**payload, "checksum": _checksum(payload)}, out))


def _build(folder: Path, plans: dict[str, SplitPlan], params: FeatureParameters) -> dict[str, Any]:
    begin = time.perf_counter()
    features = normalise(*(_split_features(folder, plans[split], params) for split in SPLITS))
    dtype = getattr(torch, params.storage)
    payload: dict[str, Any] = {"extraction_seconds": time.perf_counter() - begin}
    for name, split, values in zip(CACHED_SPLITS, SPLITS, features):
        payload[f"{name}_features"], payload[f"{name}_labels"] = values.to(dtype), plans[split].labels()
    return payload


# -- the whole data set -------------------------------------------------------------------------
def load_speech_commands(root: Path, cache_dir: Path, task: str = "snnbench", download: bool = False,
                         params: FeatureParameters = FeatureParameters(),
                         notify: Callable[[str], None] | None = None) -> SpeechCommands:
    """Features and labels of the training, validation and test splits of ``task`` (one of TASKS)."""
    definition = task_definition(task)
    folder = ensure_archive(Path(root), download)
    clips = list_clips(Path(root))
    noise = noise_files(folder)
    classes, plans = plan_splits(folder, definition, clips, noise)
    for split in SPLITS:
        if len(plans[split]) == 0:
            raise DataSetError(f"The {split} split of Speech Commands in {folder} is empty for the {task} task: "
                               "no WAV file of a known word is listed there (check validation_list.txt and testing_list.txt).")
    key = data_key(folder, plans, classes, definition, params)
    path = cache_path(cache_dir, folder, definition, params)
    payload, status = read_cache(path, key)
    if payload is None:
        if status != "missing" and notify:
            notify(f"Speech Commands feature cache {path} is {status}; rebuilding it.")
        payload = {"format": CACHE_FORMAT, "key": key, **_build(folder, plans, params)}
        write_cache(path, payload)
        status = "built" if status == "missing" else f"rebuilt ({status})"
    word_clips = sum(1 for split in clips.values() for c in split if c.word in WORDS)
    words_present = sorted({c.word for split in clips.values() for c in split if c.word in WORDS})
    missing_words = [w for w in WORDS if w not in words_present]
    if definition.name in ("12", "snnbench") and not noise:
        missing_words.append(f"{NOISE_FOLDER} (no {'silence' if definition.name == '12' else 'background'} class)")
    complete = word_clips >= FULL_CLIPS and not missing_words
    summary = {
        "task_description": definition.description, "root": str(folder),
        "complete": complete, "word_clips_found": word_clips, "word_clips_full": FULL_CLIPS,
        "missing_words": missing_words,
        "noise_samples": {s: len(plans[s].silence) for s in SPLITS},  # silence or background clips
        "features": {**asdict(params), "frames": params.frames},
        "feature_cache": status, "feature_cache_file": str(path),
        # extraction happens before training starts and is never part of its timing
        "feature_extraction_s": float(payload["extraction_seconds"]),
        "feature_extraction_in_this_run": status != "hit",
    }
    if not complete:
        summary["note"] = (f"partial data set: {word_clips} of {FULL_CLIPS} clips"
                           + (f", words missing: {', '.join(missing_words)}" if missing_words else "")
                           + "; accuracies are not comparable with published figures")
        warnings.warn(PartialDataSetNotice(f"Speech Commands in {folder}: {summary['note']}."), stacklevel=2)
    splits = [SpeechSplit(payload[f"{name}_features"].float(), payload[f"{name}_labels"].long())
              for name in CACHED_SPLITS]
    return SpeechCommands(task, classes, *splits, summary)


def speech_commands_on_device(context: Any, task: str | None = None,
                              params: FeatureParameters = FeatureParameters()) -> SpeechCommands:
    """Speech Commands for a workload: read once per session, task and features; moved once per device."""
    task = task or "snnbench"

    def load() -> SpeechCommands:
        return load_speech_commands(context.data_dir, context.cache_dir, task, context.allow_download, params,
                                    notify=lambda message: warnings.warn(message, stacklevel=2))

    key = f"speech-commands-{task}-{sorted(asdict(params).items())}"
    on_cpu = context.dataset(key, load)
    return context.dataset(f"{key}@{context.device}", lambda: on_cpu.to(context.device))
