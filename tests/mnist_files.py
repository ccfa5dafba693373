"""Tiny MNIST data sets in the real IDX format, for tests that must not need the real files."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def write_idx(path: Path, array: np.ndarray) -> None:
    """IDX: magic (0, 0, type 0x08 = ubyte, number of dimensions), big-endian sizes, then the bytes."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.tobytes())


def learnable_digits(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Images of 10 classes that a learning network separates and a guessing one does not.

    Each class is a fixed random stroke pattern; every sample is that pattern, shifted by up to one
    pixel, with noise and dropped pixels.
    """
    rng = np.random.default_rng(seed)
    templates = np.zeros((10, 28, 28), dtype=np.float32)
    pattern_rng = np.random.default_rng(1234)  # the classes are the same in every split
    for digit in range(10):
        for _ in range(6):
            row, col = pattern_rng.integers(4, 24, size=2)
            length = pattern_rng.integers(5, 12)
            if pattern_rng.random() < 0.5:
                templates[digit, row, max(col - length // 2, 2):min(col + length // 2, 26)] = 1.0
            else:
                templates[digit, max(row - length // 2, 2):min(row + length // 2, 26), col] = 1.0
    labels = rng.integers(0, 10, size=count)
    images = np.empty((count, 28, 28), dtype=np.float32)
    for i, digit in enumerate(labels):
        shifted = np.roll(templates[digit], shift=tuple(rng.integers(-1, 2, size=2)), axis=(0, 1))
        noisy = shifted * (rng.random((28, 28)) > 0.15) + 0.15 * rng.random((28, 28))
        images[i] = np.clip(noisy, 0, 1)
    return (images * 255).astype(np.uint8), labels.astype(np.uint8)


def write_mnist(root: Path, train: int = 600, test: int = 200, seed: int = 0) -> Path:
    """Write MNIST/raw/ with the four IDX files below ``root``; returns the raw folder."""
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for offset, (split, count) in enumerate((("train", train), ("test", test))):
        images, labels = learnable_digits(count, seed + offset)
        image_file, label_file = FILES[split]
        write_idx(raw / image_file, images)
        write_idx(raw / label_file, labels)
    return raw
