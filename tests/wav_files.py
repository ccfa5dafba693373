"""Tiny Speech Commands folders in the v0.02 archive's layout, for tests that must not need the real data.

``<root>/SpeechCommands/speech_commands_v0.02/<word>/<speaker>_nohash_<n>.wav`` (16 kHz mono
16-bit PCM, written with soundfile), ``_background_noise_/*.wav``, ``validation_list.txt`` and
``testing_list.txt`` (speaker-disjoint). Every word is a fixed pair of tones, so that a network that
learns separates the words and one that guesses does not; some clips are shorter than one second.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile

RATE = 16000
ARCHIVE = Path("SpeechCommands") / "speech_commands_v0.02"
WORDS = ("cat", "down", "go", "left", "yes", "zero")  # four commands, two "unknown" words


def speaker_id(index: int) -> str:
    return f"{0x1a2b3c00 + index:08x}"


def split_of(speaker: int) -> str:
    """Speaker-disjoint lists as in the archive: a quarter of the speakers test, an eighth validate."""
    return "testing" if speaker % 4 == 0 else "validation" if speaker % 8 == 1 else "training"


def word_clip(word_index: int, rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Two tones whose frequencies encode the word, under a random envelope position and loudness."""
    length = int(RATE * seconds)
    t = np.arange(length) / RATE
    low, high = 250.0 * (word_index + 1), 4000.0 - 450.0 * word_index
    voiced = min(length, int(RATE * 0.5))
    start = int(rng.integers(0, length - voiced + 1))
    envelope = np.zeros(length)
    envelope[start:start + voiced] = np.hanning(voiced)
    tone = np.sin(2 * np.pi * low * t) + 0.6 * np.sin(2 * np.pi * high * t + rng.uniform(0, np.pi))
    wave = rng.uniform(0.2, 0.6) * envelope * tone + 0.01 * rng.standard_normal(length)
    return np.clip(wave, -1, 1).astype(np.float32)


def write_speech_commands(root: Path, words: Sequence[str] = WORDS, speakers: int = 8, noise_files: int = 2,
                          noise_seconds: float = 12.0, seed: int = 0) -> Path:
    """Write the archive layout below ``root``: one clip per word and speaker; returns the archive folder."""
    rng = np.random.default_rng(seed)
    folder = Path(root) / ARCHIVE
    lists: dict[str, list[str]] = {"validation": [], "testing": []}
    for word_index, word in enumerate(words):
        (folder / word).mkdir(parents=True, exist_ok=True)
        for speaker in range(speakers):
            seconds = 1.0 if speaker % 3 else 0.7  # every third clip is short and must be padded
            name = f"{word}/{speaker_id(speaker)}_nohash_0.wav"
            soundfile.write(folder / name, word_clip(word_index, rng, seconds), RATE, subtype="PCM_16")
            split = split_of(speaker)
            if split in lists:
                lists[split].append(name)
    (folder / "validation_list.txt").write_text("".join(f"{line}\n" for line in lists["validation"]))
    (folder / "testing_list.txt").write_text("".join(f"{line}\n" for line in lists["testing"]))
    noise = folder / "_background_noise_"
    noise.mkdir(parents=True, exist_ok=True)
    for index in range(noise_files):
        samples = (0.05 * rng.standard_normal(int(RATE * noise_seconds))).astype(np.float32)
        soundfile.write(noise / f"noise_{index:02d}.wav", samples, RATE, subtype="PCM_16")
    return folder
